/* SPDX-License-Identifier: MIT */
/* Runtime maps: parser errors, and map/finder answers against DWARF of real Go binaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dwarf/dwarf.h"
#include "go/gobin.h"
#include "runtime_maps/maps.h"

static const char good[] =
	"# comment\n"
	"tlimap 1\n"
	"kind go\n"
	"version go1.99\n"
	"generator tlinspect-maps 1\n"
	"source go1.99.1 go-build-id abc/def\n"
	"\n"
	"struct runtime.g 64\n"
	"member runtime.g stack 0 16 runtime.stack\n"
	"member runtime.g stack.lo 0 8 uintptr\n"
	"member runtime.g sched.sp 0x10 8\n"
	"struct \"a b[interface {}]\" 8\n"
	"member \"a b[interface {}]\" x 0 8 \"func(*runtime.g) bool\"\n"
	"const runtime._Gscan 4096\n"
	"const neg -3\n"
	"strings runtime.gStatusStrings 3\n"
	"str 0 \"\"\n"
	"str 1 \"chan \\\"send\\\" \\x41\"\n"
	"str 2 idle\n";

static void test_parse_good(void **state)
{
	(void)state;
	struct tli_map *m = NULL;
	struct tli_error *err = tli_map_parse(good, strlen(good), "good.map", &m);
	assert_null(err);
	assert_string_equal(tli_map_kind(m), "go");
	assert_string_equal(tli_map_version(m), "go1.99");
	assert_string_equal(tli_map_source(m), "go1.99.1 go-build-id abc/def");
	struct tli_member mb;
	assert_null(tli_map_member(m, "runtime.g", "sched.sp", &mb));
	assert_int_equal(mb.offset, 16);
	assert_int_equal(mb.size, 8);
	assert_null(tli_map_member(m, "a b[interface {}]", "x", &mb));
	uint64_t sz;
	assert_null(tli_map_type_size(m, "a b[interface {}]", &sz));
	assert_int_equal(sz, 8);
	int64_t v;
	assert_null(tli_map_constant(m, "neg", &v));
	assert_int_equal(v, -3);
	size_t n;
	const char *const *s;
	assert_null(tli_map_strings(m, "runtime.gStatusStrings", &n, &s));
	assert_int_equal(n, 3);
	assert_string_equal(s[0], "");
	assert_string_equal(s[1], "chan \"send\" A");
	assert_string_equal(s[2], "idle");
	err = tli_map_member(m, "runtime.g", "nope", &mb);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	tli_map_free(m);
}

/* Replace line `lineno` (1-based) of `good` by `line` and expect a BAD_FORMAT error naming
 * "bad.map:<expect_line>:" and containing `what`. */
static void expect_bad_n(const char *text, size_t len, size_t expect_line, const char *what)
{
	struct tli_map *m = NULL;
	struct tli_error *err = tli_map_parse(text, len, "bad.map", &m);
	assert_non_null(err);
	assert_null(m);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "bad.map:%zu: ", expect_line);
	if (strncmp(err->msg, pfx, strlen(pfx)) != 0 || !strstr(err->msg, what))
		fail_msg("for line %zu expected '%s...%s', got '%s'", expect_line, pfx, what, err->msg);
	tli_error_destroy(err);
}

static void expect_bad(const char *text, size_t expect_line, const char *what)
{
	expect_bad_n(text, strlen(text), expect_line, what);
}

static void with_line(size_t lineno, const char *line, const char *what)
{
	char buf[4096];
	size_t o = 0, cur = 1;
	for (const char *p = good; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = (size_t)(nl - p);
		if (cur == lineno)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\n", line);
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%.*s\n", (int)l, p);
		p = nl + 1;
		cur++;
	}
	expect_bad(buf, lineno, what);
}

static void test_parse_bad(void **state)
{
	(void)state;
	with_line(2, "tlimap 2", "format 2 is not supported");
	with_line(2, "kind go", "expected 'tlimap 1'");
	with_line(3, "kind java", "unknown kind");
	with_line(8, "struct runtime.g", "expected 'struct NAME SIZE'");
	with_line(8, "struct runtime.g -4", "expected 'struct NAME SIZE'");
	with_line(9, "member runtime.g stack 0 100", "outside the struct");
	with_line(9, "member runtime.x stack 0 8", "before its 'struct' line");
	with_line(10, "member runtime.g stack 0 16", "defined twice");
	with_line(9, "member runtime.g stack zero 8", "unsigned numbers");
	with_line(9, "member runtime.g .stack 0 8", "bad member path");
	with_line(12, "struct \"a b 8", "unterminated quoted string");
	with_line(13, "member x\"y z 0 8", "quote inside a bare word");
	with_line(14, "const runtime._Gscan 0x1000", "signed decimal");
	with_line(15, "const runtime._Gscan 1", "defined twice");
	with_line(16, "strings runtime.gStatusStrings 0", "out of range");
	with_line(17, "str 1 \"\"", "out of order");
	with_line(18, "const x 1", "has 1 entries, 3 expected");
	with_line(18, "str 1 \"bad \\q\"", "unknown escape");
	with_line(5, "frobnicate 1", "unknown directive");
	/* truncated inside a string table: the error names the line after the last one */
	expect_bad("tlimap 1\nkind go\nversion go1.1\nstrings s 2\nstr 0 a\n", 6, "end of file inside");
	expect_bad("tlimap 1\nkind go\n", 3, "no 'version' line");
	expect_bad("", 1, "empty map");
	static const char nul[] = "tlimap 1\nkind go\nversion go1.1\nconst a\x00 1\n";
	expect_bad_n(nul, sizeof(nul) - 1, 4, "NUL byte");
}

/* A Go binary with DWARF whose version has a committed map: the maps-gen probe or an
 * integration-test build. */
static const char *const probe_versions[] = { "1.19", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27" };
#define NPROBE (sizeof(probe_versions) / sizeof(probe_versions[0]))

/* The maps-gen probe (tests/integration/stripped/probe), built here with each installed
 * toolchain (as `make maps-gen` does), so this test depends on no other suite's output. */
static const char *probe_binary(size_t v)
{
	static char paths[NPROBE][256];
	static int state[NPROBE]; /* 0 untried, 1 built, -1 no toolchain / failed */
	if (state[v] == 0) {
		char gobin[128], cmd[1024];
		snprintf(gobin, sizeof(gobin), "/usr/lib/go-%s/bin/go", probe_versions[v]);
		snprintf(paths[v], sizeof(paths[v]), "/tmp/tli-test-maps-probe-%s", probe_versions[v]);
		state[v] = -1;
		if (access(gobin, X_OK) == 0) {
			snprintf(cmd, sizeof(cmd),
				 "cd tests/integration/stripped/probe && GOTOOLCHAIN=local GOFLAGS=-mod=mod "
				 "GOPROXY=off GOWORK=off GOCACHE=/tmp/tli-gocache %s build -trimpath -o %s . "
				 ">/dev/null 2>&1", gobin, paths[v]);
			if (system(cmd) == 0 && access(paths[v], R_OK) == 0)
				state[v] = 1;
			else
				fprintf(stderr, "building the probe with go%s failed\n", probe_versions[v]);
		}
	}
	return state[v] == 1 ? paths[v] : NULL;
}

static const char *find_binary(void)
{
	for (size_t v = NPROBE; v-- > 0;) {
		const char *b = probe_binary(v);
		if (b)
			return b;
	}
	return NULL;
}

static void test_map_equals_dwarf(void **state)
{
	(void)state;
	const char *bin = find_binary();
	if (!bin)
		fail_msg("no Go toolchain in /usr/lib/go-1.*/ could build the probe (run scripts/setup.sh)");
	struct tli_gobin *gb;
	assert_null(tli_gobin_open(bin, &gb));
	struct tli_map *m;
	struct tli_error *err = tli_maps_load_go(gb, &m);
	if (err)
		fail_msg("%s: %s", bin, err->msg);
	struct tli_dwarf *d;
	struct tli_dwarf_opts o = { 0 };
	assert_null(tli_dwarf_open(bin, &o, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	/* every member in the map, against the DWARF provider of this binary */
	size_t n = tli_map_nmembers(m), checked = 0;
	assert_true(n > 800);
	for (size_t i = 0; i < n; i++) {
		const char *type, *path;
		struct tli_member mm, dm;
		tli_map_member_at(m, i, &type, &path, &mm);
		err = tli_dwarf_member(d, type, path, &dm);
		if (err)
			fail_msg("%s.%s: in the map but DWARF says: %s", type, path, err->msg);
		if (mm.offset != dm.offset || mm.size != dm.size)
			fail_msg("%s.%s: map %llu/%llu, DWARF %llu/%llu", type, path,
				 (unsigned long long)mm.offset, (unsigned long long)mm.size,
				 (unsigned long long)dm.offset, (unsigned long long)dm.size);
		checked++;
	}
	/* sizes and the constants the goroutine walker needs */
	static const char *const types[] = { "runtime.g", "runtime.m", "runtime.sudog", "runtime.hchan",
					     "runtime.mstats" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint64_t a, b;
		assert_null(tli_map_type_size(m, types[i], &a));
		assert_null(tli_dwarf_type_size(d, types[i], &b));
		assert_int_equal(a, b);
	}
	static const char *const consts[] = { "runtime._Gidle", "runtime._Grunnable", "runtime._Grunning",
					      "runtime._Gsyscall", "runtime._Gwaiting", "runtime._Gdead",
					      "runtime._Gscan", "runtime._Gpreempted",
					      "internal/abi.FuncID_goexit", "runtime.fingRunningFinalizer" };
	for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
		int64_t a, b;
		struct tli_error *e1 = tli_map_constant(m, consts[i], &a);
		struct tli_error *e2 = tli_dwarf_constant(d, consts[i], &b);
		assert_int_equal(e1 == NULL, e2 == NULL);
		if (!e1)
			assert_int_equal(a, b);
		tli_error_destroy(e1);
		tli_error_destroy(e2);
	}
	/* the finder (capstone) against DWARF variable addresses of the same binary */
	static const char *const globals[] = { "runtime.allgs", "runtime.allglen", "runtime.allgptr",
					       "runtime.waitReasonStrings", "runtime.gStatusStrings",
					       "runtime.memstats", "runtime.fingStatus", "runtime.semtable",
					       "runtime.mheap_" };
	size_t nglob = 0;
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		struct tli_global fg, dg;
		struct tli_error *e = tli_dwarf_global(d, globals[i], &dg);
		if (e) { /* e.g. fingStatus on go1.19 */
			tli_error_destroy(e);
			continue;
		}
		e = tli_gofind_global(gb, m, globals[i], &fg);
		if (e)
			fail_msg("finder: %s: %s", globals[i], e->msg);
		if (fg.addr != dg.addr)
			fail_msg("finder: %s at 0x%llx, DWARF says 0x%llx", globals[i],
				 (unsigned long long)fg.addr, (unsigned long long)dg.addr);
		if (fg.size && dg.size)
			assert_int_equal(fg.size, dg.size);
		nglob++;
	}
	fprintf(stderr, "%s (%s): %zu members, %zu globals equal to DWARF\n", bin, tli_map_version(m),
		checked, nglob);
	assert_true(nglob >= 6);
	tli_dwarf_close(d);
	tli_map_free(m);
	tli_gobin_destroy(gb);
}

/* The stripped-binary finder equals DWARF for every global it has a rule for, on binary bin (with
 * DWARF) of Go version ver; its map is the one tli_maps_load_go chooses (go/ or go-arm64/). */
static void finder_equals_dwarf(const char *bin, const char *ver)
{
	struct tli_gobin *gb;
	assert_null(tli_gobin_open(bin, &gb));
	struct tli_map *m;
	struct tli_error *err = tli_maps_load_go(gb, &m);
	if (err)
		fail_msg("%s: %s", bin, err->msg);
	struct tli_dwarf *d;
	struct tli_dwarf_opts o = { 0 };
	assert_null(tli_dwarf_open(bin, &o, &d));
	static const char *const globals[] = { "runtime.allgs", "runtime.allglen", "runtime.allgptr",
					       "runtime.waitReasonStrings", "runtime.gStatusStrings",
					       "runtime.memstats", "runtime.fingStatus",
					       "runtime.fingRunning", "runtime.semtable",
					       "runtime.mheap_", "runtime.gcController", "runtime.allp" };
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		struct tli_global fg, dg;
		struct tli_error *de = tli_dwarf_global(d, globals[i], &dg);
		struct tli_error *fe = tli_gofind_global(gb, m, globals[i], &fg);
		if (de) {
			if (!fe)
				fail_msg("go%s: finder found %s, which DWARF does not have", ver, globals[i]);
		} else if (fe) {
			fail_msg("go%s (%s): finder: %s", ver, bin, fe->msg);
		} else if (fg.addr != dg.addr) {
			fail_msg("go%s (%s): %s: finder 0x%llx, DWARF 0x%llx", ver, bin, globals[i],
				 (unsigned long long)fg.addr, (unsigned long long)dg.addr);
		}
		tli_error_destroy(de);
		tli_error_destroy(fe);
	}
	tli_dwarf_close(d);
	tli_map_free(m);
	tli_gobin_destroy(gb);
}

/* Every installed version: finder == DWARF on the maps-gen probes (when built). */
static void test_finder_all_versions(void **state)
{
	(void)state;
	size_t done = 0;
	for (size_t v = 0; v < NPROBE; v++) {
		const char *bin = probe_binary(v);
		if (!bin)
			continue;
		finder_equals_dwarf(bin, probe_versions[v]);
		done++;
	}
	fprintf(stderr, "finder equal to DWARF on %zu Go versions\n", done);
	if (!done)
		fail_msg("no Go toolchain could build the probe: nothing was checked");
}

/* arm64's patterns (ADRP+ADD/LDR, atomics through an address, LSE instructions capstone 4 cannot
 * decode skipped) on the probe cross-built with GOARCH=arm64, oldest and newest toolchain. */
static void test_finder_arm64(void **state)
{
	(void)state;
	size_t done = 0;
	for (size_t v = 0; v < NPROBE; v += NPROBE - 1) {
		char gobin[128], out[256], cmd[1024];
		snprintf(gobin, sizeof(gobin), "/usr/lib/go-%s/bin/go", probe_versions[v]);
		snprintf(out, sizeof(out), "/tmp/tli-test-maps-probe-arm64-%s", probe_versions[v]);
		if (access(gobin, X_OK))
			continue;
		snprintf(cmd, sizeof(cmd),
			 "cd tests/integration/stripped/probe && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off "
			 "GOWORK=off GOCACHE=/tmp/tli-gocache GOARCH=arm64 CGO_ENABLED=0 %s build -trimpath -o %s . "
			 ">/dev/null 2>&1", gobin, out);
		if (system(cmd) || access(out, R_OK))
			fail_msg("building the arm64 probe with go%s failed", probe_versions[v]);
		finder_equals_dwarf(out, probe_versions[v]);
		done++;
	}
	fprintf(stderr, "arm64 finder equal to DWARF on %zu Go versions\n", done);
	if (!done)
		fail_msg("no Go toolchain could build the arm64 probe: nothing was checked");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_map_equals_dwarf),
		cmocka_unit_test(test_finder_all_versions),
		cmocka_unit_test(test_finder_arm64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
