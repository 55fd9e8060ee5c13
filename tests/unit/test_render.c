/* SPDX-License-Identifier: MIT */
/*
 * Text and JSON printers (inspector/render). The oracle for the text format is
 * Go's own traceback: GO_TRACEBACK_* below are verbatim runtime.Stack(buf, true)
 * outputs of a small program built with Go 1.19 and Go 1.24 (see the comment
 * above them); the test parses them into a result tree, renders the tree and
 * compares line by line (Go prints argument words, tlinspect prints "(...)").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "render/render.h"

/* The printer the command table names for cmd (what the CLI uses). */
static const struct tli_text_printer *printer_of(const char *cmd)
{
	const struct tli_command *c = tli_command_find(cmd);
	assert_non_null(c);
	return c->text;
}

/*
 * Program (main.go, module tbprog), output of runtime.Stack(buf, true) after
 * 200 ms:
 *   type Box[T any] struct{ v T }
 *   //go:noinline
 *   func (b *Box[T]) Wait(ch chan T) { b.v = <-ch }
 *   func inner(ch chan int) { ch <- 1 }
 *   func outer(ch chan int) { inner(ch) }
 *   func sleeper() { time.Sleep(time.Hour) }
 *   main: mu.Lock(); 3x go outer(ch); go Box.Wait; go sleeper(); go mu.Lock();
 *         go select{}; go { runtime.LockOSThread(); <-nilchan }
 */
static const char GO_TRACEBACK_119[] =
	"goroutine 1 [running]:\n"
	"main.main()\n"
	"\t/tmp/tbprog/main.go:41 +0x1a6\n"
	"\n"
	"goroutine 18 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(0x0?)\n"
	"\t/tmp/tbprog/main.go:18 +0x25\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:28 +0x7b\n"
	"\n"
	"goroutine 19 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(0x0?)\n"
	"\t/tmp/tbprog/main.go:18 +0x25\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:28 +0x7b\n"
	"\n"
	"goroutine 20 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(0x0?)\n"
	"\t/tmp/tbprog/main.go:18 +0x25\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:28 +0x7b\n"
	"\n"
	"goroutine 21 [chan receive]:\n"
	"main.(*Box[...]).Wait(0xc000037fc0?, 0x0)\n"
	"\t/tmp/tbprog/main.go:14 +0x2c\n"
	"main.main.func1()\n"
	"\t/tmp/tbprog/main.go:30 +0x35\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:30 +0x10a\n"
	"\n"
	"goroutine 22 [sleep]:\n"
	"time.Sleep(0x34630b8a000)\n"
	"\t/usr/lib/go-1.19/src/runtime/time.go:195 +0x135\n"
	"main.sleeper()\n"
	"\t/tmp/tbprog/main.go:20 +0x25\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:31 +0x116\n"
	"\n"
	"goroutine 23 [semacquire]:\n"
	"sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)\n"
	"\t/usr/lib/go-1.19/src/runtime/sema.go:77 +0x25\n"
	"sync.(*Mutex).lockSlow(0xc0000a2000)\n"
	"\t/usr/lib/go-1.19/src/sync/mutex.go:171 +0x165\n"
	"sync.(*Mutex).Lock(...)\n"
	"\t/usr/lib/go-1.19/src/sync/mutex.go:90\n"
	"main.main.func2()\n"
	"\t/tmp/tbprog/main.go:32 +0x32\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:32 +0x156\n"
	"\n"
	"goroutine 24 [select (no cases)]:\n"
	"main.main.func3()\n"
	"\t/tmp/tbprog/main.go:33 +0x17\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:33 +0x165\n"
	"\n"
	"goroutine 25 [chan receive (nil chan), locked to thread]:\n"
	"main.main.func4()\n"
	"\t/tmp/tbprog/main.go:37 +0x25\n"
	"created by main.main\n"
	"\t/tmp/tbprog/main.go:34 +0x171\n"
	"\n"
;

static const char GO_TRACEBACK_124[] =
	"goroutine 1 [running]:\n"
	"main.main()\n"
	"\t/tmp/tbprog/main.go:41 +0x19c\n"
	"\n"
	"goroutine 6 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(...)\n"
	"\t/tmp/tbprog/main.go:18\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:28 +0x78\n"
	"\n"
	"goroutine 7 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(...)\n"
	"\t/tmp/tbprog/main.go:18\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:28 +0x78\n"
	"\n"
	"goroutine 8 [chan send]:\n"
	"main.inner(...)\n"
	"\t/tmp/tbprog/main.go:16\n"
	"main.outer(...)\n"
	"\t/tmp/tbprog/main.go:18\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:28 +0x78\n"
	"\n"
	"goroutine 9 [chan receive]:\n"
	"main.(*Box[...]).Wait(0x0, 0x0?)\n"
	"\t/tmp/tbprog/main.go:14 +0x26\n"
	"main.main.func1()\n"
	"\t/tmp/tbprog/main.go:30 +0x29\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:30 +0x105\n"
	"\n"
	"goroutine 10 [sleep]:\n"
	"time.Sleep(0x34630b8a000)\n"
	"\t/usr/lib/go-1.24/src/runtime/time.go:338 +0x165\n"
	"main.sleeper()\n"
	"\t/tmp/tbprog/main.go:20 +0x1d\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:31 +0x111\n"
	"\n"
	"goroutine 11 [sync.Mutex.Lock]:\n"
	"internal/sync.runtime_SemacquireMutex(0x0?, 0x0?, 0x0?)\n"
	"\t/usr/lib/go-1.24/src/runtime/sema.go:95 +0x25\n"
	"internal/sync.(*Mutex).lockSlow(0xc0000100e0)\n"
	"\t/usr/lib/go-1.24/src/internal/sync/mutex.go:149 +0x15d\n"
	"internal/sync.(*Mutex).Lock(...)\n"
	"\t/usr/lib/go-1.24/src/internal/sync/mutex.go:70\n"
	"sync.(*Mutex).Lock(...)\n"
	"\t/usr/lib/go-1.24/src/sync/mutex.go:46\n"
	"main.main.func2()\n"
	"\t/tmp/tbprog/main.go:32 +0x2c\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:32 +0x14d\n"
	"\n"
	"goroutine 12 [select (no cases)]:\n"
	"main.main.func3()\n"
	"\t/tmp/tbprog/main.go:33 +0xf\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:33 +0x159\n"
	"\n"
	"goroutine 13 [chan receive (nil chan), locked to thread]:\n"
	"main.main.func4()\n"
	"\t/tmp/tbprog/main.go:37 +0x1c\n"
	"created by main.main in goroutine 1\n"
	"\t/tmp/tbprog/main.go:34 +0x165\n"
	"\n"
;

/* ---- helpers ---- */

struct buf {
	char *data;
	size_t len;
	FILE *f;
};

static void buf_open(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->f = open_memstream(&b->data, &b->len);
	assert_non_null(b->f);
}

static char *buf_close(struct buf *b)
{
	fclose(b->f);
	return b->data;
}

static json_t *frame(const char *fn, const char *file, int line, const char *pc, long off, bool inl)
{
	json_t *fr = json_object();
	json_object_set_new(fr, "function", fn ? json_string(fn) : json_null());
	json_object_set_new(fr, "file", file ? json_string(file) : json_null());
	json_object_set_new(fr, "line", line >= 0 ? json_integer(line) : json_null());
	json_object_set_new(fr, "pc", pc ? json_string(pc) : json_null());
	json_object_set_new(fr, "offset", off >= 0 ? json_integer(off) : json_null());
	json_object_set_new(fr, "inlined", json_boolean(inl));
	return fr;
}

static json_t *created_by(const char *fn, const char *file, int line, long off, long goid)
{
	json_t *cb = json_object();
	json_object_set_new(cb, "function", json_string(fn));
	json_object_set_new(cb, "file", json_string(file));
	json_object_set_new(cb, "line", json_integer(line));
	if (off >= 0)
		json_object_set_new(cb, "offset", json_integer(off));
	json_object_set_new(cb, "goid", goid > 0 ? json_integer(goid) : json_null());
	return cb;
}

static json_t *gor(long id, const char *status, const char *reason)
{
	json_t *g = json_object();
	json_object_set_new(g, "id", json_integer(id));
	json_object_set_new(g, "address", json_string("0xc000102000"));
	json_object_set_new(g, "status", json_string(status));
	json_object_set_new(g, "wait_reason", reason ? json_string(reason) : json_null());
	json_object_set_new(g, "wait_seconds", json_null());
	json_object_set_new(g, "wait_minutes", json_null());
	json_object_set_new(g, "system", json_false());
	json_object_set_new(g, "locked_to_thread", json_false());
	json_object_set_new(g, "thread", json_null());
	return g;
}

static json_t *doc_with(json_t *goroutines, long count)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "schema", json_string("tlinspect/1"));
	json_t *tool = json_object();
	json_object_set_new(tool, "name", json_string("tlinspect"));
	json_object_set_new(tool, "version", json_string("0.1.0"));
	json_object_set_new(doc, "tool", tool);
	json_t *tg = json_object();
	json_object_set_new(tg, "kind", json_string("live"));
	json_object_set_new(tg, "pid", json_integer(4242));
	json_object_set_new(tg, "exe", json_string("/path/exe"));
	json_object_set_new(tg, "core", json_null());
	json_object_set_new(tg, "go_version", json_string("go1.24.4"));
	json_object_set_new(tg, "threads", json_integer(7));
	json_object_set_new(tg, "pause_ms", json_real(12.3));
	json_object_set_new(tg, "bytes_read", json_integer(123456));
	json_object_set_new(doc, "target", tg);
	json_t *go = json_object();
	json_object_set_new(go, "goroutine_count", json_integer(count));
	json_object_set_new(go, "goroutines", goroutines);
	json_object_set_new(doc, "go", go);
	json_object_set_new(doc, "warnings", json_array());
	return doc;
}

static char *render_block(json_t *g)
{
	struct buf b;
	buf_open(&b);
	tli_text_goroutine_block(b.f, g);
	return buf_close(&b);
}

static char *render_cmd(const char *cmd, json_t *doc, const struct tli_render_opts *o)
{
	struct buf b;
	buf_open(&b);
	struct tli_error *err = tli_render_text(b.f, printer_of(cmd), doc, o);
	assert_null(err);
	return buf_close(&b);
}

/* ---- header ---- */

static void test_header(void **state)
{
	(void)state;
	json_t *doc = doc_with(json_array(), 1003);
	struct buf b;
	buf_open(&b);
	tli_text_header(b.f, doc);
	char *s = buf_close(&b);
	assert_string_equal(s, "pid 4242 (/path/exe): go1.24.4, 1003 goroutines, target paused 12.3 ms\n");
	free(s);

	json_t *tg = json_object_get(doc, "target");
	json_object_set_new(tg, "kind", json_string("core"));
	json_object_set_new(tg, "pid", json_null());
	json_object_set_new(tg, "core", json_string("/tmp/core.1"));
	json_object_set_new(tg, "pause_ms", json_null());
	json_object_set_new(json_object_get(doc, "go"), "goroutine_count", json_integer(1));
	buf_open(&b);
	tli_text_header(b.f, doc);
	s = buf_close(&b);
	assert_string_equal(s, "core /tmp/core.1 (/path/exe): go1.24.4, 1 goroutine\n");
	free(s);
	/* a core says its architecture (it may come from another machine) */
	json_object_set_new(tg, "arch", json_string("arm64"));
	buf_open(&b);
	tli_text_header(b.f, doc);
	s = buf_close(&b);
	assert_string_equal(s, "core /tmp/core.1 (/path/exe, arm64): go1.24.4, 1 goroutine\n");
	free(s);
	json_object_del(tg, "arch");

	/* live with --no-stop: no pause */
	json_object_set_new(tg, "kind", json_string("live"));
	json_object_set_new(tg, "pid", json_integer(7));
	json_object_del(tg, "go_version");
	buf_open(&b);
	tli_text_header(b.f, doc);
	s = buf_close(&b);
	assert_string_equal(s, "pid 7 (/path/exe): Go version unknown, 1 goroutine, target not stopped "
			       "(read while running)\n");
	free(s);
	/* --no-stop while a debugger holds the process stopped */
	json_object_set_new(tg, "stopped_by_other", json_true());
	buf_open(&b);
	tli_text_header(b.f, doc);
	s = buf_close(&b);
	assert_string_equal(s, "pid 7 (/path/exe): Go version unknown, 1 goroutine, read while its debugger "
			       "holds it stopped\n");
	free(s);
	json_decref(doc);
}

/* ---- one goroutine ---- */

static void test_block_with_stack(void **state)
{
	(void)state;
	json_t *g = gor(18, "waiting", "chan send");
	json_object_set_new(g, "wait_minutes", json_integer(3));
	json_t *st = json_array();
	json_array_append_new(st, frame("main.leakyProducer", "/src/main.go", 42, "0x4a1b2c", -1, true));
	json_array_append_new(st, frame("main.worker", "/src/main.go", 50, "0x4a1b2c", 0x1d, false));
	json_object_set_new(g, "stack", st);
	json_object_set_new(g, "stack_truncated", json_false());
	json_object_set_new(g, "created_by", created_by("main.main", "/src/main.go", 30, 0x5e, 1));
	char *s = render_block(g);
	assert_string_equal(s, "goroutine 18 [chan send, 3 minutes]:\n"
			       "main.leakyProducer(...)\n"
			       "\t/src/main.go:42\n"
			       "main.worker(...)\n"
			       "\t/src/main.go:50 +0x1d\n"
			       "created by main.main in goroutine 1\n"
			       "\t/src/main.go:30 +0x5e\n");
	free(s);

	/* truncated stacks end like Go's */
	json_object_set_new(g, "stack_truncated", json_true());
	s = render_block(g);
	assert_non_null(strstr(s, "\t/src/main.go:50 +0x1d\n...additional frames elided...\ncreated by"));
	free(s);
	json_decref(g);
}

static void test_minutes_rule(void **state)
{
	(void)state;
	static const struct {
		long minutes; /* -1 = null */
		const char *status, *reason;
		bool locked;
		const char *want;
	} cases[] = {
		{ -1, "waiting", "chan receive", false, "goroutine 5 [chan receive]:\n" },
		{ 0, "waiting", "chan receive", false, "goroutine 5 [chan receive]:\n" },
		{ 1, "waiting", "select", false, "goroutine 5 [select, 1 minutes]:\n" },
		{ 1440, "syscall", NULL, true, "goroutine 5 [syscall, 1440 minutes, locked to thread]:\n" },
		{ -1, "running", NULL, true, "goroutine 5 [running, locked to thread]:\n" },
		/* the wait reason only replaces the status of a waiting goroutine (goroutineheader) */
		{ -1, "runnable", "chan receive", false, "goroutine 5 [runnable]:\n" },
		{ -1, "waiting", "", false, "goroutine 5 [waiting]:\n" },
		{ 2, "syscall", NULL, false, "goroutine 5 [syscall (scan), 2 minutes]:\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *g = gor(5, cases[i].status, cases[i].reason);
		if (cases[i].minutes >= 0)
			json_object_set_new(g, "wait_minutes", json_integer(cases[i].minutes));
		json_object_set_new(g, "locked_to_thread", json_boolean(cases[i].locked));
		if (strstr(cases[i].want, "(scan)"))
			json_object_set_new(g, "scan", json_true());
		char *s = render_block(g);
		assert_string_equal(s, cases[i].want);
		free(s);
		json_decref(g);
	}
}

static void test_created_by_without_goid(void **state)
{
	(void)state;
	json_t *g = gor(2, "waiting", "force gc (idle)");
	json_object_set_new(g, "created_by", created_by("runtime.init.6", "/go/src/runtime/proc.go", 293, 0x1a, 0));
	char *s = render_block(g);
	assert_string_equal(s, "goroutine 2 [force gc (idle)]:\n"
			       "created by runtime.init.6\n"
			       "\t/go/src/runtime/proc.go:293 +0x1a\n");
	free(s);
	json_decref(g);
}

static void test_current_and_user(void **state)
{
	(void)state;
	json_t *g = gor(9, "waiting", "sync.Mutex.Lock");
	json_object_set_new(g, "current", frame("sync.(*Mutex).Lock", "/go/src/sync/mutex.go", 46, "0x47a000", -1, true));
	json_object_set_new(g, "user", frame("main.main.func2", "/src/main.go", 32, "0x49c12c", 0x2c, false));
	char *s = render_block(g);
	assert_string_equal(s, "goroutine 9 [sync.Mutex.Lock]:\n"
			       "sync.(*Mutex).Lock(...)\n"
			       "\t/go/src/sync/mutex.go:46\n"
			       "main.main.func2(...)\n"
			       "\t/src/main.go:32 +0x2c\n");
	free(s);
	/* user == current: printed once */
	json_object_set_new(g, "user", frame("sync.(*Mutex).Lock", "/go/src/sync/mutex.go", 46, "0x47a000", -1, true));
	s = render_block(g);
	assert_string_equal(s, "goroutine 9 [sync.Mutex.Lock]:\n"
			       "sync.(*Mutex).Lock(...)\n"
			       "\t/go/src/sync/mutex.go:46\n");
	free(s);
	json_decref(g);
}

static void test_unreadable_and_missing(void **state)
{
	(void)state;
	json_t *g = json_object();
	json_object_set_new(g, "id", json_integer(77));
	json_object_set_new(g, "unreadable", json_string("stack at 0xc000200000 not readable"));
	char *s = render_block(g);
	assert_string_equal(s, "goroutine 77 [???]:\nunreadable: stack at 0xc000200000 not readable\n");
	free(s);
	json_decref(g);

	/* everything null or of the wrong type: no crash, '?' placeholders */
	g = json_object();
	json_object_set_new(g, "id", json_null());
	json_object_set_new(g, "status", json_integer(3));
	json_object_set_new(g, "current", frame(NULL, NULL, -1, "0x401000", -1, false));
	json_object_set_new(g, "stack", json_string("not an array"));
	json_object_set_new(g, "created_by", json_array());
	s = render_block(g);
	assert_string_equal(s, "goroutine ? [???]:\n?(...)\n\t?:? pc=0x401000\n");
	free(s);
	json_decref(g);

	/* hostile strings: control characters never reach the terminal */
	g = gor(3, "waiting", "chan\x1b[31m send");
	json_object_set_new(g, "current", frame("main.evil\nfake line", "/src/a.go", 1, NULL, 0, false));
	s = render_block(g);
	assert_string_equal(s, "goroutine 3 [chan?[31m send]:\nmain.evil?fake line(...)\n\t/src/a.go:1 +0x0\n");
	free(s);
	json_decref(g);

	/* a document with no "go" and a goroutine list of junk renders without crashing */
	json_t *doc = json_object();
	s = render_cmd("goroutines", doc, NULL);
	assert_string_equal(s, "(no target)\n");
	free(s);
	json_t *list = json_array();
	json_array_append_new(list, json_integer(1));
	json_array_append_new(list, json_null());
	json_decref(doc);
	doc = doc_with(list, 2);
	s = render_cmd("goroutines", doc, NULL);
	assert_non_null(strstr(s, "2 goroutines"));
	assert_null(strstr(s, "goroutine ?"));
	free(s);
	json_decref(doc);
}

static void test_listing_order_and_system(void **state)
{
	(void)state;
	json_t *list = json_array();
	long ids[] = { 30, 2, 17, 1 };
	for (int i = 0; i < 4; i++) {
		json_t *g = gor(ids[i], "waiting", "chan receive");
		if (ids[i] == 2)
			json_object_set_new(g, "system", json_true());
		json_array_append_new(list, g);
	}
	json_t *doc = doc_with(list, 4);
	struct tli_render_opts o = { .top = -1, .no_summary = true };
	char *s = render_cmd("goroutines", doc, &o);
	assert_string_equal(s, "pid 4242 (/path/exe): go1.24.4, 4 goroutines, target paused 12.3 ms\n"
			       "goroutine 1 [chan receive]:\n\n"
			       "goroutine 17 [chan receive]:\n\n"
			       "goroutine 30 [chan receive]:\n");
	free(s);
	o.system = true;
	s = render_cmd("goroutines", doc, &o);
	assert_non_null(strstr(s, "goroutine 1 [chan receive]:\n\ngoroutine 2 [chan receive]:\n\ngoroutine 17"));
	free(s);
	o = (struct tli_render_opts){ .top = -1 };
	s = render_cmd("goroutines", doc, &o);
	assert_non_null(strstr(s, "(1 system goroutine not listed; use --system)\n"));
	free(s);
	/* `goroutine ID` shows the goroutine even if it is a system one */
	json_t *one = json_array();
	json_array_append_new(one, gor(2, "waiting", "GC worker (idle)"));
	json_object_set_new(json_object_get(one, 0) ? json_array_get(one, 0) : NULL, "system", json_true());
	json_object_set_new(json_object_get(doc, "go"), "goroutines", one);
	s = render_cmd("goroutine", doc, NULL);
	assert_non_null(strstr(s, "\ngoroutine 2 [GC worker (idle)]:\n"));
	free(s);
	json_decref(doc);
}

static json_t *group(long count, const char *status, const char *reason, json_t *user, json_t *cb, long first)
{
	json_t *g = json_object();
	json_object_set_new(g, "count", json_integer(count));
	json_object_set_new(g, "status", json_string(status));
	json_object_set_new(g, "wait_reason", reason ? json_string(reason) : json_null());
	json_object_set_new(g, "user", user ? user : json_null());
	json_object_set_new(g, "created_by", cb ? cb : json_null());
	json_t *ids = json_array();
	for (long i = 0; i < count && i < 10; i++)
		json_array_append_new(ids, json_integer(first + i));
	json_object_set_new(g, "ids", ids);
	return g;
}

static void test_summary(void **state)
{
	(void)state;
	json_t *doc = doc_with(json_array(), 1003);
	json_t *sum = json_object();
	json_t *bs = json_object();
	json_object_set_new(bs, "running", json_integer(2));
	json_object_set_new(bs, "waiting", json_integer(1000));
	json_object_set_new(bs, "system", json_integer(1));
	json_object_set_new(sum, "by_status", bs);
	json_t *br = json_object();
	json_object_set_new(br, "chan send", json_integer(300));
	json_object_set_new(br, "chan receive", json_integer(400));
	json_object_set_new(br, "select", json_integer(300));
	json_object_set_new(sum, "by_wait_reason", br);
	json_t *groups = json_array();
	json_array_append_new(groups, group(400, "waiting", "chan receive",
					    frame("main.consumer", "/src/main.go", 42, NULL, 3, false),
					    frame("main.main", "/src/main.go", 30, NULL, 3, false), 100));
	json_array_append_new(groups, group(300, "waiting", "chan send",
					    frame("main.producer", "/src/prod/p.go", 7, NULL, 3, false), NULL, 500));
	json_array_append_new(groups, group(2, "running", NULL, NULL, NULL, 1));
	json_object_set_new(sum, "groups", groups);
	json_object_set_new(json_object_get(doc, "go"), "summary", sum);

	struct tli_render_opts o = { .top = 2 };
	/* the walker's own count of system goroutines, when by_status has none */
	json_object_del(bs, "system");
	json_object_set_new(sum, "system", json_integer(4));
	char *s0 = render_cmd("goroutines", doc, &o);
	assert_non_null(strstr(s0, "\nstatus:  waiting 1000, running 2 (4 system)\n"));
	free(s0);
	/* groups already cut by the walker: group_count is the total */
	json_object_set_new(sum, "group_count", json_integer(57));
	s0 = render_cmd("goroutines", doc, &o);
	assert_non_null(strstr(s0, "\ntop groups (2 of 57):\n"));
	free(s0);
	json_object_del(sum, "group_count");
	json_object_del(sum, "system");
	json_object_set_new(bs, "system", json_integer(1));
	char *s = render_cmd("goroutines", doc, &o);
	const char *want =
		"pid 4242 (/path/exe): go1.24.4, 1003 goroutines, target paused 12.3 ms\n"
		"status:  waiting 1000, running 2, system 1\n"
		"waiting: chan receive 400, chan send 300, select 300\n"
		"\n"
		"top groups (2 of 3):\n"
		"  COUNT  STATE         USER LOCATION               CREATED BY              IDS\n"
		"    400  chan receive  main.consumer (main.go:42)  main.main (main.go:30)  100 101 102 ...\n"
		"    300  chan send     main.producer (p.go:7)      -                       500 501 502 ...\n";
	assert_string_equal(s, want);
	free(s);
	o.top = 0; /* all groups */
	s = render_cmd("goroutines", doc, &o);
	assert_non_null(strstr(s, "groups (3):\n"));
	assert_non_null(strstr(s, "\n      2  running       -                           -                       1 2\n"));
	free(s);
	json_decref(doc);
}

/* ---- Go's own traceback as the oracle ---- */

/* Go prints argument words "main.outer(0x0?)"; tlinspect prints "(...)". */
static void normalize_args(char *line)
{
	if (line[0] == '\t' || !strncmp(line, "goroutine ", 10) || !strncmp(line, "created by ", 11))
		return;
	size_t n = strlen(line);
	if (n && line[n - 1] == ')') {
		/* find the '(' that opens the final argument list */
		int depth = 0;
		for (size_t i = n; i-- > 0;) {
			if (line[i] == ')')
				depth++;
			else if (line[i] == '(' && --depth == 0) {
				strcpy(line + i, "(...)");
				break;
			}
		}
	}
}

static const char *const known_status[] = { "idle", "runnable", "running", "syscall", "waiting",
					   "dead", "copystack", "preempted", NULL };

/* Parse Go's traceback text into the goroutine list of a result tree. */
static json_t *parse_go_traceback(const char *text)
{
	json_t *list = json_array();
	char *copy = strdup(text), *save = NULL;
	json_t *g = NULL, *pending = NULL; /* pending: frame waiting for its location line */
	bool pending_cb = false;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long id;
		int off = 0;
		if (sscanf(line, "goroutine %ld [%n", &id, &off) == 1 && off) {
			g = json_object();
			json_object_set_new(g, "id", json_integer(id));
			char state[128];
			snprintf(state, sizeof(state), "%s", line + off);
			char *end = strstr(state, "]:");
			assert_non_null(end);
			*end = 0;
			char *locked = strstr(state, ", locked to thread");
			json_object_set_new(g, "locked_to_thread", json_boolean(locked != NULL));
			if (locked)
				*locked = 0;
			char *min = strstr(state, " minutes");
			if (min) {
				char *comma = strrchr(state, ',');
				json_object_set_new(g, "wait_minutes", json_integer(atol(comma + 1)));
				*comma = 0;
			}
			bool st = false;
			for (int i = 0; known_status[i]; i++)
				st |= !strcmp(state, known_status[i]);
			json_object_set_new(g, "status", json_string(st ? state : "waiting"));
			json_object_set_new(g, "wait_reason", st ? json_null() : json_string(state));
			json_object_set_new(g, "stack", json_array());
			json_array_append_new(list, g);
			continue;
		}
		assert_non_null(g);
		if (line[0] == '\t') {
			assert_non_null(pending);
			char file[512];
			int ln = 0;
			unsigned offv = 0;
			char *colon = strrchr(line, ':');
			snprintf(file, sizeof(file), "%.*s", (int)(colon - line - 1), line + 1);
			int k = sscanf(colon + 1, "%d +0x%x", &ln, &offv);
			json_object_set_new(pending, "file", json_string(file));
			json_object_set_new(pending, "line", json_integer(ln));
			json_object_set_new(pending, "offset", k == 2 ? json_integer(offv) : json_null());
			if (!pending_cb)
				json_object_set_new(pending, "inlined", json_boolean(k != 2));
			pending = NULL;
			continue;
		}
		if (!strncmp(line, "created by ", 11)) {
			pending = json_object();
			char fn[256];
			long goid = 0;
			char *in = strstr(line, " in goroutine ");
			snprintf(fn, sizeof(fn), "%.*s", (int)((in ? in : line + strlen(line)) - line - 11), line + 11);
			if (in)
				goid = atol(in + 14);
			json_object_set_new(pending, "function", json_string(fn));
			json_object_set_new(pending, "goid", goid ? json_integer(goid) : json_null());
			json_object_set_new(g, "created_by", pending);
			pending_cb = true;
			continue;
		}
		/* a function line: name up to the argument list */
		char *paren = strrchr(line, '(');
		assert_non_null(paren);
		pending = json_object();
		json_object_set_new(pending, "function", json_stringn(line, (size_t)(paren - line)));
		json_array_append_new(json_object_get(g, "stack"), pending);
		pending_cb = false;
	}
	free(copy);
	return list;
}

static void check_against_go(const char *go_text)
{
	json_t *list = parse_go_traceback(go_text);
	assert_true(json_array_size(list) >= 9);
	json_t *doc = doc_with(list, (long)json_array_size(list));
	struct tli_render_opts o = { .top = -1, .no_summary = true, .system = true };
	char *ours = render_cmd("goroutines", doc, &o);
	/* drop our header line; Go's text has none */
	char *body = strchr(ours, '\n') + 1;
	char *want = strdup(go_text), *s1 = NULL, *s2 = NULL;
	char *a = strtok_r(want, "\n", &s1), *b = strtok_r(body, "\n", &s2);
	int lines = 0;
	while (a || b) {
		assert_non_null(a);
		assert_non_null(b);
		char norm[512];
		snprintf(norm, sizeof(norm), "%s", a);
		normalize_args(norm);
		if (strcmp(norm, b))
			fail_msg("line %d: Go printed '%s', tlinspect '%s'", lines + 1, a, b);
		lines++;
		a = strtok_r(NULL, "\n", &s1);
		b = strtok_r(NULL, "\n", &s2);
	}
	assert_true(lines > 40);
	free(want);
	free(ours);
	json_decref(doc);
}

static void test_matches_go_119_traceback(void **state)
{
	(void)state;
	check_against_go(GO_TRACEBACK_119);
}

static void test_matches_go_124_traceback(void **state)
{
	(void)state;
	check_against_go(GO_TRACEBACK_124);
}

/* ---- JSON ---- */

static void test_json_roundtrip(void **state)
{
	(void)state;
	json_t *list = json_array();
	json_t *g = gor(18, "waiting", "chan send");
	json_object_set_new(g, "wait_seconds", json_real(183.2));
	json_object_set_new(g, "current", frame("main.Ünïcode[...]", "/src/main.go", 42, "0x4a1b2c", 29, false));
	json_array_append_new(list, g);
	json_t *doc = doc_with(list, 1);
	struct buf b;
	buf_open(&b);
	assert_null(tli_render_json(b.f, doc));
	char *s = buf_close(&b);
	json_error_t je;
	json_t *back = json_loads(s, 0, &je);
	assert_non_null(back);
	assert_true(json_equal(doc, back));
	/* reals stay reals with their short form, UTF-8 is not escaped, indent 2, insertion order */
	assert_non_null(strstr(s, "\"pause_ms\": 12.3,"));
	assert_non_null(strstr(s, "\"wait_seconds\": 183.2,"));
	assert_true(json_is_real(json_object_get(json_object_get(back, "target"), "pause_ms")));
	assert_non_null(strstr(s, "main.Ünïcode[...]"));
	assert_true(!strncmp(s, "{\n  \"schema\": \"tlinspect/1\",\n  \"tool\": {", 39));
	assert_true(strstr(s, "\"target\"") < strstr(s, "\"go\"") && strstr(s, "\"go\"") < strstr(s, "\"warnings\""));
	assert_int_equal(s[strlen(s) - 1], '\n');
	/* an integral real keeps its decimal point */
	json_object_set_new(json_object_get(doc, "target"), "pause_ms", json_real(5.0));
	free(s);
	buf_open(&b);
	assert_null(tli_render_json(b.f, doc));
	s = buf_close(&b);
	assert_non_null(strstr(s, "\"pause_ms\": 5.0,"));
	free(s);
	/* a command without a text printer prints JSON */
	buf_open(&b);
	assert_null(tli_render_text(b.f, NULL, doc, NULL));
	s = buf_close(&b);
	back = (json_decref(back), json_loads(s, 0, &je));
	assert_true(json_equal(doc, back));
	free(s);
	json_decref(back);
	json_decref(doc);
}

static void test_lossy_string(void **state)
{
	(void)state;
	json_t *j = tli_json_string_lossy("ok\xff\xfe\xc3\xa9x\xe2\x82");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "ok??\xc3\xa9x??");
	json_decref(j);
	j = tli_json_string_lossy("\xed\xa0\x80"); /* surrogate: invalid in UTF-8 */
	assert_string_equal(json_string_value(j), "???");
	json_decref(j);
	assert_true(json_is_null(j = tli_json_string_lossy(NULL)));
	json_decref(j);
}

/* ---- scale: 100k goroutines ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: fair on a loaded machine */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *synth_doc(long n, int depth)
{
	json_t *list = json_array();
	char fn[64], file[64];
	for (long i = n; i >= 1; i--) { /* reverse order: the printer must sort */
		json_t *g = gor(i, "waiting", i % 3 ? "chan receive" : "select");
		json_object_set_new(g, "wait_minutes", json_integer(i % 5));
		snprintf(fn, sizeof(fn), "main.worker%ld", i % 97);
		snprintf(file, sizeof(file), "/src/pkg%ld/worker.go", i % 13);
		json_object_set_new(g, "current", frame("runtime.gopark", "/go/src/runtime/proc.go", 435, "0x43e0c5", 0xce, false));
		json_object_set_new(g, "user", frame(fn, file, (int)(i % 400), "0x49c12c", 0x2c, false));
		if (depth) {
			json_t *st = json_array();
			for (int d = 0; d < depth; d++)
				json_array_append_new(st, frame(fn, file, d + 10, "0x49c12c", d % 2 ? -1 : 0x40 + d, d % 2));
			json_object_set_new(g, "stack", st);
			json_object_set_new(g, "stack_truncated", json_false());
		}
		json_object_set_new(g, "created_by", created_by("main.main", "/src/main.go", 30, 0x5e, 1));
		json_array_append_new(list, g);
	}
	return doc_with(list, n);
}

/* Render into a temporary file (a real FILE, as stdout is) and read it back. */
static char *render_file(const char *cmd, json_t *doc, const struct tli_render_opts *o, double *secs)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	static char vbuf[1 << 16];
	setvbuf(f, vbuf, _IOFBF, sizeof(vbuf));
	double t0 = now_s();
	assert_null(tli_render_text(f, printer_of(cmd), doc, o));
	*secs = now_s() - t0;
	long n = ftell(f);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	rewind(f);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

static void test_render_100k(void **state)
{
	(void)state;
	const long n = 100000;
	const int depth = 8;
	double t0 = now_s();
	json_t *doc = synth_doc(n, depth);
	double t1 = now_s();
	struct tli_render_opts o = { .top = -1 };
	double with_stacks, without_stacks;
	char *s = render_file("goroutines", doc, &o, &with_stacks);
	long headers = 0;
	for (const char *p = s; (p = strstr(p, "\ngoroutine ")); p++)
		headers++;
	assert_int_equal(headers, n);
	assert_non_null(strstr(s, "\ngoroutine 1 [chan receive, 1 minutes]:\n"));
	assert_true(strstr(s, "\ngoroutine 1 [") < strstr(s, "\ngoroutine 2 [")); /* sorted by id */
	size_t len = strlen(s);
	free(s);
	/* without --stacks: current + user frames only */
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(json_object_get(doc, "go"), "goroutines"), i, g)
		json_object_del(g, "stack");
	s = render_file("goroutines", doc, &o, &without_stacks);
	double t4 = now_s();
	size_t len2 = strlen(s);
	free(s);
	FILE *jf = fopen("/dev/null", "w");
	assert_null(tli_render_json(jf, doc));
	fclose(jf);
	double t5 = now_s();
	print_message("100k goroutines, CPU time: build tree %.0f ms; text with 8-frame stacks %.0f ms "
		      "(%.1f MB); text without stacks %.0f ms (%.1f MB); json %.0f ms\n",
		      (t1 - t0) * 1e3, with_stacks * 1e3, (double)len / 1e6, without_stacks * 1e3,
		      (double)len2 / 1e6, (t5 - t4) * 1e3);
	/* times are printed, not asserted: a unit test must not fail on a loaded machine (the
	 * printer's speed is measured in tests/bench/, which compares runs taken together) */
	json_decref(doc);
}

/* ---- glibc bins: size ranges in hex ---- */

static void test_bins_size_range_hex(void **state)
{
	(void)state;
	json_error_t je;
	json_t *doc = json_loads("{\"schema\": \"tlinspect/1\", \"glibc\": {\"arenas\": [{\"index\": 0, "
				 "\"address\": \"0x7f0000000000\", \"top_size\": 1024, \"small\": [{\"index\": 17, "
				 "\"count\": 2, \"bytes\": 544, \"min_size\": 272, \"max_size\": 626}], \"large\": []}]}}",
				 0, &je);
	assert_non_null(doc);
	char *s = render_cmd("bins", doc, NULL);
	/* both ends in hex: 0x110-0x272, never a decimal number with an "x" after it */
	if (!strstr(s, "small bin  17: 2 chunks 544 bytes (0x110-0x272)\n"))
		fail_msg("bins text: %s", s);
	free(s);
	json_decref(doc);
}

/* ---- glibc leaks with nothing unreachable: no empty table ---- */

static void test_glibc_leaks_none(void **state)
{
	(void)state;
	json_error_t je;
	json_t *doc = json_loads("{\"schema\": \"tlinspect/1\", \"heap\": {\"unreachable\": {\"count\": 0, "
				 "\"bytes\": 0}, \"in_use_chunks\": 12, \"root_bytes\": 4096, \"root_registers\": 16, "
				 "\"groups\": [], \"unreachable_chunks\": []}}", 0, &je);
	assert_non_null(doc);
	char *s = render_cmd("leaks", doc, NULL);
	assert_non_null(strstr(s, "0 unreachable chunks (0 bytes) of 12 in use"));
	if (strstr(s, "chunk size"))
		fail_msg("leaks with 0 unreachable chunks prints a table header: %s", s);
	free(s);
	json_decref(doc);
}

/* ---- timers and sync.Maps: what the tree says, hostile strings cleaned ---- */

static void test_timers_and_sync_maps(void **state)
{
	(void)state;
	json_error_t je;
	json_t *doc = json_loads("{\"schema\": \"tlinspect/1\", \"go\": {\"timers\": {\"count\": 7, \"ps\": 2, "
				 "\"deleted\": 1, \"unreadable\": 0, \"now_source\": \"monotonic clock\", \"groups\": ["
				 "{\"function\": \"main.arm.func1\", \"kind\": \"after_func\", \"callback\": \"time.goFunc\", "
				 "\"count\": 4, \"period_seconds\": 0, \"next_in_seconds\": 12.5},"
				 "{\"function\": \"time.sendTime\", \"kind\": \"ticker\", \"callback\": null, \"count\": 3, "
				 "\"period_seconds\": 3600, \"next_in_seconds\": null}], \"problems\": [\"bad\\u001b[2J\"]}}}",
				 0, &je);
	assert_non_null(doc);
	char *s = render_cmd("timers", doc, NULL);
	assert_non_null(strstr(s, "7 timers in 2 Ps' heaps (1 deleted"));
	assert_non_null(strstr(s, "main.arm.func1 (via time.goFunc)"));
	assert_non_null(strstr(s, "3600.000s"));
	assert_null(strchr(s, '\x1b'));
	free(s);
	json_decref(doc);
	doc = json_loads("{\"schema\": \"tlinspect/1\", \"go\": {\"pools\": {\"sql_dbs\": [], \"maps\": [], "
			 "\"maps_total\": 0, \"maps_bytes\": 0, \"sync_maps\": ["
			 "{\"address\": \"0x1\", \"name\": \"main.s\", \"representation\": \"read_dirty\", \"entries\": 70, "
			 "\"read_size\": 100, \"dirty_size\": 71, \"misses\": 5, \"amended\": true, \"expunged\": 30, "
			 "\"deleted\": 1}, {\"address\": \"0x2\", \"name\": null, \"representation\": \"hash_trie\", "
			 "\"unreadable\": \"a cycle\"}]}}}", 0, &je);
	assert_non_null(doc);
	s = render_cmd("pools", doc, NULL);
	assert_non_null(strstr(s, "main.s: entries 70  read 100  dirty 71  misses 5  expunged 30  deleted 1  amended"));
	assert_non_null(strstr(s, "0x2: unreadable: a cycle"));
	free(s);
	json_decref(doc);
}

/* a long location keeps its end: "...(*T).Method (<autogenerated>:1)", not "(<autoge..." */
static void test_long_location_keeps_its_end(void **state)
{
	(void)state;
	json_t *doc = doc_with(json_array(), 1);
	json_t *sum = json_object();
	json_t *groups = json_array();
	json_array_append_new(groups, group(5, "waiting", "chan receive",
					    frame("github.com/someorg/somerepo/internal/transport.(*connectionManager).watch",
						  "<autogenerated>", 1, NULL, 3, false),
					    frame("main.main", "/src/main.go", 30, NULL, 3, false), 10));
	json_object_set_new(sum, "groups", groups);
	json_object_set_new(json_object_get(doc, "go"), "summary", sum);
	char *s = render_cmd("goroutines", doc, NULL);
	if (!strstr(s, "  ...*connectionManager).watch (<autogenerated>:1)  ") || strstr(s, "(<autoge..."))
		fail_msg("location cell not cut at its start: %s", s);
	free(s);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_location_keeps_its_end),
		cmocka_unit_test(test_timers_and_sync_maps),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_block_with_stack),
		cmocka_unit_test(test_minutes_rule),
		cmocka_unit_test(test_created_by_without_goid),
		cmocka_unit_test(test_current_and_user),
		cmocka_unit_test(test_unreadable_and_missing),
		cmocka_unit_test(test_listing_order_and_system),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_matches_go_119_traceback),
		cmocka_unit_test(test_matches_go_124_traceback),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_lossy_string),
		cmocka_unit_test(test_bins_size_range_hex),
		cmocka_unit_test(test_glibc_leaks_none),
		cmocka_unit_test(test_render_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
