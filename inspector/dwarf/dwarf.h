/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf.h
 * DWARF provider (libdw): types, member offsets, globals and constants of an
 * executable or shared object, by name.
 *
 * tli_dwarf_open() uses the file's own DWARF when present (plain, SHF_COMPRESSED
 * or Go's .zdebug_*), otherwise separate debug info found
 *   1. by GNU build-id: <debugdir>/.build-id/<xx>/<rest>.debug (build-id checked),
 *   2. by .gnu_debuglink (CRC32 checked): <dir of file>/<name>,
 *      <dir of file>/.debug/<name>, <debugdir>/<dir of file>/<name>,
 * for each debugdir in opts (default "/usr/lib/debug"),
 *   3. from the debuginfod servers of $DEBUGINFOD_URLS, by build-id (libdebuginfod,
 *      loaded at run time; bounded by $TLINSPECT_DEBUGINFOD_TIMEOUT, default 10 s).
 *
 * Policy: a file without any DWARF still opens successfully, with
 * tli_dwarf_has_dwarf() == false; every query then answers TLI_E_NO_INFO with
 * the reason ("no DWARF in X (and no separate debug info found for build-id Y
 * in /usr/lib/debug)"), so the layout falls through to the next provider.
 * opts->no_dwarf (the --no-dwarf switch) behaves the same without looking.
 * Open fails only if the file itself cannot be read or is not a valid ELF.
 *
 * All top-level DIEs of all units are indexed once at open (hash maps name →
 * DIE offset for types, variables and constants); queries never re-walk the
 * DWARF. Type names are as the producer wrote them: Go "runtime.g",
 * "internal/abi.Type", "[]*runtime.g"; C struct/union tags ("malloc_state",
 * without "struct ") and typedef names ("heap_info").
 */
#ifndef TLI_DWARF_DWARF_H
#define TLI_DWARF_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/layout.h"

struct tli_dwarf_opts {
	/** Debug directories, searched in order; NULL/0 = { "/usr/lib/debug" }. */
	const char *const *debug_dirs;
	size_t n_debug_dirs;
	/** Open without looking at DWARF at all: every query answers NO_INFO. */
	bool no_dwarf;
	/** Do not use the file's own DWARF (only separate debug info); for tests. */
	bool separate_only;
};

struct tli_dwarf_stats {
	size_t units;        /**< units (CUs, partial and type units) indexed */
	size_t dies;         /**< top-level DIEs visited */
	size_t types;        /**< named type entries in the index */
	size_t variables;
	size_t constants;
	double index_seconds;/**< wall time spent indexing at open */
};

struct tli_dwarf;

struct tli_error *tli_dwarf_open(const char *path, const struct tli_dwarf_opts *opts,
				 struct tli_dwarf **ret);
void tli_dwarf_close(struct tli_dwarf *d);

bool tli_dwarf_has_dwarf(const struct tli_dwarf *d);
/** File the DWARF was read from (the file itself or the separate debug file); NULL if none. */
const char *tli_dwarf_debug_path(const struct tli_dwarf *d);
/** How the DWARF was found: "embedded", "build-id", "debuglink", "debuginfod", or "none"/"disabled". */
const char *tli_dwarf_debug_method(const struct tli_dwarf *d);
/** The debuginfod server the debug file came from (method "debuginfod"), else NULL. */
const char *tli_dwarf_debuginfod_url(const struct tli_dwarf *d);
/** Without DWARF: why debuginfod gave none when servers were asked ($DEBUGINFOD_URLS), else NULL. */
const char *tli_dwarf_debuginfod_error(const struct tli_dwarf *d);
/** For -v: the file, where it came from (core/sysroot.h tli_file_origin), how its debug info
 *  was found and where (or why there is none); written into buf. */
const char *tli_dwarf_describe(const struct tli_dwarf *d, const char *root, const char *sysroot, char *buf,
			       size_t cap);
/** Path of the file that was opened. */
const char *tli_dwarf_path(const struct tli_dwarf *d);
/** Why there is no DWARF (empty string when there is). */
const char *tli_dwarf_why_none(const struct tli_dwarf *d);
/** GNU build-id of the opened file; TLI_E_NO_INFO if it has none. */
struct tli_error *tli_dwarf_build_id(const struct tli_dwarf *d, uint8_t *buf, size_t cap,
				     size_t *len);
void tli_dwarf_get_stats(const struct tli_dwarf *d, struct tli_dwarf_stats *ret);

/* Direct queries (the same as the provider callbacks). */
struct tli_error *tli_dwarf_member(struct tli_dwarf *d, const char *type, const char *member,
				   struct tli_member *ret);
struct tli_error *tli_dwarf_type_size(struct tli_dwarf *d, const char *type, uint64_t *ret);
/** Global with a static address (DW_OP_addr / DW_OP_addrx); link-time address, no bias. */
struct tli_error *tli_dwarf_global(struct tli_dwarf *d, const char *name, struct tli_global *ret);
/** Thread-local variable: offset in the module's TLS block (DW_OP_const*u + form_tls_address). */
struct tli_error *tli_dwarf_tls_offset(struct tli_dwarf *d, const char *name, uint64_t *ret);
/** DW_TAG_constant / DW_TAG_enumerator / const-valued variable with DW_AT_const_value. */
struct tli_error *tli_dwarf_constant(struct tli_dwarf *d, const char *name, int64_t *ret);

/** Layout provider ("dwarf"); `p` is a struct tli_dwarf *. */
extern const struct tli_layout_provider_ops tli_dwarf_provider_ops;

/**
 * Append a provider labelled "dwarf" that opens EXE's DWARF (tli_dwarf_open with `o`,
 * default debug directories) only when a query first reaches it; used behind a
 * layout whose answers were loaded from the layout cache, so a fully cached run never
 * decompresses or indexes DWARF.
 */
struct tli_error *tli_dwarf_add_lazy_to_layout(const char *exe, const struct tli_dwarf_opts *o,
					       struct tli_layout *l);

/** Append `d` to `l` labelled "dwarf <debug path>" (or "dwarf <path> (none)"); l owns d. */
struct tli_error *tli_dwarf_add_to_layout(struct tli_dwarf *d, struct tli_layout *l);



/* ---- every global (the Go heap census) ---- */

/** Called once per global variable at a static address: name, link-time address, size, the Go
 *  runtime descriptor of its type as Go's linker wrote it (DW_AT_go_runtime_type, an offset in the
 *  types section; 0 if none) and, for a slice type without one, its element's (DW_AT_go_elem), and
 *  the DWARF name of its type (NULL if none; a type used in no interface has no descriptor).
 *  Return false to stop. */
typedef bool (*tli_dwarf_global_fn)(void *arg, const char *name, uint64_t addr, uint64_t size, uint64_t rtype,
				    uint64_t slice_elem, const char *type_name);
/** Enumerate the top-level variables of every unit (in DWARF order). */
struct tli_error *tli_dwarf_each_global(struct tli_dwarf *d, tli_dwarf_global_fn fn, void *arg);

/* ---- member enumeration (added for `ptype` in the shell and `explain`) ---- */

/** Called once per direct member of a struct/union (anonymous members included, unnamed as ""). */
typedef bool (*tli_dwarf_member_fn)(void *arg, const char *name, const char *type_name, uint64_t offset,
				    uint64_t size);
/**
 * Enumerate the members of struct/union `type` in declaration order (at most
 * 4096). *size_ret (may be NULL) receives sizeof(type). type_name is the
 * member type's DWARF name, "*T" for unnamed pointers to T, "[N]T" for
 * arrays, "?" if unknown (one notation for every language: the runtime maps
 * are written with it). TLI_E_NO_INFO if `type` is not a struct or union.
 */
struct tli_error *tli_dwarf_members(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn, void *arg,
				    uint64_t *size_ret);
/**
 * The same with type names in the notation of the struct's language, for people: Go
 * units as above, other units (C) as C writes them: "char *", "struct S *", "int [4]",
 * "const char *", "void (*)(void *)".
 */
struct tli_error *tli_dwarf_members_native(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn,
					   void *arg, uint64_t *size_ret);

/** Calls fn for every named type of the index (each name once, in no order) until it returns false. */
void tli_dwarf_type_names(struct tli_dwarf *d, bool (*fn)(void *arg, const char *name), void *arg);

#endif
