/* SPDX-License-Identifier: MIT */
/*
 * MiniDebugInfo (.gnu_debugdata): a stripped shared library carrying an xz-compressed ELF
 * whose .symtab has the local functions .dynsym lacks, made with binutils and xz the way
 * distributions make it (gdb manual, "MiniDebugInfo"). tli_elfsym_open must give those
 * symbols at the addresses nm gives for the unstripped library; a garbage .gnu_debugdata
 * must cost only those symbols.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <elf.h>

#include "dwarf/elfsym.h"

static char dir[] = "/tmp/tli_minidebug_XXXXXX";

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* nm's address of `sym` in the unstripped library */
static uint64_t nm_addr(const char *sym)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "nm --defined-only %s/lib.so | awk '$3 == \"%s\" {print $1}'", dir, sym);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	unsigned long long v = 0;
	assert_int_equal(fscanf(f, "%llx", &v), 1);
	pclose(f);
	return v;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	FILE *f;
	char p[300];
	snprintf(p, sizeof(p), "%s/lib.c", dir);
	if (!(f = fopen(p, "w")))
		return -1;
	fputs("__attribute__((noinline)) static int mdi_local(int x) { return x * 7 + 3; }\n"
	      "__attribute__((noinline)) static int mdi_local2(int x) { return mdi_local(x) ^ 5; }\n"
	      "int mdi_exported(int x) { return mdi_local2(x) + 1; }\n",
	      f);
	fclose(f);
	/* the distributions' recipe: keep in the mini file only the functions .dynsym lacks */
	run("cd %s && gcc -O2 -g -shared -fPIC -o lib.so lib.c && "
	    "nm -D lib.so --format=posix --defined-only | awk '{print $1}' | sort > dynsyms && "
	    "nm lib.so --format=posix --defined-only | awk '$2 == \"T\" || $2 == \"t\" {print $1}' | sort > funcsyms && "
	    "comm -13 dynsyms funcsyms > keep && "
	    "objcopy --only-keep-debug lib.so mini && "
	    "objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep mini mini2 && "
	    "xz -c mini2 > mini.xz && "
	    "strip --strip-all -R .comment lib.so -o plain.so && "
	    "objcopy --add-section .gnu_debugdata=mini.xz plain.so mdi.so && "
	    "head -c 4096 /dev/urandom > junk && objcopy --add-section .gnu_debugdata=junk plain.so junk.so",
	    dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

static void test_minidebuginfo(void **state)
{
	(void)state;
	char p[300];
	struct tli_elfsym *s;
	struct tli_sym sym;
	snprintf(p, sizeof(p), "%s/mdi.so", dir);
	assert_null(tli_elfsym_open(p, &s));
	assert_string_equal(tli_elfsym_table(s), ".dynsym+.gnu_debugdata");
	const char *names[] = { "mdi_local", "mdi_local2", "mdi_exported" };
	for (size_t i = 0; i < 3; i++) {
		assert_null(tli_elfsym_lookup(s, names[i], &sym));
		assert_int_equal(sym.value, nm_addr(names[i]));
		assert_int_equal(sym.type, STT_FUNC);
		/* by address, inside the function */
		struct tli_sym at;
		uint64_t off;
		assert_null(tli_elfsym_lookup_addr(s, sym.value + 1, &at, &off));
		assert_string_equal(at.name, names[i]);
		assert_int_equal(off, 1);
	}
	tli_elfsym_close(s);
}

static void test_without_or_garbage(void **state)
{
	(void)state;
	char p[300];
	struct tli_elfsym *s;
	struct tli_sym sym;
	const char *files[] = { "plain.so", "junk.so" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		assert_null(tli_elfsym_open(p, &s));
		assert_string_equal(tli_elfsym_table(s), ".dynsym");
		assert_null(tli_elfsym_lookup(s, "mdi_exported", &sym));
		assert_int_equal(sym.value, nm_addr("mdi_exported"));
		struct tli_error *e = tli_elfsym_lookup(s, "mdi_local", &sym);
		assert_non_null(e);
		tli_error_destroy(e);
		tli_elfsym_close(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_without_or_garbage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
