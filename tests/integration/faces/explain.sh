#!/usr/bin/env bash
# tests/integration/faces/explain.sh — teaching mode: `explain chan`, `explain chunk`, `explain arena`
# checked against oracles that are not tlinspect, live (--pid) and from a gcore core (--core/--exe).
#
# Go: tests/targets/go/chans (Go 1.19 and the newest installed toolchain, or GO_VERSIONS) records
# its own facts.json (len()/cap()/closed of each channel, and which goroutine blocks on which
# channel, from inside the program). For every channel it names:
#   - qcount = len, dataqsiz = cap, closed as recorded, and the ring invariant
#     (recvx + len) mod cap = sendx with the recorded len/cap (and sendx < recvx where it wrapped)
#   - recvq/sendq: exactly the goroutines that recorded blocking on that channel (non-stale sudogs)
#   - every field offset/size = gdb's `ptype/o runtime.hchan` (DWARF read by gdb)
# C: tests/targets/c/heapstate.c records the pointers it allocated (expect.txt: kind, pointer,
# request size) and glibc's own malloc_info XML. For each recorded pointer:
#   - explain chunk P: chunk at P-16, size = request2size(req) computed here, mchunk_size equals
#     what gdb reads at P-8, the chunk is in use
#   - malloc_chunk offsets = gdb `ptype/o struct malloc_chunk` (libc6-dbg)
#   - explain arena (default and every arena gdb finds by following main_arena.next): the address
#     is gdb's &main_arena / the chain, system_mem = gdb's ar->system_mem = malloc_info's
#     <system type="current"> of heap nr=i, top = gdb's ar->top; malloc_state offsets = gdb ptype/o
# Environment: TLINSPECT, GO_VERSIONS. Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
WORK=$TLI_OUT/faces/explain
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
finish() { local rc=$?; tli_cleanup; rm -f "$WORK"/*/core.*; exit $rc; }
trap finish EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"; mkdir -p "$WORK"
# a private copy: the build tree's binary may be relinked while we run
for _ in 1 2 3 4 5 6 7 8 9 10; do
	cp "$TLI" "$WORK/tlinspect.tmp" 2>/dev/null && chmod 0755 "$WORK/tlinspect.tmp" &&
		"$WORK/tlinspect.tmp" --version >/dev/null 2>&1 && mv "$WORK/tlinspect.tmp" "$WORK/tlinspect" && break
	sleep 2
done
[ -x "$WORK/tlinspect" ] || { fail "cannot run $TLI"; echo "$PASS passed, $FAIL failed"; exit 1; }
TLI=$WORK/tlinspect

gdbb() { timeout -k 5 120 gdb -nx -batch -iex 'set auto-load no' "$@" 2>/dev/null; }

# ptype/o output on stdin -> "name offset size" per member (nested struct members by their name in
# the outer struct, at the nested struct's offset), as gdb prints them.
PTYPE_PARSE='import re,sys
stack=[]
for l in sys.stdin:
    l=l.rstrip()
    m=re.match(r"/\*\s+(\d+)\s+\|\s+(\d+) \*/\s+(.*)$", l)
    if m:
        off,size,rest=int(m.group(1)),int(m.group(2)),m.group(3)
        if rest.endswith("{"):
            stack.append((off,size)); continue
        n=re.search(r"(\w+)(\[\d+\])*;$", rest)
        if n and len(stack)<=1: print(n.group(1),off,size)
        continue
    m=re.match(r"\s*\} (\w+);$", l)
    if m and stack:
        off,size=stack.pop()
        if len(stack)<=1: print(m.group(1),off,size)
    elif re.search(r"type = struct .*\{$", l): stack=[(0,0)]'

# ours JSON on stdin -> "name offset size" (a.b -> a: first members of nested structs are at their offset)
OURS_FIELDS='import json,sys
d=json.load(sys.stdin)["explain"]
for f in d["fields"]:
    n=f["name"].split(".")[0]
    print(n,f["offset"],f["size"] if "." not in f["name"] else "-")'

# cmp_layout LABEL OURS_JSON GDB_PTYPE_FILE
cmp_layout() {
	local label=$1 ours=$2 g=$3 bad
	bad=$(python3 -c "$OURS_FIELDS" <"$ours" | while read -r n o s; do
		line=$(awk -v n="$n" '$1 == n' "$g")
		[ -n "$line" ] || { echo "$n: not in gdb"; continue; }
		set -- $line
		[ "$2" = "$o" ] || echo "$n: offset $o, gdb $2"
		[ "$s" = - ] || [ "$3" = "$s" ] || echo "$n: size $s, gdb $3"
	done)
	local n; n=$(python3 -c "$OURS_FIELDS" <"$ours" | wc -l)
	if [ -z "$bad" ] && [ "$n" -gt 3 ]; then pass "$label: $n field offsets/sizes = gdb ptype/o"
	else fail "$label: layout vs gdb ptype/o ($n fields): $bad"; fi
}

# ---------------------------------------------------------------- Go channels
newest=$(tli_go_versions | awk '{print $NF}')
for ver in ${GO_VERSIONS:-1.19 $newest}; do
	[ -x "$(tli_go_bin "$ver")" ] || { fail "go$ver not installed"; continue; }
	d=$WORK/go$ver; mkdir -p "$d"
	bin=$(tli_build tests/targets/go/chans "$ver") || { fail "go$ver: build chans"; continue; }
	tli_start "$d/target.out" "$bin" -out "$d"
	tpid=$TLI_PID
	tli_wait_ready "$d/target.out" 60 >/dev/null || { fail "go$ver: target not ready"; continue; }
	gdbb -ex 'set language c' -ex "ptype/o 'runtime.hchan'" "$bin" | python3 -c "$PTYPE_PARSE" >"$d/hchan.gdb"
	addrs=$(python3 -c 'import json,sys
f=json.load(open(sys.argv[1]))
s=set(c["addr"] for c in f["channels"].values() if c.get("addr"))
for l in f["blocked_on"].values(): s.update(l)
print(" ".join(sorted(s)))' "$d/facts.json")
	"$TLI_ROOT/scripts/mkcore.sh" gcore "$tpid" "$d/core.chans" >/dev/null 2>&1 || fail "go$ver: gcore"
	for mode in live core; do
		if [ $mode = live ]; then targ=(--pid "$tpid"); else targ=(--core "$d/core.chans" --exe "$bin"); fi
		[ $mode = core ] && [ ! -s "$d/core.chans" ] && continue
		okc=0
		for a in $addrs; do
			out=$d/$mode-$a.json
			timeout 60 "$TLI" "${targ[@]}" --json explain chan "$a" >"$out" 2>"$out.err"
			if ! r=$(python3 - "$d/facts.json" "$out" "$a" <<'EOF'
import json, sys
facts = json.load(open(sys.argv[1])); ex = json.load(open(sys.argv[2]))["explain"]; a = sys.argv[3]
v = {f["name"]: f["value"] for f in ex["fields"]}
num = lambda n: int(v[n], 0)
errs = []
if int(ex["address"], 16) != int(a, 16): errs.append("address %s" % ex["address"])
for name, c in facts["channels"].items():
    if c.get("addr") != a: continue
    if num("qcount") != c["len"]: errs.append("%s qcount %s != len %d" % (name, v["qcount"], c["len"]))
    if num("dataqsiz") != c["cap"]: errs.append("%s dataqsiz %s != cap %d" % (name, v["dataqsiz"], c["cap"]))
    if (num("closed") != 0) != c["closed"]: errs.append("%s closed %s" % (name, v["closed"]))
    if c["cap"]:
        if (num("recvx") + c["len"]) % c["cap"] != num("sendx"): errs.append("%s ring: recvx %s + len %d != sendx %s" % (name, v["recvx"], c["len"], v["sendx"]))
        if c["sendx_lt_recvx"] and not num("sendx") < num("recvx"): errs.append("%s: not wrapped" % name)
want = sorted(int(g) for g, l in facts["blocked_on"].items() if a in l)
got = sorted(s["goroutine"] for q in ("recvq", "sendq") for s in ex[q] if not s.get("stale"))
if want != got: errs.append("queues hold goroutines %s, facts say %s" % (got, want))
print("; ".join(errs) if errs else "len/cap/closed/ring and queues %s" % got)
sys.exit(1 if errs else 0)
EOF
			); then fail "go$ver $mode explain chan $a: $r $(head -c 300 "$out.err")"; else okc=$((okc + 1)); fi
		done
		n=$(echo $addrs | wc -w)
		[ "$okc" = "$n" ] && [ "$n" -gt 5 ] && pass "go$ver $mode: explain chan on $n channels = facts.json (len, cap, closed, ring, recvq/sendq goroutine ids)"
		first=$(echo $addrs | awk '{print $1}')
		cmp_layout "go$ver $mode runtime.hchan" "$d/$mode-$first.json" "$d/hchan.gdb"
	done
	timeout 60 "$TLI" --core "$d/core.chans" --exe "$bin" explain chan "$first" >"$d/text.txt" 2>&1
	grep -q '^ring buffer' "$d/text.txt" && grep -q 'recvq: goroutines blocked receiving' "$d/text.txt" &&
		grep -qE '^  \+0x[0-9a-f]+ +[0-9]+ +qcount ' "$d/text.txt" && pass "go$ver: text rendering has the field table, ring and queues" ||
		fail "go$ver: text rendering: $(head -5 "$d/text.txt")"
	tli_kill "$tpid"
	rm -f "$d/core.chans"
done

# ---------------------------------------------------------------- glibc malloc
d=$WORK/heapstate; mkdir -p "$d/out"
if gcc -O2 -g -pthread -o "$d/heapstate" "$TLI_ROOT/tests/targets/c/heapstate.c"; then
	tli_start "$d/target.out" "$d/heapstate" "$d/out"
	hpid=$TLI_PID
	if tli_wait_ready "$d/target.out" 30 >/dev/null; then
		# gdb's view (libc6-dbg): layouts, each arena's address, system_mem and top; chunk headers
		{
			echo 'set $a = &main_arena'
			echo 'set $i = 0'
			echo 'while $i < 64'
			echo '  printf "arena %d 0x%lx %lu 0x%lx\n", $i, (unsigned long)$a, (unsigned long)$a->system_mem, (unsigned long)$a->top'
			echo '  set $a = $a->next'
			echo '  set $i = $i + 1'
			echo '  if $a == &main_arena'
			echo '    loop_break'
			echo '  end'
			echo 'end'
			awk '$1 != "pid" && $1 != "CHANGED" {printf "printf \"word %s 0x%%lx\\n\", *(unsigned long *)(%s - 8)\n", $2, $2}' "$d/out/expect.txt"
		} >"$d/gdb.cmds"
		gdbb -ex 'ptype/o struct malloc_chunk' -p "$hpid" | python3 -c "$PTYPE_PARSE" >"$d/chunk.gdb"
		gdbb -ex 'ptype/o struct malloc_state' -p "$hpid" | python3 -c "$PTYPE_PARSE" >"$d/state.gdb"
		gdbb -x "$d/gdb.cmds" -p "$hpid" | grep -E '^(arena|word) ' >"$d/gdb.facts"
		"$TLI_ROOT/scripts/mkcore.sh" gcore "$hpid" "$d/core.heap" >/dev/null 2>&1 || fail "heapstate: gcore"
		grep -q '^arena 0 ' "$d/gdb.facts" || fail "gdb did not read main_arena (libc6-dbg missing?)"
		for mode in live core; do
			if [ $mode = live ]; then targ=(--pid "$hpid"); else targ=(--core "$d/core.heap" --exe "$d/heapstate"); fi
			[ $mode = core ] && [ ! -s "$d/core.heap" ] && continue
			n=0 okc=0
			while read -r kind ptr req; do
				case $kind in leak | register | global | interior | stack) ;; *) continue ;; esac
				n=$((n + 1))
				out=$d/$mode-chunk-$ptr.json
				timeout 60 "$TLI" "${targ[@]}" --json explain chunk "$ptr" >"$out" 2>"$out.err"
				word=$(awk -v p="$ptr" '$1 == "word" && $2 == p {print $3}' "$d/gdb.facts")
				if r=$(python3 - "$out" "$ptr" "${req:-0}" "$word" <<'EOF'
import json, sys
ex = json.load(open(sys.argv[1]))["explain"]; p = int(sys.argv[2], 16); req = int(sys.argv[3]); word = sys.argv[4]
v = {f["name"]: f["value"] for f in ex["fields"]}
errs = []
if int(ex["address"], 16) != p - 16: errs.append("chunk %s != ptr-16" % ex["address"])
if req:
    want = max(32, (req + 8 + 15) & ~15)  # request2size on x86_64
    if ex["chunk_size"] != want: errs.append("size %d != request2size(%d) = %d" % (ex["chunk_size"], req, want))
if not word or int(v["mchunk_size"], 16) != int(word, 16): errs.append("mchunk_size %s, gdb read %s" % (v["mchunk_size"], word))
if ex["state"] != "in_use": errs.append("state " + ex["state"])
print("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
				); then okc=$((okc + 1)); else fail "heapstate $mode explain chunk $ptr: $r $(head -c 300 "$out.err")"; fi
			done <"$d/out/expect.txt"
			[ "$n" -gt 5 ] && [ "$okc" = "$n" ] && pass "heapstate $mode: explain chunk on $n recorded pointers: size = request2size(req), mchunk_size = gdb's read, in use"
			cmp_layout "heapstate $mode malloc_chunk" "$(ls "$d"/$mode-chunk-*.json | head -1)" "$d/chunk.gdb"
			okc=0 n=0
			while read -r _ i addr sysmem top; do
				n=$((n + 1))
				out=$d/$mode-arena-$i.json
				if [ "$i" = 0 ]; then timeout 60 "$TLI" "${targ[@]}" --json explain arena >"$out" 2>"$out.err"
				else timeout 60 "$TLI" "${targ[@]}" --json explain arena "$addr" >"$out" 2>"$out.err"; fi
				if r=$(python3 - "$out" "$addr" "$sysmem" "$top" "$d/out/malloc_info.xml" "$i" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
ex = json.load(open(sys.argv[1]))["explain"]; addr, sysmem, top = int(sys.argv[2], 16), int(sys.argv[3]), int(sys.argv[4], 16)
v = {f["name"]: f["value"] for f in ex["fields"]}
errs = []
if int(ex["address"], 16) != addr: errs.append("address %s, gdb 0x%x" % (ex["address"], addr))
if int(v["system_mem"]) != sysmem: errs.append("system_mem %s, gdb %d" % (v["system_mem"], sysmem))
if int(v["top"], 16) != top: errs.append("top %s, gdb 0x%x" % (v["top"], top))
heap = [h for h in ET.parse(sys.argv[5]).getroot().findall("heap") if h.get("nr") == sys.argv[6]]
cur = [s for s in heap[0].findall("system") if s.get("type") == "current"] if heap else []
if not cur or int(cur[0].get("size")) != int(v["system_mem"]): errs.append("malloc_info heap %s system current %s" % (sys.argv[6], cur and cur[0].get("size")))
print("; ".join(errs))
sys.exit(1 if errs else 0)
EOF
				); then okc=$((okc + 1)); else fail "heapstate $mode explain arena $addr: $r $(head -c 300 "$out.err")"; fi
			done < <(grep '^arena ' "$d/gdb.facts")
			[ "$n" -ge 2 ] && [ "$okc" = "$n" ] && pass "heapstate $mode: explain arena on all $n arenas: address/top/system_mem = gdb, system_mem = malloc_info XML"
			cmp_layout "heapstate $mode malloc_state" "$d/$mode-arena-0.json" "$d/state.gdb"
		done
		timeout 60 "$TLI" --core "$d/core.heap" --exe "$d/heapstate" explain arena >"$d/arena.txt" 2>&1
		grep -q '^fastbins' "$d/arena.txt" && grep -qE '^  bin +[0-9]+ +(unsorted|small|large)' "$d/arena.txt" &&
			pass "heapstate: explain arena text shows fastbins and bins" || fail "explain arena text: $(head -5 "$d/arena.txt")"
		timeout 60 "$TLI" --core "$d/core.heap" --exe "$d/heapstate" explain chunk 0x10 >"$d/bad.txt" 2>&1
		rc=$?
		[ "$rc" != 0 ] && [ "$rc" -lt 128 ] && grep -q 'not inside any chunk' "$d/bad.txt" && pass "explain chunk 0x10: clean error (exit $rc)" || fail "explain chunk 0x10: exit $rc $(head -2 "$d/bad.txt")"
	else fail "heapstate not ready"; fi
	tli_kill "$hpid"
	rm -f "$d/core.heap"
else fail "build heapstate"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
