/* SPDX-License-Identifier: MIT */
/**
 * @file explain.h
 * Teaching mode (`tlinspect explain WHAT [ARG]`): one runtime structure drawn
 * field by field, each with its offset and size (from the layout resolver:
 * DWARF or runtime maps, never typed in), its value in the target and a
 * one-line meaning. Result: result["explain"] = {"kind", "type", "address",
 * "size", "layout_source", "title", "fields": [{"name", "offset", "size",
 * "value" (string)|null, "decoded"|null, "meaning"}], "sections": [{"title",
 * "lines": [...]}], "notes": [...]} plus per kind:
 *   chan:  "ring" (string), "recvq"/"sendq" (sudogs as in `chan ADDR`), "buffer"
 *   chunk: "state", "chunk_size", "user", "arena"
 *   arena: "index"
 *
 * Kinds: "g ID" (runtime.g), "chan ADDR" (runtime.hchan from the channel
 * decoder's capture, inspector/go/chans.h: ring with sendx/recvx, recvq/sendq
 * sudogs with goroutine ids), "chunk ADDR" (glibc malloc_chunk of the chunk
 * containing ADDR, from the heap walk of inspector/glibc) and "arena [ADDR]"
 * (malloc_state; main_arena by default: fastbins, bins, heaps).
 */
#ifndef TLI_EXPLAIN_EXPLAIN_H
#define TLI_EXPLAIN_EXPLAIN_H

#include <jansson.h>

#include "core/error.h"

struct tli_session;

/** Build result["explain"] for `explain WHAT [ARG]` (its text printer: render/text_explain.h). */
struct tli_error *tli_explain(struct tli_session *s, const char *what, const char *arg, json_t *result);

#endif
