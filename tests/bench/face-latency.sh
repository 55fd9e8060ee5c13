#!/bin/bash
# tests/bench/face-latency.sh — per-command latency of the debugger faces.
#
# A target with N parked goroutines (gotarget, default N=10000) is attached by gdb (and by
# LLDB when its plugin is built); each face runs the same `tl` command R times (default 7)
# and we report the median wall time per command:
#   gdb, lldb: one batch session with R commands minus a session with none, divided by R
#   (the mean, not the median, for the faces).
# Rows: the layout cache off (TLINSPECT_LAYOUT_CACHE=0) and on (the default of the faces).
# Also the engine alone (`tlinspect --pid P --no-stop CMD`, what the face spawns), for
# reference. A script, not a test: nothing is asserted, and it never runs in CI.
#   BENCH_N=10000 BENCH_RUNS=7 BENCH_GO=1.19 tests/bench/face-latency.sh ["tl goroutine 1"]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../integration/lib.sh"
trap 'tli_cleanup' EXIT

N=${BENCH_N:-10000}
R=${BENCH_RUNS:-7}
CMD=${1:-tl goroutine 1}
BENCH_GO=${BENCH_GO:-1.19}
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
GDBFILE=$TLI_ROOT/build/gdb-ext/tlinspect.gdb
PLUGIN=$TLI_ROOT/build/gdb-ext/libtlinspect-lldb.so
WORK=$TLI_OUT/bench-faces
mkdir -p "$WORK"
export TLINSPECT_CACHE_DIR=$WORK/cache
rm -rf "$TLINSPECT_CACHE_DIR"

BIN=$(tli_build "$HERE/gotarget" "$BENCH_GO") || exit 1
tli_start "$WORK/target.out" "$BIN" -n "$N" -gapfile "$WORK/gap"
pid=$TLI_PID
tli_wait_ready "$WORK/target.out" 120 >/dev/null || { echo "target not ready"; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

printf 'target: go%s, %s goroutines, load %s\n' "$BENCH_GO" "$N" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %s\n' "face / cache" "median ms per '$CMD' (of $R)"

engine_args=${CMD#tl }
for cache in 0 1; do
	# the engine alone
	for _ in $(seq "$R"); do
		t0=$(date +%s%N)
		TLINSPECT_LAYOUT_CACHE=$cache "$TLI" --pid "$pid" --no-stop $engine_args >/dev/null 2>&1
		echo $((($(date +%s%N) - t0) / 1000))
	done | median | awk -v c=$cache '{printf "%-34s %.1f\n", "engine --no-stop, cache " c, $1 / 1000}'

	# gdb: (R commands - none) / R, in one attached batch session each
	if [ -f "$GDBFILE" ] && command -v gdb >/dev/null; then
		args=()
		for _ in $(seq "$R"); do args+=(-ex "$CMD"); done
		t0=$(date +%s%N)
		TLINSPECT_LAYOUT_CACHE=$cache gdb -nx -batch -p "$pid" -x "$GDBFILE" >/dev/null 2>&1
		t1=$(date +%s%N)
		TLINSPECT_LAYOUT_CACHE=$cache gdb -nx -batch -p "$pid" -x "$GDBFILE" "${args[@]}" \
			>"$WORK/gdb-$cache.out" 2>&1
		t2=$(date +%s%N)
		awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) -v r="$R" -v c=$cache \
			'BEGIN {printf "%-34s %.1f\n", "gdb -p, cache " c, (b - a) / r / 1e6}'
	fi

	# lldb: (R commands - none) / R
	if [ -f "$PLUGIN" ]; then
		LLDB=$(command -v lldb || command -v lldb-14 || true)
		if [ -n "$LLDB" ]; then
			largs=()
			for _ in $(seq "$R"); do largs+=(-o "$CMD"); done
			t0=$(date +%s%N)
			TLINSPECT=$TLI TLINSPECT_LAYOUT_CACHE=$cache "$LLDB" -b -x -o "plugin load $PLUGIN" -p "$pid" \
				>/dev/null 2>&1
			t1=$(date +%s%N)
			TLINSPECT=$TLI TLINSPECT_LAYOUT_CACHE=$cache "$LLDB" -b -x -o "plugin load $PLUGIN" -p "$pid" \
				"${largs[@]}" >"$WORK/lldb-$cache.out" 2>&1
			t2=$(date +%s%N)
			awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) -v r="$R" -v c=$cache \
				'BEGIN {printf "%-34s %.1f\n", "lldb -p, cache " c, (b - a) / r / 1e6}'
		fi
	fi
done
tli_kill "$pid"
