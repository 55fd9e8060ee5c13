/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/elfcore.h"
#include "backend/live.h"
#include "backend/pages.h"
#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"
#include "go/gobin.h"

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

double tli_session_elapsed(const struct tli_session *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(&s->t_open, &now);
}

void tli_session_warn(struct tli_session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* de-duplicate: the same warning from 100k goroutines is one warning */
	size_t i;
	json_t *v;
	json_array_foreach(s->warnings, i, v) {
		if (!strcmp(json_string_value(v), buf))
			return;
	}
	if (json_array_size(s->warnings) < 200)
		json_array_append_new(s->warnings, json_string(buf));
}

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

static struct tli_error *setup_layout(struct tli_session *s, const char *exe, uint64_t at_entry)
{
	struct tli_error *err = tli_layout_create(&s->layout);
	if (err)
		return err;
	if (!exe)
		return tli_error_create(TLI_E_NO_INFO, "cannot tell which executable the target runs; "
					"pass --exe");
	uint64_t entry = 0;
	bool is_dyn = false;
	err = exe_entry(exe, &entry, &is_dyn);
	if (err)
		return err;
	if (is_dyn && at_entry)
		s->exe_bias = at_entry - entry;
	else if (!is_dyn && at_entry && at_entry != entry)
		tli_session_warn(s, "AT_ENTRY 0x%llx of the target differs from the entry point 0x%llx "
				 "of %s: is it the right executable?",
				 (unsigned long long)at_entry, (unsigned long long)entry, exe);
	tli_layout_set_bias(s->layout, s->exe_bias);

	struct tli_dwarf_opts dopts = { .no_dwarf = s->opts.no_dwarf };
	struct tli_dwarf *dw = NULL;
	/* layout cache: answers of an earlier run on the same binary; DWARF then opens lazily */
	size_t clen = 0;
	char *cached = !s->opts.no_dwarf && tli_session_cache_wanted() ? tli_session_cache_read(s, exe, &clen) : NULL;
	s->cache_on = s->cache_path != NULL;
	if (cached)
		err = tli_dwarf_add_lazy_to_layout(exe, &dopts, s->layout);
	else
		err = tli_dwarf_open(exe, &dopts, &dw);
	if (cached) {
		if (err) {
			free(cached);
			return err;
		}
	} else if (err) {
		if (err->code != TLI_E_NO_INFO)
			return err;
		tli_error_destroy(err);
	} else {
		err = tli_layout_add_provider(s->layout, &tli_dwarf_provider_ops, dw);
		if (err)
			return err;
	}
	struct tli_elfsym *sym = NULL;
	err = tli_elfsym_open(exe, &sym);
	if (err) {
		if (err->code != TLI_E_NO_INFO) {
			free(cached);
			return err;
		}
		tli_error_destroy(err);
	} else {
		err = tli_layout_add_provider(s->layout, &tli_elfsym_provider_ops, sym);
		if (err) {
			free(cached);
			return err;
		}
	}
	/* last: runtime-maps (per-version tables) and the stripped-binary global finder */
	err = tli_session_add_maps(s, exe);
	if (!err && cached) {
		struct tli_error *ce = tli_layout_load_answers(s->layout, s->cache_stamp, cached, clen);
		tli_error_destroy(ce); /* a stale or damaged cache is simply not used */
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
	s->warnings = json_array();
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
			tli_error_destroy(tli_session_gobin(s, &gb));
		}
	} else if (o->pid > 0) {
		/* Opened with a deferred stop: everything that needs only files (DWARF
		 * index, symbols, pclntab) happens before the pause; the first memory
		 * access stops the process. */
		struct tli_live_opts lo = { .no_stop = o->no_stop, .timeout_ms = o->timeout_ms,
					    .defer_stop = true };
		err = tli_live_open(o->pid, &lo, &s->target);
		if (!err && o->exe) {
			free(s->target->exe_path);
			s->target->exe_path = strdup(o->exe);
		}
		if (!err)
			err = setup_layout(s, s->target->exe_path, s->target->at_entry);
		if (!err) {
			struct tli_gobin *gb;
			tli_error_destroy(tli_session_gobin(s, &gb)); /* not Go: commands decide */
		}
	} else if (o->core) {
		struct tli_core_opts co = { .exe = o->exe, .sysroot = o->sysroot };
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
	json_decref(s->warnings);
	free(s->exe_path_pre);
	free(s->cache_path);
	free(s->cache_stamp);
	free(s);
}

struct tli_error *tli_session_gobin(struct tli_session *s, struct tli_gobin **ret)
{
	const char *exe = s->target && s->target->exe_path ? s->target->exe_path : s->exe_path_pre;
	if (!s->gobin_tried) {
		s->gobin_tried = true;
		if (!exe)
			return tli_error_create(TLI_E_NO_INFO, "executable unknown; pass --exe");
		struct tli_error *err = tli_gobin_open(exe, &s->gobin);
		if (err)
			return err;
	}
	if (!s->gobin)
		return tli_error_create(TLI_E_NOT_GO, "%s is not a Go program (no Go build info or pclntab)",
					exe ? exe : "the target");
	*ret = s->gobin;
	return NULL;
}

void tli_session_describe(struct tli_session *s, json_t *result)
{
	struct tli_target *t = s->target;
	json_t *tg = json_object();
	json_object_set_new(tg, "kind", json_string(t->kind == TLI_TARGET_LIVE ? "live" : "core"));
	json_object_set_new(tg, "pid", t->pid > 0 ? json_integer(t->pid) : json_null());
	json_object_set_new(tg, "exe", t->exe_path ? json_string(t->exe_path) : json_null());
	json_object_set_new(tg, "core", t->core_path ? json_string(t->core_path) : json_null());
	json_object_set_new(tg, "threads", json_integer((json_int_t)t->nthreads));
	if (t->kind == TLI_TARGET_LIVE && !t->no_stop && t->released)
		json_object_set_new(tg, "pause_ms", json_real(t->pause_ms));
	else
		json_object_set_new(tg, "pause_ms", json_null());
	json_object_set_new(tg, "stopped_by_us", json_boolean(t->kind == TLI_TARGET_LIVE && !t->no_stop));
	if (t->kind == TLI_TARGET_LIVE && t->no_stop && t->pid > 0) {
		/* --no-stop (a debugger's face): was the process held stopped by someone else? */
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
		FILE *sf = fopen(path, "re");
		size_t n = sf ? fread(buf, 1, sizeof(buf) - 1, sf) : 0;
		if (sf)
			fclose(sf);
		buf[n] = 0;
		const char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2])
			json_object_set_new(tg, "stopped_by_other", json_boolean(rp[2] == 't' || rp[2] == 'T'));
	}
	json_object_set_new(tg, "bytes_read", json_integer((json_int_t)t->bytes_read));
	const char *src = tli_layout_last_source(s->layout);
	if (src)
		json_object_set_new(tg, "layout_source", json_string(src));
	/* merge with whatever the command put there already (e.g. go_version) */
	json_t *old = json_object_get(result, "target");
	if (old && json_is_object(old))
		json_object_update(old, tg), json_decref(tg);
	else
		json_object_set_new(result, "target", tg);
	json_object_set(result, "warnings", s->warnings);
}
