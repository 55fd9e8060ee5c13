/* SPDX-License-Identifier: MIT */
/**
 * @file maps.h
 * Runtime maps: per-version layout tables kept as data files (runtime-maps/go/1.NN.map,
 * runtime-maps/glibc/2.NN.map),
 * the layout provider that answers from them, the stripped-binary global finder (capstone),
 * and the generator (`tlinspect maps gen BINARY`). Format: runtime-maps/README.md.
 *
 * A map answers member offsets/sizes, struct sizes, constants and string tables (by name,
 * exactly as DWARF names them). Globals are NOT in a map (they differ per binary): the
 * provider finds them in the binary itself by decoding instructions of known runtime
 * functions (tli_gofind_global).
 */
#ifndef TLI_MAPS_MAPS_H
#define TLI_MAPS_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/layout.h"
#include "core/liblayout.h"

#define TLI_MAP_FORMAT 1          /**< "tlimap 1" */
#define TLI_MAP_GENERATOR "tlinspect-maps 1"

struct tli_map;
struct tli_gobin;
struct tli_session;

/**
 * Parse a map from text[0..len). `name` names the source in errors ("runtime-maps/go/1.24.map").
 * Malformed input → TLI_E_BAD_FORMAT "NAME:LINE: what is wrong".
 */
struct tli_error *tli_map_parse(const char *text, size_t len, const char *name, struct tli_map **ret);
/** Read and parse a file (TLI_E_NO_INFO if it does not exist). */
struct tli_error *tli_map_load(const char *path, struct tli_map **ret);
void tli_map_free(struct tli_map *m);

const char *tli_map_kind(const struct tli_map *m);     /**< "go" | "glibc" */
const char *tli_map_version(const struct tli_map *m);  /**< "go1.24" */
const char *tli_map_source(const struct tli_map *m);   /**< provenance line, "" if none */
size_t tli_map_nstructs(const struct tli_map *m);
size_t tli_map_nmembers(const struct tli_map *m);
size_t tli_map_nconsts(const struct tli_map *m);

/** Member `path` ("sched.sp") of struct `type`. TLI_E_NO_INFO if the map has no such member. */
struct tli_error *tli_map_member(const struct tli_map *m, const char *type, const char *path,
				 struct tli_member *ret);
struct tli_error *tli_map_type_size(const struct tli_map *m, const char *type, uint64_t *ret);
struct tli_error *tli_map_constant(const struct tli_map *m, const char *name, int64_t *ret);
/** String table `name` (e.g. "runtime.waitReasonStrings"): *n entries, (*strs)[i] owned by the map. */
struct tli_error *tli_map_strings(const struct tli_map *m, const char *name, size_t *n,
				  const char *const **strs);
/** Iterate members: i-th member (0 <= i < nmembers). */
void tli_map_member_at(const struct tli_map *m, size_t i, const char **type, const char **path,
		       struct tli_member *ret);

/**
 * The directory the user named for runtime maps: $TLINSPECT_RUNTIME_MAPS, or the older
 * name $TLI_RUNTIME_MAPS; NULL if neither is set (or both are empty).
 */
const char *tli_maps_env_dir(void);

/**
 * Path of the map file for kind/key ("go", "1.24") in the first existing directory of:
 * tli_maps_env_dir() (if set: only there), else <dir of /proc/self/exe>/../runtime-maps, .../../runtime-maps,
 * <dir of exe>/../share/tlinspect/runtime-maps, ./runtime-maps. Always fills buf with the
 * path in the preferred directory (for messages); returns true if the file exists.
 */
bool tli_maps_path(const char *kind, const char *key, char *buf, size_t cap);

/**
 * Load the Go map for the binary's version. Unknown version → TLI_E_UNSUPPORTED
 * "Go go1.28.1 has no runtime map (runtime-maps/go/1.28.map); generate one with
 * `tlinspect maps gen BINARY-BUILT-WITH-IT`".
 */
struct tli_error *tli_maps_load_go(const struct tli_gobin *gb, struct tli_map **ret);

/* ---- stripped-binary global finder (capstone) ---- */

/**
 * Link-time address (and size when known) of a Go runtime global found by decoding the
 * instructions of runtime functions located through pclntab, sanity-checked (section
 * bounds; string tables confirmed against the map's strings in the file image).
 * Supported: runtime.allgs, runtime.allglen, runtime.allgptr, runtime.waitReasonStrings,
 * runtime.gStatusStrings, runtime.memstats, runtime.fingStatus (1.21+) / runtime.fingRunning
 * (≤1.20). `m` may be NULL (then string tables are not content-checked and have no size).
 * TLI_E_NO_INFO if the name is not supported or the pattern is not found.
 */
struct tli_error *tli_gofind_global(const struct tli_gobin *gb, const struct tli_map *m,
				    const char *name, struct tli_global *ret);

/* ---- glibc: version and stripped-libc finder (libcfind.c), map and provider (provider_glibc.c) ---- */

/**
 * glibc version of a libc image from its banner in .rodata ("GNU C Library (Debian GLIBC
 * 2.36-9+deb12u14) stable release version 2.36"): key = "2.36", banner = the line up to the
 * version. Either buffer may have capacity 0. TLI_E_NO_INFO if there is no banner (e.g. a
 * separate debug file, whose .rodata is not in the file).
 */
struct tli_error *tli_libc_version(const char *path, char *key, size_t keycap, char *banner, size_t bannercap);
struct tli_error *tli_libc_version_mem(const void *image, size_t len, const char *name, char *key, size_t keycap,
				       char *banner, size_t bannercap);

/**
 * Load runtime-maps/glibc/KEY.map (KEY "2.36"). No such map → TLI_E_UNSUPPORTED
 * "glibc 2.38 (WHAT) has no debug info and no runtime map (PATH); install its debug info
 * (libc6-dbg) or generate the map where it is installed: `tlinspect maps gen LIBC > PATH`".
 * `what` names the libc in that message (its banner or path; may be NULL).
 */
struct tli_error *tli_maps_load_glibc(const char *key, const char *what, struct tli_map **ret);

#define TLI_LIBCFIND_ARENA 1u   /**< main_arena */
#define TLI_LIBCFIND_MP 2u      /**< mp_ */
#define TLI_LIBCFIND_TCACHE 4u  /**< tcache's TLS slot */

struct tli_libcfind {
	uint64_t main_arena, mp;        /**< link-time addresses */
	unsigned main_arena_votes, mp_votes; /**< how many exported functions reference them */
	bool has_tcache;
	bool tcache_direct;             /**< local-exec form: tcache_tpoff is the TP offset itself */
	uint64_t tcache_got;            /**< link-time address of the GOT slot holding tcache's TPOFF */
	uint64_t tcache_tls_offset;     /**< its TPOFF relocation's addend (+ tcache_disp): offset in libc's TLS block */
	int64_t tcache_disp;            /**< tcache is this far past the slot's variable (arm64; 0 on x86-64) */
	int64_t tcache_tpoff;           /**< direct form only */
};

/**
 * Find main_arena, mp_ and/or tcache's TLS slot (`what`, TLI_LIBCFIND_*) in a libc image
 * without debug info, by decoding its exported malloc functions (capstone); main_arena and
 * mp_ are confirmed against their static initial images in the file (offsets from the glibc
 * runtime map `m`, required for those two). Rules: inspector/runtime_maps/libcfind.c. Not found /
 * not confirmed → TLI_E_NO_INFO naming what and why; malformed ELF → TLI_E_BAD_FORMAT.
 */
struct tli_error *tli_libcfind_mem(const void *image, size_t len, const char *name, const struct tli_map *m,
				   unsigned what, struct tli_libcfind *ret);
struct tli_error *tli_libcfind_file(const char *path, const struct tli_map *m, unsigned what,
				    struct tli_libcfind *ret);

/**
 * Layout provider for a libc without debug info: members, sizes and constants from the
 * glibc map `m` (ownership passes to the layout, also on error), globals `main_arena` and
 * `mp_` from the finder on the file `libc_path` (run at the first query).
 */
struct tli_error *tli_maps_add_glibc_provider(struct tli_layout *l, const char *libc_path, struct tli_map *m);

/**
 * libc's layout chain for the glibc commands (chain_glibc.c): DWARF of its debug file and
 * that file's .symtab, else the provider above; tcache's TLS slot from the finder.
 * tli_session_open() installs it as the session's lib_layout.
 */
extern const struct tli_lib_layout_finder tli_maps_lib_layout_finder;

/* ---- layout provider ---- */

/**
 * Layout provider answering from the Go runtime map of `exe` + the finder. Everything is
 * loaded lazily at the first query. `other_sources` = true when DWARF is in use for this
 * layout: a missing map then answers NO_INFO (with the reason) instead of UNSUPPORTED.
 */
struct tli_error *tli_maps_add_go_provider(struct tli_layout *l, const char *exe, bool other_sources);
extern const struct tli_layout_provider_ops tli_maps_provider_ops;


/* ---- generator ---- */

/**
 * Write the runtime map of `binary` to `out`: a Go binary WITH DWARF, or a libc.so.6 (found
 * by its glibc banner) whose debug info is found by build-id in $TLINSPECT_DEBUG_DIRS
 * (colon-separated; default /usr/lib/debug).
 */
struct tli_error *tli_maps_gen(const char *binary, FILE *out);
/** The glibc half of tli_maps_gen (debug_dirs NULL/0: $TLINSPECT_DEBUG_DIRS, else the default). */
struct tli_error *tli_maps_gen_glibc(const char *libc, const char *const *debug_dirs, size_t ndirs, FILE *out);

#endif
