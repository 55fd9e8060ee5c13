#!/usr/bin/env bash
# tests/integration/attach.sh - tlinspect captures every thread or says it could not.
# A multi-threaded C target (tests/targets/c/heapstate.c) with one of its threads held by another
# tracer (tests/targets/c/holdthread.c: what a second tlinspect still detaching, or a debugger,
# looks like): the run must exit 4 naming the thread and its tracer - it used to take the refusal
# for "thread exiting" and exit 0 with that thread missing. Without the other tracer: exit 0 with
# every thread. Ends with "attach: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite attach
trap tli_cleanup EXIT INT TERM
mkdir -p "$TLI_OUT/hs"
gcc -O2 -g -pthread -o "$TLI_OUT/heapstate" "$ROOT/tests/targets/c/heapstate.c" &&
gcc -O2 -o "$TLI_OUT/holdthread" "$ROOT/tests/targets/c/holdthread.c" || { tli_bad "setup"; tli_suite_end; exit 1; }

tli_start "$TLI_OUT/target.out" "$TLI_OUT/heapstate" "$TLI_OUT/hs"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 20) || { echo "attach: target did not start"; tli_bad "setup"; tli_suite_end; exit 1; }
ntask=$(ls /proc/"$pid"/task | wc -l)
victim=$(ls /proc/"$pid"/task | sort -n | tail -1)
[ "$ntask" -ge 2 ] && [ "$victim" != "$pid" ] || { echo "attach: target has $ntask threads"; tli_bad "setup"; tli_suite_end; exit 1; }
threads_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["threads"])' "$1" 2>/dev/null; }

tli_start "$TLI_OUT/hold.out" "$TLI_OUT/holdthread" "$victim"
holder=$TLI_PID
for _ in $(seq 50); do grep -q held "$TLI_OUT/hold.out" && break; sleep 0.1; done
for cmd in heap leaks; do
	"$TLI" --pid "$pid" --json $cmd > "$TLI_OUT/held.$cmd.json" 2> "$TLI_OUT/held.$cmd.err"
	rc=$?
	if [ $rc = 4 ] && grep -q "thread $victim is traced by pid $holder" "$TLI_OUT/held.$cmd.err"; then
		tli_ok "$cmd with thread $victim held by pid $holder: exit 4, both named"
	else
		tli_bad "$cmd with thread $victim held by another tracer: exit $rc, threads $(threads_of "$TLI_OUT/held.$cmd.json") of $ntask, $(head -c 200 "$TLI_OUT/held.$cmd.err")"
	fi
done
tli_kill "$holder"
"$TLI" --pid "$pid" --json heap > "$TLI_OUT/free.json" 2> "$TLI_OUT/free.err"
rc=$?
if [ $rc = 0 ] && [ "$(threads_of "$TLI_OUT/free.json")" = "$ntask" ]; then
	tli_ok "no other tracer: exit 0 with all $ntask threads"
else
	tli_bad "no other tracer: exit $rc, threads $(threads_of "$TLI_OUT/free.json") of $ntask: $(head -c 200 "$TLI_OUT/free.err")"
fi
# not a Go program: the error says what does work on it
"$TLI" --pid "$pid" > "$TLI_OUT/nogo.out" 2> "$TLI_OUT/nogo.err"
rc=$?
if [ $rc = 5 ] && grep -q 'is not a Go program' "$TLI_OUT/nogo.err" && grep -q 'heap, bins, leaks' "$TLI_OUT/nogo.err"; then
	tli_ok "a C program without a command: exit 5, and the error names heap, bins, leaks"
else
	tli_bad "a C program without a command: exit $rc: $(head -c 200 "$TLI_OUT/nogo.err")"
fi
tli_suite_end
