# shellcheck shell=bash
# tests/integration/lib.sh — helpers shared by the integration and bench scripts.
# Source it from bash:  . tests/integration/lib.sh
#
#   tli_go_versions            installed toolchains ("1.19 1.21 ..."), filtered by $GO_VERSIONS
#   tli_go_bin VER             /usr/lib/go-VER/bin/go
#   tli_build TARGETDIR VER [VARIANT]
#                              build a Go target dir (tests/targets/go/NAME or any dir with go.mod)
#                              with toolchain VER into tests/out/goVER/NAME[-VARIANT]; prints the path.
#                              VARIANT: default | stripped (-ldflags=-s -w) | pie (-buildmode=pie) | trimpath
#   tli_start OUTFILE CMD...   start CMD in the background (stdout+stderr to OUTFILE), remember its
#                              pid in TLI_PID and for cleanup
#   tli_wait_ready OUTFILE [SECS]  wait for a "ready <pid>"/"pid <pid>" line; prints the pid
#   tli_kill PID               SIGKILL one pid we started and reap it
#   tli_cleanup                kill everything started with tli_start (install with trap)
#   tli_arm64_build            the aarch64 tlinspect: $TLINSPECT_ARM64, else `make cross-arm64` (a no-op
#                              when up to date) and build-arm64/tlinspect; prints its path, or nothing
#                              and returns 1 when the cross tools are missing (scripts/setup.sh --arm64)
# Never kills anything it did not start.

TLI_ROOT=${TLI_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TLI_OUT=${TLI_OUT:-$TLI_ROOT/tests/out}
TLI_PIDS=()

tli_log() { printf '%s\n' "$*" >&2; }

tli_arm64_build() {
	if [ -n "${TLINSPECT_ARM64:-}" ]; then
		[ -x "$TLINSPECT_ARM64" ] && printf '%s\n' "$TLINSPECT_ARM64"
		return
	fi
	type -P aarch64-linux-gnu-gcc >/dev/null && [ -f /usr/lib/aarch64-linux-gnu/pkgconfig/libdw.pc ] || return 1
	nice -n 10 make --no-print-directory -s -C "$TLI_ROOT" -j2 cross-arm64 >"$TLI_OUT/cross-arm64.log" 2>&1 ||
		{ tli_log "make cross-arm64 failed: $(tail -5 "$TLI_OUT/cross-arm64.log")"; return 1; }
	printf '%s\n' "$TLI_ROOT/build-arm64/tlinspect"
}

tli_go_versions() {
	local d v want out=()
	for d in /usr/lib/go-1.*; do
		[ -x "$d/bin/go" ] || continue
		v=${d#/usr/lib/go-}
		if [ -n "${GO_VERSIONS:-}" ]; then
			for want in $GO_VERSIONS; do
				[ "$want" = "$v" ] && out+=("$v")
			done
		else
			out+=("$v")
		fi
	done
	# numeric sort on the minor version
	printf '%s\n' "${out[@]}" | sort -t. -k1,1n -k2,2n | tr '\n' ' '
}

tli_go_bin() { printf '/usr/lib/go-%s/bin/go' "$1"; }

tli_gocache() {
	if [ -n "${GOCACHE:-}" ]; then
		printf '%s' "$GOCACHE"
	elif [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ -w "$HOME" ]; then
		printf '%s' "$HOME/.cache/go-build"
	else
		printf '%s' "$TLI_OUT/gocache"
	fi
}

# tli_build TARGETDIR VER [VARIANT]
tli_build() {
	local src=$1 ver=$2 variant=${3:-default}
	local name go out
	case $src in /*) ;; *) src=$TLI_ROOT/$src ;; esac
	name=$(basename "$src")
	go=$(tli_go_bin "$ver")
	[ -x "$go" ] || { tli_log "tli_build: no toolchain $go"; return 1; }
	out=$TLI_OUT/go$ver/$name
	local flags=()
	case $variant in
	default) ;;
	stripped) out=$out-stripped; flags=(-ldflags=-s\ -w) ;;
	pie) out=$out-pie; flags=(-buildmode=pie) ;;
	trimpath) out=$out-trimpath; flags=(-trimpath) ;;
	*) tli_log "tli_build: unknown variant $variant"; return 1 ;;
	esac
	mkdir -p "$(dirname "$out")"
	if ! (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOWORK=off \
		GOCACHE=$(tli_gocache) "$go" build "${flags[@]}" -o "$out" . ) >&2; then
		tli_log "tli_build: go$ver build of $src ($variant) failed"
		return 1
	fi
	printf '%s\n' "$out"
}

# tli_start OUTFILE CMD... ; sets TLI_PID
tli_start() {
	local outfile=$1
	shift
	# a stale file from an earlier run would announce a pid before the new target truncates it
	rm -f "$outfile"
	"$@" >"$outfile" 2>&1 &
	TLI_PID=$!
	TLI_PIDS+=("$TLI_PID")
}

# tli_wait_ready OUTFILE [SECS]: prints the pid announced by the target
tli_wait_ready() {
	local f=$1 secs=${2:-30} i line
	for ((i = 0; i < secs * 20; i++)); do
		line=$(grep -m1 -E '^(ready|pid) [0-9]+' "$f" 2>/dev/null || true)
		if [ -n "$line" ]; then
			printf '%s\n' "${line#* }"
			return 0
		fi
		if [ -n "${TLI_PID:-}" ] && ! kill -0 "$TLI_PID" 2>/dev/null; then
			tli_log "target exited before it was ready:"; tail -5 "$f" >&2
			return 1
		fi
		sleep 0.05
	done
	tli_log "target not ready after ${secs}s"
	return 1
}

tli_kill() {
	local p=$1
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

tli_cleanup() {
	local p
	for p in "${TLI_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${TLI_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	TLI_PIDS=()
}

# tli_suite NAME: the common start of a suite script (after sourcing this file): TLI_OUT becomes
# TLI_OUT/NAME (emptied), TLI the tlinspect under test ($TLINSPECT, else build/tlinspect), and
# tli_ok / tli_bad count checks that tli_suite_end reports as "NAME: N passed, N failed" (exit 1
# on any failure). Install the cleanup trap yourself (it may need more than tli_cleanup).
tli_suite() {
	TLI_SUITE=$1
	export TLI_OUT=$TLI_OUT/$1
	TLI=${TLINSPECT:-$TLI_ROOT/build/tlinspect}
	TLI_PASS=0 TLI_FAIL=0
	rm -rf "$TLI_OUT"
	mkdir -p "$TLI_OUT"
}
tli_ok() { echo "ok   $*"; TLI_PASS=$((TLI_PASS + 1)); }
tli_bad() { echo "FAIL $*"; TLI_FAIL=$((TLI_FAIL + 1)); }
tli_suite_end() {
	echo "$TLI_SUITE: $TLI_PASS passed, $TLI_FAIL failed"
	[ "$TLI_FAIL" = 0 ]
}

# tli_heartbeat_gap PID GAPFILE [TRIES] [MISSING]: the target's heartbeat (tests/bench/README.md,
# Method) reports its largest tick gap on SIGUSR1 as "SEQ GAP_NS" in GAPFILE: signal it, wait for
# a new SEQ (TRIES x 10 ms, default 500) and print the gap in ms (one decimal), else MISSING (NA).
tli_heartbeat_gap() {
	local pid=$1 file=$2 tries=${3:-500} missing=${4:-NA} before after i
	before=$(cut -d' ' -f1 "$file" 2>/dev/null || echo 0)
	kill -USR1 "$pid"
	for ((i = 0; i < tries; i++)); do
		after=$(cut -d' ' -f1 "$file" 2>/dev/null || echo 0)
		if [ "$after" != "$before" ]; then
			awk '{printf "%.1f\n", $2 / 1e6}' "$file"
			return 0
		fi
		sleep 0.01
	done
	echo "$missing"
}
