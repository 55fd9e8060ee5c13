#!/usr/bin/env bash
# tests/integration/screen.sh - the first screen (issue 17 item 2): `tlinspect --pid P` with no
# command on a service with 20,000 stuck goroutines prints the summary and the groups, at most 60
# lines, names the leaking site, and says how to get every traceback; `goroutines` (and the first
# screen with --stacks) still lists every goroutine. Target: tests/targets/go/demo -leaks 20000,
# newest Go. The oracle for the counts is tlinspect's own JSON of the same stop-free state (the
# demo does nothing after it prints its pid). Ends with "screen: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite screen
trap tli_cleanup EXIT INT TERM

ver=$(tli_go_versions | tr ' ' '\n' | tail -1)
bin=$(tli_build tests/targets/go/demo "$ver" default) || { tli_bad "go$ver: build"; tli_suite_end; exit; }
tli_start "$TLI_OUT/screen.out" "$bin" -leaks 20000
pid=$(tli_wait_ready "$TLI_OUT/screen.out" 60) || { tli_bad "demo did not start"; tli_suite_end; exit; }
"$TLI" --pid "$pid" > "$TLI_OUT/screen.txt" 2> "$TLI_OUT/screen.err"; rc1=$?
"$TLI" --pid "$pid" --json > "$TLI_OUT/screen.json" 2>> "$TLI_OUT/screen.err"; rc2=$?
"$TLI" --pid "$pid" goroutines > "$TLI_OUT/screen.all.txt" 2>> "$TLI_OUT/screen.err"; rc3=$?
"$TLI" --pid "$pid" --stacks > "$TLI_OUT/screen.stacks.txt" 2>> "$TLI_OUT/screen.err"; rc4=$?
tli_kill "$pid"
if [ "$rc1$rc2$rc3$rc4" != 0000 ]; then
	tli_bad "exit codes $rc1 $rc2 $rc3 $rc4: $(head -c 300 "$TLI_OUT/screen.err")"
	tli_suite_end; exit
fi
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for g in d["go"]["goroutines"] if not g.get("system")))' "$TLI_OUT/screen.json")
lines=$(wc -l < "$TLI_OUT/screen.txt")
if [ "$lines" -le 60 ]; then tli_ok "first screen: $lines lines for $n goroutines"
else tli_bad "first screen: $lines lines (more than 60) for $n goroutines"; fi
if [ "$n" -ge 20000 ] && grep -qE '^ +20000 +chan send +main\.\(\*service\)\.callBackend' "$TLI_OUT/screen.txt"; then
	tli_ok "first screen names the leaking site (20000 chan send in main.(*service).callBackend)"
else
	tli_bad "first screen does not name 20000 senders in main.(*service).callBackend: $(sed -n 5,12p "$TLI_OUT/screen.txt")"
fi
if grep -q "every traceback ($n goroutines): the \`goroutines\` command" "$TLI_OUT/screen.txt"; then
	tli_ok "first screen says how to list the $n tracebacks"
else
	tli_bad "no hint for the full listing: $(tail -2 "$TLI_OUT/screen.txt")"
fi
for f in all stacks; do
	got=$(grep -cE '^goroutine [0-9]+ \[' "$TLI_OUT/screen.$f.txt")
	if [ "$got" = "$n" ]; then tli_ok "listing ($f): $got tracebacks"
	else tli_bad "listing ($f): $got tracebacks, JSON has $n goroutines"; fi
done
tli_suite_end
