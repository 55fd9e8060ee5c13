#!/bin/bash
# tests/integration/glibc/noncontig.sh — the main arena on non-contiguous memory.
#
# tests/targets/c/noncontig.c blocks the program break with a PROT_NONE page, so
# glibc's main arena goes on in mmapped segments fenced off with fenceposts
# (sysmalloc's MORECORE fallback), and records glibc's own mallinfo2() and
# malloc_info() and the blocks it leaked. tlinspect's heap/bins/leaks must match
# them exactly (check.py: every mallinfo2 field, every malloc_info line, the
# walked-bytes identity, tcache lists, the exact leak set), live and from a gcore
# core; and the main arena must be reported as several segments, each older one
# ending in fenceposts, covering all of system_mem.
# Prints ok/FAIL lines and "noncontig: N passed, M failed".
set -u
cd "$(dirname "$0")/../../.."
ROOT=$PWD
. tests/integration/lib.sh
OUT=$ROOT/tests/out/glibc-noncontig
rm -rf "$OUT"
mkdir -p "$OUT"
unset DEBUGINFOD_URLS
trap tli_cleanup EXIT

make -s >/dev/null || { echo "FAIL make"; echo "noncontig: 0 passed, 1 failed"; exit 1; }
TLI=$ROOT/build/tlinspect
gcc -O2 -g -pthread -o "$OUT/noncontig" tests/targets/c/noncontig.c ||
	{ echo "FAIL build noncontig.c"; echo "noncontig: 0 passed, 1 failed"; exit 1; }

pass=0
fail=0
res() { # rc what
	if [ "$1" = 0 ]; then echo "ok   $2"; pass=$((pass + 1)); else echo "FAIL $2"; fail=$((fail + 1)); fi
}

# segments.py PREFIX: the main arena's shape in the heap JSON
cat >"$OUT/segments.py" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1] + ".heap.json"))["glibc"]
main = next(a for a in g["arenas"] if a["main"])
hs = main["heaps"]
walked = sum(h["walked_bytes"] for h in hs)
fence = main["chunks"]["fencepost"]["count"]
ok = (main["flags"] & 2 and len(hs) >= 2 and walked == main["system_mem"] and main["overhead"] == 0
      and fence >= 2 * (len(hs) - 1) and all(h["readable"] for h in hs))
print(f"main arena: flags {main['flags']} (NONCONTIGUOUS=2), {len(hs)} segments, walked {walked} of "
      f"system_mem {main['system_mem']}, {fence} fenceposts")
sys.exit(0 if ok else 1)
EOF

tli_start "$OUT/stdout" "$OUT/noncontig" "$OUT"
pid=$(tli_wait_ready "$OUT/stdout" 30)
if [ -z "$pid" ]; then
	grep -q "^noncontig:" "$OUT/stdout" && cat "$OUT/stdout"
	res 1 "noncontig target did not get ready"
	echo "noncontig: $pass passed, $fail failed"
	exit 1
fi

check() { # tag prefix: check.py against glibc's numbers, then the segment shape
	local tag=$1 pre=$2
	python3 tests/integration/glibc/check.py "$OUT" "$pre" >"$pre.check" 2>&1
	res $? "$tag: heap/bins/leaks equal glibc's mallinfo2, malloc_info and leak set ($(grep -c '^ok' "$pre.check") checks$(grep -m1 '^FAIL' "$pre.check" | sed 's/^/; first /'))"
	local shape
	shape=$(python3 "$OUT/segments.py" "$pre" 2>&1)
	res $? "$tag: $shape"
}

ok=0
for c in heap bins leaks; do
	"$TLI" --json --pid "$pid" $c >"$OUT/live.$c.json" 2>"$OUT/live.$c.err" || { ok=1; echo "  live $c: $(cat "$OUT/live.$c.err")"; }
done
res $ok "live: heap, bins, leaks ran"
[ $ok = 0 ] && check live "$OUT/live"

if gcore -o "$OUT/core" "$pid" >"$OUT/gcore.log" 2>&1; then
	core=$(ls "$OUT"/core.* | head -1)
	ok=0
	for c in heap bins leaks; do
		"$TLI" --json --core "$core" --exe "$OUT/noncontig" $c >"$OUT/core.$c.json" 2>"$OUT/core.$c.err" ||
			{ ok=1; echo "  core $c: $(cat "$OUT/core.$c.err")"; }
	done
	res $ok "core: heap, bins, leaks ran"
	[ $ok = 0 ] && check core "$OUT/core"
	rm -f "$core"
else
	res 1 "gcore: $(tail -1 "$OUT/gcore.log")"
fi
tli_kill "$pid"
echo "noncontig: $pass passed, $fail failed"
[ $fail = 0 ]
