#!/usr/bin/env bash
# tests/integration/goleak.sh - differential harness for `leaks` (issue 16): the programs of
# Go's own leak-profile test set (runtime/testdata/testgoroutineleakprofile of the newest
# installed toolchain with a goroutineleak profile, Go 1.27 by default) are built with a hook
# (tests/targets/go/goleakprof/dump.go) that freezes each where its leaks exist, once it has
# settled. On that frozen state `tlinspect --pid P leaks --json` runs 5 times, a gcore core is
# taken and `leaks` runs 5 times on it: the 10 answers must be identical (a program that never
# settled is noted instead: it may still move). Then the program writes the truth on the same
# state: the runtime's own goroutineleak profile (debug=2), or on a toolchain without one
# (go1.19, 1.21-1.25) its goroutine profile, where the Go test's own expectations
# (runtime/goroutineleakprofile_test.go) say which goroutines are leaked; compared with the
# answer on the core by tests/integration/goleak_check.py (see there).
# Sets (GOLEAK_SET="top goker timers old" by default): "top", the top-level programs, "goker",
# GoKer's real-world blocking bugs (goker/): a fixed subset in CI, all 63 with GOLEAK_GOKER=all,
# "timers" (waiters of timer channels, truth by construction, also on old toolchains) and "old":
# top and GoKer programs built by the other toolchains: a subset on go1.19 and go1.22 in CI,
# every program on every installed toolchain with GOLEAK_OLD=all (GOLEAK_OLD_VERSIONS="1.21 1.25"
# picks toolchains). Per program: goroutine ids found by both, missed (recall) and called
# leaked by us only (false positives). Programs run as the runtime's test runs them
# (GODEBUG=asyncpreemptoff=1, GOMAXPROCS=1 for its "simple" ones). Checks: no false positive,
# the truth found exactly, repeatable. GOLEAK_ONLY="A B" limits the programs (of each set).
# Ends with "goleak: N passed, M failed"; figures per toolchain and set in
# $TLI_OUT/goVER-SET/summary.tsv; tests/integration/goleak_table.py prints them as a table.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite goleak
trap tli_cleanup EXIT
trap 'exit 130' INT TERM   # (a trap that only cleans up would let the loops go on)

ver=
for v in $(tli_go_versions); do
	[ -d "/usr/lib/go-$v/src/runtime/testdata/testgoroutineleakprofile" ] &&
		grep -q goroutineleak "/usr/lib/go-$v/src/runtime/pprof/pprof.go" 2>/dev/null && ver=$v
done
[ -n "$ver" ] || { echo "goleak: no toolchain with runtime/testdata/testgoroutineleakprofile: skipped"; tli_suite_end; exit; }
srcdir=/usr/lib/go-$ver/src/runtime/testdata/testgoroutineleakprofile

# goleak_set SET SRCDIR NAMES SIMPLE SKIP VER: build the programs of SRCDIR with the hook by
# toolchain VER, run each of NAMES (GOMAXPROCS=1 for those in SIMPLE, as the runtime's test does)
# and compare (tests/integration/goleak_check.py); results go to $TLI_OUT/goVER-SET/
# (checks.txt, summary.tsv: version, set, name, oracle, truth, tlinspect, both, missed, extra,
# expect_diff, live_same). The oracle is the runtime's goroutineleak profile where VER has one,
# else the Go test's expectations applied to the goroutine profile of the same frozen state.
goleak_set() {
	local set=$1 src=$2 names=$3 simple=$4 skip=${5:-} v=${6:-$ver}
	[ -n "${names// /}" ] || return 0
	local dir=$TLI_OUT/go$v-$set build=$TLI_OUT/src-$set-$v bin name envs out tpid pid r i t0=$SECONDS
	local exp= oracle=expect
	mkdir -p "$dir" "$build"
	cp "$src"/*.go "$build"/
	cp "$ROOT/tests/targets/go/goleakprof/dump.go" "$ROOT/tests/targets/go/goleakprof/go.mod" "$build"/
	sed -i 's/prof\.WriteTo(os\.Stdout, 2)/tliDump(prof, os.Stdout)/; s/prof\.WriteTo(io\.Discard, 2)/tliDiscard(prof, io.Discard)/' \
		"$build"/*.go
	# the module's go line may not be newer than the toolchain (GOTOOLCHAIN=local)
	[ "$(printf '%s\n1.26\n' "$v" | sort -V | head -1)" = 1.26 ] || sed -i "s/^go .*/go $v/" "$build/go.mod"
	if grep -q '"goroutineleak"' "/usr/lib/go-$v/src/runtime/pprof/pprof.go" 2>/dev/null; then
		oracle=runtime
		# Go 1.26 has the profile behind GOEXPERIMENT=goroutineleakprofile
		grep -q 'goexperiment.GoroutineLeakProfile' "/usr/lib/go-$v/src/runtime/pprof/pprof.go" &&
			exp=goroutineleakprofile
	fi
	bin=$(GOEXPERIMENT=$exp tli_build "$build" "$v" default) || { tli_bad "go$v $set: build"; return; }
	: > "$dir/summary.tsv"
	for name in $names; do
		envs=(GODEBUG=asyncpreemptoff=1)
		grep -qx "$name" <<< "$simple" && envs+=(GOMAXPROCS=1)
		out=$dir/$name.out
		tli_start "$out" env "${envs[@]}" "$bin" "$name"
		tpid=$TLI_PID
		if ! pid=$(tli_wait_ready "$out" 45); then
			# a program the runtime's own test leaves out (Kubernetes1321: its race may crash it)
			if grep -qx "$name" <<< "$skip"; then
				echo "note go$v $set $name: did not reach its profile (the runtime's test does not run it either)"
			else
				echo "FAIL go$v $set $name: did not reach its profile"
			fi
			tli_kill "$tpid"
			continue
		fi
		# the program is frozen (settled, then waiting for SIGUSR1): 5 live runs, then 5 on a
		# core of the same state; all 10 must agree (unless it never settled)
		for r in 1 2 3 4 5; do
			"$TLI" --pid "$pid" --json leaks --top 0 > "$dir/$name.leaks.$r.json" 2> "$dir/$name.leaks.$r.err" ||
				tli_log "$name: tlinspect exit $? (see $dir/$name.leaks.$r.err)"
		done
		rm -f "$dir/$name.gcore".*
		gcore -o "$dir/$name.gcore" "$pid" > /dev/null 2>&1 || tli_log "$name: gcore failed"
		for r in 1 2 3 4 5; do
			"$TLI" --core "$dir/$name.gcore.$pid" --exe "$bin" --json leaks --top 0 > "$dir/$name.core.$r.json" \
				2> "$dir/$name.core.$r.err" || tli_log "$name: tlinspect (core) exit $?"
		done
		kill -USR1 "$pid"
		for ((i = 0; i < 200; i++)); do grep -q tli-profile-end "$out" && break; sleep 0.05; done
		tli_kill "$tpid"
		python3 "$ROOT/tests/integration/goleak_check.py" "$name" "$dir" "$dir/summary.tsv" "$v" "$set" \
			"$oracle" "$gtest" "$TLI" "$dir/$name.gcore.$pid" "$bin"
		rm -f "$dir/$name.gcore".*
	done > "$dir/checks.txt"
	grep -v '^note ' "$dir/checks.txt"; grep '^note ' "$dir/checks.txt" || true
	TLI_PASS=$((TLI_PASS + $(grep -c '^ok ' "$dir/checks.txt")))
	TLI_FAIL=$((TLI_FAIL + $(grep -c '^FAIL ' "$dir/checks.txt")))
	awk -F'\t' '{t+=$5; both+=$7; fp+=$9; n++; if ($8 == 0 && $9 == 0) same++
		if ($4 == "expect") tiny+=$12 + $13}
		END {printf "goleak: go'"$v"' '"$set"' ('"$oracle"'): recall %d/%d, false positives %d, %d/%d programs exact", both, t - tiny, fp, same, n
		     if (tiny) printf " (%d expected leaks kept by a tiny block or a root path: not counted)", tiny; print ""}' \
		"$dir/summary.tsv"
	echo "goleak: go$v $set took $((SECONDS - t0)) s"
}

gtest=/usr/lib/go-$ver/src/runtime/goroutineleakprofile_test.go
top_names=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/*.go | sed 's/register("//; s/"//')
top_simple=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/simple.go | sed 's/register("//; s/"//')
# GoKer (real-world blocking bugs, goker/README.md), run as the runtime's test runs them
# (goroutineleakprofile_test.go gokerTestCases): makeTest entries with GOMAXPROCS=1,
# makeFlakyTest ones without. "Flaky" there means the leak does not always happen; the
# test then only forbids unexpected leaks. Here the oracle is the runtime's profile of
# the very state tlinspect saw, so flaky programs are compared like the others (when the
# leak did not happen, both must say so). Programs the test leaves out (Kubernetes1321:
# a race in it may crash it) run with GOLEAK_GOKER=all only, and may fail to start.
gcases=$(awk '/gokerTestCases := /,/^\t}$/' "$gtest")
goker_simple=$(grep -o 'makeTest("[A-Za-z0-9]*"' <<< "$gcases" | sed 's/.*("//; s/"//')
goker_all=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/goker/*.go 2>/dev/null | sed 's/register("//; s/"//')
goker_skip=$(grep -vxF -f <(grep -o 'make\(Flaky\)\?Test("[A-Za-z0-9]*"' <<< "$gcases" | sed 's/.*("//; s/"//') \
	<<< "$goker_all" || true)

sets=${GOLEAK_SET:-top goker timers old}
# goleak_pick ALL DEFAULT: DEFAULT, or the programs of GOLEAK_ONLY that are in ALL
goleak_pick() {
	[ -z "${GOLEAK_ONLY:-}" ] && { echo "$2"; return; }
	printf '%s\n' $GOLEAK_ONLY | grep -xF -f <(printf '%s\n' $1) | tr '\n' ' '
}
# CI: a fixed subset (~90 s on 2 cores) covering each kind of wait and each cause fixed while
# bringing the whole set to agreement; GOLEAK_GOKER=all: all 63
goker_ci="Grpc795 Cockroach9935 Istio16224 Istio18454 Moby30408 Kubernetes11298 Etcd6873 Cockroach1462 Moby21233 Syncthing5795"
[ "${GOLEAK_GOKER:-}" = all ] && goker_ci=$goker_all
if [[ " $sets " == *" top "* ]]; then
	# the top-level programs (not goker/)
	goleak_set top "$srcdir" "$(goleak_pick "$top_names" "$top_names")" "$top_simple"
fi
if [[ " $sets " == *" goker "* ]] && [ -d "$srcdir/goker" ]; then
	goleak_set goker "$srcdir/goker" "$(goleak_pick "$goker_all" "${GOLEAK_GOKER_CI:-$goker_ci}")" "$goker_simple" "$goker_skip"
fi
if [[ " $sets " == *" old "* ]]; then
	# the same programs built by the other toolchains: before go1.26 no runtime detector, the
	# truth is the Go test's expectations (goleak_check.py); go1.26 has the runtime's profile
	# with GOEXPERIMENT=goroutineleakprofile. CI (~60 s): a subset on go1.19 and go1.22 (semtable
	# and tiny blocks: MutexHeap; sync.Cond: Cond, Moby30408; channels and the P's words:
	# NoCloseRange; timers in P heaps: Timeout); GOLEAK_OLD=all: every program (GoKer as
	# GOLEAK_GOKER says: all 63 with =all) on every other installed toolchain.
	# GOLEAK_OLD_VERSIONS="1.21 1.25" picks the toolchains.
	old_top="MutexHeap Cond NoCloseRange Timeout"
	old_goker="Moby30408"
	old_vs="1.19 1.22"
	if [ "${GOLEAK_OLD:-}" = all ]; then
		old_top=$top_names old_goker=$goker_ci
		old_vs=$(printf '%s\n' $(tli_go_versions) | grep -vx "$ver")
	fi
	for v in ${GOLEAK_OLD_VERSIONS:-$old_vs}; do
		[[ " $(tli_go_versions) " == *" $v "* ]] || { echo "note goleak: no go$v toolchain: skipped"; continue; }
		goleak_set top "$srcdir" "$(goleak_pick "$top_names" "$old_top")" "$top_simple" "" "$v"
		[ -d "$srcdir/goker" ] &&
			goleak_set goker "$srcdir/goker" "$(goleak_pick "$goker_all" "$old_goker")" "$goker_simple" "$goker_skip" "$v"
	done
fi
if [[ " $sets " == *" timers "* ]]; then
	# timer channels on the oldest, a pre-1.23 and the newest toolchain (no runtime oracle before
	# 1.26: truth by construction, tests/targets/go/leaktimers): never a pending timer's waiter;
	# the stopped timers' waiters where stopped timers leave the P's heap at once (go1.23+)
	vs=$(tli_go_versions)
	for v in $(printf '%s\n' $vs | head -1) 1.22 $(printf '%s\n' $vs | tail -1); do
		[[ " $vs " == *" $v "* ]] || continue
		b=$(tli_build tests/targets/go/leaktimers "$v" default) || { tli_bad "go$v timers: build"; continue; }
		tli_start "$TLI_OUT/timers-$v.out" "$b"
		tpid=$TLI_PID
		if pid=$(tli_wait_ready "$TLI_OUT/timers-$v.out" 20); then
			"$TLI" --pid "$pid" --json leaks --top 0 > "$TLI_OUT/timers-$v.json" 2> "$TLI_OUT/timers-$v.err"
			r=$(python3 -c '
import collections, json, sys
d = json.load(open(sys.argv[1]))["go"]
c = collections.Counter((g.get("user") or {}).get("function") for g in d["leaked_goroutines"])
print(sum(n for f, n in c.items() if f != "main.stopped"), c["main.stopped"])' "$TLI_OUT/timers-$v.json")
			read -r fp st <<< "$r"
			[ "$fp" = 0 ] && tli_ok "go$v timers: no waiter of a pending timer or ticker called leaked" ||
				tli_bad "go$v timers: $fp waiters of pending timers called leaked"
			if [ "$(printf '%s\n1.23\n' "$v" | sort -V | head -1)" = 1.23 ]; then
				[ "$st" = 3 ] && tli_ok "go$v timers: the 3 waiters of stopped timers are leaked" ||
					tli_bad "go$v timers: $st of 3 waiters of stopped timers found"
			else
				echo "note go$v timers: $st of 3 waiters of stopped timers found (deleted timers stay in the heap)"
			fi
		else
			tli_bad "go$v timers: not ready"
		fi
		tli_kill "$tpid"
	done
fi
tli_suite_end
