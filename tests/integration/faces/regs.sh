#!/usr/bin/env bash
# tests/integration/faces/regs.sh - faces that hold the process never give a silently different
# answer (issue 17 item 1). Target: tests/targets/c/heapstate (3 threads with tcaches; one chunk is
# reachable only from a register of thread 2). The reference is the engine run directly (it stops
# the process itself and reads every thread's registers from the kernel):
#   - `gdb -p PID`: `tl bins --json`, `tl leaks --json`, `tl heap --json` give the same `glibc` /
#     `heap` sections as the engine direct (gdb pipes every thread's registers to it);
#   - `lldb -p PID`: the same through the LLDB plugin (--thread-regs), or, where LLDB cannot give
#     what the engine needs (LLDB 14 has no fs_base: no thread's tcache), a result that says so;
#   - `--no-stop` with nothing holding the registers: the same commands say, in the result's
#     warnings, that registers of N threads are unknown and what that makes uncertain.
# Ends with "regs: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite regs
trap tli_cleanup EXIT INT TERM
W=$TLI_OUT/faces/regs
rm -rf "$W"; mkdir -p "$W"
GDBF=$W/tlinspect.gdb
sh "$ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$TLI" "$TLI" > "$GDBF" || tli_bad "generate tlinspect.gdb"
LLDB=$(command -v lldb || command -v lldb-14 || true)
PLUGIN=$W/libtlinspect-lldb.so
if [ -n "$LLDB" ] && make -s -C "$ROOT/gdb-ext/lldb" BUILD="$W/build" TLI_ENGINE="$TLI" > "$W/lldb-build.log" 2>&1; then
	cp "$W/build/gdb-ext/libtlinspect-lldb.so" "$PLUGIN"
else
	tli_bad "lldb plugin: lldb ${LLDB:-missing}, build: $(tail -2 "$W/lldb-build.log" 2>/dev/null)"
fi
gcc -O2 -g -pthread -o "$W/heapstate" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "build heapstate"; tli_suite_end; exit; }
tli_start "$W/target.out" "$W/heapstate" "$W"
pid=$(tli_wait_ready "$W/target.out" 20) || { tli_bad "heapstate did not start"; tli_suite_end; exit; }

CMDS="bins leaks heap"
for c in $CMDS; do "$TLI" --pid "$pid" --json "$c" > "$W/direct.$c.json" 2> "$W/direct.$c.err"; done
for c in $CMDS; do "$TLI" --pid "$pid" --no-stop --json "$c" > "$W/nostop.$c.json" 2> "$W/nostop.$c.err"; done
gargs=(); for c in $CMDS; do gargs+=(-ex "echo @@@ $c\\n" -ex "tl $c --json"); done
timeout -k 5 300 gdb -nx -batch -iex 'set auto-load no' -iex "source $GDBF" -p "$pid" "${gargs[@]}" > "$W/gdb.out" 2>&1
if [ -f "$PLUGIN" ]; then
	largs=(); for c in $CMDS; do largs+=(-o "tl $c --json"); done
	TLINSPECT=$TLI timeout -k 5 300 "$LLDB" -b -x -o "plugin load $PLUGIN" -p "$pid" "${largs[@]}" > "$W/lldb.out" 2>&1
fi
tli_kill "$pid"

# the sections of a face's output, one JSON document per command (split at the @@@ markers)
python3 - "$W" $CMDS <<'PY' > "$W/verdict.txt"
import json, os, re, sys
w, cmds = sys.argv[1], sys.argv[2:]
def doc(text):
    s = text.find("{")
    if s < 0: return None
    try: return json.JSONDecoder().raw_decode(text[s:])[0]
    except Exception: return None
def split(path):
    out = {}
    if not os.path.exists(path): return out
    parts = re.split(r"^(?:@@@ |\(lldb\) tl )(\w+)(?: --json)?\s*$", open(path, errors="replace").read(), flags=re.M)
    for i in range(1, len(parts) - 1, 2): out[parts[i]] = doc(parts[i + 1])
    return out
def body(d, c):
    if d is None: return None
    return {k: d.get(k) for k in ("glibc", "heap")}
def regs_warn(d):
    return [x for x in (d or {}).get("warnings", []) if "registers of" in str(x) or "thread pointer" in str(x)]
direct = {c: json.load(open(f"{w}/direct.{c}.json")) for c in cmds}
for c in cmds:
    if regs_warn(direct[c]): print(f"FAIL direct {c}: warns about registers: {regs_warn(direct[c])[0][:120]}")
faces = {"gdb -p": split(f"{w}/gdb.out"), "lldb -p": split(f"{w}/lldb.out")}
for face, docs in faces.items():
    for c in cmds:
        got = docs.get(c)
        if got is None: print(f"FAIL {face}: tl {c} --json gave no JSON document"); continue
        if body(got, c) != body(direct[c], c) and regs_warn(got):
            print(f"ok   {face}: tl {c} differs from the engine run directly and says why: {regs_warn(got)[0][:100]}")
        elif body(got, c) != body(direct[c], c):
            a, b = json.dumps(body(got, c), sort_keys=True), json.dumps(body(direct[c], c), sort_keys=True)
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), 0)
            print(f"FAIL {face}: tl {c} differs from the engine run directly at ...{a[max(0,i-80):i+60]}... vs ...{b[max(0,i-80):i+60]}...")
        elif regs_warn(got) and all("by their content" in str(x) for x in regs_warn(got)):
            # no thread pointer, yet the same answer: the tcaches were found by their content
            print(f"ok   {face}: tl {c} --json = the engine run directly; it says the tcaches were found by their content")
        elif regs_warn(got): print(f"FAIL {face}: tl {c} warns that registers are unknown: {regs_warn(got)[0][:120]}")
        else: print(f"ok   {face}: tl {c} --json = the engine run directly ({c} section equal, no register warning)")
for c in cmds:
    d = json.load(open(f"{w}/nostop.{c}.json"))
    ws = regs_warn(d)
    if ws: print(f"ok   --no-stop {c}: says so: {ws[0][:110]}")
    else: print(f"FAIL --no-stop {c}: no warning that registers are unknown (warnings: {d.get('warnings')})")
# what the missing registers change, for the record (the result says it is uncertain)
n = lambda d: (d.get("heap") or {}).get("unreachable", {}).get("count")
print(f"note leaks: {n(direct['leaks'])} unreachable chunks direct, "
      f"{n(json.load(open(f'{w}/nostop.leaks.json')))} with --no-stop and no registers")
PY
while IFS= read -r l; do case $l in ok*) tli_ok "${l#ok   }";; FAIL*) tli_bad "${l#FAIL }";; note*) echo "$l";; esac; done < "$W/verdict.txt"
tli_suite_end
