/* SPDX-License-Identifier: MIT */
/*
 * The goroutine listing, built from the capture after the target runs again
 * (see goroutines_internal.h): one JSON object per goroutine (state, wait
 * time, start function, stack, creator), the groups of alike goroutines and
 * the summary. The schema is docs/json-schema.md ("go").
 */
#include "goroutines_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "core/bytes.h"
#include "core/jsonstr.h"
#include "core/vec.h"

#define GROUP_IDS 10   /* goroutine ids listed per group */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- an index keyed by up to three words ---- */

/*
 * Entry numbers (0, 1, ... in insertion order) by a key of three words: core's
 * u64 map from the key's hash to its newest entry, entries with the same hash
 * chained.
 */
struct key3 {
	uint64_t k[3];
	size_t next;    /* entry number + 1 of the previous entry with the same hash, 0 = none */
};
struct key3_index {
	struct tli_u64map head;
	TLI_VEC(key3_vec, struct key3) e;
};

/* Entry number of the key (*added: it is new). SIZE_MAX when out of memory. */
static size_t key3_lookup(struct key3_index *x, uint64_t a, uint64_t b, uint64_t c, bool *added)
{
	uint64_t h = tli_hash_u64(a ^ tli_hash_u64(b ^ tli_hash_u64(c)));
	h = h ? h : 1;
	uint64_t newest = tli_u64map_get(&x->head, h);
	for (size_t i = newest; i; i = x->e.v[i - 1].next) {
		const struct key3 *k = &x->e.v[i - 1];
		if (k->k[0] == a && k->k[1] == b && k->k[2] == c) {
			*added = false;
			return i - 1;
		}
	}
	if (!tli_vec_push(&x->e, ((struct key3){ { a, b, c }, newest })))
		return SIZE_MAX;
	if (!tli_u64map_put(&x->head, h, x->e.n)) {
		x->e.n--;
		return SIZE_MAX;
	}
	*added = true;
	return x->e.n - 1;
}

static void key3_free(struct key3_index *x)
{
	tli_u64map_free(&x->head);
	tli_vec_free(&x->e);
}

/* ---- the listing's state ---- */

/* A group of goroutines for the summary. */
struct group {
	uint64_t first_id;       /* ties are broken by the lowest goroutine id */
	json_t *obj;
	int64_t count;
};

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first_id < y->first_id ? -1 : x->first_id > y->first_id;
}

struct sortent {
	uint64_t goid;
	json_t *obj;
	size_t idx;     /* its g in w->gs */
};

/* The order of go.goroutines: by id, the unreadable (UINT64_MAX) last; ties by position in allgs. */
static int cmp_json(const void *a, const void *b)
{
	const struct sortent *x = a, *y = b;
	if (x->goid != y->goid)
		return x->goid < y->goid ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The order the text printer shows: the unreadable first (it sorts the listing by id, null
 * first), then by id; ties by position in allgs. */
static int cmp_text(const void *a, const void *b)
{
	const struct sortent *x = a, *y = b;
	uint64_t kx = x->goid + 1, ky = y->goid + 1; /* UINT64_MAX (unreadable) -> 0 */
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A goroutine's unwinding kept between the passes: its pcs are uwf[at, at + n). */
struct uwframe {
	uint64_t pc, argp;
};
struct unwound {
	size_t at;
	uint32_t n;
	bool kept, truncated;
	const char *problem;
};

struct listing {
	struct tli_go_rt *w;
	struct go_frame_cache fc;
	struct go_unwind_scratch *sc;   /* unwinding scratch */
	struct sortent *list;           /* the goroutine objects, sorted by id at the end */
	size_t nlist;
	uint64_t *ids;                  /* every goroutine id (duplicates mean a torn snapshot) */
	size_t nids;
	json_t *by_status, *by_reason;  /* counts of values the runtime has no string for */
	int64_t *nstatus, *nreason;     /* counts by status / wait reason value */
	/* the runtime's strings as JSON, made once and shared (not once per goroutine) */
	json_t **jstatus, **jreason;
	int64_t nsystem, nunreadable;
	struct key3_index gindex;       /* (state, user frame, creation pc) -> group */
	TLI_VEC(group_vec, struct group) groups;
	struct key3_index cbindex;      /* (gopc, parent goid) -> shared created_by object */
	TLI_VEC(json_vec, json_t *) cbs;
	/* a listing printed as it is built (tli_go_list_stream): the first pass (light) counts
	 * and groups without making objects; the second (pass2) makes them one at a time */
	bool light, pass2;
	struct unwound *uw;             /* per g (index in w->gs): the first pass's unwinding */
	TLI_VEC(frame_vec, struct uwframe) uwf;
};

static struct tli_error *listing_init(struct listing *L, struct tli_go_rt *w)
{
	*L = (struct listing){ .w = w };
	L->sc = calloc(1, sizeof(*L->sc));
	L->list = calloc(w->ngs ? w->ngs : 1, sizeof(*L->list));
	L->ids = calloc(w->ngs ? w->ngs : 1, sizeof(*L->ids));
	L->by_status = json_object();
	L->by_reason = json_object();
	L->nstatus = calloc(w->gss.n + 1, sizeof(*L->nstatus));
	L->nreason = calloc(w->wrs.n + 1, sizeof(*L->nreason));
	L->jstatus = calloc(w->gss.n + 1, sizeof(*L->jstatus));
	L->jreason = calloc(w->wrs.n + 1, sizeof(*L->jreason));
	if (!L->sc || !L->list || !L->ids || !L->jstatus || !L->jreason || !L->nstatus || !L->nreason)
		return &tli_enomem;
	return NULL;
}

static void listing_free(struct listing *L)
{
	for (size_t i = 0; i < L->nlist; i++)
		json_decref(L->list[i].obj);
	for (size_t i = 0; i < L->groups.n; i++)
		json_decref(L->groups.v[i].obj);
	tli_vec_free(&L->groups);
	key3_free(&L->gindex);
	for (size_t i = 0; i < L->cbs.n; i++)
		json_decref(L->cbs.v[i]);
	tli_vec_free(&L->cbs);
	key3_free(&L->cbindex);
	free(L->nstatus);
	free(L->nreason);
	for (size_t i = 0; L->jstatus && i < L->w->gss.n; i++)
		json_decref(L->jstatus[i]);
	for (size_t i = 0; L->jreason && i < L->w->wrs.n; i++)
		json_decref(L->jreason[i]);
	free(L->jstatus);
	free(L->jreason);
	json_decref(L->by_status);
	json_decref(L->by_reason);
	tli_go_tb_cache_free(&L->fc);
	free(L->uw);
	tli_vec_free(&L->uwf);
	free(L->sc);
	free(L->list);
	free(L->ids);
}

static json_t *cached_str(json_t **cache, size_t idx, const char *s)
{
	if (!cache[idx])
		cache[idx] = tli_json_string_lossy(s);
	return json_incref(cache[idx]);
}

/* ---- one goroutine ---- */

/* What the runtime says about a goroutine's state, as printed. */
struct gstate {
	const char *status;     /* gStatusStrings entry, or "status N" */
	const char *reason;     /* waitReasonStrings entry or "wait reason N"; NULL if not waiting */
	uint64_t wr;            /* raw wait reason */
	bool known_reason;      /* reason is the runtime's own string */
	char sbuf[64], rbuf[48];
};

static void read_state(const struct tli_go_rt *w, const struct gcap *g, struct gstate *st)
{
	const struct go_layout *gl = &w->gl;
	if (g->status < w->gss.n && w->gss.s[g->status] && w->gss.s[g->status][0]) {
		st->status = w->gss.s[g->status];
	} else {
		snprintf(st->sbuf, sizeof(st->sbuf), "status %llu", (unsigned long long)g->status);
		st->status = st->sbuf;
	}
	st->wr = tli_rdn(g->raw + gl->g_waitreason, gl->g_waitreason_size);
	st->reason = NULL;
	st->known_reason = st->wr < w->wrs.n && w->wrs.s[st->wr];
	if (!tli_go_gstatus_is_waiting(&gl->st, g->status) || st->wr == 0)
		return;
	if (st->known_reason) {
		st->reason = w->wrs.s[st->wr];
	} else {
		snprintf(st->rbuf, sizeof(st->rbuf), "wait reason %llu", (unsigned long long)st->wr);
		st->reason = st->rbuf;
	}
}

/* How long: only meaningful while waiting or in a syscall (Go's rule, runtime/traceback.go goroutineheader). */
static void set_wait_time(const struct tli_go_rt *w, const struct gcap *g, json_t *o)
{
	const struct go_layout *gl = &w->gl;
	int64_t since = (int64_t)tli_rd64(g->raw + gl->g_waitsince);
	if ((g->status == (uint64_t)gl->st.waiting || g->status == (uint64_t)gl->st.syscall) && since > 0 &&
	    w->now_ns > since) {
		double secs = (double)(w->now_ns - since) / 1e9;
		json_object_set_new_nocheck(o, "wait_seconds", json_real(secs));
		int64_t mins = (w->now_ns - since) / 60000000000LL;
		json_object_set_new_nocheck(o, "wait_minutes", mins >= 1 ? json_integer(mins) : json_null());
	} else {
		json_object_set_new_nocheck(o, "wait_seconds", json_null());
		json_object_set_new_nocheck(o, "wait_minutes", json_null());
	}
}

static json_t *status_json(struct listing *L, const struct gcap *g, const struct gstate *st)
{
	return g->status < L->w->gss.n ? cached_str(L->jstatus, g->status, st->status) : tli_json_string_lossy(st->status);
}

static json_t *reason_json(struct listing *L, const struct gstate *st)
{
	return !st->reason ? json_null() : st->known_reason ? cached_str(L->jreason, st->wr, st->reason)
							    : tli_json_string_lossy(st->reason);
}

/* The object's first members: id, address, status, wait reason, wait time, thread. */
static json_t *state_json(struct listing *L, const struct gcap *g, uint64_t goid, const struct gstate *st)
{
	const struct tli_go_rt *w = L->w;
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "id", json_integer((json_int_t)goid));
	json_object_set_new_nocheck(o, "address", tli_go_hex(g->addr));
	json_object_set_new_nocheck(o, "status", status_json(L, g, st));
	json_object_set_new_nocheck(o, "wait_reason", reason_json(L, st));
	if (g->scan)
		json_object_set_new_nocheck(o, "scan", json_true());
	set_wait_time(w, g, o);
	json_object_set_new_nocheck(o, "locked_to_thread", json_boolean(tli_rd64(g->raw + w->gl.g_lockedm) != 0));
	json_object_set_new_nocheck(o, "thread", g->tid ? json_integer(g->tid) : json_null());
	return o;
}

/* "system" and "start": the start function decides "system" like runtime.isSystemGoroutine. */
static struct tli_error *set_start(struct listing *L, const struct gcap *g, json_t *o, bool *system)
{
	struct tli_go_rt *w = L->w;
	uint64_t startpc = tli_rd64(g->raw + w->gl.g_startpc);
	json_t *start = json_null();
	struct tli_error *err = NULL;
	*system = false;
	if (startpc) {
		const struct go_pcframes *ce = tli_go_tb_symbolize(w, &L->fc, startpc, true, &err);
		if (!ce)
			return err;
		*system = tli_go_tb_is_system(w, g, ce->lf[ce->nlf - 1].func);
		start = json_incref(json_array_get(ce->frames, ce->nlf - 1));
	}
	if (o) {
		json_object_set_new_nocheck(o, "system", json_boolean(*system));
		json_object_set_new_nocheck(o, "start", start);
	} else {
		json_decref(start);
	}
	if (!L->pass2)
		L->nsystem += *system;
	return NULL;
}

/* A new created_by object: the physical function of gopc, file:line at gopc-1 (its innermost frame). */
static json_t *created_by_json(struct listing *L, const struct go_pcframes *ce, uint64_t gopc, uint64_t pg)
{
	const struct go_lframe *pf = &ce->lf[ce->nlf - 1];
	const struct go_lframe *inner = &ce->lf[0];
	char name[1024];
	tli_go_tb_display_name(L->w, pf->func, name, sizeof(name));
	json_t *cb = json_object();
	json_object_set_new_nocheck(cb, "function", tli_json_string_lossy(name));
	json_object_set_new_nocheck(cb, "file", inner->file ? tli_json_string_lossy(inner->file) : json_null());
	json_object_set_new_nocheck(cb, "line", json_integer(inner->line));
	json_object_set_new_nocheck(cb, "pc", tli_go_hex(gopc));
	json_object_set_new_nocheck(cb, "offset", gopc > pf->entry ? json_integer((json_int_t)(gopc - pf->entry))
								    : json_null());
	json_object_set_new_nocheck(cb, "goid", pg ? json_integer((json_int_t)pg) : json_null());
	return cb;
}

/*
 * "created by" (*ret, new reference; null when Go prints none). One shared
 * object per (gopc, parent goid): 100k goroutines started by one loop share it.
 */
static struct tli_error *created_by(struct listing *L, const struct gcap *g, uint64_t goid, uint64_t gopc,
				    json_t **ret)
{
	struct tli_go_rt *w = L->w;
	const struct go_layout *gl = &w->gl;
	uint64_t pg = gl->has_parentgoid ? tli_rd64(g->raw + gl->g_parentgoid) : 0;
	*ret = json_null();
	if (!gopc)
		return NULL;
	bool added = false;
	size_t slot = key3_lookup(&L->cbindex, gopc, pg, 0, &added);
	if (slot == SIZE_MAX || (added && !tli_vec_push(&L->cbs, NULL)))
		return &tli_enomem;
	if (L->cbs.v[slot]) {
		*ret = json_incref(L->cbs.v[slot]);
		return NULL;
	}
	struct tli_error *err = NULL;
	const struct go_pcframes *ce = tli_go_tb_symbolize(w, &L->fc, gopc, false, &err);
	if (!ce)
		return err;
	const struct go_lframe *pf = &ce->lf[ce->nlf - 1];
	if (strcmp(pf->func, "?") && goid != 1 && tli_go_tb_show_frame(gl, pf->func, pf->funcid, false, gl->fid_normal))
		*ret = created_by_json(L, ce, gopc, pg);
	if (goid != 1) /* goid 1's "none" must not be shared with others */
		L->cbs.v[slot] = json_incref(*ret);
	return NULL;
}

/* Count the goroutine by status and wait reason for the summary. */
static void count_state(struct listing *L, const struct gcap *g, const struct gstate *st)
{
	const struct tli_go_rt *w = L->w;
	if (g->status < w->gss.n) {
		L->nstatus[g->status]++;
	} else {
		json_t *c = json_object_get(L->by_status, st->status);
		json_object_set_new(L->by_status, st->status, json_integer(c ? json_integer_value(c) + 1 : 1));
	}
	if (st->reason && st->known_reason) {
		L->nreason[st->wr]++;
	} else if (st->reason) {
		json_t *c = json_object_get(L->by_reason, st->reason);
		json_object_set_new(L->by_reason, st->reason, json_integer(c ? json_integer_value(c) + 1 : 1));
	}
}

/* Add a user goroutine to its group: same state, same user frame, same creation site. */
static struct tli_error *group_add(struct listing *L, const struct gcap *g, const struct gstate *st, json_t *o,
				   json_t *user, json_t *cb, uint64_t gopc, uint64_t goid)
{
	uint64_t k0 = st->reason ? st->wr : 0x10000 + g->status;
	uint64_t k1 = (uint64_t)(uintptr_t)user;
	uint64_t k2 = json_is_null(cb) ? 0 : gopc;
	bool added = false;
	size_t gi = key3_lookup(&L->gindex, k0, k1, k2, &added);
	if (gi == SIZE_MAX)
		return &tli_enomem;
	if (!added) {
		struct group *gr = &L->groups.v[gi];
		gr->count++;
		tli_go_ids_keep_smallest(json_object_get(gr->obj, "ids"), goid, GROUP_IDS);
		return NULL;
	}
	json_t *go = json_object();
	if (!tli_vec_push(&L->groups, ((struct group){ .first_id = goid, .obj = go, .count = 1 }))) {
		json_decref(go);
		return &tli_enomem;
	}
	json_object_set_new_nocheck(go, "count", json_integer(0));
	if (o) {
		json_object_set_nocheck(go, "status", json_object_get(o, "status"));
		json_object_set_nocheck(go, "wait_reason", json_object_get(o, "wait_reason"));
	} else { /* the light pass: the values state_json would have set */
		json_object_set_new_nocheck(go, "status", status_json(L, g, st));
		json_object_set_new_nocheck(go, "wait_reason", reason_json(L, st));
	}
	json_object_set_nocheck(go, "user", user ? user : json_null());
	json_object_set_nocheck(go, "created_by", cb);
	json_t *gids = json_array();
	json_array_append_new(gids, json_integer((json_int_t)goid));
	json_object_set_new_nocheck(go, "ids", gids);
	return NULL;
}

/* A g that could not be read: listed, degraded. */
static json_t *unreadable_json(const struct gcap *g)
{
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "id", json_null());
	json_object_set_new_nocheck(o, "address", tli_go_hex(g->addr));
	json_object_set_new_nocheck(o, "unreadable", json_string(g->problem ? g->problem : "unreadable"));
	return o;
}

/* Whether pc lies in no function of the executable (the runtime never stores such a pc). */
static struct tli_error *pc_in_no_function(struct listing *L, uint64_t pc, bool *none)
{
	struct tli_error *err = NULL;
	const struct go_pcframes *ce = tli_go_tb_symbolize(L->w, &L->fc, pc, false, &err);
	*none = ce && !strcmp(ce->lf[ce->nlf - 1].func, "?");
	return ce ? NULL : err;
}

/*
 * A g whose start or creation pc is in no function was damaged (a bad core, memory
 * overwritten): its item says so ("unreadable"), rather than listing "?" or no creator
 * as if that were what the runtime holds (issue 15 item 8).
 */
static struct tli_error *check_pcs(struct listing *L, const struct gcap *g, uint64_t goid, const struct gstate *st,
				   bool no_frame, json_t *o)
{
	const struct go_layout *gl = &L->w->gl;
	char m[128];
	/* a status or wait reason the runtime has no name for, or a parked g with no frame */
	if (st->status == st->sbuf || (st->reason && !st->known_reason) ||
	    (no_frame && tli_go_gstatus_is_waiting(&gl->st, g->status))) {
		snprintf(m, sizeof(m), "%s: the g is damaged", st->status == st->sbuf ? st->status
			 : st->reason && !st->known_reason ? st->reason : "a waiting goroutine with no frame");
		json_object_set_new_nocheck(o, "unreadable", json_string(m));
		return NULL;
	}
	uint64_t pcs[2] = { tli_rd64(g->raw + gl->g_startpc), goid != 1 ? tli_rd64(g->raw + gl->g_gopc) : 0 };
	static const char *const what[2] = { "start", "creation" };
	for (int i = 0; i < 2; i++) {
		bool none = false;
		struct tli_error *err = pcs[i] ? pc_in_no_function(L, pcs[i], &none) : NULL;
		if (err)
			return err;
		if (none) {
			snprintf(m, sizeof(m), "%s pc 0x%" PRIx64 " is in no function: the g is damaged", what[i],
				 pcs[i]);
			json_object_set_new_nocheck(o, "unreadable", json_string(m));
			return NULL;
		}
	}
	return NULL;
}

/* tli_go_tb_stack; a listing printed as it is built unwinds each g once: the first pass
 * keeps what it found (uw), the second takes it from there. */
static struct tli_error *stack(struct listing *L, const struct gcap *g, bool system, struct go_stack *stk)
{
	struct go_unwind_scratch *sc = L->sc;
	struct unwound *u = L->uw ? &L->uw[g - L->w->gs] : NULL;
	sc->preset = L->pass2 && u && u->kept;
	sc->n = SIZE_MAX; /* stays so if tli_go_tb_stack does not unwind (g->problem) */
	if (sc->preset) {
		for (uint32_t k = 0; k < u->n; k++) {
			sc->pc[k] = L->uwf.v[u->at + k].pc;
			sc->argp[k] = L->uwf.v[u->at + k].argp;
		}
		sc->n = u->n;
		sc->truncated = u->truncated;
		sc->problem = u->problem;
	}
	struct tli_error *err = tli_go_tb_stack(L->w, &L->fc, g, system, sc, stk);
	sc->preset = false;
	if (err || !L->light || !u || sc->n == SIZE_MAX)
		return err;
	*u = (struct unwound){ .at = L->uwf.n, .n = (uint32_t)sc->n, .truncated = sc->truncated,
			       .problem = sc->problem, .kept = true };
	for (size_t k = 0; k < sc->n && u->kept; k++)
		u->kept = tli_vec_push(&L->uwf, ((struct uwframe){ sc->pc[k], sc->argp[k] }));
	return NULL;
}

/* The rest of the object after its state: start, stack, creator, then its group. */
static struct tli_error *describe(struct listing *L, const struct gcap *g, uint64_t goid, const struct gstate *st,
				  json_t *o)
{
	struct tli_go_rt *w = L->w;
	bool system = false;
	struct tli_error *err = set_start(L, g, o, &system);
	struct go_stack stk = { 0 };
	if (!err)
		err = stack(L, g, system, &stk);
	if (err)
		return err;
	json_object_set_nocheck(o, "current", stk.current ? stk.current : json_null());
	json_object_set_nocheck(o, "user", stk.user ? stk.user : json_null());
	uint64_t gopc = tli_rd64(g->raw + w->gl.g_gopc);
	json_t *cb = NULL;
	if ((err = created_by(L, g, goid, gopc, &cb))) {
		json_decref(stk.frames);
		return err;
	}
	json_object_set_nocheck(o, "created_by", cb);
	if (w->opts->stacks || w->opts->only_id > 0) {
		json_object_set_nocheck(o, "stack", stk.frames);
		json_object_set_new_nocheck(o, "stack_truncated", json_boolean(stk.truncated));
	}
	if (stk.problem)
		json_object_set_new_nocheck(o, "unreadable", json_string(stk.problem));
	else if ((err = check_pcs(L, g, goid, st, !stk.current, o)))
		goto out;
	if (!L->pass2) {
		count_state(L, g, st);
		if (!system)
			err = group_add(L, g, st, o, stk.user, cb, gopc, goid);
	}
out:
	json_decref(cb);
	json_decref(stk.frames);
	return err;
}

/*
 * A readable g: its object in *ret (NULL in the light pass), *listed unless it is not
 * listed (dead, another id than `goroutine ID` asks for, not what --label asks for).
 */
static struct tli_error *build(struct listing *L, const struct gcap *g, json_t **ret, uint64_t *goid_ret,
			       bool *listed)
{
	struct tli_go_rt *w = L->w;
	*ret = NULL;
	*listed = false;
	if (tli_go_rt_dead(w, g->status))
		return NULL;
	uint64_t goid = tli_rdn(g->raw + w->gl.g_goid, w->gl.g_goid_size);
	if (w->opts->only_id > 0 && goid != (uint64_t)w->opts->only_id)
		return NULL;
	struct gstate st;
	read_state(w, g, &st);
	json_t *o = L->light ? NULL : state_json(L, g, goid, &st);
	if (o || w->opts->nlabels) {
		json_t *lo = o ? o : json_object();
		bool keep = tli_go_labels_set(w, g, lo);
		if (lo != o)
			json_decref(lo);
		if (!keep) {   /* not what --label asks for */
			json_decref(o);
			return NULL;
		}
	}
	if (!L->pass2)
		L->ids[L->nids++] = goid;
	struct tli_error *err = describe(L, g, goid, &st, o);
	if (err) {
		json_decref(o);
		return err;
	}
	*ret = o;
	*goid_ret = goid;
	*listed = true;
	return NULL;
}

static struct tli_error *add_goroutine(struct listing *L, size_t i)
{
	const struct gcap *g = &L->w->gs[i];
	if (!g->raw) {
		if (g->addr) {
			L->list[L->nlist++] = (struct sortent){ UINT64_MAX, L->light ? NULL : unreadable_json(g), i };
			L->nunreadable++;
		}
		return NULL;
	}
	json_t *o = NULL;
	uint64_t goid = 0;
	bool listed = false;
	struct tli_error *err = build(L, g, &o, &goid, &listed);
	if (!err && listed)
		L->list[L->nlist++] = (struct sortent){ goid, o, i };
	return err;
}

/* ---- the whole listing ---- */

/* Duplicate goids mean a torn or corrupt snapshot. */
static void check_ids(struct listing *L)
{
	qsort(L->ids, L->nids, sizeof(*L->ids), cmp_u64);
	for (size_t i = 1; i < L->nids; i++) {
		if (L->ids[i] == L->ids[i - 1]) {
			tli_session_warn(L->w->s, "goroutine id %llu appears more than once (inconsistent snapshot?)",
					 (unsigned long long)L->ids[i]);
			break;
		}
	}
}

/* The goroutine objects by id (the list is handed over). */
static json_t *sorted_goroutines(struct listing *L)
{
	qsort(L->list, L->nlist, sizeof(*L->list), cmp_json);
	json_t *arr = json_array();
	for (size_t i = 0; i < L->nlist; i++)
		json_array_append_new(arr, L->list[i].obj);
	L->nlist = 0;
	return arr;
}

/* The summary: counts by status and wait reason, the top groups. */
static json_t *summary_json(struct listing *L)
{
	const struct tli_go_rt *w = L->w;
	qsort(L->groups.v, L->groups.n, sizeof(*L->groups.v), group_cmp);
	json_t *garr = json_array();
	size_t top = w->opts->top < 0 ? 10 : (size_t)w->opts->top;
	for (size_t i = 0; i < L->groups.n; i++) {
		if (top == 0 || i < top) {
			json_object_set_new(L->groups.v[i].obj, "count", json_integer(L->groups.v[i].count));
			json_array_append(garr, L->groups.v[i].obj);
		}
	}
	for (size_t i = 0; i < w->gss.n; i++)
		if (L->nstatus[i] && w->gss.s[i])
			json_object_set_new(L->by_status, w->gss.s[i], json_integer(L->nstatus[i]));
	for (size_t i = 0; i < w->wrs.n; i++)
		if (L->nreason[i] && w->wrs.s[i])
			json_object_set_new(L->by_reason, w->wrs.s[i], json_integer(L->nreason[i]));
	json_t *summary = json_object();
	json_object_set_new_nocheck(summary, "by_status", L->by_status);
	json_object_set_new_nocheck(summary, "by_wait_reason", L->by_reason);
	json_object_set_new_nocheck(summary, "system", json_integer(L->nsystem));
	json_object_set_new_nocheck(summary, "unreadable", json_integer(L->nunreadable));
	json_object_set_new_nocheck(summary, "groups", garr);
	json_object_set_new_nocheck(summary, "group_count", json_integer((json_int_t)L->groups.n));
	L->by_status = L->by_reason = NULL;
	return summary;
}

/* Every goroutine through add_goroutine, then the count and the summary into `go`. */
static struct tli_error *list_all(struct listing *L, json_t *go)
{
	struct tli_go_rt *w = L->w;
	tli_go_tb_find_goroot(w);
	struct tli_error *err = NULL;
	tli_progress_begin("listing goroutines", w->ngs);
	for (uint64_t i = 0; !err && i < w->ngs; i++) {
		err = add_goroutine(L, i);
		tli_progress_step(i);
	}
	tli_progress_end();
	if (err)
		return err;
	check_ids(L);
	json_object_set_new_nocheck(go, "goroutine_count", json_integer((json_int_t)L->nids));
	json_object_set_new_nocheck(go, "summary", summary_json(L));
	json_t *tg = json_object_get(w->result, "target");
	if (tg)
		json_object_set_new_nocheck(tg, "now", json_string(w->now_src));
	if (w->opts->only_id > 0 && L->nids == 0)
		return tli_error_create(TLI_E_NO_TARGET, "no goroutine with id %lld", (long long)w->opts->only_id);
	return NULL;
}

struct tli_error *tli_go_list_build(struct tli_go_rt *w, json_t *go)
{
	struct listing L;
	struct tli_error *err = listing_init(&L, w);
	if (!err)
		err = list_all(&L, go);
	if (!err)
		json_object_set_new_nocheck(go, "goroutines", sorted_goroutines(&L));
	listing_free(&L);
	return err;
}

/* ---- a listing printed as it is built ---- */

struct tli_go_listing {
	struct listing L;
};

struct tli_error *tli_go_list_stream(struct tli_go_rt *w, json_t *go, bool text_order, struct tli_go_listing **ret)
{
	*ret = NULL;
	struct tli_go_listing *l = calloc(1, sizeof(*l));
	if (!l)
		return &tli_enomem;
	struct listing *L = &l->L;
	struct tli_error *err = listing_init(L, w);
	if (!err) {
		L->light = L->sc->light = true;
		L->uw = calloc(w->ngs ? w->ngs : 1, sizeof(*L->uw)); /* NULL: the second pass unwinds again */
		err = list_all(L, go);
	}
	if (err) {
		listing_free(L);
		free(l);
		return err;
	}
	qsort(L->list, L->nlist, sizeof(*L->list), text_order ? cmp_text : cmp_json);
	L->light = L->sc->light = false;
	L->pass2 = true;
	*ret = l;
	return NULL;
}

size_t tli_go_listing_count(const struct tli_go_listing *l)
{
	return l->L.nlist;
}

size_t tli_go_listing_system(const struct tli_go_listing *l)
{
	return (size_t)l->L.nsystem;
}

struct tli_error *tli_go_listing_item(struct tli_go_listing *l, size_t k, json_t **ret)
{
	struct listing *L = &l->L;
	*ret = NULL;
	if (k >= L->nlist)
		return NULL;
	const struct gcap *g = &L->w->gs[L->list[k].idx];
	if (!g->raw) {
		*ret = unreadable_json(g);
		return NULL;
	}
	uint64_t goid = 0;
	bool listed = false;
	return build(L, g, ret, &goid, &listed);
}

struct tli_error *tli_go_listing_item_of(struct tli_go_listing *l, size_t gi, json_t **ret)
{
	struct listing *L = &l->L;
	*ret = NULL;
	if (gi >= L->w->ngs || !L->w->gs[gi].raw)
		return NULL;
	uint64_t goid = 0;
	bool listed = false;
	return build(L, &L->w->gs[gi], ret, &goid, &listed);
}

void tli_go_listing_free(struct tli_go_listing *l)
{
	if (!l)
		return;
	listing_free(&l->L);
	free(l);
}
