#!/usr/bin/env bash
# tests/integration/stop.sh - a target that cannot be stopped in time (one thread blocked in
# vfork, tests/targets/c/vforkstuck.c): every command exits 10 naming the timeout - the glibc
# commands used to exit 1 "capture after the target was released" - and the target is left
# running: no thread stopped or traced afterwards. Ends with "stop: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite stop
kids=""
# the target's vfork child pauses forever: kill it with the target
cleanup() { [ -n "$kids" ] && kill -9 $kids 2>/dev/null; tli_cleanup; }
trap cleanup EXIT INT TERM

gcc -O2 -g -pthread -o "$TLI_OUT/vforkstuck" "$ROOT/tests/targets/c/vforkstuck.c" || { tli_bad "setup"; tli_suite_end; exit 1; }
tli_start "$TLI_OUT/target.out" "$TLI_OUT/vforkstuck"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 20) || { echo "stop: target did not start"; tli_bad "setup"; tli_suite_end; exit 1; }
kids=$(pgrep -P "$pid" | tr '\n' ' ')

# every thread runs (or sleeps) and nobody traces it
released() {
	local st tr
	for t in /proc/"$pid"/task/*; do
		st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "$t/stat" 2>/dev/null)
		tr=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
		case $st in t|T) return 1 ;; esac
		[ "${tr:-0}" = 0 ] || return 1
	done
}

for cmd in heap arenas bins leaks "explain arena" "chunk 0x1000" "goroutines"; do
	# shellcheck disable=SC2086
	"$TLI" --pid "$pid" --timeout 300 $cmd > "$TLI_OUT/out" 2> "$TLI_OUT/err"
	rc=$?
	if [ $rc = 10 ] && grep -q 'did not stop within the timeout' "$TLI_OUT/err" && released; then
		tli_ok "$cmd: exit 10, the timeout named, the target left running"
	elif [ "$cmd" = goroutines ] && [ $rc = 5 ] && released; then
		tli_ok "$cmd: exit 5 (not a Go program: decided before any stop), the target left running"
	else
		tli_bad "$cmd: exit $rc ($(head -c 200 "$TLI_OUT/err")), released: $(released && echo yes || echo no)"
	fi
done
# Signals while tlinspect holds the other threads stopped (waiting up to 5 s for the stuck one):
# it releases the target, then dies by the signal (128 + N in the shell), printing nothing.
for sig in INT TERM HUP PIPE; do
	"$TLI" --pid "$pid" --timeout 5000 heap > "$TLI_OUT/sig.out" 2> "$TLI_OUT/sig.err" &
	tp=$!
	sleep 0.5
	held=$(released && echo no || echo yes)
	kill -"$sig" "$tp"
	wait "$tp"
	rc=$?
	want=$((128 + $(kill -l "$sig")))
	sleep 0.1
	if [ "$rc" = "$want" ] && [ ! -s "$TLI_OUT/sig.out" ] && [ ! -s "$TLI_OUT/sig.err" ] && released; then
		tli_ok "SIG$sig while holding the target (held: $held): died by it (\$?=$rc), nothing printed, the target released"
	else
		tli_bad "SIG$sig: \$?=$rc (want $want), stdout $(wc -c < "$TLI_OUT/sig.out") B, stderr '$(head -c 120 "$TLI_OUT/sig.err")', released: $(released && echo yes || echo no)"
	fi
done
# The shell lives on after a command whose stop timed out: the thread it could not stop stays
# traced by it (a thread in the kernel cannot be detached) - but once that thread leaves the
# kernel (its vfork child killed here) the shell detaches it at once, while it waits at its
# prompt: it must not sit frozen ('t') until the next command or quit. The next command then
# sees every thread.
victim=$(ls /proc/"$pid"/task | sort -n | tail -1)
rm -f "$TLI_OUT/fifo"; mkfifo "$TLI_OUT/fifo"
"$TLI" --pid "$pid" --timeout 300 shell < "$TLI_OUT/fifo" > "$TLI_OUT/shell.out" 2>&1 &
sh_pid=$!
exec 7> "$TLI_OUT/fifo"
echo heap >&7
sleep 1
during=$(awk '/^TracerPid:/ {print $2}' /proc/"$pid"/task/"$victim"/status 2>/dev/null)
kill -9 $kids 2>/dev/null; kids=""
sleep 1
st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' /proc/"$pid"/task/"$victim"/stat 2>/dev/null)
tr=$(awk '/^TracerPid:/ {print $2}' /proc/"$pid"/task/"$victim"/status 2>/dev/null)
if [ -n "$st" ] && [ "$st" != t ] && [ "$st" != T ] && [ "$tr" = 0 ]; then
	tli_ok "shell: the thread it could not stop (traced by it while blocked: ${during:-?}) is detached at the prompt once it leaves the kernel (state $st)"
else
	tli_bad "shell: thread $victim after leaving the kernel: state '${st:-gone}', TracerPid ${tr:-?} (shell $sh_pid)"
fi
echo "bins --json" >&7
echo quit >&7
exec 7>&-
wait "$sh_pid"
n=$(python3 -c 'import json,re,sys
t=open(sys.argv[1]).read(); i=t.find("{"); d=json.JSONDecoder().raw_decode(t[i:])[0]; print(d["target"]["threads"])' "$TLI_OUT/shell.out" 2>/dev/null)
if [ "$n" = "$(ls /proc/"$pid"/task | wc -l)" ]; then
	tli_ok "shell: the next command captures every thread ($n)"
else
	tli_bad "shell: the next command captured ${n:-no} threads of $(ls /proc/"$pid"/task | wc -l): $(tail -c 300 "$TLI_OUT/shell.out")"
fi
released && tli_ok "after the shell: the target runs, nobody traces it" || tli_bad "after the shell: a thread is still stopped or traced"

# the documentation says exactly this (it used to promise exit 130 and a message)
if grep -q 'dies by' "$ROOT/docs/exit-codes.md" && grep -q 'dies by that same signal' "$ROOT/docs/tlinspect.1"; then
	tli_ok "docs/exit-codes.md and tlinspect(1) describe death by the signal"
else
	tli_bad "docs/exit-codes.md or tlinspect(1) do not describe what a signal does"
fi
tli_suite_end
