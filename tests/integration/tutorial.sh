#!/usr/bin/env bash
# tests/integration/tutorial.sh — docs/tutorial.md as a test: every `$ ` command of its ```console
# blocks runs verbatim, in order, in one bash session (from the repository root; the tutorial moves
# to a scratch directory itself), and what it prints is compared with what the text shows
# (tutorial.py: numbers and addresses are wildcards bound to the real values for later commands,
# `…` skips lines, everything else must be equal). Needs build/tlinspect, gcc, gdb (gcore), Go 1.19.
# Under 2 minutes. Ends with "N passed, M failed".
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -x "$ROOT/build/tlinspect" ] || { echo "FAIL build/tlinspect missing (make)"; echo "0 passed, 1 failed"; exit 1; }
[ -x /usr/lib/go-1.19/bin/go ] || { echo "SKIP Go 1.19 not installed"; echo "0 passed, 0 failed"; exit 0; }
exec env -u TLINSPECT python3 "$HERE/tutorial.py" "${TUTORIAL:-$ROOT/docs/tutorial.md}" "$ROOT"
