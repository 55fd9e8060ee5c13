#!/usr/bin/env bash
# tests/integration/secrets.sh - `secrets` (issue 15) against targets that plant credentials in
# each region and record where (tests/targets/go/secrets, tests/targets/c/secretsc.c:
# OUTDIR/planted.txt, "REGION KIND ADDRESS TOKEN"): every planted one is found at its address
# with its kind and region; without --reveal no token appears whole, nor any of it past its
# first 4 characters, in stdout or stderr, JSON or text, of `secrets`, `explain chan`, `chan`,
# `explain chunk`; with --reveal each value is there. Ends with "secrets: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite secrets
trap tli_cleanup EXIT INT TERM

# check_found JSON PLANTED: each planted line has a finding of that address, kind and region
check_found() { python3 "$ROOT/tests/integration/secrets_found.py" "$1" "$2"; }

# check_hidden PLANTED FILE...: no token's characters 5-12 (past the 4 a preview shows) in the files
check_hidden() {
	python3 - "$@" <<'PY'
import sys
toks = [l.rstrip("\n").split(" ", 3)[3].replace("|", "\n") for l in open(sys.argv[1])]
bad = 0
for fn in sys.argv[2:]:
    text = open(fn, errors="replace").read()
    for t in toks:
        if t[4:12] in text:  # the 8 characters after what a preview may show
            print(f"{fn}: shows {t[:4]}... ({len(t)} chars)"); bad += 1
sys.exit(1 if bad else 0)
PY
}

check_revealed() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
vals = {(f["address"], f["kind"]): f.get("value") for f in d["secrets"]["findings"]}
bad = 0
for line in open(sys.argv[2]):
    region, kind, addr, tok = line.rstrip("\n").split(" ", 3)
    if vals.get((hex(int(addr, 16)), kind)) != tok.replace("|", "\n"):
        print(f"--reveal: {kind} at {addr}: value missing or different"); bad += 1
sys.exit(1 if bad else 0)
PY
}

one_target() { # NAME DIR: run the commands on the started target (pid in $pid)
	local name=$1 dir=$2 o=$TLI_OUT/$1
	"$TLI" --pid "$pid" --json secrets > "$o.json" 2> "$o.json.err"; local rc=$?
	"$TLI" --pid "$pid" secrets > "$o.txt" 2> "$o.txt.err"; local rc2=$?
	if [ $rc = 0 ] && [ $rc2 = 0 ] && check_found "$o.json" "$dir/planted.txt" > "$o.found"; then
		tli_ok "$name: every planted credential found in its region: $(tr '\n' ';' < "$o.found")"
	else
		tli_bad "$name: exit $rc/$rc2: $(tr '\n' ';' < "$o.found" 2>/dev/null) $(head -c 200 "$o.json.err")"
	fi
	if check_hidden "$dir/planted.txt" "$o.json" "$o.json.err" "$o.txt" "$o.txt.err" > "$o.hidden"; then
		tli_ok "$name: no token whole in secrets' JSON, text, stderr"
	else
		tli_bad "$name: redaction: $(tr '\n' ';' < "$o.hidden")"
	fi
	"$TLI" --pid "$pid" --json secrets --reveal > "$o.reveal.json" 2>/dev/null
	if check_revealed "$o.reveal.json" "$dir/planted.txt" > "$o.revealed"; then
		tli_ok "$name: --reveal gives every value"
	else
		tli_bad "$name: $(tr '\n' ';' < "$o.revealed")"
	fi
}

# ---- Go: the oldest, a middle and the newest toolchain, unstripped and stripped (-s -w) ----
all_vers=$(tli_go_versions)
mid=$(echo "$all_vers" | awk '{print $(int((NF+1)/2))}')
for ver in $(echo "$all_vers" | awk '{print $1}') $mid $(echo "$all_vers" | awk '{print $NF}'); do
for variant in default stripped; do
	tag=go$ver-$variant
	gobin=$(tli_build tests/targets/go/secrets "$ver" "$variant") || { tli_bad "$tag: go build"; continue; }
	mkdir -p "$TLI_OUT/$tag"
	tli_start "$TLI_OUT/$tag.out" "$gobin" "$TLI_OUT/$tag"
	if ! pid=$(tli_wait_ready "$TLI_OUT/$tag.out" 20); then
		tli_bad "$tag: target did not start"
		continue
	fi
	# main prints "ready" and then parks in time.Sleep: caught still running, its registers are
	# roots (conservatively, as for any goroutine on a thread) and may still hold the dropped slice
	sleep 0.3
	one_target "$tag" "$TLI_OUT/$tag"
	# one redaction policy: explain chan and chan show the channel's string elements redacted
	chan=$("$TLI" --pid "$pid" --json chans 2>/dev/null | python3 -c '
import json, sys
for c in json.load(sys.stdin)["go"]["channels"]:
    if "chan string" in json.dumps(c) or "main.ch" in json.dumps(c): print(c["address"]); break')
	if [ "$variant" = default ] && [ -n "$chan" ]; then
		for v in "explain chan" chan; do
			f=$TLI_OUT/$tag.$(echo "$v" | tr ' ' _)
			"$TLI" --pid "$pid" $v "$chan" > "$f.txt" 2>&1
			"$TLI" --pid "$pid" --json $v "$chan" > "$f.json" 2>&1
			if check_hidden "$TLI_OUT/$tag/planted.txt" "$f.txt" "$f.json" > "$f.hidden"; then
				tli_ok "$tag: $v $chan: string elements redacted (text and JSON)"
			else
				tli_bad "$tag: $v $chan: $(tr '\n' ';' < "$f.hidden")"
			fi
		done
	elif [ "$variant" = default ]; then
		tli_bad "$tag: main.ch not found by chans"
	fi
	tli_kill "$pid"
done
done

# ---- C ----
cbin=$TLI_OUT/secretsc
if gcc -O1 -g -pthread -o "$cbin" "$ROOT/tests/targets/c/secretsc.c"; then
	mkdir -p "$TLI_OUT/c"
	tli_start "$TLI_OUT/c.out" "$cbin" "$TLI_OUT/c"
	if pid=$(tli_wait_ready "$TLI_OUT/c.out" 20); then
		one_target c "$TLI_OUT/c"
		# explain chunk on the chunk holding the live URL: its bytes are not dumped
		addr=$(awk '$1 == "live" {print $3}' "$TLI_OUT/c/planted.txt")
		"$TLI" --pid "$pid" explain chunk "$addr" > "$TLI_OUT/c.explain.txt" 2>&1
		"$TLI" --pid "$pid" --json explain chunk "$addr" > "$TLI_OUT/c.explain.json" 2>&1
		if check_hidden "$TLI_OUT/c/planted.txt" "$TLI_OUT/c.explain.txt" "$TLI_OUT/c.explain.json" > "$TLI_OUT/c.explain.hidden"; then
			tli_ok "c: explain chunk $addr: user data not dumped"
		else
			tli_bad "c: explain chunk: $(tr '\n' ';' < "$TLI_OUT/c.explain.hidden")"
		fi
		tli_kill "$pid"
	else
		tli_bad "c: target did not start"
	fi
else
	tli_bad "c: build"
fi
tli_suite_end
