#!/usr/bin/env bash
# tests/integration/faces/equal.sh - every command's JSON is the same through gdb and LLDB as from
# the engine run directly on the same frozen process (issue 17: "gdb and LLDB faces: every
# command's JSON equals the engine run directly on the same stopped process, C and Go targets,
# live and on cores").
#
# Targets: tests/targets/go/goroutines (newest Go: goroutines of every wait kind, channels, a
# mutex, a pipe) and tests/targets/c/heapstate (3 threads with tcaches, every bin kind). Each is
# frozen with SIGSTOP (all threads stopped, so every reading sees the same memory), then:
#   - live: the engine directly (`--pid`), `gdb -p` (`tl CMD --json`) and `lldb -p` (the plugin);
#   - core: a gcore core read directly (`--core --exe`), by `gdb BIN CORE` and `lldb BIN --core`.
# Compared: the whole result (go/glibc/heap sections, warnings) minus what measures the run
# itself (pause, bytes read, seconds, "now" and the target's kind/pid lines). LLDB 14 gives no
# fs_base: its glibc results may differ only where they say so (a "thread pointer"/"registers"
# warning), never silently. Ends with "equal: N passed, M failed".
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite equal
trap 'kill -CONT $gpid $cpid 2>/dev/null; tli_cleanup' EXIT INT TERM
W=$TLI_OUT/faces/equal
rm -rf "$W"; mkdir -p "$W"
GDBF=$W/tlinspect.gdb
sh "$ROOT/gdb-ext/gen-tlinspect-gdb.sh" "$TLI" "$TLI" > "$GDBF" || tli_bad "generate tlinspect.gdb"
LLDB=$(command -v lldb || command -v lldb-14 || true)
PLUGIN=$W/libtlinspect-lldb.so
if [ -n "$LLDB" ] && make -s -C "$ROOT/gdb-ext/lldb" BUILD="$W/build" TLI_ENGINE="$TLI" > "$W/lldb-build.log" 2>&1; then
	cp "$W/build/gdb-ext/libtlinspect-lldb.so" "$PLUGIN"
else
	tli_bad "lldb plugin: lldb ${LLDB:-missing}, build: $(tail -2 "$W/lldb-build.log" 2>/dev/null)"
fi

GO_CMDS="goroutines chans leaks heap pools timers graph"
C_CMDS="heap arenas bins leaks"

# run_faces TAG CMDS DIRECT_ARGS GDB_ARGS LLDB_ARGS: the three readings of one frozen state
run_faces() {
	local tag=$1 cmds=$2 direct=$3 gdbargs=$4 lldbargs=$5 c
	for c in $cmds; do
		# shellcheck disable=SC2086
		"$TLI" $direct --json $c $(extra "$c") > "$W/$tag.direct.$c.json" 2> "$W/$tag.direct.$c.err"
	done
	local gargs=() largs=()
	for c in $cmds; do gargs+=(-ex "echo @@@ $c\\n" -ex "tl $c $(extra "$c") --json"); done
	# shellcheck disable=SC2086
	timeout -k 5 300 gdb -nx -batch -iex 'set auto-load no' -iex "source $GDBF" $gdbargs "${gargs[@]}" \
		> "$W/$tag.gdb.out" 2>&1
	if [ -f "$PLUGIN" ]; then
		for c in $cmds; do largs+=(-o "tl $c $(extra "$c") --json"); done
		# shellcheck disable=SC2086
		TLINSPECT=$TLI timeout -k 5 300 "$LLDB" -b -x -o "plugin load $PLUGIN" $lldbargs "${largs[@]}" \
			> "$W/$tag.lldb.out" 2>&1
	fi
	python3 - "$W" "$tag" $cmds <<'PY' > "$W/$tag.verdict"
import json, os, re, sys
w, tag, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]
# what measures the run, not the target
DROP = {"pause_ms", "bytes_read", "now", "seconds", "wait_seconds", "tool", "snapshot", "stopped_by_us",
        "elapsed_seconds", "capture_seconds", "analysis_seconds"}
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in DROP and not k.endswith("_seconds") and k != "target"}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
def doc(text):
    s = text.find("{")
    if s < 0: return None
    try: return json.JSONDecoder().raw_decode(text[s:])[0]
    except Exception: return None
def split(path):
    out = {}
    if not os.path.exists(path): return out
    parts = re.split(r"^(?:@@@ |\(lldb\) tl )(\w+)\b.*$", open(path, errors="replace").read(), flags=re.M)
    for i in range(1, len(parts) - 1, 2): out[parts[i]] = doc(parts[i + 1])
    return out
def regs_warn(d):
    return [x for x in (d or {}).get("warnings", []) if "registers of" in str(x) or "thread pointer" in str(x) or "fs_base" in str(x)]
direct = {}
for c in cmds:
    try: direct[c] = json.load(open(f"{w}/{tag}.direct.{c}.json"))
    except Exception as e: print(f"FAIL {tag} direct {c}: no JSON ({e})")
faces = {"gdb": split(f"{w}/{tag}.gdb.out"), "lldb": split(f"{w}/{tag}.lldb.out")}
for face, docs in faces.items():
    for c in cmds:
        if c not in direct: continue
        got = docs.get(c)
        if got is None:
            print(f"FAIL {tag} {face}: tl {c} --json gave no JSON document"); continue
        a, b = json.dumps(clean(got), sort_keys=True), json.dumps(clean(direct[c]), sort_keys=True)
        if a == b:
            print(f"ok   {tag} {face}: tl {c} --json = the engine run directly ({len(b)} bytes compared)")
        elif regs_warn(got) and not regs_warn(direct[c]):
            print(f"ok   {tag} {face}: tl {c} differs from the engine and says why: {regs_warn(got)[0][:90]}")
        else:
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            print(f"FAIL {tag} {face}: tl {c} differs at ...{a[max(0,i-100):i+60]}... vs direct ...{b[max(0,i-100):i+60]}...")
PY
	while IFS= read -r line; do
		case $line in
		ok*) tli_ok "${line#ok   }" ;;
		*) tli_bad "${line#FAIL }" ;;
		esac
	done < "$W/$tag.verdict"
}
extra() { [ "$1" = goroutines ] && echo --stacks; }

# ---- Go ----
ver=$(tli_go_versions | awk '{print $NF}')
gbin=$(tli_build tests/targets/go/goroutines "$ver") || { tli_bad "build go target"; tli_suite_end; exit; }
mkdir -p "$W/go"
tli_start "$W/go.out" "$gbin" -out "$W/go" -n 50
if gpid=$(tli_wait_ready "$W/go.out" 60); then
	sleep 0.3                      # main parks after "ready"
	kill -STOP "$gpid"; sleep 0.2  # every thread stopped: one memory state for all readings
	run_faces go-live "$GO_CMDS" "--pid $gpid" "-p $gpid" "-p $gpid"
	bash "$ROOT/scripts/mkcore.sh" gcore "$gpid" "$W/go.core" > /dev/null 2>&1 || tli_bad "gcore of the Go target"
	kill -CONT "$gpid"; tli_kill "$gpid"
	[ -s "$W/go.core" ] && run_faces go-core "$GO_CMDS" "--core $W/go.core --exe $gbin" "$gbin $W/go.core" \
		"$gbin --core $W/go.core"
	rm -f "$W/go.core"
else
	tli_bad "Go target did not start"
fi

# ---- C ----
gcc -O2 -g -pthread -o "$W/heapstate" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "build heapstate"; tli_suite_end; exit; }
mkdir -p "$W/c"
tli_start "$W/c.out" "$W/heapstate" "$W/c"
if cpid=$(tli_wait_ready "$W/c.out" 20); then
	kill -STOP "$cpid"; sleep 0.2
	run_faces c-live "$C_CMDS" "--pid $cpid" "-p $cpid" "-p $cpid"
	bash "$ROOT/scripts/mkcore.sh" gcore "$cpid" "$W/c.core" > /dev/null 2>&1 || tli_bad "gcore of heapstate"
	kill -CONT "$cpid"; tli_kill "$cpid"
	[ -s "$W/c.core" ] && run_faces c-core "$C_CMDS" "--core $W/c.core --exe $W/heapstate" "$W/heapstate $W/c.core" \
		"$W/heapstate --core $W/c.core"
	rm -f "$W/c.core"
else
	tli_bad "heapstate did not start"
fi
tli_suite_end
