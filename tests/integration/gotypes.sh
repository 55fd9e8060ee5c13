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
	if out=$($CHECK "$@"); then
		tli_ok "$name ($(grep -c '^ok' <<<"$out") checks)$(grep '^note' <<<"$out" | sed 's/^note/;/')"
	else
		tli_bad "$name"
		grep -v '^ok' <<<"$out" | sed 's/^/     /'
	fi
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
