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

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
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

/* File offset of the ELF entry point of fd (through its PT_LOADs); false if unknown. */
static bool file_entry_offset(int fd, uint64_t *entry, uint64_t *off, bool *is_exec)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return false;
	*entry = eh.e_entry;
	*is_exec = eh.e_type == ET_EXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
			return false;
		if (ph.p_type == PT_LOAD && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_filesz) {
			*off = eh.e_entry - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/*
 * --exe when no build-id could be compared: still a different file if the core's image of
 * the executable carries a kind of build-id the file has not (a C program's GNU build-id
 * against a Go program's Go build-id), or if the entry point the core's process started at
 * (AT_ENTRY) lies at another offset of the file NT_FILE names than the file's own entry point.
 * One message for every face, naming what matched and what did not and the next step.
 */
static struct tli_error *given_exe_mismatch(struct tli_target *t, struct core *c, struct bfile *f,
					    const struct buildids *fb, const struct buildids *cb, const char *name)
{
	char cbid[2 * MAX_BUILDID + 8] = "", fbid[2 * MAX_BUILDID + 8] = "", why[700] = "", same[200] = "";
	tli_elfcore_buildid_text(cb, cbid, sizeof(cbid));
	tli_elfcore_buildid_text(fb, fbid, sizeof(fbid));
	if ((cb->gnu_len && !fb->gnu_len) || (cb->go_len && !fb->go_len))
		snprintf(why, sizeof(why), "the core records %s %s for it, %s has %s%s",
			 cb->gnu_len ? "build-id" : "Go build-id", cb->gnu_len ? cbid : cbid + 3, f->path,
			 cb->gnu_len ? "no build-id" : "no Go build-id", fbid[0] ? " (" : "");
	if (why[0] && fbid[0])
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s %s)",
			 fb->gnu_len ? "build-id" : "Go build-id", fb->gnu_len ? fbid : fbid + 3 /* "Go " */);
	uint64_t entry = 0, eoff = 0;
	bool is_exec = false;
	const struct fmap *fm = t->at_entry ? tli_elfcore_find_fmap(c, t->at_entry, NULL) : NULL;
	if (fm && f->fd >= 0 && file_entry_offset(f->fd, &entry, &eoff, &is_exec)) {
		uint64_t coff = t->at_entry - fm->start + fm->ofs;
		bool bad = coff != eoff || (is_exec && t->at_entry != entry);
		size_t k = strlen(why);
		if (bad)
			snprintf(why + k, sizeof(why) - k, "%sthe process started at AT_ENTRY 0x%llx, offset 0x%llx of "
				 "its executable, %s's entry point is at offset 0x%llx", k ? "; " : "",
				 (unsigned long long)t->at_entry, (unsigned long long)coff, f->path,
				 (unsigned long long)eoff);
		else
			snprintf(same, sizeof(same), " (the entry point agrees: offset 0x%llx)", (unsigned long long)eoff);
	}
	if (!why[0])
		return NULL;
	return tli_error_create(TLI_E_MISMATCH, "executable %s does not match the core %s: the core's executable "
				"is %s; %s%s. Pass the program the core was made from as --exe (or leave --exe out to "
				"use %s)", f->path, name, f->orig, why, same, f->orig);
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
		return tli_error_create(TLI_E_MISMATCH, "executable %s (%s %s) does not match the core %s (%s %s): "
					"the core's executable is %s. Pass the program the core was made from as "
					"--exe (or leave --exe out to use %s)", f->path, kind, a, name, kind, b,
					f->orig, f->orig);
	case BID_MATCH:
		f->verified = true;
		tli_elfcore_buildid_text(&cb, a, sizeof(a));
		snprintf(f->why, sizeof(f->why), "build-id %.300s, as the core records", a);
		break;
	case BID_UNKNOWN:
		if (f->given) {
			struct tli_error *err = given_exe_mismatch(t, c, f, fb, &cb, name);
			if (err)
				return err;
		}
		snprintf(f->why, sizeof(f->why), "the executable, not verified (no build-id to compare)");
		tli_target_warn(t, "could not verify that --exe %s matches %s (no comparable build-id "
				"in both the file and the core's memory)", f->path, name);
		break;
	}
	f->state = BF_OK;
	return NULL;
}

/* --exe must be for the core's machine: another architecture is named, never decoded into garbage
 * (a file that is not ELF is left to the build-id checks and the session). */
static struct tli_error *given_exe_arch(const struct tli_target *t, const char *given, const char *name)
{
	int fd = open(given, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL; /* the checks below say why it cannot be opened */
	unsigned char h[64];
	ssize_t n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n < 20 || memcmp(h, ELFMAG, SELFMAG))
		return NULL;
	char what[600];
	snprintf(what, sizeof(what), "--exe %s", given);
	const struct tli_arch *a;
	struct tli_error *err = tli_arch_of_elf(h, (size_t)n, what, &a);
	if (err)
		return err;
	if (a != t->arch)
		return tli_error_create(TLI_E_MISMATCH, "--exe %s is an executable for %s, but the core %s is "
					"from an %s process", given, a->name, name, t->arch->name);
	return NULL;
}

struct tli_error *tli_elfcore_check_exe(struct tli_target *t, struct core *c, const struct tli_core_opts *opts,
					 const char *name)
{
	const char *given = opts ? opts->exe : NULL;
	struct tli_error *aerr = given ? given_exe_arch(t, given, name) : NULL;
	if (aerr)
		return aerr;
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
