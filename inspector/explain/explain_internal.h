/* SPDX-License-Identifier: MIT */
/**
 * @file explain_internal.h
 * What the files of `explain` share (not a public API; see explain.h): the
 * pieces of the result tree every drawn structure is made of (the header, the
 * field table in memory order, sections of lines, notes), and one entry point
 * per kind:
 *   explain_g.c       runtime.g of a goroutine
 *   explain_chan.c    runtime.hchan of a channel, its ring and wait queues
 *   explain_malloc.c  glibc's malloc_chunk and malloc_state
 * The tree is printed by render/text_explain.c.
 */
#ifndef TLI_EXPLAIN_INTERNAL_H
#define TLI_EXPLAIN_INTERNAL_H

#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/layout.h"

struct tli_session;

/** A value as the field table shows it: "0x..." / decimal, as JSON strings. */
json_t *tli_ex_hex(uint64_t v);
json_t *tli_ex_dec(uint64_t v);

/** ex["type"], ["address"], ["size"], ["layout_source"] (the provider of the last layout answer). */
void tli_ex_header(struct tli_layout *l, json_t *ex, const char *type, uint64_t addr, uint64_t size);
/** Insert a field object in memory order (before the first larger offset). */
void tli_ex_field_insert(json_t *fields, json_t *f);
/**
 * One field whose offset/size come from the layout resolver (skipped if the
 * layout does not know it); `value` is stolen, `decoded` copied ("" or NULL: null).
 */
void tli_ex_field_add(struct tli_layout *l, const char *type, const char *path, json_t *value,
		      const char *decoded, const char *meaning, json_t *fields);
/** A titled block of text lines after the field table: returns its "lines" array. */
json_t *tli_ex_section(json_t *ex, const char *title);
void tli_ex_linef(json_t *lines, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append to ex["notes"]. */
void tli_ex_note(json_t *ex, const char *text);
/** An address argument, hex 0x... or decimal, not 0. */
struct tli_error *tli_ex_parse_addr(const char *what, const char *s, uint64_t *ret);

/* ---- one function per kind; `ex` is result["explain"] ---- */
struct tli_error *tli_explain_g(struct tli_session *s, const char *arg, json_t *ex);
struct tli_error *tli_explain_chan(struct tli_session *s, const char *arg, json_t *ex);
struct tli_error *tli_explain_chunk(struct tli_session *s, const char *arg, json_t *ex);
struct tli_error *tli_explain_arena(struct tli_session *s, const char *arg, json_t *ex);

#endif
