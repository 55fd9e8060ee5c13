/* SPDX-License-Identifier: MIT */
/**
 * @file text_goheap.h
 * Text of the Go section of `heap` (result.go: memstats, size_classes, spans). Like
 * every printer, it only reads the result tree.
 */
#ifndef TLI_RENDER_TEXT_GOHEAP_H
#define TLI_RENDER_TEXT_GOHEAP_H

#include <stdio.h>

#include <jansson.h>

/** The Go section of `heap`; `top` size classes by bytes in use (0 = all, <0 = 10). */
void tli_goheap_render_text(FILE *f, json_t *doc, int top);

#endif
