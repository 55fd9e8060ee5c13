/* SPDX-License-Identifier: MIT */
#include "u64set.h"

#include <stdlib.h>

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

void tli_u64map_free(struct tli_u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->n = 0;
}
