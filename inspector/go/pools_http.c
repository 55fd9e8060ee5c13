/* SPDX-License-Identifier: MIT */
/*
 * net/http.Transport connection pools (go.pools.http_transports), read from
 * the captured Go heap (net/http/transport.go, go1.19-go1.27).
 *
 * Finding them. A Transport is an object the census typed net/http.Transport
 * (behind a typed pointer, or an interface such as http.DefaultTransport whose
 * itab types it). Its connections are the live objects typed
 * net/http.persistConn: each names its Transport (t) and its host
 * (cacheKey, a connectMethodKey {proxy, scheme, addr, onlyH1}). Where the
 * census could not type them (stripped binaries), an object of persistConn's
 * size class whose t points at an object of Transport's size class, whose
 * cacheKey scheme is "http" or "https" and whose conn, reqch, writech and
 * closech are set counts as one, and its Transport is found through it
 * (found_by "connection"): a Transport without an open connection is then not
 * found, and http_transports_note says so.
 *
 * Idle and in use. An idle connection sits in the Transport's idleConn lists
 * and, the same set, in its idleLRU (connLRU: a container/list whose elements'
 * Values are the *persistConn; tryPutIdleConn adds to both, every removal
 * takes from both). The list is walked (bounded, cycles detected, each element
 * must name the list as its own); idleConn's count of hosts must then equal
 * the hosts of the idle connections. A connection not closed (closed == nil)
 * and not idle is in use: a request in flight or a response body never
 * closed. A closed one (closed != nil) not yet collected is only counted.
 *
 * Goroutines. Every connection runs a readLoop and a writeLoop goroutine
 * (dialConn starts both); a goroutine with a frame in
 * net/http.(*persistConn).readLoop or writeLoop belongs to the connection
 * whose address its stack holds.
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

#define MAX_TRANSPORTS 256
#define MAX_PCONNS 65536
#define MAX_IDLE (1 << 20)      /* list elements walked per Transport */
#define MAX_KEY 256             /* bytes of a host key string kept */
#define READ_LOOP "net/http.(*persistConn).readLoop"
#define WRITE_LOOP "net/http.(*persistConn).writeLoop"

/* ---- layout ---- */

static bool member(struct tli_layout *l, const char *type, const char *m, uint32_t *off, struct pools_http_layout *L)
{
	struct tli_member x;
	struct tli_error *err = tli_layout_member(l, type, m, &x);
	if (err) {
		if (!L->problem[0])
			snprintf(L->problem, sizeof(L->problem), "%.150s", err->msg);
		tli_error_destroy(err);
		return false;
	}
	*off = (uint32_t)x.offset;
	return true;
}

void pools_http_layout(struct tli_layout *l, struct pools_http_layout *L)
{
	const char *T = "net/http.Transport", *PC = "net/http.persistConn";
	const char *LI = "container/list.List", *EL = "container/list.Element";
	struct tli_member x;
	struct tli_error *err = tli_layout_type_size(l, T, &L->t_size);
	if (!err)
		err = tli_layout_type_size(l, PC, &L->pc_size);
	if (err) {
		snprintf(L->problem, sizeof(L->problem), "%.150s", err->msg);
		tli_error_destroy(err);
		return;
	}
	bool ok = member(l, T, "idleConn", &L->t_idleconn, L) && member(l, T, "idleLRU.ll", &L->t_lru_ll, L) &&
		  member(l, PC, "alt", &L->pc_alt, L) && member(l, PC, "t", &L->pc_t, L) &&
		  member(l, PC, "cacheKey.proxy", &L->pc_proxy, L) && member(l, PC, "cacheKey.scheme", &L->pc_scheme, L) &&
		  member(l, PC, "cacheKey.addr", &L->pc_addr, L) && member(l, PC, "cacheKey.onlyH1", &L->pc_onlyh1, L) &&
		  member(l, PC, "conn", &L->pc_conn, L) && member(l, PC, "reqch", &L->pc_reqch, L) &&
		  member(l, PC, "writech", &L->pc_writech, L) && member(l, PC, "closech", &L->pc_closech, L) &&
		  member(l, PC, "closed", &L->pc_closed, L) && member(l, LI, "root", &L->l_root, L) &&
		  member(l, LI, "len", &L->l_len, L) && member(l, EL, "next", &L->e_next, L) &&
		  member(l, EL, "list", &L->e_list, L) && member(l, EL, "Value", &L->e_value, L);
	if (!ok)
		return;
	/* idleConn's count of keys: a swiss map's used (go1.24+) or an hmap's count */
	if ((L->has_count = tli_layout_has_member(l, "internal/runtime/maps.Map", "used", &x)))
		L->map_count = (uint32_t)x.offset;
	else if ((L->has_count = tli_layout_has_member(l, "runtime.hmap", "count", &x)))
		L->map_count = (uint32_t)x.offset;
	L->ok = L->t_size >= 64 && L->t_size < 4096 && L->pc_size >= 64 && L->pc_size < 4096;
	if (!L->ok)
		snprintf(L->problem, sizeof(L->problem), "implausible sizes of net/http.Transport (%" PRIu64
			 ") and persistConn (%" PRIu64 ")", L->t_size, L->pc_size);
}

/* ---- what was found ---- */

struct pconn {
	uint64_t addr;
	size_t tr;                 /* index of its Transport */
	char proxy[MAX_KEY], scheme[16], host[MAX_KEY];
	bool only_h1, closed, h2, idle;
	int64_t read_loop, write_loop;   /* goroutine ids, 0 none found */
};
TLI_VEC(pconns, struct pconn);

struct transport {
	uint64_t addr, num;
	const char *found_by;
	bool idle_known;
	int64_t idle_listed, map_count;  /* map_count: -1 unknown */
	char unreadable[200];
	json_t *problems;
};
TLI_VEC(transports, struct transport);

static size_t tr_of(const struct transports *v, uint64_t addr)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].addr == addr)
			return i;
	return SIZE_MAX;
}

static size_t add_tr(struct transports *v, uint64_t addr, uint64_t num, const char *found_by)
{
	size_t i = tr_of(v, addr);
	if (i != SIZE_MAX || v->n >= MAX_TRANSPORTS)
		return i;
	struct transport x = { .addr = addr, .num = num, .found_by = found_by, .map_count = -1,
			       .problems = json_array() };
	if (!tli_vec_push(v, x)) {
		json_decref(x.problems);
		return SIZE_MAX;
	}
	return v->n - 1;
}

/* n bytes at a: the Go heap, data/bss, then the executable (string literals) */
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
	const struct tli_go_census *c = r->census;
	const uint8_t *p = c->src.gb && a ? tli_gobin_view(c->src.gb, a - c->src.bias, n) : NULL;
	if (p)
		memcpy(buf, p, n);
	return p != NULL;
}

/* n bytes at a lie in the captured data or bss */
static bool in_globals(const struct pools_run *r, uint64_t a, uint64_t n)
{
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->roots.globals[i];
		if (g->mem && a >= g->lo && a + n >= a && a + n <= g->hi)
			return true;
	}
	return false;
}

/* a Transport may be a heap object or sit in data/bss (`var c = &http.Client{Transport: &http.Transport{}}`
 * and http.DefaultTransport are allocated statically by the compiler); its heap object number in *num,
 * UINT64_MAX for data/bss */
static bool transport_at(const struct pools_run *r, const struct pools_http_layout *L, uint64_t a, uint64_t *num)
{
	struct tli_goheap_object o;
	if (pools_object(r, a, num, &o))
		return o.base == a && pools_size_fits(o.span->elemsize, L->t_size);
	*num = UINT64_MAX;
	return !(a & 7) && in_globals(r, a, L->t_size);
}

/* ---- host keys: copied while stopped ---- */

#define MAX_KEYS 16384          /* strings copied */

static int cmp_str(const void *a, const void *b)
{
	uint64_t x = ((const struct pools_str *)a)->addr, y = ((const struct pools_str *)b)->addr;
	return (x > y) - (x < y);
}

static const struct pools_str *key_at(const struct pools_strs *v, uint64_t addr)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v->v[mid].addr == addr)
			return &v->v[mid];
		if (v->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void pools_http_capture(struct pools_run *r, const struct pools_http_layout *L)
{
	const struct tli_goheap *h = r->h;
	const uint32_t offs[3] = { L->pc_scheme, L->pc_addr, L->pc_proxy };
	struct tli_u64set seen = { 0 };
	for (size_t i = 0; i < h->nspans && r->keys.n < MAX_KEYS; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || !pools_size_fits(sp->elemsize, L->pc_size))
			continue;
		for (uint64_t k = 0; k < sp->nelems && r->keys.n < MAX_KEYS; k++) {
			const uint8_t *m = sp->data + k * sp->elemsize;
			uint64_t sl = tli_rd64(m + L->pc_scheme + 8);
			if (sl != 4 && sl != 5)   /* "http" or "https": not a persistConn otherwise */
				continue;
			for (int f = 0; f < 3; f++) {
				uint64_t p = tli_rd64(m + offs[f]), n = tli_rd64(m + offs[f] + 8);
				uint8_t b;
				if (!n || n >= MAX_KEY || !p || tli_u64set_has(&seen, p) || pools_read(r, p, &b, 1))
					continue;
				struct pools_str x = { .addr = p, .len = n, .s = malloc(n) };
				if (!x.s || !tli_vec_push(&r->keys, x)) {
					free(x.s);
					break;
				}
				tli_u64set_add(&seen, p);
			}
		}
	}
	tli_u64set_free(&seen);
	struct tli_read *rs = calloc(r->keys.n ? r->keys.n : 1, sizeof(*rs));
	if (rs) {
		for (size_t i = 0; i < r->keys.n; i++)
			rs[i] = (struct tli_read){ .addr = r->keys.v[i].addr, .buf = r->keys.v[i].s, .len = r->keys.v[i].len };
		bool failed = r->keys.n && tli_error_drop(tli_target_read_many(r->s->target, rs, r->keys.n));
		for (size_t i = 0; i < r->keys.n; i++)
			if (failed || rs[i].got < rs[i].len)
				r->keys.v[i].len = 0;   /* not read */
	}
	free(rs);
	qsort(r->keys.v, r->keys.n, sizeof(*r->keys.v), cmp_str);
}

void pools_http_free(struct pools_run *r)
{
	for (size_t i = 0; i < r->keys.n; i++)
		free(r->keys.v[i].s);
	tli_vec_free(&r->keys);
}

/* the Go string whose header is at m; false if unreadable or longer than cap - 1 */
static bool gostr(const struct pools_run *r, const uint8_t *m, char *out, size_t cap)
{
	uint64_t p = tli_rd64(m), n = tli_rd64(m + 8);
	const struct pools_str *k = n && n < cap ? key_at(&r->keys, p) : NULL;
	out[0] = 0;
	if (k && k->len == n)
		memcpy(out, k->s, n);
	else if (n >= cap || (n && !rd(r, p, out, n)))
		return false;
	out[n] = 0;
	for (uint64_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return false;
	return true;
}

/* the Transports the census typed */
static void find_typed(const struct pools_run *r, const struct pools_http_layout *L, struct transports *out)
{
	const struct tli_goheap *h = r->h;
	const struct tli_go_census *c = r->census;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || !pools_size_fits(sp->elemsize, L->t_size))
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k;
			if (c->state[n] && pools_typed_as(r, n, "http.Transport", L->t_size))
				add_tr(out, sp->start + k * sp->elemsize, n, "type");
		}
	}
}

/* DWARF globals whose type is net/http.Transport itself (`var tr http.Transport`) */
static void find_globals(const struct pools_run *r, const struct pools_http_layout *L, struct transports *out)
{
	const struct tli_go_census *c = r->census;
	for (size_t i = 0; i < c->globals.n; i++) {
		const struct census_global *g = &c->globals.v[i];
		if (g->type_name && !strcmp(g->type_name, "net/http.Transport") && g->size == L->t_size &&
		    in_globals(r, g->addr, L->t_size))
			add_tr(out, g->addr, UINT64_MAX, "global");
	}
}

/* live object at base (number n) is a persistConn; fills x (not tr) and its Transport's address */
static bool is_pconn(const struct pools_run *r, const struct pools_http_layout *L, uint64_t base, uint64_t n,
		     struct pconn *x, uint64_t *t)
{
	uint8_t m[4096];
	if (L->pc_size > sizeof(m) || !pools_read(r, base, m, L->pc_size))
		return false;
	bool typed = pools_typed_as(r, n, "http.persistConn", L->pc_size);
	if (!typed && r->census->otype[n])
		return false;
	*t = tli_rd64(m + L->pc_t);
	bool keys = gostr(r, m + L->pc_scheme, x->scheme, sizeof(x->scheme)) &&
		    gostr(r, m + L->pc_addr, x->host, sizeof(x->host)) &&
		    gostr(r, m + L->pc_proxy, x->proxy, sizeof(x->proxy));
	if (!typed) {
		/* untyped: a Transport-sized object behind t, an http(s) host, a connection and its channels */
		uint64_t tn;
		if (!keys || (strcmp(x->scheme, "http") && strcmp(x->scheme, "https")) || !x->host[0] ||
		    !tli_rd64(m + L->pc_conn) || !tli_rd64(m + L->pc_conn + 8) || !tli_rd64(m + L->pc_reqch) ||
		    !tli_rd64(m + L->pc_writech) || !tli_rd64(m + L->pc_closech) || m[L->pc_onlyh1] > 1 ||
		    !transport_at(r, L, *t, &tn))
			return false;
	} else if (!keys) {
		snprintf(x->host, sizeof(x->host), "(unreadable key)");
	}
	x->addr = base;
	x->only_h1 = m[L->pc_onlyh1] != 0;
	x->closed = tli_rd64(m + L->pc_closed) != 0;
	x->h2 = tli_rd64(m + L->pc_alt) != 0;
	return true;
}

/* every persistConn, attached to its Transport (Transports only a connection names are added) */
static void find_pconns(const struct pools_run *r, const struct pools_http_layout *L, struct transports *trs,
			struct pconns *out, bool *capped)
{
	const struct tli_goheap *h = r->h;
	const struct tli_go_census *c = r->census;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || !pools_size_fits(sp->elemsize, L->pc_size))
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k, base = sp->start + k * sp->elemsize, ta, tn;
			struct pconn x = { 0 };
			if (!c->state[n] || !is_pconn(r, L, base, n, &x, &ta))
				continue;
			x.tr = tr_of(trs, ta);
			if (x.tr == SIZE_MAX) {
				if (!transport_at(r, L, ta, &tn))
					continue;   /* typed, but its t is neither a live object nor in data/bss */
				x.tr = add_tr(trs, ta, tn, "connection");
				if (x.tr == SIZE_MAX)
					continue;
			}
			if (out->n >= MAX_PCONNS) {
				*capped = true;
				return;
			}
			tli_vec_push(out, x);
		}
	}
}

static struct pconn *pconn_at(struct pconns *v, uint64_t addr)
{
	size_t lo = 0, hi = v->n;   /* sorted by address */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v->v[mid].addr == addr)
			return &v->v[mid];
		if (v->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* the idle list of Transport t: marks its connections idle; t->unreadable says why it cannot */
static void read_idle(const struct pools_run *r, const struct pools_http_layout *L, struct transport *t,
		      size_t ti, struct pconns *pcs)
{
	uint8_t b[16];
	if (!rd(r, t->addr + L->t_lru_ll, b, 8)) {
		snprintf(t->unreadable, sizeof(t->unreadable), "the Transport at 0x%" PRIx64 " was not captured", t->addr);
		return;
	}
	uint64_t ll = tli_rd64(b), root = ll + L->l_root, len = 0;
	if (ll) {
		if (!rd(r, ll + L->l_len, b, 8)) {
			snprintf(t->unreadable, sizeof(t->unreadable), "idle list 0x%" PRIx64 " unreadable", ll);
			return;
		}
		len = tli_rd64(b);
		if (len > MAX_IDLE) {
			snprintf(t->unreadable, sizeof(t->unreadable), "idle list 0x%" PRIx64 " claims %" PRId64
				 " elements", ll, (int64_t)len);
			return;
		}
	}
	struct tli_u64set seen = { 0 };
	uint64_t e = 0, n = 0;
	if (ll && (!rd(r, root + L->e_next, b, 8) || !(e = tli_rd64(b))))
		snprintf(t->unreadable, sizeof(t->unreadable), "idle list 0x%" PRIx64 " has no first element", ll);
	while (ll && e && e != root && !t->unreadable[0]) {
		uint8_t v[16];
		if (tli_u64set_has(&seen, e) || n >= MAX_IDLE) {
			snprintf(t->unreadable, sizeof(t->unreadable), "idle list: element 0x%" PRIx64 " comes back "
				 "(a cycle) after %" PRIu64 " elements", e, n);
			break;
		}
		tli_u64set_add(&seen, e);
		if (!rd(r, e + L->e_next, b, 8) || !rd(r, e + L->e_list, b + 8, 8) || !rd(r, e + L->e_value, v, 16)) {
			snprintf(t->unreadable, sizeof(t->unreadable), "idle list element 0x%" PRIx64 " unreadable", e);
			break;
		}
		if (tli_rd64(b + 8) != ll) {
			snprintf(t->unreadable, sizeof(t->unreadable), "idle list element 0x%" PRIx64
				 " belongs to list 0x%" PRIx64 ", not 0x%" PRIx64, e, tli_rd64(b + 8), ll);
			break;
		}
		n++;
		struct pconn *pc = pconn_at(pcs, tli_rd64(v + 8));
		if (!pc || pc->tr != ti)
			pools_problem(t->problems, "idle list element 0x%" PRIx64 " holds 0x%" PRIx64 ", not a connection of this Transport",
				e, tli_rd64(v + 8));
		else if (pc->idle)
			pools_problem(t->problems, "connection 0x%" PRIx64 " listed idle twice", pc->addr);
		else
			pc->idle = true;
		e = tli_rd64(b);
	}
	tli_u64set_free(&seen);
	if (t->unreadable[0])
		return;
	if (ll && !e)
		pools_problem(t->problems, "idle list 0x%" PRIx64 " ends in nil, not at its root", ll);
	if (n != len)
		pools_problem(t->problems, "idle list 0x%" PRIx64 " has %" PRIu64 " elements, its len says %" PRIu64, ll, n, len);
	t->idle_known = true;
	t->idle_listed = (int64_t)n;
	/* idleConn: its count of hosts */
	if (!rd(r, t->addr + L->t_idleconn, b, 8))
		return;
	uint64_t hm = tli_rd64(b);
	if (!hm)
		t->map_count = 0;
	else if (L->has_count && rd(r, hm + L->map_count, b, 8))
		t->map_count = (int64_t)tli_rd64(b);
	else
		pools_problem(t->problems, "idleConn map 0x%" PRIx64 " unreadable", hm);
}

/* ---- names of Transports in data/bss ---- */

/* the DWARF global holding a, or NULL */
static const struct census_global *global_at(const struct tli_go_census *c, uint64_t a)
{
	size_t lo = 0, hi = c->globals.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->globals.v[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && a < c->globals.v[lo - 1].addr + c->globals.v[lo - 1].size)
		return &c->globals.v[lo - 1];
	return NULL;
}

/* the named global with a word pointing into [lo, hi], the highest such pointer first (the nearest
 * object start below hi); *anon: the first such word outside any named global (0 if none) */
static const struct census_global *named_pointer(const struct pools_run *r, uint64_t lo, uint64_t hi, uint64_t *anon)
{
	const struct census_global *best = NULL;
	uint64_t bestv = 0;
	*anon = 0;
	for (int i = 0; i < 2; i++) {
		const struct tli_goheap_range *g = &r->roots.globals[i];
		for (uint64_t a = g->lo; g->mem && a + 8 <= g->hi; a += 8) {
			uint64_t v = tli_rd64(g->mem + (a - g->lo));
			if (v < lo || v > hi)
				continue;
			const struct census_global *x = global_at(r->census, a);
			if (!x && !*anon)
				*anon = a;
			if (x && (!best || v > bestv)) {
				best = x;
				bestv = v;
			}
		}
	}
	return best;
}

/* the global a statically allocated Transport at a is reached from: the global it is, one with a word
 * pointing at it (http.DefaultTransport), else one pointing at most 4 KiB below the anonymous static
 * object holding such a word (`var client = &http.Client{Transport: &http.Transport{}}`) */
static const char *global_name(const struct pools_run *r, uint64_t a)
{
	const struct census_global *g = global_at(r->census, a);
	uint64_t at = 0, unused;
	if (!g)
		g = named_pointer(r, a, a, &at);
	if (!g && at)
		g = named_pointer(r, at >= 4096 ? at - 4096 : 0, at, &unused);
	return g ? g->name : NULL;
}

/* ---- goroutines ---- */

static void find_loops(struct pools_run *r, struct pconns *pcs)
{
	for (size_t g = 0; g < r->roots.nstacks; g++) {
		const struct tli_goheap_range *st = &r->roots.stacks[g];
		struct tli_go_gview v;
		const char *fn[64];
		uint64_t sp[64];
		if (!st->mem || !tli_go_rt_g(r->rt, g, &v) || v.dead)
			continue;
		size_t n = census_unwind(r->census, &v, st, fn, sp, 64);
		int which = 0;
		uint64_t from = st->lo;
		for (size_t f = 0; f < n && !which; f++) {
			if (fn[f] && !strcmp(fn[f], READ_LOOP))
				which = 1;
			else if (fn[f] && !strcmp(fn[f], WRITE_LOOP))
				which = 2;
			from = sp[f];
		}
		if (!which)
			continue;
		/* the connection: first in the loop's frame and above it, else anywhere on the stack */
		struct pconn *pc = NULL;
		for (int pass = 0; pass < 2 && !pc; pass++)
			for (uint64_t a = pass ? st->lo : from; a >= st->lo && a + 8 <= st->hi && !pc; a += 8)
				pc = pconn_at(pcs, tli_rd64(st->mem + (a - st->lo)));
		if (!pc)
			continue;
		int64_t *slot = which == 1 ? &pc->read_loop : &pc->write_loop;
		if (!*slot)
			*slot = (int64_t)v.goid;
	}
}

/* ---- output ---- */

static json_t *goid_or_null(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

static bool same_host(const struct pconn *a, const struct pconn *b)
{
	return a->only_h1 == b->only_h1 && !strcmp(a->host, b->host) && !strcmp(a->scheme, b->scheme) &&
	       !strcmp(a->proxy, b->proxy);
}

static json_t *host_json(const struct pconn *k, bool idle_known)
{
	json_t *h = json_object();
	json_object_set_new(h, "host", json_string(k->host));
	json_object_set_new(h, "scheme", json_string(k->scheme));
	json_object_set_new(h, "proxy", k->proxy[0] ? json_string(k->proxy) : json_null());
	json_object_set_new(h, "only_h1", json_boolean(k->only_h1));
	json_object_set_new(h, "idle", idle_known ? json_integer(0) : json_null());
	json_object_set_new(h, "in_use", idle_known ? json_integer(0) : json_null());
	json_object_set_new(h, "connections", json_array());
	return h;
}

static void bump(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		json_integer_set(v, json_integer_value(v) + 1);
}

static json_t *tr_json(const struct pools_run *r, struct transport *t, size_t ti, const struct pconns *pcs)
{
	json_t *o = json_object(), *hosts = json_array();
	char nb[512];
	const char *name = t->num == UINT64_MAX ? global_name(r, t->addr) : pools_root_name(r, t->num, nb, sizeof(nb));
	json_object_set_new(o, "address", tli_go_hex(t->addr));
	json_object_set_new(o, "name", name ? json_string(name) : json_null());
	json_object_set_new(o, "found_by", json_string(t->found_by));
	int64_t idle = 0, in_use = 0, closed = 0, hosts_idle = 0;
	const struct pconn *first[4096];   /* each host's first connection (its key) */
	size_t nh = 0;
	for (size_t i = 0; i < pcs->n; i++) {
		const struct pconn *pc = &pcs->v[i];
		if (pc->tr != ti)
			continue;
		if (pc->closed) {
			closed++;
			continue;
		}
		size_t h = 0;
		while (h < nh && !same_host(first[h], pc))
			h++;
		if (h == nh) {
			if (nh == sizeof(first) / sizeof(first[0]))
				continue;
			first[nh++] = pc;
			json_array_append_new(hosts, host_json(pc, t->idle_known));
		}
		json_t *ho = json_array_get(hosts, h), *c = json_object();
		json_object_set_new(c, "address", tli_go_hex(pc->addr));
		json_object_set_new(c, "state", json_string(!t->idle_known ? "unknown" : pc->idle ? "idle" : "in_use"));
		json_object_set_new(c, "read_loop", goid_or_null(pc->read_loop));
		json_object_set_new(c, "write_loop", goid_or_null(pc->write_loop));
		if (pc->h2)
			json_object_set_new(c, "http2", json_true());
		json_array_append_new(json_object_get(ho, "connections"), c);
		bump(ho, pc->idle ? "idle" : "in_use");
		idle += pc->idle;
		in_use += !pc->idle;
	}
	for (size_t h = 0; h < nh; h++)
		hosts_idle += json_integer_value(json_object_get(json_array_get(hosts, h), "idle")) > 0;
	json_object_set_new(o, "idle", t->idle_known ? json_integer(idle) : json_null());
	json_object_set_new(o, "in_use", t->idle_known ? json_integer(in_use) : json_null());
	json_object_set_new(o, "closed_found", json_integer(closed));
	json_object_set_new(o, "hosts", hosts);
	if (t->idle_known && t->map_count >= 0 && t->map_count != hosts_idle)
		pools_problem(t->problems, "idleConn counts %" PRId64 " hosts, the idle connections go to %" PRId64, t->map_count,
			hosts_idle);
	if (t->unreadable[0])
		json_object_set_new(o, "unreadable", json_string(t->unreadable));
	json_object_set_new(o, "problems", t->problems);
	t->problems = NULL;
	return o;
}

static int cmp_tr(const void *a, const void *b)
{
	uint64_t x = ((const struct transport *)a)->addr, y = ((const struct transport *)b)->addr;
	return (x > y) - (x < y);
}

static int cmp_pc(const void *a, const void *b)
{
	uint64_t x = ((const struct pconn *)a)->addr, y = ((const struct pconn *)b)->addr;
	return (x > y) - (x < y);
}

void pools_http_run(struct pools_run *r, const struct pools_http_layout *L, json_t *pools)
{
	if (!L->ok) {
		json_object_set_new(pools, "http_transports", json_null());
		json_object_set_new(pools, "http_unreadable", json_string(L->problem[0] ? L->problem : "no layout"));
		return;
	}
	struct transports trs = { 0 };
	struct pconns pcs = { 0 };
	bool capped = false;
	find_typed(r, L, &trs);
	find_globals(r, L, &trs);
	size_t typed = trs.n;
	qsort(trs.v, trs.n, sizeof(*trs.v), cmp_tr);
	find_pconns(r, L, &trs, &pcs, &capped);
	if (capped)
		tli_session_warn(r->s, "more than %d net/http connections: the rest are not listed", MAX_PCONNS);
	qsort(pcs.v, pcs.n, sizeof(*pcs.v), cmp_pc);
	for (size_t i = 0; i < trs.n; i++)
		read_idle(r, L, &trs.v[i], i, &pcs);
	find_loops(r, &pcs);
	/* output in address order: the connections name their Transport by index, so sort a copy of the order */
	size_t *order = calloc(trs.n ? trs.n : 1, sizeof(*order));
	json_t *a = json_array();
	for (size_t i = 0; order && i < trs.n; i++) {
		size_t k = i;
		while (k > 0 && trs.v[order[k - 1]].addr > trs.v[i].addr) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (size_t i = 0; order && i < trs.n; i++)
		json_array_append_new(a, tr_json(r, &trs.v[order[i]], order[i], &pcs));
	free(order);
	for (size_t i = 0; i < trs.n; i++)
		json_decref(trs.v[i].problems);
	/* say what cannot be found where it matters: no DWARF globals (stripped), or Transports outside the
	 * typed heap (static data), which only their connections reveal */
	if (!r->census->globals.n || trs.n > typed)
		json_object_set_new(pools, "http_transports_note",
				    json_string("a Transport outside the typed heap (untyped without DWARF; "
						"`&http.Transport{}` in a global and http.DefaultTransport are static data) "
						"is found only through an open connection"));
	tli_vec_free(&trs);
	tli_vec_free(&pcs);
	json_object_set_new(pools, "http_transports", a);
}
