#!/usr/bin/env bash
# tests/integration/chans/run.sh — tlinspect's channel, graph and leak commands against the
# truth the target records about itself (tests/targets/go/chans: len()/cap() of each channel,
# the goroutine ids it deliberately leaked, which blocked goroutines are NOT leaks), live and
# from a gcore core, for each Go toolchain in GO_VERSIONS (default "1.19 1.22 1.24 1.26 1.27", the
# installed ones; add 1.26 to include it). On Go >= 1.26 the target also records the runtime's
# own goroutineleak profile BEFORE tlinspect looks; the leaked sets must be equal. Go 1.26
# registers that profile only with GOEXPERIMENT=goroutineleakprofile, so 1.26 is built with
# it (1.27 has it by default).
# Each version also runs the same process with --no-dwarf (runtime maps + capstone finder; the
# JSON must be identical) and a stripped build (-ldflags=-s -w) checked against its own facts.
# Ends with "N passed, M failed"; exit status 1 if M > 0.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"

TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
GO_VERSIONS=${GO_VERSIONS:-"1.19 1.22 1.24 1.26 1.27"}
WORK=$TLI_OUT/integration-chans
PASS=0
FAIL=0
# a private copy: the build tree's binary may be relinked while we run
mkdir -p "$WORK"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	cp "$TLI" "$WORK/tlinspect.tmp" 2>/dev/null && chmod 0755 "$WORK/tlinspect.tmp" &&
		"$WORK/tlinspect.tmp" --version >/dev/null 2>&1 && mv "$WORK/tlinspect.tmp" "$WORK/tlinspect" && break
	sleep 2
done
[ -x "$WORK/tlinspect" ] || { echo "cannot run $TLI"; exit 1; }
TLI=$WORK/tlinspect

trap 'tli_cleanup; exit 130' INT TERM
trap 'tli_cleanup' EXIT

tally() { # FILE: count ok/FAIL lines of a check.py output, and show them
	local f=$1
	cat "$f"
	PASS=$((PASS + $(grep -c '^ok ' "$f")))
	FAIL=$((FAIL + $(grep -c '^FAIL ' "$f")))
}
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }

# inspect DIR TARGETARGS...: every command the checks need, into DIR
inspect() {
	local d=$1 name addr
	shift
	mkdir -p "$d"
	timeout 120 "$TLI" "$@" --json leaks >"$d/leaks.json" 2>"$d/leaks.err"
	timeout 120 "$TLI" "$@" --json chans >"$d/chans.json" 2>"$d/chans.err"
	timeout 120 "$TLI" "$@" --json goroutines >"$d/goroutines.json" 2>"$d/goroutines.err"
	timeout 120 "$TLI" "$@" graph --dot >"$d/graph.dot" 2>"$d/graph.err"
	while read -r name addr; do
		timeout 60 "$TLI" "$@" --json chan "$addr" >"$d/chan-$name.json" 2>"$d/chan-$name.err"
		[ "$name" = strs ] && timeout 60 "$TLI" "$@" --json chan "$addr" --values \
			>"$d/chan-$name-values.json" 2>/dev/null
	done < <(python3 "$HERE/check.py" addrs "$d/../facts.json")
	# the text renderings must not fail either
	for c in leaks chans graph; do
		if ! timeout 60 "$TLI" "$@" "$c" >"$d/$c.txt" 2>&1; then
			fail "$(basename "$(dirname "$d")")/$(basename "$d"): text '$c' failed: $(head -1 "$d/$c.txt")"
		fi
	done
}

for v in $GO_VERSIONS; do
	if [ ! -x "$(tli_go_bin "$v")" ]; then
		printf 'skip go%s: not installed\n' "$v"
		continue
	fi
	dir=$WORK/go$v
	rm -rf "$dir"
	mkdir -p "$dir"
	exp=
	[ "$v" = 1.26 ] && exp=goroutineleakprofile
	if ! bin=$(GOEXPERIMENT=$exp tli_build tests/targets/go/chans "$v" 2>"$dir/build.log"); then
		fail "go$v: build failed"
		continue
	fi
	tli_start "$dir/target.out" "$bin" -out "$dir" -leakprofile "$dir/leak.txt"
	if ! pid=$(tli_wait_ready "$dir/target.out" 60); then
		fail "go$v: target not ready"
		continue
	fi
	inspect "$dir/live" --pid "$pid"
	python3 "$HERE/check.py" check "$dir/live" "go$v live" >"$dir/live/check.txt" 2>&1
	tally "$dir/live/check.txt"
	# the same process without DWARF (runtime maps + the capstone finder): same JSON
	inspect "$dir/nodwarf" --pid "$pid" --no-dwarf
	python3 "$HERE/check.py" same "$dir/live" "$dir/nodwarf" "go$v --no-dwarf" >"$dir/nodwarf/check.txt" 2>&1
	tally "$dir/nodwarf/check.txt"
	if gcore -o "$dir/core" "$pid" >"$dir/gcore.log" 2>&1 && [ -s "$dir/core.$pid" ]; then
		inspect "$dir/core-check" --core "$dir/core.$pid" --exe "$bin"
		python3 "$HERE/check.py" check "$dir/core-check" "go$v core" >"$dir/core-check/check.txt" 2>&1
		tally "$dir/core-check/check.txt"
		[ "${KEEP:-0}" = 1 ] || rm -f "$dir/core.$pid"
	else
		fail "go$v: gcore failed ($(tail -1 "$dir/gcore.log"))"
	fi
	tli_kill "$pid"

	# a stripped build (-ldflags=-s -w), checked against its own facts, live and from a core
	sdir=$dir/stripped
	mkdir -p "$sdir"
	if ! sbin=$(GOEXPERIMENT=$exp tli_build tests/targets/go/chans "$v" stripped 2>"$sdir/build.log"); then
		fail "go$v stripped: build failed"
		continue
	fi
	tli_start "$sdir/target.out" "$sbin" -out "$sdir" -leakprofile "$sdir/leak.txt"
	if ! pid=$(tli_wait_ready "$sdir/target.out" 60); then
		fail "go$v stripped: target not ready"
		continue
	fi
	inspect "$sdir/live" --pid "$pid"
	python3 "$HERE/check.py" check "$sdir/live" "go$v stripped live" stripped >"$sdir/live/check.txt" 2>&1
	tally "$sdir/live/check.txt"
	if gcore -o "$sdir/core" "$pid" >"$sdir/gcore.log" 2>&1 && [ -s "$sdir/core.$pid" ]; then
		inspect "$sdir/core-check" --core "$sdir/core.$pid" --exe "$sbin"
		python3 "$HERE/check.py" check "$sdir/core-check" "go$v stripped core" stripped \
			>"$sdir/core-check/check.txt" 2>&1
		tally "$sdir/core-check/check.txt"
		[ "${KEEP:-0}" = 1 ] || rm -f "$sdir/core.$pid"
	else
		fail "go$v stripped: gcore failed ($(tail -1 "$sdir/gcore.log"))"
	fi
	tli_kill "$pid"
done

printf '%d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
