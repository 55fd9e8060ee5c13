#!/usr/bin/env bash
# tests/integration/pprof.sh - the pprof writer (render/pprof.c) against `go tool pprof` itself.
# A profile description (tests/integration/pprof_check.py gen: retention paths of a made-up heap,
# goroutine-like stacks with files, lines and labels) is written by build/tests/pprof_write (a test
# tool linking libtlinspect.a, never installed); then every installed toolchain's `go tool pprof`
# reads the file: `-raw` must list exactly the samples, values, frames and labels written, and
# `-top` each function's flat and cumulative totals for both sample types. Also: the file is 0600,
# a planted symlink is never written through, an existing file only replaced with --force.
# Ends with "pprof: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
tli_suite pprof
trap tli_cleanup EXIT INT TERM
build=$(dirname "$TLI")
PW=${TLI_PPROF_WRITE:-$build/tests/pprof_write}
if [ ! -x "$PW" ]; then
	make -C "$ROOT" --no-print-directory -s BUILD="$build" "$PW" >&2 || { tli_bad "build $PW"; tli_suite_end; exit 1; }
fi
CHECK="python3 $ROOT/tests/integration/pprof_check.py"
# newer toolchains build `go tool pprof` on first use: keep that in the shared Go build cache
GOCACHE=$(tli_gocache); export GOCACHE
export HOME=$TLI_OUT   # pprof may keep state under $HOME; never the user's
in=$TLI_OUT/profile.json out=$TLI_OUT/heap.pb.gz
$CHECK gen "$in" || { tli_bad "gen"; tli_suite_end; exit 1; }

if "$PW" "$in" "$out" 2> "$TLI_OUT/write.err"; then
	tli_ok "pprof_write wrote $(stat -c %s "$out") bytes"
else
	tli_bad "pprof_write: $(cat "$TLI_OUT/write.err")"; tli_suite_end; exit 1
fi
[ "$(stat -c %a "$out")" = 600 ] && tli_ok "mode 0600" || tli_bad "mode $(stat -c %a "$out"), want 600"
[ "$(head -c 2 "$out" | od -An -tx1 | tr -d ' ')" = 1f8b ] && tli_ok "gzip" || tli_bad "not gzip"

vers=$(tli_go_versions)
[ -n "$vers" ] || { tli_bad "no Go toolchain in /usr/lib/go-1.*"; tli_suite_end; exit 1; }
for v in $vers; do
	go=$(tli_go_bin "$v")
	if ! GOTOOLCHAIN=local "$go" tool pprof -raw "$out" > "$TLI_OUT/raw-$v.txt" 2> "$TLI_OUT/raw-$v.err"; then
		tli_bad "go$v tool pprof -raw failed: $(head -c 300 "$TLI_OUT/raw-$v.err")"; continue
	fi
	if r=$($CHECK raw "$in" "$TLI_OUT/raw-$v.txt"); then tli_ok "go$v pprof -raw: $r"
	else tli_bad "go$v pprof -raw:"; printf '   %s\n' "$r" | head -20; fi
	for idx in inuse_objects inuse_space; do
		t=$TLI_OUT/top-$v-$idx.txt
		if ! GOTOOLCHAIN=local "$go" tool pprof -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -unit=B \
			-sample_index=$idx "$out" > "$t" 2> "$t.err"; then
			tli_bad "go$v tool pprof -top -sample_index=$idx failed: $(head -c 300 "$t.err")"; continue
		fi
		if r=$($CHECK top "$in" $idx "$t"); then tli_ok "go$v pprof -top: $r"
		else tli_bad "go$v pprof -top $idx:"; printf '   %s\n' "$r" | head -20; fi
	done
done

# never over an existing file without --force; never through a symlink; --force replaces atomically
echo precious > "$TLI_OUT/victim"
ln -s "$TLI_OUT/victim" "$TLI_OUT/link.pb.gz"
ino=$(stat -c %i "$out")
"$PW" "$in" "$out" 2> "$TLI_OUT/e1"; rc=$?
[ $rc = 2 ] && grep -q "$out already exists" "$TLI_OUT/e1" && [ "$(stat -c %i "$out")" = "$ino" ] &&
	tli_ok "an existing file is refused (exit 2, named)" || tli_bad "existing file: exit $rc, $(cat "$TLI_OUT/e1")"
for f in "" --force; do
	"$PW" $f "$in" "$TLI_OUT/link.pb.gz" 2> "$TLI_OUT/e2"; rc=$?
	[ $rc = 2 ] && [ "$(cat "$TLI_OUT/victim")" = precious ] && [ -L "$TLI_OUT/link.pb.gz" ] &&
		tli_ok "a planted symlink is refused ${f:-without --force} (exit 2): $(sed 's/^pprof_write: error: //' "$TLI_OUT/e2")" ||
		tli_bad "symlink ${f:-without --force}: exit $rc, victim now $(head -c 40 "$TLI_OUT/victim")"
done
chmod 644 "$out"
if "$PW" --force "$in" "$out" 2> "$TLI_OUT/e3" && [ "$(stat -c %i "$out")" != "$ino" ] &&
	[ "$(stat -c %a "$out")" = 600 ] && [ "$(find "$TLI_OUT" -name '.heap.pb.gz.*' | wc -l)" = 0 ] &&
	GOTOOLCHAIN=local "$go" tool pprof -raw "$out" > "$TLI_OUT/raw-force.txt" 2>/dev/null &&
	$CHECK raw "$in" "$TLI_OUT/raw-force.txt" > /dev/null; then
	tli_ok "--force replaces the file by a new 0600 one that pprof reads, no temporary left"
else
	tli_bad "--force: $(cat "$TLI_OUT/e3")"
fi
tli_suite_end
