#!/usr/bin/env python3
"""Compare tlinspect's glibc results with glibc's own numbers, as recorded by
the target (tests/targets/c/heapstate.c) in OUTDIR:
  mallinfo.txt     mallinfo2()/mallinfo() at the moment the state was final
  malloc_info.xml  malloc_info(0, f) at the same moment
  expect.txt       what the program leaked / keeps reachable only in odd places

usage: check.py OUTDIR PREFIX [--pid PID]
       check.py --same PREFIX_A PREFIX_B
  reads PREFIX.heap.json, PREFIX.bins.json, PREFIX.leaks.json (tlinspect output).
  --same: the two runs (e.g. with and without libc debug info) must give the same
  documents once the fields that legitimately differ are removed (VOLATILE).
  With --pid, also checks from /proc/PID/mem that the "register" block is
  referenced from no memory at all (so only a register can keep it alive) and
  the "stack" block only from the main stack.
Exit status 0 if every check passes; prints one line per check."""
import json
import os
import struct
import sys
import xml.etree.ElementTree as ET

fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1


def req2size(n):
    return max(0x20, (n + 8 + 15) & ~15)


# Fields that differ between two runs on the same state for reasons other than the
# answer: timing and bytes read, where the layout came from, the debug file used.
VOLATILE = {"target": ["pause_ms", "bytes_read", "layout_source", "capture_ms", "analyze_ms"],
            "glibc": ["debug_file", "debug_source", "debuginfod_url"], "heap": ["debug_file"]}


def strip_volatile(doc):
    for sect, keys in VOLATILE.items():
        if isinstance(doc.get(sect), dict):
            for k in keys:
                doc[sect].pop(k, None)
    return doc


def first_diff(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {a!r:.80} vs {b!r:.80}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'second' if k not in a else 'first'}"
            d = first_diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r:.80} vs {b!r:.80}"


def same(pa, pb):
    ta = os.path.basename(os.path.dirname(pa)) + "/" + os.path.basename(pa)
    tb = os.path.basename(pb)
    for c in ["heap", "bins", "leaks"]:
        a = strip_volatile(json.load(open(f"{pa}.{c}.json")))
        b = strip_volatile(json.load(open(f"{pb}.{c}.json")))
        d = first_diff(a, b)
        check(d is None, f"{ta} = {tb}: {c} JSON identical (volatile fields removed)" + (f"; first difference {d}" if d else ""))
    print(f"{ta} = {tb}: {fails} failure(s)")
    sys.exit(1 if fails else 0)


def main():
    if sys.argv[1] == "--same":
        same(sys.argv[2], sys.argv[3])
    outdir, prefix = sys.argv[1], sys.argv[2]
    pid = int(sys.argv[sys.argv.index("--pid") + 1]) if "--pid" in sys.argv else None
    tag = os.path.basename(os.path.dirname(prefix)) + "/" + os.path.basename(prefix)
    mi = {}
    for line in open(os.path.join(outdir, "mallinfo.txt")):
        k, v = line.strip().split("=")
        mi[k] = int(v)
    heap = json.load(open(prefix + ".heap.json"))["glibc"]
    ours = heap["mallinfo2"]
    for k in ["arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
              "fordblks", "keepcost"]:
        # mallinfo() (glibc < 2.33) has int fields
        got = ours[k]
        check(got == mi[k] or (got & 0xFFFFFFFF) == (mi[k] & 0xFFFFFFFF), f"{tag}: mallinfo2.{k} = {got} (glibc {mi[k]})")
    check(heap["problems"] == [] and heap["problems_total"] == 0,
          f"{tag}: no corruption reported on a healthy heap ({heap['problems_total']} problems: "
          f"{heap['problems'][:3]})")

    # ---- malloc_info, heap by heap
    root = ET.parse(os.path.join(outdir, "malloc_info.xml")).getroot()
    xheaps = root.findall("heap")
    jheaps = heap["malloc_info"]["heaps"]
    check(len(xheaps) == len(jheaps), f"{tag}: malloc_info heaps {len(jheaps)} (glibc {len(xheaps)})")
    for xh, jh in zip(xheaps, jheaps):
        nr = xh.get("nr")
        tot = {t.get("type"): (int(t.get("count")), int(t.get("size"))) for t in xh.findall("total")}
        check(tot["fast"] == (jh["fast_count"], jh["fast_size"]),
              f"{tag}: heap {nr} fast {jh['fast_count']}/{jh['fast_size']} (glibc {tot['fast']})")
        check(tot["rest"] == (jh["rest_count"], jh["rest_size"]),
              f"{tag}: heap {nr} rest {jh['rest_count']}/{jh['rest_size']} (glibc {tot['rest']})")
        sysm = {s.get("type"): int(s.get("size")) for s in xh.findall("system")}
        check(sysm["current"] == jh["system_current"] and sysm["max"] == jh["system_max"],
              f"{tag}: heap {nr} system current/max {jh['system_current']}/{jh['system_max']} (glibc {sysm})")
        asp = {s.get("type"): int(s.get("size")) for s in xh.findall("aspace")}
        okasp = asp["total"] == jh["aspace_total"] and asp["mprotect"] == jh["aspace_mprotect"]
        if "subheaps" in asp:
            okasp = okasp and asp["subheaps"] == jh.get("subheaps")
        check(okasp, f"{tag}: heap {nr} aspace {jh['aspace_total']}/{jh['aspace_mprotect']}/"
                     f"{jh.get('subheaps')} (glibc {asp})")
        xs = sorted((e.tag if e.tag == "unsorted" else "size", int(e.get("from")), int(e.get("to")),
                     int(e.get("total")), int(e.get("count"))) for e in xh.find("sizes"))
        js = sorted(("unsorted" if s["type"] == "unsorted" else "size", s["from"], s["to"], s["total"],
                     s["count"]) for s in jh["sizes"])
        check(xs == js, f"{tag}: heap {nr} <sizes> lines {js} (glibc {xs})")
    gt = {t.get("type"): (int(t.get("count")), int(t.get("size"))) for t in root.findall("total")}
    jt = heap["malloc_info"]["total"]
    check(gt["mmap"] == (jt["mmap_count"], jt["mmap_size"]),
          f"{tag}: mmap total {jt['mmap_count']}/{jt['mmap_size']} (glibc {gt['mmap']})")
    check(gt["fast"] == (jt["fast_count"], jt["fast_size"]) and gt["rest"] == (jt["rest_count"], jt["rest_size"]),
          f"{tag}: fast/rest totals (glibc {gt['fast']} {gt['rest']})")

    # ---- identity: in-use + tcache + fenceposts + per-arena overhead = uordblks (glibc's number)
    tot = heap["totals"]
    overhead = sum(a["overhead"] for a in heap["arenas"])
    lhs = tot["in_use"]["bytes"] + tot["tcache"]["bytes"] + tot["fencepost"]["bytes"] + overhead
    check(lhs == mi["uordblks"], f"{tag}: walked in-use+tcache+fenceposts+overhead = {lhs} (glibc uordblks "
                                 f"{mi['uordblks']})")
    mm = heap["mmapped"]
    check(mm["found_count"] == mi["hblks"] and mm["found_bytes"] == mi["hblkhd"],
          f"{tag}: mmapped chunks found by scan {mm['found_count']}/{mm['found_bytes']} (glibc {mi['hblks']}/"
          f"{mi['hblkhd']})")

    # ---- bins: every tcache count equals the list length
    bins = json.load(open(prefix + ".bins.json"))["glibc"]
    bad = [(t["tid"], b["index"]) for t in bins["tcache"] for b in t["bins"] if b["count"] != b["found"]]
    check(not bad and bins["problems"] == [], f"{tag}: tcache counts equal list lengths {bad}")
    ntc = sum(t["total"]["count"] for t in bins["tcache"])
    check(ntc == tot["tcache"]["count"], f"{tag}: tcache chunks from TLS {ntc} = tcache chunks met by the "
                                         f"heap walk {tot['tcache']['count']}")

    # ---- leaks
    exp = [l.split() for l in open(os.path.join(outdir, "expect.txt"))]
    check(not any(e[0] == "CHANGED" for e in exp), f"{tag}: state unchanged while recording")
    want = {int(e[1], 16): req2size(int(e[2])) for e in exp if e[0] == "leak"}
    lk = json.load(open(prefix + ".leaks.json"))["heap"]
    got = {int(c["address"], 16): c["size"] for c in lk["unreachable_chunks"]}
    check(got == want, f"{tag}: leaks = exactly the {len(want)} leaked blocks "
                       f"(extra {sorted(hex(a) for a in set(got) - set(want))}, "
                       f"missing {sorted(hex(a) for a in set(want) - set(got))})")
    special = {e[0]: int(e[1], 16) for e in exp if e[0] in ("register", "stack", "global", "interior")}
    for k, a in special.items():
        check(a not in got, f"{tag}: block reachable only from {k} ({hex(a)}) is not reported")
    if pid:
        where = {k: [] for k in special}
        # thread stacks count only from SP - 128 (red zone) up: what is below is dead
        sps = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            f = open(f"/proc/{pid}/task/{tid}/syscall").read().split()
            if len(f) >= 9:
                sps.append(int(f[7], 16))
        mem = open(f"/proc/{pid}/mem", "rb")
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            if "rw" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
                continue
            s, e = (int(x, 16) for x in f[0].split("-"))
            for sp in sps:
                if s <= sp < e:
                    s = max(s, sp - 128)
            try:
                mem.seek(s)
                b = mem.read(e - s)
            except OSError:
                continue
            vals = set(struct.unpack(f"<{len(b) // 8}Q", b[: len(b) // 8 * 8]))
            for k, a in special.items():
                probe = a + 100 if k == "interior" else a
                if probe in vals:
                    where[k].append(f[5] if len(f) > 5 else "anon")
                if k == "interior" and a in vals:
                    where[k].append("exact:" + (f[5] if len(f) > 5 else "anon"))
        check(where.get("register") == [], f"{tag}: register block is in no memory word (only a register) "
                                          f"{where.get('register')}")
        check(where.get("stack") == ["[stack]"], f"{tag}: stack block only in [stack] {where.get('stack')}")
        check(not any(w.startswith("exact:") for w in where.get("interior", [])),
              f"{tag}: interior block referenced only by an interior pointer {where.get('interior')}")
    print(f"{tag}: {fails} failure(s)")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
