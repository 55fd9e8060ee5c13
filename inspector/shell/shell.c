/* SPDX-License-Identifier: MIT */
/* The interactive shell: readline prompt, completion, engine commands, x/dis/ptype. */
#include "shell.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "cli/commands.h"
#include "backend/live.h"
#include "session/open.h"
#include "core/target.h"
#include "dwarf/dwarf.h"
#include "go/gobin.h"
#include "go/pclntab.h"
#include "shell_syms.h"

const char *const tli_shell_builtins[] = { "x", "dis", "ptype", "quit", "exit", NULL };

#define MAX_IDS 1000000
#define MAX_WORDS 64

/* ---------------- words ---------------- */

struct tli_error *tli_shell_split(const char *line, char ***ret, int *argc)
{
	*ret = NULL;
	*argc = 0;
	char **v = calloc(MAX_WORDS + 1, sizeof(char *));
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	if (!v || !buf) {
		free(v);
		free(buf);
		return &tli_enomem;
	}
	int n = 0;
	const char *p = line;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n >= MAX_WORDS) {
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			free(buf);
			return tli_error_create(TLI_E_USAGE, "too many words (at most %d)", MAX_WORDS);
		}
		size_t k = 0;
		char q = 0;
		while (*p && (q || !isspace((unsigned char)*p))) {
			if (!q && (*p == '\'' || *p == '"')) {
				q = *p++;
				continue;
			}
			if (q && *p == q) {
				q = 0;
				p++;
				continue;
			}
			buf[k++] = *p++;
		}
		if (q) {
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			free(buf);
			return tli_error_create(TLI_E_USAGE, "unterminated quote %c", q);
		}
		buf[k] = 0;
		v[n] = strdup(buf);
		if (!v[n]) {
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			free(buf);
			return &tli_enomem;
		}
		n++;
	}
	free(buf);
	*ret = v;
	*argc = n;
	return NULL;
}

static void free_words(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---------------- completion ---------------- */

struct matches {
	char **v;
	size_t n, cap, max;
};

static bool add_match(struct matches *m, const char *s)
{
	if (m->n >= m->max)
		return false;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i], s))
			return true;
	if (m->n + 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		char **nv = realloc(m->v, nc * sizeof(char *));
		if (!nv)
			return false;
		m->v = nv;
		m->cap = nc;
	}
	char *d = strdup(s);
	if (!d)
		return false;
	m->v[m->n++] = d;
	m->v[m->n] = NULL;
	return true;
}

static bool prefix(const char *s, const char *word)
{
	return strncmp(s, word, strlen(word)) == 0;
}

static void complete_commands(struct matches *m, const char *word)
{
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!c->hidden && strcmp(c->name, "shell") && prefix(c->name, word))
			add_match(m, c->name);
	for (size_t i = 0; tli_shell_builtins[i]; i++)
		if (prefix(tli_shell_builtins[i], word))
			add_match(m, tli_shell_builtins[i]);
}

static void complete_ids(struct matches *m, const struct tli_shell_names *n, const char *word)
{
	char buf[32];
	for (size_t i = 0; i < n->nids && m->n < m->max; i++) {
		snprintf(buf, sizeof(buf), "%" PRId64, n->ids[i]);
		if (prefix(buf, word))
			add_match(m, buf);
	}
}

static void complete_symbols(struct matches *m, const struct tli_shell_names *n, const char *word)
{
	if (!n->pcln || !*word)
		return; /* all functions at once is never what one wants */
	size_t nf = tli_pclntab_nfunc(n->pcln);
	for (size_t i = 0; i < nf && m->n < m->max; i++) {
		struct tli_gofunc f;
		struct tli_error *err = tli_pclntab_func_at(n->pcln, i, &f);
		if (tli_error_drop(err))
			continue;
		if (f.name && prefix(f.name, word))
			add_match(m, f.name);
	}
}

static bool add_name(void *arg, const char *name)
{
	struct matches *m = arg;
	add_match(m, name);
	return m->n < m->max;
}

/* C globals and functions of the executable and its libraries (ELF symbol tables) */
static void complete_globals(struct matches *m, const struct tli_shell_names *n, const char *word)
{
	if (n->syms && *word)
		tli_shsyms_names(n->syms, word, add_name, m);
}

/* struct/union/typedef names of the executable's and libc's DWARF; `struct X` completes X */
static void complete_types(struct matches *m, const struct tli_shell_names *n, const char *word)
{
	if (n->syms && *word)
		tli_shsyms_types(n->syms, word, add_name, m);
}

static void complete_options(struct matches *m, const struct tli_command *c, const char *word)
{
	char buf[80];
	for (int t = 0; t < 2; t++)
		for (const struct tli_option *o = t ? tli_global_options : (c ? c->options : NULL); o && o->name; o++) {
			if (o->hidden)
				continue;
			if (t && (!strcmp(o->name, "pid") || !strcmp(o->name, "core") || !strcmp(o->name, "exe") ||
				  !strcmp(o->name, "sysroot") || !strcmp(o->name, "help") || !strcmp(o->name, "version")))
				continue; /* the target is fixed for the shell's life */
			snprintf(buf, sizeof(buf), "--%s", o->name);
			if (prefix(buf, word))
				add_match(m, buf);
		}
}

char **tli_shell_complete(const struct tli_shell_names *n, const char *line, size_t start, const char *word,
			  size_t max)
{
	static const struct tli_shell_names none;
	if (!n)
		n = &none;
	struct matches m = { .max = max ? max : 1000 };
	/* the words before the one being completed */
	size_t ll = strlen(line);
	if (start > ll)
		start = ll;
	char *before = strndup(line, start);
	char **w = NULL;
	int nw = 0;
	struct tli_error *err = before ? tli_shell_split(before, &w, &nw) : &tli_enomem;
	free(before);
	if (tli_error_drop(err))
		return NULL;
	if (nw == 0) {
		complete_commands(&m, word);
	} else {
		const char *c0 = w[0];
		const struct tli_command *c = tli_command_find(c0);
		if (word[0] == '-') {
			if (c)
				complete_options(&m, c, word);
		} else if (!strcmp(c0, "goroutine") || (!strcmp(c0, "explain") && nw == 2 && !strcmp(w[1], "g"))) {
			complete_ids(&m, n, word);
		} else if (!strcmp(c0, "explain") && nw == 1) {
			static const char *const kinds[] = { "g", "chunk", "arena", "chan", NULL };
			for (size_t i = 0; kinds[i]; i++)
				if (prefix(kinds[i], word))
					add_match(&m, kinds[i]);
		} else if (!strcmp(c0, "dis") || !strcmp(c0, "x")) {
			if (nw == 1) {
				complete_symbols(&m, n, word);
				complete_globals(&m, n, word);
			}
		} else if (!strcmp(c0, "ptype") && (nw == 1 || (nw == 2 && (!strcmp(w[1], "struct") ||
									   !strcmp(w[1], "union"))))) {
			complete_types(&m, n, word);
		} else if (!strcmp(c0, "help") && nw == 1) {
			complete_commands(&m, word);
		}
	}
	free_words(w);
	return m.v;
}

void tli_shell_free_matches(char **m)
{
	free_words(m);
}

/* ---------------- the shell ---------------- */

struct shell {
	const struct tli_cli_opts *cli;
	struct tli_session *base;         /* opened by the CLI without stopping the target */
	const struct tli_pclntab *pcln;   /* NULL for non-Go executables */
	uint64_t bias;
	int64_t *ids;
	size_t nids;
	struct tli_shsyms *syms;          /* ELF symbols and DWARF types (C names) */
	bool live;
	char prompt[128];
};

static struct shell *g_shell; /* for readline's completion callback */

static void result_hook(const char *command, json_t *doc, void *arg)
{
	struct shell *sh = arg;
	if (strcmp(command, "goroutines") != 0)
		return;
	json_t *list = json_object_get(json_object_get(doc, "go"), "goroutines");
	size_t n = json_array_size(list);
	if (n > MAX_IDS)
		n = MAX_IDS;
	int64_t *ids = malloc((n ? n : 1) * sizeof(int64_t));
	if (!ids)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *id = json_object_get(json_array_get(list, i), "id");
		if (json_is_integer(id))
			ids[k++] = json_integer_value(id);
	}
	free(sh->ids);
	sh->ids = ids;
	sh->nids = k;
}

static char *rl_gen(const char *text, int state)
{
	static char **m;
	static size_t i;
	if (!state) {
		tli_shell_free_matches(m);
		struct tli_shell_names n = { 0 };
		if (g_shell) {
			n.ids = g_shell->ids;
			n.nids = g_shell->nids;
			n.pcln = g_shell->pcln;
			n.syms = g_shell->syms;
		}
		m = tli_shell_complete(&n, rl_line_buffer, (size_t)(rl_point - (int)strlen(text) >= 0
								     ? rl_point - (int)strlen(text) : 0),
				       text, 2000);
		i = 0;
	}
	if (!m || !m[i])
		return NULL;
	return strdup(m[i++]);
}

static char **rl_complete_cb(const char *text, int start, int end)
{
	(void)start;
	(void)end;
	rl_attempted_completion_over = 1; /* no file names */
	return rl_completion_matches(text, rl_gen);
}

/* Global options of the shell's own command line, for each engine command. */
static int build_argv(const struct shell *sh, char **words, int nw, char **argv, int cap, char *pidbuf,
		      char *tbuf)
{
	const struct tli_cli_opts *o = sh->cli;
	int n = 0;
	argv[n++] = "tlinspect";
	if (o->pid > 0) {
		argv[n++] = "--pid";
		snprintf(pidbuf, 16, "%d", o->pid);
		argv[n++] = pidbuf;
	}
	if (o->core) {
		argv[n++] = "--core";
		argv[n++] = (char *)o->core;
	}
	if (o->exe) {
		argv[n++] = "--exe";
		argv[n++] = (char *)o->exe;
	}
	if (o->sysroot) {
		argv[n++] = "--sysroot";
		argv[n++] = (char *)o->sysroot;
	}
	if (o->no_stop)
		argv[n++] = "--no-stop";
	if (o->no_dwarf)
		argv[n++] = "--no-dwarf";
	if (o->quiet)
		argv[n++] = "-q";
	if (o->timeout_ms > 0) {
		snprintf(tbuf, 16, "%d", o->timeout_ms);
		argv[n++] = "--timeout";
		argv[n++] = tbuf;
	}
	for (int i = 0; i < nw && n < cap - 1; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	return n;
}

static int run_engine(struct shell *sh, char **words, int nw)
{
	char *argv[MAX_WORDS + 24];
	char pidbuf[16], tbuf[16];
	int argc = build_argv(sh, words, nw, argv, (int)(sizeof(argv) / sizeof(argv[0])), pidbuf, tbuf);
	struct tli_cli_opts o;
	struct tli_error *err = tli_cli_parse(argc, argv, &o);
	if (err) {
		fprintf(stderr, "tlinspect: error: %s\n", err->msg);
		int code = err->code;
		tli_error_destroy(err);
		tli_cli_opts_free(&o);
		return code;
	}
	if (!strcmp(o.cmd->name, "shell")) {
		tli_cli_opts_free(&o);
		fputs("tlinspect: error: already in the shell\n", stderr);
		return TLI_E_USAGE;
	}
	int rc = tli_cli_run_ex(&o, stdout, stderr, result_hook, sh);
	tli_cli_opts_free(&o);
	fflush(stdout);
	return rc;
}

/* A session for one shell command: fresh (stopping the target) when live, the base one for cores. */
static struct tli_error *cmd_session(struct shell *sh, struct tli_session **ret, bool *fresh)
{
	*fresh = false;
	if (!sh->live) {
		*ret = sh->base;
		return NULL;
	}
	struct tli_session_opts so = {
		.pid = sh->cli->pid, .exe = sh->cli->exe, .no_stop = sh->cli->no_stop,
		.no_dwarf = sh->cli->no_dwarf, .timeout_ms = sh->cli->timeout_ms,
		.snapshot_fork = sh->cli->snapshot_fork,
	};
	tli_live_install_signal_guard();
	struct tli_error *err = tli_session_open(&so, ret);
	if (!err)
		*fresh = true;
	return err;
}

static void end_session(struct tli_session *s, bool fresh)
{
	if (!fresh)
		return;
	if (s->target && !s->target->released && s->target->kind == TLI_TARGET_LIVE)
		tli_target_release(s->target);
	tli_session_destroy(s);
}

/* function containing a runtime address: "main.worker+0x1d" */
static bool symbolize(const struct shell *sh, uint64_t addr, char *buf, size_t cap)
{
	struct tli_gofunc f;
	if (!sh->pcln || tli_error_drop(tli_pclntab_find(sh->pcln, addr - sh->bias, &f)))
		return tli_shsyms_symbolize(sh->syms, addr, buf, cap); /* C: the ELF symbols */
	uint64_t off = addr - sh->bias - f.entry;
	if (off)
		snprintf(buf, cap, "%s+0x%" PRIx64, f.name, off);
	else
		snprintf(buf, cap, "%s", f.name);
	return true;
}

/* ADDR as a number, a Go function name (its entry), or a global symbol of the executable or a
 * library it maps (*end: the end of a function or object when its size is known). */
static struct tli_error *parse_where(const struct shell *sh, const char *s, uint64_t *ret, uint64_t *end)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 0);
	*end = 0;
	if (*s && !*e && !errno) {
		*ret = v;
		return NULL;
	}
	if (sh->pcln) {
		struct tli_gofunc f;
		struct tli_error *err = tli_pclntab_lookup(sh->pcln, s, &f);
		if (!err) {
			*ret = f.entry + sh->bias;
			*end = f.end + sh->bias;
			return NULL;
		}
		tli_error_destroy(err);
	}
	uint64_t size = 0;
	if (tli_shsyms_lookup(sh->syms, s, ret, &size)) {
		*end = size ? *ret + size : 0;
		return NULL;
	}
	return tli_error_create(TLI_E_USAGE, "'%s' is neither an address nor a symbol of the executable or "
				"of a library it maps", s);
}

static struct tli_error *parse_count(const char *s, long max, long *ret)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 0);
	if (!*s || *e || errno || v <= 0 || v > max)
		return tli_error_create(TLI_E_USAGE, "invalid count '%s': expected 1..%ld", s, max);
	*ret = v;
	return NULL;
}

static struct tli_error *cmd_x(struct shell *sh, char **w, int nw)
{
	if (nw < 2 || nw > 3)
		return tli_error_create(TLI_E_USAGE, "usage: x ADDR|FUNC [N]   (hex dump of N bytes, default 64)");
	uint64_t addr, fend;
	long n = 64;
	struct tli_error *err = parse_where(sh, w[1], &addr, &fend);
	if (!err && nw == 3)
		err = parse_count(w[2], 1 << 20, &n);
	if (err)
		return err;
	struct tli_session *s;
	bool fresh;
	if ((err = cmd_session(sh, &s, &fresh)))
		return err;
	uint8_t *buf = malloc((size_t)n);
	if (!buf) {
		end_session(s, fresh);
		return &tli_enomem;
	}
	err = tli_target_read(s->target, addr, buf, (size_t)n);
	end_session(s, fresh);
	if (err) {
		free(buf);
		return err;
	}
	for (long i = 0; i < n; i += 16) {
		printf("0x%016" PRIx64 ": ", addr + (uint64_t)i);
		for (long j = 0; j < 16; j++) {
			if (i + j < n)
				printf("%02x%s", buf[i + j], j == 7 ? "  " : " ");
			else
				fputs(j == 7 ? "    " : "   ", stdout);
		}
		fputs(" |", stdout);
		for (long j = 0; j < 16 && i + j < n; j++)
			putchar(isprint(buf[i + j]) ? buf[i + j] : '.');
		puts("|");
	}
	free(buf);
	return NULL;
}

static struct tli_error *cmd_dis(struct shell *sh, char **w, int nw)
{
	if (nw < 2 || nw > 3)
		return tli_error_create(TLI_E_USAGE, "usage: dis ADDR|FUNC [N]   (N instructions, default 16; "
					"a whole function when FUNC is given without N)");
	uint64_t addr, fend;
	long n = 16;
	struct tli_error *err = parse_where(sh, w[1], &addr, &fend);
	if (!err && nw == 3)
		err = parse_count(w[2], 100000, &n);
	if (err)
		return err;
	size_t len = (size_t)n * 15;
	if (fend > addr && nw == 2) {
		len = fend - addr;
		n = 100000;
	}
	if (len > (4u << 20))
		len = 4u << 20;
	struct tli_session *s;
	bool fresh;
	if ((err = cmd_session(sh, &s, &fresh)))
		return err;
	uint8_t *buf = malloc(len);
	if (!buf) {
		end_session(s, fresh);
		return &tli_enomem;
	}
	/* a short read near the end of a mapping: retry smaller */
	size_t got = len;
	while ((err = tli_target_read(s->target, addr, buf, got)) && got > 16) {
		tli_error_destroy(err);
		got /= 2;
	}
	end_session(s, fresh);
	if (err) {
		free(buf);
		return err;
	}
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		free(buf);
		return tli_error_create(TLI_E_INTERNAL, "capstone: cannot open x86-64 disassembler");
	}
	cs_insn *insn = NULL;
	size_t count = cs_disasm(cs, buf, got, addr, (size_t)n, &insn);
	char sym[512], tsym[512];
	for (size_t i = 0; i < count; i++) {
		if (symbolize(sh, insn[i].address, sym, sizeof(sym)))
			printf("0x%016" PRIx64 " <%s>:\t%s\t%s", insn[i].address, sym, insn[i].mnemonic, insn[i].op_str);
		else
			printf("0x%016" PRIx64 ":\t%s\t%s", insn[i].address, insn[i].mnemonic, insn[i].op_str);
		/* direct call/jump targets */
		char *e;
		const char *op = insn[i].op_str;
		if ((insn[i].mnemonic[0] == 'j' || !strncmp(insn[i].mnemonic, "call", 4)) && !strncmp(op, "0x", 2)) {
			unsigned long long t = strtoull(op, &e, 16);
			if (!*e && symbolize(sh, t, tsym, sizeof(tsym)))
				printf("\t<%s>", tsym);
		}
		putchar('\n');
	}
	if (count == 0)
		printf("(no instruction decodes at 0x%" PRIx64 ")\n", addr);
	cs_free(insn, count);
	cs_close(&cs);
	free(buf);
	return NULL;
}

struct ptype_rows {
	char *text;   /* the member lines, printed only once the whole type is read */
	size_t len;
	FILE *f;
};

static bool ptype_member(void *arg, const char *name, const char *type, uint64_t off, uint64_t size)
{
	struct ptype_rows *r = arg;
	fprintf(r->f, "  /* 0x%04" PRIx64 " %5" PRIu64 " */  %-24s %s\n", off, size, name[0] ? name : "(anonymous)",
		type);
	return true;
}

static struct tli_error *cmd_ptype(struct shell *sh, char **w, int nw)
{
	if (nw < 2 || (nw > 2 && !(nw == 3 && (!strcmp(w[1], "struct") || !strcmp(w[1], "union")))))
		return tli_error_create(TLI_E_USAGE, "usage: ptype TYPE   (e.g. ptype runtime.g, ptype malloc_state, "
					"ptype struct malloc_chunk)");
	const char *type = w[nw - 1];
	struct ptype_rows r = { 0 };
	if (!(r.f = open_memstream(&r.text, &r.len)))
		return &tli_enomem;
	uint64_t size = 0;
	const char *from = NULL;
	struct tli_error *err = tli_shsyms_members(sh->syms, type, ptype_member, &r, &size, &from);
	fclose(r.f);
	if (!err) {
		printf("type %s%s%s {\n", nw == 3 ? w[1] : "", nw == 3 ? " " : "", type);
		printf("  /* offset  size */  %-24s %s\n", "member", "type");
		fputs(r.text, stdout);
		printf("} /* size %" PRIu64 " (0x%" PRIx64 ") */\n", size, size);
	}
	free(r.text);
	return err;
}

static void shell_help(void)
{
	puts("Engine commands (same as on the command line; `help CMD` for details):");
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!c->hidden && strcmp(c->name, "shell"))
			printf("  %-11s %s\n", c->name, c->summary);
	puts("Shell commands:\n"
	     "  x ADDR|FUNC [N]     hex dump of N bytes (default 64)\n"
	     "  dis ADDR|FUNC [N]   disassemble N instructions (default 16; all of FUNC without N)\n"
	     "  ptype TYPE          members of a struct type with offsets and sizes (DWARF of the\n"
	     "                      executable, then libc's: ptype malloc_state)\n"
	     "  quit                leave (also exit, q, Ctrl-D)\n"
	     "Tab completes commands, options, goroutine ids (from the last `goroutines`), Go\n"
	     "function names, C symbols (x, dis) and type names (ptype). History is kept in\n"
	     "~/.tlinspect_history.");
}

/* One line. Returns false to quit. */
static bool run_line(struct shell *sh, const char *line)
{
	char **w;
	int nw;
	struct tli_error *err = tli_shell_split(line, &w, &nw);
	if (err) {
		fprintf(stderr, "tlinspect: error: %s\n", err->msg);
		tli_error_destroy(err);
		return true;
	}
	bool go_on = true;
	if (nw == 0) {
		/* nothing */
	} else if (!strcmp(w[0], "quit") || !strcmp(w[0], "exit") || !strcmp(w[0], "q")) {
		go_on = false;
	} else if (!strcmp(w[0], "help") && nw == 1) {
		shell_help();
	} else if (!strcmp(w[0], "x") || !strcmp(w[0], "dis") || !strcmp(w[0], "ptype")) {
		err = !strcmp(w[0], "x") ? cmd_x(sh, w, nw) : !strcmp(w[0], "dis") ? cmd_dis(sh, w, nw) : cmd_ptype(sh, w, nw);
		if (err) {
			fputs("tlinspect: error: ", stderr);
			fputs(err->msg, stderr);
			fputc('\n', stderr);
			tli_error_destroy(err);
		}
	} else {
		run_engine(sh, w, nw);
	}
	fflush(stdout);
	free_words(w);
	return go_on;
}

static char *history_path(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	char *p = NULL;
	if (asprintf(&p, "%s/.tlinspect_history", home) < 0)
		return NULL;
	return p;
}

/* readline's idle hook: a thread an earlier command could not stop (stuck in the kernel then)
 * is detached as soon as it stops, not at the next command. */
static bool g_stdin_tty, g_stdin_eof;

static int reap_hook(void)
{
	tli_live_reap_pending();
	/* From a pipe or file, readline's key loop does not notice the end of input while this hook is
	 * set (no character arrives, the hook runs, again, at full CPU): at EOF — readable with nothing
	 * left to read — end the line, and the loop below ends the shell. */
	struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
	int avail = 0;
	if (!g_stdin_tty && poll(&pf, 1, 0) == 1 && (pf.revents & (POLLIN | POLLHUP)) &&
	    ioctl(STDIN_FILENO, FIONREAD, &avail) == 0 && avail == 0) {
		g_stdin_eof = true;
		rl_done = 1;
	}
	return 0;
}

struct tli_error *tli_shell_main(const struct tli_cli_opts *cli, struct tli_session *session)
{
	struct shell sh = { .cli = cli, .base = session, .live = cli->pid > 0 };
	if (session) {
		struct tli_gobin *b = NULL;
		struct tli_error *err = tli_session_gobin(session, &b);
		if (!err && b)
			sh.pcln = tli_gobin_pclntab(b);
		tli_error_destroy(err);
		sh.bias = session->exe_bias;
		sh.syms = tli_shsyms_new(session, cli->no_dwarf);
	}
	if (sh.live)
		snprintf(sh.prompt, sizeof(sh.prompt), "tlinspect pid %d (running)> ", cli->pid);
	else
		snprintf(sh.prompt, sizeof(sh.prompt), "tlinspect core> ");
	g_shell = &sh;
	rl_readline_name = "tlinspect";
	rl_attempted_completion_function = rl_complete_cb;
	rl_basic_word_break_characters = " \t\n\"'";
	char *hist = history_path();
	using_history();
	if (hist)
		read_history(hist);
	stifle_history(1000);
	bool tty = isatty(STDIN_FILENO);
	if (tty) {
		if (sh.live)
			printf("tlinspect shell on pid %d: the process runs between commands and is stopped only "
			       "while one runs.\nType help for the commands, Tab to complete, quit to leave.\n",
			       cli->pid);
		else
			printf("tlinspect shell on core %s.\nType help for the commands, Tab to complete, quit to "
			       "leave.\n", cli->core);
	}
	g_stdin_tty = tty;
	g_stdin_eof = false;
	if (sh.live)
		rl_event_hook = reap_hook; /* while waiting for input, too */
	for (;;) {
		fflush(stdout);
		if (sh.live)
			tli_live_reap_pending(); /* between commands the whole target runs */
		char *line = readline(sh.prompt);
		if (line && g_stdin_eof && !*line) { /* the hook saw the end of a pipe (see reap_hook) */
			free(line);
			line = NULL;
		}
		if (!line) {
			if (tty)
				putchar('\n');
			break;
		}
		const char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p) {
			HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
			if (!last || strcmp(last->line, line))
				add_history(line);
		}
		bool go_on = run_line(&sh, line);
		free(line);
		if (!go_on)
			break;
	}
	if (hist) {
		write_history(hist);
		free(hist);
	}
	g_shell = NULL;
	free(sh.ids);
	tli_shsyms_free(sh.syms);
	return NULL;
}
