/* SPDX-License-Identifier: MIT */
/*
 * Stripped-libc finder and glibc runtime maps, against the debug info of every libc at hand:
 *   2.36  the system libc + libc6-dbg (/usr/lib/debug)
 *   2.41  tests/out/glibc-dl/trixie/root   (tests/integration/glibc/fetch-glibcs.sh)
 *   2.31  tests/out/glibc-dl/bullseye/root
 *   2.35  tests/out/glibc-dl/jammy/root      (Ubuntu 22.04)
 *   2.39  tests/out/glibc-dl/noble/root      (Ubuntu 24.04)
 * Oracles: libc6-dbg's DWARF (main_arena, mp_ addresses; tcache's TLS offset; every member
 * of the committed map) and its .symtab (main_arena, mp_), the relocation table of the libc
 * (R_X86_64_TPOFF64 slots read here with libelf), glibc's own gnu_get_libc_version() for the
 * system libc. Missing libcs are reported and skipped; the system one must exist.
 * Hostile: mutated and truncated images give a clear error, never a crash.
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
#include <gelf.h>
#include <gnu/libc-version.h>

#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"
#include "runtime_maps/maps.h"

struct libc_case {
	const char *key;       /* expected map key; NULL = from gnu_get_libc_version() */
	const char *libc;
	const char *debug_dir;
	const char *deb_glob;  /* package file whose name carries the version (oracle) */
};

static const struct libc_case cases[] = {
	{ NULL, "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/debug", NULL },
	{ "2.41", "tests/out/glibc-dl/trixie/root/usr/lib/x86_64-linux-gnu/libc.so.6",
	  "tests/out/glibc-dl/trixie/root/usr/lib/debug", "tests/out/glibc-dl/trixie/libc6_2.41-" },
	{ "2.31", "tests/out/glibc-dl/bullseye/root/lib/x86_64-linux-gnu/libc.so.6",
	  "tests/out/glibc-dl/bullseye/root/usr/lib/debug", "tests/out/glibc-dl/bullseye/libc6_2.31-" },
	{ "2.35", "tests/out/glibc-dl/jammy/root/lib/x86_64-linux-gnu/libc.so.6",
	  "tests/out/glibc-dl/jammy/root/usr/lib/debug", "tests/out/glibc-dl/jammy/libc6_2.35-" },
	{ "2.39", "tests/out/glibc-dl/noble/root/usr/lib/x86_64-linux-gnu/libc.so.6",
	  "tests/out/glibc-dl/noble/root/usr/lib/debug", "tests/out/glibc-dl/noble/libc6_2.39-" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = b ? (size_t)n : 0;
	return b;
}

/* Is there a file whose name starts with `prefix` (a dir + file-name prefix)? */
static bool have_prefix(const char *prefix)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls %s* >/dev/null 2>&1", prefix);
	return system(cmd) == 0;
}

static bool available(const struct libc_case *c)
{
	return access(c->libc, R_OK) == 0 && access(c->debug_dir, R_OK) == 0;
}

static const char *key_of(const struct libc_case *c, char *buf, size_t cap)
{
	if (c->key)
		return c->key;
	snprintf(buf, cap, "%s", gnu_get_libc_version());
	return buf;
}

static struct tli_map *load_map(const char *key)
{
	char path[256];
	snprintf(path, sizeof(path), "runtime-maps/glibc/%s.map", key);
	struct tli_map *m = NULL;
	struct tli_error *err = tli_map_load(path, &m);
	if (err)
		fail_msg("%s: %s", path, err->msg);
	return m;
}

static struct tli_dwarf *open_dwarf(const struct libc_case *c)
{
	const char *dirs[] = { c->debug_dir };
	struct tli_dwarf_opts o = { .debug_dirs = dirs, .n_debug_dirs = 1 };
	struct tli_dwarf *d = NULL;
	assert_null(tli_dwarf_open(c->libc, &o, &d));
	assert_true(tli_dwarf_has_dwarf(d));
	return d;
}

/* Every TP-offset relocation (ELF type `type`, symbol 0) slot of the libc whose addend is `addend`:
 * count, first. */
static size_t tpoff_slots_of(const char *path, uint32_t type, uint64_t addend, uint64_t *first)
{
	size_t len, n = 0;
	uint8_t *b = slurp(path, &len);
	assert_non_null(b);
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)b, len);
	assert_non_null(e);
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sizeof(Elf64_Rela); i++) {
			GElf_Rela r;
			if (gelf_getrela(d, (int)i, &r) && GELF_R_TYPE(r.r_info) == type && GELF_R_SYM(r.r_info) == 0 &&
			    (uint64_t)r.r_addend == addend) {
				if (!n)
					*first = r.r_offset;
				n++;
			}
		}
	}
	elf_end(e);
	free(b);
	return n;
}

/* R_X86_64_TPOFF64 slots */
static size_t tpoff_slots(const char *path, uint64_t addend, uint64_t *first)
{
	return tpoff_slots_of(path, 18, addend, first);
}

/* ------------------------------------------------------------------------- version */

static void test_version_banner(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		const struct libc_case *c = &cases[i];
		if (access(c->libc, R_OK) != 0) {
			assert_true(i != 0); /* the system libc is always there */
			print_message("skip %s (run tests/integration/glibc/fetch-glibcs.sh)\n", c->libc);
			continue;
		}
		char key[32], banner[512], kb[32];
		assert_null(tli_libc_version(c->libc, key, sizeof(key), banner, sizeof(banner)));
		assert_string_equal(key, key_of(c, kb, sizeof(kb)));
		if (c->deb_glob)
			assert_true(have_prefix(c->deb_glob)); /* the package it came from says the same */
		assert_true(!strncmp(banner, "GNU C Library", 13));
		assert_non_null(strstr(banner, key));
	}
	static const char text[] = "xx GNU C Library (X) stable release version 2.99.\nyy";
	char key[32], banner[128];
	assert_null(tli_libc_version_mem(text, sizeof(text), "t", key, sizeof(key), banner, sizeof(banner)));
	assert_string_equal(key, "2.99");
	assert_string_equal(banner, "GNU C Library (X) stable release version 2.99");
	static const char bad1[] = "release version 2.36";                /* no banner before it */
	static const char bad2[] = "GNU C Library release version 2.";   /* no minor */
	static const char bad3[] = "GNU C Library release version ";
	const char *bads[] = { bad1, bad2, bad3 };
	for (size_t i = 0; i < 3; i++) {
		struct tli_error *e = tli_libc_version_mem(bads[i], strlen(bads[i]), "bad", key, sizeof(key), NULL, 0);
		assert_non_null(e);
		assert_int_equal(e->code, TLI_E_NO_INFO);
		assert_non_null(strstr(e->msg, "banner"));
		tli_error_destroy(e);
	}
}

/* ------------------------------------------------------------------------- maps = DWARF */

static void test_map_equals_dwarf(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		const struct libc_case *c = &cases[i];
		if (!available(c)) {
			assert_true(i != 0);
			print_message("skip %s\n", c->libc);
			continue;
		}
		char kb[32];
		const char *key = key_of(c, kb, sizeof(kb));
		struct tli_map *m = load_map(key);
		char want[48];
		snprintf(want, sizeof(want), "glibc%s", key);
		assert_string_equal(tli_map_kind(m), "glibc");
		assert_string_equal(tli_map_version(m), want);
		struct tli_dwarf *d = open_dwarf(c);
		/* the map's source line names this libc's build-id */
		uint8_t bid[64];
		size_t bl;
		char hex[129];
		assert_null(tli_dwarf_build_id(d, bid, sizeof(bid), &bl));
		tli_build_id_hex(bid, bl, hex, sizeof(hex));
		assert_non_null(strstr(tli_map_source(m), hex));
		assert_true(tli_map_nmembers(m) >= 30);
		for (size_t k = 0; k < tli_map_nmembers(m); k++) {
			const char *t, *p;
			struct tli_member mm, dm;
			tli_map_member_at(m, k, &t, &p, &mm);
			assert_null(tli_dwarf_member(d, t, p, &dm));
			if (mm.offset != dm.offset || mm.size != dm.size)
				fail_msg("glibc %s: %s.%s map %llu/%llu, DWARF %llu/%llu", key, t, p,
					 (unsigned long long)mm.offset, (unsigned long long)mm.size,
					 (unsigned long long)dm.offset, (unsigned long long)dm.size);
		}
		/* every struct the walker asks for, with its DWARF size */
		const char *structs[] = { "malloc_state", "malloc_par", "heap_info", "malloc_chunk",
					  "tcache_perthread_struct", "tcache_entry" };
		for (size_t k = 0; k < 6; k++) {
			uint64_t ms, ds;
			assert_null(tli_map_type_size(m, structs[k], &ms));
			assert_null(tli_dwarf_type_size(d, structs[k], &ds));
			assert_int_equal(ms, ds);
		}
		tli_dwarf_close(d);
		tli_map_free(m);
	}
}

/* ------------------------------------------------------------------------- finder = DWARF */

static void test_finder_equals_debug_info(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		const struct libc_case *c = &cases[i];
		if (!available(c)) {
			assert_true(i != 0);
			print_message("skip %s\n", c->libc);
			continue;
		}
		char kb[32];
		const char *key = key_of(c, kb, sizeof(kb));
		struct tli_map *m = load_map(key);
		struct tli_libcfind r;
		struct tli_error *err = tli_libcfind_file(c->libc, m, TLI_LIBCFIND_ARENA | TLI_LIBCFIND_MP |
							  TLI_LIBCFIND_TCACHE, &r);
		if (err)
			fail_msg("glibc %s: %s", key, err->msg);
		struct tli_dwarf *d = open_dwarf(c);
		struct tli_global g;
		assert_null(tli_dwarf_global(d, "main_arena", &g));
		assert_int_equal(r.main_arena, g.addr);
		assert_null(tli_dwarf_global(d, "mp_", &g));
		assert_int_equal(r.mp, g.addr);
		/* and the debug file's symbol table agrees */
		struct tli_elfsym *sym = NULL;
		assert_null(tli_elfsym_open(tli_dwarf_debug_path(d), &sym));
		struct tli_layout *l = NULL;
		assert_null(tli_layout_create(&l));
		assert_null(tli_elfsym_add_to_layout(sym, l));
		assert_null(tli_layout_global(l, "main_arena", &g));
		assert_int_equal(r.main_arena, g.addr);
		assert_null(tli_layout_global(l, "mp_", &g));
		assert_int_equal(r.mp, g.addr);
		tli_layout_destroy(l);
		/* tcache: the addend is DWARF's TLS offset; the slot is the (only) TPOFF64 slot for it */
		uint64_t tls;
		assert_null(tli_dwarf_tls_offset(d, "tcache", &tls));
		assert_true(r.has_tcache);
		assert_false(r.tcache_direct);
		assert_int_equal(r.tcache_tls_offset, tls);
		uint64_t slot = 0;
		assert_int_equal(tpoff_slots(c->libc, tls, &slot), 1);
		assert_int_equal(r.tcache_got, slot);
		print_message("glibc %s: main_arena 0x%llx (%u functions), mp_ 0x%llx (%u), tcache GOT 0x%llx "
			      "TLS +0x%llx = DWARF\n", key, (unsigned long long)r.main_arena, r.main_arena_votes,
			      (unsigned long long)r.mp, r.mp_votes, (unsigned long long)r.tcache_got,
			      (unsigned long long)r.tcache_tls_offset);
		assert_true(r.main_arena_votes >= 3);
		tli_dwarf_close(d);
		tli_map_free(m);
	}
}

/* The map must fit the libc: a map of the other malloc_par layout is refused by the image check. */
static void test_wrong_map_refused(void **state)
{
	(void)state;
	if (!available(&cases[2])) {
		print_message("skip (no 2.31)\n");
		return;
	}
	struct tli_map *m231 = load_map("2.31");
	struct tli_libcfind r;
	struct tli_error *err = tli_libcfind_file(cases[0].libc, m231, TLI_LIBCFIND_MP, &r);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_NO_INFO);
	assert_non_null(strstr(err->msg, "mp_"));
	tli_error_destroy(err);
	tli_map_free(m231);
}

/* ------------------------------------------------------------------------- hostile */

static uint64_t file_off(const uint8_t *b, size_t len, uint64_t va)
{
	Elf *e = elf_memory((char *)b, len);
	size_t n = 0;
	uint64_t r = UINT64_MAX;
	elf_getphdrnum(e, &n);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && va >= ph.p_vaddr &&
		    va < ph.p_vaddr + ph.p_filesz)
			r = ph.p_offset + (va - ph.p_vaddr);
	}
	elf_end(e);
	return r;
}

static void expect_error(const uint8_t *b, size_t len, const struct tli_map *m, unsigned what, const char *needle)
{
	struct tli_libcfind r;
	struct tli_error *err = tli_libcfind_mem(b, len, "mutated-libc", m, what, &r);
	if (!err)
		fail_msg("no error for a libc mutated to break %s", needle);
	if (!strstr(err->msg, needle))
		fail_msg("error \"%s\" does not name %s", err->msg, needle);
	assert_non_null(strstr(err->msg, "mutated-libc"));
	tli_error_destroy(err);
}

static void test_hostile(void **state)
{
	(void)state;
	char kb[32];
	const struct libc_case *c = &cases[0];
	struct tli_map *m = load_map(key_of(c, kb, sizeof(kb)));
	size_t len;
	uint8_t *orig = slurp(c->libc, &len);
	assert_non_null(orig);
	uint8_t *b = malloc(len);
	assert_non_null(b);
	struct tli_libcfind good;
	assert_null(tli_libcfind_mem(orig, len, "libc", m, 7, &good));
	struct tli_member att, tcount;
	assert_null(tli_map_member(m, "malloc_state", "attached_threads", &att));
	assert_null(tli_map_member(m, "malloc_par", "tcache_count", &tcount));
	elf_version(EV_CURRENT);

	/* main_arena's image no longer says attached_threads = 1 */
	memcpy(b, orig, len);
	uint64_t o = file_off(b, len, good.main_arena + att.offset);
	assert_true(o < len);
	b[o] = 2;
	expect_error(b, len, m, TLI_LIBCFIND_ARENA, "main_arena");
	/* mp_.tcache_count is not glibc's default */
	memcpy(b, orig, len);
	o = file_off(b, len, good.mp + tcount.offset);
	assert_true(o < len);
	b[o] = 9;
	expect_error(b, len, m, TLI_LIBCFIND_MP, "mp_");
	/* the TPOFF64 relocation of tcache's slot is gone: find its Elf64_Rela and change the type */
	memcpy(b, orig, len);
	size_t patched = 0;
	for (size_t k = 0; k + 24 <= len && !patched; k += 8) {
		uint64_t off, info;
		memcpy(&off, b + k, 8);
		memcpy(&info, b + k + 8, 8);
		if (off == good.tcache_got && info == 18) {
			info = 8; /* RELATIVE */
			memcpy(b + k + 8, &info, 8);
			patched++;
		}
	}
	assert_int_equal(patched, 1);
	expect_error(b, len, m, TLI_LIBCFIND_TCACHE, "tcache");
	/* not an ELF file; a truncated one; an empty one */
	memcpy(b, orig, len);
	b[1] = 'X';
	expect_error(b, len, m, 7, "not an ELF");
	for (size_t cut = 0; cut < len; cut += len / 23 + 1) {
		struct tli_libcfind r;
		struct tli_error *err = tli_libcfind_mem(orig, cut, "cut-libc", m, 7, &r);
		assert_non_null(err); /* main_arena lies in the last PT_LOAD: any cut loses something */
		assert_non_null(strstr(err->msg, "cut-libc"));
		tli_error_destroy(err);
	}
	/* random byte flips all over the image, 300 rounds: an answer or an error, never a crash;
	 * any answer must still be an address whose image passed the checks (= the true one, as
	 * main_arena/mp_ images are unique), or the flips hit the image */
	srand(12345);
	int answered = 0, refused = 0;
	for (int round = 0; round < 300; round++) {
		memcpy(b, orig, len);
		for (int k = 0; k < 64; k++)
			b[(size_t)rand() % len] ^= (uint8_t)(1 + rand() % 255);
		struct tli_libcfind r;
		struct tli_error *err = tli_libcfind_mem(b, len, "flipped-libc", m, 7, &r);
		if (err) {
			refused++;
			assert_true(err->msg[0] != 0);
			tli_error_destroy(err);
			continue;
		}
		answered++;
		assert_int_equal(r.main_arena, good.main_arena);
		assert_int_equal(r.mp, good.mp);
	}
	print_message("random flips: %d answered (same answers), %d refused\n", answered, refused);
	/* flips inside the ELF headers only */
	for (int round = 0; round < 300; round++) {
		memcpy(b, orig, len);
		for (int k = 0; k < 4; k++)
			b[(size_t)rand() % 4096] ^= (uint8_t)(1 + rand() % 255);
		struct tli_libcfind r;
		tli_error_destroy(tli_libcfind_mem(b, len, "hdr-libc", m, 7, &r));
	}
	/* a map without malloc_state cannot confirm main_arena: a clear error */
	static const char tiny[] = "tlimap 1\nkind glibc\nversion glibc2.99\nstruct malloc_par 8\n";
	struct tli_map *tm = NULL;
	assert_null(tli_map_parse(tiny, strlen(tiny), "tiny.map", &tm));
	expect_error(orig, len, tm, TLI_LIBCFIND_ARENA, "malloc_state");
	tli_map_free(tm);
	free(b);
	free(orig);
	tli_map_free(m);
}

/* An unknown version: refused with the version and how to make a map (exit 11). */
static void test_unknown_version(void **state)
{
	(void)state;
	setenv("TLI_RUNTIME_MAPS", "runtime-maps", 1);
	struct tli_map *m = NULL;
	struct tli_error *err = tli_maps_load_glibc("2.99", "GNU C Library (Test) stable release version 2.99", &m);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "glibc 2.99"));
	assert_non_null(strstr(err->msg, "runtime-maps/glibc/2.99.map"));
	assert_non_null(strstr(err->msg, "tlinspect maps gen"));
	tli_error_destroy(err);
	char kb[32];
	assert_null(tli_maps_load_glibc(key_of(&cases[0], kb, sizeof(kb)), NULL, &m));
	tli_map_free(m);
	unsetenv("TLI_RUNTIME_MAPS");
}

/* The generator reproduces the committed map (except the provenance line). */
static void test_gen_reproduces(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		const struct libc_case *c = &cases[i];
		if (!available(c))
			continue;
		char *text = NULL;
		size_t tl = 0;
		FILE *f = open_memstream(&text, &tl);
		const char *dirs[] = { c->debug_dir };
		assert_null(tli_maps_gen_glibc(c->libc, dirs, 1, f));
		fclose(f);
		char kb[32], path[256];
		snprintf(path, sizeof(path), "runtime-maps/glibc/%s.map", key_of(c, kb, sizeof(kb)));
		size_t cl;
		char *committed = (char *)slurp(path, &cl);
		assert_non_null(committed);
		assert_int_equal(tl, cl);
		assert_memory_equal(text, committed, cl);
		free(committed);
		free(text);
	}
}

/* glibc map headers: multi-word source/generator lines are free text. */
static void test_map_free_text(void **state)
{
	(void)state;
	static const char ok[] =
		"tlimap 1\nkind glibc\nversion glibc2.36\ngenerator tlinspect-maps 1\n"
		"source GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36 build-id ab12\n"
		"struct malloc_chunk 48\nmember malloc_chunk fd 16 8 \"*malloc_chunk\"\n";
	struct tli_map *m = NULL;
	struct tli_error *err = tli_map_parse(ok, strlen(ok), "ok.map", &m);
	if (err)
		fail_msg("%s", err->msg);
	assert_string_equal(tli_map_source(m),
			    "GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36 build-id ab12");
	tli_map_free(m);
	static const char quoted[] = "tlimap 1\nkind glibc\nversion glibc2.36\nsource \"a  b\"\n";
	assert_null(tli_map_parse(quoted, strlen(quoted), "q.map", &m));
	assert_string_equal(tli_map_source(m), "a  b");
	tli_map_free(m);
	static const char ctl[] = "tlimap 1\nkind glibc\nversion glibc2.36\nsource a \x01 b\n";
	err = tli_map_parse(ctl, strlen(ctl), "c.map", &m);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "c.map:4: control character"));
	tli_error_destroy(err);
	static const char words[] = "tlimap 1\nkind glibc a b\nversion glibc2.36\n";
	err = tli_map_parse(words, strlen(words), "w.map", &m);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "w.map:2:"));
	tli_error_destroy(err);
}

/* ------------------------------------------------------------------------- arm64 */

/* The value of TLS symbol `name` (its offset in the module's TLS block) in the .symtab of `path`. */
static bool tls_symbol(const char *path, const char *name, uint64_t *ret)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	assert_non_null(b);
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)b, len);
	assert_non_null(e);
	bool found = false;
	Elf_Scn *scn = NULL;
	while (!found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !found; i++) {
			GElf_Sym sym;
			const char *sn;
			if (gelf_getsym(d, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_TLS &&
			    (sn = elf_strptr(e, sh.sh_link, sym.st_name)) && !strcmp(sn, name)) {
				*ret = sym.st_value;
				found = true;
			}
		}
	}
	elf_end(e);
	free(b);
	return found;
}

/* Debian's libc6:arm64 (scripts/setup.sh --arm64) against libc6-dbg:arm64, which setup.sh unpacks
 * apart (TLI_ARM64_DIR, default /var/lib/tlinspect/arm64, libc6-dbg/): the 2.36 map (made from
 * x86-64's DWARF) equals arm64's DWARF member by member, and the finder's arm64 patterns (ADRP
 * references, the R_AARCH64_TLS_TPREL64 slot plus displacement) find main_arena, mp_ and tcache's
 * TLS offset where the DWARF and the debug file's .symtab put them. */
static void test_arm64_libc(void **state)
{
	(void)state;
	const char *dir = getenv("TLI_ARM64_DIR") ? getenv("TLI_ARM64_DIR") : "/var/lib/tlinspect/arm64";
	char dbg[512];
	snprintf(dbg, sizeof(dbg), "%s/libc6-dbg/usr/lib/debug", dir);
	const struct libc_case c = { "2.36", "/lib/aarch64-linux-gnu/libc.so.6", dbg, NULL };
	if (!available(&c)) {
		print_message("skip the arm64 libc (scripts/setup.sh --arm64 installs it and its debug info)\n");
		return;
	}
	char key[32];
	assert_null(tli_libc_version(c.libc, key, sizeof(key), NULL, 0));
	assert_string_equal(key, "2.36");
	struct tli_map *m = load_map(key);
	struct tli_dwarf *d = open_dwarf(&c);
	for (size_t k = 0; k < tli_map_nmembers(m); k++) {
		const char *t, *p;
		struct tli_member mm, dm;
		tli_map_member_at(m, k, &t, &p, &mm);
		assert_null(tli_dwarf_member(d, t, p, &dm));
		if (mm.offset != dm.offset || mm.size != dm.size)
			fail_msg("arm64 glibc %s: %s.%s map %llu/%llu, DWARF %llu/%llu", key, t, p,
				 (unsigned long long)mm.offset, (unsigned long long)mm.size,
				 (unsigned long long)dm.offset, (unsigned long long)dm.size);
	}
	struct tli_libcfind r;
	struct tli_error *err = tli_libcfind_file(c.libc, m, TLI_LIBCFIND_ARENA | TLI_LIBCFIND_MP | TLI_LIBCFIND_TCACHE,
						  &r);
	if (err)
		fail_msg("arm64 glibc: %s", err->msg);
	struct tli_global g;
	assert_null(tli_dwarf_global(d, "main_arena", &g));
	assert_int_equal(r.main_arena, g.addr);
	assert_null(tli_dwarf_global(d, "mp_", &g));
	assert_int_equal(r.mp, g.addr);
	/* arm64's gcc gives TLS variables no DWARF location: the debug file's TLS symbol is the oracle */
	uint64_t tls = 0, slot = 0;
	assert_true(tls_symbol(tli_dwarf_debug_path(d), "tcache", &tls));
	assert_true(r.has_tcache);
	assert_false(r.tcache_direct);
	assert_int_equal(r.tcache_tls_offset, tls);
	/* the slot malloc loads is a TPREL64 slot of the variable disp bytes before tcache */
	assert_true(tpoff_slots_of(c.libc, 1030 /* R_AARCH64_TLS_TPREL64 */, tls - (uint64_t)r.tcache_disp, &slot) >= 1);
	assert_int_equal(r.tcache_got, slot);
	print_message("arm64 glibc %s: main_arena 0x%llx (%u functions), mp_ 0x%llx (%u), tcache GOT 0x%llx "
		      "TLS +0x%llx (slot +%lld) = debug info\n", key, (unsigned long long)r.main_arena, r.main_arena_votes,
		      (unsigned long long)r.mp, r.mp_votes, (unsigned long long)r.tcache_got,
		      (unsigned long long)r.tcache_tls_offset, (long long)r.tcache_disp);
	assert_true(r.main_arena_votes >= 3);
	tli_dwarf_close(d);
	tli_map_free(m);
}

int main(void)
{
	/* paths are relative to the repository root */
	if (access("runtime-maps/glibc", R_OK) != 0 && chdir("../..") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_banner),
		cmocka_unit_test(test_map_equals_dwarf),
		cmocka_unit_test(test_finder_equals_debug_info),
		cmocka_unit_test(test_wrong_map_refused),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_gen_reproduces),
		cmocka_unit_test(test_map_free_text),
		cmocka_unit_test(test_arm64_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
