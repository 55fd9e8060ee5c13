#!/usr/bin/env bash
# tests/integration/nomem.sh - the quick version of tests/stress/nomem.sh (issue 20 item 1,
# issue 15 item 1): every run under `ulimit -v` exits 0 with the unconstrained answer or 13
# with one line; never a signal, another code or a smaller answer.
#  - Go: `leaks` on a 64 MiB heap and 2000 blocked goroutines, limits 12..160 MiB by 4, then
#    by 512 KiB over the 12 MiB below the smallest limit that answered.
#  - C (glibc): `heap` and `leaks` on tests/bench/glibc/bigheap.c with 600k chunks over 4
#    arenas (~66 MiB), limits 16..224 MiB by 8, then by 512 KiB over the 8 MiB below.
# About 60 s. Ends with one "nomem: N passed, M failed" line per target.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TLI_OUT=${TLI_OUT:-$ROOT/tests/out}/integration
rc=0
NOMEM_TARGET=go NOMEM_HEAP=64 NOMEM_G=2000 NOMEM_LO=12 NOMEM_HI=160 NOMEM_STEP=4 \
	NOMEM_FINE=512 NOMEM_FINE_SPAN=12 NOMEM_CMDS=leaks NOMEM_MODES="json text" NOMEM_VALUES= \
	bash "$ROOT/tests/stress/nomem.sh" || rc=1
NOMEM_TARGET=c NOMEM_CHUNKS=600000 NOMEM_THREADS=4 NOMEM_LO=16 NOMEM_HI=224 NOMEM_STEP=8 \
	NOMEM_FINE=512 NOMEM_FINE_SPAN=8 NOMEM_CMDS="heap leaks" NOMEM_MODES=json NOMEM_VALUES= \
	bash "$ROOT/tests/stress/nomem.sh" || rc=1
exit $rc
