/* SPDX-License-Identifier: MIT */
/* tlinspect: parse the command line, run one command, exit with its status. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "backend/live.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) /* ASan brings its own malloc */
/*
 * Out of memory ends the run at once. Every allocation of the process - ours, libdw's,
 * libelf's, jansson's, capstone's, libc's own - goes through the functions below (ELF
 * symbol interposition, glibc's manual "Replacing malloc"; the memory is still glibc
 * malloc's, through its exported __libc_* entry points, so free() stays libc's). When one
 * fails, the stopped target is released, one line is printed (and the error document with
 * --json) and tlinspect exits 13 (docs/exit-codes.md), without returning NULL to the caller:
 *   - libdw does not survive a failed allocation (elfutils 0.188: an assertion in
 *     dynamicsizehash_concurrent.c resize_coordinator, a NULL dereference under
 *     dwarf_child, "Unexpected error." aborts, __libdw_oom exiting 1), seen by
 *     tests/stress/nomem.sh while libc's or the executable's DWARF was indexed;
 *   - many of our steps degrade instead of failing (an item skipped, a set not grown),
 *     right for damaged target data, wrong for memory: the answer would be smaller.
 * A request larger than the machine's memory and swap is no memory pressure but a size
 * read from damaged data: NULL is returned and the caller degrades as it always did.
 */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static uint64_t machine_bytes = UINT64_MAX; /* RAM + swap (sysinfo), set in main */
static bool json_errors;                    /* --json: the error document on stdout too */

static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		b[at++] = *s++;
	return at;
}

static size_t put_u64(char *b, size_t at, size_t cap, uint64_t v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 24);
	while (n && at + 1 < cap)
		b[at++] = d[--n];
	return at;
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0)
			b += w, n -= (size_t)w;
	}
}

/* no allocation from here on: raw syscalls, stack buffers */
static _Noreturn void out_of_memory(size_t n)
{
	tli_oom_note();
	tli_live_release_all();
	char msg[96], b[512];
	size_t m = put_u64(msg, put_str(msg, 0, sizeof(msg), "out of memory (allocating "), sizeof(msg), n);
	m = put_str(msg, m, sizeof(msg), " bytes)");
	msg[m] = 0;
	size_t k = put_str(b, 0, sizeof(b), "tlinspect: error: ");
	k = put_str(b, put_str(b, k, sizeof(b), msg), sizeof(b), "\n");
	write_all(2, b, k);
	if (json_errors) { /* as tli_cli_error_json prints it */
		k = put_str(b, 0, sizeof(b), "{\n  \"schema\": \"" TLI_SCHEMA "\",\n  \"error\": {\n    \"code\": 13,\n"
				     "    \"kind\": \"nomem\",\n    \"message\": \"");
		k = put_str(b, put_str(b, k, sizeof(b), msg), sizeof(b), "\"\n  }\n}\n");
		write_all(1, b, k);
	}
	_exit(TLI_E_NOMEM);
}

static void *check(void *p, size_t n)
{
	if (!p && n && n <= machine_bytes)
		out_of_memory(n);
	return p;
}

void *malloc(size_t n)
{
	return check(__libc_malloc(n), n);
}

void *calloc(size_t n, size_t size)
{
	size_t total = size && n > SIZE_MAX / size ? SIZE_MAX : n * size;
	return check(__libc_calloc(n, size), total);
}

void *realloc(void *old, size_t n)
{
	return check(__libc_realloc(old, n), n);
}

void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * size);
}

void *memalign(size_t align, size_t n)
{
	return check(__libc_memalign(align, n), n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = memalign(align, n);
	if (!p && n)
		return ENOMEM;
	*ret = p;
	return 0;
}

static void watch_memory(bool json)
{
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		machine_bytes = ((uint64_t)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
	json_errors = json;
}
#else
static void watch_memory(bool json)
{
	(void)json;
}
#endif

int main(int argc, char **argv)
{
	/* Large output buffer: a 100k-goroutine listing is tens of MB of text. */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	struct tli_cli_opts o;
	struct tli_error *err = tli_cli_parse(argc, argv, &o);
	if (err) {
		int code = err->code;
		fprintf(stderr, "tlinspect: error: %s\n", err->msg);
		if (o.json)
			tli_cli_error_json(stdout, err);
		tli_error_destroy(err);
		tli_cli_opts_free(&o);
		fflush(stdout);
		return code;
	}
	watch_memory(o.json);
	/* progress on stderr for runs longer than a second: on a terminal, or as plain lines when
	 * TLINSPECT_PROGRESS=1; TLINSPECT_PROGRESS=0 silences it */
	const char *pe = getenv("TLINSPECT_PROGRESS");
	bool tty = isatty(STDERR_FILENO);
	if (pe && !strcmp(pe, "1"))
		tli_progress_enable(stderr, false);
	else if (tty && !(pe && !strcmp(pe, "0")))
		tli_progress_enable(stderr, true);
	o.exiting = true;
	int rc = tli_cli_run(&o, stdout, stderr);
	tli_cli_opts_free(&o);
	if (fflush(stdout) != 0 && rc == 0)
		rc = TLI_E_INTERNAL;
	return rc;
}
