#!/usr/bin/env bash
# tests/bench/goheap/run.sh — `heap --pprof` (Go memstats, live objects by type and the retention
# profile) on a large Go heap: wall time, the target's observed pause and tlinspect's peak RSS,
# side by side with Delve attaching to the same process (`dlv attach`, `goroutines`, exit: what
# an engineer pays before any heap tool built on Delve, such as goref, starts its own walk).
# A script, not a test: nothing is asserted, never run in CI (issue 11's bench).
#
# Target: tests/targets/go/bigheap -heap MiB -listmb MiB (that many MiB of 64-byte nodes: 16384
# objects per MiB) with its 1 ms heartbeat; pause method as in tests/bench/README.md.
# Environment: BENCH_HEAP (default 1024), BENCH_LISTMB (default 600: ~10M objects in all),
# BENCH_G (default 1000), BENCH_RUNS (default 5), BENCH_GO (default newest), BENCH_TOOLS
# (default "tlinspect tlinspect-fork dlv"; tlinspect-fork: the same with --snapshot=fork).
# Output: tests/out/bench-goheap/bench-<date>.tsv and a table on stdout.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
export TLI_OUT=$ROOT/tests/out/bench-goheap
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT
trap 'exit 130' INT TERM
HEAP=${BENCH_HEAP:-1024}
LISTMB=${BENCH_LISTMB:-600}
NG=${BENCH_G:-1000}
RUNS=${BENCH_RUNS:-5}
GOV=${BENCH_GO:-$(tli_go_versions | awk '{print $NF}')}
TOOLS=${BENCH_TOOLS:-tlinspect tlinspect-fork dlv}
mkdir -p "$TLI_OUT"
GAP=$TLI_OUT/gap
rm -f "$GAP"
bin=$(tli_build tests/targets/go/bigheap "$GOV") || exit 1
tli_start "$TLI_OUT/target.out" "$bin" -heap "$HEAP" -listmb "$LISTMB" -g "$NG" -gapfile "$GAP"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 600) || exit 1
echo "target $pid: go$GOV, $HEAP MiB live heap ($LISTMB MiB of 64-byte nodes), $NG goroutines, RSS $(awk '/VmRSS/{print $2, $3}' /proc/"$pid"/status)" >&2
gap() { tli_heartbeat_gap "$pid" "$GAP" 500 NA; }

TSV=$TLI_OUT/bench-$(date +%Y%m%d-%H%M%S).tsv
printf 'tool\trun\twall_s\tgap_ms\tpause_ms\trc\tlive_objects\ttyped_share\tmax_rss_kb\tload1\n' > "$TSV"
sleep 1
gap > /dev/null
for r in $(seq "$RUNS"); do
	for t in $TOOLS; do
		f=$TLI_OUT/out.$t
		gap > /dev/null
		t0=$(date +%s.%N)
		case $t in
		tlinspect | tlinspect-fork)
			rm -f "$TLI_OUT/heap.pb.gz"
			/usr/bin/time -f "%M" -o "$f.time" "$TLI" --pid "$pid" --snapshot="$([ $t = tlinspect ] && echo copy || echo fork)" \
				--json heap --pprof "$TLI_OUT/heap.pb.gz" > "$f" 2> "$f.err" ;;
		dlv)
			command -v dlv > /dev/null || { echo "skip dlv: not installed" >&2; continue; }
			printf 'goroutines\nexit\n' > "$TLI_OUT/dlv-init"
			echo n | /usr/bin/time -f "%M" -o "$f.time" timeout 900 dlv attach "$pid" --init "$TLI_OUT/dlv-init" --allow-non-terminal-interactive=true > "$f" 2> "$f.err" ;;
		esac
		rc=$?
		t1=$(date +%s.%N)
		sleep 0.3
		g=$(gap)
		res="NA NA NA"
		[ "$t" != dlv ] && res=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); g=d["go"]; print(d["target"]["pause_ms"], g["census"]["live_objects"], g["typed_share"])' "$f" 2>/dev/null || echo "NA NA NA")
		read -r pms lobj tsh <<< "$res"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" \
			"$g" "$pms" "$rc" "$lobj" "$tsh" "$(tail -1 "$f.time")" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$TSV" >&2
	done
done
echo
echo "| tool | runs | wall s: median (min-max) | heartbeat gap ms: median (min-max) | pause_ms (tlinspect's own) | live objects | typed share | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def f(xs, fmt="%.0f"):
    v = [float(x) for x in xs if x not in ("NA", "")]
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v), min(v), max(v)) if v else "NA"
for t in dict.fromkeys(r["tool"] for r in rows):
    rs = [r for r in rows if r["tool"] == t]
    rss = [float(r["max_rss_kb"]) / 1024 for r in rs if r["max_rss_kb"].isdigit()]
    print(f"| {t} | {len(rs)} | {f([r['wall_s'] for r in rs], '%.2f')} | {f([r['gap_ms'] for r in rs])} | {f([r['pause_ms'] for r in rs])} "
          f"| {rs[-1]['live_objects']} | {rs[-1]['typed_share']} | {statistics.median(rss) if rss else 0:.0f} |")
PY
echo "raw rows: $TSV"
