#!/usr/bin/env bash
# tests/integration/faces/gdb.sh — the `tl` commands (gdb-ext/tlinspect.gdb) in scripted gdb sessions.
#
# Builds tests/targets/go/goroutines (newest Go, or GO_VERSION=1.22), starts it, and checks with
# `gdb -batch -x`:
#   - `help tl` lists exactly the commands of `tlinspect --print-commands` (the generated file
#     follows the command table)
#   - live (`gdb -p PID`) and core (`gdb BIN CORE`): `tl goroutines` lists the same goroutine ids
#     as `tlinspect --json` run directly, and every goroutine the target recorded for itself
#     (facts.json, written by the Go runtime's own view) is among them
#   - arguments are gdb expressions (`tl goroutine 10+9` shows goroutine 19)
#   - errors set $tl_status and do not abort the script; an engine killed by a signal gives
#     $tl_status = 128+N ($_shell_exitcode void) and the script goes on; no inferior -> status 3
#   - completion (gdb with Python): `complete tl goroutines --s` gives the command's options, not
#     symbols; `help user-defined` lists tl and its commands, not the tl-internal helpers
#   - a gdb without Python (gdb-minimal, TLI_GDB_NOPY): the file loads, tl goroutines and
#     tl explain g EXPR work (else: the Python block is guarded, by reading the file)
#   - latency: per-command wall time in gdb on a LAT_N-goroutine target (default 10000),
#     from gdb's `maint set per-command time on`
# Environment: TLINSPECT, GO_VERSION, TARGET_N (default 1000), LAT_N (default 10000; 0 skips),
# TLI_GDB_NOPY (a gdb built without Python; default /var/lib/tlinspect/gdb-minimal/usr/bin/gdb).
# Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
TARGET_N=${TARGET_N:-1000}
LAT_N=${LAT_N:-10000}
WORK=$TLI_OUT/faces/gdb
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
finish() { local rc=$?; tli_cleanup; rm -f "$WORK"/core.*; exit $rc; }
trap finish EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"; mkdir -p "$WORK"
GDBF=$WORK/tlinspect.gdb
sh "$TLI_ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$TLI" "$TLI" >"$GDBF" || { fail "generate tlinspect.gdb"; }

# gdbrun OUT ARGS... : gdb -batch -nx with the command file sourced first
gdbrun() {
	local out=$1; shift
	timeout -k 5 300 gdb -nx -batch -iex 'set auto-load no' -iex "source $GDBF" "$@" >"$out" 2>&1
}
# ids of "goroutine N [" lines of a text listing
text_ids() { grep -oE '^goroutine [0-9]+ \[' "$1" | awk '{print $2}' | sort -n | uniq; }
# ids of the non-system goroutines of a --json document
json_ids() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print("\n".join(str(g["id"]) for g in d["go"]["goroutines"] if not g.get("system")))' "$1" | sort -n
}
# goids the target recorded for itself (facts.json: roles and main)
facts_ids() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
ids={v for v in d.get("roles",{}).values() if isinstance(v,int)}; ids.add(d["main"]["goid"])
print("\n".join(str(i) for i in sorted(ids) if i))' "$1"
}
# compare_ids LABEL GDBOUT JSON FACTS
compare_ids() {
	local label=$1 t j f missing
	t=$(text_ids "$2"); j=$(json_ids "$3"); f=$(facts_ids "$4")
	if [ -z "$t" ]; then fail "$label: no goroutines in gdb's output"; sed 's/^/     | /' "$2" | head -20; return; fi
	if [ "$t" != "$j" ]; then
		fail "$label: gdb listed $(echo "$t" | wc -l) ids, tlinspect --json $(echo "$j" | wc -l)"
		diff <(echo "$t") <(echo "$j") | head -10 | sed 's/^/     | /'
		return
	fi
	missing=$(comm -23 <(echo "$f" | sort) <(echo "$t" | sort) | tr '\n' ' ')
	if [ -n "$missing" ]; then fail "$label: goroutines the target recorded are missing: $missing"; return; fi
	pass "$label: $(echo "$t" | wc -l) goroutine ids = tlinspect --json, ⊇ the $(echo "$f" | wc -l) the target recorded"
}

ver=${GO_VERSION:-$(tli_go_versions | awk '{print $NF}')}
echo "== gdb $(gdb --version | head -1 | awk '{print $NF}'), go$ver, target -n $TARGET_N"
bin=$(tli_build tests/targets/go/goroutines "$ver") || { fail "build go$ver target"; echo "$PASS passed, $FAIL failed"; exit 1; }

# 1. help tl = the command table
gdbrun "$WORK/help.out" -ex 'help tl'
want=$("$TLI" --print-commands | cut -f1 | grep -vx shell | sort)
got=$(sed -n 's/^tl \([a-z-]*\) -- .*/\1/p' "$WORK/help.out" | sort)
if [ -n "$want" ] && [ "$want" = "$got" ]; then pass "help tl lists the $(echo "$want" | wc -l) commands of the table"
else fail "help tl: want [$(echo $want)] got [$(echo $got)]"; fi
if grep -q '^tl goroutines -- list goroutines' "$WORK/help.out"; then pass "help tl shows each summary"; else fail "help tl summaries"; fi

# 1b. completion and help user-defined (issue 17 item 11). With Python the command file completes
# each command's options from its usage line (gdb's default completer for a user-defined command
# offers symbols: `tl goroutines --s` gave ~200 of them); the helpers and implementations live
# under the deprecated prefix tl-internal, which `help user-defined` leaves out.
opts_of() { "$TLI" --print-commands | awk -F'\t' -v c="$1" '$1 == c {print $2}' | grep -oE -- '--?[a-z][a-z-]*' | sort -u; }
gdbrun "$WORK/complete.out" "$bin" -ex 'complete tl goroutines --s' -ex 'echo @heap\n' -ex 'complete tl heap --' \
	-ex 'echo @explain\n' -ex 'complete tl explain ' -ex 'echo @expr\n' -ex "complete tl goroutine 'main.mai" \
	-ex 'echo @help\n' -ex 'help user-defined'
sect() { awk -v k="@$2" 'NR == 1 && k == "@first" {on = 1} $0 == k {on = 1; next} /^@/ {on = 0} on' "$1"; }
got=$(sect "$WORK/complete.out" first | grep '^tl ' | sort)
want=$(opts_of goroutines | grep -- '^--s' | sed 's/^/tl goroutines /')
if [ -n "$want" ] && [ "$got" = "$want" ]; then pass "complete tl goroutines --s: the options [$(echo $got | sed 's/tl goroutines //g')], no symbols (the binary is loaded)"
else fail "complete tl goroutines --s: want [$(echo $want)] got $(echo "$got" | wc -l) lines: $(echo "$got" | head -3 | tr '\n' ' ')"; fi
got=$(sect "$WORK/complete.out" heap | sed 's/^tl heap //' | sort); want=$(opts_of heap)
[ -n "$want" ] && [ "$got" = "$want" ] && pass "complete tl heap --: heap's options [$(echo $got)]" || fail "complete tl heap --: want [$(echo $want)] got [$(echo $got)]"
got=$(sect "$WORK/complete.out" explain | sed 's/^tl explain //' | sort | paste -sd' ')
[ "$got" = "arena chan chunk g" ] && pass "complete tl explain: the keywords ($got)" || fail "complete tl explain: got [$got]"
grep -qx "tl goroutine 'main.main'\?" "$WORK/complete.out" && pass "complete tl goroutine 'main.mai: an ID is still completed as a gdb expression" ||
	fail "complete tl goroutine EXPR: $(sect "$WORK/complete.out" expr | head -3 | tr '\n' ' ')"
got=$(sect "$WORK/complete.out" help | sed -n 's/^\(tl[a-z -]*\) -- .*/\1/p' | sort)
want=$( (echo tl; "$TLI" --print-commands | cut -f1 | grep -vx shell | sed 's/^/tl /') | sort)
[ "$got" = "$want" ] && pass "help user-defined lists tl and its $(($(echo "$want" | wc -l) - 1)) commands, no helpers" ||
	fail "help user-defined: extra [$(comm -23 <(echo "$got") <(echo "$want") | tr '\n' ' ')] missing [$(comm -13 <(echo "$got") <(echo "$want") | tr '\n' ' ')]"
# a gdb without Python (Debian's gdb-minimal, unpacked by scripts/setup.sh; it conflicts with gdb)
# must never run the Python block: checked on the live target below, or by reading the file
NOPY=${TLI_GDB_NOPY:-/var/lib/tlinspect/gdb-minimal/usr/bin/gdb}
if [ -x "$NOPY" ] && "$NOPY" -nx -batch -ex 'show configuration' 2>/dev/null | grep -q -- '--without-python'; then :; else NOPY=; fi
if awk '/^python$/ {py = 1; if (prev != "if !$_isvoid($_any_caller_is)") bad = 1} {prev = $0} END {exit !(py && !bad)}' "$GDBF"; then
	pass "the Python block is inside if !\$_isvoid(\$_any_caller_is) (gdb's own Python function)"
else fail "tlinspect.gdb: a python block outside the guard"; fi

# 2. live
mkdir -p "$WORK/live"
tli_start "$WORK/live/target.out" "$bin" -out "$WORK/live" -n "$TARGET_N"
tpid=$TLI_PID
if ! tli_wait_ready "$WORK/live/target.out" 60 >/dev/null; then fail "target not ready"; echo "$PASS passed, $FAIL failed"; exit 1; fi
sleep 0.2
"$TLI" --json --pid "$tpid" goroutines >"$WORK/live/direct.json" 2>"$WORK/live/direct.err" || fail "direct tlinspect --pid ($(head -c 200 "$WORK/live/direct.err"))"
role=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["roles"]["chan_send"])' "$WORK/live/facts.json")
cat >"$WORK/live/s.gdb" <<GDB
tl goroutines --top 0
echo @status goroutines \$tl_status\n
tl goroutine $((role - 7))+7
echo @status goroutine \$tl_status\n
tl goroutine 99999999
echo @status missing \$tl_status\n
echo @after-all\n
GDB
sed -i 's/\$tl_status\\n/\\n/; s/^echo @status \([a-z]*\) \\n/printf "@status \1 %d\\n", $tl_status/' "$WORK/live/s.gdb"
gdbrun "$WORK/live/gdb.out" -p "$tpid" -x "$WORK/live/s.gdb"
compare_ids "live gdb -p: tl goroutines" "$WORK/live/gdb.out" "$WORK/live/direct.json" "$WORK/live/facts.json"
grep -q '^@status goroutines 0$' "$WORK/live/gdb.out" && pass "live: \$tl_status 0 after tl goroutines" || fail "live: tl goroutines status ($(grep @status "$WORK/live/gdb.out" | head -1))"
if grep -q "^goroutine $role \[chan send" "$WORK/live/gdb.out" && grep -q '^@status goroutine 0$' "$WORK/live/gdb.out"; then
	pass "live: tl goroutine $((role - 7))+7 evaluated by gdb -> goroutine $role [chan send] (the target's chan_send role)"
else fail "live: tl goroutine EXPR"; grep -A3 "@status goroutines" "$WORK/live/gdb.out" | sed 's/^/     | /'; fi
grep -q '^@status missing 3$' "$WORK/live/gdb.out" && pass "live: missing goroutine -> \$tl_status 3" || fail "live: missing goroutine status ($(grep '@status missing' "$WORK/live/gdb.out"))"
grep -q '^@after-all$' "$WORK/live/gdb.out" && pass "live: script ran to the end after errors" || fail "live: script aborted"
if grep -q 'TracerPid:[[:space:]]*[1-9]' "/proc/$tpid/status"; then fail "live: target still traced after gdb detached"; fi

# 2b. the same file in a gdb without Python: it loads, tl goroutines works, helpers stay hidden
if [ -n "$NOPY" ]; then
	timeout -k 5 300 "$NOPY" -nx -batch -iex 'set auto-load no' -iex "source $GDBF" -p "$tpid" -ex 'tl goroutines --top 0' \
		-ex 'printf "@status %d\n", $tl_status' -ex 'help user-defined' -ex 'echo @explain\n' -ex "tl explain g $((role - 7))+7" \
		>"$WORK/live/nopy.out" 2>&1
	compare_ids "gdb without Python ($("$NOPY" --version | head -1 | awk '{print $NF}'), --without-python): tl goroutines" \
		"$WORK/live/nopy.out" "$WORK/live/direct.json" "$WORK/live/facts.json"
	if grep -q '^@status 0$' "$WORK/live/nopy.out" && ! grep -q -e '^tl-' -e 'Python' "$WORK/live/nopy.out"; then
		pass "gdb without Python: \$tl_status 0, no Python error, no helper in help user-defined"
	else fail "gdb without Python: $(grep -e '@status' -e '^tl-' -e Python "$WORK/live/nopy.out" | head -3 | tr '\n' ' ')"; fi
	# the keyword of tl explain is matched without $_streq (a Python function), the ID evaluated
	if sed -n '/^@explain$/,$p' "$WORK/live/nopy.out" | grep -qE "goid +$role "; then
		pass "gdb without Python: tl explain g $((role - 7))+7 explains goroutine $role"
	else fail "gdb without Python: tl explain g: $(sed -n '/^@explain$/,$p' "$WORK/live/nopy.out" | head -3 | tr '\n' ' ')"; fi
else echo "skip gdb without Python: no gdb-minimal at ${TLI_GDB_NOPY:-/var/lib/tlinspect/gdb-minimal} (scripts/setup.sh unpacks it)"; fi

# 3. core written by gdb
if gcore -o "$WORK/core" "$tpid" >"$WORK/gcore.log" 2>&1 && [ -s "$WORK/core.$tpid" ]; then
	"$TLI" --json --core "$WORK/core.$tpid" --exe "$bin" goroutines >"$WORK/core.json" 2>"$WORK/core.err" || fail "direct tlinspect --core"
	printf 'tl goroutines\nprintf "@status %%d\\n", $tl_status\ntl goroutine 1\n' >"$WORK/c.gdb"
	gdbrun "$WORK/core.out" "$bin" "$WORK/core.$tpid" -x "$WORK/c.gdb"
	compare_ids "core gdb BIN CORE: tl goroutines" "$WORK/core.out" "$WORK/core.json" "$WORK/live/facts.json"
	grep -q "^core $WORK/core.$tpid " "$WORK/core.out" && grep -q '^@status 0$' "$WORK/core.out" &&
		pass "core: the engine read the core gdb holds ($(grep -m1 '^core ' "$WORK/core.out" | cut -c1-90))" ||
		fail "core: header/status"
	rm -f "$WORK/core.$tpid"
else fail "gcore failed: $(tail -2 "$WORK/gcore.log")"; fi
tli_kill "$tpid"

# 4. no inferior: status 3, no abort
printf 'tl goroutines\nprintf "@status %%d\\n", $tl_status\n' >"$WORK/n.gdb"
gdbrun "$WORK/none.out" -x "$WORK/n.gdb"
grep -q '^@status 3$' "$WORK/none.out" && grep -q '^tlinspect: error: gdb has no process' "$WORK/none.out" &&
	pass "no inferior: one error line, \$tl_status 3" || { fail "no inferior"; sed 's/^/     | /' "$WORK/none.out"; }

# 4b. scripts that ask for it: $tl_error_on_failure = 1 makes a failure a gdb error, which stops
# the sourced script there, at line 2 (gdb then stops the scripts that sourced it too)
printf 'set $tl_error_on_failure = 1\ntl goroutines\necho @after\n\n' >"$WORK/e-inner.gdb"
printf 'source %s\necho @outer\n\n' "$WORK/e-inner.gdb" >"$WORK/e.gdb"
gdbrun "$WORK/err.out" -x "$WORK/e.gdb"
grep -q '^tl goroutines: tlinspect failed (exit status 3' "$WORK/err.out" &&
	grep -q 'No struct type named tl_goroutines_failed_with_status_3' "$WORK/err.out" &&
	grep -q 'e-inner.gdb:2: Error in sourced command file' "$WORK/err.out" &&
	! grep -q '^@after$' "$WORK/err.out" && ! grep -q '^@outer$' "$WORK/err.out" &&
	pass "\$tl_error_on_failure = 1: a failure (status 3) stops the sourced script with a gdb error" ||
	{ fail "tl_error_on_failure"; sed 's/^/     | /' "$WORK/err.out"; }

# 5. an engine killed by a signal must not abort the user's script
printf '#!/bin/sh\ncat >/dev/null\nkill -SEGV $$\n' >"$WORK/crash.sh"; chmod +x "$WORK/crash.sh"
sh "$TLI_ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$TLI" "$WORK/crash.sh" >"$WORK/crash.gdb"
printf 'source %s\ntl goroutines\nprintf "@status %%d\\n", $tl_status\necho @after\\n\n' "$WORK/crash.gdb" >"$WORK/k.gdb"
timeout 60 gdb -nx -batch -x "$WORK/k.gdb" >"$WORK/crash.out" 2>&1
grep -q '^@status 139$' "$WORK/crash.out" && grep -q '^@after$' "$WORK/crash.out" &&
	pass "engine killed by SIGSEGV: \$tl_status 139, script continues" || { fail "signal case"; sed 's/^/     | /' "$WORK/crash.out"; }

# 6. latency on a big target
if [ "$LAT_N" -gt 0 ]; then
	mkdir -p "$WORK/lat"
	tli_start "$WORK/lat/target.out" "$bin" -out "$WORK/lat" -n "$LAT_N"
	lpid=$TLI_PID
	if tli_wait_ready "$WORK/lat/target.out" 120 >/dev/null; then
		sleep 0.2
		{ echo 'maint set per-command time on'
		  for i in 1 2 3 4 5 6 7 8 9 10; do echo 'tl goroutine 1'; done
		  for i in 1 2 3; do echo 'tl goroutines'; done
		  for i in 1 2 3; do echo 'tl version'; done; } >"$WORK/lat/l.gdb"
		gdbrun "$WORK/lat/gdb.out" -p "$lpid" -x "$WORK/lat/l.gdb"
		n=$(grep -c '^goroutine 1 \[' "$WORK/lat/gdb.out")
		times=$(grep -o 'Command execution time: [0-9.]* (cpu), [0-9.]* (wall)' "$WORK/lat/gdb.out" | awk '{print $6}')
		med() { sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.0f", a[int((NR+1)/2)]*1000; else print "?"}'; }
		g1=$(echo "$times" | sed -n '2,11p' | med); gs=$(echo "$times" | sed -n '12,14p' | med); gv=$(echo "$times" | sed -n '15,17p' | med)
		eng=$( { /usr/bin/time -f '%e %U %S' "$TLI" --no-stop --pid "$lpid" goroutine 1 >/dev/null; } 2>&1 | tail -1)
		load=$(cut -d' ' -f1 /proc/loadavg)
		if [ "$n" -ge 10 ]; then
			pass "latency, $LAT_N-goroutine target, median wall in gdb: tl goroutine 1 ${g1} ms, tl goroutines ${gs} ms, tl version ${gv} ms (engine alone: wall/user/sys $eng s; load average $load)"
		else fail "latency run: only $n of 10 'tl goroutine 1' printed"; tail -5 "$WORK/lat/gdb.out"; fi
	else fail "latency target not ready"; fi
	tli_kill "$lpid"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
