/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the ELF core parser (inspector/backend/elfcore*.c).
 * Parses the input as a core image from memory, then exercises lookups and
 * reads over whatever it produced. Backing files: --exe is this fuzzer's own
 * binary (so the build-id comparison runs), everything else goes to a
 * sysroot that does not exist. See README.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	free(copy);
	return 0;
}
