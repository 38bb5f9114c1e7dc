#!/usr/bin/env python3
"""Results of bench/run: pgbench parsing, and the final table and JSON.

  results.py pgbench LOG PREFIX
      reads pgbench's output LOG and its per-transaction logs PREFIX.*
      and prints the same JSON object the wrk scripts print after
      BENCH_RESULT (requests, seconds, p50_ms, p99_ms, ...).

  results.py report --raw RAW --out FILE ...
      aggregates the raw records of a run (one JSON object a line) into
      median, min and max per workload, prints one table and writes FILE.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def cmd_pgbench(args):
    text = open(args.log).read()
    processed = re.search(r"number of transactions actually processed: (\d+)",
                          text)
    duration = re.search(r"duration: (\d+) s", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if not processed or not duration or "Run was aborted" in text \
            or int(processed.group(1)) == 0:
        sys.exit("results.py: pgbench failed, see %s" % args.log)
    latencies = []
    for path in glob.glob(args.prefix + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                # client_id transaction_no time script_no epoch us
                if len(fields) >= 6:
                    latencies.append(int(fields[2]) / 1000)
    latencies.sort()
    print(json.dumps({
        "requests": int(processed.group(1)),
        "seconds": float(duration.group(1)),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p90_ms": round(percentile(latencies, 90), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(latencies[-1], 3) if latencies else 0,
        "errors_status": int(failed.group(1)) if failed else 0,
    }))
    return 0


# ---- report ---------------------------------------------------------------

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": len(values)}


def read_workloads(path):
    table = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        table[f[0]] = {"store": f[1], "script": f[2], "args": f[3],
                       "conns": int(f[4]),
                       "items": None if f[5] == "-" else int(f[5]),
                       "ceiling": None if f[6] == "-" else f[6],
                       "description": f[8]}
    return table


def errors_of(res):
    return sum(v for k, v in res.items() if k.startswith("errors_"))


def side_summary(runs, items):
    """Aggregates the runs of one side (lrsd or ceiling) of a workload."""
    throughput, p50, p99, rss, cpu, steal = [], [], [], [], [], []
    errors = 0
    extra = {}
    for r in runs:
        res = r["result"]
        errors += errors_of(res)
        if "requests" in res:
            ok = res["requests"] - res.get("errors_status", 0)
            rate = ok / res["seconds"] if res["seconds"] else 0
            throughput.append(rate * (items or 1))
            if r.get("cpu_s") is not None and ok > 0:
                cpu.append(r["cpu_s"] * 1e6 / (ok * (items or 1)))
        else:
            for k in ("statements", "pages", "first_p50_ms", "last_p50_ms"):
                extra.setdefault(k, []).append(res[k])
            throughput.append(res["statements"] / res["seconds"])
        p50.append(res["p50_ms"])
        p99.append(res["p99_ms"])
        if r.get("rss_peak_kb"):
            rss.append(r["rss_peak_kb"] / 1024)
        if r.get("steal_pct") is not None:
            steal.append(r["steal_pct"])
    out = {
        "unit": "statements/s" if items or extra else "requests/s",
        "throughput": spread(throughput),
        "p50_ms": spread(p50),
        "p99_ms": spread(p99),
        "errors": errors,
    }
    if rss:
        out["rss_peak_mib"] = spread(rss)
    if steal:
        out["steal_pct"] = spread(steal)
    if cpu:
        out["lrsd_cpu_us_per_statement" if items else
            "lrsd_cpu_us_per_request"] = spread(cpu)
    for k, v in extra.items():
        out[k] = spread(v)
    return out


def run_rate(r, items):
    res = r["result"]
    ok = res["requests"] - res.get("errors_status", 0)
    return ok / res["seconds"] * (items or 1) if res["seconds"] else 0


def paired_ratios(lrsd_runs, ceiling_runs, items):
    """lrsd's rate over the ceiling's, run by run."""
    ceiling = {r["run"]: run_rate(r, items) for r in ceiling_runs}
    return [run_rate(r, items) / ceiling[r["run"]] for r in lrsd_runs
            if ceiling.get(r["run"])]


def machine():
    cpu = "unknown"
    mem = 0
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu,
            "memory_gib": round(mem / 2**30, 1),
            "kernel": platform.release()}


def run_text(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def fmt(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{}f}".format(v, digits)


def fmt_spread(s, digits=0):
    if s is None:
        return "-"
    if s["runs"] == 1:
        return fmt(s["median"], digits)
    return "%s (%s-%s)" % (fmt(s["median"], digits), fmt(s["min"], digits),
                           fmt(s["max"], digits))


def med(s):
    return s["median"] if s else None


def print_table(report):
    rows = [("workload", "conns", "lrsd/s (min-max)", "p50 ms", "p99 ms",
             "ceiling/s (min-max)", "ceil p50", "ceil p99", "lrsd/ceil",
             "paired (min-max)")]
    for name, w in report["workloads"].items():
        l, c = w["lrsd"], w.get("ceiling")
        rows.append((
            name, str(w["conns"]),
            fmt_spread(l["throughput"]) + (" req" if l["unit"] ==
                                            "requests/s" else ""),
            fmt(med(l["p50_ms"]), 2), fmt(med(l["p99_ms"]), 2),
            fmt_spread(c["throughput"]) if c else "-",
            fmt(med(c["p50_ms"]), 2) if c else "-",
            fmt(med(c["p99_ms"]), 2) if c else "-",
            fmt(w.get("ratio"), 2) if w.get("ratio") is not None else "-",
            fmt_spread(w["paired_ratio"], 2) if w.get("paired_ratio")
            else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [
            r[i].rjust(widths[i]) for i in range(1, len(r))]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    print("\n".join(lines))
    for name, w in report["workloads"].items():
        l = w["lrsd"]
        if "first_p50_ms" in l:
            print("%s: %s statements in %s pages; page p50 first tenth "
                  "%s ms, last tenth %s ms" % (
                      name, fmt(med(l["statements"])), fmt(med(l["pages"])),
                      fmt(med(l["first_p50_ms"]), 2),
                      fmt(med(l["last_p50_ms"]), 2)))
        if l.get("errors"):
            print("%s: %d failed requests (see the logs)" % (name,
                                                              l["errors"]))
    steal = [(s["max"], name, side) for name, w in report["workloads"].items()
             for side in ("lrsd", "ceiling")
             for s in [w.get(side, {}).get("steal_pct")] if s]
    if steal:
        worst = max(steal)
        print("CPU steal (time the hypervisor gave to other guests) during "
              "the runs: at most %s%% (%s, %s)" % (
                  fmt(worst[0], 1), worst[1], worst[2]))
    mem = report["memory"]
    parts = ["%s %s MiB" % (k, fmt(v, 1)) for k, v in mem.items()]
    if parts:
        print("lrsd RSS: " + ", ".join(parts))
    st = report.get("storage")
    if st:
        print("PostgreSQL bytes per statement: %s (statements heap+toast "
              "%s, its indexes %s, statement_index %s; %s index rows per "
              "statement) over %s statements" % (
                  fmt(st["bytes_per_statement"]),
                  fmt(st["heap_bytes_per_statement"]),
                  fmt(st["statements_index_bytes_per_statement"]),
                  fmt(st["statement_index_bytes_per_statement"]),
                  fmt(st["index_rows_per_statement"], 2),
                  fmt(st["statements"])))
    if report.get("load"):
        ld = report["load"]
        print("store load: %s statements in %s s (%s statements/s, "
              "batches of 500 from the Python generator)" % (
                  fmt(ld["statements"]), fmt(ld["seconds"], 1),
                  fmt(ld["statements"] / ld["seconds"])))


def cmd_report(args):
    records = [json.loads(line) for line in open(args.raw) if line.strip()]
    table = read_workloads(args.workloads)
    workloads = {}
    for name, w in table.items():
        runs = [r for r in records if r["kind"] == "run"
                and r["workload"] == name]
        if not runs:
            continue
        entry = {"description": w["description"], "conns": w["conns"],
                 "statements_per_request": w["items"]}
        entry["lrsd"] = side_summary(
            [r for r in runs if r["side"] == "lrsd"], w["items"])
        ceiling = [r for r in runs if r["side"] == "ceiling"]
        if ceiling:
            entry["ceiling"] = side_summary(ceiling, w["items"])
            lt = med(entry["lrsd"]["throughput"])
            ct = med(entry["ceiling"]["throughput"])
            entry["ratio"] = round(lt / ct, 3) if ct else None
            # Run r of lrsd and run r of the ceiling ran one after the
            # other, so a slow stretch of the machine (CPU steal) tends
            # to hit both: the median of the per-run ratios is less
            # sensitive to it than the ratio of the medians.
            paired = paired_ratios(
                [r for r in runs if r["side"] == "lrsd"], ceiling,
                w["items"])
            if paired:
                entry["paired_ratio"] = spread(paired)
        workloads[name] = entry
    memory = {}
    for r in records:
        if r["kind"] == "memory":
            memory["rest_" + r["when"]] = round(r["rss_kb"] / 1024, 1)
    for name, w in workloads.items():
        if w["lrsd"].get("rss_peak_mib") and table[name]["store"] == "write":
            memory["peak_" + name] = round(
                w["lrsd"]["rss_peak_mib"]["max"], 1)
    report = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": args.command,
            "mode": args.mode,
            "statements": args.statements,
            "duration_s": args.duration,
            "runs": args.runs,
            "pool": args.pool,
            "machine": machine(),
            "postgresql": {
                "version": run_text([args.pg_bindir + "/postgres",
                                     "--version"]),
                "settings": [s.strip() for s in open(args.settings)
                             if s.strip()],
            },
            "lrsd": {
                "binary": args.lrsd,
                "commit": run_text(["git", "-C", args.repo, "rev-parse",
                                    "--short", "HEAD"]),
                "modified": bool(run_text(["git", "-C", args.repo, "status",
                                           "--porcelain", "--",
                                           "server", "migrations"])),
            },
            "wrk": run_text(["sh", "-c", "wrk -v 2>&1 | head -n 1"]),
        },
        "workloads": workloads,
        "memory_mib": memory,
    }
    for r in records:
        if r["kind"] == "pool":
            report["pool"] = {k: v for k, v in r.items() if k != "kind"}
        if r["kind"] == "load":
            report["load"] = {k: v for k, v in r.items() if k != "kind"}
        if r["kind"] == "storage":
            n = r["statements"] or 1
            total = (r["statements_heap_bytes"] + r["statements_index_bytes"]
                     + r["statement_index_bytes"])
            report["storage"] = {
                "statements": r["statements"],
                "bytes_per_statement": round(total / n),
                "heap_bytes_per_statement":
                    round(r["statements_heap_bytes"] / n),
                "statements_index_bytes_per_statement":
                    round(r["statements_index_bytes"] / n),
                "statement_index_bytes_per_statement":
                    round(r["statement_index_bytes"] / n),
                "index_rows_per_statement":
                    round(r["statement_index_rows"] / n, 2),
            }
    report["memory"] = memory
    del report["memory_mib"]
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    m = report["meta"]
    print()
    print("lrsd %s%s, %s; %d x %s, %s GiB; %s; %s mode, store %s, "
          "%d runs of %d s" % (
              m["lrsd"]["commit"], "+" if m["lrsd"]["modified"] else "",
              m["command"], m["machine"]["nproc"], m["machine"]["cpu"],
              m["machine"]["memory_gib"], m["postgresql"]["version"],
              m["mode"], fmt(m["statements"]), m["runs"], m["duration_s"]))
    print()
    print_table(report)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command_name", required=True)
    p = sub.add_parser("pgbench")
    p.add_argument("log")
    p.add_argument("prefix")
    p = sub.add_parser("report")
    for opt in ("raw", "out", "workloads", "mode", "command", "lrsd",
                "pg_bindir", "settings", "repo"):
        p.add_argument("--" + opt.replace("_", "-"), required=True)
    for opt in ("statements", "duration", "runs", "pool"):
        p.add_argument("--" + opt, type=int, required=True)
    args = ap.parse_args()
    if args.command_name == "pgbench":
        return cmd_pgbench(args)
    return cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
