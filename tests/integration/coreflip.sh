#!/usr/bin/env bash
# tests/integration/coreflip.sh - byte-flipped cores (issue 15 item 8), the quick version of
# tests/stress/coreflip.py: a gcore core of tests/targets/c/heapstate.c, `heap` and `leaks` on it
# with one byte flipped at a time: first the write bit of the program header of the segment that
# holds its mmapped chunk (on the old main: the chunk vanished from both answers, no flag), then
# COREFLIP_N (default 12) random flips, half aimed at the heaps, arenas, mp_ and notes, seed
# COREFLIP_SEED (default 1). Every exit 0 must give the unflipped answer, a flagged one, or one
# changed by a byte the answer is read from (said); every other exit one line of a known code.
# Then the same for `goroutines` on a core of the Go demo, the first flips aimed at g.startpc.
# About 20 s. Ends with one "coreflip: N passed, M failed" line per core.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/integration
. "$ROOT/tests/integration/lib.sh"
tli_suite coreflip
trap 'tli_cleanup; rm -f "$TLI_OUT"/core*' EXIT INT TERM
bin=$TLI_OUT/heapstate
gcc -O2 -g -pthread -o "$bin" "$ROOT/tests/targets/c/heapstate.c" || { tli_bad "build of heapstate.c"; tli_suite_end; exit; }
mkdir -p "$TLI_OUT/state"
tli_start "$TLI_OUT/target.out" "$bin" "$TLI_OUT/state"
pid=$(tli_wait_ready "$TLI_OUT/target.out" 30) || { tli_bad "heapstate did not start"; tli_suite_end; exit; }
if ! gcore -o "$TLI_OUT/core" "$pid" > "$TLI_OUT/gcore.log" 2>&1 || [ ! -s "$TLI_OUT/core.$pid" ]; then
	tli_bad "gcore: $(tail -1 "$TLI_OUT/gcore.log")"
	tli_suite_end
	exit
fi
tli_cleanup
rc=0
python3 "$ROOT/tests/stress/coreflip.py" --core "$TLI_OUT/core.$pid" --exe "$bin" --tlinspect "$TLI" \
	--n "${COREFLIP_N:-12}" --seed "${COREFLIP_SEED:-1}" --seconds 40 --mmapped-flags --out "$TLI_OUT/flips" \
	heap leaks || rc=1
rm -f "$TLI_OUT/core.$pid"

# Go: tests/targets/go/demo (newest toolchain), `goroutines`; first g.startpc of two goroutines
# pointed outside the text (on the old main: start "?", no current frame, no flag)
gov=$(tli_go_versions | awk '{print $NF}')
gbin=$(tli_build tests/targets/go/demo "$gov") || { tli_bad "build of the Go demo (go$gov)"; tli_suite_end; exit; }
off=$(gdb -batch -ex "python print(gdb.lookup_type('runtime.g')['startpc'].bitpos // 8)" "$gbin" 2>/dev/null | tail -1)
case $off in ''|*[!0-9]*) tli_bad "offset of runtime.g.startpc from gdb: '$off'"; tli_suite_end; exit ;; esac
tli_start "$TLI_OUT/demo.out" "$gbin" -leaks 5 -workers 2 -waiters 2
gpid=$(tli_wait_ready "$TLI_OUT/demo.out" 30) || { tli_bad "the Go demo did not start"; tli_suite_end; exit; }
if ! gcore -o "$TLI_OUT/core" "$gpid" > "$TLI_OUT/gcore.go.log" 2>&1 || [ ! -s "$TLI_OUT/core.$gpid" ]; then
	tli_bad "gcore of the Go demo: $(tail -1 "$TLI_OUT/gcore.go.log")"
	tli_suite_end
	exit
fi
tli_cleanup
python3 "$ROOT/tests/stress/coreflip.py" --core "$TLI_OUT/core.$gpid" --exe "$gbin" --tlinspect "$TLI" \
	--n "${COREFLIP_N:-12}" --seed "${COREFLIP_SEED:-1}" --seconds 20 --g-startpc "$off" \
	--out "$TLI_OUT/flips-go" goroutines || rc=1
exit $rc
