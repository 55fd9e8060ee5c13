/* SPDX-License-Identifier: MIT */
/*
 * gdb's text (see gdbhint.h): which target gdb has (`info inferiors` + `info
 * target`), and, for the page-request target, gdb's description of the process
 * (`info auxv`, `info proc mappings`, `info registers` per thread).
 */
#include "gdbhint.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"

void tli_gdb_hint_free(struct tli_gdb_hint *h)
{
	if (!h)
		return;
	free(h->core);
	free(h->exe);
	h->core = h->exe = NULL;
	h->pid = 0;
}

bool tli_next_line(const char **p, const char *end, const char **ls, size_t *ll)
{
	if (*p >= end)
		return false;
	const char *s = *p;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *e = nl ? nl : end;
	*ls = s;
	*ll = (size_t)(e - s);
	*p = nl ? nl + 1 : end;
	return true;
}

static char *dup_trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n || n > 4096 || memchr(s, 0, n))
		return NULL;
	return strndup(s, n);
}

static const char *find_in(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(s + i, needle, k))
			return s + i;
	return NULL;
}

struct tli_error *tli_gdb_hint_parse(const char *text, size_t len, struct tli_gdb_hint *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!text)
		return tli_error_create(TLI_E_NO_TARGET, "gdb hint: no text");
	const char *p = text, *end = text + len, *ls;
	size_t ll;
	bool have_row = false, is_core = false, is_native = false;
	char conn[64] = "";
	long pid = 0;
	unsigned lines = 0;
	while (tli_next_line(&p, end, &ls, &ll) && lines++ < 1000000) {
		/* the current inferior: "* 1    process 18153     1 (native)    /exe" */
		if (!have_row && ll > 2 && ls[0] == '*' && ls[1] == ' ') {
			have_row = true;
			const char *q = find_in(ls, ll, " process ");
			if (q) {
				/* digits up to the end of the line only (the text is not NUL-terminated) */
				for (const char *d = q + 9; d < ls + ll && *d >= '0' && *d <= '9' && pid <= 0x7fffffff; d++)
					pid = pid * 10 + (*d - '0');
				if (pid <= 0 || pid > 0x7fffffff)
					pid = 0;
			}
			/* connection "N (kind)" then the executable */
			const char *o = NULL;
			for (size_t i = 0; i < ll; i++)
				if (ls[i] == '(') {
					o = ls + i;
					break;
				}
			if (o) {
				const char *c = memchr(o, ')', (size_t)(ls + ll - o));
				if (c) {
					size_t n = (size_t)(c - o - 1);
					if (n >= sizeof(conn))
						n = sizeof(conn) - 1;
					memcpy(conn, o + 1, n);
					conn[n] = 0;
					is_core = !strcmp(conn, "core");
					is_native = !strcmp(conn, "native");
					free(ret->exe);
					ret->exe = dup_trim(c + 1, (size_t)(ls + ll - c - 1));
				}
			}
			continue;
		}
		/* info target: "Local core dump file:" then "\t`PATH', file type ..." */
		if (!ret->core && find_in(ls, ll, "Local core dump file:") == ls) {
			const char *l2;
			size_t n2;
			if (tli_next_line(&p, end, &l2, &n2)) {
				const char *b = memchr(l2, '`', n2);
				const char *q = NULL;
				if (b)
					q = find_in(b, (size_t)(l2 + n2 - b), "', file type");
				if (!q && b) /* older gdbs: "`PATH'," or "`PATH'" */
					for (const char *x = l2 + n2; x > b; x--)
						if (x[-1] == '\'') {
							q = x - 1;
							break;
						}
				if (b && q && q > b + 1)
					ret->core = dup_trim(b + 1, (size_t)(q - b - 1));
			}
		}
	}
	if (!have_row) {
		tli_gdb_hint_free(ret);
		return tli_error_create(TLI_E_NO_TARGET, "gdb hint: no current inferior in `info inferiors` output");
	}
	if (is_core) {
		if (!ret->core) {
			tli_gdb_hint_free(ret);
			return tli_error_create(TLI_E_NO_TARGET,
						"gdb hint: the inferior is a core but `info target` names no core file");
		}
		return NULL;
	}
	free(ret->core);
	ret->core = NULL;
	if (!pid) {
		tli_gdb_hint_free(ret);
		return tli_error_create(TLI_E_NO_TARGET, "gdb has no process or core file to inspect "
					"(start the program, attach with `attach PID`, or load a core)");
	}
	if (!is_native) {
		tli_gdb_hint_free(ret);
		return tli_error_create(TLI_E_UNSUPPORTED,
					"gdb's inferior (process %ld) is on a '%s' connection; only native "
					"processes and core files can be inspected from gdb",
					pid, conn[0] ? conn : "unknown");
	}
	ret->pid = (int)pid;
	return NULL;
}

struct tli_error *tli_gdb_hint_read(FILE *f, struct tli_gdb_hint *ret)
{
	memset(ret, 0, sizeof(*ret));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1); /* +1: always NUL-terminated */
	if (!buf)
		return &tli_enomem;
	for (;;) {
		if (len == cap) {
			if (cap >= TLI_GDB_HINT_MAX) {
				/* drain the rest so that gdb's pipe writer does not fail */
				char junk[4096];
				while (fread(junk, 1, sizeof(junk), f) > 0)
					;
				break;
			}
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				return &tli_enomem;
			}
			buf = nb;
			cap *= 2;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	struct tli_error *err = tli_gdb_hint_parse(buf, len, ret);
	free(buf);
	return err;
}

/* ------------------------------------------------------------------ */
/* gdb's description of the process (page-request mode)                */

/* bounds: hostile or huge inputs stay bounded */
#define MAX_CONTEXT_LINES 4000000
#define MAX_THREADS 65536
#define MAX_MAPS 1000000
#define TOKEN_MAX 512

struct context_parser {
	struct tli_pages_process *p;
	size_t capmaps, capth;
	struct tli_thread *cur; /* the thread whose `info registers` lines follow */
};

/* Next whitespace-separated token of [*p, end) into tok (truncated); false at the end. */
static bool token(const char **p, const char *end, char *tok, size_t cap)
{
	const char *s = *p;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s >= end)
		return false;
	size_t n = 0;
	while (s < end && !isspace((unsigned char)*s)) {
		if (n + 1 < cap)
			tok[n++] = *s;
		s++;
	}
	tok[n] = 0;
	*p = s;
	return true;
}

static bool hex_tok(const char *tok, uint64_t *v)
{
	if (tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X') || !isxdigit((unsigned char)tok[2]))
		return false;
	char *e;
	errno = 0;
	unsigned long long x = strtoull(tok + 2, &e, 16);
	if (errno || *e)
		return false;
	*v = x;
	return true;
}

/* thread apply all: "Thread 2 (Thread 0x7f.. (LWP 123) "name"):" or "Thread 1 (LWP 123):" */
static struct tli_error *thread_line(struct context_parser *cp, const char *ls, size_t ll)
{
	struct tli_pages_process *p = cp->p;
	const char *lwp = memmem(ls, ll, "(LWP ", 5);
	cp->cur = NULL;
	if (!lwp)
		return NULL;
	/* digits up to the end of the line only (the text is not NUL-terminated) */
	long tid = 0;
	for (const char *d = lwp + 5; d < ls + ll && *d >= '0' && *d <= '9' && tid <= INT_MAX; d++)
		tid = tid * 10 + (*d - '0');
	if (tid <= 0 || tid > INT_MAX || p->nthreads >= MAX_THREADS)
		return NULL;
	if (!tli_vec_grow_((void **)&p->threads, &cp->capth, p->nthreads + 1, sizeof(*p->threads)))
		return &tli_enomem;
	cp->cur = &p->threads[p->nthreads++];
	*cp->cur = (struct tli_thread){ .tid = (int)tid, .no_tp = true }; /* until the thread pointer is seen */
	return NULL;
}

/* info proc mappings, after the start address: "0xEND 0xSIZE 0xOFF [perms] [path]" */
static struct tli_error *mapping_line(struct context_parser *cp, uint64_t start, const char *q,
				      const char *le)
{
	struct tli_pages_process *p = cp->p;
	char tok[4][TOKEN_MAX];
	uint64_t stop, size, off;
	if (!token(&q, le, tok[0], sizeof(tok[0])) || !hex_tok(tok[0], &stop) ||
	    !token(&q, le, tok[1], sizeof(tok[1])) || !hex_tok(tok[1], &size) ||
	    !token(&q, le, tok[2], sizeof(tok[2])) || !hex_tok(tok[2], &off) || stop <= start ||
	    p->nmaps >= MAX_MAPS)
		return NULL;
	unsigned prot = TLI_PROT_R | TLI_PROT_W | TLI_PROT_X; /* gdb < 12: no Perms column */
	const char *after = q;
	char *perms = tok[3];
	if (token(&after, le, perms, TOKEN_MAX) && strlen(perms) == 4 && strchr("r-", perms[0]) &&
	    strchr("w-", perms[1]) && strchr("x-", perms[2]) && strchr("ps", perms[3])) {
		prot = (perms[0] == 'r' ? TLI_PROT_R : 0) | (perms[1] == 'w' ? TLI_PROT_W : 0) |
		       (perms[2] == 'x' ? TLI_PROT_X : 0);
		q = after;
	}
	while (q < le && isspace((unsigned char)*q))
		q++;
	size_t pl = (size_t)(le - q);
	while (pl && isspace((unsigned char)q[pl - 1]))
		pl--;
	if (!tli_vec_grow_((void **)&p->maps, &cp->capmaps, p->nmaps + 1, sizeof(*p->maps)))
		return &tli_enomem;
	struct tli_mapping *m = &p->maps[p->nmaps];
	*m = (struct tli_mapping){ .start = start, .end = stop, .offset = off, .prot = prot };
	if (pl && pl < 4096 && !memchr(q, 0, pl)) {
		m->path = strndup(q, pl);
		if (!m->path)
			return &tli_enomem;
	}
	p->nmaps++;
	return NULL;
}

/* info auxv: "9    AT_ENTRY   Entry point of program   0x401000"; false if it is not such a line */
static bool auxv_line(struct context_parser *cp, const char *first, const char *q, const char *le)
{
	char key[TOKEN_MAX], tok[TOKEN_MAX], last[TOKEN_MAX] = "";
	if (!isdigit((unsigned char)first[0]) || !token(&q, le, key, sizeof(key)) ||
	    (strcmp(key, "AT_ENTRY") && strcmp(key, "AT_PHDR")))
		return false;
	while (token(&q, le, tok, sizeof(tok)))
		memcpy(last, tok, sizeof(last));
	uint64_t v;
	if (hex_tok(last, &v)) {
		if (!strcmp(key, "AT_ENTRY"))
			cp->p->at_entry = v;
		else
			cp->p->at_phdr = v;
	}
	return true;
}

/* info registers inside a thread: "rip  0x401000  0x401000 <main.main>" */
static void register_line(struct context_parser *cp, const char *name, const char *q, const char *le)
{
	/* gdb's page files come from x86-64 processes (the pages backend's architecture) */
	const struct tli_arch *a = &tli_arch_x86_64;
	char tok[TOKEN_MAX];
	uint64_t v;
	if (token(&q, le, tok, sizeof(tok)) && hex_tok(tok, &v) && tli_arch_set_reg(a, &cp->cur->regs, name, v)) {
		if (!strcmp(name, a->sp_name))
			cp->cur->regs_valid = true;
		if (!strcmp(name, a->tp_name))
			cp->cur->no_tp = false;
	}
}

static struct tli_error *context_line(struct context_parser *cp, const char *ls, size_t ll)
{
	const char *q = ls, *le = ls + ll;
	char first[TOKEN_MAX];
	uint64_t start;
	if (!token(&q, le, first, sizeof(first)))
		return NULL;
	if (!strcmp(first, "Thread"))
		return thread_line(cp, ls, ll);
	if (hex_tok(first, &start))
		return mapping_line(cp, start, q, le);
	if (auxv_line(cp, first, q, le))
		return NULL;
	if (cp->cur)
		register_line(cp, first, q, le);
	return NULL;
}

struct tli_error *tli_gdb_process_parse(const char *text, size_t len, struct tli_pages_process *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len > TLI_GDB_HINT_MAX)
		len = TLI_GDB_HINT_MAX;
	struct tli_gdb_hint h;
	tli_error_drop(tli_gdb_hint_parse(text, len, &h)); /* not a live process: pid and exe unknown */
	ret->pid = h.pid;
	ret->exe = h.exe;
	free(h.core);
	struct context_parser cp = { .p = ret };
	const char *p = text, *end = text + len, *ls;
	size_t ll;
	unsigned lines = 0;
	while (tli_next_line(&p, end, &ls, &ll) && lines++ < MAX_CONTEXT_LINES) {
		struct tli_error *err = context_line(&cp, ls, ll);
		if (err) {
			tli_pages_process_free(ret);
			return err;
		}
	}
	return NULL;
}

struct tli_error *tli_gdb_pages_process(const char *dir, const char *text, size_t len,
					struct tli_pages_process *ret)
{
	memset(ret, 0, sizeof(*ret));
	char *file = NULL;
	if (!text) {
		struct tli_error *err = tli_pages_read_description(dir, &file, &len);
		if (err)
			return err;
		text = file;
	}
	struct tli_error *err = text ? tli_gdb_process_parse(text, len, ret) : NULL;
	free(file);
	return err;
}
