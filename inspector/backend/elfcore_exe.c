/* SPDX-License-Identifier: MIT */
/**
 * @file elfcore_exe.c
 * The executable of an ELF core target: the NT_FILE entry holding AT_ENTRY (or
 * --exe), checked against the core by build-id (elfcore_buildid.c) as read from
 * the file and from the core's own memory. A mismatch is an error; an
 * executable nothing can verify is used with a warning; a file that is not an
 * ELF file never backs memory.
 */
#include "elfcore_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The executable the core names is not usable here: a warning, no exe_path. */
static void unusable(struct tli_target *t, const struct bfile *f)
{
	if (f->state == BF_REFUSED)
		tli_target_warn(t, "executable %s named in the core %s; use --exe", f->path ? f->path : f->orig,
				f->why);
	else
		tli_target_warn(t, "executable %s named in the core is not readable here (%s); "
				"use --exe or --sysroot", f->path ? f->path : f->orig, strerror(f->open_err));
}

/* The executable's build-ids (file on disk) against the ones in the core's memory: an
 * error if they differ, a warning if nothing could be compared. */
static struct tli_error *compare_buildids(struct tli_target *t, struct core *c, struct bfile *f,
					  const struct buildids *fb, const char *name)
{
	struct buildids cb = { 0 };
	tli_elfcore_core_buildids(c, (size_t)c->exe_file, &cb);
	char a[2 * MAX_BUILDID + 1], b[2 * MAX_BUILDID + 1];
	const char *kind = "";
	switch (tli_elfcore_compare_buildids(fb, &cb, &kind, a, b)) {
	case BID_MISMATCH:
		return tli_error_create(TLI_E_MISMATCH, "executable %s (%s %s) does not match the core %s (%s %s)",
					f->path, kind, a, name, kind, b);
	case BID_MATCH:
		f->verified = true;
		tli_elfcore_buildid_text(&cb, a, sizeof(a));
		snprintf(f->why, sizeof(f->why), "build-id %.300s, as the core records", a);
		break;
	case BID_UNKNOWN:
		snprintf(f->why, sizeof(f->why), "the executable, not verified (no build-id to compare)");
		tli_target_warn(t, "could not verify that --exe %s matches %s (no comparable build-id "
				"in both the file and the core's memory)", f->path, name);
		break;
	}
	f->state = BF_OK;
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
	int fd = tli_elfcore_open_file(f, opts ? opts->sysroot : NULL);
	if (fd < 0) {
		if (given)
			return tli_error_errno(TLI_E_NO_TARGET, f->state == BF_REFUSED ? EINVAL : f->open_err,
					       "cannot open executable %s", given);
		unusable(t, f);
		return NULL;
	}
	struct buildids fb = { 0 };
	if (!tli_elfcore_file_buildids(fd, &fb)) {
		/* never backs memory; --exe stays the executable (the session says what it is) */
		close(fd);
		f->state = BF_REFUSED;
		snprintf(f->why, sizeof(f->why), "is not an ELF file");
		if (!given) {
			unusable(t, f);
			return NULL;
		}
	} else {
		f->fd = fd;
	}
	t->exe_path = strdup(f->path);
	if (!t->exe_path)
		return &tli_enomem;
	return f->state == BF_REFUSED ? NULL : compare_buildids(t, c, f, &fb, name);
}
