#!/bin/bash
# glibc malloc walker vs glibc's own numbers.
#   tests/integration/glibc/run.sh [VARIANT...]
# Variants: native (2.36), tc0 (tcache_count=0), arena1 (arena_max=1),
#           g241 (trixie libc via its loader), g231 (bullseye libc, binary built
#           against its sysroot), and each with "-core" checks from a gcore core;
#           cxx (C++ leaks grouped by demangled class: live, core, no demangler),
#           g235/g239 (Ubuntu 22.04/24.04 libcs via their loader, when fetched; g235 is
#           not in the default list: under 2.35 a parked worker thread keeps the address of
#           its second leaked block in r9 (seen with gdb), so conservative reachability from
#           thread registers - the same rule that keeps the "register" block alive - rightly
#           finds it reachable; the arena's own `top`, which also points into that block,
#           is no longer a root (leaks.c excludes malloc_state, heap_info and mp_)),
# Every heapstate variant also runs without libc debug info (empty debug directory;
# --no-dwarf for the core): the JSON must equal the run with debug info and match
# glibc's own numbers again (runtime-maps/glibc + the stripped-libc finder).
# Other glibcs come from tests/out/glibc-dl/{trixie,bullseye}/root (see fetch.sh
# there); variants whose files are missing are skipped with a note.
set -u
cd "$(dirname "$0")/../../.."
ROOT=$PWD
OUT=$ROOT/tests/out/glibc
DL=$ROOT/tests/out/glibc-dl
mkdir -p "$OUT"
unset DEBUGINFOD_URLS

make -s >/dev/null || { echo "make failed"; exit 1; }
DRV=$OUT/glibc_driver
if [ -x build/tlinspect ] && build/tlinspect --print-commands 2>/dev/null | grep -q '^heap'; then
	TLI="build/tlinspect"; MODE=cli
else
	gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Iinspector -o "$DRV" tests/integration/glibc/driver.c \
		build/libtlinspect.a $(pkg-config --libs libdw libelf jansson capstone) -lreadline -lz -lm || exit 1
	TLI="$DRV"; MODE=driver
fi
gcc -O2 -g -pthread -o "$OUT/heapstate" tests/targets/c/heapstate.c || exit 1
g++ -O2 -g -pthread -o "$OUT/cxxleaks" tests/targets/c/cxxleaks.cc || exit 1

T241=$DL/trixie/root
S231=$DL/bullseye/root
if [ -d "$S231/usr/lib/x86_64-linux-gnu" ] && [ -e "$S231/lib/x86_64-linux-gnu/libpthread.so.0" ]; then
	[ -e "$S231/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$S231/lib64"; ln -sf ../lib/x86_64-linux-gnu/ld-2.31.so "$S231/lib64/ld-linux-x86-64.so.2"; }
	gcc --sysroot="$S231" -B"$S231/usr/lib/x86_64-linux-gnu/" -L"$S231/usr/lib/x86_64-linux-gnu" \
		-L"$S231/lib/x86_64-linux-gnu" -O2 -g -pthread -DUSE_MALLINFO -o "$OUT/heapstate231" \
		tests/targets/c/heapstate.c -Wl,--no-as-needed "$S231/lib/x86_64-linux-gnu/libpthread.so.0" \
		2>"$OUT/heapstate231.build.log" || echo "note: could not build for 2.31 (see $OUT/heapstate231.build.log)"
fi

run_tli() { # args...: run the tool in the current mode
	if [ $MODE = cli ]; then "$TLI" --json "$@"; else "$TLI" "$@"; fi
}

total_fail=0
total_runs=0
variant() { # name env loader-cmd debugdir binary
	local name=$1 envs=$2 loader=$3 dbg=$4 bin=$5
	local exe=$bin
	[ -n "$loader" ] && exe=${loader%% *}   # the process's executable is then ld.so
	local d=$OUT/$name
	rm -rf "$d"; mkdir -p "$d"
	# shellcheck disable=SC2086
	env $envs $loader "$bin" "$d" >"$d/stdout" 2>"$d/stderr" &
	local pid=$!
	for _ in $(seq 100); do grep -q ready "$d/stdout" 2>/dev/null && break; sleep 0.1; done
	if ! grep -q ready "$d/stdout"; then
		echo "FAIL $name: target did not get ready: $(cat "$d/stderr")"; kill -9 $pid; total_fail=$((total_fail+1)); return
	fi
	local dd=""
	[ -n "$dbg" ] && dd="TLINSPECT_DEBUG_DIRS=$dbg"
	local ok=1
	total_runs=$((total_runs+4)) # live and core, each with and without debug info
	for c in heap bins leaks; do
		/usr/bin/time -f "%e s %M KB" -o "$d/live.$c.time" env $dd $(run_tli_cmd) --pid $pid $c >"$d/live.$c.json" 2>"$d/live.$c.err" || { echo "FAIL $name: $c: $(cat "$d/live.$c.err")"; ok=0; }
	done
	if [ $ok = 1 ]; then
		python3 tests/integration/glibc/check.py "$d" "$d/live" --pid $pid || total_fail=$((total_fail+1))
	else
		total_fail=$((total_fail+1))
	fi
	# the same without libc debug info (a production host): no debug directory, no
	# debuginfod; the layout comes from runtime-maps/glibc/2.NN.map and main_arena, mp_ and
	# tcache's TLS slot from the stripped-libc finder. Same JSON, same glibc numbers.
	nodebug_check "$name" "$d" "$d/live" "$d/nodbg-live" "" --pid $pid
	# the same from a core (gcore: the process goes on running afterwards)
	if gcore -o "$d/core" $pid >"$d/gcore.log" 2>&1; then
		local core; core=$(ls "$d"/core.* | head -1)
		ok=1
		for c in heap bins leaks; do
			env $dd $(run_tli_cmd) --core "$core" --exe "$exe" $c >"$d/core.$c.json" 2>"$d/core.$c.err" || { echo "FAIL $name core: $c: $(cat "$d/core.$c.err")"; ok=0; }
		done
		if [ $ok = 1 ]; then
			python3 tests/integration/glibc/check.py "$d" "$d/core" || total_fail=$((total_fail+1))
		else
			total_fail=$((total_fail+1))
		fi
		# without debug info, here also with --no-dwarf
		nodebug_check "$name core" "$d" "$d/core" "$d/nodbg-core" "$NODWARF" --core "$core" --exe "$exe"
		rm -f "$core"
	else
		echo "FAIL $name: gcore failed: $(tail -1 "$d/gcore.log")"
		total_fail=$((total_fail+1))
	fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
}
# nodebug_check NAME DIR WITH_PREFIX NODBG_PREFIX EXTRA_OPTS TARGET_ARGS...: heap/bins/leaks
# without any libc debug info must equal the run with it (check.py --same) and still match
# glibc's own mallinfo2/malloc_info (check.py).
nodebug_check() {
	local name=$1 d=$2 with=$3 nod=$4 extra=$5; shift 5
	local ok=1 c
	for c in heap bins leaks; do
		# shellcheck disable=SC2086
		env TLINSPECT_DEBUG_DIRS="$NODEBUG" $(run_tli_cmd) $extra "$@" $c >"$nod.$c.json" 2>"$nod.$c.err" ||
			{ echo "FAIL $name (no debug info): $c: $(cat "$nod.$c.err")"; ok=0; }
	done
	local pidarg=""
	[ "$1" = --pid ] && pidarg="--pid $2"
	# shellcheck disable=SC2086
	if [ $ok = 1 ] && python3 tests/integration/glibc/check.py "$d" "$nod" $pidarg >"$nod.check" &&
	   grep -q '"debug_file": null' "$nod.heap.json" &&
	   python3 tests/integration/glibc/check.py --same "$with" "$nod" >"$nod.same"; then
		echo "ok   $name: without libc debug info: same JSON as with it, glibc's numbers matched ($(grep -c '^ok' "$nod.check") checks)"
	else
		[ $ok = 1 ] && { grep -h "^FAIL" "$nod.check" "$nod.same" 2>/dev/null | head -5;
			grep -q '"debug_file": null' "$nod.heap.json" || echo "FAIL $name: the no-debug run still used a debug file"; }
		echo "FAIL $name: without libc debug info"
		total_fail=$((total_fail+1))
	fi
}
# an unknown glibc version without debug info is refused: exit 11, the version, how to make a map
refusal_check() {
	local pid=$1 out=$OUT/refusal
	total_runs=$((total_runs+1))
	mkdir -p "$OUT/no-maps"
	env TLINSPECT_DEBUG_DIRS="$NODEBUG" TLINSPECT_RUNTIME_MAPS="$OUT/no-maps" build/tlinspect --pid "$pid" heap >"$out.out" 2>"$out.err"
	local rc=$? ver
	ver=$(python3 -c 'import ctypes; f=ctypes.CDLL("libc.so.6").gnu_get_libc_version; f.restype=ctypes.c_char_p; print(f().decode())')
	if [ $rc = 11 ] && grep -q "glibc $ver " "$out.err" && grep -q "no runtime map" "$out.err" && grep -q "maps gen" "$out.err"; then
		echo "ok   unknown glibc version refused (exit 11): $(cut -c1-160 "$out.err")"
	else
		echo "FAIL unknown glibc version: exit $rc (want 11), message: $(cat "$out.err")"
		total_fail=$((total_fail+1))
	fi
}
# C++: leaked objects grouped under their demangled class (live, core, and
# live without a C++ demangler, where only template names may differ)
cxx_variant() {
	local d=$OUT/cxx
	rm -rf "$d"; mkdir -p "$d"
	"$OUT/cxxleaks" "$d" >"$d/stdout" 2>"$d/stderr" &
	local pid=$!
	for _ in $(seq 100); do grep -q ready "$d/stdout" 2>/dev/null && break; sleep 0.1; done
	if ! grep -q ready "$d/stdout"; then
		echo "FAIL cxx: target did not get ready: $(cat "$d/stderr")"; kill -9 $pid; total_fail=$((total_fail+1)); return
	fi
	total_runs=$((total_runs+3))
	if $(run_tli_cmd) --pid $pid leaks >"$d/live.leaks.json" 2>"$d/live.err"; then
		python3 tests/integration/glibc/check_cxx.py "$d" "$d/live.leaks.json" || total_fail=$((total_fail+1))
	else echo "FAIL cxx: leaks: $(cat "$d/live.err")"; total_fail=$((total_fail+1)); fi
	if TLINSPECT_NO_CXA_DEMANGLE=1 $(run_tli_cmd) --pid $pid leaks >"$d/nodem.leaks.json" 2>"$d/nodem.err"; then
		python3 tests/integration/glibc/check_cxx.py "$d" "$d/nodem.leaks.json" --fallback || total_fail=$((total_fail+1))
	else echo "FAIL cxx: leaks (no demangler): $(cat "$d/nodem.err")"; total_fail=$((total_fail+1)); fi
	if gcore -o "$d/core" $pid >"$d/gcore.log" 2>&1; then
		local core; core=$(ls "$d"/core.* | head -1)
		if $(run_tli_cmd) --core "$core" --exe "$OUT/cxxleaks" leaks >"$d/core.leaks.json" 2>"$d/core.err"; then
			python3 tests/integration/glibc/check_cxx.py "$d" "$d/core.leaks.json" || total_fail=$((total_fail+1))
		else echo "FAIL cxx core: leaks: $(cat "$d/core.err")"; total_fail=$((total_fail+1)); fi
		rm -f "$core"
	else echo "FAIL cxx: gcore failed: $(tail -1 "$d/gcore.log")"; total_fail=$((total_fail+1)); fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
}
run_tli_cmd() { if [ $MODE = cli ]; then echo "$TLI --json"; else echo "$TLI"; fi; }
NODEBUG=$OUT/no-debug-dir      # an empty debug directory: no libc6-dbg anywhere
mkdir -p "$NODEBUG"
NODWARF=""; [ $MODE = cli ] && NODWARF="--no-dwarf"

want=${*:-native tc0 arena1 g241 g231 g239 cxx refuse}
for v in $want; do
	case $v in
	cxx) cxx_variant ;;
	native) variant native "" "" "" "$OUT/heapstate" ;;
	refuse)
		rm -rf "$OUT/refusal-target"; mkdir -p "$OUT/refusal-target"
		"$OUT/heapstate" "$OUT/refusal-target" >"$OUT/refusal-target/stdout" 2>&1 & rpid=$!
		for _ in $(seq 100); do grep -q ready "$OUT/refusal-target/stdout" 2>/dev/null && break; sleep 0.1; done
		refusal_check $rpid; kill -9 $rpid 2>/dev/null; wait $rpid 2>/dev/null ;;
	tc0) variant tc0 "GLIBC_TUNABLES=glibc.malloc.tcache_count=0" "" "" "$OUT/heapstate" ;;
	arena1) variant arena1 "GLIBC_TUNABLES=glibc.malloc.arena_max=1" "" "" "$OUT/heapstate" ;;
	g241)
		if [ -x "$T241/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]; then
			variant g241 "" "$T241/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $T241/usr/lib/x86_64-linux-gnu" "$T241/usr/lib/debug" "$OUT/heapstate"
			variant g241-tc0 "GLIBC_TUNABLES=glibc.malloc.tcache_count=0" "$T241/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $T241/usr/lib/x86_64-linux-gnu" "$T241/usr/lib/debug" "$OUT/heapstate"
		else echo "FAIL g241: no $T241 (run tests/integration/glibc/fetch-glibcs.sh)"
			total_runs=$((total_runs+1)); total_fail=$((total_fail+1)); fi ;;
	g231)
		if [ -x "$OUT/heapstate231" ]; then
			variant g231 "" "$S231/lib/x86_64-linux-gnu/ld-2.31.so --library-path $S231/lib/x86_64-linux-gnu" "$S231/usr/lib/debug" "$OUT/heapstate231"
			variant g231-tc0 "GLIBC_TUNABLES=glibc.malloc.tcache_count=0" "$S231/lib/x86_64-linux-gnu/ld-2.31.so --library-path $S231/lib/x86_64-linux-gnu" "$S231/usr/lib/debug" "$OUT/heapstate231"
		else echo "FAIL g231: no bullseye sysroot build (run tests/integration/glibc/fetch-glibcs.sh)"
			total_runs=$((total_runs+1)); total_fail=$((total_fail+1)); fi ;;
	g235|g239) # Ubuntu 22.04 / 24.04 libcs (optional downloads of fetch-glibcs.sh)
		U=$DL/jammy/root; ul=$U/lib/x86_64-linux-gnu
		[ $v = g239 ] && { U=$DL/noble/root; ul=$U/usr/lib/x86_64-linux-gnu; }
		if [ -x "$ul/ld-linux-x86-64.so.2" ] && [ -d "$U/usr/lib/debug" ]; then
			variant $v "" "$ul/ld-linux-x86-64.so.2 --library-path $ul" "$U/usr/lib/debug" "$OUT/heapstate"
		else echo "note: $v skipped: no $U (Ubuntu mirror unreachable when fetch-glibcs.sh ran)"; fi ;;
	*) echo "unknown variant $v"; exit 2 ;;
	esac
done
echo "glibc integration: $((total_runs - total_fail)) passed, $total_fail failed"
[ $total_fail = 0 ]
