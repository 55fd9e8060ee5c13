#!/usr/bin/env bash
# tests/integration/notachan.sh - `chan ADDR` decodes a channel, and refuses (exit 12, naming the rule
# broken) an address that is not one: the address of a variable holding a channel (`chan &v` instead
# of `chan v`) or of a goroutine descriptor used to print garbage with exit 0 (len 824634466304,
# "closed", "timer channel"). The oracle: `chans` lists every channel goroutines wait on and the
# globals holding one; each listed channel must decode, the slots and gs must be refused.
# Also: each goroutine group lists its smallest ids in order. Target: the demo (newest Go), frozen.
# Ends with "notachan: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite notachan
trap tli_cleanup EXIT INT TERM
ver=$(tli_go_versions | awk '{print $NF}')
demo=$(tli_build tests/targets/go/demo "$ver") || { tli_bad "setup"; tli_suite_end; exit 1; }
tli_start "$TLI_OUT/demo.out" "$demo"
pid=$(tli_wait_ready "$TLI_OUT/demo.out" 20) || { tli_bad "setup"; tli_suite_end; exit 1; }
sleep 0.3
kill -STOP "$pid"
"$TLI" --pid "$pid" --json chans > "$TLI_OUT/chans.json" || tli_bad "chans"
"$TLI" --pid "$pid" --json goroutines > "$TLI_OUT/g.json" || tli_bad "goroutines"
read -r chans slots < <(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))["go"]["channels"]
print(",".join(c["address"] for c in d), ",".join(g["slot"] for c in d for g in c.get("globals") or []))' "$TLI_OUT/chans.json")
gs=$(python3 -c 'import json,sys; print(",".join(g["address"] for g in json.load(open(sys.argv[1]))["go"]["goroutines"][:5]))' "$TLI_OUT/g.json")
n=0 nbad=0
for a in ${chans//,/ }; do
	n=$((n + 1))
	"$TLI" --pid "$pid" --json chan "$a" > "$TLI_OUT/c.json" 2> "$TLI_OUT/c.err" || { nbad=$((nbad + 1)); echo "   chan $a: $(head -c 200 "$TLI_OUT/c.err")"; }
done
[ "$n" -gt 0 ] && [ "$nbad" = 0 ] && tli_ok "every channel chans lists decodes with chan ADDR ($n)" || tli_bad "chan ADDR refused $nbad of $n listed channels"
for kind in slot g; do
	if [ $kind = slot ]; then list=$slots; what="the address of a variable holding a channel"; else list=$gs; what="a goroutine's runtime.g"; fi
	[ -n "$list" ] || { tli_bad "no $what to try"; continue; }
	for a in ${list//,/ }; do
		"$TLI" --pid "$pid" chan "$a" > "$TLI_OUT/x.out" 2> "$TLI_OUT/x.err"
		rc=$?
		if [ $rc = 12 ] && grep -q "is not a channel" "$TLI_OUT/x.err" && [ ! -s "$TLI_OUT/x.out" ]; then
			tli_ok "chan $a ($what): refused, exit 12: $(sed 's/.*breaks makechan.s rules (\([^)]*\)).*/\1/' "$TLI_OUT/x.err" | head -c 80)"
		else
			tli_bad "chan $a ($what): exit $rc, printed $(head -2 "$TLI_OUT/x.out" | tail -1 | head -c 120)"
		fi
	done
done
# (the listing's groups, on the same frozen demo) each group names its smallest goroutine ids,
# ascending - the oracle is the listing itself: the goroutines with the group's key
res=$(python3 - "$TLI_OUT/g.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["go"]
def key(o):
    u, c = o.get("user") or {}, o.get("created_by") or {}
    return (o.get("status"), o.get("wait_reason"), u.get("function"), u.get("pc"), c.get("pc"))
members = {}
for g in d["goroutines"]:
    if not g.get("system"):
        members.setdefault(key(g), []).append(g["id"])
bad = []
for gr in d["summary"]["groups"]:
    want = sorted(members.get(key(gr), []))[:10]
    if gr["ids"] != want:
        bad.append("%s: %s, want %s" % (gr.get("wait_reason"), gr["ids"], want))
print("; ".join(bad[:3]) if bad else "ok %d" % len(d["summary"]["groups"]))
PY
)
case $res in ok*) tli_ok "each of the ${res#ok } groups lists its smallest ids, ascending" ;; *) tli_bad "group ids: $res" ;; esac

# explain chan draws an hchan field by field: the same refusal
a=${gs%%,*}
"$TLI" --pid "$pid" explain chan "$a" > "$TLI_OUT/e.out" 2> "$TLI_OUT/e.err"
rc=$?
if [ $rc = 12 ] && grep -q "is not a channel" "$TLI_OUT/e.err"; then tli_ok "explain chan $a (a goroutine's runtime.g): refused, exit 12"
else tli_bad "explain chan $a: exit $rc: $(head -c 150 "$TLI_OUT/e.out")"; fi
a=${chans%%,*}
"$TLI" --pid "$pid" explain chan "$a" > "$TLI_OUT/e.out" 2> "$TLI_OUT/e.err" && tli_ok "explain chan $a (a channel): drawn" || tli_bad "explain chan $a: $(head -c 200 "$TLI_OUT/e.err")"
tli_suite_end
