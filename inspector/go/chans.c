/* SPDX-License-Identifier: MIT */
/*
 * Channels from outside: g.waiting chains, hchans, their queues, element types
 * and ring buffers, captured in pointer-depth rounds while the target is
 * stopped. See chans.h. No offsets and no version tests in here: every member
 * comes from the layout resolver by name.
 */
#include "chans.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#include "core/session.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "core/hash.h"
#include "core/jsonstr.h"

#define MAX_CHAIN        4096        /* sudogs on one g's waiting chain (select cases) */
#define MAX_BUF_CAPTURE  (1u << 20)  /* ring bytes captured per channel */
#define MAX_STR_BYTES    64          /* bytes of a string element shown with --values */
#define MAX_TYPE_NAME    512

/* reflect.Kind values (a stable public API, not a runtime layout) */
enum { K_BOOL = 1, K_INT, K_INT8, K_INT16, K_INT32, K_INT64, K_UINT, K_UINT8, K_UINT16, K_UINT32,
       K_UINT64, K_UINTPTR, K_FLOAT32, K_FLOAT64, K_COMPLEX64, K_COMPLEX128, K_ARRAY, K_CHAN,
       K_FUNC, K_INTERFACE, K_MAP, K_POINTER, K_SLICE, K_STRING, K_STRUCT, K_UNSAFEPOINTER };

/* ---- layout ---- */

/* 1.26+: sudog.c / sudog.elem are {vp, vu}; vu is authoritative. */
static struct tli_error *two_word(struct tli_layout *l, const char *type, const char *name, uint32_t *ret)
{
	char path[64];
	struct tli_member m;
	snprintf(path, sizeof(path), "%s.vu", name);
	if (tli_layout_has_member(l, type, path, &m)) {
		*ret = (uint32_t)m.offset;
		return NULL;
	}
	struct tli_error *err = tli_layout_member(l, type, name, &m);
	if (!err)
		*ret = (uint32_t)m.offset;
	return err;
}

struct tli_error *tli_go_chan_layout_resolve(struct tli_layout *l, struct tli_go_chan_layout *L)
{
	memset(L, 0, sizeof(*L));
	const struct tli_field_spec specs[] = {
		{ "runtime.hchan", "qcount", &L->h_qcount, NULL, false, NULL },
		{ "runtime.hchan", "dataqsiz", &L->h_dataqsiz, NULL, false, NULL },
		{ "runtime.hchan", "buf", &L->h_buf, NULL, false, NULL },
		{ "runtime.hchan", "elemsize", &L->h_elemsize, &L->h_elemsize_size, false, NULL },
		{ "runtime.hchan", "closed", &L->h_closed, &L->h_closed_size, false, NULL },
		{ "runtime.hchan", "elemtype", &L->h_elemtype, NULL, false, NULL },
		{ "runtime.hchan", "sendx", &L->h_sendx, NULL, false, NULL },
		{ "runtime.hchan", "recvx", &L->h_recvx, NULL, false, NULL },
		{ "runtime.hchan", "recvq", &L->h_recvq, NULL, false, NULL },
		{ "runtime.hchan", "sendq", &L->h_sendq, NULL, false, NULL },
		{ "runtime.hchan", "timer", &L->h_timer, NULL, true, &L->has_timer },
		{ "runtime.waitq", "first", &L->wq_first, NULL, false, NULL },
		{ "runtime.sudog", "g", &L->s_g, NULL, false, NULL },
		{ "runtime.sudog", "next", &L->s_next, NULL, false, NULL },
		{ "runtime.sudog", "isSelect", &L->s_isselect, NULL, false, NULL },
		{ "runtime.sudog", "waitlink", &L->s_waitlink, NULL, false, NULL },
		{ "runtime.g", "waiting", &L->g_waiting, NULL, false, NULL },
		{ "runtime.g", "selectDone", &L->g_selectdone, &L->g_selectdone_size, true, &L->has_selectdone },
	};
	struct tli_error *err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]));
	if (!err)
		err = two_word(l, "runtime.sudog", "c", &L->s_c);
	if (!err)
		err = two_word(l, "runtime.sudog", "elem", &L->s_elem);
	uint64_t sz = 0;
	if (!err)
		err = tli_layout_type_size(l, "runtime.hchan", &sz);
	if (!err && (sz < 32 || sz > 4096))
		err = tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.hchan) = %" PRIu64, sz);
	if (err)
		return tli_error_wrap(err, "channel layout");
	L->hchan_size = (uint32_t)sz;
	err = tli_layout_type_size(l, "runtime.sudog", &sz);
	if (!err && (sz < 32 || sz > 4096))
		err = tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.sudog) = %" PRIu64, sz);
	if (err)
		return tli_error_wrap(err, "channel layout");
	L->sudog_size = (uint32_t)sz;
	if (L->h_elemsize_size == 0 || L->h_elemsize_size > 8)
		L->h_elemsize_size = 2;
	if (L->h_closed_size == 0 || L->h_closed_size > 4)
		L->h_closed_size = 4;
	/* every word read out of an hchan buffer lies inside it (crafted DWARF / layout cache) */
	uint64_t w8[] = { L->h_qcount, L->h_dataqsiz, L->h_buf, L->h_elemtype, L->h_sendx, L->h_recvx,
			  (uint64_t)L->h_recvq + L->wq_first, (uint64_t)L->h_sendq + L->wq_first };
	for (size_t i = 0; i < sizeof(w8) / sizeof(w8[0]); i++)
		if (w8[i] + 8 > L->hchan_size)
			return tli_error_create(TLI_E_CORRUPT, "channel layout: a runtime.hchan field at offset %"
						PRIu64 " lies outside sizeof(runtime.hchan) = %u", w8[i], L->hchan_size);
	if ((uint64_t)L->h_elemsize + L->h_elemsize_size > L->hchan_size ||
	    (uint64_t)L->h_closed + L->h_closed_size > L->hchan_size ||
	    (L->has_timer && (uint64_t)L->h_timer + 8 > L->hchan_size))
		return tli_error_create(TLI_E_CORRUPT, "channel layout: elemsize/closed/timer lie outside "
					"sizeof(runtime.hchan) = %u", L->hchan_size);
	if (L->g_selectdone_size == 0 || L->g_selectdone_size > 8)
		L->g_selectdone_size = 4;
	/* the runtime type descriptor: internal/abi.Type (1.21+) or runtime._type */
	static const char *const tn[][7] = {
		{ "internal/abi.Type", "Size_", "TFlag", "Kind_", "Str", "PtrBytes", "GCData" },
		{ "runtime._type", "size", "tflag", "kind", "str", "ptrdata", "gcdata" },
	};
	for (size_t i = 0; i < 2 && !L->has_type; i++) {
		struct tli_member a, b, c, d;
		uint64_t tsz;
		if (tli_layout_has_member(l, tn[i][0], tn[i][1], &a) &&
		    tli_layout_has_member(l, tn[i][0], tn[i][2], &b) &&
		    tli_layout_has_member(l, tn[i][0], tn[i][3], &c) &&
		    tli_layout_has_member(l, tn[i][0], tn[i][4], &d)) {
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
	}
	return NULL;
}

/* ---- helpers ---- */

static void cwarn(struct tli_go_chans *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cwarn(struct tli_go_chans *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t old = c->warnings ? strlen(c->warnings) : 0;
	if (old > 64 * 1024)
		return;
	char *n = realloc(c->warnings, old + strlen(line) + 2);
	if (!n)
		return;
	memcpy(n + old, line, strlen(line));
	n[old + strlen(line)] = '\n';
	n[old + strlen(line) + 1] = 0;
	c->warnings = n;
}

static bool ptr_ok(struct tli_target *t, uint64_t p, uint64_t len)
{
	return p && (p & 7) == 0 && p + len > p && tli_target_plausible(t, p, len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

const struct tli_go_chan *tli_go_chans_find(const struct tli_go_chans *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nchans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->chans[mid].addr == addr)
			return &c->chans[mid];
		if (c->chans[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* g address -> index, via a sorted copy */
struct gidx {
	uint64_t addr;
	size_t i;
};
static int cmp_gidx(const void *a, const void *b)
{
	const struct gidx *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct snapctx {
	struct tli_go_chans *c;
	struct tli_target *t;
	struct gidx *gsorted;
	size_t ngsorted;
};

static size_t g_lookup(const struct snapctx *x, uint64_t gaddr)
{
	size_t lo = 0, hi = x->ngsorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->gsorted[mid].addr == gaddr)
			return x->gsorted[mid].i;
		if (x->gsorted[mid].addr < gaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

size_t tli_go_chans_g_index(const struct tli_go_chans *c, uint64_t gaddr)
{
	for (size_t i = 0; i < c->ngs; i++)
		if (c->gs[i].addr == gaddr)
			return i;
	return SIZE_MAX;
}

/* decode one captured sudog */
static void decode_sudog(const struct snapctx *x, uint64_t addr, const uint8_t *raw, struct tli_go_sudog *s)
{
	const struct tli_go_chan_layout *L = &x->c->L;
	*s = (struct tli_go_sudog){
		.addr = addr,
		.g = tli_rd64(raw + L->s_g),
		.elem = tli_rd64(raw + L->s_elem),
		.c = tli_rd64(raw + L->s_c),
		.is_select = raw[L->s_isselect] != 0,
		.goid = -1,
		.next = tli_rd64(raw + L->s_next),
	};
	size_t gi = s->g ? g_lookup(x, s->g) : SIZE_MAX;
	if (gi != SIZE_MAX) {
		const struct tli_go_chan_g *g = &x->c->gs[gi];
		s->goid = g->goid;
		if (!g->waiting || g->dead)
			s->stale = true;
		else if (s->is_select && L->has_selectdone && g->raw &&
			 tli_rdn(g->raw + L->g_selectdone, L->g_selectdone_size) != 0)
			s->stale = true;
	} else {
		s->stale = true; /* its g is not a goroutine we know */
	}
}

/* ---- capture: waiting chains ---- */

struct chainent {
	size_t gi;
	uint32_t depth;
	struct tli_go_sudog s;
};
static int cmp_chainent(const void *a, const void *b)
{
	const struct chainent *x = a, *y = b;
	if (x->gi != y->gi)
		return x->gi < y->gi ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static struct tli_error *capture_chains(struct snapctx *x)
{
	struct tli_go_chans *c = x->c;
	const struct tli_go_chan_layout *L = &c->L;
	size_t n = c->ngs;
	uint64_t *cur = calloc(n ? n : 1, 8);
	size_t *who = calloc(n ? n : 1, sizeof(size_t));
	struct tli_read *rs = calloc(n ? n : 1, sizeof(*rs));
	uint8_t *buf = malloc((n ? n : 1) * (size_t)L->sudog_size);
	struct chainent *ents = NULL;
	size_t nents = 0, capents = 0;
	struct tli_u64set seen = { 0 };
	struct tli_error *err = NULL;
	if (!cur || !who || !rs || !buf) {
		err = &tli_enomem;
		goto out;
	}
	size_t nact = 0;
	for (size_t i = 0; i < n; i++) {
		struct tli_go_chan_g *g = &c->gs[i];
		if (!g->raw || g->dead || !g->waiting)
			continue;
		uint64_t w = tli_rd64(g->raw + L->g_waiting);
		if (!w)
			continue;
		cur[nact] = w;
		who[nact++] = i;
	}
	for (uint32_t depth = 0; nact && depth < MAX_CHAIN; depth++) {
		size_t nr = 0;
		for (size_t k = 0; k < nact; k++) {
			struct tli_go_chan_g *g = &c->gs[who[k]];
			if (!ptr_ok(x->t, cur[k], L->sudog_size)) {
				snprintf(g->problem, sizeof(g->problem),
					 "sudog 0x%" PRIx64 " on its waiting chain is not in mapped memory", cur[k]);
				continue;
			}
			if (tli_u64set_has(&seen, cur[k])) {
				snprintf(g->problem, sizeof(g->problem),
					 "waiting chain revisits sudog 0x%" PRIx64 " (cycle)", cur[k]);
				continue;
			}
			if (!tli_u64set_add(&seen, cur[k])) {
				err = &tli_enomem;
				goto out;
			}
			rs[nr] = (struct tli_read){ .addr = cur[k], .buf = buf + nr * L->sudog_size,
						    .len = L->sudog_size };
			who[nr] = who[k];
			nr++;
		}
		if (!nr)
			break;
		if ((err = tli_target_read_many(x->t, rs, nr)))
			goto out;
		size_t next = 0;
		for (size_t k = 0; k < nr; k++) {
			struct tli_go_chan_g *g = &c->gs[who[k]];
			if (rs[k].got < rs[k].len) {
				snprintf(g->problem, sizeof(g->problem), "sudog 0x%" PRIx64 " is unreadable",
					 rs[k].addr);
				continue;
			}
			if (nents == capents) {
				capents = capents ? capents * 2 : 256;
				struct chainent *ne = realloc(ents, capents * sizeof(*ne));
				if (!ne) {
					err = &tli_enomem;
					goto out;
				}
				ents = ne;
			}
			struct chainent *e = &ents[nents++];
			e->gi = who[k];
			e->depth = depth;
			const uint8_t *raw = (const uint8_t *)rs[k].buf;
			decode_sudog(x, rs[k].addr, raw, &e->s);
			/* only a select chains several sudogs of its own; for semaphore waits
			 * (1.26+) waitlink leads to OTHER goroutines' sudogs */
			const char *r = c->gs[who[k]].reason;
			uint64_t link = r && !strcmp(r, "select") ? tli_rd64(raw + L->s_waitlink) : 0;
			if (link) {
				cur[next] = link;
				who[next++] = who[k];
			}
		}
		nact = next;
		if (depth + 1 == MAX_CHAIN && nact)
			for (size_t k = 0; k < nact; k++)
				snprintf(c->gs[who[k]].problem, sizeof(c->gs[0].problem),
					 "waiting chain longer than %d sudogs: truncated", MAX_CHAIN);
	}
	if (nents)
		qsort(ents, nents, sizeof(*ents), cmp_chainent);
	c->gsudogs = calloc(nents ? nents : 1, sizeof(*c->gsudogs));
	if (!c->gsudogs) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		c->gs[i].first_sudog = SIZE_MAX;
	for (size_t i = 0; i < nents; i++) {
		struct tli_go_chan_g *g = &c->gs[ents[i].gi];
		if (g->first_sudog == SIZE_MAX)
			g->first_sudog = i;
		g->nsudogs++;
		c->gsudogs[i] = ents[i].s;
	}
	c->ngsudogs = nents;
out:
	tli_u64set_free(&seen);
	free(cur);
	free(who);
	free(rs);
	free(buf);
	free(ents);
	return err;
}

/* ---- capture: runtime.semtable (Go <= 1.25 semaphore waits) ---- */

/*
 * Go <= 1.25 does not set g.waiting for semaphore waits (sync.Mutex, RWMutex,
 * WaitGroup; go-runtime.md §5.3). The sudog is only reachable from
 * runtime.semtable: semTabSize roots, each a treap of sudogs (one node per
 * semaphore address: prev = left, next = right, parent), further waiters on the
 * same address chained through waitlink. We read the table, then the treaps in
 * breadth-first rounds (one vectored read per round), every node cycle-checked,
 * the walk bounded by the number of goroutines, children checked against their
 * parent pointer, every node's elem against its bucket. A goroutine we cannot
 * link stays without a sudog (the leak finder then treats it as unsure).
 */
#define SEMTAB_DEFAULT 251
#define SEMTAB_STRIDE  64

struct semfront {
	uint64_t addr;
	uint64_t want_parent; /* 0: not a treap child */
	uint64_t want_elem;   /* waitlink member: the head's elem; 0: any */
	uint32_t bucket;
};

static bool wants_sema(const struct tli_go_chan_g *g)
{
	return g->raw && !g->dead && g->waiting && !g->nsudogs && !g->problem[0] &&
	       tli_go_reason_sema(g->reason);
}

static void sema_problem(struct tli_go_chans *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sema_problem(struct tli_go_chans *c, const char *fmt, ...)
{
	if (c->sema_problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->sema_problem, sizeof(c->sema_problem), fmt, ap);
	va_end(ap);
}

static struct tli_error *capture_semtable(struct snapctx *x, struct tli_layout *l)
{
	struct tli_go_chans *c = x->c;
	const struct tli_go_chan_layout *L = &c->L;
	size_t need = 0;
	for (size_t i = 0; i < c->ngs; i++)
		need += wants_sema(&c->gs[i]);
	if (!need)
		return NULL;
	c->sema_walked = true;
	struct tli_global tab;
	struct tli_member treap, prev, parent;
	struct tli_error *e = tli_layout_global(l, "runtime.semtable", &tab);
	if (!e)
		e = tli_layout_member(l, "runtime.semaRoot", "treap", &treap);
	if (!e)
		e = tli_layout_member(l, "runtime.sudog", "prev", &prev);
	if (!e)
		e = tli_layout_member(l, "runtime.sudog", "parent", &parent);
	if (e) {
		sema_problem(c, "runtime.semtable cannot be walked: %s", e->msg);
		tli_error_destroy(e);
		return NULL;
	}
	int64_t nroots = 0;
	e = tli_layout_constant(l, "runtime.semTabSize", &nroots);
	tli_error_destroy(e);
	if (e || nroots <= 0 || nroots > 4096)
		nroots = SEMTAB_DEFAULT;
	uint64_t stride = SEMTAB_STRIDE;
	if (tab.size && tab.size % (uint64_t)nroots == 0 && tab.size / (uint64_t)nroots >= 24 &&
	    tab.size / (uint64_t)nroots <= 4096)
		stride = tab.size / (uint64_t)nroots;
	if (treap.offset + 8 > stride || prev.offset + 8 > L->sudog_size || parent.offset + 8 > L->sudog_size ||
	    L->s_waitlink + 8 > L->sudog_size) {
		sema_problem(c, "implausible semaRoot/sudog layout (treap@%" PRIu64 ", stride %" PRIu64 ")",
			     treap.offset, stride);
		return NULL;
	}
	uint64_t tlen = stride * (uint64_t)nroots;
	uint8_t *tb = malloc(tlen);
	size_t maxnodes = c->ngs + 64;
	struct semfront *cur = calloc(maxnodes, sizeof(*cur)), *nxt = calloc(maxnodes, sizeof(*nxt));
	struct tli_read *rs = calloc(maxnodes, sizeof(*rs));
	uint8_t *buf = malloc(maxnodes * (size_t)L->sudog_size);
	size_t *hit = malloc((c->ngs ? c->ngs : 1) * sizeof(size_t));
	struct tli_go_sudog *found = calloc(maxnodes, sizeof(*found));
	struct tli_u64set seen = { 0 };
	struct tli_error *err = NULL;
	size_t nfound = 0;
	if (!tb || !cur || !nxt || !rs || !buf || !hit || !found) {
		err = &tli_enomem;
		goto out;
	}
	if (!ptr_ok(x->t, tab.addr, tlen)) {
		sema_problem(c, "runtime.semtable at 0x%" PRIx64 " is not in mapped memory", tab.addr);
		goto out;
	}
	struct tli_read tr = { .addr = tab.addr, .buf = tb, .len = tlen };
	if ((err = tli_target_read_many(x->t, &tr, 1)))
		goto out;
	if (tr.got < tlen) {
		sema_problem(c, "runtime.semtable at 0x%" PRIx64 " is unreadable", tab.addr);
		goto out;
	}
	size_t ncur = 0;
	for (uint64_t b = 0; b < (uint64_t)nroots; b++) {
		uint64_t root = tli_rd64(tb + b * stride + treap.offset);
		if (!root)
			continue;
		if (ncur == maxnodes) {
			sema_problem(c, "more semaphore treaps than goroutines: walk truncated");
			break;
		}
		cur[ncur++] = (struct semfront){ .addr = root, .bucket = (uint32_t)b };
	}
	size_t total = 0;
	while (ncur) {
		size_t nr = 0;
		for (size_t k = 0; k < ncur; k++) {
			if (total + nr >= maxnodes) {
				sema_problem(c, "runtime.semtable holds more sudogs than there are goroutines "
					     "(%zu): walk truncated", c->ngs);
				break;
			}
			if (!ptr_ok(x->t, cur[k].addr, L->sudog_size)) {
				sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u] is not in mapped memory",
					     cur[k].addr, cur[k].bucket);
				continue;
			}
			if (tli_u64set_has(&seen, cur[k].addr)) {
				sema_problem(c, "runtime.semtable[%u] revisits sudog 0x%" PRIx64 " (cycle)",
					     cur[k].bucket, cur[k].addr);
				continue;
			}
			if (!tli_u64set_add(&seen, cur[k].addr)) {
				err = &tli_enomem;
				goto out;
			}
			cur[nr] = cur[k];
			rs[nr] = (struct tli_read){ .addr = cur[k].addr, .buf = buf + nr * L->sudog_size,
						    .len = L->sudog_size };
			nr++;
		}
		if (!nr)
			break;
		if ((err = tli_target_read_many(x->t, rs, nr)))
			goto out;
		total += nr;
		size_t nn = 0;
		for (size_t k = 0; k < nr; k++) {
			const struct semfront *f = &cur[k];
			if (rs[k].got < rs[k].len) {
				sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u] is unreadable", f->addr,
					     f->bucket);
				continue;
			}
			const uint8_t *raw = rs[k].buf;
			uint64_t elem = tli_rd64(raw + L->s_elem);
			if (f->want_parent && tli_rd64(raw + parent.offset) != f->want_parent) {
				sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u]: parent 0x%" PRIx64
					     " is not the node that links it (treap in flux?)", f->addr, f->bucket,
					     tli_rd64(raw + parent.offset));
				continue;
			}
			if (f->want_elem ? elem != f->want_elem : (elem >> 3) % (uint64_t)nroots != f->bucket) {
				sema_problem(c, "sudog 0x%" PRIx64 " in runtime.semtable[%u]: semaphore 0x%" PRIx64
					     " does not belong there", f->addr, f->bucket, elem);
				continue;
			}
			decode_sudog(x, f->addr, raw, &found[nfound]);
			found[nfound].elem = elem;
			nfound++;
			uint64_t kids[3] = { tli_rd64(raw + prev.offset), tli_rd64(raw + L->s_next),
					     tli_rd64(raw + L->s_waitlink) };
			for (int j = 0; j < 3; j++) {
				if (!kids[j] || nn == maxnodes)
					continue;
				/* waitlink members share the head's address; the treap children are
				 * only followed from treap nodes (not from waitlink members) */
				if (j < 2 && f->want_elem)
					continue;
				nxt[nn++] = (struct semfront){ .addr = kids[j], .bucket = f->bucket,
							       .want_parent = j < 2 ? f->addr : 0,
							       .want_elem = j == 2 ? elem : 0 };
			}
		}
		struct semfront *tmp = cur;
		cur = nxt;
		nxt = tmp;
		ncur = nn;
	}
	c->sema_nodes = nfound;
	/* link: each semaphore waiter to its one sudog */
	for (size_t i = 0; i < c->ngs; i++)
		hit[i] = SIZE_MAX;
	for (size_t k = 0; k < nfound; k++) {
		size_t gi = found[k].g ? g_lookup(x, found[k].g) : SIZE_MAX;
		if (gi == SIZE_MAX || !wants_sema(&c->gs[gi]))
			continue;
		if (hit[gi] != SIZE_MAX) {
			snprintf(c->gs[gi].problem, sizeof(c->gs[gi].problem),
				 "its goroutine has two sudogs in runtime.semtable (0x%" PRIx64 ", 0x%" PRIx64 ")",
				 found[hit[gi]].addr, found[k].addr);
			continue;
		}
		hit[gi] = k;
	}
	size_t nlink = 0;
	for (size_t i = 0; i < c->ngs; i++)
		nlink += hit[i] != SIZE_MAX && !c->gs[i].problem[0];
	if (nlink) {
		struct tli_go_sudog *ns = realloc(c->gsudogs, (c->ngsudogs + nlink) * sizeof(*ns));
		if (!ns) {
			err = &tli_enomem;
			goto out;
		}
		c->gsudogs = ns;
		for (size_t i = 0; i < c->ngs; i++) {
			if (hit[i] == SIZE_MAX || c->gs[i].problem[0])
				continue;
			c->gs[i].first_sudog = c->ngsudogs;
			c->gs[i].nsudogs = 1;
			c->gs[i].sema = true;
			c->gsudogs[c->ngsudogs++] = found[hit[i]];
		}
	}
	c->sema_linked = nlink;
out:
	tli_u64set_free(&seen);
	free(tb);
	free(cur);
	free(nxt);
	free(rs);
	free(buf);
	free(hit);
	free(found);
	return err;
}

/* ---- capture: channels and their queues ---- */

static void decode_hchan(struct tli_go_chans *c, struct tli_go_chan *ch, const uint8_t *raw)
{
	const struct tli_go_chan_layout *L = &c->L;
	ch->header_ok = true;
	ch->qcount = tli_rd64(raw + L->h_qcount);
	ch->dataqsiz = tli_rd64(raw + L->h_dataqsiz);
	ch->buf = tli_rd64(raw + L->h_buf);
	ch->elemsize = tli_rdn(raw + L->h_elemsize, L->h_elemsize_size);
	ch->closed = (uint32_t)tli_rdn(raw + L->h_closed, L->h_closed_size);
	ch->elemtype = tli_rd64(raw + L->h_elemtype);
	ch->sendx = tli_rd64(raw + L->h_sendx);
	ch->recvx = tli_rd64(raw + L->h_recvx);
	ch->timer = L->has_timer ? tli_rd64(raw + L->h_timer) : 0;
	ch->recvq_first = tli_rd64(raw + L->h_recvq + L->wq_first);
	ch->sendq_first = tli_rd64(raw + L->h_sendq + L->wq_first);
	char *p = ch->problem;
	size_t cap = sizeof(ch->problem);
	if (ch->qcount > ch->dataqsiz)
		snprintf(p, cap, "qcount %" PRIu64 " > dataqsiz %" PRIu64, ch->qcount, ch->dataqsiz);
	else if (ch->dataqsiz && (ch->sendx >= ch->dataqsiz || ch->recvx >= ch->dataqsiz))
		snprintf(p, cap, "sendx %" PRIu64 " / recvx %" PRIu64 " outside the ring of %" PRIu64,
			 ch->sendx, ch->recvx, ch->dataqsiz);
	else if (!ch->dataqsiz && (ch->qcount || ch->sendx || ch->recvx))
		snprintf(p, cap, "unbuffered channel with qcount %" PRIu64 ", sendx %" PRIu64 ", recvx %" PRIu64,
			 ch->qcount, ch->sendx, ch->recvx);
	else if (ch->dataqsiz > (1ull << 40) || ch->elemsize > (1u << 16))
		snprintf(p, cap, "implausible dataqsiz %" PRIu64 " / elemsize %" PRIu64, ch->dataqsiz,
			 ch->elemsize);
}

struct qcursor {
	size_t ci;
	int q;          /* 0 recvq, 1 sendq */
	uint64_t ptr;
	size_t count;
};

static struct tli_error *add_q(struct tli_go_chan *ch, int q, const struct tli_go_sudog *s)
{
	struct tli_go_sudog **arr = q ? &ch->sendq : &ch->recvq;
	size_t *n = q ? &ch->nsendq : &ch->nrecvq;
	if ((*n & (*n - 1)) == 0 || *n == 0) { /* grow at powers of two */
		size_t ncap = *n ? *n * 2 : 4;
		struct tli_go_sudog *na = realloc(*arr, ncap * sizeof(*na));
		if (!na)
			return &tli_enomem;
		*arr = na;
	}
	(*arr)[(*n)++] = *s;
	return NULL;
}

static struct tli_error *capture_queues(struct snapctx *x)
{
	struct tli_go_chans *c = x->c;
	const struct tli_go_chan_layout *L = &c->L;
	struct tli_error *err = NULL;
	size_t ncur = 0;
	struct qcursor *cur = calloc(c->nchans * 2 + 1, sizeof(*cur));
	struct tli_read *rs = calloc(c->nchans * 2 + 1, sizeof(*rs));
	uint8_t *buf = malloc((c->nchans * 2 + 1) * (size_t)L->sudog_size);
	struct tli_u64set seen = { 0 };
	/* sudogs already read from waiting chains: addr -> index+1 */
	struct tli_u64map known = { 0 };
	if (!cur || !rs || !buf) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < c->ngsudogs; i++)
		if (!tli_u64map_put(&known, c->gsudogs[i].addr, i + 1)) {
			err = &tli_enomem;
			goto out;
		}
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->header_ok)
			continue;
		if (ch->recvq_first)
			cur[ncur++] = (struct qcursor){ .ci = i, .q = 0, .ptr = ch->recvq_first };
		if (ch->sendq_first)
			cur[ncur++] = (struct qcursor){ .ci = i, .q = 1, .ptr = ch->sendq_first };
	}
	size_t bound = c->ngs * 4 + 64;
	while (ncur) {
		size_t nr = 0, keep = 0;
		/* resolve from known sudogs; read the rest in one round */
		for (size_t k = 0; k < ncur; k++) {
			struct qcursor *qc = &cur[k];
			struct tli_go_chan *ch = &c->chans[qc->ci];
			if (qc->count >= bound) {
				snprintf(ch->q_problem, sizeof(ch->q_problem),
					 "%s longer than %zu sudogs: truncated", qc->q ? "sendq" : "recvq", bound);
				continue;
			}
			if (!tli_u64set_add(&seen, qc->ptr)) {
				if (tli_u64set_has(&seen, qc->ptr)) {
					snprintf(ch->q_problem, sizeof(ch->q_problem),
						 "%s revisits sudog 0x%" PRIx64 " (cycle or shared sudog): stopped",
						 qc->q ? "sendq" : "recvq", qc->ptr);
					continue;
				}
				err = &tli_enomem;
				goto out;
			}
			uint64_t kn = tli_u64map_get(&known, qc->ptr);
			if (kn) {
				/* already captured from its goroutine's waiting chain: no read */
				struct tli_go_sudog s = c->gsudogs[kn - 1];
				if (s.c != ch->addr && !s.stale)
					cwarn(c, "sudog 0x%" PRIx64 " in the %s of channel 0x%" PRIx64 " names channel 0x%" PRIx64,
					      s.addr, qc->q ? "sendq" : "recvq", ch->addr, s.c);
				if ((err = add_q(ch, qc->q, &s)))
					goto out;
				if (!s.stale)
					ch->waiters++;
				if (s.next) {
					qc->ptr = s.next;
					qc->count++;
					k--; /* walk it again in this same pass */
				}
				continue;
			}
			if (!ptr_ok(x->t, qc->ptr, L->sudog_size)) {
				snprintf(ch->q_problem, sizeof(ch->q_problem),
					 "%s sudog 0x%" PRIx64 " is not in mapped memory", qc->q ? "sendq" : "recvq",
					 qc->ptr);
				continue;
			}
			cur[keep] = *qc;
			rs[keep] = (struct tli_read){ .addr = qc->ptr, .buf = buf + keep * L->sudog_size,
						      .len = L->sudog_size };
			keep++;
			nr++;
		}
		if (!nr)
			break;
		if ((err = tli_target_read_many(x->t, rs, nr)))
			goto out;
		size_t next = 0;
		for (size_t k = 0; k < nr; k++) {
			struct qcursor qc = cur[k];
			struct tli_go_chan *ch = &c->chans[qc.ci];
			if (rs[k].got < rs[k].len) {
				snprintf(ch->q_problem, sizeof(ch->q_problem), "%s sudog 0x%" PRIx64 " is unreadable",
					 qc.q ? "sendq" : "recvq", qc.ptr);
				continue;
			}
			const uint8_t *raw = rs[k].buf;
			struct tli_go_sudog s;
			uint64_t ki = tli_u64map_get(&known, qc.ptr);
			if (ki)
				s = c->gsudogs[ki - 1];
			else
				decode_sudog(x, qc.ptr, raw, &s);
			if (s.c != ch->addr && !s.stale)
				cwarn(c, "sudog 0x%" PRIx64 " in the %s of channel 0x%" PRIx64 " names channel 0x%" PRIx64,
				      s.addr, qc.q ? "sendq" : "recvq", ch->addr, s.c);
			if ((err = add_q(ch, qc.q, &s)))
				goto out;
			if (!s.stale)
				ch->waiters++;
			uint64_t nx = tli_rd64(raw + L->s_next);
			if (nx) {
				qc.ptr = nx;
				qc.count++;
				cur[next++] = qc;
			}
		}
		ncur = next;
	}
out:
	tli_u64set_free(&seen);
	tli_u64map_free(&known);
	free(cur);
	free(rs);
	free(buf);
	return err;
}

/* ---- element types ---- */

static bool read_type_bytes(const struct tli_go_chans_src *src, const struct tli_gomoduledata *md,
			    uint64_t addr, uint32_t len, uint8_t *out)
{
	uint64_t link = addr - src->bias;
	if (src->gb && md && link >= md->types && link + len <= md->etypes && link + len > link) {
		struct tli_error *e = tli_gobin_read(src->gb, link, out, len);
		if (!e)
			return true;
		tli_error_destroy(e);
	}
	if (!ptr_ok(src->t, addr, len))
		return false;
	struct tli_error *e = tli_target_read(src->t, addr, out, len);
	bool ok = !e;
	tli_error_destroy(e);
	return ok;
}

struct tcache_ent {
	int kind;
	char *name;
	char problem[96];
};
struct tcache {
	struct tli_u64map idx; /* elemtype -> index+1 */
	struct tcache_ent *v;
	size_t n;
};

static void tcache_free(struct tcache *tc)
{
	for (size_t i = 0; i < tc->n; i++)
		free(tc->v[i].name);
	free(tc->v);
	tli_u64map_free(&tc->idx);
}

static void append_problem(struct tli_go_chan *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_problem(struct tli_go_chan *ch, const char *fmt, ...)
{
	size_t l = strlen(ch->problem);
	if (l + 3 >= sizeof(ch->problem))
		return;
	if (l) {
		strcpy(ch->problem + l, "; ");
		l += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ch->problem + l, sizeof(ch->problem) - l, fmt, ap);
	va_end(ap);
}

/* decode the runtime type at `addr` (no cache) */
static void decode_type(const struct tli_go_chans_src *src, const struct tli_go_chan_layout *L, uint64_t addr,
			uint64_t elemsize, struct tcache_ent *e)
{
	char name[MAX_TYPE_NAME] = "";
	uint8_t tb[1024];
	const struct tli_gomoduledata *md = src->gb ? tli_gobin_moduledata(src->gb) : NULL;
	e->kind = -1;
	if (!L->has_type || L->type_size > sizeof(tb)) {
		snprintf(e->problem, sizeof(e->problem), "no layout for the runtime type descriptor");
		return;
	}
	if (!read_type_bytes(src, md, addr, L->type_size, tb)) {
		snprintf(e->problem, sizeof(e->problem), "element type 0x%" PRIx64 " is unreadable", addr);
		return;
	}
	uint64_t tsize = tli_rd64(tb + L->t_size);
	uint8_t tflag = tb[L->t_tflag];
	int32_t off;
	memcpy(&off, tb + L->t_str, 4);
	if (tsize != elemsize) {
		snprintf(e->problem, sizeof(e->problem),
			 "element type 0x%" PRIx64 " has size %" PRIu64 " but the channel's elemsize is %" PRIu64,
			 addr, tsize, elemsize);
		return;
	}
	e->kind = tb[L->t_kind] & 0x1f;
	if (!md || off <= 0)
		return;
	/* name: flag byte, uvarint length, bytes */
	uint64_t na = md->types + (uint64_t)off + src->bias;
	uint8_t nb[3] = { 0 };
	if (!read_type_bytes(src, md, na, 3, nb))
		return;
	uint64_t len = 0;
	int shift = 0, used = 0;
	for (int i = 1; i < 3; i++) {
		len |= (uint64_t)(nb[i] & 0x7f) << shift;
		shift += 7;
		used++;
		if (!(nb[i] & 0x80))
			break;
	}
	if (len == 0 || len >= MAX_TYPE_NAME - 1 ||
	    !read_type_bytes(src, md, na + 1 + (uint64_t)used, (uint32_t)len, (uint8_t *)name))
		return;
	name[len] = 0;
	for (char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if ((tflag & 2) && name[0] == '*') /* TFlagExtraStar */
		memmove(name, name + 1, strlen(name));
	e->name = name[0] ? strdup(name) : NULL;
}

static void type_name(const struct tli_go_chans_src *src, struct tli_go_chans *c, struct tli_go_chan *ch,
		      struct tcache *tc)
{
	if (!ch->elemtype) {
		append_problem(ch, "nil element type");
		return;
	}
	uint64_t ci = tli_u64map_get(&tc->idx, ch->elemtype);
	struct tcache_ent tmp = { 0 }, *e = &tmp;
	if (ci) {
		e = &tc->v[ci - 1];
		if (e->kind < 0 && !e->problem[0])
			e = NULL;
	}
	if (e == &tmp || !e) {
		e = &tmp;
		decode_type(src, &c->L, ch->elemtype, ch->elemsize, e);
		struct tcache_ent *nv = realloc(tc->v, (tc->n + 1) * sizeof(*nv));
		if (nv) {
			tc->v = nv;
			tc->v[tc->n++] = tmp;
			tli_u64map_put(&tc->idx, ch->elemtype, tc->n);
			e = &tc->v[tc->n - 1];
		}
	}
	ch->kind = e->kind;
	ch->type_name = e->name ? strdup(e->name) : NULL;
	if (e->problem[0])
		append_problem(ch, "%s", e->problem);
	if (e == &tmp)
		free(tmp.name);
}

/* ---- buffers ---- */

static struct tli_error *capture_buffers(struct snapctx *x, const struct tli_go_chans_opts *o)
{
	struct tli_go_chans *c = x->c;
	struct tli_read *rs = calloc(c->nchans + 1, sizeof(*rs));
	size_t *which = calloc(c->nchans + 1, sizeof(size_t));
	struct tli_error *err = NULL;
	size_t nr = 0;
	if (!rs || !which) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->header_ok || ch->problem[0] || !ch->dataqsiz || !ch->elemsize)
			continue;
		uint64_t len = ch->dataqsiz * ch->elemsize;
		if (len / ch->elemsize != ch->dataqsiz || len > MAX_BUF_CAPTURE)
			len = MAX_BUF_CAPTURE - MAX_BUF_CAPTURE % ch->elemsize;
		if (!len)
			continue;
		if (!ch->buf || !tli_target_plausible(x->t, ch->buf, len)) {
			snprintf(ch->problem, sizeof(ch->problem), "ring buffer 0x%" PRIx64 " (%" PRIu64
				 " bytes) is not in mapped memory", ch->buf, len);
			continue;
		}
		ch->bufbytes = malloc(len);
		if (!ch->bufbytes) {
			err = &tli_enomem;
			goto out;
		}
		ch->buflen = len;
		rs[nr] = (struct tli_read){ .addr = ch->buf, .buf = ch->bufbytes, .len = len };
		which[nr++] = i;
	}
	if (nr && (err = tli_target_read_many(x->t, rs, nr)))
		goto out;
	for (size_t k = 0; k < nr; k++) {
		struct tli_go_chan *ch = &c->chans[which[k]];
		if (rs[k].got < rs[k].len) {
			snprintf(ch->problem, sizeof(ch->problem), "ring buffer 0x%" PRIx64 " is unreadable", ch->buf);
			free(ch->bufbytes);
			ch->bufbytes = NULL;
			ch->buflen = 0;
		}
	}
	/* string elements: their bytes, only with --values */
	if (!o->values)
		goto out;
	size_t maxe = o->max_elems ? o->max_elems : 64;
	size_t ns = 0, caps = 0;
	struct tli_read *srs = NULL;
	struct sref {
		size_t ci, slot;
	} *refs = NULL;
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->bufbytes || ch->kind != K_STRING || ch->elemsize != 16)
			continue;
		for (uint64_t k = 0; k < ch->qcount && k < maxe; k++) {
			uint64_t slot = (ch->recvx + k) % ch->dataqsiz;
			if ((slot + 1) * 16 > ch->buflen)
				break;
			uint64_t p = tli_rd64(ch->bufbytes + slot * 16), len = tli_rd64(ch->bufbytes + slot * 16 + 8);
			if (len > MAX_STR_BYTES)
				len = MAX_STR_BYTES;
			if (!len || !tli_target_plausible(x->t, p, len))
				continue;
			if (ns == caps) {
				caps = caps ? caps * 2 : 64;
				void *a = realloc(srs, caps * sizeof(*srs)), *b = realloc(refs, caps * sizeof(*refs));
				if (a)
					srs = a;
				if (b)
					refs = b;
				if (!a || !b) {
					err = &tli_enomem;
					goto sout;
				}
			}
			srs[ns] = (struct tli_read){ .addr = p, .buf = calloc(1, len + 1), .len = len };
			if (!srs[ns].buf) {
				err = &tli_enomem;
				goto sout;
			}
			refs[ns++] = (struct sref){ i, slot };
		}
	}
	if (ns && (err = tli_target_read_many(x->t, srs, ns)))
		goto sout;
	for (size_t k = 0; k < ns; k++) {
		struct tli_go_chan *ch = &c->chans[refs[k].ci];
		if (!ch->strings) {
			ch->strings = json_array();
			for (uint64_t s = 0; s < ch->dataqsiz && s < maxe * 4 && s < 4096; s++)
				json_array_append_new(ch->strings, json_null());
		}
		if (srs[k].got == srs[k].len && refs[k].slot < json_array_size(ch->strings))
			json_array_set_new(ch->strings, refs[k].slot, tli_json_string_lossy(srs[k].buf));
	}
sout:
	for (size_t k = 0; k < ns; k++)
		free(srs[k].buf);
	free(srs);
	free(refs);
out:
	free(rs);
	free(which);
	return err;
}

/* ---- the snapshot ---- */

struct tli_error *tli_go_chans_snapshot(const struct tli_go_chans_src *src, const uint64_t *extra,
					size_t nextra, const struct tli_go_chans_opts *o,
					struct tli_go_chans **ret)
{
	struct tli_go_chans *c = calloc(1, sizeof(*c));
	struct snapctx x = { .c = c, .t = src->t };
	uint64_t *addrs = NULL;
	struct tli_error *err = NULL;
	struct tcache tcache = { 0 };
	if (!c)
		return &tli_enomem;
	c->values = o->values;
	if ((err = tli_go_chan_layout_resolve(src->l, &c->L)))
		goto fail;
	c->ngs = src->ngs;
	c->gs = calloc(src->ngs ? src->ngs : 1, sizeof(*c->gs));
	x.gsorted = calloc(src->ngs ? src->ngs : 1, sizeof(*x.gsorted));
	if (!c->gs || !x.gsorted) {
		err = &tli_enomem;
		goto fail;
	}
	for (size_t i = 0; i < src->ngs; i++) {
		c->gs[i] = src->gs[i];
		c->gs[i].first_sudog = SIZE_MAX;
		c->gs[i].nsudogs = 0;
		c->gs[i].problem[0] = 0;
		if (c->gs[i].raw && c->gs[i].size < c->L.g_waiting + 8)
			c->gs[i].raw = NULL;
		if (c->gs[i].addr)
			x.gsorted[x.ngsorted++] = (struct gidx){ c->gs[i].addr, i };
	}
	qsort(x.gsorted, x.ngsorted, sizeof(*x.gsorted), cmp_gidx);

	/* round 1..k: waiting chains */
	if ((err = capture_chains(&x)))
		goto fail;
	/* Go <= 1.25 semaphore waits: the sudog is only in runtime.semtable */
	if ((err = capture_semtable(&x, src->l)))
		goto fail;
	if (c->sema_problem[0])
		cwarn(c, "semaphore waits: %s", c->sema_problem);

	/* the set of channels */
	size_t na = 0;
	addrs = malloc((c->ngsudogs + nextra + 1) * 8);
	if (!addrs) {
		err = &tli_enomem;
		goto fail;
	}
	for (size_t i = 0; i < c->ngsudogs; i++)
		if (c->gsudogs[i].c)
			addrs[na++] = c->gsudogs[i].c;
	for (size_t i = 0; i < nextra; i++)
		if (extra[i])
			addrs[na++] = extra[i];
	qsort(addrs, na, 8, cmp_u64);
	size_t nu = 0;
	for (size_t i = 0; i < na; i++)
		if (!nu || addrs[nu - 1] != addrs[i])
			addrs[nu++] = addrs[i];
	c->chans = calloc(nu ? nu : 1, sizeof(*c->chans));
	if (!c->chans) {
		err = &tli_enomem;
		goto fail;
	}
	c->nchans = nu;
	/* one round: every hchan */
	{
		struct tli_read *rs = calloc(nu ? nu : 1, sizeof(*rs));
		uint8_t *hb = malloc((nu ? nu : 1) * (size_t)c->L.hchan_size);
		size_t *which = calloc(nu ? nu : 1, sizeof(size_t));
		size_t nr = 0;
		if (!rs || !hb || !which) {
			free(rs);
			free(hb);
			free(which);
			err = &tli_enomem;
			goto fail;
		}
		for (size_t i = 0; i < nu; i++) {
			struct tli_go_chan *ch = &c->chans[i];
			ch->addr = addrs[i];
			ch->kind = -1;
			if (!ptr_ok(src->t, ch->addr, c->L.hchan_size)) {
				snprintf(ch->problem, sizeof(ch->problem),
					 "hchan 0x%" PRIx64 " is not in mapped memory (or misaligned)", ch->addr);
				continue;
			}
			rs[nr] = (struct tli_read){ .addr = ch->addr, .buf = hb + nr * c->L.hchan_size,
						    .len = c->L.hchan_size };
			which[nr++] = i;
		}
		err = nr ? tli_target_read_many(src->t, rs, nr) : NULL;
		for (size_t k = 0; !err && k < nr; k++) {
			struct tli_go_chan *ch = &c->chans[which[k]];
			if (rs[k].got < rs[k].len)
				snprintf(ch->problem, sizeof(ch->problem), "hchan 0x%" PRIx64 " is unreadable",
					 ch->addr);
			else
				decode_hchan(c, ch, rs[k].buf);
		}
		free(rs);
		free(hb);
		free(which);
		if (err)
			goto fail;
	}
	/* queues (rounds), types, buffers */
	if (o->queues && (err = capture_queues(&x)))
		goto fail;
	for (size_t i = 0; i < c->nchans; i++)
		if (c->chans[i].header_ok)
			type_name(src, c, &c->chans[i], &tcache);
	if (o->buffers && (err = capture_buffers(&x, o)))
		goto fail;
	tcache_free(&tcache);
	free(addrs);
	free(x.gsorted);
	*ret = c;
	return NULL;
fail:
	tcache_free(&tcache);
	free(addrs);
	free(x.gsorted);
	tli_go_chans_destroy(c);
	return err;
}

void tli_go_chans_destroy(struct tli_go_chans *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nchans; i++) {
		free(c->chans[i].recvq);
		free(c->chans[i].sendq);
		free(c->chans[i].bufbytes);
		free(c->chans[i].type_name);
		json_decref(c->chans[i].strings);
	}
	free(c->chans);
	free(c->gsudogs);
	free(c->gs);
	free(c->warnings);
	free(c);
}

struct tli_error *tli_go_chans_capture(struct tli_session *s, struct tli_go_rt *rt, const uint64_t *extra,
				       size_t nextra, const struct tli_go_chans_opts *o, struct tli_go_chans **ret)
{
	size_t n = tli_go_rt_count(rt);
	struct tli_go_chan_g *gs = calloc(n ? n : 1, sizeof(*gs));
	if (!gs)
		return &tli_enomem;
	for (size_t i = 0; i < n; i++) {
		struct tli_go_gview v;
		if (!tli_go_rt_g(rt, i, &v))
			continue;
		gs[i] = (struct tli_go_chan_g){
			.addr = v.addr, .raw = v.raw, .size = v.size, .goid = (int64_t)v.goid,
			.waiting = v.waiting, .dead = v.dead,
			.reason = v.waiting ? tli_go_rt_wait_reason(rt, v.waitreason) : NULL,
		};
	}
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	tli_error_destroy(err);
	struct tli_go_chans_src src = {
		.t = s->target, .l = tli_go_rt_layout(rt), .gb = gb,
		.bias = tli_go_rt_bias(rt), .gs = gs, .ngs = n,
	};
	err = tli_go_chans_snapshot(&src, extra, nextra, o, ret);
	free(gs);
	return err;
}

/* ---- JSON ---- */

static json_t *elem_value(const struct tli_go_chans *c, const struct tli_go_chan *ch, uint64_t slot,
			  bool *ok)
{
	*ok = false;
	if (!ch->bufbytes || (slot + 1) * ch->elemsize > ch->buflen)
		return json_null();
	const uint8_t *p = ch->bufbytes + slot * ch->elemsize;
	*ok = true;
	uint64_t u = ch->elemsize <= 8 ? tli_rdn(p, (uint32_t)ch->elemsize) : 0;
	switch (ch->kind) {
	case K_BOOL:
		return json_boolean(p[0] != 0);
	case K_INT: case K_INT8: case K_INT16: case K_INT32: case K_INT64: {
		int64_t v;
		switch (ch->elemsize) {
		case 1: v = (int8_t)u; break;
		case 2: v = (int16_t)u; break;
		case 4: v = (int32_t)u; break;
		default: v = (int64_t)u; break;
		}
		return json_integer(v);
	}
	case K_UINT: case K_UINT8: case K_UINT16: case K_UINT32: case K_UINT64: case K_UINTPTR:
		if (u > INT64_MAX) {
			char b[32];
			snprintf(b, sizeof(b), "%" PRIu64, u);
			return json_string(b);
		}
		return json_integer((json_int_t)u);
	case K_FLOAT32: {
		float f;
		memcpy(&f, p, 4);
		return json_real(f);
	}
	case K_FLOAT64: {
		double d;
		memcpy(&d, p, 8);
		return json_real(d);
	}
	case K_CHAN: case K_FUNC: case K_MAP: case K_POINTER: case K_UNSAFEPOINTER:
		return tli_go_hex(u);
	case K_STRING: {
		uint64_t len = tli_rd64(p + 8);
		if (c->values && ch->strings) {
			json_t *s = json_array_get(ch->strings, slot);
			if (s && json_is_string(s))
				return json_incref(s);
		}
		char b[64];
		snprintf(b, sizeof(b), "<string, %" PRIu64 " bytes%s>", len, c->values ? "" : ", redacted");
		return json_string(b);
	}
	default: {
		char b[64];
		if (ch->elemsize == 0)
			return json_string("{}");
		snprintf(b, sizeof(b), "<%" PRIu64 " bytes>", ch->elemsize);
		return json_string(b);
	}
	}
}

static void short_value(json_t *v, char *out, size_t cap)
{
	if (json_is_integer(v))
		snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, cap, "%g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(out, cap, "true");
	else if (json_is_false(v))
		snprintf(out, cap, "false");
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (s[0] == '<')
			snprintf(out, cap, "%s", s[1] == 's' ? "\"…\"" : "?");
		else if (s[0] == '0' && s[1] == 'x')
			snprintf(out, cap, "%s", s);
		else
			snprintf(out, cap, "%.12s", s);
	} else
		snprintf(out, cap, "?");
}

void tli_go_chan_ring(const struct tli_go_chan *ch, const struct tli_go_chans *c, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = 0;
	if (!ch->header_ok || ch->problem[0] || !ch->dataqsiz) {
		snprintf(buf, cap, "%s", ch->dataqsiz ? "" : "unbuffered");
		return;
	}
	used += (size_t)snprintf(buf + used, cap - used, "[");
	uint64_t shown = ch->dataqsiz > 16 ? 16 : ch->dataqsiz;
	for (uint64_t s = 0; s < shown && used < cap; s++) {
		bool live = (s + ch->dataqsiz - ch->recvx) % ch->dataqsiz < ch->qcount;
		char v[48] = "_";
		if (live) {
			bool ok;
			json_t *jv = elem_value(c, ch, s, &ok);
			if (ok)
				short_value(jv, v, sizeof(v));
			else
				snprintf(v, sizeof(v), "?");
			json_decref(jv);
		}
		used += (size_t)snprintf(buf + used, cap - used, " %s %s", v, s + 1 < shown ? "|" : "");
	}
	if (used < cap && shown < ch->dataqsiz)
		used += (size_t)snprintf(buf + used, cap - used, "... %" PRIu64 " more ", ch->dataqsiz - shown);
	if (used < cap)
		snprintf(buf + used, cap - used, "]  recvx=%" PRIu64 " sendx=%" PRIu64, ch->recvx, ch->sendx);
}

static json_t *sudog_json(const struct tli_go_sudog *s, json_t *gmap)
{
	json_t *o = json_object();
	json_object_set_new(o, "goroutine", s->goid >= 0 ? json_integer(s->goid) : json_null());
	json_object_set_new(o, "sudog", tli_go_hex(s->addr));
	json_object_set_new(o, "is_select", json_boolean(s->is_select));
	json_object_set_new(o, "elem", s->elem ? tli_go_hex(s->elem) : json_null());
	if (s->stale)
		json_object_set_new(o, "stale", json_true());
	json_t *user = json_null();
	if (gmap && s->goid >= 0) {
		char k[32];
		snprintf(k, sizeof(k), "%" PRId64, s->goid);
		json_t *g = json_object_get(gmap, k);
		json_t *u = g ? json_object_get(g, "user") : NULL;
		if (u)
			user = json_incref(u);
	}
	json_object_set_new(o, "user", user);
	return o;
}

json_t *tli_go_chan_json(const struct tli_go_chans *c, const struct tli_go_chan *ch, json_t *gmap)
{
	json_t *o = json_object();
	json_object_set_new(o, "address", tli_go_hex(ch->addr));
	if (!ch->header_ok) {
		json_object_set_new(o, "unreadable", json_string(ch->problem));
		return o;
	}
	json_object_set_new(o, "elemtype", ch->type_name ? tli_json_string_lossy(ch->type_name) : json_null());
	json_object_set_new(o, "elemtype_address", tli_go_hex(ch->elemtype));
	json_object_set_new(o, "elemsize", json_integer((json_int_t)ch->elemsize));
	json_object_set_new(o, "qcount", json_integer((json_int_t)ch->qcount));
	json_object_set_new(o, "dataqsiz", json_integer((json_int_t)ch->dataqsiz));
	json_object_set_new(o, "closed", json_boolean(ch->closed != 0));
	json_object_set_new(o, "sendx", json_integer((json_int_t)ch->sendx));
	json_object_set_new(o, "recvx", json_integer((json_int_t)ch->recvx));
	json_object_set_new(o, "buf", tli_go_hex(ch->buf));
	json_object_set_new(o, "timer", json_boolean(ch->timer != 0));
	size_t ns = 0, nr = 0;
	json_t *sq = json_array(), *rq = json_array();
	for (size_t i = 0; i < ch->nsendq; i++) {
		json_array_append_new(sq, sudog_json(&ch->sendq[i], gmap));
		ns += !ch->sendq[i].stale;
	}
	for (size_t i = 0; i < ch->nrecvq; i++) {
		json_array_append_new(rq, sudog_json(&ch->recvq[i], gmap));
		nr += !ch->recvq[i].stale;
	}
	json_object_set_new(o, "senders", json_integer((json_int_t)ns));
	json_object_set_new(o, "receivers", json_integer((json_int_t)nr));
	json_object_set_new(o, "sendq", sq);
	json_object_set_new(o, "recvq", rq);
	json_t *b = json_array();
	if (!ch->problem[0] && ch->bufbytes) {
		for (uint64_t k = 0; k < ch->qcount && k < 64; k++) {
			uint64_t slot = (ch->recvx + k) % ch->dataqsiz;
			bool ok;
			json_t *e = json_object();
			json_object_set_new(e, "slot", json_integer((json_int_t)slot));
			json_object_set_new(e, "value", elem_value(c, ch, slot, &ok));
			json_array_append_new(b, e);
		}
	}
	json_object_set_new(o, "buffer", b);
	char ring[1024];
	tli_go_chan_ring(ch, c, ring, sizeof(ring));
	json_object_set_new(o, "ring", tli_json_string_lossy(ring));
	if (ch->problem[0])
		json_object_set_new(o, "unreadable", json_string(ch->problem));
	if (ch->q_problem[0])
		json_object_set_new(o, "queue_problem", json_string(ch->q_problem));
	return o;
}

void tli_go_chans_annotate(const struct tli_go_chans *c, json_t *result)
{
	json_t *list = json_object_get(json_object_get(result, "go"), "goroutines");
	/* goid -> g index */
	json_t *idx = json_object();
	for (size_t i = 0; i < c->ngs; i++) {
		if (c->gs[i].dead || !c->gs[i].nsudogs)
			continue;
		char k[32];
		snprintf(k, sizeof(k), "%" PRId64, c->gs[i].goid);
		json_object_set_new(idx, k, json_integer((json_int_t)i));
	}
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *id = json_object_get(g, "id");
		const char *reason = json_string_value(json_object_get(g, "wait_reason"));
		if (!json_is_integer(id) || !reason)
			continue;
		if (!tli_go_reason_chan(reason) && !tli_go_reason_forever(reason))
			continue;
		char k[32];
		snprintf(k, sizeof(k), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		json_t *gi = json_object_get(idx, k);
		json_t *arr = json_array();
		if (gi) {
			const struct tli_go_chan_g *cg = &c->gs[json_integer_value(gi)];
			for (size_t s = 0; s < cg->nsudogs; s++) {
				uint64_t ca = c->gsudogs[cg->first_sudog + s].c;
				if (ca)
					json_array_append_new(arr, tli_go_hex(ca));
			}
			if (cg->problem[0])
				json_object_set_new(g, "blocked_on_problem", json_string(cg->problem));
		}
		json_object_set_new(g, "blocked_on", arr);
	}
	json_decref(idx);
}
