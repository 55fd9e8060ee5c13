#!/usr/bin/env bash
# tests/stress/overlap.sh [PAIRS] - overlapping tlinspect runs on one multi-threaded target
# (issue 20 item 2): run B attaches while run A is still stopping or detaching. Every run must
# either capture every thread (exit 0 with target.threads = the thread count) or exit 4 naming
# the tracer that holds a thread; an exit 0 with a thread missing is a failure. Not part of
# make check (it takes a while); run it with: bash tests/stress/overlap.sh 100
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/stress-overlap
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT INT TERM
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
PAIRS=${1:-100}
rm -rf "$TLI_OUT"; mkdir -p "$TLI_OUT/hs"
gcc -O2 -g -pthread -o "$TLI_OUT/heapstate" "$ROOT/tests/targets/c/heapstate.c" || exit 1
tli_start "$TLI_OUT/target.out" "$TLI_OUT/heapstate" "$TLI_OUT/hs"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 20) || exit 1
ntask=$(ls /proc/"$pid"/task | wc -l)
full=0 busy=0 missing=0 other=0
one() {  # I: one run's verdict on stdout
	"$TLI" --pid "$pid" --json bins > "$TLI_OUT/r$1.json" 2> "$TLI_OUT/r$1.err"
	local rc=$? n
	n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["threads"])' "$TLI_OUT/r$1.json" 2>/dev/null)
	if [ $rc = 0 ] && [ "$n" = "$ntask" ]; then echo full
	elif [ $rc = 0 ]; then echo "missing $n"
	elif [ $rc = 4 ]; then echo busy
	else echo "other $rc $(head -c 100 "$TLI_OUT/r$1.err")"; fi
}
for i in $(seq "$PAIRS"); do
	one "$i.a" > "$TLI_OUT/v$i.a" &
	a=$!
	sleep "0.00$((RANDOM % 10))"
	one "$i.b" > "$TLI_OUT/v$i.b"
	wait "$a"
done
for f in "$TLI_OUT"/v*; do
	case $(cat "$f") in full) full=$((full + 1)) ;; busy) busy=$((busy + 1)) ;; missing*) missing=$((missing + 1)); echo "MISSING: $f: $(cat "$f")" ;; *) other=$((other + 1)); echo "OTHER: $(cat "$f")" ;; esac
done
echo "overlap: $((PAIRS * 2)) runs in $PAIRS pairs on $ntask threads: $full complete, $busy exit 4 (busy), $missing exit 0 with a thread missing, $other other"
echo "overlap: $((full + busy)) passed, $((missing + other)) failed"
[ $((missing + other)) = 0 ]
