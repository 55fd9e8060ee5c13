/* SPDX-License-Identifier: MIT */
/**
 * @file text_glibc.h
 * Text printer of the glibc malloc commands (heap, arenas, bins, chunk ADDR and the
 * glibc part of leaks). Like every printer, it only reads the result tree.
 */
#ifndef TLI_RENDER_TEXT_GLIBC_H
#define TLI_RENDER_TEXT_GLIBC_H

#include <stdio.h>

#include <jansson.h>

/** Text of a glibc command's result; `command` is "heap", "arenas", "bins", "chunk" or
 *  "leaks" (result["heap"]); anything else, or a result without "glibc", prints JSON. */
void tli_glibc_render_text(FILE *f, const char *command, json_t *result);

#endif
