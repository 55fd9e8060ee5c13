#!/usr/bin/env bash
# tests/golden/compare.sh - behaviour must not change across a refactor: run two tlinspect
# binaries on the very same targets and compare every command's text and JSON byte for byte.
#
#   tests/golden/compare.sh OLD_TLINSPECT NEW_TLINSPECT [WORKDIR]
#
# Targets (built here, frozen with SIGSTOP so both binaries see the same state):
#   demo        tests/targets/go/demo, newest Go, live          (Go commands)
#   demo-s      the same built with -ldflags=-s -w, live        (stripped)
#   demo-core   gcore of demo                                   (Go core)
#   heap        tests/targets/c/heapstate, live                 (glibc commands)
#   heap-core   gcore of heapstate                              (glibc core)
# plus the target-less commands (help, version, maps of the demo binary).
# Fields that measure the run itself (pause, timings, bytes read) are masked; nothing else is.
# Prints one line per difference and ends with "golden: N passed, N failed".
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
OLD=$(readlink -f "$1"); NEW=$(readlink -f "$2")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${3:-$ROOT/tests/out/golden}
export TLI_OUT=$WORK
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT INT TERM
rm -rf "$WORK"; mkdir -p "$WORK"
cd "$ROOT" || exit 2

ver=$(tli_go_versions | awk '{print $NF}')
[ -n "$ver" ] || { echo "golden: no Go toolchain (run scripts/setup.sh)"; exit 2; }
demo=$(tli_build tests/targets/go/demo "$ver") || exit 2
demos=$(tli_build tests/targets/go/demo "$ver" stripped) || exit 2
gcc -O2 -g -pthread -o "$WORK/heapstate" tests/targets/c/heapstate.c || exit 2
mkdir -p "$WORK/hs"

start_frozen() {  # OUTFILE CMD... -> pid (stopped)
	local out=$1; shift
	tli_start "$out" "$@"
	local pid; pid=$(tli_wait_ready "$out" 20) || { echo "golden: $* did not start" >&2; return 1; }
	sleep 0.3                  # let the demo's goroutines reach their parking places
	kill -STOP "$pid"
	echo "$pid"
}
p_demo=$(start_frozen "$WORK/demo.out" "$demo") || exit 2
p_demos=$(start_frozen "$WORK/demos.out" "$demos") || exit 2
p_heap=$(start_frozen "$WORK/heap.out" "$WORK/heapstate" "$WORK/hs") || exit 2
gcore -o "$WORK/demo-core" "$p_demo" >/dev/null 2>&1; c_demo=$(ls "$WORK"/demo-core.* | head -1)
gcore -o "$WORK/heap-core" "$p_heap" >/dev/null 2>&1; c_heap=$(ls "$WORK"/heap-core.* | head -1)
[ -f "$c_demo" ] && [ -f "$c_heap" ] || { echo "golden: gcore failed"; exit 2; }

# Mask what measures the run, not the target.
mask() {
	sed -E -e 's/("(pause_ms|bytes_read|[a-z_]*_seconds)": )[0-9.e+-]+/\1X/g' \
	       -e 's/(target paused )[0-9.]+ (ms|s)/\1X/g' -e 's/(paused )[0-9.]+ ?(ms|s)/\1X/g' \
	       -e 's/[0-9.]+ ms pause/X ms pause/g'
}

pass=0 fail=0
# run NAME ARGS...: both binaries, stdout+exit code (stderr too, masked)
run() {
	local name=$1; shift
	local o n
	o=$("$OLD" "$@" 2>&1; echo "exit $?"); o=$(printf '%s\n' "$o" | mask)
	n=$("$NEW" "$@" 2>&1; echo "exit $?"); n=$(printf '%s\n' "$n" | mask)
	printf '%s\n' "$o" > "$WORK/$name.old"; printf '%s\n' "$n" > "$WORK/$name.new"
	if [ "$o" = "$n" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "DIFF $name: tlinspect $*  (diff $WORK/$name.old $WORK/$name.new)"
		diff "$WORK/$name.old" "$WORK/$name.new" | head -n 8 | sed 's/^/    /'
	fi
}
both() {  # NAME ARGS...: text and --json
	local name=$1; shift
	run "$name" "$@"; run "$name.json" --json "$@"
}

# target-less
run help --help; run help-all help; run version --version
for c in goroutines goroutine heap arenas bins chunk chans chan graph leaks explain shell maps version help; do
	run "help-$c" help "$c"
done
run help-json help --json
run maps-demo maps "$demo"
run nocmd-bad nosuchcommand

go_cmds() {  # TAG TARGET-ARGS...
	local tag=$1; shift
	both "$tag-default" "$@"
	both "$tag-goroutines" "$@" goroutines
	both "$tag-goroutines-all" "$@" goroutines --system
	both "$tag-goroutine1" "$@" goroutine 1
	both "$tag-chans" "$@" chans
	both "$tag-graph" "$@" graph
	run "$tag-graph-dot" "$@" graph --dot
	both "$tag-leaks" "$@" leaks
	both "$tag-explain-g1" "$@" explain g 1
	both "$tag-version" "$@" version
	both "$tag-heap" "$@" heap
	local ch
	ch=$("$OLD" "$@" --json chans 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); c=(d.get("go") or {}).get("channels") or []
print(c[0]["address"] if c else "")' 2>/dev/null)
	if [ -n "$ch" ]; then
		both "$tag-chan" "$@" chan "$ch"
		both "$tag-explain-chan" "$@" explain chan "$ch"
	else
		echo "golden: $tag: no channel to show (chans --json gave none)"; fail=$((fail + 1))
	fi
	local g
	g=$("$OLD" "$@" --json goroutines 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); gs=(d.get("go") or {}).get("goroutines") or []
print(gs[-1]["id"] if gs else "")' 2>/dev/null)
	[ -n "$g" ] && both "$tag-goroutine-last" "$@" goroutine "$g"
}
glibc_cmds() {
	local tag=$1; shift
	both "$tag-default" "$@"
	both "$tag-heap" "$@" heap
	both "$tag-arenas" "$@" arenas
	both "$tag-bins" "$@" bins
	both "$tag-leaks" "$@" leaks
	both "$tag-explain-arena" "$@" explain arena
	both "$tag-goroutines" "$@" goroutines
	local a
	a=$(awk '/^leak /{print $2}' "$WORK/hs/expect.txt" 2>/dev/null | head -1)
	[ -n "$a" ] || a=$("$OLD" "$@" --json leaks 2>/dev/null | python3 -c 'import json,sys
d=json.load(sys.stdin); u=(d.get("glibc") or d).get("unreachable") or []
print(u[0]["addr"] if u else "")' 2>/dev/null)
	if [ -n "$a" ]; then
		both "$tag-chunk" "$@" chunk "$a"
		both "$tag-explain-chunk" "$@" explain chunk "$a"
	fi
}
go_cmds demo --pid "$p_demo"
go_cmds demo-nodwarf --pid "$p_demo" --no-dwarf
go_cmds demo-s --pid "$p_demos"
go_cmds demo-core --core "$c_demo" --exe "$demo"
glibc_cmds heap --pid "$p_heap"
glibc_cmds heap-core --core "$c_heap" --exe "$WORK/heapstate"
run bad-pid --pid 999999999 goroutines
run bad-core --core /etc/passwd goroutines

echo "golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
