#!/usr/bin/env bash
# tests/integration/precopy.sh - stacks copied before the stop (issue 14): a live target's
# parked goroutines' stack windows are copied while it runs and taken only if the g read
# while it is stopped is byte for byte the one peeked (goroutines_capture.c). Target:
# tests/targets/go/churn (2000 goroutines that stay parked, 4 pairs that park and wake
# without end, a GC every 5 ms that stamps g.waitsince of whatever is parked then).
# On the oldest and the newest toolchain (default build; stripped on the newest):
#  - `-v` says how many windows were copied before the stop and taken: at least 1900 of
#    the 2000 parked goroutines' (a GC scanning some at the instant of the stop has those
#    read while stopped), and over ten runs at least one window was refused (a churner
#    the look found parked had moved on by the stop);
#  - the waiting chains of at least 950 of the 1000 parked channel waiters were taken from
#    before the stop too (`-v`), and every parked goroutine is listed exactly as with
#    TLINSPECT_PRECOPY=0 (id, status, wait reason, every frame, the channels it waits on);
#  - every churner, in every run, has a whole stack: no problem, frames only in main.churner,
#    main.bounce and the runtime, main.churner outermost; in a channel wait, one channel.
#  - quiet (no GC after the start): every parked goroutine's window is taken but the
#    coroutine's (go1.23+: an iter.Pull coroutine is resumed by coroswitch, which leaves
#    g.waitsince as it was; the target leaves one parked), which is refused in every run.
# Ends with "precopy: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
tli_suite precopy
trap tli_cleanup EXIT INT TERM
finish() { tli_suite_end; exit; }

vers=$(tli_go_versions)
oldest=$(echo "$vers" | awk '{print $1}')
newest=$(echo "$vers" | awk '{print $NF}')
builds="$oldest:default"
[ "$newest" != "$oldest" ] && builds="$builds $newest:default"
builds="$builds $newest:stripped"

for b in $builds; do
	ver=${b%%:*}
	variant=${b#*:}
	name="go$ver${variant/default/}"
	name=${name/stripped/-stripped}
	bin=$(tli_build tests/targets/go/churn "$ver" "$variant") || { tli_bad "$name: build of the churn target"; continue; }
	# quiet: no GC after the start, so the churners are never candidates; only the coroutine
	# (go1.23+) is a parked goroutine that must be refused every time
	tli_start "$TLI_OUT/$name.quiet" "$bin" -parked 2000 -pairs 4
	pid=$TLI_PID
	if tli_wait_ready "$TLI_OUT/$name.quiet" 120 >/dev/null; then
		ncoro=$(awk '/^coroutines/ {print $2}' "$TLI_OUT/$name.quiet")
		for run in 1 2 3; do
			"$TLI" -v --pid "$pid" goroutines >/dev/null 2>"$TLI_OUT/$name.quiet.$run.err"
			read -r took cand < <(sed -nE "s/.* ([0-9]+) of ([0-9]+) parked gs' stack windows.*/\1 \2/p" \
				"$TLI_OUT/$name.quiet.$run.err")
			if [ -n "${took:-}" ] && [ -n "$ncoro" ] && [ $((cand - took)) = "$ncoro" ] && [ "$took" -ge 2000 ]; then
				echo "ok   $name: quiet run $run: $took of $cand windows taken; the $ncoro parked coroutine(s) refused (resumed without execute())"
			else
				echo "FAIL $name: quiet run $run: ${took:-?} of ${cand:-?} windows taken, want all but the ${ncoro:-?} coroutine(s) (>= 2000)"
			fi
		done
	else
		echo "FAIL $name: the quiet target did not start"
	fi
	tli_kill "$pid"
	tli_start "$TLI_OUT/$name.target" "$bin" -parked 2000 -pairs 4 -gc 5ms
	pid=$TLI_PID
	if ! tli_wait_ready "$TLI_OUT/$name.target" 120 >/dev/null; then
		tli_bad "$name: target did not start"
		tli_kill "$pid"
		continue
	fi
	TLINSPECT_PRECOPY=0 "$TLI" --json --pid "$pid" goroutines --stacks >"$TLI_OUT/$name.off.json" 2>"$TLI_OUT/$name.off.err"
	rc0=$?
	for run in 1 2 3 4 5 6 7 8 9 10; do
		"$TLI" -v --json --pid "$pid" goroutines --stacks >"$TLI_OUT/$name.on.$run.json" 2>"$TLI_OUT/$name.on.$run.err"
		echo $? >"$TLI_OUT/$name.on.$run.rc"
	done
	tli_kill "$pid"
	python3 - "$TLI_OUT" "$name" "$rc0" <<'PY'
import json, re, sys
out, name, rc0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ok(m): print("ok   %s: %s" % (name, m))
def bad(m): print("FAIL %s: %s" % (name, m))
def load(p):
    try:
        return json.load(open(p))
    except Exception as e:
        return None
def frames(g):
    return [(f.get("function"), f.get("file"), f.get("line"), f.get("pc")) for f in g.get("stack") or []]
def start(g):  # who the goroutine is: main.parked or main.churner among its frames
    fs = [f[0] for f in frames(g)]
    return "main.parked" if "main.parked" in fs else "main.churner" if "main.churner" in fs else None
def key(g):
    return (g["status"], g.get("wait_reason"), frames(g), g.get("problem"), g.get("blocked_on"))
off = load("%s/%s.off.json" % (out, name))
if rc0 != 0 or not off:
    bad("TLINSPECT_PRECOPY=0 run: exit %d, no JSON" % rc0)
    sys.exit(0)
offp = {g["id"]: g for g in off["go"]["goroutines"] if start(g) == "main.parked"}
if len(offp) != 2000:
    bad("TLINSPECT_PRECOPY=0 run lists %d parked goroutines, the target started 2000" % len(offp))
if not all(frames(g) for g in offp.values()):
    bad("the goroutine JSON has no frames: the check would compare nothing")
    sys.exit(0)
refused = 0
for run in range(1, 11):
    rc = int(open("%s/%s.on.%d.rc" % (out, name, run)).read())
    err = open("%s/%s.on.%d.err" % (out, name, run)).read()
    on = load("%s/%s.on.%d.json" % (out, name, run))
    if rc != 0 or not on:
        bad("run %d: exit %d, no JSON" % (run, rc))
        continue
    m = re.search(r"(\d+) of (\d+) parked gs' stack windows copied before the stop", err)
    if not m:
        bad("run %d: -v does not say how many stack windows were copied before the stop" % run)
        continue
    took, cand = int(m.group(1)), int(m.group(2))
    refused += cand - took
    m = re.search(r"waiting chains [0-9.]+ ms \((\d+) copied before the stop\)", err)
    chains = int(m.group(1)) if m else -1
    gs = on["go"]["goroutines"]
    par = {g["id"]: g for g in gs if start(g) == "main.parked"}
    diff = [i for i in offp if i not in par or key(par[i]) != key(offp[i])]
    if took >= 1900 and chains >= 950 and not diff and len(par) == 2000:
        ok("run %d: %d of %d windows and %d waiting chains taken from before the stop; the 2000 parked goroutines "
           "(stacks, blocked_on) as without it" % (run, took, cand, chains))
    else:
        bad("run %d: %d of %d windows (want >= 1900), %d waiting chains (want >= 950 of the 1000 channel waits) "
            "taken; %d parked goroutines differ from TLINSPECT_PRECOPY=0 (e.g. %s)"
            % (run, took, cand, chains, len(diff), [(i, key(offp[i]), key(par[i]) if i in par else None) for i in diff[:1]]))
    ch = [g for g in gs if start(g) == "main.churner"]
    wrong = []
    for g in ch:
        fs = [f[0] or "" for f in frames(g)]
        user = [f for f in fs if not f.startswith("runtime.")]
        chan_wait = g.get("wait_reason") in ("chan send", "chan receive")
        if g.get("problem") or not fs or not user or user[-1] != "main.churner" or \
           any(f not in ("main.churner", "main.bounce") for f in user) or \
           (chan_wait and len(g.get("blocked_on") or []) != 1):
            wrong.append((g["id"], g.get("problem"), fs))
    if len(ch) == 8 and not wrong:
        ok("run %d: the 8 churners each have a whole stack (main.churner outermost), one channel when in a channel wait" % run)
    else:
        bad("run %d: %d churners listed (want 8), %d with a broken stack: %s" % (run, len(ch), len(wrong), wrong[:2]))
if refused > 0:
    ok("over ten runs %d windows copied before the stop were refused (their g had changed by the stop)" % refused)
else:
    bad("over ten runs no window copied before the stop was refused: the refusal was never exercised")
PY
done > "$TLI_OUT/results" 2>&1
cat "$TLI_OUT/results"
TLI_PASS=$((TLI_PASS + $(grep -c '^ok ' "$TLI_OUT/results")))
TLI_FAIL=$((TLI_FAIL + $(grep -c '^FAIL ' "$TLI_OUT/results")))
finish
