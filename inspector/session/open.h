/* SPDX-License-Identifier: MIT */
/**
 * @file open.h
 * Opening a session (core/session.h): the backend for --pid, --core or --pages
 * (backend/), the executable's layout chain (dwarf/, runtime_maps/), the layout cache.
 * The faces (cli/, shell/) and the commands that must re-stop a target call these.
 */
#ifndef TLI_SESSION_OPEN_H
#define TLI_SESSION_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/session.h"

struct tli_error *tli_session_open(const struct tli_session_opts *o, struct tli_session **ret);
/** Release the target (if live and stopped), save the layout cache, free everything. Safe on NULL. */
void tli_session_destroy(struct tli_session *s);

/**
 * Append the runtime-maps provider (+ the stripped-binary global finder) to s->layout for
 * executable `exe` (session/maps.c): the last of the chain, after the DWARF and ELF-symtab
 * providers. Never fails on a non-Go executable (the provider then answers NO_INFO).
 */
struct tli_error *tli_session_add_maps(struct tli_session *s, const char *exe);

/* ---- the layout cache (session/cache.c) ---- */
/** TLINSPECT_LAYOUT_CACHE is set (and not "0"). */
bool tli_session_cache_wanted(void);
/** Saved answers for `exe` with this binary's stamp (malloc'd text), or NULL. */
char *tli_session_cache_read(struct tli_session *s, const char *exe, size_t *len);
/** Write the layout's answers if it learned any beyond those loaded. Silent on failure. */
void tli_session_cache_save(struct tli_session *s);

#endif
