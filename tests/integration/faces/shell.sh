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
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
