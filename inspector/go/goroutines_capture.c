/* SPDX-License-Identifier: MIT */
/*
 * The goroutine walker's capture: everything it reads while the target is
 * stopped, in a few large vectored reads (see goroutines_internal.h). The
 * steps of tli_go_rt_capture, in order:
 *   read_allgs       runtime.allgs and allglen: the pointer to every g
 *   read_gs          every g, in runs of neighbouring gs (one iovec per run)
 *   read_ms          the Ms of running/syscall gs: which thread runs them
 *   plan_stacks      where each stack walk starts, the stack window to copy
 *   (capture)        the stack windows, through the target's capture
 *   read_strings     waitReasonStrings and gStatusStrings
 *   read_fing, clock_now  the finalizer goroutine's state, "now"
 */
#include "goroutines_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bigbuf.h"
#include "core/bytes.h"

#define MAX_ALLGS        (16u * 1024 * 1024)  /* sanity bound on len(allgs) */
#define STACK_CAPTURE    TLI_GO_STACK_CAPTURE
#define MAX_STRING       256                  /* wait reason / status string length bound */
#define GRUN_GAP         512                  /* gs closer than this are read as one run */
#define GRUN_MAX         (4u << 20)           /* bytes per run at most */
#define ONLY_ID_WINDOW   (1u << 20)           /* `goroutine ID`: bytes scanned per read */

static double now_ms(void);

/* ---- the runtime's string tables ---- */

void tli_go_strtab_free(struct go_strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	t->s = NULL;
	t->n = 0;
}

/* Runtime strings are ASCII; anything else is damage: keep it printable. */
static void make_printable(char *s)
{
	for (char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

static struct tli_error *read_strtab(struct tli_target *t, const struct tli_global *g, const char *what,
				     struct go_strtab *ret)
{
	size_t n = g->size / 16;
	if (n == 0 || n > 4096)
		return tli_error_create(TLI_E_CORRUPT, "%s: implausible array size %llu bytes", what,
					(unsigned long long)g->size);
	uint8_t *hdr = malloc(n * 16);
	if (!hdr)
		return &tli_enomem;
	struct tli_error *err = tli_target_read(t, g->addr, hdr, n * 16);
	if (err) {
		free(hdr);
		return tli_error_wrap(err, "reading %s", what);
	}
	ret->s = calloc(n, sizeof(char *));
	ret->n = n;
	struct tli_read *rs = calloc(n, sizeof(*rs));
	if (!ret->s || !rs) {
		free(hdr);
		free(rs);
		return &tli_enomem;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t p = tli_rd64(hdr + i * 16), len = tli_rd64(hdr + i * 16 + 8);
		if (len > MAX_STRING)
			len = MAX_STRING;
		ret->s[i] = calloc(1, len + 1);
		if (!ret->s[i]) {
			free(hdr);
			free(rs);
			return &tli_enomem;
		}
		rs[i] = (struct tli_read){ .addr = p, .buf = ret->s[i], .len = len };
	}
	err = tli_target_read_many(t, rs, n);
	for (size_t i = 0; !err && i < n; i++) {
		if (rs[i].got < rs[i].len) {
			free(ret->s[i]);
			ret->s[i] = NULL; /* unreadable entry: reported as "reason N" */
			continue;
		}
		make_printable(ret->s[i]);
	}
	free(hdr);
	free(rs);
	return err;
}

/* ---- allgs ---- */

/* The g pointers of runtime.allgs (*ret, len(allgs) entries); allocates w->gs. */
static struct tli_error *read_allgs(struct tli_go_rt *w, uint64_t **ret)
{
	struct tli_target *t = w->t;
	const struct go_layout *gl = &w->gl;
	uint8_t hdr[24];
	uint64_t allglen;
	struct tli_error *err = tli_target_read(t, gl->allgs, hdr, sizeof(hdr));
	if (err)
		return tli_error_wrap(err, "reading runtime.allgs");
	err = tli_target_read_u64(t, gl->allglen, &allglen);
	if (err)
		return tli_error_wrap(err, "reading runtime.allglen");
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8), cap = tli_rd64(hdr + 16);
	if (len > MAX_ALLGS || cap < len)
		return tli_error_create(TLI_E_CORRUPT, "runtime.allgs is implausible (len %llu, cap %llu)",
					(unsigned long long)len, (unsigned long long)cap);
	if (len != allglen)
		tli_session_warn(w->s, "len(runtime.allgs) = %llu but runtime.allglen = %llu; using the "
				 "smaller", (unsigned long long)len, (unsigned long long)allglen);
	if (allglen < len)
		len = allglen;
	if (len && !tli_target_plausible(t, arr, len * 8))
		return tli_error_fault(arr, "runtime.allgs array at 0x%llx (%llu entries) is not in mapped memory",
				       (unsigned long long)arr, (unsigned long long)len);
	w->ngs = len;
	uint64_t *ptrs = malloc((len ? len : 1) * 8);
	if (w->gs && w->gs_cap >= len) { /* faulted in (and zeroed up to gs_zeroed) before the stop */
		if (len > w->gs_zeroed)
			memset(w->gs + w->gs_zeroed, 0, (len - w->gs_zeroed) * sizeof(*w->gs));
	} else {
		free(w->gs);
		w->gs = calloc(len ? len : 1, sizeof(*w->gs));
		w->gs_cap = len;
	}
	if (!ptrs || !w->gs) {
		free(ptrs);
		return &tli_enomem;
	}
	if (len && (err = tli_target_read(t, arr, ptrs, len * 8))) {
		free(ptrs);
		return tli_error_wrap(err, "reading the runtime.allgs array");
	}
	*ret = ptrs;
	return NULL;
}

/* ---- every g ---- */

/* A g in address order: gs live in spans of equal-sized slots, so sorted addresses give long runs. */
struct gord {
	uint64_t addr;
	size_t idx;     /* index into w->gs */
};

/* by address, then allgs index: the same order whether sorted before the stop or after */
static int cmp_gord(const void *a, const void *b)
{
	const struct gord *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* May g pointer p be a g (non-nil, aligned; mapped is checked separately)? */
static bool g_ptr_shape(uint64_t p)
{
	return p && !(p & 7);
}

/* The plausible g pointers, sorted by address (*nord of them); the others get a problem. */
static struct tli_error *order_gs(struct tli_go_rt *w, const uint64_t *ptrs, struct gord **ret, size_t *nord)
{
	struct gord *ord = calloc(w->ngs ? w->ngs : 1, sizeof(*ord));
	if (!ord)
		return &tli_enomem;
	size_t n = 0;
	for (uint64_t i = 0; i < w->ngs; i++) {
		struct gcap *g = &w->gs[i];
		g->addr = ptrs[i];
		if (!g_ptr_shape(g->addr) || !tli_target_plausible(w->t, g->addr, w->gl.g_size))
			g->problem = "g pointer is not in mapped memory";
	}
	if (w->pre_ord && w->pre_n == w->ngs && !memcmp(ptrs, w->pre_ptrs, w->ngs * 8)) {
		w->pre_gindex_ok = w->pre_gindex.n > 0;
		/* allgs as it was before the stop: its order, without the gs found unmapped now */
		for (size_t k = 0; k < w->pre_nord; k++)
			if (!w->gs[w->pre_ord[k].idx].problem)
				ord[n++] = w->pre_ord[k];
	} else {
		for (uint64_t i = 0; i < w->ngs; i++)
			if (!w->gs[i].problem)
				ord[n++] = (struct gord){ w->gs[i].addr, i };
		qsort(ord, n, sizeof(*ord), cmp_gord);
	}
	*ret = ord;
	*nord = n;
	return NULL;
}

/* Do ord[k-1] and ord[k] belong to one read window of at most `max` bytes? */
static bool same_window(const struct gord *ord, size_t first, size_t k, uint32_t gsize, uint64_t max)
{
	return ord[k].addr + gsize - ord[first].addr <= max && ord[k].addr >= ord[k - 1].addr + gsize &&
	       ord[k].addr - (ord[k - 1].addr + gsize) <= GRUN_GAP;
}

/*
 * `goroutine ID`: scan the gs in address order through one small reused window
 * (no per-g iovec, no fresh memory per g) and keep only the matches: w->gs then
 * holds only them (normally one), ord and *nord too.
 */
static struct tli_error *keep_only_id(struct tli_go_rt *w, struct gord *ord, size_t *nord)
{
	const struct go_layout *gl = &w->gl;
	uint8_t *win = malloc(ONLY_ID_WINDOW);
	if (!win)
		return &tli_enomem;
	struct tli_error *err = NULL;
	size_t keep = 0;
	for (size_t k = 0; k < *nord && !err;) {
		size_t e = k + 1;   /* a window: consecutive gs whose span fits */
		while (e < *nord && same_window(ord, k, e, gl->g_size, ONLY_ID_WINDOW))
			e++;
		uint64_t wlen = ord[e - 1].addr + gl->g_size - ord[k].addr;
		struct tli_read r = { .addr = ord[k].addr, .buf = win, .len = wlen };
		err = tli_target_read_many(w->t, &r, 1);
		for (size_t j = k; !err && j < e; j++) {
			uint64_t o = ord[j].addr - ord[k].addr;
			if (r.got >= o + gl->g_goid + gl->g_goid_size &&
			    tli_rdn(win + o + gl->g_goid, gl->g_goid_size) == (uint64_t)w->only_id)
				ord[keep++] = ord[j];
		}
		k = e;
	}
	free(win);
	if (err)
		return tli_error_wrap(err, "reading goroutine ids");
	struct gcap *kept = calloc(keep ? keep : 1, sizeof(*kept));
	if (!kept)
		return &tli_enomem;
	for (size_t k = 0; k < keep; k++) {
		kept[k] = w->gs[ord[k].idx];
		ord[k].idx = k;
	}
	free(w->gs);
	w->gs = kept;
	w->ngs = *nord = keep;
	return NULL;
}

/* Does ord[k] start a new run (not within GRUN_GAP of the previous g, or the run would be too long)? */
static bool starts_run(const struct gord *ord, size_t k, uint32_t gsize)
{
	return k == 0 || ord[k].addr > ord[k - 1].addr + gsize + GRUN_GAP ||
	       ord[k].addr + gsize - ord[k - 1].addr > GRUN_MAX || ord[k].addr < ord[k - 1].addr + gsize;
}

/* Bytes of the runs read_g_runs reads for ord[0..nord) (*nruns runs). */
static uint64_t runs_bytes(const struct gord *ord, size_t nord, uint32_t gsize, size_t *nruns)
{
	uint64_t total = 0;
	*nruns = 0;
	for (size_t k = 0; k < nord; k++) {
		bool fresh = starts_run(ord, k, gsize);
		*nruns += fresh;
		total += fresh ? gsize : ord[k].addr + gsize - (ord[k - 1].addr + gsize);
	}
	return total;
}

/* The reads of the runs of ord[0..nord) into buf (laid out as read_g_runs lays them out). */
static size_t plan_runs(const struct gord *ord, size_t nord, uint32_t gsize, uint8_t *buf, struct tli_read *rs)
{
	size_t nr = 0;
	uint64_t off = 0;
	for (size_t k = 0; k < nord; k++) {
		if (starts_run(ord, k, gsize)) {
			rs[nr++] = (struct tli_read){ .addr = ord[k].addr, .buf = buf + off, .len = gsize };
			off += gsize;
		} else {
			uint64_t grow = ord[k].addr + gsize - (ord[k - 1].addr + gsize);
			rs[nr - 1].len += grow;
			off += grow;
		}
	}
	return nr;
}

/*
 * Read every g in runs [start, end) covering gs closer than GRUN_GAP to each
 * other. The buffer mirrors each run (g->raw points into it) and is
 * pre-faulted in one go.
 */
static struct tli_error *read_g_runs(struct tli_go_rt *w, const struct gord *ord, size_t nord)
{
	uint32_t gsize = w->gl.g_size;
	size_t nruns = 0;
	uint64_t total = runs_bytes(ord, nord, gsize, &nruns);
	if (!w->gbuf || w->gbuf_len < total) { /* else the buffer faulted in before the stop */
		tli_big_free(w->gbuf, w->gbuf_len);
		w->gbuf_len = total ? total : 1;
		w->gbuf = tli_big_alloc(w->gbuf_len);
	}
	struct tli_read *rs = calloc(nruns ? nruns : 1, sizeof(*rs));
	if (!w->gbuf || !rs) {
		free(rs);
		return &tli_enomem;
	}
	size_t nr = plan_runs(ord, nord, gsize, w->gbuf, rs);
	for (size_t k = 0, r = SIZE_MAX; k < nord; k++) {
		r += starts_run(ord, k, gsize); /* the first g starts run 0 */
		w->gs[ord[k].idx].raw = (uint8_t *)rs[r].buf + (ord[k].addr - rs[r].addr);
		w->gs[ord[k].idx].run = r;
	}
	struct tli_error *err = tli_target_read_many(w->t, rs, nr);
	for (size_t k = 0; !err && k < nord; k++) {
		struct gcap *g = &w->gs[ord[k].idx];
		const struct tli_read *r = &rs[g->run];
		if (r->got < (g->addr - r->addr) + gsize) {
			g->raw = NULL;
			g->problem = "g descriptor is unreadable";
		}
	}
	free(rs);
	return err ? tli_error_wrap(err, "reading goroutine descriptors") : NULL;
}

/* Every g of allgs (only goroutine w->only_id's when set). */
static struct tli_error *read_gs(struct tli_go_rt *w, const uint64_t *ptrs)
{
	struct gord *ord = NULL;
	size_t nord = 0;
	struct tli_error *err = order_gs(w, ptrs, &ord, &nord);
	if (!err && w->only_id > 0 && nord)
		err = keep_only_id(w, ord, &nord);
	if (!err)
		err = read_g_runs(w, ord, nord);
	free(ord);
	return err;
}

/* ---- Ms ---- */

/* Status of every g; procids[i] = m.procid (the thread) of each running/syscall g. */
static struct tli_error *read_ms(struct tli_go_rt *w, uint64_t *procids)
{
	const struct go_layout *gl = &w->gl;
	struct tli_read *rs = calloc(w->ngs ? w->ngs : 1, sizeof(*rs));
	if (!rs)
		return &tli_enomem;
	size_t nr = 0;
	for (uint64_t i = 0; i < w->ngs; i++) {
		struct gcap *g = &w->gs[i];
		if (!g->raw)
			continue;
		uint64_t st = tli_rdn(g->raw + gl->g_status, gl->g_status_size);
		g->scan = (st & (uint64_t)gl->st.scan) != 0;
		g->status = st & ~(uint64_t)gl->st.scan;
		uint64_t m = tli_rd64(g->raw + gl->g_m);
		if ((g->status == (uint64_t)gl->st.running || g->status == (uint64_t)gl->st.syscall) && m &&
		    tli_target_plausible(w->t, m + gl->m_procid, 8))
			rs[nr++] = (struct tli_read){ .addr = m + gl->m_procid, .buf = &procids[i], .len = 8 };
	}
	struct tli_error *err = nr ? tli_target_read_many(w->t, rs, nr) : NULL;
	free(rs);
	return err;
}

/* ---- stacks ---- */

static const struct tli_thread *thread_by_tid(const struct tli_target *t, int tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

/*
 * Where g's stack walk starts: its thread's registers while it runs, the
 * syscall sp/pc in a syscall, else the saved g.sched. False (g->problem set)
 * if there is no usable start.
 */
static bool stack_start(struct tli_go_rt *w, struct gcap *g)
{
	const struct go_layout *gl = &w->gl;
	if (g->status == (uint64_t)gl->st.running) {
		const struct tli_thread *th = g->tid ? thread_by_tid(w->t, g->tid) : NULL;
		if (th && th->regs_valid && th->regs.sp >= g->stk_lo && th->regs.sp < g->stk_hi) {
			g->sp = th->regs.sp;
			g->pc = th->regs.pc;
			g->bp = th->regs.fp;
			g->lr = th->regs.lr;
			g->trap = true;
			return true;
		}
		g->problem = th && th->regs_valid ? "running on another stack (system stack or signal handler)"
						  : "running; its thread's registers are unavailable";
		return false;
	}
	if (g->status == (uint64_t)gl->st.syscall) {
		g->sp = tli_rd64(g->raw + gl->g_syscallsp);
		g->pc = tli_rd64(g->raw + gl->g_syscallpc);
	} else {
		g->sp = tli_rd64(g->raw + gl->g_sched_sp);
		g->pc = tli_rd64(g->raw + gl->g_sched_pc);
		g->bp = tli_rd64(g->raw + gl->g_sched_bp);
		/* gobuf.lr: set where a goroutine parked before its frame saved LR (usesLR machines) */
		g->lr = gl->has_sched_lr && w->t->arch && w->t->arch->go_uses_lr ? tli_rd64(g->raw + gl->g_sched_lr) : 0;
	}
	return true;
}

/* The stack window of every live g to capture (ranges[], *nranges of them). */
static void plan_stacks(struct tli_go_rt *w, const uint64_t *procids, struct tli_range *ranges, size_t *nranges)
{
	const struct go_layout *gl = &w->gl;
	size_t n = 0;
	for (uint64_t i = 0; i < w->ngs; i++) {
		struct gcap *g = &w->gs[i];
		if (!g->raw || tli_go_rt_dead(w, g->status))
			continue;
		g->stk_lo = tli_rd64(g->raw + gl->g_stack_lo);
		g->stk_hi = tli_rd64(g->raw + gl->g_stack_hi);
		if (g->stk_lo >= g->stk_hi || g->stk_hi - g->stk_lo > (1ull << 30)) {
			g->problem = "stack bounds are implausible";
			continue;
		}
		if (w->only_id > 0 && tli_rdn(g->raw + gl->g_goid, gl->g_goid_size) != (uint64_t)w->only_id)
			continue; /* `goroutine ID`: only that stack is needed */
		g->tid = (int)procids[i];
		if (!stack_start(w, g))
			continue;
		if (g->sp < g->stk_lo || g->sp > g->stk_hi) {
			g->problem = "stack pointer outside the goroutine's stack";
			continue;
		}
		g->cap_lo = g->sp;
		g->cap_hi = g->stk_hi - g->sp > STACK_CAPTURE ? g->sp + STACK_CAPTURE : g->stk_hi;
		if (g->cap_hi > g->cap_lo && !tli_go_precopied(w, i, g))
			ranges[n++] = (struct tli_range){ g->cap_lo, g->cap_hi - g->cap_lo };
	}
	n += tli_go_precopy_adopt(w, ranges + n);
	*nranges = n;
}

/* ---- before the stop ---- */

/* Bytes of stack windows plan_stacks would capture for the gs peeked (pk[0..n)). */
static uint64_t stack_bytes(const struct tli_go_rt *w, const struct go_peeked *pk, size_t n)
{
	const struct go_layout *gl = &w->gl;
	uint64_t total = 0;
	for (size_t k = 0; k < n; k++) {
		const uint8_t *raw = pk[k].raw;
		if (!raw)
			continue;
		uint64_t st = tli_rdn(raw + gl->g_status, gl->g_status_size) & ~(uint64_t)gl->st.scan;
		if (tli_go_rt_dead(w, st))
			continue;
		uint64_t lo = tli_rd64(raw + gl->g_stack_lo), hi = tli_rd64(raw + gl->g_stack_hi);
		uint64_t sp = tli_rd64(raw + (st == (uint64_t)gl->st.syscall ? gl->g_syscallsp : gl->g_sched_sp));
		if (lo < hi && sp >= lo && sp < hi)
			total += (hi - sp > STACK_CAPTURE ? STACK_CAPTURE : hi - sp) + 64;
	}
	return total;
}

/*
 * A look at the running target (tli_target_peek_many: no stop) that only decides what
 * to prepare, so that no page is faulted in and nothing is sorted while it is stopped:
 * the buffer of the gs and room for w->gs (faulted in now), memory for the stack
 * windows (tli_target_reserve_slab, sized from the gs as they are now), and the gs in
 * address order. Nothing peeked is data: after the stop allgs and every g are read
 * again; the order is used only if the stopped allgs is byte for byte the one peeked,
 * and a buffer too small for what the stop finds is replaced.
 */
static double now_ms(void);
static void prepare_peek(struct tli_go_rt *w);
static void prepare(struct tli_go_rt *w)
{
	struct tli_target *t = w->t;
	if (w->prepared || t->kind != TLI_TARGET_LIVE || !t->stop_deferred || t->released || t->stop_error ||
	    w->only_id > 0)
		return;
	w->prepared = true;
	double t_begin = now_ms();
	prepare_peek(w);
	w->prep_total_ms = now_ms() - t_begin;
}

static void prepare_peek(struct tli_go_rt *w)
{
	struct tli_target *t = w->t;
	const struct go_layout *gl = &w->gl;
	uint8_t hdr[24];
	uint64_t allglen = 0;
	struct tli_read hr[2] = { { .addr = gl->allgs, .buf = hdr, .len = sizeof(hdr) },
				  { .addr = gl->allglen, .buf = &allglen, .len = 8 } };
	if (tli_error_drop(tli_target_peek_many(t, hr, 2)) || hr[0].got != hr[0].len || hr[1].got != 8)
		return;
	uint64_t arr = tli_rd64(hdr), len = tli_rd64(hdr + 8);
	if (allglen < len)
		len = allglen;
	if (!len || len > MAX_ALLGS || !tli_target_plausible(t, arr, len * 8))
		return;
	uint64_t *ptrs = malloc(len * 8);
	struct gord *ord = malloc(len * sizeof(*ord));
	struct tli_read pr = { .addr = arr, .buf = ptrs, .len = len * 8 };
	if (!ptrs || !ord || tli_error_drop(tli_target_peek_many(t, &pr, 1)) || pr.got != pr.len) {
		free(ptrs);
		free(ord);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (g_ptr_shape(ptrs[i]))
			ord[n++] = (struct gord){ ptrs[i], i };
	qsort(ord, n, sizeof(*ord), cmp_gord);
	w->pre_ptrs = ptrs;
	w->pre_ord = ord;
	/* the channel walker's index of the gs (what chans.c copy_goroutines would build) */
	bool ok = tli_u64map_reserve(&w->pre_gindex, len);
	for (size_t i = 0; ok && i < len; i++)
		if (ptrs[i] && !tli_u64map_get(&w->pre_gindex, ptrs[i]))
			ok = tli_u64map_put(&w->pre_gindex, ptrs[i], i + 1);
	if (!ok)
		tli_u64map_free(&w->pre_gindex);
	w->pre_n = len;
	w->pre_nord = n;
	/* gs started until the stop: 1/32 more room, faulted in only if used */
	size_t cap = len + len / 32 + 64;
	w->gs = malloc(cap * sizeof(*w->gs));
	if (w->gs) {
		memset(w->gs, 0, (len + 64) * sizeof(*w->gs));
		w->gs_cap = cap;
		w->gs_zeroed = len + 64;
	}
	size_t nruns = 0;
	uint64_t need = runs_bytes(ord, n, gl->g_size, &nruns);
	uint64_t room = need + need / 32 + (1u << 20);
	struct tli_read *rs = calloc(nruns ? nruns : 1, sizeof(*rs));
	w->gbuf = rs ? tli_big_alloc_lazy(room) : NULL;
	if (!w->gbuf) {
		free(rs);
		return;
	}
	w->gbuf_len = room;
	tli_big_populate(w->gbuf, need ? need : 1);
	/* the gs as they are now, into the buffer (overwritten after the stop): how many
	 * stack bytes the capture will read */
	size_t nr = plan_runs(ord, n, gl->g_size, w->gbuf, rs);
	double t0 = now_ms();
	if (!tli_error_drop(tli_target_peek_many(t, rs, nr))) {
		w->prep_ms[0] = now_ms() - t0;
		t0 = now_ms();
		/* each g peeked: where its bytes are in the runs (NULL: not read) */
		struct go_peeked *pk = malloc((n ? n : 1) * sizeof(*pk));
		for (size_t k = 0, r = SIZE_MAX; pk && k < n; k++) {
			r += starts_run(ord, k, gl->g_size);
			uint64_t off = ord[k].addr - rs[r].addr;
			pk[k] = (struct go_peeked){ ord[k].addr, ord[k].idx,
						    rs[r].got >= off + gl->g_size ? (const uint8_t *)rs[r].buf + off : NULL };
		}
		if (pk) {
			uint64_t pre = tli_go_precopy_prepare(w, pk, n, len);
			w->prep_ms[1] = now_ms() - t0;
			uint64_t sb = stack_bytes(w, pk, n);
			sb = sb > pre ? sb - pre : 0;
			tli_target_reserve_slab(t, sb + sb / 16 + (1u << 20));
			free(pk);
		}
	}
	free(rs);
	/* the capture's ordinary allocations while stopped (this walker's and the channel
	 * walker's arrays, the capture's extents, sudog pages): about 800 bytes a goroutine
	 * (measured: 9,600 page faults inside the stop at 100k with 600 taken before w->gs) */
	t0 = now_ms();
	tli_heap_prefault(len * 800);
	w->prep_ms[2] = now_ms() - t0;
}

/* ---- the runtime's state beside the gs ---- */

static struct tli_error *read_strings(struct tli_go_rt *w)
{
	struct tli_error *err = read_strtab(w->t, &w->gl.wrs, "runtime.waitReasonStrings", &w->wrs);
	if (!err)
		err = read_strtab(w->t, &w->gl.gss, "runtime.gStatusStrings", &w->gss);
	return err;
}

/* Is the finalizer goroutine running a finalizer (runtime/mfinal.go fingStatus, fingRunning in go1.19)? */
static void read_fing(struct tli_go_rt *w)
{
	const struct go_layout *gl = &w->gl;
	if (!gl->has_fing_status)
		return;
	uint32_t v = 0;
	struct tli_error *err = gl->fing_is_bool ? tli_target_read(w->t, gl->fing_status, &v, 1)
						 : tli_target_read_u32(w->t, gl->fing_status, &v);
	if (!err)
		w->fing_running = gl->fing_is_bool ? (v & 0xff) != 0
						   : (v & (uint32_t)gl->fing_running_finalizer) != 0;
	tli_error_destroy(err);
}

/* "now" on the target's nanotime clock (what g.waitsince is stamped with). */
static void clock_now(struct tli_go_rt *w)
{
	struct tli_target *t = w->t;
	const struct go_layout *gl = &w->gl;
	if (t->kind == TLI_TARGET_LIVE) {
		w->now_ns = t->mono_now_ns;
		w->now_src = w->now_ns ? "monotonic clock" : "unknown";
	} else if (gl->has_memstats && t->wall_now_ns) {
		uint64_t unix_ns = 0, mono_ns = 0;
		if (!tli_target_read_u64(t, gl->memstats + gl->ms_last_gc_unix, &unix_ns) &&
		    !tli_target_read_u64(t, gl->memstats + gl->ms_last_gc_nanotime, &mono_ns) && unix_ns &&
		    mono_ns && (int64_t)unix_ns <= t->wall_now_ns) {
			w->now_ns = (int64_t)mono_ns + (t->wall_now_ns - (int64_t)unix_ns);
			w->now_src = "estimated from the core (memstats.last_gc + core time)";
		}
	}
	if (!w->now_src)
		w->now_src = "unknown";
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void tli_go_rt_prepare(struct tli_go_rt *w)
{
	prepare(w);
}

/* Stops the target (implicitly, at its first read) and copies what the listing needs. */
struct tli_error *tli_go_rt_capture(struct tli_go_rt *w)
{
	double tm[8] = { now_ms() };
	prepare(w);
	tm[7] = now_ms();
	tm[0] = tm[7] - w->prep_total_ms; /* prepared here, or earlier (tli_go_rt_prepare) */
	uint64_t *ptrs = NULL;
	struct tli_error *err = read_allgs(w, &ptrs);
	tm[1] = now_ms();
	if (!err)
		err = read_gs(w, ptrs);
	free(ptrs);
	free(w->pre_ptrs);
	free(w->pre_ord);
	w->pre_ptrs = NULL;
	w->pre_ord = NULL;
	if (err)
		return err;
	tm[2] = now_ms();
	uint64_t *procids = calloc(w->ngs ? w->ngs : 1, 8);
	struct tli_range *ranges = calloc(w->ngs ? w->ngs : 1, sizeof(*ranges));
	err = procids && ranges ? read_ms(w, procids) : &tli_enomem;
	if (!err) /* before the plan: a coroutine's window is never taken from before the stop */
		err = read_strings(w);
	tm[3] = now_ms();
	size_t nranges = 0, nfailed = 0;
	if (!err)
		plan_stacks(w, procids, ranges, &nranges);
	free(procids);
	tm[4] = now_ms();
	/* small gap: neighbouring stacks are 2–8 KiB apart; don't read the unused parts */
	if (!err && (err = tli_target_capture(w->t, ranges, nranges, 64, &nfailed)))
		err = tli_error_wrap(err, "capturing goroutine stacks");
	free(ranges);
	if (err)
		return err;
	if (nfailed)
		tli_session_warn(w->s, "%zu goroutine stack(s) were only partly readable", nfailed);
	tm[5] = now_ms();
	read_fing(w);
	if ((err = tli_go_labels_capture(w)))
		return err;
	clock_now(w);
	tm[6] = now_ms();
	if (w->s->opts.verbose)
		fprintf(stderr, "tlinspect: go capture: prepared before the stop %.1f ms (gs peeked %.1f ms, stacks and "
			"chains copied %.1f ms, memory faulted in %.1f ms), allgs %.1f ms, gs %.1f ms, "
			"Ms %.1f ms, plan %.1f ms, stacks %.1f ms, strings %.1f ms (%llu gs; %zu of %zu parked gs' stack "
			"windows copied before the stop and found unchanged)\n", tm[7] - tm[0], w->prep_ms[0], w->prep_ms[1],
			w->prep_ms[2],
			tm[1] - tm[7], tm[2] - tm[1],
			tm[3] - tm[2], tm[4] - tm[3], tm[5] - tm[4], tm[6] - tm[5], (unsigned long long)w->ngs,
			w->pc_adopted, w->pc_n);
	return NULL;
}
