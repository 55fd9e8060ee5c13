#!/usr/bin/env bash
# tests/integration/cores.sh - what the core backend finds wrong with a core reaches the user.
# A real gcore of the demo (newest Go) and copies of it cut short: every result must carry the
# backend's "core truncated" warnings (they used to stay inside the target object), and the
# intact core none; a cut that loses the notes (any cut of a gcore core) exits 6 naming the cut. Ends with "cores: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite cores
trap tli_cleanup EXIT INT TERM

ver=$(tli_go_versions | awk '{print $NF}')
demo=$(tli_build tests/targets/go/demo "$ver") || { tli_bad "setup"; tli_suite_end; exit 1; }
tli_start "$TLI_OUT/demo.out" "$demo"
pid=$(tli_wait_ready "$TLI_OUT/demo.out" 20) || { echo "cores: demo did not start"; tli_bad "setup"; tli_suite_end; exit 1; }
sleep 0.3
gcore -o "$TLI_OUT/demo" "$pid" >/dev/null 2>&1
core=$(ls "$TLI_OUT"/demo.[0-9]* 2>/dev/null | head -1)
[ -f "$core" ] || { echo "cores: gcore failed"; tli_bad "setup"; tli_suite_end; exit 1; }
tli_kill "$pid"

warnings() {  # JSON file -> the warnings, one per line
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\n".join(d.get("warnings") or []))' "$1"
}

"$TLI" --core "$core" --exe "$demo" --json goroutines > "$TLI_OUT/full.json" 2> "$TLI_OUT/full.err"
rc=$?
w=$(warnings "$TLI_OUT/full.json" 2>/dev/null)
if [ $rc = 0 ] && [ -n "$(head -c 1 "$TLI_OUT/full.json")" ] && ! grep -q 'core truncated' <<<"$w"; then
	tli_ok "intact core: no truncation warning"
else
	tli_bad "intact core: $(head -c 300 "$TLI_OUT/full.err") $(warnings "$TLI_OUT/full.json" 2>/dev/null | head -2)"
fi

size=$(stat -c %s "$core")
for pct in 5 50; do
	cut=$TLI_OUT/cut$pct.core
	head -c $((size * pct / 100)) "$core" > "$cut"
	"$TLI" --core "$cut" --exe "$demo" --json goroutines > "$TLI_OUT/cut$pct.json" 2> "$TLI_OUT/cut$pct.err"
	rc=$?
	w=$(warnings "$TLI_OUT/cut$pct.json" 2>/dev/null)
	# gcore writes the notes last: every cut loses the threads and mappings. Issue 15 item 3:
	# this used to exit 0 with "threads 0" and statuses as numbers; now 6, naming the cut.
	if [ $rc = 6 ] && grep -q "truncated at $((size * pct / 100)) bytes" "$TLI_OUT/cut$pct.err" &&
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]["code"] == 6' "$TLI_OUT/cut$pct.json"; then
		tli_ok "core cut at $pct%: exit 6, naming the cut: $(head -c 160 "$TLI_OUT/cut$pct.err")"
	else
		tli_bad "core cut at $pct%: exit $rc, no truncation named: $(head -c 300 "$TLI_OUT/cut$pct.err")"
	fi
	# the text view shows them too (on stderr, before the listing)
	"$TLI" --core "$cut" --exe "$demo" goroutines > "$TLI_OUT/cut$pct.txt" 2> "$TLI_OUT/cut$pct.txt.err"
	if grep -q '^tlinspect: warning: core truncated' "$TLI_OUT/cut$pct.txt.err" || grep -q 'truncated' "$TLI_OUT/cut$pct.txt.err"; then
		tli_ok "core cut at $pct%: text view warns on stderr"
	else
		tli_bad "core cut at $pct%: text view says nothing about the truncation"
	fi
	rm -f "$cut"
done
rm -f "$core"
tli_suite_end
