#!/usr/bin/env bash
# tests/integration/arm64vm.sh - tlinspect on a real arm64 kernel (issue 22, item 5): `make check-arm64`.
#
# qemu-user cannot ptrace, so this boots Debian's arm64 kernel in qemu-system-aarch64 (TCG, -M virt
# -cpu max) with an initramfs made here: busybox-static, the aarch64 tlinspect (make cross-arm64) with
# the libraries its loader lists, the runtime maps, and tests/targets/go/goroutines cross-built with
# GOARCH=arm64 for each of GO_VERSIONS (default 1.19 1.27; ARM64VM_VARIANTS="default stripped").
# Inside, for each target (run with -crash: it writes the runtime's own dump, runtime.Stack(all),
# then parks):
#   - `tlinspect --pid P --json goroutines --stacks` (live attach: PTRACE_SEIZE/INTERRUPT, registers
#     through PTRACE_GETREGSET NT_PRSTATUS and NT_ARM_TLS), then the target must be released: every
#     thread with TracerPid 0 and not in a tracing stop, the process alive;
#   - the same with --snapshot=fork (a frozen copy made by the target's own clone, arm64's svc);
#   - SIGQUIT: Go dumps and aborts, and the kernel writes a real arm64 core (core_pattern, ulimit -c),
#     which carries NT_FILE and NT_ARM_TLS; the aarch64 build reads it there.
# glibc (Debian's arm64 libc: no debug info, so the glibc 2.36 runtime map and the arm64 patterns of
# the stripped-libc finder): tests/targets/c/heapstate cross-built with aarch64-linux-gnu-gcc records
# mallinfo2()/malloc_info() and what it leaked; `heap`, `bins`, `leaks` live and from the kernel's
# core (SIGABRT: a script's background jobs ignore SIGQUIT), by both builds, tcache on and off
# (glibc.malloc.tcache_count=0), are judged by the glibc suite's check.py
# (tests/integration/glibc/check.py); ARM64VM_GLIBC=0 leaves that out. Signals kept: a busy C
# target (tests/targets/c/forksoakc.c) takes real-time signals queued every ms by
# tests/targets/c/sigsend.c while tlinspect attaches 10 times in copy and 10 in fork mode: every
# signal arrives in order with its payload, nothing interrupted returns early, no thread is left
# traced or stopped.
# The results and the cores come back on a raw virtio disk (virtio_mmio.ko and virtio_blk.ko insmod'ed
# from the initramfs; a tar stream on /dev/vda whose size the console prints). Here every JSON is
# compared with the target's dump by compare.py (the `go` suite's checker), and the x86-64 build
# ($TLINSPECT) must read the kernel's cores right too.
# Needs scripts/setup.sh --arm64 (kernel, busybox, qemu-system-arm, cross tools; the suite runs
# make cross-arm64 itself). Without them the suite is skipped (a SKIP line), except in CI (CI=true).
# About 40 s on 2 cores (the machine boots in ~4 s of guest time).
# Ends with "arm64vm: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite arm64vm
trap tli_cleanup EXIT INT TERM
W=$TLI_OUT
GO_VERSIONS=${GO_VERSIONS:-1.19 1.27}
VARIANTS=${ARM64VM_VARIANTS:-default}
ADIR=${TLI_ARM64_DIR:-/var/lib/tlinspect/arm64}
TLI_ARM64=$(tli_arm64_build)
QSYS=$(type -P qemu-system-aarch64 || true)
QUSER=$(type -P qemu-aarch64-static || type -P qemu-aarch64 || true)
VM_TIMEOUT=${ARM64VM_TIMEOUT:-600}
GLIBC=${ARM64VM_GLIBC:-1}
export TLINSPECT_LAYOUT_CACHE=0

missing=
[ -n "$QSYS" ] || missing="$missing qemu-system-aarch64"
[ -n "$QUSER" ] || missing="$missing qemu-aarch64-static"
for f in vmlinuz busybox virtio_mmio.ko virtio_blk.ko; do [ -s "$ADIR/$f" ] || missing="$missing $ADIR/$f"; done
[ -n "$TLI_ARM64" ] || missing="$missing aarch64-build(make-cross-arm64)"
type -P cpio >/dev/null || missing="$missing cpio"
if [ -n "$missing" ]; then
	# a machine set up without --arm64 skips this suite; CI (CI=true) runs setup.sh --arm64: a failure there
	if [ "${CI:-}" = true ]; then
		tli_bad "missing:$missing (scripts/setup.sh --arm64 installs them)"
	else
		echo "SKIP the arm64 machine: missing:$missing (scripts/setup.sh --arm64 installs them)"
	fi
	tli_suite_end
	exit
fi

R=$W/root
mkdir -p "$R"/{bin,lib/modules,tli/bin,t,proc,sys,dev,tmp}

# ---- the arm64 targets --------------------------------------------------------------------------
TAGS=()
for v in $GO_VERSIONS; do
	[ -x "$(tli_go_bin "$v")" ] || { tli_bad "go$v: no toolchain $(tli_go_bin "$v")"; continue; }
	for variant in $VARIANTS; do
		tag=go$v${variant#default}
		[ "$variant" = default ] || tag=go$v-$variant
		flags=()
		[ "$variant" = stripped ] && flags=(-ldflags=-s\ -w)
		mkdir -p "$R/t/$tag"
		if (cd "$ROOT/tests/targets/go/goroutines" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
			GOARCH=arm64 CGO_ENABLED=0 GOCACHE=$(tli_gocache) "$(tli_go_bin "$v")" build "${flags[@]}" \
			-o "$R/t/$tag/goroutines" .) >"$W/build-$tag.log" 2>&1; then
			TAGS+=("$tag")
		else
			tli_bad "$tag: build ($(tail -3 "$W/build-$tag.log"))"
		fi
	done
done

if [ "$GLIBC" = 1 ]; then
	mkdir -p "$R/t/c"
	if ! aarch64-linux-gnu-gcc -O2 -g -pthread -o "$R/t/c/heapstate" "$ROOT/tests/targets/c/heapstate.c" \
		>"$W/build-heapstate.log" 2>&1; then
		tli_bad "heapstate: aarch64 build ($(tail -3 "$W/build-heapstate.log"))"
		GLIBC=0
	fi
	# the signal soak: a busy C target that checks every queued signal, and its sender
	for p in forksoakc sigsend; do
		aarch64-linux-gnu-gcc -O2 -pthread -o "$R/t/c/$p" "$ROOT/tests/targets/c/$p.c" >"$W/build-$p.log" 2>&1 ||
			{ tli_bad "$p: aarch64 build ($(tail -3 "$W/build-$p.log"))"; GLIBC=0; }
	done
fi

# ---- the initramfs ------------------------------------------------------------------------------
install -m 0755 "$ADIR/busybox" "$R/bin/busybox"
cp "$ADIR/virtio_mmio.ko" "$ADIR/virtio_blk.ko" "$R/lib/modules/"
install -m 0755 "$TLI_ARM64" "$R/tli/bin/tlinspect"
cp -r "$ROOT/runtime-maps" "$R/tli/runtime-maps"
# the libraries the arm64 loader resolves for tlinspect (multiarch libc6:arm64 and friends)
libs=$("$QUSER" /lib/ld-linux-aarch64.so.1 --list "$TLI_ARM64" | awk '$2 == "=>" {print $3} $1 ~ /^\// {print $1}')
for l in $libs /lib/ld-linux-aarch64.so.1; do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=1536m tmp /tmp
insmod /lib/modules/virtio_mmio.ko
insmod /lib/modules/virtio_blk.ko
ip link set lo up
mkdir -p /tmp/out /tmp/cores
echo '/tmp/cores/core.%p' > /proc/sys/kernel/core_pattern
ulimit -c unlimited
echo "TLI-BOOTED $(cut -d' ' -f1 /proc/uptime)"
. /tests.sh >/tmp/out/log 2>&1
echo "TLI-DONE $(cut -d' ' -f1 /proc/uptime)"
# the cores are mostly zeros (pages never touched): gzip -1 makes the disk write far shorter
for c in /tmp/out/*/core; do [ -f "$c" ] && gzip -1 "$c"; done
echo "TLI-ZIPPED $(cut -d' ' -f1 /proc/uptime)"
tar -cf /tmp/out.tar -C /tmp out
n=$(wc -c </tmp/out.tar)
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
dd if=/tmp/out.tar of=/dev/vda bs=1M 2>/dev/null
sync
echo "TLI-TAR-SIZE $n"
poweroff -f
EOF
chmod +x "$R/init"

# tests.sh: sourced by /init, one block per target
{
	cat <<'EOF'
uptime_s() { cut -d' ' -f1 /proc/uptime; }
after() { # PID FILE: each thread's State and TracerPid, a line each, then "alive" if it lives
	: >$2
	for s in /proc/$1/task/*/status; do
		grep -E '^(State|TracerPid):' $s | tr '\n' ' ' >>$2
		echo >>$2
	done
	kill -0 $1 && echo alive >>$2
}
one() { # TAG
	tag=$1 d=/tmp/out/$1 bin=/t/$1/goroutines
	mkdir -p $d
	$bin -out $d -n 200 -crash >$d/target.out 2>$d/crash.txt &
	pid=$!
	i=0
	while ! grep -q '^ready' $d/target.out 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.3
	echo "$tag ready $(uptime_s) pid $pid"
	/tli/bin/tlinspect --pid $pid --json goroutines --stacks >$d/live.json 2>$d/live.err
	echo $? >$d/live.rc
	echo "$tag live $(uptime_s)"
	# released: every thread untraced and out of any tracing stop, the process alive
	after $pid $d/after.txt
	/tli/bin/tlinspect --pid $pid --snapshot=fork --json goroutines --stacks >$d/fork.json 2>$d/fork.err
	echo $? >$d/fork.rc
	echo "$tag fork $(uptime_s)"
	kill -0 $pid && echo alive >$d/after-fork.txt
	kill -QUIT $pid
	wait $pid
	echo "exit $?" >$d/exit.txt
	mv /tmp/cores/core.$pid $d/core 2>/dev/null
	/tli/bin/tlinspect --core $d/core --json goroutines --stacks >$d/core.json 2>$d/core.err
	echo $? >$d/core.rc
	echo "$tag core $(uptime_s)"
}
soak() { # attach, copy and fork mode, while real-time signals are queued to the target every ms
	d=/tmp/out/soak
	mkdir -p $d
	/t/c/forksoakc $d/report >$d/stdout 2>&1 &
	pid=$!
	i=0
	while ! grep -q '^ready' $d/stdout 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	/t/c/sigsend $pid 40 $d/sent &
	spid=$!
	sleep 0.5
	kill -USR1 $pid
	sleep 1
	cp $d/report $d/report0 2>/dev/null
	: >$d/rcs
	i=0
	while [ $i -lt 10 ]; do
		/tli/bin/tlinspect --pid $pid --json heap >/dev/null 2>>$d/tli.err
		echo "copy $?" >>$d/rcs
		/tli/bin/tlinspect --pid $pid --snapshot=fork --json heap >/dev/null 2>>$d/tli.err
		echo "fork $?" >>$d/rcs
		i=$((i + 1))
	done
	kill -TERM $spid
	wait $spid
	sleep 1
	kill -USR1 $pid
	sleep 1
	cp $d/report $d/report1 2>/dev/null
	after $pid $d/after.txt
	kill -KILL $pid
	echo "soak done $(uptime_s)"
}
glibc() { # NAME [TUNABLES]
	d=/tmp/out/$1
	mkdir -p $d
	env ${2:+GLIBC_TUNABLES=$2} /t/c/heapstate $d >$d/stdout 2>$d/stderr &
	pid=$!
	i=0
	while ! grep -q '^ready' $d/stdout 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	echo "$1 ready $(uptime_s) pid $pid"
	for c in heap bins leaks; do
		timeout 120 /tli/bin/tlinspect --json --pid $pid $c >$d/live.$c.json 2>$d/live.$c.err
		echo $? >$d/live.$c.rc
	done
	echo "$1 live $(uptime_s)"
	kill -ABRT $pid
	wait $pid
	mv /tmp/cores/core.$pid $d/core 2>/dev/null
	for c in heap bins leaks; do
		timeout 120 /tli/bin/tlinspect --json --core $d/core $c >$d/core.$c.json 2>$d/core.$c.err
		echo $? >$d/core.$c.rc
	done
	echo "$1 core $(uptime_s)"
}
EOF
	for tag in "${TAGS[@]}"; do echo "one $tag"; done
	[ "$GLIBC" = 1 ] && echo glibc glibc && echo glibc glibc-tc0 glibc.malloc.tcache_count=0 && echo soak
} >"$R/tests.sh"

(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.gz"
IMG=$W/disk.img
rm -f "$IMG"
truncate -s 1G "$IMG"

# ---- boot ---------------------------------------------------------------------------------------
t0=$SECONDS
timeout "$VM_TIMEOUT" "$QSYS" -M virt -cpu max,pauth-impdef=on -smp 2 -m 2048 -nographic -no-reboot -nic none \
	-kernel "$ADIR/vmlinuz" -initrd "$W/initrd.gz" -append "console=ttyAMA0 quiet panic=-1" \
	-drive if=none,id=d0,file="$IMG",format=raw -device virtio-blk-device,drive=d0 \
	</dev/null >"$W/console.txt" 2>&1
qrc=$?
secs=$((SECONDS - t0))
size=$(sed -n 's/^TLI-TAR-SIZE \([0-9]*\).*/\1/p' "$W/console.txt" | tail -1)
if [ -z "$size" ]; then
	tli_bad "the arm64 machine wrote no results (qemu exit $qrc after $secs s); console:"
	tail -20 "$W/console.txt" | sed 's/^/     | /'
	tli_suite_end
	exit 1
fi
booted=$(sed -n 's/^TLI-BOOTED \([0-9.]*\).*/\1/p' "$W/console.txt")
tli_ok "arm64 machine: booted in ${booted} s (guest uptime), all done and powered off in $secs s"
mkdir -p "$W/back"
head -c "$size" "$IMG" | tar -xf - -C "$W/back"
for c in "$W"/back/out/*/core.gz; do [ -f "$c" ] && gunzip "$c"; done
rm -f "$IMG"
B=$W/back/out

# ---- judge --------------------------------------------------------------------------------------
compare() { # TAG KIND JSON
	local tag=$1 kind=$2 json=$3 d=$B/$1
	if python3 "$ROOT/tests/integration/compare.py" --dump "$d/stack.txt" --json "$json" --facts "$d/facts.json" \
		--label "$tag-$kind" >"$d/compare-$kind.log" 2>&1; then
		tli_ok "$tag $kind: goroutines equal the runtime's dump ($(tail -1 "$d/compare-$kind.log" | sed 's/^\[[^]]*\] //'))"
	else
		tli_bad "$tag $kind: goroutines differ from the runtime's dump"
		grep -v ' 0 failed' "$d/compare-$kind.log" | head -20 | sed 's/^/     | /'
	fi
}
released() { # FILE (written by the machine's after()): alive, with threads, none traced or stopped
	local nthr traced stopped
	nthr=$(grep -c State "$1" 2>/dev/null)
	traced=$(grep State "$1" 2>/dev/null | grep -cvE 'TracerPid:[[:space:]]+0 ')
	stopped=$(grep -cE 'State:[[:space:]]+[tT]' "$1" 2>/dev/null)
	grep -qx alive "$1" 2>/dev/null && [ "${nthr:-0}" -gt 0 ] && [ "$traced" = 0 ] && [ "$stopped" = 0 ]
}
rc_ok() { # TAG KIND: tlinspect inside exited 0
	local rc
	rc=$(cat "$B/$1/$2.rc" 2>/dev/null)
	[ "$rc" = 0 ] && return 0
	tli_bad "$1 $2: tlinspect on arm64 exited '${rc:-none}': $(head -c 400 "$B/$1/$2.err" 2>/dev/null)"
	return 1
}
for tag in "${TAGS[@]}"; do
	d=$B/$tag
	if [ ! -s "$d/stack.txt" ]; then
		tli_bad "$tag: the target wrote no dump ($(head -c 300 "$d/crash.txt" 2>/dev/null))"
		continue
	fi
	if rc_ok "$tag" live; then
		compare "$tag" live "$d/live.json"
		arch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"]["arch"])' "$d/live.json" 2>/dev/null)
		[ "$arch" = arm64 ] && tli_ok "$tag live: target.arch arm64" || tli_bad "$tag live: target.arch '$arch'"
	fi
	if released "$d/after.txt"; then
		tli_ok "$tag live: released ($(grep -c State "$d/after.txt") threads, TracerPid 0, none stopped, the process alive)"
	else
		tli_bad "$tag live: not released: $(tr '\n' ';' <"$d/after.txt" | head -c 400)"
	fi
	rc_ok "$tag" fork && compare "$tag" fork "$d/fork.json"
	grep -qx alive "$d/after-fork.txt" 2>/dev/null || tli_bad "$tag fork: the target did not survive the snapshot"
	if [ ! -s "$d/core" ]; then
		tli_bad "$tag: the kernel wrote no core ($(cat "$d/exit.txt" 2>/dev/null))"
		continue
	fi
	rc_ok "$tag" core && compare "$tag" core-arm64build "$d/core.json"
	# the kernel's core on this machine: the x86-64 build, the executable given (the core names /t/...)
	timeout 120 "$TLI" --core "$d/core" --exe "$R/t/$tag/goroutines" --json goroutines --stacks \
		>"$d/core-x86.json" 2>"$d/core-x86.err"
	rc=$?
	if [ "$rc" = 0 ]; then
		compare "$tag" core-x86build "$d/core-x86.json"
	else
		tli_bad "$tag: the x86-64 build on the kernel's core exited $rc: $(head -c 400 "$d/core-x86.err")"
	fi
	notes=$(readelf -n "$d/core" 2>/dev/null | grep -oE 'NT_FILE|NT_ARM_TLS|ARM_TLS' | sort -u | tr '\n' ' ')
	tli_log "$tag: core notes: $notes"
	[ "${KEEP:-0}" = 1 ] || rm -f "$d/core" # ~45 MB each
done

# ---- glibc -------------------------------------------------------------------------------------
glibc_judge() { # LABEL PREFIX: heap/bins/leaks JSON at PREFIX.*.json against the target's record
	if python3 "$ROOT/tests/integration/glibc/check.py" "$(dirname "$2")" "$2" >"$2.check" 2>&1; then
		tli_ok "$1: heap, bins, leaks agree with mallinfo2/malloc_info and the leaks ($(grep -c '^ok' "$2.check") checks)"
	else
		tli_bad "$1: differs from glibc's own view"
		grep -v '^ok' "$2.check" | head -15 | sed 's/^/     | /'
	fi
}
glibc_variant() { # NAME
	local G=$B/$1 ok c
	ok=1
	for c in heap bins leaks; do
		[ "$(cat "$G/live.$c.rc" 2>/dev/null)" = 0 ] ||
			{ tli_bad "$1 live $c: exit $(cat "$G/live.$c.rc" 2>/dev/null): $(head -c 300 "$G/live.$c.err" 2>/dev/null)"; ok=0; }
	done
	[ $ok = 1 ] && glibc_judge "$1 live (aarch64 build)" "$G/live"
	if [ ! -s "$G/core" ]; then
		tli_bad "$1: the kernel wrote no core of heapstate"
		return
	fi
	ok=1
	for c in heap bins leaks; do
		[ "$(cat "$G/core.$c.rc" 2>/dev/null)" = 0 ] ||
			{ tli_bad "$1 core $c: exit $(cat "$G/core.$c.rc" 2>/dev/null): $(head -c 300 "$G/core.$c.err")"; ok=0; }
	done
	[ $ok = 1 ] && glibc_judge "$1 kernel core (aarch64 build)" "$G/core"
	# here: the core names /lib/aarch64-linux-gnu/libc.so.6, the same file on this machine
	ok=1
	for c in heap bins leaks; do
		timeout 120 "$TLI" --json --core "$G/core" --exe "$R/t/c/heapstate" $c >"$G/x86core.$c.json" \
			2>"$G/x86core.$c.err" || { tli_bad "$1 kernel core, x86-64 build: $c: $(head -c 300 "$G/x86core.$c.err")"; ok=0; }
	done
	[ $ok = 1 ] && glibc_judge "$1 kernel core (x86-64 build)" "$G/x86core"
	# and with libc6-dbg:arm64's DWARF (setup.sh unpacks it apart): the layout from DWARF; tcache's
	# TLS variable has no DWARF location on arm64, so its slot still comes from malloc's code
	ok=1
	for c in heap bins leaks; do
		TLINSPECT_DEBUG_DIRS=$ADIR/libc6-dbg/usr/lib/debug timeout 120 "$TLI" --json --core "$G/core" \
			--exe "$R/t/c/heapstate" $c >"$G/x86dbg.$c.json" 2>"$G/x86dbg.$c.err" ||
			{ tli_bad "$1 kernel core, x86-64 build, DWARF: $c: $(head -c 300 "$G/x86dbg.$c.err")"; ok=0; }
	done
	src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["glibc"].get("debug_file") or "")' "$G/x86dbg.heap.json" 2>/dev/null)
	[[ $src == *libc6-dbg* ]] || { tli_bad "$1: libc6-dbg:arm64's debug file not used ('$src')"; ok=0; }
	[ $ok = 1 ] && glibc_judge "$1 kernel core (x86-64 build, libc6-dbg:arm64 DWARF)" "$G/x86dbg"
	[ "${KEEP:-0}" = 1 ] || rm -f "$G/core"
}
if [ "$GLIBC" = 1 ]; then
	glibc_variant glibc
	glibc_variant glibc-tc0
	# the signal soak: every queued signal arrived once, in order, with its payload (forksoakc
	# checks each), no interrupted call returned early, the clock went on, and afterwards no thread
	# traced or stopped (copy and fork mode, 10 runs each, on the arm64 kernel)
	S=$B/soak
	read -r _ t0 _ _ _ _ <<<"$(cat "$S/report0" 2>/dev/null)"
	read -r _ t1 got gap bad kinds <<<"$(cat "$S/report1" 2>/dev/null)"
	sent=$(cat "$S/sent" 2>/dev/null)
	nok=$(grep -c ' 0$' "$S/rcs" 2>/dev/null)
	if [ -n "$sent" ] && [ "$got" = "$sent" ] && [ "$bad" = 0 ] && [ "${t1:-0}" -gt "${t0:-0}" ] && [ "$nok" = 20 ] &&
		released "$S/after.txt"; then
		tli_ok "arm64 live attach, 10 copy + 10 fork runs of heap: all $sent real-time signals arrived in order with their payloads, nothing returned early (BAD 0), $((t1 - t0)) ticks counted, longest gap $((gap / 1000000)) ms; afterwards no thread traced or stopped"
	else
		tli_bad "arm64 signal soak: $got of ${sent:-?} signals, BAD ${bad:-?} (${kinds:-}), ticks ${t0:-?} -> ${t1:-?}, $nok of 20 runs exit 0, threads afterwards: $(tr '\n' ';' <"$S/after.txt" 2>/dev/null | head -c 300); $(head -c 300 "$S/tli.err" 2>/dev/null)"
	fi
fi
tli_suite_end
