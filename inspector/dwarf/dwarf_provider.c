/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_provider.c
 * The DWARF provider of the layout resolver (core/layout.h): eager (an opened
 * handle) and lazy (DWARF opened on the first query that reaches it, behind a
 * layout whose answers came from the layout cache).
 */
#include "dwarf_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tli_error *p_member(void *p, const char *type, const char *member,
				  struct tli_member *ret)
{
	return tli_dwarf_member(p, type, member, ret);
}
static struct tli_error *p_type_size(void *p, const char *type, uint64_t *ret)
{
	return tli_dwarf_type_size(p, type, ret);
}
static struct tli_error *p_global(void *p, const char *name, struct tli_global *ret)
{
	return tli_dwarf_global(p, name, ret);
}
static struct tli_error *p_constant(void *p, const char *name, int64_t *ret)
{
	return tli_dwarf_constant(p, name, ret);
}
static void p_destroy(void *p)
{
	tli_dwarf_close(p);
}

const struct tli_layout_provider_ops tli_dwarf_provider_ops = {
	.name = "dwarf",
	.member = p_member,
	.type_size = p_type_size,
	.global = p_global,
	.constant = p_constant,
	.destroy = p_destroy,
};

struct tli_error *tli_dwarf_add_to_layout(struct tli_dwarf *d, struct tli_layout *l)
{
	char label[PATH_MAX + 32];
	if (d->dbg)
		snprintf(label, sizeof(label), "dwarf %s", d->debug_path);
	else
		snprintf(label, sizeof(label), "dwarf %s (%s)", d->path,
			 strcmp(d->method, "disabled") == 0 ? "disabled" : "none");
	return tli_layout_add_provider_labeled(l, &tli_dwarf_provider_ops, d, label);
}

/* ---------- lazy provider: DWARF opened on the first query that reaches it ---------- */

struct lazy {
	char *exe;
	struct tli_dwarf_opts o;   /* debug_dirs not kept (session default) */
	struct tli_dwarf *d;
	struct tli_error *open_err;
	bool tried;
};

static struct tli_error *lazy_get(struct lazy *z, struct tli_dwarf **ret)
{
	if (!z->tried) {
		z->tried = true;
		z->open_err = tli_dwarf_open(z->exe, &z->o, &z->d);
	}
	if (z->open_err)
		return tli_error_create(z->open_err->code == TLI_E_NO_INFO ? TLI_E_NO_INFO : z->open_err->code,
					"%s", z->open_err->msg);
	*ret = z->d;
	return NULL;
}

static struct tli_error *lz_member(void *p, const char *t, const char *m, struct tli_member *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_member(d, t, m, ret);
}

static struct tli_error *lz_type_size(void *p, const char *t, uint64_t *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_type_size(d, t, ret);
}

static struct tli_error *lz_global(void *p, const char *n, struct tli_global *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_global(d, n, ret);
}

static struct tli_error *lz_constant(void *p, const char *n, int64_t *ret)
{
	struct tli_dwarf *d = NULL;
	struct tli_error *e = lazy_get(p, &d);
	return e ? e : p_constant(d, n, ret);
}

static void lz_destroy(void *p)
{
	struct lazy *z = p;
	if (z->d)
		tli_dwarf_close(z->d);
	tli_error_destroy(z->open_err);
	free(z->exe);
	free(z);
}

static const struct tli_layout_provider_ops lazy_ops = {
	.name = "dwarf",
	.member = lz_member,
	.type_size = lz_type_size,
	.global = lz_global,
	.constant = lz_constant,
	.destroy = lz_destroy,
};

struct tli_error *tli_dwarf_add_lazy_to_layout(const char *exe, const struct tli_dwarf_opts *o,
					       struct tli_layout *l)
{
	struct lazy *z = calloc(1, sizeof(*z));
	if (!z || !(z->exe = strdup(exe))) {
		free(z);
		return &tli_enomem;
	}
	if (o) {
		z->o = *o;
		z->o.debug_dirs = NULL;
		z->o.n_debug_dirs = 0;
	}
	return tli_layout_add_provider(l, &lazy_ops, z); /* labelled "dwarf", like the eager one */
}
