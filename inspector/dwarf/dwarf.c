/* SPDX-License-Identifier: MIT */
/*
 * DWARF provider on libdw. At open, every top-level DIE of every unit is
 * visited once and named types, variables and constants go into hash maps
 * (name → DIE offset + a rank). Queries then jump straight to the DIE with
 * dwarf_offdie and walk only that type's members.
 *
 * The DWARF is untrusted: type chains are followed at most MAX_DEPTH steps,
 * anonymous-member recursion is bounded, sizes are overflow-checked, and
 * every libdw failure becomes an error value.
 */
#include "core/fileio.h"
#include "dwarf.h"
#include "core/hash.h"
#include "elfsym.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_DEPTH 64          /* typedef/cv/array chains */
#define MAX_ANON_DEPTH 8      /* nested anonymous struct/union members */
#define MAX_PATH_PARTS 16     /* components of a dotted member path */
#define MAX_TOP_DIES (256u * 1024 * 1024)
#define DEFAULT_DEBUG_DIR "/usr/lib/debug"

/* ================= the DWARF handle ================= */

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
	struct tli_elfinfo info;
	int fd, dfd;
	Elf *elf, *delf;
	Dwarf *dbg;
	bool msb; /* big-endian ELF */
	struct tli_strmap *types, *vars, *consts;
	struct tli_dwarf_stats stats;
};

bool tli_dwarf_has_dwarf(const struct tli_dwarf *d)
{
	return d && d->dbg;
}
const char *tli_dwarf_debug_path(const struct tli_dwarf *d)
{
	return d && d->dbg ? d->debug_path : NULL;
}
const char *tli_dwarf_debug_method(const struct tli_dwarf *d)
{
	return d->method;
}
const char *tli_dwarf_path(const struct tli_dwarf *d)
{
	return d->path;
}
const char *tli_dwarf_why_none(const struct tli_dwarf *d)
{
	return d->dbg ? "" : d->why;
}
void tli_dwarf_get_stats(const struct tli_dwarf *d, struct tli_dwarf_stats *ret)
{
	*ret = d->stats;
}

struct tli_error *tli_dwarf_build_id(const struct tli_dwarf *d, uint8_t *buf, size_t cap,
				     size_t *len)
{
	if (!d->info.build_id_len)
		return tli_error_create(TLI_E_NO_INFO, "%s has no GNU build-id", d->path);
	if (cap < d->info.build_id_len)
		return tli_error_create(TLI_E_INTERNAL, "build-id buffer too small (%zu < %zu)", cap,
					d->info.build_id_len);
	memcpy(buf, d->info.build_id, d->info.build_id_len);
	*len = d->info.build_id_len;
	return NULL;
}

void tli_dwarf_close(struct tli_dwarf *d)
{
	if (!d)
		return;
	/* maps borrow their keys from the Dwarf: free them first */
	tli_strmap_free(d->types);
	tli_strmap_free(d->vars);
	tli_strmap_free(d->consts);
	if (d->dbg)
		dwarf_end(d->dbg);
	if (d->delf)
		elf_end(d->delf);
	if (d->dfd >= 0)
		close(d->dfd);
	if (d->elf)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d->debug_path);
	free(d);
}

/* ---------- helpers ---------- */

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

static bool is_struct_tag(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type;
}

static bool is_qualifier_tag(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
	       tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type ||
	       tag == DW_TAG_immutable_type || tag == DW_TAG_packed_type ||
	       tag == DW_TAG_shared_type;
}

/* Follow DW_AT_type of `die` into *ret. */
static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a))
		return false;
	return dwarf_formref_die(&a, ret) != NULL;
}

static bool has_flag(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	bool f = false;
	if (!dwarf_attr(die, at, &a))
		return false;
	return dwarf_formflag(&a, &f) == 0 && f;
}

static bool offdie(struct tli_dwarf *d, uint64_t v, Dwarf_Die *ret)
{
	Dwarf_Off off = v & IDX_OFF_MASK;
	if (v & IDX_TYPES)
		return dwarf_offdie_types(d->dbg, off, ret) != NULL;
	return dwarf_offdie(d->dbg, off, ret) != NULL;
}

static struct tli_error *no_dwarf_err(struct tli_dwarf *d)
{
	return tli_error_create(TLI_E_NO_INFO, "%s", d->why);
}

/* Strip "struct "/"union "/"enum "/"class " from a C-style query. */
static const char *strip_kw(const char *name)
{
	static const char *const kw[] = { "struct ", "union ", "enum ", "class " };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t n = strlen(kw[i]);
		if (strncmp(name, kw[i], n) == 0)
			return name + n;
	}
	return name;
}

/* Look a type up by name in the index. */
static struct tli_error *find_type(struct tli_dwarf *d, const char *name, Dwarf_Die *ret)
{
	uint64_t v;
	const char *n = strip_kw(name);
	if (!tli_strmap_get(d->types, n, &v))
		return tli_error_create(TLI_E_NO_INFO, "no type %s in DWARF of %s", n, d->debug_path);
	if (!offdie(d, v, ret))
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: type %s: bad DIE offset 0x%llx: %s",
					d->debug_path, n, (unsigned long long)(v & IDX_OFF_MASK),
					dwarf_errmsg(-1));
	return NULL;
}

/*
 * Strip typedefs and qualifiers; if the result is a struct declaration,
 * replace it with the definition found by name. On return *die is the
 * underlying type. Returns false if the chain is broken or too long.
 */
static bool underlying(struct tli_dwarf *d, Dwarf_Die *die)
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

static struct tli_error *size_of(struct tli_dwarf *d, Dwarf_Die *die, const char *what,
				 int depth, uint64_t *ret);

static struct tli_error *array_size(struct tli_dwarf *d, Dwarf_Die *arr, const char *what,
				    int depth, uint64_t *ret)
{
	Dwarf_Die elem;
	if (!type_of(arr, &elem))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: array without element type", what);
	uint64_t esz;
	struct tli_error *err = size_of(d, &elem, what, depth + 1, &esz);
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

static struct tli_error *size_of(struct tli_dwarf *d, Dwarf_Die *die, const char *what,
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
			if (underlying(d, &def) && def.addr != cur.addr) {
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

static bool get_location(struct tli_dwarf *d, Dwarf_Die *die, Dwarf_Attribute *a, Dwarf_Op **ops,
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
	if (!get_location(d, m, &a, &ops, &n, buf))
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
			if (!type_of(&m, &t) || !underlying(d, &t) || !is_struct_tag(dwarf_tag(&t)))
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
	snprintf(what, sizeof(what), "DWARF of %s: %s.%s", d->debug_path, strip_kw(type), member);
	Dwarf_Die st;
	struct tli_error *err = find_type(d, type, &st);
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
	const char *prev = strip_kw(type);
	for (char *comp = strtok_r(path, ".", &save); comp; comp = strtok_r(NULL, ".", &save)) {
		if (++parts > MAX_PATH_PARTS)
			return tli_error_create(TLI_E_NO_INFO, "%s: member path too long", what);
		if (!underlying(d, &st) || !is_struct_tag(dwarf_tag(&st)))
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
	if ((err = size_of(d, &st, what, 0, &size)))
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
	struct tli_error *err = find_type(d, type, &t);
	if (err)
		return err;
	char what[512];
	snprintf(what, sizeof(what), "DWARF of %s: sizeof %s", d->debug_path, strip_kw(type));
	return size_of(d, &t, what, 0, ret);
}

/* Look a variable up; *loc gets its single location expression. */
static struct tli_error *var_location(struct tli_dwarf *d, const char *name, Dwarf_Die *die,
				     Dwarf_Attribute *attr, Dwarf_Op **ops, size_t *n, Dwarf_Op *buf)
{
	uint64_t v;
	if (!d->dbg)
		return no_dwarf_err(d);
	if (!tli_strmap_get(d->vars, name, &v))
		return tli_error_create(TLI_E_NO_INFO, "no variable %s in DWARF of %s", name,
					d->debug_path);
	if (IDX_RANK(v) != RANK_DEF)
		return tli_error_create(TLI_E_NO_INFO, "variable %s is only declared in DWARF of %s",
					name, d->debug_path);
	if (!offdie(d, v, die))
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: variable %s: bad DIE offset",
					d->debug_path, name);
	if (!dwarf_attr(die, DW_AT_location, attr))
		return tli_error_create(TLI_E_NO_INFO, "variable %s has no location in DWARF of %s",
					name, d->debug_path);
	if (!get_location(d, die, attr, ops, n, buf))
		return tli_error_create(TLI_E_NO_INFO,
					"variable %s has no single static location in DWARF of %s: %s",
					name, d->debug_path, dwarf_errmsg(-1));
	return NULL;
}

struct tli_error *tli_dwarf_global(struct tli_dwarf *d, const char *name, struct tli_global *ret)
{
	Dwarf_Die die;
	Dwarf_Attribute attr;
	Dwarf_Op *ops, buf[2];
	size_t n;
	struct tli_error *err = var_location(d, name, &die, &attr, &ops, &n, buf);
	if (err)
		return err;
	uint64_t addr;
	if (n == 1 && ops[0].atom == DW_OP_addr) {
		addr = ops[0].number;
	} else if (n == 1 && (ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index)) {
		Dwarf_Attribute res;
		Dwarf_Addr a;
		if (dwarf_getlocation_attr(&attr, &ops[0], &res) != 0 || dwarf_formaddr(&res, &a) != 0)
			return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: variable %s: bad DW_OP_addrx",
						d->debug_path, name);
		addr = a;
	} else {
		return tli_error_create(TLI_E_NO_INFO,
					"variable %s is not at a static address in DWARF of %s (op 0x%x)",
					name, d->debug_path, ops[0].atom);
	}
	ret->addr = addr;
	ret->size = 0;
	Dwarf_Die t;
	uint64_t sz;
	if (type_of(&die, &t)) {
		char what[300];
		snprintf(what, sizeof(what), "variable %s", name);
		struct tli_error *e = size_of(d, &t, what, 0, &sz);
		if (!e)
			ret->size = sz;
		tli_error_destroy(e);
	}
	return NULL;
}

struct tli_error *tli_dwarf_tls_offset(struct tli_dwarf *d, const char *name, uint64_t *ret)
{
	Dwarf_Die die;
	Dwarf_Attribute attr;
	Dwarf_Op *ops, buf[2];
	size_t n;
	struct tli_error *err = var_location(d, name, &die, &attr, &ops, &n, buf);
	if (err)
		return err;
	if (n == 2 &&
	    (ops[0].atom == DW_OP_const8u || ops[0].atom == DW_OP_const4u ||
	     ops[0].atom == DW_OP_constu || ops[0].atom == DW_OP_const2u ||
	     ops[0].atom == DW_OP_const1u) &&
	    (ops[1].atom == DW_OP_form_tls_address || ops[1].atom == DW_OP_GNU_push_tls_address)) {
		*ret = ops[0].number;
		return NULL;
	}
	return tli_error_create(TLI_E_NO_INFO, "variable %s is not thread-local in DWARF of %s",
				name, d->debug_path);
}

/*
 * Index flags describing the type of a constant: signedness and byte size.
 * DW_FORM_dataN constants are sign-extended only when the type is signed and
 * N equals its size (a raw object representation); otherwise they are
 * zero-extended: GCC writes non-negative values in the smallest dataN and
 * negative ones as sdata (e.g. 200 in an int enum is data1 0xc8).
 */
static uint64_t const_type_flags(struct tli_dwarf *d, Dwarf_Die *t)
{
	Dwarf_Die u = *t;
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (!underlying(d, &u))
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

/* ---------- indexing ---------- */

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
			uint64_t cf = const_type_flags(d, die);
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
			uint64_t cf = type_of(die, &t) ? const_type_flags(d, &t) : 0;
			ok = idx_put(d->consts, name, off, RANK_TYPEDEF, tflag | cf);
		}
		ok = ok && idx_put(d->vars, name, off, has_loc ? RANK_DEF : RANK_DECL, tflag);
		break;
	}
	case DW_TAG_constant: {
		if (!(name = die_name(die)))
			break;
		Dwarf_Die t;
		uint64_t cf = type_of(die, &t) ? const_type_flags(d, &t) : 0;
		ok = idx_put(d->consts, name, off, RANK_DEF, tflag | cf);
		break;
	}
	default:
		break;
	}
	return ok ? NULL : &tli_enomem;
}

static struct tli_error *build_index(struct tli_dwarf *d)
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

/* ---------- finding the debug info ---------- */

static bool file_crc32(const char *path, uint32_t *ret)
{
	int fd = tli_open_regular(path);
	if (fd < 0)
		return false;
	uLong crc = crc32(0L, Z_NULL, 0);
	unsigned char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	close(fd);
	if (n < 0)
		return false;
	*ret = (uint32_t)crc;
	return true;
}

/*
 * Try a candidate debug file. Accept it if it is an ELF with .debug_info,
 * its build-id (if both have one) matches, and (if want_crc) its CRC matches.
 * On success the handles go into d->dfd/d->delf/d->dbg.
 */
static bool try_debug_file(struct tli_dwarf *d, const char *cand, bool want_crc, uint32_t crc)
{
	struct stat st, self;
	if (stat(cand, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if (stat(d->path, &self) == 0 && self.st_dev == st.st_dev && self.st_ino == st.st_ino)
		return false; /* the file itself */
	if (want_crc) {
		uint32_t c;
		if (!file_crc32(cand, &c) || c != crc)
			return false;
	}
	int fd = open(cand, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct tli_elfinfo di;
	struct tli_error *err = NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF || (err = tli_elf_info_from_elf(elf, cand, &di)) ||
	    !di.has_debug_info ||
	    (d->info.build_id_len && di.build_id_len &&
	     (di.build_id_len != d->info.build_id_len ||
	      memcmp(di.build_id, d->info.build_id, di.build_id_len) != 0)))
		goto fail;
	Dwarf *dbg = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dbg)
		goto fail;
	d->dfd = fd;
	d->delf = elf;
	d->dbg = dbg;
	d->debug_path = strdup(cand);
	return d->debug_path != NULL;
fail:
	tli_error_destroy(err);
	if (elf)
		elf_end(elf);
	close(fd);
	return false;
}

static bool find_separate(struct tli_dwarf *d, const char *const *dirs, size_t ndirs)
{
	char cand[PATH_MAX + 64];
	char hex[2 * TLI_BUILD_ID_MAX + 1];
	if (d->info.build_id_len >= 2) {
		tli_build_id_hex(d->info.build_id, d->info.build_id_len, hex, sizeof(hex));
		for (size_t i = 0; i < ndirs; i++) {
			if (snprintf(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", dirs[i], hex,
				     hex + 2) >= (int)sizeof(cand))
				continue;
			if (try_debug_file(d, cand, false, 0)) {
				d->method = "build-id";
				return true;
			}
		}
	}
	if (d->info.has_debuglink) {
		char real[PATH_MAX];
		char dir[PATH_MAX];
		if (!realpath(d->path, real))
			snprintf(real, sizeof(real), "%s", d->path);
		snprintf(dir, sizeof(dir), "%s", real);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		const char *name = d->info.debuglink;
		const char *fmts[] = { "%s/%s", "%s/.debug/%s" };
		for (size_t f = 0; f < 2; f++) {
			if (snprintf(cand, sizeof(cand), fmts[f], dir, name) < (int)sizeof(cand) &&
			    try_debug_file(d, cand, true, d->info.debuglink_crc)) {
				d->method = "debuglink";
				return true;
			}
		}
		for (size_t i = 0; i < ndirs; i++) {
			if (snprintf(cand, sizeof(cand), "%s%s%s/%s", dirs[i], dir[0] == '/' ? "" : "/",
				     dir, name) < (int)sizeof(cand) &&
			    try_debug_file(d, cand, true, d->info.debuglink_crc)) {
				d->method = "debuglink";
				return true;
			}
		}
	}
	return false;
}

struct tli_error *tli_dwarf_open(const char *path, const struct tli_dwarf_opts *opts,
				 struct tli_dwarf **ret)
{
	*ret = NULL;
	static const char *const def_dirs[] = { DEFAULT_DEBUG_DIR };
	const char *const *dirs = def_dirs;
	size_t ndirs = 1;
	if (opts && opts->debug_dirs && opts->n_debug_dirs) {
		dirs = opts->debug_dirs;
		ndirs = opts->n_debug_dirs;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return tli_error_create(TLI_E_INTERNAL, "libelf: version mismatch");
	struct tli_dwarf *d = calloc(1, sizeof(*d));
	if (!d)
		return &tli_enomem;
	d->fd = d->dfd = -1;
	d->method = "none";
	struct tli_error *err = NULL;
	if (!(d->path = strdup(path))) {
		err = &tli_enomem;
		goto fail;
	}
	d->fd = tli_open_regular(path);
	if (d->fd < 0) {
		err = tli_error_errno(errno == EACCES ? TLI_E_PERM : TLI_E_NO_TARGET, errno,
				      "cannot open %s", path);
		goto fail;
	}
	d->elf = elf_begin(d->fd, ELF_C_READ_MMAP, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s: not an ELF file%s%s", path,
				       d->elf ? "" : ": ", d->elf ? "" : elf_errmsg(-1));
		goto fail;
	}
	if ((err = tli_elf_info_from_elf(d->elf, path, &d->info)))
		goto fail;
	{
		GElf_Ehdr eh;
		d->msb = gelf_getehdr(d->elf, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;
	}

	if (opts && opts->no_dwarf) {
		d->method = "disabled";
		snprintf(d->why, sizeof(d->why), "DWARF use disabled (--no-dwarf) for %s", path);
		*ret = d;
		return NULL;
	}
	if (!(opts && opts->separate_only) && d->info.has_debug_info) {
		d->dbg = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
		if (d->dbg) {
			d->method = "embedded";
			if (!(d->debug_path = strdup(path))) {
				err = &tli_enomem;
				goto fail;
			}
		}
	}
	if (!d->dbg && !find_separate(d, dirs, ndirs)) {
		char hex[2 * TLI_BUILD_ID_MAX + 1];
		tli_build_id_hex(d->info.build_id, d->info.build_id_len, hex, sizeof(hex));
		char dl[400] = "";
		if (d->info.has_debuglink)
			snprintf(dl, sizeof(dl), " or debuglink %s", d->info.debuglink);
		size_t o = (size_t)snprintf(d->why, sizeof(d->why), "no DWARF in %s (and no separate debug info found for %s%s%s in ",
				     path, d->info.build_id_len ? "build-id " : "",
				     d->info.build_id_len ? hex : "a file without build-id", dl);
		for (size_t i = 0; i < ndirs && o < sizeof(d->why); i++)
			o += (size_t)snprintf(d->why + o, sizeof(d->why) - o, "%s%s", i ? ", " : "", dirs[i]);
		if (o < sizeof(d->why))
			snprintf(d->why + o, sizeof(d->why) - o, ")");
		*ret = d;
		return NULL;
	}
	if (!d->dbg) {
		err = &tli_enomem;
		goto fail;
	}
	if ((err = build_index(d)))
		goto fail;
	*ret = d;
	return NULL;
fail:
	tli_dwarf_close(d);
	return err;
}

/* ---------- provider ---------- */

static struct tli_error *p_member(void *p, const char *type, const char *member,
				  struct tli_member *ret)
{
	return tli_dwarf_member(p, type, member, ret);
}
static struct tli_error *p_type_size(void *p, const char *type, uint64_t *ret)
{
	return tli_dwarf_type_size(p, type, ret);
}
static struct tli_error *p_global(void *p, const char *name, struct tli_global *ret)
{
	return tli_dwarf_global(p, name, ret);
}
static struct tli_error *p_constant(void *p, const char *name, int64_t *ret)
{
	return tli_dwarf_constant(p, name, ret);
}
static void p_destroy(void *p)
{
	tli_dwarf_close(p);
}

const struct tli_layout_provider_ops tli_dwarf_provider_ops = {
	.name = "dwarf",
	.member = p_member,
	.type_size = p_type_size,
	.global = p_global,
	.constant = p_constant,
	.destroy = p_destroy,
};

struct tli_error *tli_dwarf_add_to_layout(struct tli_dwarf *d, struct tli_layout *l)
{
	char label[PATH_MAX + 32];
	if (d->dbg)
		snprintf(label, sizeof(label), "dwarf %s", d->debug_path);
	else
		snprintf(label, sizeof(label), "dwarf %s (%s)", d->path,
			 strcmp(d->method, "disabled") == 0 ? "disabled" : "none");
	return tli_layout_add_provider_labeled(l, &tli_dwarf_provider_ops, d, label);
}

/* ---------- member enumeration (tli_dwarf_members) ---------- */

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
			struct tli_error *e1 = size_of(d, t, what, 0, &total);
			struct tli_error *e2 = size_of(d, &inner, what, 0, &esz);
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

struct tli_error *tli_dwarf_members(struct tli_dwarf *d, const char *type, tli_dwarf_member_fn fn, void *arg,
				    uint64_t *size_ret)
{
	if (!d->dbg)
		return no_dwarf_err(d);
	char what[512];
	snprintf(what, sizeof(what), "DWARF of %s: members of %s", d->debug_path, strip_kw(type));
	Dwarf_Die st;
	struct tli_error *err = find_type(d, type, &st);
	if (err)
		return err;
	if (!underlying(d, &st) || !is_struct_tag(dwarf_tag(&st)))
		return tli_error_create(TLI_E_NO_INFO, "%s: %s is not a struct or union", what, strip_kw(type));
	if (size_ret) {
		if ((err = size_of(d, &st, what, 0, size_ret)))
			return err;
	}
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
			type_name_of(d, &t, tn, sizeof(tn), 0);
			struct tli_error *e = size_of(d, &t, what, 0, &sz);
			if (e) {
				tli_error_destroy(e);
				sz = 0;
			}
		}
		if (!fn(arg, mn ? mn : "", tn, off, sz))
			return NULL;
	} while (dwarf_siblingof(&m, &m) == 0);
	return NULL;
}

/* ---------- lazy provider: DWARF opened on the first query that reaches it ---------- */

struct lazy {
	char *exe;
	struct tli_dwarf_opts o;   /* debug_dirs not kept (session default) */
	struct tli_dwarf *d;
	struct tli_error *open_err;
	bool tried;
};

static struct tli_error *lazy_get(struct lazy *z, struct tli_dwarf **ret)
{
	if (!z->tried) {
		z->tried = true;
		z->open_err = tli_dwarf_open(z->exe, &z->o, &z->d);
	}
	if (z->open_err)
		return tli_error_create(z->open_err->code == TLI_E_NO_INFO ? TLI_E_NO_INFO : z->open_err->code,
					"%s", z->open_err->msg);
	*ret = z->d;
	return NULL;
}

static struct tli_error *lz_member(void *p, const char *t, const char *m, struct tli_member *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_member(d, t, m, ret);
}

static struct tli_error *lz_type_size(void *p, const char *t, uint64_t *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_type_size(d, t, ret);
}

static struct tli_error *lz_global(void *p, const char *n, struct tli_global *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_global(d, n, ret);
}

static struct tli_error *lz_constant(void *p, const char *n, int64_t *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_constant(d, n, ret);
}

static void lz_destroy(void *p)
{
	struct lazy *z = p;
	if (z->d)
		tli_dwarf_close(z->d);
	tli_error_destroy(z->open_err);
	free(z->exe);
	free(z);
}

static const struct tli_layout_provider_ops lazy_ops = {
	.name = "dwarf",
	.member = lz_member,
	.type_size = lz_type_size,
	.global = lz_global,
	.constant = lz_constant,
	.destroy = lz_destroy,
};

struct tli_error *tli_dwarf_add_lazy_to_layout(const char *exe, const struct tli_dwarf_opts *o,
					       struct tli_layout *l)
{
	struct lazy *z = calloc(1, sizeof(*z));
	if (!z || !(z->exe = strdup(exe))) {
		free(z);
		return &tli_enomem;
	}
	if (o) {
		z->o = *o;
		z->o.debug_dirs = NULL;
		z->o.n_debug_dirs = 0;
	}
	return tli_layout_add_provider(l, &lazy_ops, z); /* labelled "dwarf", like the eager one */
}

