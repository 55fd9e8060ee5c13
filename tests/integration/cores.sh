#!/usr/bin/env bash
# tests/integration/cores.sh - what the core backend finds wrong with a core reaches the user.
# A real gcore of the demo (newest Go) and copies of it cut short: every result must carry the
# backend's "core truncated" warnings (they used to stay inside the target object), and the
# intact core none. Ends with "cores: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/cores
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT INT TERM
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
rm -rf "$TLI_OUT"; mkdir -p "$TLI_OUT"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

ver=$(tli_go_versions | awk '{print $NF}')
demo=$(tli_build tests/targets/go/demo "$ver") || { echo "cores: 0 passed, 1 failed"; exit 1; }
tli_start "$TLI_OUT/demo.out" "$demo"
pid=$(tli_wait_ready "$TLI_OUT/demo.out" 20) || { echo "cores: demo did not start"; echo "cores: 0 passed, 1 failed"; exit 1; }
sleep 0.3
gcore -o "$TLI_OUT/demo" "$pid" >/dev/null 2>&1
core=$(ls "$TLI_OUT"/demo.[0-9]* 2>/dev/null | head -1)
[ -f "$core" ] || { echo "cores: gcore failed"; echo "cores: 0 passed, 1 failed"; exit 1; }
tli_kill "$pid"

warnings() {  # JSON file -> the warnings, one per line
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\n".join(d.get("warnings") or []))' "$1"
}

"$TLI" --core "$core" --exe "$demo" --json goroutines > "$TLI_OUT/full.json" 2> "$TLI_OUT/full.err"
rc=$?
w=$(warnings "$TLI_OUT/full.json" 2>/dev/null)
if [ $rc = 0 ] && [ -n "$(head -c 1 "$TLI_OUT/full.json")" ] && ! grep -q 'core truncated' <<<"$w"; then
	ok "intact core: no truncation warning"
else
	bad "intact core: $(head -c 300 "$TLI_OUT/full.err") $(warnings "$TLI_OUT/full.json" 2>/dev/null | head -2)"
fi

size=$(stat -c %s "$core")
for pct in 5 50; do
	cut=$TLI_OUT/cut$pct.core
	head -c $((size * pct / 100)) "$core" > "$cut"
	"$TLI" --core "$cut" --exe "$demo" --json goroutines > "$TLI_OUT/cut$pct.json" 2> "$TLI_OUT/cut$pct.err"
	rc=$?
	w=$(warnings "$TLI_OUT/cut$pct.json" 2>/dev/null)
	if [ $rc = 0 ] && grep -q '^core truncated: PT_LOAD at vaddr 0x' <<<"$w"; then
		ok "core cut at $pct%: result carries the backend's truncation warnings ($(grep -c 'core truncated' <<<"$w"))"
	elif [ $rc != 0 ] && grep -q 'truncated' "$TLI_OUT/cut$pct.err"; then
		ok "core cut at $pct%: refused, naming the truncation: $(head -c 160 "$TLI_OUT/cut$pct.err")"
	else
		bad "core cut at $pct%: exit $rc, no truncation named: $(head -c 300 "$TLI_OUT/cut$pct.err")"
	fi
	# the text view shows them too (on stderr, before the listing)
	"$TLI" --core "$cut" --exe "$demo" goroutines > "$TLI_OUT/cut$pct.txt" 2> "$TLI_OUT/cut$pct.txt.err"
	if grep -q '^tlinspect: warning: core truncated' "$TLI_OUT/cut$pct.txt.err" || grep -q 'truncated' "$TLI_OUT/cut$pct.txt.err"; then
		ok "core cut at $pct%: text view warns on stderr"
	else
		bad "core cut at $pct%: text view says nothing about the truncation"
	fi
	rm -f "$cut"
done
rm -f "$core"
echo "cores: $pass passed, $fail failed"
[ "$fail" = 0 ]
