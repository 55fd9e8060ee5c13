/* SPDX-License-Identifier: MIT */
/* Runtime map files: parser and lookups. Format: runtime-maps/README.md. */
#include "core/hash.h"
#include "runtime_maps/maps.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf/dwarf.h"

#define MAX_TOKEN 1024
#define MAX_TOKENS 8
#define MAX_FILE (16u << 20)
#define MAX_STRINGS 4096

struct mstruct {
	char *name;
	uint64_t size;
};

struct mmember {
	char *type, *path, *ctype;
	struct tli_member m;
};

struct mconst {
	char *name;
	int64_t v;
};

struct mstrings {
	char *name;
	size_t n;       /* entries read so far (== expect once complete) */
	size_t expect;  /* COUNT of the 'strings' line */
	char **s;
};

struct tli_map {
	char *kind, *version, *generator, *source;
	struct mstruct *st;
	size_t nst, capst;
	struct mmember *mem;
	size_t nmem, capmem;
	struct mconst *cs;
	size_t ncs, capcs;
	struct mstrings *strs;
	size_t nstrs, capstrs;
	struct tli_strmap *st_idx, *mem_idx, *cs_idx, *strs_idx;
};

void tli_map_free(struct tli_map *m)
{
	if (!m)
		return;
	free(m->kind);
	free(m->version);
	free(m->generator);
	free(m->source);
	for (size_t i = 0; i < m->nst; i++)
		free(m->st[i].name);
	free(m->st);
	for (size_t i = 0; i < m->nmem; i++) {
		free(m->mem[i].type);
		free(m->mem[i].path);
		free(m->mem[i].ctype);
	}
	free(m->mem);
	for (size_t i = 0; i < m->ncs; i++)
		free(m->cs[i].name);
	free(m->cs);
	for (size_t i = 0; i < m->nstrs; i++) {
		for (size_t j = 0; j < m->strs[i].n; j++)
			free(m->strs[i].s[j]);
		free(m->strs[i].s);
		free(m->strs[i].name);
	}
	free(m->strs);
	tli_strmap_free(m->st_idx);
	tli_strmap_free(m->mem_idx);
	tli_strmap_free(m->cs_idx);
	tli_strmap_free(m->strs_idx);
	free(m);
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = nc;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Split one line into tokens: bare words, or "quoted strings" with \" \\ \n \t \xHH.
 * Returns the number of tokens, or -1 with a reason in *why.
 */
static int tokenize(const char *line, size_t len, char tok[][MAX_TOKEN], int max, const char **why)
{
	size_t i = 0;
	int n = 0;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		if (n >= max) {
			*why = "too many fields";
			return -1;
		}
		size_t o = 0;
		if (line[i] == '"') {
			i++;
			bool closed = false;
			while (i < len) {
				char c = line[i++];
				if (c == '"') {
					closed = true;
					break;
				}
				if (c == '\\') {
					if (i >= len) {
						*why = "backslash at end of line";
						return -1;
					}
					char e = line[i++];
					switch (e) {
					case '"': c = '"'; break;
					case '\\': c = '\\'; break;
					case 'n': c = '\n'; break;
					case 't': c = '\t'; break;
					case 'x': {
						int h1 = i < len ? hexval(line[i]) : -1;
						int h2 = i + 1 < len ? hexval(line[i + 1]) : -1;
						if (h1 < 0 || h2 < 0) {
							*why = "bad \\x escape";
							return -1;
						}
						c = (char)(h1 * 16 + h2);
						i += 2;
						break;
					}
					default:
						*why = "unknown escape in quoted string";
						return -1;
					}
				}
				if (c == 0) {
					*why = "NUL byte in quoted string";
					return -1;
				}
				if (o + 1 >= MAX_TOKEN) {
					*why = "field too long";
					return -1;
				}
				tok[n][o++] = c;
			}
			if (!closed) {
				*why = "unterminated quoted string";
				return -1;
			}
			if (i < len && line[i] != ' ' && line[i] != '\t') {
				*why = "garbage after quoted string";
				return -1;
			}
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t') {
				if (line[i] == '"') {
					*why = "quote inside a bare word";
					return -1;
				}
				if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
					*why = "control character";
					return -1;
				}
				if (o + 1 >= MAX_TOKEN) {
					*why = "field too long";
					return -1;
				}
				tok[n][o++] = line[i++];
			}
		}
		tok[n][o] = 0;
		n++;
	}
	return n;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? strtoull(s + 2, &end, 16)
									     : strtoull(s, &end, 10);
	if (errno || *end || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !s[2]))
		return false;
	*ret = v;
	return true;
}

static bool parse_i64(const char *s, int64_t *ret)
{
	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static char *member_key(const char *type, const char *path)
{
	size_t a = strlen(type), b = strlen(path);
	char *k = malloc(a + b + 2);
	if (!k)
		return NULL;
	memcpy(k, type, a);
	k[a] = '\x1f';
	memcpy(k + a + 1, path, b + 1);
	return k;
}

/* The parser's state: the map being built and the line being read. */
struct map_parser {
	struct tli_map *m;
	const char *name;          /* file name, for messages */
	size_t lineno;
	const char *line;          /* the current line (not NUL-terminated, without "\r\n") */
	size_t ll;                 /* its length */
	size_t s;                  /* offset of its first field */
	char (*tok)[MAX_TOKEN];    /* its fields */
	int nt;                    /* number of fields */
	bool header;               /* the 'tlimap N' line was read */
	struct mstrings *cur_strs; /* string table being filled by "str" lines */
};

/* A format error at the current line: "NAME:LINE: message". */
__attribute__((format(printf, 2, 3)))
static struct tli_error *map_fail(const struct map_parser *p, const char *fmt, ...)
{
	char msg[sizeof(((struct tli_error *)0)->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tli_error_create(TLI_E_BAD_FORMAT, "%s:%zu: %s", p->name, p->lineno, msg);
}

/* The next line of [text, text+len) from *pos into p->line/p->ll; false at the end. */
static bool next_line(struct map_parser *p, const char *text, size_t len, size_t *pos)
{
	if (*pos >= len)
		return false;
	p->lineno++;
	const char *line = text + *pos;
	const char *nl = memchr(line, '\n', len - *pos);
	size_t ll = nl ? (size_t)(nl - line) : len - *pos;
	*pos += ll + (nl ? 1 : 0);
	if (ll && line[ll - 1] == '\r')
		ll--;
	p->line = line;
	p->ll = ll;
	return true;
}

/* 'generator' and 'source' take free text (the rest of the line) unless it is quoted:
 * tok[0] = the word, tok[1] = a single-word value; nt = 1 (no value), 2, or 3 (several
 * words, taken verbatim by parse_info). */
static struct tli_error *split_free_text(struct map_parser *p, size_t wl)
{
	const char *line = p->line;
	size_t ll = p->ll;
	memcpy(p->tok[0], line + p->s, wl);
	p->tok[0][wl] = 0;
	size_t r = p->s + wl;
	while (r < ll && (line[r] == ' ' || line[r] == '\t'))
		r++;
	for (size_t k = r; k < ll; k++)
		if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
			return map_fail(p, "control character");
	p->nt = 2;
	if (r == ll) {
		p->nt = 1;
	} else if (!memchr(line + r, ' ', ll - r) && !memchr(line + r, '\t', ll - r) && ll - r < MAX_TOKEN) {
		memcpy(p->tok[1], line + r, ll - r);
		p->tok[1][ll - r] = 0;
	} else {
		p->nt = 3;
	}
	return NULL;
}

/* The fields of the current line into p->tok/p->nt; *skip for blank and comment lines. */
static struct tli_error *split_line(struct map_parser *p, bool *skip)
{
	const char *line = p->line;
	size_t ll = p->ll, s = 0;
	*skip = false;
	if (memchr(line, 0, ll))
		return map_fail(p, "NUL byte in line");
	while (s < ll && (line[s] == ' ' || line[s] == '\t'))
		s++;
	if (s == ll || line[s] == '#') {
		*skip = true;
		return NULL;
	}
	p->s = s;
	size_t wl = 0;
	while (s + wl < ll && line[s + wl] != ' ' && line[s + wl] != '\t')
		wl++;
	bool freetext = ((wl == 6 && !memcmp(line + s, "source", 6)) ||
			 (wl == 9 && !memcmp(line + s, "generator", 9))) &&
			!memchr(line + s, '"', ll - s) && p->header;
	if (freetext)
		return split_free_text(p, wl);
	const char *why = NULL;
	p->nt = tokenize(line, ll, p->tok, MAX_TOKENS, &why);
	return p->nt < 0 ? map_fail(p, "%s", why) : NULL;
}

/* "tlimap FORMAT", the first line. */
static struct tli_error *parse_header(struct map_parser *p)
{
	uint64_t v;
	if (strcmp(p->tok[0], "tlimap") || p->nt != 2 || !parse_u64(p->tok[1], &v))
		return map_fail(p, "expected 'tlimap %d' as the first line", TLI_MAP_FORMAT);
	if (v != TLI_MAP_FORMAT)
		return map_fail(p, "map format %llu is not supported (this tlinspect reads format %d)",
				(unsigned long long)v, TLI_MAP_FORMAT);
	p->header = true;
	return NULL;
}

/* "kind K", "version V", "generator TEXT", "source TEXT". */
static struct tli_error *parse_info(struct map_parser *p, const char *d)
{
	struct tli_map *m = p->m;
	char **slot = !strcmp(d, "kind") ? &m->kind : !strcmp(d, "version") ? &m->version
		      : !strcmp(d, "generator") ? &m->generator : &m->source;
	if (*slot)
		return map_fail(p, "duplicate '%s' line", d);
	if (p->nt < 2)
		return map_fail(p, "'%s' needs a value", d);
	if ((!strcmp(d, "kind") || !strcmp(d, "version")) && p->nt != 2)
		return map_fail(p, "'%s' takes exactly one value", d);
	/* generator/source: the rest of the line, verbatim */
	const char *v = p->nt == 2 ? p->tok[1] : NULL;
	char *dup;
	if (v) {
		dup = strdup(v);
	} else {
		const char *r = p->line + p->s + strlen(d);
		while (*r == ' ' || *r == '\t')
			r++;
		dup = strndup(r, p->ll - (size_t)(r - p->line));
	}
	if (!dup)
		return &tli_enomem;
	*slot = dup;
	if (!strcmp(d, "kind") && strcmp(m->kind, "go") && strcmp(m->kind, "glibc"))
		return map_fail(p, "unknown kind '%s' (go or glibc)", m->kind);
	return NULL;
}

/* "struct NAME SIZE" */
static struct tli_error *parse_struct(struct map_parser *p)
{
	struct tli_map *m = p->m;
	char (*tok)[MAX_TOKEN] = p->tok;
	uint64_t sz, dummy;
	if (p->nt != 3 || !parse_u64(tok[2], &sz))
		return map_fail(p, "expected 'struct NAME SIZE'");
	if (tli_strmap_get(m->st_idx, tok[1], &dummy))
		return map_fail(p, "struct %s defined twice", tok[1]);
	if (!grow((void **)&m->st, &m->capst, m->nst, sizeof(*m->st)))
		return &tli_enomem;
	m->st[m->nst] = (struct mstruct){ strdup(tok[1]), sz };
	if (!m->st[m->nst].name || !tli_strmap_put(m->st_idx, tok[1], m->nst))
		return &tli_enomem;
	m->nst++;
	return NULL;
}

/* "member STRUCT PATH OFFSET SIZE [TYPE]", after its struct and inside it */
static struct tli_error *parse_member(struct map_parser *p)
{
	struct tli_map *m = p->m;
	char (*tok)[MAX_TOKEN] = p->tok;
	int nt = p->nt;
	uint64_t off, sz, si, dummy;
	if (nt < 5 || nt > 6)
		return map_fail(p, "expected 'member STRUCT PATH OFFSET SIZE [TYPE]'");
	if (!parse_u64(tok[3], &off) || !parse_u64(tok[4], &sz))
		return map_fail(p, "member %s.%s: OFFSET and SIZE must be unsigned numbers", tok[1], tok[2]);
	if (!tli_strmap_get(m->st_idx, tok[1], &si))
		return map_fail(p, "member of struct %s before its 'struct' line", tok[1]);
	if (off > m->st[si].size || sz > m->st[si].size - off)
		return map_fail(p, "member %s.%s (offset %llu, size %llu) lies outside the struct (size %llu)",
				tok[1], tok[2], (unsigned long long)off, (unsigned long long)sz,
				(unsigned long long)m->st[si].size);
	if (!tok[2][0] || tok[2][0] == '.' || tok[2][strlen(tok[2]) - 1] == '.')
		return map_fail(p, "bad member path '%s'", tok[2]);
	char *key = member_key(tok[1], tok[2]);
	if (!key)
		return &tli_enomem;
	if (tli_strmap_get(m->mem_idx, key, &dummy)) {
		free(key);
		return map_fail(p, "member %s.%s defined twice", tok[1], tok[2]);
	}
	if (!grow((void **)&m->mem, &m->capmem, m->nmem, sizeof(*m->mem)) ||
	    !tli_strmap_put(m->mem_idx, key, m->nmem)) {
		free(key);
		return &tli_enomem;
	}
	free(key);
	struct mmember *mm = &m->mem[m->nmem++];
	*mm = (struct mmember){ strdup(tok[1]), strdup(tok[2]), nt == 6 ? strdup(tok[5]) : NULL, { off, sz } };
	if (!mm->type || !mm->path || (nt == 6 && !mm->ctype))
		return &tli_enomem;
	return NULL;
}

/* "const NAME VALUE" */
static struct tli_error *parse_const(struct map_parser *p)
{
	struct tli_map *m = p->m;
	char (*tok)[MAX_TOKEN] = p->tok;
	int64_t v;
	uint64_t dummy;
	if (p->nt != 3 || !parse_i64(tok[2], &v))
		return map_fail(p, "expected 'const NAME VALUE' (VALUE a signed decimal number)");
	if (tli_strmap_get(m->cs_idx, tok[1], &dummy))
		return map_fail(p, "const %s defined twice", tok[1]);
	if (!grow((void **)&m->cs, &m->capcs, m->ncs, sizeof(*m->cs)) || !tli_strmap_put(m->cs_idx, tok[1], m->ncs))
		return &tli_enomem;
	m->cs[m->ncs] = (struct mconst){ strdup(tok[1]), v };
	if (!m->cs[m->ncs++].name)
		return &tli_enomem;
	return NULL;
}

/* "strings NAME COUNT", followed by COUNT "str" lines */
static struct tli_error *parse_strings(struct map_parser *p)
{
	struct tli_map *m = p->m;
	char (*tok)[MAX_TOKEN] = p->tok;
	uint64_t n, dummy;
	if (p->nt != 3 || !parse_u64(tok[2], &n))
		return map_fail(p, "expected 'strings NAME COUNT'");
	if (n == 0 || n > MAX_STRINGS)
		return map_fail(p, "string table %s: count %llu out of range 1..%d", tok[1], (unsigned long long)n,
				MAX_STRINGS);
	if (tli_strmap_get(m->strs_idx, tok[1], &dummy))
		return map_fail(p, "string table %s defined twice", tok[1]);
	if (!grow((void **)&m->strs, &m->capstrs, m->nstrs, sizeof(*m->strs)) ||
	    !tli_strmap_put(m->strs_idx, tok[1], m->nstrs))
		return &tli_enomem;
	p->cur_strs = &m->strs[m->nstrs++];
	*p->cur_strs = (struct mstrings){ strdup(tok[1]), 0, (size_t)n, calloc((size_t)n, sizeof(char *)) };
	if (!p->cur_strs->name || !p->cur_strs->s)
		return &tli_enomem;
	return NULL;
}

/* "str INDEX "TEXT"", the next entry of the current string table */
static struct tli_error *parse_str(struct map_parser *p)
{
	struct mstrings *cs = p->cur_strs;
	uint64_t idx;
	if (!cs)
		return map_fail(p, "'str' line outside a 'strings' table");
	if (p->nt != 3 || !parse_u64(p->tok[1], &idx))
		return map_fail(p, "expected 'str INDEX \"TEXT\"'");
	if (idx != cs->n)
		return map_fail(p, "string table %s: entry %llu out of order (expected %zu)", cs->name,
				(unsigned long long)idx, cs->n);
	if (!(cs->s[cs->n] = strdup(p->tok[2])))
		return &tli_enomem;
	if (++cs->n == cs->expect)
		p->cur_strs = NULL;
	return NULL;
}

/* One line of fields. */
static struct tli_error *parse_line(struct map_parser *p)
{
	const char *d = p->tok[0];
	if (p->cur_strs && strcmp(d, "str"))
		return map_fail(p, "string table %s has %zu entries, %zu expected before '%s'", p->cur_strs->name,
				p->cur_strs->n, p->cur_strs->expect, d);
	if (!p->header)
		return parse_header(p);
	if (!strcmp(d, "kind") || !strcmp(d, "version") || !strcmp(d, "generator") || !strcmp(d, "source"))
		return parse_info(p, d);
	if (!strcmp(d, "struct"))
		return parse_struct(p);
	if (!strcmp(d, "member"))
		return parse_member(p);
	if (!strcmp(d, "const"))
		return parse_const(p);
	if (!strcmp(d, "strings"))
		return parse_strings(p);
	if (!strcmp(d, "str"))
		return parse_str(p);
	return map_fail(p, "unknown directive '%s'", d);
}

/* After the last line: nothing left open, and the lines every map needs. */
static struct tli_error *check_complete(struct map_parser *p)
{
	p->lineno++;
	if (p->cur_strs)
		return map_fail(p, "end of file inside string table %s (%zu entries read)", p->cur_strs->name,
				p->cur_strs->n);
	if (!p->header)
		return map_fail(p, "empty map (no 'tlimap %d' line)", TLI_MAP_FORMAT);
	if (!p->m->kind || !p->m->version)
		return map_fail(p, "map has no '%s' line", p->m->kind ? "version" : "kind");
	return NULL;
}

struct tli_error *tli_map_parse(const char *text, size_t len, const char *name, struct tli_map **ret)
{
	*ret = NULL;
	struct tli_map *m = calloc(1, sizeof(*m));
	if (!m)
		return &tli_enomem;
	m->st_idx = tli_strmap_new();
	m->mem_idx = tli_strmap_new();
	m->cs_idx = tli_strmap_new();
	m->strs_idx = tli_strmap_new();
	struct map_parser p = { .m = m, .name = name, .tok = malloc(MAX_TOKENS * MAX_TOKEN) };
	struct tli_error *err = NULL;
	if (!m->st_idx || !m->mem_idx || !m->cs_idx || !m->strs_idx || !p.tok)
		err = &tli_enomem;
	size_t pos = 0;
	while (!err && next_line(&p, text, len, &pos)) {
		bool skip;
		if (!(err = split_line(&p, &skip)) && !skip)
			err = parse_line(&p);
	}
	if (!err)
		err = check_complete(&p);
	free(p.tok);
	if (err) {
		tli_map_free(m);
		return err;
	}
	*ret = m;
	return NULL;
}

/* The maps carried inside the executable (make static: scripts/gen-embedded-maps.sh); absent
 * (a null weak symbol) in the ordinary build, which finds them on disk. */
struct tli_embedded_map {
	const char *name; /* "go/1.27" */
	const char *text;
	size_t len;
};
extern const struct tli_embedded_map tli_embedded_maps[] __attribute__((weak));
#define EMBEDDED_PREFIX "embedded:"

static const struct tli_embedded_map *embedded(const char *name)
{
	for (const struct tli_embedded_map *e = tli_embedded_maps; e && e->name; e++)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

struct tli_error *tli_map_load(const char *path, struct tli_map **ret)
{
	*ret = NULL;
	if (!strncmp(path, EMBEDDED_PREFIX, strlen(EMBEDDED_PREFIX))) {
		const struct tli_embedded_map *e = embedded(path + strlen(EMBEDDED_PREFIX));
		if (!e)
			return tli_error_create(TLI_E_NO_INFO, "no runtime map %s in this executable", path);
		return tli_map_parse(e->text, e->len, path, ret);
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return tli_error_errno(errno == ENOENT ? TLI_E_NO_INFO : TLI_E_NO_TARGET, errno,
				       "cannot open runtime map %s", path);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	struct tli_error *err = NULL;
	for (;;) {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 262144;
			if (cap > MAX_FILE + 65536) {
				err = tli_error_create(TLI_E_BAD_FORMAT, "runtime map %s is larger than %u bytes",
						       path, MAX_FILE);
				break;
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				err = &tli_enomem;
				break;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				err = tli_error_errno(TLI_E_NO_TARGET, errno, "reading runtime map %s", path);
			break;
		}
	}
	fclose(f);
	if (!err)
		err = tli_map_parse(buf ? buf : "", n, path, ret);
	free(buf);
	return err;
}

const char *tli_map_kind(const struct tli_map *m) { return m->kind; }
const char *tli_map_version(const struct tli_map *m) { return m->version; }
const char *tli_map_source(const struct tli_map *m) { return m->source ? m->source : ""; }
size_t tli_map_nstructs(const struct tli_map *m) { return m->nst; }
size_t tli_map_nmembers(const struct tli_map *m) { return m->nmem; }
size_t tli_map_nconsts(const struct tli_map *m) { return m->ncs; }

struct tli_error *tli_map_member(const struct tli_map *m, const char *type, const char *path,
				 struct tli_member *ret)
{
	char kb[512];
	size_t a = strlen(type), b = strlen(path);
	if (a + b + 2 > sizeof(kb))
		return tli_error_create(TLI_E_NO_INFO, "runtime map %s: name too long", m->version);
	memcpy(kb, type, a);
	kb[a] = '\x1f';
	memcpy(kb + a + 1, path, b + 1);
	uint64_t i;
	if (!tli_strmap_get(m->mem_idx, kb, &i))
		return tli_error_create(TLI_E_NO_INFO, "runtime map %s has no member %s.%s", m->version,
					type, path);
	*ret = m->mem[i].m;
	return NULL;
}

struct tli_error *tli_map_type_size(const struct tli_map *m, const char *type, uint64_t *ret)
{
	uint64_t i;
	if (!tli_strmap_get(m->st_idx, type, &i))
		return tli_error_create(TLI_E_NO_INFO, "runtime map %s has no struct %s", m->version, type);
	*ret = m->st[i].size;
	return NULL;
}

struct tli_error *tli_map_constant(const struct tli_map *m, const char *name, int64_t *ret)
{
	uint64_t i;
	if (!tli_strmap_get(m->cs_idx, name, &i))
		return tli_error_create(TLI_E_NO_INFO, "runtime map %s has no constant %s", m->version, name);
	*ret = m->cs[i].v;
	return NULL;
}

struct tli_error *tli_map_strings(const struct tli_map *m, const char *name, size_t *n,
				  const char *const **strs)
{
	uint64_t i;
	if (!tli_strmap_get(m->strs_idx, name, &i))
		return tli_error_create(TLI_E_NO_INFO, "runtime map %s has no string table %s", m->version,
					name);
	*n = m->strs[i].n;
	*strs = (const char *const *)m->strs[i].s;
	return NULL;
}

void tli_map_member_at(const struct tli_map *m, size_t i, const char **type, const char **path,
		       struct tli_member *ret)
{
	if (i >= m->nmem) {
		*type = *path = NULL;
		return;
	}
	*type = m->mem[i].type;
	*path = m->mem[i].path;
	*ret = m->mem[i].m;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tli_maps_env_dir(void)
{
	static const char *const names[] = { "TLINSPECT_RUNTIME_MAPS", "TLI_RUNTIME_MAPS" /* before 0.2 */ };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

bool tli_maps_path(const char *kind, const char *key, char *buf, size_t cap)
{
	char dirs[5][4096];
	size_t nd = 0;
	const char *env = tli_maps_env_dir();
	if (env && *env) /* exclusive: only this directory */
		snprintf(dirs[nd++], sizeof(dirs[0]), "%.4000s", env);
	char self[4000];
	ssize_t n = nd ? -1 : readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *sl = strrchr(self, '/');
		if (sl) {
			*sl = 0;
			snprintf(dirs[nd++], sizeof(dirs[0]), "%s/../runtime-maps", self);
			snprintf(dirs[nd++], sizeof(dirs[0]), "%s/../../runtime-maps", self);
			snprintf(dirs[nd++], sizeof(dirs[0]), "%s/../share/tlinspect/runtime-maps", self);
		}
	}
	if (!env || !*env)
		snprintf(dirs[nd++], sizeof(dirs[0]), "runtime-maps");
	bool found = false;
	buf[0] = 0;
	for (size_t i = 0; i < nd; i++) {
		if (!is_dir(dirs[i]) && !(env && *env))
			continue;
		char p[4200];
		snprintf(p, sizeof(p), "%.4000s/%.60s/%.60s.map", dirs[i], kind, key);
		if (!buf[0])
			snprintf(buf, cap, "%s", p);
		if (access(p, R_OK) == 0) {
			snprintf(buf, cap, "%s", p);
			found = true;
			break;
		}
	}
	if (!buf[0])
		snprintf(buf, cap, "runtime-maps/%s/%s.map", kind, key);
	/* none on disk: the copy inside a static build (never when the user names a maps directory) */
	char name[128];
	snprintf(name, sizeof(name), "%.60s/%.60s", kind, key);
	if (!found && !(env && *env) && embedded(name)) {
		snprintf(buf, cap, EMBEDDED_PREFIX "%s", name);
		found = true;
	}
	return found;
}
