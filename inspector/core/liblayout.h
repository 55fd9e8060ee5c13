/* SPDX-License-Identifier: MIT */
/**
 * @file liblayout.h
 * The layout of a shared library the target has loaded (libc.so.6, for the glibc
 * commands), asked for through a hook. The walkers (glibc/) know which names they
 * need; which sources answer them is known above (maps/: the library's DWARF and
 * .symtab, else the glibc runtime map of its version and the stripped-libc finder),
 * and that layer implements this hook (maps/chain_glibc.c). tli_session_open()
 * installs it in every session (struct tli_session.lib_layout), so walkers never
 * include maps/.
 */
#ifndef TLI_CORE_LIBLAYOUT_H
#define TLI_CORE_LIBLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct tli_layout;
struct tli_dwarf;

/** Which library, and how to look for its debug information. */
struct tli_lib_layout_req {
	const char *path;               /**< the library file, openable here */
	uint64_t bias;                  /**< its load bias in the target */
	const char *const *debug_dirs;  /**< where its separate debug file may be (NULL/0: the default) */
	size_t n_debug_dirs;
	bool no_dwarf;                  /**< --no-dwarf: do not look at DWARF at all */
};

/** What the finder built. */
struct tli_lib_layout {
	struct tli_layout *layout;  /**< the provider chain, bias set (the caller destroys it; it owns dw) */
	struct tli_dwarf *dw;       /**< the library's DWARF handle (tli_dwarf_has_dwarf() tells if it has any) */
	char *debug_path;           /**< separate debug file that answers (malloc'd), NULL if none */
	char map_key[32];           /**< version of the runtime map that answers ("2.36") when the
				         library has no debug information; "" otherwise */
};

/** Where a libc without debug information keeps the thread pointer offset of `tcache`. */
struct tli_libc_tls_slot {
	bool direct;      /**< local-exec code: `tpoff` is the offset itself */
	uint64_t got;     /**< else the link-time address of the GOT slot holding it */
	int64_t tpoff;
	int64_t disp;     /**< tcache is this far past the slot's offset (arm64: the slot names the first
	                       of malloc's TLS variables); 0 on x86-64 */
};

struct tli_lib_layout_finder {
	/**
	 * The layout chain of libc: its DWARF (separate debug file found by build-id) and
	 * that file's .symtab, else (no debug information) the glibc runtime map of its
	 * version with the stripped-libc finder for main_arena and mp_. On error nothing
	 * is left to free (*ret zeroed); errors name the library and why.
	 */
	struct tli_error *(*libc_layout)(const struct tli_lib_layout_req *req, struct tli_lib_layout *ret);
	/** tcache's TLS slot in a libc without debug information, from its code. */
	struct tli_error *(*libc_tcache_slot)(const char *path, struct tli_libc_tls_slot *ret);
};

#endif
