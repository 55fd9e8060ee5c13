#!/usr/bin/env bash
# tests/integration/fork.sh - --snapshot=fork (issue 14 item 2): the target is stopped only
# while one of its threads forks a frozen copy, which is read instead.
#  (a) equality: goroutines, chans, leaks and heap of a Go target (the newest and the oldest
#      toolchain) and heap, bins and leaks of the glibc target (heapstate) give the same JSON in
#      copy and fork mode, but for target.pause_ms, target.snapshot, target.bytes_read (fork mode
#      reads the heaps in place as the walk touches them) and durations (wait_seconds
#      of goroutines, tlinspect's own capture/analysis seconds);
#  (b) soak: 100 fork runs on a busy C target (forksoakc) and 30 on a busy Go target (forksoak)
#      (FORK_SOAK_C / FORK_SOAK_GO change the counts, e.g. 1000 for the issue's long soak)
#      leave no copy, no zombie, no stopped or traced thread, and the targets' own counters show
#      nothing lost: every real-time signal sent arrived in order with its payload, no interrupted
#      system call returned early, no buffer changed, the heartbeat kept ticking;
#  (c) SIGKILL (and SIGINT) of tlinspect in the middle of fork-mode runs leaves the target
#      running, untraced, and no copy behind;
#  (d) refusals: under a seccomp filter (seccompexec) no clone is tried, and a clone that fails
#      (RLIMIT_NPROC reached: EAGAIN) leaves the thread as it was; both say why in a warning and
#      answer in copy mode, the same JSON as a copy-mode run.
# Ends with "fork: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/integration/lib.sh"
tli_suite fork
SENDER=
cleanup() { [ -n "$SENDER" ] && kill "$SENDER" 2>/dev/null; tli_cleanup; }
trap cleanup EXIT INT TERM
finish() { tli_suite_end; exit; }

vers=$(tli_go_versions)
newest=$(echo "$vers" | awk '{print $NF}')
oldest=$(echo "$vers" | awk '{print $1}')

# the JSON of a run without what may differ between two runs: the pause, the mode, durations
norm() {
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["warnings"] = [w for w in d.get("warnings", []) if "--snapshot=fork" not in w]
d["target"].pop("pause_ms", None)
d["target"].pop("snapshot", None)
d["target"].pop("bytes_read", None)  # fork mode reads the heaps in place, block by block as touched
def strip(x):
    if isinstance(x, dict):
        for k in [k for k in x if k == "seconds" or k.endswith("_seconds")]:
            del x[k]
        for v in x.values():
            strip(v)
    elif isinstance(x, list):
        for v in x:
            strip(v)
strip(d)
print(json.dumps(d, indent=1, sort_keys=True))
EOF
}

mode_of() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["target"]; print(t.get("snapshot"), t.get("pause_ms"))' "$1" 2>/dev/null || echo "none NA"; }

# equal PID LABEL CMD...: each command in copy and in fork mode, the JSON compared
equal() {
	local pid=$1 label=$2 c; shift 2
	for c in "$@"; do
		local a=$TLI_OUT/$label.$c.copy.json b=$TLI_OUT/$label.$c.fork.json
		"$TLI" --json --snapshot=copy --pid "$pid" "$c" > "$a" 2> "$a.err"
		local ra=$?
		"$TLI" --json --snapshot=fork --pid "$pid" "$c" > "$b" 2> "$b.err"
		local rb=$?
		read -r ma pa < <(mode_of "$a")
		read -r mb pb < <(mode_of "$b")
		if [ $ra != 0 ] || [ $rb != 0 ] || [ "$ma" != copy ] || [ "$mb" != fork ]; then
			tli_bad "$label $c: exit $ra/$rb, modes $ma/$mb ($(head -c 300 "$b.err"))"
		elif diff <(norm "$a") <(norm "$b") > "$TLI_OUT/$label.$c.diff"; then
			tli_ok "$label $c: same JSON in copy and fork mode (pause ${pa} ms copy, ${pb} ms fork)"
		else
			tli_bad "$label $c: copy and fork differ: $(head -8 "$TLI_OUT/$label.$c.diff" | tr '\n' ' ')"
		fi
	done
}

# clean PID EXE LABEL: no copy of the target (a process running EXE besides PID), no zombie
# child of ours or of the target, no stopped or traced thread of the target
clean() {
	local pid=$1 exe=$2 label=$3 copies zombies states tracer i
	for ((i = 0; i < 20; i++)); do
		copies=$(for p in /proc/[0-9]*; do
			[ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] && [ "${p#/proc/}" != "$pid" ] && echo "${p#/proc/}"
		done | tr '\n' ' ')
		zombies=$(ps -eo pid=,ppid=,stat= | awk -v a=$$ -v b="$pid" '($2 == a || $2 == b) && $3 ~ /^Z/ {print $1}' | tr '\n' ' ')
		[ -z "$copies$zombies" ] && break
		sleep 0.05
	done
	states=$(cat /proc/"$pid"/task/*/stat 2>/dev/null | sed -E 's/.*\) (.).*/\1/' | sort | uniq -c | tr '\n' ' ' | tr -s ' ')
	tracer=$(awk '/^TracerPid/ {print $2}' /proc/"$pid"/status 2>/dev/null)
	if ! kill -0 "$pid" 2>/dev/null; then
		tli_bad "$label: the target is gone"
	elif [ -n "$copies$zombies" ] || [[ $states == *[tT]* ]] || [ "$tracer" != 0 ]; then
		tli_bad "$label: copies [$copies] zombies [$zombies] thread states [$states] TracerPid $tracer"
	else
		tli_ok "$label: target running (threads:$states), untraced, no copy, no zombie"
	fi
}

# report PID FILE: ask the target for its counters (SIGUSR1), print the new report line
report() {
	local pid=$1 f=$2 before i
	before=$(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)
	kill -USR1 "$pid"
	for ((i = 0; i < 300; i++)); do
		[ "$(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)" != "$before" ] && { cat "$f"; return 0; }
		sleep 0.01
	done
	echo "none"
}

# soak PID EXE LABEL RUNS CMD: RUNS fork-mode runs; all must fork and succeed
soak() {
	local pid=$1 exe=$2 label=$3 runs=$4 cmd=$5 i bad=0 notfork=0 m p
	: > "$TLI_OUT/$label.pauses"
	for ((i = 0; i < runs; i++)); do
		if ! "$TLI" --json --snapshot=fork --pid "$pid" "$cmd" > "$TLI_OUT/$label.json" 2> "$TLI_OUT/$label.err"; then
			bad=$((bad + 1))
			cp "$TLI_OUT/$label.err" "$TLI_OUT/$label.err.$i"
			continue
		fi
		read -r m p < <(mode_of "$TLI_OUT/$label.json")
		[ "$m" = fork ] || { notfork=$((notfork + 1)); cp "$TLI_OUT/$label.json" "$TLI_OUT/$label.notfork.$i"; }
		echo "$p" >> "$TLI_OUT/$label.pauses"
	done
	local stats
	stats=$(sort -n "$TLI_OUT/$label.pauses" | awk '{a[NR] = $1} END {if (NR) printf "min %.1f median %.1f max %.1f ms", a[1], a[int((NR + 1) / 2)], a[NR]}')
	if [ $bad = 0 ] && [ $notfork = 0 ]; then
		tli_ok "$label: $runs fork-mode $cmd runs, all forked (pause $stats)"
	else
		tli_bad "$label: $bad of $runs runs failed, $notfork read in copy mode (see $TLI_OUT/$label.*)"
	fi
}

# ---- (a) equality ----
for v in $newest $oldest; do
	bin=$(tli_build tests/targets/go/bigheap "$v") || { tli_bad "go$v: build of bigheap"; continue; }
	tli_start "$TLI_OUT/bigheap$v.out" "$bin" -heap 16 -g 200
	pid=$(tli_wait_ready "$TLI_OUT/bigheap$v.out" 60) || { tli_bad "go$v: bigheap did not start"; continue; }
	sleep 0.3
	equal "$pid" "go$v" goroutines chans leaks heap
	clean "$pid" "$bin" "go$v equality runs"
	tli_kill "$pid"
done

gcc -O2 -g -pthread -o "$TLI_OUT/heapstate" "$ROOT/tests/targets/c/heapstate.c" &&
	gcc -O2 -g -pthread -o "$TLI_OUT/forksoakc" "$ROOT/tests/targets/c/forksoakc.c" ||
	{ tli_bad "build of the C targets"; finish; }
mkdir -p "$TLI_OUT/hs"
tli_start "$TLI_OUT/heapstate.out" "$TLI_OUT/heapstate" "$TLI_OUT/hs"
for ((i = 0; i < 100; i++)); do grep -q ready "$TLI_OUT/heapstate.out" 2>/dev/null && break; sleep 0.1; done
hpid=$TLI_PID
equal "$hpid" glibc heap bins leaks
clean "$hpid" "$TLI_OUT/heapstate" "glibc equality runs"
tli_kill "$hpid"

# ---- (b) soak: a busy C target, real-time signals sent all along ----
R=$TLI_OUT/soakc.report
tli_start "$TLI_OUT/soakc.out" "$TLI_OUT/forksoakc" "$R"
cpid=$(tli_wait_ready "$TLI_OUT/soakc.out" 30) || { tli_bad "forksoakc did not start"; finish; }
# sigqueue(2) of signal 40 with payloads 0, 1, 2, ... every ms until told to stop (SIGTERM)
python3 - "$cpid" "$TLI_OUT/soakc.sent" <<'EOF' &
import ctypes, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid, n, stop = int(sys.argv[1]), 0, []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    if libc.sigqueue(pid, 40, ctypes.c_long(n)) == 0:
        n += 1
    time.sleep(0.001)
open(sys.argv[2], "w").write("%d\n" % n)
EOF
SENDER=$!
sleep 0.2
r0=$(report "$cpid" "$R")
soak "$cpid" "$TLI_OUT/forksoakc" "C soak" "${FORK_SOAK_C:-100}" heap
kill -TERM "$SENDER"; wait "$SENDER"; SENDER=
sleep 0.3
r1=$(report "$cpid" "$R")
sent=$(cat "$TLI_OUT/soakc.sent" 2>/dev/null || echo NA)
read -r _ t0 _ _ _ _ <<< "$r0"
read -r _ t1 got gap bad kinds <<< "$r1"
echo "     C target: before '$r0', after '$r1' (SEQ TICKS SIGNALS MAXGAP_NS BAD sig/mem/pause/read/sleep); $sent signals sent"
if [ "$got" = "$sent" ] && [ "$bad" = 0 ] && [ "${t1:-0}" -gt "${t0:-0}" ]; then
	tli_ok "C soak: all $sent real-time signals arrived in order with their payloads, nothing corrupted or returned early, $((t1 - t0)) ticks counted"
else
	tli_bad "C soak: $got of $sent signals arrived, BAD $bad ($kinds), ticks $t0 -> $t1"
fi
clean "$cpid" "$TLI_OUT/forksoakc" "C soak"
tli_kill "$cpid"

# ---- (b) soak: a busy Go target ----
gbin=$(tli_build tests/targets/go/forksoak "$newest") || { tli_bad "build of forksoak"; finish; }
GR=$TLI_OUT/soakgo.report
tli_start "$TLI_OUT/soakgo.out" "$gbin" -report "$GR"
gpid=$(tli_wait_ready "$TLI_OUT/soakgo.out" 30) || { tli_bad "forksoak did not start"; finish; }
sleep 0.2
r0=$(report "$gpid" "$GR")
soak "$gpid" "$gbin" "Go soak" "${FORK_SOAK_GO:-30}" goroutines
sleep 0.3
r1=$(report "$gpid" "$GR")
read -r _ t0 _ _ <<< "$r0"
read -r _ t1 _ gap <<< "$r1"
echo "     Go target: before '$r0', after '$r1' (SEQ TICKS SIGNALS MAXGAP_NS)"
if kill -0 "$gpid" 2>/dev/null && ! grep -q corrupt "$TLI_OUT/soakgo.out" && [ "${t1:-0}" -gt "${t0:-0}" ]; then
	tli_ok "Go soak: no buffer changed, the heartbeat went on ($((t1 - t0)) ticks, longest gap $((gap / 1000000)) ms)"
else
	tli_bad "Go soak: target $(kill -0 "$gpid" 2>/dev/null && echo alive || echo gone), $(grep -c corrupt "$TLI_OUT/soakgo.out") corruptions, ticks $t0 -> $t1"
fi
clean "$gpid" "$gbin" "Go soak"
tli_kill "$gpid"

# ---- (c) tlinspect killed in the middle of fork-mode runs ----
bin=$(tli_build tests/targets/go/bigheap "$newest") || { tli_bad "build of bigheap"; finish; }
tli_start "$TLI_OUT/bigkill.out" "$bin" -heap 64 -g 1000
kpid=$(tli_wait_ready "$TLI_OUT/bigkill.out" 120) || { tli_bad "bigheap (64 MiB) did not start"; finish; }
for sig in KILL KILL KILL INT TERM; do
	delay=$(python3 -c 'import random; print("%.2f" % random.uniform(0.03, 0.25))')
	"$TLI" --json --snapshot=fork --pid "$kpid" leaks > "$TLI_OUT/kill.json" 2> "$TLI_OUT/kill.err" &
	tp=$!
	sleep "$delay"
	if kill -0 "$tp" 2>/dev/null; then
		kill -"$sig" "$tp"
		wait "$tp" 2>/dev/null
		clean "$kpid" "$bin" "SIG$sig of tlinspect after ${delay} s of a fork-mode leaks"
	else
		wait "$tp" 2>/dev/null
		clean "$kpid" "$bin" "tlinspect ended before SIG$sig (${delay} s)"
	fi
done
tli_kill "$kpid"

# ---- (d) refusals: fall back to copy mode, say why ----
# fallback PID LABEL WHY: heap in fork mode reads in copy mode, warns with WHY, same JSON
fallback() {
	local pid=$1 label=$2 why=$3 a=$TLI_OUT/$2.copy.json b=$TLI_OUT/$2.fork.json
	"$TLI" --json --snapshot=copy --pid "$pid" heap > "$a" 2> "$a.err"
	local ra=$?
	"$TLI" --json --snapshot=fork --pid "$pid" heap > "$b" 2> "$b.err"
	local rb=$? mb pb w
	read -r mb pb < <(mode_of "$b")
	w=$(python3 -c 'import json,sys; print(" | ".join(x for x in json.load(open(sys.argv[1])).get("warnings", []) if "--snapshot=fork" in x))' "$b" 2>/dev/null)
	if [ $ra = 0 ] && [ $rb = 0 ] && [ "$mb" = copy ] && [[ $w == *"$why"* ]] && diff <(norm "$a") <(norm "$b") > "$TLI_OUT/$label.diff"; then
		tli_ok "$label: read in copy mode, same JSON, warning: $w"
	else
		tli_bad "$label: exit $ra/$rb, mode $mb, warning '$w' (want '$why'), diff: $(head -4 "$TLI_OUT/$label.diff" 2>/dev/null | tr '\n' ' ')"
	fi
}
gcc -O2 -o "$TLI_OUT/seccompexec" "$ROOT/tests/targets/c/seccompexec.c" || tli_bad "build of seccompexec"
mkdir -p "$TLI_OUT/hs2"
tli_start "$TLI_OUT/hs2.out" "$TLI_OUT/seccompexec" "$TLI_OUT/heapstate" "$TLI_OUT/hs2"
for ((i = 0; i < 100; i++)); do grep -q ready "$TLI_OUT/hs2.out" 2>/dev/null && break; sleep 0.1; done
spid=$TLI_PID
fallback "$spid" "seccomp" "runs under seccomp"
clean "$spid" "$TLI_OUT/heapstate" "seccomp refusal"
tli_kill "$spid"
# the same target as nobody with RLIMIT_NPROC at what nobody runs now plus its 4 threads: the
# clone fails with EAGAIN inside the target
if id nobody > /dev/null 2>&1 && command -v setpriv > /dev/null && command -v prlimit > /dev/null; then
	mkdir -p -m 777 "$TLI_OUT/hs3"
	chmod 755 "$TLI_OUT" "$TLI_OUT/heapstate"
	n=$(( $(ps -L -u nobody --no-headers 2>/dev/null | wc -l) + 4 ))
	tli_start "$TLI_OUT/hs3.out" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		prlimit --nproc="$n" "$TLI_OUT/heapstate" "$TLI_OUT/hs3"
	for ((i = 0; i < 100; i++)); do grep -q ready "$TLI_OUT/hs3.out" 2>/dev/null && break; sleep 0.1; done
	npid=$TLI_PID
	fallback "$npid" "nproc" "clone failed: Resource temporarily unavailable"
	clean "$npid" "$TLI_OUT/heapstate" "RLIMIT_NPROC refusal"
	tli_kill "$npid"
else
	echo "SKIP RLIMIT_NPROC refusal: no nobody user, setpriv or prlimit"
fi
finish
