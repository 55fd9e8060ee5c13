/* SPDX-License-Identifier: MIT */
/*
 * Opening a session: choose the backend (live, core, gdb's page files), find the
 * executable and its load bias, and build its layout chain: DWARF (or the layout
 * cache) -> ELF symbols -> runtime maps with the stripped-binary global finder.
 */
#include "open.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/elfcore.h"
#include "backend/live.h"
#include "backend/pages.h"
#include "core/session.h"
#include "core/sysroot.h"
#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"
#include "go/gobin.h"
#include "runtime_maps/maps.h"

/* e_entry of the executable file, for the PIE bias (AT_ENTRY - e_entry). */
static struct tli_error *exe_entry(const char *path, uint64_t *entry, bool *is_dyn)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tli_error_errno(TLI_E_NO_TARGET, errno, "cannot open executable %s", path);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	struct tli_error *err = NULL;
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s is not an ELF file", path);
	else if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s is not an executable (ELF type %u)", path,
				       (unsigned)eh.e_type);
	else {
		*entry = eh.e_entry;
		*is_dyn = eh.e_type == ET_DYN;
	}
	if (e)
		elf_end(e);
	close(fd);
	return err;
}

/* The executable's load bias from the target's AT_ENTRY (PIE), or a warning if they disagree. */
static struct tli_error *exe_bias(struct tli_session *s, const char *exe, uint64_t at_entry)
{
	uint64_t entry = 0;
	bool is_dyn = false;
	struct tli_error *err = exe_entry(exe, &entry, &is_dyn);
	if (err)
		return err;
	if (is_dyn && at_entry)
		s->exe_bias = at_entry - entry;
	else if (!is_dyn && at_entry && at_entry != entry)
		tli_session_warn(s, "AT_ENTRY 0x%llx of the target differs from the entry point 0x%llx "
				 "of %s: is it the right executable?",
				 (unsigned long long)at_entry, (unsigned long long)entry, exe);
	tli_layout_set_bias(s->layout, s->exe_bias);
	return NULL;
}

static void verbose_debug(const struct tli_session *s, const char *what, const struct tli_dwarf *dw)
{
	char buf[3 * PATH_MAX];
	fprintf(stderr, "tlinspect: %s %s\n", what,
		tli_dwarf_describe(dw, s->target ? s->target->root : NULL, s->opts.sysroot, buf, sizeof(buf)));
}

/* First of the chain: DWARF (opened lazily when a layout cache answers most questions). */
static struct tli_error *add_dwarf(struct tli_session *s, const char *exe, bool cached)
{
	struct tli_dwarf_opts dopts = { .no_dwarf = s->opts.no_dwarf };
	if (cached)
		return tli_dwarf_add_lazy_to_layout(exe, &dopts, s->layout);
	/* a target in a container (or its core with --sysroot): debug files inside its root
	 * (or layers) first, then the host's (each taken only if its build-id is the executable's) */
	const char *dirs[TLI_SYSROOT_MAX_LAYERS + 1];
	char *dbuf = NULL;
	const char *root = s->target ? s->target->root : NULL;
	if (root || (s->opts.sysroot && *s->opts.sysroot)) {
		dopts.n_debug_dirs = tli_debug_dirs_for(root, s->opts.sysroot, dirs, TLI_SYSROOT_MAX_LAYERS + 1, &dbuf);
		dopts.debug_dirs = dirs;
	}
	struct tli_dwarf *dw = NULL;
	struct tli_error *err = tli_dwarf_open(exe, &dopts, &dw);
	free(dbuf); /* the handle copied what it needs */
	if (!err && s->opts.verbose)
		verbose_debug(s, "executable", dw);
	if (tli_error_catch(&err, TLI_E_NO_INFO))
		return NULL; /* no DWARF: symbols and runtime maps answer */
	if (err)
		return err;
	return tli_layout_add_provider(s->layout, &tli_dwarf_provider_ops, dw);
}

/* Then the ELF symbol table (globals by name; absent in stripped binaries). */
static struct tli_error *add_elfsym(struct tli_session *s, const char *exe)
{
	struct tli_elfsym *sym = NULL;
	struct tli_error *err = tli_elfsym_open(exe, &sym);
	if (tli_error_catch(&err, TLI_E_NO_INFO))
		return NULL;
	if (err)
		return err;
	return tli_layout_add_provider(s->layout, &tli_elfsym_provider_ops, sym);
}

/* The executable's layout chain: DWARF -> ELF symbols -> runtime maps, plus the cache's answers. */
static struct tli_error *setup_layout(struct tli_session *s, const char *exe, uint64_t at_entry)
{
	struct tli_error *err = tli_layout_create(&s->layout);
	if (err)
		return err;
	if (!exe)
		return tli_error_create(TLI_E_NO_INFO, "cannot tell which executable the target runs; "
					"pass --exe");
	if ((err = exe_bias(s, exe, at_entry)))
		return err;
	/* layout cache: answers of an earlier run on the same binary; DWARF then opens lazily */
	size_t clen = 0;
	char *cached = !s->opts.no_dwarf && tli_session_cache_wanted() ? tli_session_cache_read(s, exe, &clen) : NULL;
	s->cache_on = s->cache_path != NULL;
	err = add_dwarf(s, exe, cached != NULL);
	if (!err)
		err = add_elfsym(s, exe);
	/* last: runtime-maps (per-version tables) and the stripped-binary global finder */
	if (!err)
		err = tli_session_add_maps(s, exe);
	if (!err && cached) {
		/* a stale or damaged cache is simply not used */
		tli_error_drop(tli_layout_load_answers(s->layout, s->cache_stamp, cached, clen));
		s->cache_loaded = tli_layout_answer_count(s->layout);
	}
	free(cached);
	return err;
}

struct tli_error *tli_session_open(const struct tli_session_opts *o, struct tli_session **ret)
{
	struct tli_session *s = calloc(1, sizeof(*s));
	if (!s)
		return &tli_enomem;
	clock_gettime(CLOCK_MONOTONIC, &s->t_open);
	s->opts = *o;
	/* how walkers get a library's layout chain (glibc: libc's) */
	s->lib_layout = &tli_maps_lib_layout_finder;
	struct tli_error *err;
	if (o->pages) {
		/* a live process gdb holds, read through page files gdb dumps */
		struct tli_pages_opts po = { .dir = o->pages, .process = o->pages_process, .pid = o->pid,
					     .exe = o->exe };
		err = tli_pages_open(&po, &s->target);
		if (!err)
			err = setup_layout(s, s->target->exe_path, s->target->at_entry);
		if (!err) {
			struct tli_gobin *gb;
			tli_error_drop(tli_session_gobin(s, &gb));
		}
	} else if (o->pid > 0) {
		/* Opened with a deferred stop: everything that needs only files (DWARF
		 * index, symbols, pclntab) happens before the pause; the first memory
		 * access stops the process. */
		struct tli_live_opts lo = { .no_stop = o->no_stop, .timeout_ms = o->timeout_ms,
					    .defer_stop = true, .regs = o->regs, .nregs = o->nregs,
					    .snapshot_fork = o->snapshot_fork };
		err = tli_live_open(o->pid, &lo, &s->target);
		if (!err && o->exe)
			err = tli_live_check_exe(s->target, o->exe);
		if (!err && o->exe) {
			free(s->target->exe_path);
			free(s->target->exe_name);
			s->target->exe_name = NULL;
			s->target->exe_path = strdup(o->exe);
		}
		if (!err)
			err = setup_layout(s, s->target->exe_path, s->target->at_entry);
		if (err && s->target && err->code != TLI_E_NO_TARGET && tli_live_process_gone(o->pid, 50)) {
			/* it exited while its files were read: that, not the step that missed them */
			tli_error_destroy(err);
			err = tli_error_create(TLI_E_NO_TARGET, "no process with pid %d (it exited)", o->pid);
		}
		if (!err) {
			struct tli_gobin *gb;
			tli_error_drop(tli_session_gobin(s, &gb)); /* not Go: commands decide */
		}
	} else if (o->core) {
		struct tli_core_opts co = { .exe = o->exe, .sysroot = o->sysroot,
					    .verbose = o->verbose ? stderr : NULL };
		err = tli_core_open(o->core, &co, &s->target);
		if (!err)
			err = setup_layout(s, s->target->exe_path, s->target->at_entry);
	} else {
		err = tli_error_create(TLI_E_USAGE, "no target: give --pid PID or --core FILE");
	}
	if (err) {
		tli_session_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

void tli_session_destroy(struct tli_session *s)
{
	if (!s)
		return;
	tli_target_destroy(s->target);
	tli_session_cache_save(s);
	tli_layout_destroy(s->layout);
	if (s->gobin)
		tli_gobin_destroy(s->gobin);
	tli_warnings_free(&s->warnings);
	free(s->exe_path_pre);
	free(s->cache_path);
	free(s->cache_stamp);
	free(s);
}

