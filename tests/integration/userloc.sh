#!/usr/bin/env bash
# tests/integration/userloc.sh - a goroutine's "user" location is its first frame outside the
# standard library, decided as the go tool does (the import path's first element has no dot),
# on normal and -trimpath builds (every Debian-built Go binary is -trimpath). Target:
# tests/targets/go/modpath (module example.com/demo: 1 goroutine in work.Block, 3 in
# (*Pool).Worker -> Block), oldest and newest Go. The oracle is the target's own source: the 4
# goroutines parked in work.Block have no frame of their own above it, so that is where they are. Ends with "userloc: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite userloc
trap tli_cleanup EXIT INT TERM

vers=$(tli_go_versions)
for ver in $(printf '%s\n' $vers | sed -n '1p;$p' | sort -u); do
	for variant in default trimpath; do
		bin=$(tli_build tests/targets/go/modpath "$ver" "$variant") || { tli_bad "go$ver $variant: build"; continue; }
		tli_start "$TLI_OUT/out.$ver.$variant" "$bin"
		pid=$(tli_wait_ready "$TLI_OUT/out.$ver.$variant" 20) || { tli_bad "go$ver $variant: did not start"; continue; }
		"$TLI" --pid "$pid" --json goroutines > "$TLI_OUT/g.$ver.$variant.json" 2> "$TLI_OUT/g.$ver.$variant.err"
		tli_kill "$pid"
		res=$(python3 - "$TLI_OUT/g.$ver.$variant.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = "example.com/demo/work.Block"
got = [((g.get("user") or {}).get("function")) for g in d["go"]["goroutines"]
       if (g.get("current") or {}).get("function") == want]
wrong = sorted(set(str(u) for u in got if u != want))
if len(got) != 4:
    print("%d goroutines blocked in %s, the program starts 4" % (len(got), want))
elif wrong:
    print("user location %s, want %s" % (", ".join(wrong), want))
else:
    print("ok %d" % len(got))
PY
)
		case $res in
		ok*) tli_ok "go$ver $variant: user location of the ${res#ok } goroutines in example.com/demo/work is work.Block" ;;
		*) tli_bad "go$ver $variant: $res $(head -c 200 "$TLI_OUT/g.$ver.$variant.err")" ;;
		esac
	done
done
tli_suite_end
