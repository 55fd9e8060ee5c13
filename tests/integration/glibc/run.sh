#!/bin/bash
# glibc malloc walker vs glibc's own numbers.
#   tests/integration/glibc/run.sh [VARIANT...]
# Variants: native (2.36), tc0 (tcache_count=0), arena1 (arena_max=1),
#           g241 (trixie libc via its loader), g231 (bullseye libc, binary built
#           against its sysroot), and each with "-core" checks from a gcore core;
#           cxx (C++ leaks grouped by demangled class: live, core, no demangler).
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
	total_runs=$((total_runs+2)) # live and core
	for c in heap bins leaks; do
		/usr/bin/time -f "%e s %M KB" -o "$d/live.$c.time" env $dd $(run_tli_cmd) --pid $pid $c >"$d/live.$c.json" 2>"$d/live.$c.err" || { echo "FAIL $name: $c: $(cat "$d/live.$c.err")"; ok=0; }
	done
	if [ $ok = 1 ]; then
		python3 tests/integration/glibc/check.py "$d" "$d/live" --pid $pid || total_fail=$((total_fail+1))
	else
		total_fail=$((total_fail+1))
	fi
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
		rm -f "$core"
	else
		echo "FAIL $name: gcore failed: $(tail -1 "$d/gcore.log")"
		total_fail=$((total_fail+1))
	fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
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

want=${*:-native tc0 arena1 g241 g231 cxx}
for v in $want; do
	case $v in
	cxx) cxx_variant ;;
	native) variant native "" "" "" "$OUT/heapstate" ;;
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
	*) echo "unknown variant $v"; exit 2 ;;
	esac
done
echo "glibc integration: $((total_runs - total_fail)) passed, $total_fail failed"
[ $total_fail = 0 ]
