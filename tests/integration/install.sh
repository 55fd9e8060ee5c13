#!/usr/bin/env bash
# tests/integration/install.sh - `make install` puts in place what a user needs and nothing else:
# the binary, the man pages, the gdb command file, the bash completion, the runtime maps (data, not
# the generator's C source), the documentation under share/doc/tlinspect; the installed binary runs.
# Ends with "install: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$(mktemp -d /tmp/tli-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
cd "$ROOT" || exit 1
make -s install DESTDIR="$D" PREFIX=/usr > "$D.log" 2>&1 || { echo "FAIL make install: $(tail -3 "$D.log")"; echo "install: 0 passed, 1 failed"; exit 1; }
for f in usr/bin/tlinspect usr/share/man/man1/tlinspect.1 usr/share/man/man7/tlinspect-gdb.7 \
	 usr/share/tlinspect/tlinspect.gdb usr/share/bash-completion/completions/tlinspect \
	 usr/share/doc/tlinspect/README.md usr/share/doc/tlinspect/tutorial.md \
	 usr/share/doc/tlinspect/json-schema.md usr/share/doc/tlinspect/exit-codes.md; do
	[ -s "$D/$f" ] && ok "installed /$f" || bad "missing /$f"
done
nmaps=$(find "$D/usr/share/tlinspect/runtime-maps" -name '*.map' | wc -l)
[ "$nmaps" = "$(find runtime-maps -name '*.map' | wc -l)" ] && ok "all $nmaps runtime maps installed" || bad "$nmaps runtime maps installed"
junk=$(find "$D" -type f \( -name '*.c' -o -name '*.h' -o -name '*.o' -o -name '*.in' \) | sed "s|$D||")
[ -z "$junk" ] && ok "no source files installed" || bad "source files installed: $junk"
if env -u TLI_RUNTIME_MAPS -u TLINSPECT_RUNTIME_MAPS "$D/usr/bin/tlinspect" --version > /dev/null 2>&1; then ok "installed binary runs"; else bad "installed binary does not run"; fi
echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
