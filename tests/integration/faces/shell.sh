#!/usr/bin/env bash
# tests/integration/faces/shell.sh — `tlinspect --pid N shell` driven through tmux (a real pty).
#
# Against tests/targets/go/goroutines (newest Go, or GO_VERSION) it types into the prompt and checks:
#   - the prompt says "(running)" and the target is neither traced nor stopped while it waits
#   - Tab: "gorout" + Tab Tab offers goroutine and goroutines (the command table);
#     "goroutine <first digits>" + Tab Tab offers the chan_send goroutine's id (facts.json, the
#     target's own record) after a `goroutines` listing; "dis main.blockChanS" + Tab completes
#     the function name (pclntab)
#   - `goroutine ID` prints "goroutine ID [chan send"
#   - `dis main.blockChanSend 3` starts at the address `go tool nm` gives for the function
#   - `x ADDR 16` shows the bytes objdump -s shows at that address
#   - `ptype runtime.hchan`: every member offset equals gdb's `ptype/o runtime.hchan`
#   - `quit` writes the commands to $HOME/.tlinspect_history
# Then on cores, the shell fed from stdin (C core: tests/targets/c/heapstate.c; Go core: the
# gcore of the target above), every value against gdb on the same core:
#   - C: `x main_arena 64` = gdb's x/8gx &main_arena; `dis main`/`dis malloc` start at gdb's &main /
#     &malloc with gdb's first instruction (x/i, intel); `ptype malloc_state` and `ptype struct
#     malloc_chunk` (libc's DWARF) = gdb's ptype/o member by member (offset, size, name, C type);
#     `ptype hidden` prints `kind` as gdb does (const char *); `ptype nosuch` prints only the error;
#     Tab completes `x main_ar` and `ptype malloc_st` (tmux)
#   - Go: `ptype runtime.g` pointer members in Go notation (*T) for gdb's `T *` (top level members)
#   - a C core with a Go --exe and a Go core with the C --exe: exit 7 and one message, the same
#     from the command line and from the shell, naming the core's executable
# A private tmux server (-L) is used; nothing else is touched. Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
WORK=$TLI_OUT/faces/shell
SOCK=tli-shell-test-$$
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
finish() { local rc=$?; tmux -L "$SOCK" kill-server 2>/dev/null; tli_cleanup; exit $rc; }
trap finish EXIT
trap 'exit 130' INT TERM
command -v tmux >/dev/null || { echo "tmux missing"; echo "0 passed, 1 failed"; exit 1; }

rm -rf "$WORK"; mkdir -p "$WORK/home"
ver=${GO_VERSION:-$(tli_go_versions | awk '{print $NF}')}
bin=$(tli_build tests/targets/go/goroutines "$ver") || { fail "build"; echo "$PASS passed, $FAIL failed"; exit 1; }
go=$(tli_go_bin "$ver")
tli_start "$WORK/target.out" "$bin" -out "$WORK" -n 100
tpid=$TLI_PID
tli_wait_ready "$WORK/target.out" 60 >/dev/null || { fail "target not ready"; echo "$PASS passed, $FAIL failed"; exit 1; }
sleep 0.2
role=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["roles"]["chan_send"])' "$WORK/facts.json")

T() { tmux -L "$SOCK" "$@"; }
screen() { T capture-pane -p -J -S - -t tl | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
# wait_for REGEX [SECS]: until the screen matches
wait_for() {
	local i
	for ((i = 0; i < ${2:-20} * 10; i++)); do screen | grep -qE "$1" && return 0; sleep 0.1; done
	return 1
}
prompts() { screen | grep -c '(running)> '; }
# type LINE and wait for the next prompt
run() {
	local n; n=$(prompts)
	T send-keys -t tl -l "$1"; T send-keys -t tl Enter
	local i; for ((i = 0; i < 300; i++)); do [ "$(prompts)" -gt "$n" ] && return 0; sleep 0.1; done
	return 1
}

T -f /dev/null start-server \; set-option -g history-limit 200000
T new-session -d -s tl -x 220 -y 50 "env HOME=$WORK/home TERM=xterm $TLI --pid $tpid shell"
if wait_for "tlinspect pid $tpid \\(running\\)> " 20; then pass "prompt: $(screen | grep -m1 '(running)> ')"; else fail "no prompt"; screen | tail -5; fi
state=$(awk '{print $3}' "/proc/$tpid/stat"); tracer=$(awk '/^TracerPid/{print $2}' "/proc/$tpid/status")
[ "$tracer" = 0 ] && [ "$state" != t ] && [ "$state" != T ] && pass "target runs at the prompt (state $state, TracerPid 0)" || fail "target held at the prompt (state $state, tracer $tracer)"

T send-keys -t tl 'gorout' Tab; sleep 0.3; T send-keys -t tl Tab Tab; sleep 0.5
if screen | tail -3 | grep -qE '^goroutine +goroutines *$'; then pass "Tab on 'gorout' completes to goroutine, Tab Tab then offers goroutine and goroutines"; else fail "command completion"; screen | tail -4; fi
T send-keys -t tl C-u
run "goroutines --top 1" || fail "goroutines did not return"
pre=$role
T send-keys -t tl -l "goroutine $pre"; T send-keys -t tl Tab Tab; sleep 0.5
if screen | tail -4 | grep -qwE "$role"; then pass "Tab Tab on 'goroutine $pre' offers $role (the target's chan_send goroutine)"; else fail "id completion ($role)"; screen | tail -4; fi
T send-keys -t tl C-u
run "goroutine $role"
screen | grep -q "^goroutine $role \[chan send" && pass "goroutine $role: [chan send]" || fail "goroutine $role output"

T send-keys -t tl -l 'dis main.blockChanS'; T send-keys -t tl Tab; sleep 0.5
screen | tail -1 | grep -q 'dis main.blockChanSend' && pass "Tab completes main.blockChanS -> main.blockChanSend (pclntab)" || fail "symbol completion: $(screen | tail -1)"
T send-keys -t tl -l ' 3'; T send-keys -t tl Enter; sleep 1
want=$("$go" tool nm "$bin" | awk '$3 == "main.blockChanSend" {print $1}')
got=$(screen | grep -m1 -oE '^0x0*([0-9a-f]+) <main.blockChanSend>:' | sed -E 's/^0x0*([0-9a-f]+).*/\1/')
[ -n "$want" ] && [ "$got" = "$(echo "$want" | sed 's/^0*//')" ] && pass "dis starts at main.blockChanSend = 0x$got (go tool nm)" || fail "dis address: got '$got', go tool nm '$want'"

run "x 0x$want 16"
line=$(screen | grep -m1 -E "^0x0*$(echo "$want" | sed 's/^0*//'): " | sed -E 's/^[^:]*: //; s/ \|.*//; s/ +/ /g; s/ $//')
od=$(objdump -s --start-address=0x$want --stop-address=$(printf '0x%x' $((0x$want + 16))) "$bin" | awk '/^ [0-9a-f]+ /{print $2 $3 $4 $5}' | head -1 | sed 's/../& /g; s/ $//')
[ -n "$od" ] && [ "$line" = "$od" ] && pass "x: 16 bytes at 0x$want = objdump -s" || fail "x: got '$line' objdump '$od'"

run "ptype runtime.hchan"
screen | sed -n '/^type runtime.hchan {/,/^} /p' | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"\s*/\* (0x[0-9a-f]+)\s+(\d+) \*/\s+(\S+)", l)
    if m: print(int(m.group(1), 16), m.group(2), m.group(3))' | sort >"$WORK/ptype.ours"
gdb -nx -batch -iex 'set auto-load no' -ex 'set language c' -ex "ptype/o 'runtime.hchan'" "$bin" 2>/dev/null | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"/\*\s+(\d+)\s+\|\s+(\d+) \*/\s+.*?(\w+);$", l.rstrip())
    if m: print(m.group(1), m.group(2), m.group(3))' | sort >"$WORK/ptype.gdb"
if [ -s "$WORK/ptype.ours" ] && diff -q "$WORK/ptype.ours" "$WORK/ptype.gdb" >/dev/null; then
	pass "ptype runtime.hchan: $(wc -l <"$WORK/ptype.ours") member offsets = gdb ptype/o"
else fail "ptype vs gdb ptype/o"; diff "$WORK/ptype.ours" "$WORK/ptype.gdb" | head -8 | sed 's/^/     | /'; fi

T send-keys -t tl 'quit' Enter; sleep 0.5
if grep -qx "goroutine $role" "$WORK/home/.tlinspect_history" && grep -qx 'ptype runtime.hchan' "$WORK/home/.tlinspect_history"; then
	pass "history saved ($(wc -l <"$WORK/home/.tlinspect_history") lines in \$HOME/.tlinspect_history)"
else fail "history file"; fi

# ---------------- cores, the shell fed from stdin ----------------
gdbc() { gdb -nx -batch -iex 'set auto-load no' -iex 'set debuginfod enabled off' "$@" 2>/dev/null; }
cdir=$WORK/c; mkdir -p "$cdir/hs"
gcc -O2 -g -pthread -o "$cdir/heapstate" "$TLI_ROOT/tests/targets/c/heapstate.c" || fail "gcc heapstate"
tli_start "$cdir/target.out" "$cdir/heapstate" "$cdir/hs"
hpid=$(tli_wait_ready "$cdir/target.out" 30) || fail "heapstate not ready"
"$TLI_ROOT/scripts/mkcore.sh" gcore "$hpid" "$cdir/core" >/dev/null 2>&1 || fail "gcore heapstate"
"$TLI_ROOT/scripts/mkcore.sh" gcore "$tpid" "$WORK/go.core" >/dev/null 2>&1 || fail "gcore go target"
# a live shell fed from a pipe ends at the pipe's end (readline's idle hook once spun there at full CPU)
t0=$SECONDS
printf 'heap\n' | env HOME="$WORK/home" timeout 30 "$TLI" --pid "$hpid" shell >"$cdir/live-pipe.out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q 'in use' "$cdir/live-pipe.out"; then
	pass "live shell from a pipe: heap answered, exit 0 at the pipe's end after $((SECONDS - t0)) s"
else fail "live shell from a pipe: exit $rc ($(tail -c 200 "$cdir/live-pipe.out"))"; fi
cshell() { printf '%s\n' "$@" | env HOME="$WORK/home" "$TLI" --core "$cdir/core" --exe "$cdir/heapstate" shell 2>"$cdir/shell.err"; }
cshell 'x main_arena 64' 'dis main 2' 'dis malloc 2' 'ptype malloc_state' 'ptype struct malloc_chunk' \
	'ptype hidden' 'ptype nosuch' >"$cdir/shell.out"
# x: the 64 bytes as gdb's 8 little-endian words
ours=$(grep -E '^0x[0-9a-f]+: ' "$cdir/shell.out" | head -4 | sed -E 's/^[^:]*: //; s/ +\|.*//' | tr -s ' ' '\n' | grep -v '^$' | tr '\n' ' ')
theirs=$(gdbc -ex 'x/8gx &main_arena' "$cdir/heapstate" "$cdir/core" | grep '<main_arena' | sed -E 's/^[^:]*://' | grep -oE '0x[0-9a-f]+' |
	python3 -c 'import sys; print(" ".join(" ".join("%02x" % b for b in int(w, 16).to_bytes(8, "little")) for w in sys.stdin.read().split()))')
[ -n "$ours" ] && [ "$(echo $ours)" = "$(echo $theirs)" ] && pass "C core: x main_arena 64 = gdb x/8gx &main_arena ($(echo $ours | cut -c1-47)...)" ||
	fail "x main_arena: ours '$ours' gdb '$theirs'"
for f in main malloc; do
	want=$(gdbc -ex "p/x (long)&$f" "$cdir/heapstate" "$cdir/core" | sed -nE 's/^\$1 = 0x0*([0-9a-f]+)/\1/p')
	got=$(grep -m1 -E "^0x[0-9a-f]+ <$f>:" "$cdir/shell.out")
	gaddr=$(echo "$got" | sed -E 's/^0x0*([0-9a-f]+) .*/\1/')
	gins=$(echo "$got" | cut -f2- | tr -s ' \t' ' ' | sed 's/ $//')
	wins=$(gdbc -iex 'set disassembly-flavor intel' -ex "x/i $f" "$cdir/heapstate" "$cdir/core" | grep -E "^(=>)? *0x0*$want <" | sed -E 's/^.*>:[[:space:]]*//' | tr -s ' \t' ' ' | sed 's/ $//')
	[ -n "$want" ] && [ "$gaddr" = "$want" ] && [ -n "$gins" ] && [ "$gins" = "$wins" ] &&
		pass "C core: dis $f starts at gdb's &$f = 0x$want with gdb's first instruction '$wins'" ||
		fail "dis $f: got '$gaddr' '$gins', gdb '$want' '$wins'"
done
# ptype: "OFFSET SIZE NAME TYPE" lines; gdb's "TYPE NAME[N];" becomes "TYPE [N]"
ours_members() { sed -n "/^type $1 {/,/^} /p" "$cdir/shell.out" | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"\s*/\* (0x[0-9a-f]+)\s+(\d+) \*/\s+(\S+)\s+(.*)$", l.rstrip())
    if m and m.group(3) != "member": print(int(m.group(1), 16), m.group(2), m.group(3), m.group(4))'; }
gdb_members() { gdbc -ex "ptype/o $1" "$cdir/heapstate" "$cdir/core" | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"/\*\s+(\d+)(?::\s*\d+)?\s+\|\s+(\d+) \*/\s+(.*?)(\w+)((?:\[\d+\])*);$", l.rstrip())
    if m:
        t = m.group(3).rstrip() + (" " + m.group(5) if m.group(5) else "")
        print(m.group(1), m.group(2), m.group(4), t)'; }
for t in "malloc_state:struct malloc_state" "struct malloc_chunk:struct malloc_chunk" "hidden:struct hidden"; do
	o=${t%%:*} g=${t#*:}
	ours_members "$o" >"$cdir/p.ours"; gdb_members "$g" >"$cdir/p.gdb"
	if [ -s "$cdir/p.ours" ] && diff -q "$cdir/p.ours" "$cdir/p.gdb" >/dev/null; then
		pass "C core: ptype $o: $(wc -l <"$cdir/p.ours") members = gdb ptype/o (offset, size, name, C type; e.g. $(grep -m1 '\*' "$cdir/p.ours" | cut -d' ' -f3-))"
	else fail "ptype $o vs gdb ptype/o"; diff "$cdir/p.ours" "$cdir/p.gdb" | head -6 | sed 's/^/     | /'; fi
done
if ! grep -q '^type nosuch' "$cdir/shell.out" && ! grep -q 'offset  size' <(sed -n '/ptype nosuch/,$p' "$cdir/shell.out") &&
	grep -q 'no type nosuch' "$cdir/shell.err"; then pass "ptype nosuch: nothing but the error ($(grep -m1 'no type nosuch' "$cdir/shell.err" | cut -c1-60)...)"
else fail "ptype nosuch printed more than the error"; fi

T new-session -d -s tlc -x 220 -y 50 "env HOME=$WORK/home TERM=xterm $TLI --core $cdir/core --exe $cdir/heapstate shell"
for i in $(seq 50); do T capture-pane -p -t tlc | grep -q 'core> ' && break; sleep 0.1; done
T send-keys -t tlc -l 'x main_ar'; T send-keys -t tlc Tab; sleep 1
T capture-pane -p -t tlc | grep -q 'core> x main_arena' && pass "Tab completes 'x main_ar' -> main_arena (libc's symbols)" || fail "C symbol completion: $(T capture-pane -p -t tlc | grep 'core>' | tail -1)"
T send-keys -t tlc C-u; T send-keys -t tlc -l 'ptype malloc_st'; T send-keys -t tlc Tab; sleep 1
T capture-pane -p -t tlc | grep -q 'core> ptype malloc_state' && pass "Tab completes 'ptype malloc_st' -> malloc_state (libc's DWARF)" || fail "type completion: $(T capture-pane -p -t tlc | grep 'core>' | tail -1)"
T send-keys -t tlc C-u; T send-keys -t tlc 'quit' Enter

# Go core: Go notation stays Go's
printf 'ptype runtime.g\n' | env HOME="$WORK/home" "$TLI" --core "$WORK/go.core" --exe "$bin" shell 2>/dev/null |
	sed -n '/^type runtime.g {/,/^} /p' | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"\s*/\* (0x[0-9a-f]+)\s+(\d+) \*/\s+(\S+)\s+(\*\S+|unsafe.Pointer)$", l.rstrip())
    if m: print(int(m.group(1), 16), m.group(3), m.group(4))' | sort >"$WORK/g.ours"
gdbc -ex 'set language c' -ex "ptype/o 'runtime.g'" "$bin" | python3 -c 'import re,sys
for l in sys.stdin:
    m = re.match(r"/\*\s+(\d+)\s+\|\s+\d+ \*/    (?:struct )?(\S+) \*(\w+);$", l.rstrip())
    if m: print(m.group(1), m.group(3), "unsafe.Pointer" if m.group(2) == "void" else "*" + m.group(2))' | sort >"$WORK/g.gdb"
[ -s "$WORK/g.ours" ] && diff -q "$WORK/g.ours" "$WORK/g.gdb" >/dev/null &&
	pass "Go core: ptype runtime.g: $(wc -l <"$WORK/g.ours") pointer members in Go notation (*T) = gdb's T * ($(head -1 "$WORK/g.ours"))" ||
	{ fail "Go core ptype runtime.g pointers"; diff "$WORK/g.ours" "$WORK/g.gdb" | head -5; }

# the wrong executable: one message, command line and shell
mism() { # CORE EXE WANT-EXE
	local cli sh rc1 rc2
	cli=$("$TLI" --core "$1" --exe "$2" goroutines 2>&1 >/dev/null); rc1=$?
	sh=$(echo heap | env HOME="$WORK/home" "$TLI" --core "$1" --exe "$2" shell 2>&1 >/dev/null); rc2=$?
	if [ $rc1 = 7 ] && [ $rc2 = 7 ] && [ "$cli" = "$sh" ] && echo "$cli" | grep -q "does not match the core" &&
		echo "$cli" | grep -qF "the core's executable is $3" && echo "$cli" | grep -q 'Pass the program'; then
		pass "--core $(basename "$1") --exe $(basename "$2"): exit 7 from the command line and the shell, one message: $(echo "$cli" | cut -c1-150)..."
	else fail "mismatch $1 $2: rc $rc1/$rc2: cli '$cli' shell '$sh'"; fi
}
mism "$cdir/core" "$bin" "$cdir/heapstate"
mism "$WORK/go.core" "$cdir/heapstate" "$bin"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
