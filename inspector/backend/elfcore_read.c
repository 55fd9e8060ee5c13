/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_read.c
 * Reads of an ELF core target: PT_LOAD file data; where a segment has no data
 * in the core (p_filesz < p_memsz, or no PT_LOAD at all) the file named by
 * NT_FILE is read instead (prefixed by --sysroot, the main executable replaced
 * by --exe); a p_memsz tail with no NT_FILE backing reads as zeros
 * (bss-like); bytes a truncated core lost fail with ENODATA; anything else
 * fails with EFAULT.
 */
#include "elfcore_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fileio.h"
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

const struct fmap *tli_elfcore_find_fmap(const struct core *c, uint64_t a)
{
	size_t i = tli_upper_bound(c->nfmaps, k, c->fmaps[k].start > a);
	if (i == 0)
		return NULL;
	const struct fmap *f = &c->fmaps[i - 1];
	return a < f->end ? f : NULL;
}

int tli_elfcore_bfile_fd(struct bfile *f)
{
	if (f->fd == -2) {
		f->fd = tli_open_regular(f->path);
		f->open_err = f->fd < 0 ? errno : 0;
	}
	return f->fd;
}

/* Read [a, a+n) from the NT_FILE backing of fm. Returns bytes read; *err on short. */
static size_t file_read(struct core *c, const struct fmap *fm, uint64_t a, unsigned char *buf,
			size_t n, int *err)
{
	if (n > fm->end - a)
		n = (size_t)(fm->end - a);
	struct bfile *f = &c->files[fm->file];
	int fd = tli_elfcore_bfile_fd(f);
	if (fd < 0) {
		*err = f->open_err ? f->open_err : ENOENT;
		return 0;
	}
	uint64_t off = fm->ofs + (a - fm->start);
	if (off < fm->ofs || off > (uint64_t)INT64_MAX) {
		*err = EFAULT;
		return 0;
	}
	c->fallback_reads++;
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		*err = k == 0 ? EIO : errno; /* mapping beyond the file's end */
		break;
	}
	return got;
}

/* Read one range; core_only: never use backing files or zero fill. */
static void core_read_one(struct core *c, struct tli_read *r, bool core_only)
{
	unsigned char *buf = r->buf;
	while (r->got < r->len) {
		uint64_t a = r->addr + r->got;
		if (a < r->addr) {
			r->err = EFAULT;
			return;
		}
		size_t want = r->len - r->got;
		uint64_t next;
		const struct seg *s = tli_elfcore_find_seg(c, a, &next);
		if (s) {
			uint64_t off = a - s->vaddr;
			if (off < s->avail) {
				uint64_t n = s->avail - off < want ? s->avail - off : want;
				memcpy(buf + r->got, c->data + s->offset + off, (size_t)n);
				r->got += (size_t)n;
				continue;
			}
			if (off < s->filesz) { /* lost to truncation */
				r->err = ENODATA;
				return;
			}
			uint64_t n = s->memsz - off < want ? s->memsz - off : want;
			if (core_only) {
				r->err = EFAULT;
				return;
			}
			const struct fmap *fm = tli_elfcore_find_fmap(c, a);
			if (fm) {
				int e = 0;
				size_t k = file_read(c, fm, a, buf + r->got, (size_t)n, &e);
				r->got += k;
				if (!k) {
					r->err = e ? e : EIO;
					return;
				}
				continue;
			}
			memset(buf + r->got, 0, (size_t)n); /* bss-like tail */
			r->got += (size_t)n;
			continue;
		}
		if (core_only) {
			r->err = EFAULT;
			return;
		}
		const struct fmap *fm = tli_elfcore_find_fmap(c, a);
		if (!fm) {
			r->err = EFAULT;
			return;
		}
		uint64_t n = next - a < want ? next - a : want;
		int e = 0;
		size_t k = file_read(c, fm, a, buf + r->got, (size_t)n, &e);
		r->got += k;
		if (!k) {
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
		core_read_one(c, &reads[i], false);
	}
	return NULL;
}

size_t tli_elfcore_read_core_only(struct core *c, uint64_t addr, void *buf, size_t len)
{
	struct tli_read r = { .addr = addr, .buf = buf, .len = len };
	core_read_one(c, &r, true);
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

const struct tli_target_ops tli_elfcore_ops = {
	.name = "core",
	.read_many = core_read_many,
	.release = NULL,
	.destroy = core_destroy,
};

uint64_t tli_core_file_fallback_reads(const struct tli_target *t)
{
	if (!t || t->kind != TLI_TARGET_CORE || !t->priv)
		return 0;
	return ((const struct core *)t->priv)->fallback_reads;
}
