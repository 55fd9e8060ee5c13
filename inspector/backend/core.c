/* SPDX-License-Identifier: MIT */
/**
 * @file core.c
 * ELF core backend (x86_64). The core is mapped read-only and every offset,
 * size and count in it is range-checked before use: a truncated or crafted
 * core yields an error or warnings, never a crash or a hang.
 *
 * Reads: PT_LOAD file data; where a segment has no data in the core
 * (p_filesz < p_memsz, or no PT_LOAD at all) the file named by NT_FILE is
 * read instead (prefixed by --sysroot, the main executable replaced by
 * --exe); a p_memsz tail with no NT_FILE backing reads as zeros (bss-like);
 * bytes a truncated core lost fail with ENODATA; anything else fails with EFAULT.
 *
 * Truncation policy: damage to the ELF header or program header table is
 * fatal (TLI_E_BAD_FORMAT); a PT_LOAD or PT_NOTE cut short by the end of
 * the file stays usable up to the cut and is reported in t->warnings.
 *
 * wall_now_ns is the core file's mtime: an estimate of when the dump was
 * taken (the core has no timestamp). mono_now_ns is unknown (0).
 */
#include "core/fileio.h"
#include "elfcore.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#define NT_GO_BUILDID 4

#define MAX_NOTES (1u << 20)
#define MAX_WARN_PER_KIND 8
#define MAX_BUILDID 256

struct seg {
	uint64_t vaddr, memsz, filesz, offset;
	uint64_t avail; /**< bytes of file data actually present (<= filesz) */
	unsigned prot;
};

struct fmap {
	uint64_t start, end, ofs;
	size_t file; /**< index into files */
};

#define BFILE_MAX_PH 32
struct bfile {
	char *orig;   /**< path as named in the core */
	char *path;   /**< path to open here (sysroot / --exe applied) */
	int fd;       /**< -2 = not tried, -1 = failed (errno in open_err) */
	int open_err;
	int nph;      /**< PT_LOADs of the file (for protections), -1 = not read */
	struct { uint64_t off, end; unsigned prot; } ph[BFILE_MAX_PH];
};

struct core {
	const unsigned char *data;
	size_t size;
	void *mapped; /**< owned mmap (tli_core_open) or NULL */
	size_t mapped_len;
	struct seg *segs;
	size_t nsegs;
	struct fmap *fmaps;
	size_t nfmaps;
	struct bfile *files;
	size_t nfiles;
	long exe_file; /**< index into files, -1 if unknown */
	char fname[17];
	uint64_t fallback_reads;
	unsigned warn_trunc, warn_note;
};

/* ------------------------------------------------------------------ */
/* bounds-checked access to the image                                  */

static bool in_file(const struct core *c, uint64_t off, uint64_t len)
{
	return off <= c->size && len <= c->size - off;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */

/* Segment containing a, or NULL. Segments are sorted and non-overlapping. */
static const struct seg *find_seg(const struct core *c, uint64_t a, uint64_t *next_start)
{
	size_t lo = 0, hi = c->nsegs;
	while (lo < hi) { /* first segment with vaddr > a */
		size_t mid = lo + (hi - lo) / 2;
		if (c->segs[mid].vaddr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (next_start)
		*next_start = lo < c->nsegs ? c->segs[lo].vaddr : UINT64_MAX;
	if (lo == 0)
		return NULL;
	const struct seg *s = &c->segs[lo - 1];
	return a - s->vaddr < s->memsz ? s : NULL;
}

/* NT_FILE entry containing a, or NULL (entries sorted, non-overlapping). */
static const struct fmap *find_fmap(const struct core *c, uint64_t a)
{
	size_t lo = 0, hi = c->nfmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->fmaps[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct fmap *f = &c->fmaps[lo - 1];
	return a < f->end ? f : NULL;
}

/* ------------------------------------------------------------------ */
/* reads                                                               */

static int bfile_fd(struct bfile *f)
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
	int fd = bfile_fd(f);
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
		const struct seg *s = find_seg(c, a, &next);
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
			const struct fmap *fm = find_fmap(c, a);
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
		const struct fmap *fm = find_fmap(c, a);
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

static size_t core_only_read(struct core *c, uint64_t addr, void *buf, size_t len)
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

static const struct tli_target_ops core_ops = {
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

/* ------------------------------------------------------------------ */
/* notes                                                               */

struct note_ctx {
	struct tli_target *t;
	struct core *c;
	const char *name;
	/* raw NT_FILE, parsed after all notes (needs AT_ENTRY for the exe) */
	const unsigned char *file_desc;
	size_t file_desc_len;
	char prpsinfo_sname;
	size_t thread_cap;
};

static struct tli_error *note_prstatus(struct note_ctx *nc, const unsigned char *d, size_t len)
{
	size_t need = offsetof(struct elf_prstatus, pr_reg) + sizeof(elf_gregset_t);
	if (len < need) {
		if (nc->c->warn_note++ < MAX_WARN_PER_KIND)
			tli_target_warn(nc->t, "%s: NT_PRSTATUS note too short (%zu bytes, need %zu); thread skipped",
					nc->name, len, need);
		return NULL;
	}
	struct tli_target *t = nc->t;
	if (t->nthreads == nc->thread_cap) {
		size_t ncap = nc->thread_cap ? nc->thread_cap * 2 : 16;
		struct tli_thread *nt = realloc(t->threads, ncap * sizeof(*nt));
		if (!nt)
			return &tli_enomem;
		t->threads = nt;
		nc->thread_cap = ncap;
	}
	struct tli_thread *th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	int32_t pid;
	memcpy(&pid, d + offsetof(struct elf_prstatus, pr_pid), sizeof(pid));
	th->tid = pid;
	const unsigned char *g = d + offsetof(struct elf_prstatus, pr_reg);
#define R(f) get_u64(g + offsetof(struct user_regs_struct, f))
	th->regs = (struct tli_regs){
		.rip = R(rip), .rsp = R(rsp), .rbp = R(rbp),
		.rax = R(rax), .rbx = R(rbx), .rcx = R(rcx), .rdx = R(rdx),
		.rsi = R(rsi), .rdi = R(rdi),
		.r8 = R(r8), .r9 = R(r9), .r10 = R(r10), .r11 = R(r11),
		.r12 = R(r12), .r13 = R(r13), .r14 = R(r14), .r15 = R(r15),
		.eflags = R(eflags), .fs_base = R(fs_base), .gs_base = R(gs_base),
	};
#undef R
	th->regs_valid = true;
	return NULL;
}

static void note_prpsinfo(struct note_ctx *nc, const unsigned char *d, size_t len)
{
	if (len < offsetof(struct elf_prpsinfo, pr_fname) + 16)
		return;
	int32_t pid;
	memcpy(&pid, d + offsetof(struct elf_prpsinfo, pr_pid), sizeof(pid));
	nc->t->pid = pid > 0 ? pid : 0;
	nc->prpsinfo_sname = (char)d[offsetof(struct elf_prpsinfo, pr_sname)];
	memcpy(nc->c->fname, d + offsetof(struct elf_prpsinfo, pr_fname), 16);
	nc->c->fname[16] = 0;
}

static void note_auxv(struct note_ctx *nc, const unsigned char *d, size_t len)
{
	for (size_t off = 0; off + 16 <= len; off += 16) {
		uint64_t k = get_u64(d + off), v = get_u64(d + off + 8);
		if (k == AT_NULL)
			break;
		if (k == AT_ENTRY)
			nc->t->at_entry = v;
		else if (k == AT_PHDR)
			nc->t->at_phdr = v;
	}
}

static struct tli_error *parse_notes(struct note_ctx *nc, uint64_t off, uint64_t len)
{
	struct core *c = nc->c;
	const unsigned char *base = c->data + off;
	uint64_t p = 0;
	unsigned count = 0;
	while (len - p >= 12) {
		if (++count > MAX_NOTES) {
			tli_target_warn(nc->t, "%s: more than %u notes; the rest are ignored", nc->name, MAX_NOTES);
			break;
		}
		uint32_t namesz = get_u32(base + p), descsz = get_u32(base + p + 4);
		uint32_t type = get_u32(base + p + 8);
		uint64_t name_off = p + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t desc_end = desc_off + (uint64_t)descsz;
		if (desc_off > len || desc_end > len) {
			if (c->warn_note++ < MAX_WARN_PER_KIND)
				tli_target_warn(nc->t,
						"%s: note at file offset 0x%" PRIx64 " (type 0x%x, namesz %u, "
						"descsz %u) runs past its PT_NOTE segment; later notes ignored",
						nc->name, off + p, type, namesz, descsz);
			break;
		}
		const unsigned char *name = base + name_off;
		const unsigned char *desc = base + desc_off;
		bool is_core = namesz == 5 && !memcmp(name, "CORE", 5);
		bool is_linux = namesz == 6 && !memcmp(name, "LINUX", 6);
		if (is_core) {
			struct tli_error *err = NULL;
			switch (type) {
			case NT_PRSTATUS:
				err = note_prstatus(nc, desc, descsz);
				break;
			case NT_PRPSINFO:
				note_prpsinfo(nc, desc, descsz);
				break;
			case NT_AUXV:
				note_auxv(nc, desc, descsz);
				break;
			case NT_FILE:
				if (!nc->file_desc) {
					nc->file_desc = desc;
					nc->file_desc_len = descsz;
				}
				break;
			default:
				break;
			}
			if (err)
				return err;
		}
		(void)is_linux;
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (next > len)
			break;
		p = next;
	}
	return NULL;
}

static int fmap_cmp(const void *a, const void *b)
{
	const struct fmap *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static char *join_path(const char *root, const char *path)
{
	size_t rl = root ? strlen(root) : 0, pl = strlen(path);
	char *s = malloc(rl + pl + 2);
	if (!s)
		return NULL;
	memcpy(s, root, rl);
	size_t k = rl;
	if (rl && root[rl - 1] != '/' && path[0] != '/')
		s[k++] = '/';
	memcpy(s + k, path, pl + 1);
	return s;
}

/* NT_FILE: count, page_size, count x {start, end, pgoff}, count NUL-terminated paths. */
static struct tli_error *parse_nt_file(struct note_ctx *nc, const struct tli_core_opts *opts)
{
	struct core *c = nc->c;
	const unsigned char *d = nc->file_desc;
	size_t len = nc->file_desc_len;
	if (!d)
		return NULL;
	if (len < 16) {
		tli_target_warn(nc->t, "%s: NT_FILE note too short (%zu bytes)", nc->name, len);
		return NULL;
	}
	uint64_t count = get_u64(d), page = get_u64(d + 8);
	uint64_t max = (len - 16) / 24;
	if (count > max) {
		tli_target_warn(nc->t, "%s: NT_FILE claims %" PRIu64 " entries but has room for %" PRIu64,
				nc->name, count, max);
		count = max;
	}
	if (!count)
		return NULL;
	c->fmaps = calloc(count, sizeof(*c->fmaps));
	if (!c->fmaps)
		return &tli_enomem;
	const char *str = (const char *)d + 16 + count * 24;
	const char *str_end = (const char *)d + len;
	size_t filecap = 0;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *e = d + 16 + i * 24;
		uint64_t start = get_u64(e), end = get_u64(e + 8), pgoff = get_u64(e + 16);
		const char *nul = str < str_end ? memchr(str, 0, (size_t)(str_end - str)) : NULL;
		if (!nul) {
			tli_target_warn(nc->t, "%s: NT_FILE path %" PRIu64 " is not NUL-terminated; "
					"%" PRIu64 " entries ignored", nc->name, i, count - i);
			break;
		}
		const char *path = str;
		str = nul + 1;
		uint64_t ofs;
		if (end <= start || __builtin_mul_overflow(pgoff, page, &ofs))
			continue;
		/* same path as an earlier entry? (consecutive entries usually are) */
		size_t fi = c->nfiles;
		if (c->nfiles && !strcmp(c->files[c->nfiles - 1].orig, path))
			fi = c->nfiles - 1;
		else if (c->nfiles < 4096)
			for (size_t j = 0; j < c->nfiles; j++)
				if (!strcmp(c->files[j].orig, path)) {
					fi = j;
					break;
				}
		if (fi == c->nfiles) {
			if (c->nfiles == filecap) {
				filecap = filecap ? filecap * 2 : 16;
				struct bfile *nf = realloc(c->files, filecap * sizeof(*nf));
				if (!nf)
					return &tli_enomem;
				c->files = nf;
			}
			struct bfile *f = &c->files[c->nfiles];
			memset(f, 0, sizeof(*f));
			f->fd = -2;
			f->nph = -1;
			f->orig = strdup(path);
			if (!f->orig)
				return &tli_enomem;
			c->nfiles++;
		}
		c->fmaps[c->nfmaps++] = (struct fmap){ start, end, ofs, fi };
	}
	qsort(c->fmaps, c->nfmaps, sizeof(*c->fmaps), fmap_cmp);
	/* drop overlaps (a crafted core): keep the earlier entry */
	size_t k = 0;
	for (size_t i = 0; i < c->nfmaps; i++) {
		if (k && c->fmaps[i].start < c->fmaps[k - 1].end) {
			if (c->fmaps[i].end <= c->fmaps[k - 1].end)
				continue;
			uint64_t d2 = c->fmaps[k - 1].end - c->fmaps[i].start;
			c->fmaps[i].start += d2;
			c->fmaps[i].ofs += d2;
		}
		c->fmaps[k++] = c->fmaps[i];
	}
	c->nfmaps = k;

	/* the main executable: the entry containing AT_ENTRY, else the first */
	c->exe_file = -1;
	const struct fmap *ex = nc->t->at_entry ? find_fmap(c, nc->t->at_entry) : NULL;
	if (!ex && c->nfmaps)
		ex = &c->fmaps[0];
	if (ex)
		c->exe_file = (long)ex->file;
	for (size_t i = 0; i < c->nfiles; i++) {
		struct bfile *f = &c->files[i];
		if ((long)i == c->exe_file && opts && opts->exe)
			f->path = strdup(opts->exe);
		else
			f->path = join_path(opts ? opts->sysroot : NULL, f->orig);
		if (!f->path)
			return &tli_enomem;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mappings                                                            */

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int map_cmp(const void *a, const void *b)
{
	const struct tli_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Protection of a file-backed range that has no PT_LOAD in the core (gcore
 * leaves out read-only text): taken from the backing ELF file's PT_LOAD
 * flags when the file is readable here, else read-only.
 */
static unsigned file_prot(struct core *c, size_t file, uint64_t off)
{
	struct bfile *f = &c->files[file];
	if (f->nph < 0) {
		f->nph = 0;
		int fd = bfile_fd(f);
		Elf64_Ehdr eh;
		if (fd >= 0 && pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
		    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
		    eh.e_phentsize >= sizeof(Elf64_Phdr) && eh.e_phnum <= 4096 &&
		    eh.e_phoff <= (uint64_t)INT64_MAX / 2) {
			for (unsigned i = 0; i < eh.e_phnum && f->nph < BFILE_MAX_PH; i++) {
				Elf64_Phdr ph;
				if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
				    (ssize_t)sizeof(ph))
					break;
				if (ph.p_type != PT_LOAD)
					continue;
				f->ph[f->nph].off = ph.p_offset & ~4095ull;
				f->ph[f->nph].end = sat_add(ph.p_offset, ph.p_filesz);
				f->ph[f->nph].prot = (ph.p_flags & PF_R ? TLI_PROT_R : 0) |
						     (ph.p_flags & PF_W ? TLI_PROT_W : 0) |
						     (ph.p_flags & PF_X ? TLI_PROT_X : 0);
				f->nph++;
			}
		}
	}
	for (int i = 0; i < f->nph; i++)
		if (off >= f->ph[i].off && off < f->ph[i].end)
			return f->ph[i].prot;
	return TLI_PROT_R;
}

static struct tli_error *build_maps(struct tli_target *t, struct core *c)
{
	/* every segment, plus the gaps between segments inside file entries:
	 * each gap ends at a segment start or at an entry end */
	size_t cap = 2 * c->nsegs + 2 * c->nfmaps + 1;
	t->maps = calloc(cap, sizeof(*t->maps));
	if (!t->maps)
		return &tli_enomem;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct seg *s = &c->segs[i];
		struct tli_mapping *m = &t->maps[t->nmaps++];
		m->start = s->vaddr;
		m->end = s->vaddr + s->memsz;
		m->prot = s->prot;
		const struct fmap *fm = find_fmap(c, s->vaddr);
		if (fm) {
			m->offset = fm->ofs + (s->vaddr - fm->start);
			m->path = strdup(c->files[fm->file].path);
			if (!m->path)
				return &tli_enomem;
		}
	}
	/* file-backed ranges with no PT_LOAD at all: readable through the file */
	for (size_t i = 0; i < c->nfmaps && t->nmaps < cap; i++) {
		const struct fmap *fm = &c->fmaps[i];
		uint64_t a = fm->start;
		while (a < fm->end && t->nmaps < cap) {
			uint64_t next;
			const struct seg *s = find_seg(c, a, &next);
			if (s) {
				a = s->vaddr + s->memsz;
				continue;
			}
			uint64_t b = next < fm->end ? next : fm->end;
			struct tli_mapping *m = &t->maps[t->nmaps++];
			m->start = a;
			m->end = b;
			m->offset = fm->ofs + (a - fm->start);
			m->prot = file_prot(c, fm->file, m->offset);
			m->path = strdup(c->files[fm->file].path);
			if (!m->path)
				return &tli_enomem;
			a = b;
		}
	}
	qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* build-id check                                                      */

struct buildids {
	unsigned char gnu[MAX_BUILDID];
	size_t gnu_len;
	unsigned char go[MAX_BUILDID];
	size_t go_len;
};

static void scan_buildid_notes(const unsigned char *n, size_t len, struct buildids *b)
{
	size_t p = 0;
	for (unsigned count = 0; len - p >= 12 && count < 4096; count++) {
		uint32_t namesz = get_u32(n + p), descsz = get_u32(n + p + 4), type = get_u32(n + p + 8);
		uint64_t desc_off = p + 12 + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t desc_end = desc_off + descsz;
		if (desc_off > len || desc_end > len)
			return;
		const unsigned char *name = n + p + 12;
		if (namesz == 4 && !memcmp(name, "GNU", 4) && type == NT_GNU_BUILD_ID &&
		    descsz <= MAX_BUILDID && !b->gnu_len) {
			memcpy(b->gnu, n + desc_off, descsz);
			b->gnu_len = descsz;
		}
		if (namesz == 4 && !memcmp(name, "Go\0\0", 4) && type == NT_GO_BUILDID &&
		    descsz <= MAX_BUILDID && !b->go_len) {
			memcpy(b->go, n + desc_off, descsz);
			b->go_len = descsz;
		}
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (next > len)
			return;
		p = (size_t)next;
	}
}

/* Build-ids of an ELF file on disk (PT_NOTE segments). */
static void file_buildids(int fd, struct buildids *b)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize < sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 4096 || eh.e_phoff > (uint64_t)INT64_MAX / 2)
		return;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			return;
		if (ph.p_type != PT_NOTE || !ph.p_filesz || ph.p_filesz > (1u << 20) ||
		    ph.p_offset > (uint64_t)INT64_MAX / 2)
			continue;
		unsigned char *n = malloc(ph.p_filesz);
		if (!n)
			return;
		if (pread(fd, n, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
			scan_buildid_notes(n, ph.p_filesz, b);
		free(n);
	}
}

/* Address of file offset `off` of the executable in the core's address space. */
static bool exe_off_to_addr(const struct core *c, uint64_t off, uint64_t *addr)
{
	for (size_t i = 0; i < c->nfmaps; i++) {
		const struct fmap *f = &c->fmaps[i];
		if ((long)f->file != c->exe_file)
			continue;
		if (off >= f->ofs && off - f->ofs < f->end - f->start) {
			*addr = f->start + (off - f->ofs);
			return true;
		}
	}
	return false;
}

/* Build-ids of the executable as found in the core's own memory (no file fallback). */
static void core_buildids(struct core *c, struct buildids *b)
{
	uint64_t base;
	if (c->exe_file < 0 || !exe_off_to_addr(c, 0, &base))
		return;
	Elf64_Ehdr eh;
	if (core_only_read(c, base, &eh, sizeof(eh)) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize < sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
		return;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t pa;
		if (!exe_off_to_addr(c, eh.e_phoff + (uint64_t)i * eh.e_phentsize, &pa) ||
		    core_only_read(c, pa, &ph, sizeof(ph)) != sizeof(ph))
			return;
		if (ph.p_type != PT_NOTE || !ph.p_filesz || ph.p_filesz > (1u << 20))
			continue;
		uint64_t na;
		if (!exe_off_to_addr(c, ph.p_offset, &na))
			continue;
		unsigned char *n = malloc(ph.p_filesz);
		if (!n)
			return;
		if (core_only_read(c, na, n, ph.p_filesz) == ph.p_filesz)
			scan_buildid_notes(n, ph.p_filesz, b);
		free(n);
	}
}

static void hex(const unsigned char *p, size_t n, char *out, size_t outsz)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 3 <= outsz; i++)
		k += (size_t)snprintf(out + k, outsz - k, "%02x", p[i]);
	if (k < outsz)
		out[k] = 0;
}

static struct tli_error *check_exe(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
				   const char *name)
{
	const char *given = opts ? opts->exe : NULL;
	if (c->exe_file < 0) {
		if (given) {
			if (access(given, R_OK))
				return tli_error_errno(TLI_E_NO_TARGET, errno, "cannot open executable %s", given);
			t->exe_path = strdup(given);
			if (!t->exe_path)
				return &tli_enomem;
			tli_target_warn(t, "could not verify that --exe %s matches %s (the core names no files)",
					given, name);
		}
		return NULL;
	}
	struct bfile *f = &c->files[c->exe_file];
	int fd = bfile_fd(f);
	if (fd < 0) {
		if (given)
			return tli_error_errno(TLI_E_NO_TARGET, f->open_err, "cannot open executable %s", given);
		tli_target_warn(t, "executable %s named in the core is not readable here (%s); "
				"use --exe or --sysroot", f->path, strerror(f->open_err));
		return NULL;
	}
	t->exe_path = strdup(f->path);
	if (!t->exe_path)
		return &tli_enomem;

	struct buildids fb = { 0 }, cb = { 0 };
	file_buildids(fd, &fb);
	core_buildids(c, &cb);
	char a[2 * MAX_BUILDID + 1], b[2 * MAX_BUILDID + 1];
	bool compared = false;
	if (fb.gnu_len && cb.gnu_len) {
		compared = true;
		if (fb.gnu_len != cb.gnu_len || memcmp(fb.gnu, cb.gnu, fb.gnu_len)) {
			hex(fb.gnu, fb.gnu_len, a, sizeof(a));
			hex(cb.gnu, cb.gnu_len, b, sizeof(b));
			return tli_error_create(TLI_E_MISMATCH,
						"executable %s (build-id %s) does not match the core %s (build-id %s)",
						f->path, a, name, b);
		}
	}
	if (fb.go_len && cb.go_len) {
		compared = true;
		if (fb.go_len != cb.go_len || memcmp(fb.go, cb.go, fb.go_len)) {
			snprintf(a, sizeof(a), "%.*s", (int)fb.go_len, (const char *)fb.go);
			snprintf(b, sizeof(b), "%.*s", (int)cb.go_len, (const char *)cb.go);
			return tli_error_create(TLI_E_MISMATCH,
						"executable %s (Go build-id %s) does not match the core %s "
						"(Go build-id %s)", f->path, a, name, b);
		}
	}
	if (!compared)
		tli_target_warn(t, "could not verify that --exe %s matches %s (no comparable build-id "
				"in both the file and the core's memory)", f->path, name);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* open                                                                */

static const char *etype_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "ET_REL";
	case ET_EXEC: return "ET_EXEC";
	case ET_DYN: return "ET_DYN";
	case ET_CORE: return "ET_CORE";
	}
	return "unknown";
}

static struct tli_error *parse_core(struct tli_target *t, struct core *c, const char *name,
				    const struct tli_core_opts *opts)
{
	if (c->size < SELFMAG || memcmp(c->data, ELFMAG, SELFMAG))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", name);
	if (c->size < sizeof(Elf64_Ehdr))
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: the ELF header needs %zu bytes, %s has %zu",
					sizeof(Elf64_Ehdr), name, c->size);
	Elf64_Ehdr eh;
	memcpy(&eh, c->data, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a 64-bit little-endian ELF file", name);
	if (eh.e_type != ET_CORE)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a core file (ELF type %s)", name,
					etype_name(eh.e_type));
	if (eh.e_machine != EM_X86_64)
		return tli_error_create(TLI_E_UNSUPPORTED,
					"%s is a core for ELF machine %u; only x86_64 (%u) is supported",
					name, eh.e_machine, EM_X86_64);
	if (eh.e_phentsize < sizeof(Elf64_Phdr))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: e_phentsize %u is smaller than %zu", name,
					eh.e_phentsize, sizeof(Elf64_Phdr));
	uint64_t phnum = eh.e_phnum;
	if (phnum == PN_XNUM) { /* real count in section header 0's sh_info */
		if (eh.e_shentsize < sizeof(Elf64_Shdr) || !in_file(c, eh.e_shoff, sizeof(Elf64_Shdr)))
			return tli_error_create(TLI_E_BAD_FORMAT,
						"%s: e_phnum is PN_XNUM but section header 0 (offset 0x%" PRIx64
						") is not in the file (size %zu)", name, (uint64_t)eh.e_shoff, c->size);
		Elf64_Shdr sh;
		memcpy(&sh, c->data + eh.e_shoff, sizeof(sh));
		phnum = sh.sh_info;
	}
	if (!phnum)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: core has no program headers", name);
	if (eh.e_phoff >= c->size)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: program headers at offset 0x%" PRIx64
					" lie beyond the end of %s (size %zu)", (uint64_t)eh.e_phoff, name, c->size);
	if (phnum > (c->size - eh.e_phoff) / eh.e_phentsize) {
		unsigned __int128 need = (unsigned __int128)eh.e_phoff + (unsigned __int128)phnum * eh.e_phentsize;
		return tli_error_create(TLI_E_BAD_FORMAT,
					"core truncated: %" PRIu64 " program headers need bytes up to offset %" PRIu64
					", %s has %zu", phnum,
					need > UINT64_MAX ? UINT64_MAX : (uint64_t)need, name, c->size);
	}

	c->segs = calloc(phnum, sizeof(*c->segs));
	if (!c->segs)
		return &tli_enomem;
	struct note_ctx nc = { .t = t, .c = c, .name = name };
	size_t data_segs = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->data + eh.e_phoff + i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			uint64_t len = ph.p_filesz;
			if (!in_file(c, ph.p_offset, len)) {
				uint64_t have = ph.p_offset < c->size ? c->size - ph.p_offset : 0;
				tli_target_warn(t, "core truncated: PT_NOTE at offset 0x%" PRIx64 " needs bytes up to "
						"offset %" PRIu64 ", %s has %zu; notes past the cut are lost",
						(uint64_t)ph.p_offset, sat_add(ph.p_offset, len), name, c->size);
				len = have;
			}
			if (len) {
				struct tli_error *err = parse_notes(&nc, ph.p_offset, len);
				if (err)
					return err;
			}
			continue;
		}
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
			tli_target_warn(t, "%s: PT_LOAD at vaddr 0x%" PRIx64 " with size 0x%" PRIx64
					" wraps around the address space; ignored", name,
					(uint64_t)ph.p_vaddr, (uint64_t)ph.p_memsz);
			continue;
		}
		struct seg *s = &c->segs[c->nsegs++];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->filesz = ph.p_filesz;
		s->offset = ph.p_offset;
		s->prot = (ph.p_flags & PF_R ? TLI_PROT_R : 0) | (ph.p_flags & PF_W ? TLI_PROT_W : 0) |
			  (ph.p_flags & PF_X ? TLI_PROT_X : 0);
		if (s->filesz > s->memsz) {
			tli_target_warn(t, "%s: PT_LOAD at vaddr 0x%" PRIx64 " has p_filesz > p_memsz; clamped",
					name, s->vaddr);
			s->filesz = s->memsz;
		}
		s->avail = s->filesz;
		if (!in_file(c, s->offset, s->filesz)) {
			s->avail = s->offset < c->size ? c->size - s->offset : 0;
			if (c->warn_trunc++ < MAX_WARN_PER_KIND)
				tli_target_warn(t, "core truncated: PT_LOAD at vaddr 0x%" PRIx64 " needs bytes up to "
						"offset %" PRIu64 ", file has %zu; readable up to 0x%" PRIx64,
						s->vaddr, sat_add(s->offset, s->filesz), c->size, s->vaddr + s->avail);
		}
		if (s->avail)
			data_segs++;
	}
	if (c->warn_trunc > MAX_WARN_PER_KIND)
		tli_target_warn(t, "core truncated: %u PT_LOAD segments are cut short in total", c->warn_trunc);
	if (!data_segs && !t->nthreads)
		return tli_error_create(TLI_E_BAD_FORMAT,
					"%s has neither memory contents nor threads (truncated or empty core)", name);

	/* sort; trim overlaps (only a crafted core has them) */
	qsort(c->segs, c->nsegs, sizeof(*c->segs), seg_cmp);
	size_t k = 0;
	for (size_t i = 0; i < c->nsegs; i++) {
		struct seg s = c->segs[i];
		if (k) {
			uint64_t prev_end = c->segs[k - 1].vaddr + c->segs[k - 1].memsz;
			if (s.vaddr < prev_end) {
				uint64_t d = prev_end - s.vaddr;
				if (d >= s.memsz)
					continue;
				s.vaddr += d;
				s.memsz -= d;
				s.offset = sat_add(s.offset, d);
				s.filesz = s.filesz > d ? s.filesz - d : 0;
				s.avail = s.avail > d ? s.avail - d : 0;
				tli_target_warn(t, "%s: overlapping PT_LOAD segments at 0x%" PRIx64, name, s.vaddr);
			}
		}
		c->segs[k++] = s;
	}
	c->nsegs = k;

	struct tli_error *err = parse_nt_file(&nc, opts);
	if (err)
		return err;
	if (!t->pid && t->nthreads)
		t->pid = t->threads[0].tid;
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == t->pid)
			t->threads[i].state = nc.prpsinfo_sname;
	err = build_maps(t, c);
	if (err)
		return err;
	return check_exe(t, c, opts, name);
}

static struct tli_error *open_image(const void *data, size_t size, void *mapped, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret)
{
	*ret = NULL;
	struct tli_target *t = calloc(1, sizeof(*t));
	struct core *c = calloc(1, sizeof(*c));
	if (!t || !c) {
		free(t);
		free(c);
		if (mapped)
			munmap(mapped, size);
		return &tli_enomem;
	}
	c->data = data;
	c->size = size;
	c->mapped = mapped;
	c->mapped_len = size;
	c->exe_file = -1;
	t->ops = &core_ops;
	t->priv = c;
	t->kind = TLI_TARGET_CORE;
	t->core_path = strdup(name);
	struct tli_error *err = t->core_path ? parse_core(t, c, name, opts) : &tli_enomem;
	if (err) {
		tli_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}

struct tli_error *tli_core_open_mem(const void *data, size_t size, const char *name,
				    const struct tli_core_opts *opts, struct tli_target **ret)
{
	return open_image(data, size, NULL, name ? name : "core", opts, ret);
}

struct tli_error *tli_core_open(const char *core, const struct tli_core_opts *opts, struct tli_target **ret)
{
	*ret = NULL;
	int fd = tli_open_regular(core);
	if (fd < 0) {
		int e = errno;
		if (e == EINVAL)
			return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a core file (not a regular file)", core);
		return tli_error_errno(e == EACCES || e == EPERM ? TLI_E_PERM : TLI_E_NO_TARGET, e,
				       "cannot open core file %s", core);
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = errno;
		close(fd);
		return tli_error_errno(TLI_E_NO_TARGET, e, "cannot stat core file %s", core);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not a regular file", core);
	}
	if (sb.st_size == 0) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is empty (not a core file)", core);
	}
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return tli_error_errno(TLI_E_INTERNAL, e, "cannot map core file %s", core);
	struct tli_error *err = open_image(m, (size_t)sb.st_size, m, core, opts, ret);
	if (err)
		return err;
	(*ret)->wall_now_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	return NULL;
}
