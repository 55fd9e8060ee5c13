/* SPDX-License-Identifier: MIT */
/**
 * @file text_explain.h
 * Text printer of `explain`: result["explain"] ({"title", "type", "address",
 * "size", "layout_source", "fields": [{"name", "offset", "size", "value",
 * "decoded", "meaning"}], "sections": [{"title", "lines"}], "notes"}) as a
 * field table followed by the sections and notes. Like every printer, it only
 * reads the tree.
 */
#ifndef TLI_RENDER_TEXT_EXPLAIN_H
#define TLI_RENDER_TEXT_EXPLAIN_H

#include <stdio.h>

#include <jansson.h>

/** Print the explain document `doc` (registered in render/text.c). */
void tli_explain_render_text(FILE *f, json_t *doc);

#endif
