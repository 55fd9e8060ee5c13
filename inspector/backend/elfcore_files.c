/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_files.c
 * Which files named by the core's NT_FILE note may back memory: a core is
 * untrusted input, so a file backs the mappings the core leaves out only if it
 * is a regular ELF file whose build-id matches the one the core records for it
 * (in the ELF header page the kernel and gcore keep: elfcore_buildid.c). Names
 * are resolved inside --sysroot, one directory or an image's layers (core/sysroot.h:
 * ".." and symlinks stay inside it, whiteouts hide what is below) and checked before anything is opened, so no FIFO or
 * device is ever opened; a file the core has no build-id for is not even
 * opened. Every other file's mappings read as not in core, with one warning per
 * file. The executable has its own rules (elfcore_exe.c).
 */
#include "elfcore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/sysroot.h"

/* The outcome of a lookup that found no regular file. */
static void not_found(struct bfile *f, int e)
{
	if (e == EINVAL) {
		f->state = BF_REFUSED;
		snprintf(f->why, sizeof(f->why), "is not a regular file");
	} else {
		f->state = BF_ABSENT;
		f->open_err = e;
	}
}

/* f->path = where the lookup went (res), unless the lookup could not say. */
static void set_path(struct bfile *f, char *res)
{
	if (res) {
		free(f->path);
		f->path = res;
	}
}

int tli_elfcore_open_file(struct bfile *f, const char *sysroot)
{
	struct stat st;
	int fd;
	if (f->given) {
		fd = tli_open_regular(f->path);
		if (fd >= 0 && fstat(fd, &st) != 0) {
			int e = errno;
			close(fd);
			errno = e;
			fd = -1;
		}
	} else {
		char *res = NULL;
		fd = tli_sysroot_open(sysroot, f->orig, &st, &res, NULL);
		int e = errno;
		set_path(f, res);
		errno = e;
	}
	if (fd < 0) {
		not_found(f, errno);
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	return fd;
}

/* A library of the dynamic linker's list whose header page the core lacks (qemu-user leaves out
 * code mappings): backs memory if the dynamic section the core holds at its l_ld is the file's. */
static void by_dynamic(struct core *c, struct bfile *f, const char *sysroot)
{
	if (f->state == BF_REFUSED || f->state == BF_ABSENT)
		return; /* elfcore_rdebug.c said why */
	int fd = tli_elfcore_open_file(f, sysroot);
	if (fd < 0)
		return;
	size_t n = 0;
	if (tli_elfcore_same_dynamic(c, f, fd, &n)) {
		snprintf(f->why, sizeof(f->why), "its dynamic section in the core (%zu entries at 0x%" PRIx64 ") is the "
			 "file's; the core holds no build-id of it", n, f->l_ld);
		f->state = BF_OK;
		f->fd = fd;
		return;
	}
	f->state = BF_REFUSED;
	snprintf(f->why, sizeof(f->why), "is not the library the core's dynamic linker loaded (its dynamic section "
		 "differs from the one the core holds at 0x%" PRIx64 ")", f->l_ld);
	close(fd);
}

/* One file other than the executable: BF_OK only with a matching build-id. */
static void check_file(struct core *c, size_t i, const char *sysroot)
{
	struct bfile *f = &c->files[i];
	struct buildids cb = { 0 }, fb = { 0 };
	tli_elfcore_core_buildids(c, i, &cb);
	if (!cb.gnu_len && !cb.go_len && f->linkmap) { /* no NT_FILE, no header page: its dynamic section */
		by_dynamic(c, f, sysroot);
		return;
	}
	if (!cb.gnu_len && !cb.go_len) { /* nothing to compare with: do not even open it */
		struct stat st;
		char *res = NULL;
		int r = tli_sysroot_stat(sysroot, f->orig, &st, &res, NULL);
		int e = errno;
		set_path(f, res);
		if (r < 0) {
			not_found(f, e);
			return;
		}
		f->state = BF_REFUSED;
		f->quiet = true;
		snprintf(f->why, sizeof(f->why), "has no build-id in the core to compare with (the core "
			 "holds no ELF header of it)");
		return;
	}
	int fd = tli_elfcore_open_file(f, sysroot);
	if (fd < 0)
		return;
	char a[2 * MAX_BUILDID + 1], b[2 * MAX_BUILDID + 1];
	const char *kind = "";
	f->state = BF_REFUSED;
	if (f->size < sizeof(Elf64_Ehdr) || !tli_elfcore_file_buildids(fd, &fb)) {
		snprintf(f->why, sizeof(f->why), "is not an ELF file");
	} else {
		switch (tli_elfcore_compare_buildids(&fb, &cb, &kind, a, b)) {
		case BID_MISMATCH:
			snprintf(f->why, sizeof(f->why), "has %s %.160s, the core records %.160s", kind, a, b);
			break;
		case BID_UNKNOWN:
			tli_elfcore_buildid_text(&cb, b, sizeof(b));
			snprintf(f->why, sizeof(f->why), "has no build-id to compare with the core's (%.300s)", b);
			break;
		case BID_MATCH:
			tli_elfcore_buildid_text(&cb, b, sizeof(b));
			snprintf(f->why, sizeof(f->why), "build-id %.300s, as the core records", b);
			f->state = BF_OK;
			f->verified = true;
			f->fd = fd;
			return;
		}
	}
	close(fd);
}

/* Where each file's offset 0 is mapped (its header page, if the core holds it) and its first mapping. */
static void locate_files(struct core *c)
{
	for (size_t i = c->nfmaps; i-- > 0;) { /* downwards: the lowest entry is seen last */
		const struct fmap *fm = &c->fmaps[i];
		struct bfile *f = &c->files[fm->file];
		f->at = fm->start;
		if (fm->ofs == 0) {
			f->hdr = fm->start;
			f->hdr_len = fm->end - fm->start;
		}
	}
}

static void report(struct tli_target *t, struct core *c, const char *sysroot)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		struct bfile *f = &c->files[i];
		const char *p = f->path ? f->path : f->orig;
		char where[2 * PATH_MAX + 64];
		/* a file refused for what it is (not regular, not ELF, another build-id) is news now; one
		 * refused only for want of a build-id to compare is, when a read needs it (elfcore_read.c) */
		if (f->state == BF_REFUSED && !f->quiet && (long)i != c->exe_file) {
			f->warned = true;
			tli_target_warn(t, "%s named in the core (at 0x%" PRIx64 ") %s; not read: its "
					"mappings are not in core", p, f->at, f->why);
		}
		if (!c->verbose)
			continue;
		/* where it came from, when there was a choice: --exe, or which --sysroot layer */
		where[0] = 0;
		if (f->given)
			snprintf(where, sizeof(where), " [--exe %s]", f->path);
		else if (sysroot && *sysroot && f->path && f->state != BF_ABSENT) {
			where[0] = ' ';
			where[1] = '[';
			tli_file_origin(f->path, NULL, sysroot, where + 2, sizeof(where) - 2);
			size_t l = strlen(where);
			snprintf(where + l, sizeof(where) - l, ": %s]", f->path);
		}
		const char *name = where[0] ? f->orig : p; /* the core's name when where says the rest */
		if (f->state == BF_OK)
			fprintf(c->verbose, "tlinspect: core: %s backs memory (%s)%s\n", name, f->why, where);
		else if (f->state == BF_REFUSED)
			fprintf(c->verbose, "tlinspect: core: %s %s: not read%s\n", name, f->why, where);
		else
			fprintf(c->verbose, "tlinspect: core: %s is not readable here (%s)\n", p,
				strerror(f->open_err ? f->open_err : ENOENT));
	}
}

struct tli_error *tli_elfcore_check_files(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
					  const char *name)
{
	locate_files(c);
	struct tli_error *err = tli_elfcore_check_exe(t, c, opts, name);
	if (err)
		return err;
	for (size_t i = 0; i < c->nfiles; i++)
		if ((long)i != c->exe_file)
			check_file(c, i, opts ? opts->sysroot : NULL);
	report(t, c, opts ? opts->sysroot : NULL);
	return NULL;
}
