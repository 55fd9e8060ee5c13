#!/usr/bin/env bash
# tests/integration/debuginfod.sh - libc's debug info fetched from a real debuginfod server
# (Debian's `debuginfod`, on 127.0.0.1 and a free port) serving a directory this test prepares:
# a COPY of libc6-dbg's file for the host's libc (the system's files are never touched; the
# local lookup is made to miss with TLINSPECT_DEBUG_DIRS=<empty dir>).
#  1. DEBUGINFOD_URLS = the server: heap/bins/leaks of heapstate (C, glibc) equal the target's
#     own mallinfo2()/malloc_info (glibc/check.py), and equal the run with local debug info;
#     JSON glibc.debug_source "debuginfod", glibc.debuginfod_url the server, debug_file in the
#     client's cache; the file there is the one served (same bytes).
#  2. the server down (its port closed): the glibc runtime map, a warning naming debuginfod,
#     same numbers, quick.
#  3. a server that accepts and never answers: TLINSPECT_DEBUGINFOD_TIMEOUT=2 bounds the wait
#     (the whole command well under 10 s), the warning says so, the runtime map answers.
#  4. without DEBUGINFOD_URLS nothing is asked (no warning), as before.
#  5. build/tlinspect-static (it cannot dlopen libdebuginfod) says so; its runtime map answers.
#  6. MiniDebugInfo (.gnu_debugdata) of a stripped library names its local functions (shell dis).
# Ends with "debuginfod: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite debuginfod
O=$TLI_OUT
trap 'tli_cleanup' EXIT INT TERM
command -v debuginfod >/dev/null || { tli_bad "setup: debuginfod missing (scripts/setup.sh installs it)"; tli_suite_end; exit 1; }
LIBC=/usr/lib/x86_64-linux-gnu/libc.so.6
BID=$(readelf -n "$LIBC" | awk '/Build ID/ {print $3}')
DBG=/usr/lib/debug/.build-id/${BID:0:2}/${BID:2}.debug
[ -n "$BID" ] && [ -f "$DBG" ] || { tli_bad "setup: no libc6-dbg file for $LIBC (build-id $BID)"; tli_suite_end; exit 1; }
gcc -O2 -g -pthread -o "$O/heapstate" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "setup: heapstate"; tli_suite_end; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
unset DEBUGINFOD_URLS DEBUGINFOD_PROGRESS DEBUGINFOD_VERBOSE
mkdir -p "$O/no-debug" "$O/served" "$O/out"
cp "$DBG" "$O/served/libc.debug"   # a copy: /usr/lib/debug stays as it is

# the server
PORT=$(free_port)
tli_start "$O/debuginfod.log" debuginfod -p "$PORT" -F -d "$O/debuginfod.sqlite" -t 0 -g 0 -c 1 "$O/served"
SRV=$TLI_PID
URL=http://127.0.0.1:$PORT
for ((i = 0; i < 300; i++)); do
	curl -sf -o /dev/null "$URL/buildid/$BID/debuginfo" && break
	sleep 0.1
done
if curl -sf -o /dev/null "$URL/buildid/$BID/debuginfo"; then
	echo "     debuginfod on $URL serves libc's debug file (build-id $BID) after $((i / 10)).$((i % 10)) s of scanning"
else
	tli_bad "setup: debuginfod on $URL did not serve $BID: $(tail -3 "$O/debuginfod.log")"; tli_suite_end; exit 1
fi

tli_start "$O/target.log" "$O/heapstate" "$O/out"
for ((i = 0; i < 100; i++)); do grep -q ready "$O/target.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$O/target.log" || { tli_bad "setup: heapstate not ready: $(head -c 300 "$O/target.log")"; tli_suite_end; exit 1; }
PID=$TLI_PID

# run PREFIX ENV...: heap, bins, leaks as JSON into PREFIX.*.json (seconds of the slowest in PREFIX.secs)
run() {
	local p=$1 c ok=0 t0 t1 max=0
	shift
	for c in heap bins leaks; do
		t0=$(date +%s%N)
		env "$@" "$TLI" --json --pid "$PID" $c >"$p.$c.json" 2>"$p.$c.err" || { ok=1; echo "FAIL $c exit $?: $(head -c 300 "$p.$c.err")"; }
		t1=$(date +%s%N)
		[ $(((t1 - t0) / 1000000)) -gt $max ] && max=$(((t1 - t0) / 1000000))
	done
	echo "$max" >"$p.ms"
	return $ok
}
oracle() { python3 "$ROOT/tests/integration/glibc/check.py" "$O/out" "$1" --pid "$PID" >"$1.check" 2>&1; }

# 0. local debug info (the reference)
run "$O/local" TLINSPECT_DEBUG_DIRS=/usr/lib/debug && oracle "$O/local" ||
	tli_bad "local debug info: $(grep -h FAIL "$O"/local.* | head -3)"

# 1. through the server
if run "$O/dif" TLINSPECT_DEBUG_DIRS="$O/no-debug" DEBUGINFOD_URLS="$URL" DEBUGINFOD_CACHE_PATH="$O/cache1" &&
	oracle "$O/dif" && python3 "$ROOT/tests/integration/glibc/check.py" --same "$O/local" "$O/dif" >"$O/dif.same"; then
	tli_ok "libc decoded from DWARF fetched through debuginfod: heap/bins/leaks = mallinfo2/malloc_info ($(grep -c '^ok' "$O/dif.check") checks) = the run with local libc6-dbg"
else
	tli_bad "through debuginfod: $(grep -h FAIL "$O"/dif.* | head -3)"
fi
src=$(jq_py "$O/dif.heap.json" "'%s|%s|%s' % (d['glibc']['debug_source'], d['glibc'].get('debuginfod_url'), d['glibc']['debug_file'])" 2>&1)
file=${src##*|}
if [[ $src == "debuginfod|$URL"*"|$O/cache1/"* ]] && cmp -s "$file" "$DBG" && [ "$(jq_py "$O/dif.heap.json" "len(d['warnings'])")" = 0 ]; then
	tli_ok "JSON says where: debug_source debuginfod, debuginfod_url $URL, debug_file in the client's cache (the served bytes); no warning"
else
	tli_bad "debuginfod provenance: got $src; warnings $(jq_py "$O/dif.heap.json" "d.get('warnings')" 2>&1 | head -c 300)"
fi
# a second run is served from the client's cache, the server not asked again
n0=$(grep -c "UA:elfutils.*/buildid/$BID/debuginfo 200" "$O/debuginfod.log")
TLINSPECT_DEBUG_DIRS=$O/no-debug DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$O/cache1 "$TLI" --json --pid "$PID" heap >"$O/dif2.heap.json" 2>/dev/null
n1=$(grep -c "UA:elfutils.*/buildid/$BID/debuginfo 200" "$O/debuginfod.log")
if [ "$(jq_py "$O/dif2.heap.json" "d['glibc']['debug_source']")" = debuginfod ] && [ "$n0" -gt 0 ] && [ "$n0" = "$n1" ]; then
	tli_ok "again from the client's cache: the server not asked (tlinspect downloaded it $n0 time(s) for heap, bins and leaks, not again)"
else
	tli_bad "second run: $(head -c 300 "$O/dif2.heap.json")"
fi

# -v says where libc and its debug info came from
TLINSPECT_DEBUG_DIRS=$O/no-debug DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$O/cache1 "$TLI" -v --pid "$PID" heap >/dev/null 2>"$O/dif-v.err"
if grep -qE "^tlinspect: libc $LIBC \(from the host\), debug info from debuginfod $URL(/buildid/$BID/debuginfo)?: $O/cache1/$BID/debuginfo$" "$O/dif-v.err"; then
	tli_ok "-v: $(grep '^tlinspect: libc' "$O/dif-v.err" | cut -c1-150)"
else
	tli_bad "-v: $(grep 'libc' "$O/dif-v.err" | head -2)"
fi

# 2. the server down: its port closed
kill "$SRV"; wait "$SRV" 2>/dev/null
if run "$O/down" TLINSPECT_DEBUG_DIRS="$O/no-debug" DEBUGINFOD_URLS="$URL" DEBUGINFOD_CACHE_PATH="$O/cache2" &&
	oracle "$O/down" && [ "$(jq_py "$O/down.heap.json" "d['glibc']['debug_source']")" = none ] &&
	jq_py "$O/down.heap.json" "d['warnings']" | grep -q "debuginfod ($URL)" && [ "$(cat "$O/down.ms")" -lt 5000 ]; then
	tli_ok "server down: the glibc runtime map, same numbers as mallinfo2 ($(grep -c '^ok' "$O/down.check") checks), slowest command $(cat "$O/down.ms") ms; warning: $(jq_py "$O/down.heap.json" "d['warnings'][0]['message'] if isinstance(d['warnings'][0], dict) else d['warnings'][0]" | cut -c1-140)"
else
	tli_bad "server down: $(grep -h FAIL "$O"/down.* | head -3); ms $(cat "$O/down.ms"); warnings $(jq_py "$O/down.heap.json" "d.get('warnings')" 2>&1 | head -c 300)"
fi

# 3. a server that accepts and never answers: the timeout bounds the wait
BPORT=$(free_port)
tli_start "$O/blackhole.log" python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
print("listening", flush=True)
held=[]
while True: held.append(s.accept()[0])' "$BPORT"
for ((i = 0; i < 50; i++)); do grep -q listening "$O/blackhole.log" && break; sleep 0.1; done
t0=$(date +%s%N)
TLINSPECT_DEBUG_DIRS=$O/no-debug DEBUGINFOD_URLS=http://127.0.0.1:$BPORT DEBUGINFOD_CACHE_PATH=$O/cache3 TLINSPECT_DEBUGINFOD_TIMEOUT=2 \
	timeout 60 "$TLI" --json --pid "$PID" heap >"$O/hang.heap.json" 2>"$O/hang.heap.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc = 0 ] && [ $ms -lt 10000 ] && jq_py "$O/hang.heap.json" "d['warnings']" | grep -q "no answer within 2 s" &&
	[ "$(jq_py "$O/hang.heap.json" "d['glibc']['debug_source']")" = none ]; then
	tli_ok "a server that never answers: given up after TLINSPECT_DEBUGINFOD_TIMEOUT=2 (heap took $ms ms), warned, runtime map"
else
	tli_bad "unanswering server: exit $rc after $ms ms; $(head -c 300 "$O/hang.heap.err"); warnings $(jq_py "$O/hang.heap.json" "d.get('warnings')" 2>&1 | head -c 300)"
fi

# 4. no DEBUGINFOD_URLS: nothing asked, no warning
TLINSPECT_DEBUG_DIRS=$O/no-debug "$TLI" --json --pid "$PID" heap >"$O/nourl.heap.json" 2>&1
if [ "$(jq_py "$O/nourl.heap.json" "'%s %d' % (d['glibc']['debug_source'], len(d['warnings']))")" = "none 0" ]; then
	tli_ok "without DEBUGINFOD_URLS: runtime map, no server asked, no warning"
else
	tli_bad "without DEBUGINFOD_URLS: $(head -c 300 "$O/nourl.heap.json")"
fi

# 6. MiniDebugInfo: a stripped library whose .gnu_debugdata (xz) holds its local functions'
#    symbols (made as distributions make it); the shell disassembles one of them at the address
#    nm gives; the same library without .gnu_debugdata does not know the name
M=$O/mdi
mkdir -p "$M/with" "$M/without"
cat >"$M/lib.c" <<'EOF'
__attribute__((noinline)) static int mdi_local(int x) { return x * 7 + 3; }
__attribute__((noinline)) static int mdi_local2(int x) { return mdi_local(x) ^ 5; }
int mdi_exported(int x) { return mdi_local2(x) + 1; }
EOF
cat >"$M/main.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int mdi_exported(int);
int main(void) { printf("ready %d %d\n", getpid(), mdi_exported(3)); fflush(stdout); for (;;) pause(); }
EOF
if (cd "$M" && gcc -O2 -g -shared -fPIC -o lib.so lib.c &&
	nm -D lib.so --format=posix --defined-only | awk '{print $1}' | sort >dynsyms &&
	nm lib.so --format=posix --defined-only | awk '$2 == "T" || $2 == "t" {print $1}' | sort >funcsyms &&
	comm -13 dynsyms funcsyms >keep && objcopy --only-keep-debug lib.so mini &&
	objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep mini mini2 &&
	xz -c mini2 >mini.xz && strip --strip-all -R .comment lib.so -o without/libmdi.so &&
	objcopy --add-section .gnu_debugdata=mini.xz without/libmdi.so with/libmdi.so &&
	gcc -O2 -o prog main.c -L with -lmdi) >"$M/build.log" 2>&1; then
	off=$(nm "$M/lib.so" | awk '$3 == "mdi_local" {print $1}')
	for v in with without; do
		tli_start "$M/$v.out" env LD_LIBRARY_PATH="$M/$v" "$M/prog"
		for ((i = 0; i < 50; i++)); do grep -q ready "$M/$v.out" && break; sleep 0.1; done
		printf 'dis mdi_local\nquit\n' | timeout 30 "$TLI" --pid "$TLI_PID" shell >"$M/$v.dis" 2>&1
		base=$(awk -v f="$M/$v/libmdi.so" '$6 == f && $3 == "00000000" {print $1; exit}' "/proc/$TLI_PID/maps" | cut -d- -f1)
		tli_kill "$TLI_PID"
		eval "base_$v=\$base"
	done
	want=$(printf '0x%016x' $((0x$base_with + 0x$off)))
	if grep -q "^$want <mdi_local>:" "$M/with.dis" && grep -q "neither an address nor a symbol" "$M/without.dis"; then
		tli_ok "MiniDebugInfo: dis mdi_local (a static function of a stripped library, named only in its .gnu_debugdata) at $want = base + nm's 0x$off; without .gnu_debugdata the name is unknown"
	else
		tli_bad "MiniDebugInfo: want $want: $(head -3 "$M/with.dis"); without: $(head -3 "$M/without.dis")"
	fi
else
	tli_bad "MiniDebugInfo: building the library: $(tail -3 "$M/build.log")"
fi

# 5. the static file cannot load libdebuginfod: it says so, and the runtime map inside it answers
if make -s -C "$ROOT" static >"$O/make-static.log" 2>&1; then
	TLINSPECT_DEBUG_DIRS=$O/no-debug DEBUGINFOD_URLS=http://127.0.0.1:$BPORT TLINSPECT_DEBUGINFOD_TIMEOUT=2 \
		timeout 60 "$ROOT/build/tlinspect-static" --json --pid "$PID" heap >"$O/static.heap.json" 2>"$O/static.heap.err"
	if [ "$(jq_py "$O/static.heap.json" "d['glibc']['debug_source']")" = none ] &&
		jq_py "$O/static.heap.json" "d['warnings']" | grep -q "statically linked tlinspect cannot load libdebuginfod"; then
		tli_ok "the static file with DEBUGINFOD_URLS: warns that it has no debuginfod client, runtime map"
	else
		tli_bad "static file with DEBUGINFOD_URLS: $(head -c 300 "$O/static.heap.err") $(head -c 300 "$O/static.heap.json")"
	fi
else
	tli_bad "make static: $(tail -3 "$O/make-static.log")"
fi
tli_suite_end
