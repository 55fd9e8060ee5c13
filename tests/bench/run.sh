#!/usr/bin/env bash
# tests/bench/run.sh — wall time and observed target pause of goroutine listings.
# Run via `make bench` (never in CI). See tests/bench/README.md.
#
# Environment:
#   BENCH_N     goroutine counts (default "1000 10000 100000")
#   BENCH_RUNS  runs per tool and N (default 3; the table shows medians)
#   BENCH_GO    toolchain for the target, e.g. 1.24 (default 1.19 if installed, else the newest)
#   BENCH_TOOLS subset of "idle tlinspect tlinspect-json dlv gdb" (default all available)
#   TLINSPECT   tlinspect binary (default build/tlinspect)
# Output: tests/out/bench/bench-<date>.tsv (one row per run) and a markdown table on stdout.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../integration/lib.sh"

TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
BENCH_N=${BENCH_N:-1000 10000 100000}
RUNS=${BENCH_RUNS:-3}
OUT=$TLI_OUT/bench
mkdir -p "$OUT"
trap 'tli_cleanup' EXIT
trap 'exit 130' INT TERM

if [ -z "${BENCH_GO:-}" ]; then
	if [ -x /usr/lib/go-1.19/bin/go ]; then BENCH_GO=1.19; else
		BENCH_GO=$(GO_VERSIONS='' tli_go_versions | awk '{print $NF}'); fi
fi
GDB_PY=/usr/lib/go-$BENCH_GO/src/runtime/runtime-gdb.py

TOOLS=${BENCH_TOOLS:-idle tlinspect tlinspect-json dlv gdb}
avail=()
for t in $TOOLS; do
	case $t in
	tlinspect | tlinspect-json) [ -x "$TLI" ] || { echo "skip $t: no $TLI" >&2; continue; } ;;
	dlv) command -v dlv >/dev/null || { echo "skip dlv: not installed (apt-get install delve)" >&2; continue; } ;;
	gdb) { command -v gdb >/dev/null && [ -r "$GDB_PY" ]; } || { echo "skip gdb: no gdb or $GDB_PY" >&2; continue; } ;;
	idle) ;;
	*) echo "unknown tool $t" >&2; exit 2 ;;
	esac
	avail+=("$t")
done

BIN=$(tli_build "$HERE/gotarget" "$BENCH_GO") || exit 1
TSV=$OUT/bench-$(date +%Y%m%d-%H%M%S).tsv
printf 'tool\tn\trun\twall_s\tpause_ms\trc\tfound\tgo\tload1\n' >"$TSV"

# report: ask the heartbeat for its max gap; prints the gap in ms once the
# report with a new sequence number has been written.
GAPFILE=
report() { tli_heartbeat_gap "$TPID" "$GAPFILE" 400 NaN; }

# run_tool TOOL N: runs it once, prints "wall_s rc found"
run_tool() {
	local tool=$1 n=$2 t0 t1 rc found=
	local log=$OUT/last-$tool.out
	t0=$(date +%s%N)
	case $tool in
	idle) sleep 2; rc=0 ;;
	tlinspect) "$TLI" --pid "$TPID" goroutines >"$log" 2>&1; rc=$? ;;
	tlinspect-json) "$TLI" --pid "$TPID" --json goroutines >"$log" 2>&1; rc=$? ;;
	dlv)
		# --init runs the commands; "exit" then asks whether to kill the
		# process, and the "n" on stdin makes it detach instead.
		printf 'goroutines\nexit\n' >"$OUT/dlv-init"
		echo n | timeout 900 dlv attach "$TPID" --init "$OUT/dlv-init" \
			--allow-non-terminal-interactive=true >"$log" 2>&1
		rc=$?
		;;
	gdb)
		timeout 900 gdb -nx -p "$TPID" -batch -ex "source $GDB_PY" -ex 'info goroutines' >"$log" 2>&1
		rc=$?
		;;
	esac
	t1=$(date +%s%N)
	case $tool in
	tlinspect-json) found=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["go"]["goroutine_count"])' "$log" 2>/dev/null) ;;
	tlinspect) found=$(grep -m1 -oE '[0-9]+ goroutines' "$log" | cut -d' ' -f1) ;;
	dlv) found=$(grep -oE '^\[[0-9]+ goroutines\]' "$log" | tr -dc 0-9) ;;
	gdb) found=$(grep -cE '^[* ] +[0-9]+ +(waiting|runnable|running|syscall)' "$log") ;;
	esac
	awk -v a="$t0" -v b="$t1" -v rc="$rc" -v f="${found:--}" 'BEGIN{printf "%.3f %s %s\n", (b-a)/1e9, rc, f}'
}

for n in $BENCH_N; do
	GAPFILE=$OUT/gap-$n.txt
	rm -f "$GAPFILE"
	tli_start "$OUT/target-$n.out" "$BIN" -n "$n" -gapfile "$GAPFILE"
	TPID=$TLI_PID
	if ! tli_wait_ready "$OUT/target-$n.out" 300 >/dev/null; then
		echo "target with $n goroutines did not start" >&2
		tli_kill "$TPID"
		continue
	fi
	expected=$(awk '/^goroutines/{print $2}' "$OUT/target-$n.out")
	echo "== N=$n (runtime.NumGoroutine=$expected, go$BENCH_GO, pid $TPID)" >&2
	for tool in "${avail[@]}"; do
		for ((r = 1; r <= RUNS; r++)); do
			report >/dev/null # reset the max gap
			read -r wall rc found < <(run_tool "$tool" "$n")
			sleep 0.3
			pause=$(report)
			if grep -q 'TracerPid:[[:space:]]*[1-9]' "/proc/$TPID/status" 2>/dev/null ||
				! kill -0 "$TPID" 2>/dev/null; then
				echo "warning: after $tool the target is still traced or gone" >&2
			fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tgo%s\t%s\n' "$tool" "$n" "$r" "$wall" "$pause" "$rc" "$found" \
				"$BENCH_GO" "$(cut -d' ' -f1 /proc/loadavg)" >>"$TSV"
			printf '   %-15s run %d: wall %s s, pause %s ms, rc %s, found %s\n' "$tool" "$r" "$wall" "$pause" "$rc" "$found" >&2
		done
	done
	tli_kill "$TPID"
done

echo "rows: $TSV" >&2
python3 - "$TSV" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
groups = {}
for r in rows:
    groups.setdefault((r['tool'], int(r['n'])), []).append(r)
print('| tool | N | wall s (median) | wall min | target pause ms (median) | found | exit codes |')
print('| --- | ---: | ---: | ---: | ---: | ---: | --- |')
order = ['idle', 'tlinspect', 'tlinspect-json', 'dlv', 'gdb']
rank = lambda t: order.index(t) if t in order else len(order)
for (tool, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], rank(kv[0][0]), kv[0][0])):
    walls = [float(r['wall_s']) for r in rs]
    pauses = [float(r['pause_ms']) for r in rs if r['pause_ms'] not in ('NaN', '')]
    found = sorted(set(r['found'] for r in rs))
    print('| %s | %d | %.3f | %.3f | %s | %s | %s |' % (
        tool, n, statistics.median(walls), min(walls),
        '%.1f' % statistics.median(pauses) if pauses else '-',
        '/'.join(found), ','.join(sorted(set(r['rc'] for r in rs)))))
EOF
