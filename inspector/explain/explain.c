/* SPDX-License-Identifier: MIT */
/* Teaching mode: a runtime structure drawn field by field (see explain.h). */
#include "explain.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/session.h"
#include "core/target.h"
#include "glibc/heap_cmd.h"
#include "go/chans.h"
#include "go/gfacts.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/pclntab.h"
#include "render/render.h"

struct field_doc {
	const char *path;      /* member path in the layout resolver */
	const char *meaning;
	char kind;             /* 'p' code address (symbolize), 'a' data pointer, 's' g status, 'n' number */
};

/* runtime.g: the fields a student meets first. Missing ones (older/newer Go) are skipped. */
static const struct field_doc g_fields[] = {
	{ "stack.lo", "lowest address of this goroutine's stack (stacks grow down towards it)", 'a' },
	{ "stack.hi", "one past the highest stack address: the stack is [lo, hi)", 'a' },
	{ "stackguard0", "compared with SP in every function prologue; stackPreempt here asks the goroutine to yield", 'a' },
	{ "_panic", "innermost active panic (nil if not panicking)", 'a' },
	{ "_defer", "innermost deferred call still to run", 'a' },
	{ "m", "the OS thread (runtime.m) running this goroutine; nil while it is parked", 'a' },
	{ "sched.sp", "gobuf: saved stack pointer, where the goroutine resumes (valid while not running)", 'a' },
	{ "sched.pc", "gobuf: saved program counter: the code that runs when it is scheduled again", 'p' },
	{ "sched.g", "gobuf: back pointer to this g", 'a' },
	{ "sched.ret", "gobuf: saved return value register", 'n' },
	{ "sched.lr", "gobuf: link register (0 on amd64)", 'n' },
	{ "sched.bp", "gobuf: saved frame pointer (for frame-pointer unwinding)", 'a' },
	{ "syscallsp", "SP at syscall entry (while in _Gsyscall)", 'a' },
	{ "syscallpc", "PC at syscall entry (while in _Gsyscall)", 'p' },
	{ "param", "value passed by whoever wakes the goroutine (e.g. the sudog of a channel operation)", 'a' },
	{ "atomicstatus", "scheduling state: _Grunnable, _Grunning, _Gsyscall, _Gwaiting, _Gdead, ...", 's' },
	{ "goid", "the goroutine id printed in tracebacks (\"goroutine 18\")", 'n' },
	{ "schedlink", "next g in a run queue or free list", 'a' },
	{ "waitsince", "approximate nanotime() when it started blocking (stamped by the GC)", 'n' },
	{ "waitreason", "why it waits (index into runtime.waitReasonStrings: \"chan receive\", ...)", 'n' },
	{ "preempt", "preemption requested", 'n' },
	{ "lockedm", "thread this goroutine is locked to (runtime.LockOSThread), or nil", 'a' },
	{ "waiting", "sudogs of the channel operations it is blocked in (for select, several)", 'a' },
	{ "parentGoid", "id of the goroutine that started this one (Go 1.21+)", 'n' },
	{ "gopc", "PC of the `go` statement that created it (\"created by\")", 'p' },
	{ "startpc", "PC of the function the goroutine started in", 'p' },
	{ NULL, NULL, 0 },
};

static void decoded_for(struct tli_session *s, char kind, uint64_t v, char *buf, size_t cap)
{
	buf[0] = 0;
	if (kind == 's') {
		/* the constants' names, values from the layout as the goroutine walker reads them */
		struct tli_go_gstatus st;
		if (!tli_error_drop(tli_go_gstatus_resolve(s->layout, &st)))
			tli_go_gstatus_name(s->layout, &st, v, buf, cap);
	} else if (kind == 'p' && v) {
		struct tli_gobin *b = NULL;
		struct tli_error *err = tli_session_gobin(s, &b);
		if (err) {
			tli_error_destroy(err);
			return;
		}
		const struct tli_pclntab *t = tli_gobin_pclntab(b);
		struct tli_gofunc f;
		if (t && !(err = tli_pclntab_find(t, v - s->exe_bias, &f)))
			snprintf(buf, cap, "%s+0x%" PRIx64, f.name, v - s->exe_bias - f.entry);
		tli_error_destroy(err);
	} else if (kind == 'a' && v == 0) {
		snprintf(buf, cap, "nil");
	}
}

static struct tli_error *parse_u64(const char *s, int base, uint64_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, base);
	if (!s || !*s || *e || errno || v == 0)
		return tli_error_create(TLI_E_USAGE, "explain: invalid number '%s'", s ? s : "");
	*ret = v;
	return NULL;
}

/* Draw `type` at `addr` with the field table. */
static struct tli_error *draw(struct tli_session *s, const char *type, uint64_t addr, const struct field_doc *fd,
			      json_t *ex)
{
	struct tli_layout *l = s->layout;
	uint64_t size = 0;
	struct tli_error *err = tli_layout_type_size(l, type, &size);
	if (err)
		return err;
	json_object_set_new(ex, "type", json_string(type));
	char buf[64];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
	json_object_set_new(ex, "address", json_string(buf));
	json_object_set_new(ex, "size", json_integer((json_int_t)size));
	const char *src = tli_layout_last_source_label(l);
	json_object_set_new(ex, "layout_source", src ? json_string(src) : json_null());
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	for (; fd->path; fd++) {
		struct tli_member m;
		if (!tli_layout_has_member(l, type, fd->path, &m))
			continue;
		json_t *f = json_object();
		json_object_set_new(f, "name", json_string(fd->path));
		json_object_set_new(f, "offset", json_integer((json_int_t)m.offset));
		json_object_set_new(f, "size", json_integer((json_int_t)m.size));
		uint64_t v = 0;
		if (m.size == 1 || m.size == 2 || m.size == 4 || m.size == 8) {
			uint8_t raw[8] = { 0 };
			struct tli_error *re = tli_target_read(s->target, addr + m.offset, raw, (size_t)m.size);
			if (re) {
				json_object_set_new(f, "value", json_null());
				json_object_set_new(f, "decoded", tli_json_string_lossy(re->msg));
				tli_error_destroy(re);
			} else {
				for (int i = (int)m.size - 1; i >= 0; i--)
					v = v << 8 | raw[i];
				snprintf(buf, sizeof(buf), fd->kind == 'n' || fd->kind == 's' ? "%" PRIu64 : "0x%" PRIx64, v);
				json_object_set_new(f, "value", json_string(buf));
				char dec[256];
				decoded_for(s, fd->kind, v, dec, sizeof(dec));
				json_object_set_new(f, "decoded", dec[0] ? json_string(dec) : json_null());
			}
		} else {
			json_object_set_new(f, "value", json_null());
			json_object_set_new(f, "decoded", json_null());
		}
		json_object_set_new(f, "meaning", json_string(fd->meaning));
		/* memory order: insert before the first field with a larger offset */
		size_t at = json_array_size(fields);
		for (size_t k = 0; k < json_array_size(fields); k++)
			if ((uint64_t)json_integer_value(json_object_get(json_array_get(fields, k), "offset")) > m.offset) {
				at = k;
				break;
			}
		json_array_insert_new(fields, at, f);
	}
	return NULL;
}

static struct tli_error *explain_g(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t id;
	struct tli_error *err = parse_u64(arg, 10, &id);
	if (err)
		return err;
	json_t *tmp = json_object();
	struct tli_go_opts o = { .system = true, .only_id = (int64_t)id };
	err = tli_go_goroutines(s, &o, tmp);
	if (err) {
		json_decref(tmp);
		return err;
	}
	json_t *list = json_object_get(json_object_get(tmp, "go"), "goroutines");
	const char *gaddr = NULL;
	char status[64] = "", reason[128] = "";
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *gid = json_object_get(g, "id");
		if (json_is_integer(gid) && (uint64_t)json_integer_value(gid) == id) {
			gaddr = json_string_value(json_object_get(g, "address"));
			/* the runtime's own names (its gStatusStrings / waitReasonStrings) */
			const char *st = json_string_value(json_object_get(g, "status"));
			const char *wr = json_string_value(json_object_get(g, "wait_reason"));
			snprintf(status, sizeof(status), "%s", st ? st : "");
			snprintf(reason, sizeof(reason), "%s", wr ? wr : "");
		}
	}
	uint64_t addr = 0;
	if (!gaddr || (err = parse_u64(gaddr, 16, &addr))) {
		json_decref(tmp);
		tli_error_destroy(err);
		return tli_error_create(TLI_E_NO_TARGET, "no goroutine %" PRIu64 " in the target", id);
	}
	json_decref(tmp);
	/* The walker resumed a live target after copying what it needed: stop it again to read the g. */
	struct tli_session *rs = s;
	if (s->target && s->target->kind == TLI_TARGET_LIVE && s->target->released) {
		struct tli_session_opts so = s->opts;
		so.no_stop = s->target->no_stop;
		if ((err = tli_session_open(&so, &rs)))
			return err;
	}
	char title[128];
	snprintf(title, sizeof(title), "goroutine %" PRIu64 ": its runtime.g (the goroutine descriptor)", id);
	json_object_set_new(ex, "title", json_string(title));
	err = draw(rs, "runtime.g", addr, g_fields, ex);
	/* decode status and wait reason with the target's own strings */
	json_array_foreach(json_object_get(ex, "fields"), i, g) {
		const char *n = json_string_value(json_object_get(g, "name"));
		if (n && !strcmp(n, "waitreason") && reason[0])
			json_object_set_new(g, "decoded", json_string(reason));
		else if (n && !strcmp(n, "atomicstatus") && status[0] &&
			 !json_is_string(json_object_get(g, "decoded")))
			json_object_set_new(g, "decoded", json_string(status));
	}
	if (rs != s) {
		if (rs->target && !rs->target->released)
			tli_target_release(rs->target);
		tli_session_destroy(rs);
	}
	json_t *notes = json_array();
	json_array_append_new(notes, json_string(
		"allgs (runtime.allgs) holds a pointer to every g ever created; dead ones are reused."));
	json_array_append_new(notes, json_string(
		"A parked goroutine's registers live in g.sched (the gobuf): unwinding starts at sched.pc/sched.sp."));
	json_array_append_new(notes, json_string(
		"While it runs, g.m->curg == g and the live registers are in the thread, not in sched."));
	json_object_set_new(ex, "notes", notes);
	return err;
}

/* ---- shared helpers for the drawn structures ---- */

static json_t *hexs(uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_string(b);
}

static json_t *decs(uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

/* Insert a field object in memory order (before the first larger offset). */
static void field_insert(json_t *fields, json_t *f)
{
	uint64_t off = (uint64_t)json_integer_value(json_object_get(f, "offset"));
	size_t at = json_array_size(fields);
	for (size_t k = 0; k < json_array_size(fields); k++)
		if ((uint64_t)json_integer_value(json_object_get(json_array_get(fields, k), "offset")) > off) {
			at = k;
			break;
		}
	json_array_insert_new(fields, at, f);
}

/* One field whose offset/size come from the layout resolver; `value` and `decoded` are stolen. */
static void field_add(struct tli_layout *l, const char *type, const char *path, json_t *value, const char *decoded,
		      const char *meaning, json_t *fields)
{
	struct tli_member m;
	if (!tli_layout_has_member(l, type, path, &m)) {
		json_decref(value);
		return;
	}
	json_t *f = json_object();
	json_object_set_new(f, "name", json_string(path));
	json_object_set_new(f, "offset", json_integer((json_int_t)m.offset));
	json_object_set_new(f, "size", json_integer((json_int_t)m.size));
	json_object_set_new(f, "value", value ? value : json_null());
	json_object_set_new(f, "decoded", decoded && *decoded ? tli_json_string_lossy(decoded) : json_null());
	json_object_set_new(f, "meaning", json_string(meaning));
	field_insert(fields, f);
}

static void header(struct tli_layout *l, json_t *ex, const char *type, uint64_t addr, uint64_t size)
{
	json_object_set_new(ex, "type", json_string(type));
	json_object_set_new(ex, "address", hexs(addr));
	json_object_set_new(ex, "size", json_integer((json_int_t)size));
	const char *src = tli_layout_last_source_label(l);
	json_object_set_new(ex, "layout_source", src ? json_string(src) : json_null());
}

/* A titled block of text lines after the field table. */
static json_t *section(json_t *ex, const char *title)
{
	json_t *secs = json_object_get(ex, "sections");
	if (!secs) {
		secs = json_array();
		json_object_set_new(ex, "sections", secs);
	}
	json_t *sec = json_object();
	json_object_set_new(sec, "title", json_string(title));
	json_t *lines = json_array();
	json_object_set_new(sec, "lines", lines);
	json_array_append_new(secs, sec);
	return lines;
}

static void linef(json_t *lines, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void linef(json_t *lines, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(lines, tli_json_string_lossy(buf));
}

static void note(json_t *ex, const char *text)
{
	json_t *n = json_object_get(ex, "notes");
	if (!n) {
		n = json_array();
		json_object_set_new(ex, "notes", n);
	}
	json_array_append_new(n, json_string(text));
}

static struct tli_error *parse_addr(const char *what, const char *s, uint64_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &e, 0) : 0;
	if (!s || !*s || *e || errno || v == 0)
		return tli_error_create(TLI_E_USAGE, "explain %s: invalid address '%s' (hex 0x... or decimal)", what,
					s ? s : "");
	*ret = v;
	return NULL;
}

/* ---- explain chan ---- */

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
	json_t *lines = section(ex, title);
	if (!n) {
		linef(lines, "(empty: first = nil)");
		return;
	}
	for (size_t i = 0; i < n; i++)
		linef(lines, "%zu. sudog 0x%" PRIx64 "  g=0x%" PRIx64 " (goroutine %s%" PRId64 ")  elem=0x%" PRIx64
		      "%s%s  next=0x%" PRIx64, i + 1, q[i].addr, q[i].g, q[i].goid >= 0 ? "" : "unknown ",
		      q[i].goid, q[i].elem, q[i].is_select ? "  isSelect" : "",
		      q[i].stale ? "  (stale: its select already fired)" : "", q[i].next);
}

static struct tli_error *explain_chan(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t addr;
	struct tli_error *err = parse_addr("chan", arg, &addr);
	if (err)
		return err;
	/* The lock is not part of the decoder's capture: read it first (this stops a live target). */
	uint64_t lockv = 0;
	struct tli_member lm;
	json_t *lj = NULL;
	if (tli_layout_has_member(s->layout, "runtime.hchan", "lock", &lm) && lm.size >= 8) {
		struct tli_error *re = tli_target_read_u64(s->target, addr + lm.offset, &lockv);
		if (re)
			tli_error_destroy(re);
		else
			lj = hexs(lockv);
	}
	struct tli_go_rt *rt = NULL;
	struct tli_go_chans *c = NULL;
	struct tli_go_chans_opts co = { .values = true, .queues = true, .buffers = true };
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
	struct tli_layout *l = s->layout;
	char title[160], d[512];
	snprintf(title, sizeof(title), "channel 0x%" PRIx64 ": its runtime.hchan (what `make(chan T, N)` allocates)",
		 addr);
	json_object_set_new(ex, "title", json_string(title));
	struct tli_member m0;
	(void)tli_layout_has_member(l, "runtime.hchan", "qcount", &m0); /* sets the source label */
	header(l, ex, "runtime.hchan", addr, c->L.hchan_size);
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	const char *T = "runtime.hchan";

	snprintf(d, sizeof(d), "len(ch) = %" PRIu64, ch->qcount);
	field_add(l, T, "qcount", decs(ch->qcount), d, "elements sitting in the ring buffer now", fields);
	if (ch->dataqsiz)
		snprintf(d, sizeof(d), "cap(ch) = %" PRIu64, ch->dataqsiz);
	else
		snprintf(d, sizeof(d), "unbuffered: a send waits for a receiver");
	field_add(l, T, "dataqsiz", decs(ch->dataqsiz), d, "size of the ring (the N of make(chan T, N))", fields);
	snprintf(d, sizeof(d), "%s", !ch->buf ? "nil" : ch->dataqsiz ? "" : "no ring: unused");
	if (ch->buf && ch->dataqsiz && ch->elemsize)
		snprintf(d, sizeof(d), "%" PRIu64 " slots x %" PRIu64 " bytes", ch->dataqsiz, ch->elemsize);
	field_add(l, T, "buf", hexs(ch->buf), d,
		  "the ring buffer: dataqsiz slots of elemsize bytes (right after the hchan when allocated together)",
		  fields);
	field_add(l, T, "elemsize", decs(ch->elemsize), NULL, "size of one element in bytes", fields);
	field_add(l, T, "closed", decs(ch->closed), ch->closed ? "closed" : "open",
		  "non-zero once close(ch) ran: receives drain the buffer then return the zero value", fields);
	if (c->L.has_timer)
		field_add(l, T, "timer", hexs(ch->timer), ch->timer ? "time.Timer/Ticker channel" : "nil",
			  "the timer feeding this channel (channels of time.NewTimer/Ticker)", fields);
	field_add(l, T, "elemtype", hexs(ch->elemtype), ch->type_name ? ch->type_name : NULL,
		  "type descriptor of the element type (abi.Type / _type)", fields);
	snprintf(d, sizeof(d), "%s", ch->dataqsiz ? "" : "unused (unbuffered)");
	field_add(l, T, "sendx", decs(ch->sendx), d, "ring index the next send writes to", fields);
	field_add(l, T, "recvx", decs(ch->recvx), d, "ring index the next receive reads from", fields);
	queue_goids(ch->recvq, ch->nrecvq, d, sizeof(d));
	field_add(l, T, "recvq.first", hexs(ch->recvq_first), ch->nrecvq ? d : "empty",
		  "waitq of receivers: a linked list of sudogs, one per blocked goroutine", fields);
	queue_goids(ch->sendq, ch->nsendq, d, sizeof(d));
	field_add(l, T, "sendq.first", hexs(ch->sendq_first), ch->nsendq ? d : "empty",
		  "waitq of senders (each sudog.elem points to the value being sent)", fields);
	field_add(l, T, "lock", lj, lj ? (lockv ? "held" : "free") : NULL,
		  "runtime.mutex guarding every field; held only during a send/receive/close", fields);

	char ring[1024];
	tli_go_chan_ring(ch, c, ring, sizeof(ring));
	json_object_set_new(ex, "ring", tli_json_string_lossy(ring));
	json_t *lines = section(ex, "ring buffer (slot by slot; _ = empty)");
	if (!ch->dataqsiz) {
		linef(lines, "unbuffered: no ring; values pass directly from sender to receiver");
	} else {
		linef(lines, "%s", ring);
		linef(lines, "live slots are recvx, recvx+1, ... (mod %" PRIu64 "), qcount=%" PRIu64 " of them;"
		      " a send writes at sendx", ch->dataqsiz, ch->qcount);
		if (ch->qcount == ch->dataqsiz)
			linef(lines, "full: sendx == recvx and the next sender blocks (joins sendq)");
		else if (ch->qcount == 0)
			linef(lines, "empty: sendx == recvx and the next receiver blocks (joins recvq)");
	}
	json_t *cj = tli_go_chan_json(c, ch, NULL);
	json_object_set(ex, "recvq", json_object_get(cj, "recvq"));
	json_object_set(ex, "sendq", json_object_get(cj, "sendq"));
	json_object_set(ex, "buffer", json_object_get(cj, "buffer"));
	json_decref(cj);
	draw_queue(ex, "recvq: goroutines blocked receiving (FIFO, first is woken first)", ch->recvq, ch->nrecvq);
	draw_queue(ex, "sendq: goroutines blocked sending", ch->sendq, ch->nsendq);
	lines = section(ex, "runtime.sudog (one per blocked goroutine per channel)");
	struct { const char *p, *m; } sf[] = {
		{ "g", "the waiting goroutine" }, { "next", "next sudog in this queue" },
		{ "elem", "where the value is copied from (send) or to (receive)" },
		{ "isSelect", "part of a select: the first case to fire wins" },
		{ "c", "the channel" }, { "waitlink", "next sudog of the same goroutine (g.waiting list)" },
	};
	uint64_t soff[6];
	bool sok[6];
	for (size_t i = 0; i < 6; i++) {
		struct tli_member m;
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
		linef(lines, "+0x%-4" PRIx64 " %-9s %s", soff[best], sf[best].p, sf[best].m);
		sok[best] = false;
	}
	if (ch->q_problem[0])
		note(ex, ch->q_problem);
	note(ex, "A goroutine blocked on this channel has g.waiting -> its sudog, and sudog.c == this hchan.");
	note(ex, "close(ch) wakes every receiver (zero value) and makes every blocked sender panic.");
	note(ex, "If no goroutine that can still run holds this channel, those in its queues can never wake: "
		 "a goroutine leak (see `leaks`).");
out:
	tli_go_chans_destroy(c);
	tli_go_rt_destroy(rt);
	return err;
}

/* ---- explain chunk / arena (glibc malloc) ---- */

/* Read len bytes at addr from the walked heap copy, else from the target (capture). */
static bool gl_read(struct tli_session *s, const struct tli_gl_heap *h, uint64_t addr, void *buf, size_t len)
{
	size_t ai;
	const struct tli_gl_seg *sg = tli_gl_find_seg(h, addr, &ai);
	if (sg && sg->buf && addr >= sg->start && addr + len <= sg->end && addr + len > addr) {
		memcpy(buf, sg->buf + (addr - sg->start), len);
		return true;
	}
	struct tli_error *e = tli_target_read(s->target, addr, buf, len);
	if (e) {
		tli_error_destroy(e);
		return false;
	}
	return true;
}

static bool gl_u64(struct tli_session *s, const struct tli_gl_heap *h, uint64_t addr, uint64_t *ret)
{
	uint8_t b[8];
	if (!gl_read(s, h, addr, b, 8))
		return false;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	*ret = v;
	return true;
}

static const char *bin_kind(uint32_t b, uint32_t nbins)
{
	return b == 1 ? "unsorted" : b < nbins / 2 ? "small" : "large";
}

static void chunk_line(json_t *lines, const char *what, const struct tli_gl_chunk *k)
{
	linef(lines, "%-9s chunk 0x%" PRIx64 "  size 0x%" PRIx64 "  %s%s", what, k->addr, k->size,
	      tli_gl_kind_names[k->kind], k->kind == GLK_INUSE ? " (the program's)" : "");
}

static struct tli_error *explain_chunk(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t addr;
	struct tli_error *err = parse_addr("chunk", arg, &addr);
	if (err)
		return err;
	struct tli_gl_ctx *c = NULL;
	struct tli_gl_heap *h = NULL;
	struct tli_glibc_opts o = { 0 };
	if ((err = tli_gl_run(s, &o, NULL, 0, &c, &h)))
		return err;
	const struct tli_gl_chunk *k = tli_gl_find_chunk(h, addr);
	if (!k) {
		err = tli_error_create(TLI_E_NO_TARGET, "explain chunk: 0x%" PRIx64
				       " is not inside any chunk of the glibc heaps", addr);
		goto out;
	}
	const struct tli_gl_layout *L = &c->L;
	struct tli_layout *l = c->layout;
	const char *T = "malloc_chunk";
	uint64_t tsize = 0;
	if ((err = tli_layout_type_size(l, T, &tsize)))
		goto out;
	char title[200], d[256];
	if (addr == k->addr + 16)
		snprintf(title, sizeof(title), "the malloc chunk of user pointer 0x%" PRIx64 " (chunk = pointer - 16): "
			 "its struct malloc_chunk header", addr);
	else
		snprintf(title, sizeof(title), "the malloc chunk containing 0x%" PRIx64 " (%" PRIu64 " bytes into the "
			 "chunk; user pointer 0x%" PRIx64 "): its struct malloc_chunk header", addr, addr - k->addr,
			 k->addr + 16);
	json_object_set_new(ex, "title", json_string(title));
	header(l, ex, T, k->addr, tsize);
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	json_object_set_new(ex, "state", json_string(tli_gl_kind_names[k->kind]));
	json_object_set_new(ex, "chunk_size", json_integer((json_int_t)k->size));
	json_object_set_new(ex, "user", hexs(k->addr + 16));
	json_object_set_new(ex, "arena", k->arena == 0xffff ? json_null() : json_integer(k->arena));

	uint64_t prev_size = 0, raw = 0, fd = 0, bk = 0, fdn = 0, bkn = 0;
	bool ok_ps = gl_u64(s, h, k->addr + L->mc_prev_size, &prev_size);
	bool ok_sz = gl_u64(s, h, k->addr + L->mc_size, &raw);
	bool ok_fd = gl_u64(s, h, k->addr + L->mc_fd, &fd);
	bool ok_bk = gl_u64(s, h, k->addr + L->mc_bk, &bk);
	struct tli_member mfn, mbn;
	bool has_n = tli_layout_has_member(l, T, "fd_nextsize", &mfn) && tli_layout_has_member(l, T, "bk_nextsize", &mbn);
	bool ok_n = has_n && gl_u64(s, h, k->addr + mfn.offset, &fdn) && gl_u64(s, h, k->addr + mbn.offset, &bkn);

	if (raw & TLI_GL_IS_MMAPPED)
		snprintf(d, sizeof(d), "mmapped: padding before the chunk in its mapping");
	else if (raw & TLI_GL_PREV_INUSE)
		snprintf(d, sizeof(d), "unused: P is set");
	else
		snprintf(d, sizeof(d), "prev chunk free at 0x%" PRIx64, k->addr - prev_size);
	field_add(l, T, "mchunk_prev_size", ok_ps ? hexs(prev_size) : NULL, ok_ps ? d : NULL,
		  "size of the previous chunk, valid only while that chunk is free", fields);
	snprintf(d, sizeof(d), "0x%" PRIx64 "%s%s%s", raw & ~(uint64_t)TLI_GL_FLAGS,
		 raw & TLI_GL_PREV_INUSE ? " | P" : "", raw & TLI_GL_IS_MMAPPED ? " | M" : "",
		 raw & TLI_GL_NON_MAIN ? " | A" : "");
	field_add(l, T, "mchunk_size", ok_sz ? hexs(raw) : NULL, ok_sz ? d : NULL,
		  "chunk size (multiple of 16) | flags P=PREV_INUSE (previous chunk in use), M=IS_MMAPPED, A=NON_MAIN_ARENA",
		  fields);
	const char *fdm, *bkm;
	char fdd[160] = "", bkd[160] = "";
	switch (k->kind) {
	case GLK_TCACHE:
		fdm = "tcache_entry.next: next free chunk of the same size in this thread's tcache";
		bkm = "tcache_entry.key: marks the chunk as in a tcache (free() checks it to catch double frees)";
		if (h->safe_linking)
			snprintf(fdd, sizeof(fdd), "safe-linked: next user ptr = value ^ (0x%" PRIx64 " >> 12) = 0x%" PRIx64 "%s",
				 k->addr + L->mc_fd, fd ^ ((k->addr + L->mc_fd) >> 12),
				 (fd ^ ((k->addr + L->mc_fd) >> 12)) ? "" : " (end of list)");
		snprintf(bkd, sizeof(bkd), "tcache key");
		break;
	case GLK_FAST:
		fdm = "next free chunk in this fastbin (singly linked, LIFO)";
		bkm = "unused in a fastbin (stale)";
		if (h->safe_linking)
			snprintf(fdd, sizeof(fdd), "safe-linked: next chunk = value ^ (0x%" PRIx64 " >> 12) = 0x%" PRIx64 "%s",
				 k->addr + L->mc_fd, fd ^ ((k->addr + L->mc_fd) >> 12),
				 (fd ^ ((k->addr + L->mc_fd) >> 12)) ? "" : " (end of list)");
		break;
	case GLK_UNSORTED:
	case GLK_SMALL:
	case GLK_LARGE:
		fdm = "next chunk in the bin's doubly linked list (the bin header inside malloc_state when last)";
		bkm = "previous chunk in the bin's list";
		snprintf(fdd, sizeof(fdd), "%s bin %u", bin_kind(k->aux, L->nbins), k->aux);
		break;
	case GLK_TOP:
		fdm = bkm = "unused: the top chunk is the arena's wilderness, carved from its start";
		break;
	default:
		fdm = "first bytes of the user data (the pointer malloc returned points here)";
		bkm = "user data";
		break;
	}
	field_add(l, T, "fd", ok_fd ? hexs(fd) : NULL, fdd, fdm, fields);
	field_add(l, T, "bk", ok_bk ? hexs(bk) : NULL, bkd, bkm, fields);
	if (has_n) {
		bool lg = k->kind == GLK_LARGE;
		field_add(l, T, "fd_nextsize", ok_n ? hexs(fdn) : NULL, lg ? "" : "unused",
			  "large bins only: next chunk of a different (smaller) size", fields);
		field_add(l, T, "bk_nextsize", ok_n ? hexs(bkn) : NULL, lg ? "" : "unused",
			  "large bins only: previous chunk of a different size", fields);
	}
	json_t *lines = section(ex, "where it is");
	bool pfree = k->kind != GLK_INUSE && k->kind != GLK_MMAPPED;
	bool afree = !(k->kind == GLK_INUSE || k->kind == GLK_TCACHE || k->kind == GLK_FAST ||
		       k->kind == GLK_MMAPPED || k->kind == GLK_FENCEPOST);
	linef(lines, "state: %s (the program sees it %s; the arena counts it %s)", tli_gl_kind_names[k->kind],
	      pfree ? "free" : "in use", afree ? "free" : "in use");
	if (k->kind == GLK_TCACHE)
		linef(lines, "tcache bin %u of its thread (chunks of size 0x%" PRIx64 ")", k->aux, k->size);
	else if (k->kind == GLK_FAST)
		linef(lines, "fastbinsY[%u] of the arena (chunks of size 0x%" PRIx64 ")", k->aux, k->size);
	else if (k->kind == GLK_UNSORTED || k->kind == GLK_SMALL || k->kind == GLK_LARGE)
		linef(lines, "%s bin %u of the arena", bin_kind(k->aux, L->nbins), k->aux);
	if (k->arena != 0xffff && k->arena < h->narenas)
		linef(lines, "arena %u at 0x%" PRIx64 "%s", k->arena, h->arenas[k->arena].addr,
		      h->arenas[k->arena].addr == L->main_arena ? " (main_arena)" : "");
	else
		linef(lines, "mmapped on its own (no arena): free() munmaps it");
	linef(lines, "user pointer 0x%" PRIx64 ", usable %" PRIu64 " bytes (size - 8: the next chunk's prev_size "
	      "is lent to this one while it is in use)", k->addr + 16, k->size >= 16 ? k->size - 8 : 0);
	lines = section(ex, "neighbours in memory (next chunk = this address + size)");
	if (k > h->chunks && k[-1].addr + k[-1].size == k->addr)
		chunk_line(lines, "previous", &k[-1]);
	chunk_line(lines, "this", k);
	if (k + 1 < h->chunks + h->nchunks && k->addr + k->size == k[1].addr)
		chunk_line(lines, "next", &k[1]);
	note(ex, "In use, only mchunk_size is the allocator's: from fd on, the bytes are the program's.");
	note(ex, "The next chunk's PREV_INUSE bit says whether this chunk is free; tcache and fastbin chunks "
		 "keep it set (they stay \"in use\" for the arena, to be reused quickly).");
out:
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return err;
}

static struct tli_error *explain_arena(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t want = 0;
	struct tli_error *err = arg ? parse_addr("arena", arg, &want) : NULL;
	if (err)
		return err;
	struct tli_gl_ctx *c = NULL;
	struct tli_gl_heap *h = NULL;
	struct tli_glibc_opts o = { 0 };
	if ((err = tli_gl_run(s, &o, NULL, 0, &c, &h)))
		return err;
	const struct tli_gl_layout *L = &c->L;
	if (!want)
		want = L->main_arena;
	const struct tli_gl_arena *ar = NULL;
	size_t ai = 0;
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == want) {
			ar = &h->arenas[i];
			ai = i;
		}
	if (!ar) {
		char list[512] = "";
		size_t used = 0;
		for (size_t i = 0; i < h->narenas && used + 24 < sizeof(list); i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, " 0x%" PRIx64, h->arenas[i].addr);
		err = tli_error_create(TLI_E_NO_TARGET, "explain arena: 0x%" PRIx64 " is not an arena (arenas:%s)",
				       want, list);
		goto out;
	}
	struct tli_layout *l = c->layout;
	const char *T = "malloc_state";
	char title[160], d[256];
	snprintf(title, sizeof(title), "arena %zu at 0x%" PRIx64 "%s: its struct malloc_state", ai, ar->addr,
		 ar->addr == L->main_arena ? " (main_arena, the sbrk heap)" : " (a thread arena, in mmapped heaps)");
	json_object_set_new(ex, "title", json_string(title));
	header(l, ex, T, ar->addr, L->ms_size);
	json_object_set_new(ex, "index", json_integer((json_int_t)ai));
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);

	field_add(l, T, "mutex", decs(ar->mutex), ar->mutex ? "locked" : "unlocked",
		  "lock taken by malloc/free on this arena", fields);
	snprintf(d, sizeof(d), "%s%s", ar->flags & 2 ? "NONCONTIGUOUS" : "contiguous",
		 ar->flags & 4 ? " | ARENA_CORRUPTION" : "");
	field_add(l, T, "flags", hexs(ar->flags), d,
		  "bit 1 NONCONTIGUOUS_BIT: memory not from one sbrk region (all thread arenas)", fields);
	struct tli_member m;
	if (tli_layout_has_member(l, T, "have_fastchunks", &m) && m.size <= 8) {
		uint8_t b[8] = { 0 };
		bool ok = gl_read(s, h, ar->addr + m.offset, b, (size_t)m.size);
		field_add(l, T, "have_fastchunks", ok ? decs(b[0]) : NULL, NULL,
			  "set when a fastbin may be non-empty (malloc_consolidate clears it)", fields);
	}
	uint64_t nfast = 0, nfastc = 0;
	for (uint32_t i = 0; i < L->nfastbins && i < 16; i++)
		if (ar->fast_head[i]) {
			nfast++;
			nfastc += ar->fast[i].count;
		}
	snprintf(d, sizeof(d), "%u lists, %" PRIu64 " non-empty, %" PRIu64 " chunks", L->nfastbins, nfast, nfastc);
	field_add(l, T, "fastbinsY", NULL, d,
		  "heads of the fastbins: singly linked LIFO lists of small freed chunks (0x20, 0x30, ...)", fields);
	snprintf(d, sizeof(d), "top chunk, 0x%" PRIx64 " bytes left", ar->top_size);
	field_add(l, T, "top", hexs(ar->top), d, "the wilderness: the last chunk of the heap, split to serve "
		  "requests no bin can", fields);
	field_add(l, T, "last_remainder", hexs(ar->last_remainder), ar->last_remainder ? "" : "nil",
		  "remainder of the last split of a small request (locality for runs of small mallocs)", fields);
	uint64_t nb = 0, nbc = 0;
	for (uint32_t i = 1; i < L->nbins && i < 256; i++)
		if (ar->bins[i].count) {
			nb++;
			nbc += ar->bins[i].count;
		}
	snprintf(d, sizeof(d), "%u bins, %" PRIu64 " non-empty, %" PRIu64 " chunks", L->nbins - 1, nb, nbc);
	field_add(l, T, "bins", NULL, d, "fd/bk heads of the doubly linked bins: 1 unsorted, 2..63 small "
		  "(one size each), 64.. large (size ranges, sorted)", fields);
	field_add(l, T, "binmap", NULL, NULL, "one bit per bin: may be non-empty (a hint that speeds the search)",
		  fields);
	field_add(l, T, "next", hexs(ar->next), ar->next == ar->addr ? "itself: the only arena" : "",
		  "next arena in the circular list that starts at main_arena", fields);
	uint64_t nf = 0;
	bool ok_nf = tli_layout_has_member(l, T, "next_free", &m) && gl_u64(s, h, ar->addr + m.offset, &nf);
	field_add(l, T, "next_free", ok_nf ? hexs(nf) : NULL, NULL,
		  "next arena on the free list (arenas with no thread attached)", fields);
	field_add(l, T, "attached_threads", decs(ar->attached), NULL, "threads using this arena", fields);
	field_add(l, T, "system_mem", decs(ar->system_mem), NULL,
		  "bytes obtained from the system for this arena (sbrk or mmapped heaps) = malloc_info <system "
		  "type=\"current\">", fields);
	field_add(l, T, "max_system_mem", decs(ar->max_system_mem), NULL, "high-water mark of system_mem",
		  fields);

	json_t *lines = section(ex, "fastbins (fastbinsY[i] holds chunks of size 0x20 + 0x10*i)");
	for (uint32_t i = 0; i < L->nfastbins && i < 16; i++)
		if (ar->fast_head[i])
			linef(lines, "fastbinsY[%u]  size 0x%x  head 0x%" PRIx64 "  %" PRIu64 " chunks, %" PRIu64
			      " bytes", i, (i + 2) * 16, ar->fast_head[i], ar->fast[i].count, ar->fast[i].bytes);
	if (!nfast)
		linef(lines, "(all empty)");
	lines = section(ex, "bins (bins[2i-2], bins[2i-1] are bin i's fd and bk)");
	for (uint32_t i = 1; i < L->nbins && i < 256; i++) {
		const struct tli_gl_binstat *b = &ar->bins[i];
		if (!b->count)
			continue;
		if (i >= 2 && i < L->nbins / 2)
			snprintf(d, sizeof(d), "size 0x%x", i * 16);
		else
			snprintf(d, sizeof(d), "sizes 0x%" PRIx64 "..0x%" PRIx64, b->raw_min & ~(uint64_t)TLI_GL_FLAGS,
				 b->raw_max & ~(uint64_t)TLI_GL_FLAGS);
		linef(lines, "bin %-3u %-8s %-24s %" PRIu64 " chunks, %" PRIu64 " bytes", i, bin_kind(i, L->nbins), d,
		      b->count, b->bytes);
	}
	if (!nb)
		linef(lines, "(all empty)");
	lines = section(ex, "memory of this arena");
	for (size_t i = 0; i < ar->nsegs; i++) {
		const struct tli_gl_seg *sg = &ar->segs[i];
		if (sg->heap_info)
			linef(lines, "heap_info 0x%" PRIx64 ": chunks 0x%" PRIx64 "..0x%" PRIx64 " (size 0x%" PRIx64
			      ", mprotect_size 0x%" PRIx64 ")", sg->heap_info, sg->start, sg->end, sg->hsize,
			      sg->mprotect_size);
		else
			linef(lines, "sbrk heap: chunks 0x%" PRIx64 "..0x%" PRIx64, sg->start, sg->end);
	}
	linef(lines, "walked: %" PRIu64 " in-use chunks (%" PRIu64 " bytes), %" PRIu64 " in tcache, %" PRIu64
	      " in fastbins, %" PRIu64 " in other bins", ar->n_kind[GLK_INUSE], ar->b_kind[GLK_INUSE],
	      ar->n_kind[GLK_TCACHE], ar->n_kind[GLK_FAST],
	      ar->n_kind[GLK_UNSORTED] + ar->n_kind[GLK_SMALL] + ar->n_kind[GLK_LARGE]);
	char list[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < h->narenas && used + 24 < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, " 0x%" PRIx64, h->arenas[i].addr);
	linef(lines, "all arenas:%s", list);
	note(ex, "tcache is not in the arena: each thread has its own tcache_perthread_struct (see `bins`).");
	note(ex, "malloc looks in this order: tcache, fastbin, small bin, unsorted (sorting it), large bins, top.");
out:
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	return err;
}

struct tli_error *tli_explain(struct tli_session *s, const char *what, const char *arg, json_t *result)
{
	json_t *ex = json_object();
	json_object_set_new(result, "explain", ex);
	json_object_set_new(ex, "kind", json_string(what));
	if (!strcmp(what, "g")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain g needs a goroutine id: explain g ID");
		return explain_g(s, arg, ex);
	}
	if (!strcmp(what, "chan")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain chan needs a channel address: explain chan ADDR");
		return explain_chan(s, arg, ex);
	}
	if (!strcmp(what, "chunk")) {
		if (!arg)
			return tli_error_create(TLI_E_USAGE, "explain chunk needs an address: explain chunk ADDR");
		return explain_chunk(s, arg, ex);
	}
	if (!strcmp(what, "arena"))
		return explain_arena(s, arg, ex);
	return tli_error_create(TLI_E_USAGE, "explain: unknown kind '%s' (g, chan, chunk, arena)", what);
}

void tli_explain_render_text(FILE *f, json_t *doc)
{
	json_t *ex = json_object_get(doc, "explain");
	const char *title = json_string_value(json_object_get(ex, "title"));
	const char *type = json_string_value(json_object_get(ex, "type"));
	const char *addr = json_string_value(json_object_get(ex, "address"));
	const char *src = json_string_value(json_object_get(ex, "layout_source"));
	json_t *size = json_object_get(ex, "size");
	if (title)
		fprintf(f, "%s\n", title);
	fprintf(f, "%s at %s, %lld bytes (layout: %s)\n\n", type ? type : "?", addr ? addr : "?",
		json_is_integer(size) ? (long long)json_integer_value(size) : -1LL, src ? src : "?");
	size_t i;
	json_t *fl;
	int nw = 5;
	json_array_foreach(json_object_get(ex, "fields"), i, fl) {
		const char *nm = json_string_value(json_object_get(fl, "name"));
		if (nm && (int)strlen(nm) > nw && strlen(nm) < 40)
			nw = (int)strlen(nm);
	}
	fprintf(f, "  %-8s %-4s %-*s %-34s %s\n", "OFFSET", "SIZE", nw, "FIELD", "VALUE", "MEANING");
	json_array_foreach(json_object_get(ex, "fields"), i, fl) {
		const char *v = json_string_value(json_object_get(fl, "value"));
		const char *d = json_string_value(json_object_get(fl, "decoded"));
		char val[320];
		snprintf(val, sizeof(val), "%s%s%s%s", v ? v : "-", d ? " (" : "", d ? d : "", d ? ")" : "");
		for (char *c = val; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?'; /* names come from the target's files */
		const char *nm = json_string_value(json_object_get(fl, "name"));
		const char *mn = json_string_value(json_object_get(fl, "meaning"));
		fprintf(f, "  +0x%-5llx %-4lld %-*s ", (unsigned long long)json_integer_value(json_object_get(fl, "offset")),
			(long long)json_integer_value(json_object_get(fl, "size")), nw, nm ? nm : "?");
		if (strlen(val) > 34) /* long value: the meaning goes on its own line */
			fprintf(f, "%s\n  %*s %s\n", val, 8 + 1 + 4 + 1 + nw + 1 + 34, "", mn ? mn : "");
		else
			fprintf(f, "%-34s %s\n", val, mn ? mn : "");
	}
	json_t *sec, *ln;
	json_array_foreach(json_object_get(ex, "sections"), i, sec) {
		fprintf(f, "\n%s\n", json_string_value(json_object_get(sec, "title")));
		size_t j;
		json_array_foreach(json_object_get(sec, "lines"), j, ln)
			fprintf(f, "  %s\n", json_string_value(ln));
	}
	json_t *n;
	json_array_foreach(json_object_get(ex, "notes"), i, n)
		fprintf(f, "%s%s\n", i == 0 ? "\n" : "", json_string_value(n));
}
