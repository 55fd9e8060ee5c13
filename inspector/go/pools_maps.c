/* SPDX-License-Identifier: MIT */
/*
 * Go maps by memory (go.pools.maps): every live map header the census typed
 * (runtime.hmap up to go1.23, internal/runtime/maps.Map from go1.24), with its
 * length, its capacity in slots and the bytes of its runtime objects. Go maps
 * never shrink: a map that once held many entries keeps its buckets (tables)
 * after the deletes, so a capacity that dwarfs the length is flagged.
 *
 *   hmap (runtime/map.go): len = count, capacity = 2^B buckets x bucketCnt slots,
 *     bytes = the header, the bucket array and the old bucket array while growing
 *     (overflow buckets are not counted);
 *   Map (internal/runtime/maps/map.go): len = used; a small map (dirLen 0) is one
 *     group of MapGroupSlots slots; otherwise the directory's distinct tables,
 *     capacity = sum of table.capacity, bytes = header, directory, tables, groups.
 */
#include "pools_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "go/gfacts.h"

#define TOP_MAPS 20
#define MAX_B 40           /* 2^40 buckets: more is a wild header */
#define MAX_DIR 65536      /* directory entries read */

static bool mem(struct tli_layout *l, const char *t, const char *m, uint32_t *off)
{
	struct tli_member x;
	if (!tli_layout_has_member(l, t, m, &x))
		return false;
	*off = (uint32_t)x.offset;
	return true;
}

void pools_maps_layout(struct tli_layout *l, struct pools_maps_layout *L)
{
	static const char *const slots[] = { "internal/abi.MapGroupSlots", "internal/abi.SwissMapGroupSlots",
					     "internal/abi.MapBucketCount", "runtime.bucketCnt", NULL };
	bool present = false;
	struct tli_error *err = tli_go_constant(l, slots, &L->slots, true, &present);
	tli_error_drop(err);
	if (!present || L->slots <= 0 || L->slots > 64) {
		snprintf(L->problem, sizeof(L->problem), "slots per map bucket unknown (%s)", slots[0]);
		return;
	}
	const char *H = "runtime.hmap", *M = "internal/runtime/maps.Map", *T = "internal/runtime/maps.table";
	L->hmap = mem(l, H, "count", &L->h_count) && mem(l, H, "B", &L->h_b) && mem(l, H, "buckets", &L->h_buckets) &&
		  mem(l, H, "oldbuckets", &L->h_old);
	L->swiss = mem(l, M, "used", &L->m_used) && mem(l, M, "dirPtr", &L->m_dirptr) &&
		   mem(l, M, "dirLen", &L->m_dirlen) && mem(l, T, "capacity", &L->t_capacity) &&
		   mem(l, T, "groups.data", &L->t_groups);
	L->ok = L->hmap || L->swiss;
	if (!L->ok)
		snprintf(L->problem, sizeof(L->problem), "neither runtime.hmap nor internal/runtime/maps.Map is known");
}

struct gomap {
	uint64_t addr, num, len, cap, bytes;
	uint32_t ctype;
	char problem[120];
};
TLI_VEC(gomaps, struct gomap);

static uint64_t rd(const struct pools_run *r, uint64_t a, bool *ok)
{
	uint8_t b[8];
	if (!pools_read(r, a, b, 8)) {
		*ok = false;
		return 0;
	}
	return tli_rd64(b);
}

/* the heap slot bytes of the object holding p (0 if none) */
static uint64_t obj_bytes(const struct pools_run *r, uint64_t p)
{
	struct tli_goheap_object o;
	return p && tli_goheap_find_object(r->h, p, &o) ? o.span->elemsize : 0;
}

static void read_hmap(const struct pools_run *r, const struct pools_maps_layout *L, struct gomap *m)
{
	bool ok = true;
	m->len = rd(r, m->addr + L->h_count, &ok);
	uint8_t b = 0;
	if (!ok || !pools_read(r, m->addr + L->h_b, &b, 1)) {
		snprintf(m->problem, sizeof(m->problem), "unreadable header");
		return;
	}
	if (b > MAX_B) {
		snprintf(m->problem, sizeof(m->problem), "implausible bucket count 2^%u", b);
		return;
	}
	m->cap = ((uint64_t)1 << b) * (uint64_t)L->slots;
	m->bytes += obj_bytes(r, rd(r, m->addr + L->h_buckets, &ok)) + obj_bytes(r, rd(r, m->addr + L->h_old, &ok));
	if ((int64_t)m->len < 0 || m->len > m->cap * 8 + 1024)
		snprintf(m->problem, sizeof(m->problem), "implausible count %" PRId64, (int64_t)m->len);
}

static void read_swiss(const struct pools_run *r, const struct pools_maps_layout *L, struct gomap *m)
{
	bool ok = true;
	m->len = rd(r, m->addr + L->m_used, &ok);
	uint64_t dir = rd(r, m->addr + L->m_dirptr, &ok);
	int64_t dlen = (int64_t)rd(r, m->addr + L->m_dirlen, &ok);
	if (!ok) {
		snprintf(m->problem, sizeof(m->problem), "unreadable header");
		return;
	}
	if (dlen == 0) {   /* a small map: one group, or none yet */
		m->cap = dir ? (uint64_t)L->slots : 0;
		m->bytes += obj_bytes(r, dir);
		return;
	}
	if (dlen < 0 || dlen > MAX_DIR) {
		snprintf(m->problem, sizeof(m->problem), "implausible directory length %" PRId64, dlen);
		return;
	}
	m->bytes += obj_bytes(r, dir);
	struct tli_u64set seen = { 0 };   /* tables with a smaller local depth fill several entries */
	for (int64_t i = 0; i < dlen && ok; i++) {
		uint64_t t = rd(r, dir + 8 * (uint64_t)i, &ok);
		if (!ok || !t || tli_u64set_has(&seen, t))
			continue;
		tli_u64set_add(&seen, t);
		uint8_t cb[2];
		if (!pools_read(r, t + L->t_capacity, cb, 2)) {
			snprintf(m->problem, sizeof(m->problem), "table 0x%" PRIx64 " unreadable", t);
			break;
		}
		m->cap += (uint64_t)cb[0] | (uint64_t)cb[1] << 8;
		m->bytes += obj_bytes(r, t) + obj_bytes(r, rd(r, t + L->t_groups, &ok));
	}
	if (!ok && !m->problem[0])
		snprintf(m->problem, sizeof(m->problem), "directory 0x%" PRIx64 " unreadable", dir);
	tli_u64set_free(&seen);
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct gomap *x = a, *y = b;
	return x->bytes != y->bytes ? (x->bytes < y->bytes) - (x->bytes > y->bytes) : (x->addr > y->addr) - (x->addr < y->addr);
}

static json_t *map_json(const struct pools_run *r, const struct gomap *m)
{
	json_t *o = json_object();
	char nb[512];
	const char *name = pools_root_name(r, m->num, nb, sizeof(nb));
	const struct ctype *t = &r->census->ct.v[m->ctype];
	json_object_set_new(o, "address", tli_go_hex(m->addr));
	json_object_set_new(o, "name", name ? json_string(name) : json_null());
	json_object_set_new(o, "type", json_string(t->name ? t->name : "?"));
	if (m->problem[0]) {
		json_object_set_new(o, "unreadable", json_string(m->problem));
		return o;
	}
	json_object_set_new(o, "len", json_integer((json_int_t)m->len));
	json_object_set_new(o, "capacity_slots", json_integer((json_int_t)m->cap));
	json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
	/* never shrinks: most of its slots stay empty after the deletes */
	json_object_set_new(o, "oversized", json_boolean(m->cap >= 1024 && m->cap > 8 * m->len));
	return o;
}

void pools_maps_run(struct pools_run *r, const struct pools_maps_layout *L, json_t *pools)
{
	if (!L->ok) {
		json_object_set_new(pools, "maps", json_null());
		json_object_set_new(pools, "maps_unreadable", json_string(L->problem));
		return;
	}
	const struct tli_goheap *h = r->h;
	const struct tli_go_census *c = r->census;
	struct gomaps v = { 0 };
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		for (uint64_t k = 0; sp->data && k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k;
			uint32_t id = c->otype[n];
			if (!c->state[n] || !id || id >= c->ct.n)
				continue;
			uint8_t kind = c->ct.v[id].kind;
			if (!(kind == CT_HMAP && L->hmap) && !(kind == CT_SMAP && L->swiss))
				continue;
			struct gomap m = { .addr = sp->start + k * sp->elemsize, .num = n, .ctype = id,
					   .bytes = sp->elemsize };
			if (kind == CT_HMAP)
				read_hmap(r, L, &m);
			else
				read_swiss(r, L, &m);
			if (!tli_vec_push(&v, m))
				break;
		}
	}
	qsort(v.v, v.n, sizeof(*v.v), cmp_bytes);
	json_t *a = json_array();
	uint64_t total = 0;
	for (size_t i = 0; i < v.n; i++) {
		total += v.v[i].bytes;
		if (i < TOP_MAPS)
			json_array_append_new(a, map_json(r, &v.v[i]));
	}
	json_object_set_new(pools, "maps", a);
	json_object_set_new(pools, "maps_total", json_integer((json_int_t)v.n));
	json_object_set_new(pools, "maps_bytes", json_integer((json_int_t)total));
	tli_vec_free(&v);
}
