/* SPDX-License-Identifier: MIT */
/*
 * The command line (inspector/cli): option parsing and its usage errors, the
 * exit codes of commands that need no target, and the documentation checked
 * against the command table and enum tli_errcode: docs/tlinspect.1 must
 * describe every command and option, docs/exit-codes.md must list exactly the
 * codes tli_errcode_name() knows, and the bash completion every command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

#define MAXARGS 32

/* Parse a space-separated command line (argv[0] = "tlinspect"). */
static struct tli_error *parse(const char *line, struct tli_cli_opts *o)
{
	static char storage[1024];
	static char *argv[MAXARGS];
	snprintf(storage, sizeof(storage), "tlinspect %s", line);
	int argc = 0;
	char *save = NULL;
	for (char *t = strtok_r(storage, " ", &save); t && argc < MAXARGS - 1; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	return tli_cli_parse(argc, argv, o);
}

/* Expect a usage error whose message contains `needle`. */
static void expect_usage(const char *line, const char *needle)
{
	struct tli_cli_opts o;
	struct tli_error *err = parse(line, &o);
	if (!err)
		fail_msg("'%s' parsed without error", line);
	if (err->code != TLI_E_USAGE || !strstr(err->msg, needle))
		fail_msg("'%s': got code %d '%s', want usage error containing '%s'", line, err->code,
			 err->msg, needle);
	tli_error_destroy(err);
	tli_cli_opts_free(&o);
}

static long cmd_num(const struct tli_cli_opts *o, const char *name)
{
	int i = tli_command_option_index(o->cmd, name);
	assert_true(i >= 0);
	return o->vals[i].set ? o->vals[i].num : -1;
}

static void test_parse_ok(void **state)
{
	(void)state;
	struct tli_cli_opts o;
	assert_null(parse("-p 123 goroutines --stacks --top 5", &o));
	assert_int_equal(o.pid, 123);
	assert_string_equal(o.cmd->name, "goroutines");
	assert_true(o.cmd_explicit);
	assert_int_equal(cmd_num(&o, "stacks"), 1);
	assert_int_equal(cmd_num(&o, "top"), 5);
	assert_int_equal(cmd_num(&o, "system"), -1);
	tli_cli_opts_free(&o);

	/* global options after the command, long forms with '=' */
	assert_null(parse("goroutines --json --pid=77 --timeout=500 -v --no-dwarf --system", &o));
	assert_true(o.json && o.no_dwarf);
	assert_int_equal(o.pid, 77);
	assert_int_equal(o.timeout_ms, 500);
	assert_int_equal(o.verbose, 1);
	assert_int_equal(cmd_num(&o, "system"), 1);
	tli_cli_opts_free(&o);

	/* no command: the default; --core without --exe is fine */
	assert_null(parse("--core /tmp/core.1", &o));
	assert_string_equal(o.cmd->name, tli_default_command);
	assert_false(o.cmd_explicit);
	assert_string_equal(o.core, "/tmp/core.1");
	assert_null(o.exe);
	tli_cli_opts_free(&o);

	assert_null(parse("-c core -e bin --sysroot /sr -jq goroutine 18 --all-frames", &o));
	assert_string_equal(o.exe, "bin");
	assert_string_equal(o.sysroot, "/sr");
	assert_true(o.json && o.quiet);
	assert_string_equal(o.cmd->name, "goroutine");
	assert_int_equal(o.argc, 1);
	assert_string_equal(o.argv[0], "18");
	assert_int_equal(cmd_num(&o, "all-frames"), 1);
	tli_cli_opts_free(&o);

	assert_null(parse("help goroutine", &o));
	assert_int_equal(o.argc, 1);
	tli_cli_opts_free(&o);
	assert_null(parse("-h", &o));
	assert_true(o.help);
	tli_cli_opts_free(&o);
	/* options of the default command without naming it */
	assert_null(parse("-p 1 --stacks --top 3", &o));
	assert_string_equal(o.cmd->name, "goroutines");
	assert_int_equal(cmd_num(&o, "stacks"), 1);
	assert_int_equal(cmd_num(&o, "top"), 3);
	tli_cli_opts_free(&o);
	assert_null(parse("--top 3 goroutines --system", &o));
	assert_int_equal(cmd_num(&o, "top"), 3);
	assert_int_equal(cmd_num(&o, "system"), 1);
	tli_cli_opts_free(&o);
	/* "--" ends the options */
	assert_null(parse("-p 1 goroutine -- 5", &o));
	assert_string_equal(o.argv[0], "5");
	tli_cli_opts_free(&o);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_usage("--pid 1 --core c", "--pid and --core are mutually exclusive");
	expect_usage("--pid abc", "invalid --pid value 'abc'");
	expect_usage("--pid 0", "invalid --pid value '0'");
	expect_usage("-p -5", "invalid --pid value '-5'");
	expect_usage("--pid 12x", "'12x'");
	expect_usage("--pid 99999999999999999999", "'99999999999999999999'");
	expect_usage("--pid", "--pid needs a value");
	expect_usage("-p", "--pid needs a value");
	expect_usage("gorutines", "unknown command 'gorutines' (did you mean 'goroutines'?)");
	expect_usage("goroutinez", "did you mean 'goroutine");
	expect_usage("verison", "did you mean 'version'?");
	expect_usage("zzzzzzzzzz", "unknown command 'zzzzzzzzzz'");
	expect_usage("goroutines --stak", "unknown option '--stak' for command 'goroutines' (did you mean '--stacks'?)");
	expect_usage("--jsno", "did you mean '--json'?");
	expect_usage("-x", "unknown option '-x'");
	expect_usage("--json=1", "--json takes no value");
	expect_usage("goroutines --top x", "invalid --top value 'x'");
	expect_usage("goroutines --top -1", "invalid --top value '-1'");
	expect_usage("--timeout 0", "invalid --timeout value '0'");
	expect_usage("--timeout", "--timeout needs a value (MS)");
	expect_usage("goroutines extra", "too many arguments for command 'goroutines': 'extra'");
	expect_usage("goroutine", "command 'goroutine' needs an argument");
	expect_usage("goroutine abc", "invalid goroutine id 'abc'");
	expect_usage("goroutine 0", "invalid goroutine id '0'");
	expect_usage("goroutine 1 2", "too many arguments");
	expect_usage("version --stacks", "unknown option '--stacks' for command 'version'");
	expect_usage("help nosuch", "unknown command 'nosuch'");
	expect_usage("--sysroot /x -p 1", "--sysroot applies to core files only");
	expect_usage("--no-stop -c core", "--no-stop applies to live processes only");
	expect_usage("--snapshot=cow -p 1", "invalid --snapshot value 'cow': expected copy or fork");
	expect_usage("--snapshot=fork -c core", "--snapshot=fork applies to live processes");
	expect_usage("--snapshot=fork --no-stop -p 1", "--snapshot=fork applies to live processes");
	expect_usage("-q -v", "mutually exclusive");
	expect_usage("--core=", "non-empty");
	expect_usage("--stacks version", "option --stacks is an option of command 'goroutines', not of 'version'");
	struct tli_cli_opts o;
	assert_null(parse("--snapshot=fork -p 1 heap", &o));
	assert_true(o.snapshot_fork);
	tli_cli_opts_free(&o);
	assert_null(parse("--snapshot copy -p 1 heap", &o));
	assert_false(o.snapshot_fork);
	tli_cli_opts_free(&o);
}

static void test_suggest(void **state)
{
	(void)state;
	assert_int_equal(tli_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(tli_edit_distance("", "abc"), 3);
	assert_int_equal(tli_edit_distance("same", "same"), 0);
	assert_string_equal(tli_command_suggest("gor"), "goroutines"); /* prefix; first in the table */
	assert_string_equal(tli_command_suggest("vers"), "version");
	assert_null(tli_command_suggest("heapdump-all-the-things"));
	for (const struct tli_command *c = tli_commands; c->name; c++) {
		assert_ptr_equal(tli_command_find(c->name), c);
		assert_string_equal(tli_command_suggest(c->name), c->name);
	}
}

/* Run a command line through tli_cli_run, capturing stdout/stderr. */
static int run(const char *line, char **out, char **err)
{
	struct tli_cli_opts o;
	struct tli_error *e = parse(line, &o);
	if (e)
		fail_msg("'%s': %s", line, e->msg);
	size_t ol, el;
	FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
	int rc = tli_cli_run(&o, fo, fe);
	fclose(fo);
	fclose(fe);
	tli_cli_opts_free(&o);
	return rc;
}

static void test_run_without_target(void **state)
{
	(void)state;
	char *out, *err;
	int rc = run("goroutines", &out, &err);
	assert_int_equal(rc, TLI_E_USAGE);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "tlinspect: error: command 'goroutines' needs a target"));
	assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
	free(out), free(err);

	/* --json: the error is also a JSON document on stdout */
	rc = run("--json goroutine 5", &out, &err);
	assert_int_equal(rc, TLI_E_USAGE);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "tlinspect/1");
	json_t *e = json_object_get(doc, "error");
	assert_int_equal(json_integer_value(json_object_get(e, "code")), TLI_E_USAGE);
	assert_string_equal(json_string_value(json_object_get(e, "kind")), "usage");
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "needs a target"));
	json_decref(doc);
	free(out), free(err);

	rc = run("version", &out, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "tlinspect " TLI_TOOL_VERSION "\n");
	free(out), free(err);
	rc = run("--version", &out, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "tlinspect " TLI_TOOL_VERSION "\n");
	free(out), free(err);

	/* a missing core file: "no target" (3), whatever the backend says exactly */
	rc = run("--core /nonexistent/core.zzz", &out, &err);
	assert_int_equal(rc, TLI_E_NO_TARGET);
	assert_non_null(strstr(err, "tlinspect: error: "));
	free(out), free(err);
}

static void test_help(void **state)
{
	(void)state;
	char *out, *err;
	int rc = run("help", &out, &err);
	assert_int_equal(rc, 0);
	for (const struct tli_command *c = tli_commands; c->name; c++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "\n  %s ", c->name);
		if (!c->hidden && !strstr(out, needle))
			fail_msg("help does not list command %s", c->name);
	}
	for (const struct tli_option *op = tli_global_options; op->name; op++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "--%s", op->name);
		assert_true(op->hidden == !strstr(out, needle));
	}
	free(out), free(err);

	/* `CMD --help` == `help CMD`: every option of the command is shown */
	for (const struct tli_command *c = tli_commands; c->name; c++) {
		char line[128];
		snprintf(line, sizeof(line), "%s --help", c->name);
		char *out2, *err2;
		rc = run(line, &out, &err);
		assert_int_equal(rc, 0);
		snprintf(line, sizeof(line), "help %s", c->name);
		assert_int_equal(run(line, &out2, &err2), 0);
		assert_string_equal(out, out2);
		assert_non_null(strstr(out, c->summary));
		for (const struct tli_option *op = c->options; op && op->name; op++) {
			snprintf(line, sizeof(line), "--%s", op->name);
			assert_true(op->hidden == !strstr(out, line));
		}
		free(out), free(err), free(out2), free(err2);
	}

	/* help --json is the command table as JSON */
	rc = run("--json help", &out, &err);
	assert_int_equal(rc, 0);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	assert_non_null(doc);
	json_t *cmds = json_object_get(doc, "commands");
	size_t n = 0;
	for (const struct tli_command *c = tli_commands; c->name; c++)
		n += !c->hidden;
	assert_int_equal(json_array_size(cmds), n);
	json_decref(doc);
	free(out), free(err);
}

static void test_print_commands(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run("--print-commands", &out, &err), 0);
	const struct tli_command *c = tli_commands;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (c->name && c->hidden)
			c++;
		assert_non_null(c->name);
		char want[512];
		snprintf(want, sizeof(want), "%s\t%s\t%s", c->name, c->args, c->summary);
		assert_string_equal(line, want);
		c++;
	}
	while (c->name && c->hidden)
		c++;
	assert_null(c->name);
	free(out), free(err);
	assert_int_equal(run("--print-options goroutines", &out, &err), 0);
	assert_non_null(strstr(out, "--stacks\n--all-frames\n--system\n--top\n"));
	free(out), free(err);
}

/* ---- documentation against the table ---- */

static char *slurp(const char *rel)
{
	/* tests run from the top of the tree; fall back to the source file's location */
	char path[1024];
	FILE *f = fopen(rel, "r");
	if (!f) {
		snprintf(path, sizeof(path), "%s", __FILE__);
		char *p = strstr(path, "tests/unit/");
		if (p) {
			snprintf(p, sizeof(path) - (size_t)(p - path), "%s", rel);
			f = fopen(path, "r");
		}
	}
	if (!f)
		fail_msg("cannot open %s", rel);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* roff spells "--x-y" as "\-\-x\-y". */
static void roff_option(char *buf, size_t len, const char *name)
{
	size_t o = (size_t)snprintf(buf, len, "\\-\\-");
	for (const char *p = name; *p && o + 3 < len; p++) {
		if (*p == '-')
			buf[o++] = '\\';
		buf[o++] = *p;
	}
	buf[o] = 0;
}

/* Next command entry ".TP\n.B name" (option entries ".TP\n.B \\-\\-x" are skipped). */
static char *next_entry(char *p)
{
	while ((p = strstr(p, "\n.TP\n.B ")) && p[8] == '\\')
		p += 8;
	return p;
}

static void test_man_page(void **state)
{
	(void)state;
	char *man = slurp("docs/tlinspect.1");
	/* roff source only: a control byte (a form feed where "\\f" was meant) shows as garbage in man */
	for (const char *q = man; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\n' && *q != '\t')
			fail_msg("docs/tlinspect.1: control byte 0x%02x at offset %td", (unsigned char)*q, q - man);
	char *cmds = strstr(man, "\n.SH COMMANDS\n");
	assert_non_null(cmds);
	char *end = strstr(cmds + 1, "\n.SH ");
	assert_non_null(end);
	*end = 0;
	/* the COMMANDS section lists exactly the visible commands of the table, in order */
	char *p = cmds;
	const struct tli_command *c = tli_commands;
	int listed = 0;
	while ((p = next_entry(p))) {
		p += 8;
		while (c->name && c->hidden)
			c++;
		assert_non_null(c->name);
		size_t n = strlen(c->name);
		if (strncmp(p, c->name, n) || (p[n] != ' ' && p[n] != '\n'))
			fail_msg("man page COMMANDS lists '%.20s' where the table has '%s'", p, c->name);
		/* the options of the command are described in its entry */
		char *next = next_entry(p);
		for (const struct tli_option *op = c->options; op && op->name; op++) {
			char ro[128];
			roff_option(ro, sizeof(ro), op->name);
			char *hit = strstr(p, ro);
			if (!op->hidden && (!hit || (next && hit > next)))
				fail_msg("man page: command %s does not describe %s", c->name, op->name);
		}
		c++;
		listed++;
	}
	while (c->name && c->hidden)
		c++;
	assert_null(c->name);
	assert_true(listed >= 4);
	*end = '\n';
	/* every global option in OPTIONS, with its short form */
	char *opts = strstr(man, "\n.SH OPTIONS\n");
	assert_non_null(opts);
	for (const struct tli_option *op = tli_global_options; op->name; op++) {
		if (op->hidden)
			continue;
		char ro[128];
		roff_option(ro, sizeof(ro), op->name);
		if (!strstr(opts, ro))
			fail_msg("man page does not describe --%s", op->name);
		if (op->short_name) {
			snprintf(ro, sizeof(ro), "\\-%c", op->short_name);
			assert_non_null(strstr(opts, ro));
		}
	}
	/* every exit code in EXIT STATUS */
	char *ex = strstr(man, "\n.SH EXIT STATUS\n");
	assert_non_null(ex);
	for (int code = 0; code < 256; code++) {
		if (!strcmp(tli_errcode_name((enum tli_errcode)code), "unknown error"))
			continue;
		char want[32];
		snprintf(want, sizeof(want), "\n.B %d\n", code);
		if (!strstr(ex, want))
			fail_msg("man page EXIT STATUS lacks code %d", code);
	}
	for (const char *sec = "NAME\0SYNOPSIS\0DESCRIPTION\0EXAMPLES\0FILES\0SEE ALSO\0"; *sec;
	     sec += strlen(sec) + 1) {
		char want[64];
		snprintf(want, sizeof(want), ".SH %s\n", sec);
		if (!strstr(man, want))
			fail_msg("man page lacks section %s", sec);
	}
	free(man);
}

static void test_exit_codes_doc(void **state)
{
	(void)state;
	char *doc = slurp("docs/exit-codes.md");
	/* rows: | code | TLI_E_NAME | kind | name | meaning | */
	int rows = 0;
	bool seen[256] = { false };
	char *save = NULL;
	for (char *line = strtok_r(doc, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int code;
		char sym[64], kind[64], name[128];
		if (sscanf(line, "| %d | `%63[^`]` | `%63[^`]` | %127[^|]|", &code, sym, kind, name) != 4)
			continue;
		char *e = name + strlen(name);
		while (e > name && e[-1] == ' ')
			*--e = 0;
		assert_true(code >= 0 && code < 256);
		const char *want = tli_errcode_name((enum tli_errcode)code);
		if (strcmp(want, name))
			fail_msg("exit-codes.md: code %d is '%s', tli_errcode_name says '%s'", code, name, want);
		if (strcmp(tli_errcode_kind((enum tli_errcode)code), kind))
			fail_msg("exit-codes.md: code %d kind '%s', tli_errcode_kind says '%s'", code, kind,
				 tli_errcode_kind((enum tli_errcode)code));
		assert_false(seen[code]);
		seen[code] = true;
		rows++;
	}
	for (int code = 0; code < 256; code++) {
		bool known = strcmp(tli_errcode_name((enum tli_errcode)code), "unknown error") != 0;
		if (known != seen[code])
			fail_msg("exit-codes.md and enum tli_errcode disagree about code %d", code);
	}
	assert_int_equal(rows, 15);
	/* the symbols are the enum's: spot-check against the compiler */
	assert_int_equal(TLI_E_INTERRUPTED, 130);
	free(doc);
}

static void test_completion(void **state)
{
	(void)state;
	/* generated by `make` from the command table (scripts/gen-bash-completion.sh): this checks
	 * that the build ran the generator on this table, and that the template keeps the hook */
	const char *bd = getenv("TLI_BUILD_DIR");
	char path[512];
	snprintf(path, sizeof(path), "%s/tlinspect.bash-completion", bd && *bd ? bd : "build");
	char *comp = slurp(path);
	for (const struct tli_command *c = tli_commands; c->name; c++)
		if (!c->hidden && !strstr(comp, c->name))
			fail_msg("completion lacks command %s", c->name);
	for (const struct tli_option *op = tli_global_options; op->name; op++) {
		char want[64];
		snprintf(want, sizeof(want), "--%s", op->name);
		if (!op->hidden && !strstr(comp, want))
			fail_msg("completion lacks option %s", want);
	}
	for (const struct tli_command *c = tli_commands; c->name; c++)
		for (const struct tli_option *op = c->options; op && op->name; op++) {
			char want[64];
			snprintf(want, sizeof(want), "--%s", op->name);
			if (!op->hidden && !strstr(comp, want))
				fail_msg("completion lacks option %s of %s", want, c->name);
		}
	assert_non_null(strstr(comp, "--print-commands"));
	free(comp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_run_without_target),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_print_commands),
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_exit_codes_doc),
		cmocka_unit_test(test_completion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
