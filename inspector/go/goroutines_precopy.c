/* SPDX-License-Identifier: MIT */
/*
 * Stacks and waiting chains copied before the stop (issue 14).
 *
 * A parked goroutine's stack does not change while it stays parked, so most stack windows
 * can be copied while the target still runs and only *checked* while it is stopped: that
 * takes their reads (one page pin per window, ~1 us each: ~100 ms at 100k) out of the
 * pause. The proof, per goroutine, while stopped: the g read now is byte for byte the g
 * peeked before its window was peeked, and that g was parked (_Gwaiting/_Gleaked, no
 * scan bit), on no M, with g.waitsince set. Every resumption of a parked goroutine goes
 * through execute() (runtime/proc.go), which zeroes g.waitsince, and only a later GC
 * stamps it again, with that GC's start time; so an equal, non-zero waitsince says it did
 * not run in between, and the equal sched, stack bounds and status say its stack is where
 * it was (g.gcscandone alone may differ: a GC's mark, no stack change; a GC that moved the
 * stack changed its bounds). One kind of goroutine is resumed without execute(): a
 * coroutine (iter.Pull, go1.23+; runtime/coro.go coroswitch_m switches to it directly and
 * leaves waitsince, and on its fast path even its tracking counter, as they were), so a
 * goroutine parked as "coroutine" is always read while stopped. What others may write
 * into a parked goroutine's stack is a
 * channel value (sendDirect, closechan) in the instant before they make it runnable and
 * set g.param: a stop that lands inside those few instructions sees the value slot as it
 * was just before. Anything else is read while stopped, as before.
 *
 * The goroutine listing also takes the waiting chains (g.waiting -> sudog, a select's
 * cases through sudog.waitlink) of those goroutines from before the stop: what it uses of
 * them (sudog.g, .c, .elem, .isSelect, .waitlink) is set before the goroutine parks and
 * changes only when it is woken, which changes its g (g.param, g.selectDone, its status).
 * Their queue links (sudog.next/prev) do change while it stays parked: commands that walk
 * the queues read every sudog while stopped (tli_go_chans_opts.queues).
 * TLINSPECT_PRECOPY=0 turns both off.
 */
#include "goroutines_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include "core/memlimit.h"
#include "go/chans.h"

#define MAX_CHAIN 4096   /* sudogs on one g's waiting chain (select cases), as chans_waiting.c */

void tli_go_rt_precopy_free(struct tli_go_rt *w)
{
	free(w->pc_reads);
	free(w->pc_graw);
	free(w->pc_gaddr);
	free(w->pc_of);
	free(w->pc_chain_first);
	free(w->pc_chain_n);
	free(w->pc_sud_addr);
	free(w->pc_sud_raw);
	if (w->pc_mem)
		tli_big_free(w->pc_mem, w->pc_mem_len);
	w->pc_reads = NULL;
	w->pc_graw = NULL;
	w->pc_gaddr = NULL;
	w->pc_of = NULL;
	w->pc_chain_first = w->pc_chain_n = NULL;
	w->pc_sud_addr = NULL;
	w->pc_sud_raw = NULL;
	w->pc_nsud = 0;
	w->pc_mem = NULL;
	w->pc_n = 0;
}

void tli_go_rt_precopy_chains(struct tli_go_rt *rt, bool on)
{
	if (rt)
		rt->precopy_chains = on;
}

/* ---- before the stop ---- */

/* A pointer worth following: non-nil, 8-aligned, [p, p+len) mapped. */
static bool ptr_ok(struct tli_target *t, uint64_t p, uint64_t len)
{
	return p && (p & 7) == 0 && p + len > p && tli_target_plausible(t, p, len);
}

static int cmp_read_addr(const void *a, const void *b)
{
	const struct tli_read *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Is the peeked g parked as the proof needs (*lo, *len: its window)? */
static bool candidate(const struct tli_go_rt *w, const uint8_t *raw, uint64_t *lo, uint64_t *len)
{
	const struct go_layout *gl = &w->gl;
	uint64_t st = tli_rdn(raw + gl->g_status, gl->g_status_size);
	if ((st & (uint64_t)gl->st.scan) || !tli_go_gstatus_is_waiting(&gl->st, st) || !tli_rd64(raw + gl->g_waitsince) ||
	    tli_rd64(raw + gl->g_m))
		return false;
	uint64_t slo = tli_rd64(raw + gl->g_stack_lo), shi = tli_rd64(raw + gl->g_stack_hi);
	uint64_t sp = tli_rd64(raw + gl->g_sched_sp);
	if (slo >= shi || shi - slo > (1ull << 30) || sp < slo || sp >= shi)
		return false;
	*lo = sp;
	*len = shi - sp > TLI_GO_STACK_CAPTURE ? TLI_GO_STACK_CAPTURE : shi - sp;
	return true;
}

/* The candidates' windows in address order with their gs (w->pc_*); false if none or no memory. */
static bool plan(struct tli_go_rt *w, const struct go_peeked *p, size_t n, size_t alen)
{
	uint32_t gsize = w->gl.g_size;
	size_t nc = 0;
	uint64_t total = 0, lo, len;
	for (size_t k = 0; k < n; k++)
		if (p[k].raw && candidate(w, p[k].raw, &lo, &len))
			nc++, total += len;
	if (!nc || nc >= UINT32_MAX)
		return false;
	/* an optimization only: it takes at most a quarter of the memory this process may still
	 * have (the capture itself needs the rest; what is not copied now is read while stopped) */
	uint64_t need = total + nc * ((uint64_t)gsize + sizeof(struct tli_read) + 16) + alen * 4;
	if (need > tli_mem_headroom(NULL, 0) / 4)
		return false;
	w->pc_reads = calloc(nc, sizeof(*w->pc_reads));
	w->pc_graw = malloc(nc * (size_t)gsize);
	w->pc_gaddr = malloc(nc * sizeof(*w->pc_gaddr));
	w->pc_of = calloc(alen ? alen : 1, sizeof(*w->pc_of));
	w->pc_mem_len = total;
	w->pc_mem = tli_big_alloc(total);
	if (!w->pc_reads || !w->pc_graw || !w->pc_gaddr || !w->pc_of || !w->pc_mem)
		return false;
	/* the windows in address order; .err carries the peeked g's position until sorted */
	size_t c = 0;
	for (size_t k = 0; k < n; k++)
		if (p[k].raw && candidate(w, p[k].raw, &lo, &len))
			w->pc_reads[c++] = (struct tli_read){ .addr = lo, .len = len, .err = (int)k };
	qsort(w->pc_reads, nc, sizeof(*w->pc_reads), cmp_read_addr);
	uint64_t off = 0;
	for (size_t k = 0; k < nc; k++) {
		const struct go_peeked *g = &p[w->pc_reads[k].err];
		memcpy(w->pc_graw + k * (size_t)gsize, g->raw, gsize);
		w->pc_gaddr[k] = g->addr;
		if (g->idx < alen && !w->pc_of[g->idx])
			w->pc_of[g->idx] = (uint32_t)(k + 1);
		w->pc_reads[k].buf = (uint8_t *)w->pc_mem + off;
		w->pc_reads[k].err = 0;
		off += w->pc_reads[k].len;
	}
	w->pc_n = nc;
	return true;
}

/* One round of the chain walk: the sudogs cur[0..nact) of chains who[]; returns the next round's count. */
struct chainpeek {
	uint64_t *cur;
	size_t *who;
	struct tli_read *rs;
	uint8_t *buf;
	struct tli_u64set seen;
	/* per window: its sudogs, in chain order, as found (indices into addr/raw) */
	uint64_t *addr;
	uint8_t *raw;
	size_t n, cap;
	size_t *link;       /* per sudog found: its chain (window) */
};

static bool chain_push(struct chainpeek *cp, uint64_t a, const uint8_t *raw, uint32_t sz, size_t k)
{
	if (cp->n == cp->cap) {
		size_t nc = cp->cap ? cp->cap * 2 : 1024;
		uint64_t *na = realloc(cp->addr, nc * sizeof(*na));
		if (na)
			cp->addr = na;
		uint8_t *nr = realloc(cp->raw, nc * (size_t)sz);
		if (nr)
			cp->raw = nr;
		size_t *nl = realloc(cp->link, nc * sizeof(*nl));
		if (nl)
			cp->link = nl;
		if (!na || !nr || !nl)
			return false;
		cp->cap = nc;
	}
	cp->addr[cp->n] = a;
	memcpy(cp->raw + cp->n * (size_t)sz, raw, sz);
	cp->link[cp->n++] = k;
	return true;
}

/*
 * The waiting chains of the windows' gs, peeked after those gs (rounds of vectored reads,
 * as chans_waiting.c walks them while stopped): a select's chain follows sudog.waitlink
 * while sudog.isSelect. A chain that is unreadable, too long or revisits a sudog is
 * marked unusable (read while stopped instead).
 */
static void peek_chains(struct tli_go_rt *w)
{
	struct tli_go_chan_layout L;
	if (tli_error_drop(tli_go_chan_layout_resolve(w->s->layout, &L)) || !L.sudog_size ||
	    L.g_waiting + 8 > w->gl.g_size)
		return;
	uint32_t sz = L.sudog_size, gsize = w->gl.g_size;
	size_t nc = w->pc_n;
	struct chainpeek cp = { .cur = calloc(nc, 8), .who = calloc(nc, sizeof(size_t)),
				.rs = calloc(nc, sizeof(struct tli_read)), .buf = malloc(nc * (size_t)sz) };
	w->pc_chain_n = calloc(nc, sizeof(uint32_t));
	w->pc_chain_first = calloc(nc, sizeof(uint32_t));
	bool ok = cp.cur && cp.who && cp.rs && cp.buf && w->pc_chain_n && w->pc_chain_first;
	size_t nact = 0;
	for (size_t k = 0; ok && k < nc; k++) {
		uint64_t head = tli_rd64(w->pc_graw + k * (size_t)gsize + L.g_waiting);
		if (head)
			cp.cur[nact] = head, cp.who[nact++] = k;
	}
	for (uint32_t depth = 0; ok && nact; depth++) {
		size_t nr = 0;
		for (size_t j = 0; j < nact; j++) {
			size_t k = cp.who[j];
			if (depth >= MAX_CHAIN || !ptr_ok(w->t, cp.cur[j], sz) || !tli_u64set_add(&cp.seen, cp.cur[j])) {
				w->pc_chain_n[k] = UINT32_MAX;
				continue;
			}
			cp.rs[nr] = (struct tli_read){ .addr = cp.cur[j], .buf = cp.buf + nr * (size_t)sz, .len = sz };
			cp.who[nr++] = k;
		}
		if (!nr || tli_error_drop(tli_target_peek_many(w->t, cp.rs, nr))) {
			ok = nr == 0;
			break;
		}
		size_t next = 0;
		for (size_t j = 0; j < nr && ok; j++) {
			size_t k = cp.who[j];
			if (w->pc_chain_n[k] == UINT32_MAX)
				continue;
			if (cp.rs[j].got < sz) {
				w->pc_chain_n[k] = UINT32_MAX;
				continue;
			}
			const uint8_t *raw = cp.rs[j].buf;
			ok = chain_push(&cp, cp.rs[j].addr, raw, sz, k);
			w->pc_chain_n[k]++;
			uint64_t link = raw[L.s_isselect] ? tli_rd64(raw + L.s_waitlink) : 0;
			if (link)
				cp.cur[next] = link, cp.who[next++] = k;
		}
		nact = next;
	}
	tli_u64set_free(&cp.seen);
	free(cp.cur);
	free(cp.who);
	free(cp.rs);
	free(cp.buf);
	/* the sudogs were found round by round: place each chain's together (counting sort) */
	uint32_t *fill = NULL;
	if (ok) {
		w->pc_sud_addr = malloc((cp.n ? cp.n : 1) * sizeof(uint64_t));
		w->pc_sud_raw = malloc((cp.n ? cp.n : 1) * (size_t)sz);
		fill = calloc(nc, sizeof(uint32_t));
		ok = w->pc_sud_addr && w->pc_sud_raw && fill;
	}
	if (!ok) { /* no chains from before the stop: they are walked while stopped */
		free(fill);
		free(cp.addr);
		free(cp.raw);
		free(cp.link);
		free(w->pc_chain_n);
		free(w->pc_chain_first);
		w->pc_chain_n = w->pc_chain_first = NULL;
		return;
	}
	uint32_t at = 0;
	for (size_t k = 0; k < nc; k++) {
		w->pc_chain_first[k] = at;
		if (w->pc_chain_n[k] != UINT32_MAX)
			at += w->pc_chain_n[k];
	}
	for (size_t j = 0; j < cp.n; j++) {
		size_t k = cp.link[j];
		if (w->pc_chain_n[k] == UINT32_MAX)
			continue;
		uint32_t pos = w->pc_chain_first[k] + fill[k]++;
		w->pc_sud_addr[pos] = cp.addr[j];
		memcpy(w->pc_sud_raw + (size_t)pos * sz, cp.raw + j * (size_t)sz, sz);
	}
	free(fill);
	free(cp.addr);
	free(cp.raw);
	free(cp.link);
	w->pc_nsud = at;
	w->pc_sud_size = sz;
}

uint64_t tli_go_precopy_prepare(struct tli_go_rt *w, const struct go_peeked *p, size_t n, size_t alen)
{
	const char *env = getenv("TLINSPECT_PRECOPY");
	if ((env && !strcmp(env, "0")) || w->t->fork_asked || !w->gl.g_waitsince)
		return 0;
	if (!plan(w, p, n, alen)) {
		tli_go_rt_precopy_free(w);
		return 0;
	}
	/* the windows, after the gs that vouch for them */
	if (tli_error_drop(tli_target_peek_many(w->t, w->pc_reads, w->pc_n))) {
		tli_go_rt_precopy_free(w);
		return 0;
	}
	uint64_t total = 0;
	for (size_t k = 0; k < w->pc_n; k++) {
		w->pc_reads[k].err = 0;
		total += w->pc_reads[k].len;
	}
	if (w->precopy_chains)
		peek_chains(w);
	return total;
}

/* ---- while stopped ---- */

/* Are the g bytes a (peeked) and b (stopped) the same but for g.gcscandone, which every
 * GC cycle sets and clears on parked gs without touching their stacks? */
static bool same_g(const struct go_layout *gl, const uint8_t *a, const uint8_t *b)
{
	if (!gl->has_gcscandone || gl->g_gcscandone >= gl->g_size)
		return !memcmp(a, b, gl->g_size);
	uint32_t o = gl->g_gcscandone;
	return !memcmp(a, b, o) && !memcmp(a + o + 1, b + o + 1, gl->g_size - o - 1);
}

bool tli_go_precopied(struct tli_go_rt *w, size_t i, struct gcap *g)
{
	if (!w->pc_of || i >= w->pre_n || !w->pc_of[i])
		return false;
	size_t k = w->pc_of[i] - 1;
	struct tli_read *r = &w->pc_reads[k];
	if (w->pc_gaddr[k] != g->addr || !same_g(&w->gl, w->pc_graw + k * (size_t)w->gl.g_size, g->raw))
		return false;
	/* a coroutine (iter.Pull, go1.23+) is resumed by coroswitch, not execute(): its
	 * waitsince stays as it was while it runs (runtime/coro.go) */
	const char *reason = tli_go_rt_wait_reason(w, tli_rdn(g->raw + w->gl.g_waitreason, w->gl.g_waitreason_size));
	if (!reason || !strcmp(reason, "coroutine"))
		return false;
	g->unchanged = true;
	if (r->addr != g->cap_lo || r->len != g->cap_hi - g->cap_lo || r->got != r->len)
		return false;
	r->err = 1; /* wanted */
	return true;
}

size_t tli_go_precopy_adopt(struct tli_go_rt *w, struct tli_range *ranges)
{
	if (!w->pc_n)
		return 0;
	/* the wanted windows, ascending still; pc_reads keeps its order for the chains (index k) */
	size_t nw = 0;
	for (size_t k = 0; k < w->pc_n; k++)
		nw += w->pc_reads[k].err != 0;
	struct tli_read *want = malloc((nw ? nw : 1) * sizeof(*want));
	bool *ok = calloc(nw ? nw : 1, sizeof(*ok));
	size_t back = 0;
	if (want && ok) {
		for (size_t k = 0, j = 0; k < w->pc_n; k++)
			if (w->pc_reads[k].err)
				want[j++] = w->pc_reads[k];
		w->pc_adopted = tli_target_adopt(w->t, want, nw, w->pc_mem, w->pc_mem_len, ok);
		w->pc_mem = NULL; /* the capture's now */
		for (size_t k = 0; k < nw; k++)
			if (!ok[k])
				ranges[back++] = (struct tli_range){ want[k].addr, want[k].len };
	} else {
		for (size_t k = 0; k < w->pc_n; k++)
			if (w->pc_reads[k].err)
				ranges[back++] = (struct tli_range){ w->pc_reads[k].addr, w->pc_reads[k].len };
	}
	free(want);
	free(ok);
	return back;
}

bool tli_go_precopy_chain(const struct tli_go_rt *w, size_t i, const struct gcap *g, const uint64_t **addr,
			  const uint8_t **raw, uint32_t *n, uint32_t *size)
{
	if (!g->unchanged || !w->pc_chain_n || !w->pc_of || i >= w->pre_n || !w->pc_of[i])
		return false;
	size_t k = w->pc_of[i] - 1;
	if (w->pc_chain_n[k] == UINT32_MAX || !w->pc_chain_n[k])
		return false;
	*addr = w->pc_sud_addr + w->pc_chain_first[k];
	*raw = w->pc_sud_raw + (size_t)w->pc_chain_first[k] * w->pc_sud_size;
	*n = w->pc_chain_n[k];
	*size = w->pc_sud_size;
	return true;
}
