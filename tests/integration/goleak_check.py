#!/usr/bin/env python3
"""tests/integration/goleak_check.py - the checks of one program of tests/integration/goleak.sh.

goleak_check.py NAME DIR SUMMARY VERSION SET ORACLE TESTFILE TLINSPECT CORE EXE

DIR holds NAME.out (the program's output: the goroutine dump written by
tests/targets/go/goleakprof/dump.go between tli-profile-begin/-end), NAME.leaks.R.json (5 live
runs of `leaks --json`) and NAME.core.R.json (5 runs on a core of the same frozen state).

Two truths, compared with the answer on the core:
- ORACLE=runtime (go1.27, go1.26 with GOEXPERIMENT=goroutineleakprofile): the dump is the
  runtime's own goroutineleak profile (debug=2); the goroutines marked "(leaked)" are the truth.
- ORACLE=expect (go1.19, 1.21-1.25: no runtime detector): the dump is the goroutine profile
  (debug=2) of the same frozen state; the truth is the Go test's own expectation
  (TESTFILE = runtime/goroutineleakprofile_test.go): a goroutine is leaked iff its creator's
  frame and wait reason ("Func(... [wait reason]", as the test's extractLeaks builds it) match
  one of the regexps the test lists for NAME, expected or flaky (the test says flaky leaks are
  true leaks whose occurrence is unreliable). Before go1.24/go1.21 the runtime says
  "semacquire" where it now says sync.WaitGroup.Wait / sync.(RW)Mutex.*: that wait reason
  matches any of them. With a runtime oracle the same rule is applied to the same dump too and
  any disagreement reported ("expect_diff"): that is how the rule is validated.
  The expectations say which goroutines are leaked in the program's sense; the runtime's
  definition is reachability, and the GC marks a tiny-allocator block (16 bytes, pointer-free
  objects such as a *sync.Mutex) whole: a mutex sharing its block with a reachable object, or
  in a P's current tiny block, is not leaked for the runtime (go1.27 says so on MutexHeap).
  A goroutine the expectations call leaked and tlinspect does not is therefore explained
  (`leaks --explain ID` on the core): when its root path reaches it through a tiny block it is
  counted "tiny" (not leaked by the runtime's definition), not "missed".
  Likewise a goroutine tlinspect shows kept from the stack of a goroutine still able to run
  (such as one asleep: the expectations describe the program's end, the runtime its present)
  or from a global of the program ("kept"): counted apart, listed with its path. A path from
  the runtime's own globals counts as a miss (the P and M words fixed in waitfor.c were such).
  With a runtime oracle the goroutines where expectations and runtime differ are explained the
  same way: that is what validates the two categories.
Appends one line to SUMMARY: version set name oracle truth tlinspect both missed extra
expect_diff live_same tiny kept unexamined (tiny/kept: with a runtime oracle, of the expect_diff
ones; unexamined: missed goroutines not explained for lack of time, counted in missed).
"""
import json
import re
import subprocess
import sys
import time

SEMA = ("sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock", "sync.WaitGroup.Wait")


def expectations(testfile):
    """{program: [regexp, ...]} from the test's makeTest/makeFlakyTest calls (comments dropped)."""
    src = "\n".join(l for l in open(testfile).read().splitlines() if not l.lstrip().startswith("//"))
    out = {}
    for m in re.finditer(r'make(?:Flaky)?Test\("(\w+)"((?:\s*,\s*`[^`]*`)*)\s*,?\s*\)', src):
        out[m.group(1)] = [re.compile(r) for r in re.findall(r"`([^`]*)`", m.group(2))]
    return out


def goroutines(dump):
    """[(id, header reason, leaked mark, 'Func(... [reason]' as extractLeaks builds it)]"""
    res = []
    for block in re.split(r"\n\s*\n(?=goroutine \d+ \[)", dump.strip()):
        lines = block.split("\n")
        m = re.match(r"goroutine (\d+) \[([^\]]*)\]", lines[0])
        if not m:
            continue
        state = m.group(2)
        leaked = "(leaked)" in state
        # "chan receive, 2 minutes", "sync.Mutex.Lock (leaked)"
        reason = re.sub(r" \(leaked\)", "", state)
        reason = re.sub(r", (\d+ minutes|locked to thread)", "", reason)
        func = None
        for i in range(len(lines) - 1, -1, -1):
            if "created by" in lines[i]:
                func = lines[i - 2].strip()
                func = func[len("main."):] if func.startswith("main.") else func
                break
        res.append((int(m.group(1)), reason, leaked, func))
    return res


def expected_leak(regexps, reason, func):
    if func is None:
        return False
    reasons = SEMA if reason == "semacquire" else (reason,)
    return any(r.search(f"{func} [{why}]") for r in regexps for why in reasons)


def explain_kept(tli, core, exe, gid):
    """Why `leaks --explain` says goroutine gid is not leaked: ("tiny", path) when its root path
    passes or ends in a tiny block (a P's tiny-allocator block, or an object of at most 16
    bytes), ("root", path) when it starts at the stack of a goroutine able to run or at a
    global of the program, else None (a miss)."""
    try:
        r = subprocess.run([tli, "--core", core, "--exe", exe, "--json", "leaks", "--explain", str(gid)],
                           capture_output=True, text=True, timeout=60)
        ex = json.loads(r.stdout)["go"]["explain"]
    except Exception as e:
        print(f"note: goroutine {gid}: leaks --explain failed: {e}")
        return None
    path = ex.get("path") or []
    if ex.get("verdict") != "reachable" or not path:
        print(f"note: goroutine {gid}: leaks --explain says {ex.get('verdict')}: {ex.get('why')}")
        return None
    text = " -> ".join(f"{p.get('kind')} {p.get('name') or p.get('address')}" for p in path)
    if any(p.get("kind") == "tiny" for p in path) or (path[-1].get("size") or 99) <= 16:
        return "tiny", text
    # a goroutine able to run (e.g. asleep) or a user's global: the program still holds it.
    # Through the runtime's own globals (allp, allm, ...) it is rather a word the runtime does
    # not trace and we do (two such were found this way): a miss
    # (a blocked goroutine "judged able to run" is one whose own object is reached: the runtime
    # chains the same way, go1.27 agrees on Etcd7902 and Istio16224)
    first = path[0]
    if first.get("kind") == "stack":
        return "root", text
    if first.get("kind") == "global" and not (first.get("name") or "runtime.").startswith("runtime."):
        return "root", text
    print(f"note: goroutine {gid}: a root path the runtime would not have: {text}")
    return None


def main():
    name, out, summary, version, gset, oracle, testfile, tli, core_file, exe = sys.argv[1:11]
    text = open(f"{out}/{name}.out", errors="replace").read()
    ok = True

    def say(good, msg):
        nonlocal ok
        print(("ok   " if good else "FAIL ") + f"go{version} {gset} {msg}")
        ok = ok and good

    if "tli-profile-begin" not in text or "tli-profile-end" not in text:
        say(False, f"{name}: the goroutine dump was not written")
        return
    dump = text.split("tli-profile-begin", 1)[1].split("tli-profile-end", 1)[0]
    gs = goroutines(dump)
    exp = expectations(testfile)
    if name not in exp:
        print(f"note go{version} {gset} {name}: the test lists no expectation for it"
              + (": not compared" if oracle == "expect" else ""))
    regexps = exp.get(name, [])
    by_expect = {g for g, why, _, func in gs if expected_leak(regexps, why, func)}
    rt = {g for g, _, leaked, _ in gs if leaked}
    truth = rt if oracle == "runtime" else by_expect
    expect_diff = len(rt ^ by_expect) if oracle == "runtime" and name in exp else -1
    if expect_diff > 0:
        print(f"note go{version} {gset} {name}: the test's expectations and the runtime differ on "
              f"{sorted(rt ^ by_expect)[:10]} (runtime only {sorted(rt - by_expect)[:5]})")

    def answers(kind, n):
        res = []
        for r in range(1, n + 1):
            try:
                d = json.load(open(f"{out}/{name}.{kind}.{r}.json"))["go"]
                res.append(sorted(g["id"] for g in d["leaked_goroutines"]))
            except Exception:  # an unreadable answer counts as a differing one
                res.append(None)
        return res

    runs, core = answers("leaks", 5), answers("core", 5)
    if "unsettled" in text:
        print(f"note go{version} {gset} {name}: still moving after 20 s when frozen")
    # objects whose type slot could not be used are scanned word by word: a stale word then
    # keeps a channel alive (runtime.m / runtime.p have masks the runtime builds on demand)
    try:
        st = json.load(open(f"{out}/{name}.leaks.5.json"))["go"]["leak_stats"]
        say(st.get("typed_fallbacks") == 0, f"{name}: every object with a type is scanned by it "
            f"(typed {st.get('typed_objects')}, fallbacks {st.get('typed_fallbacks')})")
        say(st.get("globals_by_mask") is True, f"{name}: data and bss scanned by the runtime's pointer masks")
    except Exception as e:
        say(False, f"{name}: leak_stats unreadable: {e}")
    same = all(x == core[0] for x in core) and core[0] is not None
    say(same, f"{name}: 5 runs of leaks on one core give the same goroutines")
    # the program is frozen (settled, then parked on a signal) while tlinspect runs live: the 5
    # live answers must be the same too, and the core's; only a program that never settled
    # may still move (noted, not checked)
    live_same = all(x == runs[0] for x in runs) and runs[0] is not None and runs[0] == core[0]
    if "unsettled" in text:
        if not live_same:
            print(f"note go{version} {gset} {name}: live runs differ ({[len(x or []) for x in runs]} "
                  "leaked): the program still moves")
    else:
        say(live_same, f"{name}: 5 live runs on the frozen program give the same goroutines as the core "
            f"({[len(x or []) for x in runs]} leaked, core {len(core[0] or [])})")
    if oracle == "expect" and name not in exp:  # no truth (Kubernetes1321: left out by the test)
        return
    us = set(core[0] if core[0] is not None else (runs[-1] or []))
    both, missed, extra = truth & us, sorted(truth - us), sorted(us - truth)
    # expected leaks tlinspect does not call leaked, and (runtime oracle) the goroutines where the
    # expectations and the runtime differ: why they are not leaked, by their root path
    what = "the runtime" if oracle == "runtime" else "the test's expectations"
    tiny, kept = [], []
    probe = missed if oracle == "expect" else sorted((by_expect - rt) - us)
    # each explanation is one run of tlinspect: at most 60 per program and ~45 s; the others are
    # counted as missed and reported as not examined
    t0, examined = time.monotonic(), 0
    for g in probe[:60]:
        if time.monotonic() - t0 > 45:
            break
        examined += 1
        why = explain_kept(tli, core_file, exe, g)
        if not why:
            continue
        (tiny if why[0] == "tiny" else kept).append(g)
        who = "expected to leak" if oracle == "expect" else "expected to leak, not leaked for the runtime either,"
        print(f"note go{version} {gset} {name}: goroutine {g} is {who} kept through "
              f"{'a tiny block' if why[0] == 'tiny' else 'a root'}: {why[1]}")
    unexamined = len(probe) - examined if oracle == "expect" else 0
    if unexamined:
        print(f"note go{version} {gset} {name}: {unexamined} of the {len(probe)} expected leaks not found "
              "were not examined (counted as missed)")
    if oracle == "expect":
        missed = [g for g in missed if g not in tiny and g not in kept]
    say(not extra, f"{name}: no false positive ({what} {len(truth)}, tlinspect {len(us)}, only tlinspect {extra[:10]})")
    say(not missed, f"{name}: every goroutine {what} {'calls' if oracle == 'runtime' else 'call'} leaked is found ({len(both)}/{len(truth)}; "
        f"missed {missed[:10]}{f', kept by a tiny block {tiny}' if tiny else ''}"
        f"{f', kept by a root {kept}' if kept and oracle == 'expect' else ''})")
    with open(summary, "a") as f:
        f.write(f"{version}\t{gset}\t{name}\t{oracle}\t{len(truth)}\t{len(us)}\t{len(both)}\t"
                f"{len(missed)}\t{len(extra)}\t{expect_diff}\t{int(live_same)}\t{len(tiny)}\t{len(kept)}\t{unexamined}\n")


if __name__ == "__main__":
    main()
