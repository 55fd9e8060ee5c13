#!/usr/bin/env bash
# tests/integration/pause.sh - Go `leaks` allocates and faults in its copy of the heap before
# it stops the target (issue 20 item 8: on a 2 GiB heap 1.6 s of a 4.1 s pause were page
# faults of that copy). A Go target with a 128 MiB live heap (tests/targets/go/bigheap, 3/4 of
# it pointerful) and its 1 ms heartbeat: `leaks -v` must name the reservation made before the
# stop ("heap reserve (N MiB)", N at least the 96 MiB of pointerful spans), answer right, and the
# target's own longest tick gap (tests/bench/README.md) must not exceed tlinspect's pause by
# more than 250 ms. The figures are printed. Ends with "pause: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
tli_suite pause
trap tli_cleanup EXIT INT TERM
finish() { tli_suite_end; exit; }

gov=$(tli_go_versions | awk '{print $NF}')
bin=$(tli_build tests/targets/go/bigheap "$gov") || { tli_bad "build of the Go target"; finish; }
GAP=$TLI_OUT/gap
tli_start "$TLI_OUT/target.out" "$bin" -heap 128 -g 1000 -gapfile "$GAP"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 120) || { tli_bad "target did not start"; finish; }
want=$(awk '/^leaked/ {print $2}' "$TLI_OUT/target.out")

gap() { # the target's longest tick gap (ms) since the previous call
	local before after i
	before=$(cut -d' ' -f1 "$GAP" 2>/dev/null || echo 0)
	kill -USR1 "$pid"
	for ((i = 0; i < 500; i++)); do
		after=$(cut -d' ' -f1 "$GAP" 2>/dev/null || echo 0)
		[ "$after" != "$before" ] && { awk '{printf "%d\n", $2 / 1e6}' "$GAP"; return 0; }
		sleep 0.01
	done
	echo 999999
}

sleep 0.5
for run in 1 2 3; do
	gap > /dev/null
	"$TLI" -v --json --pid "$pid" leaks > "$TLI_OUT/out.$run" 2> "$TLI_OUT/err.$run"
	rc=$?
	sleep 0.3
	g=$(gap)
	read -r pause leaked < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["target"]["pause_ms"]), d["go"]["leaked_count"])' "$TLI_OUT/out.$run" 2>/dev/null || echo "NA NA")
	mib=$(sed -nE 's/.*heap reserve \(([0-9]+) MiB\).*/\1/p' "$TLI_OUT/err.$run")
	echo "     run $run: exit $rc, $leaked leaked, reserved before the stop: ${mib:-none} MiB, pause $pause ms (tlinspect), longest tick gap $g ms (target)"
	if [ $rc = 0 ] && [ "$leaked" = "$want" ] && [ -n "$mib" ] && [ "$mib" -ge 96 ]; then
		tli_ok "run $run: the copy of the heap ($mib MiB) was allocated before the stop, $leaked leaked as the target says"
	else
		tli_bad "run $run: exit $rc, $leaked leaked (want $want), reserved before the stop: ${mib:-nothing} MiB (want >= 96)"
	fi
	if [ "$pause" != NA ] && [ "$g" -le $((pause + 250)) ]; then
		tli_ok "run $run: the target's longest gap ($g ms) is within 250 ms of tlinspect's pause ($pause ms)"
	else
		tli_bad "run $run: the target's longest gap is $g ms, tlinspect's pause $pause ms"
	fi
done
finish
