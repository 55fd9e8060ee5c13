/* SPDX-License-Identifier: MIT */
/**
 * @file explain.h
 * Teaching mode (`tlinspect explain WHAT [ARG]`): one runtime structure drawn
 * field by field, each with its offset and size (from the layout resolver:
 * DWARF or runtime maps, never typed in), its value in the target and a
 * one-line meaning. Result: result["explain"] = {"kind", "type", "address",
 * "size", "layout_source", "title", "fields": [{"name", "offset", "size",
 * "value", "decoded"|null, "meaning"}], "notes": [...]}.
 *
 * Kinds: "g ID" (runtime.g). Hooks, not yet drawn: "chan ADDR" (runtime.hchan:
 * the channel decoder, inspector/go/chans.c, can fill it with the same field
 * table mechanism: add a table like g_fields and a case in tli_explain), "chunk
 * ADDR" and "arena [ADDR]" (glibc malloc_chunk / malloc_state).
 */
#ifndef TLI_EXPLAIN_EXPLAIN_H
#define TLI_EXPLAIN_EXPLAIN_H

#include <stdio.h>

#include <jansson.h>

#include "core/error.h"

struct tli_session;

struct tli_error *tli_explain(struct tli_session *s, const char *what, const char *arg, json_t *result);
/** Text printer of the document (registered in render/text.c). */
void tli_explain_render_text(FILE *f, json_t *doc);

#endif
