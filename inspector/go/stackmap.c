/* SPDX-License-Identifier: MIT */
/*
 * Frames and their pointer maps as the garbage collector reads them (see
 * stackmap.h): the unwinder of runtime/traceback.go for a stopped goroutine on
 * amd64 (no link register, frame pointers on), getStackMap of runtime/stkframe.go,
 * stack object records of runtime/stack.go. Maps are read in place from the
 * executable (funcdata and rodata are file-backed).
 */
#include "go/stackmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "go/gfacts.h"
#include "go/gobin.h"

#define MAX_FRAMES 100000u        /* a goroutine stack of 1 GiB has fewer frames */
#define MAX_MAP_WORDS (1u << 24)  /* pointer words a frame may describe */

struct tli_go_stackmaps {
	const struct tli_pclntab *pcl;
	const struct tli_gobin *gb;
	const struct tli_arch *arch;               /* the target's frame rule */
	uint64_t bias, rodata;
	int64_t pcdata_stackmap, fd_locals, fd_args, fd_objs;
	int64_t fid_async, fid_debugcall, fid_sigpanic, fid_goexit;
	bool has_async, has_debugcall, has_sigpanic, has_goexit;
	int64_t flag_top, flag_spwrite, args_unknown;
	uint32_t f_args, f_deferreturn;
	uint32_t sm_n, sm_nbit, sm_bytedata;       /* runtime.stackmap */
	uint32_t so_size, so_off, so_osize, so_ptr, so_gcdataoff; /* runtime.stackObjectRecord */
	bool so_signed_ptr;                        /* _ptrdata (< go1.24): negative = GC program */
};

static struct tli_error *resolve_consts(struct tli_layout *l, struct tli_go_stackmaps *sm)
{
#define NAMES(a, b) ((const char *const[]){ a, b, NULL })
	struct tli_error *err = NULL;
	const struct {
		const char *const *names;
		int64_t *v;
	} need[] = {
		{ NAMES("internal/abi.PCDATA_StackMapIndex", "runtime._PCDATA_StackMapIndex"), &sm->pcdata_stackmap },
		{ NAMES("internal/abi.FUNCDATA_LocalsPointerMaps", "runtime._FUNCDATA_LocalsPointerMaps"), &sm->fd_locals },
		{ NAMES("internal/abi.FUNCDATA_ArgsPointerMaps", "runtime._FUNCDATA_ArgsPointerMaps"), &sm->fd_args },
		{ NAMES("internal/abi.FUNCDATA_StackObjects", "runtime._FUNCDATA_StackObjects"), &sm->fd_objs },
		{ NAMES("internal/abi.FuncFlagTopFrame", "runtime.funcFlag_TOPFRAME"), &sm->flag_top },
		{ NAMES("internal/abi.FuncFlagSPWrite", "runtime.funcFlag_SPWRITE"), &sm->flag_spwrite },
	};
	for (size_t i = 0; !err && i < sizeof(need) / sizeof(need[0]); i++)
		err = tli_go_constant(l, need[i].names, need[i].v, false, NULL);
	if (err)
		return err;
	tli_go_constant(l, NAMES("internal/abi.FuncID_asyncPreempt", "runtime.funcID_asyncPreempt"), &sm->fid_async,
			true, &sm->has_async);
	tli_go_constant(l, NAMES("internal/abi.FuncID_debugCallV2", "runtime.funcID_debugCallV2"), &sm->fid_debugcall,
			true, &sm->has_debugcall);
	tli_go_constant(l, NAMES("internal/abi.FuncID_sigpanic", "runtime.funcID_sigpanic"), &sm->fid_sigpanic, true,
			&sm->has_sigpanic);
	tli_go_constant(l, NAMES("internal/abi.FuncID_goexit", "runtime.funcID_goexit"), &sm->fid_goexit, true,
			&sm->has_goexit);
	bool has_unknown;
	tli_go_constant(l, NAMES("internal/abi.ArgsSizeUnknown", "runtime._ArgsSizeUnknown"), &sm->args_unknown, true,
			&has_unknown);
	if (!has_unknown)
		sm->args_unknown = INT32_MIN; /* the only negative _func.args value the linker writes */
#undef NAMES
	return NULL;
}

static struct tli_error *resolve_records(struct tli_layout *l, struct tli_go_stackmaps *sm)
{
	uint32_t ptr_old = 0, ptr_new = 0;
	bool has_old = false, has_new = false;
	const struct tli_field_spec specs[] = {
		{ "runtime._func", "args", &sm->f_args, NULL, false, NULL },
		{ "runtime._func", "deferreturn", &sm->f_deferreturn, NULL, false, NULL },
		{ "runtime.stackmap", "n", &sm->sm_n, NULL, false, NULL },
		{ "runtime.stackmap", "nbit", &sm->sm_nbit, NULL, false, NULL },
		{ "runtime.stackmap", "bytedata", &sm->sm_bytedata, NULL, false, NULL },
		{ "runtime.stackObjectRecord", "off", &sm->so_off, NULL, false, NULL },
		{ "runtime.stackObjectRecord", "size", &sm->so_osize, NULL, false, NULL },
		{ "runtime.stackObjectRecord", "gcdataoff", &sm->so_gcdataoff, NULL, false, NULL },
		{ "runtime.stackObjectRecord", "ptrBytes", &ptr_new, NULL, true, &has_new },
		{ "runtime.stackObjectRecord", "_ptrdata", &ptr_old, NULL, true, &has_old },
	};
	struct tli_error *err = tli_layout_resolve(l, specs, sizeof(specs) / sizeof(specs[0]));
	if (err)
		return err;
	if (!has_new && !has_old)
		return tli_error_create(TLI_E_NO_INFO, "runtime.stackObjectRecord has neither ptrBytes nor _ptrdata");
	sm->so_ptr = has_new ? ptr_new : ptr_old;
	sm->so_signed_ptr = !has_new;
	uint64_t size;
	if ((err = tli_layout_type_size(l, "runtime.stackObjectRecord", &size)))
		return err;
	if (size < 16 || size > 64)
		return tli_error_create(TLI_E_CORRUPT, "implausible sizeof(runtime.stackObjectRecord) = %llu",
					(unsigned long long)size);
	sm->so_size = (uint32_t)size;
	return NULL;
}

struct tli_error *tli_go_stackmaps_new(struct tli_session *s, struct tli_go_rt *rt, struct tli_go_stackmaps **ret)
{
	*ret = NULL;
	struct tli_gobin *gb = NULL;
	struct tli_error *err = tli_session_gobin(s, &gb);
	if (err)
		return err;
	const struct tli_gomoduledata *md = tli_gobin_moduledata(gb);
	if (!md || !md->gofunc || !md->rodata)
		return tli_error_create(TLI_E_NO_INFO, "no moduledata (gofunc, rodata): funcdata unreadable");
	struct tli_go_stackmaps *sm = calloc(1, sizeof(*sm));
	if (!sm)
		return &tli_enomem;
	*sm = (struct tli_go_stackmaps){ .pcl = tli_go_rt_pclntab(rt), .gb = gb, .bias = tli_go_rt_bias(rt),
					 .rodata = md->rodata, .arch = s->target->arch };
	struct tli_layout *l = tli_go_rt_layout(rt);
	if (!sm->pcl)
		err = tli_error_create(TLI_E_NO_INFO, "no pclntab");
	if (!err)
		err = resolve_consts(l, sm);
	if (!err)
		err = resolve_records(l, sm);
	if (err) {
		free(sm);
		return err;
	}
	*ret = sm;
	return NULL;
}

void tli_go_stackmaps_destroy(struct tli_go_stackmaps *sm)
{
	free(sm);
}

/* ---- frames ---- */

static bool is_fid(bool has, int64_t fid, const struct tli_gofunc *f)
{
	return has && f->funcid == fid;
}

/* resolveInternal: fp, lr, varp, argp, continpc of the frame at (pc, sp), by the architecture's frame rule
 * (a parked goroutine's gobuf.lr is 0: mcall clears it, so the innermost LR comes from the stack too) */
static bool resolve(struct tli_go_sunwind *u)
{
	const struct tli_go_stackmaps *sm = u->sm;
	struct tli_go_sframe *fr = &u->frame;
	if (tli_error_drop(tli_pclntab_find(sm->pcl, fr->pc - sm->bias, &fr->fn))) {
		u->problem = "a frame's pc is outside Go code";
		return false;
	}
	int32_t spdelta;
	if (tli_error_drop(tli_pclntab_spdelta(sm->pcl, &fr->fn, fr->pc - sm->bias, &spdelta)) || spdelta < 0 ||
	    spdelta > (1 << 24)) {
		u->problem = "no usable stack-pointer delta (pcsp)";
		return false;
	}
	struct tli_arch_goframe af;
	tli_arch_go_frame(sm->arch, fr->sp, (uint64_t)spdelta, fr->first, 0, &af);
	fr->fp = af.fp;
	if (fr->fp > u->stk_hi) {
		u->problem = "a frame runs past the top of the stack";
		return false;
	}
	fr->lr = 0;
	if (fr->fn.flag & sm->flag_top) {
		/* the outermost frame: the walk ends after it */
	} else if ((fr->fn.flag & sm->flag_spwrite) && !fr->first) {
		u->problem = "an SPWRITE function above the innermost frame (the runtime would throw)";
		return false;
	} else if (!u->read(u->ctx, af.ret_at, &fr->lr)) {
		u->problem = "a return address is outside the captured stack";
		return false;
	}
	fr->varp = af.varp;
	if (fr->varp > fr->sp)
		fr->varp -= 8; /* the saved frame pointer (amd64 and arm64) */
	fr->argp = fr->fp + sm->arch->go_min_frame;
	fr->continpc = fr->pc;
	if (u->callee_fid >= 0 && sm->has_sigpanic && u->callee_fid == sm->fid_sigpanic) {
		/* stopped by a trap: continue at a deferreturn call, or nowhere */
		bool ok;
		uint32_t dr = tli_pclntab_func_u32(sm->pcl, &fr->fn, sm->f_deferreturn, &ok);
		fr->continpc = ok && dr ? fr->fn.entry + sm->bias + dr + 1 : 0;
	}
	fr->conservative = u->conservative_next || is_fid(sm->has_async, sm->fid_async, &fr->fn) ||
			   is_fid(sm->has_debugcall, sm->fid_debugcall, &fr->fn);
	return true;
}

void tli_go_sunwind_init(struct tli_go_sunwind *u, const struct tli_go_stackmaps *sm, uint64_t pc, uint64_t sp,
			 uint64_t stk_hi, tli_go_stack_read_fn read, const void *ctx)
{
	*u = (struct tli_go_sunwind){ .sm = sm, .read = read, .ctx = ctx, .stk_hi = stk_hi, .callee_fid = -1 };
	u->frame = (struct tli_go_sframe){ .pc = pc, .sp = sp, .first = true };
	u->valid = pc != 0 && resolve(u);
	u->n = u->valid;
}

void tli_go_sunwind_next(struct tli_go_sunwind *u)
{
	const struct tli_go_stackmaps *sm = u->sm;
	struct tli_go_sframe *fr = &u->frame;
	if (!u->valid)
		return;
	bool injected = is_fid(sm->has_async, sm->fid_async, &fr->fn) ||
			is_fid(sm->has_debugcall, sm->fid_debugcall, &fr->fn);
	if (fr->lr == 0 || is_fid(sm->has_goexit, sm->fid_goexit, &fr->fn) || ++u->n > MAX_FRAMES) {
		if (u->n > MAX_FRAMES)
			u->problem = "too many frames";
		u->valid = false;
		return;
	}
	/* scanframeworker: the parent of an asyncPreempt/debugCall frame is scanned conservatively */
	u->conservative_next = injected;
	u->callee_fid = fr->fn.funcid;
	*fr = (struct tli_go_sframe){ .pc = fr->lr, .sp = fr->fp };
	u->valid = resolve(u);
}

/* ---- maps ---- */

/* file bytes at a link-time address */
static const uint8_t *view(const struct tli_go_stackmaps *sm, uint64_t addr, uint64_t len)
{
	return len > (1u << 26) ? NULL : tli_gobin_view(sm->gb, addr, (size_t)len);
}

/* stackmapdata(funcdata(f, idx), k): *nbit bits; false if the map is missing or k is out of range */
static bool stackmap_at(const struct tli_go_stackmaps *sm, const struct tli_gofunc *fn, int64_t idx, int32_t k,
			uint32_t *nbit, const uint8_t **bits)
{
	uint64_t a = tli_pclntab_funcdata(sm->pcl, fn, (uint32_t)idx);
	const uint8_t *h = a ? view(sm, a, sm->sm_bytedata) : NULL;
	if (!h)
		return false;
	int32_t n = (int32_t)(uint32_t)tli_rdn(h + sm->sm_n, 4), nb = (int32_t)(uint32_t)tli_rdn(h + sm->sm_nbit, 4);
	if (n <= 0 || nb < 0 || (uint32_t)nb > MAX_MAP_WORDS)
		return false;
	*nbit = (uint32_t)nb;
	*bits = NULL;
	if (nb == 0)
		return true;
	if (k < 0 || k >= n)
		return false;
	uint64_t per = ((uint64_t)nb + 7) / 8;
	*bits = view(sm, a + sm->sm_bytedata + per * (uint64_t)k, per);
	return *bits != NULL;
}

bool tli_go_stackmaps_frame(const struct tli_go_stackmaps *sm, const struct tli_go_sframe *f, struct tli_go_fmaps *m,
			    const char **why)
{
	*m = (struct tli_go_fmaps){ 0 };
	bool ok;
	int32_t args = (int32_t)tli_pclntab_func_u32(sm->pcl, &f->fn, sm->f_args, &ok);
	if (!ok || args == (int32_t)sm->args_unknown || args < 0) {
		*why = "argument size unknown (reflect frame)";
		return false;
	}
	m->argbytes = (uint64_t)args;
	if (f->continpc == 0)
		return true; /* a dead frame: nothing live */
	uint64_t target = f->continpc - sm->bias;
	int32_t idx = -1;
	if (target != f->fn.entry) {
		target--;
		if (tli_error_drop(tli_pclntab_pcdata(sm->pcl, &f->fn, (uint32_t)sm->pcdata_stackmap, target, &idx))) {
			*why = "unreadable stack map index (pcdata)";
			return false;
		}
	}
	if (idx == -1)
		idx = 0;
	if (f->varp > f->sp) {
		uint32_t nb;
		if (!stackmap_at(sm, &f->fn, sm->fd_locals, idx, &nb, &m->locals)) {
			*why = "missing or short locals pointer map";
			return false;
		}
		m->nlocals = nb;
	}
	if (args >= 8) {
		uint32_t nb;
		if (!stackmap_at(sm, &f->fn, sm->fd_args, idx, &nb, &m->args)) {
			*why = "missing or short arguments pointer map";
			return false;
		}
		m->nargs = nb;
	}
	uint64_t oa = tli_pclntab_funcdata(sm->pcl, &f->fn, (uint32_t)sm->fd_objs);
	const uint8_t *oh = oa ? view(sm, oa, 8) : NULL;
	if (oa && !oh) {
		*why = "unreadable stack object records";
		return false;
	}
	if (oh) {
		uint64_t n = tli_rd64(oh);
		m->objs = n && n < (1u << 20) ? view(sm, oa + 8, n * sm->so_size) : NULL;
		if (n && !m->objs) {
			*why = "unreadable stack object records";
			return false;
		}
		m->nobjs = n;
	}
	return true;
}

bool tli_go_stackmaps_obj(const struct tli_go_stackmaps *sm, const struct tli_go_sframe *f,
			  const struct tli_go_fmaps *m, uint64_t k, struct tli_go_stkobj *o)
{
	if (k >= m->nobjs || f->varp == 0)
		return false;
	const uint8_t *r = m->objs + k * sm->so_size;
	int32_t off = (int32_t)(uint32_t)tli_rdn(r + sm->so_off, 4), size = (int32_t)(uint32_t)tli_rdn(r + sm->so_osize, 4);
	int32_t ptr = (int32_t)(uint32_t)tli_rdn(r + sm->so_ptr, 4);
	uint32_t gcoff = (uint32_t)tli_rdn(r + sm->so_gcdataoff, 4);
	uint64_t base = off >= 0 ? f->argp : f->varp;
	uint64_t addr = base + (uint64_t)(int64_t)off;
	if (size <= 0 || addr < f->sp)
		return false; /* not allocated in the frame yet */
	*o = (struct tli_go_stkobj){ .addr = addr, .size = (uint64_t)size };
	bool prog = sm->so_signed_ptr && ptr < 0; /* a GC program: scanned word by word */
	o->ptrbytes = (uint64_t)(ptr < 0 ? -(int64_t)ptr : ptr);
	if (o->ptrbytes > o->size)
		o->ptrbytes = o->size;
	if (!prog && o->ptrbytes)
		o->mask = view(sm, sm->rodata + gcoff, (o->ptrbytes / 8 + 7) / 8);
	return true;
}
