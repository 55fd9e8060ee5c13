/* SPDX-License-Identifier: MIT */
/* The shell's C names: ELF symbols of the executable and its libraries, DWARF types of the
 * executable and libc (shell_syms.h). */
#include "shell_syms.h"

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/layout.h"
#include "core/liblayout.h"
#include "core/session.h"
#include "core/target.h"
#include "dwarf/elfsym.h"

#define MAX_MODS 512

struct mod {
	char *path;                 /* as the target names it */
	char *file;                 /* where it is opened here (a container's file), NULL = path */
	uint64_t bias;
	uint64_t lo, hi;            /* addresses its mappings cover */
	struct tli_elfsym *syms;    /* NULL until tried (or none) */
	bool tried, is_libc, is_exe;
};

struct tli_shsyms {
	struct tli_session *s;
	bool no_dwarf;
	struct mod *m;
	size_t n;
	bool libc_tried;
	struct tli_lib_layout libc; /* libc's layout chain and DWARF (session hook) */
	struct tli_dwarf *exe_dw;
	bool exe_dw_tried;
};

static bool is_libc_path(const char *p)
{
	const char *b = strrchr(p, '/');
	b = b ? b + 1 : p;
	if (!strncmp(b, "libc.so", 7))
		return true;
	return !strncmp(b, "libc-", 5) && strstr(b, ".so") && b[5] >= '0' && b[5] <= '9';
}

static struct mod *find_mod(struct tli_shsyms *y, const char *path)
{
	for (size_t i = 0; i < y->n; i++)
		if (!strcmp(y->m[i].path, path))
			return &y->m[i];
	return NULL;
}

static const char *mod_file(const struct mod *m)
{
	return m->file ? m->file : m->path;
}

static struct mod *add_mod(struct tli_shsyms *y, const char *path)
{
	if (y->n >= MAX_MODS)
		return NULL;
	struct mod *nm = realloc(y->m, (y->n + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	y->m = nm;
	struct mod *m = &y->m[y->n];
	memset(m, 0, sizeof(*m));
	if (!(m->path = strdup(path)))
		return NULL;
	m->lo = UINT64_MAX;
	y->n++;
	return m;
}

struct tli_shsyms *tli_shsyms_new(struct tli_session *s, bool no_dwarf)
{
	struct tli_shsyms *y = calloc(1, sizeof(*y));
	if (!y)
		return NULL;
	y->s = s;
	y->no_dwarf = no_dwarf;
	struct tli_target *t = s ? s->target : NULL;
	const char *exe = t && t->exe_path ? t->exe_path : s ? s->exe_path_pre : NULL;
	if (exe) {
		/* named as the target names it, so that its mappings join it; read from exe_path */
		struct mod *m = add_mod(y, t && t->exe_name ? t->exe_name : exe);
		if (m && t && t->exe_name && !(m->file = strdup(exe))) {
			free(m->path);
			y->n--;
			m = NULL;
		}
		if (m) {
			m->is_exe = true;
			m->bias = s->exe_bias;
		}
	}
	/* file-backed mappings: one module per file; its bias = lowest (start - offset) - lowest p_vaddr */
	uint64_t *base = t ? calloc(t->nmaps + 1, sizeof(uint64_t)) : NULL;
	for (size_t i = 0; base && i < t->nmaps; i++) {
		const struct tli_mapping *mp = &t->maps[i];
		if (!mp->path || mp->path[0] != '/' || mp->end <= mp->start)
			continue;
		struct mod *m = find_mod(y, mp->path);
		if (!m && !(m = add_mod(y, mp->path)))
			continue;
		if (mp->file && !m->file && !m->is_exe)
			m->file = strdup(mp->file); /* NULL on failure: the path, whose build-id decides */
		if (mp->start < m->lo)
			m->lo = mp->start;
		if (mp->end > m->hi)
			m->hi = mp->end;
		size_t k = (size_t)(m - y->m);
		uint64_t b = mp->start - mp->offset;
		if (!base[k] || b < base[k])
			base[k] = b;
	}
	for (size_t k = 0; base && k < y->n && k < t->nmaps + 1; k++) {
		struct mod *m = &y->m[k];
		m->is_libc = is_libc_path(m->path);
		if (m->is_exe || !base[k])
			continue;
		struct tli_elfinfo info;
		if (tli_error_drop(tli_elf_read_info(mod_file(m), &info))) {
			m->tried = true; /* not readable here: no symbols */
			continue;
		}
		m->bias = base[k] - info.min_load_vaddr;
	}
	free(base);
	return y;
}

void tli_shsyms_free(struct tli_shsyms *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++) {
		free(y->m[i].path);
		free(y->m[i].file);
		tli_elfsym_close(y->m[i].syms);
	}
	free(y->m);
	tli_layout_destroy(y->libc.layout); /* owns libc.dw */
	free(y->libc.debug_path);
	if (y->exe_dw)
		tli_dwarf_close(y->exe_dw);
	free(y);
}

/* libc's layout through the session's hook (once). */
static void open_libc(struct tli_shsyms *y, struct mod *m)
{
	if (y->libc_tried || !y->s || !y->s->lib_layout || !y->s->lib_layout->libc_layout)
		return;
	y->libc_tried = true;
	struct tli_lib_layout_req req = { .path = mod_file(m), .bias = m->bias, .no_dwarf = y->no_dwarf };
	if (tli_error_drop(y->s->lib_layout->libc_layout(&req, &y->libc)))
		memset(&y->libc, 0, sizeof(y->libc));
}

static struct mod *libc_mod(struct tli_shsyms *y)
{
	for (size_t i = 0; i < y->n; i++)
		if (y->m[i].is_libc)
			return &y->m[i];
	return NULL;
}

/* The module's symbols (libc: its debug file's .symtab when there is one, which has the
 * local symbols such as main_arena; else its own table). */
static struct tli_elfsym *mod_syms(struct tli_shsyms *y, struct mod *m)
{
	if (m->tried)
		return m->syms;
	m->tried = true;
	if (m->is_libc) {
		open_libc(y, m);
		if (y->libc.debug_path && !tli_error_drop(tli_elfsym_open(y->libc.debug_path, &m->syms)))
			return m->syms;
	}
	if (tli_error_drop(tli_elfsym_open(mod_file(m), &m->syms)))
		m->syms = NULL;
	return m->syms;
}

bool tli_shsyms_lookup(struct tli_shsyms *y, const char *name, uint64_t *addr, uint64_t *size)
{
	if (!y)
		return false;
	for (size_t i = 0; i < y->n; i++) {
		struct tli_elfsym *es = mod_syms(y, &y->m[i]);
		struct tli_sym sym;
		if (!es || tli_error_drop(tli_elfsym_lookup(es, name, &sym)) || sym.type == STT_TLS)
			continue;
		*addr = sym.value + y->m[i].bias;
		*size = sym.size;
		return true;
	}
	/* a libc without debug information: its layout chain still knows main_arena and mp_ */
	struct mod *lm = libc_mod(y);
	if (lm) {
		open_libc(y, lm);
		struct tli_global g;
		if (y->libc.layout && !tli_error_drop(tli_layout_global(y->libc.layout, name, &g))) {
			*addr = g.addr;
			*size = g.size;
			return true;
		}
	}
	return false;
}

bool tli_shsyms_symbolize(struct tli_shsyms *y, uint64_t addr, char *buf, size_t cap)
{
	if (!y)
		return false;
	for (size_t i = 0; i < y->n; i++) {
		struct mod *m = &y->m[i];
		if ((m->lo != UINT64_MAX || !m->is_exe) && (addr < m->lo || addr >= m->hi))
			continue;
		struct tli_elfsym *es = mod_syms(y, m);
		struct tli_sym sym;
		uint64_t off = 0;
		if (!es || tli_error_drop(tli_elfsym_lookup_addr(es, addr - m->bias, &sym, &off)))
			continue;
		if (off)
			snprintf(buf, cap, "%s+0x%" PRIx64, sym.name, off);
		else
			snprintf(buf, cap, "%s", sym.name);
		return true;
	}
	return false;
}

void tli_shsyms_names(struct tli_shsyms *y, const char *prefix, bool (*fn)(void *arg, const char *name),
		      void *arg)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; y && i < y->n; i++) {
		struct tli_elfsym *es = mod_syms(y, &y->m[i]);
		struct tli_sym sym;
		for (size_t k = 0; es && tli_elfsym_at(es, k, &sym); k++)
			if (sym.type != STT_TLS && !strncmp(sym.name, prefix, pl) && !fn(arg, sym.name))
				return;
	}
}

static const char *strip_kw(const char *t)
{
	static const char *const kw[] = { "struct ", "union ", "enum " };
	for (size_t i = 0; i < 3; i++)
		if (!strncmp(t, kw[i], strlen(kw[i])))
			return t + strlen(kw[i]);
	return t;
}

static struct tli_dwarf *exe_dwarf(struct tli_shsyms *y, struct tli_error **err)
{
	*err = NULL;
	if (!y->exe_dw_tried) {
		y->exe_dw_tried = true;
		const char *exe = y->n && y->m[0].is_exe ? mod_file(&y->m[0]) : NULL;
		if (!exe) {
			*err = tli_error_create(TLI_E_NO_INFO, "ptype: the executable is unknown");
			return NULL;
		}
		struct tli_dwarf_opts dopt = { .no_dwarf = y->no_dwarf };
		if ((*err = tli_dwarf_open(exe, &dopt, &y->exe_dw)))
			y->exe_dw = NULL;
	}
	return y->exe_dw;
}

static struct tli_dwarf *libc_dwarf(struct tli_shsyms *y)
{
	struct mod *lm = libc_mod(y);
	if (!lm)
		return NULL;
	open_libc(y, lm);
	return tli_dwarf_has_dwarf(y->libc.dw) ? y->libc.dw : NULL;
}

struct tli_error *tli_shsyms_members(struct tli_shsyms *y, const char *type, tli_dwarf_member_fn fn, void *arg,
				     uint64_t *size, const char **from)
{
	struct tli_error *err = NULL;
	struct tli_dwarf *ed = exe_dwarf(y, &err);
	struct tli_dwarf *cands[2] = { ed, libc_dwarf(y) };
	uint64_t sz;
	for (int i = 0; i < 2; i++) {
		/* only a DWARF that has the type answers: never half a struct from one and an error from the other */
		if (!cands[i] || tli_error_drop(tli_dwarf_type_size(cands[i], type, &sz)))
			continue;
		tli_error_destroy(err);
		*from = tli_dwarf_debug_path(cands[i]) ? tli_dwarf_debug_path(cands[i]) : tli_dwarf_path(cands[i]);
		return tli_dwarf_members_native(cands[i], type, fn, arg, size);
	}
	if (err)
		return err;
	if (ed && !tli_dwarf_has_dwarf(ed) && !cands[1])
		return tli_error_create(TLI_E_NO_INFO, "ptype: %s has no DWARF (%s)", tli_dwarf_path(ed),
					tli_dwarf_why_none(ed));
	return tli_error_create(TLI_E_NO_INFO, "ptype: no type %s in the DWARF of %s%s%s", strip_kw(type),
				ed ? tli_dwarf_path(ed) : "the executable", cands[1] ? " or of " : "",
				cands[1] ? tli_dwarf_debug_path(cands[1]) : "");
}

struct type_filter {
	const char *prefix;
	size_t pl;
	bool (*fn)(void *arg, const char *name);
	void *arg;
};

static bool type_filter(void *arg, const char *name)
{
	struct type_filter *f = arg;
	return strncmp(name, f->prefix, f->pl) || f->fn(f->arg, name);
}

void tli_shsyms_types(struct tli_shsyms *y, const char *prefix, bool (*fn)(void *arg, const char *name),
		      void *arg)
{
	if (!y)
		return;
	struct type_filter f = { .prefix = prefix, .pl = strlen(prefix), .fn = fn, .arg = arg };
	struct tli_error *err;
	struct tli_dwarf *ed = exe_dwarf(y, &err);
	tli_error_destroy(err);
	if (ed)
		tli_dwarf_type_names(ed, type_filter, &f);
	struct tli_dwarf *ld = libc_dwarf(y);
	if (ld)
		tli_dwarf_type_names(ld, type_filter, &f);
}
