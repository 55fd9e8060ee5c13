/* SPDX-License-Identifier: MIT */
/* The text printer: dispatch per command, plus the small printers (help, version). */
#include "render/text_explain.h"
#include "render.h"

#include "render/text_glibc.h"
#include "render/text_goheap.h"
#include "render/text_chans.h"

#include <errno.h>
#include <string.h>

void tli_text_puts_clean(FILE *f, const char *s)
{
	if (!s)
		return;
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			if (p > run)
				fwrite(run, 1, (size_t)(p - run), f);
			fputc('?', f);
			run = p + 1;
		}
	}
	fputs(run, f);
}

static void print_warnings(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	if (opts && opts->quiet)
		return;
	json_t *w = json_object_get(doc, "warnings");
	if (!json_is_array(w) || json_array_size(w) == 0)
		return;
	FILE *out = opts && opts->warn ? opts->warn : f;
	size_t i;
	json_t *v;
	json_array_foreach(w, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		fputs(out == f ? "warning: " : "tlinspect: warning: ", out);
		tli_text_puts_clean(out, s);
		fputc('\n', out);
	}
}

/* "  -p, --pid N" column of an option list. */
static void print_option_list(FILE *f, json_t *opts)
{
	size_t i;
	json_t *o;
	int width = 0;
	char buf[128];
	json_array_foreach(opts, i, o) {
		const char *sh = json_string_value(json_object_get(o, "short"));
		const char *arg = json_string_value(json_object_get(o, "arg"));
		int n = snprintf(buf, sizeof(buf), "%s%s%s--%s%s%s", sh ? "-" : "    ", sh ? sh : "",
				 sh ? ", " : "", json_string_value(json_object_get(o, "name")),
				 arg ? " " : "", arg ? arg : "");
		if (n > width && n < 40)
			width = n;
	}
	json_array_foreach(opts, i, o) {
		const char *sh = json_string_value(json_object_get(o, "short"));
		const char *arg = json_string_value(json_object_get(o, "arg"));
		snprintf(buf, sizeof(buf), "%s%s%s--%s%s%s", sh ? "-" : "    ", sh ? sh : "",
			 sh ? ", " : "", json_string_value(json_object_get(o, "name")), arg ? " " : "",
			 arg ? arg : "");
		fprintf(f, "  %-*s  %s\n", width, buf, json_string_value(json_object_get(o, "help")));
	}
}

static void text_help(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	json_t *cmd = json_object_get(doc, "command");
	if (json_is_object(cmd)) {
		const char *name = json_string_value(json_object_get(cmd, "name"));
		const char *args = json_string_value(json_object_get(cmd, "args"));
		fprintf(f, "usage: tlinspect [TARGET] [OPTIONS] %s%s%s\n\n", name, args && *args ? " " : "",
			args ? args : "");
		fprintf(f, "%s\n", json_string_value(json_object_get(cmd, "summary")));
		const char *help = json_string_value(json_object_get(cmd, "help"));
		if (help && *help)
			fprintf(f, "\n%s\n", help);
		json_t *o = json_object_get(cmd, "options");
		if (json_array_size(o)) {
			fputs("\noptions:\n", f);
			print_option_list(f, o);
		}
		const char *nt = json_string_value(json_object_get(cmd, "target"));
		if (nt && !strcmp(nt, "required"))
			fputs("\nNeeds a target: --pid PID or --core FILE [--exe BIN].\n", f);
		return;
	}
	const char *usage = json_string_value(json_object_get(doc, "usage"));
	fprintf(f, "usage: %s\n\n", usage ? usage : "tlinspect");
	const char *desc = json_string_value(json_object_get(doc, "description"));
	if (desc)
		fprintf(f, "%s\n\n", desc);
	fputs("options:\n", f);
	print_option_list(f, json_object_get(doc, "global_options"));
	fputs("\ncommands:\n", f);
	json_t *cmds = json_object_get(doc, "commands");
	size_t i;
	json_t *c;
	int width = 0;
	json_array_foreach(cmds, i, c) {
		int n = (int)strlen(json_string_value(json_object_get(c, "name")));
		if (n > width)
			width = n;
	}
	json_array_foreach(cmds, i, c) {
		fprintf(f, "  %-*s  %s\n", width, json_string_value(json_object_get(c, "name")),
			json_string_value(json_object_get(c, "summary")));
	}
	fputs("\nRun 'tlinspect help COMMAND' for the options of a command.\n", f);
}

/* "pid 4242 (/path/exe)" or "core /path/core (/path/exe, arm64)": a core may come from another
 * machine, so its architecture is said; a live target runs on this one. */
static void print_target(FILE *f, json_t *tg)
{
	const char *kind = json_string_value(json_object_get(tg, "kind"));
	const char *exe = json_string_value(json_object_get(tg, "exe"));
	json_t *pid = json_object_get(tg, "pid");
	if (kind && !strcmp(kind, "core")) {
		fputs("core ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(tg, "core")));
	} else if (json_is_integer(pid)) {
		fprintf(f, "pid %lld", (long long)json_integer_value(pid));
		/* in another pid namespace (a container): the pid it sees itself as, too */
		json_t *nsp = json_object_get(tg, "ns_pid");
		if (json_is_integer(nsp) && json_integer_value(nsp) != json_integer_value(pid))
			fprintf(f, " (pid %lld in its namespace)", (long long)json_integer_value(nsp));
	} else {
		fputs("target", f);
	}
	fputs(" (", f);
	tli_text_puts_clean(f, exe ? exe : "executable unknown");
	const char *arch = json_string_value(json_object_get(tg, "arch"));
	if (arch && kind && !strcmp(kind, "core")) {
		fputs(", ", f);
		tli_text_puts_clean(f, arch);
	}
	fputc(')', f);
}

void tli_text_header(FILE *f, json_t *doc)
{
	json_t *tg = json_object_get(doc, "target");
	if (!json_is_object(tg)) {
		fputs("(no target)\n", f);
		return;
	}
	print_target(f, tg);
	const char *gv = json_string_value(json_object_get(tg, "go_version"));
	fputs(": ", f);
	tli_text_puts_clean(f, gv ? gv : "Go version unknown");
	json_t *go = json_object_get(doc, "go");
	json_t *cnt = json_object_get(go, "goroutine_count");
	if (json_is_integer(cnt)) {
		long long n = (long long)json_integer_value(cnt);
		fprintf(f, ", %lld goroutine%s", n, n == 1 ? "" : "s");
	}
	json_t *pause = json_object_get(tg, "pause_ms");
	const char *kind = json_string_value(json_object_get(tg, "kind"));
	const char *snap = json_string_value(json_object_get(tg, "snapshot"));
	if (json_is_number(pause))
		fprintf(f, ", target paused %.1f ms%s", json_number_value(pause),
			snap && !strcmp(snap, "fork") ? " (a frozen fork of it was read)" : "");
	else if (kind && !strcmp(kind, "live") && json_is_true(json_object_get(tg, "stopped_by_other")))
		fputs(", read while its debugger holds it stopped", f);
	else if (kind && !strcmp(kind, "live"))
		fputs(", target not stopped (read while running)", f);
	fputc('\n', f);
}

static void text_version(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	json_t *tool = json_object_get(doc, "tool");
	const char *v = json_string_value(json_object_get(tool, "version"));
	fprintf(f, "tlinspect %s\n", v ? v : "?");
	json_t *tg = json_object_get(doc, "target");
	if (json_is_object(tg)) {
		const char *gv = json_string_value(json_object_get(tg, "go_version"));
		print_target(f, tg);
		fputs(": ", f);
		tli_text_puts_clean(f, gv ? gv : "Go version unknown");
		fputc('\n', f);
	}
}

/* `maps gen`: the map file itself */
static void text_maps(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	const char *m = json_string_value(json_object_get(doc, "map"));
	if (m)
		fputs(m, f);
}

/* The glibc commands share one printer, which needs the command name. */
#define GLIBC_PRINTER(cmd)                                                                  \
	static void text_glibc_##cmd(FILE *f, json_t *doc, const struct tli_render_opts *opts) \
	{                                                                                     \
		(void)opts;                                                                   \
		tli_glibc_render_text(f, #cmd, doc);                                          \
	}

/* heap: the Go section (a Go program: memstats, size classes, live types), then the glibc
 * section (if libc is there) */
static void text_glibc_heap(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	if (!json_object_get(doc, "go")) {
		tli_glibc_render_text(f, "heap", doc);
		return;
	}
	tli_text_header(f, doc);
	tli_goheap_render_text(f, doc, opts->top);
	json_t *go = json_object_get(doc, "go");
	if (json_object_get(go, "types")) {
		fputc('\n', f);
		tli_text_go_types(f, doc, opts);
	} else if (json_string_value(json_object_get(go, "types_unreadable"))) {
		fputs("\nlive objects by type: unreadable (", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(go, "types_unreadable")));
		fputs(")\n", f);
	}
	if (json_string_value(json_object_get(go, "pprof"))) {
		fputs("retention profile written to ", f);
		tli_text_puts_clean(f, json_string_value(json_object_get(go, "pprof")));
		fputs(" (go tool pprof -top FILE)\n", f);
	}
	if (json_object_get(doc, "glibc")) {
		fputc('\n', f);
		tli_glibc_render_text(f, "heap", doc);
	}
}
GLIBC_PRINTER(arenas)
GLIBC_PRINTER(bins)
GLIBC_PRINTER(chunk)

static void text_explain(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)opts;
	tli_explain_render_text(f, doc);
}

/* The shell prints as it goes: nothing is left to print at its end. */
static void text_nothing(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	(void)f;
	(void)doc;
	(void)opts;
}

/* The printers the command table names (cli/commands.c: `.text = &tli_print_X`). */
const struct tli_text_printer tli_print_goroutines = { tli_text_goroutines, true };
const struct tli_text_printer tli_print_goroutine = { tli_text_goroutine, true };
const struct tli_text_printer tli_print_heap = { text_glibc_heap, true };
const struct tli_text_printer tli_print_arenas = { text_glibc_arenas, true };
const struct tli_text_printer tli_print_bins = { text_glibc_bins, true };
const struct tli_text_printer tli_print_chunk = { text_glibc_chunk, true };
const struct tli_text_printer tli_print_leaks = { tli_text_leaks, true };
const struct tli_text_printer tli_print_chans = { tli_text_chans, true };
const struct tli_text_printer tli_print_chan = { tli_text_chan, true };
const struct tli_text_printer tli_print_graph = { tli_text_graph, true };
const struct tli_text_printer tli_print_maps = { text_maps, false };
const struct tli_text_printer tli_print_version = { text_version, true };
const struct tli_text_printer tli_print_help = { text_help, false };
const struct tli_text_printer tli_print_nothing = { text_nothing, false };
const struct tli_text_printer tli_print_explain = { text_explain, true };
const struct tli_text_printer tli_print_pools = { tli_text_pools, true };

struct tli_error *tli_render_text(FILE *f, const struct tli_text_printer *p, json_t *doc,
				  const struct tli_render_opts *opts)
{
	struct tli_render_opts dflt = { .top = -1 };
	if (!opts)
		opts = &dflt;
	if (!doc)
		return tli_error_create(TLI_E_INTERNAL, "no result to print");
	if (!p || !p->fn)
		return tli_render_json_items(f, doc, opts->items);
	/* warnings on stderr first, so they are seen before a long listing */
	if (p->warnings && opts->warn)
		print_warnings(f, doc, opts);
	p->fn(f, doc, opts);
	if (p->warnings && !opts->warn)
		print_warnings(f, doc, opts);
	if (fflush(f) != 0 || ferror(f))
		return tli_error_errno(errno == EPIPE ? TLI_E_INTERRUPTED : TLI_E_INTERNAL,
				       errno ? errno : EIO, "writing output");
	return NULL;
}
