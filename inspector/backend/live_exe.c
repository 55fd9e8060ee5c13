/* SPDX-License-Identifier: MIT */
/**
 * @file live_exe.c
 * `--exe FILE` on a live process: the file must be the executable the process runs. The
 * kernel keeps that file open for us as /proc/PID/exe (even when it was deleted or replaced
 * on disk), so the two are compared as a core is compared with its executable: by build-id
 * (GNU, then Go's), and by machine, so that a foreign-architecture file is named as such
 * instead of being decoded into garbage reads.
 */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcore_int.h"

const char *tli_elf_machine_name(unsigned m)
{
	return tli_arch_machine_name(m);
}

/* e_machine of an ELF file (any class), or -1 when fd is not ELF. */
static int elf_machine(int fd)
{
	unsigned char h[20];
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG))
		return -1;
	return h[EI_DATA] == ELFDATA2MSB ? (h[18] << 8) | h[19] : h[18] | (h[19] << 8);
}

/* a live target runs on this machine */
static const struct tli_arch *live_arch(const struct tli_target *t)
{
	static const struct tli_arch none = { .name = "unknown" };
	return t->arch ? t->arch : tli_arch_host() ? tli_arch_host() : &none;
}

static struct tli_error *foreign(const struct tli_target *t, const char *exe, int m)
{
	const char *name = tli_elf_machine_name((unsigned)m);
	char num[32];
	snprintf(num, sizeof(num), "machine %d", m);
	return tli_error_create(TLI_E_MISMATCH, "--exe %s is an executable for %s; this process runs an %s "
				"executable", exe, name ? name : num, live_arch(t)->name);
}

struct tli_error *tli_live_check_exe(const struct tli_target *t, const char *exe)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tli_error_create(errno == EACCES ? TLI_E_PERM : TLI_E_NO_TARGET, "--exe %s: %s", exe,
					strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return tli_error_create(TLI_E_USAGE, "--exe %s is not a regular file", exe);
	}
	int m = elf_machine(fd);
	if (m < 0) {
		close(fd);
		return tli_error_create(TLI_E_BAD_FORMAT, "--exe %s is not an ELF file", exe);
	}
	if (m != live_arch(t)->elf_machine) {
		close(fd);
		return foreign(t, exe, m);
	}
	struct buildids fb = { 0 }, pb = { 0 };
	tli_elfcore_file_buildids(fd, &fb);
	close(fd);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	int pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return NULL; /* nothing to compare with (a kernel thread, or no permission): trust --exe */
	tli_elfcore_file_buildids(pfd, &pb);
	close(pfd);
	const char *kind = "";
	char a[2 * MAX_BUILDID + 1] = "", b[2 * MAX_BUILDID + 1] = "";
	enum bid_cmp r = tli_elfcore_compare_buildids(&fb, &pb, &kind, a, b);
	if (r == BID_MISMATCH)
		return tli_error_create(TLI_E_MISMATCH, "executable %s (%s %s) is not the one process %d runs "
					"(%s %s)", exe, kind, a, t->pid, kind, b);
	/* both carry build-ids, of no common kind: a C program's GNU one against a Go program's */
	if (r == BID_UNKNOWN && (fb.gnu_len || fb.go_len) && (pb.gnu_len || pb.go_len))
		return tli_error_create(TLI_E_MISMATCH, "executable %s is not the one process %d runs (their "
					"build-ids are of different kinds)", exe, t->pid);
	return NULL;
}
