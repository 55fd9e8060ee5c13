/* SPDX-License-Identifier: MIT */
/*
 * Go's traceback rules, applied from outside to a captured goroutine (see
 * goroutines_internal.h): unwinding by the pcsp tables like the runtime's
 * unwinder (runtime/traceback.go unwinder.next), symbolizing with inlined
 * frames expanded (runtime/symtab.go CallersFrames / funcline), which frames
 * Go shows (showfuncinfo), how it prints names (printFuncName), which
 * goroutines are the runtime's own (isSystemGoroutine), and where a goroutine
 * "is": its first shown frame and its innermost frame of user code.
 * Rules as in go1.19 … go1.27.
 */
#include "goroutines_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonstr.h"
#include "core/vec.h"

/* funcFlag bits of the pclntab's _func (internal/abi/symtab.go FuncFlag, go1.21+; runtime/symtab.go
 * funcFlag before), what tli_gofunc.flag holds. */
#define FUNCFLAG_TOPFRAME 1   /* the outermost frame of a goroutine or thread */
#define FUNCFLAG_SPWRITE  2   /* writes SP arbitrarily: the runtime cannot unwind through it */

/* ---- which frames Go shows ---- */

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

/* Go's showframe rule (runtime/traceback.go showfuncinfo) at GOTRACEBACK=single. */
bool tli_go_tb_show_frame(const struct go_layout *gl, const char *name, int64_t funcid, bool first,
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
/*
 * Is pkg (an import path) in the standard library? As the go tool decides it
 * (cmd/go/internal/search IsStandardImportPath): its first element has no dot;
 * "main" is the program's own package.
 */
static bool std_import_path(const char *pkg, size_t len)
{
	const char *slash = memchr(pkg, '/', len);
	size_t first = slash ? (size_t)(slash - pkg) : len;
	if (first == 0 || memchr(pkg, '.', first))
		return false;
	return !(len == 4 && !memcmp(pkg, "main", 4));
}

/*
 * The import path of a function's package, from its symbol name, as runtime/symtab.go
 * funcpkgpath finds it: up to the last '/', then up to the next '.'; type arguments
 * ("pkg.F[...]", which may hold other paths) are cut first. *len = 0 if none.
 */
static const char *func_pkgpath(const char *func, size_t *len)
{
	size_t n = strcspn(func, "[");
	size_t i = n;
	while (i > 0 && func[i - 1] != '/')
		i--;
	while (i < n && func[i] != '.')
		i++;
	*len = i;
	return func;
}

/* Standard-library frames are skipped when choosing a goroutine's "user" location. */
static bool is_std_frame(const struct tli_go_rt *w, const char *func, const char *file)
{
	if (w->goroot_len && file && !strncmp(file, w->goroot_src, w->goroot_len))
		return true;
	if (has_prefix(func, "runtime.") || has_prefix(func, "internal/"))
		return true;
	/* trimpath builds (every Debian-built Go binary): no GOROOT in file names; the
	 * package's import path says it */
	if (!w->goroot_len) {
		size_t len;
		const char *pkg = func_pkgpath(func, &len);
		return len > 0 && len < strlen(func) && std_import_path(pkg, len);
	}
	return false;
}

/* runtime/traceback.go isSystemGoroutine: goroutines runtime.Stack(all) does not show. */
bool tli_go_tb_is_system(const struct tli_go_rt *w, const struct gcap *g, const char *startfn)
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

/* Function names as Go's traceback prints them (runtime/traceback.go printFuncName: "panic", "[...]"). */
void tli_go_tb_display_name(const struct tli_go_rt *w, const char *name, char *out, size_t cap)
{
	if (!strcmp(name, "runtime.gopanic")) {
		snprintf(out, cap, "panic");
		return;
	}
	tli_go_funcname_print(name, w->minor, out, cap);
}

void tli_go_tb_find_goroot(struct tli_go_rt *w)
{
	struct tli_gofunc f;
	if (tli_error_drop(tli_pclntab_lookup(w->pcl, "runtime.main", &f)))
		return;
	const char *file = NULL;
	int32_t line;
	struct tli_error *err = tli_pclntab_fileline(w->pcl, &f, f.entry, &file, &line);
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

/* ---- symbolizing ---- */

static json_t *frame_json(const struct tli_go_rt *w, const struct go_lframe *f)
{
	char name[1024], pcs[32];
	tli_go_tb_display_name(w, f->func, name, sizeof(name));
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

/* The logical frames at pc, innermost first (lf has room for TLI_GO_MAX_LOGICAL); returns their number. */
static size_t pc_frames(struct tli_go_rt *w, uint64_t pc, bool trap, struct go_lframe *lf, struct tli_gofunc *fout,
			bool *found)
{
	struct tli_gofunc f;
	uint64_t lpc = pc - w->bias;
	*found = false;
	if (tli_error_drop(tli_pclntab_find(w->pcl, lpc, &f))) {
		lf[0] = (struct go_lframe){ .func = "?", .file = NULL, .line = 0, .pc = pc, .entry = pc,
					    .first_of_phys = true };
		return 1;
	}
	/* the pc-1 rule: return addresses point after the CALL */
	uint64_t sympc = (!trap && lpc > f.entry) ? lpc - 1 : lpc;
	struct tli_goframe gf[TLI_GO_MAX_LOGICAL];
	size_t n = 0;
	struct tli_error *err = tli_pclntab_frames(w->pcl, sympc, gf, TLI_GO_MAX_LOGICAL, &n);
	if (err || n == 0) {
		tli_error_destroy(err);
		const char *file = NULL;
		int32_t line = 0;
		tli_error_drop(tli_pclntab_fileline(w->pcl, &f, sympc, &file, &line));
		gf[0] = (struct tli_goframe){ .func = f.name, .file = file, .line = line, .funcid = f.funcid,
					      .inlined = false, .entry = f.entry };
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		lf[i] = (struct go_lframe){ .func = gf[i].func ? gf[i].func : "?", .file = gf[i].file,
					    .line = gf[i].line, .funcid = gf[i].funcid, .inlined = gf[i].inlined,
					    .pc = pc, .entry = f.entry + w->bias, .first_of_phys = i == 0 };
	*fout = f;
	*found = true;
	return n;
}

/* ---- frame arguments (runtime/traceback.go printArgs) ---- */

/* FUNCDATA_ArgInfo's encoding, fixed by the compiler (cmd/compile/internal/ssagen emitArgInfo; runtime
 * traceback.go printArgs, internal/abi TraceArgs* on 1.21+): the same bytes on every supported Go. */
enum { ARG_END = 0xff, ARG_START_AGG = 0xfe, ARG_END_AGG = 0xfd, ARG_DOTS = 0xfc, ARG_TOO_LARGE = 0xfb };
#define ARG_MAX_LEN ((5 * 3 + 2) * 10 + 1) /* TraceArgsMaxLen */

/* The static part of printArgs for the function f at pc (sympc: the pc-1 rule applied): the ArgInfo
 * program and the liveness bits at that pc. Leaves e->arginfo NULL when there is nothing to print
 * or it cannot be read (then "..." is printed, as for an inlined frame). */
static void arg_program(struct tli_go_rt *w, const struct tli_gofunc *f, uint64_t sympc, struct go_pcframes *e)
{
	if (!w->gl.has_arginfo)
		return;
	uint64_t a = tli_pclntab_funcdata(w->pcl, f, (uint32_t)w->gl.fd_arginfo);
	if (!a) { /* no ArgInfo: a function without arguments, printed "()" */
		if ((e->arginfo = malloc(1)))
			e->arginfo[0] = ARG_END;
		e->live_start = 0xff;
		return;
	}
	const uint8_t *p = tli_gobin_view(w->gb, a, 1);
	if (!p)
		return;
	size_t n = 0; /* the program's length: pairs (offset, size) and one-byte codes up to ARG_END */
	while (n < ARG_MAX_LEN) {
		const uint8_t *b = tli_gobin_view(w->gb, a + n, 2);
		if (!b && !(b = tli_gobin_view(w->gb, a + n, 1)))
			return;
		if (b[0] == ARG_END)
			break;
		n += (b[0] >= ARG_TOO_LARGE) ? 1 : 2;
	}
	if (n >= ARG_MAX_LEN || !(p = tli_gobin_view(w->gb, a, n + 1)))
		return; /* no end mark within the runtime's own bound: not a program */
	e->live_start = 0xff;
	uint64_t la = tli_pclntab_funcdata(w->pcl, f, (uint32_t)w->gl.fd_arglive);
	int32_t idx = -1;
	if (la) {
		const uint8_t *lp = tli_gobin_view(w->gb, la, 1);
		if (!lp)
			return;
		e->live_start = lp[0];
		if (tli_error_drop(tli_pclntab_pcdata(w->pcl, f, (uint32_t)w->gl.pcd_arglive, sympc, &idx)))
			idx = -1;
		if (idx > 0) {
			for (size_t i = 0; i < sizeof(e->livebits); i++) {
				const uint8_t *q = tli_gobin_view(w->gb, la + (uint64_t)idx + i, 1);
				e->livebits[i] = q ? q[0] : 0;
			}
		} else {
			e->live_start = 0xff; /* liveIdx <= 0: always live */
		}
	}
	if ((e->arginfo = malloc(n + 1)))
		memcpy(e->arginfo, p, n + 1);
}

static bool put(char *out, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(out + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= cap - *len)
		return false;
	*len += (size_t)k;
	return true;
}

/* printArgs at argp: the words as Go prints them ("0xc000012345, {0x1, 0x2}, 0x3?"); false when a word
 * cannot be read (the caller then shows "..."). Each word is read as 8 bytes and masked to its size,
 * like readUnaligned64 there. */
static bool format_args(struct tli_go_rt *w, const struct go_pcframes *e, uint64_t argp, char *out, size_t cap)
{
	const uint8_t *p = e->arginfo;
	size_t len = 0;
	out[0] = '\0';
	bool start = true;
	uint8_t slot = 0;
#define PUT(...) do { if (!put(out, cap, &len, __VA_ARGS__)) return false; } while (0)
	for (size_t pi = 0; p[pi] != ARG_END; pi++) {
		uint8_t o = p[pi];
		switch (o) {
		case ARG_START_AGG:
			PUT("%s{", start ? "" : ", ");
			start = true;
			continue;
		case ARG_END_AGG:
			PUT("}");
			break;
		case ARG_DOTS:
			PUT("%s...", start ? "" : ", ");
			break;
		case ARG_TOO_LARGE:
			PUT("%s_", start ? "" : ", ");
			break;
		default: {
			uint8_t sz = p[++pi];
			uint64_t x = 0;
			if (tli_error_drop(tli_target_read(w->t, argp + o, &x, 8)) &&
			    (sz > 8 || tli_error_drop(tli_target_read(w->t, argp + o, &x, sz ? sz : 1))))
				return false;
			if (sz < 8)
				x &= sz ? (~0ull >> (64 - 8 * sz)) : 0;
			bool live = o < e->live_start || (e->livebits[(slot / 8) % sizeof(e->livebits)] >> (slot % 8)) & 1;
			PUT("%s0x%llx%s", start ? "" : ", ", (unsigned long long)x, live ? "" : "?");
			if (o >= e->live_start)
				slot++;
		}
		}
		start = false;
	}
#undef PUT
	return true;
}

/* pc is never 0 here (the unwinder stops at 0, start and creation pcs are tested). */
const struct go_pcframes *tli_go_tb_symbolize(struct tli_go_rt *w, struct go_frame_cache *fc, uint64_t pc,
					      bool trap, struct tli_error **errp)
{
	uint64_t key = pc | ((uint64_t)trap << 63);
	uint64_t at = tli_u64map_get(&fc->idx, key);
	if (at)
		return &fc->v[at - 1];
	struct go_lframe *lf = calloc(TLI_GO_MAX_LOGICAL, sizeof(*lf));
	struct go_pcframes *e = lf ? tli_vec_append(fc) : NULL;
	if (e && !tli_u64map_put(&fc->idx, key, fc->n)) {
		fc->n--;
		e = NULL;
	}
	if (!e) {
		free(lf);
		*errp = &tli_enomem;
		return NULL;
	}
	struct tli_gofunc f;
	bool found;
	size_t nlf = pc_frames(w, pc, trap, lf, &f, &found);
	json_t *arr = json_array();
	for (size_t i = 0; i < nlf; i++)
		json_array_append_new(arr, frame_json(w, &lf[i]));
	*e = (struct go_pcframes){ .key = key, .frames = arr, .lf = lf, .nlf = nlf };
	uint64_t lpc = pc - w->bias;
	if (found)
		arg_program(w, &f, (!trap && lpc > f.entry) ? lpc - 1 : lpc, e);
	return e;
}

void tli_go_tb_cache_free(struct go_frame_cache *fc)
{
	for (size_t i = 0; i < fc->n; i++) {
		json_decref(fc->v[i].frames);
		free(fc->v[i].lf);
		free(fc->v[i].arginfo);
	}
	tli_vec_free(fc);
	tli_u64map_free(&fc->idx);
}

/* ---- unwinding ---- */

/*
 * What unwinding looks up at a pc: its function and the pcsp delta there. A
 * listing of 100k goroutines parked in a handful of places unwinds the same
 * few dozen pcs over and over, and each lookup is a binary search of the
 * function table plus a varint walk of the pcsp table; the pclntab does not
 * change, so the answers are kept (direct-mapped by pc, a clash just recomputes).
 */
#define PCINFO_SLOTS 4096u

struct go_pcinfo {
	uint64_t pc;            /* biased; 0 = empty slot */
	bool found;             /* tli_pclntab_find succeeded */
	bool spd_ok;            /* tli_pclntab_spdelta succeeded */
	int32_t spdelta;
	struct tli_gofunc f;
};

static const struct go_pcinfo *pcinfo(struct tli_go_rt *w, uint64_t pc)
{
	static struct go_pcinfo miss; /* when the cache cannot be allocated: computed every time */
	struct go_pcinfo *e = &miss;
	if (!w->pcinfo)
		w->pcinfo = calloc(PCINFO_SLOTS, sizeof(*w->pcinfo));
	if (w->pcinfo) {
		e = &w->pcinfo[tli_hash_u64(pc) % PCINFO_SLOTS];
		if (e->pc == pc && pc)
			return e;
	}
	*e = (struct go_pcinfo){ .pc = pc };
	e->found = !tli_error_drop(tli_pclntab_find(w->pcl, pc - w->bias, &e->f));
	if (e->found)
		e->spd_ok = !tli_error_drop(tli_pclntab_spdelta(w->pcl, &e->f, pc - w->bias, &e->spdelta));
	return e;
}

/* Where the unwinder is: the frame at (pc, sp), with the link register it carries (arm64). */
struct uw {
	uint64_t pc, sp, lr;
	bool innermost;
	bool injected; /* the frame below was an injected call (sigpanic) */
};

/* One frame up: the caller's pc and sp by the pcsp table and the architecture's frame rule
 * (core/arch.h tli_arch_go_frame), or false (*problem or *truncated set). */
static bool unwind_step(struct tli_go_rt *w, const struct gcap *g, const struct go_pcinfo *pi, struct uw *u,
			uint64_t *argp, bool *truncated, const char **problem)
{
	const struct tli_arch *a = w->t->arch;
	const struct tli_gofunc *f = &pi->f;
	int32_t spdelta = pi->spdelta;
	if (!pi->spd_ok) {
		*problem = "no stack-pointer delta for a frame (pcsp)";
		return false;
	}
	if (spdelta < 0 || (uint64_t)spdelta > (1u << 24)) {
		*problem = "implausible frame size";
		return false;
	}
	struct tli_arch_goframe fr;
	tli_arch_go_frame(a, u->sp, (uint64_t)spdelta, u->innermost, u->lr, &fr);
	if (fr.fp > g->stk_hi || (!fr.ret_in_lr && fr.ret_at + 8 > g->stk_hi)) {
		*problem = "frame runs past the top of the stack";
		return false;
	}
	*argp = fr.fp + a->go_min_frame; /* frame.argp = frame.fp + sys.MinFrameSize */
	uint64_t ret = u->lr;
	if (!fr.ret_in_lr && tli_error_drop(tli_target_read_u64(w->t, fr.ret_at, &ret))) {
		*truncated = true;
		return false;
	}
	/* a frameless innermost function on a link-register machine leaves sp where it was */
	if (fr.fp < u->sp || (fr.fp == u->sp && !(u->innermost && a->go_uses_lr))) {
		*problem = "stack pointer did not advance";
		return false;
	}
	*u = (struct uw){ .pc = ret, .sp = fr.fp };
	/* runtime/traceback.go next(): on link-register machines the signal handler saved LR on the
	 * stack before faking the call to sigpanic */
	if (a->go_uses_lr && w->gl.has_fids && f->funcid == w->gl.fid_sigpanic) {
		uint64_t x = 0, bump = (a->go_min_frame + a->go_stack_align - 1) & ~(uint64_t)(a->go_stack_align - 1);
		if (tli_error_drop(tli_target_read_u64(w->t, u->sp, &x))) {
			*truncated = true;
			return false;
		}
		u->sp += bump;
		struct tli_gofunc cf;
		int32_t d = -1;
		if (tli_error_drop(tli_pclntab_find(w->pcl, u->pc - w->bias, &cf)))
			u->pc = x;
		else if (!tli_error_drop(tli_pclntab_spdelta(w->pcl, &cf, u->pc - w->bias, &d)) && d == 0)
			u->lr = x;
		u->innermost = false;
	}
	return true;
}

/* Physical frames of one goroutine by pcsp unwinding (what the runtime does). */
static size_t unwind(struct tli_go_rt *w, const struct gcap *g, struct go_unwind_scratch *sc, bool *truncated,
		     const char **problem)
{
	size_t n = 0;
	struct uw u = { .pc = g->pc, .sp = g->sp, .lr = g->lr, .innermost = true };
	*truncated = false;
	*problem = NULL;
	while (n < TLI_GO_MAX_FRAMES && u.pc != 0) {
		sc->argp[n] = 0;
		sc->pc[n++] = u.pc;
		const struct go_pcinfo *pi = pcinfo(w, u.pc);
		const struct tli_gofunc *f = &pi->f;
		if (!pi->found) {
			if (n > 1)
				*problem = "unwinding reached a pc outside Go code";
			break;
		}
		if (w->gl.has_fids && f->funcid == w->gl.fid_goexit)
			break;
		if (!strcmp(f->name, "runtime.goexit") || (f->flag & FUNCFLAG_TOPFRAME))
			break;
		if (n > 1 && (f->flag & FUNCFLAG_SPWRITE))
			break; /* the runtime cannot unwind through these either */
		if (!unwind_step(w, g, pi, &u, &sc->argp[n - 1], truncated, problem))
			break;
	}
	if (n == TLI_GO_MAX_FRAMES)
		*truncated = true;
	return n;
}

/* ---- a goroutine's stack, as Go shows it ---- */

/* The frame to show: the shared object, or (when its arguments can be read) a copy carrying "args".
 * Inlined frames print "..." in Go, so they stay shared. Returns a new reference. */
static json_t *with_args(struct tli_go_rt *w, const struct go_pcframes *ce, const struct go_lframe *lf,
			 uint64_t argp, json_t *fo)
{
	char buf[1024];
	if (lf->inlined || !ce->arginfo || !argp || !format_args(w, ce, argp, buf, sizeof(buf)))
		return json_incref(fo);
	json_t *c = json_copy(fo);
	if (!c)
		return json_incref(fo);
	json_object_set_new_nocheck(c, "args", json_string(buf));
	return c;
}

struct tli_error *tli_go_tb_stack(struct tli_go_rt *w, struct go_frame_cache *fc, const struct gcap *g,
				  bool system, struct go_unwind_scratch *sc, struct go_stack *ret)
{
	*ret = (struct go_stack){ .frames = sc->light ? NULL : json_array(), .problem = g->problem };
	if (ret->problem)
		return NULL;
	struct tli_error *err = NULL;
	if (!sc->preset)
		sc->n = unwind(w, g, sc, &sc->truncated, &sc->problem);
	size_t np = sc->n;
	ret->truncated = sc->truncated;
	ret->problem = sc->problem;
	int64_t last_fid = w->gl.fid_normal;
	size_t nprint = 0;
	/* without stacks shown, the caller keeps only the current and the user frame: the
	 * frames below both are not symbolized (100k goroutines: a third of this walk) */
	bool all = !sc->light && (w->opts->stacks || w->opts->only_id > 0);
	for (size_t k = 0; k < np && (all || !ret->current || !ret->user); k++) {
		const struct go_pcframes *ce = tli_go_tb_symbolize(w, fc, sc->pc[k], g->trap && k == 0, &err);
		if (!ce) {
			json_decref(ret->frames);
			ret->frames = NULL;
			return err;
		}
		for (size_t j = 0; j < ce->nlf && (all || !ret->current || !ret->user); j++) {
			const struct go_lframe *lf = &ce->lf[j];
			json_t *fo = json_array_get(ce->frames, j);
			/* system goroutines: every frame is runtime-internal,
			 * so hiding them would leave nothing to see */
			bool show = w->opts->profile_frames
					    ? !(w->gl.has_fids && lf->funcid == w->gl.fid_wrapper &&
						elide_wrapper_calling(&w->gl, last_fid)) &&
						      strcmp(lf->func, "runtime.goexit")
					    : w->opts->all_frames || system ||
						      tli_go_tb_show_frame(&w->gl, lf->func, lf->funcid, nprint == 0, last_fid);
			last_fid = lf->funcid;
			if (!ret->user && strcmp(lf->func, "?") && !is_std_frame(w, lf->func, lf->file))
				ret->user = fo;
			if (!show)
				continue;
			nprint++;
			if (sc->light) {
				if (!ret->current)
					ret->current = fo;
				continue;
			}
			/* arguments for every shown frame when stacks are shown, else for the current one */
			json_t *shown = (w->opts->stacks || w->opts->only_id > 0 || !ret->current)
						? with_args(w, ce, lf, sc->argp[k], fo)
						: json_incref(fo);
			if (!ret->current)
				ret->current = shown;
			json_array_append_new(ret->frames, shown);
		}
	}
	return NULL;
}
