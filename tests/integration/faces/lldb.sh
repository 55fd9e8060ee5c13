#!/usr/bin/env bash
# tests/integration/faces/lldb.sh — the LLDB plugin (gdb-ext/lldb, libtlinspect-lldb.so) in
# scripted `lldb -b` sessions. FAILS (does not skip) when lldb or the LLDB headers are missing:
# it is meant to run where scripts/setup.sh installed lldb-14 and liblldb-14-dev.
# (Kept out of tests/integration/faces/*.sh, which all.sh runs, until setup.sh installs lldb.)
#
#   - the plugin builds (make -C gdb-ext/lldb) and `help tl` lists exactly the commands of
#     `tlinspect --print-commands` (except the interactive `shell`)
#   - live (`lldb -p PID`, tests/targets/go/chans): `tl goroutines --json` gives the same goroutine
#     ids as tlinspect run directly, including every goroutine the target recorded for itself
#     (facts.json); `tl explain chan ADDR --json` shows the len/cap the program recorded for its
#     `ring` channel; an engine error comes back as an LLDB error with the engine's exit status
#   - core (`lldb EXE --core CORE`, gcore of the same target): the same two checks
#   - C core (tests/targets/c/heapstate.c): `tl explain chunk global_only --json` — the argument is
#     evaluated by LLDB — draws the chunk of the pointer the program recorded for that global
# Environment: TLINSPECT, GO_VERSION, LLDB (default: lldb, else lldb-19 … lldb-14).
# Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
WORK=$TLI_OUT/faces/lldb
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
finish() { local rc=$?; tli_cleanup; rm -f "$WORK"/core.*; exit $rc; }
trap finish EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"; mkdir -p "$WORK"
done_() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" = 0 ]; exit; }

LLDB=${LLDB:-}
if [ -z "$LLDB" ]; then
	for c in lldb lldb-19 lldb-18 lldb-17 lldb-16 lldb-15 lldb-14; do
		command -v "$c" >/dev/null && { LLDB=$c; break; }
	done
fi
[ -n "$LLDB" ] || { fail "no lldb installed (apt-get install lldb-14 liblldb-14-dev)"; done_; }
PLUGIN=$WORK/libtlinspect-lldb.so
if make -s -C "$TLI_ROOT/gdb-ext/lldb" BUILD="$WORK/build" TLI_ENGINE="$TLI" >"$WORK/build.log" 2>&1 &&
	cp "$WORK/build/gdb-ext/libtlinspect-lldb.so" "$PLUGIN"; then
	pass "plugin built ($(nm -D --undefined-only "$PLUGIN" | grep -c 'lldb') undefined SB API symbols, NEEDED liblldb entries: $(readelf -d "$PLUGIN" | grep -c "NEEDED.*lldb"))"
else fail "build plugin: $(tail -3 "$WORK/build.log")"; done_; fi

# lldbrun OUT ARGS... : batch session with the plugin loaded first
lldbrun() {
	local out=$1; shift
	TLINSPECT=$TLI timeout -k 5 300 "$LLDB" -b -x -o "plugin load $PLUGIN" "$@" >"$out" 2>&1
}
# section OUT 'tl CMD': what LLDB printed for that command (up to the next prompt)
section() {
	python3 - "$1" "$2" <<'EOF'
import sys
out, cmd = open(sys.argv[1], errors="replace").read().split("\n"), "(lldb) " + sys.argv[2]
for i, l in enumerate(out):
    if l.strip() == cmd:
        j = i + 1
        while j < len(out) and not out[j].startswith("(lldb) "):
            print(out[j]); j += 1
        break
EOF
}
ids_json() { python3 -c 'import json,sys
d=json.load(sys.stdin)
print("\n".join(sorted(str(g["id"]) for g in d["go"]["goroutines"] if not g.get("system"))))'; }

ver=${GO_VERSION:-$(tli_go_versions | awk '{print $NF}')}
bin=$(tli_build tests/targets/go/chans "$ver") || { fail "build chans"; done_; }
tli_start "$WORK/target.out" "$bin" -out "$WORK"
tpid=$TLI_PID
tli_wait_ready "$WORK/target.out" 60 >/dev/null || { fail "target not ready"; done_; }
ring=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["channels"]["ring"]["addr"])' "$WORK/facts.json")
python3 -c 'import json,sys
f=json.load(open(sys.argv[1])); s=set()
for k in ("leaked","alive","blocked_on"): s.update(f.get(k, {}).keys())
print("\n".join(sorted(s)))' "$WORK/facts.json" >"$WORK/facts.ids"

# help tl = the command table
lldbrun "$WORK/help.out" -o 'help tl'
"$TLI" --print-commands | cut -f1 | grep -vx shell | sort >"$WORK/cmds.want"
section "$WORK/help.out" 'help tl' | awk '/^ +[a-z-]+ +-- /{print $1}' | sort >"$WORK/cmds.got"
if [ -s "$WORK/cmds.want" ] && diff -q "$WORK/cmds.want" "$WORK/cmds.got" >/dev/null; then
	pass "help tl: the $(wc -l <"$WORK/cmds.want") commands of tlinspect --print-commands (shell excepted)"
else fail "help tl vs --print-commands: $(diff "$WORK/cmds.want" "$WORK/cmds.got" | head -5 | tr '\n' ' ')"; fi

# check LABEL OUT DIRECT_JSON
check_go() {
	local label=$1 out=$2 direct=$3 got want miss
	got=$(section "$out" 'tl goroutines --json' | ids_json 2>/dev/null)
	want=$(ids_json <"$direct" 2>/dev/null)
	miss=$(comm -23 "$WORK/facts.ids" <(echo "$got"))
	if [ -n "$got" ] && [ "$got" = "$want" ] && [ -z "$miss" ]; then
		pass "$label: tl goroutines --json: $(echo "$got" | wc -l) ids = tlinspect direct, ⊇ the $(wc -l <"$WORK/facts.ids") facts.json recorded"
	else fail "$label: tl goroutines ids: got $(echo "$got" | wc -l), direct $(echo "$want" | wc -l), missing facts: $miss"; fi
	if section "$out" "tl explain chan $ring --json" | python3 -c 'import json,sys
ex=json.load(sys.stdin)["explain"]; f=json.load(open(sys.argv[1]))["channels"]["ring"]
v={x["name"]: x["value"] for x in ex["fields"]}
sys.exit(0 if int(v["qcount"]) == f["len"] and int(v["dataqsiz"]) == f["cap"] else 1)' "$WORK/facts.json" 2>/dev/null; then
		pass "$label: tl explain chan --json (ring) shows len/cap the program recorded"
	else fail "$label: tl explain chan: $(section "$out" "tl explain chan $ring --json" | head -3)"; fi
}

lldbrun "$WORK/live.out" -p "$tpid" -o 'tl goroutines --json' -o "tl explain chan $ring --json"
# after lldb detached: the engine directly, on the same (unchanged) blocked state
"$TLI" --json --pid "$tpid" goroutines >"$WORK/direct.json" 2>"$WORK/direct.err" || fail "direct tlinspect"
check_go "live lldb -p" "$WORK/live.out" "$WORK/direct.json"

lldbrun "$WORK/err.out" -p "$tpid" -o 'tl goroutine 999999999'
if grep -q 'no goroutine' "$WORK/err.out" && grep -qE 'tl goroutine: exit status 3' "$WORK/err.out"; then
	pass "engine error -> LLDB error with the engine's message and exit status 3"
else fail "error path: $(section "$WORK/err.out" 'tl goroutine 999999999' | head -3)"; fi
state=$(awk '{print $3}' "/proc/$tpid/stat"); tracer=$(awk '/^TracerPid/{print $2}' "/proc/$tpid/status")
[ "$tracer" = 0 ] && [ "$state" != t ] && pass "target detached and running after the lldb sessions (state $state)" ||
	fail "target left traced/stopped (state $state, tracer $tracer)"

if "$TLI_ROOT/scripts/mkcore.sh" gcore "$tpid" "$WORK/core.chans" >/dev/null 2>&1; then
	lldbrun "$WORK/core.out" "$bin" --core "$WORK/core.chans" -o 'tl goroutines --json' -o "tl explain chan $ring --json"
	"$TLI" --json --core "$WORK/core.chans" --exe "$bin" goroutines >"$WORK/core.json" 2>/dev/null
	check_go "core lldb --core" "$WORK/core.out" "$WORK/core.json"
	rm -f "$WORK/core.chans"
else fail "gcore of the Go target"; fi
tli_kill "$tpid"

mkdir -p "$WORK/hs"
if gcc -O2 -g -pthread -o "$WORK/heapstate" "$TLI_ROOT/tests/targets/c/heapstate.c"; then
	tli_start "$WORK/hs.out" "$WORK/heapstate" "$WORK/hs"
	hpid=$TLI_PID
	if tli_wait_ready "$WORK/hs.out" 30 >/dev/null && "$TLI_ROOT/scripts/mkcore.sh" gcore "$hpid" "$WORK/core.heap" >/dev/null 2>&1; then
		lldbrun "$WORK/heap.out" "$WORK/heapstate" --core "$WORK/core.heap" -o 'tl explain chunk global_only --json'
		g=$(awk '$1 == "global" {print $2}' "$WORK/hs/expect.txt")
		if section "$WORK/heap.out" 'tl explain chunk global_only --json' | python3 -c 'import json,sys
ex=json.load(sys.stdin)["explain"]; g=int(sys.argv[1],16)
sys.exit(0 if int(ex["address"],16) == g-16 and int(ex["user"],16) == g else 1)' "$g" 2>/dev/null; then
			pass "C core: tl explain chunk global_only (LLDB-evaluated) = chunk of the recorded pointer $g"
		else fail "C core explain chunk global_only: $(section "$WORK/heap.out" 'tl explain chunk global_only --json' | head -3)"; fi
	else fail "heapstate core"; fi
	tli_kill "$hpid"
else fail "build heapstate"; fi
done_
