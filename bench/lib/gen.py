#!/usr/bin/env python3
"""Generates realistic xAPI statements for the lrsd benchmarks.

The statements look like those an Articulate Storyline course sends: a
course made of scenes and slides, each slide "experienced", each question
slide "answered" with a full interaction definition and a result carrying
score, response, duration and extensions, the course "attempted",
"progressed", "passed" or "failed" and "completed", all in the context of
a registration (one per learner and attempt) with parent and grouping
context activities. A statement is 1-2 KB of JSON and has a unique id.

Everything is drawn from one seeded random generator, so the same seed
and count always give the same statements.

Commands:
  pool   write COUNT statements as JSON lines, each line starting with
         {"id":"<uuid>", so that a load script can swap the id cheaply;
  load   generate COUNT statements and POST them to lrsd in batches over
         several keep-alive connections; write lists of query paths that
         match stored statements (by agent, verb+activity, registration);
  stats  print the size distribution of COUNT statements.

Only the Python standard library is used.
"""

import argparse
import base64
import http.client
import json
import queue
import random
import sys
import threading
import time
import urllib.parse
import uuid

VERB_BASE = "http://adlnet.gov/expapi/verbs/"
ACT_TYPE = "http://adlnet.gov/expapi/activities/"
CMI_INTERACTION = ACT_TYPE + "cmi.interaction"
EXT = "https://lms.example.com/xapi/extensions/"
TINCAN_EXT = "http://id.tincanapi.com/extension/"
LANG = "en-US"

FIRST = ("Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances John "
         "Radia Edsger Hedy Donald Sophie Tim Anita Guido Katherine Brian "
         "Mary Niklaus Shafi Leslie Jean Fernando Lynn Bjarne Carol "
         "Adele").split()
LAST = ("Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie "
        "Allen McCarthy Perlman Dijkstra Lamarr Knuth Wilson Berners-Lee "
        "Borg Rossum Johnson Kernighan Keller Wirth Goldwasser Lamport "
        "Sammet Corbato Conway Stroustrup Shaw Goldberg").split()
TOPICS = ("Workplace Safety", "Data Protection Essentials",
          "Customer Service Excellence", "Anti-Bribery and Corruption",
          "Cyber Security Awareness", "Leading Remote Teams",
          "Fire Warden Training", "Manual Handling",
          "Diversity and Inclusion", "Project Management Basics",
          "Effective Feedback", "Time Management", "First Aid at Work",
          "Information Security", "Code of Conduct", "Negotiation Skills",
          "Presentation Skills", "Health and Safety Induction",
          "Environmental Awareness", "Conflict Resolution",
          "Onboarding: Your First Week", "Food Hygiene Level 2",
          "Equality Act Overview", "Product Knowledge: Series X")
SLIDE_NAMES = ("Welcome", "Learning Objectives", "Introduction", "Key Terms",
               "Scenario", "Case Study", "What Would You Do?",
               "Best Practices", "Common Mistakes", "Check Your Knowledge",
               "Summary", "Resources", "Interactive Diagram", "Video",
               "Reflection", "Policy Overview", "Step-by-Step Guide",
               "Your Responsibilities", "Reporting Concerns", "Next Steps")
WORDS = ("the policy requires every employee to report incidents promptly "
         "and to follow the documented procedure when handling sensitive "
         "information customers colleagues equipment or premises within "
         "the first working day after the event has occurred").split()
INTERACTIONS = ("choice", "choice", "choice", "true-false", "fill-in",
                "sequencing", "matching", "likert")
CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


class World:
    """Courses, learners and the statement stream of their sessions."""

    def __init__(self, seed, count):
        self.rng = random.Random(seed)
        self.count = count
        self.courses = [self._course(i) for i in range(len(TOPICS))]
        nlearners = max(50, count // 120)
        self.learners = [self._learner(i) for i in range(nlearners)]
        # Two weeks back from a fixed day, so that output is reproducible.
        self.epoch = 1767225600.0 - 14 * 86400  # 2026-01-01T00:00:00Z
        self.registrations = []   # (registration, learner index)
        self.used_learners = set()

    def _code(self, n):
        return "".join(self.rng.choice(CODE_CHARS) for _ in range(n))

    def _text(self, lo, hi):
        words = [self.rng.choice(WORDS) for _ in range(self.rng.randint(lo, hi))]
        return " ".join(words).capitalize()

    def _question(self, slide_id, k):
        kind = self.rng.choice(INTERACTIONS)
        qid = "%s_Question%02d_%s" % (slide_id, k, self._code(6))
        definition = {
            "name": {LANG: "Question %d" % (k + 1)},
            "description": {LANG: self._text(10, 18) + "?"},
            "type": CMI_INTERACTION,
            "interactionType": kind,
        }
        if kind in ("choice", "sequencing", "likert"):
            field = "scale" if kind == "likert" else "choices"
            opts = [{"id": "choice_%s" % self._code(8),
                     "description": {LANG: self._text(3, 7)}}
                    for _ in range(self.rng.randint(3, 5))]
            definition[field] = opts
            ids = [o["id"] for o in opts]
            if kind == "choice":
                correct = ids[self.rng.randrange(len(ids))]
            elif kind == "sequencing":
                correct = "[,]".join(ids)
            else:
                correct = ids[-1]
            definition["correctResponsesPattern"] = [correct]
        elif kind == "matching":
            src = [{"id": "src_%d" % i, "description": {LANG: self._text(1, 3)}}
                   for i in range(3)]
            tgt = [{"id": "tgt_%d" % i, "description": {LANG: self._text(1, 3)}}
                   for i in range(3)]
            definition["source"] = src
            definition["target"] = tgt
            definition["correctResponsesPattern"] = [
                "[,]".join("src_%d[.]tgt_%d" % (i, i) for i in range(3))]
        elif kind == "true-false":
            definition["correctResponsesPattern"] = [
                self.rng.choice(("true", "false"))]
        else:
            definition["correctResponsesPattern"] = [
                self.rng.choice(WORDS)]
        return {"id": qid, "definition": definition}

    def _course(self, i):
        course_id = "https://courses.example.com/storyline/%s" % self._code(11)
        slides = []
        for scene in range(self.rng.randint(2, 4)):
            for n in range(self.rng.randint(4, 7)):
                slide_id = "%s/%s" % (course_id, self._code(11))
                name = "%d.%d %s" % (scene + 1, n + 1,
                                     self.rng.choice(SLIDE_NAMES))
                slide = {"id": slide_id, "name": name, "questions": []}
                if self.rng.random() < 0.3:
                    slide["questions"] = [self._question(slide_id, k)
                                          for k in range(self.rng.randint(1, 2))]
                slides.append(slide)
        program = "https://lms.example.com/programs/%s" % self.rng.choice(
            ("compliance-2026", "onboarding", "leadership", "technical"))
        return {"id": course_id, "name": TOPICS[i], "slides": slides,
                "program": program,
                "description": self._text(12, 20) + "."}

    def _learner(self, i):
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        agent = {"objectType": "Agent", "name": "%s %s" % (first, last)}
        if self.rng.random() < 0.2:
            agent["account"] = {"homePage": "https://lms.example.com",
                                "name": "u%06d" % i}
        else:
            agent["mbox"] = "mailto:%s.%s.%d@example.com" % (
                first.lower(), last.lower(), i)
        return agent

    def _uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    @staticmethod
    def _iso(t):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
            ".%03dZ" % int((t % 1) * 1000)

    @staticmethod
    def _duration(seconds):
        return "PT%.2fS" % seconds

    def _context(self, s, parent):
        """Storyline's context: the parent is the slide of a question or
        the course of a slide; course-level statements have none. The
        course and its programme group everything below them."""
        course = s["course"]
        groups = [course["program"]]
        acts = {}
        if parent is not None:
            acts["parent"] = [{"id": parent, "objectType": "Activity"}]
            if parent != course["id"]:
                groups.insert(0, course["id"])
        acts["grouping"] = [{"id": g, "objectType": "Activity"}
                            for g in groups]
        acts["category"] = [{"id": "https://w3id.org/xapi/cmi5/context/"
                                   "categories/cmi5",
                             "objectType": "Activity"}]
        return {
            "registration": s["registration"],
            "revision": "3",
            "platform": "Articulate Storyline 360",
            "language": LANG,
            "contextActivities": acts,
            "extensions": {
                TINCAN_EXT + "browser-info": s["browser"],
                EXT + "session-id": s["session"],
            },
        }

    def _statement(self, s, verb, obj, parent, result=None):
        s["t"] += self.rng.uniform(4, 90)
        stmt = {
            "id": self._uuid(),
            "actor": s["actor"],
            "verb": {"id": VERB_BASE + verb, "display": {LANG: verb}},
            "object": obj,
        }
        if result is not None:
            stmt["result"] = result
        stmt["context"] = self._context(s, parent)
        stmt["timestamp"] = self._iso(s["t"])
        return stmt

    def _course_object(self, course):
        return {"objectType": "Activity", "id": course["id"],
                "definition": {"name": {LANG: course["name"]},
                               "description": {LANG: course["description"]},
                               "type": ACT_TYPE + "course"}}

    def _slide_object(self, slide):
        return {"objectType": "Activity", "id": slide["id"],
                "definition": {"name": {LANG: slide["name"]},
                               "type": ACT_TYPE + "module"}}

    def _answer(self, q):
        d = q["definition"]
        right = self.rng.random() < 0.7
        correct = d["correctResponsesPattern"][0]
        if right:
            response = correct
        elif d["interactionType"] == "true-false":
            response = "false" if correct == "true" else "true"
        elif "choices" in d or "scale" in d:
            opts = d.get("choices") or d.get("scale")
            response = opts[0]["id"]
        else:
            response = self.rng.choice(WORDS)
        raw = 10 if right else 0
        return {
            "score": {"scaled": raw / 10, "raw": raw, "min": 0, "max": 10},
            "success": right,
            "response": response,
            "duration": self._duration(self.rng.uniform(3, 60)),
            "extensions": {
                TINCAN_EXT + "attempt-id": self.rng.randint(1, 3),
                EXT + "points-available": 10,
                EXT + "time-on-slide-ms": self.rng.randint(2000, 90000),
            },
        }

    def session(self):
        """Yields the statements of one learner's attempt at a course."""
        li = self.rng.randrange(len(self.learners))
        course = self.rng.choice(self.courses)
        s = {
            "actor": self.learners[li], "course": course,
            "registration": self._uuid(), "session": self._code(16),
            "browser": {"code_name": "Mozilla", "name": self.rng.choice(
                ("Chrome", "Firefox", "Safari", "Edge")),
                "version": "%d.0" % self.rng.randint(110, 140)},
            "t": self.epoch + self.rng.uniform(0, 14 * 86400),
        }
        s["start"] = s["t"]
        self.registrations.append((s["registration"], li))
        self.used_learners.add(li)
        cobj = self._course_object(course)
        yield self._statement(s, "attempted", cobj, None)
        quit_at = len(course["slides"])
        if self.rng.random() < 0.2:
            quit_at = self.rng.randrange(1, len(course["slides"]))
        score = total = 0
        for n, slide in enumerate(course["slides"][:quit_at]):
            yield self._statement(
                s, "experienced", self._slide_object(slide), course["id"],
                {"duration": self._duration(self.rng.uniform(5, 120))})
            for q in slide["questions"]:
                result = self._answer(q)
                score += result["score"]["raw"]
                total += 10
                qobj = dict(q, objectType="Activity")
                yield self._statement(s, "answered", qobj, slide["id"], result)
            if n % 6 == 5:
                progress = round(100 * (n + 1) / len(course["slides"]))
                yield self._statement(s, "progressed", cobj, None, {
                    "extensions": {"https://w3id.org/xapi/cmi5/result/"
                                   "extensions/progress": progress}})
        if quit_at < len(course["slides"]):
            yield self._statement(s, "terminated", cobj, None)
            return
        scaled = score / total if total else 1.0
        verb = "passed" if scaled >= 0.7 else "failed"
        yield self._statement(s, verb, cobj, None, {
            "score": {"scaled": round(scaled, 4), "raw": score, "min": 0,
                      "max": total},
            "success": verb == "passed", "completion": True,
            "duration": self._duration(s["t"] - s["start"])})
        yield self._statement(s, "completed", cobj, None,
                              {"completion": True})

    def statements(self):
        """Yields exactly self.count statements, session after session."""
        left = self.count
        while left > 0:
            for stmt in self.session():
                yield stmt
                left -= 1
                if left == 0:
                    return

    def query_paths(self, base, limit, n):
        """Returns {name: [path, ...]} of GET /statements queries, n of
        each kind, that match statements generated so far."""
        rng = random.Random(self.count)
        regs = rng.sample(self.registrations, min(n, len(self.registrations)))
        learners = sorted(self.used_learners)
        agents = rng.sample(learners, min(n, len(learners)))
        questions = [q["id"] for c in self.courses for sl in c["slides"]
                     for q in sl["questions"]]
        tail = "&limit=%d" % limit

        def agent_param(li):
            a = dict(self.learners[li])
            a.pop("name")
            a.pop("objectType")
            return urllib.parse.quote(json.dumps(a, separators=(",", ":")),
                                      safe="")

        q = urllib.parse.quote
        return {
            "agent": ["%s/statements?agent=%s%s" % (base, agent_param(li),
                                                    tail) for li in agents],
            "verb-activity": [
                "%s/statements?verb=%s&activity=%s%s" % (
                    base, q(VERB_BASE + "answered", safe=""), q(a, safe=""),
                    tail) for a in questions],
            "registration": ["%s/statements?registration=%s%s" % (
                base, r, tail) for r, _ in regs],
        }


def dumps(stmt):
    return json.dumps(stmt, separators=(",", ":"), ensure_ascii=False)


def cmd_pool(args):
    world = World(args.seed, args.count)
    with open(args.out, "w", encoding="utf-8") as out:
        for stmt in world.statements():
            out.write(dumps(stmt))
            out.write("\n")
    return 0


def cmd_stats(args):
    world = World(args.seed, args.count)
    sizes = sorted(len(dumps(s).encode()) for s in world.statements())
    n = len(sizes)
    print("statements %d  bytes: min %d  median %d  mean %.0f  p99 %d  max %d"
          % (n, sizes[0], sizes[n // 2], sum(sizes) / n,
             sizes[min(n - 1, n * 99 // 100)], sizes[-1]))
    return 0


class Poster(threading.Thread):
    """Sends queued batch bodies to POST /statements on one connection."""

    def __init__(self, url, auth, work, failures):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path.rstrip("/") + "/statements"
        self.headers = {
            "Authorization": "Basic " + auth,
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        }
        self.work = work
        self.failures = failures

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        while True:
            body = self.work.get()
            if body is None:
                break
            try:
                conn.request("POST", self.path, body, self.headers)
                resp = conn.getresponse()
                text = resp.read()
                if resp.status != 200:
                    self.failures.append("%d %s" % (resp.status, text[:300]))
            except (OSError, http.client.HTTPException) as e:
                self.failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port,
                                                  timeout=300)
        conn.close()


def cmd_load(args):
    world = World(args.seed, args.count)
    auth = base64.b64encode(("%s:%s" % (args.key, args.secret))
                            .encode()).decode()
    work = queue.Queue(maxsize=args.connections * 2)
    failures = []
    posters = [Poster(args.url, auth, work, failures)
               for _ in range(args.connections)]
    for p in posters:
        p.start()
    batch, sent, started = [], 0, time.monotonic()
    step = max(args.count // 10, 1)
    for stmt in world.statements():
        batch.append(dumps(stmt))
        if len(batch) == args.batch:
            work.put(("[" + ",".join(batch) + "]").encode())
            sent += len(batch)
            batch = []
            if sent % step < args.batch and not args.quiet:
                print("gen.py load: %d of %d sent (%.0f s)" % (
                    sent, args.count, time.monotonic() - started),
                    file=sys.stderr)
        if failures:
            break
    if batch and not failures:
        work.put(("[" + ",".join(batch) + "]").encode())
    for _ in posters:
        work.put(None)
    for p in posters:
        p.join()
    if failures:
        print("gen.py load: %d requests failed; first: %s"
              % (len(failures), failures[0]), file=sys.stderr)
        return 1
    if args.queries:
        base = urllib.parse.urlsplit(args.url).path.rstrip("/")
        for name, paths in world.query_paths(base, args.limit,
                                             args.per_kind).items():
            with open("%s/queries-%s.txt" % (args.queries, name), "w") as f:
                f.write("\n".join(paths) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("pool", "load", "stats"):
        p = sub.add_parser(name)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--seed", type=int, default=1)
        if name == "pool":
            p.add_argument("--out", required=True)
        if name == "load":
            p.add_argument("--url", required=True,
                           help="xAPI base URL, http://127.0.0.1:PORT/xapi")
            p.add_argument("--key", required=True)
            p.add_argument("--secret", required=True)
            p.add_argument("--batch", type=int, default=500)
            p.add_argument("--connections", type=int, default=4)
            p.add_argument("--queries", help="directory for query lists")
            p.add_argument("--limit", type=int, default=50,
                           help="limit parameter of the query paths")
            p.add_argument("--per-kind", type=int, default=500)
            p.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    return {"pool": cmd_pool, "load": cmd_load, "stats": cmd_stats}[
        args.command](args)


if __name__ == "__main__":
    sys.exit(main())
