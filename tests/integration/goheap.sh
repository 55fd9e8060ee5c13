#!/usr/bin/env bash
# tests/integration/goheap.sh - the Go section of `heap` against runtime.ReadMemStats.
# For each installed Go toolchain (GO_VERSIONS restricts), unstripped and stripped (-s -w):
# tests/targets/go/memstats allocates a mix, runs runtime.GC(), allocates more (every P's
# mcache then holds spans and counts not flushed yet) and waits for SIGUSR1 without
# allocating. tlinspect reads it in that state live and from a gcore core; then SIGUSR1 makes
# the target call runtime.ReadMemStats (which flushes the mcaches first) and write the
# figures to a file, and tlinspect reads the flushed state live once more. All three must
# agree with the oracle:
#   exactly: mallocs, frees, heap_objects, alloc, heap_alloc, total_alloc, num_gc,
#            num_forced_gc, last_gc, pause_total_ns, gogc (150) and memory_limit (1 TiB, both set
#            by the target), and the size classes' objects/bytes_inuse = heap_objects/heap_alloc;
#   within 1%: every other figure (the scavenger and the runtime's own threads may move
#            heap_released, sys, other_sys a little between the looks); gc_sys and other_sys
#            by their sum when they differ (see goheap_compare.py: go1.22's ReadMemStats retags bytes).
# Ends with "goheap: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite goheap
trap tli_cleanup EXIT INT TERM


# check TAG ORACLE JSON
check() {
	local out
	if out=$(python3 "$ROOT/tests/integration/goheap_compare.py" "$2" "$3" ${4:+"$4"} 2>&1); then
		tli_ok "$1${out:+ ($out)}"
	else
		tli_bad "$1: $(echo "$out" | head -5 | tr '\n' ';')"
	fi
}

wait_line() { # FILE WORD SECS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

for ver in $(tli_go_versions); do
	for variant in default stripped; do
		tag="go$ver/$variant"
		dir=$TLI_OUT/go$ver-$variant
		mkdir -p "$dir"
		bin=$(tli_build tests/targets/go/memstats "$ver" "$variant") || { tli_bad "$tag: build"; continue; }
		tli_start "$dir/target.out" "$bin" "$dir/oracle.json"
		pid=$TLI_PID
		if ! tli_wait_ready "$dir/target.out" 30 >/dev/null; then
			tli_bad "$tag: target did not become ready"
			tli_kill "$pid"
			continue
		fi
		# not flushed: live, then a core of the same state
		"$TLI" --pid "$pid" --json heap > "$dir/live.json" 2> "$dir/live.err"
		"$TLI" --pid "$pid" heap > "$dir/live.txt" 2>&1
		gcore -o "$dir/core" "$pid" > "$dir/gcore.log" 2>&1
		core=$dir/core.$pid
		if [ -s "$core" ]; then
			"$TLI" --core "$core" --exe "$bin" --json heap > "$dir/core.json" 2> "$dir/core.err"
		fi
		kill -USR1 "$pid"
		if ! wait_line "$dir/target.out" written 20; then
			tli_bad "$tag: the target wrote no ReadMemStats"
			tli_kill "$pid"
			continue
		fi
		# flushed by ReadMemStats
		"$TLI" --pid "$pid" --json heap > "$dir/flushed.json" 2> "$dir/flushed.err"
		tli_kill "$pid"
		check "$tag live (mcaches not flushed)" "$dir/oracle.json" "$dir/live.json" "$dir/flushed.json"
		if [ -s "$core" ]; then
			check "$tag gcore core" "$dir/oracle.json" "$dir/core.json" "$dir/flushed.json"
			rm -f "$core"
		else
			tli_bad "$tag: gcore failed ($(head -c 200 "$dir/gcore.log"))"
		fi
		check "$tag live after ReadMemStats' flush" "$dir/oracle.json" "$dir/flushed.json"
		if grep -q "^Go heap" "$dir/live.txt" && grep -q "size class" "$dir/live.txt"; then
			tli_ok "$tag text"
		else
			tli_bad "$tag text: $(head -c 300 "$dir/live.txt")"
		fi
	done
done

# cgo (newest toolchain): the Go section agrees as before and the glibc section is there too
ver=$(tli_go_versions | awk '{print $NF}')
dir=$TLI_OUT/cgo
mkdir -p "$dir"
if command -v cc > /dev/null && (cd "$ROOT/tests/targets/go/memstats" && CGO_ENABLED=1 GOTOOLCHAIN=local \
	GOFLAGS=-mod=mod GOPROXY=off GOWORK=off GOCACHE=$(tli_gocache) "$(tli_go_bin "$ver")" build \
	-tags memstats_cgo -o "$dir/memstats-cgo" .) > "$dir/build.log" 2>&1; then
	tli_start "$dir/target.out" "$dir/memstats-cgo" "$dir/oracle.json"
	pid=$TLI_PID
	if tli_wait_ready "$dir/target.out" 30 > /dev/null; then
		"$TLI" --pid "$pid" --json heap > "$dir/live.json" 2> "$dir/live.err"
		kill -USR1 "$pid"
		if wait_line "$dir/target.out" written 20; then
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("glibc"); json.dump(d, open(sys.argv[2], "w"))' \
				"$dir/live.json" "$dir/live-go.json" 2> /dev/null
			# our look after the target's ReadMemStats, to judge a *_sys figure that moved meanwhile
			"$TLI" --pid "$pid" --json heap > "$dir/later.json" 2> /dev/null
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("glibc", None); json.dump(d, open(sys.argv[2], "w"))' \
				"$dir/later.json" "$dir/later-go.json" 2> /dev/null
			check "go$ver/cgo live, Go section" "$dir/oracle.json" "$dir/live-go.json" "$dir/later-go.json"
			if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["glibc"]["mallinfo2"]["uordblks"] > 0 and not d.get("warnings") else 1)' "$dir/live.json" 2> /dev/null; then
				tli_ok "go$ver/cgo: glibc section too, no warning"
			else
				tli_bad "go$ver/cgo: no glibc section ($(head -c 300 "$dir/live.err"))"
			fi
		else
			tli_bad "go$ver/cgo: the target wrote no ReadMemStats"
		fi
	else
		tli_bad "go$ver/cgo: target did not become ready"
	fi
	tli_kill "$pid"
else
	tli_bad "go$ver/cgo: build ($(head -c 300 "$dir/build.log"))"
fi

# a C program: `heap` is the glibc section only, as before the Go section existed
if command -v cc > /dev/null; then
	printf '#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\nint main(void){void *p=malloc(100);printf("ready %%d\\n",getpid());fflush(stdout);pause();free(p);return 0;}\n' > "$TLI_OUT/c.c"
	cc -O0 -o "$TLI_OUT/cprog" "$TLI_OUT/c.c"
	tli_start "$TLI_OUT/c.out" "$TLI_OUT/cprog"
	cpid=$TLI_PID
	if tli_wait_ready "$TLI_OUT/c.out" 10 > /dev/null; then
		"$TLI" --pid "$cpid" --json heap > "$TLI_OUT/c.json" 2> "$TLI_OUT/c.err"
		if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if "glibc" in d and "go" not in d and not d.get("warnings") else 1)' "$TLI_OUT/c.json"; then
			tli_ok "C program: glibc section only, no warning"
		else
			tli_bad "C program: $(head -c 300 "$TLI_OUT/c.err")"
		fi
	else
		tli_bad "C program did not start"
	fi
	tli_kill "$cpid"
fi
tli_suite_end
