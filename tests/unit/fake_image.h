/* SPDX-License-Identifier: MIT */
/*
 * Test helper (header-only): a target whose memory is one synthetic image
 * [IMG, IMG+IMGSZ) built by the test with put()/put64(); everything outside it
 * is unmapped (EFAULT). Used by the decoders' hostile-memory tests.
 */
#ifndef TLI_TEST_FAKE_IMAGE_H
#define TLI_TEST_FAKE_IMAGE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/target.h"

#define IMG   0x100000ull
#define IMGSZ 0x10000ull
static uint8_t img[IMGSZ];

static inline void put64(uint64_t a, uint64_t v)
{
	memcpy(img + (a - IMG), &v, 8);
}

static inline void put(uint64_t a, const void *p, size_t n)
{
	memcpy(img + (a - IMG), p, n);
}

static struct tli_error *fake_read_many(struct tli_target *t, struct tli_read *rs, size_t n)
{
	(void)t;
	for (size_t i = 0; i < n; i++) {
		rs[i].got = 0;
		rs[i].err = 0;
		if (rs[i].addr >= IMG && rs[i].addr < IMG + IMGSZ) {
			uint64_t avail = IMG + IMGSZ - rs[i].addr;
			size_t k = rs[i].len < avail ? rs[i].len : (size_t)avail;
			memcpy(rs[i].buf, img + (rs[i].addr - IMG), k);
			rs[i].got = k;
		}
		if (rs[i].got < rs[i].len)
			rs[i].err = EFAULT;
	}
	return NULL;
}

static const struct tli_target_ops fake_ops = { .name = "fake", .read_many = fake_read_many };

/* A core-like target over the image (free with tli_target_destroy). */
static inline struct tli_target *fake_target(void)
{
	struct tli_target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ops = &fake_ops;
	t->kind = TLI_TARGET_CORE;
	t->maps = calloc(1, sizeof(*t->maps));
	if (!t->maps) {
		free(t);
		return NULL;
	}
	t->maps[0] = (struct tli_mapping){ IMG, IMG + IMGSZ, 0, TLI_PROT_R | TLI_PROT_W, NULL };
	t->nmaps = 1;
	return t;
}

/*
 * A fake layout provider over tables the test declares: `struct fm fmembers[]`
 * (type, member path, offset, size) and `struct fs fsizes[]` (type, size), handed
 * over as `struct fake_layout` (the provider's p).
 */
struct fm {
	const char *type, *member;
	uint64_t off, size;
};

struct fs {
	const char *type;
	uint64_t size;
};

struct fake_layout {
	const struct fm *m;
	size_t nm;
	const struct fs *s;
	size_t ns;
};

static struct tli_error *fl_member(void *p, const char *type, const char *member, struct tli_member *ret)
{
	const struct fake_layout *fl = p;
	for (size_t i = 0; i < fl->nm; i++)
		if (!strcmp(fl->m[i].type, type) && !strcmp(fl->m[i].member, member)) {
			ret->offset = fl->m[i].off;
			ret->size = fl->m[i].size;
			return NULL;
		}
	return tli_error_create(TLI_E_NO_INFO, "fake layout: no %s.%s", type, member);
}

static struct tli_error *fl_size(void *p, const char *type, uint64_t *ret)
{
	const struct fake_layout *fl = p;
	for (size_t i = 0; i < fl->ns; i++)
		if (!strcmp(fl->s[i].type, type)) {
			*ret = fl->s[i].size;
			return NULL;
		}
	return tli_error_create(TLI_E_NO_INFO, "fake layout: no type %s", type);
}

#endif
