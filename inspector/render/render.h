/* SPDX-License-Identifier: MIT */
/**
 * @file render.h
 * One result tree, two printers. Every command builds a jansson tree (schema
 * "tlinspect/1", docs/json-schema.md); `--json` dumps it as is, the text
 * printer renders the same tree for humans. Printers never look at the target:
 * everything they show is in the tree, so a saved JSON document renders the
 * same text later. One exception in form, not in content: a `goroutines` listing
 * that is only printed may hand the printer its goroutine objects one at a time
 * (struct tli_render_stream) instead of as the tree's go.goroutines array - the same
 * objects, made from the capture after the target runs again, each released once
 * printed - so that 100k goroutines are not 100k objects held at once (issue 14); the
 * JSON printer writes them where the array would be, the same bytes.
 */
#ifndef TLI_RENDER_RENDER_H
#define TLI_RENDER_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"
#include "core/jsonstr.h"

/** A listing's items given one at a time (see above); each() returns an error if making one failed. */
typedef void tli_render_item_fn(json_t *item, void *arg);
struct tli_render_stream {
	struct tli_error *(*each)(struct tli_render_stream *st, tli_render_item_fn *fn, void *arg);
	void (*destroy)(struct tli_render_stream *st);
	size_t count;           /**< items each() gives */
	const char *in, *as;    /**< where they belong: doc[in][as], an array, the last member of doc[in] */
	size_t system;          /**< of them, system goroutines (listed only with --system) */
	struct tli_error *err;  /**< set by the printer: what each() returned (the CLI reports it) */
};

struct tli_render_opts {
	bool system;        /**< list system goroutines too (they are always counted) */
	int top;            /**< rows of the "top groups" table (0 = all, <0 = default 10) */
	bool no_summary;    /**< skip the summary (header + listing only) */
	bool no_listing;    /**< skip the per-goroutine listing */
	bool quiet;         /**< do not print warnings */
	FILE *warn;         /**< where warnings go ("tlinspect: warning: ..."); NULL = inline in the output */
	/** go.goroutines given one at a time (the document then has no such array), or NULL */
	struct tli_render_stream *items;
};

/** Default rows of the top groups table. */
#define TLI_RENDER_DEFAULT_TOP 10

/** Dump `doc` as JSON (indent 2, insertion order, UTF-8, reals as reals) plus a newline. */
struct tli_error *tli_render_json(FILE *f, json_t *doc);
/** The same with items given one at a time (NULL: none), written as doc[items->in][items->as]. */
struct tli_error *tli_render_json_items(FILE *f, json_t *doc, struct tli_render_stream *items);

/** A text printer: renders the whole document of one command. */
typedef void tli_text_fn(FILE *f, json_t *doc, const struct tli_render_opts *opts);
struct tli_text_printer {
	tli_text_fn *fn;
	bool warnings;      /**< print the document's warnings (on opts->warn before, else after the text) */
};

/**
 * Render `doc` as text with printer `p`, the one its command names in the command table
 * (`struct tli_command.text`); NULL (a command without a text view) prints JSON.
 * Returns an error when writing fails.
 */
struct tli_error *tli_render_text(FILE *f, const struct tli_text_printer *p, json_t *doc,
				  const struct tli_render_opts *opts);

/* ---- the printers the command table names (render/text.c) ---- */
extern const struct tli_text_printer tli_print_goroutines, tli_print_goroutine, tli_print_heap,
	tli_print_arenas, tli_print_bins, tli_print_chunk, tli_print_leaks, tli_print_chans, tli_print_chan,
	tli_print_graph, tli_print_maps, tli_print_version, tli_print_help, tli_print_nothing,
	tli_print_explain, tli_print_pools;
/* snapshot, diff, watch, metrics (render/text_overtime.c) */
extern const struct tli_text_printer tli_print_snapshot, tli_print_diff, tli_print_watch, tli_print_metrics;
/* secrets (render/text_secrets.c) */
extern const struct tli_text_printer tli_print_secrets;
/* timers (render/text_timers.c) */
extern const struct tli_text_printer tli_print_timers;

/* ---- per-command printers (text_*.c); `doc` is the whole document ---- */
void tli_text_goroutines(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** The first screen's leak, memory, pools and timers sections (text_triage.c), and whether the
 *  document has them (a `goroutines` result built by the first screen). */
void tli_text_triage(FILE *f, json_t *doc, const struct tli_render_opts *opts);
bool tli_text_triage_present(const json_t *doc);
/** `pools` (text_pools.c). */
void tli_text_pools(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** One goroutine with its full stack (command `goroutine ID`). */
void tli_text_goroutine(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** The Go heap census (`heap` on a Go program): top types by live bytes. */
void tli_text_go_types(FILE *f, json_t *doc, const struct tli_render_opts *opts);
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
