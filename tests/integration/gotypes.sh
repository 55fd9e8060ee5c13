#!/usr/bin/env bash
# tests/integration/gotypes.sh - the Go heap census (`heap` on a Go program: live objects by type,
# retention) against tests/targets/go/census, which records the objects it built per type and the
# heap bytes each construction added (runtime.ReadMemStats with the GC off), plus garbage nothing
# reaches. For every installed Go, live and from a gcore core, unstripped and stripped:
# tests/integration/gotypes_check.py. Ends with "gotypes: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite gotypes
trap tli_cleanup EXIT INT TERM
CHECK="python3 $ROOT/tests/integration/gotypes_check.py"

# run_checks NAME RECORD JSON MINOR MODE [UNSTRIPPED_JSON]
run_checks() {
	local name=$1 out
	shift
	if out=$($CHECK "$@" 2>&1); then
		tli_ok "$name ($(grep -c '^ok' <<<"$out") checks)$(grep '^note' <<<"$out" | sed 's/^note/;/')"
	else
		tli_bad "$name"
		grep -v '^ok' <<<"$out" | sed 's/^/     /'
	fi
}

# pprof_check TAG PID RECORD GO: `heap --pprof FILE` (with --retention, same capture) read back by
# `go tool pprof -raw`: exactly the JSON's retention samples, and the bytes under each global
# root the target built equal the runtime's HeapAlloc delta for that construction
pprof_check() {
	local tag=$1 pid=$2 rec=$3 go=$4 pb=$TLI_OUT/$1.pb.gz out
	rm -f "$pb"
	if ! "$TLI" --pid "$pid" --json heap --retention --pprof "$pb" > "$TLI_OUT/$tag-pprof.json" 2> "$TLI_OUT/$tag-pprof.err"; then
		tli_bad "$tag heap --pprof: exit $? $(head -c 200 "$TLI_OUT/$tag-pprof.err")"; return
	fi
	python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["go"]["retention"], open(sys.argv[2], "w"))' \
		"$TLI_OUT/$tag-pprof.json" "$TLI_OUT/$tag-ret.json"
	if ! "$go" tool pprof -raw "$pb" > "$TLI_OUT/$tag-raw.txt" 2> "$TLI_OUT/$tag-raw.err"; then
		tli_bad "$tag: go tool pprof -raw cannot read the profile: $(head -c 200 "$TLI_OUT/$tag-raw.err")"; return
	fi
	if out=$(python3 "$ROOT/tests/integration/pprof_check.py" raw "$TLI_OUT/$tag-ret.json" "$TLI_OUT/$tag-raw.txt"); then
		tli_ok "$tag heap --pprof: go tool pprof -raw reads the retention samples back exactly ($out)"
	else
		tli_bad "$tag heap --pprof: $(head -5 <<<"$out")"
	fi
	out=$(python3 - "$ROOT/tests/integration" "$TLI_OUT/$tag-raw.txt" "$rec" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from pprof_check import parse_raw
head, samples, locs = parse_raw(sys.argv[2])
under = {}
for vals, ids, _ in samples:
    root = locs[ids[-1]][0]
    under[root] = under.get(root, 0) + vals[-1]
bad = []
n = 0
for line in open(sys.argv[3]):
    f = line.split()
    if len(f) == 3 and f[0] == "root" and not f[1].startswith("goroutine_"):
        n += 1
        got = under.get("global " + f[1], 0)
        if got != int(f[2]):
            bad.append("root global %s: %d bytes in the profile, the construction added %s" % (f[1], got, f[2]))
print("; ".join(bad) if bad else "ok %d global roots" % n)
PY
)
	case $out in
	ok*) tli_ok "$tag pprof roots: the bytes under each of the ${out#ok } equal the runtime's HeapAlloc delta" ;;
	*) tli_bad "$tag pprof roots: $out" ;;
	esac
}

for ver in $(tli_go_versions); do
	minor=${ver#1.}
	for variant in default stripped; do
		bin=$(tli_build tests/targets/go/census "$ver" "$variant") || { tli_bad "go$ver $variant: build"; continue; }
		tag=go$ver-$variant
		rec=$TLI_OUT/$tag.txt
		tli_start "$TLI_OUT/$tag.out" "$bin" -out "$rec"
		pid=$(tli_wait_ready "$TLI_OUT/$tag.out" 20) || { tli_bad "$tag: not ready"; continue; }
		mode=full
		[ "$variant" = stripped ] && mode=stripped
		full=()
		[ "$variant" = stripped ] && full=("$TLI_OUT/go$ver-default-live.json")
		if "$TLI" --pid "$pid" --json heap --retention --top 0 > "$TLI_OUT/$tag-live.json" 2> "$TLI_OUT/$tag-live.err"; then
			run_checks "$tag live" "$rec" "$TLI_OUT/$tag-live.json" "$minor" "$mode" "${full[@]}"
		else
			tli_bad "$tag live: exit $? $(head -c 200 "$TLI_OUT/$tag-live.err")"
		fi
		if [ "$variant" = default ] && [ "$ver" = "$(tli_go_versions | awk '{print $NF}')" ]; then
			pprof_check "$tag" "$pid" "$rec" "$(tli_go_bin "$ver")"
		fi
		core=$TLI_OUT/$tag.core
		if gcore -o "$core" "$pid" >/dev/null 2>&1 && [ -f "$core.$pid" ]; then
			if "$TLI" --core "$core.$pid" --exe "$bin" --json heap --retention --top 0 > "$TLI_OUT/$tag-core.json" 2> "$TLI_OUT/$tag-core.err"; then
				run_checks "$tag core" "$rec" "$TLI_OUT/$tag-core.json" "$minor" "$mode" "${full[@]}"
			else
				tli_bad "$tag core: exit $? $(head -c 200 "$TLI_OUT/$tag-core.err")"
			fi
			rm -f "$core.$pid"
		else
			tli_bad "$tag: gcore failed"
		fi
		tli_kill "$pid"
	done
done
tli_suite_end
