/* SPDX-License-Identifier: MIT */
/*
 * Go's runtime type descriptor (internal/abi.Type, runtime._type): reading it,
 * its name and its GC pointer bitmap. See types.h.
 */
#include "go/types.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/error.h"
#include "go/chans.h"

void tli_go_type_flags_resolve(struct tli_layout *l, struct tli_go_type_flags *ret)
{
	int64_t v;
	ret->kind_gcprog = !tli_error_drop(tli_layout_constant(l, "internal/abi.KindGCProg", &v)) ? (uint8_t)v : 0;
	ret->tflag_ondemand =
		!tli_error_drop(tli_layout_constant(l, "internal/abi.TFlagGCMaskOnDemand", &v)) ? (uint8_t)v : 0;
}

void tli_go_type_layout_resolve(struct tli_layout *l, struct tli_go_type_layout *L)
{
	memset(L, 0, sizeof(*L));
	static const char *const tn[][7] = {
		{ "internal/abi.Type", "Size_", "TFlag", "Kind_", "Str", "PtrBytes", "GCData" },
		{ "runtime._type", "size", "tflag", "kind", "str", "ptrdata", "gcdata" },
	};
	for (size_t i = 0; i < 2 && !L->has_type; i++) {
		struct tli_member a, b, c, d;
		uint64_t tsz;
		if (!tli_layout_has_member(l, tn[i][0], tn[i][1], &a) ||
		    !tli_layout_has_member(l, tn[i][0], tn[i][2], &b) ||
		    !tli_layout_has_member(l, tn[i][0], tn[i][3], &c) ||
		    !tli_layout_has_member(l, tn[i][0], tn[i][4], &d))
			continue;
		struct tli_error *e = tli_layout_type_size(l, tn[i][0], &tsz);
		if (!e && tsz >= 16 && tsz <= 1024) {
			L->type_size = (uint32_t)tsz;
			L->t_size = (uint32_t)a.offset;
			L->t_tflag = (uint32_t)b.offset;
			L->t_kind = (uint32_t)c.offset;
			L->t_str = (uint32_t)d.offset;
			L->has_type = L->t_str + 4 <= tsz && L->t_kind < tsz && L->t_tflag < tsz &&
				      (uint64_t)L->t_size + 8 <= tsz;
			struct tli_member pb, gd;
			if (L->has_type && tli_layout_has_member(l, tn[i][0], tn[i][5], &pb) &&
			    tli_layout_has_member(l, tn[i][0], tn[i][6], &gd) && pb.offset + 8 <= tsz &&
			    gd.offset + 8 <= tsz) {
				L->t_ptrbytes = (uint32_t)pb.offset;
				L->t_gcdata = (uint32_t)gd.offset;
				L->has_gcdata = true;
			}
		}
		tli_error_destroy(e);
	}
	struct tli_member ae, al, sf, ft, fo;
	uint64_t fsz = 0;
	if (tli_layout_has_member(l, "internal/abi.ArrayType", "Elem", &ae) &&
	    tli_layout_has_member(l, "internal/abi.ArrayType", "Len", &al) &&
	    tli_layout_has_member(l, "internal/abi.StructType", "Fields", &sf) &&
	    tli_layout_has_member(l, "internal/abi.StructField", "Typ", &ft) &&
	    tli_layout_has_member(l, "internal/abi.StructField", "Offset", &fo) &&
	    !tli_error_drop(tli_layout_type_size(l, "internal/abi.StructField", &fsz)) && fsz >= 16 && fsz <= 64 &&
	    ft.offset + 8 <= fsz && fo.offset + 8 <= fsz) {
		L->arr_elem = (uint32_t)ae.offset;
		L->arr_len = (uint32_t)al.offset;
		L->st_fields = (uint32_t)sf.offset;
		L->sf_size = (uint32_t)fsz;
		L->sf_typ = (uint32_t)ft.offset;
		L->sf_off = (uint32_t)fo.offset;
		L->has_compound = true;
	}
}

bool tli_go_type_layout_ok(const struct tli_go_type_layout *L)
{
	return L && L->has_type && L->type_size <= TLI_GO_TYPE_MAX_DESC;
}

/* [addr, addr+len) inside the module's types section (as a link-time address) */
static bool in_module_types(const struct tli_go_type_src *src, uint64_t addr, uint32_t len, uint64_t *link)
{
	*link = addr - src->bias;
	return src->gb && src->md && *link >= src->md->types && *link + len <= src->md->etypes;
}

static bool read_memory(const struct tli_go_type_src *src, uint64_t addr, void *out, uint32_t len)
{
	return !tli_error_drop(tli_target_read(src->t, addr, out, len));
}

bool tli_go_type_read_bytes(const struct tli_go_type_src *src, uint64_t addr, void *out, uint32_t len)
{
	uint64_t link;
	bool module = in_module_types(src, addr, len, &link);
	if (src->policy == TLI_GO_TYPE_MODULE_FILE) {
		if (module)
			return !tli_error_drop(tli_gobin_read(src->gb, link, out, len));
		return tli_target_plausible(src->t, addr, len) && read_memory(src, addr, out, len);
	}
	if (module && link + len > link && !tli_error_drop(tli_gobin_read(src->gb, link, out, len)))
		return true;
	if (!addr || (addr & 7) || addr + len <= addr || !tli_target_plausible(src->t, addr, len))
		return false;
	return read_memory(src, addr, out, len);
}

void tli_go_type_decode(const struct tli_go_type_layout *L, const uint8_t *tb, uint64_t addr,
			struct tli_go_type *ret)
{
	*ret = (struct tli_go_type){
		.addr = addr,
		.size = tli_rd64(tb + L->t_size),
		.ptrbytes = L->has_gcdata ? tli_rd64(tb + L->t_ptrbytes) : 0,
		.gcdata = L->has_gcdata ? tli_rd64(tb + L->t_gcdata) : 0,
		.tflag = tb[L->t_tflag],
		.kind_raw = tb[L->t_kind],
	};
	memcpy(&ret->str, tb + L->t_str, 4);
}

bool tli_go_type_read(const struct tli_go_type_src *src, uint64_t addr, struct tli_go_type *ret)
{
	const struct tli_go_type_layout *L = src->L;
	uint8_t tb[TLI_GO_TYPE_MAX_DESC];
	if (!tli_go_type_layout_ok(L) || !tli_go_type_read_bytes(src, addr, tb, L->type_size))
		return false;
	tli_go_type_decode(L, tb, addr, ret);
	return true;
}

bool tli_go_type_name(const struct tli_go_type_src *src, const struct tli_go_type *ty, char *buf, size_t cap)
{
	if (cap)
		buf[0] = 0;
	if (!src->md || ty->str <= 0 || cap < 2)
		return false;
	/* runtime/type.go name.readVarint (go1.17+): flag byte, uvarint length, bytes;
	 * names this long never need more than two length bytes */
	uint64_t na = src->md->types + (uint64_t)ty->str + src->bias;
	uint8_t nb[3] = { 0 };
	if (!tli_go_type_read_bytes(src, na, nb, 3))
		return false;
	uint64_t len = 0;
	int shift = 0, used = 0;
	for (int i = 1; i < 3; i++) {
		len |= (uint64_t)(nb[i] & 0x7f) << shift;
		shift += 7;
		used++;
		if (!(nb[i] & 0x80))
			break;
	}
	if (len == 0 || len >= cap - 1 ||
	    !tli_go_type_read_bytes(src, na + 1 + (uint64_t)used, buf, (uint32_t)len))
		return false;
	buf[len] = 0;
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if ((ty->tflag & TLI_GO_TFLAG_EXTRA_STAR) && buf[0] == '*')
		memmove(buf, buf + 1, strlen(buf));
	return true;
}

/* reflect.Kind values (public API, never changed) */
enum { KIND_ARRAY = 17, KIND_STRUCT = 25 };
#define MASK_MAX_STEPS (1u << 20)
#define MASK_MAX_DEPTH 64

struct mask_build {
	const struct tli_go_type_src *src;
	const struct tli_go_type_flags *f;
	uint8_t *mask;
	uint64_t nbits;     /* of mask */
	unsigned steps;
};

static bool read_u64_at(const struct tli_go_type_src *src, uint64_t addr, uint64_t *v)
{
	uint8_t b[8];
	if (!tli_go_type_read_bytes(src, addr, b, 8))
		return false;
	*v = tli_rd64(b);
	return true;
}

/* OR the pointer bits of type tp into b->mask from word `at` (runtime/mbitmap.go buildGCMask,
 * go1.24: a type with a plain mask is copied, arrays repeat their element, structs place
 * their fields). Bounded in steps, depth and bits. */
static bool build_mask(struct mask_build *b, uint64_t tp, uint64_t at, int depth)
{
	const struct tli_go_type_layout *L = b->src->L;
	struct tli_go_type t;
	if (depth > MASK_MAX_DEPTH || ++b->steps > MASK_MAX_STEPS || !tli_go_type_read(b->src, tp, &t))
		return false;
	if (!t.ptrbytes)
		return true;
	if (t.ptrbytes % 8 || t.ptrbytes > t.size || at + t.ptrbytes / 8 > b->nbits)
		return false;
	if (!(t.tflag & b->f->tflag_ondemand)) {
		if ((t.kind_raw & b->f->kind_gcprog) || !t.gcdata)
			return false;
		uint64_t n = t.ptrbytes / 8, len = (n + 7) / 8;
		uint8_t *m = malloc(len);
		if (!m || !tli_go_type_read_bytes(b->src, t.gcdata, m, (uint32_t)len)) {
			free(m);
			return false;
		}
		for (uint64_t i = 0; i < n; i++)
			if (m[i / 8] >> (i % 8) & 1)
				b->mask[(at + i) / 8] |= (uint8_t)(1u << ((at + i) % 8));
		free(m);
		return true;
	}
	int kind = tli_go_type_kind(&t);
	if (kind == KIND_ARRAY) {
		uint64_t elem, len;
		struct tli_go_type e;
		if (!read_u64_at(b->src, tp + L->arr_elem, &elem) || !read_u64_at(b->src, tp + L->arr_len, &len) ||
		    !tli_go_type_read(b->src, elem, &e) || !e.size || e.size % 8 || len > b->nbits)
			return false;
		for (uint64_t i = 0; i < len; i++)
			if (!build_mask(b, elem, at + i * (e.size / 8), depth + 1))
				return false;
		return true;
	}
	if (kind != KIND_STRUCT)
		return false;
	uint64_t fields, nfields;
	if (!read_u64_at(b->src, tp + L->st_fields, &fields) || !read_u64_at(b->src, tp + L->st_fields + 8, &nfields) ||
	    nfields > 65536)
		return false;
	for (uint64_t i = 0; i < nfields; i++) {
		uint64_t ft, fo;
		uint64_t fa = fields + i * L->sf_size;
		if (!read_u64_at(b->src, fa + L->sf_typ, &ft) || !read_u64_at(b->src, fa + L->sf_off, &fo))
			return false;
		if (fo % 8) { /* an unaligned field holds no pointer (int32, bool, ...) */
			struct tli_go_type x;
			if (!tli_go_type_read(b->src, ft, &x) || x.ptrbytes)
				return false;
			continue;
		}
		if (!build_mask(b, ft, at + fo / 8, depth + 1))
			return false;
	}
	return true;
}

bool tli_go_type_ptrmask(const struct tli_go_type_src *src, const struct tli_go_type_flags *f,
			 const struct tli_go_type *ty, uint8_t **ret)
{
	*ret = NULL;
	bool prog = (ty->kind_raw & f->kind_gcprog) != 0;
	bool ondemand = (ty->tflag & f->tflag_ondemand) != 0;
	uint64_t gcdata = ty->gcdata;
	size_t mlen = (size_t)((ty->ptrbytes / 8 + 7) / 8);
	if (ondemand && gcdata) {
		/* GCData is a **byte: the mask the runtime built (0 = not built yet) */
		uint64_t mp = 0;
		gcdata = tli_error_drop(tli_target_read_u64(src->t, gcdata, &mp)) ? 0 : mp;
		if (!gcdata && src->L->has_compound && ty->ptrbytes && ty->ptrbytes % 8 == 0 && ty->ptrbytes <= ty->size &&
		    mlen <= (1u << 20)) {
			/* not built yet: build it as the runtime would */
			struct mask_build b = { .src = src, .f = f, .mask = calloc(1, mlen ? mlen : 1),
						.nbits = ty->ptrbytes / 8 };
			if (b.mask && build_mask(&b, ty->addr, 0, 0)) {
				*ret = b.mask;
				return true;
			}
			free(b.mask);
			return false;
		}
	}
	if (prog || !ty->size || ty->size % 8 != 0 || ty->ptrbytes > ty->size || ty->ptrbytes % 8 != 0 ||
	    mlen > (1u << 20) || (ty->ptrbytes != 0 && !gcdata))
		return false;
	uint8_t *mask = calloc(1, mlen ? mlen : 1);
	if (!mask)
		return false;
	/* module masks from the file, built ones from memory */
	if (mlen && !(src->gb && !tli_error_drop(tli_gobin_read(src->gb, gcdata - src->bias, mask, mlen))) &&
	    !read_memory(src, gcdata, mask, (uint32_t)mlen)) {
		free(mask);
		return false;
	}
	*ret = mask;
	return true;
}
