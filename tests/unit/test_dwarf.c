/* SPDX-License-Identifier: MIT */
/*
 * DWARF and ELF-symbol providers against independent oracles:
 *  - C: tests/unit/fixtures/layout_fixture.c is compiled here with several
 *    DWARF variants (DWARF 2/4/5, -gz compressed, type units, PIE, stripped +
 *    separate debug file by build-id and by .gnu_debuglink) and RUN; it prints
 *    offsetof/sizeof/&global/enum values as computed by the compiler. Every
 *    printed value is compared with our answer.
 *  - Go: tests/unit/fixtures/go_layout is built with /usr/lib/go-1.19 (and the
 *    newest /usr/lib/go-1.2x if present); answers are compared with a parse of
 *    `readelf --debug-dump=info` and with `go tool nm -size`.
 *  - ELF facts are compared with `readelf -h/-n/-l`.
 *  - Malformed ELFs (truncated, mutated) must give errors, never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/layout.h"
#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"

static char tmpdir[256];
static char fixdir[400];

/* ---------- helpers ---------- */

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

static int run_rc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_rc(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Output of a command (malloc'd, NUL-terminated). */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[len] = 0;
	int rc = pclose(f);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
	return buf;
}

static void find_fixtures(void)
{
	const char *env = getenv("TLI_FIXTURES");
	const char *cands[] = { env, "tests/unit/fixtures", "../tests/unit/fixtures",
				"../../tests/unit/fixtures" };
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		char p[600];
		if (!cands[i])
			continue;
		snprintf(p, sizeof(p), "%s/layout_fixture.c", cands[i]);
		if (access(p, R_OK) == 0 && realpath(cands[i], fixdir))
			return;
	}
	fail_msg("cannot find tests/unit/fixtures (run from the repository root or set TLI_FIXTURES)");
}

/* ---------- truth printed by the C fixture ---------- */

struct titem {
	char kind;
	char a[64], b[64];
	unsigned long long x, y;
	long long c;
};

struct truth {
	struct titem it[256];
	size_t n;
	unsigned long long main_addr;
};

static void get_truth(const char *exe, struct truth *t)
{
	memset(t, 0, sizeof(*t));
	char *out = capture("%s", exe);
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(t->n < 256);
		struct titem *it = &t->it[t->n];
		it->kind = line[0];
		int ok = 0;
		switch (line[0]) {
		case 'M': ok = sscanf(line, "M %63s %63s %llu %llu", it->a, it->b, &it->x, &it->y) == 4; break;
		case 'S': ok = sscanf(line, "S %63s %llu", it->a, &it->x) == 2; break;
		case 'G': ok = sscanf(line, "G %63s %llu %llu", it->a, &it->x, &it->y) == 3; break;
		case 'C': ok = sscanf(line, "C %63s %lld", it->a, &it->c) == 2; break;
		case 'F':
			ok = sscanf(line, "F main %llu", &t->main_addr) == 1;
			continue;
		}
		if (!ok)
			fail_msg("bad fixture line: %s", line);
		t->n++;
	}
	free(out);
	assert_true(t->n > 40);
	assert_true(t->main_addr != 0);
}

/* Compare every truth item with the DWARF provider; returns items checked. */
static size_t check_truth(struct tli_dwarf *d, const struct truth *t, uint64_t bias,
			  const char *variant)
{
	size_t checked = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct titem *it = &t->it[i];
		struct tli_error *err = NULL;
		switch (it->kind) {
		case 'M': {
			struct tli_member m = { 0 };
			err = tli_dwarf_member(d, it->a, it->b, &m);
			if (err)
				break;
			if (m.offset != it->x || m.size != it->y)
				fail_msg("[%s] %s.%s: got offset %llu size %llu, compiler says %llu %llu",
					 variant, it->a, it->b, (unsigned long long)m.offset,
					 (unsigned long long)m.size, it->x, it->y);
			break;
		}
		case 'S': {
			uint64_t s = 0;
			err = tli_dwarf_type_size(d, it->a, &s);
			if (!err && s != it->x)
				fail_msg("[%s] sizeof %s: got %llu, compiler says %llu", variant, it->a,
					 (unsigned long long)s, it->x);
			break;
		}
		case 'G': {
			struct tli_global g = { 0 };
			err = tli_dwarf_global(d, it->a, &g);
			if (!err && (g.addr + bias != it->x || g.size != it->y))
				fail_msg("[%s] &%s: got 0x%llx+0x%llx size %llu, program says 0x%llx size %llu",
					 variant, it->a, (unsigned long long)g.addr,
					 (unsigned long long)bias, (unsigned long long)g.size, it->x, it->y);
			break;
		}
		case 'C': {
			int64_t c = 0;
			err = tli_dwarf_constant(d, it->a, &c);
			if (!err && c != it->c)
				fail_msg("[%s] %s: got %lld, compiler says %lld", variant, it->a, (long long)c,
					 it->c);
			break;
		}
		}
		if (err)
			fail_msg("[%s] query %c %s %s failed: %s", variant, it->kind, it->a, it->b, err->msg);
		checked++;
	}
	return checked;
}

static void compile_fixture(const char *out, const char *flags)
{
	run("gcc -O0 %s -o %s/%s %s/layout_fixture.c", flags, tmpdir, out, fixdir);
}

static bool section_compressed(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	size_t shstrndx;
	assert_int_equal(elf_getshdrstrndx(e, &shstrndx), 0);
	bool res = false;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		gelf_getshdr(s, &sh);
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && strcmp(n, name) == 0)
			res = (sh.sh_flags & SHF_COMPRESSED) != 0;
	}
	elf_end(e);
	close(fd);
	return res;
}

/* ---------- tests: C fixture ---------- */

static void test_c_variants(void **state)
{
	(void)state;
	static const char *const variants[] = {
		"-g -gdwarf-5", "-g -gdwarf-4", "-g -gdwarf-3", "-g -gdwarf-2 -gstrict-dwarf",
		"-g -gz", "-g -gdwarf-4 -fdebug-types-section", "-g -gdwarf-5 -fdebug-types-section",
	};
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		char flags[256], exe[512];
		snprintf(flags, sizeof(flags), "%s -no-pie", variants[v]);
		compile_fixture("fxv", flags);
		snprintf(exe, sizeof(exe), "%s/fxv", tmpdir);
		if (strstr(variants[v], "-gz"))
			assert_true(section_compressed(exe, ".debug_info"));
		struct truth t;
		get_truth(exe, &t);
		struct tli_dwarf *d;
		struct tli_error *err = tli_dwarf_open(exe, NULL, &d);
		if (err)
			fail_msg("%s", err->msg);
		assert_true(tli_dwarf_has_dwarf(d));
		assert_string_equal(tli_dwarf_debug_method(d), "embedded");
		size_t n = check_truth(d, &t, 0, variants[v]);
		assert_int_equal(n, t.n);

		/* misses are NO_INFO and name the query */
		struct tli_member m;
		err = tli_dwarf_member(d, "outer", "nosuch", &m);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_NO_INFO);
		assert_non_null(strstr(err->msg, "nosuch"));
		tli_error_destroy(err);
		err = tli_dwarf_member(d, "no_such_struct", "x", &m);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_NO_INFO);
		tli_error_destroy(err);
		/* a member of a non-struct */
		err = tli_dwarf_member(d, "outer", "c.x", &m);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_NO_INFO);
		tli_error_destroy(err);
		/* "struct X" spelling */
		assert_null(tli_dwarf_member(d, "struct outer", "in.where.y", &m));
		/* thread-local variable: not a static address, but a TLS offset */
		struct tli_global g;
		err = tli_dwarf_global(d, "g_tls", &g);
		assert_non_null(err);
		assert_int_equal(err->code, TLI_E_NO_INFO);
		tli_error_destroy(err);
		uint64_t tls;
		assert_null(tli_dwarf_tls_offset(d, "g_tls", &tls));
		struct tli_dwarf_stats st;
		tli_dwarf_get_stats(d, &st);
		assert_true(st.types >= 8 && st.variables >= 6 && st.constants >= 14);
		tli_dwarf_close(d);
	}
}

/* PIE: the layout adds the load bias (runtime &main - link-time main). */
static void test_pie_bias(void **state)
{
	(void)state;
	compile_fixture("fxpie", "-g -pie -fPIE");
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/fxpie", tmpdir);
	struct truth t;
	get_truth(exe, &t);
	struct tli_elfinfo info;
	assert_null(tli_elf_read_info(exe, &info));
	assert_int_equal(info.type, ET_DYN);
	struct tli_elfsym *s;
	assert_null(tli_elfsym_open(exe, &s));
	struct tli_sym sym;
	assert_null(tli_elfsym_lookup(s, "main", &sym));
	assert_int_equal(sym.type, STT_FUNC);
	uint64_t bias = t.main_addr - sym.value;
	assert_true(bias != 0);

	struct tli_dwarf *d;
	assert_null(tli_dwarf_open(exe, NULL, &d));
	struct tli_layout *l;
	assert_null(tli_layout_create(&l));
	assert_null(tli_dwarf_add_to_layout(d, l));
	assert_null(tli_elfsym_add_to_layout(s, l));
	tli_layout_set_bias(l, bias);
	size_t globals = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.it[i].kind != 'G')
			continue;
		struct tli_global g;
		struct tli_error *err = tli_layout_global(l, t.it[i].a, &g);
		if (err)
			fail_msg("%s", err->msg);
		assert_int_equal(g.addr, t.it[i].x);
		assert_int_equal(g.size, t.it[i].y);
		assert_string_equal(tli_layout_last_source(l), "dwarf");
		globals++;
	}
	assert_true(globals >= 5);
	/* a global only the symbol table knows */
	struct tli_global g;
	assert_null(tli_layout_global(l, "main", &g));
	assert_int_equal(g.addr, t.main_addr);
	assert_string_equal(tli_layout_last_source(l), "elf-symtab");
	/* resolver error text names the query and the providers */
	struct tli_member m;
	struct tli_error *err = tli_layout_member(l, "outer", "waitreason", &m);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	char want[700];
	snprintf(want, sizeof(want), "no layout for outer.waitreason (asked: dwarf %s)", exe);
	if (!strstr(err->msg, want))
		fail_msg("unexpected error text: %s", err->msg);
	tli_error_destroy(err);
	/* table resolution through the real provider */
	uint32_t off_y = 0, sz_y = 0, off_missing = 0;
	bool present = true;
	struct tli_field_spec specs[] = {
		{ "outer", "in.where.y", &off_y, &sz_y, false, NULL },
		{ "outer", "not_there", &off_missing, NULL, true, &present },
	};
	assert_null(tli_layout_resolve(l, specs, 2));
	for (size_t i = 0; i < t.n; i++)
		if (t.it[i].kind == 'M' && !strcmp(t.it[i].a, "outer") && !strcmp(t.it[i].b, "in.where.y")) {
			assert_int_equal(off_y, t.it[i].x);
			assert_int_equal(sz_y, t.it[i].y);
		}
	assert_false(present);
	tli_layout_destroy(l);
}

/* Build ID of a file as readelf -n prints it. */
static void readelf_build_id(const char *path, char *hex, size_t cap)
{
	char *out = capture("readelf -n %s", path);
	char *p = strstr(out, "Build ID: ");
	assert_non_null(p);
	p += strlen("Build ID: ");
	size_t n = strspn(p, "0123456789abcdef");
	assert_true(n >= 4 && n < cap);
	memcpy(hex, p, n);
	hex[n] = 0;
	free(out);
}

static void test_separate_build_id(void **state)
{
	(void)state;
	compile_fixture("fxb", "-g -no-pie -Wl,--build-id");
	char exe[512], stripped[512], hex[130];
	snprintf(exe, sizeof(exe), "%s/fxb", tmpdir);
	snprintf(stripped, sizeof(stripped), "%s/fxb.stripped", tmpdir);
	struct truth t;
	get_truth(exe, &t);
	readelf_build_id(exe, hex, sizeof(hex));
	run("mkdir -p %s/dbg/.build-id/%.2s %s/empty", tmpdir, hex, tmpdir);
	run("objcopy --only-keep-debug %s %s/dbg/.build-id/%.2s/%s.debug", exe, tmpdir, hex, hex + 2);
	run("strip --strip-debug -o %s %s", stripped, exe);

	struct tli_elfinfo info;
	assert_null(tli_elf_read_info(stripped, &info));
	assert_false(info.has_debug_info);
	assert_true(info.has_symtab);
	char ours[130];
	tli_build_id_hex(info.build_id, info.build_id_len, ours, sizeof(ours));
	assert_string_equal(ours, hex);

	char dbgdir[512], emptydir[512];
	snprintf(dbgdir, sizeof(dbgdir), "%s/dbg", tmpdir);
	snprintf(emptydir, sizeof(emptydir), "%s/empty", tmpdir);
	const char *dirs[] = { emptydir, dbgdir };
	struct tli_dwarf_opts opts = { .debug_dirs = dirs, .n_debug_dirs = 2 };
	struct tli_dwarf *d;
	assert_null(tli_dwarf_open(stripped, &opts, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	assert_string_equal(tli_dwarf_debug_method(d), "build-id");
	assert_non_null(strstr(tli_dwarf_debug_path(d), ".build-id/"));
	uint8_t id[64];
	size_t idlen;
	assert_null(tli_dwarf_build_id(d, id, sizeof(id), &idlen));
	tli_build_id_hex(id, idlen, ours, sizeof(ours));
	assert_string_equal(ours, hex);
	assert_int_equal(check_truth(d, &t, 0, "build-id"), t.n);
	tli_dwarf_close(d);

	/* not found: open succeeds, has_dwarf false, queries say why */
	opts.n_debug_dirs = 1;
	assert_null(tli_dwarf_open(stripped, &opts, &d));
	assert_false(tli_dwarf_has_dwarf(d));
	struct tli_member m;
	struct tli_error *err = tli_dwarf_member(d, "outer", "c", &m);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "no DWARF in"));
	assert_non_null(strstr(err->msg, hex));
	assert_non_null(strstr(err->msg, emptydir));
	tli_error_destroy(err);
	/* the layout label says there is none, and the error text carries the reason */
	struct tli_layout *l;
	assert_null(tli_layout_create(&l));
	assert_null(tli_dwarf_add_to_layout(d, l));
	err = tli_layout_member(l, "outer", "c", &m);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "no layout for outer.c (asked: dwarf"));
	assert_non_null(strstr(err->msg, hex));
	tli_error_destroy(err);
	tli_layout_destroy(l);

	/* a debug file with the wrong build-id at the right path is refused */
	compile_fixture("fxother", "-g -O1 -no-pie -Wl,--build-id");
	run("objcopy --only-keep-debug %s/fxother %s/dbg/.build-id/%.2s/%s.debug", tmpdir, tmpdir,
	    hex, hex + 2);
	opts.n_debug_dirs = 2;
	assert_null(tli_dwarf_open(stripped, &opts, &d));
	assert_false(tli_dwarf_has_dwarf(d));
	tli_dwarf_close(d);

	/* --no-dwarf: even the embedded DWARF is ignored */
	struct tli_dwarf_opts nd = { .no_dwarf = true };
	assert_null(tli_dwarf_open(exe, &nd, &d));
	assert_false(tli_dwarf_has_dwarf(d));
	err = tli_dwarf_type_size(d, "outer", &(uint64_t){ 0 });
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "disabled"));
	tli_error_destroy(err);
	tli_dwarf_close(d);
}

static void test_separate_debuglink(void **state)
{
	(void)state;
	char dl[400], exe[512];
	snprintf(dl, sizeof(dl), "%s/dl", tmpdir);
	run("mkdir -p %s/.debug %s/dbgroot", dl, tmpdir);
	run("gcc -O0 -g -no-pie -Wl,--build-id=none -o %s/fxl %s/layout_fixture.c", dl, fixdir);
	snprintf(exe, sizeof(exe), "%s/fxl", dl);
	struct truth t;
	get_truth(exe, &t);
	run("cd %s && objcopy --only-keep-debug fxl fxl.dbg && strip --strip-debug fxl && "
	    "objcopy --add-gnu-debuglink=fxl.dbg fxl", dl);
	struct tli_elfinfo info;
	assert_null(tli_elf_read_info(exe, &info));
	assert_int_equal(info.build_id_len, 0);
	assert_true(info.has_debuglink);
	assert_string_equal(info.debuglink, "fxl.dbg");
	/* CRC oracle: zlib-compatible crc32 computed by gzip's trailer */
	char *crc = capture("gzip -c < %s/fxl.dbg | tail -c8 | od -An -tx4 -N4", dl);
	assert_int_equal(strtoul(crc, NULL, 16), info.debuglink_crc);
	free(crc);

	char root[512], real[512];
	snprintf(root, sizeof(root), "%s/dbgroot", tmpdir);
	assert_non_null(realpath(dl, real));
	const char *dirs[] = { root };
	struct tli_dwarf_opts opts = { .debug_dirs = dirs, .n_debug_dirs = 1 };
	struct tli_dwarf *d;
	/* 1. next to the file */
	assert_null(tli_dwarf_open(exe, &opts, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	assert_string_equal(tli_dwarf_debug_method(d), "debuglink");
	assert_int_equal(check_truth(d, &t, 0, "debuglink ."), t.n);
	tli_dwarf_close(d);
	/* 2. in .debug/ */
	run("mv %s/fxl.dbg %s/.debug/fxl.dbg", dl, dl);
	assert_null(tli_dwarf_open(exe, &opts, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	assert_non_null(strstr(tli_dwarf_debug_path(d), "/.debug/fxl.dbg"));
	assert_int_equal(check_truth(d, &t, 0, "debuglink .debug"), t.n);
	tli_dwarf_close(d);
	/* 3. under <debugdir>/<dir of the file>/ */
	run("mkdir -p %s%s && mv %s/.debug/fxl.dbg %s%s/fxl.dbg", root, real, dl, root, real);
	assert_null(tli_dwarf_open(exe, &opts, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	assert_non_null(strstr(tli_dwarf_debug_path(d), "dbgroot"));
	assert_int_equal(check_truth(d, &t, 0, "debuglink debugdir"), t.n);
	tli_dwarf_close(d);
	/* 4. CRC mismatch: refused */
	run("printf x >> %s%s/fxl.dbg", root, real);
	assert_null(tli_dwarf_open(exe, &opts, &d));
	assert_false(tli_dwarf_has_dwarf(d));
	assert_non_null(strstr(tli_dwarf_why_none(d), "fxl.dbg"));
	tli_dwarf_close(d);
}

/* ---------- ELF symbols and facts ---------- */

static unsigned long long readelf_field(const char *out, const char *label)
{
	const char *p = strstr(out, label);
	assert_non_null(p);
	p += strlen(label);
	while (*p == ' ' || *p == ':')
		p++;
	return strtoull(p, NULL, 0);
}

static void test_elfsym(void **state)
{
	(void)state;
	compile_fixture("fxs", "-g -no-pie");
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/fxs", tmpdir);
	struct truth t;
	get_truth(exe, &t);
	struct tli_elfsym *s;
	assert_null(tli_elfsym_open(exe, &s));
	assert_string_equal(tli_elfsym_table(s), ".symtab");
	size_t globals = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.it[i].kind != 'G')
			continue;
		struct tli_sym sym;
		assert_null(tli_elfsym_lookup(s, t.it[i].a, &sym));
		assert_int_equal(sym.value, t.it[i].x);
		assert_int_equal(sym.size, t.it[i].y);
		assert_int_equal(sym.type, STT_OBJECT);
		/* by address: inside the object, and its last byte */
		struct tli_sym at;
		uint64_t off;
		assert_null(tli_elfsym_lookup_addr(s, t.it[i].x + 1, &at, &off));
		assert_string_equal(at.name, t.it[i].a);
		assert_int_equal(off, 1);
		assert_null(tli_elfsym_lookup_addr(s, t.it[i].x + t.it[i].y - 1, &at, &off));
		assert_string_equal(at.name, t.it[i].a);
		globals++;
	}
	assert_true(globals >= 5);
	struct tli_sym sym;
	assert_null(tli_elfsym_lookup(s, "main", &sym));
	assert_int_equal(sym.type, STT_FUNC);
	assert_int_equal(sym.value, t.main_addr);
	assert_null(tli_elfsym_lookup(s, "g_tls", &sym));
	assert_int_equal(sym.type, STT_TLS);
	struct tli_error *err = tli_elfsym_lookup(s, "no_such_symbol", &sym);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	err = tli_elfsym_lookup_addr(s, 0x10, &sym, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	/* provider: globals only; TLS is not an address */
	struct tli_global g;
	err = tli_elfsym_provider_ops.global(s, "g_tls", &g);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	assert_null(tli_elfsym_provider_ops.member);
	/* count vs readelf: defined OBJECT/FUNC/TLS symbols of .symtab */
	char *cnt = capture("readelf -sW %s | awk '/Symbol table .\\.symtab/{on=1;next} /Symbol table/{on=0} "
			    "on && ($4==\"OBJECT\"||$4==\"FUNC\"||$4==\"TLS\") && $7!=\"UND\" && $8!=\"\"' | wc -l",
			    exe);
	assert_int_equal(strtoul(cnt, NULL, 10), tli_elfsym_count(s));
	free(cnt);
	tli_elfsym_close(s);

	/* strip -s: only .dynsym remains (no defined objects in it here) */
	run("strip -s -o %s/fxs.s %s", tmpdir, exe);
	char sp[512];
	snprintf(sp, sizeof(sp), "%s/fxs.s", tmpdir);
	err = tli_elfsym_open(sp, &s);
	if (!err) {
		assert_string_equal(tli_elfsym_table(s), ".dynsym");
		err = tli_elfsym_lookup(s, "g_outer", &sym);
		assert_non_null(err);
		tli_elfsym_close(s);
	}
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);

	/* ELF facts against readelf */
	struct tli_elfinfo info;
	assert_null(tli_elf_read_info(exe, &info));
	char *h = capture("readelf -hW %s", exe);
	assert_int_equal(info.entry, readelf_field(h, "Entry point address"));
	assert_non_null(strstr(h, "EXEC (Executable file)"));
	assert_int_equal(info.type, ET_EXEC);
	assert_non_null(strstr(h, "Advanced Micro Devices X86-64"));
	assert_int_equal(info.machine, EM_X86_64);
	free(h);
	char *lo = capture("readelf -lW %s | awk '$1==\"LOAD\"{print $3; exit}'", exe);
	assert_int_equal(info.min_load_vaddr, strtoull(lo, NULL, 0));
	free(lo);
	assert_true(info.has_symtab && info.has_debug_info);
	char hex[130], ours[130];
	readelf_build_id(exe, hex, sizeof(hex));
	tli_build_id_hex(info.build_id, info.build_id_len, ours, sizeof(ours));
	assert_string_equal(ours, hex);
	assert_null(tli_elf_read_info(sp, &info));
	assert_false(info.has_symtab);
	assert_false(info.has_debug_info);
}

/* ---------- hostile input ---------- */

static bool acceptable(struct tli_error *err)
{
	if (!err)
		return true;
	bool ok = err->code == TLI_E_BAD_FORMAT || err->code == TLI_E_NO_INFO ||
		  err->code == TLI_E_UNSUPPORTED;
	if (!ok)
		print_message("unexpected error code %d: %s\n", err->code, err->msg);
	tli_error_destroy(err);
	return ok;
}

static void poke_all(const char *path, const struct truth *t)
{
	struct tli_elfinfo info;
	assert_true(acceptable(tli_elf_read_info(path, &info)));
	struct tli_elfsym *s = NULL;
	struct tli_error *err = tli_elfsym_open(path, &s);
	assert_true(acceptable(err));
	if (s) {
		struct tli_sym sym;
		for (size_t i = 0; i < t->n; i++) {
			assert_true(acceptable(tli_elfsym_lookup(s, t->it[i].a, &sym)));
			assert_true(acceptable(tli_elfsym_lookup_addr(s, t->it[i].x, &sym, NULL)));
		}
		tli_elfsym_close(s);
	}
	struct tli_dwarf *d = NULL;
	err = tli_dwarf_open(path, NULL, &d);
	assert_true(acceptable(err));
	if (d) {
		for (size_t i = 0; i < t->n; i++) {
			struct tli_member m;
			uint64_t sz;
			struct tli_global g;
			int64_t c;
			assert_true(acceptable(tli_dwarf_member(d, t->it[i].a, t->it[i].b, &m)));
			assert_true(acceptable(tli_dwarf_type_size(d, t->it[i].a, &sz)));
			assert_true(acceptable(tli_dwarf_global(d, t->it[i].a, &g)));
			assert_true(acceptable(tli_dwarf_constant(d, t->it[i].a, &c)));
		}
		tli_dwarf_close(d);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	compile_fixture("fxm", "-g -no-pie");
	char exe[512], bad[512];
	snprintf(exe, sizeof(exe), "%s/fxm", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad.elf", tmpdir);
	struct truth t;
	get_truth(exe, &t);
	FILE *f = fopen(exe, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *orig = malloc(len), *buf = malloc(len);
	assert_true(fread(orig, 1, len, f) == (size_t)len);
	fclose(f);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)orig;
	size_t shoff = eh->e_shoff, shsz = (size_t)eh->e_shnum * eh->e_shentsize;
	size_t phoff = eh->e_phoff, phsz = (size_t)eh->e_phnum * eh->e_phentsize;
	assert_true(shoff + shsz <= (size_t)len);
	/* file ranges of .debug_info and .debug_abbrev: mutated on purpose too */
	size_t dbg_off[2] = { 0, 0 }, dbg_len[2] = { 1, 1 };
	{
		const Elf64_Shdr *sh = (const Elf64_Shdr *)(orig + shoff);
		const char *strs = (const char *)orig + sh[eh->e_shstrndx].sh_offset;
		for (size_t i = 0; i < eh->e_shnum; i++) {
			int k = !strcmp(strs + sh[i].sh_name, ".debug_info") ? 0 :
				!strcmp(strs + sh[i].sh_name, ".debug_abbrev") ? 1 : -1;
			if (k >= 0) {
				dbg_off[k] = sh[i].sh_offset;
				dbg_len[k] = sh[i].sh_size;
			}
		}
		assert_true(dbg_off[0] && dbg_off[1]);
	}

	/* missing, not ELF, empty */
	struct tli_elfinfo info;
	struct tli_error *err = tli_elf_read_info("/nonexistent/x", &info);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_TARGET);
	tli_error_destroy(err);
	struct tli_dwarf *d;
	err = tli_dwarf_open("/nonexistent/x", NULL, &d);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_TARGET);
	tli_error_destroy(err);
	char txt[512];
	snprintf(txt, sizeof(txt), "%s/layout_fixture.c", fixdir);
	err = tli_dwarf_open(txt, NULL, &d);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(err);

	/* truncations */
	long cuts[] = { 0, 4, 16, 63, 64, 65, 200, 1000, 4096, len / 3, len / 2, (long)shoff,
			(long)shoff + 64, len - 64, len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] < 0 || cuts[i] > len)
			continue;
		f = fopen(bad, "wb");
		fwrite(orig, 1, cuts[i], f);
		fclose(f);
		poke_all(bad, &t);
		if (cuts[i] < 64) {
			err = tli_elf_read_info(bad, &info);
			assert_non_null(err);
			assert_int_equal(err->code, TLI_E_BAD_FORMAT);
			tli_error_destroy(err);
		}
	}
	/* mutations of the headers, the section header table and random bytes */
	srand(12345);
	int iters = getenv("TLI_FUZZ_ITERS") ? atoi(getenv("TLI_FUZZ_ITERS")) : 400;
	for (int it = 0; it < iters; it++) {
		memcpy(buf, orig, len);
		int nmut = 1 + rand() % 8;
		for (int k = 0; k < nmut; k++) {
			size_t pos;
			switch (rand() % 6) {
			case 0: pos = rand() % 64; break;
			case 4: pos = dbg_off[0] + rand() % dbg_len[0]; break;
			case 5: pos = dbg_off[1] + rand() % dbg_len[1]; break;
			case 1: pos = phoff + (phsz ? rand() % phsz : 0); break;
			case 2: pos = shoff + rand() % shsz; break;
			default: pos = (size_t)rand() % (size_t)len; break;
			}
			if (pos >= (size_t)len)
				continue;
			int r = rand() % 3;
			buf[pos] = r == 0 ? 0xff : r == 1 ? 0 : (unsigned char)rand();
		}
		f = fopen(bad, "wb");
		fwrite(buf, 1, len, f);
		fclose(f);
		poke_all(bad, &t);
	}
	free(orig);
	free(buf);
}

/* ---------- Go ---------- */

/* A DIE as printed by readelf --debug-dump=info. */
struct rdie {
	uint64_t off;
	int depth;
	char tag[40];
	char *name;
	bool has_bs, has_ml, has_cv, has_addr, has_count, has_ub;
	uint64_t bs, ml, type, addr, count, ub;
	long long cv;
};

struct rdump {
	struct rdie *d;
	size_t n, cap;
};

static const char *attr_val(const char *line)
{
	const char *p = strstr(line, "DW_AT_");
	p = strchr(p, ':');
	if (!p)
		return "";
	p++;
	while (*p == ' ')
		p++;
	if (*p == '(' && strcspn(p, " )") < strlen(p) && p[strcspn(p, " )")] == ')' &&
	    p[strcspn(p, " )") + 1] == ' ')
		p += strcspn(p, " )") + 2; /* "(udata) 80": a form name, newer readelf */
	if (!strncmp(p, "(indirect", 9) || !strncmp(p, "(indexed", 8) || !strncmp(p, "(alt", 4)) {
		const char *q = strstr(p, "): ");
		if (q)
			p = q + 3;
	}
	return p;
}

static void readelf_parse(const char *exe, struct rdump *r)
{
	memset(r, 0, sizeof(*r));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=info %s 2>/dev/null", exe);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[8192];
	struct rdie *cur = NULL;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		int depth, abbrev;
		unsigned long long off;
		char tag[40];
		if (sscanf(line, " <%d><%llx>: Abbrev Number: %d (%39[^)])", &depth, &off, &abbrev, tag) == 4) {
			if (r->n == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 65536;
				r->d = realloc(r->d, r->cap * sizeof(*r->d));
				assert_non_null(r->d);
			}
			cur = &r->d[r->n++];
			memset(cur, 0, sizeof(*cur));
			cur->off = off;
			cur->depth = depth;
			strcpy(cur->tag, tag);
			continue;
		}
		if (strstr(line, "Abbrev Number: 0")) {
			cur = NULL;
			continue;
		}
		if (!cur || !strstr(line, "DW_AT_"))
			continue;
		const char *v = attr_val(line);
		if (strstr(line, "DW_AT_name ")) {
			cur->name = strdup(v);
		} else if (strstr(line, "DW_AT_byte_size")) {
			cur->has_bs = true;
			cur->bs = strtoull(v, NULL, 0);
		} else if (strstr(line, "DW_AT_data_member_location")) {
			cur->has_ml = true;
			cur->ml = strtoull(v, NULL, 0);
		} else if (strstr(line, "DW_AT_type")) {
			if (*v == '<')
				cur->type = strtoull(v + 1, NULL, 16); /* "<0x5e88c>" */
		} else if (strstr(line, "DW_AT_const_value")) {
			cur->has_cv = true;
			cur->cv = strtoll(v, NULL, 0);
		} else if (strstr(line, "DW_AT_location")) {
			const char *a = strstr(v, "(DW_OP_addr: ");
			if (a) {
				cur->has_addr = true;
				cur->addr = strtoull(a + 13, NULL, 16);
			}
		} else if (strstr(line, "DW_AT_count")) {
			cur->has_count = true;
			cur->count = strtoull(v, NULL, 0);
		} else if (strstr(line, "DW_AT_upper_bound")) {
			cur->has_ub = true;
			cur->ub = strtoull(v, NULL, 0);
		}
	}
	assert_int_equal(pclose(f), 0);
	assert_true(r->n > 1000);
}

static void rdump_free(struct rdump *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->d[i].name);
	free(r->d);
}

static struct rdie *r_at(struct rdump *r, uint64_t off)
{
	size_t lo = 0, hi = r->n; /* readelf prints DIEs in offset order */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->d[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->d[lo].off == off ? &r->d[lo] : NULL;
}

static struct rdie *r_top(struct rdump *r, const char *tag, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->d[i].depth == 1 && r->d[i].name && !strcmp(r->d[i].tag, tag) &&
		    !strcmp(r->d[i].name, name))
			return &r->d[i];
	return NULL;
}

static uint64_t r_size(struct rdump *r, struct rdie *t)
{
	for (int i = 0; t && i < 32; i++) {
		if (t->has_bs)
			return t->bs;
		if (!strcmp(t->tag, "DW_TAG_pointer_type"))
			return 8;
		if (!strcmp(t->tag, "DW_TAG_array_type")) {
			struct rdie *sub = t + 1;
			uint64_t n = sub->has_count ? sub->count : sub->has_ub ? sub->ub + 1 : 0;
			return n * r_size(r, r_at(r, t->type));
		}
		t = r_at(r, t->type); /* typedef etc. */
	}
	fail_msg("oracle: cannot size type");
	return 0;
}

/* offset/size of a dotted member path according to readelf. */
static void r_member(struct rdump *r, const char *type, const char *path, uint64_t *off,
		     uint64_t *size)
{
	struct rdie *st = r_top(r, "DW_TAG_structure_type", type);
	assert_non_null(st);
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	*off = 0;
	char *save = NULL;
	struct rdie *m = NULL;
	for (char *c = strtok_r(buf, ".", &save); c; c = strtok_r(NULL, ".", &save)) {
		while (st && strcmp(st->tag, "DW_TAG_structure_type"))
			st = r_at(r, st->type);
		assert_non_null(st);
		m = NULL;
		for (struct rdie *k = st + 1; k < r->d + r->n && k->depth > st->depth; k++)
			if (k->depth == st->depth + 1 && k->name && !strcmp(k->name, c) &&
			    !strcmp(k->tag, "DW_TAG_member"))
				m = k;
		if (!m)
			fail_msg("oracle: %s has no member %s", type, c);
		*off += m->ml;
		st = r_at(r, m->type);
	}
	*size = r_size(r, r_at(r, m->type));
}

static void go_check(const char *goroot, const char *ver, bool required)
{
	char gobin[512], exe[600], src[400];
	snprintf(gobin, sizeof(gobin), "%s/bin/go", goroot);
	if (access(gobin, X_OK) != 0) {
		if (required)
			skip();
		return;
	}
	snprintf(src, sizeof(src), "%s/go-%s", tmpdir, ver);
	snprintf(exe, sizeof(exe), "%s/goprog", src);
	run("mkdir -p %s && cp %s/go_layout/main.go %s/go_layout/go.mod %s/", src, fixdir, fixdir, src);
	int rc = run_rc("cd %s && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 "
			"%s build -o goprog . 2>%s/build.log", src, gobin, src);
	if (rc != 0) {
		if (required)
			fail_msg("go build with %s failed (see %s/build.log)", goroot, src);
		print_message("note: go build with %s failed; skipping that toolchain\n", goroot);
		return;
	}
	struct tli_dwarf *d;
	struct tli_error *err = tli_dwarf_open(exe, NULL, &d);
	if (err)
		fail_msg("%s", err->msg);
	assert_true(tli_dwarf_has_dwarf(d));
	struct tli_dwarf_stats st;
	tli_dwarf_get_stats(d, &st);
	print_message("go %s: DWARF indexed in %.2f ms (%zu units, %zu top-level DIEs, %zu types, "
		      "%zu variables, %zu constants); .debug_info compressed: %s\n",
		      ver, st.index_seconds * 1e3, st.units, st.dies, st.types, st.variables,
		      st.constants, section_compressed(exe, ".debug_info") ? "yes" : "no");

	struct rdump r;
	readelf_parse(exe, &r);
	static const char *const members[][2] = {
		{ "runtime.g", "goid" },      { "runtime.g", "sched.pc" },  { "runtime.g", "sched.sp" },
		{ "runtime.g", "stack.hi" },  { "runtime.g", "atomicstatus" },
		{ "runtime.g", "waitreason" }, { "runtime.hchan", "sendq" },
		{ "runtime.hchan", "recvq.first" }, { "runtime.sudog", "elem" },
		{ "runtime.sudog", "g" },
	};
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		uint64_t ooff, osz;
		r_member(&r, members[i][0], members[i][1], &ooff, &osz);
		struct tli_member m;
		err = tli_dwarf_member(d, members[i][0], members[i][1], &m);
		if (err)
			fail_msg("go %s: %s", ver, err->msg);
		if (m.offset != ooff || m.size != osz)
			fail_msg("go %s: %s.%s: ours %llu/%llu, readelf %llu/%llu", ver, members[i][0],
				 members[i][1], (unsigned long long)m.offset, (unsigned long long)m.size,
				 (unsigned long long)ooff, (unsigned long long)osz);
	}
	static const char *const types[] = { "runtime.g", "runtime.hchan", "runtime.sudog",
					     "runtime.gobuf" };
	for (size_t i = 0; i < 4; i++) {
		uint64_t sz;
		struct rdie *t = r_top(&r, "DW_TAG_structure_type", types[i]);
		assert_non_null(t);
		assert_null(tli_dwarf_type_size(d, types[i], &sz));
		assert_int_equal(sz, t->bs);
	}
	static const char *const consts[] = { "runtime._Gwaiting", "runtime._Grunnable",
					      "runtime._Gdead", "runtime.waitReasonChanSend",
					      "runtime.waitReasonChanReceive" };
	for (size_t i = 0; i < 5; i++) {
		struct rdie *c = r_top(&r, "DW_TAG_constant", consts[i]);
		assert_non_null(c);
		assert_true(c->has_cv);
		int64_t v;
		err = tli_dwarf_constant(d, consts[i], &v);
		if (err)
			fail_msg("go %s: %s", ver, err->msg);
		assert_int_equal(v, c->cv);
	}
	static const char *const globals[] = { "runtime.allgs", "runtime.allglen", "main.ch" };
	for (size_t i = 0; i < 3; i++) {
		struct tli_global g;
		err = tli_dwarf_global(d, globals[i], &g);
		if (err)
			fail_msg("go %s: %s", ver, err->msg);
		struct rdie *v = r_top(&r, "DW_TAG_variable", globals[i]);
		assert_non_null(v);
		if (v->has_addr) /* DW_OP_addr (DW_OP_addrx is checked by nm only) */
			assert_int_equal(g.addr, v->addr);
		char *nm = capture("cd %s && %s tool nm -size goprog | awk '$4==\"%s\"{print $1, $2}'",
				   src, gobin, globals[i]);
		unsigned long long a = 0, s = 0;
		assert_int_equal(sscanf(nm, "%llx %llu", &a, &s), 2);
		free(nm);
		assert_int_equal(g.addr, a);
		assert_int_equal(g.size, s);
	}
	/* the symbol table agrees too */
	struct tli_elfsym *s;
	assert_null(tli_elfsym_open(exe, &s));
	struct tli_sym sym;
	struct tli_global g;
	assert_null(tli_elfsym_lookup(s, "runtime.allgs", &sym));
	assert_null(tli_dwarf_global(d, "runtime.allgs", &g));
	assert_int_equal(sym.value, g.addr);
	/* resolver over the real providers: error names the query and providers */
	struct tli_layout *l;
	assert_null(tli_layout_create(&l));
	assert_null(tli_dwarf_add_to_layout(d, l));
	assert_null(tli_elfsym_add_to_layout(s, l));
	struct tli_member m;
	err = tli_layout_member(l, "runtime.g", "no_such_field", &m);
	assert_non_null(err);
	char want[700];
	snprintf(want, sizeof(want), "no layout for runtime.g.no_such_field (asked: dwarf %s)", exe);
	if (!strstr(err->msg, want))
		fail_msg("unexpected: %s", err->msg);
	tli_error_destroy(err);
	assert_true(tli_layout_has_member(l, "runtime.g", "goid", &m));
	assert_string_equal(tli_layout_last_source(l), "dwarf");
	tli_layout_destroy(l);
	rdump_free(&r);
}

static void test_go_119(void **state)
{
	(void)state;
	go_check("/usr/lib/go-1.19", "1.19", true);
}

static int vercmp(const void *a, const void *b)
{
	return strverscmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_go_newest(void **state)
{
	(void)state;
	glob_t gl;
	if (glob("/usr/lib/go-1.2*", 0, NULL, &gl) != 0 || gl.gl_pathc == 0) {
		print_message("note: no /usr/lib/go-1.2* toolchain installed; skipping\n");
		skip();
	}
	qsort(gl.gl_pathv, gl.gl_pathc, sizeof(char *), vercmp);
	/* the newest that has a go binary; TLI_GO_ALL=1: every one */
	bool all = getenv("TLI_GO_ALL") != NULL;
	for (size_t i = gl.gl_pathc; i-- > 0;) {
		char gobin[600];
		snprintf(gobin, sizeof(gobin), "%s/bin/go", gl.gl_pathv[i]);
		if (access(gobin, X_OK) == 0) {
			const char *ver = strrchr(gl.gl_pathv[i], '-') + 1;
			go_check(gl.gl_pathv[i], ver, false);
			if (!all)
				break;
		}
	}
	globfree(&gl);
}

/* ---------- main ---------- */

static int group_setup(void **state)
{
	(void)state;
	find_fixtures();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tli_test_dwarf_XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	unsetenv("DEBUGINFOD_URLS");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!getenv("TLI_KEEP_TMP") && tmpdir[0])
		run_rc("rm -rf %s", tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_variants),
		cmocka_unit_test(test_pie_bias),
		cmocka_unit_test(test_separate_build_id),
		cmocka_unit_test(test_separate_debuglink),
		cmocka_unit_test(test_elfsym),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_go_119),
		cmocka_unit_test(test_go_newest),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
