/* SPDX-License-Identifier: MIT */
/**
 * @file maps.h
 * Runtime maps: per-version layout tables kept as data files (runtime-maps/go/1.NN.map),
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
 * Path of the map file for kind/key ("go", "1.24") in the first existing directory of:
 * $TLI_RUNTIME_MAPS (if set: only there), else <dir of /proc/self/exe>/../runtime-maps, .../../runtime-maps,
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

/* ---- layout provider ---- */

/**
 * Layout provider answering from the Go runtime map of `exe` + the finder. Everything is
 * loaded lazily at the first query. `other_sources` = true when DWARF is in use for this
 * layout: a missing map then answers NO_INFO (with the reason) instead of UNSUPPORTED.
 */
struct tli_error *tli_maps_add_go_provider(struct tli_layout *l, const char *exe, bool other_sources);
extern const struct tli_layout_provider_ops tli_maps_provider_ops;

/**
 * The session hook (inspector/core/session_maps.c): appends the runtime-maps provider to
 * s->layout for executable `exe`. To be called at the end of setup_layout(), after the DWARF
 * and ELF-symtab providers. Never fails on a non-Go executable (the provider then answers NO_INFO).
 */
struct tli_error *tli_session_add_maps(struct tli_session *s, const char *exe);

/* ---- generator ---- */

/** Write the runtime map of a Go binary WITH DWARF to `out`. */
struct tli_error *tli_maps_gen(const char *binary, FILE *out);

#endif
