/* SPDX-License-Identifier: MIT */
/*
 * The channel snapshot (see chans.h): tli_go_chans_snapshot runs the capture
 * rounds in order while the target is stopped (chans_internal.h names the file
 * of each), and reads here which channels there are, their hchan headers and
 * their element types. No offsets and no version tests in here: every member
 * comes from the layout resolver by name.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/search.h"
#include "core/session.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/types.h"
#include "core/jsonstr.h"

#define MAX_TYPE_NAME    512
#define WARN_BYTES_MAX   (64 * 1024)  /* warnings kept: as much text as this */

/* ---- helpers ---- */

void tli_go_chans_warn(struct tli_go_chans *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->warn_bytes > WARN_BYTES_MAX)
		return;
	c->warn_bytes += strlen(line) + 1;
	/* one warning per non-empty line */
	for (char *p = line, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (*p)
			tli_warnings_add(&c->warnings, "%s", p);
		if (!nl)
			break;
	}
}

static bool ptr_ok(struct tli_target *t, uint64_t p, uint64_t len)
{
	return tli_go_chans_ptr_ok(t, p, len);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

const struct tli_go_chan *tli_go_chans_find(const struct tli_go_chans *c, uint64_t addr)
{
	size_t i = tli_lower_bound(c->nchans, k, c->chans[k].addr < addr);
	return i < c->nchans && c->chans[i].addr == addr ? &c->chans[i] : NULL;
}

size_t tli_go_chans_g_index(const struct tli_go_chans *c, uint64_t gaddr)
{
	for (size_t i = 0; i < c->ngs; i++)
		if (c->gs[i].addr == gaddr)
			return i;
	return SIZE_MAX;
}

/* ---- the goroutines and the channels ---- */

/* The goroutines as the caller describes them, and their index by address. */
static struct tli_error *copy_goroutines(const struct tli_go_chans_src *src, struct tli_go_snapctx *x)
{
	struct tli_go_chans *c = x->c;
	c->ngs = src->ngs;
	if (src->gs_given) {
		c->gs = src->gs_given;
	} else {
		c->gs = calloc(src->ngs ? src->ngs : 1, sizeof(*c->gs));
		if (!c->gs)
			return &tli_enomem;
		if (src->ngs)
			memcpy(c->gs, src->gs, src->ngs * sizeof(*c->gs));
	}
	bool index = true;
	if (src->gindex_given) {
		x->gindex = *src->gindex_given;
		*src->gindex_given = (struct tli_u64map){ 0 };
		index = false;
	} else if (!tli_u64map_reserve(&x->gindex, src->ngs)) { /* no rehash while stopped */
		return &tli_enomem;
	}
	for (size_t i = 0; i < src->ngs; i++) {
		c->gs[i].first_sudog = SIZE_MAX;
		c->gs[i].nsudogs = 0;
		c->gs[i].problem[0] = 0;
		if (c->gs[i].raw && c->gs[i].size < c->L.g_waiting + 8)
			c->gs[i].raw = NULL;
		/* a hash, not a sorted array: looked up for every sudog while the target is stopped */
		if (index && c->gs[i].addr && !tli_u64map_get(&x->gindex, c->gs[i].addr) &&
		    !tli_u64map_put(&x->gindex, c->gs[i].addr, i + 1))
			return &tli_enomem;
	}
	return NULL;
}

/* The channels: every one a sudog names, plus the caller's, sorted and distinct. */
static struct tli_error *channel_set(struct tli_go_chans *c, const uint64_t *extra, size_t nextra)
{
	size_t na = 0;
	uint64_t *addrs = malloc((c->ngsudogs + nextra + 1) * 8);
	if (!addrs)
		return &tli_enomem;
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
		free(addrs);
		return &tli_enomem;
	}
	c->nchans = nu;
	for (size_t i = 0; i < nu; i++) {
		c->chans[i].addr = addrs[i];
		c->chans[i].kind = -1;
	}
	free(addrs);
	return NULL;
}

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

/* One round: every hchan header. */
static struct tli_error *read_hchans(struct tli_go_snapctx *x, const uint64_t *extra, size_t nextra)
{
	struct tli_go_chans *c = x->c;
	size_t nu = c->nchans;
	struct tli_read *rs = calloc(nu ? nu : 1, sizeof(*rs));
	uint8_t *hb = malloc((nu ? nu : 1) * (size_t)c->L.hchan_size);
	size_t *which = calloc(nu ? nu : 1, sizeof(size_t));
	size_t nr = 0;
	struct tli_error *err = NULL;
	if (!rs || !hb || !which)
		err = &tli_enomem;
	for (size_t i = 0; !err && i < nu; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ptr_ok(x->t, ch->addr, c->L.hchan_size)) {
			snprintf(ch->problem, sizeof(ch->problem),
				 "hchan 0x%" PRIx64 " is not in mapped memory (or misaligned)", ch->addr);
			continue;
		}
		rs[nr] = (struct tli_read){ .addr = ch->addr, .buf = hb + nr * c->L.hchan_size,
					    .len = c->L.hchan_size };
		which[nr++] = i;
	}
	/* through whole pages: hchans of one program sit side by side in their size class's
	 * spans (20k channels at 100k goroutines: 12 -> 2 ms of the stop) */
	if (!err && nr)
		err = tli_pagecache_read_many(&x->pages, x->t, rs, nr);
	for (size_t k = 0; !err && k < nr; k++) {
		struct tli_go_chan *ch = &c->chans[which[k]];
		if (rs[k].got < rs[k].len)
			snprintf(ch->problem, sizeof(ch->problem), "hchan 0x%" PRIx64 " is unreadable", ch->addr);
		else
			decode_hchan(c, ch, rs[k].buf);
		for (size_t e = 0; rs[k].got == rs[k].len && e < nextra; e++)
			if (extra[e] == ch->addr && !ch->header && (ch->header = malloc(c->L.hchan_size)))
				memcpy(ch->header, rs[k].buf, c->L.hchan_size);
	}
	free(rs);
	free(hb);
	free(which);
	return err;
}

/* ---- element types (decoded by go/types) ---- */

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
	const struct tli_go_type_src ts = {
		.t = src->t, .gb = src->gb, .md = src->gb ? tli_gobin_moduledata(src->gb) : NULL,
		.bias = src->bias, .L = &L->type, .policy = TLI_GO_TYPE_FILE_OR_MEMORY,
	};
	struct tli_go_type ty;
	e->kind = -1;
	if (!tli_go_type_layout_ok(&L->type)) {
		snprintf(e->problem, sizeof(e->problem), "no layout for the runtime type descriptor");
		return;
	}
	if (!tli_go_type_read(&ts, addr, &ty)) {
		snprintf(e->problem, sizeof(e->problem), "element type 0x%" PRIx64 " is unreadable", addr);
		return;
	}
	if (ty.size != elemsize) {
		snprintf(e->problem, sizeof(e->problem),
			 "element type 0x%" PRIx64 " has size %" PRIu64 " but the channel's elemsize is %" PRIu64,
			 addr, ty.size, elemsize);
		return;
	}
	e->kind = tli_go_type_kind(&ty);
	char name[MAX_TYPE_NAME];
	if (tli_go_type_name(&ts, &ty, name, sizeof(name)) && name[0])
		e->name = strdup(name);
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


/* ---- the snapshot ---- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}


/* The rounds up to the hchan headers: waiting chains, semaphores, the channel set, headers. */
static struct tli_error *capture_channels(const struct tli_go_chans_src *src, struct tli_go_snapctx *x,
					  const uint64_t *extra, size_t nextra)
{
	struct tli_go_chans *c = x->c;
	struct tli_error *err;
	double t0 = now_ms();
	/* round 1..k: waiting chains */
	if ((err = tli_go_capture_waiting(x)))
		return err;
	double t1 = now_ms();
	c->ms[1] = t1 - t0;
	/* Go <= 1.25 semaphore waits: the sudog is only in runtime.semtable (a listing's
	 * blocked_on names channels only: it does without) */
	if (!x->chan_waits_only && (err = tli_go_capture_semtable(x, src->l)))
		return err;
	c->ms[2] = now_ms() - t1;
	if (c->sema_problem[0])
		tli_go_chans_warn(c, "semaphore waits: %s", c->sema_problem);
	if ((err = channel_set(c, extra, nextra)))
		return err;
	t1 = now_ms();
	err = read_hchans(x, extra, nextra);
	c->ms[3] = now_ms() - t1;
	return err;
}

struct tli_error *tli_go_chans_snapshot(const struct tli_go_chans_src *src, const uint64_t *extra,
					size_t nextra, const struct tli_go_chans_opts *o,
					struct tli_go_chans **ret)
{
	struct tli_go_chans *c = calloc(1, sizeof(*c));
	struct tli_go_snapctx x = { .c = c, .t = src->t, .chan_waits_only = o->chan_waits_only };
	struct tli_error *err = NULL;
	struct tcache tcache = { 0 };
	if (!c) {
		free(src->gs_given);
		return &tli_enomem;
	}
	tli_pagecache_init(&x.pages, 0);
	c->values = o->values;
	double t0 = now_ms();
	if ((err = tli_go_chan_layout_resolve(src->l, &c->L)) || (err = copy_goroutines(src, &x))) {
		if (!c->gs)
			free(src->gs_given); /* not taken over yet */
		goto fail;
	}
	c->ms[0] = now_ms() - t0;
	if ((err = capture_channels(src, &x, extra, nextra)))
		goto fail;
	t0 = now_ms();
	/* queues (rounds), types, buffers */
	if (o->queues && (err = tli_go_capture_queues(&x)))
		goto fail;
	for (size_t i = 0; i < c->nchans; i++)
		if (c->chans[i].header_ok)
			type_name(src, c, &c->chans[i], &tcache);
	if (o->buffers && (err = tli_go_capture_buffers(&x, o)))
		goto fail;
	c->ms[4] = now_ms() - t0;
	tcache_free(&tcache);
	tli_pagecache_free(&x.pages);
	tli_u64map_free(&x.gindex);
	*ret = c;
	return NULL;
fail:
	tcache_free(&tcache);
	tli_pagecache_free(&x.pages);
	tli_u64map_free(&x.gindex);
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
		free(c->chans[i].header);
		free(c->chans[i].type_name);
		json_decref(c->chans[i].strings);
	}
	free(c->chans);
	free(c->gsudogs);
	free(c->gs);
	tli_warnings_free(&c->warnings);
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
		if (!o->queues && v.pre_n) { /* queue walks need the sudogs' links as they are now */
			gs[i].pre_addr = v.pre_addr;
			gs[i].pre_raw = v.pre_raw;
			gs[i].pre_n = v.pre_n;
			gs[i].pre_size = v.pre_size;
		}
	}
	struct tli_gobin *gb = NULL;
	tli_error_drop(tli_session_gobin(s, &gb));
	struct tli_u64map gindex = { 0 };
	struct tli_go_chans_src src = {
		.t = s->target, .l = tli_go_rt_layout(rt), .gb = gb,
		.bias = tli_go_rt_bias(rt), .ngs = n, .gs_given = gs,
		.gindex_given = tli_go_rt_take_gindex(rt, &gindex) ? &gindex : NULL,
	};
	struct tli_error *err = tli_go_chans_snapshot(&src, extra, nextra, o, ret);
	tli_u64map_free(&gindex); /* when not taken over */
	const double *ms = err ? NULL : (*ret)->ms;
	if (ms && s->opts.verbose)
		fprintf(stderr, "tlinspect: channel capture: goroutines %.1f ms, waiting chains %.1f ms (%zu copied before "
			"the stop), semtable %.1f ms, headers %.1f ms, queues/types/buffers %.1f ms\n", ms[0], ms[1],
			(*ret)->pre_chains, ms[2], ms[3], ms[4]);
	return err;
}
