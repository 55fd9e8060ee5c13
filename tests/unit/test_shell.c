/* SPDX-License-Identifier: MIT */
/* The shell's completion generator, word splitter and the gdb hint parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "cli/gdbhint.h"
#include "shell/shell.h"

static bool has(char **m, const char *s)
{
	for (; m && *m; m++)
		if (!strcmp(*m, s))
			return true;
	return false;
}

static size_t count(char **m)
{
	size_t n = 0;
	while (m && m[n])
		n++;
	return n;
}

/* First word: exactly the visible commands of the table with that prefix, plus builtins. */
static void test_complete_commands(void **state)
{
	(void)state;
	char **m = tli_shell_complete(NULL, "", 0, "", 100);
	size_t want = 0;
	for (const struct tli_command *c = tli_commands; c->name; c++) {
		if (c->hidden || !strcmp(c->name, "shell"))
			continue;
		want++;
		if (!has(m, c->name))
			fail_msg("completion lacks command %s", c->name);
	}
	for (size_t i = 0; tli_shell_builtins[i]; i++, want++)
		assert_true(has(m, tli_shell_builtins[i]));
	assert_int_equal(count(m), want);
	assert_false(has(m, "shell"));
	tli_shell_free_matches(m);

	m = tli_shell_complete(NULL, "  gor", 2, "gor", 100);
	assert_true(has(m, "goroutines") && has(m, "goroutine"));
	for (char **p = m; *p; p++)
		assert_memory_equal(*p, "gor", 3);
	tli_shell_free_matches(m);
	assert_null(tli_shell_complete(NULL, "zz", 0, "zz", 100));
}

static void test_complete_ids(void **state)
{
	(void)state;
	int64_t ids[] = { 1, 2, 18, 180, 181, 27, 1000 };
	struct tli_shell_names n = { .ids = ids, .nids = 7 };
	char **m = tli_shell_complete(&n, "goroutine 18", 10, "18", 100);
	assert_int_equal(count(m), 3);
	assert_true(has(m, "18") && has(m, "180") && has(m, "181"));
	tli_shell_free_matches(m);
	m = tli_shell_complete(&n, "explain g 1", 10, "1", 100);
	assert_int_equal(count(m), 5);
	tli_shell_free_matches(m);
	/* the limit is honoured */
	m = tli_shell_complete(&n, "goroutine ", 10, "", 2);
	assert_int_equal(count(m), 2);
	tli_shell_free_matches(m);
	/* ids are not offered where they make no sense */
	assert_null(tli_shell_complete(&n, "heap 1", 5, "1", 100));
}

static void test_complete_options(void **state)
{
	(void)state;
	const struct tli_command *c = tli_command_find("goroutines");
	assert_non_null(c);
	char **m = tli_shell_complete(NULL, "goroutines --", 11, "--", 100);
	for (const struct tli_option *o = c->options; o && o->name; o++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "--%s", o->name);
		assert_true(o->hidden || has(m, buf));
	}
	assert_true(has(m, "--json"));
	assert_false(has(m, "--pid")); /* the target is fixed in the shell */
	tli_shell_free_matches(m);
}

static void test_split(void **state)
{
	(void)state;
	char **w;
	int n;
	assert_null(tli_shell_split("  dis  'main.(*T).m'  5 ", &w, &n));
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "dis");
	assert_string_equal(w[1], "main.(*T).m");
	assert_string_equal(w[2], "5");
	assert_null(w[3]);
	for (int i = 0; i < n; i++)
		free(w[i]);
	free(w);
	struct tli_error *e = tli_shell_split("x 'abc", &w, &n);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_USAGE);
	tli_error_destroy(e);
}

/* Hint texts as gdb 13.1 printed them (tests/integration/faces/gdb.sh runs the real thing). */
static void test_gdb_hint(void **state)
{
	(void)state;
	const char *live = "  Num  Description       Connection           Executable        \n"
			   "* 1    process 18153     1 (native)           /w/out/go1.22/goroutines \n"
			   "Symbols from \"/w/out/go1.22/goroutines\".\nNative process:\n";
	struct tli_gdb_hint h;
	assert_null(tli_gdb_hint_parse(live, strlen(live), &h));
	assert_int_equal(h.pid, 18153);
	assert_null(h.core);
	tli_gdb_hint_free(&h);

	const char *core = "  Num  Description       Connection           Executable        \n"
			   "* 1    process 18153     1 (core)             /w/my exe \n"
			   "Local core dump file:\n\t`/tmp/faces/core.18153', file type elf64-x86-64.\n"
			   "\t0x0000000000400000 - 0x00000000004da000 is load1\n";
	assert_null(tli_gdb_hint_parse(core, strlen(core), &h));
	assert_int_equal(h.pid, 0);
	assert_string_equal(h.core, "/tmp/faces/core.18153");
	assert_string_equal(h.exe, "/w/my exe");
	tli_gdb_hint_free(&h);

	/* two inferiors: the current one (starred) wins */
	const char *two = "  Num  Description       Connection           Executable        \n"
			  "  1    process 100       1 (native)           /a \n"
			  "* 2    process 200       1 (native)           /b \n";
	assert_null(tli_gdb_hint_parse(two, strlen(two), &h));
	assert_int_equal(h.pid, 200);
	tli_gdb_hint_free(&h);

	const char *none = "  Num  Description       Connection           Executable        \n"
			   "* 1    <null>                                 /w/prog \n";
	struct tli_error *e = tli_gdb_hint_parse(none, strlen(none), &h);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_NO_TARGET);
	tli_error_destroy(e);
	const char *remote = "* 1    process 7  1 (remote localhost:1234)  /w/prog\n";
	e = tli_gdb_hint_parse(remote, strlen(remote), &h);
	assert_non_null(e);
	assert_int_equal(e->code, TLI_E_UNSUPPORTED);
	tli_error_destroy(e);
	/* garbage: no crash, an error */
	char junk[300];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	e = tli_gdb_hint_parse(junk, sizeof(junk), &h);
	assert_non_null(e);
	tli_error_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_commands), cmocka_unit_test(test_complete_ids),
		cmocka_unit_test(test_complete_options), cmocka_unit_test(test_split),
		cmocka_unit_test(test_gdb_hint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
