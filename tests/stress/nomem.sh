#!/usr/bin/env bash
# tests/stress/nomem.sh - tlinspect short of memory (issue 20 item 1): one target with a large
# live heap, and `(ulimit -v V; tlinspect --pid P CMD)` swept over V. Every run must exit 0 with
# the answer of an unconstrained run, or exit 13 (TLI_E_NOMEM, docs/exit-codes.md) with one line
# on stderr; never a signal, never another code, never a different answer with exit 0, and the
# target is left running and untraced. Ends with "nomem: N passed, M failed".
#
#   bash tests/stress/nomem.sh          Go: 1 GiB heap, 10000 goroutines, `leaks`, V = 12..1200 MiB
#   NOMEM_HEAP=2048 NOMEM_HI=2200 bash tests/stress/nomem.sh
#   NOMEM_TARGET=glibc bash tests/stress/nomem.sh      glibc: tests/bench/glibc/bigheap.c, heap + leaks
#
# The sweep: V from NOMEM_LO to NOMEM_HI by NOMEM_STEP MiB, then (NOMEM_FINE KiB steps) the
# NOMEM_FINE_SPAN MiB below the smallest V that answered: where the last allocations fail, the
# place a step that degrades instead of failing would answer wrongly. A V too small for the
# dynamic loader to map the libraries (exit 127 before main) is counted apart, not judged.
#
# Environment:
#   NOMEM_TARGET   go (default), or glibc (also: c)
#   NOMEM_THREADS  glibc: threads (arenas) of bigheap.c (default 4)
#   NOMEM_HEAP     go: live heap of tests/targets/go/bigheap, MiB (default 1024)
#   NOMEM_G        go: blocked goroutines (default 10000)
#   NOMEM_CHUNKS   glibc: chunks of bigheap.c (default 10000000, ~1.1 GB), over 4 threads
#   NOMEM_LO, NOMEM_HI, NOMEM_STEP   the coarse sweep, MiB (default 12, 1200 (glibc 2400), 4)
#   NOMEM_VALUES   explicit list of MiB values instead of the coarse sweep
#   NOMEM_FINE, NOMEM_FINE_SPAN      the fine sweep: step KiB (default 512; 0: none), MiB (default 24)
#   NOMEM_MODES    json and/or text (default "json text": both outputs at every value)
#   NOMEM_CMDS     commands (default go: "leaks", glibc: "heap leaks")
#   NOMEM_GO       toolchain of the Go target (default: the newest installed)
#   TLINSPECT      binary under test (default build/tlinspect)
#   NOMEM_QUIET    set: print only failures and the closing lines
# Not part of make check (many minutes at 1 GiB); tests/integration/nomem.sh is the quick version.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/stress-nomem
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT INT TERM
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
KIND=${NOMEM_TARGET:-go}
[ "$KIND" = c ] && KIND=glibc
MODES=${NOMEM_MODES:-json text}
FINE=${NOMEM_FINE:-512}
FINE_SPAN=${NOMEM_FINE_SPAN:-24}
rm -rf "$TLI_OUT"; mkdir -p "$TLI_OUT"
pass=0 fail=0
ok() { [ -n "${NOMEM_QUIET:-}" ] || echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
finish() { echo "nomem: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }

if [ "$KIND" = go ]; then
	CMDS=${NOMEM_CMDS:-leaks}
	HI=${NOMEM_HI:-1200}
	gov=${NOMEM_GO:-$(tli_go_versions | awk '{print $NF}')}
	bin=$(tli_build tests/targets/go/bigheap "$gov") || { bad "build of the Go target (go$gov)"; finish; }
	tli_start "$TLI_OUT/target.out" "$bin" -heap "${NOMEM_HEAP:-1024}" -g "${NOMEM_G:-10000}"
else
	CMDS=${NOMEM_CMDS:-heap leaks}
	HI=${NOMEM_HI:-2400}
	gcc -O2 -g -pthread -o "$TLI_OUT/bigheap" "$ROOT/tests/bench/glibc/bigheap.c" || { bad "build of bigheap.c"; finish; }
	tli_start "$TLI_OUT/target.out" "$TLI_OUT/bigheap" "${NOMEM_CHUNKS:-10000000}" "${NOMEM_THREADS:-4}" "$TLI_OUT/gap"
fi
pid=$(tli_wait_ready "$TLI_OUT/target.out" 600) || { bad "target did not start"; finish; }
want_leaked=$(awk '/^leaked/ {print $2}' "$TLI_OUT/target.out")
VALUES=${NOMEM_VALUES:-$(seq "${NOMEM_LO:-12}" "${NOMEM_STEP:-4}" "$HI")}

# every thread of the target runs (or sleeps) and nobody traces it
released() {
	local t st tr
	kill -0 "$pid" 2>/dev/null || return 1
	for t in /proc/"$pid"/task/*; do
		st=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "$t/stat" 2>/dev/null)
		tr=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
		case $st in t|T) return 1 ;; esac
		[ "${tr:-0}" = 0 ] || return 1
	done
}

# the answer of one run without what changes from run to run (pause, timings, bytes read)
canon() { # MODE FILE
	if [ "$1" = json ]; then
		python3 - "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("pause_ms", "bytes_read"):
    d.get("target", {}).pop(k, None)
for k in ("capture_seconds", "analysis_seconds"):
    d.get("go", {}).get("leak_stats", {}).pop(k, None)
print(json.dumps(d, sort_keys=True, indent=1))
PY
	else
		sed -E 's/target paused [0-9.]+ ms/target paused X ms/' "$2"
	fi
}

# the leak count of a reference run, as the target announced it
check_ref() { # CMD FILE
	local got
	case $KIND.$1 in
	go.leaks) got=$(python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["go"]; print(g["leaked_count"], g["leak_stats"]["method"])' "$2") ;;
	glibc.leaks) got=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["heap"]; print(h["unreachable"]["count"], "reachability")' "$2") ;;
	*) return 0 ;;
	esac
	if [ "$got" = "$want_leaked reachability" ]; then
		ok "$1 unconstrained: $got (the target says $want_leaked)"
	else
		bad "$1 unconstrained: $got, the target says $want_leaked leaked"
	fi
}

run() { # KIB MODE CMD OUT ERR: tlinspect under ulimit -v KIB (0: unlimited)
	local kib=$1 mode=$2 cmd=$3 jflag=
	[ "$mode" = json ] && jflag=--json
	# shellcheck disable=SC2086
	if [ "$kib" = 0 ]; then
		"$TLI" --pid "$pid" $jflag $cmd > "$4" 2> "$5"
	else
		(ulimit -v "$kib"; exec "$TLI" --pid "$pid" $jflag $cmd) > "$4" 2> "$5"
	fi
}

# one run under the limit KIB: its verdict in the counters, a FAIL line if it is wrong
n0=0 n13=0 nload=0 nbad=0 lowest0=
judge() { # KIB MODE CMD REF
	local kib=$1 mode=$2 cmd=$3 ref=$4 rc what=
	local o=$TLI_OUT/$cmd.$mode.$kib
	run "$kib" "$mode" "$cmd" "$o" "$o.err"
	rc=$?
	case $rc in
	0)
		canon "$mode" "$o" > "$o.canon" 2>/dev/null
		if cmp -s "$o.canon" "$ref.canon"; then
			n0=$((n0 + 1))
			if [ -z "$lowest0" ] || [ "$kib" -lt "$lowest0" ]; then lowest0=$kib; fi
		else
			what="exit 0 with an answer that differs from the unconstrained run (diff $ref.canon $o.canon)"
		fi ;;
	13)
		if [ "$(wc -l < "$o.err")" = 1 ]; then n13=$((n13 + 1))
		else what="exit 13 with $(wc -l < "$o.err") lines on stderr: $(head -c 300 "$o.err" | tr '\n' '|')"; fi ;;
	127)
		if grep -q 'error while loading shared libraries' "$o.err"; then nload=$((nload + 1))
		else what="exit 127: $(head -c 200 "$o.err" | tr '\n' '|')"; fi ;;
	*)
		if [ $rc -gt 128 ]; then what="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
		else what="exit $rc: $(head -c 200 "$o.err" | tr '\n' '|')"; fi ;;
	esac
	if ! released; then
		sleep 0.5
		released || what="${what:+$what; }the target is left stopped, traced or dead"
	fi
	if [ -n "$what" ]; then
		nbad=$((nbad + 1))
		bad "$cmd ($mode) ulimit -v $kib KiB ($((kib / 1024)) MiB): $what"
	fi
	released || { bad "the target is gone or held: stopping"; finish; }
}

for cmd in $CMDS; do
	for mode in $MODES; do
		ref=$TLI_OUT/ref.$cmd.$mode
		run 0 "$mode" "$cmd" "$ref" "$ref.err"
		rc=$?
		if [ $rc != 0 ]; then
			bad "$cmd ($mode) unconstrained: exit $rc ($(head -c 200 "$ref.err"))"
			continue
		fi
		canon "$mode" "$ref" > "$ref.canon"
		[ "$mode" = json ] && check_ref "$cmd" "$ref"
		n0=0 n13=0 nload=0 nbad=0 lowest0=
		for v in $VALUES; do
			judge $((v * 1024)) "$mode" "$cmd" "$ref"
		done
		nfine=0
		if [ "$FINE" -gt 0 ] && [ -n "$lowest0" ]; then
			top=$lowest0
			for ((k = top - FINE_SPAN * 1024; k < top; k += FINE)); do
				[ $k -gt 0 ] || continue
				judge "$k" "$mode" "$cmd" "$ref"
				nfine=$((nfine + 1))
			done
		fi
		total=$((n0 + n13 + nload + nbad))
		if [ $nbad = 0 ]; then
			from=none
			[ -n "$lowest0" ] && from="$lowest0 KiB"
			ok "$cmd ($mode): $total limits ($nfine by $FINE KiB below the lowest that answered): $n0 exit 0 with the same answer (from $from), $n13 exit 13 with one line, $nload too small to load"
		else
			echo "     $cmd ($mode): $total limits: $n0 exit 0 same answer, $n13 exit 13, $nload too small to load, $nbad wrong"
		fi
	done
done
finish
