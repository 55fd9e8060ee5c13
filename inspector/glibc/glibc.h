/* SPDX-License-Identifier: MIT */
/**
 * @file glibc.h
 * glibc malloc (ptmalloc2) from outside: arenas, heaps, every chunk, every bin,
 * mallinfo2/malloc_info reproduced from the walk, and leak suspects.
 *
 * Every command: finds libc.so.6 in the target's mappings, gets a layout for it
 * through the session's hook (core/liblayout.h: DWARF of libc6-dbg by build-id +
 * its .symtab, else the glibc runtime map of its version), captures arenas, heap
 * segments, tcache structs (and for `leaks` every writable mapping) while the
 * target is stopped, releases it, and walks the capture. The structures walked
 * are those of glibc's malloc/malloc.c and malloc/arena.c.
 *
 * Results (jansson, inside the "tlinspect/1" document of docs/json-schema.md) are
 * built by heap_cmd.c (heap, arenas, bins, chunk) and leaks.c; the text printer is
 * render/text_glibc.c.
 */
#ifndef TLI_GLIBC_GLIBC_H
#define TLI_GLIBC_GLIBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"

struct tli_session;

struct tli_glibc_opts {
	/** Debug directories for libc's separate debug info (NULL/0: the
	 *  colon-separated $TLINSPECT_DEBUG_DIRS, else "/usr/lib/debug"). */
	const char *const *debug_dirs;
	size_t n_debug_dirs;
	int top;              /**< rows of "top sizes" / leak groups (0 = default 10, <0 = all) */
	bool chunks;          /**< heap: list every chunk in the result (big) */
	int max_problems;     /**< corruption reports kept (0 = default 100) */
	bool no_chunk_list;   /**< internal: the command prints no per-chunk data, the
				   walk keeps no array of every chunk (set by heap/bins/arenas) */
};

/** `heap`: summary, mallinfo2 (reproduced), per-arena malloc_info totals,
 *  histogram of in-use chunks, top sizes, mmapped chunks, corruption. */
struct tli_error *tli_glibc_heap(struct tli_session *s, const struct tli_glibc_opts *o,
				 json_t *result);
/** `arenas`: per arena: system_mem, top, heaps, in-use/free, fragmentation. */
struct tli_error *tli_glibc_arenas(struct tli_session *s, const struct tli_glibc_opts *o,
				   json_t *result);
/** `bins`: tcache per thread, fastbins, unsorted, small, large. */
struct tli_error *tli_glibc_bins(struct tli_session *s, const struct tli_glibc_opts *o,
				 json_t *result);
/** `chunk ADDR`: the chunk containing ADDR (user pointer or any address inside). */
struct tli_error *tli_glibc_chunk(struct tli_session *s, const struct tli_glibc_opts *o,
				  uint64_t addr, json_t *result);
/** `leaks`: in-use chunks unreachable from the roots, grouped by size and C++ type. */
struct tli_error *tli_glibc_leaks(struct tli_session *s, const struct tli_glibc_opts *o,
				  json_t *result);

/**
 * Optional, for a live target not stopped yet (opened with a deferred stop): resolve
 * libc's layout (DWARF indexing, ~0.3-1 s) BEFORE the session stops the target, so the
 * target's pause is only the capture. Finds libc in the target's mappings (read when it
 * was opened); the result is cached process-wide and used by the commands above when
 * libc's path, build-id and bias match.
 */
struct tli_error *tli_glibc_prepare(struct tli_session *s, const struct tli_glibc_opts *o);
/** Drop the cache of tli_glibc_prepare(). */
void tli_glibc_unprepare(void);
/**
 * tli_glibc_prepare() now if the target is live and not stopped yet, for a command whose
 * glibc side runs inside another walker's stop (`leaks` inside the Go side's): libc's
 * layout is then not resolved while the target is stopped. tli_glibc_leaks() uses it
 * and drops it when done.
 */
void tli_glibc_prepare_early(struct tli_session *s);
/** Is the cache of tli_glibc_prepare_early() there? */
bool tli_glibc_prepared_early(void);

#endif
