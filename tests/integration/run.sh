#!/usr/bin/env bash
# tests/integration/run.sh — tlinspect against the Go runtime's own view of itself.
#
# For each installed Go toolchain (/usr/lib/go-1.*; restrict with GO_VERSIONS="1.19 1.22"):
#   build tests/targets/go/goroutines, start it, wait for "ready", then compare
#   (a) live:        tlinspect --pid P --json goroutines --stacks     (and the text rendering)
#   (b) gcore core:  tlinspect --core C --exe BIN --json goroutines --stacks
#   (c) kernel core: a second run with -crash, SIGABRT, the kernel's core (skipped when
#                    core_pattern pipes cores elsewhere)
# with the dump the target wrote (runtime.Stack(all)) using compare.py, then
# (d) error cases: one-line "tlinspect: error:" and the documented exit code.
#
# Environment: TLINSPECT (default build/tlinspect), GO_VERSIONS, TARGET_N (extra parked
# goroutines, default 1000), VARIANTS (default "default"; also "pie", "stripped"),
# KEEP=1 keeps cores under tests/out/integration.
# Ends with "N passed, M failed"; exit status 1 if M > 0.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
TARGET_N=${TARGET_N:-1000}
VARIANTS=${VARIANTS:-default}
WORK=$TLI_OUT/integration
PASS=0
FAIL=0
SKIP=0

pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
skip() { SKIP=$((SKIP + 1)); printf 'skip %s\n' "$*"; }

# kill_grandchild PID PARENT: SIGKILL PID only while it is still PARENT's child
kill_grandchild() {
	if [ -r "/proc/$1/status" ] && [ "$(awk '/^PPid:/{print $2}' "/proc/$1/status")" = "$2" ]; then
		kill -KILL "$1" 2>/dev/null || true
	fi
}
KCORE_TARGET=

finish() {
	local rc=$?
	# shellcheck disable=SC2086
	[ -z "$KCORE_TARGET" ] || kill_grandchild $KCORE_TARGET
	tli_cleanup
	if [ "${KEEP:-0}" != 1 ] && [ -d "$WORK" ]; then
		find "$WORK" -name 'core*' -type f -size +1M -delete 2>/dev/null || true
	fi
	trap - EXIT
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

# indent FILE: show a compare/tlinspect output, capped
show() {
	local n
	n=$(wc -l <"$1")
	if [ "$n" -gt 60 ]; then
		head -50 "$1" | sed 's/^/     | /'
		printf '     | ... (%d more lines in %s)\n' "$((n - 50))" "$1"
		tail -12 "$1" | sed 's/^/     | /'
	else
		sed 's/^/     | /' "$1"
	fi
}

# run_tli OUTPREFIX ARGS...: runs tlinspect with a timeout; stdout/stderr in OUTPREFIX.{out,err}
run_tli() {
	local pre=$1
	shift
	timeout -k 5 "${TLI_TIMEOUT:-180}" "$TLI" "$@" >"$pre.out" 2>"$pre.err"
}

# check_streamed LABEL PREFIX TARGETARGS...: the text listing printed as it is built (one
# goroutine object at a time, issue 14) is byte for byte the one printed from the whole tree
# (TLINSPECT_STREAM=0), with and without --stacks and --system (a core: nothing moves between
# runs; JSON is printed as built only from a live target: check_streamed_json)
check_streamed() {
	local label=$1 pre=$2 bad= n=0 runs=0
	shift 2
	local opts
	for opts in "goroutines" "goroutines --stacks" "goroutines --stacks --system"; do
		# shellcheck disable=SC2086 # opts is a word list
		run_tli "$pre-s" -v "$@" $opts
		local rs=$?
		# shellcheck disable=SC2086
		TLINSPECT_STREAM=0 run_tli "$pre-t" -v "$@" $opts
		local rt=$?
		runs=$((runs + 1))
		if [ "$rs" != 0 ] || [ "$rt" != 0 ] || ! cmp -s "$pre-s.out" "$pre-t.out"; then
			bad="$bad [$opts: exit $rs/$rt, $(cmp "$pre-s.out" "$pre-t.out" 2>&1 | head -c 120)]"
		fi
		n=$((n + $(grep -c '^goroutine [0-9]' "$pre-s.out")))
	done
	if [ -z "$bad" ] && [ "$n" -gt 0 ] && grep -q "items made while printed" "$pre-s.err"; then
		pass "$label: text listing printed as built = from the whole tree, byte for byte ($runs runs, $n goroutines)"
	else
		fail "$label: text listing printed as built differs from the whole tree, or was not printed as built ($n goroutines):$bad"
	fi
}

# check_streamed_json LABEL PREFIX TARGETARGS...: a live target's JSON listing printed as it
# is built = the whole tree's (TLINSPECT_STREAM=0), but for what moves between two runs
# (pause, bytes read, wait times)
check_streamed_json() {
	local label=$1 pre=$2
	shift 2
	run_tli "$pre-js" -v --json "$@" goroutines --stacks
	local rs=$?
	TLINSPECT_STREAM=0 run_tli "$pre-jt" -v --json "$@" goroutines --stacks
	local rt=$?
	local why
	why=$(python3 - "$pre-js.out" "$pre-jt.out" "$pre-js.err" "$pre-jt.err" "$rs" "$rt" <<'PY'
import json, sys
s, t, es, et, rs, rt = sys.argv[1:]
if rs != "0" or rt != "0":
    print("exit %s/%s" % (rs, rt)); sys.exit()
if "items made while printed" not in open(es).read() or "items made while printed" in open(et).read():
    print("-v does not say the first was printed as built and the second not"); sys.exit()
docs = []
for p in (s, t):
    d = json.load(open(p))
    for k in ("pause_ms", "bytes_read", "bytes_adopted", "now"):
        d["target"].pop(k, None)
    for g in d["go"]["goroutines"]:
        g.pop("wait_seconds", None); g.pop("wait_minutes", None)
    docs.append(d)
# the target's busy goroutines run between the two runs: their frames, threads and groups
# move; every goroutine's id and place in the list, and every parked one whole, must not
a, b = docs[0]["go"]["goroutines"], docs[1]["go"]["goroutines"]
ids = [g.get("id") for g in a] == [g.get("id") for g in b]
parked = [x for x, y in zip(a, b) if x.get("status") == "waiting" and y.get("status") == "waiting"]
diff = [x.get("id") for x, y in zip(a, b) if x.get("status") == "waiting" and y.get("status") == "waiting" and x != y]
for d in docs:
    d["go"] = None
if not ids or diff or docs[0] != docs[1] or len(parked) < 100:
    print("differ: %d vs %d goroutines, same ids in the same order: %s, parked ones differing: %s, rest of the document equal: %s" % (len(a), len(b), ids, diff[:5], docs[0] == docs[1]))
else:
    print("ok %d (%d parked compared whole)" % (len(a), len(parked)))
PY
)
	case $why in
	ok*) pass "$label: JSON listing printed as built = the whole tree's (${why#ok } goroutines; pause, bytes read, wait times and the running ones' frames aside)" ;;
	*) fail "$label: JSON listing printed as built: $why" ;;
	esac
}

# check_compare LABEL DIR KIND FILE: compare.py on a tlinspect output file
check_compare() {
	local label=$1 dir=$2 kind=$3 file=$4 log
	log=$file.compare
	if python3 "$HERE/compare.py" --dump "$dir/stack.txt" "--$kind" "$file" \
		--facts "$dir/facts.json" --label "$label" >"$log" 2>&1; then
		pass "$label ($(tail -1 "$log" | sed 's/^\[[^]]*\] //'))"
	else
		fail "$label"
		show "$log"
	fi
}

# inspect_and_compare LABEL DIR TLIARGS...: json + compare
inspect_json() {
	local label=$1 dir=$2 pre=$3
	shift 3
	local t0 t1 rc
	t0=$(date +%s%N)
	run_tli "$pre" --json "$@" goroutines --stacks
	rc=$?
	t1=$(date +%s%N)
	if [ "$rc" != 0 ]; then
		fail "$label: tlinspect exited $rc ($(head -c 300 "$pre.err"))"
		return 1
	fi
	printf '     %s: tlinspect took %d ms\n' "$label" "$(((t1 - t0) / 1000000))"
	check_compare "$label" "$dir" json "$pre.out"
}

# check_one_goroutines LABEL LISTING.json TARGETARGS...: `goroutine ID` (which reads only the
# goroutine it is asked for) gives, for up to 24 parked goroutines spread over the listing, the
# very object the full listing has (the wait time aside: it moves on between the two runs);
# an unknown id is refused with exit 3
check_one_goroutines() {
	local label=$1 listing=$2 ids id bad=0 n=0
	shift 2
	ids=$(python3 -c '
import json, sys
gs = [g for g in json.load(open(sys.argv[1]))["go"]["goroutines"] if g.get("status") == "waiting"]
step = max(1, len(gs) // 24)
print(" ".join(str(g["id"]) for g in gs[::step][:24]))' "$listing") || { fail "$label: goroutine ID: listing unreadable"; return; }
	for id in $ids; do
		n=$((n + 1))
		"$TLI" "$@" --json goroutine "$id" >"$listing.one" 2>"$listing.one.err" || { bad=$((bad + 1)); continue; }
		python3 - "$listing" "$listing.one" "$id" <<'PY' || bad=$((bad + 1))
import json, sys
def norm(g):
    g = dict(g); g.pop("wait_seconds", None); g.pop("wait_minutes", None); return g
full = {g["id"]: g for g in json.load(open(sys.argv[1]))["go"]["goroutines"]}
one = json.load(open(sys.argv[2]))["go"]["goroutines"]
ok = len(one) == 1 and norm(one[0]) == norm(full[int(sys.argv[3])])
if not ok:
    print("goroutine %s differs: %s" % (sys.argv[3], json.dumps(one)[:300]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
	done
	"$TLI" "$@" goroutine 987654321 >/dev/null 2>&1
	local rc=$?
	if [ "$n" -gt 0 ] && [ "$bad" = 0 ] && [ "$rc" = 3 ]; then
		pass "$label: goroutine ID equals the listing's entry for $n goroutines; unknown id -> 3"
	else
		fail "$label: goroutine ID: $bad of $n differ from the listing, unknown id -> $rc"
	fi
}

# find the newest core* file in DIR (kernel cores; core_pattern is relative)
find_core() {
	ls -t "$1"/core* 2>/dev/null | head -1
}

kernel_core_mode() {
	local pat
	pat=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|?')
	case $pat in
	'|'* | /*) return 1 ;;
	esac
	return 0
}

# -------------------------------------------------------------------------------------

echo "== harness self-test"
mkdir -p "$TLI_OUT"
if python3 "$HERE/test_compare.py" >"$TLI_OUT/test_compare.log" 2>&1; then
	pass "compare.py self-test ($(tail -1 "$TLI_OUT/test_compare.log"))"
else
	fail "compare.py self-test"
	show "$TLI_OUT/test_compare.log"
fi

if [ ! -x "$TLI" ]; then
	fail "tlinspect binary not found at $TLI (run make first)"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi

VERSIONS=$(tli_go_versions)
if [ -z "$VERSIONS" ]; then
	fail "no Go toolchain found in /usr/lib/go-1.* (GO_VERSIONS=${GO_VERSIONS:-})"
fi
echo "== Go toolchains: $VERSIONS; variants: $VARIANTS; extra goroutines: $TARGET_N"

LAST_BIN=
LAST_CORE=
LAST_VER=
for v in $VERSIONS; do
	for variant in $VARIANTS; do
		tag=go$v${variant#default}
		[ "$variant" = default ] || tag=go$v-$variant
		echo "== $tag"
		t_start=$(date +%s%N)
		dir=$WORK/$tag
		rm -rf "$dir"
		mkdir -p "$dir/live" "$dir/kcore"
		if ! bin=$(tli_build tests/targets/go/goroutines "$v" "$variant"); then
			fail "$tag: build"
			continue
		fi
		# (a) live, (b) gcore
		tli_start "$dir/live/target.out" "$bin" -out "$dir/live" -n "$TARGET_N"
		tpid=$TLI_PID
		if ! tli_wait_ready "$dir/live/target.out" 60 >/dev/null; then
			fail "$tag: target did not become ready"
			show "$dir/live/target.out"
			tli_kill "$tpid"
			continue
		fi
		sleep 0.2 # main prints "ready" and then parks in select {}
		inspect_json "$tag live json" "$dir/live" "$dir/live/tli-live" --pid "$tpid"
		run_tli "$dir/live/tli-live-text" --pid "$tpid" goroutines --stacks
		rc=$?
		if [ "$rc" = 0 ]; then
			check_compare "$tag live text" "$dir/live" text "$dir/live/tli-live-text.out"
		else
			fail "$tag live text: tlinspect exited $rc ($(head -c 300 "$dir/live/tli-live-text.err"))"
		fi
		check_one_goroutines "$tag live" "$dir/live/tli-live.out" --pid "$tpid"
		check_streamed_json "$tag live" "$dir/live/tli-stream" --pid "$tpid"
		if grep -q 'TracerPid:[[:space:]]*[1-9]' "/proc/$tpid/status" 2>/dev/null; then
			fail "$tag: target still traced after tlinspect exited ($(grep TracerPid "/proc/$tpid/status"))"
		fi
		if gcore -o "$dir/live/core" "$tpid" >"$dir/live/gcore.log" 2>&1 && [ -s "$dir/live/core.$tpid" ]; then
			inspect_json "$tag gcore json" "$dir/live" "$dir/live/tli-gcore" --core "$dir/live/core.$tpid" --exe "$bin"
			check_streamed "$tag gcore" "$dir/live/tli-stream" --core "$dir/live/core.$tpid" --exe "$bin"
			# keep one core (the newest default build's) for the error cases; cores are ~1 GB
			newcore=$dir/live/core.$tpid
			if [ "$variant" = default ] || [ -z "$LAST_CORE" ]; then
				[ -z "$LAST_CORE" ] || [ "${KEEP:-0}" = 1 ] || rm -f "$LAST_CORE"
				LAST_CORE=$newcore
			elif [ "${KEEP:-0}" != 1 ]; then
				rm -f "$newcore"
			fi
		else
			fail "$tag: gcore failed"
			show "$dir/live/gcore.log"
		fi
		tli_kill "$tpid"
		# the error cases use the newest default build (or the first variant built)
		if [ "$variant" = default ] || [ -z "$LAST_BIN" ]; then
			LAST_BIN=$bin
			LAST_VER=$v
		fi

		# (c) kernel core of the same kind of run
		if ! kernel_core_mode; then
			skip "$tag kernel core: core_pattern '$(cat /proc/sys/kernel/core_pattern)' is not a plain file name"
			continue
		fi
		# The wrapper shell reaps the aborted target itself (no job-control noise here).
		tli_start "$dir/kcore/target.out" bash -c 'cd "$1" && ulimit -c unlimited && { "$2" -out "$1" -n "$3" -crash 2>"$1/crash.txt" & wait $!; } 2>/dev/null; exit 0' \
			_ "$dir/kcore" "$bin" "$TARGET_N"
		wpid=$TLI_PID
		if ! kpid=$(tli_wait_ready "$dir/kcore/target.out" 60); then
			fail "$tag kernel core: target did not become ready"
			tli_kill "$wpid"
			continue
		fi
		KCORE_TARGET="$kpid $wpid"
		sleep 0.2
		kill -ABRT "$kpid"
		for ((i = 0; i < 600; i++)); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.05; done
		kill_grandchild "$kpid" "$wpid"
		KCORE_TARGET=
		tli_kill "$wpid"
		kc=$(find_core "$dir/kcore")
		if [ -z "$kc" ] || [ ! -s "$kc" ]; then
			skip "$tag kernel core: no core written (core_pattern $(cat /proc/sys/kernel/core_pattern))"
			continue
		fi
		inspect_json "$tag kernel-core json" "$dir/kcore" "$dir/kcore/tli-kcore" --core "$kc" --exe "$bin"
		[ "${KEEP:-0}" = 1 ] || rm -f "$kc"
		printf '     %s: %d ms in all\n' "$tag" "$((($(date +%s%N) - t_start) / 1000000))"
	done
done

# (d) error cases ----------------------------------------------------------------------
# expect_error LABEL CODE TLIARGS...: text mode gives one "tlinspect: error:" line on
# stderr, --json mode gives the error document with the same code on stdout.
expect_error() {
	local label=$1 code=$2
	shift 2
	local pre
	pre=$WORK/errors/$(echo "$label" | tr -c 'A-Za-z0-9\n' '_')
	local rc nl first
	timeout -k 5 60 "$@" >"$pre.out" 2>"$pre.err"
	rc=$?
	nl=$(wc -l <"$pre.err")
	first=$(head -1 "$pre.err")
	if [ "$rc" = "$code" ] && [ "$nl" = 1 ] && [[ $first == "tlinspect: error: "* ]]; then
		pass "error: $label -> $rc: $first"
	else
		fail "error: $label: expected exit $code and one 'tlinspect: error:' line; got exit $rc, $nl stderr lines"
		show "$pre.err"
	fi
}
expect_error_json() {
	local label=$1 code=$2
	shift 2
	local pre
	pre=$WORK/errors/$(echo "$label" | tr -c 'A-Za-z0-9\n' '_')-json
	local rc got
	timeout -k 5 60 "$@" >"$pre.out" 2>"$pre.err"
	rc=$?
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["error"]; print(d["schema"], e["code"], e["kind"])' "$pre.out" 2>/dev/null)
	if [ "$rc" = "$code" ] && [[ $got == "tlinspect/1 $code "* ]]; then
		pass "error --json: $label -> $rc ($got)"
	else
		fail "error --json: $label: expected exit $code and an error document with code $code; got exit $rc, document '${got:-unparsable}'"
		show "$pre.out"
	fi
}
both() {
	local label=$1 code=$2
	shift 2
	expect_error "$label" "$code" "$@"
	# insert --json right after the binary (and after setpriv's options, if any)
	local args=("$@") i
	for i in "${!args[@]}"; do
		if [ "${args[$i]}" = "$TLI" ]; then
			expect_error_json "$label" "$code" "${args[@]:0:$((i + 1))}" --json "${args[@]:$((i + 1))}"
			return
		fi
	done
}

echo "== error cases"
mkdir -p "$WORK/errors"
tli_start "$WORK/errors/sleep.out" sleep 1000
both "non-Go process (sleep)" 5 "$TLI" --pid "$TLI_PID" goroutines
tli_kill "$TLI_PID"

sleep 0 &
dead=$!
wait "$dead"
both "dead pid" 3 "$TLI" --pid "$dead" goroutines

both "nonexistent core" 3 "$TLI" --core "$WORK/errors/no-such-core" goroutines

if [ -n "$LAST_BIN" ]; then
	both "executable given as --core" 6 "$TLI" --core "$LAST_BIN" goroutines

	# a root-owned target inspected by user nobody
	tli_start "$WORK/errors/root-target.out" "$LAST_BIN" -out "$WORK/errors/root-target"
	rpid=$TLI_PID
	if tli_wait_ready "$WORK/errors/root-target.out" 60 >/dev/null; then
		tdir=$(mktemp -d /tmp/tli-nobody.XXXXXX)
		chmod 755 "$tdir"
		cp "$TLI" "$tdir/tlinspect"
		chmod 755 "$tdir/tlinspect"
		OLD_TLI=$TLI
		TLI=$tdir/tlinspect
		both "may not trace (nobody vs root target)" 4 \
			setpriv --reuid=65534 --regid=65534 --clear-groups "$TLI" --pid "$rpid" goroutines
		TLI=$OLD_TLI
		rm -rf "$tdir"
	else
		fail "permission case: root target did not become ready"
	fi
	tli_kill "$rpid"

	if [ -n "$LAST_CORE" ] && [ -s "$LAST_CORE" ]; then
		head -c 1048576 "$LAST_CORE" >"$WORK/errors/truncated.core"
		both "truncated core (first 1 MiB)" 6 "$TLI" --core "$WORK/errors/truncated.core" --exe "$LAST_BIN" goroutines
		rm -f "$WORK/errors/truncated.core"
		if other=$(tli_build tests/targets/go/demo "$LAST_VER"); then
			both "core with the wrong --exe" 7 "$TLI" --core "$LAST_CORE" --exe "$other" goroutines
		else
			fail "wrong --exe case: building the demo target failed"
		fi
	else
		fail "no core available for the truncated-core and wrong-exe cases"
	fi
else
	fail "no target binary was built: permission/core error cases not run"
fi

echo "== summary: $PASS passed, $FAIL failed, $SKIP skipped"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
