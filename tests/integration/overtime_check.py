#!/usr/bin/env python3
"""tests/integration/overtime_check.py - the checks of overtime.sh, against the target's own record.

  diff DIFF.json LEAKED_FILE         the diff names exactly the leaked group and type, exact deltas
  traces THEIRS.txt OURS.txt         `go tool pprof -traces` of the runtime's goroutine profile and of
                                     ours: the same stacks with the same counts (the profile writer's
                                     own goroutine, which is elsewhere by the time we look, left out)
  screen SCREEN.txt SCREEN.json LEAKS.json POOL.json [--stripped]
                                     the first screen after the leak: at most 40 lines; its leaked
                                     count is `leaks`'s; the pool's figures are db.Stats()'s and the
                                     leaked connections; the AfterFunc timers; memstats the runtime's
  watch WATCH.json                   exactly the dripping group is growing; the workers and the
                                     wobbling pool are not
Prints one line; exit 1 on a mismatch.
"""
import json
import sys
from collections import Counter

# types a leaked goroutine brings with it (its g, its channel, its sudog, the slice of records)
COMPANIONS = {"runtime.g", "runtime.hchan", "runtime.sudog", "[]*main.LeakedRecord"}
NOISE = 3  # other types may move by this many objects (timers, runtime bookkeeping)


def size_class_row(size):
    return "untyped (size class %d B)" % size


def pool_companion(name):
    """types the pool and timer leak bring (connections, their dependency sets, the timers)"""
    return "sql." in name or "main.fake" in name or "Timer" in name or name.endswith("[interface {}]bool")


def check_pools_timers(d, pool, errs, stripped=False):
    """diff.pools names the sql pool with the deltas db.Stats() saw and the leaked connections;
    other pool rows are the pool's own bookkeeping maps; diff.timers the AfterFunc group"""
    rows = d["pools"]
    db = [r for r in rows if r["kind"] == "sql_dbs" and r["key"] == pool["db"]]
    if stripped and not db:   # no DWARF, no global names: the pool is keyed by its address
        db = [r for r in rows if r["kind"] == "sql_dbs" and r["key"].startswith("0x")]
    if len(db) != 1:
        errs.append("no sql_dbs row %s in diff.pools: %s" % (pool["db"], [(r["kind"], r["key"]) for r in rows]))
        return ""
    delta = db[0]["delta"]
    want = {k: pool["after"][k] - pool["before"][k] for k in ("open", "in_use", "idle", "wait_count")}
    want["leaked"] = pool["leaked_connections"]
    got = {k: delta.get(k, 0) for k in want}
    if got != want:
        errs.append("pool %s deltas %s, want %s" % (pool["db"], got, want))
    if delta.get("waiters", 0):
        errs.append("pool waiters moved by %+d" % delta["waiters"])
    for r in rows:
        if r is db[0] or (r["kind"] == "maps" and r["key"].startswith(pool["db"] + "@")):
            continue   # the pool's dependency maps (database/sql keeps one per connection)
        moved = {k: v for k, v in r["delta"].items() if k in ("len", "entries", "in_use", "open", "leaked")}
        if any(abs(v) > NOISE for v in moved.values()):
            errs.append("pool row %s %s moved %s" % (r["kind"], r["key"], moved))
    tg = d["timers"]["groups"]
    lt = [g for g in tg if g["function"] == pool["timer_function"] and g["kind"] == "after_func"]
    if not lt or lt[0]["delta"] != pool["timers"]:
        errs.append("timer group %s: %s, want %+d" % (pool["timer_function"], lt, pool["timers"]))
    for g in tg:
        if g not in lt and (not g["function"].startswith("runtime.") or abs(g["delta"]) > 1):
            errs.append("timer group %s %s moved by %+d" % (g["kind"], g["function"], g["delta"]))
    return "; pool %s %s; timers %s %+d" % (db[0]["key"], " ".join("%s %+d" % kv for kv in sorted(got.items()) if kv[1]),
                                           pool["timer_function"], pool["timers"])


def check_diff(path, leaked_path, stripped=False):
    n, size = (int(x) for x in open(leaked_path).read().split())
    pool = json.load(open(leaked_path.replace("leaked", "pool.json")))
    d = json.load(open(path))["diff"]
    errs = []
    pt = check_pools_timers(d, pool, errs, stripped)
    groups = d["goroutine_groups"]
    if len(groups) != 1:
        errs.append("%d groups moved, want 1: %s" % (len(groups), [(g["key"], g["delta"]) for g in groups]))
    leak = [g for g in groups if (g["key"].get("user") or "").startswith("main.leakyHandler ")]
    if not leak:
        errs.append("no group at main.leakyHandler")
    else:
        g = leak[0]
        if g["delta"] != n or g["before"] != 0 or g["after"] != n:
            errs.append("leaky group %d -> %d (%+d), want 0 -> %d" % (g["before"], g["after"], g["delta"], n))
        if not (g["key"].get("created_by") or "").startswith("main.leakBurst"):
            errs.append("leaky group created by %s, want main.leakBurst" % g["key"].get("created_by"))
        if g["key"].get("labels") != pool["labels"]:
            errs.append("leaky group labels %s, want %s" % (g["key"].get("labels"), pool["labels"]))
        if g["key"].get("wait_reason") != "chan receive":
            errs.append("leaky group wait reason %s" % g["key"].get("wait_reason"))
    types = {t["type"]: t for t in d["types"]}
    rec = types.get("main.LeakedRecord")
    untyped_rec = types.get(size_class_row(size))
    if stripped and not rec:
        # no DWARF: the global slice that keeps the records is untyped, so are they (census.h);
        # they must show as that many more untyped objects of their size class, which they share
        # with runtime objects that may come or go meanwhile; where the toolchain's runtime.sudog
        # is of the same size class (go1.23: 96 B) each leaked goroutine's sudog, untyped too
        # without DWARF, joins them, and so does its runtime.hchan where that is 96 B too and
        # untyped (go1.21 stripped: all three): n records, and n sudogs, and n channels
        if not untyped_rec or min(abs(untyped_rec["objects_delta"] - k * n) for k in (1, 2, 3)) > NOISE:
            errs.append("stripped: no %s row moving by %d (the row: %s)" % (size_class_row(size), n, untyped_rec))
        if errs:
            print("; ".join(errs))
            return 1
        print("group main.leakyHandler/main.leakBurst %+d; records untyped (no DWARF): %s %+d objects%s"
              % (n, size_class_row(size), untyped_rec["objects_delta"], pt))
        return 0
    if not rec:
        errs.append("main.LeakedRecord did not move")
    elif rec["objects_delta"] != n or rec["bytes_delta"] != n * size:
        errs.append("main.LeakedRecord %+d objects %+d bytes, want %+d, %+d" %
                    (rec["objects_delta"], rec["bytes_delta"], n, n * size))
    untyped_companions = []
    for name, t in types.items():
        if pool_companion(name) and 0 <= t["objects_delta"] <= 2 * pool["leaked_connections"] + pool["timers"]:
            continue
        if name == "main.LeakedRecord" or name in COMPANIONS:
            if name in ("runtime.g", "runtime.hchan") and abs(t["objects_delta"] - n) > NOISE:
                errs.append("%s %+d objects, want about %+d" % (name, t["objects_delta"], n))
            continue
        if name.startswith("untyped (") and min(abs(t["objects_delta"] - k * n) for k in (1, 2)) <= NOISE:
            untyped_companions.append(name)  # a leaked goroutine's channel/sudog the census left untyped
            continue
        if abs(t["objects_delta"]) > NOISE:
            errs.append("%s moved by %+d objects (more than noise)" % (name, t["objects_delta"]))
    if d["goroutines"]["delta"] != n:
        errs.append("goroutines %+d, want %+d" % (d["goroutines"]["delta"], n))
    if errs:
        print("; ".join(errs))
        return 1
    print("group main.leakyHandler/main.leakBurst %+d, main.LeakedRecord %+d objects %+d bytes, %d other types within "
          "noise%s%s" % (n, n, n * size, len(types) - 1,
                         ", untyped companions: %s" % untyped_companions if untyped_companions else "", pt))
    return 0


def parse_traces(path):
    """-traces output -> Counter of (labels, frames...) -> count; blocks with main.profileWriter left out.
    Labels are part of the key: the runtime's profile has one sample per stack and label set."""
    out = Counter()
    blocks = open(path).read().split("-----------+-------------------------------------------------------")
    for b in blocks[1:]:
        lines = [l for l in b.strip("\n").split("\n") if l.strip()]
        count, frames, labels = None, [], []
        for l in lines:
            left, right = l[:11].strip(), l[11:].strip()
            if left.endswith(":"):   # a label line ("burst:  one")
                labels.append(left + " " + right)
                continue
            if left and count is None:
                count = int(left)
            if right:
                frames.append(right)
        if count is None or any(f == "main.profileWriter" for f in frames):
            continue
        out[("labels " + ",".join(sorted(labels)),) + tuple(frames)] += count
    return out


def check_traces(theirs, ours):
    a, b = parse_traces(theirs), parse_traces(ours)
    if a == b:
        lab = sum(n for k, n in a.items() if k[0] != "labels ")
        if not lab:
            print("no labelled goroutine in the runtime's profile (the leak's burst=one expected)")
            return 1
        print("%d stacks, %d goroutines (%d labelled), identical" % (len(a), sum(a.values()), lab))
        return 0
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print("runtime %s, tlinspect %s: %s" % (a.get(k), b.get(k), " <- ".join(k)))
    return 1


def check_watch(path):
    w = json.load(open(path))["watch"]
    grow = [s for s in w["growing"] if s["kind"] == "goroutine_group"]
    users = [(s["key"].get("user") or "") for s in grow]
    errs = []
    if len(grow) != 1 or not users[0].startswith("main.dripped "):
        errs.append("growing groups %s, want exactly main.dripped" % users)
    for s in w["growing"] + w["changing"]:
        if s["kind"] == "goroutine_group" and (s["key"].get("user") or "").startswith("main.worker "):
            errs.append("the stable workers were judged %s" % s["verdict"])
    wob = [s for s in w["changing"] if s["kind"] == "goroutine_group"
           and (s["key"].get("user") or "").startswith("main.wobbler ")]
    if errs:
        print("; ".join(errs))
        return 1
    g = grow[0]
    print("growing: main.dripped %s (%.0f/min); %d wobbling group(s) %s"
          % (g["samples"], g["slope_per_minute"], len(wob), [s["verdict"] for s in wob]))
    return 0


def check_screen(txt, js, leaks, pool_path, stripped=False):
    text = open(txt).read()
    lines = text.splitlines()
    go = json.load(open(js))["go"]
    lk = json.load(open(leaks))["go"]
    pool = json.load(open(pool_path))
    errs = []
    if len(lines) > 40:
        errs.append("%d lines (more than 40)" % len(lines))
    if go.get("leaked_count") != lk.get("leaked_count"):
        errs.append("leaked %s, `leaks` says %s" % (go.get("leaked_count"), lk.get("leaked_count")))
    if "leaked: %d goroutines blocked forever" % lk.get("leaked_count", -1) not in text:
        errs.append("no 'leaked: %s goroutines' line" % lk.get("leaked_count"))
    dbs = [d for d in (go.get("pools") or {}).get("sql_dbs") or []
           if d.get("name") == pool["db"] or (stripped and not d.get("name"))]
    if len(dbs) != 1:
        errs.append("sql pools %s, want %s" % ([d.get("name") for d in (go.get("pools") or {}).get("sql_dbs") or []], pool["db"]))
    else:
        db, a = dbs[0], pool["after"]
        got = (db["in_use"], db["idle"], len(db["waiters"]), db["leaked"])
        want = (a["in_use"], a["idle"], 0, pool["leaked_connections"])
        if got != want:
            errs.append("pool (in_use, idle, waiters, leaked) %s, want %s" % (got, want))
        line = "sql_dbs %s: %d in use, %d idle, 0 waiting, %d leaked" % (db.get("name") or db["address"], a["in_use"],
                                                                       a["idle"], pool["leaked_connections"])
        if line not in text:
            errs.append("no line '%s'" % line)
    tg = [g for g in go.get("timers", {}).get("groups", []) if g["function"] == pool["timer_function"]]
    if not tg or tg[0]["count"] != pool["timers"] or "%d after_func %s" % (pool["timers"], pool["timer_function"]) not in text:
        errs.append("timers: %s, want %d %s" % (tg, pool["timers"], pool["timer_function"]))
    ms, want = go.get("memstats") or {}, pool["memstats"]
    if ms.get("num_gc") != want["num_gc"]:
        errs.append("num_gc %s, runtime %d" % (ms.get("num_gc"), want["num_gc"]))
    # the target allocated a little since (the oracle file): within 64 KiB and 256 objects
    if not (0 <= ms.get("heap_alloc", -1) - want["heap_alloc"] <= 65536) or \
            not (0 <= ms.get("heap_objects", -1) - want["heap_objects"] <= 256):
        errs.append("heap_alloc %s / heap_objects %s, runtime %d / %d" % (ms.get("heap_alloc"), ms.get("heap_objects"),
                                                                        want["heap_alloc"], want["heap_objects"]))
    if not text.startswith(("pid ", "core ")) or "memory: Go heap " not in text:
        errs.append("no memory line")
    if errs:
        print("; ".join(errs))
        return 1
    print("%d lines; leaked %d (as `leaks`); pool %s; %d %s timers; num_gc %d, heap_alloc %+d B vs the runtime's"
          % (len(lines), go["leaked_count"], line.split(": ", 1)[1], pool["timers"], pool["timer_function"],
             ms["num_gc"], ms["heap_alloc"] - want["heap_alloc"]))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "screen":
        sys.exit(check_screen(*sys.argv[2:6], stripped=len(sys.argv) > 6 and sys.argv[6] == "--stripped"))
    cmd = sys.argv[1]
    if cmd == "diff":
        sys.exit(check_diff(sys.argv[2], sys.argv[3], len(sys.argv) > 4 and sys.argv[4] == "--stripped"))
    if cmd == "traces":
        sys.exit(check_traces(sys.argv[2], sys.argv[3]))
    if cmd == "watch":
        sys.exit(check_watch(sys.argv[2]))
    sys.exit("unknown check " + cmd)
