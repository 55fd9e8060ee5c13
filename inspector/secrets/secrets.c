/* SPDX-License-Identifier: MIT */
/**
 * @file secrets.c
 * `secrets` (secrets.h): one stop that copies every readable+writable mapping along with
 * what places an address (Go: goroutines, channels, the heap and its roots through the
 * `leaks` pipeline; C: glibc's heap through the glibc capture); after the release the copy
 * is scanned (scan.c) and each finding placed by place_one().
 */
#include "secrets.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/target.h"
#include "core/vec.h"
#include "glibc/glibc.h"
#include "glibc/heap_cmd.h"
#include "go/gobin.h"
#include "go/goroutines.h"
#include "go/heap.h"
#include "go/waitfor.h"

#define WINDOW (1u << 20)
#define OVERLAP (16u << 10)  /* longer than any credential we match (PEM keys stop at 16 KiB) */
#define MAX_CAPTURE (4ull << 30)
#define DEFAULT_MAX 10000

enum region { R_FREE, R_LIVE, R_CHAN, R_STACK_DEAD, R__N };
static const char *const region_names[R__N] = { "free", "live", "chan-buffer", "stack-dead" };

/* a range of the target with a fixed region and owner (stacks, channel buffers) */
struct span {
	uint64_t lo, hi;
	enum region region;
	char owner[96];
};
TLI_VEC(spanvec, struct span);

struct run {
	struct tli_session *s;
	struct tli_target *t;
	const struct tli_secrets_opts *o;
	struct tli_range *ranges;
	size_t nranges;
	uint64_t capture_bytes;
	size_t capture_failed;
	/* Go */
	struct tli_go_waitfor w;
	bool go, go_marked;
	struct tli_goheap_marker m;
	/* glibc */
	struct tli_gl_ctx *gctx;
	struct tli_gl_heap *gh;
	struct spanvec spans;
	/* result */
	json_t *findings;
	size_t nfound;
	size_t by[TLI_SECRET__N][R__N];
};

/* every readable+writable mapping, bounded in total */
static struct tli_error *plan(struct run *r)
{
	struct tli_target *t = r->t;
	r->ranges = calloc(t->nmaps ? t->nmaps : 1, sizeof(*r->ranges));
	if (!r->ranges)
		return &tli_enomem;
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct tli_mapping *mp = &t->maps[i];
		if ((mp->prot & (TLI_PROT_R | TLI_PROT_W)) != (TLI_PROT_R | TLI_PROT_W) || mp->end <= mp->start)
			continue;
		if (mp->path && !strcmp(mp->path, "[vvar]"))
			continue;
		uint64_t len = mp->end - mp->start;
		if (r->capture_bytes + len > MAX_CAPTURE) {
			tli_session_warn(r->s, "secrets: writable memory beyond %llu GiB not scanned (from 0x%" PRIx64 ")",
					 (unsigned long long)(MAX_CAPTURE >> 30), mp->start);
			break;
		}
		r->capture_bytes += len;
		r->ranges[r->nranges++] = (struct tli_range){ mp->start, len };
	}
	return NULL;
}

static bool capture_all(void *arg)
{
	struct run *r = arg;
	struct tli_error *err = tli_target_capture(r->t, r->ranges, r->nranges, 0, &r->capture_failed);
	if (err) {
		tli_session_warn(r->s, "secrets: capture of writable memory failed: %s", err->msg);
		tli_error_destroy(err);
	}
	return true;
}

static void add_span(struct run *r, uint64_t lo, uint64_t hi, enum region reg, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void add_span(struct run *r, uint64_t lo, uint64_t hi, enum region reg, const char *fmt, ...)
{
	if (hi <= lo)
		return;
	struct span sp = { .lo = lo, .hi = hi, .region = reg };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sp.owner, sizeof(sp.owner), fmt, ap);
	va_end(ap);
	if (!tli_vec_push(&r->spans, sp))
		tli_oom_note();
}

/* Go: each goroutine's stack below its SP; each channel's ring buffer and the heap objects
 * its elements point to (a `chan string`'s bytes live there) */
static void go_spans(struct run *r)
{
	struct tli_go_rt *rt = r->w.rt;
	for (size_t i = 0; rt && i < tli_go_rt_count(rt); i++) {
		struct tli_go_gview g;
		if (!tli_go_rt_g(rt, i, &g) || g.dead || g.problem || g.sp <= g.stk_lo || g.sp > g.stk_hi)
			continue;
		uint64_t top = g.sp > g.stk_lo + r->t->arch->red_zone ? g.sp - r->t->arch->red_zone : g.stk_lo;
		add_span(r, g.stk_lo, top, R_STACK_DEAD, "goroutine %llu", (unsigned long long)g.goid);
		add_span(r, top, g.stk_hi, R_LIVE, "goroutine %llu (its stack in use)", (unsigned long long)g.goid);
	}
	const struct tli_go_chans *c = r->w.c;
	for (size_t i = 0; c && i < c->nchans; i++) {
		const struct tli_go_chan *ch = &c->chans[i];
		if (!ch->dataqsiz || !ch->elemsize || !ch->buf)
			continue;
		char what[80];
		snprintf(what, sizeof(what), "channel 0x%" PRIx64 " (chan %.40s)", ch->addr,
			 ch->type_name ? ch->type_name : "?");
		uint64_t len = ch->dataqsiz * ch->elemsize;
		if (len / ch->elemsize != ch->dataqsiz || len > (64u << 20))
			continue; /* implausible */
		add_span(r, ch->buf, ch->buf + len, R_CHAN, "%s", what);
		/* the elements' pointers, read from the copy (the capture took every writable page) */
		uint8_t *b = r->w.h ? malloc(len) : NULL;
		if (b && !tli_error_drop(tli_target_read(r->t, ch->buf, b, len)))
			for (size_t k = 0; k + 8 <= len; k += 8) {
				uint64_t p;
				memcpy(&p, b + k, 8);
				struct tli_goheap_object o;
				if (tli_goheap_find_object(r->w.h, p, &o))
					add_span(r, o.base, o.base + o.span->elemsize, R_CHAN, "%s", what);
			}
		free(b);
	}
}

/* threads: below SP in their stack mapping (a Go program: only the process's [stack], the
 * other threads' system stacks are Go heap memory whose bounds the threads do not tell) */
static void thread_spans(struct run *r)
{
	struct tli_target *t = r->t;
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct tli_thread *th = &t->threads[i];
		if (!th->regs_valid)
			continue;
		const struct tli_mapping *mp = tli_target_find_mapping(t, th->regs.sp);
		if (!mp || (r->go && !(mp->path && !strcmp(mp->path, "[stack]"))))
			continue;
		uint64_t top = th->regs.sp > mp->start + t->arch->red_zone ? th->regs.sp - t->arch->red_zone : mp->start;
		add_span(r, mp->start, top, R_STACK_DEAD, "thread %d", th->tid);
	}
}

static const char *gl_kind_name(unsigned k)
{
	static const char *const n[] = { "in use", "tcache", "fastbin", "unsorted bin", "small bin",
					 "large bin", "top", "fencepost", "mmapped", "free, in no bin" };
	return k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

/* where a finding lies: region and owner; *end: where its owner ends (a Go slot, a chunk, a channel's
 * string), past which bytes belong to a neighbour (memory has no terminators) */
static enum region place_one(struct run *r, uint64_t a, char *owner, size_t osz, uint64_t *end)
{
	*end = UINT64_MAX;
	for (size_t i = 0; i < r->spans.n; i++) /* channels first: they were added after stacks */
		if (r->spans.v[i].region == R_CHAN && a >= r->spans.v[i].lo && a < r->spans.v[i].hi) {
			snprintf(owner, osz, "%s", r->spans.v[i].owner);
			*end = r->spans.v[i].hi;
			return R_CHAN;
		}
	for (size_t i = 0; i < r->spans.n; i++)
		if (a >= r->spans.v[i].lo && a < r->spans.v[i].hi) {
			snprintf(owner, osz, "%s", r->spans.v[i].owner);
			return r->spans.v[i].region;
		}
	struct tli_goheap_span *sp = r->w.h ? tli_goheap_find_span(r->w.h, a) : NULL;
	if (sp) {
		uint64_t idx = (a - sp->start) / sp->elemsize, base = sp->start + idx * sp->elemsize;
		*end = base + sp->elemsize;
		if (!tli_goheap_allocated(sp, idx)) {
			snprintf(owner, osz, "free Go heap slot 0x%" PRIx64 " (%" PRIu64 " bytes)", base, sp->elemsize);
			return R_FREE;
		}
		bool in_heap = false;
		if (r->go_marked && !tli_goheap_is_marked(&r->m, a, &in_heap) && in_heap) {
			snprintf(owner, osz, "unreachable Go object 0x%" PRIx64 " (%" PRIu64 " bytes)", base,
				 sp->elemsize);
			return R_FREE;
		}
		snprintf(owner, osz, "Go object 0x%" PRIx64 " (%" PRIu64 " bytes)", base, sp->elemsize);
		return R_LIVE;
	}
	const struct tli_gl_chunk *ck = r->gh ? tli_gl_find_chunk(r->gh, a) : NULL;
	if (ck) {
		bool used = ck->kind == GLK_INUSE || ck->kind == GLK_MMAPPED;
		*end = ck->addr + ck->size + 8; /* the user data may run into the next chunk's prev_size */
		snprintf(owner, osz, "%s chunk 0x%" PRIx64 " (%" PRIu64 " bytes, %s)", used ? "malloc" : "free",
			 ck->addr, ck->size, gl_kind_name(ck->kind));
		return used ? R_LIVE : R_FREE;
	}
	const struct tli_mapping *mp = tli_target_find_mapping(r->t, a);
	if (mp && mp->path && mp->path[0])
		snprintf(owner, osz, "%s", mp->path);
	else
		snprintf(owner, osz, "anonymous mapping 0x%" PRIx64, mp ? mp->start : a);
	return R_LIVE;
}

static void report(struct run *r, uint64_t addr, const struct tli_secret_match *m, const uint8_t *bytes)
{
	char owner[128], preview[128], hex[32];
	uint64_t end;
	enum region reg = place_one(r, addr, owner, sizeof(owner), &end);
	struct tli_secret_match clip = *m;
	if (end > addr && addr + clip.len > end)
		clip.len = (size_t)(end - addr); /* the rest is the next object's bytes */
	m = &clip;
	r->by[m->kind][reg]++;
	if (r->nfound++ >= (size_t)(r->o->max > 0 ? r->o->max : DEFAULT_MAX))
		return;
	tli_secret_preview(m->kind, bytes, m->len, preview, sizeof(preview));
	snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
	json_t *f = json_object();
	json_object_set_new(f, "kind", json_string(tli_secret_kind_name(m->kind)));
	json_object_set_new(f, "address", json_string(hex));
	json_object_set_new(f, "region", json_string(region_names[reg]));
	json_object_set_new(f, "owner", json_string(owner));
	json_object_set_new(f, "length", json_integer((json_int_t)m->len));
	json_object_set_new(f, "preview", json_string(preview));
	if (r->o->reveal)
		json_object_set_new(f, "value", json_stringn_nocheck((const char *)bytes, m->len));
	json_array_append_new(r->findings, f);
}

/* scan one captured range window by window; a hole (not captured) is skipped page by page */
static uint64_t scan_range(struct run *r, uint64_t lo, uint64_t hi, uint8_t *buf, struct tli_secret_match *ms,
			   size_t maxm)
{
	uint64_t scanned = 0, pos = lo;
	while (pos < hi) {
		size_t want = hi - pos > WINDOW + OVERLAP ? WINDOW + OVERLAP : (size_t)(hi - pos);
		struct tli_read rd = { .addr = pos, .buf = buf, .len = want };
		tli_error_drop(tli_target_read_many(r->t, &rd, 1));
		size_t got = rd.got <= want ? rd.got : 0;
		if (!got) {
			pos = (pos | 4095) + 1;
			continue;
		}
		size_t own = got == want && hi - pos > want ? WINDOW : got;
		size_t n = tli_secrets_scan(buf, got, own, ms, maxm);
		for (size_t i = 0; i < n; i++)
			report(r, pos + ms[i].off, &ms[i], buf + ms[i].off);
		scanned += own;
		pos += own;
	}
	return scanned;
}

static json_t *counts_json(const struct run *r, bool by_kind)
{
	json_t *o = json_object();
	for (int k = 0; k < TLI_SECRET__N; k++)
		for (int g = 0; g < R__N; g++) {
			if (!r->by[k][g])
				continue;
			const char *key = by_kind ? tli_secret_kind_name(k) : region_names[g];
			json_int_t was = json_integer_value(json_object_get(o, key));
			json_object_set_new(o, key, json_integer(was + (json_int_t)r->by[k][g]));
		}
	return o;
}

/* Go: the `leaks` capture (goroutines, channels, heap, roots) with every writable mapping
 * copied in the same stop; then the heap's mark from the roots */
static struct tli_error *capture_go(struct run *r)
{
	r->w = (struct tli_go_waitfor){ .s = r->s, .heap = true };
	struct tli_error *err = tli_go_waitfor_capture(&r->w, capture_all, r);
	if (err) {
		tli_go_waitfor_free(&r->w);
		memset(&r->w, 0, sizeof(r->w));
		return err;
	}
	json_t *scratch = json_object();
	err = tli_go_waitfor_analyze(&r->w, scratch); /* frees w on failure */
	json_decref(scratch);
	if (err) {
		memset(&r->w, 0, sizeof(r->w));
		return err;
	}
	bool ok = false;
	err = tli_go_leaks_mark(&r->w, &r->m, &ok);
	if (err || !ok) {
		tli_session_warn(r->s, "secrets: Go heap reachability not judged (%s): unreachable objects count "
				 "as live", err ? err->msg : r->w.problem[0] ? r->w.problem : "no heap");
		tli_error_drop(err);
	}
	r->go_marked = ok;
	return NULL;
}

/* C: every writable mapping first (the stop), then glibc's own capture in the same stop
 * (tli_gl_run releases the target); no libc: the plain copy is all there is */
static struct tli_error *capture_c(struct run *r)
{
	struct tli_error *err = tli_target_stop(r->t);
	if (err)
		return err;
	capture_all(r);
	struct tli_glibc_opts go = { .top = 0 };
	err = tli_gl_run(r->s, &go, NULL, 0, &r->gctx, &r->gh);
	tli_target_release(r->t);
	if (!err)
		return NULL;
	if (err->code != TLI_E_NOT_GO && err->code != TLI_E_NO_INFO)
		return err;
	tli_session_warn(r->s, "secrets: no glibc heap to tell free chunks from live ones (%s)", err->msg);
	tli_error_destroy(err);
	r->gctx = NULL;
	r->gh = NULL;
	return NULL;
}

static void run_free(struct run *r)
{
	if (r->go_marked)
		tli_goheap_marker_free(&r->m);
	if (r->go)
		tli_go_waitfor_free(&r->w);
	if (r->gh)
		tli_gl_heap_free(r->gh);
	if (r->gctx)
		tli_gl_ctx_free(r->gctx);
	free(r->spans.v);
	free(r->ranges);
}

struct tli_error *tli_secrets_cmd(struct tli_session *s, const struct tli_secrets_opts *o, json_t *result)
{
	struct run r = { .s = s, .t = s->target, .o = o };
	struct tli_error *err = plan(&r);
	struct tli_gobin *gb = NULL;
	if (!err) {
		struct tli_error *gerr = tli_session_gobin(s, &gb);
		r.go = !gerr && gb;
		tli_error_drop(gerr);
		err = r.go ? capture_go(&r) : capture_c(&r);
		if (err && r.go)
			r.go = false;
	}
	if (err) {
		run_free(&r);
		return err;
	}
	if (r.go)
		go_spans(&r);
	thread_spans(&r);
	r.findings = json_array();
	uint8_t *buf = malloc(WINDOW + OVERLAP);
	struct tli_secret_match *ms = malloc(4096 * sizeof(*ms));
	uint64_t scanned = 0;
	for (size_t i = 0; buf && ms && i < r.nranges; i++)
		scanned += scan_range(&r, r.ranges[i].addr, r.ranges[i].addr + r.ranges[i].len, buf, ms, 4096);
	free(buf);
	free(ms);
	json_t *sj = json_object();
	json_object_set_new(sj, "finding_count", json_integer((json_int_t)r.nfound));
	json_object_set_new(sj, "by_kind", counts_json(&r, true));
	json_object_set_new(sj, "by_region", counts_json(&r, false));
	json_object_set_new(sj, "findings", r.findings);
	json_object_set_new(sj, "findings_truncated", json_boolean(r.nfound > json_array_size(r.findings)));
	json_object_set_new(sj, "scanned_bytes", json_integer((json_int_t)scanned));
	json_object_set_new(sj, "scanned_mappings", json_integer((json_int_t)r.nranges));
	json_object_set_new(sj, "revealed", json_boolean(o->reveal));
	json_t *cl = json_object();
	json_object_set_new(cl, "go_heap", json_boolean(r.w.h != NULL));
	json_object_set_new(cl, "go_reachability", json_boolean(r.go_marked));
	json_object_set_new(cl, "glibc_heap", json_boolean(r.gh != NULL));
	json_object_set_new(sj, "classified_by", cl);
	json_object_set_new(result, "secrets", sj);
	run_free(&r);
	return NULL;
}
