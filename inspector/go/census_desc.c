/* SPDX-License-Identifier: MIT */
/*
 * The heap census's view of Go's runtime type descriptors: their layouts by
 * name (internal/abi.PtrType, StructType, ... on go1.21+; runtime.ptrtype,
 * structtype, ... on go1.19), census types (a descriptor and how objects hold
 * it: one T, a backing array of T, a channel's or map's runtime object), and
 * each type's pointer-slot program: where its pointers are and what they point
 * to, flattened through struct fields and arrays. See census.h.
 *
 * Upstream: internal/abi/type.go (Type, PtrType, ArrayType, SliceType, ChanType,
 * StructType, StructField, InterfaceType, Name), internal/abi/map*.go (MapType,
 * OldMapType, SwissMapType), internal/abi/iface.go (ITab), go1.19 runtime/type.go.
 * reflect.Kind values (Array = 17 ... UnsafePointer = 26) are public API and
 * never changed.
 */
#include "census_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

enum { K_ARRAY = 17, K_CHAN, K_FUNC, K_IFACE, K_MAP, K_PTR, K_SLICE, K_STRING, K_STRUCT, K_UNSAFEPTR };

#define MAX_SLOTS_PER_TYPE 2048u
#define MAX_FLATTEN_DEPTH 12
#define MAX_FIELDS 4096u
#define MAX_FLATTEN_STEPS 65536u

static bool m1(struct tli_layout *l, const char *t, const char *m, uint32_t *off)
{
	struct tli_member x;
	if (!tli_layout_has_member(l, t, m, &x))
		return false;
	*off = (uint32_t)x.offset;
	return true;
}

/* the member under its go1.21+ name or its go1.19 one */
static bool m2(struct tli_layout *l, const char *t1, const char *n1, const char *t0, const char *n0, uint32_t *off)
{
	return m1(l, t1, n1, off) || m1(l, t0, n0, off);
}

static void resolve_maps(struct tli_layout *l, struct census_layout *L)
{
	L->has_hmap = m1(l, "runtime.hmap", "buckets", &L->hmap_buckets) &&
		      m1(l, "runtime.hmap", "oldbuckets", &L->hmap_oldbuckets);
	L->has_smap = m1(l, "internal/runtime/maps.Map", "dirPtr", &L->smap_dirptr) &&
		      m1(l, "internal/runtime/maps.Map", "dirLen", &L->smap_dirlen) &&
		      m1(l, "internal/runtime/maps.table", "groups.data", &L->stable_groups);
	/* the map type descriptor the compiled runtime uses */
	static const char *const mt[][4] = {
		{ "internal/abi.SwissMapType", "Key", "Elem", "Group" },
		{ "internal/abi.MapType", "Key", "Elem", "Group" },
		{ "internal/abi.MapType", "Key", "Elem", "Bucket" },
		{ "internal/abi.OldMapType", "Key", "Elem", "Bucket" },
		{ "runtime.maptype", "key", "elem", "bucket" },
	};
	for (size_t i = 0; i < sizeof(mt) / sizeof(mt[0]) && !L->has_map; i++) {
		bool swiss = !strcmp(mt[i][3], "Group");
		if (swiss ? !L->has_smap : !L->has_hmap)
			continue;
		L->has_map = m1(l, mt[i][0], mt[i][1], &L->map_key) && m1(l, mt[i][0], mt[i][2], &L->map_elem) &&
			     m1(l, mt[i][0], mt[i][3], &L->map_group);
		L->swiss = L->has_map && swiss;
	}
}

void census_layout_resolve(struct tli_go_census *c)
{
	struct tli_layout *l = tli_go_rt_layout(c->rt);
	struct census_layout *L = &c->L;
	tli_go_type_layout_resolve(l, &L->T);
	int64_t v;
	if (!tli_error_drop(tli_layout_constant(l, "internal/abi.TFlagDirectIface", &v)))
		L->tflag_direct = (uint8_t)v;
	else if (!tli_error_drop(tli_layout_constant(l, "internal/abi.KindDirectIface", &v)) ||
		 !tli_error_drop(tli_layout_constant(l, "runtime.kindDirectIface", &v)))
		L->kind_direct = (uint8_t)v;
	L->has_ptr = m2(l, "internal/abi.PtrType", "Elem", "runtime.ptrtype", "elem", &L->ptr_elem);
	L->has_arr = m2(l, "internal/abi.ArrayType", "Elem", "runtime.arraytype", "elem", &L->arr_elem) &&
		     m2(l, "internal/abi.ArrayType", "Len", "runtime.arraytype", "len", &L->arr_len);
	L->has_slice = m2(l, "internal/abi.SliceType", "Elem", "runtime.slicetype", "elem", &L->slice_elem);
	L->has_chan = m2(l, "internal/abi.ChanType", "Elem", "runtime.chantype", "elem", &L->chan_elem);
	uint64_t sfsz = 0;
	L->has_struct = m2(l, "internal/abi.StructType", "Fields", "runtime.structtype", "fields", &L->st_fields) &&
			m2(l, "internal/abi.StructField", "Name", "runtime.structfield", "name", &L->sf_name) &&
			m2(l, "internal/abi.StructField", "Typ", "runtime.structfield", "typ", &L->sf_typ) &&
			m2(l, "internal/abi.StructField", "Offset", "runtime.structfield", "offset", &L->sf_off) &&
			(!tli_error_drop(tli_layout_type_size(l, "internal/abi.StructField", &sfsz)) ||
			 !tli_error_drop(tli_layout_type_size(l, "runtime.structfield", &sfsz))) &&
			sfsz >= 24 && sfsz <= 64;
	L->sf_size = (uint32_t)sfsz;
	L->has_itab = m2(l, "internal/abi.ITab", "Type", "runtime.itab", "_type", &L->itab_type);
	L->has_hchan_buf = m1(l, "runtime.hchan", "buf", &L->hchan_buf);
	resolve_maps(l, L);
}

bool census_read(struct tli_go_census *c, uint64_t addr, void *buf, uint32_t len)
{
	const uint8_t *p = c->src.gb ? tli_gobin_view(c->src.gb, addr - c->src.bias, len) : NULL;
	if (p) {
		memcpy(buf, p, len);
		return true;
	}
	return addr && tli_target_plausible(c->src.t, addr, len) &&
	       !tli_error_drop(tli_target_read(c->src.t, addr, buf, len));
}

static bool rd64(struct tli_go_census *c, uint64_t addr, uint64_t *v)
{
	uint8_t b[8];
	if (!census_read(c, addr, b, 8))
		return false;
	*v = tli_rd64(b);
	return true;
}

uint32_t census_label(struct tli_go_census *c, const char *text)
{
	uint64_t id;
	if (tli_strmap_get(c->labidx, text, &id))
		return (uint32_t)id;
	char *d = strdup(text);
	if (!d || !tli_vec_push(&c->labels, d)) {
		free(d);
		c->oom = true;
		return 0;
	}
	id = c->labels.n - 1;
	tli_strmap_put(c->labidx, d, id);
	return (uint32_t)id;
}

static bool decode(struct tli_go_census *c, uint64_t desc, struct tli_go_type *ty)
{
	uint8_t tb[TLI_GO_TYPE_MAX_DESC];
	if (!desc || (desc & 7) || !tli_go_type_layout_ok(&c->L.T) || !census_read(c, desc, tb, c->L.T.type_size))
		return false;
	tli_go_type_decode(&c->L.T, tb, desc, ty);
	return ty->size < (1ull << 40) && ty->ptrbytes <= ty->size;
}

uint32_t census_ctype(struct tli_go_census *c, uint64_t desc, enum ct_kind kind)
{
	uint64_t key = desc | (uint64_t)kind, id = tli_u64map_get(&c->ctidx, key);
	if (id)
		return (uint32_t)id;
	struct ctype t = { .desc = desc, .kind = (uint8_t)kind };
	struct tli_go_type ty;
	if (kind != CT_UNTYPED && kind != CT_STRING && decode(c, desc, &ty)) {
		t.size = ty.size;
		t.tkind = (uint8_t)tli_go_type_kind(&ty);
		t.direct = (c->L.tflag_direct && (ty.tflag & c->L.tflag_direct)) ||
			   (c->L.kind_direct && (ty.kind_raw & c->L.kind_direct));
	}
	if (kind == CT_STRING)
		t.size = 1;
	if (!tli_vec_push(&c->ct, t) || !tli_u64map_put(&c->ctidx, key, c->ct.n - 1)) {
		c->oom = true;
		return 0;
	}
	id = c->ct.n - 1;
	if (kind == CT_ARRAY) {
		uint32_t e = census_ctype(c, desc, CT_PLAIN);
		c->ct.v[id].elem = e;
	}
	return (uint32_t)id;
}

/* ---- slot programs ---- */

struct flat {
	struct tli_go_census *c;
	size_t n;          /* slots pushed for this type */
	size_t steps;      /* descriptors visited: bogus ones may claim pointers and hold none */
	bool complete;
};

static void push_slot(struct flat *f, uint64_t off, enum slot_kind k, uint32_t target, const char *label)
{
	struct tli_go_census *c = f->c;
	if (f->n >= MAX_SLOTS_PER_TYPE || off > UINT32_MAX) {
		f->complete = false;
		return;
	}
	char al[300];
	snprintf(al, sizeof(al), "[]%s", label);
	struct slot s = { .off = (uint32_t)off, .kind = (uint8_t)k, .target = target, .label = census_label(c, label),
			  .alabel = census_label(c, al) };
	if (!tli_vec_push(&c->slots, s)) {
		c->oom = true;
		f->complete = false;
		return;
	}
	f->n++;
}

/* a field name (runtime/type.go name: flag byte, uvarint length, bytes) */
static bool field_name(struct tli_go_census *c, uint64_t p, char *buf, size_t cap)
{
	uint8_t nb[3];
	if (!census_read(c, p, nb, 3))
		return false;
	uint64_t len = nb[1] & 0x7f;
	int used = 1;
	if (nb[1] & 0x80) {
		len |= (uint64_t)(nb[2] & 0x7f) << 7;
		used = 2;
	}
	if (len == 0 || len >= cap || !census_read(c, p + 1 + (uint64_t)used, buf, (uint32_t)len))
		return false;
	buf[len] = 0;
	for (char *q = buf; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			*q = '?';
	return true;
}

static bool iface_is_empty(struct tli_go_census *c, uint64_t desc)
{
	/* InterfaceType{Type; PkgPath Name; Methods []Imethod}: the slice length
	 * follows PkgPath, right after the Type header */
	uint64_t n = 1;
	return rd64(c, desc + c->L.T.type_size + 16, &n) && n == 0;
}

static void flatten(struct flat *f, uint64_t desc, uint64_t off, const char *label, int depth);

static void flatten_struct(struct flat *f, uint64_t desc, uint64_t off, const char *label, int depth)
{
	struct tli_go_census *c = f->c;
	const struct census_layout *L = &c->L;
	uint64_t fp = 0, n = 0;
	if (!L->has_struct || !rd64(c, desc + L->st_fields, &fp) || !rd64(c, desc + L->st_fields + 8, &n) ||
	    n > MAX_FIELDS) {
		f->complete = false;
		return;
	}
	for (uint64_t i = 0; i < n && f->complete; i++) {
		uint8_t fb[64];
		if (++f->steps > MAX_FLATTEN_STEPS) {
			f->complete = false;
			return;
		}
		if (!census_read(c, fp + i * L->sf_size, fb, L->sf_size)) {
			f->complete = false;
			return;
		}
		uint64_t ft = tli_rd64(fb + L->sf_typ), fo = tli_rd64(fb + L->sf_off);
		struct tli_go_type ty;
		if (!decode(c, ft, &ty)) {
			f->complete = false;
			return;
		}
		if (!ty.ptrbytes)
			continue;
		char nm[128], sub[400];
		if (!field_name(c, tli_rd64(fb + L->sf_name), nm, sizeof(nm)))
			snprintf(nm, sizeof(nm), "?");
		snprintf(sub, sizeof(sub), "%s.%s", label, nm);
		flatten(f, ft, off + fo, sub, depth + 1);
	}
}

static void flatten_array(struct flat *f, uint64_t desc, uint64_t off, const char *label, int depth)
{
	struct tli_go_census *c = f->c;
	uint64_t et = 0, len = 0;
	struct tli_go_type ety;
	if (!c->L.has_arr || !rd64(c, desc + c->L.arr_elem, &et) || !rd64(c, desc + c->L.arr_len, &len) ||
	    !decode(c, et, &ety)) {
		f->complete = false;
		return;
	}
	if (!ety.ptrbytes)
		return;
	if (len > MAX_SLOTS_PER_TYPE) {   /* more pointers than a program holds: word by word */
		f->complete = false;
		return;
	}
	char sub[400];
	snprintf(sub, sizeof(sub), "%s[]", label);
	for (uint64_t i = 0; i < len && f->complete; i++)
		flatten(f, et, off + i * ety.size, sub, depth + 1);
}

static void flatten(struct flat *f, uint64_t desc, uint64_t off, const char *label, int depth)
{
	struct tli_go_census *c = f->c;
	const struct census_layout *L = &c->L;
	struct tli_go_type ty;
	if (depth > MAX_FLATTEN_DEPTH || ++f->steps > MAX_FLATTEN_STEPS || !decode(c, desc, &ty)) {
		f->complete = false;
		return;
	}
	if (L->T.has_gcdata && !ty.ptrbytes)
		return;
	uint64_t e = 0;
	switch (tli_go_type_kind(&ty)) {
	case K_PTR:
		if (L->has_ptr && rd64(c, desc + L->ptr_elem, &e))
			push_slot(f, off, SL_PTR, census_ctype(c, e, CT_PLAIN), label);
		else
			push_slot(f, off, SL_UNTYPED, 0, label);
		break;
	case K_SLICE:
		if (L->has_slice && rd64(c, desc + L->slice_elem, &e))
			push_slot(f, off, SL_SLICE, census_ctype(c, e, CT_ARRAY), label);
		else
			push_slot(f, off, SL_UNTYPED, 0, label);
		break;
	case K_STRING:
		push_slot(f, off, SL_STRING, census_ctype(c, 0, CT_STRING), label);
		break;
	case K_CHAN:
		push_slot(f, off, SL_CHAN, census_ctype(c, desc, CT_HCHAN), label);
		break;
	case K_MAP:
		if (L->has_map)
			push_slot(f, off, SL_MAP, census_ctype(c, desc, L->swiss ? CT_SMAP : CT_HMAP), label);
		else
			push_slot(f, off, SL_UNTYPED, 0, label);
		break;
	case K_IFACE:
		push_slot(f, off, iface_is_empty(c, desc) ? SL_EFACE : SL_IFACE, 0, label);
		break;
	case K_STRUCT:
		flatten_struct(f, desc, off, label, depth);
		break;
	case K_ARRAY:
		flatten_array(f, desc, off, label, depth);
		break;
	case K_FUNC:
	case K_UNSAFEPTR:
		push_slot(f, off, SL_UNTYPED, 0, label);
		break;
	default:
		/* a kind with pointers we do not know: scanned word by word */
		f->complete = false;
	}
}

void census_prog(struct tli_go_census *c, uint32_t id)
{
	if (!id || c->ct.v[id].prog_done)
		return;
	c->ct.v[id].prog_done = true;
	struct flat f = { .c = c, .complete = true };
	size_t start = c->slots.n;
	uint64_t desc = c->ct.v[id].desc;
	if (c->ct.v[id].kind != CT_PLAIN || !c->ct.v[id].size)
		f.complete = false;
	else
		flatten(&f, desc, 0, "", 0);
	c->ct.v[id].prog = (uint32_t)start;
	c->ct.v[id].nprog = (uint32_t)(c->slots.n - start);
	c->ct.v[id].prog_complete = f.complete;
}

uint64_t census_iface_type(struct tli_go_census *c, uint64_t word, bool itab)
{
	if (!word || (word & 7))
		return 0;
	if (!itab)
		return word;
	uint64_t v = tli_u64map_get(&c->itabs, word);
	if (v)
		return v - 1;
	uint64_t t = 0;
	if (!c->L.has_itab || !rd64(c, word + c->L.itab_type, &t))
		t = 0;
	tli_u64map_put(&c->itabs, word, t + 1);
	return t;
}

/* ---- names ---- */

static void type_name(struct tli_go_census *c, uint64_t desc, char *buf, size_t cap)
{
	struct tli_go_type ty;
	if (!decode(c, desc, &ty) || !tli_go_type_name(&c->src, &ty, buf, cap) || !buf[0])
		snprintf(buf, cap, "type 0x%" PRIx64, desc);
}

void census_name_all(struct tli_go_census *c)
{
	for (size_t i = 1; i < c->ct.n; i++) {
		struct ctype *t = &c->ct.v[i];
		if (t->name)
			continue;
		char n[512], out[600];
		if (t->kind != CT_UNTYPED && t->kind != CT_STRING)
			type_name(c, t->desc, n, sizeof(n));
		switch (t->kind) {
		case CT_UNTYPED:
			if (t->desc > 32768)
				snprintf(out, sizeof(out), "untyped (large object, %" PRIu64 " B)", t->desc);
			else
				snprintf(out, sizeof(out), "untyped (size class %" PRIu64 " B)", t->desc);
			break;
		case CT_ARRAY: snprintf(out, sizeof(out), "[]%s", n); break;
		case CT_STRING: snprintf(out, sizeof(out), "string data"); break;
		case CT_SDIR: snprintf(out, sizeof(out), "%s (directory)", n); break;
		case CT_STABLE: snprintf(out, sizeof(out), "%s (table)", n); break;
		default: snprintf(out, sizeof(out), "%s", n);
		}
		t->name = strdup(out);
	}
}
