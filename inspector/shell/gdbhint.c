/* SPDX-License-Identifier: MIT */
/* Parse gdb's `info inferiors` + `info target` output (see gdbhint.h). */
#include "gdbhint.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
