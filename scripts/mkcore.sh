#!/usr/bin/env bash
# scripts/mkcore.sh - make ELF core files of test targets (run as root).
#
#   scripts/mkcore.sh gcore PID OUT
#       gdb's gcore of a running process; the process keeps running. Prints OUT.
#       Note: gcore also dumps PROT_NONE reservations (Go's arena reservations) as readable zero-filled
#       segments, so the file is large; zero blocks are punched into holes when `fallocate --dig-holes` works.
#
#   scripts/mkcore.sh kernel [OPTIONS] [--] CMD [ARGS...]
#       Runs CMD with `ulimit -c unlimited` and GOTRACEBACK=crash (unless already set), with
#       /proc/sys/kernel/core_pattern pointed at a private directory (the old pattern is restored on exit;
#       concurrent callers are serialized with a lock), and prints the path of the kernel-written core.
#       CMD's stdout/stderr are saved next to the core as CORE.stdout / CORE.stderr (a Go program killed
#       with SIGABRT under GOTRACEBACK=crash prints every goroutine's stack to stderr: the runtime's own view).
#     Options:
#       --out FILE      move the core to FILE (default: DIR/core.<comm>.<pid>)
#       --dir DIR       directory the kernel writes into (default: ${TMPDIR:-/tmp}/tlinspect-cores)
#       --signal SIG    send SIG (e.g. ABRT, QUIT, SEGV) to CMD once it is ready; without it CMD must crash by itself
#       --ready-line    "ready" = CMD has printed its first line on stdout (default: after --delay)
#       --delay SECS    wait this long before signalling (default 1; after the ready line if --ready-line)
#       --timeout SECS  give up (SIGKILL, no core) after this long (default 60)
# Exit status: 0 and the core's path on stdout on success; 1 with a message on stderr otherwise.
set -euo pipefail

die()  { printf 'mkcore: %s\n' "$*" >&2; exit 1; }
note() { printf 'mkcore: %s\n' "$*" >&2; }
# the comment block at the top of this file, without its "# "
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 1; }

is_elf_core() {  # FILE: ELF magic and e_type == ET_CORE (4, little-endian)
  [ -s "$1" ] || return 1
  [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || return 1
  [ "$(od -An -j16 -N2 -tu2 "$1" | tr -d ' ')" = 4 ]
}

MKCORE_OLD_PATTERN=""
restore_pattern() {
  if [ -n "$MKCORE_OLD_PATTERN" ]; then
    printf '%s\n' "$MKCORE_OLD_PATTERN" > /proc/sys/kernel/core_pattern || note "could not restore core_pattern to '$MKCORE_OLD_PATTERN'"
  fi
}

dig_holes() { fallocate --dig-holes "$1" 2>/dev/null || true; }

cmd_gcore() {
  [ $# -eq 2 ] || usage
  local pid=$1 out=$2 log
  [[ $pid =~ ^[0-9]+$ ]] || die "gcore: PID must be a number, got '$pid'"
  [ -d "/proc/$pid" ] || die "gcore: no process $pid"
  command -v gdb >/dev/null || die "gcore: gdb is not installed (run scripts/setup.sh)"
  local tracer
  tracer=$(awk '/^TracerPid:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${tracer:-0}" = 0 ] || die "gcore: process $pid is already traced by pid $tracer (detach it first)"
  mkdir -p "$(dirname "$out")"
  rm -f "$out"
  log=$(mktemp)
  if ! timeout 300 gdb -q -batch -nx -iex 'set auto-load off' -ex "gcore $out" -p "$pid" >"$log" 2>&1 \
      || ! is_elf_core "$out"; then
    cat "$log" >&2; rm -f "$log"
    die "gcore: gdb could not write a core of pid $pid to $out"
  fi
  rm -f "$log"
  dig_holes "$out"
  printf '%s\n' "$out"
}

cmd_kernel() {
  local out="" dir="${TMPDIR:-/tmp}/tlinspect-cores" sig="" ready=0 delay=1 tmo=60
  while [ $# -gt 0 ]; do
    case $1 in
      --out) out=${2:?}; shift 2 ;;
      --dir) dir=${2:?}; shift 2 ;;
      --signal) sig=${2:?}; shift 2 ;;
      --ready-line) ready=1; shift ;;
      --delay) delay=${2:?}; shift 2 ;;
      --timeout) tmo=${2:?}; shift 2 ;;
      --) shift; break ;;
      -*) die "kernel: unknown option $1" ;;
      *) break ;;
    esac
  done
  [ $# -ge 1 ] || usage
  [[ $tmo =~ ^[0-9]+$ ]] || die "kernel: --timeout wants whole seconds"
  [ "$(id -u)" -eq 0 ] || die "kernel: must run as root (it rewrites /proc/sys/kernel/core_pattern)"
  local cp=/proc/sys/kernel/core_pattern
  [ -w "$cp" ] || die "kernel: $cp is not writable here (read-only /proc/sys, e.g. an unprivileged container); use 'mkcore.sh gcore' instead"
  ulimit -c unlimited 2>/dev/null || die "kernel: cannot raise RLIMIT_CORE (hard limit $(ulimit -Hc)); use 'mkcore.sh gcore' instead"

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ $dir =~ ^[A-Za-z0-9_./+-]+$ ]] || die "kernel: core directory '$dir' has characters unsafe in core_pattern"
  local pattern="$dir/core.%e.%p"
  [ ${#pattern} -lt 120 ] || die "kernel: core directory path too long for core_pattern (max ~110 chars)"

  # one core_pattern user at a time (the setting is machine-wide)
  local lock=/tmp/tlinspect-core_pattern.lock
  [ -d /run/lock ] && [ -w /run/lock ] && lock=/run/lock/tlinspect-core_pattern.lock
  exec 9>"$lock"
  flock -w 600 9 || die "kernel: timed out waiting for the core_pattern lock"

  MKCORE_OLD_PATTERN=$(cat "$cp")
  trap restore_pattern EXIT
  trap 'exit 130' INT TERM
  printf '%s\n' "$pattern" > "$cp" || die "kernel: writing $cp failed"
  [ "$(cat "$cp")" = "$pattern" ] || die "kernel: $cp did not take the new pattern (got '$(cat "$cp")')"

  local so se
  so=$(mktemp "$dir/run.XXXXXX.stdout"); se=${so%.stdout}.stderr
  : "${GOTRACEBACK:=crash}"
  GOTRACEBACK=$GOTRACEBACK "$@" >"$so" 2>"$se" &
  local pid=$! t0=$SECONDS status=0
  note "started pid $pid: $*"

  if [ -n "$sig" ]; then
    if [ "$ready" = 1 ]; then
      while [ "$(wc -l <"$so")" -lt 1 ]; do   # until one complete line
        kill -0 "$pid" 2>/dev/null || break
        [ $((SECONDS - t0)) -lt "$tmo" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; die "kernel: CMD printed no line within ${tmo}s"; }
        sleep 0.05
      done
    fi
    sleep "$delay"
    kill -0 "$pid" 2>/dev/null && kill -s "$sig" "$pid"
  fi
  # wait (bounded) for it to die
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$tmo" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      die "kernel: CMD still running after ${tmo}s; killed it (no core). Give --signal, or a larger --timeout"
    fi
    sleep 0.05
  done
  wait "$pid" || status=$?

  local core="" f
  for f in "$dir"/core.*."$pid"; do [ -e "$f" ] && core=$f; done
  if [ -z "$core" ] || ! is_elf_core "$core"; then
    die "kernel: no core from pid $pid (exit status $status) in $dir; pattern was '$pattern'. A Go program dumps core on a signal only with GOTRACEBACK=crash (got '$GOTRACEBACK'); a clean exit or a handled signal leaves no core"
  fi
  if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    mv -f "$core" "$out"; core=$out
  fi
  mv -f "$so" "$core.stdout"; mv -f "$se" "$core.stderr"
  note "pid $pid exited with status $status; stdout/stderr in $core.stdout / $core.stderr"
  printf '%s\n' "$core"
}

[ $# -ge 1 ] || usage
mode=$1; shift
case $mode in
  gcore) cmd_gcore "$@" ;;
  kernel) cmd_kernel "$@" ;;
  -h|--help|help) usage ;;
  *) die "unknown mode '$mode' (gcore | kernel)" ;;
esac
