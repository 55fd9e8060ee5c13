#!/usr/bin/env bash
# tests/integration/goleak.sh - differential harness for `leaks` (issue 16): the programs of
# Go's own leak-profile test set (runtime/testdata/testgoroutineleakprofile of the newest
# installed toolchain with a goroutineleak profile, Go 1.27 by default) are built with a hook
# (tests/targets/go/goleakprof/dump.go) that freezes each where its leaks exist, once it has
# settled. On that state `tlinspect --pid P leaks --json` runs 3 times, a gcore core is taken
# and `leaks` runs 5 times on it (the 5 answers on the same frozen memory must be identical:
# the tool is deterministic; live answers may differ when the program itself still moves:
# that is noted), then the program writes the runtime's own goroutineleak profile (debug=2) on
# the same state: the oracle, compared with the answer on the core.
# Sets (GOLEAK_SET="top goker timers" by default): "top", the top-level programs, "goker",
# GoKer's real-world blocking bugs (goker/): a fixed subset in CI, all 63 with GOLEAK_GOKER=all,
# and "timers" (waiters of timer channels, truth by construction, also on old toolchains).
# Per program: goroutine ids found by both, missed (recall) and called leaked by us only (false
# positives). Programs run as the runtime's test runs them (GODEBUG=asyncpreemptoff=1,
# GOMAXPROCS=1 for its "simple" ones). Checks: no false positive, the runtime's set found
# exactly, repeatable. GOLEAK_ONLY="A B" limits the programs (of each set asked for).
# Ends with "goleak: N passed, M failed"; figures per set in $TLI_OUT/SET/summary.tsv.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite goleak
trap tli_cleanup EXIT INT TERM

ver=
for v in $(tli_go_versions); do
	[ -d "/usr/lib/go-$v/src/runtime/testdata/testgoroutineleakprofile" ] &&
		grep -q goroutineleak "/usr/lib/go-$v/src/runtime/pprof/pprof.go" 2>/dev/null && ver=$v
done
[ -n "$ver" ] || { echo "goleak: no toolchain with runtime/testdata/testgoroutineleakprofile: skipped"; tli_suite_end; exit; }
srcdir=/usr/lib/go-$ver/src/runtime/testdata/testgoroutineleakprofile
env_exp=
grep -q '"goroutineleak"' "/usr/lib/go-$ver/src/runtime/pprof/pprof.go" || true
# Go 1.26 has the profile behind GOEXPERIMENT=goroutineleakprofile
[ "$ver" = 1.26 ] && env_exp=goroutineleakprofile

# goleak_set SET SRCDIR NAMES SIMPLE: build the programs of SRCDIR with the hook, run each of NAMES
# (GOMAXPROCS=1 for those in SIMPLE, as the runtime's test does) and compare; results go to
# $TLI_OUT/SET/ (checks.txt, summary.tsv: name, runtime, tlinspect, both, missed, extra).
goleak_set() {
	local set=$1 src=$2 names=$3 simple=$4 skip=${5:-}
	local dir=$TLI_OUT/$set build=$TLI_OUT/src-$set bin name envs out tpid pid r i t0=$SECONDS
	mkdir -p "$dir" "$build"
	cp "$src"/*.go "$build"/
	cp "$ROOT/tests/targets/go/goleakprof/dump.go" "$ROOT/tests/targets/go/goleakprof/go.mod" "$build"/
	sed -i 's/prof\.WriteTo(os\.Stdout, 2)/tliDump(prof, os.Stdout)/' "$build"/*.go
	bin=$(GOEXPERIMENT=$env_exp tli_build "$build" "$ver" default) || { tli_bad "go$ver $set: build"; return; }
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
				echo "note $set $name: did not reach its profile (the runtime's test does not run it either)"
			else
				echo "FAIL $set $name: did not reach its profile"
			fi
			tli_kill "$tpid"
			continue
		fi
		for r in 1 2 3; do
			"$TLI" --pid "$pid" --json leaks --top 0 > "$dir/$name.leaks.$r.json" 2> "$dir/$name.leaks.$r.err" ||
				tli_log "$name: tlinspect exit $? (see $dir/$name.leaks.$r.err)"
		done
		rm -f "$dir/$name.gcore".*
		gcore -o "$dir/$name.gcore" "$pid" > /dev/null 2>&1 || tli_log "$name: gcore failed"
		for r in 1 2 3 4 5; do
			"$TLI" --core "$dir/$name.gcore.$pid" --exe "$bin" --json leaks --top 0 > "$dir/$name.core.$r.json" \
				2> "$dir/$name.core.$r.err" || tli_log "$name: tlinspect (core) exit $?"
		done
		rm -f "$dir/$name.gcore".*
		kill -USR1 "$pid"
		for ((i = 0; i < 200; i++)); do grep -q tli-profile-end "$out" && break; sleep 0.05; done
		tli_kill "$tpid"
		python3 - "$name" "$dir" "$dir/summary.tsv" <<'PY'
import json, re, sys
name, out, summary = sys.argv[1:4]
text = open(f"{out}/{name}.out", errors="replace").read()
prof = text.split("tli-profile-begin", 1)[-1].split("tli-profile-end", 1)[0] if "tli-profile-begin" in text else None
def answers(kind, n):
    res = []
    for r in range(1, n + 1):
        try:
            d = json.load(open(f"{out}/{name}.{kind}.{r}.json"))["go"]
            res.append(sorted(g["id"] for g in d["leaked_goroutines"]))
        except Exception as e:  # an unreadable answer counts as a differing one
            res.append(None)
    return res
runs, core = answers("leaks", 3), answers("core", 5)
ok = True
def say(good, msg):
    global ok
    print(("ok   " if good else "FAIL ") + msg)
    ok = ok and good
if prof is None:
    say(False, f"{name}: the runtime's profile was not written")
    sys.exit(0)
rt = set(int(m) for m in re.findall(r"(?m)^goroutine (\d+) \[.*\(leaked\)", prof))
if "unsettled" in text:
    print(f"note {name}: still moving after 20 s when frozen (the runtime's profile came later)")
# objects whose type slot could not be used are scanned word by word: a stale word then keeps
# a channel alive (runtime.m / runtime.p have masks the runtime builds on demand, go1.24+)
try:
    st = json.load(open(f"{out}/{name}.leaks.3.json"))["go"]["leak_stats"]
    say(st.get("typed_fallbacks") == 0, f"{name}: every object with a type is scanned by it "
        f"(typed {st.get('typed_objects')}, fallbacks {st.get('typed_fallbacks')})")
    say(st.get("globals_by_mask") is True, f"{name}: data and bss scanned by the runtime's pointer masks")
except Exception as e:
    say(False, f"{name}: leak_stats unreadable: {e}")
same = all(x == core[0] for x in core) and core[0] is not None
say(same, f"{name}: 5 runs of leaks on one core give the same goroutines")
if not all(x == runs[0] for x in runs):
    print(f"note {name}: the 3 live runs differ ({[len(x or []) for x in runs]} leaked): the program still moves")
# the oracle is written right after the core: compare with the core's answer (the live ones came
# earlier, while a program such as SpawnGC may still have been settling)
us = set(core[0] if core[0] is not None else (runs[-1] or []))
both, missed, extra = rt & us, sorted(rt - us), sorted(us - rt)
say(not extra, f"{name}: no false positive (runtime {len(rt)}, tlinspect {len(us)}, only tlinspect {extra[:10]})")
say(not missed, f"{name}: every goroutine the runtime calls leaked is found ({len(both)}/{len(rt)}; missed {missed[:10]})")
open(summary, "a").write(f"{name}\t{len(rt)}\t{len(us)}\t{len(both)}\t{len(missed)}\t{len(extra)}\n")
PY

	done > "$dir/checks.txt"
	grep -v '^note ' "$dir/checks.txt"; grep '^note ' "$dir/checks.txt" || true
	TLI_PASS=$((TLI_PASS + $(grep -c '^ok ' "$dir/checks.txt")))
	TLI_FAIL=$((TLI_FAIL + $(grep -c '^FAIL ' "$dir/checks.txt")))
	awk -F'\t' '{rt+=$2; both+=$4; fp+=$6; n++; if ($5 == 0 && $6 == 0) same++}
		END {printf "goleak: go'"$ver"' '"$set"': recall %d/%d, false positives %d, %d/%d programs exact\n", both, rt, fp, same, n}' \
		"$dir/summary.tsv"
	echo "goleak: $set took $((SECONDS - t0)) s"
}

sets=${GOLEAK_SET:-top goker timers}
goker_ci="Grpc795 Cockroach9935 Istio16224 Istio18454 Moby30408 Kubernetes11298 Etcd6873 Cockroach1462 Moby21233 Syncthing5795"
if [[ " $sets " == *" top "* ]]; then
	# the top-level programs (not goker/)
	names=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/*.go | sed 's/register("//; s/"//')
	simple=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/simple.go | sed 's/register("//; s/"//')
	[ -n "${GOLEAK_ONLY:-}" ] && names=$GOLEAK_ONLY
	goleak_set top "$srcdir" "$names" "$simple"
fi
if [[ " $sets " == *" goker "* ]] && [ -d "$srcdir/goker" ]; then
	# GoKer (real-world blocking bugs, goker/README.md), run as the runtime's test runs them
	# (goroutineleakprofile_test.go gokerTestCases): makeTest entries with GOMAXPROCS=1,
	# makeFlakyTest ones without. "Flaky" there means the leak does not always happen; the
	# test then only forbids unexpected leaks. Here the oracle is the runtime's profile of
	# the very state tlinspect saw, so flaky programs are compared like the others (when the
	# leak did not happen, both must say so). Programs the test leaves out (Kubernetes1321:
	# a race in it may crash it) run with GOLEAK_GOKER=all only, and may fail to start.
	gtest=/usr/lib/go-$ver/src/runtime/goroutineleakprofile_test.go
	gcases=$(awk '/gokerTestCases := /,/^\t}$/' "$gtest")
	simple=$(grep -o 'makeTest("[A-Za-z0-9]*"' <<< "$gcases" | sed 's/.*("//; s/"//')
	all=$(grep -ho 'register("[A-Za-z0-9]*"' "$srcdir"/goker/*.go | sed 's/register("//; s/"//')
	skip=$(grep -vxF -f <(grep -o 'make\(Flaky\)\?Test("[A-Za-z0-9]*"' <<< "$gcases" | sed 's/.*("//; s/"//') \
		<<< "$all" || true)
	# CI: a fixed subset (~90 s on 2 cores) covering each kind of wait and each cause fixed
	# while bringing the whole set to agreement; GOLEAK_GOKER=all: all 63
	names=${GOLEAK_GOKER_CI:-$goker_ci}
	[ "${GOLEAK_GOKER:-}" = all ] && names=$all
	[ -n "${GOLEAK_ONLY:-}" ] && names=$GOLEAK_ONLY
	goleak_set goker "$srcdir/goker" "$names" "$simple" "$skip"
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
