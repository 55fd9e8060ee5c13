#!/usr/bin/env python3
"""normalize.py [--ids] FILE: print a tlinspect --json goroutines document with what legitimately
differs between two inspections removed, so that two documents can be diffed:
  * addresses, pcs, pids, tids, exe path, pause, bytes read, wait seconds, layout source;
  * live vs core: the target kind, whether we stopped it, warnings (a core's exe check);
  * system goroutines (runtime-internal: GC workers, scavenger, ...) keep only their start
    function: their state depends on when the runtime's background work last ran;
  * for running/runnable goroutines (a busy loop), the line and offset of frames: where such a
    goroutine was stopped depends on the instant;
  * the summary (it is computed from the goroutine list, and counts system goroutines' states);
  * without --ids (two different processes): goroutine ids (the runtime hands them out in
    per-P batches, so they differ between runs), the addresses in blocked_on (only their
    number is kept) and the words of frame arguments (pointers differ; their shape is kept:
    "0x?, {0x?, 0x??}"); goroutines are then compared as a sorted list.
User goroutines keep everything else: status, wait reason, wait minutes, locked thread, current,
user, start and created-by frames, the whole stack with files, lines and offsets."""
import json
import re
import sys

DROP = {"address", "pc", "pid", "exe", "core", "pause_ms", "bytes_read", "wait_seconds",
        "layout_source", "thread", "threads", "now", "summary",
        "kind", "stopped_by_us", "snapshot", "warnings",  # live vs core of the same process
        "ns_pid", "exe_file", "root"}           # the process's own pid and files (live only, per process)

keep_ids = "--ids" in sys.argv[1:]
if "--no-minutes" in sys.argv[1:]:
    # inspections taken apart in time (live, then a core written later): the wait in minutes
    # may have crossed a minute; it is checked against Go's own dump in tests/integration/run.sh
    DROP.add("wait_minutes")
args = sys.argv[1:]
facts_ids = set()
if "--facts" in args:
    # the target's own record of which goroutines are volatile (by goid)
    i = args.index("--facts")
    facts = json.load(open(args[i + 1]))
    facts_ids = {facts["roles"][r] for r in facts.get("volatile", []) if r in facts.get("roles", {})}
    del args[i:i + 2]
path = [a for a in args if not a.startswith("--")][0]
if not keep_ids:
    DROP |= {"id", "goid", "ids"}


def strip(v):
    if isinstance(v, dict):
        return {k: (re.sub(r"0x[0-9a-f]+", "0x?", x) if k == "args" and not keep_ids and isinstance(x, str)
                    else strip(x)) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


# The goroutines target's volatile roles (facts.json "volatile": busy1, busy2,
# select_default_loop) run, sleep or wait from one instant to the next: like
# tests/integration/compare.py, only their identity and creator are compared.
VOLATILE_FUNCS = {"main.busyLoop", "main.selectDefaultLoop"}


def volatile(g):
    if g.get("id") in facts_ids:
        return True
    return any(isinstance(g.get(k), dict) and g[k].get("function") in VOLATILE_FUNCS
               for k in ("user", "start", "current"))


doc = json.load(open(path))
gs = []
for g in doc.get("go", {}).get("goroutines", []):
    if volatile(g):
        g = {"volatile": True, "id": g.get("id"), "created_by": g.get("created_by")}
    if g.get("system"):
        g = {"system": True, "id": g.get("id"), "start": (g.get("start") or {}).get("function")}
    g = strip(g)
    if not keep_ids and isinstance(g.get("blocked_on"), list):
        # channel addresses differ between two processes (Go 1.26+ randomizes the heap base)
        g["blocked_on"] = len(g["blocked_on"])
    if g.get("status") in ("running", "runnable"):
        for k in ("current", "user"):
            if isinstance(g.get(k), dict):
                g[k] = {a: b for a, b in g[k].items() if a not in ("line", "offset")}
        g["stack"] = [{a: b for a, b in f.items() if a not in ("line", "offset")}
                      for f in g.get("stack", [])]
    gs.append(g)
if not keep_ids:
    gs.sort(key=lambda g: json.dumps(g, sort_keys=True))
out = strip(doc)
if "go" in out:
    out["go"]["goroutines"] = gs
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
