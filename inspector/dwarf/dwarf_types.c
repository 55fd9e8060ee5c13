/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_types.c
 * DWARF types: lookup by name in the index, the underlying type (through
 * typedefs, qualifiers, type-unit stubs and declarations) and byte sizes
 * (arrays of any dimensions, pointers, enums).
 */
#include "dwarf_int.h"

#include <stdio.h>
#include <string.h>

const char *tli_dw_strip_kw(const char *name)
{
	static const char *const kw[] = { "struct ", "union ", "enum ", "class " };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t n = strlen(kw[i]);
		if (strncmp(name, kw[i], n) == 0)
			return name + n;
	}
	return name;
}

struct tli_error *tli_dw_find_type(struct tli_dwarf *d, const char *name, Dwarf_Die *ret)
{
	uint64_t v;
	const char *n = tli_dw_strip_kw(name);
	if (!tli_strmap_get(d->types, n, &v))
		return tli_error_create(TLI_E_NO_INFO, "no type %s in DWARF of %s", n, d->debug_path);
	if (!offdie(d, v, ret))
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: type %s: bad DIE offset 0x%llx: %s",
					d->debug_path, n, (unsigned long long)(v & IDX_OFF_MASK),
					dwarf_errmsg(-1));
	return NULL;
}

bool tli_dw_underlying(struct tli_dwarf *d, Dwarf_Die *die)
{
	for (int i = 0; i < MAX_DEPTH; i++) {
		int tag = dwarf_tag(die);
		if (is_qualifier_tag(tag)) {
			Dwarf_Die t;
			if (!type_of(die, &t))
				return false; /* void */
			*die = t;
			continue;
		}
		Dwarf_Attribute sa;
		Dwarf_Die sig;
		if (dwarf_attr(die, DW_AT_signature, &sa) && dwarf_formref_die(&sa, &sig) &&
		    sig.addr != die->addr) {
			*die = sig; /* stub of a type in a type unit (-fdebug-types-section) */
			continue;
		}
		if (is_struct_tag(tag) && has_flag(die, DW_AT_declaration)) {
			const char *n = die_name(die);
			uint64_t v;
			Dwarf_Die def;
			if (n && tli_strmap_get(d->types, n, &v) && IDX_RANK(v) != RANK_DECL &&
			    offdie(d, v, &def) && dwarf_tag(&def) == tag) {
				*die = def;
				continue;
			}
		}
		return true;
	}
	return false;
}

static struct tli_error *array_size(struct tli_dwarf *d, Dwarf_Die *arr, const char *what,
				    int depth, uint64_t *ret)
{
	Dwarf_Die elem;
	if (!type_of(arr, &elem))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: array without element type", what);
	uint64_t esz;
	struct tli_error *err = tli_dw_size_of(d, &elem, what, depth + 1, &esz);
	if (err)
		return err;
	uint64_t total = esz;
	Dwarf_Die sub;
	int n = 0;
	if (dwarf_child(arr, &sub) == 0) {
		do {
			if (++n > 64)
				return tli_error_create(TLI_E_BAD_FORMAT, "%s: array with >64 dimensions", what);
			int tag = dwarf_tag(&sub);
			if (tag != DW_TAG_subrange_type && tag != DW_TAG_enumeration_type)
				continue;
			Dwarf_Attribute a;
			Dwarf_Word cnt = 0, lo = 0, hi;
			if (dwarf_attr(&sub, DW_AT_count, &a)) {
				if (dwarf_formudata(&a, &cnt) != 0)
					cnt = 0; /* non-constant (VLA) */
			} else if (dwarf_attr(&sub, DW_AT_upper_bound, &a) &&
				   dwarf_formudata(&a, &hi) == 0) {
				Dwarf_Attribute la;
				if (dwarf_attr(&sub, DW_AT_lower_bound, &la) &&
				    dwarf_formudata(&la, &lo) != 0)
					lo = 0;
				/* upper_bound of an empty C array may be -1 */
				cnt = (hi >= lo && hi != (Dwarf_Word)-1) ? hi - lo + 1 : 0;
			} else {
				cnt = 0; /* flexible array member */
			}
			if (cnt && total > UINT64_MAX / cnt)
				return tli_error_create(TLI_E_BAD_FORMAT, "%s: array size overflows", what);
			total *= cnt;
		} while (dwarf_siblingof(&sub, &sub) == 0);
	}
	*ret = total;
	return NULL;
}

struct tli_error *tli_dw_size_of(struct tli_dwarf *d, Dwarf_Die *die, const char *what,
				 int depth, uint64_t *ret)
{
	Dwarf_Die cur = *die;
	for (; depth < MAX_DEPTH; depth++) {
		Dwarf_Attribute a;
		Dwarf_Word w;
		int tag = dwarf_tag(&cur);
		if (dwarf_attr(&cur, DW_AT_byte_size, &a)) {
			if (dwarf_formudata(&a, &w) != 0)
				return tli_error_create(TLI_E_UNSUPPORTED,
							"%s: non-constant DW_AT_byte_size", what);
			*ret = w;
			return NULL;
		}
		switch (tag) {
		case DW_TAG_array_type:
			return array_size(d, &cur, what, depth, ret);
		case DW_TAG_pointer_type:
		case DW_TAG_reference_type:
		case DW_TAG_rvalue_reference_type:
		case DW_TAG_ptr_to_member_type: {
			Dwarf_Die cu;
			uint8_t asz = 0, osz = 0;
			if (!dwarf_diecu(&cur, &cu, &asz, &osz) || asz == 0)
				asz = 8;
			*ret = asz;
			return NULL;
		}
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_class_type:
		case DW_TAG_enumeration_type: {
			Dwarf_Die def = cur;
			if (tli_dw_underlying(d, &def) && def.addr != cur.addr) {
				cur = def;
				continue;
			}
			if (tag == DW_TAG_enumeration_type && type_of(&cur, &def)) {
				cur = def;
				continue;
			}
			return tli_error_create(TLI_E_NO_INFO, "%s: type has no size (declaration only)",
						what);
		}
		default:
			if (is_qualifier_tag(tag)) {
				Dwarf_Die t;
				if (!type_of(&cur, &t))
					return tli_error_create(TLI_E_NO_INFO, "%s: type has no size (void)", what);
				cur = t;
				continue;
			}
			return tli_error_create(TLI_E_NO_INFO, "%s: type (DWARF tag 0x%x) has no size",
						what, tag);
		}
	}
	return tli_error_create(TLI_E_BAD_FORMAT, "%s: type chain longer than %d", what, MAX_DEPTH);
}

void tli_dwarf_type_names(struct tli_dwarf *d, bool (*fn)(void *arg, const char *name), void *arg)
{
	if (d && d->types)
		tli_strmap_foreach(d->types, fn, arg);
}
