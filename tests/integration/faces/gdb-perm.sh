#!/usr/bin/env bash
# tests/integration/faces/gdb-perm.sh — the gdb face when the kernel refuses tlinspect the process
# but not gdb (issue #6, case B of the debugger-integration reference): the target runs as user
# tlitarget, gdb runs as user tlidbg from a private copy with `setcap cap_sys_ptrace+ep`. gdb may
# attach (CAP_SYS_PTRACE); the engine it starts has no capability and another uid, so its direct
# reads are denied and every `tl` command must fall back to page-request mode (tlinspect names
# the pages, gdb dumps them, tlinspect runs again).
#
# Checks:
#   (a) the denial is real: tlinspect run as tlidbg on the target exits 4 (permission), and gdb's
#       `tl goroutines` printed the fallback note and used > 0 page rounds
#   (b) Go target (tests/targets/go/goroutines): `tl goroutines`, `tl goroutine 1`, `tl chans` and
#       `tl chan ADDR` in gdb give the same answer as tlinspect run directly as root on the same
#       (quiescent) target, and every goroutine the target recorded for itself (facts.json, the
#       runtime's own view) is listed with the same ids
#   (c) C target (a small malloc state built here): `tl bins` and `tl heap` through gdb =
#       tlinspect --pid as root, and the heap's mallinfo2 = glibc's own mallinfo2 in the target
#   rounds and wall times per command are printed.
# Needs root (creates the two system users idempotently, setcap); prints SKIP otherwise.
# Leaves no process behind; users stay (re-runs reuse them). Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib.sh"
TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
skip() { printf 'SKIP %s\n' "$*"; echo "$PASS passed, $FAIL failed"; exit 0; }
TUSER=tlitarget DUSER=tlidbg
W=""
PIDS=()
finish() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do # disowned: wait until they are gone (bounded)
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	tli_cleanup
	# only processes this script started, and the private gdb copy / temp dir
	[ -z "${KEEP:-}" ] && [ -n "$W" ] && [ -d "$W" ] && rm -rf "$W"
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || skip "needs root (creates users $TUSER/$DUSER and a file-capability gdb)"
for t in setcap setpriv useradd gdb python3 gcc; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || skip "$t not installed"
done
SETCAP=$(command -v setcap || echo /usr/sbin/setcap)
USERADD=$(command -v useradd || echo /usr/sbin/useradd)
for u in "$TUSER" "$DUSER"; do
	id -u "$u" >/dev/null 2>&1 ||
		"$USERADD" --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" ||
		skip "cannot create user $u"
done
[ -x "$TLI" ] || { fail "no engine $TLI"; echo "$PASS passed, $FAIL failed"; exit 1; }

W=$(mktemp -d /tmp/tli-gdbperm.XXXXXX) && chmod 755 "$W" || { fail "mktemp"; exit 1; }
mkdir -p "$W/bin" "$W/dbg-home" "$W/go" "$W/c"
cp "$TLI" "$W/bin/tlinspect"
cp "$(command -v gdb)" "$W/bin/gdb"
"$SETCAP" cap_sys_ptrace+ep "$W/bin/gdb" || skip "setcap failed (filesystem without xattrs?)"
chmod 755 "$W/bin"/*
chown "$DUSER:" "$W/dbg-home"
chown "$TUSER:" "$W/go" "$W/c"
sh "$TLI_ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$W/bin/tlinspect" "$W/bin/tlinspect" >"$W/tlinspect.gdb" ||
	fail "generate tlinspect.gdb"
chmod 644 "$W/tlinspect.gdb"

# only ever run in the background (`as_target ... &`): it execs
as_target() { exec setpriv --reuid="$TUSER" --regid="$TUSER" --clear-groups -- "$@"; }
as_dbg() { env -i PATH=/usr/bin:/bin HOME="$W/dbg-home" setpriv --reuid="$DUSER" --regid="$DUSER" --clear-groups -- "$@"; }
# gdbrun OUT PID SCRIPT: the file-capability gdb as $DUSER, attached to PID
gdbrun() {
	as_dbg timeout -k 5 600 "$W/bin/gdb" -nx -batch -iex 'set auto-load no' -iex "source $W/tlinspect.gdb" \
		-p "$2" -x "$3" >"$1" 2>&1
}
# section OUT NAME: the text between "@@begin NAME" and "@@end NAME" lines of a gdb log
section() { awk -v n="$2" '$0 == "@@end " n { on = 0 } on { print } $0 == "@@begin " n { on = 1 }' "$1"; }
# gdb script lines for one command: markers, its status, page rounds and wall time
tlcmd() { # NAME CMD...
	local n=$1; shift
	printf 'shell date "+@t0 %s %%s.%%N"\necho @@begin %s\\n\n%s\necho @@end %s\\n\nshell date "+@t1 %s %%s.%%N"\nprintf "@status %s %%d %%d\\n", $tl_status, $tl_pages_rounds\n' \
		"$n" "$n" "$*" "$n" "$n" "$n"
}
status_of() { sed -n "s/^@status $2 \([0-9-]*\) \([0-9]*\)$/\1/p" "$1" | tail -1; }
rounds_of() { sed -n "s/^@status $2 \([0-9-]*\) \([0-9]*\)$/\2/p" "$1" | tail -1; }
# wall seconds of command NAME in a gdb log (from the @t0/@t1 stamps)
wall_of() { awk -v n="$2" '$1 == "@t0" && $2 == n { a = $3 } $1 == "@t1" && $2 == n { printf "%.2f", $3 - a }' "$1"; }

echo "== gdb $(gdb --version | head -1 | awk '{print $NF}'), target user $TUSER, gdb user $DUSER (cap_sys_ptrace+ep copy)"

# ---------------------------------------------------------------- Go target
ver=${GO_VERSION:-$(tli_go_versions | awk '{print $NF}')}
if gbin=$(tli_build tests/targets/go/goroutines "$ver"); then
	cp "$gbin" "$W/bin/goroutines" && chmod 755 "$W/bin/goroutines"
	as_target "$W/bin/goroutines" -out "$W/go" -n 10 >"$W/go/target.out" 2>&1 &
	PIDS+=("$!")
	disown
	if gpid=$(tli_wait_ready "$W/go/target.out" 60); then
		PIDS+=("$gpid")
		sleep 0.3
		# root, directly (stops the process itself): the reference answers
		"$TLI" --json --pid "$gpid" goroutines >"$W/go/direct.json" 2>"$W/go/direct.err" || fail "direct goroutines: $(head -c 300 "$W/go/direct.err")"
		"$TLI" --json --pid "$gpid" goroutine 1 >"$W/go/direct-g1.json" 2>>"$W/go/direct.err" || fail "direct goroutine 1"
		"$TLI" --json --pid "$gpid" chans >"$W/go/direct-chans.json" 2>>"$W/go/direct.err" || fail "direct chans"
		chaddr=$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); facts=json.load(open(sys.argv[2]))
want=facts["roles"]["chan_send"]
for c in d["go"]["channels"]:
    if want in c.get("sender_ids", []):
        print(c["address"]); break
' "$W/go/direct-chans.json" "$W/go/facts.json" 2>/dev/null)
		# (a) the engine alone, as the gdb user, is refused
		as_dbg "$W/bin/tlinspect" --no-stop --pid "$gpid" goroutines >"$W/go/denied.out" 2>&1
		rc=$?
		if [ "$rc" = 4 ]; then pass "denial is real: tlinspect as $DUSER on $TUSER's process exits 4 ($(head -1 "$W/go/denied.out" | cut -c1-110))"
		else fail "tlinspect as $DUSER was not refused (exit $rc): the setup does not reproduce the denial"; fi
		{
			echo 'shell grep CapEff /proc/$PPID/status'
			tlcmd goroutines 'tl goroutines --json'
			tlcmd goroutine1 'tl goroutine 1 --json'
			tlcmd chans 'tl chans --json'
			[ -n "$chaddr" ] && tlcmd chan "tl chan $chaddr --json"
			tlcmd text 'tl goroutines'
			echo 'echo @after-all\n'
		} >"$W/go/s.gdb"
		chmod 644 "$W/go/s.gdb"
		t0=$(date +%s.%N)
		gdbrun "$W/go/gdb.out" "$gpid" "$W/go/s.gdb"
		t1=$(date +%s.%N)
		L=$W/go/gdb.out
		if grep -q 'cannot be read directly (permission denied); reading its memory through gdb' "$L" &&
			[ "$(rounds_of "$L" goroutines)" -gt 0 ] 2>/dev/null; then
			pass "in gdb the direct read was refused too and tl goroutines fell back to page requests ($(rounds_of "$L" goroutines) rounds; gdb $(grep -m1 -o 'CapEff:.*' "$L" | tr -s '\t ' ' '))"
		else fail "no fallback seen in gdb"; sed 's/^/     | /' "$L" | head -30; fi
		for n in goroutines goroutine1 chans; do section "$L" "$n" >"$W/go/paged-$n.json"; done
		[ -n "$chaddr" ] && section "$L" chan >"$W/go/paged-chan.json"
		# (b) same answers
		cmp_out=$(python3 - "$W/go" "$chaddr" <<'PY'
import json, sys, os
d = sys.argv[1]; chaddr = sys.argv[2]
def load(n):
    with open(os.path.join(d, n)) as f:
        txt = f.read()
    i = txt.find("{")
    return json.loads(txt[i:]) if i >= 0 else None
facts = load("facts.json")
vol = {facts["roles"][r] for r in facts.get("volatile", []) if r in facts["roles"]}
def gkey(g):
    cur = (g.get("current") or {}).get("function")
    if g["id"] in vol:           # busy loops: identity and creator only
        return (g["id"], (g.get("created_by") or {}).get("function"))
    return (g["id"], g.get("status"), g.get("wait_reason"), cur, tuple(g.get("blocked_on") or []) and True)
def gs(doc): return {g["id"]: gkey(g) for g in doc["go"]["goroutines"] if not g.get("system")}
out = []
a, b = load("direct.json"), load("paged-goroutines.json")
if not b: print("FAIL goroutines: no JSON from gdb"); sys.exit()
ga, gb = gs(a), gs(b)
if ga != gb:
    diff = sorted(set(ga.items()) ^ set(gb.items()))[:6]
    print("FAIL goroutines differ from the direct root run:", diff)
else:
    ids = set(facts["roles"].values()) | {facts["main"]["goid"]}
    miss = sorted(i for i in ids if i and i not in gb)
    if miss: print("FAIL goroutines recorded by the target are missing:", miss)
    else: print("ok   tl goroutines through gdb = tlinspect --pid as root: %d goroutines (id, status, wait reason, function), the %d the target recorded included; kind %s, %d bytes read" % (len(gb), len(ids), b["target"]["kind"], b["target"]["bytes_read"]))
def g1(doc):
    g = dict(doc["go"]["goroutines"][0])
    for k in ("wait_seconds", "wait_minutes", "thread"):
        g.pop(k, None)
    return g
try:
    a, b = g1(load("direct-g1.json")), g1(load("paged-goroutine1.json"))
    if a == b and a["id"] == 1 and a["stack"]:
        print("ok   tl goroutine 1 through gdb = direct (all fields but wait times: %s, %d frame(s) from %s)" % (b["wait_reason"], len(b["stack"]), b["stack"][0]["function"]))
    else: print("FAIL tl goroutine 1 differs:", json.dumps(a)[:200], json.dumps(b)[:200])
except Exception as e:
    print("FAIL tl goroutine 1: cannot compare (%r)" % e)
def strip(doc):
    doc = dict(doc); doc.pop("target", None); doc.pop("warnings", None); doc.pop("tool", None); return doc
a, b = load("direct-chans.json"), load("paged-chans.json")
if b and strip(a) == strip(b):
    n = len(json.dumps(strip(b)))
    print("ok   tl chans through gdb = direct (whole document minus target/warnings, %d bytes of JSON)" % n)
else:
    print("FAIL tl chans differs from the direct run")
PY
)
		while IFS= read -r line; do
			case $line in
			ok*) pass "${line#ok   }" ;;
			FAIL*) fail "${line#FAIL }" ;;
			esac
		done <<<"$cmp_out"
		if [ -n "$chaddr" ]; then
			"$TLI" --json --pid "$gpid" chan "$chaddr" >"$W/go/direct-chan.json" 2>/dev/null
			if python3 -c '
import json,sys
def l(p):
    t=open(p).read(); return json.loads(t[t.find("{"):])
a,b=[l(p) for p in sys.argv[1:3]]
for d in (a,b):
    for k in ("target","warnings","tool"): d.pop(k,None)
sys.exit(0 if a==b else 1)' "$W/go/direct-chan.json" "$W/go/paged-chan.json" 2>/dev/null; then
				pass "tl chan $chaddr (the chan_send goroutine's channel) through gdb = direct ($(rounds_of "$L" chan) rounds)"
			else fail "tl chan $chaddr differs from the direct run"; fi
		else fail "no channel with the chan_send goroutine in the direct chans output"; fi
		if grep -q '^@after-all$' "$L" && [ "$(status_of "$L" goroutines)" = 0 ] && [ "$(status_of "$L" text)" = 0 ]; then
			pass "statuses 0, script ran to the end; rounds: goroutines $(rounds_of "$L" goroutines), goroutine 1 $(rounds_of "$L" goroutine1), chans $(rounds_of "$L" chans), chan $(rounds_of "$L" chan); wall s: goroutines $(wall_of "$L" goroutines), goroutine 1 $(wall_of "$L" goroutine1), chans $(wall_of "$L" chans), chan $(wall_of "$L" chan) (gdb session $(echo "$t1 - $t0" | bc) s, load average $(cut -d' ' -f1 /proc/loadavg))"
		else fail "statuses: $(grep '^@status' "$L" | tr '\n' ' ')"; fi
		if ls -d /tmp/tlinspect-gdb.* >/dev/null 2>&1 && find /tmp/tlinspect-gdb.* -maxdepth 0 -user "$DUSER" | grep -q .; then
			fail "page directories of $DUSER left behind: $(find /tmp/tlinspect-gdb.* -maxdepth 0 -user "$DUSER" | tr '\n' ' ')"
		else pass "no page directory left behind (process memory does not stay on disk)"; fi
	else fail "Go target not ready: $(head -3 "$W/go/target.out")"; fi
	kill -9 "$gpid" 2>/dev/null
else fail "build go$ver target"; fi

# ---------------------------------------------------------------- C target (glibc malloc)
# A small malloc state (tests/targets/c/heapstate.c builds a 70 MB heap: through gdb's
# PTRACE_PEEKTEXT that is minutes): two arenas, tcache, fastbins, unsorted and small chunks;
# glibc's own mallinfo2 taken after the last malloc call, written without stdio.
cat >"$W/c/small.c" <<'C'
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void *keep[256];
static void *thr(void *a)
{
	(void)a;
	void *p[40];
	for (int i = 0; i < 40; i++) p[i] = malloc(48 + 16 * (i % 5));
	for (int i = 0; i < 40; i += 3) free(p[i]);
	keep[200] = p[1];
	for (;;) pause();
}
int main(int argc, char **argv)
{
	char path[4096], buf[1024];
	snprintf(path, sizeof(path), "%s/mallinfo.txt", argv[1]);
	FILE *f = fopen(path, "w"); setvbuf(f, NULL, _IONBF, 0);
	for (int i = 0; i < 200; i++) keep[i] = malloc(24 + (i * 37) % 1500);
	for (int i = 0; i < 200; i += 4) { free(keep[i]); keep[i] = NULL; }
	void *big = malloc(300000); (void)big;
	pthread_t t; pthread_create(&t, NULL, thr, NULL);
	sleep(1);
	struct mallinfo2 mi = mallinfo2();
	int n = snprintf(buf, sizeof(buf), "arena=%zu\nordblks=%zu\nsmblks=%zu\nhblks=%zu\nhblkhd=%zu\n"
			 "fsmblks=%zu\nuordblks=%zu\nfordblks=%zu\nkeepcost=%zu\n", mi.arena, mi.ordblks,
			 mi.smblks, mi.hblks, mi.hblkhd, mi.fsmblks, mi.uordblks, mi.fordblks, mi.keepcost);
	(void)!write(fileno(f), buf, (size_t)n);
	n = snprintf(buf, sizeof(buf), "ready %d\n", (int)getpid());
	(void)!write(1, buf, (size_t)n);
	for (;;) pause();
}
C
if gcc -O2 -g -pthread -o "$W/bin/smallheap" "$W/c/small.c" 2>"$W/c/build.log"; then
	chmod 755 "$W/bin/smallheap"
	as_target "$W/bin/smallheap" "$W/c" >"$W/c/target.out" 2>&1 &
	PIDS+=("$!")
	disown
	if cpid=$(tli_wait_ready "$W/c/target.out" 60); then
		PIDS+=("$cpid")
		"$TLI" --json --pid "$cpid" heap >"$W/c/direct-heap.json" 2>"$W/c/direct.err" || fail "direct heap: $(head -c 300 "$W/c/direct.err")"
		"$TLI" --json --pid "$cpid" bins >"$W/c/direct-bins.json" 2>>"$W/c/direct.err" || fail "direct bins"
		{
			tlcmd bins 'tl bins --json'
			tlcmd heap 'tl heap --json'
			echo 'echo @after-all\n'
		} >"$W/c/s.gdb"
		chmod 644 "$W/c/s.gdb"
		gdbrun "$W/c/gdb.out" "$cpid" "$W/c/s.gdb"
		L=$W/c/gdb.out
		for n in bins heap; do section "$L" "$n" >"$W/c/paged-$n.json"; done
		for n in bins heap; do
			res=$(python3 - "$W/c" "$n" <<'PY'
import json, sys, os
d, n = sys.argv[1], sys.argv[2]
def load(p):
    t = open(os.path.join(d, p)).read(); i = t.find("{")
    return json.loads(t[i:]) if i >= 0 else None
def strip(doc):
    doc = dict(doc)
    for k in ("target", "warnings", "tool"): doc.pop(k, None)
    return doc
a, b = load("direct-%s.json" % n), load("paged-%s.json" % n)
if not b: print("FAIL no JSON from gdb"); sys.exit()
if strip(a) != strip(b): print("FAIL differs from the direct root run"); sys.exit()
extra = ""
if n == "heap":
    mi = dict(l.strip().split("=") for l in open(os.path.join(d, "mallinfo.txt")) if "=" in l)
    ours = b["glibc"]["mallinfo2"]
    bad = [k for k in mi if k in ours and int(mi[k]) != ours[k]]
    if bad: print("FAIL mallinfo2 fields differ from glibc's own:", bad); sys.exit()
    extra = ", mallinfo2 = glibc's own (arena %d, uordblks %d, fordblks %d)" % (ours["arena"], ours["uordblks"], ours["fordblks"])
print("ok   %d bytes read through gdb%s" % (b["target"]["bytes_read"], extra))
PY
)
			case $res in
			ok*) pass "C target: tl $n through gdb = tlinspect --pid as root (${res#ok   }; $(rounds_of "$L" "$n") rounds, $(wall_of "$L" "$n") s)" ;;
			*) fail "C target: tl $n: ${res#FAIL } (status $(status_of "$L" "$n"))"; grep -v '^[{} "\[]' "$L" | head -8 | sed 's/^/     | /' ;;
			esac
		done
		grep -q '^@after-all$' "$L" || fail "C target: gdb script aborted"
	else fail "C target not ready: $(head -3 "$W/c/target.out")"; fi
else fail "build the C target: $(head -3 "$W/c/build.log")"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
