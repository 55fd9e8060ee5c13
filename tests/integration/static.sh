#!/usr/bin/env bash
# tests/integration/static.sh - build/tlinspect-static (make static: one statically linked file,
# runtime maps inside) against the dynamic build on a representative subset, same stopped
# processes and cores, and against the targets' own oracles:
#  Go (the newest toolchain, the goroutines target with 1000 parked goroutines), unstripped
#  (DWARF) and stripped (-s -w: the maps inside the static file vs runtime-maps/ next to the
#  dynamic one): live, both builds' goroutine listings equal runtime.Stack's dump
#  (compare.py); a gcore core of each (one frozen state): goroutines --stacks (JSON and text),
#  chans, heap, leaks, timers equal between the builds (but for what a clock decides);
#  C (heapstate, glibc): heap, bins, leaks with libc6-dbg and without debug info (the glibc
#  runtime map inside the static file): equal between the builds, glibc's own mallinfo2 /
#  malloc_info (glibc/check.py).
# The full Go and glibc suites run with TLINSPECT=build/tlinspect-static too (STATIC_FULL=1).
# Ends with "static: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite static
O=$TLI_OUT
trap 'tli_cleanup' EXIT INT TERM
DYN=$ROOT/build/tlinspect
STATIC=$ROOT/build/tlinspect-static
unset DEBUGINFOD_URLS
if ! make -s -C "$ROOT" static >"$O/make-static.log" 2>&1; then
	tli_bad "make static: $(tail -3 "$O/make-static.log")"; tli_suite_end; exit 1
fi
if file -b "$STATIC" | grep -q "statically linked"; then
	echo "     $STATIC: $(stat -c %s "$STATIC") bytes, $(file -b "$STATIC" | cut -d, -f1,4,5)"
else
	tli_bad "$STATIC is not statically linked: $(file -b "$STATIC")"
fi

# same PREFIX:KIND...: PREFIX.dyn.KIND and PREFIX.st.KIND equal (JSON without what a clock
# decides: timings, bytes read, wait times; text byte for byte but for those lines); one
# interpreter for all of them. Prints the first difference of each pair that differs.
same() {
	python3 - "$@" <<'EOF'
import json, re, sys
vol = lambda k: k in ("pause_ms", "bytes_read", "seconds") or k.endswith("_seconds") or k.endswith("_ms")
def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if not vol(k)}
    return [clean(v) for v in x] if isinstance(x, list) else x
def diff(x, y, path=""):
    if type(x) != type(y) or not isinstance(x, (dict, list)):
        return None if x == y else f"{path}: {str(x)[:80]} vs {str(y)[:80]}"
    keys = sorted(set(x) | set(y)) if isinstance(x, dict) else range(max(len(x), len(y)))
    for k in keys:
        try:
            d = diff(x[k], y[k], f"{path}.{k}")
        except (KeyError, IndexError):
            return f"{path}.{k}: only in one"
        if d:
            return d
bad = 0
for arg in sys.argv[1:]:
    prefix, kind = arg.rsplit(":", 1)
    a, b = f"{prefix}.dyn.{kind}", f"{prefix}.st.{kind}"
    if kind == "json":
        d = diff(*(clean(json.load(open(p))) for p in (a, b)))
    else:
        strip = lambda p: [l for l in open(p).read().splitlines() if not re.search(r"paused|stopped for|\d+(\.\d+)? ?ms\b", l)]
        d = None if strip(a) == strip(b) else "text differs"
    if d:
        bad += 1
        print(f"{prefix.rsplit('/', 1)[-1]}: {d}")
sys.exit(bad > 0)
EOF
}

# both NAME ARGS...: run the dynamic and the static build alike; outputs NAME.{dyn,st}.{json,txt}
both() {
	local name=$1 b ext
	shift
	for b in dyn st; do
		local bin=$DYN
		[ $b = st ] && bin=$STATIC
		ext=json
		[[ " $* " == *" --json "* ]] || ext=txt
		timeout 120 "$bin" "$@" >"$O/$name.$b.$ext" 2>"$O/$name.$b.err" || echo "exit $? from $b: $(head -c 200 "$O/$name.$b.err")" >>"$O/$name.rc"
	done
}

ver=$(tli_go_versions | awk '{print $NF}')
ng=0 nbad=0
for variant in default stripped; do
	bin=$(tli_build tests/targets/go/goroutines "$ver" "$variant") || { tli_bad "go$ver $variant: build"; continue; }
	d=$O/go-$variant
	mkdir -p "$d"
	tli_start "$d/target.out" "$bin" -out "$d" -n 1000
	pid=$(tli_wait_ready "$d/target.out" 60) || { tli_bad "go$ver $variant: not ready"; continue; }
	sleep 0.3
	# live: each build against runtime.Stack's dump (the target has goroutines that wake every
	# 10 ms and spin: two stops never see the very same state, a core does)
	for flags in ""; do
		tag=go-$variant
		rm -f "$O/$tag".*.rc
		both "$tag-live" --json $flags --pid "$pid" goroutines --stacks
		if [ ! -s "$O/$tag-live.rc" ] && python3 "$ROOT/tests/integration/compare.py" --dump "$d/stack.txt" \
			--json "$O/$tag-live.st.json" --facts "$d/facts.json" --label "$tag st" >"$O/$tag.st.compare" 2>&1; then
			tli_ok "go$ver $variant${flags:+ $flags} live: the static file's listing = runtime.Stack ($(tail -1 "$O/$tag.st.compare" | sed 's/^\[[^]]*\] //'))"
		else
			tli_bad "go$ver $variant${flags:+ $flags} live: $(cat "$O/$tag-live.rc" 2>/dev/null) $(tail -2 "$O/$tag.st.compare")"
		fi
	done
	# one frozen state read by both: a gcore core
	if gcore -o "$d/core" "$pid" >"$d/gcore.log" 2>&1 && [ -s "$d/core.$pid" ]; then
		for flags in ""; do
			tag=go-$variant-core
			rm -f "$O/$tag".*.rc
			c="--core $d/core.$pid --exe $bin $flags"
			both "$tag-gor" --json $c goroutines --stacks
			both "$tag-gortxt" $c goroutines --all
			both "$tag-chans" --json $c chans
			both "$tag-heap" --json $c heap
			both "$tag-leaks" --json $c leaks
			both "$tag-timers" --json $c timers
			bad=$(cat "$O/$tag"-*.rc 2>/dev/null | head -3)
			[ -z "$bad" ] && { bad=$(same "$O/$tag-gor:json" "$O/$tag-gortxt:txt" "$O/$tag-chans:json" "$O/$tag-heap:json" \
				"$O/$tag-leaks:json" "$O/$tag-timers:json") && bad=""; }
			if [ -z "$bad" ]; then
				tli_ok "go$ver $variant${flags:+ $flags} gcore core: goroutines (JSON, text), chans, heap, leaks, timers equal between the builds"
			else
				tli_bad "go$ver $variant${flags:+ $flags} core: $bad"
			fi
		done
		rm -f "$d/core.$pid"
	else
		tli_bad "go$ver $variant: gcore failed"
	fi
	tli_kill "$TLI_PID"
done

# C on the host's glibc
gcc -O2 -g -pthread -o "$O/heapstate" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "heapstate: build"; tli_suite_end; exit 1; }
mkdir -p "$O/c-out" "$O/no-debug"
tli_start "$O/c-out/stdout" "$O/heapstate" "$O/c-out"
for ((i = 0; i < 100; i++)); do grep -q ready "$O/c-out/stdout" 2>/dev/null && break; sleep 0.1; done
pid=$TLI_PID
for dd in /usr/lib/debug "$O/no-debug"; do
	tag=c-$([ "$dd" = /usr/lib/debug ] && echo dbg || echo nodbg)
	rm -f "$O/$tag".*.rc
	for c in heap bins leaks; do
		TLINSPECT_DEBUG_DIRS=$dd both "$tag-$c" --json --pid "$pid" $c
		cp "$O/$tag-$c.st.json" "$O/$tag-st.$c.json"
	done
	bad=$(cat "$O/$tag"-*.rc 2>/dev/null | head -3)
	[ -z "$bad" ] && { bad=$(same "$O/$tag-heap:json" "$O/$tag-bins:json" "$O/$tag-leaks:json") && bad=""; }
	if [ -z "$bad" ] && python3 "$ROOT/tests/integration/glibc/check.py" "$O/c-out" "$O/$tag-st" --pid "$pid" >"$O/$tag.check"; then
		tli_ok "C $tag: heap, bins, leaks equal between the builds; static = mallinfo2/malloc_info ($(grep -c '^ok' "$O/$tag.check") checks, debug file: $(python3 -c "import json;print(json.load(open('$O/$tag-st.heap.json'))['glibc']['debug_file'])"))"
	else
		tli_bad "C $tag: ${bad:-$(grep FAIL "$O/$tag.check" | head -3)}"
	fi
done
tli_kill "$pid"

if [ "${STATIC_FULL:-0}" = 1 ]; then
	if TLINSPECT=$STATIC VARIANTS="default stripped" bash "$ROOT/tests/integration/run.sh" >"$O/full-go.log" 2>&1; then
		tli_ok "the Go suite with the static file: $(tail -1 "$O/full-go.log")"
	else
		tli_bad "the Go suite with the static file: $(grep FAIL "$O/full-go.log" | head -3)"
	fi
fi
tli_suite_end
