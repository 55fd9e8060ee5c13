# shellcheck shell=bash
# tests/integration/capfit_fork.sh - sourced by capfit.sh: --snapshot=fork reads the frozen copy
# in place, a bounded window of it in memory (issue 15 item 2; the window's size, issue 14). fork_glibc runs on capfit.sh's
# target (its $pid, $heap_kib, $want, $want_leaked and copy mode's answers, RSS and times from
# section 1), fork_go on a Go bigheap of its own. See capfit.sh's header for what is checked.

# rc, peak RSS (KiB) and wall seconds of one tlinspect run: measure OUT ARGS...
measure() {
	local out=$1
	shift
	python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys, time
out = sys.argv[1]
t0 = time.monotonic()
with open(out, "w") as f, open(out + ".err", "w") as e:
    rc = subprocess.run(sys.argv[2:], stdout=f, stderr=e).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "%.2f" % (time.monotonic() - t0))
PY
}

# pids of live (not zombie) copies of target $1: same parent, same name, another pid
copies() {
	local p=$1 pp comm q
	pp=$(awk '{print $4}' /proc/"$p"/stat 2>/dev/null) || return 0
	comm=$(cat /proc/"$p"/comm 2>/dev/null)
	for q in /proc/[0-9]*; do
		q=${q#/proc/}
		[ "$q" = "$p" ] && continue
		[ "$(cat /proc/"$q"/comm 2>/dev/null)" = "$comm" ] || continue
		set -- $(sed -E 's/^[0-9]+ \(.*\) (.) ([0-9]+).*/\1 \2/' /proc/"$q"/stat 2>/dev/null)
		[ "${2:-}" = "$pp" ] && [ "${1:-Z}" != Z ] && [ "${1:-X}" != X ] && echo "$q"
	done
	return 0
}

# an answer without what changes from run to run or from copy to fork mode
fcanon() {
	python3 -c '
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if not k.endswith("seconds")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
d = json.load(open(sys.argv[1]))
for k in ("pause_ms", "bytes_read", "snapshot"):
    d.get("target", {}).pop(k, None)
print(json.dumps(strip(d), sort_keys=True, indent=1))' "$1"
}

# fork_run NAME PID HEAP_KIB COPY_JSON COPY_RSS COPY_S LIMIT_DIV CMD: fork mode against copy mode,
# with the default window (a quarter of the memory left: here the whole heap fits) and with the
# smallest (TLINSPECT_FORK_WINDOW=64: blocks given back and read again), whose memory is bounded
fork_run() {
	local name=$1 p=$2 hk=$3 cj=$4 rss1=$5 w1=$6 div=$7 cmd=$8
	local o=$TLI_OUT/fork.${name// /_} rc2 rss2 w2 rcd rssd wd
	read -r rcd rssd wd < <(measure "$o.default.json" env -u TLINSPECT_FORK_WINDOW "$TLI" --pid "$p" --snapshot=fork --json "$cmd")
	if [ "$rcd" = 0 ] && cmp -s <(fcanon "$cj") <(fcanon "$o.default.json"); then
		ok "$name: fork mode (default window) = copy mode, byte for byte (fork $wd s, $((rssd >> 10)) MiB)"
	else
		bad "$name: fork (default window) exit $rcd $(head -c 300 "$o.default.json.err"); diff <(fcanon $cj) <(fcanon $o.default.json)"
	fi
	read -r rc2 rss2 w2 < <(TLINSPECT_FORK_WINDOW=64 measure "$o.json" "$TLI" --pid "$p" --snapshot=fork --json "$cmd")
	if [ "$rc2" = 0 ] && cmp -s <(fcanon "$cj") <(fcanon "$o.json"); then
		ok "$name: fork mode (64 MiB window) = copy mode, byte for byte (copy $w1 s, peak RSS $((rss1 >> 10)) MiB; fork $w2 s, $((rss2 >> 10)) MiB)"
	else
		bad "$name: fork (64 MiB window) exit $rc2 $(head -c 300 "$o.json.err"); diff <(fcanon $cj) <(fcanon $o.json)"
	fi
	if [ "$rss2" -lt $((rss1 / 2)) ]; then ok "$name: fork peak RSS $((rss2 >> 10)) MiB < half of copy mode's $((rss1 >> 10)) MiB"
	else bad "$name: fork peak RSS $((rss2 >> 10)) MiB, copy mode's $((rss1 >> 10)) MiB"; fi
	if [ "$hk" -ge $((1 << 20)) ]; then # a quarter of the heap (a third, or half, where tables grow with it)
		if [ "$rss2" -lt $((hk / div)) ]; then ok "$name: fork peak RSS $((rss2 >> 10)) MiB < 1/$div of the heap's $((hk >> 10)) MiB"
		else bad "$name: fork peak RSS $((rss2 >> 10)) MiB, wanted < 1/$div of the heap's $((hk >> 10)) MiB"; fi
	fi
	# the default window holds this heap: it is read once, no more than through the 64 MiB
	# window, which gives blocks back and reads them again (both runs' target.bytes_read)
	local bd b64
	bd=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["bytes_read"])' "$o.default.json" 2>/dev/null)
	b64=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["bytes_read"])' "$o.json" 2>/dev/null)
	if [ -n "$bd" ] && [ -n "$b64" ] && [ "$bd" -le "$b64" ]; then
		ok "$name: default window read $((bd >> 20)) MiB of the copy, the 64 MiB window $((b64 >> 20)) MiB"
	else bad "$name: default window read '$bd' bytes, the 64 MiB window '$b64'"; fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$w1" $((rss1 >> 10)) "$w2" $((rss2 >> 10)) "$wd" $((rssd >> 10)) >> "$TLI_OUT/fork.tsv"
	FORK_JSON=$o.json
}

# under_limit LABEL PID KIB CMD REF: under `ulimit -d KIB` copy mode is refused up front (exit 13
# before any ptrace call: the process was never stopped; the message names --snapshot=fork) and
# fork mode gives REF, copy mode's answer without the limit
under_limit() {
	local label=$1 p=$2 kib=$3 cmd=$4 ref=$5 o rc
	o=$TLI_OUT/fork.d.${label// /_}
	(ulimit -d "$kib"; exec strace -f -e trace=ptrace -o "$o.strace" "$TLI" --pid "$p" --json $cmd) > "$o.copy" 2> "$o.copy.err"
	rc=$?
	if [ "$rc" = 13 ] && grep -q -- "--snapshot=fork" "$o.copy.err" && ! grep -q ptrace "$o.strace"; then
		ok "$label, copy mode under ulimit -d $kib: exit 13 before any ptrace call, suggests --snapshot=fork"
	else bad "$label, copy mode under ulimit -d $kib: exit $rc, ptrace calls $(grep -c ptrace "$o.strace"): $(head -c 300 "$o.copy.err")"; fi
	(ulimit -d "$kib"; exec "$TLI" --pid "$p" --snapshot=fork --json $cmd) > "$o.json" 2> "$o.err"
	rc=$?
	if [ "$rc" = 0 ] && cmp -s <(fcanon "$ref") <(fcanon "$o.json"); then
		ok "$label, fork mode under the same ulimit -d (half the heap + 60 MiB): copy mode's answer"
	else
		bad "$label, fork mode under ulimit -d $kib: exit $rc $(head -c 300 "$o.err")"
	fi
}

fork_glibc() {
	fork_run "glibc heap" "$pid" "$heap_kib" "$TLI_OUT/heap.json" "$copy_rss_heap" "$copy_s_heap" 4 heap
	local got
	got=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["glibc"]["mallinfo2"]
print(" ".join("%s %d" % (k, m[k]) for k in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "uordblks", "fordblks", "fsmblks")))' "$FORK_JSON" 2>&1)
	[ "$got" = "$want" ] && ok "glibc heap, fork: = the target's mallinfo2" || bad "glibc heap, fork: $got; mallinfo2 $want"
	fork_run "glibc leaks" "$pid" "$heap_kib" "$TLI_OUT/leaks.json" "$copy_rss_leaks" "$copy_s_leaks" 2 leaks
	got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["heap"]["unreachable"]["count"])' "$FORK_JSON" 2>&1)
	[ "$got" = "$want_leaked" ] && ok "glibc leaks, fork: $got unreachable = leaked" || bad "glibc leaks, fork: $got unreachable, the target leaked $want_leaked"

	# a memory limit that refuses copy mode (up front, naming --snapshot=fork) but holds fork mode
	local cmd kib rc
	kib=$((60 * 1024 + heap_kib / 2))
	for cmd in heap leaks; do
		under_limit "glibc $cmd" "$pid" "$kib" $cmd "$TLI_OUT/$cmd.json"
	done
	# the views take address space: below the heap, fork mode is refused up front as well
	(ulimit -v "$kib"; exec "$TLI" --pid "$pid" --snapshot=fork heap) > "$TLI_OUT/fork.v.out" 2> "$TLI_OUT/fork.v.err"
	rc=$?
	if [ "$rc" = 13 ] && grep -q "address space" "$TLI_OUT/fork.v.err" && grep -q "was not stopped" "$TLI_OUT/fork.v.err"; then
		ok "heap, fork mode under ulimit -v $kib: exit 13 up front ($(grep -o 'needs at least [0-9]* MiB ([^)]*)' "$TLI_OUT/fork.v.err"))"
	else
		bad "heap, fork mode under ulimit -v $kib: exit $rc $(head -c 300 "$TLI_OUT/fork.v.err")"
	fi
	released && ok "fork mode: the target runs, untraced" || bad "fork mode: the target is stopped or traced"

	# no copy outlives tlinspect: after each run, and when it is SIGKILLed while reading
	local left c still tl
	left=$(copies "$pid")
	[ -z "$left" ] && ok "no copy of the target left after the fork-mode runs (ps)" || bad "copies left: $left"
	"$TLI" --pid "$pid" --snapshot=fork --json leaks > /dev/null 2>&1 &
	tl=$!
	c=
	for _ in $(seq 200); do
		c=$(copies "$pid")
		[ -n "$c" ] && break
		sleep 0.02
	done
	sleep 0.2
	still=$(kill -0 "$tl" 2>/dev/null && echo running)
	kill -KILL "$tl" 2>/dev/null
	wait "$tl" 2>/dev/null
	for _ in $(seq 50); do
		[ -z "$(copies "$pid")" ] && break
		sleep 0.05
	done
	left=$(copies "$pid")
	if [ -n "$c" ] && [ "$still" = running ] && [ -z "$left" ]; then ok "tlinspect SIGKILLed while reading copy $c: no copy left (ps)"
	else bad "SIGKILL mid-read: copy '$c', tlinspect '$still', left: '$left'"; fi
	released && ok "after the SIGKILL: the target runs, untraced" || bad "after the SIGKILL: the target is stopped or traced"

	# the copy killed by someone else while it is read in place: exit 3, never an answer with zeros
	"$TLI" --pid "$pid" --snapshot=fork --json leaks > "$TLI_OUT/fork.lost.json" 2> "$TLI_OUT/fork.lost.err" &
	tl=$!
	c=
	for _ in $(seq 200); do
		c=$(copies "$pid")
		[ -n "$c" ] && break
		sleep 0.02
	done
	sleep 0.2
	[ -n "$c" ] && kill -KILL $c
	wait "$tl"
	rc=$?
	if [ -n "$c" ] && [ "$rc" = 3 ] && grep -q "could not be read any more" "$TLI_OUT/fork.lost.err"; then
		ok "copy $c killed while read in place: exit 3 ($(head -c 120 "$TLI_OUT/fork.lost.err")...)"
	elif [ -n "$c" ] && [ "$rc" = 0 ] && ! grep -q "could not be read" "$TLI_OUT/fork.lost.json"; then
		ok "copy $c killed after tlinspect had read it: exit 0, complete (the kill came too late)"
	else
		bad "copy '$c' killed while read in place: exit $rc $(head -c 300 "$TLI_OUT/fork.lost.err")"
	fi
	released && ok "after the copy's kill: the target runs, untraced" || bad "after the copy's kill: the target is stopped or traced"
}

fork_go() {
	local gov gobin gmib gpid gheap gleaked got rc rss s cmd
	gov=$(tli_go_versions | awk '{print $NF}')
	gobin=$(tli_build tests/targets/go/bigheap "$gov") || { bad "build of the Go bigheap (go$gov)"; return; }
	gmib=${CAPFIT_GO_MIB:-256}
	tli_start "$TLI_OUT/go-target.out" "$gobin" -heap "$gmib" -listmb $((gmib / 2)) -g 100
	gpid=$(tli_wait_ready "$TLI_OUT/go-target.out" 300) || { bad "the Go target did not start"; return; }
	gheap=$(awk '/^heap/ {print $2}' "$TLI_OUT/go-target.out")
	gleaked=$(awk '/^leaked/ {print $2}' "$TLI_OUT/go-target.out")
	for cmd in heap leaks; do
		read -r rc rss s < <(measure "$TLI_OUT/go.$cmd.json" "$TLI" --pid "$gpid" --json $cmd)
		[ "$rc" = 0 ] || bad "go$gov $cmd, copy mode: exit $rc $(head -c 300 "$TLI_OUT/go.$cmd.json.err")"
		fork_run "go$gov $cmd" "$gpid" $((gheap / 1024)) "$TLI_OUT/go.$cmd.json" "$rss" "$s" 4 $cmd
		if [ $cmd = heap ]; then
			got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["go"]["memstats"]["heap_alloc"])' "$FORK_JSON" 2>&1)
			# the target read HeapAlloc just before it printed and parked: a few hundred bytes
			if python3 -c 'import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(abs(a - b) > 65536)' "$got" "$gheap" 2>/dev/null; then
				ok "go$gov heap, fork: heap_alloc $got ~ the target's ReadMemStats HeapAlloc $gheap"
			else bad "go$gov heap, fork: heap_alloc '$got', the target's HeapAlloc $gheap"; fi
		else
			got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["go"]["leaked_count"])' "$FORK_JSON" 2>&1)
			[ "$got" = "$gleaked" ] && ok "go$gov leaks, fork: $got leaked goroutines = the target's" || bad "go$gov leaks, fork: $got leaked, the target's $gleaked"
		fi
	done
	# a memory limit that refuses the Go copy up front (naming --snapshot=fork; no ptrace call at
	# all: the process was never stopped) but holds fork mode, which gives copy mode's answer
	local kib
	kib=$((60 * 1024 + gheap / 1024 / 2))
	for cmd in heap leaks; do
		under_limit "go$gov $cmd" "$gpid" "$kib" $cmd "$TLI_OUT/go.$cmd.json"
	done
	local left
	left=$(copies "$gpid")
	[ -z "$left" ] && ok "go$gov: no copy of the target left (ps)" || bad "go$gov: copies left: $left"
	kill -KILL "$gpid" 2>/dev/null
	wait "$gpid" 2>/dev/null
	[ -s "$TLI_OUT/fork.tsv" ] && { printf 'case\tcopy_s\tcopy_rss_mib\tfork64_s\tfork64_rss_mib\tfork_s\tfork_rss_mib\n'; cat "$TLI_OUT/fork.tsv"; } >&2
}
