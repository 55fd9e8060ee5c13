#!/usr/bin/env python3
"""tests/integration/goleak_table.py - the recall / false-positive table of tests/integration/goleak.sh.

goleak_table.py [DIR ...]   (default: tests/out/goleak)

Reads every go*-*/summary.tsv under the DIRs (written by goleak_check.py: version, set, name,
oracle, truth, tlinspect, both, missed, extra, expect_diff, live_same, tiny) and prints markdown:
per toolchain the programs run, how many agree exactly, recall and false positives; then one
row per program and one column per toolchain. A cell is "found/truth", "+N FP" when tlinspect
called N goroutines leaked that the truth does not, "(Nt)" when N goroutines the test's
expectations call leaked are kept through a tiny-allocator block (not leaked by the runtime's
definition, goleak_check.py; not counted in the truth), "(Nk)" for N kept by another root path (from a goroutine able to run or a program global)
(e.g. a goroutine still able to run at that instant; not counted either), "[exp N]" (runtime
truth) when the test's expectations differ from the runtime on N goroutines, "~" when the live
runs on the frozen program were not all the same, "(N not examined)" for missed goroutines
whose root path was not looked for (a time budget per program): they count as missed. Truth: "rt" the runtime's goroutineleak profile on the same
frozen state, "exp" the Go test's expectations on it.
"""
import glob
import os
import sys


def vkey(v):
    return tuple(int(x) for x in v.split("."))


def main():
    dirs = sys.argv[1:] or ["tests/out/goleak"]
    rows = {}
    for d in dirs:
        for f in sorted(glob.glob(os.path.join(d, "**", "summary.tsv"), recursive=True)):
            for line in open(f):
                p = line.rstrip("\n").split("\t")
                if len(p) < 12:
                    continue
                v, gset, name, oracle = p[:4]
                truth, us, both, missed, extra, ediff, live, tiny = map(int, p[4:12])
                kept = int(p[12]) if len(p) > 12 else 0
                unex = int(p[13]) if len(p) > 13 else 0
                if oracle == "expect":  # explained: not leaked by the runtime's definition
                    truth -= tiny + kept
                rows[(v, gset, name)] = dict(oracle=oracle, truth=truth, us=us, both=both, missed=missed,
                                             extra=extra, ediff=ediff, live=live, tiny=tiny, kept=kept,
                                             unex=unex)
    if not rows:
        print("no results (run tests/integration/goleak.sh first)")
        return 1
    versions = sorted({k[0] for k in rows}, key=vkey)
    print("| toolchain | truth | programs | exact | recall | false positives | live runs repeatable | expectations vs runtime |")
    print("|---|---|---|---|---|---|---|---|")
    for v in versions:
        rs = [r for k, r in rows.items() if k[0] == v]
        truth = sum(r["truth"] for r in rs)
        both = sum(r["both"] for r in rs)
        exact = sum(1 for r in rs if not r["missed"] and not r["extra"])
        oracles = sorted({r["oracle"] for r in rs})
        rec = f"{both}/{truth} ({100.0 * both / truth:.1f}%)" if truth else "0/0"
        ex = [r for r in rs if r["oracle"] == "expect"]
        tiny, kept = sum(r["tiny"] for r in ex), sum(r["kept"] for r in ex)
        if tiny or kept:
            rec += f"; not counted: {tiny} kept by a tiny block, {kept} by a root path"
        rt = [r for r in rs if r["oracle"] == "runtime"]
        edtxt = (f"{sum(1 for r in rt if r['ediff'] == 0)}/{len(rt)} programs agree; "
                 f"{sum(r['ediff'] for r in rt)} goroutines differ: {sum(r['tiny'] for r in rt)} kept by a "
                 f"tiny block, {sum(r['kept'] for r in rt)} by a root path" if rt else "-")
        print(f"| go{v} | {'/'.join('rt' if o == 'runtime' else 'exp' for o in oracles)} | {len(rs)} | {exact} | "
              f"{rec} | {sum(r['extra'] for r in rs)} | {sum(r['live'] for r in rs)}/{len(rs)} | {edtxt} |")
    print()
    progs = sorted({(k[1], k[2]) for k in rows}, key=lambda x: (x[0] != "top", x[0], x[1].lower()))
    print("| set | program | " + " | ".join(f"go{v}" for v in versions) + " |")
    print("|---|---|" + "---|" * len(versions))
    for gset, name in progs:
        cells = []
        for v in versions:
            r = rows.get((v, gset, name))
            if r is None:
                cells.append("")
                continue
            c = f"{r['both']}/{r['truth']}"
            if r["extra"]:
                c += f" +{r['extra']} FP"
            if r["oracle"] == "expect" and (r["tiny"] or r["kept"]):
                c += f" ({r['tiny']}t {r['kept']}k)" if r["tiny"] and r["kept"] else \
                    f" ({r['tiny']}t)" if r["tiny"] else f" ({r['kept']}k)"
            if r["unex"]:
                c += f" ({r['unex']} not examined)"
            if r["oracle"] == "runtime" and r["ediff"] > 0:
                c += f" [exp {r['ediff']}]"
            if not r["live"]:
                c += " ~"
            cells.append(c)
        print(f"| {gset} | {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
