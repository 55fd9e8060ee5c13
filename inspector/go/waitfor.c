/* SPDX-License-Identifier: MIT */
/*
 * The capture and the goroutine classification that `leaks` and `graph` share.
 * See waitfor.h.
 */
#include "go/waitfor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bytes.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* sudog c/elem: both words of go1.26's maybeTraceable pair are untraced */
static void resolve_sudog_words(struct tli_go_waitfor *w)
{
	struct tli_layout *l = tli_go_rt_layout(w->rt);
	struct tli_member m;
	if (tli_layout_member(l, "runtime.sudog", "c", &m) == NULL) {
		w->s_c_base = (uint32_t)m.offset;
		w->s_c_words = (uint32_t)(m.size >= 16 ? 2 : 1);
	}
	if (tli_layout_member(l, "runtime.sudog", "elem", &m) == NULL) {
		w->s_elem_base = (uint32_t)m.offset;
		w->s_elem_words = (uint32_t)(m.size >= 16 ? 2 : 1);
	}
}

/* data/bss (with the heap) and every goroutine's used stack */
static struct tli_error *capture_roots(struct tli_go_waitfor *w)
{
	struct tli_error *err = tli_goheap_roots_capture(w->s, w->rt, w->heap, &w->roots);
	if (w->roots.problem[0]) {
		tli_session_warn(w->s, "no moduledata: data/bss roots unknown, no goroutine will be "
				 "called leaked by reachability");
		snprintf(w->problem, sizeof(w->problem), "%s", w->roots.problem);
	}
	return err;
}

struct tli_error *tli_go_waitfor_capture(struct tli_go_waitfor *w, bool (*between)(void *), void *arg)
{
	struct tli_go_chans_opts co = { .queues = true };
	double t[8] = { now_s() };
	struct tli_error *err = tli_go_rt_open(w->s, &w->rt);
	if (!err) {
		resolve_sudog_words(w);
		if (w->heap)
			err = tli_goheap_new(w->s, w->rt, &w->h);
	}
	uint64_t reserved = !err && w->h ? tli_goheap_reserve(w->h) : 0; /* before the stop */
	if (!err && w->h)
		err = tli_goheap_afford(w->h); /* refused while the process runs */
	t[1] = now_s();
	if (!err)
		err = tli_go_rt_capture(w->rt);
	t[2] = now_s();
	if (!err)
		err = tli_go_chans_capture(w->s, w->rt, NULL, 0, &co, &w->c);
	t[3] = now_s();
	if (!err)
		err = capture_roots(w);
	t[4] = now_s();
	if (!err && w->h)
		err = tli_goheap_capture(w->h);
	t[5] = now_s();
	if (!err && w->h)
		tli_goheap_prepare_types(w->h, &w->c->L.type);
	t[6] = now_s();
	if (between)
		between(arg);
	tli_target_release(w->s->target);
	t[7] = now_s();
	if (w->s->opts.verbose)
		fprintf(stderr, "go leaks: layout + heap reserve (%.0f MiB) %.3f s, goroutines %.3f s, channels %.3f s, "
			"roots+stacks %.3f s, heap %.3f s, types %.3f s, other walkers+release %.3f s\n",
			(double)reserved / (1 << 20), t[1] - t[0], t[2] - t[1],
			t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5], t[7] - t[6]);
	if (!err)
		tli_goheap_capture_report(w->h);
	if (!err)
		tli_go_chans_report_warnings(w->s, w->c, false); /* at most 20 lines */
	return err;
}

void tli_go_waitfor_free(struct tli_go_waitfor *w)
{
	if (w->gi)
		for (size_t i = 0; w->c && i < w->c->ngs; i++)
			free(w->gi[i].objs);
	free(w->gi);
	if (w->refs)
		for (size_t i = 0; w->c && i < w->c->nchans; i++)
			tli_vec_free(&w->refs[i]);
	free(w->refs);
	tli_goheap_precise_destroy(w->precise);
	tli_goheap_destroy(w->h);
	tli_goheap_roots_free(&w->roots);
	tli_u64set_free(&w->untraced_objs);
	tli_u64set_free(&w->untraced_words);
	tli_u64set_free(&w->stackhi);
	tli_go_listing_free(w->listing);
	w->listing = NULL;
	tli_error_destroy(w->obj_err);
	w->obj_err = NULL;
	tli_go_chans_destroy(w->c);
	tli_go_rt_destroy(w->rt);
}

/* ---- classification ---- */

/* a g object's stack words at lo/hi: [lo, hi) a goroutine stack (2 KiB aligned, a power of two
 * from 2 KiB to 1 GiB long) */
static bool looks_like_g(const uint8_t *obj, uint64_t lo_off, uint64_t hi_off)
{
	uint64_t lo = tli_rd64(obj + lo_off), hi = tli_rd64(obj + hi_off), n = hi - lo;
	return lo && hi > lo && !(lo & 2047) && !(hi & 2047) && n >= 2048 && n <= (1ull << 30) && !(n & (n - 1));
}

/* g.stack.hi of every g (a uintptr the runtime never traces): one past the end of
 * the stack, so it can equal the start of the adjacent heap object (seen on go1.19:
 * a g's stack.hi "kept" a leaked RWMutex alive). The gs of allgs, and the Ms' g0 and
 * gsignal gs, which allgs does not list (go1.19: a gsignal's stack.hi "kept" a leaked
 * channel): objects of g's size class whose stack words describe a stack. */
static void collect_stack_hi(struct tli_go_waitfor *w)
{
	struct tli_go_chans *c = w->c;
	struct tli_layout *l = tli_go_rt_layout(w->rt);
	struct tli_member hm, lm;
	uint64_t gsize = 0;
	struct tli_error *he = tli_layout_member(l, "runtime.g", "stack.hi", &hm);
	for (size_t i = 0; !he && i < c->ngs; i++)
		if (c->gs[i].raw && hm.offset + 8 <= c->gs[i].size && tli_rd64(c->gs[i].raw + hm.offset))
			tli_u64set_add(&w->stackhi, c->gs[i].addr + hm.offset);
	if (he || !w->h || !tli_layout_has_member(l, "runtime.g", "stack.lo", &lm) ||
	    tli_error_drop(tli_layout_type_size(l, "runtime.g", &gsize)) || !gsize) {
		tli_error_destroy(he);
		return;
	}
	for (size_t i = 0; i < w->h->nspans; i++) {
		const struct tli_goheap_span *sp = &w->h->spans[i];
		if (!sp->data || sp->noscan || sp->elemsize < gsize || sp->elemsize >= gsize + gsize / 4)
			continue;
		for (uint64_t k = 0; k < sp->nelems; k++) {
			const uint8_t *o = sp->data + k * sp->elemsize;
			if (looks_like_g(o, lm.offset, hm.offset))
				tli_u64set_add(&w->stackhi, sp->start + k * sp->elemsize + hm.offset);
		}
	}
}

/*
 * The bytes of a g's heap object past sizeof(runtime.g) (480-byte size class, 456-byte g
 * on go1.26+) hold no pointer for the runtime: its type (heap bits) ends with the g. Scanned
 * word by word, stale values there kept leaked channels "reachable" (the demo at 5000 leaks:
 * 114 such misses). They are untraced like the sudog words.
 */
static void untrace_g_slack(struct tli_go_waitfor *w)
{
	const struct tli_go_chans *c = w->c;
	for (size_t i = 0; w->h && i < c->ngs; i++) {
		struct tli_goheap_object o;
		const struct tli_go_chan_g *g = &c->gs[i];
		if (!g->raw || !g->size || !tli_goheap_find_object(w->h, g->addr, &o) || o.base != g->addr)
			continue;
		uint64_t end = o.base + o.span->elemsize;
		if (end <= g->addr + g->size || end - g->addr > 4096)
			continue;
		tli_u64set_add(&w->untraced_objs, o.base);
		for (uint64_t a = (g->addr + g->size + 7) & ~7ull; a + 8 <= end; a += 8)
			tli_u64set_add(&w->untraced_words, a);
		if (o.span->elemsize + 1 > w->untraced_max)
			w->untraced_max = o.span->elemsize + 1;
		if (!w->untraced_min || o.span->elemsize < w->untraced_min)
			w->untraced_min = o.span->elemsize;
	}
}

/*
 * The runtime scans a runtime.p by its type: its address-valued words that are not pointers
 * (pcache.base, the page cache's base address; wbBuf, the write barrier's buffer of stale
 * recorded pointers; runq/runnext/m/link, g/m/p "uintptr"s) are never traced. Scanned word
 * by word (go1.19-1.21 objects carry no type), pcache.base kept a channel allocated at the
 * start of that page range "reachable" (NoCloseRange on go1.19). They are untraced.
 */
static void untrace_p_words(struct tli_go_waitfor *w)
{
	static const char *const names[] = { "pcache", "wbBuf", "runq", "runnext", "m", "link" };
	struct tli_layout *l = tli_go_rt_layout(w->rt);
	for (size_t i = 0; w->h && i < w->roots.ps.n; i++) {
		struct tli_goheap_object o;
		uint64_t p = w->roots.ps.v[i];
		if (!tli_goheap_find_object(w->h, p, &o) || o.base != p)
			continue;
		for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++) {
			struct tli_member mb;
			if (!tli_layout_has_member(l, "runtime.p", names[k], &mb) || mb.offset + mb.size > o.span->elemsize)
				continue;
			for (uint64_t a = (p + mb.offset + 7) & ~7ull; a + 8 <= p + mb.offset + mb.size; a += 8)
				tli_u64set_add(&w->untraced_words, a);
		}
		tli_u64set_add(&w->untraced_objs, o.base);
		if (o.span->elemsize + 1 > w->untraced_max)
			w->untraced_max = o.span->elemsize + 1;
		if (!w->untraced_min || o.span->elemsize < w->untraced_min)
			w->untraced_min = o.span->elemsize;
	}
}

/* why a user-blocked g with no sudog on g.waiting cannot be judged */
static const char *why_no_sudog(const struct tli_go_waitfor *w, const struct tli_go_chan_g *g)
{
	if (g->reason && !strcmp(g->reason, "sync.Cond.Wait"))
		return "sync.Cond waiters queue on the Cond's notifyList, which Go <= 1.25 "
		       "does not link from the goroutine (g.waiting is nil), and its "
		       "sync.(*Cond).Wait frame holds no single Cond pointer: not judged";
	if (tli_go_reason_sync(g->reason))
		return w->c->sema_problem[0]
			? "g.waiting is nil and its semaphore was not found in runtime.semtable "
			  "(the table could not be fully walked)"
			: "g.waiting is nil and its semaphore was not found in runtime.semtable";
	return "blocked on a channel but g.waiting is nil (transient state)";
}

/* the objects g waits on (channels, or semaphore objects if sync) into x; false + why_root if unsure */
static bool collect_objects(struct tli_go_waitfor *w, const struct tli_go_chan_g *g, bool sync,
			    struct tli_go_ginfo *x)
{
	const struct tli_go_chans *c = w->c;
	x->objs = calloc(g->nsudogs, 8);
	if (!x->objs) {
		x->why_root = "out of memory";
		return false;
	}
	for (size_t s = 0; s < g->nsudogs; s++) {
		const struct tli_go_sudog *sd = &c->gsudogs[g->first_sudog + s];
		uint64_t o = sync ? sd->elem : sd->c;
		if (!o)
			continue;
		if (!sync) {
			const struct tli_go_chan *ch = tli_go_chans_find(c, o);
			if (!ch || !ch->header_ok) {
				x->why_root = "one of its channels is unreadable";
				break;
			}
			/* a timer channel (hchan.timer) is judged like any other: while its timer
			 * is pending it sits in a P's timer heap (p.timers, reached from allp)
			 * whose timer.arg is the channel, so it is marked; a stopped timer's
			 * channel is kept by nothing (runtime/mgc.go isMaybeRunnable has no
			 * exception for them either) */
		}
		x->objs[x->nobjs++] = o;
	}
	if (x->why_root || !x->nobjs) {
		if (!x->why_root)
			x->why_root = "no object to wait on was found";
		free(x->objs);
		x->objs = NULL;
		x->nobjs = 0;
		return false;
	}
	return true;
}

/* the runtime makes a blocked goroutine's sudog c/elem words untraceable while it looks for leaks */
static void untrace_sudogs(struct tli_go_waitfor *w, const struct tli_go_chan_g *g)
{
	for (size_t s = 0; s < g->nsudogs; s++) {
		const struct tli_go_sudog *sd = &w->c->gsudogs[g->first_sudog + s];
		tli_u64set_add(&w->untraced_objs, sd->addr);
		for (uint32_t k = 0; k < w->s_c_words; k++)
			tli_u64set_add(&w->untraced_words, sd->addr + w->s_c_base + 8 * k);
		for (uint32_t k = 0; k < w->s_elem_words; k++)
			tli_u64set_add(&w->untraced_words, sd->addr + w->s_elem_base + 8 * k);
	}
}

static void classify_one(struct tli_go_waitfor *w, const struct tli_go_chan_g *g, struct tli_go_ginfo *x)
{
	x->cls = TLI_GO_G_ROOT;
	/* g->sema: a Go <= 1.25 semaphore wait linked through runtime.semtable; a raw
	 * "semacquire" (what sync.Mutex/WaitGroup print on old runtimes) is judged too */
	if (g->dead || !g->waiting || (!tli_go_reason_user_blocked(g->reason) && !g->sema))
		return;
	if (tli_go_reason_forever(g->reason)) {
		x->cls = TLI_GO_G_FOREVER;
		return;
	}
	if (g->problem[0]) {
		x->why_root = "its waiting chain could not be read";
		return;
	}
	if (!g->nsudogs) {
		x->why_root = why_no_sudog(w, g);
		return;
	}
	bool sync = tli_go_reason_sync(g->reason) || g->sema;
	if (!collect_objects(w, g, sync, x))
		return;
	x->cls = sync ? TLI_GO_G_SYNC : TLI_GO_G_CHAN;
	untrace_sudogs(w, g);
}

void tli_go_waitfor_cond(struct tli_go_waitfor *w)
{
	const struct tli_go_chans *c = w->c;
	for (size_t i = 0; w->precise && w->h && i < c->ngs; i++) {
		const struct tli_go_chan_g *g = &c->gs[i];
		struct tli_go_ginfo *x = &w->gi[i];
		struct tli_go_gview gv;
		uint64_t cond;
		if (x->cls != TLI_GO_G_ROOT || g->dead || !g->waiting || g->nsudogs || g->problem[0] ||
		    !g->reason || strcmp(g->reason, "sync.Cond.Wait") || !tli_go_rt_g(w->rt, i, &gv))
			continue;
		/* Wait uses c after runtime_notifyListWait returns (c.L.Lock()): c is its one live
		 * pointer there; none, several, or a frame not scanned by its maps: not judged */
		if (tli_goheap_frame_ptrs(w->precise, w->h, &w->roots.stacks[i], &gv, "sync.(*Cond).Wait", &cond, 1) != 1)
			continue;
		x->objs = malloc(sizeof(*x->objs));
		if (!x->objs)
			continue;
		x->objs[0] = cond;
		x->nobjs = 1;
		x->cls = TLI_GO_G_SYNC;
		x->why_root = NULL;
	}
}

struct tli_error *tli_go_waitfor_analyze(struct tli_go_waitfor *w, json_t *result)
{
	w->gopts = (struct tli_go_opts){ .top = 0 };
	struct tli_error *err = w->objects_on_demand
		? tli_go_rt_analyze_stream(w->rt, &w->gopts, result, false, &w->listing)
		: tli_go_rt_analyze(w->rt, &w->gopts, result);
	if (err) {
		tli_go_waitfor_free(w);
		return err;
	}
	struct tli_go_chans *c = w->c;
	w->gi = calloc(c->ngs ? c->ngs : 1, sizeof(*w->gi));
	w->refs = calloc(c->nchans ? c->nchans : 1, sizeof(*w->refs));
	if (!w->gi || !w->refs) {
		tli_go_waitfor_free(w);
		return &tli_enomem;
	}
	collect_stack_hi(w);
	untrace_g_slack(w);
	untrace_p_words(w);
	for (size_t i = 0; i < c->ngs; i++)
		classify_one(w, &c->gs[i], &w->gi[i]);
	return NULL;
}

/* ---- stack references (graph edges channel -> goroutine, evidence) ---- */

void tli_go_waitfor_stack_refs(struct tli_go_waitfor *w)
{
	const struct tli_go_chans *c = w->c;
	struct tli_u64map idx = { 0 };
	for (size_t i = 0; i < c->nchans; i++)
		tli_u64map_put(&idx, c->chans[i].addr, i + 1);
	for (size_t g = 0; g < c->ngs; g++) {
		const struct tli_goheap_range *st = &w->roots.stacks[g];
		if (!st->mem || c->gs[g].dead)
			continue;
		for (uint64_t a = st->lo; a + 8 <= st->hi; a += 8) {
			uint64_t v = tli_rd64(st->mem + (a - st->lo));
			uint64_t ci = v ? tli_u64map_get(&idx, v) : 0;
			if (!ci)
				continue;
			struct tli_go_holders *r = &w->refs[ci - 1];
			bool dup = false;
			for (size_t j = r->n; j > 0 && !dup; j--)
				dup = r->v[j - 1] == g;
			if (!dup)
				tli_vec_push(r, g);
		}
	}
	tli_u64map_free(&idx);
}

/* ---- small JSON helpers ---- */

json_t *tli_go_gmap_get(json_t *gmap, int64_t id)
{
	char key[32];
	snprintf(key, sizeof(key), "%" PRId64, id);
	return json_object_get(gmap, key);
}

json_t *tli_go_waitfor_gobj(struct tli_go_waitfor *w, size_t i)
{
	json_t *o = NULL;
	if (!w->listing)
		return NULL;
	struct tli_error *err = w->obj_err ? NULL : tli_go_listing_item_of(w->listing, i, &o);
	if (err)
		w->obj_err = err;
	return o;
}

json_t *tli_go_json_member(json_t *o, const char *k)
{
	json_t *v = o ? json_object_get(o, k) : NULL;
	return v ? json_incref(v) : json_null();
}

/* ---- cycles among blocked goroutines (Tarjan, iterative) ---- */

/* the wait-for graph in adjacency-array form: g's successors are adj[start[g] .. start[g]+deg[g]) */
struct wfgraph {
	size_t *deg, *start, *adj;
};

static bool cycle_node(const struct tli_go_waitfor *w, size_t i, bool only_leaked)
{
	return !w->c->gs[i].dead && w->gi[i].cls == TLI_GO_G_CHAN && (!only_leaked || w->gi[i].leaked);
}

/* g -> h for every holder h of a channel g waits on (pass 0 counts, pass 1 fills) */
static void graph_edges(const struct tli_go_waitfor *w, bool only_leaked, struct wfgraph *G, int pass,
			size_t *total)
{
	const struct tli_go_chans *c = w->c;
	for (size_t g = 0; g < c->ngs; g++) {
		if (!cycle_node(w, g, only_leaked))
			continue;
		for (size_t o = 0; o < w->gi[g].nobjs; o++) {
			const struct tli_go_chan *ch = tli_go_chans_find(c, w->gi[g].objs[o]);
			if (!ch)
				continue;
			const struct tli_go_holders *r = &w->refs[ch - c->chans];
			for (size_t j = 0; j < r->n; j++) {
				size_t h = r->v[j];
				if (h == g || !cycle_node(w, h, only_leaked))
					continue;
				if (pass == 0) {
					G->deg[g]++;
					(*total)++;
				} else {
					G->adj[G->start[g] + G->deg[g]++] = h;
				}
			}
		}
	}
}

static bool build_graph(const struct tli_go_waitfor *w, bool only_leaked, struct wfgraph *G)
{
	size_t n = w->c->ngs, total = 0;
	graph_edges(w, only_leaked, G, 0, &total);
	for (size_t i = 0, acc = 0; i < n; i++) {
		G->start[i] = acc;
		acc += G->deg[i];
		G->deg[i] = 0;
	}
	G->start[n] = total;
	G->adj = malloc((total + 1) * sizeof(size_t));
	if (!G->adj)
		return false;
	graph_edges(w, only_leaked, G, 1, &total);
	return true;
}

/* a strongly connected component stk[first..sp): a wait-for cycle needs two goroutines and
 * two channels (goroutines that all wait on the one channel they hold, an idle worker pool,
 * are not a cycle) */
static void emit_cycle(const struct tli_go_waitfor *w, const size_t *stk, size_t first, size_t sp, json_t *out)
{
	const struct tli_go_ginfo *gi = w->gi;
	size_t nch = 0;
	uint64_t firstch = 0;
	for (size_t q = first; q < sp && nch < 2; q++)
		for (size_t o = 0; o < gi[stk[q]].nobjs && nch < 2; o++)
			if (!nch || gi[stk[q]].objs[o] != firstch) {
				if (!nch)
					firstch = gi[stk[q]].objs[o];
				nch++;
			}
	if (sp - first < 2 || nch < 2)
		return;
	json_t *cy = json_object(), *ids = json_array(), *chs = json_array();
	struct tli_u64set seen = { 0 };
	for (size_t q = first; q < sp; q++) {
		size_t g = stk[q];
		json_array_append_new(ids, json_integer(w->c->gs[g].goid));
		for (size_t o = 0; o < gi[g].nobjs; o++)
			if (tli_u64set_add(&seen, gi[g].objs[o]))
				json_array_append_new(chs, tli_go_hex(gi[g].objs[o]));
	}
	tli_u64set_free(&seen);
	json_object_set_new(cy, "goroutines", ids);
	json_object_set_new(cy, "channels", chs);
	json_array_append_new(out, cy);
}

struct tarjan {
	int64_t *index, *low, counter;
	bool *on;
	size_t *stk, sp;      /* the component stack */
	size_t *cs, *ci;      /* the call stack: node, next successor */
};

/* Tarjan's strongconnect from root, without recursion */
static void strongconnect(const struct tli_go_waitfor *w, const struct wfgraph *G, struct tarjan *T, size_t root,
			  json_t *out)
{
	size_t csp = 0;
	T->cs[csp] = root;
	T->ci[csp++] = 0;
	T->index[root] = T->low[root] = T->counter++;
	T->stk[T->sp++] = root;
	T->on[root] = true;
	while (csp) {
		size_t v = T->cs[csp - 1];
		if (T->ci[csp - 1] < G->deg[v]) {
			size_t u = G->adj[G->start[v] + T->ci[csp - 1]++];
			if (T->index[u] < 0) {
				T->index[u] = T->low[u] = T->counter++;
				T->stk[T->sp++] = u;
				T->on[u] = true;
				T->cs[csp] = u;
				T->ci[csp++] = 0;
			} else if (T->on[u] && T->index[u] < T->low[v]) {
				T->low[v] = T->index[u];
			}
			continue;
		}
		csp--;
		if (csp && T->low[v] < T->low[T->cs[csp - 1]])
			T->low[T->cs[csp - 1]] = T->low[v];
		if (T->low[v] != T->index[v])
			continue;
		size_t first = T->sp;
		do {
			first--;
			T->on[T->stk[first]] = false;
		} while (T->stk[first] != v);
		emit_cycle(w, T->stk, first, T->sp, out);
		T->sp = first;
	}
}

json_t *tli_go_waitfor_cycles(const struct tli_go_waitfor *w, bool only_leaked)
{
	size_t n = w->c->ngs;
	json_t *out = json_array();
	struct wfgraph G = { .deg = calloc(n + 1, sizeof(size_t)), .start = calloc(n + 1, sizeof(size_t)) };
	struct tarjan T = {
		.index = malloc((n + 1) * sizeof(int64_t)), .low = malloc((n + 1) * sizeof(int64_t)),
		.on = calloc(n + 1, 1), .stk = malloc((n + 1) * sizeof(size_t)),
		.cs = malloc((n + 1) * sizeof(size_t)), .ci = malloc((n + 1) * sizeof(size_t)),
	};
	if (G.deg && G.start && T.index && T.low && T.on && T.stk && T.cs && T.ci && build_graph(w, only_leaked, &G)) {
		for (size_t i = 0; i < n; i++)
			T.index[i] = -1;
		for (size_t root = 0; root < n; root++)
			if (cycle_node(w, root, only_leaked) && T.index[root] < 0)
				strongconnect(w, &G, &T, root, out);
	}
	free(G.deg);
	free(G.start);
	free(G.adj);
	free(T.index);
	free(T.low);
	free(T.on);
	free(T.stk);
	free(T.cs);
	free(T.ci);
	return out;
}
