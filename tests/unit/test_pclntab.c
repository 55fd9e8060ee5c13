/* SPDX-License-Identifier: MIT */
/*
 * pclntab symbolization against the Go toolchain as oracle:
 *  1. runtime.Callers + runtime.CallersFrames printed by the fixture itself (incl. inlined frames),
 *  2. `go tool addr2line` for physical function + file:line of every function (non-PIE builds),
 *  3. DWARF CFI (.debug_frame, via libdw) for pcsp,
 *  4. stripped and unstripped builds (and copies without section headers) give identical answers.
 * Fixtures are built at run time with every /usr/lib/go-1.* toolchain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>

#include "fixtures/go/gofixture.h"
#include "go/gobin.h"
#include "go/pclntab.h"

static struct gofx FX;

static int setup(void **state)
{
	(void)state;
	if (gofx_setup(&FX) != 0) {
		gofx_teardown(&FX);
		return -1;
	}
	gofx_print_tested(&FX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gofx_teardown(&FX);
	return 0;
}

static struct tli_gobin *open_ok(const char *path)
{
	struct tli_gobin *b = NULL;
	struct tli_error *err = tli_gobin_open(path, &b);
	if (err)
		fail_msg("open %s: %s", path, err->msg);
	return b;
}

static void test_have_toolchain(void **state)
{
	(void)state;
	if (FX.ntc == 0)
		fail_msg("no Go toolchain found in /usr/lib/go-1.*/bin/go");
	assert_true(FX.tc[0].minor >= 18);
}

/* Oracle 1: every raw PC of runtime.Callers, expanded by tli_pclntab_frames(pc-1), must give the same
 * Function/File/Line sequence as runtime.CallersFrames. */
static void test_frames_vs_callers(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		for (int v = 0; v < GOFX_NVARIANT; v++) {
			const struct gofx_bin *fb = &FX.tc[i].bins[v];
			struct tli_gobin *b = open_ok(fb->path);
			const struct tli_pclntab *t = tli_gobin_pclntab(b);
			struct tli_gofunc cap;
			assert_null(tli_pclntab_lookup(t, "main.capture", &cap));
			uint64_t bias = fb->anchor - cap.entry;
			if (!gofx_variant_pie[v])
				assert_int_equal(bias, 0);
			size_t k = 0, ninl = 0;
			bool seen_method = false, seen_closure = false, seen_generic = false;
			while (k < fb->npcs) {
				uint64_t pc = fb->pcs[k].pc - bias;
				struct tli_gofunc f;
				struct tli_error *err = tli_pclntab_find(t, pc, &f);
				if (err)
					fail_msg("%s: pc %#llx: %s", fb->path, (unsigned long long)pc, err->msg);
				uint64_t look = pc > f.entry ? pc - 1 : pc; /* CallersFrames' rule */
				struct tli_goframe fr[32];
				size_t n = 0;
				assert_null(tli_pclntab_frames(t, look, fr, 32, &n));
				assert_true(n >= 1);
				for (size_t j = 0; j < n; j++) {
					if (k + j >= fb->npcs)
						fail_msg("%s: pc %#llx expands beyond the Callers list", fb->path,
							 (unsigned long long)pc);
					const struct gofx_pc *o = &fb->pcs[k + j];
					char pname[512];
					tli_go_funcname_print(fr[j].func, FX.tc[i].minor, pname, sizeof(pname));
					if (strcmp(pname, o->func) || strcmp(fr[j].file, o->file) ||
					    fr[j].line != o->line)
						fail_msg("%s: pc %#llx frame %zu: got %s %s:%d, runtime says %s %s:%d",
							 fb->path, (unsigned long long)pc, j, fr[j].func, fr[j].file,
							 fr[j].line, o->func, o->file, o->line);
					assert_int_equal(fr[j].inlined, j + 1 < n);
					assert_int_equal(fr[j].entry, f.entry);
					ninl += fr[j].inlined;
					seen_method |= strcmp(o->func, "main.(*T).method") == 0;
					seen_closure |= strcmp(o->func, "main.main.func1") == 0;
					seen_generic |= strncmp(o->func, "main.generic[", 13) == 0;
				}
				k += n;
			}
			/* leafChain, inlA, inlB inlined into (*T).method; viaGeneric into main.main */
			if (ninl < 4)
				fail_msg("%s: only %zu inlined frames", fb->path, ninl);
			assert_true(seen_method && seen_closure && seen_generic);
			tli_gobin_destroy(b);
		}
		fprintf(stderr, "  frames == runtime.CallersFrames: %s, %d variants\n", FX.tc[i].version,
			GOFX_NVARIANT);
	}
}

/* Oracle 2: go tool addr2line, for entry and middle of every function of the non-PIE builds. */
static void check_addr2line(const struct gofx_toolchain *tc, const struct gofx_bin *fb, const char *tmp)
{
	struct tli_gobin *b = open_ok(fb->path);
	const struct tli_pclntab *t = tli_gobin_pclntab(b);
	size_t nf = tli_pclntab_nfunc(t);
	char in[PATH_MAX + 16], out[PATH_MAX + 16], cmd[6 * PATH_MAX];
	snprintf(in, sizeof(in), "%s/a2l.in", tmp);
	snprintf(out, sizeof(out), "%s/a2l.out", tmp);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	uint64_t *pcs = calloc(2 * nf, sizeof(*pcs));
	size_t np = 0;
	for (size_t i = 0; i < nf; i++) {
		struct tli_gofunc g;
		assert_null(tli_pclntab_func_at(t, i, &g));
		pcs[np++] = g.entry;
		if (g.end - g.entry > 2)
			pcs[np++] = g.entry + (g.end - g.entry) / 2;
	}
	for (size_t i = 0; i < np; i++)
		fprintf(f, "%#llx\n", (unsigned long long)pcs[i]);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "GOTOOLCHAIN=local '%s' tool addr2line '%s' < '%s' > '%s'", tc->go, fb->path, in, out);
	assert_int_equal(system(cmd), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	char l1[4096], l2[4096];
	size_t checked = 0;
	for (size_t i = 0; i < np; i++) {
		if (!fgets(l1, sizeof(l1), f) || !fgets(l2, sizeof(l2), f))
			fail_msg("%s: addr2line output too short at %zu", fb->path, i);
		l1[strcspn(l1, "\n")] = 0;
		l2[strcspn(l2, "\n")] = 0;
		struct tli_gofunc g;
		struct tli_error *err = tli_pclntab_find(t, pcs[i], &g);
		if (l2[0] == ':' && atoi(l2 + 1) < 0 && err == NULL) { /* no file/line info (":-1", ":-2") */
			const char *file;
			int32_t line;
			struct tli_error *e2 = tli_pclntab_fileline(t, &g, pcs[i], &file, &line);
			if (!e2 || strcmp(l1, g.name))
				fail_msg("%s: pc %#llx: addr2line %s (no line), we %s", fb->path,
					 (unsigned long long)pcs[i], l1, g.name);
			tli_error_destroy(e2);
			continue;
		}
		if (strcmp(l1, "?") == 0) { /* addr2line knows nothing: we must not either */
			if (!err)
				fail_msg("%s: pc %#llx: addr2line says ?, we say %s", fb->path,
					 (unsigned long long)pcs[i], g.name);
			tli_error_destroy(err);
			continue;
		}
		assert_null(err);
		const char *file;
		int32_t line;
		err = tli_pclntab_fileline(t, &g, pcs[i], &file, &line);
		if (err)
			fail_msg("%s: pc %#llx (%s): %s", fb->path, (unsigned long long)pcs[i], g.name, err->msg);
		char mine[4096];
		snprintf(mine, sizeof(mine), "%s:%d", file, line);
		if (strcmp(l1, g.name) || strcmp(l2, mine))
			fail_msg("%s: pc %#llx: addr2line %s %s, we %s %s", fb->path, (unsigned long long)pcs[i], l1, l2,
				 g.name, mine);
		checked++;
	}
	fclose(f);
	assert_true(checked > nf);
	fprintf(stderr, "  addr2line: %s %s: %zu pcs identical\n", tc->version, gofx_variant_name[fb - tc->bins], checked);
	free(pcs);
	tli_gobin_destroy(b);
}

static void test_addr2line(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		check_addr2line(&FX.tc[i], &FX.tc[i].bins[GOFX_PLAIN], FX.tmp);
		check_addr2line(&FX.tc[i], &FX.tc[i].bins[GOFX_STRIP], FX.tmp);
	}
}

/* Oracle 3: pcsp against the compiler's DWARF CFI: CFA = rsp + spdelta + 8. */
static void check_pcsp(const struct gofx_toolchain *tc, const struct gofx_bin *fb)
{
	struct tli_gobin *b = open_ok(fb->path);
	const struct tli_pclntab *t = tli_gobin_pclntab(b);
	int fd = open(fb->path, O_RDONLY);
	assert_true(fd >= 0);
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw)
		fail_msg("%s: libdw: %s", fb->path, dwarf_errmsg(-1));
	Dwarf_CFI *cfi = dwarf_getcfi(dw);
	if (!cfi)
		fail_msg("%s: no .debug_frame: %s", fb->path, dwarf_errmsg(-1));
	size_t nf = tli_pclntab_nfunc(t), checked = 0;
	for (size_t i = 0; i < nf; i++) {
		struct tli_gofunc g;
		assert_null(tli_pclntab_func_at(t, i, &g));
		uint64_t len = g.end - g.entry, step = len / 7 + 1;
		for (uint64_t pc = g.entry; pc < g.end; pc += step) {
			Dwarf_Frame *fr;
			if (dwarf_cfi_addrframe(cfi, pc, &fr) != 0)
				continue; /* no CFI for this function (some assembly) */
			Dwarf_Op *ops;
			size_t nops;
			bool simple = dwarf_frame_cfa(fr, &ops, &nops) == 0 && nops == 1 &&
				      (ops[0].atom == DW_OP_bregx && ops[0].number == 7);
			int64_t off = simple ? (int64_t)ops[0].number2 : 0;
			free(fr);
			if (!simple)
				continue;
			int32_t sp;
			struct tli_error *err = tli_pclntab_spdelta(t, &g, pc, &sp);
			if (err)
				fail_msg("%s: %s pc %#llx: %s", fb->path, g.name, (unsigned long long)pc, err->msg);
			if (sp + 8 != off)
				fail_msg("%s: %s pc %#llx: spdelta %d, DWARF CFA rsp+%lld", fb->path, g.name,
					 (unsigned long long)pc, sp, (long long)off);
			checked++;
		}
	}
	assert_true(checked > nf);
	fprintf(stderr, "  pcsp == DWARF CFI: %s %s: %zu pcs\n", tc->version, gofx_variant_name[fb - tc->bins], checked);
	dwarf_end(dw);
	close(fd);
	tli_gobin_destroy(b);
}

static void test_pcsp_vs_dwarf(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		check_pcsp(&FX.tc[i], &FX.tc[i].bins[GOFX_PLAIN]);
		check_pcsp(&FX.tc[i], &FX.tc[i].bins[GOFX_PIE]);
	}
}

/* Stripped (and section-less) builds must give identical answers to the unstripped build. */
static void same_answers(const char *a_path, const char *b_path)
{
	struct tli_gobin *a = open_ok(a_path), *b = open_ok(b_path);
	const struct tli_pclntab *ta = tli_gobin_pclntab(a), *tb = tli_gobin_pclntab(b);
	assert_int_equal(tli_pclntab_nfunc(ta), tli_pclntab_nfunc(tb));
	for (size_t i = 0; i < tli_pclntab_nfunc(ta); i++) {
		struct tli_gofunc fa, fb;
		assert_null(tli_pclntab_func_at(ta, i, &fa));
		assert_null(tli_pclntab_func_at(tb, i, &fb));
		assert_int_equal(fa.entry, fb.entry);
		assert_int_equal(fa.end, fb.end);
		assert_string_equal(fa.name, fb.name);
		for (uint64_t pc = fa.entry; pc < fa.end; pc += (fa.end - fa.entry) / 5 + 1) {
			struct tli_goframe ra[32], rb[32];
			size_t na, nb;
			assert_null(tli_pclntab_frames(ta, pc, ra, 32, &na));
			assert_null(tli_pclntab_frames(tb, pc, rb, 32, &nb));
			assert_int_equal(na, nb);
			for (size_t j = 0; j < na; j++) {
				assert_string_equal(ra[j].func, rb[j].func);
				assert_string_equal(ra[j].file, rb[j].file);
				assert_int_equal(ra[j].line, rb[j].line);
				assert_int_equal(ra[j].inlined, rb[j].inlined);
				assert_int_equal(ra[j].funcid, rb[j].funcid);
			}
			int32_t sa = 0, sb = 0;
			struct tli_error *ea = tli_pclntab_spdelta(ta, &fa, pc, &sa), *eb = tli_pclntab_spdelta(tb, &fb, pc, &sb);
			assert_int_equal(ea == NULL, eb == NULL);
			assert_int_equal(sa, sb);
			tli_error_destroy(ea);
			tli_error_destroy(eb);
		}
	}
	tli_gobin_destroy(a);
	tli_gobin_destroy(b);
}

static void test_stripped_identical(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		const struct gofx_toolchain *tc = &FX.tc[i];
		same_answers(tc->bins[GOFX_PLAIN].path, tc->bins[GOFX_STRIP].path);
		same_answers(tc->bins[GOFX_STRIP].path, tc->bins[GOFX_NOSHDR].path);
		same_answers(tc->bins[GOFX_PIE].path, tc->bins[GOFX_PIESTRIP].path);
		same_answers(tc->bins[GOFX_PIESTRIP].path, tc->bins[GOFX_PIENOSHDR].path);
		fprintf(stderr, "  stripped == unstripped: %s\n", tc->version);
	}
}

/* find: out-of-text pcs fail with TLI_E_NO_INFO; lookup of an absent name fails. */
static void test_find_bounds(void **state)
{
	(void)state;
	if (!FX.ntc)
		fail_msg("no Go toolchain");
	struct tli_gobin *b = open_ok(FX.tc[0].bins[GOFX_PLAIN].path);
	const struct tli_pclntab *t = tli_gobin_pclntab(b);
	struct tli_gofunc f, last;
	assert_null(tli_pclntab_func_at(t, 0, &f));
	assert_null(tli_pclntab_func_at(t, tli_pclntab_nfunc(t) - 1, &last));
	struct tli_error *err = tli_pclntab_find(t, f.entry - 1, &f);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	err = tli_pclntab_find(t, last.end, &f);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	tli_error_destroy(err);
	err = tli_pclntab_lookup(t, "no.such.function", &f);
	assert_non_null(err);
	tli_error_destroy(err);
	/* runtime.goexit is found by name and by every pc in it */
	assert_null(tli_pclntab_lookup(t, "runtime.goexit", &f));
	struct tli_gofunc g;
	assert_null(tli_pclntab_find(t, f.end - 1, &g));
	assert_string_equal(g.name, "runtime.goexit");
	tli_gobin_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_have_toolchain),
		cmocka_unit_test(test_frames_vs_callers),
		cmocka_unit_test(test_addr2line),
		cmocka_unit_test(test_pcsp_vs_dwarf),
		cmocka_unit_test(test_stripped_identical),
		cmocka_unit_test(test_find_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
