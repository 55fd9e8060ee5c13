#!/usr/bin/env bash
# tests/integration/leakexplain.sh - `leaks --explain ID` (issue 16) on tests/targets/go/leakexplain,
# whose retention paths are known by construction and whose record (stderr) is the oracle:
# the waiter of keep.ch is kept by the global main.keep (stripped: named by its address, which
# must be &keep) through the holder object's field ch (unsafe.Offsetof) to the channel; the
# waiter of sleeper's channel by goroutine `sleeper`'s frame main.sleeper; the leaker is leaked
# and waits on its channel; main (asleep) is not judged. Oldest and newest toolchain, default and
# stripped, live and from a gcore core. Likewise the waiter of a sync.Mutex inside a heap object
# kept by the global main.keepG: the path ends at that object, the semaphore inside it.
# `leaks --json` itself must call only the leaker leaked and carry no go.explain.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite leakexplain
trap tli_cleanup EXIT INT TERM

# check RECORD DIR VARIANT WHERE: the explain answers in DIR/*.json against RECORD
check() {
	python3 - "$@" <<'PY'
import json, sys
rec = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().split("\n") if " " in l)
rec = {k: v.strip() for k, v in rec.items()}
d, variant, where = sys.argv[2], sys.argv[3], sys.argv[4]
ex = lambda name: json.load(open(f"{d}/{name}.json"))["go"]["explain"]
def hexeq(a, b):
    return a is not None and b is not None and int(a, 16) == int(b, 16)
def say(ok, msg):
    print(("ok   " if ok else "FAIL ") + f"{variant} {where}: {msg}")
# the global's waiter: main.keep -> holder (field ch) -> keep.ch
e = ex("keep_waiter"); p = e.get("path") or [{}]
name_ok = (p[0].get("name") == "main.keep") if variant == "default" else "no symbol table" in (p[0].get("name") or "")
say(e["verdict"] == "reachable" and p[0].get("kind") == "global" and name_ok and hexeq(p[0].get("address"), rec["keep_global"]),
    f"keep.ch's waiter is kept by the global {p[0].get('name')} at {p[0].get('address')} (&keep {rec['keep_global']})")
hold = [s for s in p if s.get("kind") == "object" and hexeq(s.get("address"), rec["keep_holder"])]
say(len(hold) == 1 and hold[0].get("offset") == int(rec["holder_ch_off"]),
    f"through the holder {rec['keep_holder']}, field at +{hold[0].get('offset') if hold else '?'} (Offsetof {rec['holder_ch_off']})")
say(p[-1].get("kind") == "channel" and hexeq(p[-1].get("address"), rec["keep_chan"]) and p[-1].get("type") == "chan int",
    f"ending at keep.ch {rec['keep_chan']} ({p[-1].get('type')})")
# the stack's waiter: goroutine sleeper, frame main.sleeper -> the channel
e = ex("stack_waiter"); p = e.get("path") or [{}]
want = f"goroutine {rec['sleeper']} frame main.sleeper"
say(e["verdict"] == "reachable" and p[0].get("kind") == "stack" and (p[0].get("name") or "").startswith(want),
    f"sleeper's channel's waiter is kept by '{p[0].get('name')}' (want '{want}')")
say(p[-1].get("kind") == "channel" and hexeq(p[-1].get("address"), rec["stack_chan"]), f"ending at its channel {rec['stack_chan']}")
e = ex("leaker"); w = e.get("waits_on") or [{}]
say(e["verdict"] == "leaked" and hexeq(w[0].get("address"), rec["leak_chan"]) and w[0].get("kind") == "channel"
    and not e["path"], f"the leaker is leaked, waiting on channel {rec['leak_chan']}")
# the mutex's waiter: main.keepG -> the guarded object holding the semaphore
e = ex("mutex_waiter"); p = e.get("path") or [{}]; w = e.get("waits_on") or [{}]
name_ok = (p[0].get("name") == "main.keepG") if variant == "default" else "no symbol table" in (p[0].get("name") or "")
say(e["verdict"] == "reachable" and p[0].get("kind") == "global" and name_ok and hexeq(p[0].get("address"), rec["keepg_global"]),
    f"keepG.mu's waiter is kept by the global {p[0].get('name')} at {p[0].get('address')} (&keepG {rec['keepg_global']})")
o = int(rec["keepg_object"], 16)
say(p[-1].get("kind") == "semaphore_object" and hexeq(p[-1].get("address"), rec["keepg_object"]) and w[0].get("kind") == "semaphore"
    and o <= int(w[0].get("address") or "0", 16) < o + int(rec["keepg_size"]),
    f"ending at the semaphore's object {rec['keepg_object']}, semaphore {w[0].get('address')} inside it")
e = ex("main")
say(e["verdict"] == "not_judged", f"main (asleep) is not judged: {e.get('why')}")
l = json.load(open(f"{d}/plain.json"))["go"]
ids = sorted(g["id"] for g in l["leaked_goroutines"])
say(ids == [int(rec["leaker"])] and "explain" not in l, f"leaks without --explain: leaked {ids} (want [{rec['leaker']}])")
PY
}

# run PIDARGS... : the explain answers of the recorded goroutines into $dir
run() {
	local n
	"$TLI" "$@" --json leaks > "$dir/plain.json" 2> "$dir/plain.err"
	for n in keep_waiter stack_waiter leaker mutex_waiter main; do
		"$TLI" "$@" --json leaks --explain "$(awk -v k=$n '$1 == k { print $2 }' "$out")" \
			> "$dir/$n.json" 2> "$dir/$n.err"
	done
}

vs=$(tli_go_versions)
for v in $(printf '%s\n' $vs | head -1) $(printf '%s\n' $vs | tail -1); do
	for variant in default stripped; do
		b=$(tli_build tests/targets/go/leakexplain "$v" "$variant") || { tli_bad "go$v $variant: build"; continue; }
		out=$TLI_OUT/go$v-$variant.out
		tli_start "$out" "$b"
		tpid=$TLI_PID
		if ! pid=$(tli_wait_ready "$out" 20); then
			tli_bad "go$v $variant: not ready"
			tli_kill "$tpid"
			continue
		fi
		dir=$TLI_OUT/go$v-$variant-live; mkdir -p "$dir"
		run --pid "$pid"
		rm -f "$TLI_OUT/core".*
		gcore -o "$TLI_OUT/core" "$pid" > /dev/null 2>&1 || tli_log "go$v $variant: gcore failed"
		tli_kill "$tpid"
		dir=$TLI_OUT/go$v-$variant-core; mkdir -p "$dir"
		run --core "$TLI_OUT/core.$pid" --exe "$b"
		rm -f "$TLI_OUT/core".*
		for where in live core; do
			while read -r line; do
				case $line in
				ok*) tli_ok "go$v ${line#ok   }" ;;
				*) tli_bad "go$v ${line#FAIL }" ;;
				esac
			done < <(check "$out" "$TLI_OUT/go$v-$variant-$where" "$variant" "$where" 2>&1)
		done
	done
done
tli_suite_end
