#!/usr/bin/env bash
# tests/integration/crafted.sh - a core is untrusted input (issue 20, items 4 and 7).
# Crafted cores written by tests/integration/mkcore.py (python only: no compiler, no gdb), with
# the system's /bin/true as the executable and its libc as libc, laid out as the kernel dumps them:
#  - a file NT_FILE names backs memory only if it is a regular ELF file whose build-id matches the
#    one the core records for it (its ELF header page in the core): a private file, a FIFO, a
#    device, an ELF file of another build or one the core holds no header of are not read (their
#    bytes are not in core), each with one warning in result["warnings"]; a file the core has no
#    build-id for is not even opened, a FIFO is never opened (inotify, openwatch.py);
#  - --sysroot confines the names: ".." and symlinks (absolute ones too) resolve inside it;
#  - -v says which file backs which range;
#  - a PT_LOAD of p_memsz 1 TiB with 4 KiB in the core is 4 KiB of memory: `leaks` and `heap`
#    end in seconds (the previous main scanned 1 TiB of zeros for ~2 min), with a warning
#    naming the segment.
# The glibc commands (arenas, leaks, heap) carry the warnings: the system's libc must be one the
# runtime maps know (as for the glibc suite). Ends with "crafted: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/crafted
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
trap tli_cleanup EXIT INT TERM
TLI=${TLINSPECT:-$ROOT/build/tlinspect}
MK=(python3 "$ROOT/tests/integration/mkcore.py")
W=$TLI_OUT
rm -rf "$W"; mkdir -p "$W"
export TLINSPECT_LAYOUT_CACHE=0
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
finish() { echo "crafted: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }

true_bin=$(type -P true)
libc=$(ldd "$true_bin" 2>/dev/null | awk '/libc\.so/ {print $3; exit}')
if [ ! -f "$true_bin" ] || [ ! -f "$libc" ]; then
	bad "need an ELF /bin/true and its libc (found '$true_bin', '$libc')"; finish
fi
mkdir -p "$W/bin" "$W/lib" "$W/outside" "$W/sysroot/lib" "$W/sysroot/real"
cp "$true_bin" "$W/bin/true"
for f in "$W/lib/libm.so" "$W/lib/libn.so" "$W/outside/true" "$W/sysroot/real/libx.so"; do
	cp "$true_bin" "$f"
done
"${MK[@]}" flip-buildid "$true_bin" "$W/flipped" || { bad "$true_bin has no GNU build-id note"; finish; }
printf 'TOP-SECRET-CONTENT-0123456789\n' > "$W/secret"; chmod 600 "$W/secret"
cp "$W/secret" "$W/secret2"
mkfifo "$W/fifo"
ln -s /real/libx.so "$W/sysroot/lib/libx.so"        # absolute: inside the sysroot
ln -s ../../outside/true "$W/sysroot/lib/esc"       # climbs out of the sysroot, unless confined
HDR="@$true_bin,0,4096"                             # the first page of true: its build-id
# a process: the executable, libc, a stack and TLS
BASE=(--elf "$W/bin/true:0x555555554000" --elf "$libc:0x7f0000000000"
      --load 0x7ffff0000000:0x21000:rw:fill:0:0x21000 --rsp 0x7ffff0010000 --fs 0x7ffff0020000)

x() {  # CORE ADDR [ARGS...]: the shell's hex dump of 16 bytes (stdout only)
	local core=$1 addr=$2; shift 2
	printf 'x %s 16\n' "$addr" | timeout 20 "$TLI" --core "$core" "$@" shell 2>/dev/null
}
hexline() {  # FILE OFFSET -> the 16 bytes as the shell prints them ("54 4f ...  ...")
	python3 -c 'import sys; b=open(sys.argv[1],"rb").read()[int(sys.argv[2],0):][:16]
print(" ".join("%02x" % c for c in b[:8]) + "  " + " ".join("%02x" % c for c in b[8:]))' "$1" "$2"
}
warnings() {  # JSON file -> the warnings, one per line
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\n".join(d.get("warnings") or []))' "$1" 2>/dev/null
}
watch_start() {  # PATH OUT: openwatch.py running (pid in WATCH_PID) once it is ready
	rm -f "$2"
	tli_start "$2.log" python3 "$ROOT/tests/integration/openwatch.py" "$1" "$2"
	WATCH_PID=$TLI_PID
	for _ in $(seq 50); do grep -q ready "$2" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# --- item 4: files the core names -------------------------------------------------------------
c1=$W/files.core
"${MK[@]}" "$c1" "${BASE[@]}" \
	--file "0x10000:0x11000:0:$W/secret" \
	--load "0x20000:0x1000:r:$HDR" --file "0x20000:0x22000:0:$W/secret2" \
	--file "0x30000:0x32000:0:$W/fifo" --load "0x30000:0x1000:r:$HDR" \
	--file 0x38000:0x39000:0:/dev/zero \
	--load "0x70000:0x1000:r:@$W/flipped,0,4096" --file "0x70000:0x72000:0:$W/lib/libm.so" \
	--file "0x80000:0x82000:0:$W/lib/libn.so" \
	--file "0x90000:0x92000:0:$W/lib/libm.so" || { bad "mkcore failed"; finish; }

watch_start "$W/secret" "$W/secret.watch" || bad "openwatch did not start"
w1=$WATCH_PID
watch_start "$W/fifo" "$W/fifo.watch" || bad "openwatch did not start"
w2=$WATCH_PID
"$TLI" --core "$c1" --json arenas > "$W/files.json" 2> "$W/files.err"
rc=$?
out=$(x "$c1" 0x10000)
fout=$(x "$c1" 0x31000)
sleep 0.3; tli_kill "$w1"; tli_kill "$w2"
w=$(warnings "$W/files.json")
[ $rc = 0 ] && ok "a core naming hostile files still opens (arenas: exit 0)" ||
	bad "arenas on the crafted core: exit $rc: $(head -c 300 "$W/files.err")"
if grep -q 'TOP-SECRET' <<<"$out" || grep -q '^0x0000000000010000:' <<<"$out"; then
	bad "x 0x10000 shows the private file the core names: $out"
else
	ok "a private non-ELF file the core names does not back memory (x: not in core)"
fi
# a file refused only for want of a build-id (what locale files and fonts are too) is not news
# unless a read needs it; -v always names it
n=$(grep -c "^$W/secret named in the core" <<<"$w")
[ "$n" = 0 ] && ok "no warning about it while nothing reads it" || bad "warnings about $W/secret although nothing read it: $w"
"$TLI" --core "$c1" -v arenas > /dev/null 2> "$W/files.v"
grep -q "core: $W/secret has no build-id in the core to compare with .*: not read" "$W/files.v" &&
	ok "-v names it and why" || bad "-v says nothing about $W/secret: $(head -c 300 "$W/files.v")"
if grep -q opened "$W/secret.watch" 2>/dev/null; then
	bad "$W/secret was opened although the core holds no build-id for it"
else
	ok "a file the core has no build-id for is not even opened"
fi
if grep -q 'TOP-SECRET' <<<"$(x "$c1" 0x21000; x "$c1" 0x20000)"; then
	bad "a private file behind a crafted ELF header page backs memory"
else
	grep -q "^$W/secret2 named in the core (at 0x20000) is not an ELF file" <<<"$w" &&
		ok "a private file behind a crafted ELF header page: not an ELF file, not read" ||
		bad "no 'is not an ELF file' warning for $W/secret2: $w"
fi
if grep -q opened "$W/fifo.watch" 2>/dev/null; then
	bad "the FIFO the core names was opened"
elif grep -q '^0x0000000000031000:' <<<"$fout"; then
	bad "the FIFO backs memory: $fout"
else
	ok "a FIFO the core names is never opened"
fi
grep -q "^$W/fifo named in the core (at 0x30000) is not a regular file" <<<"$w" &&
	grep -q "^/dev/zero named in the core (at 0x38000) is not a regular file" <<<"$w" &&
	ok "FIFO and device: one warning each" || bad "no 'not a regular file' warnings: $w"
mout=$(x "$c1" 0x71000)
if grep -q '^0x0000000000071000:' <<<"$mout"; then
	bad "an ELF file whose build-id differs from the core's backs memory: $mout"
elif grep -q "^$W/lib/libm.so named in the core (at 0x70000) has build-id [0-9a-f]*, the core records [0-9a-f]*;" <<<"$w"; then
	ok "an ELF file of another build-id: not read, the warning names both build-ids"
else
	bad "no build-id mismatch warning: $w"
fi
nout=$(x "$c1" 0x80000)
if grep -q '^0x0000000000080000:' <<<"$nout"; then
	bad "an ELF file the core holds no header page of backs memory: $nout"
else
	grep -q "core: $W/lib/libn.so has no build-id in the core to compare with .*: not read" "$W/files.v" &&
		ok "an ELF file the core has no build-id for: not read, -v says why" ||
		bad "-v says nothing about $W/lib/libn.so"
fi
# the files that match back memory: libc text through NT_FILE (the core holds its first page only)
lout=$(x "$c1" 0x7f0000001000)
want=$(hexline "$libc" 0x1000)
grep -qF "0x00007f0000001000: $want" <<<"$lout" && ok "libc (its build-id matches) backs its text" ||
	bad "libc text not read from libc: '$lout' (want $want)"

# --- --sysroot: names resolve inside it --------------------------------------------------------
c2=$W/sysroot.core
"${MK[@]}" "$c2" --elf "$W/bin/true:0x555555554000" \
	--load "0x40000:0x1000:r:$HDR" --file 0x40000:0x42000:0:/../outside/true \
	--load "0x50000:0x1000:r:$HDR" --file 0x50000:0x52000:0:/lib/esc \
	--load "0x60000:0x1000:r:$HDR" --file 0x60000:0x62000:0:/lib/libx.so || { bad "mkcore failed"; finish; }
S=(--sysroot "$W/sysroot" --exe "$W/bin/true")
o1=$(x "$c2" 0x41000 "${S[@]}") o2=$(x "$c2" 0x51000 "${S[@]}")
if grep -q '^0x0000000000041000:' <<<"$o1"; then
	bad "/../outside/true under --sysroot read $W/outside/true: $o1"
else
	ok "'..' does not climb out of --sysroot"
fi
if grep -q '^0x0000000000051000:' <<<"$o2"; then
	bad "a symlink in the sysroot climbing out of it was followed out: $o2"
else
	ok "a relative symlink cannot climb out of --sysroot"
fi
want=$(hexline "$W/sysroot/real/libx.so" 0x1000)
o3=$(x "$c2" 0x61000 "${S[@]}")
grep -qF "0x0000000000061000: $want" <<<"$o3" &&
	ok "an absolute symlink inside --sysroot resolves inside it" ||
	bad "/lib/libx.so -> /real/libx.so not read from the sysroot: '$o3' (want $want)"
"$TLI" --core "$c2" "${S[@]}" -v --json arenas > /dev/null 2> "$W/v.err"
grep -q "^tlinspect: core: 0x61000-0x62000 from $W/sysroot/real/libx.so at offset 0x1000$" "$W/v.err" &&
	grep -q "^tlinspect: core: 0x41000-0x42000 not in core (not readable here: $W/sysroot/outside/true)$" "$W/v.err" &&
	ok "-v says which file backs which range, and which range is not in core" ||
	bad "-v: $(grep 'core:' "$W/v.err" | head -8)"

# --- item 7: a PT_LOAD of 1 TiB with 4 KiB in the core -------------------------------------
big=$W/big.core
"${MK[@]}" "$big" "${BASE[@]}" --load 0x100000000000:0x10000000000:rw:fill:0:0x1000 ||
	{ bad "mkcore failed"; finish; }
for cmd in leaks heap; do
	t0=$(date +%s%N)
	timeout 30 "$TLI" --core "$big" --json $cmd > "$W/big-$cmd.json" 2> "$W/big-$cmd.err"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	w=$(warnings "$W/big-$cmd.json")
	if [ $rc != 0 ]; then
		bad "$cmd on a core with a 1 TiB PT_LOAD: exit $rc after $ms ms $(head -c 200 "$W/big-$cmd.err")"
	elif [ "$ms" -gt 5000 ]; then
		bad "$cmd on a core with a 1 TiB PT_LOAD took $ms ms"
	elif ! grep -q '^PT_LOAD at vaddr 0x100000000000 (p_memsz 0x10000000000, p_filesz 0x1000): 0xfffffff000 bytes have no data in the core and no file behind them' <<<"$w"; then
		bad "$cmd: no warning naming the 1 TiB segment: $w"
	else
		ok "$cmd on a core with a 1 TiB PT_LOAD (4 KiB in the core): $ms ms, the segment named in a warning"
	fi
done
o=$(x "$big" 0x100000001000)
grep -q '^0x0000100000001000:' <<<"$o" && bad "the 1 TiB tail reads as zeros: $o" ||
	ok "bytes past p_filesz with no file behind them are not in core"
finish
