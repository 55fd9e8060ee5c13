#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/stress/coreflip.py - byte-flipped cores must not give plausible garbage (issue 15 item 8).

Flips one byte of a core at a time (in place, restored after the runs), runs tlinspect COMMANDS
on it, and judges every run:
  - exit 0, the answer of the unflipped core: fine ("same");
  - exit 0, another answer, flagged: a warning, a "problem" or an "unreadable" the unflipped core
    has not: fine ("flagged");
  - exit 0, another answer, not flagged, the byte in what the answer is read from: fine, and said
    ("depends": which segment and address the flip hit, which items changed). What the answer is
    read from: the ELF and program headers, the notes (registers, auxv, mapped files), the
    segments of the heaps the unflipped answer lists, main_arena and mp_; for every command but
    glibc `heap` also every writable segment (runtime data, roots, stacks);
  - exit 0, another answer, not flagged, the byte elsewhere: FAIL (plausible garbage);
  - exit 2..13 with one line on stderr: fine (the flip was seen); exit 1, a signal or another
    code: FAIL.
Half the flips fall in the bytes the answer is read from, half anywhere in the file. Aimed flips
(--mmapped-flags, --g-startpc) come first and must be seen: flagged, or an exit 2..13.

  coreflip.py --core CORE --exe EXE [--tlinspect BIN] [--n 40] [--seed S] [--seconds 30]
              [--out DIR] [COMMAND ...]          (default commands: heap leaks)
Ends with "coreflip: N passed, M failed" and exits 1 on a failure.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import time

VOLATILE = {"pause_ms", "bytes_read", "capture_seconds", "analysis_seconds", "elapsed_ms"}


def canon(x):
    if isinstance(x, dict):
        return {k: canon(v) for k, v in x.items() if k not in VOLATILE}
    if isinstance(x, list):
        return [canon(v) for v in x]
    return x


def diffs(a, b, path="", out=None, limit=6):
    """The first differing paths of two JSON trees."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                diffs(a.get(k, "<absent>"), b.get(k, "<absent>"), path + "." + k, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                diffs(x, y, "%s[%d]" % (path, i), out, limit)
    else:
        sa, sb = json.dumps(a)[:60], json.dumps(b)[:60]
        out.append("%s: %s -> %s" % (path or ".", sa, sb))
    return out


def count_flags(x):
    """Warnings, problems and unreadable markers anywhere in a document."""
    n = 0
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("warnings", "problems") and isinstance(v, list):
                n += len(v)
            elif k == "problems_total" and isinstance(v, int):
                n += v
            elif (k == "unreadable" or k.endswith("_unreadable")) and v not in (None, False, ""):
                n += 1
            elif k == "readable" and v is False:
                n += 1
            n += count_flags(v)
    elif isinstance(x, list):
        n += sum(count_flags(v) for v in x)
    return n


def elf_layout(path):
    """(ehdr+phdrs end, [(type, offset, filesz, vaddr, flags)])"""
    with open(path, "rb") as f:
        eh = f.read(64)
        assert eh[:4] == b"\x7fELF" and eh[4] == 2, "a 64-bit ELF core"
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        segs.append((p_type, p_offset, p_filesz, p_vaddr, p_flags))
    return phoff + phentsize * phnum, segs


def run(args, core, cmd, out):
    p = subprocess.run([args.tlinspect, "--core", core, "--exe", args.exe, "--json", cmd],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    with open(out, "wb") as f:
        f.write(p.stdout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", required=True)
    ap.add_argument("--exe", required=True)
    ap.add_argument("--tlinspect", default=os.path.join(os.path.dirname(__file__), "../../build/tlinspect"))
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--out", default="/tmp/coreflip")
    ap.add_argument("--mmapped-flags", action="store_true",
                    help="first, flip the write bit of the program header of the segment holding "
                         "the first mmapped chunk of the unflipped `heap` answer")
    ap.add_argument("--g-startpc", type=lambda v: int(v, 0), default=None, metavar="OFFSET",
                    help="first, flip byte 2 of g.startpc (at OFFSET in runtime.g) of two goroutines "
                         "of the unflipped `goroutines` answer: a pc in no function")
    ap.add_argument("commands", nargs="*", default=["heap", "leaks"])
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rnd = random.Random(args.seed)
    print("coreflip: seed %d, core %s" % (args.seed, args.core))
    hdr_end, segs = elf_layout(args.core)
    size = os.path.getsize(args.core)
    loads = [s for s in segs if s[0] == 1 and s[2]]
    notes = [s for s in segs if s[0] == 4]

    base = {}
    npass = nfail = 0
    for cmd in args.commands:
        rc, out, err = run(args, args.core, cmd, os.path.join(args.out, "base." + cmd))
        if rc != 0:
            print("FAIL %s on the unflipped core: exit %d: %s" % (cmd, rc, err.strip()[:200]))
            print("coreflip: 0 passed, 1 failed")
            return 1
        base[cmd] = canon(json.loads(out))

    # what the answers are read from, as file ranges [(lo, hi, why, writable)]
    # (not the ELF and program headers: a segment lost or moved must show, e.g. as chunks that
    # glibc counts and the walk does not find)
    dep = [(o, o + n, "notes (registers, auxv, files)") for _, o, n, _, _ in notes]

    def file_range(va, n, why):
        for _, o, fs, v, _ in loads:
            lo, hi = max(va, v), min(va + n, v + fs)
            if lo < hi:
                dep.append((o + lo - v, o + hi - v, why))

    g = base.get("heap", {}).get("glibc") if "heap" in base else None
    if g:
        for a in g.get("arenas", []):
            file_range(int(a["address"], 16), 2200, "arena %d (malloc_state)" % a["index"])
            for h in a.get("heaps", []):
                s, e = int(h["start"], 16), int(h["end"], 16)
                file_range(s, e - s, "arena %d heap 0x%x-0x%x" % (a["index"], s, e))
        file_range(int(g["main_arena"], 16), 2200, "main_arena")
        file_range(int(g["mp_"], 16), 256, "mp_")
    for cmd, doc in base.items():  # Go: each goroutine's g (status, wait reason, sched, stack)
        for gr in (doc.get("go") or {}).get("goroutines") or []:
            if isinstance(gr, dict) and gr.get("address"):
                file_range(int(gr["address"], 16), 0x1c0, "g of goroutine %s" % gr.get("id"))
    strong = list(dep)  # flips are aimed at these
    # commands other than glibc `heap` read runtime data, roots and stacks anywhere writable
    wdeps = [(o, o + fs, "writable segment 0x%x (runtime data, roots, stacks)" % v)
             for _, o, fs, v, fl in loads if fl & 2]
    if not g:  # no glibc heap to aim at: the writable segments with data in the file
        strong += [w for w in wdeps if w[1] - w[0] <= (64 << 20)]
    dep += wdeps

    def where(off):
        if off < hdr_end:
            k = (off - (hdr_end - len(segs) * 56)) // 56
            return "the ELF header" if k < 0 else "program header %d (byte %d)" % (k, (off - 64) % 56)
        for _, o, fs, v, fl in loads:
            if o <= off < o + fs:
                return "segment 0x%x+0x%x (address 0x%x, %s)" % (v, off - o, v + off - o,
                                                                   "rw" if fl & 2 else "ro")
        for _, o, fs, _, _ in notes:
            if o <= off < o + fs:
                return "notes+0x%x" % (off - o)
        return "file offset 0x%x outside every segment" % off

    def depends(off, cmd):
        for d in dep:
            if d[0] <= off < d[1] and (cmd != "heap" or not d[2].startswith("writable")):
                return d[2]
        return None

    planned = []
    if args.mmapped_flags and g and g.get("mmapped", {}).get("found"):
        a = int(g["mmapped"]["found"][0]["address"], 16)
        for k, (t, o, fs, v, fl) in enumerate(segs):
            if t == 1 and v <= a < v + max(fs, 1):
                planned.append((hdr_end - len(segs) * 56 + k * 56 + 4, 2))  # p_flags ^= PF_W
    if args.g_startpc is not None and "goroutines" in base:
        gs = [x for x in base["goroutines"]["go"]["goroutines"] if x.get("id") not in (None, 1)][:2]
        for x in gs:
            va = int(x["address"], 16) + args.g_startpc + 2
            for _, o, fs, v, _ in loads:
                if v <= va < v + fs:
                    planned.append((o + va - v, 0x80))
    counts = {}
    t0 = time.time()
    with open(args.core, "r+b") as f:
        for i in range(args.n + len(planned)):
            if args.seconds and time.time() - t0 > args.seconds:
                break
            if i < len(planned):
                off, x = planned[i]
            elif i % 2 == 0 and strong:
                lo, hi, _ = rnd.choice(strong)
                off = rnd.randrange(lo, hi)
            else:
                off = rnd.randrange(0, size)
            if i >= len(planned):
                x = rnd.randrange(1, 256)
            f.seek(off)
            old = f.read(1)
            new = bytes([old[0] ^ x])
            f.seek(off)
            f.write(new)
            f.flush()
            try:
                for cmd in args.commands:
                    rc, out, err = run(args, args.core, cmd, os.path.join(args.out, "flip%d.%s" % (i, cmd)))
                    at = "flip %d: byte 0x%x at %s (0x%02x -> 0x%02x), %s" % (
                        i, off, where(off), old[0], new[0], cmd)
                    verdict, bad = None, None
                    if rc == 0 and i < len(planned):  # aimed: must be seen
                        d = canon(json.loads(out))
                        if count_flags(d) > count_flags(base[cmd]):
                            verdict = "flagged"
                        else:
                            bad = "exit 0, not flagged: %s" % ("; ".join(diffs(base[cmd], d, limit=3)) or
                                                               "the same answer")
                    elif rc == 0:
                        d = canon(json.loads(out))
                        if d == base[cmd]:
                            verdict = "same"
                        elif count_flags(d) > count_flags(base[cmd]):
                            verdict = "flagged"
                        else:
                            why = depends(off, cmd)
                            changed = "; ".join(diffs(base[cmd], d, limit=3))
                            if why:
                                verdict = "depends"
                                print("ok   %s: hit %s; changed %s" % (at, why, changed))
                            else:
                                bad = "exit 0, unflagged, changed: %s" % changed
                    elif 2 <= rc <= 13 and len(err.strip().splitlines()) == 1:
                        verdict = "exit %d" % rc
                    elif rc < 0:
                        bad = "killed by signal %d" % -rc
                    else:
                        bad = "exit %d: %s" % (rc, err.strip()[:200].replace("\n", "|"))
                    if bad:
                        print("FAIL %s: %s" % (at, bad))
                        nfail += 1
                    else:
                        counts[verdict] = counts.get(verdict, 0) + 1
            finally:
                f.seek(off)
                f.write(old)
                f.flush()
    tally = ", ".join("%s %d" % kv for kv in sorted(counts.items()))
    if not nfail:
        print("ok   %d runs: %s" % (sum(counts.values()), tally))
        npass += 1
    else:
        print("     the others: %s" % tally)
    print("coreflip: %d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
