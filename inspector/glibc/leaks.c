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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- reachability ---- */
struct lk {
	struct tli_target *t;
	struct tli_gl_heap *h;
	uint64_t *start, *end;   /* in-use chunk user ranges, sorted */
	uint32_t *idx;           /* index into h->chunks */
	uint8_t *mark;
	size_t n;
	uint64_t lo, hi;
	uint32_t *work;
	size_t nwork;
	uint64_t scanned;
};

static inline void consider(struct lk *k, uint64_t v)
{
	if (v < k->lo || v >= k->hi)
		return;
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k->start[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return;
	size_t i = lo - 1;
	if (v < k->end[i] && !k->mark[i]) {
		k->mark[i] = 1;
		k->work[k->nwork++] = (uint32_t)i;
	}
}

static void scan_buf(struct lk *k, const uint8_t *b, size_t len)
{
	for (size_t o = 0; o + 8 <= len; o += 8) {
		uint64_t v;
		memcpy(&v, b + o, 8);
		consider(k, v);
	}
	k->scanned += len;
}

/* Scan [a, e) of target memory (8-aligned), from heap copies or the capture. */
static void scan_range(struct lk *k, uint64_t a, uint64_t e)
{
	a = (a + 7) & ~7ull;
	size_t arena;
	while (a < e) {
		const struct tli_gl_seg *g = tli_gl_find_seg(k->h, a, &arena);
		if (g && g->buf) {
			uint64_t ee = e < g->end ? e : g->end;
			scan_buf(k, g->buf + (a - g->start), ee - a);
			a = ee;
			continue;
		}
		static uint8_t buf[1 << 20];
		uint64_t n = e - a < sizeof(buf) ? e - a : sizeof(buf);
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
	struct lk k = { .t = t, .h = h };
	size_t n = 0;
	for (size_t i = 0; i < h->nchunks; i++)
		n += h->chunks[i].kind == GLK_INUSE || h->chunks[i].kind == GLK_MMAPPED;
	k.start = malloc((n + 1) * sizeof(uint64_t));
	k.end = malloc((n + 1) * sizeof(uint64_t));
	k.idx = malloc((n + 1) * sizeof(uint32_t));
	k.mark = calloc(n + 1, 1);
	k.work = malloc((n + 1) * sizeof(uint32_t));
	struct xr *ex = calloc(h->nchunks + 64 * h->narenas + 1, sizeof(*ex));
	size_t nex = 0;
	if (!k.start || !k.end || !k.idx || !k.mark || !k.work || !ex) {
		err = &tli_enomem;
		goto out;
	}
	k.lo = UINT64_MAX;
	for (size_t i = 0; i < h->nchunks; i++) {
		const struct tli_gl_chunk *ch = &h->chunks[i];
		if (ch->kind != GLK_INUSE && ch->kind != GLK_MMAPPED)
			continue;
		uint64_t us = ch->addr + 16;
		/* [user pointer, end of chunk): a pointer to the next chunk's header (e.g.
		 * an arena's top) does not keep this one alive, although the last 8
		 * usable bytes lie in the next chunk's prev_size */
		uint64_t ue = ch->addr + ch->size;
		k.start[k.n] = us;
		k.end[k.n] = ue;
		k.idx[k.n] = (uint32_t)i;
		k.n++;
		if (us < k.lo)
			k.lo = us;
		if (ue > k.hi)
			k.hi = ue;
		if (ch->kind == GLK_MMAPPED)
			ex[nex++] = (struct xr){ ch->addr, ch->addr + ch->size };
	}
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t j = 0; j < h->arenas[i].nsegs; j++)
			ex[nex++] = (struct xr){ h->arenas[i].segs[j].start, h->arenas[i].segs[j].end };
	qsort(ex, nex, sizeof(*ex), cmp_xr);
	/* roots minus heaps and mmapped chunks */
	uint64_t root_bytes = 0;
	for (size_t r = 0; r < nroots; r++) {
		uint64_t a = roots[r].addr, e = roots[r].addr + roots[r].len;
		for (size_t x = 0; x < nex && a < e; x++) {
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
		uint32_t i = k.work[--k.nwork];
		scan_range(&k, k.start[i], k.end[i]);
	}
	/* report */
	json_t *list = json_array();
	struct modcache mc = { 0 };
	uint64_t nun = 0, bun = 0;
	json_t *groups = json_object(); /* key "size|type" */
	for (size_t i = 0; i < k.n; i++) {
		if (k.mark[i])
			continue;
		const struct tli_gl_chunk *ch = &h->chunks[k.idx[i]];
		uint64_t first = 0;
		char tb[512];
		const char *type = NULL;
		struct tli_error *re = tli_target_read_u64(t, ch->addr + 16, &first);
		if (!re)
			type = vtable_type(t, &mc, first, tb, sizeof(tb));
		tli_error_destroy(re);
		json_t *x = json_object();
		json_object_set_new(x, "address", tli_gl_hex(ch->addr + 16));
		json_object_set_new(x, "chunk", tli_gl_hex(ch->addr));
		json_object_set_new(x, "size", json_integer((json_int_t)ch->size));
		json_object_set_new(x, "usable", json_integer((json_int_t)(ch->size - (ch->kind == GLK_MMAPPED ? 16 : 8))));
		json_object_set_new(x, "type", type ? json_string(type) : json_null());
		json_object_set_new(x, "arena", ch->arena == 0xffff ? json_null() : json_integer(ch->arena));
		json_object_set_new(x, "mmapped", json_boolean(ch->kind == GLK_MMAPPED));
		json_array_append_new(list, x);
		nun++;
		bun += ch->size;
		char key[600];
		snprintf(key, sizeof(key), "%" PRIu64 "|%s", ch->size, type ? type : "");
		json_t *gr = json_object_get(groups, key);
		if (!gr) {
			gr = json_object();
			json_object_set_new(gr, "size", json_integer((json_int_t)ch->size));
			json_object_set_new(gr, "type", type ? json_string(type) : json_null());
			json_object_set_new(gr, "count", json_integer(0));
			json_object_set_new(gr, "bytes", json_integer(0));
			json_object_set_new(groups, key, gr);
		}
		json_object_set_new(gr, "count", json_integer(json_integer_value(json_object_get(gr, "count")) + 1));
		json_object_set_new(gr, "bytes", json_integer(json_integer_value(json_object_get(gr, "bytes")) +
							      (json_int_t)ch->size));
	}
	/* groups as an array, biggest first */
	json_t *ga = json_array();
	const char *key;
	json_t *gv;
	json_object_foreach(groups, key, gv)
		json_array_append(ga, gv);
	json_decref(groups);
	size_t gn = json_array_size(ga);
	for (size_t i = 1; i < gn; i++) /* insertion sort by bytes desc (groups are few) */
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(ga, j - 1), *b = json_array_get(ga, j);
			if (json_integer_value(json_object_get(a, "bytes")) >= json_integer_value(json_object_get(b, "bytes")))
				break;
			json_incref(a);
			json_array_set(ga, j - 1, b);
			json_array_set_new(ga, j, a);
		}
	json_t *hp = json_object();
	json_object_set_new(hp, "unreachable_chunks", list);
	json_object_set_new(hp, "groups", ga);
	json_object_set_new(hp, "unreachable", tli_gl_cb(nun, bun));
	json_object_set_new(hp, "in_use_chunks", json_integer((json_int_t)k.n));
	json_object_set_new(hp, "root_bytes", json_integer((json_int_t)root_bytes));
	json_object_set_new(hp, "root_registers", json_integer((json_int_t)nregs));
	json_object_set_new(hp, "scanned_bytes", json_integer((json_int_t)k.scanned));
	json_object_set_new(hp, "problems", json_incref(h->problems));
	json_object_set_new(result, "heap", hp);
	for (size_t i = 0; i < mc.n; i++) {
		free(mc.v[i].path);
		tli_elfsym_close(mc.v[i].sym);
	}
	free(mc.v);
out:
	free(k.start);
	free(k.end);
	free(k.idx);
	free(k.mark);
	free(k.work);
	free(ex);
	free(roots);
	tli_gl_heap_free(h);
	tli_gl_ctx_free(c);
	if (prepared)
		tli_glibc_unprepare();
	return err;
}
