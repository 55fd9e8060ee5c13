/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_rdebug.c
 * The files behind a core's mappings when it has no NT_FILE note (qemu-user's
 * cores, other tools'): the dynamic linker's own list, as gdb's solib-svr4
 * finds it. The executable (--exe) gives its program headers and, placed at
 * AT_PHDR, where its dynamic section is; its DT_DEBUG entry (filled in by
 * ld.so) points to `struct r_debug`, whose r_map starts the `struct link_map`
 * chain (l_addr, l_name, l_ld, l_next); without DT_DEBUG, ld.so's own `_r_debug`
 * (its .dynsym) at AT_BASE. Each library named there is looked up
 * inside --sysroot and its PT_LOADs become the mappings NT_FILE would have
 * named, so elfcore_files.c checks them the same way (build-id where the core
 * holds the header page; else the dynamic section the core holds at l_ld
 * against the file's). Everything read is the core's own data (never a file),
 * bounded and cycle-checked; what cannot be found is a warning.
 */
#include "elfcore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sysroot.h"
#include "core/vec.h"

#define MAX_LINKMAP 1024 /* a crafted chain ends here */
#define MAX_DYN 1024
#define MAX_PH 64

struct lm_ctx {
	struct tli_target *t;
	struct core *c;
	size_t filecap, fmapcap;
	const char *exe; /* --exe: ld.so's own l_name is the executable's PT_INTERP string, in its code pages */
};

/* The PT_LOADs (and PT_DYNAMIC, PT_PHDR) of the ELF file fd; false if it is none of ours. */
static bool file_phdrs(int fd, Elf64_Ehdr *eh, Elf64_Phdr *ph, size_t *n)
{
	if (pread(fd, eh, sizeof(*eh), 0) != (ssize_t)sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > MAX_PH)
		return false;
	ssize_t want = (ssize_t)(eh->e_phnum * sizeof(Elf64_Phdr));
	if (pread(fd, ph, (size_t)want, (off_t)eh->e_phoff) != want)
		return false;
	*n = eh->e_phnum;
	return true;
}

static const Elf64_Phdr *find_ph(const Elf64_Phdr *ph, size_t n, uint32_t type)
{
	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == type)
			return &ph[i];
	return NULL;
}

/* A new file (not opened yet); its index, SIZE_MAX on ENOMEM. */
static size_t add_file(struct lm_ctx *x, const char *orig)
{
	struct core *c = x->c;
	if (c->nfiles == MAX_FILES || !tli_vec_grow_((void **)&c->files, &x->filecap, c->nfiles + 1, sizeof(*c->files)))
		return SIZE_MAX;
	struct bfile *f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->nph = -1;
	if (!(f->orig = strdup(orig)))
		return SIZE_MAX;
	return c->nfiles++;
}

/* The file-backed part of each PT_LOAD at bias, as the loader maps it. */
static bool add_loads(struct lm_ctx *x, size_t file, uint64_t bias, const Elf64_Phdr *ph, size_t n)
{
	struct core *c = x->c;
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_filesz)
			continue;
		uint64_t start = (bias + ph[i].p_vaddr) & ~4095ull, end = page_up(bias + ph[i].p_vaddr + ph[i].p_filesz);
		if (end <= start)
			continue;
		if (!tli_vec_grow_((void **)&c->fmaps, &x->fmapcap, c->nfmaps + 1, sizeof(*c->fmaps)))
			return false;
		c->fmaps[c->nfmaps++] = (struct fmap){ start, end, ph[i].p_offset & ~4095ull, file };
	}
	return true;
}

static bool read_u64(struct core *c, uint64_t a, uint64_t *v)
{
	return tli_elfcore_read_core_only(c, a, v, 8) == 8;
}

/* DT_DEBUG of the dynamic section at [dyn, dyn + size) in the core: &r_debug, 0 if none. */
static uint64_t dt_debug(struct core *c, uint64_t dyn, uint64_t size)
{
	for (uint64_t i = 0; i < size / 16 && i < MAX_DYN; i++) {
		uint64_t tag, val;
		if (!read_u64(c, dyn + 16 * i, &tag) || !read_u64(c, dyn + 16 * i + 8, &val) || tag == DT_NULL)
			return 0;
		if (tag == DT_DEBUG)
			return val;
	}
	return 0;
}

/* A NUL-terminated name of at most PATH_MAX bytes from the core; false if unreadable. */
static bool read_name(struct core *c, uint64_t a, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char chunk[64];
		size_t got = tli_elfcore_read_core_only(c, a + n, chunk, sizeof(chunk));
		if (!got)
			return false;
		char *nul = memchr(chunk, 0, got);
		size_t take = nul ? (size_t)(nul - chunk) : got;
		if (take > cap - 1 - n)
			return false;
		memcpy(buf + n, chunk, take);
		n += take;
		if (nul) {
			buf[n] = 0;
			return true;
		}
	}
	return false;
}

/* A name inside the executable's file-backed mappings that the core leaves out (ld.so's own entry
 * names it by the executable's PT_INTERP string): read from --exe. */
static bool exe_name(struct lm_ctx *x, uint64_t a, char *buf, size_t cap)
{
	struct core *c = x->c;
	const struct fmap *fm = NULL;
	for (size_t i = 0; i < c->nfmaps && !fm; i++)
		if ((long)c->fmaps[i].file == c->exe_file && a >= c->fmaps[i].start && a < c->fmaps[i].end)
			fm = &c->fmaps[i];
	if (!fm || !x->exe)
		return false;
	int fd = open(x->exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, buf, cap - 1, (off_t)(fm->ofs + (a - fm->start)));
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strlen(buf) < (size_t)n;
}

/* One library of the list: a file whose PT_LOADs are mapped at l_addr. */
static bool add_library(struct lm_ctx *x, const char *name, uint64_t l_addr, uint64_t l_ld, const char *sysroot)
{
	size_t fi = add_file(x, name);
	if (fi == SIZE_MAX)
		return false;
	struct bfile *f = &x->c->files[fi];
	f->linkmap = true;
	f->l_addr = l_addr;
	f->l_ld = l_ld;
	int fd = tli_elfcore_open_file(f, sysroot);
	if (fd < 0) {
		tli_target_warn(x->t, "library %s (in the dynamic linker's list, loaded at 0x%" PRIx64 ") is not "
				"readable here (%s); its code is not in core", f->path ? f->path : name, l_addr,
				f->state == BF_REFUSED ? f->why : strerror(f->open_err ? f->open_err : ENOENT));
		return true;
	}
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PH];
	size_t n = 0;
	bool ok = file_phdrs(fd, &eh, ph, &n);
	close(fd);
	f->state = BF_UNTRIED;
	if (!ok) {
		f->state = BF_REFUSED;
		snprintf(f->why, sizeof(f->why), "is not a 64-bit ELF file");
		return true;
	}
	return add_loads(x, fi, l_addr, ph, n);
}

/* r_debug.r_map (struct r_debug: int r_version; struct link_map *r_map; ...) and the chain from it. */
static bool walk_link_map(struct lm_ctx *x, uint64_t rdebug, const char *sysroot, size_t *nlibs)
{
	struct core *c = x->c;
	uint64_t lm = 0, seen[MAX_LINKMAP];
	size_t nseen = 0;
	uint32_t version = 0;
	if (tli_elfcore_read_core_only(c, rdebug, &version, 4) != 4 || !read_u64(c, rdebug + 8, &lm)) {
		tli_target_warn(x->t, "the dynamic linker's r_debug at 0x%" PRIx64 " is not in the core: the "
				"libraries are unknown (their code is not in core)", rdebug);
		return true;
	}
	for (; lm; nseen++) {
		for (size_t i = 0; i < nseen; i++)
			if (seen[i] == lm) {
				tli_target_warn(x->t, "the dynamic linker's list loops at 0x%" PRIx64 " after %zu "
						"entries; the rest is ignored", lm, nseen);
				return true;
			}
		if (nseen == MAX_LINKMAP) {
			tli_target_warn(x->t, "the dynamic linker's list has more than %d entries; the rest is "
					"ignored", MAX_LINKMAP);
			return true;
		}
		seen[nseen] = lm;
		uint64_t l[4]; /* l_addr, l_name, l_ld, l_next */
		char name[4096];
		if (tli_elfcore_read_core_only(c, lm, l, sizeof(l)) != sizeof(l) ||
		    (!read_name(c, l[1], name, sizeof(name)) && !exe_name(x, l[1], name, sizeof(name)))) {
			tli_target_warn(x->t, "entry 0x%" PRIx64 " of the dynamic linker's list (r_debug at 0x%" PRIx64
					") is not readable in the core; the libraries from there on are unknown",
					lm, rdebug);
			return true;
		}
		lm = l[3];
		if (!name[0])
			continue; /* the executable */
		if (name[0] != '/') { /* the vDSO (no file), or a relative dlopen name we cannot place */
			if (strncmp(name, "linux-vdso", 10) && strncmp(name, "linux-gate", 10))
				tli_target_warn(x->t, "library \"%s\" in the dynamic linker's list has no absolute "
						"path; not read (its code is not in core)", name);
			continue;
		}
		if (!add_library(x, name, l[0], l[2], sysroot))
			return false;
		(*nlibs)++;
	}
	return true;
}

/* The executable (--exe) at its load address (AT_PHDR, else AT_ENTRY), its mappings, and &r_debug. */
static bool add_exe(struct lm_ctx *x, const char *exe, uint64_t *rdebug, bool *dynamic)
{
	struct tli_target *t = x->t;
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* elfcore_exe.c says why */
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PH];
	size_t n = 0;
	bool ok = file_phdrs(fd, &eh, ph, &n);
	close(fd);
	if (!ok)
		return true;
	const Elf64_Phdr *pp = find_ph(ph, n, PT_PHDR), *dyn = find_ph(ph, n, PT_DYNAMIC);
	uint64_t bias;
	if (pp && t->at_phdr)
		bias = t->at_phdr - pp->p_vaddr;
	else if (t->at_entry)
		bias = t->at_entry - eh.e_entry;
	else
		return true;
	if (eh.e_type == ET_EXEC && bias) /* a fixed-address program is where it says */
		return true;
	size_t fi = add_file(x, exe);
	if (fi == SIZE_MAX)
		return false;
	x->c->exe_file = (long)fi;
	x->c->files[fi].given = true;
	if (!(x->c->files[fi].path = strdup(exe)) || !add_loads(x, fi, bias, ph, n))
		return false;
	*dynamic = dyn != NULL;
	*rdebug = dyn ? dt_debug(x->c, bias + dyn->p_vaddr, dyn->p_memsz) : 0;
	return true;
}

/* The value of the dynamic symbol `name` in the ELF file fd (its .dynsym), 0 if none. */
static uint64_t dynsym_value(int fd, const char *name)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_shnum > 4096)
		return 0;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh, str;
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * sizeof(sh))) != (ssize_t)sizeof(sh) ||
		    sh.sh_type != SHT_DYNSYM || sh.sh_link >= eh.e_shnum ||
		    pread(fd, &str, sizeof(str), (off_t)(eh.e_shoff + sh.sh_link * sizeof(str))) != (ssize_t)sizeof(str))
			continue;
		size_t len = strlen(name) + 1;
		for (uint64_t k = 1; k < sh.sh_size / sizeof(Elf64_Sym) && k < 100000; k++) {
			Elf64_Sym sym;
			char buf[64];
			if (pread(fd, &sym, sizeof(sym), (off_t)(sh.sh_offset + k * sizeof(sym))) != (ssize_t)sizeof(sym))
				break;
			if (sym.st_name >= str.sh_size || str.sh_size - sym.st_name < len ||
			    pread(fd, buf, len, (off_t)(str.sh_offset + sym.st_name)) != (ssize_t)len)
				continue;
			if (!memcmp(buf, name, len) && sym.st_shndx != SHN_UNDEF)
				return sym.st_value;
		}
	}
	return 0;
}

/* Without DT_DEBUG in the core: the dynamic linker (the executable's PT_INTERP, inside --sysroot) is
 * loaded at AT_BASE, and its `_r_debug` is the list's head. 0 if any of it is unknown. */
static uint64_t interp_rdebug(struct core *c, const char *exe, const char *sysroot)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !c->at_base)
		goto none;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PH];
	size_t n = 0;
	char interp[4096];
	const Elf64_Phdr *ip = file_phdrs(fd, &eh, ph, &n) ? find_ph(ph, n, PT_INTERP) : NULL;
	if (!ip || !ip->p_filesz || ip->p_filesz >= sizeof(interp) ||
	    pread(fd, interp, ip->p_filesz, (off_t)ip->p_offset) != (ssize_t)ip->p_filesz)
		goto none;
	close(fd);
	interp[ip->p_filesz] = 0;
	struct stat st;
	if ((fd = tli_sysroot_open(sysroot, interp, &st, NULL, NULL)) < 0)
		return 0;
	uint64_t v = dynsym_value(fd, "_r_debug");
	close(fd);
	return v ? c->at_base + v : 0;
none:
	if (fd >= 0)
		close(fd);
	return 0;
}

static int fmap_cmp(const void *a, const void *b)
{
	const struct fmap *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct tli_error *tli_elfcore_link_map(struct note_ctx *nc, const struct tli_core_opts *opts)
{
	struct core *c = nc->c;
	if (c->nfmaps || c->nfiles || !opts || !opts->exe)
		return NULL; /* NT_FILE said it; or no executable to start from (the session asks for one) */
	struct lm_ctx x = { .t = nc->t, .c = c, .exe = opts->exe };
	uint64_t rdebug = 0;
	bool dynamic = false;
	size_t nlibs = 0;
	if (!add_exe(&x, opts->exe, &rdebug, &dynamic))
		return &tli_enomem;
	if (dynamic && !rdebug)
		rdebug = interp_rdebug(c, opts->exe, opts->sysroot);
	if (dynamic && !rdebug)
		tli_target_warn(nc->t, "the core has no NT_FILE note, the executable's DT_DEBUG entry is not in "
				"it and the dynamic linker's _r_debug is not found (AT_BASE, PT_INTERP): the libraries "
				"it loaded are unknown (their code is not in core)");
	else if (rdebug && !walk_link_map(&x, rdebug, opts->sysroot, &nlibs))
		return &tli_enomem;
	c->lm_rdebug = rdebug;
	c->lm_libs = nlibs;
	if (c->nfmaps) {
		qsort(c->fmaps, c->nfmaps, sizeof(*c->fmaps), fmap_cmp);
		size_t k = 0; /* overlaps (only a crafted list has them): the earlier entry wins */
		for (size_t i = 0; i < c->nfmaps; i++)
			if (!k || c->fmaps[i].start >= c->fmaps[k - 1].end)
				c->fmaps[k++] = c->fmaps[i];
		c->nfmaps = k;
	}
	return NULL;
}

/* The dynamic section the core holds at l_ld against the file's: every entry's tag equal, its value
 * equal or (a pointer the loader relocated in place) the file's plus l_addr. */
bool tli_elfcore_same_dynamic(struct core *c, struct bfile *f, int fd, size_t *nent)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PH];
	size_t n = 0;
	*nent = 0;
	if (!file_phdrs(fd, &eh, ph, &n))
		return false;
	const Elf64_Phdr *dyn = find_ph(ph, n, PT_DYNAMIC);
	if (!dyn || f->l_ld != f->l_addr + dyn->p_vaddr)
		return false;
	for (uint64_t i = 0; i < dyn->p_filesz / 16 && i < MAX_DYN; i++) {
		uint64_t fe[2], me[2];
		if (pread(fd, fe, sizeof(fe), (off_t)(dyn->p_offset + 16 * i)) != (ssize_t)sizeof(fe) ||
		    tli_elfcore_read_core_only(c, f->l_ld + 16 * i, me, sizeof(me)) != sizeof(me))
			return false;
		if (fe[0] != me[0] || (fe[1] != me[1] && fe[1] + f->l_addr != me[1] && fe[0] != DT_DEBUG))
			return false;
		++*nent;
		if (fe[0] == DT_NULL)
			break;
	}
	return *nent > 1;
}
