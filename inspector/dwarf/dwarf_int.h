/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_int.h
 * Private to the DWARF provider (dwarf.c, dwarf_index.c, dwarf_debugfile.c,
 * dwarf_types.c, dwarf_location.c, dwarf_members.c, dwarf_vars.c,
 * dwarf_consts.c, dwarf_provider.c): the handle, the index encoding and the
 * DIE helpers they share.
 *
 * The DWARF is untrusted: type chains are followed at most MAX_DEPTH steps,
 * anonymous-member recursion is bounded, sizes are overflow-checked, and
 * every libdw failure becomes an error value.
 */
#ifndef TLI_DWARF_DWARF_INT_H
#define TLI_DWARF_DWARF_INT_H

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/hash.h"
#include "dwarf.h"
#include "elfsym.h"

#define MAX_DEPTH 64          /* typedef/cv/array chains */

/*
 * Index value: bits 0..47 DIE offset, bits 48..51 rank (lower wins),
 * bit 52: constant is of a signed type, bits 53..56: byte size of that type
 * (0 = unknown or > 15), bit 63: DIE is in .debug_types.
 */
#define IDX_OFF_MASK ((1ULL << 48) - 1)
#define IDX_RANK(v) ((unsigned)(((v) >> 48) & 15))
#define IDX_RANK_SHIFT 48
#define IDX_SIGNED (1ULL << 52)
#define IDX_TSIZE(v) ((unsigned)(((v) >> 53) & 15))
#define IDX_TSIZE_SHIFT 53
#define IDX_TYPES (1ULL << 63)

enum { RANK_DEF = 0, RANK_TYPEDEF = 1, RANK_OTHER = 2, RANK_DECL = 3 };

struct tli_dwarf {
	char *path;
	char *debug_path;
	const char *method;
	char why[700];
	char debuginfod_why[400]; /* why debuginfod gave nothing ("" if not asked or it did) */
	char *debuginfod_url;     /* the server the debug file came from (method "debuginfod") */
	struct tli_elfinfo info;
	int fd, dfd;
	Elf *elf, *delf;
	Dwarf *dbg;
	bool msb; /* big-endian ELF */
	struct tli_strmap *types, *vars, *consts;
	struct tli_dwarf_stats stats;
};

/* --- DIE helpers --- */

static inline const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

static inline bool is_struct_tag(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type;
}

static inline bool is_qualifier_tag(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
	       tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type ||
	       tag == DW_TAG_immutable_type || tag == DW_TAG_packed_type ||
	       tag == DW_TAG_shared_type;
}

/* Follow DW_AT_type of `die` into *ret. */
static inline bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a))
		return false;
	return dwarf_formref_die(&a, ret) != NULL;
}

static inline bool has_flag(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	bool f = false;
	if (!dwarf_attr(die, at, &a))
		return false;
	return dwarf_formflag(&a, &f) == 0 && f;
}

/* The DIE of index value v. */
static inline bool offdie(struct tli_dwarf *d, uint64_t v, Dwarf_Die *ret)
{
	Dwarf_Off off = v & IDX_OFF_MASK;
	if (v & IDX_TYPES)
		return dwarf_offdie_types(d->dbg, off, ret) != NULL;
	return dwarf_offdie(d->dbg, off, ret) != NULL;
}

static inline struct tli_error *no_dwarf_err(struct tli_dwarf *d)
{
	return tli_error_create(TLI_E_NO_INFO, "%s", d->why);
}

/* --- dwarf_types.c: types by name, underlying types, sizes --- */

/** Strip "struct "/"union "/"enum "/"class " from a C-style query. */
const char *tli_dw_strip_kw(const char *name);
/** Look a type up by name in the index. */
struct tli_error *tli_dw_find_type(struct tli_dwarf *d, const char *name, Dwarf_Die *ret);
/**
 * Strip typedefs and qualifiers; if the result is a struct declaration,
 * replace it with the definition found by name. On return *die is the
 * underlying type. Returns false if the chain is broken or too long.
 */
bool tli_dw_underlying(struct tli_dwarf *d, Dwarf_Die *die);
/** Byte size of type `die` (`what` names it in errors; depth: chain steps taken so far). */
struct tli_error *tli_dw_size_of(struct tli_dwarf *d, Dwarf_Die *die, const char *what, int depth,
				 uint64_t *ret);

/* --- dwarf_location.c: location expressions --- */

/** The location expression of attribute a of die (at most 2 ops decoded by hand into buf). */
bool tli_dw_get_location(struct tli_dwarf *d, Dwarf_Die *die, Dwarf_Attribute *a, Dwarf_Op **ops,
			 size_t *n, Dwarf_Op *buf);

/* --- dwarf_consts.c --- */

/** Index flags (IDX_SIGNED, IDX_TSIZE) of a constant of type t. */
uint64_t tli_dw_const_type_flags(struct tli_dwarf *d, Dwarf_Die *t);

/* --- dwarf_index.c --- */

/** Index every top-level DIE of every unit (d->types, d->vars, d->consts, d->stats). */
struct tli_error *tli_dw_build_index(struct tli_dwarf *d);

/* --- dwarf_debugfile.c --- */

/** Find separate debug info (build-id, then .gnu_debuglink) in dirs, then from debuginfod;
 *  sets d->dbg, d->method. */
bool tli_dw_find_separate(struct tli_dwarf *d, const char *const *dirs, size_t ndirs);
/** Take `cand` as d's debug file if it is one (DWARF, same build-id, CRC if want_crc). */
bool tli_dw_try_debug_file(struct tli_dwarf *d, const char *cand, bool want_crc, uint32_t crc);

/* --- dwarf_debuginfod.c --- */

/** Fetch d's debug file by build-id from $DEBUGINFOD_URLS (bounded in time); false with
 *  d->debuginfod_why set when the servers were asked and gave nothing usable. */
bool tli_dw_find_debuginfod(struct tli_dwarf *d);

#endif
