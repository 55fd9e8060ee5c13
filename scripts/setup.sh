#!/usr/bin/env bash
# scripts/setup.sh - install what tlinspect needs to build and test, on Debian 12 (bookworm).
#
#   ./scripts/setup.sh            run as root; safe to re-run (fast no-op when everything is there)
#   ./scripts/setup.sh --force    redo apt-get update and the install checks even if all is installed
#   ./scripts/setup.sh --arm64    also what arm64 work needs (`make cross-arm64`, `make check-arm64`): the arm64
#                                 architecture in dpkg, the -dev:arm64 libraries tlinspect links, the cross compiler,
#                                 qemu (user and system), and Debian's arm64 kernel, busybox-static and libc6-dbg
#                                 unpacked into $TLI_ARM64_DIR (default /var/lib/tlinspect/arm64; apt-get download)
#
# What it does:
#   1. makes sure the Debian archive keyring knows trixie's signing keys (debian-archive-keyring >= 2023.3+deb12u2);
#   2. adds bookworm-backports, trixie and trixie-backports (scripts/apt/tlinspect-extra.sources), all pinned to
#      priority 100 (scripts/apt/tlinspect-extra.pref) so nothing is ever upgraded from them implicitly;
#   3. installs the build/test packages from bookworm, then the Go toolchains 1.21..1.27 with an explicit
#      `-t <suite> --no-install-recommends`, after a simulation that refuses anything besides golang-1.NN-{go,src}
#      (so a newer libc6/gcc can never be dragged in from trixie);
#   4. prints the installed Go versions.
# Environment: TLI_SETUP_STRICT=1 makes a missing Go toolchain (1.21+) or delve fatal (default: warning).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

BASE_PKGS=(build-essential pkg-config libdw-dev libelf-dev libcapstone-dev libreadline-dev libcmocka-dev
           libjansson-dev gdb python3 elfutils binutils golang-1.19-go libc6-dbg tmux strace
           lldb-14 liblldb-14-dev graphviz                      # graphviz: `graph --dot` is checked with dot
           zlib1g-dev libprotobuf-c-dev protobuf-c-compiler    # pprof profiles: gzip + protoc-c
           liblzma-dev libdebuginfod-dev debuginfod            # MiniDebugInfo (xz); debuginfod client + test server
           qemu-user-static                                     # `arm64` suite: arm64 Go targets and their cores
           postgresql golang-github-lib-pq-dev)                 # `pools` suite: a real PostgreSQL, lib/pq (GOPATH)
OPT_PKGS=(delve)                      # bookworm's delve: used by benchmarks only
SUITES=(bookworm-backports trixie trixie-backports)
declare -A SUITE_PKGS=(
  [bookworm-backports]="golang-1.21-go golang-1.22-go golang-1.23-go"
  [trixie]="golang-1.24-go"
  [trixie-backports]="golang-1.25-go golang-1.26-go golang-1.27-go"
)
# --arm64: Debian multiarch (the -dev:arm64 of every library in the Makefile's LDLIBS), the cross gcc, qemu.
# Only one arm64 libc: the multiarch libc6:arm64 (gcc-aarch64-linux-gnu also brings libc6-arm64-cross; qemu-user
# is run without -L so that a program's ld.so and libc.so come from the same build).
ARM64_PKGS=(gcc-aarch64-linux-gnu qemu-user-static qemu-system-arm cpio
            libdw-dev:arm64 libelf-dev:arm64 libcapstone-dev:arm64 libjansson-dev:arm64 libreadline-dev:arm64
            zlib1g-dev:arm64 libprotobuf-c-dev:arm64)
ARM64_DIR=${TLI_ARM64_DIR:-/var/lib/tlinspect/arm64}
ARM64=0
SRC_FILE=/etc/apt/sources.list.d/tlinspect-extra.sources
PREF_FILE=/etc/apt/preferences.d/tlinspect-extra.pref
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TRIXIE_KEYRING=/usr/share/keyrings/debian-archive-trixie-automatic.gpg
STRICT=${TLI_SETUP_STRICT:-0}
FORCE=0

log()  { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: WARNING: %s\n' "$*" >&2; }
die()  { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    --arm64) ARM64=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument: $a (try --help)" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (e.g. sudo $0)"
# shellcheck disable=SC1091
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || die "this script targets Debian 12 (bookworm); found '${PRETTY_NAME:-unknown}'"

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

all_installed() {
  local p s
  for p in "${BASE_PKGS[@]}" "${OPT_PKGS[@]}"; do is_installed "$p" || return 1; done
  for s in "${SUITES[@]}"; do for p in ${SUITE_PKGS[$s]}; do is_installed "$p" || return 1; done; done
  if [ "$ARM64" -eq 1 ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || return 1
    for p in "${ARM64_PKGS[@]}"; do is_installed "$p" || return 1; done
  fi
  return 0
}

updated=0
apt_update() { [ "$updated" -eq 1 ] && return 0; log "apt-get update"; "${APT[@]}" update; updated=1; }

# --- 1. trixie's archive key must be in the keyring that the Signed-By lines name ----------------------------
keyring_has_trixie() {
  [ -s "$TRIXIE_KEYRING" ] || return 1
  if command -v gpg >/dev/null 2>&1; then
    # every trixie fingerprint must also be in the combined keyring
    local want have fp
    want=$(gpg --batch --no-default-keyring --show-keys --with-colons "$TRIXIE_KEYRING" 2>/dev/null | awk -F: '$1=="fpr"{print $10}')
    have=$(gpg --batch --no-default-keyring --show-keys --with-colons "$KEYRING" 2>/dev/null | awk -F: '$1=="fpr"{print $10}')
    [ -n "$want" ] || return 1
    for fp in $want; do grep -qx "$fp" <<<"$have" || return 1; done
    return 0
  fi
  # without gpg: the package that ships the per-release file builds the combined keyring from it
  dpkg --compare-versions "$(dpkg-query -W -f='${Version}' debian-archive-keyring 2>/dev/null || echo 0)" ge 2023.3+deb12u2
}
if ! keyring_has_trixie; then
  log "debian-archive-keyring lacks trixie's keys; upgrading it from bookworm (needs >= 2023.3+deb12u2)"
  # only bookworm's own sources here: the extra suites cannot be verified yet
  rm -f "$SRC_FILE"
  apt_update
  "${APT[@]}" install debian-archive-keyring
  updated=0
  keyring_has_trixie || die "trixie's signing keys are not in $KEYRING even after upgrading debian-archive-keyring (Debian 12.11+ ships them)"
fi

# --- 2. sources + pins ------------------------------------------------------------------------------------------
changed=0
install_if_different() {  # SRC DST
  if ! cmp -s "$1" "$2"; then install -m 0644 "$1" "$2"; log "installed $2"; changed=1; fi
}
install_if_different "$here/apt/tlinspect-extra.sources" "$SRC_FILE"
install_if_different "$here/apt/tlinspect-extra.pref" "$PREF_FILE"

# --- 3. packages ------------------------------------------------------------------------------------------------
if [ "$ARM64" -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "dpkg --add-architecture arm64"
  dpkg --add-architecture arm64   # apt-get update (below) then fetches the arm64 package lists too
  changed=1
fi
missing=()
if [ "$FORCE" -eq 0 ] && [ "$changed" -eq 0 ] && all_installed; then
  log "all packages already installed (use --force to re-check with apt)"
else
  apt_update
  for s in "${SUITES[@]}"; do
    apt-cache policy 2>/dev/null | grep -q ",n=$s," || die "suite $s not in apt's lists after apt-get update (check $SRC_FILE and the keyring)"
  done

  need=()
  for p in "${BASE_PKGS[@]}"; do is_installed "$p" || need+=("$p"); done
  if [ "${#need[@]}" -gt 0 ] || [ "$FORCE" -eq 1 ]; then
    log "installing from bookworm: ${BASE_PKGS[*]}"
    "${APT[@]}" install "${BASE_PKGS[@]}"
  fi

  for p in "${OPT_PKGS[@]}"; do
    is_installed "$p" && continue
    if "${APT[@]}" install "$p"; then :; else warn "could not install $p from bookworm"; missing+=("$p"); fi
  done

  # Simulate first; allow only golang-1.NN-go / golang-1.NN-src to be installed from the extra suite.
  install_from_suite() {  # SUITE PKG...
    local suite=$1; shift
    local want=() p sim bad
    for p in "$@"; do is_installed "$p" || want+=("$p"); done
    [ "${#want[@]}" -eq 0 ] && return 0
    if ! sim=$("${APT[@]}" -s -t "$suite" --no-install-recommends install "${want[@]}" 2>&1); then
      warn "simulated install of ${want[*]} from $suite failed:"; printf '%s\n' "$sim" | tail -n 15 >&2
      return 1
    fi
    bad=$(printf '%s\n' "$sim" | awk '/^(Inst|Remv|Purg) / && $2 !~ /^golang-1\.[0-9]+-(go|src)$/')
    if [ -n "$bad" ]; then
      warn "installing ${want[*]} from $suite would also change core packages; refusing:"
      printf '  %s\n' "$bad" >&2
      return 1
    fi
    log "installing from $suite: ${want[*]}"
    "${APT[@]}" -t "$suite" --no-install-recommends install "${want[@]}"
  }
  if [ "$ARM64" -eq 1 ]; then
    need=()
    for p in "${ARM64_PKGS[@]}"; do is_installed "$p" || need+=("$p"); done
    if [ "${#need[@]}" -gt 0 ]; then
      log "installing for arm64: ${need[*]}"
      "${APT[@]}" --no-install-recommends install "${need[@]}"
    fi
  fi

  for s in "${SUITES[@]}"; do
    # shellcheck disable=SC2086
    if ! install_from_suite "$s" ${SUITE_PKGS[$s]}; then
      for p in ${SUITE_PKGS[$s]}; do is_installed "$p" || missing+=("$p"); done
    fi
  done
fi

# --- 3b. --arm64: Debian's arm64 kernel (+ the virtio modules to load from an initramfs) and busybox-static ------
# unpacked into $ARM64_DIR; a stamp names the package versions (re-checked with --force; apt-cache takes ~15 s).
arm64_files() {
  local kpkg want have tmp d f
  if [ "$FORCE" -eq 0 ] && [ -s "$ARM64_DIR/stamp" ] && [ -s "$ARM64_DIR/vmlinuz" ] && [ -x "$ARM64_DIR/busybox" ] &&
     [ -s "$ARM64_DIR/virtio_mmio.ko" ] && [ -s "$ARM64_DIR/virtio_blk.ko" ] && [ -d "$ARM64_DIR/libc6-dbg/usr/lib/debug" ]; then
    log "arm64 kernel, busybox and libc6-dbg already in $ARM64_DIR ($(head -c 60 "$ARM64_DIR/stamp"))"
    return 0
  fi
  kpkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$kpkg" ] || { apt_update; kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
  [ -n "$kpkg" ] || die "no arm64 kernel package (apt-cache depends linux-image-arm64:arm64)"
  want="$kpkg $(apt-cache policy "$kpkg" | awk '/Candidate:/{print $2}') busybox-static:arm64 $(apt-cache policy busybox-static:arm64 | awk '/Candidate:/{print $2}') libc6-dbg:arm64=$(dpkg-query -W -f='${Version}' libc6:arm64)"
  have=$(cat "$ARM64_DIR/stamp" 2>/dev/null || true)
  if [ "$FORCE" -eq 0 ] && [ "$want" = "$have" ] && [ -s "$ARM64_DIR/vmlinuz" ] && [ -x "$ARM64_DIR/busybox" ] &&
     [ -s "$ARM64_DIR/virtio_mmio.ko" ] && [ -s "$ARM64_DIR/virtio_blk.ko" ] && [ -d "$ARM64_DIR/libc6-dbg/usr/lib/debug" ]; then
    log "arm64 kernel, busybox and libc6-dbg already in $ARM64_DIR"
    return 0
  fi
  log "fetching $kpkg, busybox-static:arm64 and libc6-dbg:arm64 into $ARM64_DIR"
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  (cd "$tmp" && chown _apt "$tmp" 2>/dev/null; apt-get -q -o Acquire::Retries=3 download "$kpkg" busybox-static:arm64 \
    "libc6-dbg:arm64=$(dpkg-query -W -f='${Version}' libc6:arm64)") ||
    die "apt-get download $kpkg busybox-static:arm64 libc6-dbg:arm64 failed"
  mkdir -p "$tmp/x" "$ARM64_DIR"
  # libc6-dbg:arm64 (the debug info of the installed libc6:arm64) unpacked apart, not installed: the
  # oracle of the arm64 libc finder's unit test; tlinspect itself must do without it
  rm -rf "$ARM64_DIR/libc6-dbg"
  for d in "$tmp"/*.deb; do
    case $d in
      */libc6-dbg_*) dpkg-deb -x "$d" "$ARM64_DIR/libc6-dbg" ;;
      *) dpkg-deb -x "$d" "$tmp/x" ;;
    esac
  done
  f=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -1)
  [ -n "$f" ] || die "no boot/vmlinuz-* in $kpkg"
  install -m 0644 "$f" "$ARM64_DIR/vmlinuz"
  install -m 0755 "$tmp/x/bin/busybox" "$ARM64_DIR/busybox"
  for m in virtio_mmio virtio_blk; do
    f=$(find "$tmp/x/lib/modules" -name "$m.ko*" | head -1)
    [ -n "$f" ] || die "no $m.ko in $kpkg"
    case $f in
      *.xz) xz -dc "$f" > "$ARM64_DIR/$m.ko" ;;
      *.zst) zstd -qdc "$f" > "$ARM64_DIR/$m.ko" ;;
      *) install -m 0644 "$f" "$ARM64_DIR/$m.ko" ;;
    esac
  done
  printf '%s\n' "$want" > "$ARM64_DIR/stamp"
  rm -rf "$tmp"
  trap - EXIT
}
if [ "$ARM64" -eq 1 ]; then
  for p in "${ARM64_PKGS[@]}"; do is_installed "$p" || die "required package $p is not installed"; done
  arm64_files
fi

# --- 3c. a gdb without Python: Debian's gdb-minimal of the installed gdb's version, unpacked (not installed: it
# conflicts with gdb) into $TLI_GDB_MINIMAL_DIR; the faces/gdb suite checks tlinspect.gdb with it (no Python block run)
GDBMIN_DIR=${TLI_GDB_MINIMAL_DIR:-/var/lib/tlinspect/gdb-minimal}
gdbmin_want="gdb-minimal=$(dpkg-query -W -f='${Version}' gdb 2>/dev/null || true)"
if [ "$FORCE" -eq 1 ] || [ "$(cat "$GDBMIN_DIR/stamp" 2>/dev/null || true)" != "$gdbmin_want" ] || [ ! -x "$GDBMIN_DIR/usr/bin/gdb" ]; then
  log "unpacking $gdbmin_want into $GDBMIN_DIR"
  tmp=$(mktemp -d)
  if (cd "$tmp" && chown _apt "$tmp" 2>/dev/null; apt-get -q -o Acquire::Retries=3 download "$gdbmin_want") >/dev/null; then
    rm -rf "$GDBMIN_DIR"; mkdir -p "$GDBMIN_DIR"
    dpkg-deb -x "$tmp"/gdb-minimal_*.deb "$GDBMIN_DIR" && printf '%s\n' "$gdbmin_want" > "$GDBMIN_DIR/stamp"
  else warn "apt-get download $gdbmin_want failed: the gdb-without-Python check of faces/gdb will be skipped"; fi
  rm -rf "$tmp"
fi

# --- 4. summary -------------------------------------------------------------------------------------------------
for p in "${BASE_PKGS[@]}"; do is_installed "$p" || die "required package $p is not installed"; done
echo "setup: Go toolchains:"
for d in $(printf '%s\n' /usr/lib/go-1.* | sort -V); do
  if [ -x "$d/bin/go" ]; then
    printf '  %-18s %s\n' "$d" "$(GOTOOLCHAIN=local "$d/bin/go" version 2>&1)"
  fi
done
if is_installed delve; then printf '  %-18s %s\n' delve "$(dpkg-query -W -f='${Version}' delve)"; fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$STRICT" = 1 ]; then die "missing: ${missing[*]}"; fi
  warn "missing (tests for these versions will be skipped): ${missing[*]}"
fi
log "done"
