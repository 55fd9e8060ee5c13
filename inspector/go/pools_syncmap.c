/* SPDX-License-Identifier: MIT */
/*
 * sync.Map (go.pools.sync_maps), read from the captured Go heap and data/bss.
 *
 * Finding them. A sync.Map is a heap object the census typed sync.Map (behind
 * a typed pointer: `var m = &sync.Map{}`, a field of a typed object, an
 * interface), or a DWARF global whose runtime type is sync.Map
 * (`var m sync.Map`). Without DWARF the globals are untyped, and so is what
 * they point to: up to go1.23 only maps behind typed heap pointers are found,
 * and the result says so; from go1.24 a sync.Map is also recognised anywhere in
 * data, bss or the heap by its trie's keyHash/valEqual function words
 * (find_by_funcs), named or not.
 *
 * Up to go1.23 (sync/map.go): Map{mu, read *readOnly, dirty map[any]*entry,
 * misses}; readOnly{m map[any]*entry, amended}; entry{p}. go1.19's read is an
 * atomic.Value (an interface whose data word points at the readOnly). An entry
 * whose p is nil was deleted; expunged entries (p == the expunged sentinel)
 * sit only in read.m while a dirty map exists: the deleted entries dirtyLocked
 * did not copy. So with a dirty map, a read entry whose *entry is not among
 * the dirty map's values is expunged; and Range's count is the non-nil entries
 * of dirty if amended, else of read. Both maps are runtime.hmaps (2^B buckets
 * of bucketCnt slots: tophash[bucketCnt], keys, elems, overflow pointer; a
 * slot is filled when its tophash >= minTopHash, in buckets and old buckets
 * alike, since evacuated slots are marked below it).
 *
 * From go1.24 (internal/sync/hashtriemap.go): Map{m HashTrieMap[any, any]};
 * root *indirect{node{isEntry}, ..., children [16]*node}; an entry node
 * {node, overflow *entry, key, value}. Entries are the entry nodes (with their
 * overflow chains); depth is the deepest indirect level below the root.
 */
#include "pools_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "go/gfacts.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/pclntab.h"

#define MAX_SYNCMAPS 256
#define MAX_B 30                 /* 2^30 buckets of a sync.Map's map: more is a wild header */
#define MAX_SLOTS (1u << 24)     /* slots read per map */
#define MAX_NODES (1u << 22)     /* trie nodes visited per map */
#define MAX_DEPTH 32             /* a 64-bit hash gives 16 levels of 4 bits */

/* the trie's node types instantiated for sync.Map; a toolchain may name only the generic shape
 * (go1.27's DWARF has no entry[interface {},interface {}]): same layout */
static const char *const IND[] = { "internal/sync.indirect[interface {},interface {}]",
				   "internal/sync.indirect[go.shape.interface {},go.shape.interface {}]" };
static const char *const ENT[] = { "internal/sync.entry[interface {},interface {}]",
				   "internal/sync.entry[go.shape.interface {},go.shape.interface {}]" };

static bool mem(struct tli_layout *l, const char *t, const char *m, uint32_t *off, uint64_t *size)
{
	struct tli_member x;
	if (!tli_layout_has_member(l, t, m, &x))
		return false;
	*off = (uint32_t)x.offset;
	if (size)
		*size = x.size;
	return true;
}

void pools_syncmap_layout(struct tli_layout *l, struct pools_syncmap_layout *L)
{
	const char *SM = "sync.Map";
	struct tli_error *err = tli_layout_type_size(l, SM, &L->size);
	if (err) {
		snprintf(L->problem, sizeof(L->problem), "%.150s", err->msg);
		tli_error_destroy(err);
		return;
	}
	uint64_t rsz = 0, csz = 0;
	int64_t v = 0;
	/* hash trie (go1.24+) */
	if (mem(l, SM, "m.root", &L->root, NULL)) {
		for (int i = 0; i < 2 && !L->trie; i++)
			L->trie = mem(l, IND[i], "node.isEntry", &L->ind_isentry, NULL) &&
				  mem(l, IND[i], "children", &L->ind_children, &csz);
		bool ent = false;
		for (int i = 0; i < 2 && !ent; i++)
			ent = mem(l, ENT[i], "overflow", &L->ent_overflow, NULL);
		L->trie = L->trie && ent;
		L->has_funcs = mem(l, SM, "m.keyHash", &L->keyhash, NULL) && mem(l, SM, "m.valEqual", &L->valequal, NULL) &&
			       L->keyhash + 8 == L->valequal;
		L->nchildren = (uint32_t)(csz / 8);
		L->ok = L->trie && L->nchildren >= 2 && L->nchildren <= 256;
		if (!L->ok)
			snprintf(L->problem, sizeof(L->problem), "the layout of %s is not known", IND[0]);
		return;
	}
	/* read/dirty (<= go1.23) */
	bool ok = mem(l, SM, "read", &L->read, &rsz) && mem(l, SM, "dirty", &L->dirty, NULL) &&
		  mem(l, SM, "misses", &L->misses, NULL) && mem(l, "sync.readOnly", "m", &L->ro_m, NULL) &&
		  mem(l, "sync.readOnly", "amended", &L->ro_amended, NULL) && mem(l, "sync.entry", "p", &L->e_p, NULL) &&
		  mem(l, "runtime.hmap", "count", &L->h_count, NULL) && mem(l, "runtime.hmap", "B", &L->h_b, NULL) &&
		  mem(l, "runtime.hmap", "buckets", &L->h_buckets, NULL) &&
		  mem(l, "runtime.hmap", "oldbuckets", &L->h_old, NULL);
	if (!ok) {
		snprintf(L->problem, sizeof(L->problem), "the layout of sync.Map's read/dirty maps is not known");
		return;
	}
	/* go1.19: an atomic.Value, its interface's data word points at the readOnly */
	L->read_iface = rsz == 16;
	static const char *const cnt[] = { "internal/abi.MapBucketCount", "runtime.bucketCnt", NULL };
	static const char *const top[] = { "runtime.minTopHash", NULL };
	bool p1 = false, p2 = false;
	tli_error_drop(tli_go_constant(l, cnt, &v, true, &p1));
	L->bucket_cnt = (uint32_t)v;
	tli_error_drop(tli_go_constant(l, top, &v, true, &p2));
	L->min_tophash = (uint32_t)v;
	L->ok = p1 && p2 && L->bucket_cnt >= 1 && L->bucket_cnt <= 64 && L->min_tophash < 256;
	if (!L->ok)
		snprintf(L->problem, sizeof(L->problem), "runtime.bucketCnt or runtime.minTopHash unknown");
}

/* ---- reading: heap objects, or data/bss for globals ---- */

static bool rd(const struct pools_run *r, uint64_t a, void *buf, size_t n)
{
	if (pools_read(r, a, buf, n))
		return true;
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->roots.globals[i];
		if (g->mem && a >= g->lo && a + n >= a && a + n <= g->hi) {
			memcpy(buf, g->mem + (a - g->lo), n);
			return true;
		}
	}
	return false;
}

static bool rd64(const struct pools_run *r, uint64_t a, uint64_t *v)
{
	uint8_t b[8];
	if (!rd(r, a, b, 8))
		return false;
	*v = tli_rd64(b);
	return true;
}

struct smap {
	uint64_t addr, num;        /* num: heap object number, or UINT64_MAX for a global */
	const char *global;        /* the global's name */
	int64_t entries, read_size, dirty_size, misses, expunged, deleted, depth;
	int amended;               /* -1 unknown */
	char problem[160];
};
TLI_VEC(smaps, struct smap);

static void fail(struct smap *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct smap *m, const char *fmt, ...)
{
	if (m->problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->problem, sizeof(m->problem), fmt, ap);
	va_end(ap);
}

/* ---- <= go1.23: the entries of a map[any]*entry ---- */

typedef bool (*slot_fn)(void *arg, uint64_t entry);

/* every filled slot's *entry of the hmap at h; its count in *count; false (m->problem) if unreadable */
static bool hmap_each(const struct pools_run *r, const struct pools_syncmap_layout *L, uint64_t h, struct smap *m,
		      int64_t *count, slot_fn fn, void *arg)
{
	uint8_t b = 0;
	uint64_t cnt, bk, old;
	if (!rd64(r, h + L->h_count, &cnt) || !rd(r, h + L->h_b, &b, 1) || !rd64(r, h + L->h_buckets, &bk) ||
	    !rd64(r, h + L->h_old, &old)) {
		fail(m, "map header 0x%" PRIx64 " unreadable", h);
		return false;
	}
	if (b > MAX_B || (int64_t)cnt < 0) {
		fail(m, "implausible map header 0x%" PRIx64 " (B %u, count %" PRId64 ")", h, b, (int64_t)cnt);
		return false;
	}
	*count = (int64_t)cnt;
	/* bmap of map[any]*entry: tophash, bucketCnt keys of 16 bytes, bucketCnt elems of 8, overflow */
	const uint32_t bc = L->bucket_cnt, bsize = bc + 16 * bc + 8 * bc + 8;
	uint64_t nb = (uint64_t)1 << b, seen = 0;
	uint8_t buf[4096];
	if (bsize > sizeof(buf)) {
		fail(m, "bucket of %u bytes", bsize);
		return false;
	}
	for (int pass = 0; pass < 2; pass++) {
		uint64_t base = pass ? old : bk, n = pass ? nb / 2 : nb;   /* growing doubles: old has half */
		for (uint64_t i = 0; base && i < n; i++) {
			uint64_t bucket = base + i * bsize;
			for (int chain = 0; bucket && chain < 1 << 16; chain++) {
				if (!rd(r, bucket, buf, bsize)) {
					fail(m, "map bucket 0x%" PRIx64 " unreadable", bucket);
					return false;
				}
				for (uint32_t k = 0; k < bc; k++) {
					if (buf[k] < L->min_tophash)
						continue;
					if (++seen > MAX_SLOTS) {
						fail(m, "more than %u slots", MAX_SLOTS);
						return false;
					}
					if (!fn(arg, tli_rd64(buf + bc + 16 * bc + 8 * k)))
						return false;
				}
				bucket = tli_rd64(buf + bsize - 8);
			}
		}
	}
	return true;
}

struct classify {
	const struct pools_run *r;
	const struct pools_syncmap_layout *L;
	struct smap *m;
	struct tli_u64set *dirty_entries;   /* collect (dirty pass) or test (read pass); NULL: neither */
	bool collect;
	int64_t live, nil, expunged;
};

static bool classify_one(void *arg, uint64_t e)
{
	struct classify *c = arg;
	uint64_t p;
	if (!e || !rd64(c->r, e + c->L->e_p, &p)) {
		fail(c->m, "entry 0x%" PRIx64 " unreadable", e);
		return false;
	}
	if (c->collect)
		tli_u64set_add(c->dirty_entries, e);
	if (!p)
		c->nil++;
	else if (c->dirty_entries && !c->collect && !tli_u64set_has(c->dirty_entries, e))
		c->expunged++;   /* not copied to dirty: expunged */
	else
		c->live++;
	return true;
}

static void read_old(const struct pools_run *r, const struct pools_syncmap_layout *L, struct smap *m)
{
	uint8_t sm[256];
	if (L->size > sizeof(sm) || !rd(r, m->addr, sm, L->size)) {
		fail(m, "unreadable: the sync.Map at 0x%" PRIx64 " was not captured", m->addr);
		return;
	}
	uint64_t ro = tli_rd64(sm + L->read + (L->read_iface ? 8 : 0)), dirty = tli_rd64(sm + L->dirty);
	m->misses = (int64_t)tli_rd64(sm + L->misses);
	if (m->misses < 0)
		fail(m, "implausible misses %" PRId64, m->misses);
	uint64_t rm = 0;
	uint8_t am = 0;
	if (ro && (!rd64(r, ro + L->ro_m, &rm) || !rd(r, ro + L->ro_amended, &am, 1))) {
		fail(m, "readOnly 0x%" PRIx64 " unreadable", ro);
		return;
	}
	m->amended = am != 0;
	struct tli_u64set de = { 0 };
	struct classify cd = { r, L, m, &de, true, 0, 0, 0 }, cr = { r, L, m, dirty ? &de : NULL, false, 0, 0, 0 };
	bool ok = (!dirty || hmap_each(r, L, dirty, m, &m->dirty_size, classify_one, &cd)) &&
		  (!rm || hmap_each(r, L, rm, m, &m->read_size, classify_one, &cr));
	tli_u64set_free(&de);
	if (!ok)
		return;
	m->expunged = cr.expunged;
	/* deleted: entries whose p is nil. With a dirty map every such entry of read is also in dirty
	 * (the nil ones dirtyLocked met were expunged), so dirty's are all of them. */
	m->deleted = dirty ? cd.nil : cr.nil;
	m->entries = m->amended ? cd.live : cr.live;
}

/* ---- go1.24+: the hash trie ---- */

struct trie {
	const struct pools_run *r;
	const struct pools_syncmap_layout *L;
	struct smap *m;
	struct tli_u64set seen;
	uint64_t nodes;
};

static bool trie_walk(struct trie *t, uint64_t ind, int depth)
{
	const struct pools_syncmap_layout *L = t->L;
	if (depth > MAX_DEPTH) {
		fail(t->m, "trie deeper than %d levels", MAX_DEPTH);
		return false;
	}
	if (depth > t->m->depth)
		t->m->depth = depth;
	uint8_t ch[256 * 8];
	if (!rd(t->r, ind + L->ind_children, ch, 8 * L->nchildren)) {
		fail(t->m, "trie node 0x%" PRIx64 " unreadable", ind);
		return false;
	}
	for (uint32_t i = 0; i < L->nchildren; i++) {
		uint64_t n = tli_rd64(ch + 8 * i);
		if (!n)
			continue;
		if (tli_u64set_has(&t->seen, n) || ++t->nodes > MAX_NODES) {
			fail(t->m, "trie node 0x%" PRIx64 " reached twice (a cycle) or too many nodes", n);
			return false;
		}
		tli_u64set_add(&t->seen, n);
		uint8_t is = 0;
		if (!rd(t->r, n + L->ind_isentry, &is, 1)) {
			fail(t->m, "trie node 0x%" PRIx64 " unreadable", n);
			return false;
		}
		if (!is) {
			if (!trie_walk(t, n, depth + 1))
				return false;
			continue;
		}
		/* an entry and its overflow chain (keys whose hashes collide) */
		for (uint64_t e = n; e;) {
			t->m->entries++;
			if (!rd64(t->r, e + L->ent_overflow, &e)) {
				fail(t->m, "trie entry unreadable");
				return false;
			}
			if (e && (tli_u64set_has(&t->seen, e) || ++t->nodes > MAX_NODES)) {
				fail(t->m, "overflow chain at 0x%" PRIx64 " loops", e);
				return false;
			}
			tli_u64set_add(&t->seen, e);
		}
	}
	return true;
}

static void read_trie(const struct pools_run *r, const struct pools_syncmap_layout *L, struct smap *m)
{
	uint64_t root;
	if (!rd64(r, m->addr + L->root, &root)) {
		fail(m, "unreadable: the sync.Map at 0x%" PRIx64 " was not captured", m->addr);
		return;
	}
	if (!root)
		return;   /* never used: no root yet */
	struct trie t = { .r = r, .L = L, .m = m };
	tli_u64set_add(&t.seen, root);
	trie_walk(&t, root, 0);
	tli_u64set_free(&t.seen);
}

/* ---- finding them ---- */

static void add(struct smaps *v, uint64_t addr, uint64_t num, const char *global)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].addr == addr)
			return;
	struct smap m = { .addr = addr, .num = num, .global = global, .amended = -1, .read_size = -1,
			  .dirty_size = -1, .misses = -1, .expunged = -1, .deleted = -1, .depth = -1 };
	if (v->n < MAX_SYNCMAPS)
		tli_vec_push(v, m);
}

/* The funcval of runtime function fn in the executable (a func value such as map[any]any's
 * Hasher: .rodata, or .go.func from go1.27), at run time; 0 if none or several. */
static uint64_t funcval_of(const struct pools_run *r, struct tli_gobin *gb, const char *fn)
{
	static const char *const secs[] = { ".go.func", ".rodata" };
	struct tli_gofunc f;
	const struct tli_pclntab *pt = tli_go_rt_pclntab(r->rt);
	if (!gb || !pt || tli_error_drop(tli_pclntab_lookup(pt, fn, &f)))
		return 0;
	for (size_t k = 0; k < 2; k++) {
		uint64_t a, n, found = 0;
		if (!tli_gobin_section(gb, secs[k], &a, &n) || n > (1ull << 31))
			continue;
		const uint8_t *v = tli_gobin_view(gb, a, n);
		for (uint64_t i = 0; v && i + 8 <= n; i += 8)
			if (tli_rd64(v + i) == f.entry) {
				if (found)
					return 0;
				found = a + i;
			}
		if (found)
			return found + tli_go_rt_bias(r->rt);
	}
	return 0;
}

/* Without types (stripped binaries), go1.24+: a sync.Map is wherever its trie's keyHash and
 * valEqual words hold map[any]any's hasher and interface{}'s equal (HashTrieMap.init sets them
 * from the map type: runtime.nilinterhash, runtime.nilinterequal): data, bss or a heap object. */
static void find_by_funcs(const struct pools_run *r, const struct pools_syncmap_layout *L, struct smaps *v)
{
	struct tli_gobin *gb = NULL;
	if (!L->has_funcs || tli_error_drop(tli_session_gobin(r->s, &gb)))
		return;
	uint64_t h = funcval_of(r, gb, "runtime.nilinterhash"), e = funcval_of(r, gb, "runtime.nilinterequal");
	if (!h || !e)
		return;
	const uint32_t at = L->keyhash;
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->roots.globals[i];
		for (uint64_t a = g->lo; g->mem && a + 16 <= g->hi; a += 8)
			if (tli_rd64(g->mem + (a - g->lo)) == h && tli_rd64(g->mem + (a - g->lo) + 8) == e && a >= g->lo + at)
				add(v, a - at, UINT64_MAX, NULL);
	}
	const struct tli_goheap *hp = r->h;
	const struct tli_go_census *c = r->census;
	for (size_t i = 0; i < hp->nspans; i++) {
		const struct tli_goheap_span *sp = &hp->spans[i];
		if (!sp->data || sp->elemsize < L->size)
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k, base = sp->start + k * sp->elemsize;
			if (!c->state[n])
				continue;
			const uint8_t *m = sp->data + k * sp->elemsize;
			for (uint64_t o = at; o + 16 <= sp->elemsize; o += 8)
				if (tli_rd64(m + o) == h && tli_rd64(m + o + 8) == e)
					add(v, base + o - at, o == at ? n : UINT64_MAX, NULL);
		}
	}
}

static void find(const struct pools_run *r, const struct pools_syncmap_layout *L, struct smaps *v)
{
	const struct tli_go_census *c = r->census;
	const struct tli_goheap *h = r->h;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || sp->elemsize < L->size)
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k;
			uint32_t id = c->otype[n];
			if (!c->state[n] || !id || id >= c->ct.n)
				continue;
			const struct ctype *t = &c->ct.v[id];
			if (t->kind == CT_PLAIN && t->size == L->size && t->name && !strcmp(t->name, "sync.Map"))
				add(v, sp->start + k * sp->elemsize, n, NULL);
		}
	}
	/* globals (DWARF): of type sync.Map, or *sync.Map (`var m = &sync.Map{}` is allocated statically,
	 * in data, not in the heap) */
	for (size_t i = 0; i < c->globals.n; i++) {
		const struct census_global *g = &c->globals.v[i];
		const char *t = g->type_name ? g->type_name : "";
		uint64_t p;
		if (g->size == L->size && !strcmp(t, "sync.Map"))
			add(v, g->addr, UINT64_MAX, g->name);
		else if (g->size == 8 && !strcmp(t, "*sync.Map") && rd64(r, g->addr, &p) && p)
			add(v, p, UINT64_MAX, g->name);
	}
	if (L->trie)
		find_by_funcs(r, L, v);
}

static json_t *num(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static json_t *smap_json(const struct pools_run *r, const struct pools_syncmap_layout *L, const struct smap *m)
{
	json_t *o = json_object();
	char nb[512];
	const char *name = m->global ? m->global : pools_root_name(r, m->num, nb, sizeof(nb));
	json_object_set_new(o, "address", tli_go_hex(m->addr));
	json_object_set_new(o, "name", name ? json_string(name) : json_null());
	json_object_set_new(o, "representation", json_string(L->trie ? "hash_trie" : "read_dirty"));
	if (m->problem[0]) {
		json_object_set_new(o, "unreadable", json_string(m->problem));
		return o;
	}
	json_object_set_new(o, "entries", json_integer(m->entries));
	if (L->trie) {
		json_object_set_new(o, "depth", num(m->depth));
		return o;
	}
	json_object_set_new(o, "read_size", num(m->read_size));
	json_object_set_new(o, "dirty_size", num(m->dirty_size));
	json_object_set_new(o, "misses", num(m->misses));
	json_object_set_new(o, "amended", m->amended < 0 ? json_null() : json_boolean(m->amended));
	json_object_set_new(o, "expunged", num(m->expunged));
	json_object_set_new(o, "deleted", num(m->deleted));
	return o;
}

static int cmp_smap(const void *a, const void *b)
{
	const struct smap *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

void pools_syncmap_run(struct pools_run *r, const struct pools_syncmap_layout *L, json_t *pools)
{
	if (!L->ok) {
		json_object_set_new(pools, "sync_maps", json_null());
		json_object_set_new(pools, "sync_maps_unreadable", json_string(L->problem[0] ? L->problem : "no layout"));
		return;
	}
	struct smaps v = { 0 };
	find(r, L, &v);
	qsort(v.v, v.n, sizeof(*v.v), cmp_smap);
	json_t *a = json_array();
	for (size_t i = 0; i < v.n; i++) {
		struct smap *m = &v.v[i];
		m->entries = 0;
		if (L->trie) {
			m->depth = 0;
			read_trie(r, L, m);
		} else {
			m->read_size = m->dirty_size = m->expunged = m->deleted = 0;
			read_old(r, L, m);
		}
		json_array_append_new(a, smap_json(r, L, m));
	}
	json_object_set_new(pools, "sync_maps", a);
	/* without DWARF globals are untyped, and so is what only they point to (the hash trie is
	 * found by its function words all the same) */
	if (!r->census->globals.n && !(L->trie && L->has_funcs))
		json_object_set_new(pools, "sync_maps_note",
				    json_string("no DWARF globals: a sync.Map held directly by a global, or reached "
						"only through untyped pointers, is not found"));
	tli_vec_free(&v);
}
