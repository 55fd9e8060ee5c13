#!/usr/bin/env bash
# tests/bench/glibc/run.sh — glibc heap commands on a big heap: wall time and
# the target's observed pause, side by side with GEF. A script, not a test:
# nothing is asserted, never run in CI.
#
# Target: bigheap.c (NCHUNKS chunks of 16..176 B over NTHREADS arenas, ~1.1 GB
# at 10M, plus a 1 ms heartbeat that reports its largest tick gap on SIGUSR1).
# Pause method (tests/bench/README.md): SIGUSR1 (reset), run the tool, sleep
# 0.3 s, SIGUSR1, read the gap = the longest time the target made no progress.
#
# Environment:
#   BENCH_CHUNKS   chunks in the big heap (default 10000000)
#   BENCH_THREADS  allocating threads = arenas (default 4)
#   BENCH_RUNS     runs per row (default 3; medians shown)
#   BENCH_SMALL    chunks in the small heap used for GEF's per-chunk rate (default 20000; 0: skip)
#   GEF_PY         path to GEF's gef.py (hugsy/gef), for measurement only; unset: GEF rows skipped
#   GEF_TIMEOUT    seconds before a GEF run is stopped (default 120)
#   TLINSPECT      tlinspect binary (default build/tlinspect)
#   BENCH_DRIVER   set: also rows for tests/integration/glibc/driver.c, which resolves libc's
#                  layout (tli_glibc_prepare) before stopping the target
# Output: tests/out/bench-glibc/bench-<date>.tsv and a markdown table on stdout; each
# tlinspect run's phase times (-v) in tests/out/bench-glibc/out.<chunks>.<tool>.err.
# The first run after the target starts is often slower: pre-faulting the capture memory
# touches guest memory the host may not have backed yet (large on a VM).
set -u
cd "$(dirname "$0")/../../.."
ROOT=$PWD
# shellcheck source=../../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
OUT=$ROOT/tests/out/bench-glibc
mkdir -p "$OUT"
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
CHUNKS=${BENCH_CHUNKS:-10000000}
NT=${BENCH_THREADS:-4}
RUNS=${BENCH_RUNS:-3}
SMALL=${BENCH_SMALL:-20000}
GTO=${GEF_TIMEOUT:-120}
unset DEBUGINFOD_URLS

make -s >/dev/null || { echo "make failed"; exit 1; }
gcc -O2 -g -pthread -o "$OUT/bigheap" tests/bench/glibc/bigheap.c || exit 1
# the test driver calls tli_glibc_prepare() (libc layout before the stop)
DRV=$OUT/glibc_driver
gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Iinspector -o "$DRV" tests/integration/glibc/driver.c \
	build/libtlinspect.a $(pkg-config --libs libdw libelf jansson capstone) -lreadline -lz -lm || DRV=

TSV=$OUT/bench-$(date +%Y%m%d-%H%M%S).tsv
printf 'heap_chunks\ttool\trun\twall_s\tcpu_s\tpause_ms\trc\tresult\tload1\tmax_rss_kb\n' >"$TSV"
TPID=
GAP=
cleanup() { [ -n "$TPID" ] && kill -9 "$TPID" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_target() { # nchunks
	GAP=$OUT/gap.$1
	rm -f "$GAP" "$OUT/target.$1.out"
	"$OUT/bigheap" "$1" "$NT" "$GAP" >"$OUT/target.$1.out" 2>&1 &
	TPID=$!
	for _ in $(seq 1200); do grep -q ready "$OUT/target.$1.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$OUT/target.$1.out" || { echo "target did not get ready"; exit 1; }
	EXP_LEAKED=$(awk '/^leaked/{print $2}' "$OUT/target.$1.out")
	echo "target $TPID: $1 chunks, $NT arenas, RSS $(awk '/VmRSS/{print $2, $3}' /proc/$TPID/status)," \
		"$EXP_LEAKED leaked by design" >&2
}
stop_target() { kill -9 "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; TPID=; }

report() { tli_heartbeat_gap "$TPID" "$GAP" 500 NA; } # prints the gap (ms) reported after this call

summarize() { # tool file: a one-word sanity result
	case $1 in
	gef-heap-chunks) echo "chunks_listed=$(grep -c 'Chunk(addr=' "$2")" ;;
	gef-heap-bins) echo "chunks_listed=$(grep -o 'Chunk(addr=' "$2" | wc -l)" ;;
	gef-*) echo "-" ;;
	*heap) python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["glibc"]; t=g["totals"]; print("chunks=%d" % sum(v["count"] for v in t.values() if isinstance(v, dict) and "count" in v))' "$2" 2>/dev/null || echo "?" ;;
	*bins) python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["glibc"]; print("tcache=%d" % sum(t["total"]["count"] for t in g["tcache"]))' "$2" 2>/dev/null || echo "?" ;;
	*leaks) python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["heap"]; print("unreachable=%d/'"$EXP_LEAKED"'" % h["unreachable"]["count"])' "$2" 2>/dev/null || echo "?" ;;
	*) echo "-" ;;
	esac
}

run_row() { # nchunks tool timeout cmd...
	local n=$1 tool=$2 to=$3; shift 3
	local f=$OUT/out.$n.$tool
	for r in $(seq "$RUNS"); do
		report >/dev/null
		local t0 t1 rc
		t0=$(date +%s.%N)
		/usr/bin/time -f "%U %S %M" -o "$f.time" timeout -s INT -k 10 "$to" "$@" >"$f" 2>"$f.err"
		rc=$?
		local cpu rss
		cpu=$(awk 'END{printf "%.2f", $1 + $2}' "$f.time")
		rss=$(awk 'END{print $3}' "$f.time")
		t1=$(date +%s.%N)
		kill -CONT "$TPID" 2>/dev/null # in case a timed-out debugger left it stopped
		sleep 0.3
		local pause; pause=$(report)
		local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
		grep -qE "exit status (124|137)" "$f.time" && rc=124 # timed out (137: killed after SIGINT)
		[ $rc = 137 ] && rc=124
		[ $rc = 124 ] && wall=">$to"
		local res; res=$(summarize "$tool" "$f")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$r" "$wall" "$cpu" "$pause" "$rc" "$res" \
			"$(cut -d' ' -f1 /proc/loadavg)" "$rss" | tee -a "$TSV" >&2
		if ! grep -q TracerPid:.0 /proc/$TPID/status; then echo "target still traced after $tool" >&2; fi
		if [ $rc = 124 ] || [ $rc = 137 ]; then break; fi # one timeout is enough
	done
}


measure() { # nchunks what
	local n=$1
	start_target "$n"
	if [ "$2" = all ]; then
		run_row "$n" idle 10 sleep 2
		for c in heap bins leaks; do
			# -v: the phase times (reserve + layout, capture, walk, leaks) land in out.*.err
			run_row "$n" "tlinspect-$c" 600 "$TLI" -v --json --pid "$TPID" "$c"
		done
		if [ -n "$DRV" ] && [ -n "${BENCH_DRIVER:-}" ]; then
			for c in heap bins leaks; do
				run_row "$n" "driver-prepared-$c" 600 "$DRV" --pid "$TPID" "$c"
			done
		fi
	fi
	if [ -n "${GEF_PY:-}" ]; then
		local gef=(gdb -nx -p "$TPID" -batch -ex "source $GEF_PY" -ex "gef config context.enable False" -ex "gef config gef.disable_color True")
		run_row "$n" gef-load "$GTO" "${gef[@]}"
		run_row "$n" gef-heap-bins "$GTO" "${gef[@]}" -ex "heap bins"
		run_row "$n" gef-heap-chunks "$GTO" "${gef[@]}" -ex "heap chunks --all"
	fi
	stop_target
}

[ -n "${GEF_PY:-}" ] || echo "GEF_PY is not set: GEF rows skipped (fetch hugsy/gef into /tmp and set GEF_PY=/tmp/gef.py)" >&2
measure "$CHUNKS" all
if [ -n "${GEF_PY:-}" ] && [ "$SMALL" -gt 0 ]; then GTO=$((GTO * 3)) measure "$SMALL" gef; fi

# markdown table: medians per (chunks, tool)
echo
echo "| heap chunks | tool | runs | wall s (median) | cpu s (median) | target pause ms (median) | result | load1 |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |"
python3 - "$TSV" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
seen = []
for r in rows:
    k = (r["heap_chunks"], r["tool"])
    if k not in seen:
        seen.append(k)
def med(xs):
    num = [float(x) for x in xs if x.replace(".", "", 1).isdigit()]
    if len(num) < len(xs):
        return next(x for x in xs if not x.replace(".", "", 1).isdigit())
    return "%.3f" % statistics.median(num) if num else "NA"
for k in seen:
    rs = [r for r in rows if (r["heap_chunks"], r["tool"]) == k]
    print(f"| {k[0]} | {k[1]} | {len(rs)} | {med([r['wall_s'] for r in rs])} | {med([r['cpu_s'] for r in rs])} | "
          f"{med([r['pause_ms'] for r in rs])} | {rs[-1]['result']} | {med([r['load1'] for r in rs])} |")
EOF
echo "raw rows: $TSV"
