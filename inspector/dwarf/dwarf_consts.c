/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_consts.c
 * DWARF constants (DW_TAG_constant, enumerators, const-valued variables):
 * their values, sign-extended by the type flags the index recorded.
 */
#include "dwarf_int.h"

/*
 * Index flags describing the type of a constant: signedness and byte size.
 * DW_FORM_dataN constants are sign-extended only when the type is signed and
 * N equals its size (a raw object representation); otherwise they are
 * zero-extended: GCC writes non-negative values in the smallest dataN and
 * negative ones as sdata (e.g. 200 in an int enum is data1 0xc8).
 */
uint64_t tli_dw_const_type_flags(struct tli_dwarf *d, Dwarf_Die *t)
{
	Dwarf_Die u = *t;
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (!tli_dw_underlying(d, &u))
			return 0;
		if (dwarf_tag(&u) == DW_TAG_enumeration_type) {
			Dwarf_Die b;
			if (type_of(&u, &b)) {
				u = b;
				continue;
			}
			return 0; /* DWARF 2 enum: signedness unknown, zero-extend */
		}
		break;
	}
	Dwarf_Attribute a;
	Dwarf_Word enc, size;
	if (dwarf_tag(&u) != DW_TAG_base_type || !dwarf_attr(&u, DW_AT_encoding, &a) ||
	    dwarf_formudata(&a, &enc) != 0)
		return 0;
	if (!dwarf_attr(&u, DW_AT_byte_size, &a) || dwarf_formudata(&a, &size) != 0 || size > 15)
		size = 0;
	bool sgn = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
	return (sgn ? IDX_SIGNED : 0) | (uint64_t)size << IDX_TSIZE_SHIFT;
}

struct tli_error *tli_dwarf_constant(struct tli_dwarf *d, const char *name, int64_t *ret)
{
	uint64_t v;
	Dwarf_Die die;
	if (!d->dbg)
		return no_dwarf_err(d);
	if (!tli_strmap_get(d->consts, name, &v))
		return tli_error_create(TLI_E_NO_INFO, "no constant %s in DWARF of %s", name,
					d->debug_path);
	if (!offdie(d, v, &die))
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: constant %s: bad DIE offset",
					d->debug_path, name);
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(&die, DW_AT_const_value, &a))
		return tli_error_create(TLI_E_NO_INFO, "constant %s has no value in DWARF of %s", name,
					d->debug_path);
	unsigned form = dwarf_whatform(&a);
	Dwarf_Word u;
	Dwarf_Sword s;
	unsigned bytes = 0;
	switch (form) {
	case DW_FORM_sdata:
	case DW_FORM_implicit_const:
		if (dwarf_formsdata(&a, &s) != 0)
			break;
		*ret = s;
		return NULL;
	case DW_FORM_udata:
		if (dwarf_formudata(&a, &u) != 0)
			break;
		*ret = (int64_t)u;
		return NULL;
	case DW_FORM_data1: bytes = 1; goto dataN;
	case DW_FORM_data2: bytes = 2; goto dataN;
	case DW_FORM_data4: bytes = 4; goto dataN;
	case DW_FORM_data8: bytes = 8;
	dataN:
		if (dwarf_formudata(&a, &u) != 0)
			break;
		if (bytes < 8) {
			u &= (1ULL << (bytes * 8)) - 1;
			bool sign = (v & IDX_SIGNED) && IDX_TSIZE(v) == bytes;
			if (sign && (u >> (bytes * 8 - 1)) & 1)
				u |= ~((1ULL << (bytes * 8)) - 1);
		}
		*ret = (int64_t)u;
		return NULL;
	default:
		return tli_error_create(TLI_E_UNSUPPORTED,
					"constant %s in DWARF of %s has a non-integer value (form 0x%x)",
					name, d->debug_path, form);
	}
	return tli_error_create(TLI_E_BAD_FORMAT, "constant %s in DWARF of %s: bad value: %s", name,
				d->debug_path, dwarf_errmsg(-1));
}
