#!/usr/bin/env python3
"""Pages through stored statements by following `more` links.

bench/run calls it as
    page.py url=BASE_URL dir=WORKDIR nonce=HEX auth=HEADER [k=v ...]
with the k=v pairs of its line in bench/workloads.tsv:
    limit=N      statements per page (default 500)
    max=N        stop after this many statements (default 100000)
    filter=Q     query string of the first request (e.g. verb=...)

Each page is one GET on a keep-alive connection, timed from sending the
request until the whole body is read. The point is that a page deep in
the result costs what the first one does, so it reports the median time
of the first and of the last tenth of the pages besides the overall
figures. Prints one line: BENCH_RESULT {json}.
"""

import http.client
import json
import statistics
import sys
import time
import urllib.parse



def options(argv):
    opts = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            sys.exit("page.py: argument is not k=v: %s" % arg)
        opts[key] = value
    for key in ("url", "auth"):
        if key not in opts:
            sys.exit("page.py: %s= is missing" % key)
    return opts


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    opts = options(sys.argv[1:])
    limit = int(opts.get("limit", "500"))
    most = int(opts.get("max", "100000"))
    url = urllib.parse.urlsplit(opts["url"])
    base = url.path.rstrip("/")
    headers = {"Authorization": opts["auth"],
               "X-Experience-API-Version": "1.0.3"}
    path = "%s/statements?limit=%d" % (base, limit)
    if opts.get("filter"):
        path += "&" + opts["filter"]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    times, seen = [], 0
    # Bounded: at most one page per statement wanted, plus one.
    for _ in range(most // limit + 2):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        times.append(time.perf_counter() - start)
        if resp.status != 200:
            sys.exit("page.py: GET %s: %d %s" % (path, resp.status,
                                                  body[:300]))
        # Parsed outside the timed part: the server is idle meanwhile.
        result = json.loads(body)
        seen += len(result["statements"])
        more = result.get("more", "")
        if seen >= most or not more:
            break
        path = more
    conn.close()
    tenth = max(1, len(times) // 10)
    ms = [t * 1000 for t in times]
    result = {
        "pages": len(times),
        "statements": seen,
        "seconds": round(sum(times), 3),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "first_p50_ms": round(statistics.median(ms[:tenth]), 3),
        "last_p50_ms": round(statistics.median(ms[-tenth:]), 3),
    }
    print("BENCH_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
