#!/usr/bin/env bash
# tests/bench/goleaks/run.sh — Go `leaks` on a large Go heap: the target's observed pause,
# wall time and peak RSS, for one or more tlinspect binaries side by side (issue 20 item 8).
# A script, not a test: nothing is asserted, never run in CI.
#
# Target: tests/targets/go/bigheap (-heap MiB of live heap, -g blocked goroutines) with its
# 1 ms heartbeat. Pause method (tests/bench/README.md): SIGUSR1 (reset), run the tool,
# sleep 0.3 s, SIGUSR1, read the gap = the longest time the target made no progress.
# The binaries take turns run by run, so that a slow spell of the machine hits them alike.
#
# Environment:
#   BENCH_HEAP     live heap, MiB (default 1024)
#   BENCH_G        blocked goroutines (default 10000)
#   BENCH_RUNS     runs per binary (default 7)
#   BENCH_GO       toolchain of the target (default: the newest installed)
#   BENCH_BINS     binaries to compare, space separated, e.g. an older build first (default:
#                  build/tlinspect)
#   BENCH_MODES    snapshot modes, each run for every binary: copy (the default mode) and/or
#                  fork (--snapshot=fork) (default: "copy fork")
# Output: tests/out/bench-goleaks/bench-<date>.tsv (tool run wall_s heartbeat_gap_ms
# tlinspect_pause_ms rc leaked max_rss_kb load1; tool is "BINARY (MODE)") and a table of median/min/max on stdout.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
export TLI_OUT=$ROOT/tests/out/bench-goleaks
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT
trap 'exit 130' INT TERM
HEAP=${BENCH_HEAP:-1024}
NG=${BENCH_G:-10000}
RUNS=${BENCH_RUNS:-7}
GOV=${BENCH_GO:-$(tli_go_versions | awk '{print $NF}')}
BENCH_BINS=${BENCH_BINS:-$ROOT/build/tlinspect}
BENCH_MODES=${BENCH_MODES:-copy fork}
mkdir -p "$TLI_OUT"
GAP=$TLI_OUT/gap
rm -f "$GAP"
bin=$(tli_build tests/targets/go/bigheap "$GOV") || exit 1
tli_start "$TLI_OUT/target.out" "$bin" -heap "$HEAP" -g "$NG" -gapfile "$GAP"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 300) || exit 1
echo "target $pid: go$GOV, $HEAP MiB live heap, $NG goroutines, RSS $(awk '/VmRSS/{print $2, $3}' /proc/"$pid"/status)" >&2

gap() { tli_heartbeat_gap "$pid" "$GAP" 500 NA; } # the largest tick gap (ms) since the previous call

TSV=$TLI_OUT/bench-$(date +%Y%m%d-%H%M%S).tsv
printf 'tool\trun\twall_s\tgap_ms\tpause_ms\trc\tleaked\tmax_rss_kb\tload1\n' > "$TSV"
sleep 1
gap > /dev/null
for r in $(seq "$RUNS"); do
	for b in $BENCH_BINS; do
	for m in $BENCH_MODES; do
		f=$TLI_OUT/out
		case $m in
		copy) extra=() ;;
		fork) extra=(--snapshot=fork) ;;
		*) echo "BENCH_MODES: unknown mode $m" >&2; exit 2 ;;
		esac
		gap > /dev/null
		t0=$(date +%s.%N)
		/usr/bin/time -f "%M" -o "$f.time" "$b" --pid "$pid" ${extra[@]+"${extra[@]}"} --json leaks > "$f" 2> "$f.err"
		rc=$?
		t1=$(date +%s.%N)
		sleep 0.3
		g=$(gap)
		res=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["target"]["pause_ms"], d["go"]["leaked_count"])' "$f" 2>/dev/null || echo "NA NA")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b ($m)" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" \
			"$g" "${res% *}" "$rc" "${res#* }" "$(tail -1 "$f.time")" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$TSV" >&2
	done
	done
done
echo
echo "| tool | runs | heartbeat gap ms: median (min-max) | tlinspect pause_ms: median (min-max) | wall s median | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
tools = []
for r in rows:
    if r["tool"] not in tools:
        tools.append(r["tool"])
def f(xs):
    v = [float(x) for x in xs if x not in ("NA", "")]
    return "%.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v)) if v else "NA"
for t in tools:
    rs = [r for r in rows if r["tool"] == t]
    wall = statistics.median(float(r["wall_s"]) for r in rs)
    rss = statistics.median(float(r["max_rss_kb"]) for r in rs if r["max_rss_kb"].isdigit()) / 1024
    print(f"| {t} | {len(rs)} | {f([r['gap_ms'] for r in rs])} | {f([r['pause_ms'] for r in rs])} | {wall:.2f} | {rss:.0f} |")
PY
echo "raw rows: $TSV"
