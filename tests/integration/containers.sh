#!/usr/bin/env bash
# tests/integration/containers.sh - targets in containers, built from real kernel namespaces the
# way every container runtime builds them (unshare: mount + pid namespaces; pivot_root into a root
# of its own, the host's root detached: tests/targets/c/ctrinit.c), inspected from the host and
# from a sidecar. Root only. Nothing is mounted on the host: every mount is made inside the
# containers' own mount namespaces, which die with them (checked at the end).
#  (a) C: heapstate on Debian 13's glibc 2.41 (tests/out/glibc-dl/trixie/root, from
#      glibc/fetch-glibcs.sh) in a root whose /usr/lib/x86_64-linux-gnu/libc.so.6 is NOT the
#      host's (2.36): heap/bins/leaks against the target's own mallinfo2()/malloc_info and what
#      it leaked (glibc/check.py), with libc6-dbg found inside the target's root and without
#      any debug info (runtime map); leaks equal those of the same program on the same libc
#      outside any container.
#  (b) Go: the goroutines target at a path that exists on the host as ANOTHER Go program (the
#      demo of an older toolchain): the listing equals the runtime's own dump (compare.py),
#      never the host file's.
#  (c) the sidecar: tlinspect in a mount namespace of its own (its own /proc) sharing only the
#      target's pid namespace, as `--pid 1`: same answers. Twice: the dynamic build on the
#      host's files, and build/tlinspect-static (make static) ALONE in an otherwise empty root
#      (no libc, no runtime-maps directory: the maps inside it), with and without debug info.
#  (d) a gcore core of (a) read with --sysroot = the image as unpacked layers (upper first,
#      a decoy libc in the base, OCI whiteouts honoured), -v naming each file's layer.
# Ends with "containers: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite containers
O=$TLI_OUT
trap 'tli_cleanup' EXIT INT TERM
[ "$(id -u)" = 0 ] || { echo "containers: needs root (namespaces, pivot_root)"; tli_bad "setup"; tli_suite_end; exit 1; }
command -v unshare >/dev/null && command -v nsenter >/dev/null || { tli_bad "setup: util-linux unshare/nsenter missing"; tli_suite_end; exit 1; }
T241=$ROOT/tests/out/glibc-dl/trixie/root
if [ ! -f "$T241/usr/lib/x86_64-linux-gnu/libc.so.6" ]; then
	bash "$ROOT/tests/integration/glibc/fetch-glibcs.sh" >"$O/fetch-glibcs.log" 2>&1 || true
fi
unset DEBUGINFOD_URLS
gcc -O2 -Wall -o "$O/ctrinit" "$ROOT/tests/targets/c/ctrinit.c" || { tli_bad "setup: ctrinit"; tli_suite_end; exit 1; }
gcc -O2 -g -pthread -o "$O/heapstate" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "setup: heapstate"; tli_suite_end; exit 1; }

# ctr_start OUTFILE ROOTDIR [-b HOSTDIR DIR]... -- PROG ARGS: a container (mount + pid namespaces,
# --kill-child: it dies with unshare, which tli_cleanup kills). CTR_PID = the host pid of its pid 1.
ctr_start() {
	local out=$1 i
	shift
	CTR_PID=
	tli_start "$out" unshare -m -p -f --kill-child "$O/ctrinit" "$@"
	for ((i = 0; i < 100; i++)); do
		CTR_PID=$(cat "/proc/$TLI_PID/task/$TLI_PID/children" 2>/dev/null | tr -d ' ')
		[ -n "$CTR_PID" ] && return 0
		sleep 0.05
	done
	return 1
}
# wait_line FILE REGEX [SECS]
wait_line() {
	local i
	for ((i = 0; i < ${3:-30} * 20; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
# sidecar PID ARGS...: tlinspect in a new mount namespace with its own /proc, inside the pid
# namespace of host pid PID (and no other of its namespaces)
sidecar() {
	local p=$1
	shift
	timeout -k 5 120 nsenter -t "$p" -p -- unshare -m -f sh -c \
		'mount --make-rprivate / && mount -t proc proc /proc && exec "$0" "$@"' "$TLI" "$@"
}
# sidecar_static PID ARGS...: build/tlinspect-static alone in an empty root ($SROOT), pivot_root'ed
# into, with its own /proc of the target's pid namespace
sidecar_static() {
	local p=$1
	shift
	timeout -k 5 120 nsenter -t "$p" -p -- unshare -m -f "$O/ctrinit" "$SROOT" -p -- /tlinspect "$@"
}
SROOT=$O/root-sidecar
STATIC=$ROOT/build/tlinspect-static
rm -rf "$SROOT"; mkdir -p "$SROOT"
if make -s -C "$ROOT" static >"$O/make-static.log" 2>&1 && cp "$STATIC" "$SROOT/tlinspect"; then
	echo "     static sidecar: $(ls "$SROOT") is all its root holds ($(stat -c %s "$STATIC") bytes; $(file -b "$STATIC" | cut -d, -f1,5))"
else
	tli_bad "make static: $(tail -3 "$O/make-static.log")"
fi
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# ---------------------------------------------------------------- (a) C on glibc 2.41
c_container() {
	local R=$O/root-c out=$O/c-out pid hp
	if [ ! -f "$T241/usr/lib/x86_64-linux-gnu/libc.so.6" ]; then
		tli_bad "C: no glibc 2.41 under $T241 (run tests/integration/glibc/fetch-glibcs.sh)"; return
	fi
	rm -rf "$R" "$out"; mkdir -p "$R/lib64" "$out"
	cp -a "$T241/usr" "$R/"
	ln -s usr/lib "$R/lib"
	ln -s ../usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
	cp "$O/heapstate" "$R/heapstate"
	if cmp -s "$R/usr/lib/x86_64-linux-gnu/libc.so.6" /usr/lib/x86_64-linux-gnu/libc.so.6; then
		tli_bad "C: the container's libc is the host's: this test would prove nothing"; return
	fi
	ctr_start "$O/c.target" "$R" -b "$out" out -- /heapstate /out && pid=$CTR_PID &&
		wait_line "$O/c.target" '^ready 1$' 30 ||
		{ tli_bad "C: container did not start: $(head -c 300 "$O/c.target")"; return; }
	sleep 0.2
	echo "     C target: host pid $pid, pid 1 in its namespace, libc $(grep -m1 -o '/usr/lib/x86_64-linux-gnu/libc.so.6' "/proc/$pid/maps") (2.41 in its root, the host's is $(ldd --version | head -1 | awk '{print $NF}'))"
	local c ok=1
	for c in heap bins leaks; do
		"$TLI" --json --pid "$pid" $c >"$O/c-live.$c.json" 2>"$O/c-live.$c.err" ||
			{ ok=0; tli_bad "C from the host: $c exit $?: $(head -c 300 "$O/c-live.$c.err")"; }
	done
	if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$out" "$O/c-live" --pid "$pid" >"$O/c-live.check"; then
		tli_ok "C on glibc 2.41 from the host: heap/bins/leaks = the target's mallinfo2/malloc_info/leaks ($(grep -c '^ok' "$O/c-live.check") checks)"
	else
		[ $ok = 1 ] && { grep '^FAIL' "$O/c-live.check" | head -5; tli_bad "C from the host: check.py"; }
	fi
	# which files: libc and its debug file through the target's root; both views named
	local views
	views=$(jq_py "$O/c-live.heap.json" "'%s|%s|%s|%s|%s|%s' % (d['target']['exe'], d['target'].get('exe_file'), d['target'].get('ns_pid'), d['glibc']['libc'], d['glibc'].get('libc_file'), d['glibc']['debug_file'])" 2>&1)
	if [ "$views" = "/heapstate|/proc/$pid/exe|1|/usr/lib/x86_64-linux-gnu/libc.so.6|/proc/$pid/root/usr/lib/x86_64-linux-gnu/libc.so.6|/proc/$pid/root/usr/lib/debug/.build-id/$(jq_py "$O/c-live.heap.json" "d['glibc']['build_id'][:2]")/$(jq_py "$O/c-live.heap.json" "d['glibc']['build_id'][2:]").debug" ]; then
		tli_ok "C: exe /heapstate read as /proc/$pid/exe, ns_pid 1, libc and libc6-dbg from the target's root"
	else
		tli_bad "C: files as the target sees them: got $views"
	fi
	# -v names both views and where the debug file came from
	"$TLI" -v --pid "$pid" heap >/dev/null 2>"$O/c-live.v"
	if grep -qE "^tlinspect: libc /proc/$pid/root/usr/lib/x86_64-linux-gnu/libc.so.6 \(from the target's root\), debug info build-id: /proc/$pid/root/usr/lib/debug/.build-id/.* \(from the target's root\)$" "$O/c-live.v"; then
		tli_ok "C -v: libc and its debug file from the target's root"
	else
		tli_bad "C -v: $(grep libc "$O/c-live.v" | head -2)"
	fi
	# without any libc debug info: the 2.41 runtime map; same JSON, glibc's numbers again
	mkdir -p "$O/no-debug"
	ok=1
	for c in heap bins leaks; do
		TLINSPECT_DEBUG_DIRS=$O/no-debug "$TLI" --json --pid "$pid" $c >"$O/c-nodbg.$c.json" 2>"$O/c-nodbg.$c.err" ||
			{ ok=0; tli_bad "C without debug info: $c: $(head -c 300 "$O/c-nodbg.$c.err")"; }
	done
	if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$out" "$O/c-nodbg" --pid "$pid" >"$O/c-nodbg.check" &&
		python3 "$ROOT/tests/integration/glibc/check.py" --same "$O/c-live" "$O/c-nodbg" >"$O/c-nodbg.same" &&
		grep -q '"debug_file": null' "$O/c-nodbg.heap.json"; then
		tli_ok "C without libc debug info (glibc 2.41 runtime map): same JSON, glibc's numbers matched"
	else
		[ $ok = 1 ] && { grep -h '^FAIL' "$O/c-nodbg.check" "$O/c-nodbg.same" 2>/dev/null | head -5; tli_bad "C without debug info"; }
	fi
	# the text face names the pid both ways
	"$TLI" --pid "$pid" heap >"$O/c-live.heap.txt" 2>&1
	# (c) the sidecar: its own mount namespace and /proc, the target's pid namespace, --pid 1
	ok=1
	for c in heap bins leaks; do
		sidecar "$pid" --json --pid 1 $c >"$O/c-side.$c.json" 2>"$O/c-side.$c.err" ||
			{ ok=0; tli_bad "C from a sidecar: $c exit $?: $(head -c 300 "$O/c-side.$c.err")"; }
	done
	if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$out" "$O/c-side" --pid "$pid" >"$O/c-side.check" &&
		python3 - "$O/c-live" "$O/c-side" >"$O/c-side.same" <<'EOF'
import json, sys
bad = 0
def no_tids(x):  # thread ids are the pid namespace's: 15475 from the host is 1 in the sidecar
    if isinstance(x, dict):
        return {k: no_tids(v) for k, v in x.items() if k != "tid"}
    return [no_tids(v) for v in x] if isinstance(x, list) else x
for c in ("heap", "bins", "leaks"):
    a, b = (json.load(open(f"{p}.{c}.json")) for p in sys.argv[1:3])
    for d in (a, b):
        d.pop("target", None)
        for s in ("glibc", "heap"):
            if isinstance(d.get(s), dict):
                for k in ("libc_file", "debug_file"):
                    d[s].pop(k, None)
    if no_tids(a) != no_tids(b):
        bad += 1
        print(f"FAIL {c}: sidecar and host differ")
sys.exit(bad)
EOF
	then
		tli_ok "C from a sidecar (own mount ns, target's pid ns, --pid 1): glibc's numbers matched, same heap/bins/leaks as from the host ($(jq_py "$O/c-side.heap.json" "d['glibc'].get('libc_file')"))"
	else
		[ $ok = 1 ] && { grep -h '^FAIL' "$O/c-side.check" "$O/c-side.same" | head -5; tli_bad "C from a sidecar"; }
	fi
	# the static file alone in an empty root: libc6-dbg from the target's root, then no debug
	# info at all (the glibc 2.41 map inside the static file)
	local v dd
	for v in st st-nodbg; do
		dd=""; [ $v = st-nodbg ] && dd=/nonexistent
		ok=1
		for c in heap bins leaks; do
			TLINSPECT_DEBUG_DIRS=$dd sidecar_static "$pid" --json --pid 1 $c >"$O/c-$v.$c.json" 2>"$O/c-$v.$c.err" ||
				{ ok=0; tli_bad "C from the static sidecar ($v): $c: $(head -c 300 "$O/c-$v.$c.err")"; }
		done
		if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$out" "$O/c-$v" --pid "$pid" >"$O/c-$v.check" &&
			python3 "$ROOT/tests/integration/glibc/check.py" --same "$O/c-side" "$O/c-$v" >"$O/c-$v.same" 2>&1; then
			tli_ok "C from the static file alone in an empty root ($v, debug file: $(jq_py "$O/c-$v.heap.json" "d['glibc']['debug_file']")): glibc's numbers matched ($(grep -c '^ok' "$O/c-$v.check") checks), same JSON as the dynamic sidecar"
		else
			[ $ok = 1 ] && { grep -h '^FAIL' "$O/c-$v.check" "$O/c-$v.same" 2>/dev/null | head -5; tli_bad "C from the static sidecar ($v)"; }
		fi
	done
	core_layers "$pid" "$R" "$out"
	tli_kill "$TLI_PID"
	# the same program on the same libc outside any container: the same leaks
	local nout=$O/c-native
	mkdir -p "$nout"
	tli_start "$nout/stdout" "$T241/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$T241/usr/lib/x86_64-linux-gnu" "$O/heapstate" "$nout"
	hp=$(tli_wait_ready "$nout/stdout" 30) || { tli_bad "C native run did not start"; return; }
	sleep 0.2
	if TLINSPECT_DEBUG_DIRS=$T241/usr/lib/debug "$TLI" --json --pid "$hp" leaks >"$O/c-native.leaks.json" 2>"$O/c-native.err" &&
		python3 - "$O/c-live.leaks.json" "$O/c-native.leaks.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["heap"] for p in sys.argv[1:3])
key = lambda h: (h["unreachable"], sorted((g["size"], g["count"], g["bytes"]) for g in h["groups"]))
print("     leaks in the container:", key(a)); print("     leaks outside:         ", key(b))
sys.exit(key(a) != key(b))
EOF
	then
		tli_ok "C: leaks in the container = leaks of the same program outside ($(jq_py "$O/c-native.leaks.json" "d['heap']['unreachable']"))"
	else
		tli_bad "C: leaks differ from the non-container run: $(head -c 300 "$O/c-native.err")"
	fi
	tli_kill "$hp"
}

# (d) a core of the containerized target read with --sysroot = the image's unpacked layers
# (topmost first): L0 the app (/heapstate), L1 an update (libc 2.41 and its libc6-dbg), L2 the
# base, whose libc.so.6 is a decoy (the host's 2.36) and which has no debug files. Then a
# whiteout layer on top deleting libc.so.6: libc must be missing, not taken from below; and
# the container's root as one directory. Arguments: host pid, the container's root, its out dir.
# same_answers PREFIX_A PREFIX_B: heap/bins/leaks JSON equal but for where files were read and
# the target (pid namespaces' thread ids, live or core)
same_answers() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
bad = 0
def no_tids(x):
    if isinstance(x, dict):
        return {k: no_tids(v) for k, v in x.items() if k != "tid"}
    return [no_tids(v) for v in x] if isinstance(x, list) else x
for c in ("heap", "bins", "leaks"):
    a, b = (json.load(open(f"{p}.{c}.json")) for p in sys.argv[1:3])
    for d in (a, b):
        d.pop("target", None)
        for s in ("glibc", "heap"):
            if isinstance(d.get(s), dict):
                for k in ("libc_file", "debug_file", "debug_source"):
                    d[s].pop(k, None)
    if no_tids(a) != no_tids(b):
        bad += 1
        print(f"FAIL {c}: {sys.argv[1]} and {sys.argv[2]} differ")
sys.exit(bad)
EOF
}
core_layers() {
	local pid=$1 R=$2 out=$3 L=$O/layers c ok=1 lib=usr/lib/x86_64-linux-gnu
	rm -rf "$L"; mkdir -p "$L/L0" "$L/L1/$lib" "$L/L1/usr/lib" "$L/L2" "$L/W/$lib"
	if ! gcore -o "$O/c-core" "$pid" >"$O/c-core.log" 2>&1 || [ ! -s "$O/c-core.$pid" ]; then
		tli_bad "core of the container: gcore failed: $(tail -2 "$O/c-core.log")"; return
	fi
	cp "$R/heapstate" "$L/L0/"
	cp -a "$R/usr" "$R/lib" "$R/lib64" "$L/L2/"
	mv "$L/L2/usr/lib/debug" "$L/L1/usr/lib/debug"
	mv "$L/L2/$lib/libc.so.6" "$L/L1/$lib/libc.so.6"
	cp /usr/lib/x86_64-linux-gnu/libc.so.6 "$L/L2/$lib/libc.so.6"   # the decoy
	: >"$L/W/$lib/.wh.libc.so.6"
	local layers=$L/L0:$L/L1:$L/L2
	for c in heap bins leaks; do
		"$TLI" --json -v --core "$O/c-core.$pid" --sysroot "$layers" $c >"$O/c-layers.$c.json" 2>"$O/c-layers.$c.err" ||
			{ ok=0; tli_bad "core with layers: $c exit $?: $(grep -v '^tlinspect: core: 0x' "$O/c-layers.$c.err" | head -c 300)"; }
	done
	if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$out" "$O/c-layers" >"$O/c-layers.check" &&
		same_answers "$O/c-live" "$O/c-layers" >"$O/c-layers.same" 2>&1; then
		tli_ok "core of the container, --sysroot = 3 layers (the base's libc a decoy): glibc's numbers matched ($(grep -c '^ok' "$O/c-layers.check") checks), same JSON as live"
	else
		[ $ok = 1 ] && { grep -h '^FAIL' "$O/c-layers.check" "$O/c-layers.same" 2>/dev/null | head -5; tli_bad "core with layers"; }
	fi
	# -v: which file came from which layer
	local e=$O/c-layers.heap.err
	if grep -qE "^tlinspect: core: /heapstate backs memory \(.*\) \[sysroot layer 0 \($L/L0\): $L/L0/heapstate\]$" "$e" &&
		grep -qE "^tlinspect: core: /$lib/libc.so.6 backs memory \(.*\) \[sysroot layer 1 \($L/L1\): $L/L1/$lib/libc.so.6\]$" "$e" &&
		grep -qE "^tlinspect: libc $L/L1/$lib/libc.so.6 \(from sysroot layer 1 \($L/L1\)\), debug info build-id: $L/L1/usr/lib/debug/.build-id/.*\(from sysroot layer 1 \($L/L1\)\)$" "$e"; then
		tli_ok "-v: /heapstate from layer 0, libc and its debug file from layer 1 (not the base's decoy); glibc.libc $(jq_py "$O/c-layers.heap.json" "d['glibc']['libc']") read as libc_file ${L#$ROOT/}/L1/..."
	else
		tli_bad "-v provenance: $(grep -E 'heapstate|libc' "$e" | grep -v ' 0x' | head -4)"
	fi
	# a whiteout on top deletes libc.so.6: missing, never the copy below
	"$TLI" --json -v --core "$O/c-core.$pid" --sysroot "$L/W:$layers" heap >"$O/c-wh.heap.json" 2>"$O/c-wh.heap.err"
	local rc=$?
	if [ $rc != 0 ] && grep -qF "core: /$lib/libc.so.6 is not readable here (No such file or directory)" "$O/c-wh.heap.err"; then
		tli_ok "whiteout .wh.libc.so.6 in a layer on top: libc not found (exit $rc: $(grep '^tlinspect: error' "$O/c-wh.heap.err" | head -1 | cut -c1-130))"
	else
		tli_bad "whiteout: exit $rc; $(grep -E 'libc' "$O/c-wh.heap.err" | head -3)"
	fi
	# a misspelt layer is a usage error, not a layer that hides nothing
	"$TLI" --core "$O/c-core.$pid" --sysroot "$L/L0:$L/L9:$L/L2" heap >/dev/null 2>"$O/c-typo.err"
	rc=$?
	[ $rc = 2 ] && grep -qF "layer 1, $L/L9, is not a directory" "$O/c-typo.err" &&
		tli_ok "a layer that is not a directory: exit 2, named" || tli_bad "misspelt layer: exit $rc: $(head -c 200 "$O/c-typo.err")"
	# the container's root as one directory
	ok=1
	for c in heap bins leaks; do
		"$TLI" --json --core "$O/c-core.$pid" --sysroot "$R" $c >"$O/c-dir.$c.json" 2>"$O/c-dir.$c.err" || ok=0
	done
	if [ $ok = 1 ] && same_answers "$O/c-layers" "$O/c-dir" >"$O/c-dir.same" 2>&1; then
		tli_ok "core with --sysroot = the container's root directory: the same heap/bins/leaks"
	else
		tli_bad "core with --sysroot DIR: $(head -c 300 "$O/c-dir.heap.err")"
	fi
	rm -f "$O/c-core.$pid"
}

# ---------------------------------------------------------------- (b) Go at a path the host has too
go_container() {
	local vers newest oldest R=$O/root-go out=$O/go-out pid G H app=$O/app/server
	vers=$(tli_go_versions)
	newest=$(echo $vers | awk '{print $NF}')
	oldest=$(echo $vers | awk '{print $1}')
	G=$(tli_build tests/targets/go/goroutines "$newest") && H=$(tli_build tests/targets/go/demo "$oldest") ||
		{ tli_bad "Go: build"; return; }
	rm -rf "$R" "$out" "$(dirname "$app")"
	mkdir -p "$out" "$(dirname "$app")" "$R$(dirname "$app")"
	cp "$H" "$app"              # the host's file at that path: another program, another toolchain
	cp "$G" "$R$app"            # the container's
	ctr_start "$O/go.target" "$R" -b "$out" out -- "$app" -out /out -n 200 && pid=$CTR_PID &&
		wait_line "$O/go.target" '^ready 1$' 60 ||
		{ tli_bad "Go: container did not start: $(head -c 300 "$O/go.target")"; return; }
	sleep 0.3
	echo "     Go target: host pid $pid runs $app of the container (go$newest goroutines); the host's $app is go$oldest demo"
	if timeout 120 "$TLI" --json --pid "$pid" goroutines --stacks >"$O/go-live.json" 2>"$O/go-live.err" &&
		python3 "$ROOT/tests/integration/compare.py" --dump "$out/stack.txt" --json "$O/go-live.json" \
			--facts "$out/facts.json" --label "go container" >"$O/go-live.compare" 2>&1; then
		tli_ok "Go from the host: listing = the runtime's own dump ($(tail -1 "$O/go-live.compare" | sed 's/^\[[^]]*\] //'))"
	else
		tail -5 "$O/go-live.compare" 2>/dev/null; tli_bad "Go from the host: $(head -c 300 "$O/go-live.err")"
	fi
	local views
	views=$(jq_py "$O/go-live.json" "'%s|%s|%s' % (d['target']['exe'], d['target'].get('exe_file'), d['target'].get('ns_pid'))" 2>&1)
	[ "$views" = "$app|/proc/$pid/exe|1" ] && tli_ok "Go: exe $app read as /proc/$pid/exe, ns_pid 1" ||
		tli_bad "Go: exe as the target sees it: got $views"
	"$TLI" --pid "$pid" goroutines >"$O/go-live.txt" 2>&1
	head -1 "$O/go-live.txt" | grep -qF "pid $pid (pid 1 in its namespace) ($app)" &&
		tli_ok "Go: text header '$(head -1 "$O/go-live.txt" | cut -c1-100)'" ||
		tli_bad "Go: text header: $(head -1 "$O/go-live.txt")"
	# the control: the host's file at that path gives no such answer
	timeout 60 "$TLI" --json --pid "$pid" --exe "$app" goroutines --stacks >"$O/go-hostfile.json" 2>"$O/go-hostfile.err"
	local hrc=$?
	if [ $hrc != 0 ] || ! python3 "$ROOT/tests/integration/compare.py" --dump "$out/stack.txt" --json "$O/go-hostfile.json" \
		--facts "$out/facts.json" >/dev/null 2>&1; then
		tli_ok "Go control: the host's $app (--exe) does not give the runtime's dump (exit $hrc: $(head -c 120 "$O/go-hostfile.err"))"
	else
		tli_bad "Go control: the host's file gave the right answer too: the test proves nothing"
	fi
	# (c) the sidecar
	if sidecar "$pid" --json --pid 1 goroutines --stacks >"$O/go-side.json" 2>"$O/go-side.err" &&
		python3 "$ROOT/tests/integration/compare.py" --dump "$out/stack.txt" --json "$O/go-side.json" \
			--facts "$out/facts.json" --label "go sidecar" >"$O/go-side.compare" 2>&1; then
		tli_ok "Go from a sidecar, --pid 1: listing = the runtime's own dump ($(tail -1 "$O/go-side.compare" | sed 's/^\[[^]]*\] //'))"
	else
		tail -5 "$O/go-side.compare" 2>/dev/null; tli_bad "Go from a sidecar: $(head -c 300 "$O/go-side.err")"
	fi
	# the static file alone in an empty root; --no-dwarf: the Go map inside it answers
	local v
	for v in "" --no-dwarf; do
		if sidecar_static "$pid" --json $v --pid 1 goroutines --stacks >"$O/go-st$v.json" 2>"$O/go-st$v.err" &&
			python3 "$ROOT/tests/integration/compare.py" --dump "$out/stack.txt" --json "$O/go-st$v.json" \
				--facts "$out/facts.json" --label "go static sidecar$v" >"$O/go-st$v.compare" 2>&1; then
			tli_ok "Go from the static file alone in an empty root ${v:+($v, layouts: $(jq_py "$O/go-st$v.json" "d['target'].get('layout_source')")) }--pid 1: listing = the runtime's own dump ($(tail -1 "$O/go-st$v.compare" | sed 's/^\[[^]]*\] //'))"
		else
			tail -5 "$O/go-st$v.compare" 2>/dev/null; tli_bad "Go from the static sidecar $v: $(head -c 300 "$O/go-st$v.err")"
		fi
	done
	tli_kill "$TLI_PID"
}

c_container
go_container
tli_cleanup
# nothing of ours is left mounted on the host
if grep -qF "$O" /proc/self/mountinfo; then
	tli_bad "mounts left on the host: $(grep -F "$O" /proc/self/mountinfo | head -3)"
else
	tli_ok "no mount left on the host"
fi
tli_suite_end
