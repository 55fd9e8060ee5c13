/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_location.c
 * DWARF location expressions: libdw's, or for DW_FORM_block* in DWARF 4+
 * units (which libdw refuses but Go emits) a small decoder of our own.
 */
#include "dwarf_int.h"

#include <string.h>

/*
 * libdw refuses DW_FORM_block* location attributes in DWARF 4+ units (only
 * exprloc is valid there), but Go emits DW_FORM_block1. Decode the few
 * expressions we need ourselves: DW_OP_addr A; DW_OP_constNu/constu V
 * followed by a TLS op; DW_OP_plus_uconst N. Bounds-checked.
 */
static bool uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *ret)
{
	uint64_t v = 0;
	for (unsigned shift = 0; *pos < len && shift < 64; shift += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

static bool decode_block(Dwarf_Attribute *a, bool msb, uint8_t asz, Dwarf_Op *ops, size_t *n)
{
	Dwarf_Block b;
	*n = 0;
	if (dwarf_formblock(a, &b) != 0 || !b.data)
		return false;
	size_t pos = 0;
	while (pos < b.length && *n < 2) {
		Dwarf_Op *op = &ops[(*n)++];
		memset(op, 0, sizeof(*op));
		op->atom = b.data[pos++];
		unsigned nb = 0;
		switch (op->atom) {
		case DW_OP_addr: nb = asz; break;
		case DW_OP_const1u: nb = 1; break;
		case DW_OP_const2u: nb = 2; break;
		case DW_OP_const4u: nb = 4; break;
		case DW_OP_const8u: nb = 8; break;
		case DW_OP_constu:
		case DW_OP_plus_uconst:
			if (!uleb(b.data, b.length, &pos, &op->number))
				return false;
			continue;
		case DW_OP_form_tls_address:
		case DW_OP_GNU_push_tls_address:
		case DW_OP_plus:
			continue;
		default:
			return false;
		}
		if (nb == 0 || nb > 8 || b.length - pos < nb)
			return false;
		uint64_t v = 0;
		for (unsigned i = 0; i < nb; i++) {
			uint8_t c = b.data[pos + (msb ? i : nb - 1 - i)];
			v = v << 8 | c;
		}
		op->number = v;
		pos += nb;
	}
	return pos == b.length && *n > 0;
}

bool tli_dw_get_location(struct tli_dwarf *d, Dwarf_Die *die, Dwarf_Attribute *a, Dwarf_Op **ops,
			 size_t *n, Dwarf_Op *buf)
{
	if (dwarf_getlocation(a, ops, n) == 0 && *n > 0)
		return true;
	Dwarf_Die cu;
	uint8_t asz = 0, osz = 0;
	if (!dwarf_diecu(die, &cu, &asz, &osz) || (asz != 4 && asz != 8))
		asz = 8;
	if (!decode_block(a, d->msb, asz, buf, n))
		return false;
	*ops = buf;
	return true;
}
