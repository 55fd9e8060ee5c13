/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_read.c
 * Reads of an ELF core target. Each byte comes from one source
 * (tli_elfcore_source, which t->maps follows too): the core's PT_LOAD data;
 * else, where a segment has no data in the core (p_filesz < p_memsz, or no
 * PT_LOAD at all), the file NT_FILE names there if elfcore_files.c let it back
 * memory (a regular ELF file with the core's build-id), up to its size rounded
 * up to a page (the rest of that page reads as zeros, as it does in the
 * process); else the bytes are not in core (EFAULT): never zeros, as gdb treats
 * a core (a crafted p_memsz of 1 TiB must not read as 1 TiB of zeros). Bytes a
 * truncated core lost fail with ENODATA; a file the core names that is not
 * readable here fails with its errno.
 */
#include "elfcore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/search.h"

const struct seg *tli_elfcore_find_seg(const struct core *c, uint64_t a, uint64_t *next_start)
{
	size_t i = tli_upper_bound(c->nsegs, k, c->segs[k].vaddr > a); /* first segment above a */
	if (next_start)
		*next_start = i < c->nsegs ? c->segs[i].vaddr : UINT64_MAX;
	if (i == 0)
		return NULL;
	const struct seg *s = &c->segs[i - 1];
	return a - s->vaddr < s->memsz ? s : NULL;
}

const struct fmap *tli_elfcore_find_fmap(const struct core *c, uint64_t a, uint64_t *next_start)
{
	size_t i = tli_upper_bound(c->nfmaps, k, c->fmaps[k].start > a);
	if (next_start)
		*next_start = i < c->nfmaps ? c->fmaps[i].start : UINT64_MAX;
	if (i == 0)
		return NULL;
	const struct fmap *f = &c->fmaps[i - 1];
	return a < f->end ? f : NULL;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

enum src tli_elfcore_source(const struct core *c, const struct seg *s, uint64_t a, uint64_t lim,
			    uint64_t *end, const struct fmap **fmr)
{
	*fmr = NULL;
	if (s) {
		uint64_t off = a - s->vaddr;
		if (off < s->avail) {
			*end = min_u64(s->vaddr + s->avail, lim);
			return SRC_CORE;
		}
		if (off < s->filesz) {
			*end = min_u64(s->vaddr + s->filesz, lim);
			return SRC_LOST;
		}
	}
	uint64_t next;
	const struct fmap *fm = tli_elfcore_find_fmap(c, a, &next);
	if (!fm) {
		*end = min_u64(next, lim);
		return SRC_NONE;
	}
	*fmr = fm;
	*end = min_u64(fm->end, lim);
	const struct bfile *f = &c->files[fm->file];
	uint64_t off = fm->ofs + (a - fm->start), fend = page_up(f->size);
	if (f->state != BF_OK || off < fm->ofs || off >= fend)
		return SRC_NONE;
	*end = min_u64(*end, sat_add(fm->start, fend - fm->ofs));
	return SRC_FILE;
}

/* Read [a, a+n) from the backing file of fm (BF_OK); past its end, zeros up to the page
 * end. Returns bytes read; *err on short. */
static size_t file_read(struct core *c, const struct fmap *fm, uint64_t a, unsigned char *buf,
			size_t n, int *err)
{
	const struct bfile *f = &c->files[fm->file];
	uint64_t off = fm->ofs + (a - fm->start);
	if (off > (uint64_t)INT64_MAX) {
		*err = EFAULT;
		return 0;
	}
	c->fallback_reads++;
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(f->fd, buf + got, n - got, (off_t)(off + got));
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0 && off + got >= f->size) { /* the file's last page (n stops at its end) */
			memset(buf + got, 0, n - got);
			return n;
		}
		*err = k == 0 ? EIO : errno;
		break;
	}
	return got;
}

/* Why [a, ...) is not readable: a file not readable here, or not in core. */
static int none_errno(const struct core *c, const struct fmap *fm)
{
	if (fm && c->files[fm->file].state == BF_ABSENT && c->files[fm->file].open_err)
		return c->files[fm->file].open_err;
	return EFAULT;
}

/* A read needed bytes of a file the core names but that was refused as backing (not the
 * file the core was made with, not a regular file, ...): say so once per file. Refused files
 * nothing reads (locale data, fonts) stay silent; -v lists them all. */
static void warn_refused(struct tli_target *t, struct core *c, const struct fmap *fm)
{
	struct bfile *f = fm ? &c->files[fm->file] : NULL;
	if (!f || f->state != BF_REFUSED || f->warned || (long)fm->file == c->exe_file)
		return;
	f->warned = true;
	tli_target_warn(t, "%s named in the core (at 0x%" PRIx64 ") %s; not read: its mappings are not in core",
			f->path ? f->path : f->orig, f->at, f->why);
}

/* Read one range; core_only: never use backing files. */
static void core_read_one(struct tli_target *t, struct core *c, struct tli_read *r, bool core_only)
{
	unsigned char *buf = r->buf;
	while (r->got < r->len) {
		uint64_t a = r->addr + r->got;
		if (a < r->addr) {
			r->err = EFAULT;
			return;
		}
		size_t want = r->len - r->got;
		uint64_t next, end;
		const struct seg *s = tli_elfcore_find_seg(c, a, &next);
		const struct fmap *fm;
		enum src src = tli_elfcore_source(c, s, a, s ? s->vaddr + s->memsz : next, &end, &fm);
		size_t n = (size_t)min_u64(end - a, want);
		if (src == SRC_CORE) {
			memcpy(buf + r->got, c->data + s->offset + (a - s->vaddr), n);
			r->got += n;
			continue;
		}
		if (src != SRC_FILE || core_only) {
			if (src == SRC_NONE && t)
				warn_refused(t, c, fm);
			r->err = src == SRC_LOST ? ENODATA : src == SRC_NONE ? none_errno(c, fm) : EFAULT;
			return;
		}
		int e = 0;
		size_t k = file_read(c, fm, a, buf + r->got, n, &e);
		r->got += k;
		if (k < n) {
			r->err = e ? e : EIO;
			return;
		}
	}
}

static struct tli_error *core_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct core *c = t->priv;
	for (size_t i = 0; i < n; i++) {
		reads[i].got = 0;
		reads[i].err = 0;
		core_read_one(t, c, &reads[i], false);
	}
	return NULL;
}

size_t tli_elfcore_read_core_only(struct core *c, uint64_t addr, void *buf, size_t len)
{
	struct tli_read r = { .addr = addr, .buf = buf, .len = len };
	core_read_one(NULL, c, &r, true);
	return r.got;
}

static void core_destroy(struct tli_target *t)
{
	struct core *c = t->priv;
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
		free(c->files[i].orig);
		free(c->files[i].path);
	}
	free(c->files);
	free(c->fmaps);
	free(c->segs);
	if (c->mapped)
		munmap(c->mapped, c->mapped_len);
	free(c);
	t->priv = NULL;
}

/* In place when [addr, +len) is one segment's data in the file mapping (not a core held in
 * memory by a caller: only tli_core_open's own mapping, whose pages can be dropped). */
static const void *core_mapped_ptr(struct tli_target *t, uint64_t addr, uint64_t len)
{
	const struct core *c = t->priv;
	if (!c || !c->mapped)
		return NULL;
	const struct seg *s = tli_elfcore_find_seg(c, addr, NULL);
	if (!s || len > s->avail || addr - s->vaddr > s->avail - len)
		return NULL;
	return c->data + s->offset + (addr - s->vaddr);
}

static void core_mapped_drop(struct tli_target *t, const void *p, uint64_t len)
{
	const struct core *c = t->priv;
	if (!c || !c->mapped)
		return;
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + ps - 1) & ~(ps - 1), hi = ((uintptr_t)p + len) & ~(ps - 1);
	uintptr_t mlo = (uintptr_t)c->mapped, mhi = mlo + c->mapped_len;
	if (lo < mlo || hi > mhi || hi <= lo)
		return;
	/* a private read-only file mapping never written: the pages come back from the file */
	madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

const struct tli_target_ops tli_elfcore_ops = {
	.name = "core",
	.read_many = core_read_many,
	.release = NULL,
	.destroy = core_destroy,
	.mapped_ptr = core_mapped_ptr,
	.mapped_drop = core_mapped_drop,
};

uint64_t tli_core_file_fallback_reads(const struct tli_target *t)
{
	if (!t || t->kind != TLI_TARGET_CORE || !t->priv)
		return 0;
	return ((const struct core *)t->priv)->fallback_reads;
}
