/* SPDX-License-Identifier: MIT */
/** @file libc.h  Internal: libc module of the target, its layout, and the malloc command plumbing. */
#ifndef TLI_GLIBC_LIBC_H
#define TLI_GLIBC_LIBC_H

#include "glibc.h"
#include "malloc.h"

struct tli_session;
struct tli_layout;
struct tli_dwarf;

struct tli_gl_ctx {
	char *libc_path;         /**< libc as the target names it */
	char *libc_file;         /**< where it is read here (another name in a container), else NULL */
	char *debug_path;        /**< separate debug file used, NULL if none */
	char build_id[2 * 64 + 1];
	uint64_t bias;           /**< load bias of libc */
	struct tli_layout *layout;
	struct tli_dwarf *dw;    /**< owned by layout */
	struct tli_gl_layout L;
	struct tli_gl_thread *th;
	size_t nth;
	uint64_t got_slot;       /**< address of libc's GOT slot with tcache's TPOFF (0 = unknown) */
	int64_t tpoff;
	int64_t tls_disp;        /**< added to the GOT slot's value (arm64: tcache past the slot's variable) */
	bool have_tpoff;
	bool borrowed;           /**< layout/dw belong to the tli_glibc_prepare cache */
};

/** Find libc in the session's target and resolve everything (target must still be stopped). */
struct tli_error *tli_gl_ctx_open(struct tli_session *s, const struct tli_glibc_opts *o,
				  struct tli_gl_ctx **ret);
void tli_gl_ctx_free(struct tli_gl_ctx *c);

/** Every offset the walker needs (L), asked of libc's layout by name (malloc_layout.c). */
struct tli_error *tli_gl_layout_resolve(struct tli_layout *l, struct tli_gl_layout *L);

#endif
