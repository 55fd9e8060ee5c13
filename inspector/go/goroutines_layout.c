/* SPDX-License-Identifier: MIT */
/*
 * The goroutine walker's layout: every runtime.g member, constant and global it
 * reads, resolved by name once per run (see goroutines_internal.h).
 */
#include "goroutines_internal.h"

static struct tli_error *resolve_members(struct tli_layout *l, struct go_layout *gl)
{
	const struct tli_field_spec specs[] = {
		{ "runtime.g", "stack.lo", &gl->g_stack_lo, NULL, false, NULL },
		{ "runtime.g", "stack.hi", &gl->g_stack_hi, NULL, false, NULL },
		{ "runtime.g", "sched.sp", &gl->g_sched_sp, NULL, false, NULL },
		{ "runtime.g", "sched.pc", &gl->g_sched_pc, NULL, false, NULL },
		{ "runtime.g", "sched.bp", &gl->g_sched_bp, NULL, false, NULL },
		{ "runtime.g", "sched.lr", &gl->g_sched_lr, NULL, true, &gl->has_sched_lr },
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
		{ "runtime.g", "gcscandone", &gl->g_gcscandone, NULL, true, &gl->has_gcscandone },
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
	return NULL;
}

/* funcIDs of Go's traceback rules: runtime.funcID_x (<= 1.20) or internal/abi.FuncIDx (1.21+). */
static void resolve_funcids(struct tli_layout *l, struct go_layout *gl)
{
	static const char *const nn[] = { "runtime.funcID_normal", "internal/abi.FuncIDNormal", NULL };
	static const char *const nw[] = { "runtime.funcID_wrapper", "internal/abi.FuncIDWrapper", NULL };
	static const char *const np[] = { "runtime.funcID_gopanic", "internal/abi.FuncID_gopanic", NULL };
	static const char *const ns[] = { "runtime.funcID_sigpanic", "internal/abi.FuncID_sigpanic", NULL };
	static const char *const nr[] = { "runtime.funcID_panicwrap", "internal/abi.FuncID_panicwrap", NULL };
	static const char *const ng[] = { "runtime.funcID_goexit", "internal/abi.FuncID_goexit", NULL };
	bool a = false, b = false, c = false, d = false, e = false, f = false;
	tli_go_constant(l, nn, &gl->fid_normal, true, &a);
	tli_go_constant(l, nw, &gl->fid_wrapper, true, &b);
	tli_go_constant(l, np, &gl->fid_gopanic, true, &c);
	tli_go_constant(l, ns, &gl->fid_sigpanic, true, &d);
	tli_go_constant(l, nr, &gl->fid_panicwrap, true, &e);
	tli_go_constant(l, ng, &gl->fid_goexit, true, &f);
	gl->has_fids = a && b && c && d && e && f;
	static const char *const nf[] = { "internal/abi.FuncID_runFinalizers", NULL };
	static const char *const nc[] = { "internal/abi.FuncID_runCleanups", NULL };
	tli_go_constant(l, nf, &gl->fid_runfin, true, &gl->has_fid_runfin);
	tli_go_constant(l, nc, &gl->fid_runclean, true, &gl->has_fid_runclean);
	static const char *const nai[] = { "internal/abi.FUNCDATA_ArgInfo", "runtime._FUNCDATA_ArgInfo", NULL };
	static const char *const nal[] = { "internal/abi.FUNCDATA_ArgLiveInfo", "runtime._FUNCDATA_ArgLiveInfo",
					   NULL };
	static const char *const npl[] = { "internal/abi.PCDATA_ArgLiveIndex", "runtime._PCDATA_ArgLiveIndex",
					   NULL };
	bool x = false, y = false, z = false;
	tli_go_constant(l, nai, &gl->fd_arginfo, true, &x);
	tli_go_constant(l, nal, &gl->fd_arglive, true, &y);
	tli_go_constant(l, npl, &gl->pcd_arglive, true, &z);
	gl->has_arginfo = x && y && z && gl->fd_arginfo >= 0 && gl->fd_arglive >= 0 && gl->pcd_arglive >= 0;
}

/* Is the finalizer goroutine running a finalizer (then it is a user goroutine)? */
static void resolve_fing(struct tli_layout *l, struct go_layout *gl)
{
	struct tli_global g;
	struct tli_error *err = tli_layout_global(l, "runtime.fingStatus", &g);
	if (!err) {
		static const char *const nr[] = { "runtime.fingRunningFinalizer", NULL };
		if (!tli_go_constant(l, nr, &gl->fing_running_finalizer, true, &gl->has_fing_status) &&
		    gl->has_fing_status)
			gl->fing_status = g.addr;
		return;
	}
	tli_error_destroy(err);
	if (!tli_error_drop(tli_layout_global(l, "runtime.fingRunning", &g))) {
		gl->fing_status = g.addr;
		gl->has_fing_status = gl->fing_is_bool = true;
	}
}

static struct tli_error *resolve_globals(struct tli_layout *l, struct go_layout *gl)
{
	struct tli_global g;
	struct tli_error *err;
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
	resolve_fing(l, gl);
	err = tli_layout_global(l, "runtime.memstats", &g);
	if (!err && gl->ms_last_gc_unix != UINT32_MAX && gl->ms_last_gc_nanotime != UINT32_MAX) {
		gl->memstats = g.addr;
		gl->has_memstats = true;
	}
	tli_error_destroy(err);
	return NULL;
}

struct tli_error *tli_go_glayout_resolve(struct tli_layout *l, struct go_layout *gl)
{
	struct tli_error *err = resolve_members(l, gl);
	if (!err)
		err = tli_go_gstatus_resolve(l, &gl->st);
	if (err)
		return err;
	resolve_funcids(l, gl);
	return resolve_globals(l, gl);
}
