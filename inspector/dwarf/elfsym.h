/* SPDX-License-Identifier: MIT */
/**
 * @file elfsym.h
 * ELF symbol tables and basic ELF facts of a file on disk.
 *
 *  - tli_elf_read_info(): type, machine, entry, GNU build-id, lowest PT_LOAD
 *    vaddr (for bias computation), presence of .symtab/.dynsym/.debug_info,
 *    .gnu_debuglink name + CRC.
 *  - struct tli_elfsym: the symbols of `.symtab` (or `.dynsym` if there is no
 *    .symtab), looked up by name (O(1), hash) and by address (O(log n), sorted).
 *  - tli_elfsym_provider_ops: a layout provider answering only `global`.
 *
 * The file is untrusted: every offset, size and index is checked; a malformed
 * ELF yields TLI_E_BAD_FORMAT, never a crash.
 */
#ifndef TLI_DWARF_ELFSYM_H
#define TLI_DWARF_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/layout.h"

#define TLI_BUILD_ID_MAX 64

struct tli_elfinfo {
	uint8_t elfclass;          /**< ELFCLASS32 / ELFCLASS64 */
	uint16_t type;             /**< ET_EXEC, ET_DYN, ET_CORE, ... */
	uint16_t machine;          /**< EM_X86_64, ... */
	uint64_t entry;            /**< e_entry */
	uint8_t build_id[TLI_BUILD_ID_MAX];
	size_t build_id_len;       /**< 0 if the file has no NT_GNU_BUILD_ID note */
	bool has_load;             /**< at least one PT_LOAD */
	uint64_t min_load_vaddr;   /**< lowest PT_LOAD p_vaddr (page-aligned down) */
	bool has_symtab;           /**< .symtab with at least one symbol */
	bool has_dynsym;
	bool has_debug_info;       /**< .debug_info or .zdebug_info with contents */
	bool has_debuglink;
	char debuglink[256];       /**< .gnu_debuglink file name */
	uint32_t debuglink_crc;
};

/** Read the facts above from the ELF file at `path`. */
struct tli_error *tli_elf_read_info(const char *path, struct tli_elfinfo *ret);

/** Same, from an already open libelf handle (`path` only names it in errors). */
struct Elf;
struct tli_error *tli_elf_info_from_elf(struct Elf *elf, const char *path,
					struct tli_elfinfo *ret);

/** Format a build-id as lowercase hex into buf (always NUL-terminated). */
void tli_build_id_hex(const uint8_t *id, size_t len, char *buf, size_t cap);

struct tli_elfsym;

struct tli_sym {
	const char *name;   /**< owned by the tli_elfsym */
	uint64_t value;     /**< st_value (link-time address; TLS: offset in the block) */
	uint64_t size;      /**< st_size */
	uint8_t type;       /**< STT_OBJECT, STT_FUNC, STT_TLS */
	uint8_t bind;       /**< STB_LOCAL, STB_GLOBAL, STB_WEAK, ... */
};

/**
 * Load the symbols of `path` (.symtab, else .dynsym). Only STT_OBJECT,
 * STT_FUNC and STT_TLS defined symbols are kept. A file with neither table
 * gives TLI_E_NO_INFO; a malformed one TLI_E_BAD_FORMAT.
 */
struct tli_error *tli_elfsym_open(const char *path, struct tli_elfsym **ret);
void tli_elfsym_close(struct tli_elfsym *s);
/** ".symtab" or ".dynsym". */
const char *tli_elfsym_table(const struct tli_elfsym *s);
const char *tli_elfsym_path(const struct tli_elfsym *s);
size_t tli_elfsym_count(const struct tli_elfsym *s);

/**
 * Symbol by exact name. With duplicates (local statics), GLOBAL beats WEAK
 * beats LOCAL, then the first in table order. TLI_E_NO_INFO if absent.
 */
struct tli_error *tli_elfsym_lookup(const struct tli_elfsym *s, const char *name,
				    struct tli_sym *ret);
/**
 * Symbol containing `addr` (value <= addr < value+size; a zero-size symbol
 * matches only its exact address). STT_TLS symbols are not considered.
 * `off` (may be NULL) receives addr - value. TLI_E_NO_INFO if none.
 */
struct tli_error *tli_elfsym_lookup_addr(const struct tli_elfsym *s, uint64_t addr,
					 struct tli_sym *ret, uint64_t *off);

/** The i-th kept symbol (0 <= i < tli_elfsym_count), in table order; false past the end. */
bool tli_elfsym_at(const struct tli_elfsym *s, size_t i, struct tli_sym *ret);

/** Layout provider ("elf-symtab"): `global` only; `p` is a struct tli_elfsym *. */
extern const struct tli_layout_provider_ops tli_elfsym_provider_ops;

/** Append `s` to `l` labelled "elf-symtab <path>" (l takes ownership). */
struct tli_error *tli_elfsym_add_to_layout(struct tli_elfsym *s, struct tli_layout *l);

#endif
