/* SPDX-License-Identifier: MIT */
/*
 * Go executable metadata against independent oracles:
 *  - version:     `go version <bin>` (and `go env GOVERSION` of the toolchain that built it)
 *  - build id:    `go tool buildid <bin>`
 *  - moduledata:  `go tool nm` symbols (runtime.text, runtime.etypes, go:func.*, runtime.firstmoduledata...)
 *                 of the unstripped build; ELF section headers (libelf) for the stripped builds
 *  - ELF facts, sections and file reads: libelf
 *  - hostile input: hundreds of corrupted/truncated copies must give errors, never crash.
 * Fixtures are built at run time with every /usr/lib/go-1.* toolchain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include "fixtures/go/gofixture.h"
#include "go/gobin.h"
#include "go/pclntab.h"

static struct gofx FX;
static uint8_t *slurp(const char *path, size_t *n);
static void put_file(const char *path, const uint8_t *buf, size_t n);

static int setup(void **state)
{
	(void)state;
	if (gofx_setup(&FX) != 0) {
		gofx_teardown(&FX);
		return -1;
	}
	gofx_print_tested(&FX);
	elf_version(EV_CURRENT);
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

/* First line of a command's output (trailing newline removed); "" on failure. */
static void cmd_line(const char *cmd, char *out, size_t n)
{
	out[0] = 0;
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(out, (int)n, p))
		out[strcspn(out, "\n")] = 0;
	while (fgetc(p) != EOF)
		;
	pclose(p);
}

static void test_have_toolchain(void **state)
{
	(void)state;
	if (FX.ntc == 0)
		fail_msg("no Go toolchain found in /usr/lib/go-1.*/bin/go");
}

static void test_version_and_buildid(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		const struct gofx_toolchain *tc = &FX.tc[i];
		for (int v = 0; v < GOFX_NVARIANT; v++) {
			const struct gofx_bin *fb = &tc->bins[v];
			struct tli_gobin *b = open_ok(fb->path);
			char cmd[2 * PATH_MAX], line[1024];
			/* `go version BIN` prints "BIN: go1.NN.P" (section-less copies: use the stripped original) */
			const char *src = v == GOFX_NOSHDR ? tc->bins[GOFX_STRIP].path
				        : v == GOFX_PIENOSHDR ? tc->bins[GOFX_PIESTRIP].path : fb->path;
			snprintf(cmd, sizeof(cmd), "GOTOOLCHAIN=local '%s' version '%s'", tc->go, src);
			cmd_line(cmd, line, sizeof(line));
			const char *ver = strstr(line, ": ");
			assert_non_null(ver);
			assert_non_null(tli_gobin_version(b));
			assert_string_equal(tli_gobin_version(b), ver + 2);
			assert_string_equal(tli_gobin_version(b), tc->version);
			assert_int_equal(tli_gobin_minor(b), tc->minor);
			snprintf(cmd, sizeof(cmd), "GOTOOLCHAIN=local '%s' tool buildid '%s'", tc->go, src);
			cmd_line(cmd, line, sizeof(line));
			assert_true(line[0]);
			assert_non_null(tli_gobin_buildid(b));
			assert_string_equal(tli_gobin_buildid(b), line);
			assert_int_equal(tli_gobin_is_pie(b), gofx_variant_pie[v]);
			tli_gobin_destroy(b);
		}
		fprintf(stderr, "  version+buildid == go version/go tool buildid: %s (%d variants)\n", tc->version,
			GOFX_NVARIANT);
	}
}

/* ELF facts, sections and reads against libelf. */
static void check_elf(const struct gofx_bin *fb, const char *src_with_shdrs)
{
	struct tli_gobin *b = open_ok(fb->path);
	int fd = open(src_with_shdrs, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	GElf_Ehdr eh;
	assert_non_null(gelf_getehdr(e, &eh));
	assert_int_equal(tli_gobin_is_pie(b), eh.e_type == ET_DYN);
	assert_int_equal(tli_gobin_entry(b), eh.e_entry);
	size_t nph;
	assert_int_equal(elf_getphdrnum(e, &nph), 0);
	uint64_t minv = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		assert_non_null(gelf_getphdr(e, (int)i, &ph));
		if (ph.p_type == PT_LOAD && ph.p_vaddr < minv)
			minv = ph.p_vaddr;
	}
	assert_int_equal(tli_gobin_min_vaddr(b), minv);
	bool has_shdrs = strcmp(fb->path, src_with_shdrs) == 0;
	size_t shstrndx;
	assert_int_equal(elf_getshdrstrndx(e, &shstrndx), 0);
	Elf_Scn *scn = NULL;
	size_t nread = 0;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		assert_non_null(gelf_getshdr(scn, &sh));
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		assert_non_null(name);
		uint64_t a, s;
		if (has_shdrs) {
			assert_true(tli_gobin_section(b, name, &a, &s));
			assert_int_equal(a, sh.sh_addr); /* section names are unique in Go binaries */
			assert_int_equal(s, sh.sh_size);
		} else {
			assert_false(tli_gobin_section(b, name, &a, &s));
		}
		if (!(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_TLS) || sh.sh_size == 0)
			continue;
		size_t len = sh.sh_size < 65536 ? sh.sh_size : 65536;
		uint8_t *buf = malloc(len);
		assert_null(tli_gobin_read(b, sh.sh_addr, buf, len));
		if (sh.sh_type == SHT_NOBITS) {
			for (size_t k = 0; k < len; k++)
				assert_int_equal(buf[k], 0);
		} else {
			Elf_Data *d = elf_rawdata(scn, NULL);
			assert_non_null(d);
			assert_memory_equal(buf, d->d_buf, len);
		}
		free(buf);
		nread++;
	}
	assert_true(nread >= 8);
	/* an address outside every PT_LOAD is a fault */
	uint8_t x;
	struct tli_error *err = tli_gobin_read(b, 0x10, &x, 1);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_FAULT);
	tli_error_destroy(err);
	elf_end(e);
	close(fd);
	tli_gobin_destroy(b);
}

static void test_elf_facts(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		const struct gofx_toolchain *tc = &FX.tc[i];
		for (int v = 0; v < GOFX_NVARIANT; v++) {
			const char *src = v == GOFX_NOSHDR ? tc->bins[GOFX_STRIP].path
				        : v == GOFX_PIENOSHDR ? tc->bins[GOFX_PIESTRIP].path : tc->bins[v].path;
			check_elf(&tc->bins[v], src);
		}
	}
}

/* `go tool nm` symbol address; 0 if absent. */
static uint64_t nm_sym(const char *nmout, const char *name)
{
	FILE *f = fopen(nmout, "r");
	assert_non_null(f);
	char line[4096];
	uint64_t r = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type[8], sym[4000];
		if (sscanf(line, "%llx %7s %3999s", &a, type, sym) == 3 && strcmp(sym, name) == 0) {
			r = a;
			break;
		}
	}
	fclose(f);
	return r;
}

static void test_moduledata(void **state)
{
	(void)state;
	for (size_t i = 0; i < FX.ntc; i++) {
		const struct gofx_toolchain *tc = &FX.tc[i];
		/* unstripped: against the linker's symbols */
		for (int v = GOFX_PLAIN; v <= GOFX_PIE; v++) {
			const struct gofx_bin *fb = &tc->bins[v];
			char cmd[3 * PATH_MAX], nmout[PATH_MAX];
			snprintf(nmout, sizeof(nmout), "%s/nm.out", FX.tmp);
			snprintf(cmd, sizeof(cmd), "GOTOOLCHAIN=local '%s' tool nm '%s' > '%s'", tc->go, fb->path, nmout);
			assert_int_equal(system(cmd), 0);
			struct tli_gobin *b = open_ok(fb->path);
			const struct tli_gomoduledata *md = tli_gobin_moduledata(b);
			assert_non_null(md);
			uint64_t gofunc = nm_sym(nmout, tc->minor >= 20 ? "go:func.*" : "go.func.*");
			assert_true(gofunc != 0);
			struct { const char *sym; uint64_t got; } f[] = {
				{ "runtime.firstmoduledata", md->addr },
				{ "runtime.text", md->text },           { "runtime.etext", md->etext },
				{ "runtime.noptrdata", md->noptrdata }, { "runtime.enoptrdata", md->enoptrdata },
				{ "runtime.data", md->data },           { "runtime.edata", md->edata },
				{ "runtime.bss", md->bss },             { "runtime.ebss", md->ebss },
				{ "runtime.noptrbss", md->noptrbss },   { "runtime.enoptrbss", md->enoptrbss },
				{ "runtime.types", md->types },         { "runtime.etypes", md->etypes },
				{ "runtime.rodata", md->rodata },
			};
			for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
				uint64_t want = nm_sym(nmout, f[k].sym);
				if (want != f[k].got)
					fail_msg("%s: moduledata %s: got %#llx, go tool nm %#llx", fb->path, f[k].sym,
						 (unsigned long long)f[k].got, (unsigned long long)want);
			}
			assert_int_equal(md->gofunc, gofunc);
			assert_string_equal(tli_gobin_moduledata_source(b), "symtab");
			/* pclntab textStart in use == runtime.text */
			assert_int_equal(tli_pclntab_text(tli_gobin_pclntab(b)), md->text);
			tli_gobin_destroy(b);
		}
		/* stripped: found without symbols, consistent with the section headers */
		for (int v = GOFX_STRIP; v < GOFX_NVARIANT; v++) {
			const struct gofx_bin *fb = &tc->bins[v];
			struct tli_gobin *b = open_ok(fb->path);
			const struct tli_gomoduledata *md = tli_gobin_moduledata(b);
			assert_non_null(md);
			const char *want_src = tc->minor >= 26 && (v == GOFX_STRIP || v == GOFX_PIESTRIP) ? ".go.module"
												      : "scan";
			assert_string_equal(tli_gobin_moduledata_source(b), want_src);
			const char *src = v == GOFX_NOSHDR ? tc->bins[GOFX_STRIP].path
				        : v == GOFX_PIENOSHDR ? tc->bins[GOFX_PIESTRIP].path : fb->path;
			struct tli_gobin *s = open_ok(src);
			uint64_t a, sz;
			assert_true(tli_gobin_section(s, ".text", &a, &sz));
			assert_int_equal(md->text, a);
			/* same link as the unstripped build (text identical, see test_pclntab): same etext, which
			 * was checked against runtime.etext above */
			struct tli_gobin *u = open_ok(tc->bins[gofx_variant_pie[v] ? GOFX_PIE : GOFX_PLAIN].path);
			assert_int_equal(md->etext, tli_gobin_moduledata(u)->etext);
			tli_gobin_destroy(u);
			assert_true(md->etext >= tli_pclntab_etext(tli_gobin_pclntab(b)));
			assert_true(tli_gobin_section(s, ".noptrdata", &a, &sz));
			assert_int_equal(md->noptrdata, a);
			assert_int_equal(md->enoptrdata, a + sz);
			assert_true(tli_gobin_section(s, ".data", &a, &sz));
			assert_int_equal(md->data, a);
			assert_int_equal(md->edata, a + sz);
			assert_true(tli_gobin_section(s, ".bss", &a, &sz));
			assert_int_equal(md->bss, a);
			assert_true(tli_gobin_section(s, ".noptrbss", &a, &sz));
			assert_int_equal(md->noptrbss, a);
			assert_int_equal(md->enoptrbss, a + sz);
			if (tc->minor >= 26) {
				assert_true(tli_gobin_section(s, ".go.module", &a, &sz));
				assert_int_equal(md->addr, a);
			}
			/* section-less copy: identical moduledata to its original */
			if (s != b) {
				const struct tli_gomoduledata *m2 = tli_gobin_moduledata(s);
				assert_non_null(m2);
				assert_memory_equal(md, m2, sizeof(*md));
			}
			tli_gobin_destroy(s);
			tli_gobin_destroy(b);
		}
		fprintf(stderr, "  moduledata == go tool nm / section headers: %s\n", tc->version);
	}
}

/* Without .go.buildinfo the version is unknown (-1), yet pclntab and moduledata (layout chosen by
 * validation) must give the same answers as with it. */
static void test_no_buildinfo(void **state)
{
	(void)state;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/nobuildinfo.bin", FX.tmp);
	for (size_t i = 0; i < FX.ntc; i++) {
		for (int v = GOFX_STRIP; v < GOFX_NVARIANT; v++) {
			const struct gofx_bin *fb = &FX.tc[i].bins[v];
			size_t n;
			uint8_t *buf = slurp(fb->path, &n);
			size_t hits = 0;
			for (uint8_t *p = buf; (p = memmem(p, n - (size_t)(p - buf), "\xff Go buildinf:", 14)); p++, hits++)
				p[1] = 'X';
			assert_int_equal(hits, 1);
			put_file(tmp, buf, n);
			free(buf);
			struct tli_gobin *a = open_ok(fb->path), *b = open_ok(tmp);
			assert_null(tli_gobin_version(b));
			assert_int_equal(tli_gobin_minor(b), -1);
			assert_non_null(tli_gobin_moduledata(b));
			assert_memory_equal(tli_gobin_moduledata(a), tli_gobin_moduledata(b), sizeof(struct tli_gomoduledata));
			struct tli_gofunc f;
			assert_null(tli_pclntab_lookup(tli_gobin_pclntab(b), "main.capture", &f));
			assert_int_equal(tli_pclntab_text(tli_gobin_pclntab(a)), tli_pclntab_text(tli_gobin_pclntab(b)));
			tli_gobin_destroy(a);
			tli_gobin_destroy(b);
		}
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct tli_gobin *b = NULL;
	struct tli_error *err = tli_gobin_open("/nonexistent/tli-no-such-file", &b);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_TARGET);
	assert_null(b);
	tli_error_destroy(err);
	/* a C executable (no Go metadata) */
	err = tli_gobin_open("/bin/true", &b);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NOT_GO);
	tli_error_destroy(err);
	/* not an ELF */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/notelf", FX.tmp);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho this is not an ELF file, but long enough for a header..............\n", f);
	fclose(f);
	err = tli_gobin_open(p, &b);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(err);
}

/* ---- hostile input ---- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(*n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *n, f), *n);
	fclose(f);
	return buf;
}

static void put_file(const char *path, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

static volatile size_t sink;

/* Exercise every API on an opened (possibly corrupt) binary. */
static size_t exercise(const struct tli_gobin *b)
{
	const struct tli_pclntab *t = tli_gobin_pclntab(b);
	uint64_t lo = tli_pclntab_text(t), hi = tli_pclntab_etext(t);
	size_t ok = 0;
	(void)tli_gobin_version(b);
	(void)tli_gobin_buildid(b);
	(void)tli_gobin_moduledata(b);
	for (int i = 0; i < 200; i++) {
		uint64_t pc = lo - 16 + rng() % (hi - lo + 32 + 1);
		struct tli_goframe fr[16];
		size_t n;
		struct tli_error *err = tli_pclntab_frames(t, pc, fr, 16, &n);
		if (!err) {
			ok++;
			for (size_t k = 0; k < n; k++) /* strings must be readable (ASan checks) */
				sink += strlen(fr[k].func) + strlen(fr[k].file);
		} else {
			assert_true(err->msg[0] != 0);
		}
		tli_error_destroy(err);
		struct tli_gofunc f;
		err = tli_pclntab_find(t, pc, &f);
		if (!err) {
			int32_t sp;
			const char *file;
			int32_t line;
			tli_error_destroy(tli_pclntab_spdelta(t, &f, pc, &sp));
			tli_error_destroy(tli_pclntab_fileline(t, &f, pc, &file, &line));
			sink += strlen(f.name);
		}
		tli_error_destroy(err);
		uint8_t buf[64];
		tli_error_destroy(tli_gobin_read(b, pc, buf, sizeof(buf)));
	}
	struct tli_gofunc f;
	tli_error_destroy(tli_pclntab_lookup(t, "runtime.goexit", &f));
	return ok;
}

static void corrupt_one(const char *orig, const char *tmp, int variants, size_t *opened, size_t *refused)
{
	size_t n;
	uint8_t *good = slurp(orig, &n);
	uint8_t *bad = malloc(n);
	assert_non_null(bad);
	/* the unmodified file works and symbolizes */
	struct tli_gobin *b = open_ok(orig);
	uint8_t hdr[16];
	const struct tli_pclntab *t = tli_gobin_pclntab(b);
	assert_null(tli_gobin_read(b, tli_pclntab_addr(t), hdr, sizeof(hdr)));
	uint8_t *ph = memmem(good, n, hdr, sizeof(hdr));
	assert_non_null(ph);
	size_t pcoff = (size_t)(ph - good);
	assert_true(exercise(b) > 0);
	tli_gobin_destroy(b);
	for (int it = 0; it < variants; it++) {
		memcpy(bad, good, n);
		size_t len = n;
		switch (it % 5) {
		case 0: /* random byte flips anywhere */
			for (int k = 0, m = 1 + (int)(rng() % 32); k < m; k++)
				bad[rng() % n] ^= (uint8_t)(1 + rng() % 255);
			break;
		case 1: /* flips inside the pclntab (header, functab, _func, pctab) */
			for (int k = 0, m = 1 + (int)(rng() % 16); k < m; k++) {
				size_t span = n - pcoff < (1u << 20) ? n - pcoff : (1u << 20);
				size_t o = pcoff + (k == 0 ? rng() % 72 : rng() % span);
				bad[o] ^= (uint8_t)(1 + rng() % 255);
			}
			break;
		case 2: /* random 32-bit values at aligned spots in the pclntab */
			for (int k = 0, m = 1 + (int)(rng() % 8); k < m; k++) {
				size_t span = n - pcoff < (1u << 20) ? n - pcoff : (1u << 20);
				size_t o = (pcoff + rng() % span) & ~(size_t)3;
				uint32_t v = (uint32_t)rng();
				if (o + 4 <= n)
					memcpy(bad + o, &v, 4);
			}
			break;
		case 3: /* truncation */
			len = (size_t)(rng() % n);
			break;
		default: /* ELF headers: e_phoff/e_shoff/program header fields */
			for (int k = 0, m = 1 + (int)(rng() % 4); k < m; k++)
				bad[rng() % 1024] ^= (uint8_t)(1 + rng() % 255);
			break;
		}
		put_file(tmp, bad, len);
		struct tli_error *err = tli_gobin_open(tmp, &b);
		if (err) {
			assert_true(err->msg[0] != 0);
			assert_true(err->code != TLI_OK);
			assert_null(b);
			tli_error_destroy(err);
			(*refused)++;
			continue;
		}
		exercise(b);
		tli_gobin_destroy(b);
		(*opened)++;
	}
	free(bad);
	free(good);
}

static void test_corrupt_input(void **state)
{
	(void)state;
	if (!FX.ntc)
		fail_msg("no Go toolchain");
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/corrupt.bin", FX.tmp);
	size_t opened = 0, refused = 0;
	const struct gofx_toolchain *first = &FX.tc[0], *last = &FX.tc[FX.ntc - 1];
	corrupt_one(first->bins[GOFX_PLAIN].path, tmp, 150, &opened, &refused);
	corrupt_one(first->bins[GOFX_PIENOSHDR].path, tmp, 100, &opened, &refused);
	corrupt_one(last->bins[GOFX_STRIP].path, tmp, 150, &opened, &refused);
	corrupt_one(last->bins[GOFX_PIE].path, tmp, 100, &opened, &refused);
	fprintf(stderr, "  corrupt input: %zu variants opened and exercised, %zu refused with an error\n", opened,
		refused);
	assert_int_equal(opened + refused, 500);
	assert_true(opened > 0 && refused > 0);
	/* too short to be an ELF */
	uint8_t tiny[16] = { 0x7f, 'E', 'L', 'F' };
	put_file(tmp, tiny, sizeof(tiny));
	struct tli_gobin *b;
	struct tli_error *err = tli_gobin_open(tmp, &b);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_BAD_FORMAT);
	tli_error_destroy(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_have_toolchain),
		cmocka_unit_test(test_version_and_buildid),
		cmocka_unit_test(test_elf_facts),
		cmocka_unit_test(test_moduledata),
		cmocka_unit_test(test_no_buildinfo),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_corrupt_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
