/* SPDX-License-Identifier: MIT */
/*
 * `explain g ID`: the goroutine's runtime.g (runtime/runtime2.go type g,
 * go1.19 … go1.27), field by field, its status and wait reason in the
 * runtime's own words.
 */
#include "explain_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/jsonstr.h"
#include "session/open.h"
#include "core/target.h"
#include "go/gfacts.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/pclntab.h"

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
		if (tli_error_drop(tli_session_gobin(s, &b)))
			return;
		const struct tli_pclntab *t = tli_gobin_pclntab(b);
		struct tli_gofunc f;
		if (t && !tli_error_drop(tli_pclntab_find(t, v - s->exe_bias, &f)))
			snprintf(buf, cap, "%s+0x%" PRIx64, f.name, v - s->exe_bias - f.entry);
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

/* One field of `type` at `addr`: its bytes read from the target, decoded by fd->kind. */
static json_t *draw_field(struct tli_session *s, uint64_t addr, const struct field_doc *fd,
			  const struct tli_member *m)
{
	json_t *f = json_object();
	json_object_set_new(f, "name", json_string(fd->path));
	json_object_set_new(f, "offset", json_integer((json_int_t)m->offset));
	json_object_set_new(f, "size", json_integer((json_int_t)m->size));
	if (m->size == 1 || m->size == 2 || m->size == 4 || m->size == 8) {
		uint8_t raw[8] = { 0 };
		struct tli_error *re = tli_target_read(s->target, addr + m->offset, raw, (size_t)m->size);
		if (re) {
			json_object_set_new(f, "value", json_null());
			json_object_set_new(f, "decoded", tli_json_string_lossy(re->msg));
			tli_error_destroy(re);
		} else {
			uint64_t v = tli_rdn(raw, (uint32_t)m->size);
			char buf[64], dec[256];
			snprintf(buf, sizeof(buf), fd->kind == 'n' || fd->kind == 's' ? "%" PRIu64 : "0x%" PRIx64, v);
			json_object_set_new(f, "value", json_string(buf));
			decoded_for(s, fd->kind, v, dec, sizeof(dec));
			json_object_set_new(f, "decoded", dec[0] ? json_string(dec) : json_null());
		}
	} else {
		json_object_set_new(f, "value", json_null());
		json_object_set_new(f, "decoded", json_null());
	}
	json_object_set_new(f, "meaning", json_string(fd->meaning));
	return f;
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
	tli_ex_header(l, ex, type, addr, size);
	json_t *fields = json_array();
	json_object_set_new(ex, "fields", fields);
	for (; fd->path; fd++) {
		struct tli_member m;
		if (tli_layout_has_member(l, type, fd->path, &m))
			tli_ex_field_insert(fields, draw_field(s, addr, fd, &m));
	}
	return NULL;
}

/* The goroutine's g address, status and wait reason (the runtime's own strings), from the listing. */
static struct tli_error *find_goroutine(struct tli_session *s, uint64_t id, uint64_t *addr, char *status,
					size_t scap, char *reason, size_t rcap)
{
	json_t *tmp = json_object();
	struct tli_go_opts o = { .system = true, .only_id = (int64_t)id };
	struct tli_error *err = tli_go_goroutines(s, &o, tmp);
	if (err) {
		json_decref(tmp);
		return err;
	}
	json_t *list = json_object_get(json_object_get(tmp, "go"), "goroutines");
	const char *gaddr = NULL;
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *gid = json_object_get(g, "id");
		if (json_is_integer(gid) && (uint64_t)json_integer_value(gid) == id) {
			gaddr = json_string_value(json_object_get(g, "address"));
			/* the runtime's own names (its gStatusStrings / waitReasonStrings) */
			const char *st = json_string_value(json_object_get(g, "status"));
			const char *wr = json_string_value(json_object_get(g, "wait_reason"));
			snprintf(status, scap, "%s", st ? st : "");
			snprintf(reason, rcap, "%s", wr ? wr : "");
		}
	}
	if (!gaddr || (err = parse_u64(gaddr, 16, addr))) {
		json_decref(tmp);
		tli_error_destroy(err);
		return tli_error_create(TLI_E_NO_TARGET, "no goroutine %" PRIu64 " in the target", id);
	}
	json_decref(tmp);
	return NULL;
}

/* Decode status and wait reason with the target's own strings. */
static void runtime_words(json_t *ex, const char *status, const char *reason)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(ex, "fields"), i, g) {
		const char *n = json_string_value(json_object_get(g, "name"));
		if (n && !strcmp(n, "waitreason") && reason[0])
			json_object_set_new(g, "decoded", json_string(reason));
		else if (n && !strcmp(n, "atomicstatus") && status[0] &&
			 !json_is_string(json_object_get(g, "decoded")))
			json_object_set_new(g, "decoded", json_string(status));
	}
}

struct tli_error *tli_explain_g(struct tli_session *s, const char *arg, json_t *ex)
{
	uint64_t id, addr = 0;
	char status[64] = "", reason[128] = "";
	struct tli_error *err = parse_u64(arg, 10, &id);
	if (!err)
		err = find_goroutine(s, id, &addr, status, sizeof(status), reason, sizeof(reason));
	if (err)
		return err;
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
	runtime_words(ex, status, reason);
	if (rs != s) {
		if (rs->target && !rs->target->released)
			tli_target_release(rs->target);
		tli_session_destroy(rs);
	}
	tli_ex_note(ex, "allgs (runtime.allgs) holds a pointer to every g ever created; dead ones are reused.");
	tli_ex_note(ex, "A parked goroutine's registers live in g.sched (the gobuf): unwinding starts at "
		    "sched.pc/sched.sp.");
	tli_ex_note(ex, "While it runs, g.m->curg == g and the live registers are in the thread, not in sched.");
	return err;
}
