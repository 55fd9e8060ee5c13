/* SPDX-License-Identifier: MIT */
/*
 * The channel snapshot as JSON: one channel (the `chan ADDR` object, also
 * what `explain chan` shows) and "blocked_on" per goroutine of the listing.
 * The schema is docs/json-schema.md.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/hash.h"
#include "core/jsonstr.h"

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
			json_object_set_new(e, "value", tli_go_chan_elem_value(c, ch, slot, &ok));
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

/* goid as a key of a u64map (never 0: no goid is INT64_MIN). */
static uint64_t goid_key(int64_t goid)
{
	return (uint64_t)goid ^ (1ull << 63);
}

/* The address string of channel ca, one shared object per channel (*strs: index + 1 by
 * address in *by, the strings in *strs): 100k waiters on a few channels make a few strings. */
static json_t *chan_hex(uint64_t ca, struct tli_u64map *by, json_t ***strs, size_t *nstrs)
{
	uint64_t at = tli_u64map_get(by, ca);
	if (at)
		return json_incref((*strs)[at - 1]);
	json_t *h = tli_go_hex(ca);
	/* room doubles whenever the count reaches a power of two */
	json_t **ns = (*nstrs & (*nstrs - 1)) ? *strs : realloc(*strs, (*nstrs ? *nstrs * 2 : 1) * sizeof(*ns));
	if (!ns)
		return h; /* out of memory: unshared */
	*strs = ns;
	if (!tli_u64map_put(by, ca, *nstrs + 1))
		return h;
	ns[(*nstrs)++] = json_incref(h);
	return h;
}

void tli_go_chans_annot_init(struct tli_go_chans_annot *a, const struct tli_go_chans *c)
{
	*a = (struct tli_go_chans_annot){ .c = c };
	/* goid -> g index + 1 (a later g with the same goid wins, as it always did) */
	for (size_t i = 0; c && i < c->ngs; i++) {
		if (c->gs[i].dead || !c->gs[i].nsudogs || c->gs[i].goid == INT64_MIN)
			continue;
		if (!tli_u64map_put(&a->idx, goid_key(c->gs[i].goid), i + 1))
			break; /* out of memory: tlinspect exits before this (cli/main.c) */
	}
}

void tli_go_chans_annot_one(struct tli_go_chans_annot *a, json_t *g)
{
	const struct tli_go_chans *c = a->c;
	json_t *id = json_object_get(g, "id");
	const char *reason = json_string_value(json_object_get(g, "wait_reason"));
	if (!c || !json_is_integer(id) || !reason)
		return;
	if (!tli_go_reason_chan(reason) && !tli_go_reason_forever(reason))
		return;
	json_int_t goid = json_integer_value(id);
	uint64_t gi = goid == INT64_MIN ? 0 : tli_u64map_get(&a->idx, goid_key(goid));
	json_t *arr = json_array();
	if (gi) {
		const struct tli_go_chan_g *cg = &c->gs[gi - 1];
		for (size_t s = 0; s < cg->nsudogs; s++) {
			uint64_t ca = c->gsudogs[cg->first_sudog + s].c;
			if (ca)
				json_array_append_new(arr, chan_hex(ca, &a->by, &a->strs, &a->nstrs));
		}
		if (cg->problem[0])
			json_object_set_new(g, "blocked_on_problem", json_string(cg->problem));
	}
	json_object_set_new(g, "blocked_on", arr);
}

void tli_go_chans_annot_free(struct tli_go_chans_annot *a)
{
	tli_u64map_free(&a->idx);
	for (size_t k = 0; k < a->nstrs; k++)
		json_decref(a->strs[k]);
	free(a->strs);
	tli_u64map_free(&a->by);
	*a = (struct tli_go_chans_annot){ 0 };
}

void tli_go_chans_annotate(const struct tli_go_chans *c, json_t *result)
{
	struct tli_go_chans_annot a;
	tli_go_chans_annot_init(&a, c);
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(json_object_get(result, "go"), "goroutines"), i, g)
		tli_go_chans_annot_one(&a, g);
	tli_go_chans_annot_free(&a);
}
