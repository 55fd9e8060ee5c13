/* SPDX-License-Identifier: MIT */
/*
 * The layout resolver: a chain of providers asked in order, with a cache keyed
 * by the query string so that repeated queries are O(1). Negative answers
 * (no provider knows) are cached too, so optional members cost one hash
 * lookup after the first time. Global addresses are cached unbiased; the bias
 * is added on the way out (it may be set after the first query).
 */
#include "layout.h"
#include "hash.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROVIDERS 16

struct provider {
	const struct tli_layout_provider_ops *ops;
	void *p;
	char *label;
};

enum qkind { Q_MEMBER = 'm', Q_SIZE = 's', Q_GLOBAL = 'g', Q_CONST = 'c' };

union qval {
	struct tli_member m;
	uint64_t size;
	struct tli_global g;
	int64_t c;
};

struct centry {
	char *key;        /* "<kind>:<type>\0<member>" flattened into "k:type.member" */
	bool found;
	int src;          /* provider index when found */
	char *why;        /* when !found: the providers' reasons, for the error text */
	union qval v;
};

struct tli_layout {
	struct provider prov[MAX_PROVIDERS];
	size_t nprov;
	uint64_t bias;
	TLI_VEC(, struct centry) answers;  /* in the order they were learned */
	struct tli_strmap *index;         /* key -> position in answers */
	int last_src;        /* -1: none */
	uint64_t hits, calls;
};

struct tli_error *tli_layout_create(struct tli_layout **ret)
{
	*ret = NULL;
	struct tli_layout *l = calloc(1, sizeof(*l));
	if (!l)
		return &tli_enomem;
	if (!(l->index = tli_strmap_new())) {
		free(l);
		return &tli_enomem;
	}
	l->last_src = -1;
	*ret = l;
	return NULL;
}

void tli_layout_destroy(struct tli_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nprov; i++) {
		if (l->prov[i].ops->destroy)
			l->prov[i].ops->destroy(l->prov[i].p);
		free(l->prov[i].label);
	}
	for (size_t i = 0; i < l->answers.n; i++) {
		free(l->answers.v[i].key);
		free(l->answers.v[i].why);
	}
	tli_vec_free(&l->answers);
	tli_strmap_free(l->index);
	free(l);
}

struct tli_error *tli_layout_add_provider_labeled(struct tli_layout *l,
						  const struct tli_layout_provider_ops *ops,
						  void *p, const char *label)
{
	if (!l || !ops)
		return tli_error_create(TLI_E_INTERNAL, "layout: add_provider with NULL argument");
	if (l->nprov >= MAX_PROVIDERS) {
		if (ops->destroy)
			ops->destroy(p);
		return tli_error_create(TLI_E_INTERNAL, "layout: too many providers (max %d) adding %s",
					MAX_PROVIDERS, ops->name ? ops->name : "?");
	}
	const char *lab = label ? label : (ops->name ? ops->name : "?");
	char *copy = strdup(lab);
	if (!copy) {
		if (ops->destroy)
			ops->destroy(p);
		return &tli_enomem;
	}
	l->prov[l->nprov++] = (struct provider){ .ops = ops, .p = p, .label = copy };
	return NULL;
}

struct tli_error *tli_layout_add_provider(struct tli_layout *l,
					  const struct tli_layout_provider_ops *ops, void *p)
{
	return tli_layout_add_provider_labeled(l, ops, p, NULL);
}

void tli_layout_set_bias(struct tli_layout *l, uint64_t bias)
{
	l->bias = bias;
}

const char *tli_layout_last_source(const struct tli_layout *l)
{
	if (!l || l->last_src < 0)
		return NULL;
	const char *n = l->prov[l->last_src].ops->name;
	return n ? n : l->prov[l->last_src].label;
}

const char *tli_layout_last_source_label(const struct tli_layout *l)
{
	if (!l || l->last_src < 0)
		return NULL;
	return l->prov[l->last_src].label;
}

void tli_layout_stats(const struct tli_layout *l, uint64_t *cache_hits, uint64_t *provider_calls)
{
	if (cache_hits)
		*cache_hits = l->hits;
	if (provider_calls)
		*provider_calls = l->calls;
}

/* ---- cache ---- */

static struct centry *cache_find(struct tli_layout *l, const char *key)
{
	uint64_t i;
	return tli_strmap_get(l->index, key, &i) ? &l->answers.v[i] : NULL;
}

/* Insert (key must not be present). Failure to cache is not an error. */
static void cache_put(struct tli_layout *l, const char *key, bool found, int src, const union qval *v,
		      const char *why)
{
	char *k = strdup(key);
	char *w = why && *why ? strdup(why) : NULL;
	struct centry *e = k && (w || !why || !*why) ? tli_vec_append(&l->answers) : NULL;
	if (!e) {
		free(k);
		free(w);
		return;
	}
	*e = (struct centry){ .key = k, .found = found, .src = src, .why = w };
	if (v)
		e->v = *v;
	if (!tli_strmap_put(l->index, key, l->answers.n - 1)) {
		free(k);
		free(w);
		l->answers.n--;
	}
}

/* ---- the chain ---- */

static const char *kind_text(enum qkind k)
{
	switch (k) {
	case Q_MEMBER: return "no layout for";
	case Q_SIZE: return "no size for type";
	case Q_GLOBAL: return "no address for global";
	case Q_CONST: return "no value for constant";
	}
	return "no answer for";
}

static bool has_callback(const struct tli_layout_provider_ops *ops, enum qkind k)
{
	switch (k) {
	case Q_MEMBER: return ops->member != NULL;
	case Q_SIZE: return ops->type_size != NULL;
	case Q_GLOBAL: return ops->global != NULL;
	case Q_CONST: return ops->constant != NULL;
	}
	return false;
}

static struct tli_error *call(struct provider *pv, enum qkind k, const char *a, const char *b,
			      union qval *v)
{
	switch (k) {
	case Q_MEMBER: return pv->ops->member(pv->p, a, b, &v->m);
	case Q_SIZE: return pv->ops->type_size(pv->p, a, &v->size);
	case Q_GLOBAL: return pv->ops->global(pv->p, a, &v->g);
	case Q_CONST: return pv->ops->constant(pv->p, a, &v->c);
	}
	return tli_error_create(TLI_E_INTERNAL, "layout: bad query kind");
}

/* Append to a bounded buffer (truncates silently). */
static void bappend(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + 1 >= cap)
		return;
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = 0;
}

static void asked_list(const struct tli_layout *l, enum qkind k, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < l->nprov; i++) {
		if (!has_callback(l->prov[i].ops, k))
			continue;
		if (len)
			bappend(buf, cap, &len, ", ");
		bappend(buf, cap, &len, l->prov[i].label);
	}
	if (!len)
		bappend(buf, cap, &len, "no provider answers such queries");
}

/*
 * Ask the chain. `what` is the human name of the query ("runtime.g.goid").
 * On NO_INFO from everyone: a TLI_E_NO_INFO error naming the query, the
 * providers asked and their reasons; cached negatively.
 */
static struct tli_error *query(struct tli_layout *l, enum qkind k, const char *a, const char *b,
			       union qval *ret)
{
	if (!l || !a || (k == Q_MEMBER && !b))
		return tli_error_create(TLI_E_INTERNAL, "layout: query with NULL argument");
	/* key: kind char, ':', a, and for members '\x1f' b (names never contain 0x1f) */
	char keybuf[512];
	char *key = keybuf;
	size_t need = strlen(a) + (b ? strlen(b) : 0) + 4;
	if (need > sizeof(keybuf) && !(key = malloc(need)))
		return &tli_enomem;
	snprintf(key, need > sizeof(keybuf) ? need : sizeof(keybuf), "%c:%s%s%s", (char)k, a,
		 b ? "\x1f" : "", b ? b : "");
	char what[400];
	snprintf(what, sizeof(what), "%s%s%s", a, b ? "." : "", b ? b : "");

	struct tli_error *err = NULL;
	struct centry *e = cache_find(l, key);
	if (e) {
		l->hits++;
		if (e->found) {
			*ret = e->v;
			l->last_src = e->src;
		} else {
			char asked[384];
			asked_list(l, k, asked, sizeof(asked));
			err = tli_error_create(TLI_E_NO_INFO, "%s %s (asked: %s)%s%s", kind_text(k),
					       what, asked, e->why ? ": " : "", e->why ? e->why : "");
		}
		goto out;
	}

	char why[512];
	size_t wlen = 0;
	why[0] = 0;
	for (size_t i = 0; i < l->nprov; i++) {
		struct provider *pv = &l->prov[i];
		if (!has_callback(pv->ops, k))
			continue;
		union qval v;
		memset(&v, 0, sizeof(v));
		l->calls++;
		struct tli_error *pe = call(pv, k, a, b, &v);
		if (!pe) {
			cache_put(l, key, true, (int)i, &v, NULL);
			*ret = v;
			l->last_src = (int)i;
			goto out;
		}
		if (pe->code != TLI_E_NO_INFO) {
			err = pe; /* a real failure: returned as is, not cached */
			goto out;
		}
		if (pe->msg[0]) {
			if (wlen)
				bappend(why, sizeof(why), &wlen, "; ");
			bappend(why, sizeof(why), &wlen, pv->ops->name ? pv->ops->name : pv->label);
			bappend(why, sizeof(why), &wlen, ": ");
			bappend(why, sizeof(why), &wlen, pe->msg);
		}
		tli_error_destroy(pe);
	}
	cache_put(l, key, false, -1, NULL, why);
	char asked[384];
	asked_list(l, k, asked, sizeof(asked));
	err = tli_error_create(TLI_E_NO_INFO, "%s %s (asked: %s)%s%s", kind_text(k), what, asked,
			       wlen ? ": " : "", why);
out:
	if (key != keybuf)
		free(key);
	return err;
}

struct tli_error *tli_layout_member(struct tli_layout *l, const char *type, const char *member,
				    struct tli_member *ret)
{
	union qval v;
	struct tli_error *err = query(l, Q_MEMBER, type, member, &v);
	if (!err)
		*ret = v.m;
	return err;
}

bool tli_layout_has_member(struct tli_layout *l, const char *type, const char *member,
			   struct tli_member *ret)
{
	union qval v;
	struct tli_error *err = query(l, Q_MEMBER, type, member, &v);
	if (err) {
		/* Any failure (also a provider's hard error) means "not available". */
		tli_error_destroy(err);
		return false;
	}
	if (ret)
		*ret = v.m;
	return true;
}

struct tli_error *tli_layout_type_size(struct tli_layout *l, const char *type, uint64_t *ret)
{
	union qval v;
	struct tli_error *err = query(l, Q_SIZE, type, NULL, &v);
	if (!err)
		*ret = v.size;
	return err;
}

struct tli_error *tli_layout_global(struct tli_layout *l, const char *name, struct tli_global *ret)
{
	union qval v;
	struct tli_error *err = query(l, Q_GLOBAL, name, NULL, &v);
	if (!err) {
		*ret = v.g;
		ret->addr += l->bias;
	}
	return err;
}

struct tli_error *tli_layout_constant(struct tli_layout *l, const char *name, int64_t *ret)
{
	union qval v;
	struct tli_error *err = query(l, Q_CONST, name, NULL, &v);
	if (!err)
		*ret = v.c;
	return err;
}

struct tli_error *tli_layout_resolve(struct tli_layout *l, const struct tli_field_spec *specs,
				     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tli_field_spec *s = &specs[i];
		if (!s->type || !s->member || !s->offset)
			return tli_error_create(TLI_E_INTERNAL,
						"layout: field spec %zu has a NULL type/member/offset", i);
		struct tli_member m;
		struct tli_error *err = tli_layout_member(l, s->type, s->member, &m);
		if (err) {
			if (s->optional && err->code == TLI_E_NO_INFO) {
				tli_error_destroy(err);
				*s->offset = UINT32_MAX;
				if (s->size)
					*s->size = 0;
				if (s->present)
					*s->present = false;
				continue;
			}
			return err;
		}
		if (m.offset >= UINT32_MAX || m.size > UINT32_MAX || m.offset + m.size > UINT32_MAX)
			return tli_error_create(TLI_E_BAD_FORMAT,
						"layout: %s.%s: offset %llu size %llu out of range",
						s->type, s->member, (unsigned long long)m.offset,
						(unsigned long long)m.size);
		/* a member must lie inside its struct: walkers read members out of buffers of
		 * sizeof(type) bytes, and the answers may come from crafted DWARF or a cache file */
		uint64_t tsz;
		struct tli_error *te = tli_layout_type_size(l, s->type, &tsz);
		if (!te && m.offset + m.size > tsz)
			return tli_error_create(TLI_E_CORRUPT,
						"layout: %s.%s (offset %llu, size %llu) lies outside sizeof(%s) = %llu",
						s->type, s->member, (unsigned long long)m.offset,
						(unsigned long long)m.size, s->type, (unsigned long long)tsz);
		tli_error_destroy(te);
		*s->offset = (uint32_t)m.offset;
		if (s->size)
			*s->size = (uint32_t)m.size;
		if (s->present)
			*s->present = true;
	}
	return NULL;
}

/* ---- persisted answers (the layout cache, see layout.h) ---- */

static void put_esc(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* Unescape field [s, e) into a fresh string; NULL on a malformed escape. */
static char *get_esc(const char *s, const char *e)
{
	char *out = malloc((size_t)(e - s) + 1), *o = out;
	if (!out)
		return NULL;
	while (s < e) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		if (s + 1 < e && s[1] == '\\') {
			*o++ = '\\';
			s += 2;
			continue;
		}
		unsigned v;
		if (s + 3 < e && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1 && v) {
			*o++ = (char)v;
			s += 4;
			continue;
		}
		free(out);
		return NULL;
	}
	*o = 0;
	return out;
}

size_t tli_layout_answer_count(const struct tli_layout *l)
{
	return l ? l->answers.n : 0;
}

struct tli_error *tli_layout_save_answers(const struct tli_layout *l, const char *stamp, FILE *f)
{
	if (!l || !stamp || !f || strchr(stamp, '\n'))
		return tli_error_create(TLI_E_INTERNAL, "layout: save_answers with a bad argument");
	fprintf(f, "%s\n%s\n", TLI_LAYOUT_ANSWERS_MAGIC, stamp);
	for (size_t i = 0; i < l->answers.n; i++) {
		const struct centry *e = &l->answers.v[i];
		unsigned long long v1 = 0, v2 = 0;
		switch (e->key[0]) {
		case Q_MEMBER: v1 = e->v.m.offset, v2 = e->v.m.size; break;
		case Q_SIZE: v1 = e->v.size; break;
		case Q_GLOBAL: v1 = e->v.g.addr, v2 = e->v.g.size; break;
		case Q_CONST: v1 = (unsigned long long)e->v.c; break;
		default: continue;
		}
		put_esc(f, e->key);
		fprintf(f, "\t%d\t", e->found ? 1 : 0);
		put_esc(f, e->found && e->src >= 0 && (size_t)e->src < l->nprov ? l->prov[e->src].label : "");
		fprintf(f, "\t%llu\t%llu\t", v1, v2);
		put_esc(f, e->found ? "" : e->why);
		fputc('\n', f);
	}
	return ferror(f) ? tli_error_create(TLI_E_INTERNAL, "layout: cannot write the saved answers") : NULL;
}

struct tli_error *tli_layout_load_answers(struct tli_layout *l, const char *stamp, const char *text,
					  size_t len)
{
	if (!l || !stamp || !text)
		return tli_error_create(TLI_E_INTERNAL, "layout: load_answers with a bad argument");
	const char *p = text, *end = text + len;
	size_t ml = strlen(TLI_LAYOUT_ANSWERS_MAGIC), sl = strlen(stamp);
	if ((size_t)(end - p) < ml + 1 || memcmp(p, TLI_LAYOUT_ANSWERS_MAGIC, ml) || p[ml] != '\n')
		return tli_error_create(TLI_E_BAD_FORMAT, "not a saved layout (no \"%s\" line)",
					TLI_LAYOUT_ANSWERS_MAGIC);
	p += ml + 1;
	if ((size_t)(end - p) < sl + 1 || memcmp(p, stamp, sl) || p[sl] != '\n')
		return tli_error_create(TLI_E_NO_INFO, "saved layout is for another binary or tool version");
	p += sl + 1;
	/* all or nothing: pass 0 only validates, pass 1 inserts */
	const char *body = p;
	for (int pass = 0; pass < 2; pass++) {
	p = body;
	size_t lineno = 2, loaded = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return tli_error_create(TLI_E_BAD_FORMAT, "saved layout: line %zu is not terminated",
						lineno + 1);
		lineno++;
		const char *f[6];
		size_t nf = 0;
		f[nf++] = p;
		for (const char *q = p; q < nl && nf < 6; q++)
			if (*q == '\t')
				f[nf++] = q + 1;
		if (nf != 6 || memchr(f[5], '\t', (size_t)(nl - f[5])))
			return tli_error_create(TLI_E_BAD_FORMAT, "saved layout: line %zu: want 6 fields", lineno);
		char *key = get_esc(f[0], f[1] - 1), *label = get_esc(f[2], f[3] - 1), *why = get_esc(f[5], nl);
		unsigned long long v1, v2;
		int found;
		bool ok = key && label && why && sscanf(f[1], "%d", &found) == 1 && (found == 0 || found == 1) &&
			  sscanf(f[3], "%llu", &v1) == 1 && sscanf(f[4], "%llu", &v2) == 1 && strlen(key) > 2 &&
			  key[1] == ':' && strchr("msgc", key[0]);
		if (ok && pass == 1) {
			union qval v;
			memset(&v, 0, sizeof(v));
			switch (key[0]) {
			case Q_MEMBER: v.m.offset = v1, v.m.size = v2; break;
			case Q_SIZE: v.size = v1; break;
			case Q_GLOBAL: v.g.addr = v1, v.g.size = v2; break;
			default: v.c = (int64_t)v1; break;
			}
			int src = -1;
			for (size_t i = 0; found && i < l->nprov; i++)
				if (!strcmp(l->prov[i].label, label))
					src = (int)i;
			if (found && src < 0)
				src = 0; /* the provider is not in this chain yet (lazy): credit the first */
					if (!cache_find(l, key)) {
				cache_put(l, key, found == 1, src, &v, why[0] ? why : NULL);
				loaded++;
			}
		}
		free(key);
		free(label);
		free(why);
		if (!ok)
			return tli_error_create(TLI_E_BAD_FORMAT, "saved layout: line %zu is malformed", lineno);
		p = nl + 1;
	}
	(void)loaded;
	}
	return NULL;
}
