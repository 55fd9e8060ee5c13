#!/usr/bin/env python3
"""Check `tlinspect heap --json --retention` of tests/targets/go/census against what the
target recorded (tests/integration/gotypes.sh).

    gotypes_check.py RECORD JSON MINOR MODE [UNSTRIPPED_JSON]

MODE full: counts per type exact (main.Local, held only by a goroutine's stack, needs the
malloc header of its backing array: go1.22+; before, it must be untyped, not miscounted),
main.Garbage 0, and the bytes under each named root equal the runtime's HeapAlloc delta of
its construction. MODE stripped: every oracle type is counted exactly or not at all (typed
by what the runtime records, never miscounted), main.Garbage 0, typed_share reported, and
typed rows agree with the unstripped run. Prints one line per check: "ok ..." or "FAIL ...".
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)["go"]


def main():
    rec, js, minor, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    go = load(js)
    types = {r["type"]: r for r in go["types"]}
    want, roots = {}, {}
    for line in open(rec):
        f = line.split()
        if f[0] == "type":
            want[f[1]] = int(f[2])
        elif f[0] == "root":
            roots[f[1]] = int(f[2])
    bad = 0

    def check(ok, msg):
        nonlocal bad
        print(("ok   " if ok else "FAIL ") + msg)
        bad += not ok

    untyped_note = []
    for t, n in sorted(want.items()):
        got = types.get(t, {}).get("objects", 0)
        if t == "main.Garbage":
            check(got == 0, f"{t}: garbage counts {got} (want 0)")
        elif mode == "full" and not (t == "main.Local" and minor < 22):
            check(got == n, f"{t}: {got} objects (want {n})")
        else:
            check(got in (0, n), f"{t}: {got} objects (want {n}, or 0 if untyped)")
            if got == 0:
                untyped_note.append(t)
    share = go.get("typed_share")
    # stripped go1.19-1.21: no malloc headers and no DWARF globals, so nothing may be typed
    low = 0 if mode == "stripped" else 1e-9
    check(isinstance(share, float) and low <= share <= 1, f"typed_share {share}")
    if untyped_note:
        print(f"note untyped here: {' '.join(untyped_note)}")
    if mode == "stripped" and len(sys.argv) > 5:
        full = {r["type"]: r["objects"] for r in load(sys.argv[5])["types"]}
        for t in want:
            if t in types and t in full:
                check(types[t]["objects"] == full[t], f"stripped {t} agrees with unstripped ({full[t]})")
    if mode == "full":
        frames = set()
        under = {}
        for s in go["retention"]["samples"]:
            root = s["stack"][-1]
            if root.startswith("goroutine "):
                # "goroutine 7 main.holder": the frame holding the word (named by pclntab)
                root = " ".join(root.split()[:2])
                if len(s["stack"][-1].split()) > 2:
                    frames.add(s["stack"][-1])
            under[root] = under.get(root, 0) + s["values"][1]
        for r, b in sorted(roots.items()):
            name = "goroutine " + r.split("_", 1)[1] if r.startswith("goroutine_") else "global " + r
            got = under.get(name, 0)
            if r.startswith("goroutine_") and minor < 22:
                # untyped stack words: an earlier root may claim nothing here, but never more
                check(got <= b + 4096, f"root {name}: {got} bytes (construction {b}, go1.{minor}: untyped)")
                continue
            if r.startswith("goroutine_"):
                # after its measurement the goroutine blocks on a channel: the runtime's sudog for
                # that wait (96 B on amd64, allocated then) hangs off its stack too
                check(b <= got <= b + 128, f"root {name}: {got} bytes (construction {b} + its sudog)")
                check(f"{name} main.holder" in frames, f"root {name}: named by its frame main.holder")
                continue
            check(got == b, f"root {name}: {got} bytes (construction {b})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
