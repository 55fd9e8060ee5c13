#!/usr/bin/env bash
# tests/integration/overtime.sh - leaks over time (issue 13), against the target's own record:
#  - snapshot, SIGUSR1 (the target leaks LEAKN goroutines in main.leakyHandler and LEAKN
#    main.LeakedRecord objects, and writes how many and their size), snapshot: `diff` names
#    exactly that group and that type with those deltas, nothing else beyond noise; the same on a
#    stripped build (newest toolchain);
#    the pool main.otdb (an in-process database/sql driver) gains POOLN leaked connections and
#    TIMERN AfterFunc timers appear: diff.pools and diff.timers name exactly those;
#  - the first screen (no command) of that state: at most 40 lines, leaked count = `leaks`'s,
#    the pool's figures = db.Stats() and the leaked connections, the timers, memstats = the
#    runtime's ReadMemStats (num_gc exact, heap within what the target allocated since);
#  - `goroutines --pprof` against the runtime's own pprof.Lookup("goroutine").WriteTo(w, 0)
#    written at a quiet point: `go tool pprof -traces` of both, same stacks, same counts, same
#    pprof labels (the leaked goroutines carry burst=one);
#  - snapshot files: mode 0600, no write through a planted symlink, no overwrite without
#    --force; `diff` of a truncated or foreign file: exit 6 naming the file;
#  - `watch` on a target dripping goroutines beside stable workers and a wobbling pool: only the
#    dripping group is growing; Ctrl-C prints what it has and leaves the target running;
#  - `metrics` passes `promtool check metrics` (promtool extracted from Debian's prometheus
#    package into tests/out/promtool by fetch-promtool.sh, never installed).
# Toolchains: $GO_VERSIONS, default "1.19 1.23 <newest>" (keeps the suite under a minute or two).
# Ends with "overtime: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite overtime
trap tli_cleanup EXIT INT TERM
CHECK="python3 $ROOT/tests/integration/overtime_check.py"
GOCACHE=$(tli_gocache); export GOCACHE
export HOME=$TLI_OUT   # go tool pprof may keep state under $HOME
if [ -z "${GO_VERSIONS:-}" ]; then
	newest=$(tli_go_versions | tr " " "\n" | grep . | tail -1)
	GO_VERSIONS=$(printf '%s\n' 1.19 1.23 "$newest" | sort -uV | tr '\n' ' ')
	export GO_VERSIONS
fi
vers=$(tli_go_versions)
newest=$(echo "$vers" | tr " " "\n" | grep . | tail -1)
[ -n "$vers" ] || { tli_bad "no Go toolchain"; tli_suite_end; exit 1; }

# start_target BIN MODE TAG: runs BIN in $TLI_OUT/TAG, sets PID and DIR
start_target() {
	DIR=$TLI_OUT/$3; mkdir -p "$DIR"
	tli_start "$DIR/out" "$1" "$DIR" "$2"
	PID=$(tli_wait_ready "$DIR/out" 20)
}

wait_file() { local i; for ((i = 0; i < 100; i++)); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

leak_diff() { # BIN TAG [--stripped]
	local bin=$1 tag=$2 how=${3:-}
	start_target "$bin" leak "$tag" || { tli_bad "$tag: target did not start"; return; }
	local a=$DIR/a.json b=$DIR/b.json
	"$TLI" --pid "$PID" snapshot -o "$a" > "$DIR/snap-a.txt" 2> "$DIR/snap-a.err" || { tli_bad "$tag: snapshot A: $(head -c 300 "$DIR/snap-a.err")"; return; }
	kill -USR1 "$PID"
	wait_file "$DIR/leaked" || { tli_bad "$tag: the target did not leak"; return; }
	"$TLI" --pid "$PID" snapshot -o "$b" > /dev/null 2> "$DIR/snap-b.err" || { tli_bad "$tag: snapshot B: $(head -c 300 "$DIR/snap-b.err")"; return; }
	"$TLI" --json diff "$a" "$b" > "$DIR/diff.json" 2> "$DIR/diff.err" || { tli_bad "$tag: diff: $(head -c 300 "$DIR/diff.err")"; return; }
	if r=$($CHECK diff "$DIR/diff.json" "$DIR/leaked" $how); then tli_ok "$tag diff: $r"; else tli_bad "$tag diff: $r"; fi
	"$TLI" diff "$a" "$b" > "$DIR/diff.txt" 2>&1
	if grep -q '^biggest growth: +[0-9]* goroutines .* main.leakyHandler' "$DIR/diff.txt"; then tli_ok "$tag diff text leads with the leaky group"
	else tli_bad "$tag diff text: $(head -3 "$DIR/diff.txt")"; fi
	# the first screen (no command) of the same leaked state: one stop, all three leaks
	"$TLI" --pid "$PID" > "$DIR/screen.txt" 2> "$DIR/screen.err" && "$TLI" --pid "$PID" --json > "$DIR/screen.json" 2>> "$DIR/screen.err" &&
		"$TLI" --pid "$PID" --json leaks > "$DIR/leaks.json" 2>> "$DIR/screen.err" || { tli_bad "$tag first screen: $(head -c 300 "$DIR/screen.err")"; return; }
	if r=$($CHECK screen "$DIR/screen.txt" "$DIR/screen.json" "$DIR/leaks.json" "$DIR/pool.json" $how); then tli_ok "$tag first screen: $r"
	else tli_bad "$tag first screen: $r"; fi
}

pprof_traces() { # VER BIN TAG (target already leaked: a quiet state)
	local v=$1 go; go=$(tli_go_bin "$1")
	rm -f "$DIR/goroutine.pb.gz"
	kill -USR2 "$PID"
	wait_file "$DIR/goroutine.pb.gz" || { tli_bad "$3: no runtime profile"; return; }
	sleep 0.3  # the writer goroutine is back at its receive
	"$TLI" --pid "$PID" goroutines --pprof "$DIR/ours.pb.gz" > /dev/null 2> "$DIR/pprof.err" || { tli_bad "$3: goroutines --pprof: $(head -c 300 "$DIR/pprof.err")"; return; }
	[ "$(stat -c %a "$DIR/ours.pb.gz")" = 600 ] || tli_bad "$3: profile mode $(stat -c %a "$DIR/ours.pb.gz")"
	GOTOOLCHAIN=local "$go" tool pprof -traces "$DIR/goroutine.pb.gz" > "$DIR/theirs.txt" 2> /dev/null
	GOTOOLCHAIN=local "$go" tool pprof -traces "$DIR/ours.pb.gz" > "$DIR/ours.txt" 2> "$DIR/ours.err" || { tli_bad "$3: pprof -traces of ours: $(head -c 300 "$DIR/ours.err")"; return; }
	if r=$($CHECK traces "$DIR/theirs.txt" "$DIR/ours.txt"); then tli_ok "$3 goroutine profile: $r"; else tli_bad "$3 goroutine profile:"; printf '   %s\n' "$r" | head -20; fi
}

for v in $vers; do
	bin=$(tli_build tests/targets/go/overtime "$v") || { tli_bad "go$v: build"; continue; }
	leak_diff "$bin" "go$v"
	pprof_traces "$v" "$bin" "go$v"
	tli_kill "$PID"
done
sbin=$(tli_build tests/targets/go/overtime "$newest" stripped) && { leak_diff "$sbin" "go$newest-stripped" --stripped; tli_kill "$PID"; } || tli_bad "stripped build"

# ---- snapshot files ----
bin=$TLI_OUT/go$newest/overtime
start_target "$bin" leak files || tli_bad "files: target did not start"
f=$DIR/s.json
"$TLI" --pid "$PID" snapshot -o "$f" > /dev/null 2>&1
[ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] && tli_ok "snapshot mode 0600" || tli_bad "snapshot mode $(stat -c %a "$f" 2>&1)"
ino=$(stat -c %i "$f")
"$TLI" --pid "$PID" snapshot -o "$f" > /dev/null 2> "$DIR/e1"; rc=$?
[ $rc = 2 ] && [ "$(stat -c %i "$f")" = "$ino" ] && grep -q "$f" "$DIR/e1" && tli_ok "no overwrite without --force (exit 2)" || tli_bad "overwrite: exit $rc $(cat "$DIR/e1")"
"$TLI" --pid "$PID" snapshot -o "$f" --force > /dev/null 2>&1 && [ "$(stat -c %i "$f")" != "$ino" ] && [ "$(stat -c %a "$f")" = 600 ] &&
	tli_ok "--force replaces it (0600)" || tli_bad "--force"
echo precious > "$DIR/victim"; ln -s "$DIR/victim" "$DIR/link.json"
"$TLI" --pid "$PID" snapshot -o "$DIR/link.json" > /dev/null 2>&1; rc1=$?
"$TLI" --pid "$PID" snapshot -o "$DIR/link.json" --force > /dev/null 2>&1; rc2=$?
[ "$(cat "$DIR/victim")" = precious ] && [ -L "$DIR/link.json" ] && [ $rc1 != 0 ] && [ $rc2 != 0 ] &&
	tli_ok "never through a planted symlink (exit $rc1, with --force $rc2)" || tli_bad "symlink: $rc1 $rc2 $(cat "$DIR/victim")"
head -c 2000 "$f" > "$DIR/trunc.json"
"$TLI" diff "$f" "$DIR/trunc.json" > /dev/null 2> "$DIR/e2"; rc=$?
[ $rc = 6 ] && grep -q "trunc.json" "$DIR/e2" && tli_ok "truncated snapshot: exit 6: $(cat "$DIR/e2")" || tli_bad "truncated: exit $rc $(cat "$DIR/e2")"
"$TLI" --pid "$PID" --json heap > "$DIR/heap.json" 2>/dev/null
"$TLI" --json diff "$DIR/heap.json" "$f" > "$DIR/e3.json" 2> "$DIR/e3"; rc=$?
[ $rc = 6 ] && grep -q "heap.json" "$DIR/e3" && grep -q '"kind": "bad-format"' "$DIR/e3.json" && tli_ok "foreign document: exit 6: $(cat "$DIR/e3")" || tli_bad "foreign: exit $rc $(cat "$DIR/e3")"

# ---- metrics (after the leak: the pool's figures from the target's own db.Stats()) ----
kill -USR1 "$PID"; wait_file "$DIR/leaked" || tli_bad "metrics: the target did not leak"
"$TLI" --pid "$PID" metrics > "$DIR/metrics.prom" 2> "$DIR/metrics.err" || tli_bad "metrics: $(head -c 300 "$DIR/metrics.err")"
tli_kill "$PID"
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
	[ -x "$ROOT/tests/out/promtool/promtool" ] || bash "$ROOT/tests/integration/fetch-promtool.sh" > "$TLI_OUT/fetch-promtool.log" 2>&1
	PROMTOOL=$ROOT/tests/out/promtool/promtool
fi
if [ ! -x "$PROMTOOL" ]; then
	tli_bad "no promtool (see $TLI_OUT/fetch-promtool.log)"
elif out=$("$PROMTOOL" check metrics < "$DIR/metrics.prom" 2>&1); then
	tli_ok "promtool check metrics: $(grep -c '^# TYPE' "$DIR/metrics.prom") families, $(grep -vc '^#' "$DIR/metrics.prom") samples${out:+ ($out)}"
else
	tli_bad "promtool: $out"
fi
grep -q '^tlinspect_go_goroutine_group_goroutines{wait_reason="chan receive",user="main.worker ' "$DIR/metrics.prom" &&
	grep -q '^tlinspect_go_goroutines{state="waiting"} ' "$DIR/metrics.prom" && tli_ok "metrics name the worker group" || tli_bad "metrics content"
iu=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["after"]["in_use"])' "$DIR/pool.json")
lc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["leaked_connections"])' "$DIR/pool.json")
nt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timers"])' "$DIR/pool.json")
grep -q "^tlinspect_go_pool_connections{kind=\"sql_dbs\",pool=\"main.otdb\",state=\"in_use\"} $iu\$" "$DIR/metrics.prom" &&
	grep -q "^tlinspect_go_pool_leaked_connections{kind=\"sql_dbs\",pool=\"main.otdb\"} $lc\$" "$DIR/metrics.prom" &&
	grep -q "^tlinspect_go_timer_group_timers{function=\"main.leakTimer\",kind=\"after_func\"} $nt\$" "$DIR/metrics.prom" &&
	tli_ok "metrics: pool main.otdb $iu in use, $lc leaked (db.Stats()); $nt main.leakTimer timers" ||
	tli_bad "metrics pools/timers: $(grep -E 'pool|timer' "$DIR/metrics.prom" | grep -v '^#' | head -5)"

# ---- watch ----
start_target "$bin" drip watch || tli_bad "watch: target did not start"
"$TLI" --pid "$PID" --json watch --interval 1 --count 6 > "$DIR/watch.json" 2> "$DIR/watch.err" || tli_bad "watch: $(tail -3 "$DIR/watch.err")"
[ "$(grep -c 'watch: sample' "$DIR/watch.err")" = 6 ] && tli_ok "watch: progress on stderr" || tli_bad "watch progress: $(cat "$DIR/watch.err")"
if r=$($CHECK watch "$DIR/watch.json"); then tli_ok "watch: $r"; else tli_bad "watch: $r"; fi
"$TLI" --pid "$PID" watch --interval 2 --count 50 > "$DIR/int.txt" 2> "$DIR/int.err" &
wpid=$!
for ((i = 0; i < 100; i++)); do [ "$(grep -c 'watch: sample' "$DIR/int.err")" -ge 2 ] && break; sleep 0.1; done
kill -INT $wpid; wait $wpid; rc=$?
st=$(awk '/^State:/{print $2}' "/proc/$PID/status")
[ $rc = 0 ] && grep -q 'samples over .* (interrupted)' "$DIR/int.txt" && [ "$st" != t ] && [ "$st" != T ] &&
	tli_ok "Ctrl-C: verdicts on what it had, target running ($st)" || tli_bad "Ctrl-C: exit $rc, state $st: $(head -2 "$DIR/int.txt")"
tli_kill "$PID"
tli_suite_end
