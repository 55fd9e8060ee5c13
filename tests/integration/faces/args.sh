#!/usr/bin/env bash
# tests/integration/faces/args.sh - arguments in the debugger faces (issue 17 items 7 and 11):
# the argument after a keyword is an expression where the command takes an address or id, the
# keyword never is, and a rejected expression never leaves a stale status.
#   gdb  (C target heapstate, live): `tl explain chunk live[0]` = `tl chunk live[0]` = the engine on
#        the value gdb prints for live[0]; `tl explain arena` is not evaluated; `tl chunk nosuch_sym`
#        leaves $tl_status = -1 after a successful command set it to 0
#   lldb (Go target, live): `tl goroutine 0+1` and `tl explain g 0+1` show goroutine 1 (LLDB cannot
#        evaluate Go: the plugin evaluates as C); `tl explain arena` on heapstate is not evaluated;
#        `tl chunk nosuch_sym` fails with "cannot evaluate" instead of passing the word on
# Ends with "args: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite args
trap tli_cleanup EXIT INT TERM
W=$TLI_OUT/faces/args
rm -rf "$W"; mkdir -p "$W"
GDBF=$W/tlinspect.gdb
sh "$ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$TLI" "$TLI" > "$GDBF" || tli_bad "generate tlinspect.gdb"
LLDB=$(command -v lldb || command -v lldb-14 || true)
PLUGIN=$W/libtlinspect-lldb.so
make -s -C "$ROOT/gdb-ext/lldb" BUILD="$W/build" TLI_ENGINE="$TLI" > "$W/lldb-build.log" 2>&1 &&
	cp "$W/build/gdb-ext/libtlinspect-lldb.so" "$PLUGIN" || tli_bad "lldb plugin: $(tail -2 "$W/lldb-build.log")"

gcc -O2 -g -pthread -o "$W/heapstate" "$ROOT/tests/targets/c/heapstate.c" || tli_bad "build heapstate"
tli_start "$W/c.out" "$W/heapstate" "$W"
cpid=$(tli_wait_ready "$W/c.out" 20) || tli_bad "heapstate did not start"
ver=$(tli_go_versions | awk '{print $NF}')
gbin=$(tli_build tests/targets/go/demo "$ver") || tli_bad "build demo"
tli_start "$W/go.out" "$gbin"
gpid=$(tli_wait_ready "$W/go.out" 60) || tli_bad "demo did not start"

# gdb on the C target
timeout -k 5 300 gdb -nx -batch -iex 'set auto-load no' -iex "source $GDBF" -p "$cpid" \
	-ex 'echo @@@ value\n' -ex 'printf "%lu\n", live[0]' \
	-ex 'echo @@@ explain\n' -ex 'tl explain chunk live[0]' \
	-ex 'echo @@@ chunk\n' -ex 'tl chunk live[0]' \
	-ex 'echo @@@ arena\n' -ex 'tl explain arena' \
	-ex 'echo @@@ status-ok\n' -ex 'print $tl_status' \
	-ex 'echo @@@ bad\n' -ex 'tl chunk nosuch_sym_xyz' \
	-ex 'echo @@@ status-bad\n' -ex 'print $tl_status' > "$W/gdb.out" 2>&1
sect() { awk -v k="@@@ $2" '$0 == k {on = 1; next} /^@@@ / {on = 0} on' "$1"; }
addr=$(sect "$W/gdb.out" value | grep -E '^[0-9]+$' | head -1)
if [ -n "$addr" ]; then
	"$TLI" --pid "$cpid" --no-stop explain chunk "$addr" > "$W/direct.explain" 2>&1
	"$TLI" --pid "$cpid" --no-stop chunk "$addr" > "$W/direct.chunk" 2>&1
fi
first_line() { grep -m1 -E 'chunk|malloc_chunk' "$1"; }
for k in explain chunk; do
	want=$(grep -m1 -E '^(malloc_chunk|chunk) ' "$W/direct.$k" 2>/dev/null)
	got=$(sect "$W/gdb.out" "$k" | grep -m1 -E '^(malloc_chunk|chunk) ')
	if [ -n "$want" ] && [ "$got" = "$want" ]; then tli_ok "gdb: tl ${k/explain/explain chunk} live[0] evaluates live[0] ($want)"
	else tli_bad "gdb: tl ${k/explain/explain chunk} live[0]: got '$got', the engine on live[0] = $addr says '$want'"; fi
done
if sect "$W/gdb.out" arena | grep -q "malloc_state"; then tli_ok "gdb: tl explain arena: the keyword is not evaluated"
else tli_bad "gdb: tl explain arena: $(sect "$W/gdb.out" arena | head -3)"; fi
s1=$(sect "$W/gdb.out" status-ok | grep -oE '= -?[0-9]+'); s2=$(sect "$W/gdb.out" status-bad | grep -oE '= -?[0-9]+')
if [ "$s1" = "= 0" ] && [ "$s2" = "= -1" ]; then tli_ok "gdb: a rejected expression leaves \$tl_status = -1 (not the previous 0)"
else tli_bad "gdb: \$tl_status after a good command '$s1', after a rejected expression '$s2' (want = 0, = -1)"; fi

# lldb on the Go target, then on the C target
if [ -f "$PLUGIN" ]; then
	TLINSPECT=$TLI timeout -k 5 300 "$LLDB" -b -x -o "plugin load $PLUGIN" -p "$gpid" \
		-o 'tl goroutine 0+1' -o 'tl explain g 0+1' > "$W/lldb-go.out" 2>&1
	TLINSPECT=$TLI timeout -k 5 300 "$LLDB" -b -x -o "plugin load $PLUGIN" -p "$cpid" \
		-o 'tl explain arena' -o 'tl chunk nosuch_sym_xyz' > "$W/lldb-c.out" 2>&1
	lsect() { awk -v k="(lldb) $2" '$0 == k {on = 1; next} /^\(lldb\) / {on = 0} on' "$1"; }
	if lsect "$W/lldb-go.out" "tl goroutine 0+1" | grep -q '^goroutine 1 \['; then tli_ok "lldb: tl goroutine 0+1 shows goroutine 1"
	else tli_bad "lldb: tl goroutine 0+1: $(lsect "$W/lldb-go.out" "tl goroutine 0+1" | head -3)"; fi
	if lsect "$W/lldb-go.out" "tl explain g 0+1" | grep -qE 'goid +1 '; then tli_ok "lldb: tl explain g 0+1 explains goroutine 1"
	else tli_bad "lldb: tl explain g 0+1: $(lsect "$W/lldb-go.out" "tl explain g 0+1" | head -3)"; fi
	if lsect "$W/lldb-c.out" "tl explain arena" | grep -q "malloc_state"; then tli_ok "lldb: tl explain arena: the keyword is not evaluated"
	else tli_bad "lldb: tl explain arena: $(lsect "$W/lldb-c.out" "tl explain arena" | head -3)"; fi
	if grep -q "cannot evaluate 'nosuch_sym_xyz'" "$W/lldb-c.out"; then tli_ok "lldb: an expression LLDB cannot evaluate is an error, not passed on"
	else tli_bad "lldb: tl chunk nosuch_sym_xyz: $(lsect "$W/lldb-c.out" "tl chunk nosuch_sym_xyz" | head -3)"; fi
fi
tli_suite_end
