/* SPDX-License-Identifier: MIT */
/*
 * database/sql pools (pools.h), read from the captured Go heap.
 *
 * Finding them. A DB is an object the census typed as database/sql.DB (the
 * descriptor of a typed global such as `var db *sql.DB`, or of any typed
 * pointer). Its connections are the live objects typed database/sql.driverConn
 * (the DB's dep map holds every open one as a finalCloser interface, whose
 * itab types it); where the census could not type them (stripped binaries),
 * an object of driverConn's size class whose db field points at an object of
 * DB's size class, with a driver connection (ci) and a creation time, counts
 * as one (found_by "connection").
 *
 * The figures are db.Stats()'s own (database/sql/sql.go, DB.Stats): maxOpen,
 * numOpen, len(freeConn) idle, numOpen - idle in use, waitCount, waitDuration,
 * maxIdleClosed, maxIdleTimeClosed, maxLifetimeClosed.
 *
 * Leaked and held. The pool reaches every open connection through its own
 * bookkeeping: freeConn (idle ones), dep (every one, keyed by itself), the
 * connection requests and lastPut. With those words of each DB left untraced,
 * the Go heap is marked from the runtime's roots (go/heap.h): first from
 * data/bss, thread registers and finalizer specials (what globals hold), then
 * once per goroutine from its stack, scanned precisely (heap_stack.h), on top
 * of the globals' marks. An in-use connection a goroutine's marking reaches is
 * held by it; one neither the globals nor any stack reaches is leaked (the
 * *sql.Rows or *sql.Tx that owned it was dropped without Close).
 *
 * Waiters are the goroutines with a frame in database/sql.(*DB).conn, where a
 * request for a connection blocks while the pool is saturated; each belongs
 * to the DB whose address its stack holds.
 */
#include "pools_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "go/gfacts.h"

#define MAX_DBS 256
#define MAX_CONNS 65536
#define MAX_GIDS 64
#define MARK_BUDGET (2ull << 30)   /* bytes of mark bits copied for per-goroutine marking */
#define CONN_FUNC "database/sql.(*DB).conn"

/* ---- layout ---- */

static bool member(struct tli_layout *l, const char *type, const char *m, uint32_t *off, uint64_t *size,
		   struct pools_sql_layout *L)
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
	if (size)
		*size = x.size;
	return true;
}

void pools_sql_layout(struct tli_layout *l, struct pools_sql_layout *L)
{
	const char *DB = "database/sql.DB", *DC = "database/sql.driverConn";
	uint64_t sz = 0;
	struct tli_member x;
	struct tli_error *err = tli_layout_type_size(l, DB, &L->db_size);
	if (!err)
		err = tli_layout_type_size(l, DC, &L->dc_size);
	if (err) {
		snprintf(L->problem, sizeof(L->problem), "%.150s", err->msg);
		tli_error_destroy(err);
		return;
	}
	bool ok = member(l, DB, "maxOpen", &L->db_maxopen, NULL, L) && member(l, DB, "numOpen", &L->db_numopen, NULL, L) &&
		  member(l, DB, "freeConn", &L->db_freeconn, NULL, L) &&
		  member(l, DB, "waitCount", &L->db_waitcount, NULL, L) &&
		  member(l, DB, "waitDuration", &L->db_waitdur, NULL, L) && member(l, DB, "closed", &L->db_closed, NULL, L) &&
		  member(l, DB, "maxIdleClosed", &L->db_maxidleclosed, NULL, L) &&
		  member(l, DB, "maxLifetimeClosed", &L->db_maxlifetimeclosed, NULL, L) &&
		  member(l, DB, "dep", &L->db_dep, NULL, L) && member(l, DB, "connRequests", &L->db_connreq, &sz, L) &&
		  member(l, DC, "db", &L->dc_db, NULL, L) && member(l, DC, "inUse", &L->dc_inuse, NULL, L) &&
		  member(l, DC, "closed", &L->dc_closed, NULL, L) && member(l, DC, "ci", &L->dc_ci, NULL, L) &&
		  member(l, DC, "createdAt", &L->dc_created, NULL, L);
	if (!ok)
		return;
	L->db_connreq_size = (uint32_t)sz;
	if ((L->has_idletime = tli_layout_has_member(l, DB, "maxIdleTimeClosed", &x)))
		L->db_maxidletimeclosed = (uint32_t)x.offset;
	if ((L->has_lastput = tli_layout_has_member(l, DB, "lastPut", &x)))
		L->db_lastput = (uint32_t)x.offset;
	/* the requests: a connRequestSet (go1.23+) or a map[uint64]chan connRequest */
	if ((L->connreq_set = tli_layout_has_member(l, DB, "connRequests.s.len", &x)))
		L->connreq_len = (uint32_t)x.offset;
	else if ((L->has_hmap_count = tli_layout_has_member(l, "runtime.hmap", "count", &x)))
		L->hmap_count = (uint32_t)x.offset;
	L->ok = L->db_size >= 64 && L->db_size < 4096 && L->dc_size >= 64 && L->dc_size < 4096 &&
		L->db_connreq_size <= 64;
	if (!L->ok)
		snprintf(L->problem, sizeof(L->problem), "implausible sizes of database/sql.DB (%" PRIu64
			 ") and driverConn (%" PRIu64 ")", L->db_size, L->dc_size);
}

/* ---- what one DB is ---- */

TLI_VEC(gids, int64_t);

struct conn {
	uint64_t addr;
	bool in_use, global;
	struct gids held;
};
TLI_VEC(conns, struct conn);

struct db {
	uint64_t addr, num, elemsize;
	const char *found_by;
	int64_t max_open, num_open, wait_count, wait_dur, idle_closed, idle_time_closed, lifetime_closed;
	int64_t idle, requests;    /* requests: -1 unknown */
	bool closed;
	struct conns conns;
	struct gids waiters;
	json_t *problems;
};
TLI_VEC(dbs, struct db);

static int64_t rd_i64(const uint8_t *m, uint32_t off)
{
	return (int64_t)tli_rd64(m + off);
}

static struct db *db_of(struct dbs *v, uint64_t addr)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].addr == addr)
			return &v->v[i];
	return NULL;
}

/* a DB at live object o (number num); NULL when out of room */
static struct db *add_db(struct dbs *v, const struct tli_goheap_object *o, uint64_t num, const char *found_by)
{
	struct db *d = db_of(v, o->base);
	if (d || v->n >= MAX_DBS)
		return d;
	struct db x = { .addr = o->base, .num = num, .elemsize = o->span->elemsize, .found_by = found_by,
			.requests = -1, .problems = json_array() };
	if (!tli_vec_push(v, x)) {
		json_decref(x.problems);
		return NULL;
	}
	return &v->v[v->n - 1];
}

/* the DBs the census typed */
static void find_typed_dbs(const struct pools_run *r, const struct pools_sql_layout *L, struct dbs *out)
{
	const struct tli_goheap *h = r->h;
	const struct tli_go_census *c = r->census;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || !pools_size_fits(sp->elemsize, L->db_size))
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k;
			if (c->state[n] && pools_typed_as(r, n, "sql.DB", L->db_size)) {
				struct tli_goheap_object o = { .span = (struct tli_goheap_span *)sp, .index = k,
							       .base = sp->start + k * sp->elemsize };
				add_db(out, &o, n, "type");
			}
		}
	}
}

/* live object at base (number n) is an open driverConn; its DB's address in *db */
static bool is_conn(const struct pools_run *r, const struct pools_sql_layout *L, uint64_t base, uint64_t n,
		    uint64_t *db)
{
	uint8_t m[4096];
	if (L->dc_size > sizeof(m) || !pools_read(r, base, m, L->dc_size))
		return false;
	*db = tli_rd64(m + L->dc_db);
	if (m[L->dc_closed] || m[L->dc_inuse] > 1)
		return false;
	if (pools_typed_as(r, n, "sql.driverConn", L->dc_size))
		return true;
	/* untyped: a driver connection, a creation time and a DB-sized object behind db */
	uint64_t dnum;
	struct tli_goheap_object d;
	return !r->census->otype[n] && tli_rd64(m + L->dc_ci) && tli_rd64(m + L->dc_ci + 8) &&
	       tli_rd64(m + L->dc_created) && pools_object(r, *db, &dnum, &d) && d.base == *db &&
	       pools_size_fits(d.span->elemsize, L->db_size);
}

/* every open connection, attached to its DB (DBs only a connection names are added) */
static void find_conns(const struct pools_run *r, const struct pools_sql_layout *L, struct dbs *dbs, bool *capped)
{
	const struct tli_goheap *h = r->h;
	const struct tli_go_census *c = r->census;
	size_t total = 0;
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tli_goheap_span *sp = &h->spans[i];
		if (!sp->data || !pools_size_fits(sp->elemsize, L->dc_size))
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			uint64_t n = c->objoff[i] + k, base = sp->start + k * sp->elemsize, dba, dnum;
			struct tli_goheap_object o;
			if (!c->state[n] || !is_conn(r, L, base, n, &dba) || !pools_object(r, dba, &dnum, &o) ||
			    o.base != dba)
				continue;
			struct db *d = db_of(dbs, dba);
			if (!d && !(d = add_db(dbs, &o, dnum, "connection")))
				continue;
			if (total++ >= MAX_CONNS) {
				*capped = true;
				return;
			}
			uint8_t iu = 0;
			pools_read(r, base + L->dc_inuse, &iu, 1);
			struct conn x = { .addr = base, .in_use = iu == 1 };
			tli_vec_push(&d->conns, x);
		}
	}
}

/* the number of pending connection requests (-1 unknown) */
static int64_t requests(const struct pools_run *r, const struct pools_sql_layout *L, const uint8_t *m)
{
	if (L->connreq_set)
		return rd_i64(m, L->connreq_len);
	uint64_t hm = tli_rd64(m + L->db_connreq);
	uint8_t b[8];
	if (!hm)
		return 0;
	if (!L->has_hmap_count || !pools_read(r, hm + L->hmap_count, b, 8))
		return -1;
	return (int64_t)tli_rd64(b);
}

/* the DB's counters, checked: garbage becomes a problem, not a figure */
static void read_db(const struct pools_run *r, const struct pools_sql_layout *L, struct db *d)
{
	uint8_t m[4096];
	if (!pools_read(r, d->addr, m, L->db_size)) {
		pools_problem(d->problems, "unreadable: the object at 0x%" PRIx64 " was not captured", d->addr);
		d->num_open = d->max_open = -1;
		return;
	}
	d->max_open = rd_i64(m, L->db_maxopen);
	d->num_open = rd_i64(m, L->db_numopen);
	d->wait_count = rd_i64(m, L->db_waitcount);
	d->wait_dur = rd_i64(m, L->db_waitdur);
	d->idle_closed = rd_i64(m, L->db_maxidleclosed);
	d->idle_time_closed = L->has_idletime ? rd_i64(m, L->db_maxidletimeclosed) : 0;
	d->lifetime_closed = rd_i64(m, L->db_maxlifetimeclosed);
	d->closed = m[L->db_closed] != 0;
	d->requests = requests(r, L, m);
	int64_t flen = rd_i64(m, L->db_freeconn + 8), fcap = rd_i64(m, L->db_freeconn + 16);
	uint64_t farr = tli_rd64(m + L->db_freeconn);
	const int64_t lim = 1 << 20;
	if (d->max_open < 0 || d->max_open > lim)
		pools_problem(d->problems, "implausible maxOpen %" PRId64, d->max_open);
	if (d->num_open < 0 || d->num_open > lim)
		pools_problem(d->problems, "implausible numOpen %" PRId64, d->num_open);
	if (d->wait_count < 0 || d->wait_dur < 0)
		pools_problem(d->problems, "implausible waitCount %" PRId64 " / waitDuration %" PRId64, d->wait_count, d->wait_dur);
	if (d->requests < -1 || d->requests > lim)
		pools_problem(d->problems, "implausible number of connection requests %" PRId64, d->requests);
	if (flen < 0 || flen > fcap || fcap > lim || (flen && !farr)) {
		pools_problem(d->problems, "implausible freeConn (len %" PRId64 ", cap %" PRId64 ")", flen, fcap);
		d->idle = -1;
		return;
	}
	d->idle = flen;
	/* every idle entry: a distinct open connection of this DB (a list naming one twice is corrupt) */
	struct tli_u64set seen = { 0 };
	for (int64_t i = 0; i < flen; i++) {
		uint8_t b[8];
		if (!pools_read(r, farr + 8 * (uint64_t)i, b, 8)) {
			pools_problem(d->problems, "freeConn[%" PRId64 "] unreadable (array 0x%" PRIx64 ")", i, farr);
			break;
		}
		uint64_t dc = tli_rd64(b);
		bool known = false;
		for (size_t k = 0; k < d->conns.n && !known; k++)
			known = d->conns.v[k].addr == dc && !d->conns.v[k].in_use;
		if (tli_u64set_has(&seen, dc)) {
			pools_problem(d->problems, "freeConn lists connection 0x%" PRIx64 " twice (a cycle)", dc);
			break;
		}
		tli_u64set_add(&seen, dc);
		if (!known)
			pools_problem(d->problems, "freeConn[%" PRId64 "] = 0x%" PRIx64 " is not an idle connection of this DB", i, dc);
	}
	tli_u64set_free(&seen);
}

/* ---- reachability ---- */

static size_t bits_len(const struct tli_goheap *h, const struct tli_goheap_marker *m)
{
	return h->nspans ? m->bitoff[h->nspans - 1] + (size_t)((h->spans[h->nspans - 1].nelems + 7) / 8) : 0;
}

static bool marked(const struct tli_goheap_marker *m, uint64_t a)
{
	bool in;
	return tli_goheap_is_marked(m, a, &in);
}

static void add_gid(struct gids *g, int64_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i] == id)
			return;
	if (g->n < MAX_GIDS)
		tli_vec_push(g, id);
}

/* per in-use connection: reached by globals, or by which goroutines' stacks; false if not judged */
static bool reach(struct pools_run *r, const struct pools_sql_layout *L, struct dbs *dbs, char *why, size_t cap)
{
	struct tli_u64set objs = { 0 }, words = { 0 };
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < dbs->n; i++) {
		const struct db *d = &dbs->v[i];
		tli_u64set_add(&objs, d->addr);
		tli_u64set_add(&words, d->addr + L->db_freeconn);
		tli_u64set_add(&words, d->addr + L->db_dep);
		if (L->has_lastput)
			tli_u64set_add(&words, d->addr + L->db_lastput);
		for (uint32_t o = 0; o < L->db_connreq_size; o += 8)
			tli_u64set_add(&words, d->addr + L->db_connreq + o);
		lo = d->elemsize < lo ? d->elemsize : lo;
		hi = d->elemsize + 1 > hi ? d->elemsize + 1 : hi;
	}
	const struct tli_goheap_untraced u = { .objs = &objs, .obj_min = lo, .obj_max = hi, .words = &words };
	struct tli_goheap_marker mg, mw;
	bool ok = false, have_w = false;
	if (tli_error_drop(tli_goheap_marker_init(&mg, r->h, &u, false))) {
		snprintf(why, cap, "out of memory for the mark bits");
		goto out;
	}
	tli_goheap_mark_from_roots(&mg, &r->roots, r->s->target);
	tli_goheap_drain(&mg);
	for (size_t i = 0; i < dbs->n; i++)
		for (size_t k = 0; k < dbs->v[i].conns.n; k++)
			dbs->v[i].conns.v[k].global = marked(&mg, dbs->v[i].conns.v[k].addr);
	if (tli_error_drop(tli_goheap_marker_init(&mw, r->h, &u, false))) {
		snprintf(why, cap, "out of memory for the mark bits");
		goto out_g;
	}
	have_w = true;
	size_t len = bits_len(r->h, &mg), ng = r->roots.nstacks, done = 0;
	uint64_t budget = MARK_BUDGET;
	for (size_t g = 0; g < ng; g++) {
		struct tli_go_gview v;
		if (!r->roots.stacks[g].mem || !tli_go_rt_g(r->rt, g, &v) || v.dead)
			continue;
		if (budget < len) {
			snprintf(why, cap, "held_by covers %zu goroutines only (mark budget)", done);
			break;
		}
		budget -= len;
		done++;
		memcpy(mw.bits, mg.bits, len);
		tli_goheap_mark_stack_precise(&mw, &r->roots, g, r->precise);
		tli_goheap_drain(&mw);
		for (size_t i = 0; i < dbs->n; i++)
			for (size_t k = 0; k < dbs->v[i].conns.n; k++) {
				struct conn *cn = &dbs->v[i].conns.v[k];
				if (cn->in_use && !cn->global && marked(&mw, cn->addr))
					add_gid(&cn->held, (int64_t)v.goid);
			}
	}
	ok = !mg.oom && !mw.oom;
	if (!ok)
		snprintf(why, cap, "out of memory while marking the Go heap");
out_g:
	if (have_w)
		tli_goheap_marker_free(&mw);
	tli_goheap_marker_free(&mg);
out:
	tli_u64set_free(&objs);
	tli_u64set_free(&words);
	return ok;
}

/* goroutines blocked in (*DB).conn, each given to the DB its stack names */
static void find_waiters(struct pools_run *r, struct dbs *dbs)
{
	for (size_t g = 0; g < r->roots.nstacks; g++) {
		const struct tli_goheap_range *st = &r->roots.stacks[g];
		struct tli_go_gview v;
		const char *fn[64];
		uint64_t sp[64];
		if (!st->mem || !tli_go_rt_g(r->rt, g, &v) || v.dead || !v.waiting)
			continue;
		size_t n = census_unwind(r->census, &v, st, fn, sp, 64);
		bool in_conn = false;
		for (size_t f = 0; f < n && !in_conn; f++)
			in_conn = fn[f] && !strcmp(fn[f], CONN_FUNC);
		if (!in_conn)
			continue;
		struct db *owner = dbs->n == 1 ? &dbs->v[0] : NULL;
		for (uint64_t a = st->lo; a + 8 <= st->hi; a += 8) {
			struct db *d = db_of(dbs, tli_rd64(st->mem + (a - st->lo)));
			if (d) {
				owner = d;
				break;
			}
		}
		if (owner)
			add_gid(&owner->waiters, (int64_t)v.goid);
	}
}

/* ---- output ---- */

static json_t *ids(const struct gids *g)
{
	json_t *a = json_array();
	for (size_t i = 0; i < g->n; i++)
		json_array_append_new(a, json_integer(g->v[i]));
	return a;
}

static json_t *num_or_null(int64_t v, bool ok)
{
	return ok ? json_integer(v) : json_null();
}

static int cmp_gid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static json_t *db_json(const struct pools_run *r, struct db *d, bool judged)
{
	json_t *o = json_object();
	char nb[512];
	const char *name = pools_root_name(r, d->num, nb, sizeof(nb));
	bool ok = d->num_open >= 0 && d->max_open >= 0;
	json_object_set_new(o, "address", tli_go_hex(d->addr));
	json_object_set_new(o, "name", name ? json_string(name) : json_null());
	json_object_set_new(o, "found_by", json_string(d->found_by));
	json_object_set_new(o, "max_open", num_or_null(d->max_open, ok));
	json_object_set_new(o, "open", num_or_null(d->num_open, ok));
	json_object_set_new(o, "in_use", num_or_null(d->num_open - d->idle, ok && d->idle >= 0));
	json_object_set_new(o, "idle", num_or_null(d->idle, d->idle >= 0));
	qsort(d->waiters.v, d->waiters.n, sizeof(int64_t), cmp_gid);
	json_object_set_new(o, "waiters", ids(&d->waiters));
	json_object_set_new(o, "pending_requests", num_or_null(d->requests, d->requests >= 0));
	json_object_set_new(o, "wait_count", num_or_null(d->wait_count, ok));
	json_object_set_new(o, "wait_duration_seconds", ok ? json_real((double)d->wait_dur / 1e9) : json_null());
	json_object_set_new(o, "max_idle_closed", num_or_null(d->idle_closed, ok));
	json_object_set_new(o, "max_idle_time_closed", num_or_null(d->idle_time_closed, ok));
	json_object_set_new(o, "max_lifetime_closed", num_or_null(d->lifetime_closed, ok));
	json_object_set_new(o, "closed", json_boolean(d->closed));
	json_t *conns = json_array(), *leaked = json_array();
	struct gids held = { 0 };
	size_t in_use = 0, global = 0;
	for (size_t k = 0; k < d->conns.n; k++) {
		struct conn *cn = &d->conns.v[k];
		json_t *c = json_object();
		json_object_set_new(c, "address", tli_go_hex(cn->addr));
		json_object_set_new(c, "in_use", json_boolean(cn->in_use));
		if (cn->in_use) {
			in_use++;
			global += cn->global;
			bool lk = judged && !cn->global && !cn->held.n;
			json_object_set_new(c, "leaked", judged ? json_boolean(lk) : json_null());
			json_object_set_new(c, "held_by_globals", json_boolean(cn->global));
			json_object_set_new(c, "held_by", ids(&cn->held));
			if (lk)
				json_array_append_new(leaked, tli_go_hex(cn->addr));
			for (size_t i = 0; i < cn->held.n; i++)
				add_gid(&held, cn->held.v[i]);
		}
		json_array_append_new(conns, c);
	}
	qsort(held.v, held.n, sizeof(int64_t), cmp_gid);
	json_object_set_new(o, "leaked", judged ? json_integer((json_int_t)json_array_size(leaked)) : json_null());
	json_object_set_new(o, "leaked_connections", leaked);
	json_object_set_new(o, "held_by", ids(&held));
	json_object_set_new(o, "held_by_globals", json_integer((json_int_t)global));
	json_object_set_new(o, "connections_found", json_integer((json_int_t)d->conns.n));
	json_object_set_new(o, "in_use_found", json_integer((json_int_t)in_use));
	if (ok && (int64_t)d->conns.n != d->num_open)
		pools_problem(d->problems, "found %zu open connections, numOpen says %" PRId64, d->conns.n, d->num_open);
	json_object_set_new(o, "connections", conns);
	json_object_set_new(o, "problems", d->problems);
	d->problems = NULL;
	tli_vec_free(&held);
	return o;
}

static int cmp_db(const void *a, const void *b)
{
	uint64_t x = ((const struct db *)a)->addr, y = ((const struct db *)b)->addr;
	return (x > y) - (x < y);
}

void pools_sql_run(struct pools_run *r, const struct pools_sql_layout *L, json_t *pools)
{
	if (!L->ok) {
		json_object_set_new(pools, "sql_dbs", json_null());
		json_object_set_new(pools, "sql_unreadable", json_string(L->problem[0] ? L->problem : "no layout"));
		return;
	}
	struct dbs dbs = { 0 };
	bool capped = false;
	find_typed_dbs(r, L, &dbs);
	find_conns(r, L, &dbs, &capped);
	if (capped)
		tli_session_warn(r->s, "more than %d database/sql connections: the rest are not listed", MAX_CONNS);
	qsort(dbs.v, dbs.n, sizeof(*dbs.v), cmp_db);
	for (size_t i = 0; i < dbs.n; i++)
		read_db(r, L, &dbs.v[i]);
	char why[160] = "";
	bool judged = dbs.n ? reach(r, L, &dbs, why, sizeof(why)) : true;
	if (why[0])
		tli_session_warn(r->s, "database/sql: %s", why);
	find_waiters(r, &dbs);
	json_t *a = json_array();
	for (size_t i = 0; i < dbs.n; i++) {
		json_array_append_new(a, db_json(r, &dbs.v[i], judged));
		for (size_t k = 0; k < dbs.v[i].conns.n; k++)
			tli_vec_free(&dbs.v[i].conns.v[k].held);
		tli_vec_free(&dbs.v[i].conns);
		tli_vec_free(&dbs.v[i].waiters);
		json_decref(dbs.v[i].problems);
	}
	tli_vec_free(&dbs);
	json_object_set_new(pools, "sql_dbs", a);
}
