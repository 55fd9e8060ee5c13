/* SPDX-License-Identifier: MIT */
/*
 * Channel wait queues: hchan.recvq and hchan.sendq are lists of sudogs linked
 * through sudog.next, one per blocked goroutine (runtime/chan.go waitq,
 * enqueue/dequeue, go1.19 … go1.27). Every list is walked in rounds, one
 * vectored read per round for all channels; a sudog already read from its
 * goroutine's waiting chain is not read again. Every list is bounded and
 * cycle-checked.
 */
#include "chans_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "core/hash.h"

/* Where one queue's walk stands. */
struct qcursor {
	size_t ci;
	int q;          /* 0 recvq, 1 sendq */
	uint64_t ptr;
	size_t count;
};

struct qwalk {
	struct qcursor *cur;
	size_t ncur;
	struct tli_read *rs;
	uint8_t *buf;
	struct tli_u64set seen;
	struct tli_u64map known;   /* sudogs already read from waiting chains: addr -> index+1 */
	size_t bound;              /* sudogs per queue at most */
};

static const char *qname(int q)
{
	return q ? "sendq" : "recvq";
}

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

/* A sudog found in a queue of ch: listed, counted if live, reported if it names another channel. */
static struct tli_error *add_waiter(struct tli_go_chans *c, struct tli_go_chan *ch, int q,
				    const struct tli_go_sudog *s)
{
	if (s->c != ch->addr && !s->stale)
		tli_go_chans_warn(c, "sudog 0x%" PRIx64 " in the %s of channel 0x%" PRIx64 " names channel 0x%" PRIx64,
				  s->addr, qname(q), ch->addr, s->c);
	struct tli_error *err = add_q(ch, q, s);
	if (!err && !s->stale)
		ch->waiters++;
	return err;
}

/* The first sudog of every queue, and the sudogs already known. */
static struct tli_error *queue_heads(struct tli_go_chans *c, struct qwalk *qw)
{
	for (size_t i = 0; i < c->ngsudogs; i++)
		if (!tli_u64map_put(&qw->known, c->gsudogs[i].addr, i + 1))
			return &tli_enomem;
	for (size_t i = 0; i < c->nchans; i++) {
		struct tli_go_chan *ch = &c->chans[i];
		if (!ch->header_ok)
			continue;
		if (ch->recvq_first)
			qw->cur[qw->ncur++] = (struct qcursor){ .ci = i, .q = 0, .ptr = ch->recvq_first };
		if (ch->sendq_first)
			qw->cur[qw->ncur++] = (struct qcursor){ .ci = i, .q = 1, .ptr = ch->sendq_first };
	}
	return NULL;
}

/*
 * Advance every queue through the sudogs already known (no read) and queue
 * the reads of the others (*nr; cur[0..nr) are their cursors).
 */
static struct tli_error *round_plan(struct tli_go_snapctx *x, struct qwalk *qw, size_t *nr)
{
	struct tli_go_chans *c = x->c;
	uint32_t sz = c->L.sudog_size;
	struct tli_error *err;
	*nr = 0;
	for (size_t k = 0; k < qw->ncur; k++) {
		struct qcursor *qc = &qw->cur[k];
		struct tli_go_chan *ch = &c->chans[qc->ci];
		if (qc->count >= qw->bound) {
			snprintf(ch->q_problem, sizeof(ch->q_problem), "%s longer than %zu sudogs: truncated",
				 qname(qc->q), qw->bound);
			continue;
		}
		if (!tli_u64set_add(&qw->seen, qc->ptr)) {
			if (!tli_u64set_has(&qw->seen, qc->ptr))
				return &tli_enomem;
			snprintf(ch->q_problem, sizeof(ch->q_problem), "%s revisits sudog 0x%" PRIx64
				 " (cycle or shared sudog): stopped", qname(qc->q), qc->ptr);
			continue;
		}
		uint64_t kn = tli_u64map_get(&qw->known, qc->ptr);
		if (kn) {
			/* already captured from its goroutine's waiting chain: no read */
			struct tli_go_sudog s = c->gsudogs[kn - 1];
			if ((err = add_waiter(c, ch, qc->q, &s)))
				return err;
			if (s.next) {
				qc->ptr = s.next;
				qc->count++;
				k--; /* walk it again in this same pass */
			}
			continue;
		}
		if (!tli_go_chans_ptr_ok(x->t, qc->ptr, sz)) {
			snprintf(ch->q_problem, sizeof(ch->q_problem), "%s sudog 0x%" PRIx64 " is not in mapped memory",
				 qname(qc->q), qc->ptr);
			continue;
		}
		qw->cur[*nr] = *qc;
		qw->rs[*nr] = (struct tli_read){ .addr = qc->ptr, .buf = qw->buf + *nr * sz, .len = sz };
		(*nr)++;
	}
	return NULL;
}

/* Decode the nr sudogs read; the queues that go on are the next round. */
static struct tli_error *round_take(struct tli_go_snapctx *x, struct qwalk *qw, size_t nr)
{
	struct tli_go_chans *c = x->c;
	size_t next = 0;
	for (size_t k = 0; k < nr; k++) {
		struct qcursor qc = qw->cur[k];
		struct tli_go_chan *ch = &c->chans[qc.ci];
		if (qw->rs[k].got < qw->rs[k].len) {
			snprintf(ch->q_problem, sizeof(ch->q_problem), "%s sudog 0x%" PRIx64 " is unreadable",
				 qname(qc.q), qc.ptr);
			continue;
		}
		const uint8_t *raw = qw->rs[k].buf;
		struct tli_go_sudog s;
		tli_go_sudog_decode(x, qc.ptr, raw, &s);
		struct tli_error *err = add_waiter(c, ch, qc.q, &s);
		if (err)
			return err;
		uint64_t nx = tli_rd64(raw + c->L.s_next);
		if (nx) {
			qc.ptr = nx;
			qc.count++;
			qw->cur[next++] = qc;
		}
	}
	qw->ncur = next;
	return NULL;
}

struct tli_error *tli_go_capture_queues(struct tli_go_snapctx *x)
{
	struct tli_go_chans *c = x->c;
	size_t n = c->nchans * 2 + 1;
	struct qwalk qw = {
		.cur = calloc(n, sizeof(struct qcursor)), .rs = calloc(n, sizeof(struct tli_read)),
		.buf = malloc(n * (size_t)c->L.sudog_size), .bound = c->ngs * 4 + 64,
	};
	struct tli_error *err = qw.cur && qw.rs && qw.buf ? queue_heads(c, &qw) : &tli_enomem;
	while (!err && qw.ncur) {
		size_t nr = 0;
		if ((err = round_plan(x, &qw, &nr)) || !nr)
			break;
		if (!(err = tli_pagecache_read_many(&x->pages, x->t, qw.rs, nr)))
			err = round_take(x, &qw, nr);
	}
	tli_u64set_free(&qw.seen);
	tli_u64map_free(&qw.known);
	free(qw.cur);
	free(qw.rs);
	free(qw.buf);
	return err;
}
