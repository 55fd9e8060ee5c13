/* SPDX-License-Identifier: MIT */
/* The channel commands: goroutines (+blocked_on), chans, chan ADDR. */
#include "chans.h"
#include "changlobals.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/types.h"
#include "core/jsonstr.h"

#define WARNINGS_SHOWN 20   /* channel warnings passed on to the session */

void tli_go_chans_report_warnings(struct tli_session *s, const struct tli_go_chans *c, bool count_rest)
{
	if (!c)
		return;
	size_t total = c->warnings.n + c->warnings.dropped;
	for (size_t i = 0; i < c->warnings.n && i < WARNINGS_SHOWN; i++)
		tli_session_warn(s, "%s", c->warnings.v[i]);
	if (count_rest && total > WARNINGS_SHOWN)
		tli_session_warn(s, "... %d more channel warnings", (int)(total - WARNINGS_SHOWN));
}

/* open + capture goroutines + capture channels, then release. */
struct tli_error *tli_go_chans_run(struct tli_session *s, const uint64_t *extra, size_t nextra,
				   const struct tli_go_chans_opts *co, struct tli_go_rt **rt_ret,
				   struct tli_go_chans **c_ret)
{
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	struct tli_error *err = tli_go_rt_open(s, &rt);
	if (!err)
		err = tli_go_rt_capture(rt);
	if (!err)
		err = tli_go_chans_capture(s, rt, extra, nextra, co, &c);
	tli_target_release(s->target);
	if (err) {
		tli_go_rt_destroy(rt);
		return err;
	}
	tli_go_chans_report_warnings(s, c, true);
	*rt_ret = rt;
	*c_ret = c;
	return NULL;
}

/* The listing's capture: goroutines, and the channel waits of blocked_on (a failure there
 * degrades to a warning, *c NULL); the target runs again after. */
static struct tli_error *goroutines_capture(struct tli_session *s, const struct tli_go_opts *opts,
					    struct tli_go_rt **rt, struct tli_go_chans **c)
{
	struct tli_go_chans_opts co = { .queues = false, .buffers = false, .chan_waits_only = true };
	*rt = NULL;
	*c = NULL;
	struct tli_error *err = tli_go_rt_open(s, rt);
	if (!err) {
		tli_go_rt_only(*rt, opts->only_id);
		tli_go_rt_precopy_chains(*rt, !co.queues);
		err = tli_go_rt_capture(*rt);
	}
	if (!err) {
		struct tli_error *ce = tli_go_chans_capture(s, *rt, NULL, 0, &co, c);
		if (ce) {
			tli_session_warn(s, "channels not decoded: %s", ce->msg);
			tli_error_destroy(ce);
			*c = NULL;
		}
	}
	tli_target_release(s->target);
	return err;
}

struct tli_error *tli_go_cmd_goroutines(struct tli_session *s, const struct tli_go_opts *opts, json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	struct tli_error *err = goroutines_capture(s, opts, &rt, &c);
	if (!err)
		err = tli_go_rt_analyze(rt, opts, result);
	if (!err && c)
		tli_go_chans_annotate(c, result);
	tli_go_chans_destroy(c);
	tli_go_rt_destroy(rt);
	return err;
}

struct tli_go_streamed {
	struct tli_go_opts opts;        /* the listing reads them until it is freed */
	struct tli_go_rt *rt;
	struct tli_go_chans *c;
	struct tli_go_listing *l;
	struct tli_go_chans_annot an;
};

void tli_go_streamed_free(struct tli_go_streamed *x)
{
	if (!x)
		return;
	tli_go_listing_free(x->l);
	tli_go_chans_annot_free(&x->an);
	tli_go_chans_destroy(x->c);
	tli_go_rt_destroy(x->rt);
	free(x);
}

struct tli_error *tli_go_cmd_goroutines_streamed(struct tli_session *s, const struct tli_go_opts *opts,
						 json_t *result, bool text_order, struct tli_go_streamed **ret)
{
	*ret = NULL;
	struct tli_go_streamed *x = calloc(1, sizeof(*x));
	if (!x)
		return &tli_enomem;
	x->opts = *opts;
	struct tli_error *err = goroutines_capture(s, &x->opts, &x->rt, &x->c);
	if (!err)
		err = tli_go_rt_analyze_stream(x->rt, &x->opts, result, text_order, &x->l);
	if (err) {
		tli_go_streamed_free(x);
		return err;
	}
	tli_go_chans_annot_init(&x->an, x->c);
	*ret = x;
	return NULL;
}

size_t tli_go_streamed_count(const struct tli_go_streamed *x)
{
	return tli_go_listing_count(x->l);
}

size_t tli_go_streamed_system(const struct tli_go_streamed *x)
{
	return tli_go_listing_system(x->l);
}

struct tli_error *tli_go_streamed_item(struct tli_go_streamed *x, size_t k, json_t **ret)
{
	struct tli_error *err = tli_go_listing_item(x->l, k, ret);
	if (!err && *ret && x->c)
		tli_go_chans_annot_one(&x->an, *ret);
	return err;
}

/* id -> goroutine object */
json_t *tli_go_gmap(json_t *result)
{
	json_t *m = json_object();
	json_t *list = json_object_get(json_object_get(result, "go"), "goroutines");
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *id = json_object_get(g, "id");
		if (!json_is_integer(id))
			continue;
		char k[32];
		snprintf(k, sizeof(k), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		json_object_set(m, k, g);
	}
	return m;
}

static int cmp_waiters(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t wx = json_integer_value(json_object_get(x, "senders")) +
			json_integer_value(json_object_get(x, "receivers"));
	json_int_t wy = json_integer_value(json_object_get(y, "senders")) +
			json_integer_value(json_object_get(y, "receivers"));
	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "address")),
		      json_string_value(json_object_get(y, "address")));
}

/* Goroutines, the channels held by globals, then every channel (those too); the target runs again after. */
static struct tli_error *capture_all(struct tli_session *s, const struct tli_go_chans_opts *co, struct tli_go_rt **rt,
				     struct tli_go_chans **c, struct tli_go_chan_globals *glob)
{
	uint64_t *extra = NULL;
	size_t nextra = 0;
	struct tli_error *err = tli_go_rt_open(s, rt);
	if (!err)
		err = tli_go_rt_capture(*rt);
	if (!err) {
		/* channels held by globals; a failure degrades to a warning */
		struct tli_error *ge = tli_go_chan_globals_find(s, tli_go_rt_layout(*rt), tli_go_rt_bias(*rt), glob);
		if (ge) {
			tli_session_warn(s, "channels held by globals not searched: %s", ge->msg);
			tli_error_destroy(ge);
		} else if (glob->truncated) {
			tli_session_warn(s, "more than %d global slots hold channels; the rest are not listed",
					 TLI_CHAN_GLOBALS_MAX);
		}
		extra = glob->n ? malloc(glob->n * sizeof(*extra)) : NULL;
		for (size_t i = 0; extra && i < glob->n; i++)
			if (!nextra || extra[nextra - 1] != glob->v[i].chan)
				extra[nextra++] = glob->v[i].chan;
		err = tli_go_chans_capture(s, *rt, extra, nextra, co, c);
	}
	tli_target_release(s->target);
	free(extra);
	return err;
}

/* The ids of the first 10 live goroutines of a queue. */
static json_t *waiter_ids(const struct tli_go_sudog *q, size_t n)
{
	json_t *ids = json_array();
	for (size_t k = 0; k < n && json_array_size(ids) < 10; k++)
		if (!q[k].stale && q[k].goid >= 0)
			json_array_append_new(ids, json_integer(q[k].goid));
	return ids;
}

static size_t live_waiters(const struct tli_go_sudog *q, size_t n)
{
	size_t live = 0;
	for (size_t k = 0; k < n; k++)
		live += !q[k].stale;
	return live;
}

/* The global slots holding ch (*nheld of them). */
static json_t *held_by(const struct tli_go_chan_globals *glob, uint64_t chan, size_t *nheld)
{
	size_t g0 = 0, ng = tli_go_chan_globals_of(glob, chan, &g0);
	json_t *held = json_array();
	for (size_t k = 0; k < ng; k++) {
		const struct tli_go_chan_global *gv = &glob->v[g0 + k];
		json_t *h = json_object();
		json_object_set_new(h, "slot", tli_go_hex(gv->slot));
		json_object_set_new(h, "name", gv->name[0] ? json_string(gv->name) : json_null());
		json_array_append_new(held, h);
	}
	*nheld = ng;
	return held;
}

/* One row of `chans` (*nwait: its live waiters, *nheld: global slots holding it). */
static json_t *chan_row(const struct tli_go_chan *ch, const struct tli_go_chan_globals *glob, size_t *nwait,
			size_t *nheld)
{
	json_t *r = json_object();
	json_object_set_new(r, "address", tli_go_hex(ch->addr));
	json_object_set_new(r, "elemtype", ch->type_name ? tli_json_string_lossy(ch->type_name) : json_null());
	size_t ns = live_waiters(ch->sendq, ch->nsendq), nr = live_waiters(ch->recvq, ch->nrecvq);
	if (ch->header_ok) {
		json_object_set_new(r, "len", json_integer((json_int_t)ch->qcount));
		json_object_set_new(r, "cap", json_integer((json_int_t)ch->dataqsiz));
		json_object_set_new(r, "closed", json_boolean(ch->closed != 0));
		json_object_set_new(r, "timer", json_boolean(ch->timer != 0));
	} else {
		json_object_set_new(r, "len", json_null());
		json_object_set_new(r, "cap", json_null());
		json_object_set_new(r, "closed", json_null());
	}
	json_object_set_new(r, "senders", json_integer((json_int_t)ns));
	json_object_set_new(r, "receivers", json_integer((json_int_t)nr));
	/* waiting goroutine ids (first 10 of each) */
	json_object_set_new(r, "sender_ids", waiter_ids(ch->sendq, ch->nsendq));
	json_object_set_new(r, "receiver_ids", waiter_ids(ch->recvq, ch->nrecvq));
	json_object_set_new(r, "globals", held_by(glob, ch->addr, nheld));
	if (ch->problem[0])
		json_object_set_new(r, "unreadable", json_string(ch->problem));
	if (ch->q_problem[0])
		json_object_set_new(r, "queue_problem", json_string(ch->q_problem));
	*nwait = ns + nr;
	return r;
}

/* result.go: every channel, most waited on first, and the counts. */
static struct tli_error *chans_json(const struct tli_go_chans *c, const struct tli_go_chan_globals *glob,
				    json_t *result)
{
	json_t **rows = calloc(c->nchans + 1, sizeof(json_t *));
	if (!rows)
		return &tli_enomem;
	size_t nblocked = 0, nwaited = 0, nheld = 0;
	for (size_t i = 0; i < c->nchans; i++) {
		size_t nwait = 0, ng = 0;
		rows[i] = chan_row(&c->chans[i], glob, &nwait, &ng);
		nblocked += nwait;
		nwaited += nwait != 0;
		nheld += ng != 0;
	}
	qsort(rows, c->nchans, sizeof(*rows), cmp_waiters);
	json_t *arr = json_array();
	for (size_t i = 0; i < c->nchans; i++)
		json_array_append_new(arr, rows[i]);
	free(rows);
	json_t *go = json_object();
	json_object_set_new(go, "channel_count", json_integer((json_int_t)c->nchans));
	json_object_set_new(go, "blocked_goroutines", json_integer((json_int_t)nblocked));
	json_object_set_new(go, "channels_with_waiters", json_integer((json_int_t)nwaited));
	json_object_set_new(go, "channels_held_by_globals", json_integer((json_int_t)nheld));
	json_object_set_new(go, "channels", arr);
	json_object_set_new(result, "go", go);
	return NULL;
}

struct tli_error *tli_go_cmd_chans(struct tli_session *s, const struct tli_go_chans_opts *o, json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	struct tli_go_chans_opts co = *o;
	co.queues = true;
	co.buffers = false;
	struct tli_go_chan_globals glob = { 0 };
	struct tli_error *err = capture_all(s, &co, &rt, &c, &glob);
	if (!err) {
		tli_go_chans_report_warnings(s, c, true);
		struct tli_gobin *gb = NULL;
		if (!tli_error_drop(tli_session_gobin(s, &gb))) {
			json_t *tg = json_object();
			const char *v = tli_gobin_version(gb);
			json_object_set_new(tg, "go_version", v ? json_string(v) : json_null());
			json_object_set_new(result, "target", tg);
		}
		err = chans_json(c, &glob, result);
	}
	tli_go_chans_destroy(c);
	tli_go_rt_destroy(rt);
	tli_go_chan_globals_free(&glob);
	return err;
}

/* makechan's invariants for an explicit `chan ADDR`: elemtype any readable type descriptor (a
 * channel made by reflect has one outside the module), read through go/types */
struct probe_ctx {
	struct tli_go_type_src src;
};

static bool probe_type(void *ctx, uint64_t addr, uint64_t *size, uint64_t *ptrbytes, int *kind)
{
	struct probe_ctx *p = ctx;
	struct tli_go_type ty;
	if (!tli_go_type_read(&p->src, addr, &ty))
		return false;
	*size = ty.size;
	*ptrbytes = ty.ptrbytes;
	*kind = tli_go_type_kind(&ty);
	return true;
}

/*
 * (chans.h) Refuse an address that is not a channel makechan could have made (runtime/chan.go makechan:
 * qcount <= dataqsiz, indexes inside the ring, closed 0/1, both waitq ends or none, a real element
 * type of elemsize bytes, buf where makechan puts it) - e.g. the address of a variable holding a
 * channel instead of its value - instead of decoding garbage. NULL if plausible or not checkable.
 */
struct tli_error *tli_go_chan_check_made(struct tli_session *s, struct tli_go_rt *rt,
					 const struct tli_go_chan_layout *L, const struct tli_go_chan *ch)
{
	struct tli_member wl;
	struct tli_gobin *gb = NULL;
	if (!ch->header || !L->type.has_type ||
	    tli_error_drop(tli_layout_member(tli_go_rt_layout(rt), "runtime.waitq", "last", &wl)) ||
	    tli_error_drop(tli_session_gobin(s, &gb)))
		return NULL; /* nothing to check with */
	struct probe_ctx pc = { .src = { .t = s->target, .gb = gb, .md = tli_gobin_moduledata(gb),
					 .bias = tli_go_rt_bias(rt), .L = &L->type,
					 .policy = TLI_GO_TYPE_FILE_OR_MEMORY } };
	struct tli_go_type_probe tp = { .types_lo = 0, .types_hi = UINT64_MAX, .type_info = probe_type,
					.ctx = &pc, .have_ptrbytes = L->type.has_gcdata };
	char why[160];
	if (wl.offset + 8 <= L->hchan_size &&
	    tli_go_hchan_plausible(L, (uint32_t)wl.offset, ch->addr, ch->header, &tp, why, sizeof(why)))
		return NULL;
	return tli_error_create(TLI_E_CORRUPT,
				"0x%" PRIx64 " is not a channel: as a runtime.hchan it breaks makechan's rules (%s); "
				"give a channel's value (the pointer a chan variable holds), e.g. from `chans`",
				ch->addr, why);
}

struct tli_error *tli_go_cmd_chan(struct tli_session *s, uint64_t addr, const struct tli_go_chans_opts *o,
				  json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	struct tli_go_chans_opts co = *o;
	co.queues = co.buffers = true;
	struct tli_error *err = tli_go_chans_run(s, &addr, 1, &co, &rt, &c);
	if (err)
		return err;
	const struct tli_go_chan *ch = tli_go_chans_find(c, addr);
	if (!ch || !ch->header_ok) {
		err = tli_error_fault(addr, "channel 0x%" PRIx64 ": %s", addr,
				      ch && ch->problem[0] ? ch->problem : "not readable");
		goto out;
	}
	if ((err = tli_go_chan_check_made(s, rt, &c->L, ch)))
		goto out;
	struct tli_go_opts go = { .top = 0 };
	if ((err = tli_go_rt_analyze(rt, &go, result)))
		goto out;
	json_t *gmap = tli_go_gmap(result);
	json_object_set_new(result, "channel", tli_go_chan_json(c, ch, gmap));
	json_decref(gmap);
	json_object_del(result, "go");
out:
	tli_go_chans_destroy(c);
	tli_go_rt_destroy(rt);
	return err;
}
