/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_members.c
 * DWARF struct members: offset and size of a (dotted) member path, sizeof a
 * type, and the enumeration of a struct's members (ptype, explain).
 */
#include "dwarf_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_ANON_DEPTH 8      /* nested anonymous struct/union members */
#define MAX_PATH_PARTS 16     /* components of a dotted member path */

/* DW_AT_data_member_location (or data_bit_offset) of a member; 0 if absent (unions). */
static struct tli_error *member_location(struct tli_dwarf *d, Dwarf_Die *m, const char *what,
					uint64_t *ret)
{
	Dwarf_Attribute a;
	*ret = 0;
	if (!dwarf_attr(m, DW_AT_data_member_location, &a)) {
		if (dwarf_attr(m, DW_AT_data_bit_offset, &a)) {
			Dwarf_Word bits;
			if (dwarf_formudata(&a, &bits) != 0)
				return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad DW_AT_data_bit_offset", what);
			*ret = bits / 8;
		}
		return NULL;
	}
	switch (dwarf_whatform(&a)) {
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_udata:
	case DW_FORM_sdata:
	case DW_FORM_implicit_const: {
		Dwarf_Word w;
		if (dwarf_formudata(&a, &w) != 0)
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: bad DW_AT_data_member_location: %s",
						what, dwarf_errmsg(-1));
		*ret = w;
		return NULL;
	}
	default:
		break;
	}
	/* location expression: DW_OP_plus_uconst N, or DW_OP_constu N [DW_OP_plus] */
	Dwarf_Op *ops, buf[2];
	size_t n;
	if (!tli_dw_get_location(d, m, &a, &ops, &n, buf))
		return tli_error_create(TLI_E_UNSUPPORTED, "%s: unsupported DW_AT_data_member_location: %s",
					what, dwarf_errmsg(-1));
	if (n == 1 && (ops[0].atom == DW_OP_plus_uconst || ops[0].atom == DW_OP_constu)) {
		*ret = ops[0].number;
		return NULL;
	}
	if (n == 1 && ops[0].atom >= DW_OP_lit0 && ops[0].atom <= DW_OP_lit31) {
		*ret = ops[0].atom - DW_OP_lit0;
		return NULL;
	}
	if (n == 2 && ops[0].atom == DW_OP_constu && ops[1].atom == DW_OP_plus) {
		*ret = ops[0].number;
		return NULL;
	}
	return tli_error_create(TLI_E_UNSUPPORTED,
				"%s: DW_AT_data_member_location expression of %zu ops (first 0x%x)",
				what, n, n ? ops[0].atom : 0);
}

/*
 * Find member `name` among the children of struct/union `st`, looking through
 * anonymous struct/union members (C11) as if flattened. *off is the offset of
 * the member from the start of `st`.
 */
static struct tli_error *find_member(struct tli_dwarf *d, Dwarf_Die *st, const char *name,
				     const char *what, int depth, Dwarf_Die *ret, uint64_t *off,
				     bool *found)
{
	*found = false;
	Dwarf_Die c;
	if (dwarf_child(st, &c) != 0)
		return NULL;
	/* pass 1: a named member; pass 2: anonymous members */
	for (int pass = 0; pass < 2; pass++) {
		Dwarf_Die m = c;
		do {
			if (dwarf_tag(&m) != DW_TAG_member)
				continue;
			const char *mn = die_name(&m);
			if (pass == 0) {
				if (!mn || strcmp(mn, name) != 0)
					continue;
				struct tli_error *err = member_location(d, &m, what, off);
				if (err)
					return err;
				*ret = m;
				*found = true;
				return NULL;
			}
			if (mn || depth >= MAX_ANON_DEPTH)
				continue;
			Dwarf_Die t;
			if (!type_of(&m, &t) || !tli_dw_underlying(d, &t) || !is_struct_tag(dwarf_tag(&t)))
				continue;
			uint64_t inner, base;
			bool f;
			struct tli_error *err = find_member(d, &t, name, what, depth + 1, ret, &inner, &f);
			if (err)
				return err;
			if (!f)
				continue;
			if ((err = member_location(d, &m, what, &base)))
				return err;
			*off = base + inner;
			*found = true;
			return NULL;
		} while (dwarf_siblingof(&m, &m) == 0);
	}
	return NULL;
}

struct tli_error *tli_dwarf_member(struct tli_dwarf *d, const char *type, const char *member,
				   struct tli_member *ret)
{
	if (!d->dbg)
		return no_dwarf_err(d);
	char what[512];
	snprintf(what, sizeof(what), "DWARF of %s: %s.%s", d->debug_path, tli_dw_strip_kw(type), member);
	Dwarf_Die st;
	struct tli_error *err = tli_dw_find_type(d, type, &st);
	if (err)
		return err;
	char path[256];
	if (strlen(member) >= sizeof(path) || !*member)
		return tli_error_create(TLI_E_NO_INFO, "%s: bad member path", what);
	strcpy(path, member);
	uint64_t total = 0;
	char *save = NULL;
	int parts = 0;
	Dwarf_Die m;
	const char *prev = tli_dw_strip_kw(type);
	for (char *comp = strtok_r(path, ".", &save); comp; comp = strtok_r(NULL, ".", &save)) {
		if (++parts > MAX_PATH_PARTS)
			return tli_error_create(TLI_E_NO_INFO, "%s: member path too long", what);
		if (!tli_dw_underlying(d, &st) || !is_struct_tag(dwarf_tag(&st)))
			return tli_error_create(TLI_E_NO_INFO, "%s: %s is not a struct or union", what, prev);
		uint64_t off;
		bool found;
		if ((err = find_member(d, &st, comp, what, 0, &m, &off, &found)))
			return err;
		if (!found)
			return tli_error_create(TLI_E_NO_INFO, "%s has no member %s (in %s)", prev, comp,
						d->debug_path);
		if (total + off < total)
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: offset overflows", what);
		total += off;
		if (!type_of(&m, &st))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s: member %s has no type", what, comp);
		prev = comp;
	}
	if (!parts)
		return tli_error_create(TLI_E_NO_INFO, "%s: empty member path", what);
	uint64_t size;
	if ((err = tli_dw_size_of(d, &st, what, 0, &size)))
		return err;
	ret->offset = total;
	ret->size = size;
	return NULL;
}

struct tli_error *tli_dwarf_type_size(struct tli_dwarf *d, const char *type, uint64_t *ret)
{
	if (!d->dbg)
		return no_dwarf_err(d);
	Dwarf_Die t;
	struct tli_error *err = tli_dw_find_type(d, type, &t);
	if (err)
		return err;
	char what[512];
	snprintf(what, sizeof(what), "DWARF of %s: sizeof %s", d->debug_path, tli_dw_strip_kw(type));
	return tli_dw_size_of(d, &t, what, 0, ret);
}

/* A printable name of type DIE t into buf (bounded recursion). */
static void type_name_of(struct tli_dwarf *d, Dwarf_Die *t, char *buf, size_t cap, int depth)
{
	const char *n = die_name(t);
	if (n) {
		snprintf(buf, cap, "%s%s", dwarf_tag(t) == DW_TAG_structure_type && depth == 0 &&
						   strchr(n, '.') == NULL ? "struct " : "", n);
		return;
	}
	Dwarf_Die inner;
	int tag = dwarf_tag(t);
	if (depth > 8) {
		snprintf(buf, cap, "?");
		return;
	}
	char sub[128];
	if (tag == DW_TAG_pointer_type) {
		if (!type_of(t, &inner))
			snprintf(buf, cap, "*void");
		else {
			type_name_of(d, &inner, sub, sizeof(sub), depth + 1);
			snprintf(buf, cap, "*%s", sub);
		}
		return;
	}
	if (tag == DW_TAG_array_type) {
		uint64_t total = 0, esz = 0;
		char what[64] = "array";
		if (type_of(t, &inner)) {
			type_name_of(d, &inner, sub, sizeof(sub), depth + 1);
			struct tli_error *e1 = tli_dw_size_of(d, t, what, 0, &total);
			struct tli_error *e2 = tli_dw_size_of(d, &inner, what, 0, &esz);
			if (!e1 && !e2 && esz)
				snprintf(buf, cap, "[%llu]%s", (unsigned long long)(total / esz), sub);
			else
				snprintf(buf, cap, "[]%s", sub);
			tli_error_destroy(e1);
			tli_error_destroy(e2);
		} else
			snprintf(buf, cap, "[]?");
		return;
	}
	if (is_qualifier_tag(tag) && type_of(t, &inner)) {
		type_name_of(d, &inner, buf, cap, depth + 1);
		return;
	}
	if (is_struct_tag(tag)) {
		snprintf(buf, cap, "%s {...}", tag == DW_TAG_union_type ? "union" : "struct");
		return;
	}
	if (tag == DW_TAG_subroutine_type) {
		snprintf(buf, cap, "func");
		return;
	}
	snprintf(buf, cap, "?");
}

/* Array dimensions of a C array type ("[10]", "[2][3]") from its subranges; false if none is known. */
static bool c_dims(Dwarf_Die *arr, char *buf, size_t cap)
{
	Dwarf_Die sr;
	size_t k = 0;
	buf[0] = 0;
	if (dwarf_child(arr, &sr) != 0)
		return false;
	int n = 0;
	do {
		if (dwarf_tag(&sr) != DW_TAG_subrange_type || ++n > 8)
			continue;
		Dwarf_Attribute a;
		Dwarf_Word w;
		long long cnt = -1;
		if (dwarf_attr(&sr, DW_AT_count, &a) && dwarf_formudata(&a, &w) == 0)
			cnt = (long long)w;
		else if (dwarf_attr(&sr, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &w) == 0)
			cnt = (long long)w + 1;
		int r = cnt >= 0 ? snprintf(buf + k, cap - k, "[%lld]", cnt) : snprintf(buf + k, cap - k, "[]");
		if (r < 0 || (size_t)r >= cap - k)
			break;
		k += (size_t)r;
	} while (dwarf_siblingof(&sr, &sr) == 0);
	return k > 0;
}

/* A C type name the way C (and gdb) writes it: "char *", "struct malloc_chunk *", "int [4]",
 * "const char *", "void (*)(void *)" (bounded recursion). */
static void c_type_name(struct tli_dwarf *d, Dwarf_Die *t, char *buf, size_t cap, int depth)
{
	int tag = dwarf_tag(t);
	const char *n = die_name(t);
	Dwarf_Die inner;
	char sub[200];
	if (depth > 8) {
		snprintf(buf, cap, "?");
		return;
	}
	if (n) {
		const char *kw = tag == DW_TAG_structure_type ? "struct " : tag == DW_TAG_union_type ? "union "
			       : tag == DW_TAG_enumeration_type ? "enum " : "";
		snprintf(buf, cap, "%s%s", kw, n);
		return;
	}
	switch (tag) {
	case DW_TAG_pointer_type:
		if (!type_of(t, &inner)) {
			snprintf(buf, cap, "void *");
		} else if (dwarf_tag(&inner) == DW_TAG_subroutine_type) {
			Dwarf_Die ret, p;
			if (type_of(&inner, &ret))
				c_type_name(d, &ret, sub, sizeof(sub), depth + 1);
			else
				snprintf(sub, sizeof(sub), "void");
			size_t k = (size_t)snprintf(buf, cap, "%s (*)(", sub);
			int np = 0;
			if (dwarf_child(&inner, &p) == 0) {
				do {
					if (k >= cap)
						break;
					if (dwarf_tag(&p) == DW_TAG_unspecified_parameters) {
						k += (size_t)snprintf(buf + k, cap - k, "%s...", np++ ? ", " : "");
						continue;
					}
					Dwarf_Die pt;
					if (dwarf_tag(&p) != DW_TAG_formal_parameter || !type_of(&p, &pt))
						continue;
					c_type_name(d, &pt, sub, sizeof(sub), depth + 1);
					k += (size_t)snprintf(buf + k, cap - k, "%s%s", np++ ? ", " : "", sub);
				} while (dwarf_siblingof(&p, &p) == 0);
			}
			if (k < cap)
				snprintf(buf + k, cap - k, "%s)", np ? "" : "void");
		} else {
			c_type_name(d, &inner, sub, sizeof(sub), depth + 1);
			size_t l = strlen(sub);
			snprintf(buf, cap, "%s%s*", sub, l && sub[l - 1] == '*' ? "" : " ");
		}
		return;
	case DW_TAG_array_type: {
		char dims[64];
		if (!type_of(t, &inner))
			snprintf(sub, sizeof(sub), "?");
		else
			c_type_name(d, &inner, sub, sizeof(sub), depth + 1);
		if (!c_dims(t, dims, sizeof(dims)))
			snprintf(dims, sizeof(dims), "[]");
		snprintf(buf, cap, "%s %s", sub, dims);
		return;
	}
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
		if (!type_of(t, &inner)) {
			snprintf(buf, cap, "%s void", tag == DW_TAG_const_type ? "const" : "volatile");
			return;
		}
		c_type_name(d, &inner, sub, sizeof(sub), depth + 1);
		if (dwarf_tag(&inner) == DW_TAG_pointer_type)
			snprintf(buf, cap, "%s %s", sub, tag == DW_TAG_const_type ? "const" : "volatile");
		else
			snprintf(buf, cap, "%s %s", tag == DW_TAG_const_type ? "const" : "volatile", sub);
		return;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		snprintf(buf, cap, "%s {...}", tag == DW_TAG_structure_type ? "struct" : tag == DW_TAG_union_type
			 ? "union" : "enum");
		return;
	default:
		if (is_qualifier_tag(tag) && type_of(t, &inner)) {
			c_type_name(d, &inner, buf, cap, depth + 1);
			return;
		}
		snprintf(buf, cap, "?");
	}
}

/* Whether the unit of `die` is Go (Go's type notation) or another language (C's). */
static bool is_go_unit(Dwarf_Die *die)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return false;
	return dwarf_srclang(&cu) == DW_LANG_Go;
}

static struct tli_error *members(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn, void *arg,
				 uint64_t *size_ret, bool native)
{
	if (!d->dbg)
		return no_dwarf_err(d);
	char what[512];
	snprintf(what, sizeof(what), "DWARF of %s: members of %s", d->debug_path, tli_dw_strip_kw(type));
	Dwarf_Die st;
	struct tli_error *err = tli_dw_find_type(d, type, &st);
	if (err)
		return err;
	if (!tli_dw_underlying(d, &st) || !is_struct_tag(dwarf_tag(&st)))
		return tli_error_create(TLI_E_NO_INFO, "%s: %s is not a struct or union", what, tli_dw_strip_kw(type));
	if (size_ret) {
		if ((err = tli_dw_size_of(d, &st, what, 0, size_ret)))
			return err;
	}
	bool go = !native || is_go_unit(&st);
	Dwarf_Die m;
	if (dwarf_child(&st, &m) != 0)
		return NULL;
	unsigned n = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		if (++n > 4096)
			return tli_error_create(TLI_E_CORRUPT, "%s: more than 4096 members", what);
		const char *mn = die_name(&m);
		uint64_t off = 0, sz = 0;
		if ((err = member_location(d, &m, what, &off)))
			return err;
		char tn[256] = "?";
		Dwarf_Die t;
		if (type_of(&m, &t)) {
			if (go)
				type_name_of(d, &t, tn, sizeof(tn), 0);
			else
				c_type_name(d, &t, tn, sizeof(tn), 0);
			if (tli_error_drop(tli_dw_size_of(d, &t, what, 0, &sz)))
				sz = 0;
		}
		if (!fn(arg, mn ? mn : "", tn, off, sz))
			return NULL;
	} while (dwarf_siblingof(&m, &m) == 0);
	return NULL;
}

struct tli_error *tli_dwarf_members(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn, void *arg,
				    uint64_t *size_ret)
{
	return members(d, type, fn, arg, size_ret, false);
}

struct tli_error *tli_dwarf_members_native(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn,
					   void *arg, uint64_t *size_ret)
{
	return members(d, type, fn, arg, size_ret, true);
}
