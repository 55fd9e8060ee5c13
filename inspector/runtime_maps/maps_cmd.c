/* SPDX-License-Identifier: MIT */
/*
 * `tlinspect maps gen BINARY`: write the runtime map of a Go binary that has DWARF, or of a
 * libc.so.6 (recognised by its glibc banner) whose debug info is found by build-id.
 * Structs are enumerated with libdw (member names, nesting); every offset, size and
 * constant value is then asked through the DWARF provider (tli_dwarf_*), so a map
 * answers exactly what the DWARF provider would. String tables are read from the
 * file image (16-byte Go string headers in .data pointing into .rodata).
 */
#include "core/hash.h"
#include "runtime_maps/maps.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"
#include "go/gobin.h"

/* Every runtime struct a Go walker or `explain` asks for, by its DWARF name (runtime/runtime2.go,
 * chan.go, mheap.go, mcache.go, symtab.go, ... of go1.19-go1.27); those a version lacks are skipped. */
static const char *const go_structs[] = {
	"runtime.g", "runtime.gobuf", "runtime.stack", "runtime.m", "runtime.p", "runtime.schedt",
	"runtime.gQueue", "runtime.gList", "runtime.hchan", "runtime.waitq", "runtime.sudog",
	"runtime.maybeTraceablePtr", "runtime.maybeTraceableChan", "runtime.timers", "runtime.timer", "runtime.timerWhen",
	"runtime.coro", "runtime.synctestGroup", "runtime.synctestBubble", "runtime.ancestorInfo",
	"runtime.mstats", "runtime.moduledata", "runtime.functab", "runtime.textsect", "runtime._func",
	"runtime.pcHeader", "runtime._type", "internal/abi.Type", "runtime.funcval", "runtime._panic",
	"runtime._defer", "runtime.semaRoot", "runtime.mutex", "runtime.note", "runtime.gTraceState",
	"runtime.mspan", "runtime.heapArena", "runtime.mheap", "runtime.hmap", "runtime.mapextra",
	"internal/runtime/maps.Map", "internal/runtime/maps.table", "internal/runtime/maps.groupsReference",
	"sync.Mutex", "sync.RWMutex", "sync.WaitGroup", "sync.Map", "sync.readOnly", "sync.entry",
	"internal/sync.Mutex",
	"internal/sync.HashTrieMap[interface {},interface {}]",
	"internal/sync.indirect[interface {},interface {}]",
	"internal/sync.entry[interface {},interface {}]",
	"internal/sync.indirect[go.shape.interface {},go.shape.interface {}]",
	"internal/sync.entry[go.shape.interface {},go.shape.interface {}]",
	"database/sql.DB", "database/sql.connRequestSet", "database/sql.connRequestAndIndex",
	"database/sql.driverConn",
	"net/http.Transport", "net/http.persistConn", "net/http.connectMethodKey", "net/http.connLRU",
	"container/list.List", "container/list.Element",
	"runtime.special", "runtime.specialfinalizer", "runtime.specialCleanup",
	/* heap: memstats (go/memstats.c) */
	"runtime.heapStatsDelta", "runtime.gcControllerState", "runtime.mcache",
	/* Go heap census (go/census): the type descriptors walked to type heap objects */
	"internal/abi.PtrType", "internal/abi.ArrayType", "internal/abi.SliceType", "internal/abi.ChanType",
	"internal/abi.MapType", "internal/abi.SwissMapType", "internal/abi.OldMapType", "internal/abi.StructType",
	"internal/abi.StructField", "internal/abi.InterfaceType", "internal/abi.ITab", "internal/abi.Name",
	"runtime.ptrtype", "runtime.arraytype", "runtime.slicetype", "runtime.chantype", "runtime.maptype",
	"runtime.structtype", "runtime.structfield", "runtime.interfacetype", "runtime.itab", "runtime.name",
	/* precise stack scanning (go/stackmap.c) */
	"runtime.stackmap", "runtime.stackObjectRecord",
	/* small objects' heap bits: the Green Tea GC's inline mark bits sit after them (go1.25+) */
	"runtime.spanInlineMarkBits",
	/* goroutine labels (go/goroutines_labels.c): labelMap is a map (<= 1.23) or a sorted list */
	"runtime/pprof.labelMap", "runtime/pprof.LabelSet", "runtime/pprof.label",
	"internal/runtime/pprof/label.Set", "internal/runtime/pprof/label.Label",
};

/* Constants: every DW_TAG_constant whose name starts with one of these. */
static const char *const go_const_prefixes[] = {
	"runtime._G", "runtime._P", "runtime.waitReason", "runtime.funcID_", "internal/abi.FuncID",
	"internal/abi.FuncFlag", "runtime.funcFlag_", "runtime.fing", "runtime.kind",
	"internal/abi.Kind", "runtime.tflag", "internal/abi.TFlag", "runtime._PCDATA_",
	"runtime._FUNCDATA_", "internal/abi.PCDATA_", "internal/abi.FUNCDATA_", "runtime.gTrackingPeriod",
	"runtime.forcegcperiod", "runtime.maxWhen",
	/* Go leaks (heap scan): span states, special kinds, malloc headers, semtable */
	"runtime.mSpan", "runtime._KindSpecial", "runtime.mallocHeaderSize", "runtime.minSizeForMallocHeader",
	"internal/runtime/gc.MallocHeaderSize", "internal/runtime/gc.MinSizeForMallocHeader",
	"runtime.semTabSize", "runtime._ArgsSizeUnknown", "internal/abi.ArgsSizeUnknown",
	/* heap: the memory-limit heap goal's headroom */
	"runtime.memoryLimit",
	/* pools: slots per map bucket (<= 1.23) or group (swiss) */
	"runtime.bucketCnt", "internal/abi.MapBucketCount", "internal/abi.SwissMapGroupSlots", "internal/abi.MapGroupSlots",
	/* pools: filled map slots (sync.Map's read/dirty maps, <= 1.23) */
	"runtime.minTopHash",
	/* timers: which heap entries are no longer timers */
	"runtime.timerNoStatus", "runtime.timerDeleted", "runtime.timerRemov", "runtime.timerZombie",
	"runtime.timerModified",
	/* Go heap (go1.19-1.21): the arena heap bitmap, mheap_.arenas indexed by arenaIndex */
	"runtime.heapArenaBytes", "runtime.arenaBaseOffset", "runtime.arenaL2Bits",
};

static const char *const go_strtabs[] = { "runtime.waitReasonStrings", "runtime.gStatusStrings" };

#define NSTRUCTS (sizeof(go_structs) / sizeof(go_structs[0]))
#define MAX_NEST 4
#define MAX_MEMBERS_PER_STRUCT 20000

static void put_tok(FILE *out, const char *s)
{
	bool bare = *s && *s != '#';
	for (const unsigned char *p = (const unsigned char *)s; *p && bare; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			bare = false;
	if (bare) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

static bool die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, ret);
}

struct gen {
	struct tli_dwarf *d;
	FILE *out;
	const char *type;      /* outer struct being emitted */
	size_t nmem;
	struct tli_error *err;
};

static void emit_members(struct gen *g, Dwarf_Die *st, const char *prefix, int depth)
{
	Dwarf_Die c;
	if (dwarf_child(st, &c) != 0)
		return;
	do {
		if (g->err || g->nmem >= MAX_MEMBERS_PER_STRUCT)
			return;
		if (dwarf_tag(&c) != DW_TAG_member)
			continue;
		const char *n = die_name(&c);
		if (!n || !*n || !strcmp(n, "_"))
			continue; /* blank (padding) fields cannot be asked for by name */
		char path[1024];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", n);
		struct tli_member mb;
		struct tli_error *e = tli_dwarf_member(g->d, g->type, path, &mb);
		if (e) {
			/* e.g. a name the path syntax cannot express: leave it out, say so */
			fprintf(stderr, "tlinspect maps gen: skipping %s.%s: %s\n", g->type, path, e->msg);
			tli_error_destroy(e);
			continue;
		}
		Dwarf_Die t;
		const char *tn = NULL;
		bool has_t = die_type(&c, &t);
		if (has_t)
			tn = die_name(&t);
		fputs("member ", g->out);
		put_tok(g->out, g->type);
		fputc(' ', g->out);
		put_tok(g->out, path);
		fprintf(g->out, " %llu %llu", (unsigned long long)mb.offset, (unsigned long long)mb.size);
		if (tn && *tn) {
			fputc(' ', g->out);
			put_tok(g->out, tn);
		}
		fputc('\n', g->out);
		g->nmem++;
		/* descend into struct-typed members (not through pointers) */
		for (int i = 0; has_t && i < 8 && dwarf_tag(&t) == DW_TAG_typedef; i++)
			has_t = die_type(&t, &t);
		if (has_t && depth + 1 < MAX_NEST && dwarf_tag(&t) == DW_TAG_structure_type)
			emit_members(g, &t, path, depth + 1);
	} while (dwarf_siblingof(&c, &c) == 0);
}

static bool want_const(const char *n)
{
	for (size_t i = 0; i < sizeof(go_const_prefixes) / sizeof(go_const_prefixes[0]); i++)
		if (!strncmp(n, go_const_prefixes[i], strlen(go_const_prefixes[i])))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct tli_error *emit_strtab(struct tli_gobin *gb, struct tli_dwarf *d, const char *name, FILE *out)
{
	struct tli_global gv;
	struct tli_error *err = tli_dwarf_global(d, name, &gv);
	if (err)
		return err;
	size_t n = gv.size / 16;
	if (n == 0 || n > 4096)
		return tli_error_create(TLI_E_BAD_FORMAT, "%s: implausible size %llu", name,
					(unsigned long long)gv.size);
	fputs("strings ", out);
	put_tok(out, name);
	fprintf(out, " %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		uint64_t hdr[2];
		if ((err = tli_gobin_read(gb, gv.addr + i * 16, hdr, sizeof(hdr))))
			return tli_error_wrap(err, "reading %s[%zu]", name, i);
		char buf[1024];
		if (hdr[1] >= sizeof(buf))
			return tli_error_create(TLI_E_BAD_FORMAT, "%s[%zu]: string of %llu bytes", name, i,
						(unsigned long long)hdr[1]);
		if (hdr[1] && (err = tli_gobin_read(gb, hdr[0], buf, hdr[1])))
			return tli_error_wrap(err, "reading %s[%zu] text", name, i);
		buf[hdr[1]] = 0;
		if (strlen(buf) != hdr[1])
			return tli_error_create(TLI_E_BAD_FORMAT, "%s[%zu] contains a NUL byte", name, i);
		fprintf(out, "str %zu ", i);
		/* always quoted: the empty string and strings with spaces look alike that way */
		fputc('"', out);
		for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(out, "\\%c", *p);
			else if (*p < 0x20 || *p >= 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
		fputs("\"\n", out);
	}
	return NULL;
}

/* ---------------------------------------------------------------- glibc */

/* Every struct the glibc walker and `explain chunk/arena` ask for (malloc/malloc.c malloc_state,
 * malloc_par, malloc_chunk, tcache_*; malloc/arena.c heap_info; glibc 2.31-2.41). */
static const char *const glibc_structs[] = {
	"malloc_state", "malloc_par", "heap_info", "malloc_chunk", "tcache_perthread_struct", "tcache_entry",
};
/* Constants the walker asks for: written only if the DWARF answers them (a map answers what
 * DWARF answers, so both routes give the same results). */
static const char *const glibc_consts[] = { "HEAP_MAX_SIZE", "SAFE_LINKING" };

struct gmem { char name[256], type[256]; };
struct gmems { struct gmem *v; size_t n, cap; bool oom; };

static bool collect_member(void *arg, const char *name, const char *type_name, uint64_t offset, uint64_t size)
{
	(void)offset;
	(void)size;
	struct gmems *g = arg;
	if (!name || !*name)
		return true; /* anonymous members cannot be asked for by name */
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 32;
		struct gmem *nv = realloc(g->v, nc * sizeof(*nv));
		if (!nv) {
			g->oom = true;
			return false;
		}
		g->v = nv;
		g->cap = nc;
	}
	snprintf(g->v[g->n].name, sizeof(g->v[0].name), "%s", name);
	snprintf(g->v[g->n].type, sizeof(g->v[0].type), "%s", type_name ? type_name : "");
	g->n++;
	return true;
}

struct tli_error *tli_maps_gen_glibc(const char *libc, const char *const *debug_dirs, size_t ndirs, FILE *out)
{
	char key[32], banner[512];
	struct tli_error *err = tli_libc_version(libc, key, sizeof(key), banner, sizeof(banner));
	if (err)
		return tli_error_wrap(err, "maps gen needs the libc itself (a separate debug file keeps no "
				      ".rodata); its debug file is found by build-id in $TLINSPECT_DEBUG_DIRS");
	char *dirs_buf = NULL;
	const char *dirs[8];
	struct tli_dwarf_opts o = { .debug_dirs = debug_dirs, .n_debug_dirs = ndirs };
	const char *env = getenv("TLINSPECT_DEBUG_DIRS");
	if (!ndirs && env && *env && (dirs_buf = strdup(env))) {
		size_t n = 0;
		char *sv = NULL;
		for (char *t = strtok_r(dirs_buf, ":", &sv); t && n < 8; t = strtok_r(NULL, ":", &sv))
			dirs[n++] = t;
		o.debug_dirs = dirs;
		o.n_debug_dirs = n;
	}
	struct tli_dwarf *d = NULL;
	struct gmems g = { 0 };
	err = tli_dwarf_open(libc, &o, &d);
	if (err)
		goto out;
	if (!tli_dwarf_has_dwarf(d)) {
		err = tli_error_create(TLI_E_NO_INFO, "maps gen needs the debug info of %s (glibc %s): %s", libc, key,
				       tli_dwarf_why_none(d));
		goto out;
	}
	uint8_t bid[64];
	size_t bl = 0;
	char bidhex[2 * 64 + 1] = "";
	struct tli_error *e = tli_dwarf_build_id(d, bid, sizeof(bid), &bl);
	if (!e)
		tli_build_id_hex(bid, bl, bidhex, sizeof(bidhex));
	tli_error_destroy(e);
	fprintf(out, "# tlinspect runtime map: glibc malloc layout for glibc %s (x86_64).\n"
		"# Generated by `tlinspect maps gen LIBC` from the DWARF of its debug info; do not edit.\n"
		"# Format: runtime-maps/README.md\n", key);
	fprintf(out, "tlimap %d\nkind glibc\nversion glibc%s\ngenerator %s\nsource %s%s%s\n", TLI_MAP_FORMAT, key,
		TLI_MAP_GENERATOR, banner, bidhex[0] ? " build-id " : "", bidhex);
	size_t nstructs = 0;
	for (size_t i = 0; i < sizeof(glibc_structs) / sizeof(glibc_structs[0]); i++) {
		const char *T = glibc_structs[i];
		uint64_t size;
		g.n = 0;
		e = tli_dwarf_members(d, T, collect_member, &g, NULL);
		if (!e)
			e = tli_dwarf_type_size(d, T, &size);
		if (!e && g.oom)
			e = &tli_enomem;
		if (e) {
			if (e->code == TLI_E_NOMEM) {
				err = e;
				goto out;
			}
			fprintf(stderr, "tlinspect maps gen: skipping struct %s: %s\n", T, e->msg);
			tli_error_destroy(e);
			continue;
		}
		fputs("\nstruct ", out);
		put_tok(out, T);
		fprintf(out, " %llu\n", (unsigned long long)size);
		nstructs++;
		for (size_t k = 0; k < g.n; k++) {
			struct tli_member mb;
			/* offset and size exactly as the DWARF provider answers them */
			if ((e = tli_dwarf_member(d, T, g.v[k].name, &mb))) {
				fprintf(stderr, "tlinspect maps gen: skipping %s.%s: %s\n", T, g.v[k].name, e->msg);
				tli_error_destroy(e);
				continue;
			}
			fputs("member ", out);
			put_tok(out, T);
			fputc(' ', out);
			put_tok(out, g.v[k].name);
			fprintf(out, " %llu %llu", (unsigned long long)mb.offset, (unsigned long long)mb.size);
			if (g.v[k].type[0] && strcmp(g.v[k].type, "?")) {
				fputc(' ', out);
				put_tok(out, g.v[k].type);
			}
			fputc('\n', out);
		}
	}
	if (!nstructs) {
		err = tli_error_create(TLI_E_NO_INFO, "the debug info of %s has none of the malloc structs", libc);
		goto out;
	}
	bool nl = false;
	for (size_t i = 0; i < sizeof(glibc_consts) / sizeof(glibc_consts[0]); i++) {
		int64_t v;
		if ((e = tli_dwarf_constant(d, glibc_consts[i], &v))) {
			tli_error_destroy(e);
			continue;
		}
		if (!nl)
			fputc('\n', out);
		nl = true;
		fprintf(out, "const %s %lld\n", glibc_consts[i], (long long)v);
	}
	if (fflush(out) != 0 || ferror(out))
		err = tli_error_errno(TLI_E_INTERNAL, errno, "writing the map");
out:
	free(g.v);
	free(dirs_buf);
	tli_dwarf_close(d);
	return err;
}

static bool is_libc_file(const char *path)
{
	char key[32];
	struct tli_error *e = tli_libc_version(path, key, sizeof(key), NULL, 0);
	tli_error_destroy(e);
	return !e;
}

/* The maps are linux/amd64 layouts (runtime-maps/go/, runtime-maps/glibc/) and linux/arm64 Go
 * layouts (runtime-maps/go-arm64/): a binary for another machine (e_machine) is refused, not
 * labelled amd64. *arm64 says which. */
static struct tli_error *check_machine(const char *binary, bool *arm64)
{
	unsigned char h[20];
	int fd = open(binary, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tli_error_create(TLI_E_NO_TARGET, "%s: %s", binary, strerror(errno));
	ssize_t n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, "\177ELF", 4))
		return tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", binary);
	unsigned m = h[5] == 2 ? (unsigned)(h[18] << 8 | h[19]) : (unsigned)(h[18] | h[19] << 8);
	*arm64 = m == 183 /* EM_AARCH64 */;
	if (m != 62 /* EM_X86_64 */ && !*arm64)
		return tli_error_create(TLI_E_UNSUPPORTED, "%s is not an x86-64 or arm64 binary (ELF machine %u); the "
					"runtime maps describe linux/amd64 and linux/arm64 Go only", binary, m);
	return NULL;
}

struct tli_error *tli_maps_gen(const char *binary, FILE *out)
{
	bool arm64 = false;
	struct tli_error *cerr = check_machine(binary, &arm64);
	if (cerr)
		return cerr;
	if (is_libc_file(binary)) {
		if (arm64)
			return tli_error_create(TLI_E_UNSUPPORTED, "%s: glibc maps describe linux/amd64 only", binary);
		return tli_maps_gen_glibc(binary, NULL, 0, out);
	}
	struct tli_gobin *gb = NULL;
	struct tli_dwarf *d = NULL;
	Dwarf *dbg = NULL;
	Elf *elf = NULL;
	int fd = -1;
	char **cnames = NULL;
	size_t ncn = 0, capcn = 0;
	struct tli_strmap *seen = NULL;
	Dwarf_Off *stoff = NULL;
	struct tli_error *err = tli_gobin_open(binary, &gb);
	if (err)
		return err;
	int minor = tli_gobin_minor(gb);
	const char *ver = tli_gobin_version(gb);
	if (minor < 0 || !ver) {
		err = tli_error_create(TLI_E_NO_INFO, "%s: Go version unknown (no .go.buildinfo)", binary);
		goto out;
	}
	struct tli_dwarf_opts o = { 0 };
	if ((err = tli_dwarf_open(binary, &o, &d)))
		goto out;
	if (!tli_dwarf_has_dwarf(d)) {
		err = tli_error_create(TLI_E_NO_INFO, "maps gen needs a binary with DWARF: %s",
				       tli_dwarf_why_none(d));
		goto out;
	}
	const char *dpath = tli_dwarf_debug_path(d);
	fd = open(dpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = tli_error_errno(TLI_E_NO_TARGET, errno, "cannot open %s", dpath);
		goto out;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	dbg = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	if (!dbg) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s: cannot read DWARF: %s", dpath, dwarf_errmsg(-1));
		goto out;
	}
	stoff = calloc(NSTRUCTS, sizeof(*stoff));
	seen = tli_strmap_new();
	if (!stoff || !seen) {
		err = &tli_enomem;
		goto out;
	}
	/* one pass over the top-level DIEs of every CU */
	Dwarf_Off off = 0, next;
	size_t hsize;
	for (int guard = 0; guard < 1000000 &&
	     dwarf_nextcu(dbg, off, &next, &hsize, NULL, NULL, NULL) == 0; guard++, off = next) {
		Dwarf_Die cu, c;
		if (!dwarf_offdie(dbg, off + hsize, &cu) || dwarf_child(&cu, &c) != 0)
			continue;
		do {
			int tag = dwarf_tag(&c);
			const char *n;
			if (tag == DW_TAG_structure_type && (n = die_name(&c))) {
				for (size_t i = 0; i < NSTRUCTS; i++)
					if (!stoff[i] && !strcmp(n, go_structs[i]))
						stoff[i] = dwarf_dieoffset(&c);
			} else if (tag == DW_TAG_constant && (n = die_name(&c)) && want_const(n)) {
				uint64_t dummy;
				if (tli_strmap_get(seen, n, &dummy))
					continue;
				if (ncn == capcn) {
					capcn = capcn ? capcn * 2 : 256;
					char **nc = realloc(cnames, capcn * sizeof(*nc));
					if (!nc) {
						err = &tli_enomem;
						goto out;
					}
					cnames = nc;
				}
				if (!(cnames[ncn] = strdup(n)) || !tli_strmap_put(seen, n, 1)) {
					err = &tli_enomem;
					goto out;
				}
				ncn++;
			}
		} while (dwarf_siblingof(&c, &c) == 0);
	}

	char bid[200] = "";
	if (tli_gobin_buildid(gb))
		snprintf(bid, sizeof(bid), " go-build-id %s", tli_gobin_buildid(gb));
	fprintf(out, "# tlinspect runtime map: Go runtime layout for go1.%d (linux/%s).\n"
		"# Generated by `tlinspect maps gen` from the DWARF of a binary; do not edit.\n"
		"# Format: runtime-maps/README.md\n", minor, arm64 ? "arm64" : "amd64");
	fprintf(out, "tlimap %d\nkind go\nversion go1.%d\ngenerator %s\nsource %s%s\n", TLI_MAP_FORMAT,
		minor, TLI_MAP_GENERATOR, ver, bid);

	for (size_t i = 0; i < NSTRUCTS; i++) {
		if (!stoff[i])
			continue;
		Dwarf_Die st;
		if (!dwarf_offdie(dbg, stoff[i], &st))
			continue;
		uint64_t size;
		struct tli_error *e = tli_dwarf_type_size(d, go_structs[i], &size);
		if (e) {
			fprintf(stderr, "tlinspect maps gen: skipping struct %s: %s\n", go_structs[i], e->msg);
			tli_error_destroy(e);
			continue;
		}
		fputs("\nstruct ", out);
		put_tok(out, go_structs[i]);
		fprintf(out, " %llu\n", (unsigned long long)size);
		struct gen g = { .d = d, .out = out, .type = go_structs[i] };
		emit_members(&g, &st, "", 0);
		if (g.err) {
			err = g.err;
			goto out;
		}
	}

	qsort(cnames, ncn, sizeof(*cnames), cmp_str);
	fputc('\n', out);
	for (size_t i = 0; i < ncn; i++) {
		int64_t v;
		struct tli_error *e = tli_dwarf_constant(d, cnames[i], &v);
		if (e) {
			fprintf(stderr, "tlinspect maps gen: skipping const %s: %s\n", cnames[i], e->msg);
			tli_error_destroy(e);
			continue;
		}
		fputs("const ", out);
		put_tok(out, cnames[i]);
		fprintf(out, " %lld\n", (long long)v);
	}
	for (size_t i = 0; i < sizeof(go_strtabs) / sizeof(go_strtabs[0]); i++) {
		fputc('\n', out);
		if ((err = emit_strtab(gb, d, go_strtabs[i], out)))
			goto out;
	}
	if (fflush(out) != 0 || ferror(out))
		err = tli_error_errno(TLI_E_INTERNAL, errno, "writing the map");
out:
	for (size_t i = 0; i < ncn; i++)
		free(cnames[i]);
	free(cnames);
	free(stoff);
	tli_strmap_free(seen);
	if (dbg)
		dwarf_end(dbg);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	tli_dwarf_close(d);
	if (gb)
		tli_gobin_destroy(gb);
	return err;
}
