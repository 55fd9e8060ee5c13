#!/usr/bin/env bash
# tests/integration/arm64.sh - arm64 cores read on this (x86-64) machine (issue 22, items 1, 2, 4, 6).
#
# For every installed Go toolchain, 1.19 and 1.21-1.27 (restrict with GO_VERSIONS; ARM64_VARIANTS="default stripped"; stripped
# builds (-s -w) are read with runtime-maps/go-arm64/ and the arm64 instruction patterns that find
# the runtime's globals (ADRP+ADD/LDR), and must agree the same way):
#   tests/targets/go/goroutines is cross-built with GOARCH=arm64 CGO_ENABLED=0, run under
#   qemu-user with -crash (the runtime's own dump, runtime.Stack(all), is written first), then
#   SIGQUIT: Go's handler dumps and aborts, and qemu writes the guest's core
#   (qemu_<prog>_<time>_<pid>.core in the working folder; qemu >= 8 keeps SIGABRT for itself).
#   `tlinspect --core C --exe BIN --json goroutines --stacks` must agree goroutine by goroutine
#   with that dump (compare.py, the checker of the `go` suite); text and JSON name the target's
#   architecture. qemu-user cores carry no NT_FILE: the executable is given by --exe.
# Channels and leaks: tests/targets/go/chans (ARM64_CHANS_VERSIONS, default every toolchain of GO_VERSIONS) cross-built,
# its qemu-user core read with leaks/chans/chan/graph and judged by the chans suite's check.py
# against what the target recorded (on 1.27 also the runtime's own goroutineleak profile).
# Cores without NT_FILE (item 3): tests/targets/c/heapstate cross-built with aarch64-linux-gnu-gcc, its
# qemu-user core (no NT_FILE, no NT_ARM_TLS: libc from the dynamic linker's r_debug/link_map) read
# with heap/bins/leaks and judged by tests/integration/glibc/check.py against its own mallinfo2,
# malloc_info and leaks; its threads' tcaches must be reported unknown and found by their content
# (glibc/tcache_scan.c; checked against the threads' own tcaches below, with the x86-64 cores). And an x86-64 gcore core of
# heapstate with its NT_FILE note retyped (nofile.py) must give the original core's heap/leaks JSON.
# Bad input: cores and executables of 32-bit ARM, riscv64, ppc64le and big-endian machines (ELF
# headers written over a copy of a real core's or executable's first page) end with one
# "tlinspect: error:" line naming the machine and the unsupported-input exit code (11); an --exe
# of another architecture than the core's is refused naming both (7).
# The aarch64 build ($TLINSPECT_ARM64, else `make cross-arm64` is run: build-arm64/tlinspect), run
# under qemu-user, must print the same JSON for every core (only its timing keys may differ);
# without the cross tools (scripts/setup.sh --arm64) these checks are skipped (a SKIP line), in CI
# (CI=true) that is a failure.
# qemu-user is installed by scripts/setup.sh: its absence is a failure, not a skip.
# Ends with "arm64: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite arm64
trap tli_cleanup EXIT INT TERM
W=$TLI_OUT
GO_VERSIONS=$(echo ${GO_VERSIONS:-$(tli_go_versions)})
VARIANTS=${ARM64_VARIANTS:-default stripped}
export TLINSPECT_LAYOUT_CACHE=0
if ! TLI_ARM64=$(tli_arm64_build); then
	TLI_ARM64=
	if [ "${CI:-}" = true ]; then
		tli_bad "no aarch64 build: CI runs scripts/setup.sh --arm64, so make cross-arm64 must work"
	else
		echo "SKIP the aarch64 build under qemu-user: no cross tools (scripts/setup.sh --arm64)"
	fi
fi

# same_json A B: the two documents equal but for the keys that measure time
same_json() {
	python3 - "$1" "$2" <<'PY'
import json, sys
def scrub(v):
	if isinstance(v, dict):
		return {k: scrub(x) for k, x in v.items() if not (k.endswith("_ms") or k.endswith("_ns") or k.endswith("_us"))}
	if isinstance(v, list):
		return [scrub(x) for x in v]
	return v
a, b = (scrub(json.load(open(f))) for f in sys.argv[1:3])
if a != b:
	sa, sb = json.dumps(a, indent=1, sort_keys=True).splitlines(), json.dumps(b, indent=1, sort_keys=True).splitlines()
	import difflib
	print("\n".join(list(difflib.unified_diff(sa, sb, lineterm="", n=1))[:30]))
	sys.exit(1)
PY
}

QEMU=$(type -P qemu-aarch64-static || type -P qemu-aarch64 || true)
if [ -z "$QEMU" ]; then
	tli_bad "qemu-user (qemu-aarch64-static) is not installed: run scripts/setup.sh"
	tli_suite_end
	exit 1
fi

# build_arm64 VER VARIANT: the goroutines target for linux/arm64; prints its path
build_arm64() {
	local v=$1 variant=$2 out flags=()
	out=$W/go$v/goroutines-arm64
	[ "$variant" = stripped ] && { out=$out-stripped; flags=(-ldflags=-s\ -w); }
	mkdir -p "$(dirname "$out")"
	(cd "$ROOT/tests/targets/go/goroutines" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
		GOARCH=arm64 CGO_ENABLED=0 GOCACHE=$(tli_gocache) "$(tli_go_bin "$v")" build "${flags[@]}" -o "$out" .) >&2 ||
		return 1
	printf '%s\n' "$out"
}

# qemu_core DIR BIN: run BIN under qemu-user in DIR until it is ready, SIGQUIT it; prints the core
qemu_core() {
	local dir=$1 bin=$2 qpid i core
	(cd "$dir" && ulimit -c unlimited && exec "$QEMU" "$bin" -out "$dir" -n 200 -crash >"$dir/target.out" 2>"$dir/crash.txt") &
	qpid=$!
	TLI_PIDS+=("$qpid")
	for ((i = 0; i < 300; i++)); do
		grep -q '^ready' "$dir/target.out" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.2 # main prints "ready" and then parks in select {}
	kill -QUIT "$qpid" 2>/dev/null
	for ((i = 0; i < 300; i++)); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
	tli_kill "$qpid"
	rm -f "$dir/core" # qemu 7.2 also leaves a core of itself (the host process)
	core=$(ls -t "$dir"/qemu_*.core 2>/dev/null | head -1)
	[ -n "$core" ] && [ -s "$core" ] && printf '%s\n' "$core"
}

LAST_CORE= LAST_BIN=
for v in $GO_VERSIONS; do
	[ -x "$(tli_go_bin "$v")" ] || { tli_bad "go$v: no toolchain $(tli_go_bin "$v")"; continue; }
	for variant in $VARIANTS; do
		tag=go$v-arm64${variant#default}
		[ "$variant" = default ] || tag=go$v-arm64-$variant
		dir=$W/$tag
		mkdir -p "$dir"
		if ! bin=$(build_arm64 "$v" "$variant"); then
			tli_bad "$tag: build"
			continue
		fi
		if ! core=$(qemu_core "$dir" "$bin"); then
			tli_bad "$tag: qemu-user wrote no core ($(tail -c 300 "$dir/crash.txt" 2>/dev/null))"
			continue
		fi
		[ "$variant" = default ] && { LAST_CORE=$core; LAST_BIN=$bin; }
		timeout 120 "$TLI" --core "$core" --exe "$bin" --json goroutines --stacks >"$dir/tli.json" 2>"$dir/tli.err"
		rc=$?
		if [ "$rc" != 0 ]; then
			tli_bad "$tag: tlinspect exited $rc: $(head -c 400 "$dir/tli.err")"
			continue
		fi
		if python3 "$ROOT/tests/integration/compare.py" --dump "$dir/stack.txt" --json "$dir/tli.json" \
			--facts "$dir/facts.json" --label "$tag" >"$dir/compare.log" 2>&1; then
			tli_ok "$tag: goroutines equal the runtime's dump ($(tail -1 "$dir/compare.log" | sed 's/^\[[^]]*\] //'))"
		else
			tli_bad "$tag: goroutines differ from the runtime's dump"
			grep -v ' 0 failed' "$dir/compare.log" | head -30 | sed 's/^/     | /'
		fi
		arch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["arch"])' "$dir/tli.json" 2>/dev/null)
		timeout 120 "$TLI" --core "$core" --exe "$bin" goroutines >"$dir/tli.txt" 2>/dev/null
		head1=$(head -1 "$dir/tli.txt")
		src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["layout_source"])' "$dir/tli.json" 2>/dev/null)
		if [ "$variant" = stripped ] && [[ $src != *runtime-maps* ]]; then
			tli_bad "$tag: layout_source is '$src', not the runtime maps"
		fi
		if [ "$arch" = arm64 ] && [[ $head1 == "core $core ($bin, arm64): go$v"* ]]; then
			tli_ok "$tag: JSON target.arch and the text header name arm64"
		else
			tli_bad "$tag: target.arch '$arch', text header '$head1'"
		fi
		if [ -n "$TLI_ARM64" ]; then
			timeout 300 "$QEMU" "$TLI_ARM64" --core "$core" --exe "$bin" --json goroutines --stacks \
				>"$dir/tli-a64.json" 2>"$dir/tli-a64.err"
			rc=$?
			if [ "$rc" = 0 ] && same_json "$dir/tli.json" "$dir/tli-a64.json" >"$dir/a64.diff" 2>&1; then
				tli_ok "$tag: the aarch64 build under qemu-user prints the same JSON"
			else
				tli_bad "$tag: the aarch64 build under qemu-user (exit $rc) differs: $(head -c 300 "$dir/tli-a64.err")"
				head -30 "$dir/a64.diff" | sed 's/^/     | /'
			fi
		fi
		# cores are ~50 MB: keep the last default one for the bad-input cases
		[ "$core" = "$LAST_CORE" ] || rm -f "$core"
	done
done

# ---- channels and leaks: tests/targets/go/chans (the truth it records about itself: len/cap of
# each channel, the goroutines it leaked, the runtime's goroutineleak profile on 1.27) from an arm64
# qemu-user core, judged by the chans suite's check.py (ARM64_CHANS_VERSIONS, default every toolchain of GO_VERSIONS) ----
for v in ${ARM64_CHANS_VERSIONS:-$GO_VERSIONS}; do
	[ -x "$(tli_go_bin "$v")" ] || continue
	dir=$W/chans-go$v
	mkdir -p "$dir"
	cbin=$dir/chans-arm64
	exp= # as the chans suite: 1.26 registers the goroutineleak profile only with this experiment
	[ "$v" = 1.26 ] && exp=goroutineleakprofile
	if ! (cd "$ROOT/tests/targets/go/chans" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
		GOEXPERIMENT=$exp GOARCH=arm64 CGO_ENABLED=0 GOCACHE=$(tli_gocache) "$(tli_go_bin "$v")" build -o "$cbin" .) >"$dir/build.log" 2>&1; then
		tli_bad "chans go$v arm64: build ($(tail -2 "$dir/build.log"))"
		continue
	fi
	(cd "$dir" && ulimit -c unlimited && GOTRACEBACK=crash exec "$QEMU" "$cbin" -out "$dir" -leakprofile "$dir/leak.txt" \
		>"$dir/target.out" 2>"$dir/crash.txt") &
	qpid=$!
	TLI_PIDS+=("$qpid")
	for ((i = 0; i < 300; i++)); do
		grep -qE '^(ready|pid)' "$dir/target.out" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.3
	kill -QUIT "$qpid" 2>/dev/null
	for ((i = 0; i < 300; i++)); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
	tli_kill "$qpid"
	rm -f "$dir/core"
	ccore=$(ls -t "$dir"/qemu_*.core 2>/dev/null | head -1)
	if [ -z "$ccore" ]; then
		tli_bad "chans go$v arm64: qemu-user wrote no core ($(tail -c 200 "$dir/crash.txt"))"
		continue
	fi
	d=$dir/core-check
	mkdir -p "$d"
	for c in leaks chans goroutines; do
		timeout 120 "$TLI" --core "$ccore" --exe "$cbin" --json $c >"$d/$c.json" 2>"$d/$c.err"
	done
	timeout 120 "$TLI" --core "$ccore" --exe "$cbin" graph --dot >"$d/graph.dot" 2>"$d/graph.err"
	while read -r name addr; do
		timeout 60 "$TLI" --core "$ccore" --exe "$cbin" --json chan "$addr" >"$d/chan-$name.json" 2>"$d/chan-$name.err"
		[ "$name" = strs ] && timeout 60 "$TLI" --core "$ccore" --exe "$cbin" --json chan "$addr" --values \
			>"$d/chan-$name-values.json" 2>/dev/null
	done < <(python3 "$ROOT/tests/integration/chans/check.py" addrs "$dir/facts.json")
	python3 "$ROOT/tests/integration/chans/check.py" check "$d" "go$v arm64 core" >"$d/check.txt" 2>&1
	nok=$(grep -c '^ok' "$d/check.txt")
	if [ "$nok" -gt 0 ] && ! grep -q '^FAIL' "$d/check.txt"; then
		tli_ok "chans go$v arm64 core: channels, leaks, graph agree with the target's record ($nok checks)"
	else
		tli_bad "chans go$v arm64 core: $(grep -c '^FAIL' "$d/check.txt") of $((nok + $(grep -c '^FAIL' "$d/check.txt"))) checks fail"
		grep '^FAIL' "$d/check.txt" | head -10 | sed 's/^/     | /'
	fi
	[ "${KEEP:-0}" = 1 ] || rm -f "$ccore"
done

# ---- a C program's qemu-user core (issue 22 item 3): no NT_FILE, no NT_ARM_TLS. The libraries come
# from the dynamic linker's list (DT_DEBUG -> r_debug -> link_map); heapstate's own mallinfo2 /
# malloc_info record and its leaks are the oracle (tests/integration/glibc/check.py); the result must
# say the threads' tcaches are unknown (no thread pointer in the core) and find them by content. ----
if type -P aarch64-linux-gnu-gcc >/dev/null; then
	dir=$W/c-qemu
	mkdir -p "$dir/out"
	if aarch64-linux-gnu-gcc -O2 -g -pthread -o "$dir/heapstate" "$ROOT/tests/targets/c/heapstate.c" 2>"$dir/build.log"; then
		# a non-interactive shell's background job ignores SIGQUIT, and qemu passes that on to the guest
		(cd "$dir" && ulimit -c unlimited && exec env --default-signal=QUIT "$QEMU" ./heapstate "$dir/out" \
			>"$dir/out/stdout" 2>"$dir/out/stderr") &
		qpid=$!
		TLI_PIDS+=("$qpid")
		for ((i = 0; i < 300; i++)); do
			grep -q '^ready' "$dir/out/stdout" 2>/dev/null && break
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.1
		done
		{ # (bash's "Quit (core dumped)" job notice is no news here)
			for ((i = 0; i < 300; i++)); do # a signal that comes too early is lost: repeat until it dies
				kill -0 "$qpid" 2>/dev/null || break
				((i % 10)) || kill -QUIT "$qpid" 2>/dev/null
				sleep 0.1
			done
			tli_kill "$qpid"
			wait "$qpid"
		} 2>/dev/null
		rm -f "$dir/core"
		ccore=$(ls -t "$dir"/qemu_*.core 2>/dev/null | head -1)
		if [ -z "$ccore" ]; then
			tli_bad "C qemu-user core: qemu wrote none ($(tail -c 200 "$dir/out/stderr"))"
		else
			ok=1
			for c in heap bins leaks; do
				timeout 120 "$TLI" --json --core "$ccore" --exe "$dir/heapstate" $c >"$dir/q.$c.json" 2>"$dir/q.$c.err" ||
					{ tli_bad "C qemu-user core: $c: $(head -c 300 "$dir/q.$c.err")"; ok=0; }
			done
			if [ $ok = 1 ] && python3 "$ROOT/tests/integration/glibc/check.py" "$dir/out" "$dir/q" >"$dir/check.txt" 2>&1; then
				tli_ok "C qemu-user core (libraries from r_debug): heap, bins, leaks agree with mallinfo2/malloc_info and the leaks ($(grep -c '^ok' "$dir/check.txt") checks)"
			elif [ $ok = 1 ]; then
				tli_bad "C qemu-user core: differs from glibc's own view"
				grep -v '^ok' "$dir/check.txt" | head -15 | sed 's/^/     | /'
			fi
			w=$(python3 -c 'import json,sys; print(" | ".join(json.load(open(sys.argv[1])).get("warnings", [])))' "$dir/q.heap.json" 2>/dev/null)
			unk=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["glibc"]["tcache"]; print(sum(1 for x in t if x.get("unknown") and x["tcache"] is None), sum(1 for x in t if x.get("found_by") == "content"))' "$dir/q.bins.json" 2>/dev/null)
			if [[ $w == *"thread pointer (tpidr) of 4 of 4 threads unknown"*"core has no note"*"by their content"* ]] && [ "$unk" = "4 4" ]; then
				tli_ok "C qemu-user core: the result says whose tcache is whose is unknown (no thread pointer in the core) and finds the 4 tcaches by their content"
			else
				tli_bad "C qemu-user core: tcaches not said to be unknown (bins: $unk unknown of threads): $w"
			fi
			[ "${KEEP:-0}" = 1 ] || rm -f "$ccore"
		fi
	else
		tli_bad "C qemu-user core: aarch64 build of heapstate ($(tail -2 "$dir/build.log"))"
	fi
elif [ "${CI:-}" = true ]; then
	tli_bad "no aarch64-linux-gnu-gcc: CI runs scripts/setup.sh --arm64"
else
	echo "SKIP the C qemu-user core: no aarch64-linux-gnu-gcc (scripts/setup.sh --arm64)"
fi

# ---- x86-64: a gcore core of heapstate with its NT_FILE note removed (tests/integration/nofile.py) gives
# the same heap and leaks JSON as the original (the libraries then come from r_debug; only the core's
# name and libc's spelling (the link map's /lib/..., read as /usr/lib/...: libc_file) may differ) ----
dir=$W/x86-nofile
mkdir -p "$dir/out"
if gcc -O2 -g -pthread -o "$dir/heapstate" "$ROOT/tests/targets/c/heapstate.c" 2>"$dir/build.log"; then
	"$dir/heapstate" "$dir/out" >"$dir/out/stdout" 2>&1 &
	hpid=$!
	TLI_PIDS+=("$hpid")
	for ((i = 0; i < 100; i++)); do grep -q '^ready' "$dir/out/stdout" 2>/dev/null && break; sleep 0.1; done
	if gcore -o "$dir/g" "$hpid" >"$dir/gcore.log" 2>&1 && [ "$(python3 "$ROOT/tests/integration/nofile.py" "$dir/g.$hpid" "$dir/g.nofile")" = 1 ]; then
		ok=1
		# libc with its DWARF (libc6-dbg), then without (TLINSPECT_DEBUG_DIRS to nowhere: the glibc runtime map)
		for c in heap leaks heap.nodebug leaks.nodebug; do
			dd=${TLINSPECT_DEBUG_DIRS:-}
			[[ $c == *.nodebug ]] && dd=/nonexistent
			TLINSPECT_DEBUG_DIRS=$dd timeout 60 "$TLI" --json --core "$dir/g.$hpid" --exe "$dir/heapstate" ${c%.nodebug} >"$dir/a.$c.json" 2>/dev/null &&
				TLINSPECT_DEBUG_DIRS=$dd timeout 60 "$TLI" --json --core "$dir/g.nofile" --exe "$dir/heapstate" ${c%.nodebug} >"$dir/b.$c.json" 2>"$dir/b.$c.err" ||
				{ tli_bad "x86-64 core without NT_FILE: $c failed: $(head -c 300 "$dir/b.$c.err")"; ok=0; continue; }
			python3 - "$dir/a.$c.json" "$dir/b.$c.json" <<'PY' >"$dir/$c.diff" 2>&1 || { tli_bad "x86-64 core without NT_FILE: $c differs"; sed 's/^/     | /' "$dir/$c.diff" | head; ok=0; }
import json, sys
def scrub(v):
	if isinstance(v, dict):
		return {k: scrub(x) for k, x in v.items() if not k.endswith(("_ms", "_ns", "_us")) and k not in ("core", "libc", "libc_file")}
	if isinstance(v, list):
		return [scrub(x) for x in v]
	return v
a, b = (scrub(json.load(open(f))) for f in sys.argv[1:3])
if a != b:
	print([k for k in a if a[k] != b.get(k)])
	sys.exit(1)
PY
		done
		dbg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["glibc"].get("debug_file") or "", json.load(open(sys.argv[2]))["glibc"].get("debug_file") or "none")' "$dir/b.heap.json" "$dir/b.heap.nodebug.json" 2>/dev/null)
		[ $ok = 1 ] && tli_ok "x86-64 gcore core without NT_FILE: heap and leaks JSON equal the original core's (libraries from r_debug; libc debug file: $dbg)"
		# the same core without thread pointers (notp.py): the tcaches found by their content must be
		# exactly the ones the threads' `tcache` variables point at (addresses, counts, entries), and
		# heap and leaks must not change; then the qemu-user arm64 core of the same program (no
		# thread pointer at all) must hold tcaches with the same bins and counts as these
		if [ "$(python3 "$ROOT/tests/integration/notp.py" "$dir/g.$hpid" "$dir/g.notp")" -ge 1 ]; then
			for c in bins heap leaks; do
				timeout 60 "$TLI" --json --core "$dir/g.$hpid" --exe "$dir/heapstate" $c >"$dir/t.$c.json" 2>/dev/null
				timeout 60 "$TLI" --json --core "$dir/g.notp" --exe "$dir/heapstate" $c >"$dir/n.$c.json" 2>"$dir/n.$c.err"
			done
			if r=$(python3 - "$dir" "$W/c-qemu/q.bins.json" <<'PY'
import json, os, sys
d, qb = sys.argv[1], sys.argv[2]
ld = lambda n: json.load(open(os.path.join(d, n)))
tcs = lambda j: j["glibc"]["tcache"]
key = lambda t: (t["tcache"], tuple((b["index"], b["count"], b["found"], b["bytes"]) for b in t["bins"]))
tls = sorted(key(t) for t in tcs(ld("t.bins.json")) if t["tcache"] and t["bins"])
got = sorted(key(t) for t in tcs(ld("n.bins.json")) if t.get("found_by") == "content")
unk = [t for t in tcs(ld("n.bins.json")) if t.get("unknown")]
errs = []
if not tls: errs.append("the original core has no tcache with entries")
if got != tls: errs.append("found by content %s, the threads' tcaches %s" % (got, tls))
if not unk: errs.append("no thread said unknown")
for c in ("heap", "leaks"):
    a, b = ld("t.%s.json" % c), ld("n.%s.json" % c)
    for k in ("glibc", "heap"):
        if k in a and a[k] != b.get(k): errs.append("%s: %s differs" % (c, k))
bins = lambda t: sorted((b["index"], b["count"]) for b in t["bins"])
if os.path.exists(qb):  # the same program on arm64: same tcache states (addresses differ)
    q = sorted(bins(t) for t in json.load(open(qb))["glibc"]["tcache"] if t.get("found_by") == "content")
    x = sorted(bins(t) for t in tcs(ld("t.bins.json")) if t["tcache"] and t["bins"])
    if q != x: errs.append("arm64 qemu core: tcaches found by content %s, x86-64 threads' tcaches %s" % (q, x))
    else: print("%d tcaches with %d chunks" % (len(tls), sum(b[2] for t in tls for b in t[1])), end="; ")
if errs: print("; ".join(errs)); sys.exit(1)
print("heap and leaks unchanged")
PY
			); then
				tli_ok "cores without thread pointers: tcaches found by their content = the threads' own (x86-64 core without fs_base; arm64 qemu-user core of the same program): $r"
			else
				tli_bad "cores without thread pointers: $r"
			fi
		else
			tli_bad "notp.py cleared no thread pointer"
		fi
	else
		tli_bad "x86-64 core without NT_FILE: gcore or the rewrite failed ($(tail -1 "$dir/gcore.log"))"
	fi
	tli_kill "$hpid"
	rm -f "$dir/g.$hpid" "$dir/g.nofile"
else
	tli_bad "x86-64 core without NT_FILE: building heapstate"
fi

# ---- the Go heap, pools and timers on arm64 cores (issue 22 item 2: those commands on the same
# seam). Under qemu-user with GOTRACEBACK=crash (ARM64_HEAP_VERSIONS, default every toolchain of GO_VERSIONS):
#  - tests/targets/go/memstats: ready, SIGUSR1 (it writes its runtime.ReadMemStats, then allocates
#    nothing), SIGQUIT: `heap` of the core = that record (goheap_compare.py, the goheap suite's judge:
#    mallocs, frees, heap_objects, heap_alloc, num_gc... exactly, the rest within 1%);
#  - tests/targets/go/overtime: ready, SIGUSR1 (goroutines, records, sql connections and timers
#    leak; it writes db.Stats() and its ReadMemStats), SIGQUIT: the first screen of the core and
#    `leaks` judged by the overtime suite's check (pool = db.Stats() and the leaked connections, the
#    AfterFunc timers, leaked = `leaks`, memstats = the runtime's);
#  - tests/targets/go/secrets: ready (it wrote where it planted each credential), SIGQUIT: `secrets`
#    of the core finds each at its address, of its kind, in its region (secrets_found.py). ----
qemu_go_start() { # DIR BIN ARGS...: BIN under qemu-user in DIR, GOTRACEBACK=crash; sets QPID
	local dir=$1
	shift
	(cd "$dir" && ulimit -c unlimited && exec env --default-signal=QUIT GOTRACEBACK=crash "$QEMU" "$@" \
		>"$dir/target.out" 2>"$dir/crash.txt") &
	QPID=$!
	TLI_PIDS+=("$QPID")
}
qemu_go_core() { # DIR: SIGQUIT QPID until it dies; prints the core qemu wrote
	local dir=$1 i
	{
		for ((i = 0; i < 600; i++)); do
			kill -0 "$QPID" 2>/dev/null || break
			((i % 20)) || kill -QUIT "$QPID" 2>/dev/null
			sleep 0.1
		done
		tli_kill "$QPID"
		wait "$QPID"
	} 2>/dev/null
	rm -f "$dir/core"
	ls -t "$dir"/qemu_*.core 2>/dev/null | head -1
}
wait_for() { # FILE WORD SECS
	local i
	for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
for v in ${ARM64_HEAP_VERSIONS:-$GO_VERSIONS}; do
	[ -x "$(tli_go_bin "$v")" ] || continue
	for prog in memstats overtime secrets; do
		d=$W/go$v-arm64-$prog
		rm -rf "$d"; mkdir -p "$d"
		bin=$d/$prog
		if ! (cd "$ROOT/tests/targets/go/$prog" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
			GOARCH=arm64 CGO_ENABLED=0 GOCACHE=$(tli_gocache) "$(tli_go_bin "$v")" build -o "$bin" .) >"$d/build.log" 2>&1; then
			tli_bad "go$v arm64 $prog: build ($(tail -1 "$d/build.log"))"
			continue
		fi
		case $prog in
		memstats) qemu_go_start "$d" "$bin" "$d/oracle.json" ;;
		overtime) qemu_go_start "$d" "$bin" "$d" leak ;;
		secrets) qemu_go_start "$d" "$bin" "$d" ;;
		esac
		wait_for "$d/target.out" '^ready' 90 || { tli_bad "go$v arm64 $prog: not ready under qemu"; tli_kill "$QPID"; continue; }
		[ $prog = secrets ] || kill -USR1 "$QPID"
		case $prog in
		memstats) wait_for "$d/target.out" written 60 ;;
		overtime) wait_for "$d/leaked" . 60 ;;
		esac || { tli_bad "go$v arm64 $prog: wrote no record"; tli_kill "$QPID"; continue; }
		sleep 0.3
		c=$(qemu_go_core "$d")
		[ -n "$c" ] || { tli_bad "go$v arm64 $prog: qemu wrote no core"; continue; }
		if [ $prog = secrets ]; then
			timeout 120 "$TLI" --core "$c" --exe "$bin" --json secrets >"$d/secrets.json" 2>"$d/secrets.err"
			if out=$(python3 "$ROOT/tests/integration/secrets_found.py" "$d/secrets.json" "$d/planted.txt" 2>&1); then
				tli_ok "go$v arm64 core: secrets finds the $(wc -l <"$d/planted.txt") planted credentials where the target put them"
			else
				tli_bad "go$v arm64 core: secrets: $(echo "$out" | grep -v '^found' | head -5 | tr '\n' ';')"
			fi
		elif [ $prog = memstats ]; then
			timeout 120 "$TLI" --core "$c" --exe "$bin" --json heap >"$d/core.json" 2>"$d/core.err"
			if out=$(python3 "$ROOT/tests/integration/goheap_compare.py" "$d/oracle.json" "$d/core.json" 2>&1); then
				tli_ok "go$v arm64 core: heap = the target's runtime.ReadMemStats${out:+ ($out)}"
			else
				tli_bad "go$v arm64 core: heap differs from ReadMemStats: $(echo "$out" | head -5 | tr '\n' ';')"
			fi
		else
			timeout 120 "$TLI" --core "$c" --exe "$bin" >"$d/screen.txt" 2>"$d/screen.err" &&
				timeout 120 "$TLI" --core "$c" --exe "$bin" --json >"$d/screen.json" 2>>"$d/screen.err" &&
				timeout 120 "$TLI" --core "$c" --exe "$bin" --json leaks >"$d/leaks.json" 2>>"$d/screen.err" ||
				{ tli_bad "go$v arm64 core: first screen: $(head -c 300 "$d/screen.err")"; continue; }
			if r=$(python3 "$ROOT/tests/integration/overtime_check.py" screen "$d/screen.txt" "$d/screen.json" "$d/leaks.json" "$d/pool.json"); then
				tli_ok "go$v arm64 core: first screen (pools, timers, leaks, memstats) = the target's own record: $r"
			else
				tli_bad "go$v arm64 core: first screen: $r"
			fi
		fi
		[ "${KEEP:-0}" = 1 ] || rm -f "$c"
	done
done

# ---- bad input ----------------------------------------------------------------------------------
# expect CODE WORDS LABEL TLIARGS...: exit CODE, one "tlinspect: error:" line holding every word of
# WORDS ("|"-separated); with --json the error document carries the same code
expect() {
	local code=$1 words=$2 label=$3 rc nl first w okw=1 jc
	shift 3
	timeout 30 "$TLI" "$@" goroutines >"$W/err.out" 2>"$W/err.txt"
	rc=$?
	nl=$(wc -l <"$W/err.txt")
	first=$(head -1 "$W/err.txt")
	IFS='|' read -ra ws <<<"$words"
	for w in "${ws[@]}"; do [[ $first == *"$w"* ]] || okw=0; done
	jc=$(timeout 30 "$TLI" --json "$@" goroutines 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' 2>/dev/null)
	if [ "$rc" = "$code" ] && [ "$nl" = 1 ] && [[ $first == "tlinspect: error: "* ]] && [ "$okw" = 1 ] &&
		[ "$jc" = "$code" ]; then
		tli_ok "bad input: $label -> $rc: ${first#tlinspect: error: }"
	else
		tli_bad "bad input: $label: expected exit $code naming '$words'; got exit $rc (json $jc), $nl lines: $first"
	fi
}

# patch SRC DST CLASS DATA MACHINE: the first page of SRC with another ELF class, byte order, machine
patch() {
	python3 - "$@" <<'PY'
import sys
src, dst, cls, data, mach = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
b = bytearray(open(src, "rb").read(4096))
b[4], b[5] = cls, data
b[18:20] = mach.to_bytes(2, "big" if data == 2 else "little")
open(dst, "wb").write(bytes(b))
PY
}

if [ -z "$LAST_CORE" ]; then
	tli_bad "bad input: no arm64 core to start from"
else
	mkdir -p "$W/bad"
	patch "$LAST_CORE" "$W/bad/arm32.core" 1 1 40
	patch "$LAST_CORE" "$W/bad/riscv64.core" 2 1 243
	patch "$LAST_CORE" "$W/bad/ppc64le.core" 2 1 21
	patch "$LAST_CORE" "$W/bad/ppc64be.core" 2 2 21
	patch "$LAST_CORE" "$W/bad/aarch64be.core" 2 2 183
	expect 11 "32-bit ARM|arm32.core" "32-bit ARM core" --core "$W/bad/arm32.core"
	expect 11 "RISC-V|riscv64.core" "riscv64 core" --core "$W/bad/riscv64.core"
	expect 11 "64-bit PowerPC|little-endian" "ppc64le core" --core "$W/bad/ppc64le.core"
	expect 11 "64-bit PowerPC|big-endian" "ppc64 big-endian core" --core "$W/bad/ppc64be.core"
	expect 11 "arm64|big-endian" "aarch64_be core" --core "$W/bad/aarch64be.core"
	patch "$LAST_BIN" "$W/bad/riscv64.exe" 2 1 243
	patch "$LAST_BIN" "$W/bad/arm32.exe" 1 1 40
	expect 11 "RISC-V|riscv64.exe" "--exe riscv64 with an arm64 core" --core "$LAST_CORE" --exe "$W/bad/riscv64.exe"
	expect 11 "32-bit ARM|arm32.exe" "--exe 32-bit ARM with an arm64 core" --core "$LAST_CORE" --exe "$W/bad/arm32.exe"
	# an x86-64 executable with the arm64 core, and the arm64 executable with an x86-64 core
	if x86bin=$(tli_build tests/targets/go/goroutines "${GO_VERSIONS##* }" 2>/dev/null); then
		expect 7 "x86-64|arm64" "--exe x86-64 with an arm64 core" --core "$LAST_CORE" --exe "$x86bin"
	else
		tli_bad "bad input: building the x86-64 goroutines target"
	fi
	sleep 1000 &
	spid=$!
	TLI_PIDS+=("$spid")
	if gcore -o "$W/bad/x86" "$spid" >"$W/bad/gcore.log" 2>&1 && [ -s "$W/bad/x86.$spid" ]; then
		expect 7 "x86-64|arm64" "--exe arm64 with an x86-64 core" --core "$W/bad/x86.$spid" --exe "$LAST_BIN"
	else
		tli_bad "bad input: gcore of sleep failed ($(tail -1 "$W/bad/gcore.log"))"
	fi
	tli_kill "$spid"
	rm -f "$W/bad/x86.$spid"
	[ "${KEEP:-0}" = 1 ] || rm -f "$LAST_CORE"
fi
tli_suite_end
