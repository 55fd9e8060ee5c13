/* SPDX-License-Identifier: MIT */
/**
 * @file render.h
 * One result tree, two printers. Every command builds a jansson tree (schema
 * "tlinspect/1", docs/json-schema.md); `--json` dumps it as is, the text
 * printer renders the same tree for humans. Printers never look at the target:
 * everything they show is in the tree, so a saved JSON document renders the
 * same text later.
 */
#ifndef TLI_RENDER_RENDER_H
#define TLI_RENDER_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"
#include "core/jsonstr.h"

struct tli_render_opts {
	bool system;        /**< list system goroutines too (they are always counted) */
	int top;            /**< rows of the "top groups" table (0 = all, <0 = default 10) */
	bool no_summary;    /**< skip the summary (header + listing only) */
	bool no_listing;    /**< skip the per-goroutine listing */
	bool quiet;         /**< do not print warnings */
	FILE *warn;         /**< where warnings go ("tlinspect: warning: ..."); NULL = inline in the output */
};

/** Default rows of the top groups table. */
#define TLI_RENDER_DEFAULT_TOP 10

/** Dump `doc` as JSON (indent 2, insertion order, UTF-8, reals as reals) plus a newline. */
struct tli_error *tli_render_json(FILE *f, json_t *doc);

/**
 * Render `doc` (the whole document of `command`) as text. Commands without a
 * text printer fall back to JSON. Returns an error when writing fails.
 */
struct tli_error *tli_render_text(FILE *f, const char *command, json_t *doc,
				  const struct tli_render_opts *opts);

/* ---- per-command printers (text_*.c); `doc` is the whole document ---- */
void tli_text_goroutines(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** One goroutine with its full stack (command `goroutine ID`). */
void tli_text_goroutine(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** The first line: `pid 4242 (/path/exe): go1.24.4, 1003 goroutines, target paused 12.3 ms`. */
void tli_text_header(FILE *f, json_t *doc);
/** One goroutine in Go's traceback format. */
void tli_text_goroutine_block(FILE *f, json_t *g);
/** One frame: `func(...)\n\tfile:line +0xoff\n`. */
void tli_text_frame(FILE *f, json_t *frame);

/* ---- helpers shared by the printers ---- */
/** Write s with control characters replaced by '?' (hostile target strings). */
void tli_text_puts_clean(FILE *f, const char *s);

#endif
