/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the ELF core parser (inspector/backend/elfcore*.c).
 * Parses the input as a core image from memory, then exercises lookups and
 * reads over whatever it produced. Backing files: --exe is this fuzzer's own
 * binary (so the build-id comparison runs), everything else goes to a
 * sysroot that does not exist; a third run resolves the names in a small
 * private sysroot (an ELF file with this binary's build-id, symlinks that try
 * to climb out, a loop, a FIFO) with -v output. See README.md.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/elfcore.h"
#include "core/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const unsigned char *copy, size_t size, const struct tli_core_opts *o)
{
	struct tli_target *t = NULL;
	struct tli_error *e = tli_core_open_mem(copy, size, "fuzz", o, &t);
	if (e) {
		tli_error_destroy(e);
		return;
	}
	unsigned char buf[64];
	for (size_t i = 0; i < t->nmaps && i < 64; i++) {
		const struct tli_mapping *m = &t->maps[i];
		tli_error_destroy(tli_target_read(t, m->start, buf, 32));
		tli_error_destroy(tli_target_read(t, m->end - 8, buf, 16));
		(void)tli_target_find_mapping(t, m->start);
		(void)tli_target_plausible(t, m->start, m->end - m->start);
	}
	struct tli_read rd[4];
	for (size_t i = 0; i < t->nthreads && i < 16; i++) {
		const struct tli_thread *th = &t->threads[i];
		rd[0] = (struct tli_read){ .addr = th->regs.rip, .buf = buf, .len = 16 };
		rd[1] = (struct tli_read){ .addr = th->regs.rsp, .buf = buf + 16, .len = 16 };
		rd[2] = (struct tli_read){ .addr = th->regs.fs_base, .buf = buf + 32, .len = 16 };
		rd[3] = (struct tli_read){ .addr = th->regs.rbp - 8, .buf = buf + 48, .len = 16 };
		tli_error_destroy(tli_target_read_many(t, rd, 4));
		(void)tli_target_thread(t, th->tid);
	}
	uint64_t v;
	tli_error_destroy(tli_target_read_u64(t, t->at_entry, &v));
	tli_error_destroy(tli_target_read_u64(t, t->at_phdr, &v));
	struct tli_range r = { t->at_phdr, 64 };
	tli_error_destroy(tli_target_capture(t, &r, 1, 0, NULL)); /* no-op on cores */
	tli_target_release(t);
	tli_target_destroy(t);
}

static char root[64];
static const char *const sysroot_names[] = { "/lib/abs", "/lib/up", "/lib/loop", "/lib/fifo", "/fifo",
					     "/bin/exe", "/lib", "/bin", "" };

static void remove_sysroot(void)
{
	char p[128];
	for (size_t i = 0; i < sizeof(sysroot_names) / sizeof(sysroot_names[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", root, sysroot_names[i]);
		if (unlink(p))
			rmdir(p);
	}
}

/* The private sysroot (created once, removed at exit): bin/exe is the first 64 KiB of this
 * binary (its headers and build-id note), lib/ * lead to it or try to climb out, fifo is a FIFO. */
static const char *fuzz_sysroot(void)
{
	if (root[0])
		return root;
	snprintf(root, sizeof(root), "/tmp/tli-fuzz-sysroot.%d", (int)getpid());
	char p[128], buf[1 << 16];
	const char *dirs[] = { "", "/bin", "/lib" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		mkdir(p, 0700);
	}
	int in = open("/proc/self/exe", O_RDONLY), out;
	snprintf(p, sizeof(p), "%s/bin/exe", root);
	ssize_t n = in >= 0 ? read(in, buf, sizeof(buf)) : -1;
	if (n > 0 && (out = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
		if (write(out, buf, (size_t)n) != n)
			unlink(p);
		close(out);
	}
	if (in >= 0)
		close(in);
	const char *links[][2] = { { "/lib/abs", "/bin/exe" }, { "/lib/up", "../../../../bin/exe" },
				   { "/lib/loop", "loop" }, { "/lib/fifo", "/fifo" } };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", root, links[i][0]);
		symlink(links[i][1], p);
	}
	snprintf(p, sizeof(p), "%s/fifo", root);
	mkfifo(p, 0600);
	atexit(remove_sysroot);
	return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy: the parser must not depend on bytes past `size` */
	unsigned char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	/* with --exe (build-id comparison against this binary; usually a mismatch) */
	struct tli_core_opts with_exe = { .exe = "/proc/self/exe", .sysroot = "/nonexistent-fuzz-sysroot" };
	one(copy, size, &with_exe);
	/* without: the target opens and every read path runs */
	struct tli_core_opts plain = { .sysroot = "/nonexistent-fuzz-sysroot" };
	one(copy, size, &plain);
	/* names resolved in a sysroot that holds something, -v printed */
	static FILE *devnull;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	struct tli_core_opts files = { .sysroot = fuzz_sysroot(), .verbose = devnull };
	one(copy, size, &files);
	free(copy);
	return 0;
}
