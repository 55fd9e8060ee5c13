#!/usr/bin/env bash
# tests/integration/nomem.sh - the quick version of tests/stress/nomem.sh (issue 20 item 1):
# `leaks` on a Go target with a 64 MiB heap and 2000 blocked goroutines under `ulimit -v`
# from 12 to 160 MiB by 4, then by 512 KiB over the 12 MiB below the smallest limit that
# answered (where the last allocations fail). Every run exits 0 with the unconstrained answer
# or 13 with one line; never a signal, another code or a smaller answer. About 40 s.
# Ends with "nomem: N passed, M failed".
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/integration
NOMEM_TARGET=go NOMEM_HEAP=64 NOMEM_G=2000 NOMEM_LO=12 NOMEM_HI=160 NOMEM_STEP=4 \
	NOMEM_FINE=512 NOMEM_FINE_SPAN=12 NOMEM_CMDS=leaks NOMEM_MODES="json text" NOMEM_VALUES= \
	exec bash "$ROOT/tests/stress/nomem.sh"
