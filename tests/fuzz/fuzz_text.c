/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for tlinspect's text parsers (see README.md), one binary per
 * parser, chosen at compile time with -DFUZZ_WHAT=n:
 *   1  layout cache files     tli_layout_load_answers (then saved again)
 *   2  runtime map files      tli_map_parse (then every lookup kind once)
 *   3  gdb's process context  tli_gdb_process_parse, then tli_pages_open on an empty
 *                             page directory: `info inferiors`, `info target`, `info
 *                             auxv`, `info proc mappings` and register dumps, as piped
 *                             by the gdb face
 * An input may be anything: the parser must refuse it cleanly or accept it, never
 * crash, hang or read out of bounds (ASan/UBSan abort on any of those).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/pages.h"
#include "cli/gdbhint.h"
#include "core/layout.h"
#include "core/target.h"
#include "runtime_maps/maps.h"

#ifndef FUZZ_WHAT
#define FUZZ_WHAT 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tli_error *err;
#if FUZZ_WHAT == 1
	struct tli_layout *l;
	if (tli_layout_create(&l))
		return 0;
	/* the stamp line is the first line of the input, so both refusals and loads are reached */
	const char *nl = memchr(data, '\n', size);
	char stamp[128] = "stamp";
	if (nl && (size_t)(nl - (const char *)data) < sizeof(stamp)) {
		const char *s2 = memchr(nl + 1, '\n', size - (size_t)(nl + 1 - (const char *)data));
		if (s2 && (size_t)(s2 - nl - 1) < sizeof(stamp)) {
			memcpy(stamp, nl + 1, (size_t)(s2 - nl - 1));
			stamp[s2 - nl - 1] = 0;
		}
	}
	err = tli_layout_load_answers(l, stamp, (const char *)data, size);
	tli_error_destroy(err);
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		tli_error_destroy(tli_layout_save_answers(l, "x", f));
		fclose(f);
	}
	struct tli_member m;
	(void)tli_layout_has_member(l, "runtime.g", "goid", &m);
	tli_layout_destroy(l);
#elif FUZZ_WHAT == 2
	struct tli_map *m = NULL;
	err = tli_map_parse((const char *)data, size, "fuzz.map", &m);
	if (!err && m) {
		struct tli_member mem;
		uint64_t sz;
		int64_t c;
		size_t n;
		const char *const *strs;
		tli_error_destroy(tli_map_member(m, "runtime.g", "goid", &mem));
		tli_error_destroy(tli_map_type_size(m, "runtime.g", &sz));
		tli_error_destroy(tli_map_constant(m, "runtime._Gwaiting", &c));
		tli_error_destroy(tli_map_strings(m, "runtime.waitReasonStrings", &n, &strs));
		for (size_t i = 0; i < tli_map_nmembers(m) && i < 64; i++) {
			const char *t, *p;
			tli_map_member_at(m, i, &t, &p, &mem);
		}
		tli_map_free(m);
	}
	tli_error_destroy(err);
#else
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/tli-fuzz-pages.%d", (int)getpid());
		if (mkdir(dir, 0700) && errno != EEXIST)
			abort();
	}
	struct tli_pages_process proc;
	err = tli_gdb_process_parse((const char *)data, size, &proc);
	if (err) {
		tli_error_destroy(err);
		return 0;
	}
	struct tli_pages_opts o = { .dir = dir, .process = &proc, .exe = "/proc/self/exe" };
	struct tli_target *t = NULL;
	err = tli_pages_open(&o, &t);
	tli_pages_process_free(&proc);
	if (!err && t) {
		uint8_t b[64];
		tli_error_destroy(tli_target_read(t, 0x400000, b, sizeof(b)));
		tli_target_destroy(t);
	}
	tli_error_destroy(err);
#endif
	return 0;
}
