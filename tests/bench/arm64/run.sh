#!/usr/bin/env bash
# tests/bench/arm64/run.sh - issue 22 "Speed": reading an arm64 core costs what reading the same
# x86-64 core costs (goal: ratio <= 1.2 on the same machine).
#
# The same program (tests/targets/go/goroutines, -n N extra parked goroutines), built by the same
# toolchain for GOARCH=amd64 and GOARCH=arm64 (CGO_ENABLED=0, same flags), run under qemu-user of
# its own machine (qemu-x86_64-static, qemu-aarch64-static: the two cores are made the same way,
# neither has NT_FILE), SIGQUIT after "ready": Go's handler dumps, aborts, qemu writes the core.
# Then, for each core and each command (goroutines --stacks, leaks, heap; JSON), BENCH_RUNS runs
# of the x86-64 tlinspect, interleaved (x86, arm, x86, arm, ...) so that load drifts hit both;
# the table shows the median wall time, the peak RSS (of the median run) and the ratio arm64/x86-64.
# The answers are compared too (goroutine count and leaked count equal), so a fast wrong answer
# does not pass for a fast one.
# A script, not a test: nothing is asserted; it never runs in CI.
#
# Knobs: BENCH_GO (toolchain, default the newest installed), BENCH_N (default "1000 10000 100000"),
# BENCH_RUNS (default 5), TLINSPECT (default build/tlinspect), BENCH_OUT (default tests/out/bench-arm64).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
RUNS=${BENCH_RUNS:-5}
NS=${BENCH_N:-1000 10000 100000}
OUT=${BENCH_OUT:-$ROOT/tests/out/bench-arm64}
GOV=${BENCH_GO:-$(ls -d /usr/lib/go-1.* 2>/dev/null | sed 's|.*/go-||' | sort -V | tail -1)}
GO=/usr/lib/go-$GOV/bin/go
QX=$(type -P qemu-x86_64-static || type -P qemu-x86_64 || true)
QA=$(type -P qemu-aarch64-static || type -P qemu-aarch64 || true)
[ -x "$TLI" ] || { echo "bench-arm64: $TLI is missing (make)" >&2; exit 1; }
[ -x "$GO" ] || { echo "bench-arm64: no toolchain $GO" >&2; exit 1; }
[ -n "$QX" ] && [ -n "$QA" ] || { echo "bench-arm64: qemu-user is missing (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$OUT"
export GOCACHE=$OUT/gocache

build() { # ARCH: prints the binary
	local out=$OUT/goroutines-$1
	(cd "$ROOT/tests/targets/go/goroutines" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
		GOARCH=$1 CGO_ENABLED=0 "$GO" build -o "$out" .) >&2 || return 1
	printf '%s\n' "$out"
}

core_of() { # QEMU BIN N DIR: prints the core qemu wrote
	local q=$1 bin=$2 n=$3 dir=$4 qpid i
	rm -rf "$dir"; mkdir -p "$dir"
	(cd "$dir" && ulimit -c unlimited && exec env --default-signal=QUIT "$q" "$bin" -out "$dir" -n "$n" -crash \
		>"$dir/target.out" 2>"$dir/crash.txt") &
	qpid=$!
	for ((i = 0; i < 6000; i++)); do
		grep -q '^ready' "$dir/target.out" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.3
	kill -QUIT "$qpid" 2>/dev/null
	for ((i = 0; i < 6000; i++)); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
	rm -f "$dir/core"
	ls -t "$dir"/qemu_*.core 2>/dev/null | head -1
}

# one COREFILE BIN CMD...: "wall_s rss_kb" of one run (wall from the shell's clock in µs: time(1)
# has 10 ms steps), its JSON in $OUT/last.json
one() {
	local core=$1 bin=$2 t0 t1; shift 2
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M' -o "$OUT/time.txt" "$TLI" --core "$core" --exe "$bin" --json "$@" >"$OUT/last.json" 2>"$OUT/last.err"
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v m="$(cat "$OUT/time.txt")" 'BEGIN { printf "%.3f %s\n", b - a, m }'
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

summary() { # CMD JSON: what must be equal between the two cores
	python3 - "$@" <<'PY'
import json, sys
cmd, d = sys.argv[1], json.load(open(sys.argv[2]))
go = d.get("go") or {}
if cmd == "goroutines":
    print("goroutines", go.get("goroutine_count", len(go.get("goroutines") or [])))
elif cmd == "leaks":
    print("leaked", go.get("leaked_count"))
else:  # two machines' runtimes allocate a little differently: shown, not compared
    print("n/a, heap_objects", (go.get("memstats") or {}).get("heap_objects"))
PY
}

ax=$(build amd64) && aa=$(build arm64) || { echo "bench-arm64: build failed" >&2; exit 1; }
printf 'go%s, %d runs per cell (medians), tlinspect %s\n\n' "$GOV" "$RUNS" "$("$TLI" --version 2>/dev/null | head -1)"
printf '| N | command | x86-64 core: wall / RSS | arm64 core: wall / RSS | ratio (wall) | same answer |\n'
printf '|---|---|---|---|---|---|\n'
for n in $NS; do
	cx=$(core_of "$QX" "$ax" "$n" "$OUT/x86-$n") cz=$(core_of "$QA" "$aa" "$n" "$OUT/arm-$n")
	if [ -z "$cx" ] || [ -z "$cz" ]; then echo "| $n | (no core: x86 '$cx' arm '$cz') |||||"; continue; fi
	for cmd in "goroutines --stacks" leaks heap; do
		: >"$OUT/x.txt"; : >"$OUT/a.txt"
		for ((r = 0; r < RUNS; r++)); do
			# shellcheck disable=SC2086
			one "$cx" "$ax" $cmd >>"$OUT/x.txt"; sx=$(summary ${cmd%% *} "$OUT/last.json")
			# shellcheck disable=SC2086
			one "$cz" "$aa" $cmd >>"$OUT/a.txt"; sa=$(summary ${cmd%% *} "$OUT/last.json")
		done
		wx=$(awk '{print $1}' "$OUT/x.txt" | median) wa=$(awk '{print $1}' "$OUT/a.txt" | median)
		rx=$(awk -v w="$wx" '$1 == w {print $2; exit}' "$OUT/x.txt") ra=$(awk -v w="$wa" '$1 == w {print $2; exit}' "$OUT/a.txt")
		ratio=$(awk -v a="$wa" -v x="$wx" 'BEGIN { if (x > 0) printf "%.2f", a / x; else print "-" }')
		same=no; [ "$sx" = "$sa" ] && same="yes ($sx)"
		[ "$same" = no ] && same="NO: x86 $sx, arm64 $sa"
		case $sx in n/a*) same="n/a (x86 ${sx#n/a, }, arm64 ${sa#n/a, })" ;; esac
		printf '| %s | %s | %s s / %s MB | %s s / %s MB | %s | %s |\n' "$n" "$cmd" "$wx" "$((rx / 1024))" "$wa" "$((ra / 1024))" \
			"$ratio" "$same"
	done
done
