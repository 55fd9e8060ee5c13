/* SPDX-License-Identifier: MIT */
/*
 * The command line: parse and validate (tli_cli_parse), then run one command
 * to completion (tli_cli_run): open → command (stop, capture, release,
 * analyze) → describe → render → destroy.
 */
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/live.h"
#include "backend/pages.h"
#include "session/open.h"
#include "core/sysroot.h"
#include "core/target.h"
#include "render/render.h"
#include "gdbhint.h"

#define GLOBAL_BASE 1000  /* getopt val of global option i: GLOBAL_BASE + i */
#define CMD_BASE 2000     /* getopt val of command option i: CMD_BASE + i */

static size_t count_options(const struct tli_option *o)
{
	size_t n = 0;
	while (o && o[n].name)
		n++;
	return n;
}

/* Closest long option name among both tables (for "did you mean"). */
static const char *suggest_option(const char *arg, const struct tli_command *cmd)
{
	while (*arg == '-')
		arg++;
	char name[64];
	snprintf(name, sizeof(name), "%s", arg);
	char *eq = strchr(name, '=');
	if (eq)
		*eq = 0;
	const char *best = NULL;
	int bestd = 1000;
	const struct tli_option *tables[2] = { tli_global_options, cmd ? cmd->options : NULL };
	for (int t = 0; t < 2; t++)
		for (const struct tli_option *o = tables[t]; o && o->name; o++) {
			if (o->hidden)
				continue;
			int d = tli_edit_distance(name, o->name);
			if (d < bestd)
				bestd = d, best = o->name;
		}
	size_t len = strlen(name);
	return bestd <= (len <= 3 ? 1 : len <= 6 ? 2 : 3) ? best : NULL;
}

/* Integer option value in [o->min, o->max]. */
static struct tli_error *parse_int_opt(const struct tli_option *o, const char *arg, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (!*arg || *end || errno || v < o->min || v > o->max) {
		if (!strcmp(o->name, "pid"))
			return tli_error_create(TLI_E_USAGE,
						"invalid --pid value '%s': expected a positive process id", arg);
		return tli_error_create(TLI_E_USAGE, "invalid --%s value '%s': expected an integer from %ld to %ld",
					o->name, arg, o->min, o->max);
	}
	*ret = v;
	return NULL;
}

static struct tli_error *apply_global(int idx, const char *arg, struct tli_cli_opts *r)
{
	const struct tli_option *o = &tli_global_options[idx];
	long v = 0;
	if (o->type == TLI_OPT_INT) {
		struct tli_error *err = parse_int_opt(o, arg, &v);
		if (err)
			return err;
	} else if (o->type == TLI_OPT_STRING && (!arg || !*arg)) {
		return tli_error_create(TLI_E_USAGE, "option --%s needs a non-empty %s", o->name, o->argname);
	}
	const char *n = o->name;
	if (!strcmp(n, "pid"))
		r->pid = (int)v;
	else if (!strcmp(n, "core"))
		r->core = arg;
	else if (!strcmp(n, "exe"))
		r->exe = arg;
	else if (!strcmp(n, "sysroot"))
		r->sysroot = arg;
	else if (!strcmp(n, "json"))
		r->json = true;
	else if (!strcmp(n, "no-stop"))
		r->no_stop = true;
	else if (!strcmp(n, "timeout"))
		r->timeout_ms = (int)v;
	else if (!strcmp(n, "snapshot")) {
		if (strcmp(arg, "copy") && strcmp(arg, "fork"))
			return tli_error_create(TLI_E_USAGE, "invalid --snapshot value '%s': expected copy or fork",
						arg);
		r->snapshot_fork = !strcmp(arg, "fork");
	} else if (!strcmp(n, "no-dwarf"))
		r->no_dwarf = true;
	else if (!strcmp(n, "verbose"))
		r->verbose++;
	else if (!strcmp(n, "quiet"))
		r->quiet = true;
	else if (!strcmp(n, "help"))
		r->help = true;
	else if (!strcmp(n, "version"))
		r->version = true;
	else if (!strcmp(n, "print-commands"))
		r->print_commands = true;
	else if (!strcmp(n, "print-options"))
		r->print_options = true;
	else if (!strcmp(n, "gdb-hint"))
		r->gdb_hint = true;
	else if (!strcmp(n, "pages"))
		r->pages = arg;
	else if (!strcmp(n, "thread-regs"))
		r->thread_regs = arg;
	else if (!strcmp(n, "pages-slot"))
		r->pages_slot = true;
	else
		return tli_error_create(TLI_E_INTERNAL, "global option --%s has no handler", n);
	return NULL;
}

/* Option tables for getopt_long: globals, plus the command's options if cmd. */
struct optspec {
	struct option longopts[64];
	char shortopts[96];
};

static void build_spec(struct optspec *sp, const struct tli_command *cmd, bool permute)
{
	size_t k = 0, s = 0;
	memset(sp, 0, sizeof(*sp));
	if (!permute)
		sp->shortopts[s++] = '+';
	sp->shortopts[s++] = ':';
	for (size_t i = 0; tli_global_options[i].name && k < 40; i++) {
		const struct tli_option *o = &tli_global_options[i];
		sp->longopts[k++] = (struct option){ o->name, o->type == TLI_OPT_FLAG ? no_argument
										     : required_argument,
						     NULL, GLOBAL_BASE + (int)i };
		if (o->short_name && s + 3 < sizeof(sp->shortopts)) {
			sp->shortopts[s++] = (char)o->short_name;
			if (o->type != TLI_OPT_FLAG)
				sp->shortopts[s++] = ':';
		}
	}
	if (cmd && cmd->options)
		for (size_t i = 0; cmd->options[i].name && i < TLI_MAX_CMD_OPTIONS && k < 63; i++) {
			const struct tli_option *o = &cmd->options[i];
			sp->longopts[k++] = (struct option){ o->name, o->type == TLI_OPT_FLAG ? no_argument
											     : required_argument,
							     NULL, CMD_BASE + (int)i };
			if (o->short_name && s + 3 < sizeof(sp->shortopts)) {
				sp->shortopts[s++] = (char)o->short_name;
				if (o->type != TLI_OPT_FLAG)
					sp->shortopts[s++] = ':';
			}
		}
	sp->longopts[k] = (struct option){ 0, 0, 0, 0 };
	sp->shortopts[s] = 0;
}

/* The option (global or command) a getopt val or short letter stands for. */
static const struct tli_option *option_of(int val, const struct tli_command *cmd)
{
	if (val >= CMD_BASE && cmd && cmd->options && (size_t)(val - CMD_BASE) < count_options(cmd->options))
		return &cmd->options[val - CMD_BASE];
	if (val >= GLOBAL_BASE && val < CMD_BASE && (size_t)(val - GLOBAL_BASE) < count_options(tli_global_options))
		return &tli_global_options[val - GLOBAL_BASE];
	for (const struct tli_option *o = tli_global_options; o->name; o++)
		if (o->short_name == val)
			return o;
	for (const struct tli_option *o = cmd ? cmd->options : NULL; o && o->name; o++)
		if (o->short_name == val)
			return o;
	return NULL;
}

/* Unknown long option, with a "did you mean" hint. */
static struct tli_error *unknown_option(const char *bad, const struct tli_command *cmd)
{
	const char *s = suggest_option(bad, cmd);
	return tli_error_create(TLI_E_USAGE, "unknown option '%s'%s%s%s%s%s%s", bad,
				cmd ? " for command '" : "", cmd ? cmd->name : "", cmd ? "'" : "",
				s ? " (did you mean '--" : "", s ? s : "", s ? "'?)" : "");
}

static struct tli_error *run_getopt(int argc, char **argv, const struct tli_command *cmd, bool permute,
				    struct tli_cli_opts *r)
{
	struct optspec sp;
	build_spec(&sp, cmd, permute);
	optind = 0; /* full re-initialisation of GNU getopt */
	opterr = 0;
	for (;;) {
		int li = -1;
		int c = getopt_long(argc, argv, sp.shortopts, sp.longopts, &li);
		if (c == -1)
			return NULL;
		if (c == ':') { /* missing value: optopt is the val (long) or the letter (short) */
			const struct tli_option *o = option_of(optopt, cmd);
			if (o)
				return tli_error_create(TLI_E_USAGE, "option --%s needs a value (%s)", o->name,
							o->argname ? o->argname : "ARG");
			return tli_error_create(TLI_E_USAGE, "option '%s' needs a value",
						optind > 0 && optind <= argc ? argv[optind - 1] : "?");
		}
		if (c == '?') {
			if (optopt >= GLOBAL_BASE) { /* --flag=value */
				const struct tli_option *o = option_of(optopt, cmd);
				return tli_error_create(TLI_E_USAGE, "option --%s takes no value",
							o ? o->name : "?");
			}
			if (optopt > 0)
				return tli_error_create(TLI_E_USAGE, "unknown option '-%c'%s%s%s", optopt,
							cmd ? " for command '" : "", cmd ? cmd->name : "",
							cmd ? "'" : "");
			return unknown_option(optind > 0 && optind <= argc ? argv[optind - 1] : "?", cmd);
		}
		const struct tli_option *o = option_of(c, cmd);
		if (!o)
			return tli_error_create(TLI_E_INTERNAL, "option %d has no handler", c);
		if (cmd && cmd->options && o >= cmd->options && o < cmd->options + count_options(cmd->options)) {
			struct tli_optval *v = &r->vals[o - cmd->options];
			v->set = true;
			v->num = 1;
			if (o->type == TLI_OPT_INT) {
				struct tli_error *err = parse_int_opt(o, optarg, &v->num);
				if (err)
					return err;
			} else if (o->type == TLI_OPT_STRING) {
				v->str = optarg;
				if (v->nstrs == TLI_MAX_OPT_REPEAT)
					return tli_error_create(TLI_E_USAGE, "option --%s is given more than %d times",
								o->name, TLI_MAX_OPT_REPEAT);
				v->strs[v->nstrs++] = optarg;
			}
		} else {
			struct tli_error *err = apply_global((int)(o - tli_global_options), optarg, r);
			if (err)
				return err;
		}
	}
}

static struct tli_error *validate(struct tli_cli_opts *r)
{
	if (r->pid && r->core)
		return tli_error_create(TLI_E_USAGE, "--pid and --core are mutually exclusive");
	if (r->sysroot && !r->core)
		return tli_error_create(TLI_E_USAGE, "--sysroot applies to core files only (give --core FILE)");
	if (r->sysroot) { /* image layers: a misspelt one would silently hide nothing */
		const char *dirs[TLI_SYSROOT_MAX_LAYERS];
		char *buf;
		size_t n = tli_sysroot_layers(r->sysroot, dirs, &buf);
		struct tli_error *e = NULL;
		struct stat st;
		for (size_t i = 0; n > 1 && i < n && !e; i++)
			if (stat(dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
				e = tli_error_create(TLI_E_USAGE, "--sysroot: layer %zu, %s, is not a directory", i,
						     dirs[i]);
		free(buf);
		if (e)
			return e;
	}
	if (r->no_stop && r->core)
		return tli_error_create(TLI_E_USAGE, "--no-stop applies to live processes only (--pid)");
	if (r->pages && r->core)
		return tli_error_create(TLI_E_USAGE, "--pages reads a live process through gdb; not with --core");
	if (r->thread_regs && !(r->no_stop && r->pid > 0))
		return tli_error_create(TLI_E_USAGE, "--thread-regs gives the registers of a process read with "
					"--no-stop --pid PID (a debugger holds it)");
	if (r->snapshot_fork && (r->core || r->no_stop || r->pages))
		return tli_error_create(TLI_E_USAGE, "--snapshot=fork applies to live processes tlinspect stops "
					"(--pid, without --no-stop or --pages)");
	if (r->thread_regs && r->pages)
		return tli_error_create(TLI_E_USAGE, "--thread-regs and --pages are exclusive (page mode reads "
					"the registers from gdb's output)");
	if (r->quiet && r->verbose)
		return tli_error_create(TLI_E_USAGE, "--quiet and --verbose are mutually exclusive");
	if (r->help || r->version || r->print_commands || r->print_options)
		return NULL; /* positional arguments do not matter then */
	const struct tli_command *c = r->cmd;
	if (r->argc < c->min_args)
		return tli_error_create(TLI_E_USAGE, "command '%s' needs %s: tlinspect %s %s", c->name,
					c->min_args == 1 ? "an argument" : "more arguments", c->name, c->args);
	if (r->argc > c->max_args)
		return tli_error_create(TLI_E_USAGE, "too many arguments for command '%s': '%s'%s", c->name,
					r->argv[c->max_args],
					c->max_args == 0 ? " (it takes none)" : "");
	if (c->check) {
		struct tli_error *err = c->check(r->argc, r->argv);
		if (err)
			return err;
	}
	return NULL;
}

/* option `name` of cmd was given on the command line */
static bool opt_set(const struct tli_command *cmd, const struct tli_optval *vals, const char *name)
{
	int i = tli_command_option_index(cmd, name);
	return i >= 0 && vals && vals[i].set;
}

struct tli_error *tli_cli_parse(int argc, char **argv, struct tli_cli_opts *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->cmd = tli_command_find(tli_default_command);
	if (argc < 1 || !argv)
		return tli_error_create(TLI_E_USAGE, "empty command line");
	/* 1: global options up to the command; the default command's options are
	 * accepted here too (`tlinspect -p 1 --stacks` runs `goroutines --stacks`) */
	struct tli_error *err = run_getopt(argc, argv, ret->cmd, false, ret);
	if (err)
		return err;
	int first = optind;
	if (first < argc) {
		const char *name = argv[first];
		const struct tli_command *c = tli_command_find(name);
		if (!c) {
			const char *s = tli_command_suggest(name);
			return tli_error_create(TLI_E_USAGE, "unknown command '%s'%s%s%s", name,
						s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
		}
		if (c != ret->cmd) {
			for (int i = 0; i < TLI_MAX_CMD_OPTIONS; i++)
				if (ret->vals[i].set)
					return tli_error_create(TLI_E_USAGE,
								"option --%s is an option of command '%s', not of '%s'",
								ret->cmd->options[i].name, ret->cmd->name, c->name);
		}
		ret->cmd = c;
		ret->cmd_explicit = true;
		/* 2: the rest: command options, global options (again), positionals */
		int sub_argc = argc - first;
		char **sub = argv + first; /* sub[0] = command name, acts as argv[0] */
		err = run_getopt(sub_argc, sub, c, true, ret);
		if (err)
			return err;
		int npos = sub_argc - optind;
		if (npos > 0) {
			ret->argv = calloc((size_t)npos + 1, sizeof(char *));
			if (!ret->argv)
				return &tli_enomem;
			for (int i = 0; i < npos; i++)
				ret->argv[i] = sub[optind + i];
			ret->argc = npos;
		}
	}
	return validate(ret);
}

void tli_cli_opts_free(struct tli_cli_opts *o)
{
	if (!o)
		return;
	free(o->argv);
	o->argv = NULL;
	o->argc = 0;
}

void tli_cli_usage(FILE *f)
{
	fputs("usage: tlinspect [--pid PID | --core FILE [--exe BIN] [--sysroot DIR]] [OPTIONS] "
	      "[COMMAND [ARGS]]\n"
	      "Try 'tlinspect --help' for more information.\n", f);
}

/* ---- running ---- */

void tli_cli_error_json(FILE *f, const struct tli_error *e)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "schema", json_string(TLI_SCHEMA));
	json_t *je = json_object();
	json_object_set_new(je, "code", json_integer(e->code));
	json_object_set_new(je, "kind", json_string(tli_errcode_kind(e->code)));
	json_object_set_new(je, "message", tli_json_string_lossy(e->msg));
	if (e->addr) {
		char buf[32];
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)e->addr);
		json_object_set_new(je, "address", json_string(buf));
	}
	json_object_set_new(doc, "error", je);
	struct tli_error *werr = tli_render_json(f, doc);
	tli_error_destroy(werr);
	json_decref(doc);
}

/* Allocations that had failed before this command (core/error.h tli_oom_count). */
static uint64_t oom_base;

/* An allocation failed during this command: whatever went wrong then (libdw reports a
 * "bad unit header", a walker "no libc mapped" ...), it started with memory. */
static struct tli_error *oom_first(struct tli_error *e)
{
	if (e->code == TLI_E_NOMEM || e->code == TLI_E_INTERRUPTED || tli_oom_count() == oom_base)
		return e;
	e->code = TLI_E_NOMEM;
	return tli_error_wrap(e, "out of memory");
}

/* Print the error, free it, return the exit status. */
static int report(const struct tli_cli_opts *o, FILE *out, FILE *errf, struct tli_error *e)
{
	e = oom_first(e);
	int code = e->code == TLI_OK ? TLI_E_INTERNAL : (int)e->code;
	if (o->gdb_hint && !o->pages && o->pid > 0 && e->code == TLI_E_PERM) {
		/* the gdb face falls back to reading through gdb (--pages): a note, no error */
		fprintf(errf, "tlinspect: process %d cannot be read directly (permission denied); "
			"reading its memory through gdb\n", o->pid);
		tli_error_destroy(e);
		return code;
	}
	fputs("tlinspect: error: ", errf);
	tli_text_puts_clean(errf, e->msg);
	fputc('\n', errf);
	if (o->json)
		tli_cli_error_json(out, e);
	tli_error_destroy(e);
	return code;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Reorder the document: schema, tool, target, (command keys...), warnings. */
static json_t *normalize(json_t *doc)
{
	json_t *out = json_object();
	static const char *const head[] = { "schema", "tool", "target" };
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(doc, head[i]);
		if (v)
			json_object_set(out, head[i], v);
	}
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "schema") && strcmp(key, "tool") && strcmp(key, "target") &&
		    strcmp(key, "warnings"))
			json_object_set(out, key, v);
	}
	v = json_object_get(doc, "warnings");
	if (v)
		json_object_set(out, "warnings", v);
	return out;
}

/* All of f, bounded by TLI_GDB_HINT_MAX (the rest is drained: a pipe writer must not fail),
 * NUL-terminated. */
static struct tli_error *read_all(FILE *f, char **ret, size_t *ret_len)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1); /* +1: always NUL-terminated for the parsers */
	for (;;) {
		if (!buf)
			return &tli_enomem;
		if (len == cap) {
			if (cap >= TLI_GDB_HINT_MAX) {
				char junk[4096];
				while (fread(junk, 1, sizeof(junk), f) > 0)
					;
				break;
			}
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
			continue;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	*ret = buf;
	*ret_len = len;
	return NULL;
}

/* --thread-regs FILE ("-": stdin): the threads' registers in gdb's `info registers` form */
static struct tli_error *read_thread_regs(const char *path, struct tli_pages_process *ret)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f)
		return tli_error_errno(TLI_E_USAGE, errno, "--thread-regs %s", path);
	char *buf;
	size_t len;
	struct tli_error *err = read_all(f, &buf, &len);
	if (f != stdin)
		fclose(f);
	if (err)
		return err;
	err = tli_gdb_process_parse(buf, len, ret);
	free(buf);
	return err;
}

/* A listing given one item at a time holds the capture: gone before the session is. */
static void drop_stream(struct tli_cmd_ctx *ctx)
{
	if (ctx->stream)
		ctx->stream->destroy(ctx->stream);
	ctx->stream = NULL;
}

static int run_inner(const struct tli_cli_opts *o, FILE *out, FILE *errf, tli_cli_result_hook hook,
		     void *hook_arg)
{
	if (o->print_commands) {
		tli_print_commands(out);
		return 0;
	}
	if (o->print_options) {
		tli_print_options(out, o->cmd_explicit ? o->cmd : NULL);
		return 0;
	}
	if (o->pages_slot) { /* gdb face: the number of gdb's page directory as exit status */
		int slot = 0;
		struct tli_error *serr = tli_pages_gdb_slot(&slot);
		if (serr)
			return report(o, out, errf, serr);
		return TLI_PAGES_SLOT_BASE + slot;
	}
	const struct tli_command *cmd = o->cmd;
	char *help_argv[2] = { NULL, NULL };
	struct tli_cmd_ctx ctx = { .cmd = cmd, .vals = o->vals, .argc = o->argc, .argv = o->argv,
				   .verbose = o->verbose > 0, .cli = o };
	if (o->help) {
		/* `tlinspect --help` or `tlinspect CMD --help` = `help [CMD]` */
		cmd = tli_command_find("help");
		help_argv[0] = (char *)(o->cmd_explicit ? o->cmd->name : NULL);
		ctx = (struct tli_cmd_ctx){ .cmd = cmd, .argc = help_argv[0] ? 1 : 0, .argv = help_argv };
	} else if (o->version) {
		cmd = tli_command_find("version");
		ctx = (struct tli_cmd_ctx){ .cmd = cmd };
	}
	if (!cmd)
		return report(o, out, errf, tli_error_create(TLI_E_INTERNAL, "command table incomplete"));

	bool has_target = o->pid > 0 || o->core || o->pages;
	if (cmd->needs_target == TLI_TARGET_REQUIRED && !has_target)
		return report(o, out, errf,
			      tli_error_create(TLI_E_USAGE, "command '%s' needs a target: give --pid PID or "
					       "--core FILE (see 'tlinspect --help')", cmd->name));

	double t0 = now_ms(), t_open = 0, t_cmd = 0, t_render = 0;
	struct tli_session *s = NULL;
	struct tli_error *err = NULL;
	/* --pages: gdb's description of the process, parsed here for the page target; it lives
	 * until we return (a command may open the session again: explain) */
	struct tli_pages_process pages_proc __attribute__((cleanup(tli_pages_process_free))) = { 0 };
	if (cmd->needs_target != TLI_TARGET_NEVER && has_target && !o->version) {
		if (o->pid > 0)
			tli_live_install_signal_guard();
		/* the debugger faces run the engine once per command: keep the layout answers
		 * between runs (session/cache.c) unless TLINSPECT_LAYOUT_CACHE says otherwise */
		if (o->gdb_hint && !getenv("TLINSPECT_LAYOUT_CACHE"))
			setenv("TLINSPECT_LAYOUT_CACHE", "1", 0);
		struct tli_session_opts so = {
			.pid = o->pid, .core = o->core, .exe = o->exe, .sysroot = o->sysroot,
			.no_stop = o->no_stop || cmd->exe_only, .no_dwarf = o->no_dwarf, .verbose = o->verbose > 0,
			.timeout_ms = o->timeout_ms, .pages = o->pages, .pages_process = &pages_proc,
			.snapshot_fork = o->snapshot_fork,
		};
		if (o->pages && (err = tli_gdb_pages_process(o->pages, o->pages_context, o->pages_context_len,
							     &pages_proc)))
			return report(o, out, errf, err);
		if (o->thread_regs && (err = read_thread_regs(o->thread_regs, &pages_proc)))
			return report(o, out, errf, err);
		so.regs = o->thread_regs ? pages_proc.threads : o->regs;
		so.nregs = o->thread_regs ? pages_proc.nthreads : o->nregs;
		err = tli_session_open(&so, &s);
		if (err)
			return report(o, out, errf, err);
		ctx.session = s;
	}
	t_open = now_ms();

	json_t *doc = json_object();
	json_t *tool = json_object();
	json_object_set_new(doc, "schema", json_string(TLI_SCHEMA));
	json_object_set_new(tool, "name", json_string("tlinspect"));
	json_object_set_new(tool, "version", json_string(TLI_TOOL_VERSION));
	json_object_set_new(doc, "tool", tool);
	/* printed and read by no one else: a listing may give its items one at a time. As JSON
	 * only where nothing is read from the target after the release (a live target in copy
	 * mode: the capture serves every read), since target.bytes_read is written before them */
	ctx.stream_json = o->json || !cmd->text;
	ctx.stream_ok = !hook && (!ctx.stream_json || (s && s->target && s->target->kind == TLI_TARGET_LIVE &&
						       !s->target->fork_asked && !tli_pages_is(s->target)));
	err = cmd->fn(&ctx, doc);
	t_cmd = now_ms();
	if (s && tli_pages_is(s->target)) {
		/* page-request mode: a run that missed pages prints nothing; gdb dumps them */
		bool need = false;
		struct tli_error *perr = tli_pages_finish(s->target, &need);
		if (perr || need) {
			if (o->verbose > 0 && need) {
				size_t have, miss;
				tli_pages_stats(s->target, &have, &miss);
				fprintf(errf, "tlinspect: pages: %zu present, %zu more requested\n", have, miss);
			}
			json_decref(doc);
			tli_error_destroy(err);
			drop_stream(&ctx);
			tli_session_destroy(s);
			return perr ? report(o, out, errf, perr) : TLI_EXIT_NEED_PAGES;
		}
	}
	if (s && s->target && !s->target->released && s->target->kind == TLI_TARGET_LIVE)
		tli_target_release(s->target); /* whatever happened, let it run again */
	if (err) {
		json_decref(doc);
		drop_stream(&ctx);
		tli_session_destroy(s);
		return report(o, out, errf, err);
	}
	if (s)
		tli_session_describe(s, doc);
	json_t *final = normalize(doc);
	json_decref(doc);
	if (s && s->target && s->target->copy_lost && tli_oom_count() == oom_base) {
		/* never an answer with part of the heap read as zeros */
		int pid = s->target->pid, e = s->target->copy_lost;
		json_decref(final);
		drop_stream(&ctx);
		tli_session_destroy(s);
		return report(o, out, errf, tli_error_create(TLI_E_NO_TARGET, "the frozen copy of process %d "
							     "(--snapshot=fork) could not be read any more while it "
							     "was read in place (%s): the answer would be incomplete",
							     pid, strerror(e)));
	}
	if (tli_oom_count() != oom_base) { /* never an answer missing what could not be allocated */
		json_decref(final);
		drop_stream(&ctx);
		tli_session_destroy(s);
		return report(o, out, errf, tli_error_create(TLI_E_NOMEM, "out of memory during the command (%llu "
							     "time(s)): the answer would be incomplete",
							     (unsigned long long)(tli_oom_count() - oom_base)));
	}
	if (hook)
		hook(cmd->name, final, hook_arg);

	struct tli_render_opts ro = {
		.quiet = o->quiet,
		.warn = errf,
		.top = -1,
		.items = ctx.stream,
	};
	int i;
	if ((i = tli_command_option_index(cmd, "system")) >= 0 && ctx.vals)
		ro.system = ctx.vals[i].set;
	if ((i = tli_command_option_index(cmd, "top")) >= 0 && ctx.vals && ctx.vals[i].set)
		ro.top = (int)ctx.vals[i].num;
	/* the first screen (no command named): summary and groups, not every traceback (a
	 * service with 20k stuck goroutines would print 120k lines); --stacks or --all-frames
	 * ask for the listing, the `goroutines` command always lists */
	ro.no_listing = !o->cmd_explicit && !opt_set(cmd, ctx.vals, "stacks") && !opt_set(cmd, ctx.vals, "all-frames");
	err = o->json ? tli_render_json_items(out, final, ctx.stream) : tli_render_text(out, cmd->text, final, &ro);
	if (!err && ctx.stream && ctx.stream->err) { /* an item could not be made: the listing is cut short */
		err = ctx.stream->err;
		ctx.stream->err = NULL;
	}
	t_render = now_ms();

	if (o->verbose > 0) {
		fprintf(errf, "tlinspect: timing: open %.1f ms", t_open - t0);
		if (s && s->target) {
			struct tli_target *t = s->target;
			if (t->kind == TLI_TARGET_LIVE && !t->no_stop)
				fprintf(errf, ", target paused %.1f ms", t->pause_ms);
			fprintf(errf, ", read %llu bytes in %llu calls", (unsigned long long)tli_target_bytes_read(t),
				(unsigned long long)t->read_calls);
			if (t->bytes_adopted)
				fprintf(errf, " (and %llu copied before the stop, found unchanged)",
					(unsigned long long)t->bytes_adopted);
		}
		if (ctx.stream)
			fprintf(errf, ", %zu items made while printed", ctx.stream->count);
		fprintf(errf, ", command %.1f ms, render %.1f ms, total %.1f ms\n", t_cmd - t_open,
			t_render - t_cmd, t_render - t0);
	}
	/* a process about to exit need not free the answer, object by object (ASan builds
	 * do, for their leak check); the session is destroyed: it owns the target */
#ifndef __SANITIZE_ADDRESS__
	if (!o->exiting)
#endif
		json_decref(final);
	drop_stream(&ctx);
	tli_session_destroy(s);
	if (!err && tli_oom_count() != oom_base)
		err = tli_error_create(TLI_E_NOMEM, "out of memory while printing: the output is incomplete");
	if (err)
		return report(o, out, errf, err);
	return 0;
}

int tli_cli_run_ex(const struct tli_cli_opts *o, FILE *out, FILE *errf, tli_cli_result_hook hook, void *arg)
{
	oom_base = tli_oom_count();
	if (!o->gdb_hint || o->pid > 0 || o->core || o->print_commands || o->print_options || o->help ||
	    o->pages_slot || o->cmd->needs_target == TLI_TARGET_NEVER) {
		if (o->gdb_hint) { /* consume gdb's output anyway: its pipe writer must not fail */
			char junk[4096];
			while (fread(junk, 1, sizeof(junk), stdin) > 0)
				;
		}
		return run_inner(o, out, errf, hook, arg);
	}
	/* the target is gdb's current inferior, described on stdin (gdb-ext/tlinspect.gdb) */
	struct tli_gdb_hint h;
	struct tli_error *err;
	/* gdb's output: the target, and (page mode) auxv, mappings, every thread's registers */
	char *buf;
	size_t len;
	if ((err = read_all(stdin, &buf, &len)))
		return report(o, out, errf, err);
	if (o->pages) {
		/* page mode: the rest of gdb's output is for the page target; keep the whole text */
		err = tli_gdb_hint_parse(buf, len, &h);
		if (err) {
			free(buf);
			return report(o, out, errf, err);
		}
		struct tli_cli_opts local = *o;
		if (h.core) { /* a core needs no pages */
			local.pages = NULL;
			local.core = h.core;
			if (!local.exe)
				local.exe = h.exe;
		} else {
			local.pid = h.pid;
			local.pages_context = buf;
			local.pages_context_len = len;
		}
		int rc = run_inner(&local, out, errf, hook, arg);
		tli_gdb_hint_free(&h);
		free(buf);
		return rc;
	}
	err = tli_gdb_hint_parse(buf, len, &h);
	if (err) {
		free(buf);
		return report(o, out, errf, err);
	}
	struct tli_cli_opts local = *o;
	local.pid = h.pid;
	local.core = h.core;
	if (h.core && !local.exe)
		local.exe = h.exe;
	/* a live process: gdb holds it stopped (and is its tracer); the registers of its
	 * threads come from gdb's `thread apply all` output when the face sent it */
	struct tli_pages_process proc __attribute__((cleanup(tli_pages_process_free))) = { 0 };
	if (h.pid) {
		local.no_stop = true;
		if ((err = tli_gdb_process_parse(buf, len, &proc))) {
			free(buf);
			tli_gdb_hint_free(&h);
			return report(o, out, errf, err);
		}
		local.regs = proc.threads;
		local.nregs = proc.nthreads;
	}
	free(buf);
	int rc = run_inner(&local, out, errf, hook, arg);
	tli_gdb_hint_free(&h);
	return rc;
}

int tli_cli_run(const struct tli_cli_opts *o, FILE *out, FILE *errf)
{
	return tli_cli_run_ex(o, out, errf, NULL, NULL);
}
