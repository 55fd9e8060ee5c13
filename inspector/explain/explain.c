/* SPDX-License-Identifier: MIT */
/* Teaching mode: a runtime structure drawn field by field (see explain.h). */
#include "explain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/session.h"
#include "core/target.h"
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

static const char *const g_status_names[] = { "_Gidle", "_Grunnable", "_Grunning", "_Gsyscall", "_Gwaiting",
					      "_Gmoribund_unused", "_Gdead", "_Genqueue_unused", "_Gcopystack",
					      "_Gpreempted" };

static void decoded_for(struct tli_session *s, char kind, uint64_t v, char *buf, size_t cap)
{
	buf[0] = 0;
	if (kind == 's') {
		uint64_t base = v & ~(uint64_t)0x1000; /* _Gscan bit */
		if (base < sizeof(g_status_names) / sizeof(g_status_names[0]))
			snprintf(buf, cap, "%s%s", g_status_names[base], v & 0x1000 ? " + _Gscan" : "");
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
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *gid = json_object_get(g, "id");
		if (json_is_integer(gid) && (uint64_t)json_integer_value(gid) == id)
			gaddr = json_string_value(json_object_get(g, "address"));
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
	if (!strcmp(what, "chan") || !strcmp(what, "chunk") || !strcmp(what, "arena"))
		return tli_error_create(TLI_E_UNSUPPORTED, "explain %s is not written yet (see inspector/explain/"
					"explain.h); meanwhile `%s%s%s` decodes it", what,
					!strcmp(what, "arena") ? "arenas" : what, arg ? " " : "", arg ? arg : "");
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
	fprintf(f, "  %-8s %-4s %-14s %-34s %s\n", "OFFSET", "SIZE", "FIELD", "VALUE", "MEANING");
	size_t i;
	json_t *fl;
	json_array_foreach(json_object_get(ex, "fields"), i, fl) {
		const char *v = json_string_value(json_object_get(fl, "value"));
		const char *d = json_string_value(json_object_get(fl, "decoded"));
		char val[160];
		snprintf(val, sizeof(val), "%s%s%s%s", v ? v : "-", d ? " (" : "", d ? d : "", d ? ")" : "");
		for (char *c = val; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?'; /* names come from the target's files */
		fprintf(f, "  +0x%-5llx %-4lld %-14s %-34s %s\n",
			(unsigned long long)json_integer_value(json_object_get(fl, "offset")),
			(long long)json_integer_value(json_object_get(fl, "size")),
			json_string_value(json_object_get(fl, "name")), val,
			json_string_value(json_object_get(fl, "meaning")));
	}
	json_t *n;
	json_array_foreach(json_object_get(ex, "notes"), i, n)
		fprintf(f, "%s%s\n", i == 0 ? "\n" : "", json_string_value(n));
}
