/* SPDX-License-Identifier: MIT */
/*
 * The goroutine walker. See goroutines.h for the phases.
 *
 * Nothing in here knows an offset or a Go version: every struct member,
 * global and constant comes from the layout resolver by name (DWARF today,
 * runtime-maps tables for stripped binaries), with alternate names where the
 * runtime renamed something between releases.
 */
#include "goroutines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bigbuf.h"
#include "core/bytes.h"
#include <sys/mman.h>
#include <time.h>

#include "go/gobin.h"
#include "core/jsonstr.h"
#include "go/pclntab.h"

#define MAX_ALLGS        (16u * 1024 * 1024)  /* sanity bound on len(allgs) */
#define MAX_FRAMES       1024                 /* physical frames per goroutine */
#define MAX_LOGICAL      64                   /* logical frames per physical frame */
#define STACK_CAPTURE    (256u * 1024)        /* bytes of stack captured per goroutine */
#define MAX_STRING       256                  /* wait reason / status string length bound */
#define GRUN_GAP         512                  /* gs closer than this are read as one run */
#define GRUN_MAX         (4u << 20)           /* bytes per run at most */

/* ---------------------------------------------------------------------------
 * Layout: resolved once per run, from names.
 */
struct go_layout {
	uint32_t g_size;
	uint32_t g_stack_lo, g_stack_hi;
	uint32_t g_sched_sp, g_sched_pc, g_sched_bp;
	uint32_t g_syscallsp, g_syscallpc;
	uint32_t g_status, g_goid, g_waitsince, g_waitreason;
	uint32_t g_gopc, g_startpc, g_parentgoid, g_m, g_lockedm;
	uint32_t g_goid_size, g_status_size, g_waitreason_size;
	bool has_parentgoid;
	uint32_t m_procid;

	/* status constants (values come from the target's DWARF / map) */
	int64_t Gidle, Grunnable, Grunning, Gsyscall, Gwaiting, Gdead, Gscan, Gpreempted;
	int64_t Gleaked, Gdeadextra;
	bool has_Gleaked, has_Gdeadextra;

	/* funcIDs used by Go's traceback hiding rules */
	int64_t fid_normal, fid_wrapper, fid_gopanic, fid_sigpanic, fid_panicwrap, fid_goexit;
	bool has_fids;
	int64_t fid_runfin, fid_runclean;    /* always-shown frames (1.24+: runFinalizers/runCleanups) */
	bool has_fid_runfin, has_fid_runclean;
	uint32_t g_running_cleanups;         /* 1.25+: cleanup goroutine currently running user code */
	bool has_running_cleanups;
	uint64_t fing_status;                /* runtime.fingStatus (1.21+) or runtime.fingRunning (1.19) */
	bool has_fing_status, fing_is_bool;
	int64_t fing_running_finalizer;

	/* globals (biased addresses) */
	uint64_t allgs, allglen;
	struct tli_global wrs, gss;           /* waitReasonStrings, gStatusStrings */
	uint64_t memstats;
	uint32_t ms_last_gc_unix, ms_last_gc_nanotime;
	bool has_memstats;
};

static bool try_const(struct tli_layout *l, const char *name, int64_t *ret)
{
	struct tli_error *e = tli_layout_constant(l, name, ret);
	if (e) {
		tli_error_destroy(e);
		return false;
	}
	return true;
}

static struct tli_error *get_const(struct tli_layout *l, const char *const *names, int64_t *ret,
				   bool optional, bool *present)
{
	for (const char *const *n = names; *n; n++) {
		if (try_const(l, *n, ret)) {
			if (present)
				*present = true;
			return NULL;
		}
	}
	if (present)
		*present = false;
	return optional ? NULL
			: tli_error_create(TLI_E_NO_INFO, "no value for Go runtime constant %s "
					   "(no DWARF and no runtime map?)", names[0]);
}

static struct tli_error *resolve_layout(struct tli_layout *l, struct go_layout *gl)
{
	const struct tli_field_spec specs[] = {
		{ "runtime.g", "stack.lo", &gl->g_stack_lo, NULL, false, NULL },
		{ "runtime.g", "stack.hi", &gl->g_stack_hi, NULL, false, NULL },
		{ "runtime.g", "sched.sp", &gl->g_sched_sp, NULL, false, NULL },
		{ "runtime.g", "sched.pc", &gl->g_sched_pc, NULL, false, NULL },
		{ "runtime.g", "sched.bp", &gl->g_sched_bp, NULL, false, NULL },
		{ "runtime.g", "syscallsp", &gl->g_syscallsp, NULL, false, NULL },
		{ "runtime.g", "syscallpc", &gl->g_syscallpc, NULL, false, NULL },
		{ "runtime.g", "atomicstatus", &gl->g_status, &gl->g_status_size, false, NULL },
		{ "runtime.g", "goid", &gl->g_goid, &gl->g_goid_size, false, NULL },
		{ "runtime.g", "waitsince", &gl->g_waitsince, NULL, false, NULL },
		{ "runtime.g", "waitreason", &gl->g_waitreason, &gl->g_waitreason_size, false, NULL },
		{ "runtime.g", "gopc", &gl->g_gopc, NULL, false, NULL },
		{ "runtime.g", "startpc", &gl->g_startpc, NULL, false, NULL },
		{ "runtime.g", "parentGoid", &gl->g_parentgoid, NULL, true, &gl->has_parentgoid },
		{ "runtime.g", "m", &gl->g_m, NULL, false, NULL },
		{ "runtime.g", "lockedm", &gl->g_lockedm, NULL, false, NULL },
		{ "runtime.g", "runningCleanups", &gl->g_running_cleanups, NULL, true,
		  &gl->has_running_cleanups },
		{ "runtime.m", "procid", &gl->m_procid, NULL, false, NULL },
		{ "runtime.mstats", "last_gc_unix", &gl->ms_last_gc_unix, NULL, true, NULL },
		{ "runtime.mstats", "last_gc_nanotime", &gl->ms_last_gc_nanotime, NULL, true, NULL },
	};
	struct tli_error *err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]));
	if (err)
		return err;
	uint64_t gsize;
	err = tli_layout_type_size(l, "runtime.g", &gsize);
	if (err)
		return err;
	if (gsize < 64 || gsize > 64 * 1024)
		return tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.g) = %llu",
					(unsigned long long)gsize);
	gl->g_size = (uint32_t)gsize;
	if (gl->g_status_size == 0 || gl->g_status_size > 8)
		gl->g_status_size = 4;
	if (gl->g_goid_size == 0 || gl->g_goid_size > 8)
		gl->g_goid_size = 8;
	if (gl->g_waitreason_size == 0 || gl->g_waitreason_size > 8)
		gl->g_waitreason_size = 1;

#define C(var, ...) do { \
		static const char *const names_[] = { __VA_ARGS__, NULL }; \
		err = get_const(l, names_, &gl->var, false, NULL); \
		if (err) return err; } while (0)
	C(Gidle, "runtime._Gidle");
	C(Grunnable, "runtime._Grunnable");
	C(Grunning, "runtime._Grunning");
	C(Gsyscall, "runtime._Gsyscall");
	C(Gwaiting, "runtime._Gwaiting");
	C(Gdead, "runtime._Gdead");
	C(Gscan, "runtime._Gscan");
	C(Gpreempted, "runtime._Gpreempted");
#undef C
	{
		static const char *const n1[] = { "runtime._Gleaked", NULL };
		static const char *const n2[] = { "runtime._Gdeadextra", NULL };
		get_const(l, n1, &gl->Gleaked, true, &gl->has_Gleaked);
		get_const(l, n2, &gl->Gdeadextra, true, &gl->has_Gdeadextra);
	}
	{
		/* funcID names: runtime.funcID_x (≤1.20) or internal/abi.FuncIDx (1.21+) */
		static const char *const nn[] = { "runtime.funcID_normal", "internal/abi.FuncIDNormal", NULL };
		static const char *const nw[] = { "runtime.funcID_wrapper", "internal/abi.FuncIDWrapper", NULL };
		static const char *const np[] = { "runtime.funcID_gopanic", "internal/abi.FuncID_gopanic", NULL };
		static const char *const ns[] = { "runtime.funcID_sigpanic", "internal/abi.FuncID_sigpanic", NULL };
		static const char *const nr[] = { "runtime.funcID_panicwrap", "internal/abi.FuncID_panicwrap", NULL };
		static const char *const ng[] = { "runtime.funcID_goexit", "internal/abi.FuncID_goexit", NULL };
		bool a = false, b = false, c = false, d = false, e = false, f = false;
		get_const(l, nn, &gl->fid_normal, true, &a);
		get_const(l, nw, &gl->fid_wrapper, true, &b);
		get_const(l, np, &gl->fid_gopanic, true, &c);
		get_const(l, ns, &gl->fid_sigpanic, true, &d);
		get_const(l, nr, &gl->fid_panicwrap, true, &e);
		get_const(l, ng, &gl->fid_goexit, true, &f);
		gl->has_fids = a && b && c && d && e && f;
		static const char *const nf[] = { "internal/abi.FuncID_runFinalizers", NULL };
		static const char *const nc[] = { "internal/abi.FuncID_runCleanups", NULL };
		get_const(l, nf, &gl->fid_runfin, true, &gl->has_fid_runfin);
		get_const(l, nc, &gl->fid_runclean, true, &gl->has_fid_runclean);
	}

	struct tli_global g;
	if ((err = tli_layout_global(l, "runtime.allgs", &g)))
		return err;
	gl->allgs = g.addr;
	if ((err = tli_layout_global(l, "runtime.allglen", &g)))
		return err;
	gl->allglen = g.addr;
	if ((err = tli_layout_global(l, "runtime.waitReasonStrings", &gl->wrs)))
		return err;
	if ((err = tli_layout_global(l, "runtime.gStatusStrings", &gl->gss)))
		return err;
	/* is the finalizer goroutine running a finalizer (then it is a user goroutine)? */
	struct tli_error *e3 = tli_layout_global(l, "runtime.fingStatus", &g);
	if (!e3) {
		static const char *const nr[] = { "runtime.fingRunningFinalizer", NULL };
		if (!get_const(l, nr, &gl->fing_running_finalizer, true, &gl->has_fing_status) &&
		    gl->has_fing_status)
			gl->fing_status = g.addr;
	} else {
		tli_error_destroy(e3);
		e3 = tli_layout_global(l, "runtime.fingRunning", &g);
		if (!e3) {
			gl->fing_status = g.addr;
			gl->has_fing_status = gl->fing_is_bool = true;
		}
	}
	tli_error_destroy(e3);
	struct tli_error *e2 = tli_layout_global(l, "runtime.memstats", &g);
	if (!e2 && gl->ms_last_gc_unix != UINT32_MAX && gl->ms_last_gc_nanotime != UINT32_MAX) {
		gl->memstats = g.addr;
		gl->has_memstats = true;
	}
	tli_error_destroy(e2);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Little helpers over captured bytes.
 */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A table of Go strings ([N]string) read from the target. */
struct strtab {
	size_t n;
	char **s;
};

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	t->s = NULL;
	t->n = 0;
}

static struct tli_error *read_strtab(struct tli_target *t, const struct tli_global *g,
				     const char *what, struct strtab *ret)
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
		/* runtime strings are ASCII; anything else is damage, keep it printable */
		for (char *c = ret->s[i]; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
	}
	free(hdr);
	free(rs);
	return err;
}

/* ---------------------------------------------------------------------------
 * Capture phase.
 */
struct gcap {
	uint64_t addr;
	uint8_t *raw;        /* g bytes (points into gbuf), NULL if unreadable */
	uint64_t status;     /* masked */
	bool scan;
	uint64_t sp, pc, bp; /* where the unwind starts */
	bool trap;           /* pc is an interrupted pc (thread registers) */
	int tid;             /* thread for running/syscall gs, 0 if none */
	uint64_t stk_lo, stk_hi;
	uint64_t cap_lo, cap_hi; /* captured stack window */
	const char *problem; /* reason the g could not be decoded */
	size_t run;          /* index of the read run that holds it */
};

struct tli_go_rt {
	struct tli_session *s;
	struct tli_target *t;
	struct go_layout gl;
	const struct tli_pclntab *pcl;
	uint64_t bias;
	struct tli_gobin *gb;
	struct strtab wrs, gss;
	uint64_t ngs;
	struct gcap *gs;
	uint8_t *gbuf;           /* mmap'd, mirrors runs of gs */
	size_t gbuf_len;
	int64_t now_ns;          /* target's nanotime() now, 0 = unknown */
	const char *now_src;
	char goroot_src[512];    /* ".../src/" of the toolchain that built the binary */
	size_t goroot_len;
	const struct tli_go_opts *opts;
	bool fing_running;       /* the finalizer goroutine is running a finalizer */
	json_t *result;
	int minor;               /* Go minor version (for printFuncName), -1 unknown */
	int64_t only_id;         /* capture only this goroutine's stack (0 = all) */
};

static bool status_is_dead(const struct tli_go_rt *w, uint64_t st)
{
	return st == (uint64_t)w->gl.Gdead || st == (uint64_t)w->gl.Gidle ||
	       (w->gl.has_Gdeadextra && st == (uint64_t)w->gl.Gdeadextra);
}

static const struct tli_thread *thread_by_tid(const struct tli_target *t, int tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct tli_error *capture(struct tli_go_rt *w)
{
	double tm[8] = { now_ms() };
	struct tli_target *t = w->t;
	const struct go_layout *gl = &w->gl;
	struct tli_error *err;
	uint8_t hdr[24];
	uint64_t allglen;

	err = tli_target_read(t, gl->allgs, hdr, sizeof(hdr));
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
	w->gs = calloc(len ? len : 1, sizeof(*w->gs));
	if (!ptrs || !w->gs) {
		free(ptrs);
		return &tli_enomem;
	}
	if (len) {
		err = tli_target_read(t, arr, ptrs, len * 8);
		if (err) {
			free(ptrs);
			return tli_error_wrap(err, "reading the runtime.allgs array");
		}
	}

	tm[1] = now_ms();
	/* Every g, read in runs: gs live in spans of equal-sized slots, so sorting
	 * their addresses gives long runs that one iovec each can read. The buffer
	 * mirrors each run (g->raw points into it) and is pre-faulted in one go. */
	struct gord { uint64_t addr; size_t idx; } *ord = calloc(len ? len : 1, sizeof(*ord));
	if (!ord) {
		free(ptrs);
		return &tli_enomem;
	}
	size_t nord = 0;
	for (uint64_t i = 0; i < len; i++) {
		struct gcap *g = &w->gs[i];
		g->addr = ptrs[i];
		if (!g->addr || (g->addr & 7) || !tli_target_plausible(t, g->addr, gl->g_size)) {
			g->problem = "g pointer is not in mapped memory";
			continue;
		}
		ord[nord++] = (struct gord){ g->addr, i };
	}
	free(ptrs);
	qsort(ord, nord, sizeof(*ord), cmp_u64); /* addr is the first member */
	if (w->only_id > 0 && nord) {
		/* `goroutine ID`: scan the gs in address order through one small reused window
		 * (no per-g iovec, no fresh memory per g) and keep only the matches */
		const size_t WIN = 1u << 20;
		uint8_t *win = malloc(WIN);
		if (!win) {
			free(ord);
			return &tli_enomem;
		}
		size_t keep = 0;
		for (size_t k = 0; k < nord && !err;) {
			/* a window: consecutive gs whose span fits in WIN */
			size_t e = k + 1;
			while (e < nord && ord[e].addr + gl->g_size - ord[k].addr <= WIN &&
			       ord[e].addr >= ord[e - 1].addr + gl->g_size &&
			       ord[e].addr - (ord[e - 1].addr + gl->g_size) <= GRUN_GAP)
				e++;
			uint64_t wlen = ord[e - 1].addr + gl->g_size - ord[k].addr;
			struct tli_read r = { .addr = ord[k].addr, .buf = win, .len = wlen };
			err = tli_target_read_many(t, &r, 1);
			for (size_t j = k; !err && j < e; j++) {
				uint64_t o = ord[j].addr - ord[k].addr;
				if (r.got >= o + gl->g_goid + gl->g_goid_size &&
				    tli_rdn(win + o + gl->g_goid, gl->g_goid_size) == (uint64_t)w->only_id)
					ord[keep++] = ord[j];
			}
			k = e;
		}
		free(win);
		if (err) {
			free(ord);
			return tli_error_wrap(err, "reading goroutine ids");
		}
		/* the listing holds only the matching gs (normally one) */
		struct gcap *kept = calloc(keep ? keep : 1, sizeof(*kept));
		if (!kept) {
			free(ord);
			return &tli_enomem;
		}
		for (size_t k = 0; k < keep; k++) {
			kept[k] = w->gs[ord[k].idx];
			ord[k].idx = k;
		}
		free(w->gs);
		w->gs = kept;
		w->ngs = len = keep;
		nord = keep;
	}
	/* runs: [start, end) covering gs closer than GRUN_GAP to each other */
	size_t nruns = 0;
	uint64_t total = 0;
	for (size_t k = 0; k < nord; k++) {
		uint64_t end = ord[k].addr + gl->g_size;
		if (k == 0 || ord[k].addr > ord[k - 1].addr + gl->g_size + GRUN_GAP ||
		    end - ord[k - 1].addr > GRUN_MAX || ord[k].addr < ord[k - 1].addr + gl->g_size) {
			nruns++;
			total += gl->g_size;
		} else {
			total += end - (ord[k - 1].addr + gl->g_size);
		}
	}
	w->gbuf_len = total ? total : 1;
	w->gbuf = tli_big_alloc(w->gbuf_len);
	struct tli_read *rs = calloc(nruns ? nruns : 1, sizeof(*rs));
	if (!w->gbuf || !rs) {
		w->gbuf = NULL;
		free(ord);
		free(rs);
		return &tli_enomem;
	}
	size_t nr = 0;
	uint64_t off = 0;
	for (size_t k = 0; k < nord; k++) {
		uint64_t end = ord[k].addr + gl->g_size;
		bool fresh = k == 0 || ord[k].addr > ord[k - 1].addr + gl->g_size + GRUN_GAP ||
			     end - ord[k - 1].addr > GRUN_MAX || ord[k].addr < ord[k - 1].addr + gl->g_size;
		if (fresh) {
			rs[nr++] = (struct tli_read){ .addr = ord[k].addr, .buf = w->gbuf + off,
						      .len = gl->g_size };
			off += gl->g_size;
		} else {
			uint64_t grow = end - (ord[k - 1].addr + gl->g_size);
			rs[nr - 1].len += grow;
			off += grow;
		}
		struct tli_read *r = &rs[nr - 1];
		w->gs[ord[k].idx].raw = (uint8_t *)r->buf + (ord[k].addr - r->addr);
		w->gs[ord[k].idx].run = nr - 1;
	}
	err = tli_target_read_many(t, rs, nr);
	if (err) {
		free(rs);
		free(ord);
		return tli_error_wrap(err, "reading goroutine descriptors");
	}
	for (size_t k = 0; k < nord; k++) {
		struct gcap *g = &w->gs[ord[k].idx];
		const struct tli_read *r = &rs[g->run];
		if (r->got < (g->addr - r->addr) + gl->g_size) {
			g->raw = NULL;
			g->problem = "g descriptor is unreadable";
		}
	}
	free(ord);
	rs = realloc(rs, (len ? len : 1) * sizeof(*rs)); /* reused below, one per g */
	if (!rs)
		return &tli_enomem;

	tm[2] = now_ms();
	/* Ms of running/syscall goroutines: which thread runs them */
	nr = 0;
	uint64_t *procids = calloc(len ? len : 1, 8);
	if (!procids) {
		free(rs);
		return &tli_enomem;
	}
	for (uint64_t i = 0; i < len; i++) {
		struct gcap *g = &w->gs[i];
		if (!g->raw)
			continue;
		uint64_t st = tli_rdn(g->raw + gl->g_status, gl->g_status_size);
		g->scan = (st & (uint64_t)gl->Gscan) != 0;
		g->status = st & ~(uint64_t)gl->Gscan;
		uint64_t m = tli_rd64(g->raw + gl->g_m);
		if ((g->status == (uint64_t)gl->Grunning || g->status == (uint64_t)gl->Gsyscall) && m &&
		    tli_target_plausible(t, m + gl->m_procid, 8))
			rs[nr++] = (struct tli_read){ .addr = m + gl->m_procid, .buf = &procids[i], .len = 8 };
	}
	if (nr)
		err = tli_target_read_many(t, rs, nr);
	free(rs);
	if (err) {
		free(procids);
		return err;
	}

	tm[3] = now_ms();
	/* where each stack walk starts, and the stack window to capture */
	struct tli_range *ranges = calloc(len ? len : 1, sizeof(*ranges));
	if (!ranges) {
		free(procids);
		return &tli_enomem;
	}
	size_t nranges = 0;
	for (uint64_t i = 0; i < len; i++) {
		struct gcap *g = &w->gs[i];
		if (!g->raw || status_is_dead(w, g->status))
			continue;
		g->stk_lo = tli_rd64(g->raw + gl->g_stack_lo);
		g->stk_hi = tli_rd64(g->raw + gl->g_stack_hi);
		if (g->stk_lo >= g->stk_hi || g->stk_hi - g->stk_lo > (1ull << 30)) {
			g->problem = "stack bounds are implausible";
			continue;
		}
		if (w->only_id > 0 &&
		    tli_rdn(g->raw + gl->g_goid, gl->g_goid_size) != (uint64_t)w->only_id)
			continue; /* `goroutine ID`: only that stack is needed */
		g->tid = (int)procids[i];
		if (g->status == (uint64_t)gl->Grunning) {
			const struct tli_thread *th = g->tid ? thread_by_tid(t, g->tid) : NULL;
			if (th && th->regs_valid && th->regs.rsp >= g->stk_lo && th->regs.rsp < g->stk_hi) {
				g->sp = th->regs.rsp;
				g->pc = th->regs.rip;
				g->bp = th->regs.rbp;
				g->trap = true;
			} else {
				g->problem = th && th->regs_valid
					? "running on another stack (system stack or signal handler)"
					: "running; its thread's registers are unavailable";
				continue;
			}
		} else if (g->status == (uint64_t)gl->Gsyscall) {
			g->sp = tli_rd64(g->raw + gl->g_syscallsp);
			g->pc = tli_rd64(g->raw + gl->g_syscallpc);
		} else {
			g->sp = tli_rd64(g->raw + gl->g_sched_sp);
			g->pc = tli_rd64(g->raw + gl->g_sched_pc);
			g->bp = tli_rd64(g->raw + gl->g_sched_bp);
		}
		if (g->sp < g->stk_lo || g->sp > g->stk_hi) {
			g->problem = "stack pointer outside the goroutine's stack";
			continue;
		}
		g->cap_lo = g->sp;
		g->cap_hi = g->stk_hi - g->sp > STACK_CAPTURE ? g->sp + STACK_CAPTURE : g->stk_hi;
		if (g->cap_hi > g->cap_lo)
			ranges[nranges++] = (struct tli_range){ g->cap_lo, g->cap_hi - g->cap_lo };
	}
	free(procids);
	tm[4] = now_ms();
	size_t nfailed = 0;
	/* small gap: neighbouring stacks are 2–8 KiB apart; don't read the unused parts */
	err = tli_target_capture(t, ranges, nranges, 64, &nfailed);
	free(ranges);
	if (err)
		return tli_error_wrap(err, "capturing goroutine stacks");
	if (nfailed)
		tli_session_warn(w->s, "%zu goroutine stack(s) were only partly readable", nfailed);

	tm[5] = now_ms();
	/* strings the runtime itself prints */
	err = read_strtab(t, &gl->wrs, "runtime.waitReasonStrings", &w->wrs);
	if (!err)
		err = read_strtab(t, &gl->gss, "runtime.gStatusStrings", &w->gss);
	if (err)
		return err;

	if (gl->has_fing_status) {
		uint32_t v = 0;
		struct tli_error *fe = gl->fing_is_bool
			? tli_target_read(t, gl->fing_status, &v, 1)
			: tli_target_read_u32(t, gl->fing_status, &v);
		if (!fe)
			w->fing_running = gl->fing_is_bool ? (v & 0xff) != 0
							   : (v & (uint32_t)gl->fing_running_finalizer) != 0;
		tli_error_destroy(fe);
	}

	/* "now" on the target's nanotime clock */
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
	tm[6] = now_ms();
	if (w->s->opts.verbose)
		fprintf(stderr, "tlinspect: go capture: allgs %.1f ms, gs %.1f ms, Ms %.1f ms, plan %.1f ms, "
			"stacks %.1f ms, strings %.1f ms (%llu gs)\n", tm[1] - tm[0], tm[2] - tm[1],
			tm[3] - tm[2], tm[4] - tm[3], tm[5] - tm[4], tm[6] - tm[5], (unsigned long long)w->ngs);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Analysis: unwinding and symbolization.
 */
struct lframe {                 /* one logical frame */
	const char *func, *file;
	int32_t line;
	uint8_t funcid;
	bool inlined;
	uint64_t pc;            /* physical pc (biased, as in the target) */
	uint64_t entry;         /* physical function entry (biased) */
	bool first_of_phys;
};

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool is_exported_runtime(const char *name)
{
	return has_prefix(name, "runtime.") && name[8] >= 'A' && name[8] <= 'Z';
}

static bool elide_wrapper_calling(const struct go_layout *gl, int64_t child)
{
	return !(child == gl->fid_gopanic || child == gl->fid_sigpanic || child == gl->fid_panicwrap);
}

/* Go's showframe rule (traceback.go showfuncinfo) at GOTRACEBACK=single. */
static bool show_frame(const struct go_layout *gl, const char *name, int64_t funcid, bool first,
		       int64_t child)
{
	if (gl->has_fids && funcid == gl->fid_wrapper && elide_wrapper_calling(gl, child))
		return false;
	if ((gl->has_fid_runfin && funcid == gl->fid_runfin) ||
	    (gl->has_fid_runclean && funcid == gl->fid_runclean))
		return true;
	if (!strcmp(name, "runtime.gopanic") && !first)
		return true;
	return strchr(name, '.') && (!has_prefix(name, "runtime.") || is_exported_runtime(name));
}

/* Is this a frame of the runtime or the standard library? */
static bool is_std_frame(const struct tli_go_rt *w, const char *func, const char *file)
{
	if (w->goroot_len && file && !strncmp(file, w->goroot_src, w->goroot_len))
		return true;
	if (has_prefix(func, "runtime.") || has_prefix(func, "internal/"))
		return true;
	/* trimpath builds: the package path's first element has no dot, and isn't main */
	if (!w->goroot_len) {
		const char *slash = strchr(func, '/');
		const char *dot = strchr(func, '.');
		if (!dot)
			return false;
		const char *first_end = slash && slash < dot ? slash : dot;
		bool has_dot_in_first = memchr(func, '.', (size_t)(first_end - func)) != NULL;
		if (!has_dot_in_first && strncmp(func, "main.", 5) != 0)
			return true;
	}
	return false;
}

/* runtime.isSystemGoroutine: goroutines runtime.Stack(all) does not show. */
static bool is_system_goroutine(const struct tli_go_rt *w, const struct gcap *g, const char *startfn)
{
	if (!has_prefix(startfn, "runtime."))
		return false;
	if (!strcmp(startfn, "runtime.main") || !strcmp(startfn, "runtime.corostart") ||
	    !strcmp(startfn, "runtime.handleAsyncEvent"))
		return false;
	if (!strcmp(startfn, "runtime.runfinq") || !strcmp(startfn, "runtime.runFinalizers"))
		return !w->fing_running;
	if (!strcmp(startfn, "runtime.runCleanups") && w->gl.has_running_cleanups)
		return (g->raw[w->gl.g_running_cleanups] & 1) == 0;
	return true;
}

/* Function names as Go's traceback prints them (printFuncName: "panic", "[...]"). */
static void display_name(const struct tli_go_rt *w, const char *name, char *out, size_t cap)
{
	if (!strcmp(name, "runtime.gopanic")) {
		snprintf(out, cap, "panic");
		return;
	}
	tli_go_funcname_print(name, w->minor, out, cap);
}

struct frame_cache_ent {
	uint64_t key;    /* pc | trap<<63 */
	json_t *frames;  /* array of logical frame objects (shared, incref'ed) */
	struct lframe *lf;
	size_t nlf;
};

struct frame_cache {
	struct frame_cache_ent *e;
	size_t cap, n;
};

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static json_t *frame_json(const struct tli_go_rt *w, const struct lframe *f)
{
	char name[1024], pcs[32];
	display_name(w, f->func, name, sizeof(name));
	snprintf(pcs, sizeof(pcs), "0x%llx", (unsigned long long)f->pc);
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "function", tli_json_string_lossy(name));
	json_object_set_new_nocheck(o, "file", f->file ? tli_json_string_lossy(f->file) : json_null());
	json_object_set_new_nocheck(o, "line", json_integer(f->line));
	json_object_set_new_nocheck(o, "pc", json_string(pcs));
	if (!f->inlined && f->pc > f->entry)
		json_object_set_new_nocheck(o, "offset", json_integer((json_int_t)(f->pc - f->entry)));
	else
		json_object_set_new_nocheck(o, "offset", json_null());
	json_object_set_new_nocheck(o, "inlined", json_boolean(f->inlined));
	return o;
}

/* Logical frames for one physical pc (cached: many goroutines share pcs). */
static struct frame_cache_ent *symbolize(struct tli_go_rt *w, struct frame_cache *fc, uint64_t pc, bool trap,
					 struct tli_error **errp)
{
	uint64_t key = pc | ((uint64_t)trap << 63);
	if (fc->n * 2 >= fc->cap) {
		size_t ncap = fc->cap ? fc->cap * 2 : 4096;
		struct frame_cache_ent *ne = calloc(ncap, sizeof(*ne));
		if (!ne) {
			*errp = &tli_enomem;
			return NULL;
		}
		for (size_t i = 0; i < fc->cap; i++) {
			if (!fc->e[i].frames)
				continue;
			size_t h = hash64(fc->e[i].key) & (ncap - 1);
			while (ne[h].frames)
				h = (h + 1) & (ncap - 1);
			ne[h] = fc->e[i];
		}
		free(fc->e);
		fc->e = ne;
		fc->cap = ncap;
	}
	size_t h = hash64(key) & (fc->cap - 1);
	while (fc->e[h].frames) {
		if (fc->e[h].key == key)
			return &fc->e[h];
		h = (h + 1) & (fc->cap - 1);
	}
	struct tli_gofunc f;
	uint64_t lpc = pc - w->bias;
	struct tli_error *err = tli_pclntab_find(w->pcl, lpc, &f);
	struct lframe *lf = calloc(MAX_LOGICAL, sizeof(*lf));
	if (!lf) {
		tli_error_destroy(err);
		*errp = &tli_enomem;
		return NULL;
	}
	size_t nlf = 0;
	if (err) {
		tli_error_destroy(err);
		lf[0] = (struct lframe){ .func = "?", .file = NULL, .line = 0, .pc = pc, .entry = pc,
					 .first_of_phys = true };
		nlf = 1;
	} else {
		/* the pc-1 rule: return addresses point after the CALL */
		uint64_t sympc = (!trap && lpc > f.entry) ? lpc - 1 : lpc;
		struct tli_goframe gf[MAX_LOGICAL];
		size_t n = 0;
		err = tli_pclntab_frames(w->pcl, sympc, gf, MAX_LOGICAL, &n);
		if (err || n == 0) {
			tli_error_destroy(err);
			const char *file = NULL;
			int32_t line = 0;
			struct tli_error *e2 = tli_pclntab_fileline(w->pcl, &f, sympc, &file, &line);
			tli_error_destroy(e2);
			gf[0] = (struct tli_goframe){ .func = f.name, .file = file, .line = line,
						      .funcid = f.funcid, .inlined = false, .entry = f.entry };
			n = 1;
		}
		for (size_t i = 0; i < n; i++) {
			lf[nlf++] = (struct lframe){ .func = gf[i].func ? gf[i].func : "?", .file = gf[i].file,
						     .line = gf[i].line, .funcid = gf[i].funcid,
						     .inlined = gf[i].inlined, .pc = pc,
						     .entry = f.entry + w->bias, .first_of_phys = i == 0 };
		}
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < nlf; i++)
		json_array_append_new(arr, frame_json(w, &lf[i]));
	fc->e[h] = (struct frame_cache_ent){ .key = key, .frames = arr, .lf = lf, .nlf = nlf };
	fc->n++;
	return &fc->e[h];
}

static void frame_cache_free(struct frame_cache *fc)
{
	for (size_t i = 0; i < fc->cap; i++) {
		if (fc->e[i].frames) {
			json_decref(fc->e[i].frames);
			free(fc->e[i].lf);
		}
	}
	free(fc->e);
}

/* Physical frames of one goroutine by pcsp unwinding (what the runtime does). */
static size_t unwind(struct tli_go_rt *w, const struct gcap *g, uint64_t *pcs, bool *truncated,
		     const char **problem)
{
	size_t n = 0;
	uint64_t pc = g->pc, sp = g->sp;
	*truncated = false;
	*problem = NULL;
	for (; n < MAX_FRAMES; ) {
		if (pc == 0)
			break;
		pcs[n++] = pc;
		struct tli_gofunc f;
		struct tli_error *err = tli_pclntab_find(w->pcl, pc - w->bias, &f);
		if (err) {
			tli_error_destroy(err);
			if (n > 1)
				*problem = "unwinding reached a pc outside Go code";
			break;
		}
		if (w->gl.has_fids && f.funcid == w->gl.fid_goexit)
			break;
		if (!strcmp(f.name, "runtime.goexit") || (f.flag & 1 /* TopFrame */))
			break;
		if (n > 1 && (f.flag & 2 /* SPWrite */))
			break; /* the runtime cannot unwind through these either */
		int32_t spdelta = 0;
		err = tli_pclntab_spdelta(w->pcl, &f, pc - w->bias, &spdelta);
		if (err) {
			tli_error_destroy(err);
			*problem = "no stack-pointer delta for a frame (pcsp)";
			break;
		}
		if (spdelta < 0 || (uint64_t)spdelta > (1u << 24)) {
			*problem = "implausible frame size";
			break;
		}
		uint64_t retaddr_at = sp + (uint64_t)spdelta;
		if (retaddr_at + 8 > g->stk_hi) {
			*problem = "frame runs past the top of the stack";
			break;
		}
		uint64_t ret;
		struct tli_error *rerr = tli_target_read_u64(w->t, retaddr_at, &ret);
		if (rerr) {
			tli_error_destroy(rerr);
			*truncated = true;
			break;
		}
		uint64_t nsp = retaddr_at + 8;
		if (nsp <= sp) {
			*problem = "stack pointer did not advance";
			break;
		}
		sp = nsp;
		pc = ret;
	}
	if (n == MAX_FRAMES)
		*truncated = true;
	return n;
}

static void find_goroot(struct tli_go_rt *w)
{
	struct tli_gofunc f;
	struct tli_error *err = tli_pclntab_lookup(w->pcl, "runtime.main", &f);
	if (err) {
		tli_error_destroy(err);
		return;
	}
	const char *file = NULL;
	int32_t line;
	err = tli_pclntab_fileline(w->pcl, &f, f.entry, &file, &line);
	if (err || !file) {
		tli_error_destroy(err);
		return;
	}
	const char *p = strstr(file, "/runtime/proc.go");
	if (!p && !strcmp(file, "runtime/proc.go"))
		return; /* trimpath: no GOROOT prefix in file names */
	if (p && (size_t)(p - file + 1) < sizeof(w->goroot_src)) {
		w->goroot_len = (size_t)(p - file + 1);
		memcpy(w->goroot_src, file, w->goroot_len);
		w->goroot_src[w->goroot_len] = 0;
	}
}

/* A group of goroutines for the summary. */
struct group {
	uint64_t k0, k1, k2;     /* state, user frame (shared object), creation pc */
	uint64_t first_id;       /* ties are broken by the lowest goroutine id */
	json_t *obj;
	int64_t count;
};

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first_id < y->first_id ? -1 : x->first_id > y->first_id;
}

/* group index: open addressing over (k0, k1, k2) -> index into groups[] */
struct gindex {
	size_t *slot;            /* index + 1, 0 = empty */
	size_t cap;
};

static size_t gindex_find(struct gindex *gi, const struct group *groups, size_t ngroups, uint64_t k0,
			  uint64_t k1, uint64_t k2, bool *found)
{
	if ((ngroups + 1) * 2 > gi->cap) {
		size_t ncap = gi->cap ? gi->cap * 2 : 1024;
		size_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return SIZE_MAX;
		for (size_t i = 0; i < ngroups; i++) {
			size_t h = hash64(groups[i].k0 ^ hash64(groups[i].k1 ^ hash64(groups[i].k2))) & (ncap - 1);
			while (ns[h])
				h = (h + 1) & (ncap - 1);
			ns[h] = i + 1;
		}
		free(gi->slot);
		gi->slot = ns;
		gi->cap = ncap;
	}
	size_t h = hash64(k0 ^ hash64(k1 ^ hash64(k2))) & (gi->cap - 1);
	while (gi->slot[h]) {
		const struct group *g = &groups[gi->slot[h] - 1];
		if (g->k0 == k0 && g->k1 == k1 && g->k2 == k2) {
			*found = true;
			return gi->slot[h] - 1;
		}
		h = (h + 1) & (gi->cap - 1);
	}
	*found = false;
	gi->slot[h] = ngroups + 1;
	return ngroups;
}


struct sortent {
	uint64_t goid;
	json_t *obj;
};

static int cmp_sortent(const void *a, const void *b)
{
	const struct sortent *x = a, *y = b;
	return x->goid < y->goid ? -1 : x->goid > y->goid;
}

static const char *status_name(const struct tli_go_rt *w, uint64_t st, char *buf, size_t cap)
{
	if (st < w->gss.n && w->gss.s[st] && w->gss.s[st][0])
		return w->gss.s[st];
	snprintf(buf, cap, "status %llu", (unsigned long long)st);
	return buf;
}

/* (gopc, parent goid) -> shared created_by object */
struct cb_ent {
	uint64_t gopc, pg;
	json_t *obj;
	bool used;
};

struct cb_cache {
	struct cb_ent *e;
	size_t cap, n;
};

static json_t **cb_cache_slot(struct cb_cache *c, uint64_t gopc, uint64_t pg)
{
	if ((c->n + 1) * 2 > c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		struct cb_ent *ne = calloc(ncap, sizeof(*ne));
		if (!ne)
			return NULL;
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->e[i].used)
				continue;
			size_t h = hash64(c->e[i].gopc ^ hash64(c->e[i].pg)) & (ncap - 1);
			while (ne[h].used)
				h = (h + 1) & (ncap - 1);
			ne[h] = c->e[i];
		}
		free(c->e);
		c->e = ne;
		c->cap = ncap;
	}
	size_t h = hash64(gopc ^ hash64(pg)) & (c->cap - 1);
	while (c->e[h].used) {
		if (c->e[h].gopc == gopc && c->e[h].pg == pg)
			return &c->e[h].obj;
		h = (h + 1) & (c->cap - 1);
	}
	c->e[h] = (struct cb_ent){ .gopc = gopc, .pg = pg, .obj = NULL, .used = true };
	c->n++;
	return &c->e[h].obj;
}

static void cb_cache_free(struct cb_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->e[i].used)
			json_decref(c->e[i].obj);
	free(c->e);
}

static json_t *cached_str(json_t **cache, size_t idx, const char *s)
{
	if (!cache[idx])
		cache[idx] = tli_json_string_lossy(s);
	return json_incref(cache[idx]);
}

static void hex_addr(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	*out++ = '0';
	*out++ = 'x';
	while (n)
		*out++ = tmp[--n];
	*out = 0;
}

static struct tli_error *analyze(struct tli_go_rt *w, json_t *go)
{
	const struct go_layout *gl = &w->gl;
	struct frame_cache fc = { 0 };
	struct tli_error *err = NULL;
	uint64_t *pcs = malloc(MAX_FRAMES * sizeof(uint64_t));
	struct sortent *list = calloc(w->ngs ? w->ngs : 1, sizeof(*list));
	uint64_t *ids = calloc(w->ngs ? w->ngs : 1, sizeof(*ids));
	size_t nlist = 0, nids = 0;
	json_t *by_status = json_object(), *by_reason = json_object();
	int64_t nsystem = 0, nunreadable = 0;
	/* groups: hash by key string using a jansson object as the index */
	struct gindex gindex = { 0 };
	struct cb_cache cbc = { 0 };
	int64_t *nstatus = calloc(w->gss.n + 1, sizeof(*nstatus));
	int64_t *nreason = calloc(w->wrs.n + 1, sizeof(*nreason));
	/* the runtime's strings as JSON, made once and shared (not once per goroutine) */
	json_t **jstatus = calloc(w->gss.n + 1, sizeof(*jstatus));
	json_t **jreason = calloc(w->wrs.n + 1, sizeof(*jreason));
	struct group *groups = NULL;
	size_t ngroups = 0, capgroups = 0;

	if (!pcs || !list || !ids || !jstatus || !jreason || !nstatus || !nreason) {
		err = &tli_enomem;
		goto out;
	}
	find_goroot(w);

	for (uint64_t i = 0; i < w->ngs; i++) {
		struct gcap *g = &w->gs[i];
		char addr[32], sbuf[64];
		hex_addr(addr, g->addr);
		if (!g->raw) {
			if (!g->addr)
				continue;
			/* unreadable g: listed, degraded */
			json_t *o = json_object();
			json_object_set_new_nocheck(o, "id", json_null());
			json_object_set_new_nocheck(o, "address", json_string(addr));
			json_object_set_new_nocheck(o, "unreadable", json_string(g->problem ? g->problem : "unreadable"));
			list[nlist++] = (struct sortent){ UINT64_MAX, o };
			nunreadable++;
			continue;
		}
		if (status_is_dead(w, g->status))
			continue;
		uint64_t goid = tli_rdn(g->raw + gl->g_goid, gl->g_goid_size);
		if (w->opts->only_id > 0 && goid != (uint64_t)w->opts->only_id)
			continue;
		ids[nids++] = goid;
		json_t *o = json_object();
		json_object_set_new_nocheck(o, "id", json_integer((json_int_t)goid));
		json_object_set_new_nocheck(o, "address", json_string(addr));
		const char *sname = status_name(w, g->status, sbuf, sizeof(sbuf));
		json_object_set_new_nocheck(o, "status", g->status < w->gss.n
					    ? cached_str(jstatus, g->status, sname) : tli_json_string_lossy(sname));
		bool waiting = g->status == (uint64_t)gl->Gwaiting ||
			       (gl->has_Gleaked && g->status == (uint64_t)gl->Gleaked);
		uint64_t wr = tli_rdn(g->raw + gl->g_waitreason, gl->g_waitreason_size);
		const char *reason = NULL;
		char rbuf[48];
		if (waiting && wr != 0) {
			if (wr < w->wrs.n && w->wrs.s[wr])
				reason = w->wrs.s[wr];
			else {
				snprintf(rbuf, sizeof(rbuf), "wait reason %llu", (unsigned long long)wr);
				reason = rbuf;
			}
		}
		json_object_set_new_nocheck(o, "wait_reason", !reason ? json_null()
					    : wr < w->wrs.n && w->wrs.s[wr] ? cached_str(jreason, wr, reason)
					    : tli_json_string_lossy(reason));
		if (g->scan)
			json_object_set_new_nocheck(o, "scan", json_true());
		/* how long: only meaningful while waiting or in a syscall (Go's rule) */
		int64_t since = (int64_t)tli_rd64(g->raw + gl->g_waitsince);
		if ((g->status == (uint64_t)gl->Gwaiting || g->status == (uint64_t)gl->Gsyscall) && since > 0 &&
		    w->now_ns > since) {
			double secs = (double)(w->now_ns - since) / 1e9;
			json_object_set_new_nocheck(o, "wait_seconds", json_real(secs));
			int64_t mins = (w->now_ns - since) / 60000000000LL;
			json_object_set_new_nocheck(o, "wait_minutes", mins >= 1 ? json_integer(mins) : json_null());
		} else {
			json_object_set_new_nocheck(o, "wait_seconds", json_null());
			json_object_set_new_nocheck(o, "wait_minutes", json_null());
		}
		json_object_set_new_nocheck(o, "locked_to_thread", json_boolean(tli_rd64(g->raw + gl->g_lockedm) != 0));
		json_object_set_new_nocheck(o, "thread", g->tid ? json_integer(g->tid) : json_null());

		/* start function: decides "system" like runtime.isSystemGoroutine */
		uint64_t startpc = tli_rd64(g->raw + gl->g_startpc);
		bool system = false;
		json_t *start = json_null();
		if (startpc) {
			struct frame_cache_ent *ce = symbolize(w, &fc, startpc, true, &err);
			if (!ce)
				goto out;
			const struct lframe *sf = &ce->lf[ce->nlf - 1];
			system = is_system_goroutine(w, g, sf->func);
			json_decref(start);
			start = json_incref(json_array_get(ce->frames, ce->nlf - 1));
		}
		json_object_set_new_nocheck(o, "system", json_boolean(system));
		json_object_set_new_nocheck(o, "start", start);
		if (system)
			nsystem++;

		/* stack */
		json_t *stack = json_array();
		json_t *current = NULL, *user = NULL;
		bool truncated = false;
		const char *problem = g->problem;
		if (!problem) {
			size_t np = unwind(w, g, pcs, &truncated, &problem);
			int64_t last_fid = gl->fid_normal;
			size_t nprint = 0;
			for (size_t k = 0; k < np; k++) {
				struct frame_cache_ent *ce = symbolize(w, &fc, pcs[k], g->trap && k == 0, &err);
				if (!ce) {
					json_decref(stack);
					json_decref(o);
					goto out;
				}
				for (size_t j = 0; j < ce->nlf; j++) {
					const struct lframe *lf = &ce->lf[j];
					json_t *fo = json_array_get(ce->frames, j);
					/* system goroutines: every frame is runtime-internal,
					 * so hiding them would leave nothing to see */
					bool show = w->opts->all_frames || system ||
						    show_frame(gl, lf->func, lf->funcid, nprint == 0, last_fid);
					last_fid = lf->funcid;
					if (!user && strcmp(lf->func, "?") && !is_std_frame(w, lf->func, lf->file))
						user = fo;
					if (!show)
						continue;
					nprint++;
					if (!current)
						current = fo;
					json_array_append(stack, fo);
				}
			}
		}
		json_object_set_nocheck(o, "current", current ? current : json_null());
		json_object_set_nocheck(o, "user", user ? user : json_null());

		/* created by: the physical function of gopc, file:line at gopc-1
		 * (one shared object per (gopc, parent goid): 100k goroutines started
		 * by one loop share it) */
		uint64_t gopc = tli_rd64(g->raw + gl->g_gopc);
		uint64_t pg = gl->has_parentgoid ? tli_rd64(g->raw + gl->g_parentgoid) : 0;
		json_t *cb = json_null();
		json_t **cbslot = gopc ? cb_cache_slot(&cbc, gopc, pg) : NULL;
		if (gopc && !cbslot) {
			json_decref(stack);
			json_decref(o);
			err = &tli_enomem;
			goto out;
		}
		if (cbslot && *cbslot) {
			cb = json_incref(*cbslot);
		} else if (gopc) {
			struct frame_cache_ent *ce = symbolize(w, &fc, gopc, false, &err);
			if (!ce) {
				json_decref(stack);
				json_decref(o);
				goto out;
			}
			const struct lframe *pf = &ce->lf[ce->nlf - 1];
			const struct lframe *inner = &ce->lf[0];
			if (strcmp(pf->func, "?") && goid != 1 &&
			    show_frame(gl, pf->func, pf->funcid, false, gl->fid_normal)) {
				char name[1024];
				display_name(w, pf->func, name, sizeof(name));
				cb = json_object();
				json_object_set_new_nocheck(cb, "function", tli_json_string_lossy(name));
				json_object_set_new_nocheck(cb, "file", inner->file ? tli_json_string_lossy(inner->file)
									    : json_null());
				json_object_set_new_nocheck(cb, "line", json_integer(inner->line));
				char pcs_[32];
				hex_addr(pcs_, gopc);
				json_object_set_new_nocheck(cb, "pc", json_string(pcs_));
				json_object_set_new_nocheck(cb, "offset", gopc > pf->entry
						    ? json_integer((json_int_t)(gopc - pf->entry)) : json_null());
				json_object_set_new_nocheck(cb, "goid", pg ? json_integer((json_int_t)pg) : json_null());
			}
			if (goid != 1) /* goid 1's "none" must not be shared with others */
				*cbslot = json_incref(cb);
		}
		json_object_set_nocheck(o, "created_by", cb);

		if (w->opts->stacks || w->opts->only_id > 0) {
			json_object_set_nocheck(o, "stack", stack);
			json_object_set_new_nocheck(o, "stack_truncated", json_boolean(truncated));
		}
		if (problem)
			json_object_set_new_nocheck(o, "unreadable", json_string(problem));

		/* summary */
		if (g->status < w->gss.n) {
			nstatus[g->status]++;
		} else {
			json_t *c = json_object_get(by_status, sname);
			json_object_set_new(by_status, sname, json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		if (reason && wr < w->wrs.n && w->wrs.s[wr]) {
			nreason[wr]++;
		} else if (reason) {
			json_t *c = json_object_get(by_reason, reason);
			json_object_set_new(by_reason, reason, json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		if (!system) {
			bool found = false;
			uint64_t k0 = reason ? wr : 0x10000 + g->status;
			uint64_t k1 = (uint64_t)(uintptr_t)user;
			uint64_t k2 = json_is_null(cb) ? 0 : gopc;
			size_t gi = gindex_find(&gindex, groups, ngroups, k0, k1, k2, &found);
			if (gi == SIZE_MAX) {
				json_decref(cb);
				json_decref(stack);
				json_decref(o);
				err = &tli_enomem;
				goto out;
			}
			if (found) {
				struct group *gr = &groups[gi];
				gr->count++;
				json_t *gids = json_object_get(gr->obj, "ids");
				if (json_array_size(gids) < 10)
					json_array_append_new(gids, json_integer((json_int_t)goid));
			} else {
				if (ngroups == capgroups) {
					capgroups = capgroups ? capgroups * 2 : 64;
					struct group *ng = realloc(groups, capgroups * sizeof(*ng));
					if (!ng) {
						json_decref(cb);
						json_decref(stack);
						json_decref(o);
						err = &tli_enomem;
						goto out;
					}
					groups = ng;
				}
				json_t *go_ = json_object();
				json_object_set_new_nocheck(go_, "count", json_integer(0));
				json_object_set_nocheck(go_, "status", json_object_get(o, "status"));
				json_object_set_nocheck(go_, "wait_reason", json_object_get(o, "wait_reason"));
				json_object_set_nocheck(go_, "user", user ? user : json_null());
				json_object_set_nocheck(go_, "created_by", cb);
				json_t *gids = json_array();
				json_array_append_new(gids, json_integer((json_int_t)goid));
				json_object_set_new_nocheck(go_, "ids", gids);
				groups[ngroups] = (struct group){ .k0 = k0, .k1 = k1, .k2 = k2, .first_id = goid,
								  .obj = go_, .count = 1 };
				ngroups++;
			}
		}
		json_decref(cb);
		json_decref(stack);
		list[nlist++] = (struct sortent){ goid, o };
	}

	/* duplicate goids mean a torn or corrupt snapshot */
	qsort(ids, nids, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < nids; i++) {
		if (ids[i] == ids[i - 1]) {
			tli_session_warn(w->s, "goroutine id %llu appears more than once (inconsistent snapshot?)",
					 (unsigned long long)ids[i]);
			break;
		}
	}
	qsort(list, nlist, sizeof(*list), cmp_sortent);
	json_t *arr = json_array();
	for (size_t i = 0; i < nlist; i++)
		json_array_append_new(arr, list[i].obj);
	nlist = 0;

	qsort(groups, ngroups, sizeof(*groups), group_cmp);
	json_t *garr = json_array();
	size_t top = w->opts->top < 0 ? 10 : (size_t)w->opts->top;
	for (size_t i = 0; i < ngroups; i++) {
		if (top == 0 || i < top) {
			json_object_set_new(groups[i].obj, "count", json_integer(groups[i].count));
			json_array_append(garr, groups[i].obj);
		}
	}
	for (size_t i = 0; i < w->gss.n; i++)
		if (nstatus[i] && w->gss.s[i])
			json_object_set_new(by_status, w->gss.s[i], json_integer(nstatus[i]));
	for (size_t i = 0; i < w->wrs.n; i++)
		if (nreason[i] && w->wrs.s[i])
			json_object_set_new(by_reason, w->wrs.s[i], json_integer(nreason[i]));
	json_t *summary = json_object();
	json_object_set_new_nocheck(summary, "by_status", by_status);
	json_object_set_new_nocheck(summary, "by_wait_reason", by_reason);
	json_object_set_new_nocheck(summary, "system", json_integer(nsystem));
	json_object_set_new_nocheck(summary, "unreadable", json_integer(nunreadable));
	json_object_set_new_nocheck(summary, "groups", garr);
	json_object_set_new_nocheck(summary, "group_count", json_integer((json_int_t)ngroups));
	by_status = by_reason = NULL;
	json_object_set_new_nocheck(go, "goroutine_count", json_integer((json_int_t)nids));
	json_object_set_new_nocheck(go, "summary", summary);
	json_object_set_new_nocheck(go, "goroutines", arr);
	json_t *tg = json_object_get(w->result, "target");
	if (tg)
		json_object_set_new_nocheck(tg, "now", json_string(w->now_src));
	if (w->opts->only_id > 0 && nids == 0)
		err = tli_error_create(TLI_E_NO_TARGET, "no goroutine with id %lld",
				       (long long)w->opts->only_id);
out:
	for (size_t i = 0; i < nlist; i++)
		json_decref(list[i].obj);
	for (size_t i = 0; i < ngroups; i++)
		json_decref(groups[i].obj);
	free(groups);
	free(gindex.slot);
	cb_cache_free(&cbc);
	free(nstatus);
	free(nreason);
	for (size_t i = 0; jstatus && i < w->gss.n; i++)
		json_decref(jstatus[i]);
	for (size_t i = 0; jreason && i < w->wrs.n; i++)
		json_decref(jreason[i]);
	free(jstatus);
	free(jreason);
	json_decref(by_status);
	json_decref(by_reason);
	frame_cache_free(&fc);
	free(pcs);
	free(list);
	free(ids);
	return err;
}

struct tli_error *tli_go_rt_open(struct tli_session *s, struct tli_go_rt **ret)
{
	struct tli_go_rt *w = calloc(1, sizeof(*w));
	if (!w)
		return &tli_enomem;
	w->s = s;
	w->t = s->target;
	w->bias = s->exe_bias;
	struct tli_error *err = tli_session_gobin(s, &w->gb);
	if (err)
		goto fail;
	w->pcl = tli_gobin_pclntab(w->gb);
	if (!w->pcl) {
		err = tli_error_create(TLI_E_NOT_GO, "%s has no usable pclntab", s->target->exe_path);
		goto fail;
	}
	w->minor = tli_gobin_minor(w->gb);
	err = resolve_layout(s->layout, &w->gl);
	if (err) {
		err = tli_error_wrap(err, "Go runtime layout of %s", s->target->exe_path);
		goto fail;
	}
	*ret = w;
	return NULL;
fail:
	free(w);
	return err;
}

struct tli_error *tli_go_rt_capture(struct tli_go_rt *rt)
{
	return capture(rt);
}

struct tli_error *tli_go_rt_analyze(struct tli_go_rt *rt, const struct tli_go_opts *opts, json_t *result)
{
	rt->opts = opts;
	rt->result = result;
	json_t *tg = json_object_get(result, "target");
	if (!tg) {
		tg = json_object();
		json_object_set_new_nocheck(result, "target", tg);
	}
	const char *ver = tli_gobin_version(rt->gb);
	json_object_set_new_nocheck(tg, "go_version", ver ? json_string(ver) : json_null());
	json_t *go = json_object_get(result, "go");
	if (!go) {
		go = json_object();
		json_object_set_new_nocheck(result, "go", go);
	}
	return analyze(rt, go);
}

void tli_go_rt_destroy(struct tli_go_rt *rt)
{
	if (!rt)
		return;
	strtab_free(&rt->wrs);
	strtab_free(&rt->gss);
	free(rt->gs);
	tli_big_free(rt->gbuf, rt->gbuf_len);
	free(rt);
}

/* --- accessors for other walkers (channels, leaks) --- */

size_t tli_go_rt_count(const struct tli_go_rt *rt)
{
	return rt->ngs;
}

bool tli_go_rt_g(const struct tli_go_rt *rt, size_t i, struct tli_go_gview *ret)
{
	if (i >= rt->ngs)
		return false;
	const struct gcap *g = &rt->gs[i];
	*ret = (struct tli_go_gview){
		.addr = g->addr, .raw = g->raw, .size = rt->gl.g_size, .status = g->status,
		.dead = !g->raw || status_is_dead(rt, g->status),
		.goid = g->raw ? tli_rdn(g->raw + rt->gl.g_goid, rt->gl.g_goid_size) : 0,
		.waitreason = g->raw ? tli_rdn(g->raw + rt->gl.g_waitreason, rt->gl.g_waitreason_size) : 0,
		.waiting = g->raw && (g->status == (uint64_t)rt->gl.Gwaiting ||
				      (rt->gl.has_Gleaked && g->status == (uint64_t)rt->gl.Gleaked)),
		.sp = g->sp, .stk_lo = g->stk_lo, .stk_hi = g->stk_hi, .problem = g->problem,
	};
	return true;
}

const char *tli_go_rt_wait_reason(const struct tli_go_rt *rt, uint64_t wr)
{
	return wr < rt->wrs.n ? rt->wrs.s[wr] : NULL;
}

struct tli_layout *tli_go_rt_layout(const struct tli_go_rt *rt)
{
	return rt->s->layout;
}

const struct tli_pclntab *tli_go_rt_pclntab(const struct tli_go_rt *rt)
{
	return rt->pcl;
}

uint64_t tli_go_rt_bias(const struct tli_go_rt *rt)
{
	return rt->bias;
}

int tli_go_rt_minor(const struct tli_go_rt *rt)
{
	return rt->minor;
}

void tli_go_rt_only(struct tli_go_rt *rt, int64_t goid)
{
	if (rt)
		rt->only_id = goid;
}

struct tli_error *tli_go_goroutines(struct tli_session *s, const struct tli_go_opts *opts,
				    json_t *result)
{
	struct tli_go_rt *rt = NULL;
	struct tli_error *err = tli_go_rt_open(s, &rt);
	if (!err) {
		rt->only_id = opts->only_id;
		err = tli_go_rt_capture(rt);
	}
	/* the pause ends here, whatever happened */
	tli_target_release(s->target);
	if (!err)
		err = tli_go_rt_analyze(rt, opts, result);
	tli_go_rt_destroy(rt);
	return err;
}
