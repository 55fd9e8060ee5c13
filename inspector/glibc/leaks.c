/* SPDX-License-Identifier: MIT */
/*
 * `leaks`: conservative reachability over glibc heap chunks.
 * Roots: every readable+writable mapping that is not a heap or an mmapped
 * chunk (module .data/.bss, anonymous memory, TLS and struct pthread), but a
 * thread's stack only from its SP up; and every thread's registers. Any
 * 8-byte-aligned word that points into the user part of an in-use chunk
 * (interior pointers count) marks it; marked chunks are scanned in turn.
 * Free chunks (bins, fastbins, tcache) are never scanned. What stays
 * unmarked is reported, grouped by size and by C++ type when the first word
 * points into a `_ZTV…` vtable symbol of some module.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include "core/session.h"
#include "dwarf/elfsym.h"
#include "heap_cmd.h"

/* libstdc++'s demangler, if linked (-lstdc++); else a small fallback. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status) __attribute__((weak));

/* Minimal fallback for "_ZTV" + <source-name> | N <source-name>+ E. */
static bool demangle_simple(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	bool nested = false;
	if (*s == 'N') {
		nested = true;
		s++;
	}
	int parts = 0;
	while (*s >= '0' && *s <= '9') {
		char *end;
		long n = strtol(s, &end, 10);
		if (n <= 0 || (size_t)n > strlen(end))
			return false;
		if (parts++ && o + 2 < cap) {
			out[o++] = ':';
			out[o++] = ':';
		}
		for (long i = 0; i < n && o + 1 < cap; i++)
			out[o++] = end[i];
		s = end + n;
		if (!nested)
			break;
	}
	out[o] = 0;
	return parts > 0 && (!nested || *s == 'E') && o > 0;
}

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

/* The demangler: linked (-lstdc++), else libstdc++.so.6 loaded on first use
 * (present wherever a C++ program runs), else NULL (the fallback below). */
static cxa_demangle_fn get_demangler(void)
{
	static bool tried;
	static cxa_demangle_fn fn;
	if (__cxa_demangle)
		return __cxa_demangle;
	if (!tried) {
		tried = true;
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			*(void **)&fn = dlsym(h, "__cxa_demangle");
		/* h stays open: fn lives in it */
	}
	return fn;
}

static void demangle_vtable(const char *sym, char *out, size_t cap)
{
	cxa_demangle_fn dem = getenv("TLINSPECT_NO_CXA_DEMANGLE") ? NULL : get_demangler();
	if (dem) {
		int st = 0;
		char *d = dem(sym, NULL, NULL, &st);
		if (d && !st) {
			const char *p = d;
			if (!strncmp(p, "vtable for ", 11))
				p += 11;
			snprintf(out, cap, "%s", p);
			free(d);
			return;
		}
		free(d);
	}
	if (!demangle_simple(sym + 4, out, cap))
		snprintf(out, cap, "%s", sym);
}

/* ---- module symbol cache for vtable lookup ---- */
struct modsym { char *path; uint64_t bias; struct tli_elfsym *sym; bool tried; };
struct modcache { struct modsym *v; size_t n; };

static const char *vtable_type(struct tli_target *t, struct modcache *mc, uint64_t v, char *buf, size_t cap)
{
	const struct tli_mapping *m = tli_target_find_mapping(t, v);
	if (!m || !m->path || m->path[0] != '/' || (m->prot & TLI_PROT_W && !(m->prot & TLI_PROT_R)))
		return NULL;
	struct modsym *ms = NULL;
	for (size_t i = 0; i < mc->n; i++)
		if (!strcmp(mc->v[i].path, m->path))
			ms = &mc->v[i];
	if (!ms) {
		void *nv = realloc(mc->v, (mc->n + 1) * sizeof(*mc->v));
		if (!nv)
			return NULL;
		mc->v = nv;
		ms = &mc->v[mc->n++];
		memset(ms, 0, sizeof(*ms));
		ms->path = strdup(m->path);
		uint64_t lo = UINT64_MAX;
		for (size_t i = 0; i < t->nmaps; i++)
			if (t->maps[i].path && !strcmp(t->maps[i].path, m->path) &&
			    t->maps[i].start - t->maps[i].offset < lo)
				lo = t->maps[i].start - t->maps[i].offset;
		struct tli_elfinfo info;
		struct tli_error *e = tli_elf_read_info(m->path, &info);
		if (!e) {
			ms->bias = lo - info.min_load_vaddr;
			e = tli_elfsym_open(m->path, &ms->sym);
		}
		tli_error_destroy(e);
	}
	if (!ms->sym)
		return NULL;
	struct tli_sym s;
	uint64_t off;
	struct tli_error *e = tli_elfsym_lookup_addr(ms->sym, v - ms->bias, &s, &off);
	if (e) {
		tli_error_destroy(e);
		return NULL;
	}
	if (strncmp(s.name, "_ZTV", 4))
		return NULL;
	demangle_vtable(s.name, buf, cap);
	return buf;
}

/* ---- reachability ----
 * A pointer value is resolved to the chunk holding it through regions: each
 * heap segment has a block table (for every 512-byte block, the last chunk
 * starting at or before it), each mmapped chunk is a region of its own; the
 * chunks are h->chunks itself (sorted). A chunk counts if the value lies in
 * its user part [addr + 16, addr + size) and it is in use (or mmapped). A
 * marked chunk goes on an explicit work stack, each chunk at most once. */
#define BLK_SHIFT 9

struct region {
	uint64_t start, end;      /* [start, end) */
	const uint8_t *buf;       /* heap segment bytes (NULL: mmapped chunk or unreadable) */
	uint32_t *first;          /* heap segment: block table; NULL: mmapped chunk */
	size_t chunk;             /* mmapped chunk: its index in h->chunks */
};

struct lk {
	struct tli_target *t;
	struct tli_gl_heap *h;
	const struct tli_gl_chunk *ch; /* h->chunks */
	size_t nch;
	uint8_t *mark;           /* per chunk of h->chunks */
	uint32_t *work;          /* stack of chunk indexes */
	size_t nwork;
	uint64_t lo, hi;         /* span of all regions */
	uint64_t scanned;
	struct region *reg;      /* sorted by start, disjoint */
	size_t nreg;
	size_t last;             /* region of the previous lookup */
};

static inline bool counts(const struct tli_gl_chunk *c)
{
	return c->kind == GLK_INUSE || c->kind == GLK_MMAPPED;
}

static const struct region *region_of(struct lk *k, uint64_t v)
{
	if (!k->nreg)
		return NULL;
	const struct region *r = &k->reg[k->last];
	if (v >= r->start && v < r->end)
		return r;
	size_t lo = 0, hi = k->nreg;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k->reg[mid].start <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || v >= k->reg[lo - 1].end)
		return NULL;
	k->last = lo - 1;
	return &k->reg[lo - 1];
}

static inline void consider(struct lk *k, uint64_t v)
{
	if (v < k->lo || v >= k->hi)
		return;
	const struct region *r = region_of(k, v);
	if (!r)
		return;
	size_t i = r->first ? r->first[(v - r->start) >> BLK_SHIFT] : r->chunk;
	if (r->first) /* the last chunk starting at or before v */
		while (i + 1 < k->nch && k->ch[i + 1].addr <= v)
			i++;
	const struct tli_gl_chunk *c = &k->ch[i];
	if (v >= c->addr + 16 && v - c->addr < c->size && counts(c) && !k->mark[i]) {
		k->mark[i] = 1;
		k->work[k->nwork++] = (uint32_t)i;
	}
}

static void scan_buf(struct lk *k, const uint8_t *b, size_t len)
{
	for (size_t o = 0; o + 8 <= len; o += 8)
		consider(k, tli_rd64(b + o));
	k->scanned += len;
}

/* Scan [a, e) of target memory (8-aligned), in place from the heaps or the capture. */
static void scan_range(struct lk *k, uint64_t a, uint64_t e)
{
	a = (a + 7) & ~7ull;
	while (a < e) {
		const struct region *r = region_of(k, a);
		if (r && r->buf) {
			uint64_t ee = e < r->end ? e : r->end;
			scan_buf(k, r->buf + (a - r->start), ee - a);
			a = ee;
			continue;
		}
		static uint8_t buf[1 << 20];
		uint64_t n = e - a < sizeof(buf) ? e - a : sizeof(buf);
		const uint8_t *p = tli_target_captured_ptr(k->t, a, n);
		if (p) {
			scan_buf(k, p, n);
			a += n;
			continue;
		}
		struct tli_error *err = tli_target_read(k->t, a, buf, n);
		if (err) {
			tli_error_destroy(err);
			/* skip to the next page */
			uint64_t next = (a | 4095) + 1;
			a = next > a ? next : e;
			continue;
		}
		scan_buf(k, buf, n);
		a += n;
	}
}

static int cmp_region(const void *x, const void *y)
{
	const struct region *p = x, *q = y;
	return p->start < q->start ? -1 : p->start > q->start;
}

/* Regions for the heap segments and mmapped chunks; false on ENOMEM. */
static bool build_regions(struct lk *k)
{
	struct tli_gl_heap *h = k->h;
	size_t nseg = 0, nmm = 0;
	for (size_t i = 0; i < h->narenas; i++)
		nseg += h->arenas[i].nsegs;
	for (size_t i = 0; i < k->nch; i++)
		nmm += k->ch[i].kind == GLK_MMAPPED;
	k->reg = calloc(nseg + nmm + 1, sizeof(*k->reg));
	if (!k->reg)
		return false;
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++) {
			const struct tli_gl_seg *g = &h->arenas[i].segs[j];
			if (g->end <= g->start)
				continue;
			/* the segment's chunks: [c0, c1) of h->chunks */
			size_t lo = 0, hi = k->nch;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (k->ch[mid].addr < g->start)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == k->nch || k->ch[lo].addr >= g->end)
				continue; /* nothing walked here */
			struct region *r = &k->reg[k->nreg++];
			*r = (struct region){ g->start, g->end, g->buf, NULL, 0 };
			size_t nb = (size_t)(((g->end - g->start) >> BLK_SHIFT) + 1);
			r->first = malloc(nb * sizeof(*r->first));
			if (!r->first)
				return false;
			size_t c = lo; /* a merge sweep: last chunk starting at or before each block */
			for (size_t b = 0; b < nb; b++) {
				uint64_t bs = g->start + ((uint64_t)b << BLK_SHIFT);
				while (c + 1 < k->nch && k->ch[c + 1].addr <= bs)
					c++;
				r->first[b] = (uint32_t)c;
			}
		}
	for (size_t i = 0; i < k->nch; i++)
		if (k->ch[i].kind == GLK_MMAPPED)
			k->reg[k->nreg++] = (struct region){ k->ch[i].addr, k->ch[i].addr + k->ch[i].size, NULL, NULL, i };
	qsort(k->reg, k->nreg, sizeof(*k->reg), cmp_region);
	/* overlapping regions (a corrupt heap): keep the first of each overlap */
	size_t w = 0;
	for (size_t i = 0; i < k->nreg; i++) {
		if (w && k->reg[i].start < k->reg[w - 1].end) {
			free(k->reg[i].first);
			continue;
		}
		k->reg[w++] = k->reg[i];
	}
	k->nreg = w;
	k->lo = w ? k->reg[0].start : 0;
	k->hi = w ? k->reg[w - 1].end : 0;
	return true;
}

/* ---- leak groups: (size, type) -> count, bytes ---- */
struct group { uint64_t size, count, bytes; const char *type; };
struct groups {
	struct group *v;       /* open addressing on (size, type pointer); size 0 = empty */
	size_t cap, n;
	char **types;          /* interned type names (open addressing) */
	size_t tcap, tn;
};

static uint64_t str_hash(const char *s)
{
	uint64_t x = 1469598103934665603ull;
	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 1099511628211ull;
	return x;
}

/* The interned copy of s (NULL for NULL or on ENOMEM). */
static const char *intern(struct groups *g, const char *s)
{
	if (!s)
		return NULL;
	if ((g->tn + 1) * 2 > g->tcap) {
		size_t nc = g->tcap ? g->tcap * 2 : 64;
		char **nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return NULL;
		for (size_t i = 0; i < g->tcap; i++)
			if (g->types[i]) {
				size_t j = str_hash(g->types[i]) & (nc - 1);
				while (nv[j])
					j = (j + 1) & (nc - 1);
				nv[j] = g->types[i];
			}
		free(g->types);
		g->types = nv;
		g->tcap = nc;
	}
	size_t j = str_hash(s) & (g->tcap - 1);
	while (g->types[j] && strcmp(g->types[j], s))
		j = (j + 1) & (g->tcap - 1);
	if (!g->types[j]) {
		g->types[j] = strdup(s);
		if (!g->types[j])
			return NULL;
		g->tn++;
	}
	return g->types[j];
}

static size_t group_slot(const struct group *v, size_t cap, uint64_t size, const char *type)
{
	size_t j = (size_t)(((size >> 4) ^ (uint64_t)(uintptr_t)type) * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
	while (v[j].size && (v[j].size != size || v[j].type != type))
		j = (j + 1) & (cap - 1);
	return j;
}

static void group_add(struct groups *g, uint64_t size, const char *type)
{
	if (!size)
		return;
	if ((g->n + 1) * 2 > g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 256;
		struct group *nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return;
		for (size_t i = 0; i < g->cap; i++)
			if (g->v[i].size)
				nv[group_slot(nv, nc, g->v[i].size, g->v[i].type)] = g->v[i];
		free(g->v);
		g->v = nv;
		g->cap = nc;
	}
	size_t j = group_slot(g->v, g->cap, size, type);
	if (!g->v[j].size) {
		g->v[j] = (struct group){ size, 0, 0, type };
		g->n++;
	}
	g->v[j].count++;
	g->v[j].bytes += size;
}

/* biggest first; then by size, then by type name (NULL first): deterministic */
static int cmp_group(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (!a->type || !b->type)
		return !!a->type - !!b->type;
	return strcmp(a->type, b->type);
}

static void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->tcap; i++)
		free(g->types[i]);
	free(g->types);
	free(g->v);
}

struct xr { uint64_t a, e; };
static int cmp_xr(const void *x, const void *y)
{
	const struct xr *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

static bool is_root_mapping(const struct tli_mapping *m)
{
	if ((m->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W))
		return false;
	if (m->path && (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
			!strcmp(m->path, "[vvar_vclock]")))
		return false;
	return true;
}

/* Root start for a mapping: the lowest SP of a thread inside it (minus the red zone), else its start. */
static uint64_t root_start(const struct tli_target *t, const struct tli_mapping *m)
{
	uint64_t s = m->start;
	bool stack = false;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		if (!th->regs_valid)
			continue;
		uint64_t sp = th->regs.rsp;
		if (sp >= m->start && sp < m->end) {
			uint64_t r = sp >= m->start + 128 ? sp - 128 : m->start;
			if (!stack || r < s)
				s = r;
			stack = true;
		}
	}
	return s;
}

struct tli_error *tli_glibc_leaks(struct tli_session *s, const struct tli_glibc_opts *o, json_t *result)
{
	struct tli_target *t = s->target;
	/* Live and not stopped yet: resolve libc's layout first (DWARF indexing,
	 * the slow part), so the target's pause is only the capture. */
	bool prepared = false;
	if (s->opts.pid && t->stop_deferred && !t->stopped) {
		/* capture memory for every root and heap, pre-faulted meanwhile */
		tli_gl_reserve(t, true);
		struct tli_error *pe = tli_glibc_prepare(s->opts.pid, o, s->opts.no_dwarf);
		prepared = !pe;
		tli_error_destroy(pe);
	}
	/* the roots need every thread's registers and the maps at the stop */
	struct tli_error *serr = tli_target_stop(t);
	if (serr) {
		if (prepared)
			tli_glibc_unprepare();
		return serr;
	}
	struct tli_range *roots = calloc(t->nmaps + 1, sizeof(*roots));
	if (!roots) {
		if (prepared)
			tli_glibc_unprepare();
		return &tli_enomem;
	}
	size_t nroots = 0;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *m = &t->maps[i];
		if (!is_root_mapping(m))
			continue;
		uint64_t a = root_start(t, m);
		roots[nroots++] = (struct tli_range){ a, m->end - a };
	}
	struct tli_gl_ctx *c;
	struct tli_gl_heap *h;
	struct tli_error *err = tli_gl_run(s, o, roots, nroots, &c, &h);
	if (err) {
		free(roots);
		if (prepared)
			tli_glibc_unprepare();
		return err;
	}
	struct lk k = { .t = t, .h = h, .ch = h->chunks, .nch = h->nchunks };
	struct timespec tw0, tw1, tw2;
	clock_gettime(CLOCK_MONOTONIC, &tw0);
	struct groups grp = { 0 };
	struct modcache mc = { 0 };
	size_t n = 0, nex = 0;
	struct xr *ex = NULL;
	if (h->nchunks >= UINT32_MAX) {
		err = tli_error_create(TLI_E_INTERNAL, "leaks: %zu chunks are too many", h->nchunks);
		goto out;
	}
	for (size_t i = 0; i < h->nchunks; i++)
		n += counts(&h->chunks[i]);
	k.mark = tli_big_alloc_lazy(h->nchunks + 1);
	k.work = tli_big_alloc_lazy((n + 1) * sizeof(uint32_t));
	size_t nex_cap = 2;
	for (size_t i = 0; i < h->narenas; i++)
		nex_cap += 2 * h->arenas[i].nsegs + 1;
	for (size_t i = 0; i < h->nchunks; i++)
		nex_cap += h->chunks[i].kind == GLK_MMAPPED;
	ex = calloc(nex_cap, sizeof(*ex));
	if (!k.mark || !k.work || !ex || !build_regions(&k)) {
		err = &tli_enomem;
		goto out;
	}
	for (size_t i = 0; i < h->nchunks; i++)
		if (h->chunks[i].kind == GLK_MMAPPED)
			ex[nex++] = (struct xr){ h->chunks[i].addr, h->chunks[i].addr + h->chunks[i].size };
	/* malloc's own bookkeeping is not a root: each arena's malloc_state (its top and
	 * last_remainder point just past in-use chunks, i.e. into their usable bytes), the
	 * heap_info headers, and mp_ */
	for (size_t i = 0; i < h->narenas; i++) {
		const struct tli_gl_arena *ar = &h->arenas[i];
		if (ar->addr && h->L.ms_size)
			ex[nex++] = (struct xr){ ar->addr, ar->addr + h->L.ms_size };
		for (size_t j = 0; j < ar->nsegs; j++)
			if (ar->segs[j].heap_info && ar->segs[j].heap_info < ar->segs[j].start)
				ex[nex++] = (struct xr){ ar->segs[j].heap_info, ar->segs[j].start };
	}
	if (h->L.mp && h->L.mp_size)
		ex[nex++] = (struct xr){ h->L.mp, h->L.mp + h->L.mp_size };
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			ex[nex++] = (struct xr){ h->arenas[i].segs[j].start, h->arenas[i].segs[j].end };
	qsort(ex, nex, sizeof(*ex), cmp_xr);
	/* roots minus heaps and mmapped chunks */
	uint64_t root_bytes = 0;
	for (size_t r = 0; r < nroots; r++) {
		uint64_t a = roots[r].addr, e = roots[r].addr + roots[r].len;
		size_t x = 0; /* first exclusion ending after a */
		for (size_t lo = 0, hi = nex; lo < hi;) {
			size_t mid = (lo + hi) / 2;
			if (ex[mid].e <= a)
				lo = x = mid + 1;
			else
				hi = mid;
		}
		for (; x < nex && a < e; x++) {
			if (ex[x].e <= a || ex[x].a >= e)
				continue;
			if (ex[x].a > a) {
				scan_range(&k, a, ex[x].a);
				root_bytes += ex[x].a - a;
			}
			a = ex[x].e;
		}
		if (a < e) {
			scan_range(&k, a, e);
			root_bytes += e - a;
		}
	}
	size_t nregs = 0;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		if (!th->regs_valid)
			continue;
		const uint64_t *r = (const uint64_t *)&th->regs;
		for (size_t j = 0; j < sizeof(th->regs) / 8; j++, nregs++)
			consider(&k, r[j]);
	}
	while (k.nwork) {
		const struct tli_gl_chunk *wc = &h->chunks[k.work[--k.nwork]];
		scan_range(&k, wc->addr + 16, wc->addr + wc->size);
	}
	clock_gettime(CLOCK_MONOTONIC, &tw1);
	/* report */
	json_t *list = json_array();
	uint64_t nun = 0, bun = 0;
	for (size_t i = 0; i < h->nchunks; i++) {
		const struct tli_gl_chunk *ch = &h->chunks[i];
		if (k.mark[i] || !counts(ch))
			continue;
		uint64_t first = 0;
		char tb[512];
		const char *type = NULL;
		struct tli_error *re = tli_target_read_u64(t, ch->addr + 16, &first);
		if (!re)
			type = intern(&grp, vtable_type(t, &mc, first, tb, sizeof(tb)));
		tli_error_destroy(re);
		json_t *x = json_object();
		json_object_set_new_nocheck(x, "address", tli_gl_hex(ch->addr + 16));
		json_object_set_new_nocheck(x, "chunk", tli_gl_hex(ch->addr));
		json_object_set_new_nocheck(x, "size", json_integer((json_int_t)ch->size));
		json_object_set_new_nocheck(x, "usable", json_integer((json_int_t)(ch->size - (ch->kind == GLK_MMAPPED ? 16 : 8))));
		json_object_set_new_nocheck(x, "type", type ? json_string(type) : json_null());
		json_object_set_new_nocheck(x, "arena", ch->arena == 0xffff ? json_null() : json_integer(ch->arena));
		json_object_set_new_nocheck(x, "mmapped", json_boolean(ch->kind == GLK_MMAPPED));
		json_array_append_new(list, x);
		nun++;
		bun += ch->size;
		group_add(&grp, ch->size, type);
	}
	/* groups as an array, biggest first */
	size_t gn = 0;
	for (size_t i = 0; i < grp.cap; i++)
		if (grp.v[i].size)
			grp.v[gn++] = grp.v[i];
	qsort(grp.v, gn, sizeof(*grp.v), cmp_group);
	json_t *ga = json_array();
	for (size_t i = 0; i < gn; i++) {
		json_t *gr = json_object();
		json_object_set_new(gr, "size", json_integer((json_int_t)grp.v[i].size));
		json_object_set_new(gr, "type", grp.v[i].type ? json_string(grp.v[i].type) : json_null());
		json_object_set_new(gr, "count", json_integer((json_int_t)grp.v[i].count));
		json_object_set_new(gr, "bytes", json_integer((json_int_t)grp.v[i].bytes));
		json_array_append_new(ga, gr);
	}
	json_t *hp = json_object();
	json_object_set_new(hp, "unreachable_chunks", list);
	json_object_set_new(hp, "groups", ga);
	json_object_set_new(hp, "unreachable", tli_gl_cb(nun, bun));
	json_object_set_new(hp, "in_use_chunks", json_integer((json_int_t)n));
	json_object_set_new(hp, "root_bytes", json_integer((json_int_t)root_bytes));
	json_object_set_new(hp, "root_registers", json_integer((json_int_t)nregs));
	json_object_set_new(hp, "scanned_bytes", json_integer((json_int_t)k.scanned));
	json_object_set_new(hp, "problems", json_incref(h->problems));
	json_object_set_new(result, "heap", hp);
	clock_gettime(CLOCK_MONOTONIC, &tw2);
	if (s->opts.verbose)
		fprintf(stderr, "glibc leaks: reachability %.3f s, report %.3f s\n",
			(double)(tw1.tv_sec - tw0.tv_sec) + (double)(tw1.tv_nsec - tw0.tv_nsec) / 1e9,
			(double)(tw2.tv_sec - tw1.tv_sec) + (double)(tw2.tv_nsec - tw1.tv_nsec) / 1e9);
out:
	for (size_t i = 0; i < mc.n; i++) {
		free(mc.v[i].path);
		tli_elfsym_close(mc.v[i].sym);
	}
	free(mc.v);
	groups_free(&grp);
	for (size_t i = 0; i < k.nreg; i++)
		free(k.reg[i].first);
	free(k.reg);
	tli_big_free(k.mark, h->nchunks + 1);
	tli_big_free(k.work, (n + 1) * sizeof(uint32_t));
	free(ex);
	free(roots);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	if (prepared)
		tli_glibc_unprepare();
	return err;
}
