/* SPDX-License-Identifier: MIT */
/*
 * `explain chan ADDR`: the channel's runtime.hchan from the channel walker's
 * capture (runtime/chan.go hchan, go1.19 … go1.27), its ring with sendx/recvx,
 * its recvq/sendq sudogs with goroutine ids, and the sudog's layout.
 */
#include "explain_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/jsonstr.h"
#include "core/session.h"
#include "core/target.h"
#include "go/chans.h"
#include "go/goroutines.h"

static void queue_goids(const struct tli_go_sudog *q, size_t n, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && used + 1 < cap; i++) {
		if (q[i].goid >= 0)
			used += (size_t)snprintf(buf + used, cap - used, "%sgoroutine %" PRId64 "%s", i ? ", " : "",
						 q[i].goid, q[i].stale ? " (stale select case)" : "");
		else
			used += (size_t)snprintf(buf + used, cap - used, "%sg 0x%" PRIx64, i ? ", " : "", q[i].g);
	}
}

static void draw_queue(json_t *ex, const char *title, const struct tli_go_sudog *q, size_t n)
{
	json_t *lines = tli_ex_section(ex, title);
	if (!n) {
		tli_ex_linef(lines, "(empty: first = nil)");
		return;
	}
	for (size_t i = 0; i < n; i++)
		tli_ex_linef(lines, "%zu. sudog 0x%" PRIx64 "  g=0x%" PRIx64 " (goroutine %s%" PRId64 ")  elem=0x%" PRIx64
			     "%s%s  next=0x%" PRIx64, i + 1, q[i].addr, q[i].g, q[i].goid >= 0 ? "" : "unknown ",
			     q[i].goid, q[i].elem, q[i].is_select ? "  isSelect" : "",
			     q[i].stale ? "  (stale: its select already fired)" : "", q[i].next);
}

/* The lock is not part of the decoder's capture: read it first (this stops a live target). NULL if unknown. */
static json_t *read_lock(struct tli_session *s, uint64_t addr, uint64_t *lockv)
{
	struct tli_member lm;
	if (!tli_layout_has_member(s->layout, "runtime.hchan", "lock", &lm) || lm.size < 8)
		return NULL;
	if (tli_error_drop(tli_target_read_u64(s->target, addr + lm.offset, lockv)))
		return NULL;
	return tli_ex_hex(*lockv);
}

/* The field table of the hchan (`lj`, the lock's value, is stolen). */
static void hchan_fields(struct tli_layout *l, const struct tli_go_chans *c, const struct tli_go_chan *ch,
			 json_t *lj, uint64_t lockv, json_t *fields)
{
	const char *T = "runtime.hchan";
	char d[512];
	snprintf(d, sizeof(d), "len(ch) = %" PRIu64, ch->qcount);
	tli_ex_field_add(l, T, "qcount", tli_ex_dec(ch->qcount), d, "elements sitting in the ring buffer now", fields);
	if (ch->dataqsiz)
		snprintf(d, sizeof(d), "cap(ch) = %" PRIu64, ch->dataqsiz);
	else
		snprintf(d, sizeof(d), "unbuffered: a send waits for a receiver");
	tli_ex_field_add(l, T, "dataqsiz", tli_ex_dec(ch->dataqsiz), d, "size of the ring (the N of make(chan T, N))",
			 fields);
	snprintf(d, sizeof(d), "%s", !ch->buf ? "nil" : ch->dataqsiz ? "" : "no ring: unused");
	if (ch->buf && ch->dataqsiz && ch->elemsize)
		snprintf(d, sizeof(d), "%" PRIu64 " slots x %" PRIu64 " bytes", ch->dataqsiz, ch->elemsize);
	tli_ex_field_add(l, T, "buf", tli_ex_hex(ch->buf), d,
			 "the ring buffer: dataqsiz slots of elemsize bytes (right after the hchan when allocated "
			 "together)",
			 fields);
	tli_ex_field_add(l, T, "elemsize", tli_ex_dec(ch->elemsize), NULL, "size of one element in bytes", fields);
	tli_ex_field_add(l, T, "closed", tli_ex_dec(ch->closed), ch->closed ? "closed" : "open",
			 "non-zero once close(ch) ran: receives drain the buffer then return the zero value", fields);
	if (c->L.has_timer)
		tli_ex_field_add(l, T, "timer", tli_ex_hex(ch->timer), ch->timer ? "time.Timer/Ticker channel" : "nil",
				 "the timer feeding this channel (channels of time.NewTimer/Ticker)", fields);
	tli_ex_field_add(l, T, "elemtype", tli_ex_hex(ch->elemtype), ch->type_name ? ch->type_name : NULL,
			 "type descriptor of the element type (abi.Type / _type)", fields);
	snprintf(d, sizeof(d), "%s", ch->dataqsiz ? "" : "unused (unbuffered)");
	tli_ex_field_add(l, T, "sendx", tli_ex_dec(ch->sendx), d, "ring index the next send writes to", fields);
	tli_ex_field_add(l, T, "recvx", tli_ex_dec(ch->recvx), d, "ring index the next receive reads from", fields);
	queue_goids(ch->recvq, ch->nrecvq, d, sizeof(d));
	tli_ex_field_add(l, T, "recvq.first", tli_ex_hex(ch->recvq_first), ch->nrecvq ? d : "empty",
			 "waitq of receivers: a linked list of sudogs, one per blocked goroutine", fields);
	queue_goids(ch->sendq, ch->nsendq, d, sizeof(d));
	tli_ex_field_add(l, T, "sendq.first", tli_ex_hex(ch->sendq_first), ch->nsendq ? d : "empty",
			 "waitq of senders (each sudog.elem points to the value being sent)", fields);
	tli_ex_field_add(l, T, "lock", lj, lj ? (lockv ? "held" : "free") : NULL,
			 "runtime.mutex guarding every field; held only during a send/receive/close", fields);
}

/* The ring, drawn slot by slot. */
static void ring_section(json_t *ex, const struct tli_go_chans *c, const struct tli_go_chan *ch)
{
	char ring[1024];
	tli_go_chan_ring(ch, c, ring, sizeof(ring));
	json_object_set_new(ex, "ring", tli_json_string_lossy(ring));
	json_t *lines = tli_ex_section(ex, "ring buffer (slot by slot; _ = empty)");
	if (!ch->dataqsiz) {
		tli_ex_linef(lines, "unbuffered: no ring; values pass directly from sender to receiver");
	} else {
		tli_ex_linef(lines, "%s", ring);
		tli_ex_linef(lines, "live slots are recvx, recvx+1, ... (mod %" PRIu64 "), qcount=%" PRIu64 " of them;"
			     " a send writes at sendx", ch->dataqsiz, ch->qcount);
		if (ch->qcount == ch->dataqsiz)
			tli_ex_linef(lines, "full: sendx == recvx and the next sender blocks (joins sendq)");
		else if (ch->qcount == 0)
			tli_ex_linef(lines, "empty: sendx == recvx and the next receiver blocks (joins recvq)");
	}
}

/* The wait queues: as in `chan ADDR`, and drawn. */
static void queue_sections(json_t *ex, const struct tli_go_chans *c, const struct tli_go_chan *ch)
{
	json_t *cj = tli_go_chan_json(c, ch, NULL);
	json_object_set(ex, "recvq", json_object_get(cj, "recvq"));
	json_object_set(ex, "sendq", json_object_get(cj, "sendq"));
	json_object_set(ex, "buffer", json_object_get(cj, "buffer"));
	json_decref(cj);
	draw_queue(ex, "recvq: goroutines blocked receiving (FIFO, first is woken first)", ch->recvq, ch->nrecvq);
	draw_queue(ex, "sendq: goroutines blocked sending", ch->sendq, ch->nsendq);
}

/* runtime.sudog's members, in memory order. */
static void sudog_section(struct tli_layout *l, json_t *ex)
{
	json_t *lines = tli_ex_section(ex, "runtime.sudog (one per blocked goroutine per channel)");
	struct { const char *p, *m; } sf[] = {
		{ "g", "the waiting goroutine" }, { "next", "next sudog in this queue" },
		{ "elem", "where the value is copied from (send) or to (receive)" },
		{ "isSelect", "part of a select: the first case to fire wins" },
		{ "c", "the channel" }, { "waitlink", "next sudog of the same goroutine (g.waiting list)" },
	};
	uint64_t soff[6];
	bool sok[6];
	for (size_t i = 0; i < 6; i++) {
		struct tli_member m = { 0 };
		sok[i] = tli_layout_has_member(l, "runtime.sudog", sf[i].p, &m);
		soff[i] = m.offset;
	}
	for (size_t n = 0; n < 6; n++) { /* in memory order */
		size_t best = 6;
		for (size_t i = 0; i < 6; i++)
			if (sok[i] && (best == 6 || soff[i] < soff[best]))
				best = i;
		if (best == 6)
			break;
		tli_ex_linef(lines, "+0x%-4" PRIx64 " %-9s %s", soff[best], sf[best].p, sf[best].m);
		sok[best] = false;
	}
}

struct tli_error *tli_explain_chan(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t addr;
	struct tli_error *err = tli_ex_parse_addr("chan", arg, &addr);
	if (err)
		return err;
	uint64_t lockv = 0;
	json_t *lj = read_lock(s, addr, &lockv);
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	/* strings redacted as `chan` does (one redaction policy, issue 15) */
	struct tli_go_chans_opts co = { .values = false, .queues = true, .buffers = true };
	if ((err = tli_go_chans_run(s, &addr, 1, &co, &rt, &c))) {
		json_decref(lj);
		return err;
	}
	const struct tli_go_chan *ch = tli_go_chans_find(c, addr);
	if (!ch || !ch->header_ok) {
		err = tli_error_fault(addr, "explain chan: channel 0x%" PRIx64 ": %s", addr,
				      ch && ch->problem[0] ? ch->problem : "not readable");
		json_decref(lj);
		goto out;
	}
	if ((err = tli_go_chan_check_made(s, rt, &c->L, ch))) {
		tli_error_wrap(err, "explain chan");
		json_decref(lj);
		goto out;
	}
	struct tli_layout *l = s->layout;
	char title[160];
	snprintf(title, sizeof(title), "channel 0x%" PRIx64 ": its runtime.hchan (what `make(chan T, N)` allocates)",
		 addr);
	json_object_set_new(ex, "title", json_string(title));
	struct tli_member m0;
	(void)tli_layout_has_member(l, "runtime.hchan", "qcount", &m0); /* sets the source label */
	tli_ex_header(l, ex, "runtime.hchan", addr, c->L.hchan_size);
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	hchan_fields(l, c, ch, lj, lockv, fields);
	ring_section(ex, c, ch);
	queue_sections(ex, c, ch);
	sudog_section(l, ex);
	if (ch->q_problem[0])
		tli_ex_note(ex, ch->q_problem);
	tli_ex_note(ex, "A goroutine blocked on this channel has g.waiting -> its sudog, and sudog.c == this hchan.");
	tli_ex_note(ex, "close(ch) wakes every receiver (zero value) and makes every blocked sender panic.");
	tli_ex_note(ex, "If no goroutine that can still run holds this channel, those in its queues can never wake: "
		 "a goroutine leak (see `leaks`).");
out:
	tli_go_chans_destroy(c);
	tli_go_rt_destroy(rt);
	return err;
}
