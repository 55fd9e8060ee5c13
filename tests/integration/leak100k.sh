#!/usr/bin/env bash
# tests/integration/leak100k.sh - `leaks` at scale (issue 16): tests/targets/go/demo with 50,000
# leaked backend calls (each goroutine blocked sending on its own channel, which nothing else holds)
# beside 50,000 idle workers blocked receiving on the job channel main still holds (not leaked); on a
# loaded machine a few requests get their answer before their 1 ms timeout and leak nothing.
# The truth is the construction: the leaked goroutines are exactly those blocked in
# main.(*service).callBackend (read from the same stop's goroutine listing: `leaks --json` and
# `goroutines --json` on a core of the frozen target); zero false positives, all 50,000 found, and
# none left "uncertain". Newest Go, live and core. Ends with "leak100k: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite leak100k
trap 'tli_cleanup; rm -f "$TLI_OUT"/demo.core.*' EXIT INT TERM
ver=$(tli_go_versions | awk '{print $NF}')
bin=$(tli_build tests/targets/go/demo "$ver" default) || { tli_bad "go$ver: build"; tli_suite_end; exit; }
tli_start "$TLI_OUT/demo.out" "$bin" -leaks 50000 -workers 50000
pid=$(tli_wait_ready "$TLI_OUT/demo.out" 120) || { tli_bad "demo did not start"; tli_suite_end; exit; }
sleep 1 # the last backends reach their send
t0=$(date +%s%N)
"$TLI" --pid "$pid" --json leaks --top 0 > "$TLI_OUT/live.json" 2> "$TLI_OUT/live.err" || tli_bad "live leaks: exit $?"
t1=$(date +%s%N)
gcore -o "$TLI_OUT/demo.core" "$pid" > /dev/null 2>&1 || tli_bad "gcore failed"
tli_kill "$pid"
core=$TLI_OUT/demo.core.$pid
"$TLI" --core "$core" --exe "$bin" --json leaks --top 0 > "$TLI_OUT/core.json" 2> "$TLI_OUT/core.err" || tli_bad "core leaks: exit $?"
"$TLI" --core "$core" --exe "$bin" --json goroutines > "$TLI_OUT/core.g.json" 2> "$TLI_OUT/core.g.err" || tli_bad "core goroutines: exit $?"
rm -f "$core"
python3 - "$TLI_OUT" "$(( (t1 - t0) / 1000000 ))" <<'PY' > "$TLI_OUT/verdict.txt"
import json, sys
o, ms = sys.argv[1], sys.argv[2]
gs = json.load(open(o + "/core.g.json"))["go"]["goroutines"]
truth = {g["id"] for g in gs if (g.get("user") or {}).get("function") == "main.(*service).callBackend"}
workers = {g["id"] for g in gs if (g.get("user") or {}).get("function") == "main.(*service).worker"}
# a request whose 1 ms timer fired after its backend answered (a loaded machine) is no leak:
# the truth is the senders blocked in this very core, about 50,000
print(("ok  " if len(truth) >= 49000 and len(workers) == 50000 else "FAIL") +
      f" construction: {len(truth)} senders in callBackend, {len(workers)} idle workers ({len(gs)} goroutines)")
for kind in ("live", "core"):
    d = json.load(open(f"{o}/{kind}.json"))["go"]
    found = {g["id"] for g in d["leaked_goroutines"]}
    fp, missed = found - truth, truth - found
    unc = len(d.get("uncertain", []))
    extra = f" in {ms} ms, target paused {json.load(open(o + '/live.json'))['target'].get('pause_ms')} ms" if kind == "live" else ""
    print(("ok  " if not fp and not missed else "FAIL") +
          f" {kind}: {len(found)} leaked found of {len(truth)}, false positives {len(fp)}, missed {len(missed)}{extra}")
    print(("ok  " if unc == 0 else "FAIL") + f" {kind}: {unc} goroutines left uncertain")
PY
while IFS= read -r l; do case $l in ok*) tli_ok "${l#ok   }";; FAIL*) tli_bad "${l#FAIL }";; esac; done < "$TLI_OUT/verdict.txt"
tli_suite_end
