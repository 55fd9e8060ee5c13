/* SPDX-License-Identifier: MIT */
/* Hash tables of core/hash.h. */
#include "hash.h"

#include <stdlib.h>
#include <string.h>

/* Half of a 64-bit finalizer: enough for addresses. (Table order is never printed.) */
static size_t slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static bool set_grow(struct tli_u64set *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 64;
	uint64_t *nk = calloc(ncap, 8);
	if (!nk)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		size_t j = slot(s->keys[i], ncap);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = s->keys[i];
	}
	free(s->keys);
	s->keys = nk;
	s->cap = ncap;
	return true;
}

bool tli_u64set_has(const struct tli_u64set *s, uint64_t key)
{
	if (!s->cap || !key)
		return false;
	for (size_t j = slot(key, s->cap);; j = (j + 1) & (s->cap - 1)) {
		if (s->keys[j] == key)
			return true;
		if (!s->keys[j])
			return false;
	}
}

bool tli_u64set_add(struct tli_u64set *s, uint64_t key)
{
	if (!key)
		return false;
	if ((s->n + 1) * 2 > s->cap && !set_grow(s))
		return false;
	size_t j = slot(key, s->cap);
	while (s->keys[j]) {
		if (s->keys[j] == key)
			return false;
		j = (j + 1) & (s->cap - 1);
	}
	s->keys[j] = key;
	s->n++;
	return true;
}

void tli_u64set_free(struct tli_u64set *s)
{
	free(s->keys);
	s->keys = NULL;
	s->cap = s->n = 0;
}

static bool map_grow(struct tli_u64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	uint64_t *nk = calloc(ncap, 8), *nv = calloc(ncap, 8);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot(m->keys[i], ncap);
		while (nk[j])
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return true;
}

bool tli_u64map_reserve(struct tli_u64map *m, size_t n)
{
	while ((n + 1) * 2 > m->cap)
		if (!map_grow(m))
			return false;
	return true;
}

bool tli_u64map_put(struct tli_u64map *m, uint64_t key, uint64_t val)
{
	if (!key)
		return false;
	if ((m->n + 1) * 2 > m->cap && !map_grow(m))
		return false;
	size_t j = slot(key, m->cap);
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j])
		m->n++;
	m->keys[j] = key;
	m->vals[j] = val;
	return true;
}

uint64_t tli_u64map_get(const struct tli_u64map *m, uint64_t key)
{
	if (!m->cap || !key)
		return 0;
	for (size_t j = slot(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key)
			return m->vals[j];
		if (!m->keys[j])
			return 0;
	}
}

bool tli_u64map_find(const struct tli_u64map *m, uint64_t key, uint64_t *ret)
{
	if (!m->cap || !key)
		return false;
	for (size_t j = slot(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key) {
			*ret = m->vals[j];
			return true;
		}
		if (!m->keys[j])
			return false;
	}
}

void tli_u64map_free(struct tli_u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->n = 0;
}

/* ---- string -> uint64 ---- */

struct smentry {
	const char *key;
	uint64_t val;
};

struct tli_strmap {
	struct smentry *tab;
	size_t cap, count;
	bool borrow; /* keys are not copied (they live as long as the map's user) */
};

/* FNV-1a, folded: the table index takes the low bits. */
static uint64_t strhash(const char *s)
{
	uint64_t h = tli_fnv1a(s);
	return h ^ (h >> 29);
}

static struct tli_strmap *strmap_new(bool borrow)
{
	struct tli_strmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 256;
	m->tab = calloc(m->cap, sizeof(*m->tab));
	if (!m->tab) {
		free(m);
		return NULL;
	}
	m->borrow = borrow;
	return m;
}

struct tli_strmap *tli_strmap_new(void)
{
	return strmap_new(false);
}

struct tli_strmap *tli_strmap_new_borrowed(void)
{
	return strmap_new(true);
}

void tli_strmap_free(struct tli_strmap *m)
{
	if (!m)
		return;
	if (!m->borrow)
		for (size_t i = 0; i < m->cap; i++)
			free((char *)m->tab[i].key);
	free(m->tab);
	free(m);
}

size_t tli_strmap_count(const struct tli_strmap *m)
{
	return m ? m->count : 0;
}

void tli_strmap_foreach(const struct tli_strmap *m, bool (*fn)(void *arg, const char *key), void *arg)
{
	for (size_t i = 0; m && i < m->cap; i++)
		if (m->tab[i].key && !fn(arg, m->tab[i].key))
			return;
}

static struct smentry *strmap_slot(const struct tli_strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = strhash(key) & mask;; i = (i + 1) & mask) {
		struct smentry *e = &m->tab[i];
		if (!e->key || strcmp(e->key, key) == 0)
			return e; /* the table is never full (load <= 0.7) */
	}
}

static bool strmap_grow(struct tli_strmap *m)
{
	size_t ncap = m->cap * 2;
	struct smentry *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->tab[i].key)
			continue;
		size_t j = strhash(m->tab[i].key) & (ncap - 1);
		while (nt[j].key)
			j = (j + 1) & (ncap - 1);
		nt[j] = m->tab[i];
	}
	free(m->tab);
	m->tab = nt;
	m->cap = ncap;
	return true;
}

bool tli_strmap_put(struct tli_strmap *m, const char *key, uint64_t val)
{
	if ((m->count + 1) * 10 >= m->cap * 7 && !strmap_grow(m))
		return false;
	struct smentry *e = strmap_slot(m, key);
	if (e->key) {
		e->val = val;
		return true;
	}
	const char *k = key;
	if (!m->borrow && !(k = strdup(key)))
		return false;
	e->key = k;
	e->val = val;
	m->count++;
	return true;
}

bool tli_strmap_get(const struct tli_strmap *m, const char *key, uint64_t *val)
{
	if (!m || !key)
		return false;
	struct smentry *e = strmap_slot(m, key);
	if (!e->key)
		return false;
	if (val)
		*val = e->val;
	return true;
}
