#!/usr/bin/env python3
"""Compare tlinspect's channel/leak JSON with the truth the target recorded.

usage: check.py addrs FACTS            print "name addr" per channel of the facts
       check.py check DIR LABEL [stripped]
                                       check DIR/{leaks,chans,goroutines,graph}.json,
                                       DIR/chan-NAME.json, DIR/chan-NAME-values.json
                                       against DIR/../facts.json (or DIR/facts.json),
                                       and DIR/../leak.txt (runtime goroutineleak profile)
Prints one "ok LABEL: what" / "FAIL LABEL: what (details)" line per check.
"""
import json
import os
import re
import sys


def load(p):
    with open(p) as f:
        return json.load(f)


# fields that legitimately differ between two inspections of the same idle process: timings,
# and the heap-scan counters (the runtime's own background work - sweeping, scavenging, its
# system goroutines' stacks - may change what there is to scan between the two; seen once on
# go1.27: 232 bytes of 250 KB). The leak verdicts, groups and evidence must be identical.
VOLATILE = {"pause_ms", "bytes_read", "layout_source", "analysis_seconds", "capture_seconds",
            "wait_seconds", "elapsed_seconds", "scanned_bytes", "marked_objects", "heap_bytes", "spans"}


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in VOLATILE}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


def system_free(doc):
    """goroutines.json: the runtime's own goroutines (GC workers, scavenger) change state on
    their own between two inspections; they are compared by id only, as is the summary."""
    go = doc.get("go", {})
    for g in go.get("goroutines", []):
        if g.get("system"):
            for k in list(g):
                if k not in ("id", "system"):
                    del g[k]
    go.pop("summary", None)
    return doc


def same(a, b, label):
    """Every JSON document of inspection directory A equals the one of B (volatile fields aside)."""
    names = sorted(n for n in os.listdir(a) if n.endswith(".json"))
    ok = True
    for n in names:
        try:
            x, y = strip(load(os.path.join(a, n))), strip(load(os.path.join(b, n)))
        except (OSError, ValueError) as e:
            print("FAIL %s: %s readable in both (%s)" % (label, n, e))
            ok = False
            continue
        if n == "goroutines.json":
            x, y = system_free(x), system_free(y)
        if x == y:
            print("ok %s: %s identical" % (label, n))
        else:
            ok = False
            xs = json.dumps(x, indent=1, sort_keys=True).splitlines()
            ys = json.dumps(y, indent=1, sort_keys=True).splitlines()
            import difflib
            diff = [l for l in difflib.unified_diff(xs, ys, lineterm="", n=1)][2:14]
            print("FAIL %s: %s differs (%s)" % (label, n, " | ".join(diff)))
    if not names:
        print("FAIL %s: no JSON documents in %s" % (label, a))
    return 0


def main():
    if sys.argv[1] == "addrs":
        facts = load(sys.argv[2])
        for name, c in sorted(facts["channels"].items()):
            print(name, c["addr"])
        return 0
    if sys.argv[1] == "same":
        return same(sys.argv[2], sys.argv[3], sys.argv[4])
    d, label = sys.argv[2], sys.argv[3]
    stripped = len(sys.argv) > 4 and sys.argv[4] == "stripped"
    fp = os.path.join(d, "facts.json")
    if not os.path.exists(fp):
        fp = os.path.join(d, "..", "facts.json")
    facts = load(fp)
    results = []

    def check(what, cond, detail=""):
        results.append(("ok" if cond else "FAIL", what, "" if cond else detail))

    want_leaked = {int(k) for k in facts["leaked"]}
    alive = {int(k) for k in facts["alive"]}
    # sync.Cond waits are linked to their object on every version: g.waiting.elem from Go 1.26 on,
    # before that the *sync.Cond live in the waiter's own sync.(*Cond).Wait frame
    m = re.match(r"go1\.(\d+)", facts.get("go_version", ""))
    minor = int(m.group(1)) if m else 0
    sync_ids = {int(k) for k in facts.get("leaked_sync", {})}
    want_leaked |= sync_ids

    # leaks
    try:
        lk = load(os.path.join(d, "leaks.json"))
        got = {g["id"] for g in lk["go"]["leaked_goroutines"]}
        check("leaks: leaked set equals the target's own list", got == want_leaked,
              "missing %s, extra %s" % (sorted(want_leaked - got), sorted(got - want_leaked)))
        check("leaks: no goroutine the target keeps alive is called leaked", not (got & alive),
              "false positives %s" % sorted(got & alive))
        if sync_ids:
            check("leaks: sync.Cond waiters on a Cond nobody can signal are leaked (on <= 1.25 through the Wait frame)",
                  sync_ids <= got, "not called leaked: %s" % sorted(sync_ids - got))
        # semaphore waits (Mutex/RWMutex/WaitGroup): judged on every version
        # (<= 1.25 through runtime.semtable)
        sema = {int(k): v for k, v in facts.get("sema", {}).items()}
        if sema:
            sl = {i for i in sema if i in want_leaked}
            sa = {i for i in sema if i in alive}
            check("leaks: semaphore waiters: %d leaked ones called leaked, %d live ones not" % (len(sl), len(sa)),
                  sl <= got and not (sa & got),
                  "missed %s, false positives %s" % (sorted(sl - got), sorted(sa & got)))
            if minor < 26:
                st = lk["go"].get("leak_stats", {}).get("semtable", {})
                check("leaks: runtime.semtable linked every semaphore waiter",
                      st.get("linked_goroutines", 0) >= len(sema) and "problem" not in st, str(st))
        pair = {int(k) for k, v in facts["leaked"].items() if v.startswith("deadlock pair")}
        cyc = [set(c["goroutines"]) for c in lk["go"].get("deadlocks", [])]
        check("leaks: the two-goroutine deadlock is flagged as a cycle", pair in cyc, "cycles %s" % cyc)
        for g in lk["go"]["leaked_goroutines"]:
            if not g.get("evidence") or g.get("user") is None:
                check("leaks: goroutine %d has evidence and a user frame" % g["id"], False, json.dumps(g)[:200])
                break
        else:
            check("leaks: every leaked goroutine has evidence and a user frame", True)
        # the runtime's own goroutineleak profile (Go >= 1.26)
        prof = os.path.join(os.path.dirname(fp), "leak.txt")
        if minor >= 26:
            # run.sh builds 1.26 with GOEXPERIMENT=goroutineleakprofile; 1.27 has it by default
            check("leaks: the runtime's goroutineleak profile was recorded",
                  os.path.exists(prof) and "no goroutineleak profile" not in open(prof).read(),
                  "no profile in %s" % prof)
        if os.path.exists(prof):
            text = open(prof).read()
            if "no goroutineleak profile" not in text:
                pids = {int(m) for m in re.findall(r"^goroutine (\d+)[^\n]*\(leaked\)", text, re.M)}
                check("leaks: same set as the runtime's goroutineleak profile", pids == got,
                      "profile %s, tlinspect %s" % (sorted(pids), sorted(got)))
    except (OSError, KeyError, ValueError) as e:
        check("leaks: output readable", False, str(e))

    # goroutines: blocked_on
    try:
        gr = load(os.path.join(d, "goroutines.json"))
        by = {g["id"]: g for g in gr["go"]["goroutines"] if g.get("id") is not None}
        bad = []
        for gid, chans in facts["blocked_on"].items():
            g = by.get(int(gid))
            if g is None or sorted(g.get("blocked_on", [])) != sorted(chans):
                bad.append((gid, chans, g and g.get("blocked_on")))
        check("goroutines: blocked_on of every channel-blocked goroutine", not bad, str(bad)[:300])
    except (OSError, KeyError, ValueError) as e:
        check("goroutines: output readable", False, str(e))

    # chans
    try:
        ch = load(os.path.join(d, "chans.json"))
        rows = {c["address"]: c for c in ch["go"]["channels"]}
        jobs = rows.get(facts["channels"]["jobs"]["addr"])
        nworkers = sum(1 for v in facts["alive"].values() if v.startswith("idle worker"))
        check("chans: the worker pool channel has %d receivers" % nworkers,
              jobs is not None and jobs["receivers"] == nworkers and jobs["senders"] == 0, str(jobs)[:200])
        want = set(a for l in facts["blocked_on"].values() for a in l)
        check("chans: lists every channel a goroutine blocks on", want <= set(rows), str(sorted(want - set(rows))))
        ws = [r["senders"] + r["receivers"] for r in ch["go"]["channels"]]
        check("chans: sorted by waiters", ws == sorted(ws, reverse=True), str(ws))
        # channels held by globals: every channel the program keeps in a package-level
        # variable is listed with len()/cap()/closed as Go reports them, named after the
        # variable (when the binary has a symbol table) and nothing else of main is
        bad = []
        for name, f in sorted(facts["channels"].items()):
            r = rows.get(f["addr"])
            names = [h.get("name") for h in (r or {}).get("globals", [])]
            want_name = None if stripped else "main." + name
            if (r is None or r.get("len") != f["len"] or r.get("cap") != f["cap"] or
                    r.get("closed") != f["closed"] or want_name not in names):
                bad.append((name, f, r and {k: r.get(k) for k in ("len", "cap", "closed", "globals")}))
        check("chans: every global channel listed with Go's len/cap/closed and its variable%s" %
              (" (no names: stripped)" if stripped else " name"), not bad, str(bad)[:400])
        mains = sorted(h["name"] for r in rows.values() for h in r.get("globals", [])
                       if (h.get("name") or "").startswith("main."))
        want = sorted("main." + n for n in facts["channels"]) if not stripped else []
        check("chans: no other global of package main is called a channel", mains == want, str(mains))
        check("chans: every channel held by a global decodes",
              all("unreadable" not in r for r in rows.values() if r.get("globals")),
              str([r for r in rows.values() if r.get("globals") and "unreadable" in r])[:300])
    except (OSError, KeyError, ValueError) as e:
        check("chans: output readable", False, str(e))

    # chan ADDR for each channel of the facts
    for name, f in sorted(facts["channels"].items()):
        try:
            c = load(os.path.join(d, "chan-%s.json" % name))["channel"]
            ok = (c["qcount"] == f["len"] and c["dataqsiz"] == f["cap"] and c["closed"] == f["closed"]
                  and c["elemtype"] == f["elemtype"] and "unreadable" not in c)
            check("chan %s: len/cap/closed/elemtype equal Go's len()/cap()" % name, ok,
                  "got qcount=%s dataqsiz=%s closed=%s elemtype=%r, want %s" %
                  (c.get("qcount"), c.get("dataqsiz"), c.get("closed"), c.get("elemtype"), f))
            if f["cap"]:
                sx, rx = c["sendx"], c["recvx"]
                check("chan %s: sendx/recvx inside the ring and consistent with len" % name,
                      sx < f["cap"] and rx < f["cap"] and (sx - rx) % f["cap"] == f["len"] % f["cap"],
                      "sendx=%s recvx=%s" % (sx, rx))
            if f.get("sendx_lt_recvx"):
                check("chan %s: wrapped ring (sendx < recvx)" % name, c["sendx"] < c["recvx"],
                      "sendx=%s recvx=%s" % (c["sendx"], c["recvx"]))
            if name == "ring":
                vals = [e["value"] for e in c["buffer"]]
                check("chan ring: buffered values in receive order", vals == facts["ring_values"], str(vals))
            if name == "strs":
                vals = [e["value"] for e in c["buffer"]]
                check("chan strs: strings redacted without --values",
                      all("redacted" in v and "secret" not in v for v in vals), str(vals))
                cv = load(os.path.join(d, "chan-%s-values.json" % name))["channel"]
                vals = [e["value"] for e in cv["buffer"]]
                check("chan strs: strings shown with --values", vals == ["secret-one", "secret-two"], str(vals))
            if name == "jobs":
                rq = [s["goroutine"] for s in c["recvq"]]
                want = sorted(int(k) for k, v in facts["alive"].items() if v.startswith("idle worker"))
                check("chan jobs: recvq holds the idle workers", sorted(rq) == want, str(rq))
                check("chan jobs: each waiter has a user frame in main.workerPool",
                      all((s.get("user") or {}).get("function", "").startswith("main.workerPool") for s in c["recvq"]),
                      str(c["recvq"])[:200])
        except (OSError, KeyError, ValueError, TypeError) as e:
            check("chan %s: output readable" % name, False, str(e))

    # graph --dot
    try:
        dot = open(os.path.join(d, "graph.dot")).read()
        pair = [int(k) for k, v in facts["leaked"].items() if v.startswith("deadlock pair")]
        # every node (or group of 3 or fewer, which names its members "g10 g11") of the pair is red
        ok = dot.startswith("digraph") and dot.rstrip().endswith("}") and all(
            re.search(r'^\s*"g%d" \[.*color=red' % g, dot, re.M) or
            re.search(r'^\s*"G\d+" \[.*label="[^"]*\\ng%d(?: |")[^\n]*color=red' % g, dot, re.M) for g in pair)
        check("graph --dot: DOT document with the deadlock pair highlighted", ok, dot[:200])
    except OSError as e:
        check("graph --dot: output readable", False, str(e))

    for st, what, detail in results:
        print("%s %s: %s%s" % (st, label, what, (" (" + detail + ")") if detail else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
