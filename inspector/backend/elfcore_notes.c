/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_notes.c
 * The notes of an ELF core (PT_NOTE): NT_PRSTATUS (threads and registers),
 * NT_PRPSINFO (pid, state, command name), NT_AUXV (AT_ENTRY, AT_PHDR) and
 * NT_FILE (the files behind the mappings; --exe replaces the executable's).
 * Layouts: <sys/procfs.h> (struct elf_prstatus, elf_prpsinfo) and the kernel's
 * fill_files_note (fs/binfmt_elf.c) for NT_FILE.
 */
#include "elfcore_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#include "core/hash.h"
#include "core/vec.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

#define MAX_NOTES (1u << 20)

/* One thread: its tid and registers, decoded by the core's architecture (core/arch.h). */
static struct tli_error *note_prstatus(struct note_ctx *nc, const unsigned char *d, size_t len)
{
	const struct tli_arch *a = nc->t->arch;
	size_t need = TLI_PRSTATUS_REG_OFF + a->gregset_size;
	if (len < need) {
		if (nc->c->warn_note++ < MAX_WARN_PER_KIND)
			tli_target_warn(nc->t, "%s: NT_PRSTATUS note too short (%zu bytes, need %zu); thread skipped",
					nc->name, len, need);
		return NULL;
	}
	struct tli_target *t = nc->t;
	if (!tli_vec_grow_((void **)&t->threads, &nc->thread_cap, t->nthreads + 1, sizeof(*t->threads)))
		return &tli_enomem;
	struct tli_thread *th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = (int32_t)get_u32(d + TLI_PRSTATUS_PID_OFF);
	a->decode_gregset(d + TLI_PRSTATUS_REG_OFF, &th->regs);
	th->regs_valid = true;
	/* where the thread pointer has a note of its own, it follows its thread's NT_PRSTATUS */
	th->no_tp = a->tls_note != 0;
	return NULL;
}

/* The thread pointer's own note (arm64 NT_ARM_TLS: TPIDR_EL0 first), for the thread just read. */
static void note_tls(struct note_ctx *nc, const unsigned char *d, size_t len)
{
	struct tli_target *t = nc->t;
	if (!t->nthreads || len < 8)
		return;
	struct tli_thread *th = &t->threads[t->nthreads - 1];
	th->regs.tp = get_u64(d);
	th->no_tp = false;
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
		else if (k == AT_BASE)
			nc->c->at_base = v;
	}
}

struct tli_error *tli_elfcore_parse_notes(struct note_ctx *nc, uint64_t off, uint64_t len)
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
		} else if (namesz == 6 && !memcmp(name, "LINUX", 6) && nc->t->arch->tls_note &&
			   type == nc->t->arch->tls_note) {
			note_tls(nc, desc, descsz); /* the kernel names its extra regsets "LINUX" */
		}
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

/* Index into c->files of the backing file `path`, added if new (*ret); SIZE_MAX if new
 * and MAX_FILES are known already. */
static struct tli_error *file_index(struct core *c, struct tli_strmap *seen, const char *path, size_t *filecap,
				    size_t *ret)
{
	uint64_t fi;
	if (tli_strmap_get(seen, path, &fi)) {
		*ret = (size_t)fi;
		return NULL;
	}
	if (c->nfiles == MAX_FILES) {
		*ret = SIZE_MAX;
		return NULL;
	}
	if (!tli_vec_grow_((void **)&c->files, filecap, c->nfiles + 1, sizeof(*c->files)))
		return &tli_enomem;
	struct bfile *f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->nph = -1;
	if (!(f->orig = strdup(path)))
		return &tli_enomem;
	c->nfiles++;
	if (!tli_strmap_put(seen, path, c->nfiles - 1))
		return &tli_enomem;
	*ret = c->nfiles - 1;
	return NULL;
}

/* Sort the entries; an overlap (a crafted core) keeps the earlier entry. */
static void sort_fmaps(struct core *c)
{
	qsort(c->fmaps, c->nfmaps, sizeof(*c->fmaps), fmap_cmp);
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
}

/* The main executable: the entry containing AT_ENTRY, else the first; --exe replaces
 * its file (the other files are looked up inside --sysroot by elfcore_files.c). */
static struct tli_error *choose_exe(struct note_ctx *nc, const struct tli_core_opts *opts)
{
	struct core *c = nc->c;
	c->exe_file = -1;
	const struct fmap *ex = nc->t->at_entry ? tli_elfcore_find_fmap(c, nc->t->at_entry, NULL) : NULL;
	if (!ex && c->nfmaps)
		ex = &c->fmaps[0];
	if (ex)
		c->exe_file = (long)ex->file;
	if (ex && opts && opts->exe) {
		struct bfile *f = &c->files[ex->file];
		f->given = true;
		if (!(f->path = strdup(opts->exe)))
			return &tli_enomem;
	}
	return NULL;
}

/* NT_FILE: count, page_size, count x {start, end, pgoff}, count NUL-terminated paths. */
struct tli_error *tli_elfcore_parse_nt_file(struct note_ctx *nc, const struct tli_core_opts *opts)
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
	uint64_t dropped = 0;
	struct tli_strmap *seen = tli_strmap_new();
	if (!seen)
		return &tli_enomem;
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
		size_t fi;
		if (end <= start || __builtin_mul_overflow(pgoff, page, &ofs))
			continue;
		struct tli_error *err = file_index(c, seen, path, &filecap, &fi);
		if (err) {
			tli_strmap_free(seen);
			return err;
		}
		if (fi == SIZE_MAX)
			dropped++;
		else
			c->fmaps[c->nfmaps++] = (struct fmap){ start, end, ofs, fi };
	}
	tli_strmap_free(seen);
	if (dropped)
		tli_target_warn(nc->t, "%s: NT_FILE names more than %u files; %" PRIu64 " entries of the "
				"others are ignored (not in core)", nc->name, MAX_FILES, dropped);
	sort_fmaps(c);
	return choose_exe(nc, opts);
}
