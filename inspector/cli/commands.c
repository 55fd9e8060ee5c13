/* SPDX-License-Identifier: MIT */
/* The command table and the command handlers. */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"
#include "go/gobin.h"
#include "glibc/glibc.h"
#include "runtime_maps/maps.h"
#include "go/goroutines.h"
#include "shell/shell.h"
#include "explain/explain.h"
#include "render/render.h"
#include "go/chans.h"
#include "go/heap_cmd.h"
#include "go/census.h"
#include "render/pprof.h"
#include "overtime_cmds.h"
#include "goroutines_cmds.h"
#include "pools_cmds.h"

const char *const tli_default_command = "goroutines";

/* ---- global options (parsed in options.c) ---- */

const struct tli_option tli_global_options[] = {
	{ "pid", 'p', TLI_OPT_INT, "PID", "inspect the live process PID (stopped briefly, then resumed)",
	  1, 0x7fffffff, false },
	{ "core", 'c', TLI_OPT_STRING, "FILE", "inspect the ELF core file FILE", 0, 0, false },
	{ "exe", 'e', TLI_OPT_STRING, "BIN", "the executable (default: from the core or /proc/PID/exe)",
	  0, 0, false },
	{ "sysroot", 0, TLI_OPT_STRING, "DIR[:DIR...]", "root of the files the core names: a directory, or an image's unpacked layers, topmost first", 0, 0, false },
	{ "json", 'j', TLI_OPT_FLAG, NULL, "print the result as JSON (schema tlinspect/1)", 0, 0, false },
	{ "no-stop", 0, TLI_OPT_FLAG, NULL, "do not stop the process (a debugger already holds it stopped)", 0, 0, false },
	{ "timeout", 0, TLI_OPT_INT, "MS", "give up stopping the process after MS milliseconds (default 2000)", 1, 3600000, false },
	{ "snapshot", 0, TLI_OPT_STRING, "MODE", "copy (default: the process stays stopped while it is read) "
	  "or fork (stopped only while it forks a frozen copy of itself, which is read)", 0, 0, false },
	{ "no-dwarf", 0, TLI_OPT_FLAG, NULL, "ignore DWARF; use symbols and runtime maps only", 0, 0, false },
	{ "verbose", 'v', TLI_OPT_FLAG, NULL, "print timings and details to stderr", 0, 0, false },
	{ "quiet", 'q', TLI_OPT_FLAG, NULL, "do not print warnings", 0, 0, false },
	{ "help", 'h', TLI_OPT_FLAG, NULL, "show help (of the command, if one is given)", 0, 0, false },
	{ "version", 0, TLI_OPT_FLAG, NULL, "print the tool version", 0, 0, false },
	{ "print-commands", 0, TLI_OPT_FLAG, NULL, "list commands as NAME<TAB>ARGS<TAB>SUMMARY", 0, 0, true },
	{ "print-options", 0, TLI_OPT_FLAG, NULL, "list the options (of the command, if one is given)",
	  0, 0, true },
	{ "gdb-hint", 0, TLI_OPT_FLAG, NULL,
	  "read gdb's `info inferiors` and `info target` output on stdin to find the target "
	  "(used by gdb-ext/tlinspect.gdb; a live target is then read without stopping it)", 0, 0, true },
	{ "pages", 0, TLI_OPT_STRING, "DIR",
	  "read the target's memory only from page files in DIR that gdb dumped; missing pages are "
	  "named in DIR/request.gdb and the exit status is 20 (gdb face fallback, tlinspect-gdb(7))",
	  0, 0, true },
	{ "thread-regs", 0, TLI_OPT_STRING, "FILE",
	  "with --no-stop: the registers of the process's threads as the debugger holding it knows them, "
	  "in the form of gdb's `thread apply all info registers` (`-` reads stdin; used by the LLDB face)",
	  0, 0, true },
	{ "pages-slot", 0, TLI_OPT_FLAG, NULL,
	  "claim the page directory of the gdb running tlinspect; exit status 100 + its number "
	  "(used by gdb-ext/tlinspect.gdb)", 0, 0, true },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

/* ---- command options ---- */

static const struct tli_option goroutines_options[] = {
	{ "stacks", 0, TLI_OPT_FLAG, NULL, "print every goroutine's whole stack", 0, 0, false },
	{ "all-frames", 0, TLI_OPT_FLAG, NULL,
	  "with --stacks: do not hide runtime frames (implies --stacks)", 0, 0, false },
	{ "system", 0, TLI_OPT_FLAG, NULL, "list runtime-internal (system) goroutines too", 0, 0, false },
	{ "top", 0, TLI_OPT_INT, "N", "rows of the top groups table (default 10, 0 = all)", 0, 1000000, false },
	{ "pprof", 0, TLI_OPT_STRING, "FILE",
	  "write the goroutine profile (as pprof's goroutine profile, debug=0) to FILE", 0, 0, false },
	{ "force", 0, TLI_OPT_FLAG, NULL, "with --pprof: replace an existing file", 0, 0, false },
	{ "folded", 0, TLI_OPT_FLAG, NULL,
	  "one line per distinct stack, outermost frame first, with its goroutine count (flame graphs)", 0, 0, false },
	{ "label", 0, TLI_OPT_STRING, "KEY=VALUE",
	  "only goroutines with this pprof label (repeatable: all must match)", 0, 0, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option snapshot_options[] = {
	{ "output", 'o', TLI_OPT_STRING, "FILE", "write the snapshot to FILE (new, mode 0600)", 0, 0, false },
	{ "force", 0, TLI_OPT_FLAG, NULL, "replace an existing FILE", 0, 0, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option watch_options[] = {
	{ "interval", 0, TLI_OPT_INT, "S", "seconds between samples (default 10)", 1, 86400, false },
	{ "count", 0, TLI_OPT_INT, "N", "samples to take (default 6)", 2, 100000, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option goroutine_options[] = {
	{ "all-frames", 0, TLI_OPT_FLAG, NULL, "do not hide runtime frames", 0, 0, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option heap_options[] = {
	{ "top", 0, TLI_OPT_INT, "N", "rows of the top sizes / Go size classes tables (default 10, 0 = all)",
	  0, 1000000, false },
	{ "chunks", 0, TLI_OPT_FLAG, NULL, "list every chunk in the result (large)", 0, 0, false },
	{ "retention", 0, TLI_OPT_FLAG, NULL, "Go: add go.retention, the retention profile (large)", 0, 0, false },
	{ "pprof", 0, TLI_OPT_STRING, "FILE",
	  "Go: write who retains the live objects as a gzipped pprof profile (go tool pprof FILE)", 0, 0, false },
	{ "force", 0, TLI_OPT_FLAG, NULL, "with --pprof: replace an existing file", 0, 0, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option leaks_options[] = {
	{ "top", 0, TLI_OPT_INT, "N", "rows of the leak groups table (default 10, 0 = all)", 0, 1000000, false },
	{ "no-heap", 0, TLI_OPT_FLAG, NULL,
	  "Go: only the certain part (nil channel, select {}); do not scan the Go heap", 0, 0, false },
	{ "explain", 0, TLI_OPT_INT, "ID", "Go: why goroutine ID is (not) leaked: its root path", 1, INT64_MAX, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option chan_options[] = {
	{ "values", 0, TLI_OPT_FLAG, NULL, "show string elements (redacted by default)", 0, 0, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option graph_options[] = {
	{ "dot", 0, TLI_OPT_FLAG, NULL, "print the graph in graphviz DOT", 0, 0, false },
	{ "focus", 0, TLI_OPT_STRING, "ID|ADDR",
	  "only what lies within two edges of goroutine ID or the channel at ADDR, ungrouped", 0, 0, false },
	{ "leaks", 0, TLI_OPT_FLAG, NULL, "mark leaked goroutines as `leaks` judges them (scans the Go heap)",
	  0, 0, false },
	{ "top", 0, TLI_OPT_INT, "N", "groups drawn (default 40, 0 = all)", 0, 1000000, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option chans_options[] = {
	{ "top", 0, TLI_OPT_INT, "N", "channels listed, most waiters first (default 40, 0 = all)", 0, 1000000, false },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

static const struct tli_option help_options[] = {
	{ "list", 0, TLI_OPT_FLAG, NULL, "list commands as NAME<TAB>ARGS<TAB>SUMMARY", 0, 0, true },
	{ NULL, 0, 0, NULL, NULL, 0, 0, false },
};

/* ---- helpers ---- */

const struct tli_optval *tli_cmd_opt(const struct tli_cmd_ctx *ctx, const char *name)
{
	int i = tli_command_option_index(ctx->cmd, name);
	return i < 0 || !ctx->vals ? NULL : &ctx->vals[i];
}

static bool flag(const struct tli_cmd_ctx *ctx, const char *name)
{
	const struct tli_optval *v = tli_cmd_opt(ctx, name);
	return v && v->set;
}

/* "18" → 18; usage error otherwise. */
static struct tli_error *parse_goid(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v <= 0)
		return tli_error_create(TLI_E_USAGE, "invalid goroutine id '%s': expected a positive integer",
					s);
	*ret = v;
	return NULL;
}

/* ---- handlers ---- */

static struct tli_error *cmd_goroutines(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *top = tli_cmd_opt(ctx, "top");
	struct tli_go_opts o = {
		.stacks = flag(ctx, "stacks") || flag(ctx, "all-frames"),
		.all_frames = flag(ctx, "all-frames"),
		.system = flag(ctx, "system"),
		.top = top && top->set ? (int)top->num : 10,
	};
	struct tli_error *lerr = tli_cmd_goroutines_labels(ctx, &o);
	if (lerr)
		return lerr;
	const struct tli_optval *pprof = tli_cmd_opt(ctx, "pprof");
	if (flag(ctx, "folded"))
		return tli_cmd_goroutines_folded(ctx, &o, result);
	if (!pprof || !pprof->set)
		return tli_cmd_goroutines_plain(ctx, &o, result);
	/* the profile needs every frame; the listing keeps them only if --stacks asked */
	struct tli_go_opts all = o;
	all.stacks = all.profile_frames = true;
	struct tli_error *err = tli_go_cmd_goroutines(ctx->session, &all, result);
	if (!err)
		err = tli_goroutines_pprof(ctx, result, pprof->str, flag(ctx, "force"));
	if (!err && !o.stacks) {
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(json_object_get(result, "go"), "goroutines"), i, g) {
			json_object_del(g, "stack");
			json_object_del(g, "stack_truncated");
		}
	}
	return err;
}

static struct tli_error *check_goroutine(int argc, char **argv)
{
	int64_t id;
	return argc > 0 ? parse_goid(argv[0], &id) : NULL;
}

static struct tli_error *cmd_goroutine(struct tli_cmd_ctx *ctx, json_t *result)
{
	int64_t id = 0;
	struct tli_error *err = parse_goid(ctx->argv[0], &id);
	if (err)
		return err;
	struct tli_go_opts o = {
		.stacks = true,
		.all_frames = flag(ctx, "all-frames"),
		.system = true,
		.top = 0,
		.only_id = id,
	};
	err = tli_go_cmd_goroutines(ctx->session, &o, result); /* with blocked_on */
	if (err)
		return err;
	/* Keep only goroutine `id` (the walker may or may not filter by only_id). */
	json_t *go = json_object_get(result, "go");
	json_t *list = json_object_get(go, "goroutines");
	json_t *found = NULL;
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		json_t *gid = json_object_get(g, "id");
		if (json_is_integer(gid) && json_integer_value(gid) == id) {
			found = json_incref(g);
			break;
		}
	}
	if (!found)
		return tli_error_create(TLI_E_NO_TARGET, "no goroutine %" PRId64 " in the target", id);
	json_t *one = json_array();
	json_array_append_new(one, found);
	json_object_set_new(go, "goroutines", one);
	json_object_del(go, "summary");
	return NULL;
}

static struct tli_error *cmd_version(struct tli_cmd_ctx *ctx, json_t *result)
{
	if (!ctx->session)
		return NULL;
	struct tli_gobin *b = NULL;
	struct tli_error *err = tli_session_gobin(ctx->session, &b);
	if (err)
		return err;
	json_t *tg = json_object();
	const char *v = tli_gobin_version(b);
	json_object_set_new(tg, "go_version", v ? json_string(v) : json_null());
	json_object_set_new(result, "target", tg);
	return NULL;
}

/* glibc malloc commands (inspector/glibc) */
static struct tli_glibc_opts glibc_opts(const struct tli_cmd_ctx *ctx)
{
	const struct tli_optval *top = tli_cmd_opt(ctx, "top");
	struct tli_glibc_opts o = {
		.top = top && top->set ? (top->num == 0 ? -1 : (int)top->num) : 0,
		.chunks = flag(ctx, "chunks"),
	};
	return o;
}

/* heap: the glibc section (unchanged) and, on a Go program, the Go section. The Go side
 * captures first and keeps the target stopped; the glibc side captures in the same stop. */
struct heap_both {
	struct tli_cmd_ctx *ctx;
	json_t *result;
	struct tli_error *gerr;
	bool ran;
};

static bool heap_glibc_between(void *arg)
{
	struct heap_both *b = arg;
	struct tli_glibc_opts o = glibc_opts(b->ctx);
	b->ran = true;
	b->gerr = tli_glibc_heap(b->ctx->session, &o, b->result);
	return b->gerr == NULL;
}

static struct tli_error *cmd_heap(struct tli_cmd_ctx *ctx, json_t *result)
{
	struct tli_gobin *gb = NULL;
	struct tli_error *goerr = tli_session_gobin(ctx->session, &gb);
	if (goerr) { /* not a Go program: glibc only, as always */
		tli_error_destroy(goerr);
		struct tli_glibc_opts o = glibc_opts(ctx);
		return tli_glibc_heap(ctx->session, &o, result);
	}
	const struct tli_optval *top = tli_cmd_opt(ctx, "top"), *pprof = tli_cmd_opt(ctx, "pprof");
	const char *pprof_path = pprof && pprof->set ? pprof->str : NULL;
	struct tli_go_heap_opts go = {
		.top = top && top->set ? (top->num == 0 ? -1 : (int)top->num) : 0,
		.census = true,
		.retention = flag(ctx, "retention") || pprof_path,
	};
	struct heap_both b = { .ctx = ctx, .result = result };
	goerr = tli_go_cmd_heap(ctx->session, &go, heap_glibc_between, &b, result);
	if (!goerr && pprof_path) {
		/* the retention profile goes to the file; the result keeps it only if asked */
		json_t *gosec = json_object_get(result, "go");
		json_t *prof = json_object_get(gosec, "retention");
		if (!prof)
			goerr = tli_error_create(TLI_E_NO_INFO, "--pprof %s: no retention profile (the Go heap "
						 "could not be read; see the warnings)", pprof_path);
		else {
			/* when the memory was captured (a core: when it was written, as far as known) */
			uint64_t now = ctx->session->target ? ctx->session->target->wall_now_ns : 0;
			if (now)
				json_object_set_new(prof, "time_nanos", json_integer((json_int_t)now));
			goerr = tli_pprof_write_file(prof, pprof_path, flag(ctx, "force"));
		}
		if (goerr) {
			tli_error_destroy(b.gerr);
			return goerr;
		}
		if (!flag(ctx, "retention"))
			json_object_del(gosec, "retention");
		json_object_set_new(gosec, "pprof", json_string(pprof_path));
	}
	if (!b.ran)
		heap_glibc_between(&b);
	if (goerr && b.gerr) {
		/* both failed: the Go error (this is a Go program) */
		tli_error_destroy(b.gerr);
		return goerr;
	}
	if (goerr) {
		tli_session_warn(ctx->session, "Go heap: %s", goerr->msg);
		tli_error_destroy(goerr);
	}
	if (b.gerr) {
		/* a pure-Go (static) program has no libc: no glibc section, no warning */
		if (b.gerr->code != TLI_E_NOT_GO)
			tli_session_warn(ctx->session, "glibc heap: %s", b.gerr->msg);
		tli_error_destroy(b.gerr);
	}
	return NULL;
}

static struct tli_error *cmd_arenas(struct tli_cmd_ctx *ctx, json_t *result)
{
	struct tli_glibc_opts o = glibc_opts(ctx);
	return tli_glibc_arenas(ctx->session, &o, result);
}

static struct tli_error *cmd_bins(struct tli_cmd_ctx *ctx, json_t *result)
{
	struct tli_glibc_opts o = glibc_opts(ctx);
	return tli_glibc_bins(ctx->session, &o, result);
}

static struct tli_error *parse_addr(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (!*s || *end || errno)
		return tli_error_create(TLI_E_USAGE, "invalid address '%s': expected a number such as "
					"0x55d0c0a012a0", s);
	if (v == 0) /* strtoull read it: a number, but no object is there */
		return tli_error_create(TLI_E_USAGE, "invalid address '%s': the null address", s);
	*ret = v;
	return NULL;
}

static struct tli_error *check_addr(int argc, char **argv)
{
	uint64_t a;
	return argc > 0 ? parse_addr(argv[0], &a) : NULL;
}

static struct tli_error *cmd_chunk(struct tli_cmd_ctx *ctx, json_t *result)
{
	uint64_t addr;
	struct tli_error *err = parse_addr(ctx->argv[0], &addr);
	if (err)
		return err;
	struct tli_glibc_opts o = glibc_opts(ctx);
	return tli_glibc_chunk(ctx->session, &o, addr, result);
}

/* leaks: both worlds; the Go side keeps the target stopped for the glibc side (one failure: a warning) */
struct leaks_both {
	struct tli_cmd_ctx *ctx;
	json_t *result;
	struct tli_error *gerr;
	bool ran;
};

static bool leaks_glibc_between(void *arg)
{
	struct leaks_both *b = arg;
	struct tli_glibc_opts o = glibc_opts(b->ctx);
	b->ran = true;
	b->gerr = tli_glibc_leaks(b->ctx->session, &o, b->result);
	return b->gerr == NULL;
}

static struct tli_error *cmd_leaks(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *top = tli_cmd_opt(ctx, "top");
	struct tli_go_leak_opts go = {
		.top = top && top->set ? (top->num == 0 ? -1 : (int)top->num) : 0,
		.no_heap = flag(ctx, "no-heap"),
		.explain_id = flag(ctx, "explain") ? tli_cmd_opt(ctx, "explain")->num : 0,
	};
	struct leaks_both b = { .ctx = ctx, .result = result };
	tli_glibc_prepare_early(ctx->session); /* libc's layout now, not inside the Go side's stop */
	struct tli_gobin *gb = NULL;
	struct tli_error *goerr = tli_session_gobin(ctx->session, &gb);
	if (!goerr)
		goerr = tli_go_cmd_leaks(ctx->session, &go, leaks_glibc_between, &b, result);
	if (!b.ran)
		leaks_glibc_between(&b);
	if (goerr && b.gerr) {
		/* both failed: report the more specific one */
		bool go_is_go = goerr->code != TLI_E_NOT_GO;
		struct tli_error *keep = go_is_go ? goerr : b.gerr;
		tli_error_destroy(go_is_go ? b.gerr : goerr);
		return keep;
	}
	if (goerr) {
		if (goerr->code != TLI_E_NOT_GO)
			tli_session_warn(ctx->session, "Go leaks: %s", goerr->msg);
		tli_error_destroy(goerr);
	}
	if (b.gerr) {
		if (b.gerr->code != TLI_E_NOT_GO || !gb)
			tli_session_warn(ctx->session, "glibc leaks: %s", b.gerr->msg);
		tli_error_destroy(b.gerr);
	}
	return NULL;
}

static struct tli_error *cmd_chans(struct tli_cmd_ctx *ctx, json_t *result)
{
	struct tli_go_chans_opts o = { .queues = true };
	return tli_go_cmd_chans(ctx->session, &o, result);
}

static struct tli_error *cmd_chan(struct tli_cmd_ctx *ctx, json_t *result)
{
	uint64_t addr;
	struct tli_error *err = parse_addr(ctx->argv[0], &addr);
	if (err)
		return err;
	struct tli_go_chans_opts o = { .values = flag(ctx, "values"), .queues = true, .buffers = true };
	return tli_go_cmd_chan(ctx->session, addr, &o, result);
}

static struct tli_error *cmd_graph(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *focus = tli_cmd_opt(ctx, "focus");
	struct tli_go_graph_opts o = {
		.dot = flag(ctx, "dot"),
		.leaks = flag(ctx, "leaks"),
		.focus = focus && focus->set ? focus->str : NULL,
	};
	return tli_go_cmd_graph(ctx->session, &o, result);
}

static struct tli_error *cmd_shell(struct tli_cmd_ctx *ctx, json_t *result)
{
	(void)result;
	if (!ctx->cli)
		return tli_error_create(TLI_E_UNSUPPORTED, "the shell runs only from the command line");
	return tli_shell_main(ctx->cli, ctx->session);
}

/* runtime-maps: `maps gen BINARY` prints the layout map of a binary built with DWARF */
static struct tli_error *check_maps(int argc, char **argv)
{
	if (argc > 0 && strcmp(argv[0], "gen"))
		return tli_error_create(TLI_E_USAGE, "unknown maps subcommand '%s' (expected: maps gen BINARY)",
					argv[0]);
	return NULL;
}

static struct tli_error *cmd_maps(struct tli_cmd_ctx *ctx, json_t *result)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return &tli_enomem;
	struct tli_error *err = tli_maps_gen(ctx->argv[1], f);
	fclose(f);
	if (!err)
		json_object_set_new(result, "map", json_stringn(text, len));
	free(text);
	return err;
}

static struct tli_error *cmd_explain(struct tli_cmd_ctx *ctx, json_t *result)
{
	return tli_explain(ctx->session, ctx->argv[0], ctx->argc > 1 ? ctx->argv[1] : NULL, result);
}

static struct tli_error *check_help(int argc, char **argv)
{
	if (argc == 0 || tli_command_find(argv[0]))
		return NULL;
	const char *s = tli_command_suggest(argv[0]);
	return tli_error_create(TLI_E_USAGE, "no help for unknown command '%s'%s%s%s", argv[0],
				s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
}

static struct tli_error *cmd_help(struct tli_cmd_ctx *ctx, json_t *result)
{
	if (ctx->argc > 0) {
		const struct tli_command *c = tli_command_find(ctx->argv[0]);
		if (!c)
			return check_help(ctx->argc, ctx->argv);
		json_object_set_new(result, "command", tli_command_describe(c));
		return NULL;
	}
	json_object_set_new(result, "usage",
			    json_string("tlinspect [--pid PID | --core FILE [--exe BIN] [--sysroot DIR]] "
					"[OPTIONS] [COMMAND [ARGS]]"));
	json_object_set_new(result, "description",
			    json_string("Inspect the Go runtime of a stopped process or a core file "
					"from outside: goroutines, their states and stacks."));
	json_object_set_new(result, "global_options", tli_options_describe(tli_global_options));
	json_t *cmds = json_array();
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!c->hidden)
			json_array_append_new(cmds, tli_command_describe(c));
	json_object_set_new(result, "commands", cmds);
	return NULL;
}

/* ---- the table ---- */

const struct tli_command tli_commands[] = {
	{
		.name = "goroutines",
		.args = "[--stacks] [--all-frames] [--system] [--top N] [--label K=V]... [--pprof FILE [--force]] [--folded]",
		.summary = "list goroutines: summary, top groups and a Go-style traceback (default)",
		.help = "Stops the target briefly (live), copies what it needs, resumes it, then lists\n"
			"every goroutine: a summary by status and wait reason, the largest groups of\n"
			"goroutines waiting at the same place, and each goroutine in the format of Go's\n"
			"own traceback. Without --stacks only the innermost frame and the first user\n"
			"frame are shown. Runtime-internal goroutines are counted as \"system\" and\n"
			"listed only with --system. Without a command (the first screen, one stop): the\n"
			"summary, groups, leaked count, memory, pools and timers (--stacks: the listing).\n"
			"--pprof FILE writes the goroutine profile pprof.Lookup(\"goroutine\") would\n"
			"write (debug=0: every frame, counts per stack and labels, no system goroutines).\n"
			"--folded prints folded stacks (\"outer;...;inner COUNT\", the frames --stacks shows)\n"
			"for flame-graph tools (flamegraph.pl, speedscope); JSON: go.folded.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_goroutines,
		.text = &tli_print_goroutines,
		.options = goroutines_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "goroutine",
		.args = "ID [--all-frames]",
		.summary = "show one goroutine with its whole stack",
		.help = "Shows goroutine ID (as printed by `goroutines`) with its full stack, created-by\n"
			"line and wait time, in the same format as the listing. Exits with status 3 if\n"
			"there is no such goroutine.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_goroutine,
		.text = &tli_print_goroutine,
		.options = goroutine_options,
		.min_args = 1, .max_args = 1,
		.check = check_goroutine,
	},
	{
		.name = "heap",
		.args = "[--top N] [--chunks] [--retention] [--pprof FILE [--force]]",
		.summary = "Go memstats, size classes, live objects by type; glibc malloc: arenas, totals (= mallinfo2), top sizes",
		.help = "On a Go program, first a Go section: runtime.MemStats as ReadMemStats would\n"
			"return them now (computed from outside, mcache contents included) and the\n"
			"in-use spans per size class, and the live objects (reachable from the roots\n"
			"the runtime uses) by type, with the share that stayed untyped; --pprof FILE\n"
			"writes who retains them as a profile for `go tool pprof`. Then the glibc\n"
			"section if libc is mapped.\n"
			"Walks every arena, heap and chunk of glibc's malloc and every bin (tcache per\n"
			"thread, fast, unsorted, small, large). The \"mallinfo2\" object equals what\n"
			"mallinfo2() in the target would return; per-arena totals match malloc_info().\n"
			"Needs libc's debug info (libc6-dbg, found by build-id; more directories in\n"
			"$TLINSPECT_DEBUG_DIRS). Chunks in tcache and fastbins are free to the program\n"
			"but in use to the arena: both views are shown, labelled.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_heap,
		.text = &tli_print_heap,
		.options = heap_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "arenas",
		.args = "",
		.summary = "glibc malloc: per arena system memory, top, heaps, in-use/free, fragmentation",
		.help = "One entry per malloc arena (main and thread arenas): system_mem, top chunk, heap\n"
			"segments, bytes in use and free, and fragmentation.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_arenas,
		.text = &tli_print_arenas,
		.options = NULL,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "bins",
		.args = "",
		.summary = "glibc malloc: tcache per thread, fastbins, unsorted, small and large bins",
		.help = "Counts and bytes of every bin of every arena and each thread's tcache\n"
			"(found through the thread pointer). Safe-linking is decoded on glibc >= 2.32.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_bins,
		.text = &tli_print_bins,
		.options = NULL,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "chunk",
		.args = "ADDR",
		.summary = "glibc malloc: the chunk containing ADDR, its flags, neighbours and bin",
		.help = "Decodes the chunk that contains ADDR (a pointer malloc returned, or any address\n"
			"inside the chunk): size, flags, previous and next chunks, and which bin holds it.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_chunk,
		.text = &tli_print_chunk,
		.options = NULL,
		.min_args = 1, .max_args = 1,
		.check = check_addr,
	},
	{
		.name = "chans",
		.args = "[--top N]",
		.summary = "Go: every channel a goroutine waits on, with len/cap, closed and waiters",
		.help = "Channels referenced by any blocked goroutine's sudogs (g.waiting chains), with\n"
			"element type, len/cap, closed, and how many senders and receivers wait on each;\n"
			"sorted by waiters. Stale select entries (a case that already fired) are not counted.\n"
			"The text lists the first --top channels (JSON has every one).",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_chans,
		.text = &tli_print_chans,
		.options = chans_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "chan",
		.args = "ADDR [--values]",
		.summary = "Go: one channel fully decoded: type, ring buffer, recvq and sendq",
		.help = "Decodes the runtime.hchan at ADDR (as printed by `chans` or %p in Go): element\n"
			"type, elemsize, dataqsiz, qcount, closed, sendx/recvx drawn on the ring, the\n"
			"buffered elements decoded for basic types (strings redacted unless --values),\n"
			"then recvq and sendq: goroutine id, its user frame, isSelect and elem address.\n"
			"A channel that cannot be fully decoded is reported with \"unreadable: why\".",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_chan,
		.text = &tli_print_chan,
		.options = chan_options,
		.min_args = 1, .max_args = 1,
		.check = check_addr,
	},
	{
		.name = "graph",
		.args = "[--dot] [--focus ID|ADDR] [--leaks] [--top N]",
		.summary = "Go: the goroutine <-> channel wait-for graph (graphviz DOT with --dot)",
		.help = "Nodes are blocked goroutines and the channels they wait on; an edge goroutine ->\n"
			"channel means \"waits to send/receive on\", channel -> goroutine means \"the\n"
			"goroutine's stack holds a reference to the channel\" (so it might complete it).\n"
			"Cycles of blocked goroutines (deadlocks) are listed. --dot prints DOT.\n"
			"Goroutines and channels of the same shape (same wait, place and neighbours) are\n"
			"drawn once with a count; --focus draws every node near one goroutine or channel.\n"
			"Leaked goroutines are red: nil-channel and select {} ones, and with --leaks\n"
			"those `leaks` finds by scanning the Go heap.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_graph,
		.text = &tli_print_graph,
		.options = graph_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "leaks",
		.args = "[--top N] [--no-heap] [--explain ID]",
		.summary = "leaked goroutines (Go) and unreachable malloc chunks (glibc)",
		.help = "Go: goroutines blocked forever by the definition of Go 1.26's goroutineleak\n"
			"profile: blocked on a channel, select, nil channel, select {} or sync primitive\n"
			"that nothing still able to run can reach. Roots are data/bss, the stacks of\n"
			"goroutines not blocked for user reasons and thread registers; heap objects come\n"
			"from the Go heap's spans, scanned conservatively, to a fixed point. Grouped by\n"
			"wait reason, user location and creation site, with evidence; wait-for cycles are\n"
			"flagged as deadlocks. Works on any Go >= 1.19, live or core.\n"
			"glibc: conservative reachability from the roots (data and bss of every module, each\n"
			"thread's stack from its stack pointer, registers, TLS) through in-use chunks;\n"
			"interior pointers count. What is left is reported like valgrind's \"definitely\n"
			"lost\", grouped by size and by C++ class when the first word points into a vtable.\n"
			"Both run when the target has both; one side failing is a warning.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_leaks,
		.text = &tli_print_leaks,
		.options = leaks_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "snapshot",
		.args = "-o FILE [--force]",
		.summary = "save what can grow (goroutine groups, channels, Go heap by type, glibc) to a JSON file",
		.help = "Stops the target once and writes one JSON document (\"kind\": \"snapshot\") to FILE:\n"
			"the goroutine groups under stable keys (wait reason, user location, creation\n"
			"site), the channels goroutines wait on, Go memstats and live objects by type,\n"
			"glibc totals (mallinfo2). No memory contents. FILE is created mode 0600, never\n"
			"through a symlink, never over an existing file unless --force. Compare two\n"
			"snapshots with `diff`.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = tli_cmd_snapshot,
		.text = &tli_print_snapshot,
		.options = snapshot_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "diff",
		.args = "A.json B.json",
		.summary = "what grew and shrank between two snapshots: goroutine groups, types, memstats, glibc",
		.help = "Compares snapshot A (earlier) with B (later): goroutine groups by key, live\n"
			"objects by type, Go memstats and glibc totals that moved, biggest growth first,\n"
			"with the rate per minute. A file that is not a complete tlinspect snapshot\n"
			"(truncated, other JSON) is refused with exit status 6 naming it.",
		.needs_target = TLI_TARGET_NEVER,
		.fn = tli_cmd_diff,
		.text = &tli_print_diff,
		.options = NULL,
		.min_args = 2, .max_args = 2,
	},
	{
		.name = "watch",
		.args = "[--interval S] [--count N]",
		.summary = "N snapshots S seconds apart, then what keeps growing (leak verdicts)",
		.help = "Takes N snapshots S seconds apart (the target runs between them; progress on\n"
			"stderr), then judges every goroutine group, live type and glibc total: \"growing\"\n"
			"when it rose in at least 3 of every 4 intervals and ended higher (the stair-step of\n"
			"a leak), never for one that merely goes up and down. Ctrl-C ends the watch early\n"
			"and prints the verdicts on the samples taken (a second Ctrl-C quits at once).",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = tli_cmd_watch,
		.text = &tli_print_watch,
		.options = watch_options,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "metrics",
		.args = "",
		.summary = "Prometheus text exposition: goroutines, groups, leaks, Go heap, glibc",
		.help = "Prints the target's figures in Prometheus's text format (for node_exporter's\n"
			"textfile collector): goroutines by state and wait reason, the largest groups,\n"
			"leaked goroutines (as `leaks` finds them), Go memstats and live heap by type,\n"
			"glibc totals and unreachable chunks. Names start with tlinspect_, in base units.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = tli_cmd_metrics,
		.text = &tli_print_metrics,
		.options = NULL,
		.min_args = 0, .max_args = 0,
	},
	{ .name = "secrets", .args = "", .needs_target = TLI_TARGET_REQUIRED, .fn = tli_cmd_secrets, .text =
	  &tli_print_secrets, .options = tli_secrets_options, .summary = tli_secrets_summary, .help = tli_secrets_help },
	{ .name = "pools", .args = "", .needs_target = TLI_TARGET_REQUIRED, .fn = tli_cmd_pools, .text = &tli_print_pools,
	  .summary = tli_pools_summary, .help = tli_pools_help },
	{ .name = "timers", .args = "", .needs_target = TLI_TARGET_REQUIRED, .fn = tli_cmd_timers, .text = &tli_print_timers,
	  .summary = tli_timers_summary, .help = tli_timers_help },
	{
		.name = "explain",
		.args = "g ID | chan ADDR | chunk ADDR | arena [ADDR]",
		.summary = "teaching mode: a runtime structure drawn field by field with offsets and meaning",
		.help = "Draws one structure of the target the way a student reading a core needs it:\n"
			"every field with its offset and size (from the layout resolver: DWARF or the\n"
			"runtime maps), its value and a one-line meaning. `explain g ID` shows the\n"
			"runtime.g of goroutine ID (stack bounds, the gobuf in sched, status, wait\n"
			"reason, creator). `explain chan ADDR` draws runtime.hchan with its ring\n"
			"(sendx/recvx) and its recvq/sendq sudogs; `explain chunk ADDR` the glibc\n"
			"malloc_chunk containing ADDR; `explain arena [ADDR]` a malloc_state (default\n"
			"main_arena) with its fastbins, bins and heaps.",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_explain,
		.text = &tli_print_explain,
		.options = NULL,
		.min_args = 1, .max_args = 2,
	},
	{
		.name = "shell",
		.args = "",
		.summary = "interactive prompt: every command, plus x, dis, ptype; completion and history",
		.help = "A readline prompt on the target: every command of this table, plus x ADDR [N]\n"
			"(hex dump), dis ADDR|FUNC [N] (disassembly, symbolized with the Go symbol table)\n"
			"and ptype TYPE (struct layout from DWARF). Tab completes commands, options,\n"
			"goroutine ids of the last listing and Go function names; history is kept in\n"
			"~/.tlinspect_history. A live process runs between commands: each command\n"
			"stops it, reads, and resumes it (the prompt says \"(running)\").",
		.needs_target = TLI_TARGET_REQUIRED,
		.fn = cmd_shell,
		.text = &tli_print_nothing,
		.options = NULL,
		.exe_only = true,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "maps",
		.args = "gen BINARY",
		.summary = "print the runtime map (layout table) of a Go binary with DWARF, or of a libc",
		.help = "Generates the per-version layout table that stripped binaries of the same Go\n"
			"minor version are decoded with: struct sizes, member offsets, constants and the\n"
			"runtime's status and wait-reason strings, all read from BINARY's DWARF. Save it\n"
			"as runtime-maps/go/1.NN.map (see runtime-maps/README.md). BINARY may also be a\n"
			"libc.so.6 (recognised by its glibc banner) whose debug information is found by\n"
			"build-id in $TLINSPECT_DEBUG_DIRS (default /usr/lib/debug): that gives the malloc\n"
			"layout for runtime-maps/glibc/2.NN.map, used when libc has no debug information.",
		.needs_target = TLI_TARGET_NEVER,
		.fn = cmd_maps,
		.text = &tli_print_maps,
		.options = NULL,
		.min_args = 2, .max_args = 2,
		.check = check_maps,
	},
	{
		.name = "version",
		.args = "",
		.summary = "print the tool version (and the target's Go version, given a target)",
		.help = "Prints the version of tlinspect. With --pid or --core, also prints the Go\n"
			"version the target's executable was built with.",
		.needs_target = TLI_TARGET_OPTIONAL,
		.fn = cmd_version,
		.text = &tli_print_version,
		.options = NULL,
		.exe_only = true,
		.min_args = 0, .max_args = 0,
	},
	{
		.name = "help",
		.args = "[CMD]",
		.summary = "show help for all commands, or for one",
		.help = "Without an argument, lists the global options and the commands. With a command\n"
			"name, shows its arguments, options and description.",
		.needs_target = TLI_TARGET_NEVER,
		.fn = cmd_help,
		.text = &tli_print_help,
		.options = help_options,
		.min_args = 0, .max_args = 1,
		.check = check_help,
	},
	{ .name = NULL },
};

const struct tli_command *tli_command_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int tli_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 1000;
	int prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

const char *tli_command_suggest(const char *name)
{
	const char *best = NULL;
	int bestd = 1000;
	for (const struct tli_command *c = tli_commands; c->name; c++) {
		if (c->hidden)
			continue;
		int d = tli_edit_distance(name, c->name);
		/* a prefix ("gor") is a good hint too */
		if (strlen(name) >= 2 && !strncmp(c->name, name, strlen(name)))
			d = d < 1 ? d : 1;
		if (d < bestd) {
			bestd = d;
			best = c->name;
		}
	}
	size_t len = strlen(name);
	int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	return bestd <= limit ? best : NULL;
}

int tli_command_option_index(const struct tli_command *cmd, const char *name)
{
	if (!cmd || !cmd->options)
		return -1;
	for (int i = 0; cmd->options[i].name && i < TLI_MAX_CMD_OPTIONS; i++)
		if (!strcmp(cmd->options[i].name, name))
			return i;
	return -1;
}

void tli_print_commands(FILE *f)
{
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!c->hidden)
			fprintf(f, "%s\t%s\t%s\n", c->name, c->args, c->summary);
}

static void print_opts(FILE *f, const struct tli_option *o)
{
	for (; o && o->name; o++) {
		if (o->hidden)
			continue;
		fprintf(f, "--%s\n", o->name);
		if (o->short_name)
			fprintf(f, "-%c\n", o->short_name);
	}
}

void tli_print_options(FILE *f, const struct tli_command *cmd)
{
	print_opts(f, cmd ? cmd->options : tli_global_options);
}

json_t *tli_options_describe(const struct tli_option *opts)
{
	json_t *a = json_array();
	for (const struct tli_option *o = opts; o && o->name; o++) {
		if (o->hidden)
			continue;
		json_t *j = json_object();
		char sh[2] = { (char)o->short_name, 0 };
		json_object_set_new(j, "name", json_string(o->name));
		json_object_set_new(j, "short", o->short_name ? json_string(sh) : json_null());
		json_object_set_new(j, "arg", o->argname ? json_string(o->argname) : json_null());
		json_object_set_new(j, "help", json_string(o->help));
		json_array_append_new(a, j);
	}
	return a;
}

json_t *tli_command_describe(const struct tli_command *c)
{
	static const char *const needs[] = { "never", "required", "optional" };
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(c->name));
	json_object_set_new(j, "args", json_string(c->args));
	json_object_set_new(j, "summary", json_string(c->summary));
	json_object_set_new(j, "help", json_string(c->help ? c->help : ""));
	json_object_set_new(j, "target",
			    json_string(c->needs_target >= 0 && c->needs_target <= 2 ? needs[c->needs_target]
										       : "never"));
	json_object_set_new(j, "options", tli_options_describe(c->options));
	return j;
}

const char *tli_errcode_kind(enum tli_errcode code)
{
	switch (code) {
	case TLI_OK: return "ok";
	case TLI_E_INTERNAL: return "internal";
	case TLI_E_USAGE: return "usage";
	case TLI_E_NO_TARGET: return "no-target";
	case TLI_E_PERM: return "permission";
	case TLI_E_NOT_GO: return "not-go";
	case TLI_E_BAD_FORMAT: return "bad-format";
	case TLI_E_MISMATCH: return "mismatch";
	case TLI_E_NO_INFO: return "no-info";
	case TLI_E_FAULT: return "fault";
	case TLI_E_TIMEOUT: return "timeout";
	case TLI_E_UNSUPPORTED: return "unsupported";
	case TLI_E_CORRUPT: return "corrupt";
	case TLI_E_NOMEM: return "nomem";
	case TLI_E_INTERRUPTED: return "interrupted";
	}
	return "unknown";
}
