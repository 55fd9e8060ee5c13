#!/usr/bin/env python3
"""Check `leaks` against what tests/targets/c/cxxleaks.cc recorded in OUTDIR/expect.txt:
exactly the leaked blocks (by the pointer operator new returned), each typed by
its dynamic class as the target's own typeid + abi::__cxa_demangle named it
(plain malloc blocks: type null), and the groups (size, type) -> count equal
to those leaks.

usage: check_cxx.py OUTDIR LEAKS.json [--fallback]
  --fallback: the tool ran without a C++ demangler (TLINSPECT_NO_CXA_DEMANGLE):
              names without template arguments must still be exact; template
              classes must at least be grouped apart, by their _ZTV symbol."""
import collections
import json
import os
import sys

fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1


def req2size(n):
    return max(0x20, (n + 8 + 15) & ~15)


def main():
    outdir, path = sys.argv[1], sys.argv[2]
    fallback = "--fallback" in sys.argv
    tag = os.path.basename(outdir) + "/" + os.path.basename(path)
    leak, live = {}, {}
    for line in open(os.path.join(outdir, "expect.txt")):
        f = line.split(None, 3)
        if f[0] in ("leak", "live"):
            cls = f[3].strip()
            (leak if f[0] == "leak" else live)[int(f[1], 16)] = (req2size(int(f[2])), None if cls == "-" else cls)
    check(len(leak) >= 10 and len(live) >= 10, f"{tag}: target recorded {len(leak)} leaked, {len(live)} live blocks")
    hp = json.load(open(path))["heap"]
    got = {int(c["address"], 16): (c["size"], c["type"]) for c in hp["unreachable_chunks"]}
    check(set(got) == set(leak), f"{tag}: unreachable = exactly the {len(leak)} leaked blocks "
                                 f"(extra {sorted(hex(a) for a in set(got) - set(leak))}, "
                                 f"missing {sorted(hex(a) for a in set(leak) - set(got))})")
    check(not set(got) & set(live), f"{tag}: no reachable object reported")

    def expect_type(cls):
        if fallback and cls and "<" in cls:
            return None  # checked separately below
        return cls

    bad = []
    for a, (size, cls) in leak.items():
        if a not in got:
            continue
        gs, gt = got[a]
        if gs != size:
            bad.append((hex(a), "size", gs, size))
        et = expect_type(cls)
        if et is not None or cls is None:
            if gt != et:
                bad.append((hex(a), "type", gt, cls))
        elif not (gt or "").startswith("_ZTV"):
            bad.append((hex(a), "type", gt, "a _ZTV symbol for " + cls))
    check(not bad, f"{tag}: every leaked block has its size and class {bad}")

    want = collections.Counter((s, c) for s, c in leak.values())
    groups = collections.Counter()
    for g in hp["groups"]:
        groups[(g["size"], g["type"])] += g["count"]
        check(g["bytes"] == g["size"] * g["count"], f"{tag}: group {g['size']}/{g['type']} bytes = size x count")
    if fallback:
        # map each _ZTV name back to the class of the blocks it covers
        ren = {}
        for a, (size, cls) in leak.items():
            if a in got and cls and "<" in cls:
                ren[(got[a][0], got[a][1])] = (size, cls)
        groups = collections.Counter({ren.get(k, k): v for k, v in groups.items()})
    check(groups == want, f"{tag}: groups by (size, class) {sorted(groups.items(), key=str)} "
                          f"(expected {sorted(want.items(), key=str)})")
    classes = sorted({c for _, c in want if c})
    check(len(classes) >= 3, f"{tag}: leaked classes {classes}")
    print(f"{tag}: {fails} failure(s)")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
