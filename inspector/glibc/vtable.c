/* SPDX-License-Identifier: MIT */
/* C++ types of leaked objects from their vtable pointers (vtable.h). */
#include "vtable.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/elfsym.h"

/* libstdc++'s demangler, if linked (-lstdc++); else a small fallback. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status) __attribute__((weak));

/* Minimal fallback for "_ZTV" + <source-name> | N <source-name>+ E. */
static bool demangle_simple(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	bool nested = false;
	if (*s == 'N') {
		nested = true;
		s++;
	}
	int parts = 0;
	while (*s >= '0' && *s <= '9') {
		char *end;
		long n = strtol(s, &end, 10);
		if (n <= 0 || (size_t)n > strlen(end))
			return false;
		if (parts++ && o + 2 < cap) {
			out[o++] = ':';
			out[o++] = ':';
		}
		for (long i = 0; i < n && o + 1 < cap; i++)
			out[o++] = end[i];
		s = end + n;
		if (!nested)
			break;
	}
	out[o] = 0;
	return parts > 0 && (!nested || *s == 'E') && o > 0;
}

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

/* The demangler: linked (-lstdc++), else libstdc++.so.6 loaded on first use
 * (present wherever a C++ program runs), else NULL (the fallback below). */
static cxa_demangle_fn get_demangler(void)
{
	static bool tried;
	static cxa_demangle_fn fn;
	if (__cxa_demangle)
		return __cxa_demangle;
	if (!tried) {
		tried = true;
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			*(void **)&fn = dlsym(h, "__cxa_demangle");
		/* h stays open: fn lives in it */
	}
	return fn;
}

static void demangle_vtable(const char *sym, char *out, size_t cap)
{
	cxa_demangle_fn dem = getenv("TLINSPECT_NO_CXA_DEMANGLE") ? NULL : get_demangler();
	if (dem) {
		int st = 0;
		char *d = dem(sym, NULL, NULL, &st);
		if (d && !st) {
			const char *p = d;
			if (!strncmp(p, "vtable for ", 11))
				p += 11;
			snprintf(out, cap, "%s", p);
			free(d);
			return;
		}
		free(d);
	}
	if (!demangle_simple(sym + 4, out, cap))
		snprintf(out, cap, "%s", sym);
}

/* The symbols of the module mapped from `path` (its load bias from the lowest mapping). */
static struct tli_gl_modsym *module(struct tli_gl_vtables *mc, struct tli_target *t, const char *path)
{
	for (size_t i = 0; i < mc->n; i++)
		if (!strcmp(mc->v[i].path, path))
			return &mc->v[i];
	struct tli_gl_modsym *ms = tli_vec_append(mc);
	if (!ms)
		return NULL;
	memset(ms, 0, sizeof(*ms));
	ms->path = strdup(path);
	uint64_t lo = UINT64_MAX;
	const char *file = path;
	for (size_t i = 0; i < t->nmaps; i++)
		if (t->maps[i].path && !strcmp(t->maps[i].path, path) && t->maps[i].start - t->maps[i].offset < lo) {
			lo = t->maps[i].start - t->maps[i].offset;
			file = tli_mapping_file(&t->maps[i]); /* a container's file, as the target sees it */
		}
	struct tli_elfinfo info;
	struct tli_error *e = tli_elf_read_info(file, &info);
	if (!e) {
		ms->bias = lo - info.min_load_vaddr;
		e = tli_elfsym_open(file, &ms->sym);
	}
	tli_error_destroy(e);
	return ms;
}

const char *tli_gl_vtable_type(struct tli_gl_vtables *mc, struct tli_target *t, uint64_t v, char *buf,
			       size_t cap)
{
	const struct tli_mapping *m = tli_target_find_mapping(t, v);
	if (!m || !m->path || m->path[0] != '/' || (m->prot & TLI_PROT_W && !(m->prot & TLI_PROT_R)))
		return NULL;
	struct tli_gl_modsym *ms = module(mc, t, m->path);
	if (!ms || !ms->sym)
		return NULL;
	struct tli_sym s;
	uint64_t off;
	if (tli_error_drop(tli_elfsym_lookup_addr(ms->sym, v - ms->bias, &s, &off)))
		return NULL;
	if (strncmp(s.name, "_ZTV", 4))
		return NULL;
	demangle_vtable(s.name, buf, cap);
	return buf;
}

void tli_gl_vtables_free(struct tli_gl_vtables *mc)
{
	for (size_t i = 0; i < mc->n; i++) {
		free(mc->v[i].path);
		tli_elfsym_close(mc->v[i].sym);
	}
	tli_vec_free(mc);
}
