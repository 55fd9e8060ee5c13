/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_exe.c
 * The executable of an ELF core target: the NT_FILE entry holding AT_ENTRY (or
 * --exe), checked against the core by build-id (GNU NT_GNU_BUILD_ID and Go's
 * "Go" note) as read from the file and from the core's own memory.
 */
#include "elfcore_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#define NT_GO_BUILDID 4 /* cmd/internal/buildid: the "Go" note's type */

#define MAX_BUILDID 256

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
	if (tli_elfcore_read_core_only(c, base, &eh, sizeof(eh)) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize < sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
		return;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t pa;
		if (!exe_off_to_addr(c, eh.e_phoff + (uint64_t)i * eh.e_phentsize, &pa) ||
		    tli_elfcore_read_core_only(c, pa, &ph, sizeof(ph)) != sizeof(ph))
			return;
		if (ph.p_type != PT_NOTE || !ph.p_filesz || ph.p_filesz > (1u << 20))
			continue;
		uint64_t na;
		if (!exe_off_to_addr(c, ph.p_offset, &na))
			continue;
		unsigned char *n = malloc(ph.p_filesz);
		if (!n)
			return;
		if (tli_elfcore_read_core_only(c, na, n, ph.p_filesz) == ph.p_filesz)
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

/* The executable's build-ids (file on disk) against the ones in the core's memory: an
 * error if they differ, a warning if nothing could be compared. */
static struct tli_error *compare_buildids(struct tli_target *t, struct core *c, int fd, const char *path,
					  const char *name)
{
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
						path, a, name, b);
		}
	}
	if (fb.go_len && cb.go_len) {
		compared = true;
		if (fb.go_len != cb.go_len || memcmp(fb.go, cb.go, fb.go_len)) {
			snprintf(a, sizeof(a), "%.*s", (int)fb.go_len, (const char *)fb.go);
			snprintf(b, sizeof(b), "%.*s", (int)cb.go_len, (const char *)cb.go);
			return tli_error_create(TLI_E_MISMATCH,
						"executable %s (Go build-id %s) does not match the core %s "
						"(Go build-id %s)", path, a, name, b);
		}
	}
	if (!compared)
		tli_target_warn(t, "could not verify that --exe %s matches %s (no comparable build-id "
				"in both the file and the core's memory)", path, name);
	return NULL;
}

struct tli_error *tli_elfcore_check_exe(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
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
	int fd = tli_elfcore_bfile_fd(f);
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

	return compare_buildids(t, c, fd, f->path, name);
}
