#!/usr/bin/env bash
# tests/integration/labels.sh - goroutine pprof labels (issue 12) against the labels target
# (tests/targets/go/labels), which records the labels every goroutine set by construction,
# keyed by its id (runtime.Stack), and the runtime's own pprof.Lookup("goroutine").WriteTo(w, 1):
#  - `goroutines --json`: each goroutine's labels as recorded (none for the others), the multiset
#    of label sets as pprof debug=1's "# labels:" groups; live and from a gcore core;
#  - `goroutines --label K=V [--label K=V]`: exactly the recorded goroutines holding them all;
#  - text: one "labels: {...}" line per labelled goroutine.
# Every toolchain (go1.19-1.23: a map[string]string, one with 40 labels that grew; 1.24+: a sorted
# list), unstripped and stripped (-s -w: runtime maps). Ends with "labels: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite labels
trap tli_cleanup EXIT INT TERM
CHECK="python3 $ROOT/tests/integration/labels_check.py"
GOCACHE=$(tli_gocache); export GOCACHE
vers=$(tli_go_versions)
[ -n "$vers" ] || { tli_bad "no Go toolchain"; tli_suite_end; exit 1; }

# check TAG CMD...: ok/FAIL from the checker's one line
check() {
	local tag=$1 out
	shift
	if out=$("$@" 2>&1); then tli_ok "$tag: $out"; else tli_bad "$tag: $out"; fi
}

for v in $vers; do
	for variant in default stripped; do
		tag="go$v $variant"
		bin=$(tli_build tests/targets/go/labels "$v" "$variant") || { tli_bad "$tag: build"; continue; }
		dir=$TLI_OUT/go$v-$variant; mkdir -p "$dir"
		tli_start "$dir/out" "$bin" -out "$dir"
		pid=$(tli_wait_ready "$dir/out" 20) || { tli_bad "$tag: target not ready"; continue; }
		rec=$dir/labels.json
		if "$TLI" -p "$pid" --json goroutines > "$dir/live.json" 2> "$dir/live.err"; then
			check "$tag live" $CHECK json "$rec" "$dir/pprof-debug1.txt" "$dir/live.json"
		else
			tli_bad "$tag live: $(head -1 "$dir/live.err")"
		fi
		"$TLI" -p "$pid" --json goroutines --label worker=b > "$dir/f1.json" 2>&1
		check "$tag --label" $CHECK ids "$rec" "$dir/f1.json" worker=b
		"$TLI" -p "$pid" --json goroutines --label worker=b --label tenant=acme > "$dir/f2.json" 2>&1
		check "$tag --label x2" $CHECK ids "$rec" "$dir/f2.json" worker=b tenant=acme
		"$TLI" -p "$pid" goroutines --stacks > "$dir/live.txt" 2>&1
		check "$tag text" $CHECK text "$rec" "$dir/live.txt"
		if gcore -o "$dir/core" "$pid" > "$dir/gcore.log" 2>&1 && [ -s "$dir/core.$pid" ]; then
			if "$TLI" --core "$dir/core.$pid" --exe "$bin" --json goroutines > "$dir/core.json" 2> "$dir/core.err"; then
				check "$tag gcore" $CHECK json "$rec" "$dir/pprof-debug1.txt" "$dir/core.json"
			else
				tli_bad "$tag gcore: $(head -1 "$dir/core.err")"
			fi
			rm -f "$dir/core.$pid"
		else
			tli_bad "$tag: gcore failed"
		fi
		tli_kill "$pid"
	done
done
tli_suite_end
