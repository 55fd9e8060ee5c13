/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_index.c
 * The DWARF index: at open, every top-level DIE of every unit is visited once
 * and named types, variables and constants go into hash maps (name -> DIE
 * offset + a rank, IDX_* in dwarf_int.h). Queries then jump straight to the
 * DIE with dwarf_offdie and walk only that type's members.
 */
#include "dwarf_int.h"

#include <time.h>

#define MAX_TOP_DIES (256u * 1024 * 1024)

static bool idx_put(struct tli_strmap *m, const char *name, uint64_t off, unsigned rank,
		    uint64_t flags)
{
	if (off > IDX_OFF_MASK)
		return true; /* unrepresentable; skip */
	uint64_t v = off | (uint64_t)rank << IDX_RANK_SHIFT | flags;
	uint64_t old;
	if (tli_strmap_get(m, name, &old) && IDX_RANK(old) <= rank)
		return true; /* first definition of the best rank wins */
	return tli_strmap_put(m, name, v);
}

static struct tli_error *index_die(struct tli_dwarf *d, Dwarf_Die *die, uint64_t tflag)
{
	int tag = dwarf_tag(die);
	Dwarf_Off off = dwarf_dieoffset(die);
	const char *name;
	bool ok = true;
	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_class_type:
	case DW_TAG_enumeration_type:
	case DW_TAG_typedef:
	case DW_TAG_base_type:
	case DW_TAG_pointer_type:
	case DW_TAG_array_type:
	case DW_TAG_subroutine_type:
	case DW_TAG_unspecified_type: {
		name = die_name(die);
		if (tag == DW_TAG_enumeration_type) {
			uint64_t cf = tli_dw_const_type_flags(d, die);
			Dwarf_Die e;
			if (dwarf_child(die, &e) == 0) {
				do {
					const char *en;
					if (dwarf_tag(&e) == DW_TAG_enumerator && (en = die_name(&e)))
						ok = ok && idx_put(d->consts, en, dwarf_dieoffset(&e),
								   RANK_DEF, tflag | cf);
				} while (dwarf_siblingof(&e, &e) == 0);
			}
		}
		if (!name)
			break;
		unsigned rank = RANK_OTHER;
		if (is_struct_tag(tag) || tag == DW_TAG_enumeration_type)
			rank = has_flag(die, DW_AT_declaration) ? RANK_DECL : RANK_DEF;
		else if (tag == DW_TAG_typedef)
			rank = RANK_TYPEDEF;
		ok = ok && idx_put(d->types, name, off, rank, tflag);
		break;
	}
	case DW_TAG_variable: {
		if (!(name = die_name(die)))
			break;
		Dwarf_Attribute a;
		bool has_loc = dwarf_attr(die, DW_AT_location, &a) != NULL;
		if (dwarf_attr(die, DW_AT_const_value, &a)) {
			Dwarf_Die t;
			uint64_t cf = type_of(die, &t) ? tli_dw_const_type_flags(d, &t) : 0;
			ok = idx_put(d->consts, name, off, RANK_TYPEDEF, tflag | cf);
		}
		ok = ok && idx_put(d->vars, name, off, has_loc ? RANK_DEF : RANK_DECL, tflag);
		break;
	}
	case DW_TAG_constant: {
		if (!(name = die_name(die)))
			break;
		Dwarf_Die t;
		uint64_t cf = type_of(die, &t) ? tli_dw_const_type_flags(d, &t) : 0;
		ok = idx_put(d->consts, name, off, RANK_DEF, tflag | cf);
		break;
	}
	default:
		break;
	}
	return ok ? NULL : &tli_enomem;
}

struct tli_error *tli_dw_build_index(struct tli_dwarf *d)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	d->types = tli_strmap_new_borrowed();
	d->vars = tli_strmap_new_borrowed();
	d->consts = tli_strmap_new_borrowed();
	if (!d->types || !d->vars || !d->consts)
		return &tli_enomem;
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	int rc;
	size_t dies = 0;
	while ((rc = dwarf_get_units(d->dbg, cu, &next, &version, &unit_type, &cudie, &subdie)) == 0) {
		cu = next;
		d->stats.units++;
		if (unit_type == DW_UT_skeleton || unit_type == DW_UT_split_compile ||
		    unit_type == DW_UT_split_type)
			continue; /* split DWARF (.dwo) is not supported */
		uint64_t tflag = (version < 5 && unit_type == DW_UT_type) ? IDX_TYPES : 0;
		Dwarf_Die die;
		if (dwarf_child(&cudie, &die) != 0)
			continue;
		do {
			if (++dies > MAX_TOP_DIES)
				return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: more than %u DIEs",
							d->debug_path, MAX_TOP_DIES);
			struct tli_error *err = index_die(d, &die, tflag);
			if (err)
				return err;
		} while (dwarf_siblingof(&die, &die) == 0);
	}
	if (rc < 0)
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: bad unit header after %zu units: %s",
					d->debug_path, d->stats.units, dwarf_errmsg(-1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d->stats.dies = dies;
	d->stats.types = tli_strmap_count(d->types);
	d->stats.variables = tli_strmap_count(d->vars);
	d->stats.constants = tli_strmap_count(d->consts);
	d->stats.index_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	return NULL;
}
