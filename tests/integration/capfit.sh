#!/usr/bin/env bash
# tests/integration/capfit.sh - issue 15 item 2, "say up front": a glibc capture that cannot
# fit in what tlinspect may have is refused before the target is stopped.
# Target: tests/bench/glibc/bigheap.c, CAPFIT_CHUNKS chunks over 4 arenas (default 1.8M, ~200 MiB
# of heap; it prints its own mallinfo2).
#  - unconstrained `heap` = the target's mallinfo2; `leaks` = the target's leaked count
#  - `heap` and `leaks` under `ulimit -v` (and `heap` under `ulimit -d`) between tlinspect's
#    base and base + heap: exit 13 within 3 s, one line naming the need (the target's heap
#    size, from its maps) and the limit; strace shows no ptrace call at all (the target was
#    never stopped; process_vm_readv peeks at thread heap heads) and it runs untraced after
#  - under a limit with room: exit 0 and the same answer as unconstrained
#  - a gcore core of it: heap, bins, leaks read the heap in place (peak RSS under half, resp.
#    three quarters, of the heap; = mallinfo2 / the leaked count); heap under a ulimit -v that
#    holds the mapped core but not a copy of the heap: the same answer
#  - --snapshot=fork (capfit_fork.sh; the frozen copy read in place, a bounded window of it in
#    memory), on the same target and on a Go bigheap (CAPFIT_GO_MIB, default 256 MiB live heap,
#    newest toolchain): `heap` and `leaks` give copy mode's answer byte for byte (= mallinfo2,
#    the leaked count, ReadMemStats' HeapAlloc, the leaked goroutines); peak RSS under half of
#    copy mode's and, on heaps of 1 GiB or more, under a quarter of the heap (glibc `leaks`: half,
#    its per-chunk tables); under a `ulimit -d` that refuses copy mode (which names
#    --snapshot=fork) fork mode gives the same answer; under a `ulimit -v` below the heap fork
#    mode is refused up front too (its views take address space); no copy outlives tlinspect,
#    also when tlinspect is SIGKILLed while reading it (ps); a copy killed by someone else while
#    it is read gives exit 3, never an answer with part of the heap read as zeros.
# About 45 s. Bigger: CAPFIT_CHUNKS=13000000 CAPFIT_GO_MIB=1024 (~1.4 GiB and ~1 GiB heaps).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite capfit
trap tli_cleanup EXIT
ok() { tli_ok "$@"; }
bad() { tli_bad "$@"; }

command -v strace >/dev/null || { bad "strace is not installed (scripts/setup.sh installs it)"; tli_suite_end; exit 1; }
gcc -O2 -g -pthread -o "$TLI_OUT/bigheap" "$ROOT/tests/bench/glibc/bigheap.c" || { bad "build of bigheap.c"; tli_suite_end; exit 1; }
tli_start "$TLI_OUT/target.out" "$TLI_OUT/bigheap" "${CAPFIT_CHUNKS:-1800000}" 4 "$TLI_OUT/gap"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 120) || { bad "target did not start"; tli_suite_end; exit 1; }
want_leaked=$(awk '/^leaked/ {print $2}' "$TLI_OUT/target.out")

canon() { # FILE: the answer without what changes from run to run
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("pause_ms", "bytes_read"):
    d.get("target", {}).pop(k, None)
print(json.dumps(d, sort_keys=True, indent=1))' "$1"
}
# --snapshot=fork checks (section 5): measure, fcanon, copies, fork_glibc, fork_go
# shellcheck source=tests/integration/capfit_fork.sh
. "$ROOT/tests/integration/capfit_fork.sh"

# every thread of the target runs (or sleeps) and nobody traces it
released() {
	local t st tr
	kill -0 "$pid" 2>/dev/null || return 1
	for t in /proc/"$pid"/task/*; do
		st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "$t/stat" 2>/dev/null)
		tr=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
		case $st in t|T) return 1 ;; esac
		[ "${tr:-0}" = 0 ] || return 1
	done
}

# 1. unconstrained answers against the target's own view (copy mode's RSS and time: section 5)
read -r rc copy_rss_heap copy_s_heap < <(measure "$TLI_OUT/heap.json" "$TLI" --pid "$pid" --json heap)
[ "$rc" = 0 ] || bad "heap unconstrained: exit $rc $(head -c 300 "$TLI_OUT/heap.json.err")"
got=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["glibc"]["mallinfo2"]
print(" ".join("%s %d" % (k, m[k]) for k in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "uordblks", "fordblks", "fsmblks")))' "$TLI_OUT/heap.json" 2>&1)
want=$(sed -n 's/^mallinfo2 //p' "$TLI_OUT/target.out")
if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "heap unconstrained = the target's mallinfo2 ($want)"
else bad "heap unconstrained: $got; the target's mallinfo2: $want"; fi
canon "$TLI_OUT/heap.json" > "$TLI_OUT/heap.canon"
read -r rc copy_rss_leaks copy_s_leaks < <(measure "$TLI_OUT/leaks.json" "$TLI" --pid "$pid" --json leaks)
[ "$rc" = 0 ] || bad "leaks unconstrained: exit $rc"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["unreachable"]["count"])' "$TLI_OUT/leaks.json" 2>&1)
if [ "$got" = "$want_leaked" ]; then ok "leaks unconstrained: $got unreachable (the target leaked $want_leaked)"
else bad "leaks unconstrained: $got unreachable, the target leaked $want_leaked"; fi
canon "$TLI_OUT/leaks.json" > "$TLI_OUT/leaks.canon"

# the heap as the maps show it (what the capture copies): [heap] + 64 MiB-aligned thread heaps
heap_kib=$(python3 -c '
import sys
t = 0
for l in open("/proc/%s/maps" % sys.argv[1]):
    f = l.split()
    s, e = (int(x, 16) for x in f[0].split("-"))
    if (len(f) > 5 and f[5] == "[heap]") or (len(f) == 5 and f[1].startswith("rw") and s % (64 << 20) == 0):
        t += e - s
print(t // 1024)' "$pid")
ok "target heap from its maps: $((heap_kib >> 10)) MiB"

# 2. refused up front: LIMIT = tlinspect's base (~40 MiB) + half the heap
refused() { # NAME ULIMITFLAG KIB CMD LIMITWORD
	local name=$1 o=$TLI_OUT/$1 t0 t1 rc ms
	t0=$(date +%s%N)
	(ulimit "$2" "$3"; exec strace -f -qq -e trace=ptrace -o "$o.strace" "$TLI" --pid "$pid" $4) > "$o.out" 2> "$o.err"
	rc=$?
	t1=$(date +%s%N); ms=$(((t1 - t0) / 1000000))
	local msg; msg=$(head -c 400 "$o.err")
	if [ "$rc" = 13 ] && [ "$(wc -l < "$o.err")" = 1 ] && [ "$ms" -lt 3000 ] &&
		grep -q "needs at least [0-9]* MiB" "$o.err" && grep -q "$5" "$o.err" && grep -q "was not stopped" "$o.err"; then
		ok "$name: exit 13 in $ms ms: $msg"
	else
		bad "$name: exit $rc in $ms ms: $msg"
	fi
	local need; need=$(sed -nE 's/.*needs at least ([0-9]+) MiB.*/\1/p' "$o.err")
	if [ -n "$need" ] && [ "$need" -ge $((heap_kib * 9 / 10 >> 10)) ]; then ok "$name: need $need MiB >= 90% of the heap's $((heap_kib >> 10)) MiB"
	else bad "$name: need '$need' MiB, the heap is $((heap_kib >> 10)) MiB"; fi
	if [ -s "$o.strace" ]; then bad "$name: tlinspect called ptrace: $(head -3 "$o.strace" | tr '\n' '|')"
	else ok "$name: no ptrace call (the target was never stopped; only its heap_info heads were peeked)"; fi
	if released; then ok "$name: the target runs, untraced"; else bad "$name: the target is stopped or traced"; fi
}
limit=$((40 * 1024 + heap_kib / 2))
refused heap-ulimit-v -v "$limit" heap "RLIMIT_AS"
refused leaks-ulimit-v -v "$limit" leaks "RLIMIT_AS"
refused heap-ulimit-d -d "$limit" heap "RLIMIT_DATA"

# 3. room enough: the same answer
for cmd in heap leaks; do
	(ulimit -v $((heap_kib * 3 + 200 * 1024)); exec "$TLI" --pid "$pid" --json $cmd) > "$TLI_OUT/$cmd.room.json" 2> "$TLI_OUT/$cmd.room.err"
	rc=$?
	canon "$TLI_OUT/$cmd.room.json" > "$TLI_OUT/$cmd.room.canon" 2>/dev/null
	if [ "$rc" = 0 ] && cmp -s "$TLI_OUT/$cmd.room.canon" "$TLI_OUT/$cmd.canon"; then ok "$cmd with room (ulimit -v $((heap_kib * 3 + 200 * 1024))): the unconstrained answer"
	else bad "$cmd with room: exit $rc $(head -c 300 "$TLI_OUT/$cmd.room.err"), diff $TLI_OUT/$cmd.canon $TLI_OUT/$cmd.room.canon"; fi
done
released && ok "target released" || bad "target stopped or traced at the end"

# 5. --snapshot=fork reads the frozen copy in place, a bounded window of it in memory
fork_glibc

# 4. a core's heap is read in place (issue 15 item 2): peak RSS well under the heap, and under
#    a ulimit -v that holds the mapped core but not a copy of its heap, the same answers
if gcore -o "$TLI_OUT/core" "$pid" > "$TLI_OUT/gcore.log" 2>&1 && [ -s "$TLI_OUT/core.$pid" ]; then
	core=$TLI_OUT/core.$pid
	core_kib=$(( $(stat -c %s "$core") / 1024 ))
	for cmd in heap bins leaks; do
		python3 - "$TLI" "$core" "$TLI_OUT/bigheap" "$cmd" "$TLI_OUT/core.$cmd.json" <<'PY' > "$TLI_OUT/core.$cmd.rss"
import resource, subprocess, sys
tli, core, exe, cmd, out = sys.argv[1:]
with open(out, "w") as f:
    rc = subprocess.run([tli, "--core", core, "--exe", exe, "--json", cmd], stdout=f).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
		read -r rc rss < "$TLI_OUT/core.$cmd.rss"
		# heap and bins: a 64 MiB window of the heap + tables; leaks keeps per-chunk tables too
		lim=$((heap_kib / 2)); [ "$cmd" = leaks ] && lim=$((heap_kib * 3 / 4))
		if [ "$rc" = 0 ] && [ "$rss" -lt "$lim" ]; then ok "core $cmd: peak RSS $((rss >> 10)) MiB < $((lim >> 10)) MiB (heap $((heap_kib >> 10)) MiB)"
		else bad "core $cmd: exit $rc, peak RSS $((rss >> 10)) MiB, wanted < $((lim >> 10)) MiB"; fi
	done
	got=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["glibc"]["mallinfo2"]
print(" ".join("%s %d" % (k, m[k]) for k in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "uordblks", "fordblks", "fsmblks")))' "$TLI_OUT/core.heap.json" 2>&1)
	if [ "$got" = "$want" ]; then ok "core heap = the target's mallinfo2"; else bad "core heap: $got; mallinfo2: $want"; fi
	got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["unreachable"]["count"])' "$TLI_OUT/core.leaks.json" 2>&1)
	if [ "$got" = "$want_leaked" ]; then ok "core leaks: $got unreachable"; else bad "core leaks: $got unreachable, the target leaked $want_leaked"; fi
	# room for the mapped core and tlinspect, not for a second copy of the heap
	kib=$((core_kib + 120 * 1024))
	(ulimit -v "$kib"; exec "$TLI" --core "$core" --exe "$TLI_OUT/bigheap" --json heap) > "$TLI_OUT/core.heap.lim.json" 2> "$TLI_OUT/core.heap.lim.err"
	rc=$?
	if [ "$rc" = 0 ] && cmp -s <(canon "$TLI_OUT/core.heap.json") <(canon "$TLI_OUT/core.heap.lim.json"); then
		ok "core heap under ulimit -v $kib (core $((core_kib >> 10)) MiB + 120 MiB): the same answer"
	else
		bad "core heap under ulimit -v $kib: exit $rc $(head -c 300 "$TLI_OUT/core.heap.lim.err")"
	fi
	rm -f "$core"
else
	bad "gcore failed: $(tail -3 "$TLI_OUT/gcore.log")"
fi
kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
fork_go
tli_suite_end
