#!/usr/bin/env bash
# tests/integration/screen.sh - the first screen (issue 17 item 2, issue 13): `tlinspect --pid P`
# with no command on a service with 20,000 stuck goroutines prints the summary and the groups, the
# leaked count, memory (memstats, top types), pools and timers, at most 40 lines, all from one stop;
# it names the leaking site, and says how to get every traceback; its sections agree with
# `leaks`, `heap`, `pools` and `timers` run on the same (quiet) state; `goroutines` (and the first
# screen with --stacks) still lists every goroutine. The wait-for graph of the same service is
# grouped (its groups hold every node and edge once), renders with graphviz in at most 10 s,
# marks as leaked exactly the goroutines `leaks` reports, and --focus keeps a neighbourhood. Target: tests/targets/go/demo -leaks 20000,
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
"$TLI" --pid "$pid" --json goroutines --stacks > "$TLI_OUT/screen.stacks.json" 2>> "$TLI_OUT/screen.err" || rc4=$?
# the wait-for graph at that scale (issue 17 item 3): grouped, drawable, focusable
"$TLI" --pid "$pid" --json graph --leaks > "$TLI_OUT/graph.json" 2>> "$TLI_OUT/screen.err"; rg1=$?
"$TLI" --pid "$pid" graph --dot --leaks > "$TLI_OUT/graph.dot" 2>> "$TLI_OUT/screen.err"; rg2=$?
"$TLI" --pid "$pid" --json graph --focus 1 > "$TLI_OUT/graph.focus.json" 2>> "$TLI_OUT/screen.err"; rg3=$?
"$TLI" --pid "$pid" --json leaks > "$TLI_OUT/leaks.json" 2>> "$TLI_OUT/screen.err"; rg4=$?
# chans at that scale (issue 17 item 12): the first 40 channels and a count of the rest; --top 0 every one
"$TLI" --pid "$pid" chans > "$TLI_OUT/chans.txt" 2>> "$TLI_OUT/screen.err"; rc5=$?
"$TLI" --pid "$pid" chans --top 0 > "$TLI_OUT/chans.all.txt" 2>> "$TLI_OUT/screen.err"; rc6=$?
"$TLI" --pid "$pid" --json chans > "$TLI_OUT/chans.json" 2>> "$TLI_OUT/screen.err"; rc7=$?
"$TLI" --pid "$pid" goroutines --folded > "$TLI_OUT/folded.txt" 2>> "$TLI_OUT/screen.err"; rc8=$?
# the commands whose figures the first screen repeats (their suites check them against the runtime)
"$TLI" --pid "$pid" --json heap > "$TLI_OUT/heap.json" 2>> "$TLI_OUT/screen.err"
"$TLI" --pid "$pid" --json pools > "$TLI_OUT/pools.json" 2>> "$TLI_OUT/screen.err"
"$TLI" --pid "$pid" --json timers > "$TLI_OUT/timers.json" 2>> "$TLI_OUT/screen.err"
tli_kill "$pid"
if [ "$rc1$rc2$rc3$rc4$rc5$rc6$rc7$rc8" != 00000000 ]; then
	tli_bad "exit codes $rc1 $rc2 $rc3 $rc4 $rc5 $rc6 $rc7 $rc8: $(head -c 300 "$TLI_OUT/screen.err")"
	tli_suite_end; exit
fi
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for g in d["go"]["goroutines"] if not g.get("system")))' "$TLI_OUT/screen.json")
# chans: JSON has every channel; the text's first rows are JSON's first rows, then one line for the rest
out=$(python3 - "$TLI_OUT/chans.json" "$TLI_OUT/chans.txt" "$TLI_OUT/chans.all.txt" <<'PY'
import json, re, sys
chans = json.load(open(sys.argv[1]))["go"]["channels"]
def rows(path):
    return [l.split()[0] for l in open(path) if re.match(r"0x[0-9a-f]+ ", l)]
top, every = rows(sys.argv[2]), rows(sys.argv[3])
want = [c["address"] for c in chans]
more = [l for l in open(sys.argv[2]) if l.startswith("... ")]
bad = []
if top != want[:40]:
    bad.append("text rows %d are not JSON's first 40" % len(top))
if len(want) > 40 and not (more and int(more[0].split()[1]) == len(want) - 40):
    bad.append("no '... %d more channel(s)' line: %s" % (len(want) - 40, more))
if every != want:
    bad.append("--top 0 lists %d of %d channels" % (len(every), len(want)))
print("; ".join(bad) if bad else "ok %d channels, %d lines by default" % (len(want), sum(1 for _ in open(sys.argv[2]))))
PY
)
case $out in
ok*) tli_ok "chans: ${out#ok }, every one with --top 0" ;;
*) tli_bad "chans: $out" ;;
esac
# folded stacks (issue 17, ecosystem): "outer;...;inner COUNT" lines, one per distinct stack of
# the listing: every user goroutine counted once, the senders' stack ends in callBackend
out=$(python3 - "$TLI_OUT/folded.txt" "$TLI_OUT/screen.stacks.json" <<'PY'
import collections, json, re, sys
lines = open(sys.argv[1]).read().splitlines()
bad = [l for l in lines if not re.fullmatch(r"[^ ;]+(;[^ ;]+)* [1-9][0-9]*", l)]
got = collections.Counter()
for l in lines:
    st, n = l.rsplit(" ", 1)
    got[st] += int(n)
want = collections.Counter()
for g in json.load(open(sys.argv[2]))["go"]["goroutines"]:
    if not g.get("system") and g.get("stack"):
        want[";".join(f["function"].replace(" ", "_") for f in reversed(g["stack"]))] += 1
if bad:
    print("malformed lines: %s" % bad[:3])
elif got != want:
    print("folded differs from the listing's stacks: %s" % list((got - want).items())[:2] + list((want - got).items())[:2])
else:
    top = lines[0].rsplit(" ", 1)
    print("ok %d lines for %d goroutines; heaviest %s x%s" % (len(lines), sum(got.values()), top[0].split(";")[-1], top[1]))
PY
)
case $out in
ok*) tli_ok "goroutines --folded: ${out#ok }" ;;
*) tli_bad "goroutines --folded: $out" ;;
esac
lines=$(wc -l < "$TLI_OUT/screen.txt")
if [ "$lines" -le 40 ]; then tli_ok "first screen: $lines lines for $n goroutines"
else tli_bad "first screen: $lines lines (more than 40) for $n goroutines"; fi
# its other sections, against the commands that answer them alone
out=$(python3 - "$TLI_OUT" <<'PY'
import json, re, sys
o = sys.argv[1]
txt = open(o + "/screen.txt").read()
go = json.load(open(o + "/screen.json"))["go"]
lk = json.load(open(o + "/leaks.json"))["go"]
hp = json.load(open(o + "/heap.json"))["go"]
pl = json.load(open(o + "/pools.json"))["go"]["pools"]
tm = json.load(open(o + "/timers.json"))["go"]["timers"]
bad = []
if go.get("leaked_count") != lk["leaked_count"] or ("leaked: %d goroutines blocked forever" % lk["leaked_count"]) not in txt:
    bad.append("leaked %s, `leaks` %s" % (go.get("leaked_count"), lk["leaked_count"]))
ms, hm = go.get("memstats") or {}, hp["memstats"]
if ms.get("num_gc") != hm["num_gc"] or abs(ms.get("heap_objects", 0) - hm["heap_objects"]) > 1000:
    bad.append("memstats num_gc %s heap_objects %s, `heap` %s %s" % (ms.get("num_gc"), ms.get("heap_objects"), hm["num_gc"], hm["heap_objects"]))
if "memory: Go heap " not in txt:
    bad.append("no memory line")
g = [t for t in go.get("types", []) if t["type"] == "runtime.g"]
ng = go["goroutine_count"]
if not g or g[0]["objects"] < ng or "runtime.g x%d" % g[0]["objects"] not in txt:
    bad.append("live types: runtime.g %s for %d goroutines" % (g, ng))
npools = len(pl.get("sql_dbs") or [])
if len((go.get("pools") or {}).get("sql_dbs") or []) != npools or ("%d connection pool" % npools) not in txt:
    bad.append("pools: %s sql pools, `pools` %d" % (len((go.get("pools") or {}).get("sql_dbs") or []), npools))
t = go.get("timers") or {}
if t.get("count") != tm["count"] or ("timers: %d in " % tm["count"]) not in txt:
    bad.append("timers %s, `timers` %d" % (t.get("count"), tm["count"]))
print("; ".join(bad) if bad else "ok leaked %d (as `leaks`), num_gc %d, runtime.g x%d, %d sql pools, %d timers (as `heap`, `pools`, `timers`)"
      % (lk["leaked_count"], hm["num_gc"], g[0]["objects"], npools, tm["count"]))
PY
)
case $out in
ok*) tli_ok "first screen sections: ${out#ok }" ;;
*) tli_bad "first screen sections: $out" ;;
esac
# the senders in the same stop's JSON (the demo's last few may not have reached their send yet)
ns=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for g in d["go"]["goroutines"] if g.get("wait_reason") == "chan send" and (g.get("user") or {}).get("function") == "main.(*service).callBackend"))' "$TLI_OUT/screen.json")
if [ "$ns" -gt 19000 ] && grep -qE "^ +$ns +chan send +main\.\(\*service\)\.callBackend" "$TLI_OUT/screen.txt"; then
	tli_ok "first screen names the leaking site ($ns chan send in main.(*service).callBackend)"
else
	tli_bad "first screen does not name the $ns senders in main.(*service).callBackend: $(sed -n 5,12p "$TLI_OUT/screen.txt")"
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
if [ "$rg1$rg2$rg3$rg4" != 0000 ]; then
	tli_bad "graph/leaks exit codes $rg1 $rg2 $rg3 $rg4: $(tail -c 300 "$TLI_OUT/screen.err")"
else
	t0=$(date +%s%N)
	if timeout 30 dot -Tsvg "$TLI_OUT/graph.dot" > "$TLI_OUT/graph.svg" 2> "$TLI_OUT/dot.err"; then
		ms=$((($(date +%s%N) - t0) / 1000000))
		if [ "$ms" -le 10000 ]; then tli_ok "graph --dot: dot -Tsvg renders it in $ms ms ($(grep -c -- '->' "$TLI_OUT/graph.dot") edges drawn)"
		else tli_bad "graph --dot: dot -Tsvg took $ms ms (more than 10 s)"; fi
	else tli_bad "graph --dot: dot -Tsvg failed or took over 30 s: $(head -c 200 "$TLI_OUT/dot.err")"; fi
	python3 - "$TLI_OUT" <<'PY' > "$TLI_OUT/graph.verdict"
import json, sys
o = sys.argv[1]
g = json.load(open(o + "/graph.json"))["graph"]
gr, nodes, edges = g["groups"], g["nodes"], g["edges"]
cnt = sum(x["count"] for x in gr["nodes"])
ecnt = sum(x["count"] for x in gr["edges"])
print(("ok  " if cnt == len(nodes) and ecnt == len(edges) else "FAIL") +
      f" graph groups: {len(gr['nodes'])} groups hold the {cnt} of {len(nodes)} nodes, group edges the {ecnt} of {len(edges)} edges")
# every sender blocked in callBackend is in a group with that label, counted once
send = [n for n in nodes if n["kind"] == "goroutine" and n.get("wait_reason") == "chan send"
        and (n.get("user") or {}).get("function") == "main.(*service).callBackend"]
gsend = sum(x["count"] for x in gr["nodes"] if x["kind"] == "goroutine" and x.get("wait_reason") == "chan send"
            and (x.get("user") or {}).get("function") == "main.(*service).callBackend")
print(("ok  " if len(send) > 19000 and gsend == len(send) else "FAIL") +
      f" graph: {len(send)} senders in callBackend, {gsend} in the groups labelled so")
# leaked colouring = what `leaks` reports
lk = json.load(open(o + "/leaks.json"))["go"]
leaked_ids = {x["id"] for x in lk["leaked_goroutines"]}
gl = {n["goroutine"] for n in nodes if n.get("leaked")}
gsum = sum(x.get("leaked", 0) for x in gr["nodes"] if x["kind"] == "goroutine")
print(("ok  " if gl == leaked_ids and gsum == len(gl) else "FAIL") +
      f" graph --leaks: {len(gl)} goroutines marked leaked, leaks reports {len(leaked_ids)}, groups count {gsum}")
# leaks never drops a member of a group silently (issue 17 item 14): each sender is leaked or
# listed as uncertain with the reason
grp = [x for x in lk["leak_groups"] if (x.get("user") or {}).get("function") == "main.(*service).callBackend"]
alike = sum(x.get("alike_reachable", 0) for x in grp)
unc = [u for u in lk["uncertain"] if "blocked where" in u.get("why", "")]
tot = sum(x["count"] for x in grp) + alike
print(("ok  " if tot == len(send) and len(unc) == alike else "FAIL") +
      f" leaks: the {len(send)} senders are {tot - alike} leaked + {alike} alike but reachable, "
      f"{len(unc)} of them listed as uncertain with the reason")
f = json.load(open(o + "/graph.focus.json"))["graph"]
ids = {n["id"] for n in f["nodes"]}
print(("ok  " if "g1" in ids and 1 < len(ids) < 100 and f.get("focus") == "1" else "FAIL") +
      f" graph --focus 1: {len(ids)} nodes around goroutine 1 (of {len(nodes)})")
PY
	while IFS= read -r l; do case $l in ok*) tli_ok "${l#ok   }";; FAIL*) tli_bad "${l#FAIL }";; esac; done < "$TLI_OUT/graph.verdict"
fi
tli_suite_end
