#!/usr/bin/env bash
# tests/integration/exitrace.sh - a target that exits by itself while tlinspect inspects it
# (issue 15 item 4). tests/targets/c/exitsoon.c (300k chunks over 4 arenas) announces itself
# and exits DELAY later, DELAY random in [0, EXITRACE_MAXMS) ms (2 runs in 3: [0, 80) ms, around
# the open and the attach, where the races were): before the attach, during the
# libc layout, the stop, the capture or the walk, or after the release. `heap` and `leaks` in
# turn, the target reaped at once (its parent waits for it) or left a zombie until tlinspect
# returns (as under a parent busy elsewhere). Every run must exit 0 with the answer of a run on a
# target that stays (the same in-use count and bytes; leaks: nothing unreachable), or exit 3
# with one line "no process with pid P ..."; never 1 ("capture after the target was released"),
# 8 ("pass --exe"), another code or a signal.
#   EXITRACE_N (default 40 runs, ~20 s), EXITRACE_MAXMS (default 700)
# Ends with "exitrace: N passed, M failed".
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/integration
. "$ROOT/tests/integration/lib.sh"
tli_suite exitrace
trap tli_cleanup EXIT INT TERM
N=${EXITRACE_N:-40}
MAXMS=${EXITRACE_MAXMS:-700}
CHUNKS=300000
bin=$TLI_OUT/exitsoon
gcc -O2 -g -pthread -o "$bin" "$ROOT/tests/targets/c/exitsoon.c" || { tli_bad "build of exitsoon.c"; tli_suite_end; exit; }

# what a run says, reduced to what must not depend on the moment: heap: in-use count and bytes,
# problems; leaks: in-use chunks, unreachable count, problems
summary() { # CMD FILE
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
if sys.argv[1] == "heap":
    g = d["glibc"]
    print("in_use", g["totals"]["in_use"]["count"], g["totals"]["in_use"]["bytes"], "problems", g["problems_total"])
else:
    h = d["heap"]
    print("in_use", h["in_use_chunks"], "unreachable", h["unreachable"]["count"], "problems", len(h["problems"]))
PY
}

# the reference: the same target, staying
tli_start "$TLI_OUT/ref.out" "$bin" "$CHUNKS" 4 100000000000
rpid=$(tli_wait_ready "$TLI_OUT/ref.out" 60) || { tli_bad "reference target did not start"; tli_suite_end; exit; }
declare -A want
for cmd in heap leaks; do
	if "$TLI" --pid "$rpid" --json "$cmd" > "$TLI_OUT/ref.$cmd" 2> "$TLI_OUT/ref.$cmd.err"; then
		want[$cmd]=$(summary "$cmd" "$TLI_OUT/ref.$cmd")
		tli_ok "$cmd on a target that stays: ${want[$cmd]}"
	else
		tli_bad "$cmd on a target that stays: exit $? ($(head -c 200 "$TLI_OUT/ref.$cmd.err"))"
	fi
done
tli_cleanup

declare -A seen
bad=0
for ((i = 0; i < N; i++)); do
	cmd=heap
	[ $((i % 2)) = 1 ] && cmd=leaks
	mode=reaped
	[ $((i / 2 % 2)) = 1 ] && mode=zombie
	# two runs in three exit within 80 ms: around the open and the attach, where the races were
	span=$MAXMS
	[ $((i % 3)) = 0 ] || span=80
	delay=$(( (RANDOM * 32768 + RANDOM) % (span * 1000) ))
	out=$TLI_OUT/run.$i
	rm -f "$out.target"
	if [ $mode = reaped ]; then
		( "$bin" "$CHUNKS" 4 "$delay" > "$out.target"; : ) &
	else
		"$bin" "$CHUNKS" 4 "$delay" > "$out.target" &
	fi
	TLI_PIDS+=("$!")
	TLI_PID=$!
	# its announcement, polled every 5 ms (tli_wait_ready's 50 ms would blur the moment)
	pid=
	k=0
	while [ -z "$pid" ] && [ $((k++)) -lt 6000 ]; do
		grep -q '^ready' "$out.target" 2>/dev/null && pid=$(awk '/^pid / {print $2}' "$out.target")
		[ -n "$pid" ] || sleep 0.005
	done
	if [ -z "$pid" ]; then
		tli_bad "run $i: the target did not start"
		continue
	fi
	"$TLI" --pid "$pid" --json "$cmd" > "$out" 2> "$out.err"
	rc=$?
	what=
	case $rc in
	0)
		got=$(summary "$cmd" "$out" 2>&1)
		[ "$got" = "${want[$cmd]:-}" ] || what="exit 0 with '$got', a target that stays gives '${want[$cmd]:-}'" ;;
	3)
		if [ "$(wc -l < "$out.err")" != 1 ] || ! grep -q "^tlinspect: error: no process with pid $pid" "$out.err"; then
			what="exit 3 but: $(head -c 200 "$out.err" | tr '\n' '|')"
		fi ;;
	*)
		if [ $rc -gt 128 ]; then what="killed by signal $((rc - 128))"
		else what="exit $rc: $(head -c 200 "$out.err" | tr '\n' '|')"; fi ;;
	esac
	seen["$rc"]=$(( ${seen["$rc"]:-0} + 1 ))
	if [ -n "$what" ]; then
		bad=$((bad + 1))
		tli_bad "run $i ($cmd, $mode, exit after $((delay / 1000)) ms): $what"
	fi
	wait "$TLI_PID" 2>/dev/null
done
summary_codes=$(for k in "${!seen[@]}"; do printf 'exit %s: %s, ' "$k" "${seen[$k]}"; done)
[ $bad = 0 ] && tli_ok "$N runs, heap and leaks, the target exiting after 0-$MAXMS ms: ${summary_codes%, }; each exit 0 the answer of a target that stays, each exit 3 one line"
tli_suite_end
