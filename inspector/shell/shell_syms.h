/* SPDX-License-Identifier: MIT */
/**
 * @file shell_syms.h
 * Internal to the shell: the names a C (or mixed) target knows besides Go's pclntab.
 *
 *  - symbols: the ELF symbol tables of the executable and of every library the target
 *    maps (libc: the .symtab of its separate debug file when the session's libc layout
 *    hook finds one, so `main_arena` and `_int_malloc` are known; without debug info the
 *    hook's stripped-libc finder still answers `main_arena`), each with its load bias;
 *  - types: the executable's DWARF, then libc's (through the same hook), for `ptype`.
 * Everything opens on first use; libraries that cannot be read here are skipped.
 */
#ifndef TLI_SHELL_SHELL_SYMS_H
#define TLI_SHELL_SHELL_SYMS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "dwarf/dwarf.h"

struct tli_session;
struct tli_shsyms;

struct tli_shsyms *tli_shsyms_new(struct tli_session *s, bool no_dwarf);
void tli_shsyms_free(struct tli_shsyms *y);

/** Runtime address (and size, 0 if unknown) of a global symbol; false if no module has it. */
bool tli_shsyms_lookup(struct tli_shsyms *y, const char *name, uint64_t *addr, uint64_t *size);
/** "malloc+0x1d" for a runtime address inside a symbol of a mapped module; false otherwise. */
bool tli_shsyms_symbolize(struct tli_shsyms *y, uint64_t addr, char *buf, size_t cap);
/** Calls fn for every global symbol name starting with `prefix` until fn returns false. */
void tli_shsyms_names(struct tli_shsyms *y, const char *prefix, bool (*fn)(void *arg, const char *name),
		      void *arg);

/**
 * Members of a struct/union type (tli_dwarf_members) from the executable's DWARF, else
 * libc's. Nothing is passed to fn unless the type is found. *from names the file whose
 * DWARF answered. The error of the executable's DWARF when no DWARF has the type.
 */
struct tli_error *tli_shsyms_members(struct tli_shsyms *y, const char *type, tli_dwarf_member_fn fn, void *arg,
				     uint64_t *size, const char **from);
/** Calls fn for every type name (both DWARFs) starting with `prefix` until fn returns false. */
void tli_shsyms_types(struct tli_shsyms *y, const char *prefix, bool (*fn)(void *arg, const char *name),
		      void *arg);

#endif
