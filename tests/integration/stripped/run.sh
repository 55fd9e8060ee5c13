#!/usr/bin/env bash
# tests/integration/stripped/run.sh — the same answers with and without debug info (issue 5).
#
# For every installed Go toolchain (restrict with GO_VERSIONS="1.19 1.24"):
#   build tests/targets/go/goroutines twice (default, and -ldflags=-s -w), start both, and compare
#     (1) tlinspect --json goroutines --stacks  on the STRIPPED process   (runtime maps + finder)
#     (2) the same on the UNSTRIPPED process                              (DWARF)
#     (3) the same on the unstripped process with --no-dwarf              (symtab + runtime maps)
#     (4) the stripped process from a gcore core, against (1) with ids kept
#   as JSON with addresses/pc/pid/exe/pause/bytes_read/wait_seconds/layout_source/threads removed
#   (normalize.py). The target is deterministic in goroutine creation order, so ids agree.
#   Also checks that (1) and (3) really used the runtime maps, and that a Go version without a
#   map is refused with exit code 11 and the documented message.
# Ends with "N passed, M failed"; exit status 1 if M > 0.
set -u
shopt -s extglob
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"

TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
N=${TARGET_N:-50}
WORK=$TLI_OUT/stripped
PASS=0
FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
trap 'tli_cleanup' EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK"

# inspect NAME PID NORMOPT [OPTS...]: JSON into $WORK/NAME.json, normalized into NAME.norm
inspect() {
	local name=$1 pid=$2 norm=$3
	shift 3
	if ! "$TLI" --pid "$pid" --json "$@" goroutines --stacks >"$WORK/$name.json" 2>"$WORK/$name.err"; then
		fail "$name: tlinspect exited $? ($(head -c 300 "$WORK/$name.err"))"
		return 1
	fi
	python3 "$HERE/normalize.py" $norm "$WORK/$name.json" >"$WORK/$name.norm"
}

same() { # same A B WHAT
	if diff -u "$WORK/$1.norm" "$WORK/$2.norm" >"$WORK/$1-vs-$2.diff"; then
		pass "$3 ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["go"]["goroutine_count"], "goroutines")' "$WORK/$1.json"))"
	else
		fail "$3: JSON differs:"
		head -30 "$WORK/$1-vs-$2.diff" | sed 's/^/     | /'
	fi
}

source_is() { # source_is NAME PATTERN
	local src
	src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"].get("layout_source"))' "$WORK/$1.json")
	case $src in
	$2) pass "$1: layout source $src" ;;
	*) fail "$1: layout source is '$src', expected $2" ;;
	esac
}

for v in $(tli_go_versions); do
	plain=$(tli_build tests/targets/go/goroutines "$v" default) || { fail "go$v: build"; continue; }
	strip=$(tli_build tests/targets/go/goroutines "$v" stripped) || { fail "go$v: build -s -w"; continue; }
	if readelf -S "$strip" | grep -q -e '\.symtab' -e '\.debug_info' -e '\.zdebug_info'; then
		fail "go$v: $strip still has .symtab or DWARF"
		continue
	fi
	d=$WORK/go$v
	mkdir -p "$d/plain" "$d/strip"
	tli_start "$d/plain.out" "$plain" -out "$d/plain" -n "$N"
	ppid=$(tli_wait_ready "$d/plain.out" 60) || { fail "go$v: unstripped target not ready"; continue; }
	tli_start "$d/strip.out" "$strip" -out "$d/strip" -n "$N"
	spid=$(tli_wait_ready "$d/strip.out" 60) || { fail "go$v: stripped target not ready"; tli_kill "$ppid"; continue; }

	ok=1
	# same process: ids must agree too; two processes: ids are not deterministic
	pf="--facts $d/plain/facts.json"
	sf="--facts $d/strip/facts.json"
	inspect "go$v-dwarf" "$ppid" "--ids $pf" || ok=0
	inspect "go$v-nodwarf" "$ppid" "--ids $pf" --no-dwarf || ok=0
	inspect "go$v-dwarf-noids" "$ppid" "$pf" || ok=0
	inspect "go$v-stripped" "$spid" "$sf" || ok=0
	if [ $ok = 1 ]; then
		source_is "go$v-dwarf" 'dwarf*'
		source_is "go$v-nodwarf" '@(runtime-maps|elf-symtab)*'
		source_is "go$v-stripped" 'runtime-maps*'
		same "go$v-dwarf" "go$v-nodwarf" "go$v: unstripped, DWARF vs --no-dwarf"
		same "go$v-dwarf-noids" "go$v-stripped" "go$v: unstripped (DWARF) vs stripped (runtime maps)"
		# the stripped process again from a core: live and core must agree
		inspect "go$v-stripped-ids" "$spid" "--ids --no-minutes $sf" || ok=0
		rm -f "$d"/score.*
		if [ $ok = 1 ] && gcore -o "$d/score" "$spid" >"$d/gcore.log" 2>&1; then
			score=$(ls "$d"/score.* | head -1)
			if "$TLI" --core "$score" --exe "$strip" --json goroutines --stacks \
				>"$WORK/go$v-stripped-core.json" 2>"$WORK/go$v-stripped-core.err"; then
				python3 "$HERE/normalize.py" --ids --no-minutes $sf "$WORK/go$v-stripped-core.json" \
					>"$WORK/go$v-stripped-core.norm"
				source_is "go$v-stripped-core" 'runtime-maps*'
				same "go$v-stripped-ids" "go$v-stripped-core" "go$v: stripped, live vs gcore core"
			else
				fail "go$v: stripped core: tlinspect exited $? ($(head -c 300 "$WORK/go$v-stripped-core.err"))"
			fi
			rm -f "$score"
		elif [ $ok = 1 ]; then
			fail "go$v: gcore of the stripped target failed: $(tail -1 "$d/gcore.log")"
		fi
	fi
	tli_kill "$ppid"
	tli_kill "$spid"
done

# A Go version without a map: point the map search at an empty directory.
v=$(tli_go_versions | awk '{print $NF}')
if [ -n "$v" ] && [ -x "$TLI_OUT/go$v/goroutines-stripped" ]; then
	empty=$WORK/empty-maps
	mkdir -p "$empty/go"
	tli_start "$WORK/nomap.out" "$TLI_OUT/go$v/goroutines-stripped" -out "$WORK" -n 0
	pid=$(tli_wait_ready "$WORK/nomap.out" 60) || pid=
	if [ -n "$pid" ]; then
		TLINSPECT_RUNTIME_MAPS=$empty "$TLI" --pid "$pid" goroutines >"$WORK/nomap.stdout" 2>"$WORK/nomap.err"
		rc=$?
		if [ $rc = 11 ] && grep -q "^tlinspect: error: .*Go go$v[.0-9]* has no runtime map (.*/go/$v.map); generate one with \`tlinspect maps gen BINARY-BUILT-WITH-IT\`" "$WORK/nomap.err" &&
			[ "$(wc -l <"$WORK/nomap.err")" = 1 ]; then
			pass "go$v without a runtime map: refused, exit 11, one-line message"
		else
			fail "go$v without a runtime map: exit $rc, stderr: $(cat "$WORK/nomap.err")"
		fi
		tli_kill "$pid"
	else
		fail "go$v: target for the no-map case not ready"
	fi
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
