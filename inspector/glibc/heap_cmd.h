/* SPDX-License-Identifier: MIT */
/** @file heap_cmd.h  Internal helpers shared by the glibc commands. */
#ifndef TLI_GLIBC_HEAP_CMD_H
#define TLI_GLIBC_HEAP_CMD_H

#include "libc.h"

json_t *tli_gl_hex(uint64_t v);
/** {"count": n, "bytes": b} */
json_t *tli_gl_cb(uint64_t count, uint64_t bytes);
json_t *tli_gl_chunk_json(const struct tli_gl_heap *h, const struct tli_gl_chunk *c);
/** Open libc, capture (plus `extra` ranges), release the target, walk. */
struct tli_error *tli_gl_run(struct tli_session *s, const struct tli_glibc_opts *o,
			     const struct tli_range *extra, size_t nextra,
			     struct tli_gl_ctx **ctx_ret, struct tli_gl_heap **heap_ret);

#endif
