/* SPDX-License-Identifier: MIT */
/*
 * `timers` (timers.h): every timer in the Ps' timer heaps, grouped by function.
 *
 * Where they are (runtime/time.go). Each P keeps a heap of the timers it runs:
 * up to go1.22 p.timers []*timer, with a status (timerDeleted, timerRemoving,
 * timerRemoved: still in the heap, no longer a timer); from go1.23 p.timers.heap
 * []timerWhen{timer *timer, when}, a timer's state bit timerZombie marking the
 * deleted ones. Since go1.23 a channel timer (NewTimer, NewTicker) sits in a heap
 * only while a goroutine is blocked on its channel; one nobody waits on is not
 * a running timer and is not listed.
 *
 * What a timer is: t.f(t.arg, ...) runs at t.when (nanotime; up to go1.22 a
 * reset timer not yet moved in the heap, status timerModifiedEarlier/Later,
 * runs at t.nextwhen), then every
 * t.period if non-zero. f names the kind: time.goFunc (AfterFunc: arg is the
 * user's func value, a funcval whose first word is the code, named here),
 * time.sendTime (NewTimer/NewTicker: a ticker when period > 0), and
 * runtime.goroutineReady (time.Sleep). Every other f is listed by its name.
 *
 * While stopped only bytes are copied, in rounds of vectored reads: allp, the
 * Ps' heap headers, the heaps, the timers, the first word of each f and arg.
 * Everything is bounded (Ps, timers per heap, all timers) and a timer listed
 * twice (a corrupt heap) is counted once and said.
 */
#include "timers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/jsonstr.h"
#include "core/vec.h"
#include "go/gfacts.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/pclntab.h"

#define MAX_PS 4096
#define MAX_TIMERS (1u << 20)
#define MAX_TSIZE 256

struct tl {
	bool ok;
	char problem[200];
	uint64_t allp, t_size;
	uint32_t p_heap, elem, tw_timer;
	uint32_t t_when, t_period, t_f, t_arg, fv_fn;
	bool has_status, has_state;
	uint32_t t_status, t_status_size, t_state;
	int64_t st_deleted, st_removing, st_removed, st_nostatus, zombie;
	bool has_nextwhen;         /* go1.22-: a reset timer's new time waits in nextwhen */
	uint32_t t_nextwhen;
	int64_t st_mod_earlier, st_mod_later;
};

static bool mem(struct tl *L, struct tli_layout *l, const char *t, const char *m, uint32_t *off, uint64_t *size)
{
	struct tli_member x;
	if (!tli_layout_has_member(l, t, m, &x)) {
		if (!L->problem[0])
			snprintf(L->problem, sizeof(L->problem), "%s.%s unknown (no DWARF and no runtime map?)", t, m);
		return false;
	}
	*off = (uint32_t)x.offset;
	if (size)
		*size = x.size;
	return true;
}

static bool cst(struct tli_layout *l, const char *name, int64_t *v)
{
	return !tli_error_drop(tli_layout_constant(l, name, v));
}

static void layout(struct tli_layout *l, struct tl *L)
{
	const char *T = "runtime.timer";
	struct tli_global g;
	struct tli_member x;
	uint64_t sz = 0;
	struct tli_error *err = tli_layout_global(l, "runtime.allp", &g);
	if (!err)
		err = tli_layout_type_size(l, T, &L->t_size);
	if (err) {
		snprintf(L->problem, sizeof(L->problem), "%.190s", err->msg);
		tli_error_destroy(err);
		return;
	}
	L->allp = g.addr;
	/* the heap: p.timers.heap []timerWhen (go1.23+) or p.timers []*timer */
	if (tli_layout_has_member(l, "runtime.p", "timers.heap", &x)) {
		L->p_heap = (uint32_t)x.offset;
		if (tli_error_drop(tli_layout_type_size(l, "runtime.timerWhen", &sz)) ||
		    !mem(L, l, "runtime.timerWhen", "timer", &L->tw_timer, NULL))
			return;
		L->elem = (uint32_t)sz;
	} else if (mem(L, l, "runtime.p", "timers", &L->p_heap, NULL)) {
		L->elem = 8;
	} else {
		return;
	}
	if (!mem(L, l, T, "when", &L->t_when, NULL) || !mem(L, l, T, "period", &L->t_period, NULL) ||
	    !mem(L, l, T, "f", &L->t_f, NULL) || !mem(L, l, T, "arg", &L->t_arg, NULL) ||
	    !mem(L, l, "runtime.funcval", "fn", &L->fv_fn, NULL))
		return;
	/* which entries are no longer timers */
	if ((L->has_status = tli_layout_has_member(l, T, "status", &x))) {
		L->t_status = (uint32_t)x.offset;
		L->t_status_size = (uint32_t)x.size;
		L->has_status = cst(l, "runtime.timerDeleted", &L->st_deleted) &&
				cst(l, "runtime.timerRemoving", &L->st_removing) &&
				cst(l, "runtime.timerRemoved", &L->st_removed) &&
				cst(l, "runtime.timerNoStatus", &L->st_nostatus) && x.size == 4;
		L->has_nextwhen = L->has_status && tli_layout_has_member(l, T, "nextwhen", &x) &&
				  cst(l, "runtime.timerModifiedEarlier", &L->st_mod_earlier) &&
				  cst(l, "runtime.timerModifiedLater", &L->st_mod_later);
		L->t_nextwhen = (uint32_t)x.offset;
	} else if ((L->has_state = tli_layout_has_member(l, T, "state", &x))) {
		L->t_state = (uint32_t)x.offset;
		L->has_state = cst(l, "runtime.timerZombie", &L->zombie);
	}
	L->ok = L->t_size <= MAX_TSIZE && L->elem >= 8 && L->elem <= 64 && L->tw_timer + 8 <= L->elem &&
		L->t_arg + 16 <= L->t_size;
	if (!L->ok)
		snprintf(L->problem, sizeof(L->problem), "implausible runtime.timer layout (%" PRIu64 " bytes)",
			 L->t_size);
}

/* ---- capture ---- */

struct timer {
	uint64_t addr;
	uint8_t raw[MAX_TSIZE];
	bool read;
	uint64_t fpc, argword;    /* f's code; the first word behind arg's data */
	bool fpc_ok, arg_ok;
};
TLI_VEC(timervec, struct timer);

struct cap {
	size_t nps;
	uint64_t ps[MAX_PS];
	struct timervec tv;
	size_t dups, unreadable_heaps;
	char problem[200];
};

static struct tli_error *read_many(struct tli_target *tg, struct tli_read *r, size_t n)
{
	return n ? tli_target_read_many(tg, r, n) : NULL;
}

/* the Ps and their heaps (rounds 1-3); the timers' addresses into c->t */
static struct tli_error *capture_heaps(struct tli_target *tg, const struct tl *L, struct cap *c)
{
	uint8_t hdr[24];
	struct tli_error *err = tli_target_read(tg, L->allp, hdr, sizeof(hdr));
	if (err)
		return err;
	uint64_t arr = tli_rd64(hdr), n = tli_rd64(hdr + 8);
	if (n > MAX_PS || (n && !arr)) {
		snprintf(c->problem, sizeof(c->problem), "implausible allp (len %" PRIu64 ")", n);
		return NULL;
	}
	uint8_t *pp = malloc(n * 8 + 1), *heads = malloc(n * 24 + 1);
	struct tli_read *rd = calloc(n + 1, sizeof(*rd));
	if (!pp || !heads || !rd) {
		free(pp), free(heads), free(rd);
		return &tli_enomem;
	}
	struct tli_read one = { .addr = arr, .buf = pp, .len = n * 8 };
	err = read_many(tg, &one, n ? 1 : 0);
	size_t k = 0;
	for (uint64_t i = 0; !err && i < n && one.got == one.len; i++) {
		uint64_t p = tli_rd64(pp + 8 * i);
		if (!p)
			continue;
		c->ps[c->nps++] = p;
		rd[k] = (struct tli_read){ .addr = p + L->p_heap, .buf = heads + 24 * k, .len = 24 };
		k++;
	}
	if (!err)
		err = read_many(tg, rd, k);
	/* every heap's elements */
	struct tli_u64set seen = { 0 };
	for (size_t i = 0; !err && i < k; i++) {
		uint64_t ha = tli_rd64(heads + 24 * i), hl = tli_rd64(heads + 24 * i + 8);
		if (rd[i].got != 24 || hl > MAX_TIMERS || (hl && !ha) || c->tv.n + hl > MAX_TIMERS) {
			c->unreadable_heaps++;
			continue;
		}
		uint8_t *els = malloc(hl * L->elem + 1);
		if (!els) {
			err = &tli_enomem;
			break;
		}
		struct tli_read e = { .addr = ha, .buf = els, .len = hl * L->elem };
		err = read_many(tg, &e, hl ? 1 : 0);
		if (!err && e.got != e.len)
			c->unreadable_heaps++;
		for (uint64_t j = 0; !err && e.got == e.len && j < hl; j++) {
			uint64_t t = tli_rd64(els + j * L->elem + (L->elem == 8 ? 0 : L->tw_timer));
			if (!t)
				continue;
			if (tli_u64set_has(&seen, t)) {   /* a corrupt heap: count it once */
				c->dups++;
				continue;
			}
			tli_u64set_add(&seen, t);
			struct timer x = { .addr = t };
			if (!tli_vec_push(&c->tv, x)) {
				err = &tli_enomem;
				break;
			}
		}
		free(els);
	}
	tli_u64set_free(&seen);
	free(pp), free(heads), free(rd);
	return err;
}

/* the timers, then the first word of each f and arg (rounds 4-5) */
static struct tli_error *capture_timers(struct tli_target *tg, const struct tl *L, struct cap *c)
{
	struct timer *tt = c->tv.v;
	size_t nt = c->tv.n;
	struct tli_read *rd = calloc(nt + 1, sizeof(*rd)), *wr = calloc(2 * nt + 1, sizeof(*wr));
	uint8_t *words = calloc(2 * nt + 1, 8);
	if (!rd || !wr || !words) {
		free(rd), free(wr), free(words);
		return &tli_enomem;
	}
	for (size_t i = 0; i < nt; i++)
		rd[i] = (struct tli_read){ .addr = tt[i].addr, .buf = tt[i].raw, .len = L->t_size };
	struct tli_error *err = read_many(tg, rd, nt);
	size_t k = 0;
	for (size_t i = 0; !err && i < nt; i++) {
		struct timer *t = &tt[i];
		t->read = rd[i].got == rd[i].len;
		uint64_t f = t->read ? tli_rd64(t->raw + L->t_f) : 0, a = t->read ? tli_rd64(t->raw + L->t_arg + 8) : 0;
		if (f)
			wr[k++] = (struct tli_read){ .addr = f + L->fv_fn, .buf = words + 16 * i, .len = 8 };
		if (a && tli_rd64(t->raw + L->t_arg))
			wr[k++] = (struct tli_read){ .addr = a, .buf = words + 16 * i + 8, .len = 8 };
	}
	if (!err)
		err = read_many(tg, wr, k);
	for (size_t j = 0; !err && j < k; j++) {
		size_t off = (size_t)((uint8_t *)wr[j].buf - words), i = off / 16;
		bool ok = wr[j].got == 8;
		if (off % 16) {
			tt[i].arg_ok = ok;
			tt[i].argword = tli_rd64(wr[j].buf);
		} else {
			tt[i].fpc_ok = ok;
			tt[i].fpc = tli_rd64(wr[j].buf);
		}
	}
	free(rd), free(wr), free(words);
	return err;
}

/* ---- analysis ---- */

#define MAX_GROUPS 1000

struct group {
	char function[256];
	const char *kind, *callback;
	int64_t period;
	uint64_t count;
	int64_t next;          /* the soonest when */
};

static void func_name(const struct tli_pclntab *pt, uint64_t bias, int minor, uint64_t pc, bool ok, char *buf,
		      size_t cap)
{
	struct tli_gofunc f;
	if (!ok || !pc || tli_error_drop(tli_pclntab_find(pt, pc - bias, &f)))
		snprintf(buf, cap, "? (code 0x%" PRIx64 " %s)", pc, ok ? "outside Go text" : "unreadable");
	else
		tli_go_funcname_print(f.name, minor, buf, cap);
}

static struct group *group_of(struct group *g, size_t *ng, const char *fn, const char *kind, const char *cb,
			      int64_t period)
{
	for (size_t i = 0; i < *ng; i++)
		if (g[i].period == period && !strcmp(g[i].function, fn) && !strcmp(g[i].kind, kind))
			return &g[i];
	if (*ng >= MAX_GROUPS)
		return NULL;
	struct group *x = &g[(*ng)++];
	snprintf(x->function, sizeof(x->function), "%s", fn);
	x->kind = kind;
	x->callback = cb;
	x->period = period;
	x->next = INT64_MAX;
	return x;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->function, y->function);
}

/* one timer's group, or false (with *deleted) for a heap entry that is no longer a timer */
static bool deleted_timer(const struct tl *L, const struct timer *t)
{
	if (L->has_status) {
		int64_t st = (int64_t)tli_rdn(t->raw + L->t_status, 4);
		return st == L->st_deleted || st == L->st_removing || st == L->st_removed || st == L->st_nostatus;
	}
	return L->has_state && (t->raw[L->t_state] & (uint8_t)L->zombie);
}

static json_t *analyze(struct tli_go_rt *rt, const struct tl *L, const struct cap *c)
{
	const struct tli_pclntab *pt = tli_go_rt_pclntab(rt);
	uint64_t bias = tli_go_rt_bias(rt);
	int minor = tli_go_rt_minor(rt);
	const char *nowsrc;
	int64_t now = tli_go_rt_now(rt, &nowsrc);
	struct group *g = calloc(MAX_GROUPS, sizeof(*g));
	json_t *o = json_object(), *probs = json_array();
	size_t ng = 0, count = 0, deleted = 0, unreadable = 0;
	for (size_t i = 0; g && i < c->tv.n; i++) {
		const struct timer *t = &c->tv.v[i];
		if (!t->read) {
			if (unreadable++ < 8)
				json_array_append_new(probs, json_sprintf("timer 0x%" PRIx64 " unreadable", t->addr));
			continue;
		}
		if (deleted_timer(L, t)) {
			deleted++;
			continue;
		}
		char fn[256], user[256];
		func_name(pt, bias, minor, t->fpc, t->fpc_ok, fn, sizeof(fn));
		const char *kind = "other", *cb = NULL, *shown = fn;
		int64_t when = (int64_t)tli_rd64(t->raw + L->t_when), period = (int64_t)tli_rd64(t->raw + L->t_period);
		if (L->has_nextwhen) {   /* reset, not yet moved in the heap: it fires at nextwhen */
			int64_t st = (int64_t)tli_rdn(t->raw + L->t_status, 4);
			if (st == L->st_mod_earlier || st == L->st_mod_later)
				when = (int64_t)tli_rd64(t->raw + L->t_nextwhen);
		}
		if (!strcmp(fn, "time.goFunc")) {   /* AfterFunc: the user's func value */
			func_name(pt, bias, minor, t->argword, t->arg_ok, user, sizeof(user));
			kind = "after_func", cb = "time.goFunc", shown = user;
		} else if (!strcmp(fn, "time.sendTime")) {
			kind = period > 0 ? "ticker" : "timer";
		} else if (!strcmp(fn, "runtime.goroutineReady")) {
			kind = "sleep";
		}
		if (period < 0)
			period = 0;
		struct group *x = group_of(g, &ng, shown, kind, cb, period);
		if (!x) {
			if (json_array_size(probs) < 16)
				json_array_append_new(probs, json_sprintf("more than %d groups", MAX_GROUPS));
			continue;
		}
		x->count++;
		count++;
		if (when > 0 && when < x->next)
			x->next = when;
	}
	if (g)
		qsort(g, ng, sizeof(*g), cmp_group);
	json_t *ga = json_array();
	for (size_t i = 0; i < ng; i++) {
		json_t *x = json_object();
		json_object_set_new(x, "function", json_string(g[i].function));
		json_object_set_new(x, "kind", json_string(g[i].kind));
		json_object_set_new(x, "callback", g[i].callback ? json_string(g[i].callback) : json_null());
		json_object_set_new(x, "count", json_integer((json_int_t)g[i].count));
		json_object_set_new(x, "period_seconds", json_real((double)g[i].period / 1e9));
		json_object_set_new(x, "next_in_seconds", now && g[i].next != INT64_MAX
				    ? json_real((double)(g[i].next - now) / 1e9) : json_null());
		json_array_append_new(ga, x);
	}
	free(g);
	if (c->dups)
		json_array_append_new(probs, json_sprintf("%zu timers listed twice in the heaps (counted once)", c->dups));
	if (c->unreadable_heaps)
		json_array_append_new(probs, json_sprintf("%zu P timer heaps unreadable or implausible", c->unreadable_heaps));
	if (c->problem[0])
		json_array_append_new(probs, json_string(c->problem));
	if (!L->has_status && !L->has_state)
		json_array_append_new(probs, json_string("deleted timers are not told apart (no timer status constants)"));
	json_object_set_new(o, "count", json_integer((json_int_t)count));
	json_object_set_new(o, "ps", json_integer((json_int_t)c->nps));
	json_object_set_new(o, "deleted", json_integer((json_int_t)deleted));
	json_object_set_new(o, "unreadable", json_integer((json_int_t)unreadable));
	json_object_set_new(o, "now_source", json_string(nowsrc));
	json_object_set_new(o, "groups", ga);
	json_object_set_new(o, "problems", probs);
	return o;
}

struct tli_go_timers {
	struct tl L;
	struct cap c;
};

struct tli_error *tli_go_timers_prepare(struct tli_layout *l, struct tli_go_timers **ret)
{
	*ret = NULL;
	struct tli_go_timers *t = calloc(1, sizeof(*t));
	if (!t)
		return &tli_enomem;
	layout(l, &t->L);
	if (!t->L.ok) {
		struct tli_error *err = tli_error_create(TLI_E_NO_INFO, "timers: %s",
							 t->L.problem[0] ? t->L.problem : "no layout");
		free(t);
		return err;
	}
	*ret = t;
	return NULL;
}

struct tli_error *tli_go_timers_capture(struct tli_target *tg, struct tli_go_timers *t)
{
	struct tli_error *err = capture_heaps(tg, &t->L, &t->c);
	return err ? err : capture_timers(tg, &t->L, &t->c);
}

json_t *tli_go_timers_json(struct tli_go_rt *rt, const struct tli_go_timers *t)
{
	return analyze(rt, &t->L, &t->c);
}

void tli_go_timers_destroy(struct tli_go_timers *t)
{
	if (!t)
		return;
	tli_vec_free(&t->c.tv);
	free(t);
}

struct tli_error *tli_go_cmd_timers(struct tli_session *s, json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_gobin *gb = NULL;
	struct tli_go_timers *t = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (!err)
		err = tli_go_rt_open(s, &rt);
	if (!err)
		err = tli_go_timers_prepare(tli_go_rt_layout(rt), &t);
	if (!err)
		err = tli_go_rt_capture(rt);
	if (!err)
		err = tli_go_timers_capture(s->target, t);
	tli_target_release(s->target);
	if (!err) {
		json_t *go = tli_json_child_object(result, "go");
		const char *ver = tli_gobin_version(gb);
		json_object_set_new(go, "go_version", ver ? json_string(ver) : json_null());
		json_object_set_new(go, "timers", tli_go_timers_json(rt, t));
	}
	tli_go_timers_destroy(t);
	if (rt)
		tli_go_rt_destroy(rt);
	return err;
}
