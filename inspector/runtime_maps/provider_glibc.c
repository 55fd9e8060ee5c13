/* SPDX-License-Identifier: MIT */
/* Layout provider of a libc without debug info: members, sizes and constants from the glibc
 * runtime map of its version (runtime-maps/glibc/2.NN.map), the globals main_arena and mp_
 * from the stripped-libc finder (libcfind.c), run at the first query. */
#include "runtime_maps/maps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tli_error *tli_maps_load_glibc(const char *key, const char *what, struct tli_map **ret)
{
	*ret = NULL;
	char path[4200];
	if (!tli_maps_path("glibc", key, path, sizeof(path)))
		return tli_error_create(TLI_E_UNSUPPORTED, "glibc %s (%s) has no debug info and no runtime map "
					"(%s); install its debug info (libc6-dbg) or generate the map where it "
					"is installed: `tlinspect maps gen LIBC > %s`", key,
					what && *what ? what : "libc.so.6", path, path);
	struct tli_map *m;
	struct tli_error *err = tli_map_load(path, &m);
	if (err)
		return err;
	char want[48];
	snprintf(want, sizeof(want), "glibc%s", key);
	if (strcmp(tli_map_kind(m), "glibc") || strcmp(tli_map_version(m), want)) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "runtime map %s is for %s %s, not %s", path,
				       tli_map_kind(m), tli_map_version(m), want);
		tli_map_free(m);
		return err;
	}
	*ret = m;
	return NULL;
}

struct gprov {
	char *libc;
	struct tli_map *map;
	bool tried;
	struct tli_libcfind r;
	enum tli_errcode code;
	char msg[768];
};

static struct tli_error *g_member(void *vp, const char *type, const char *member, struct tli_member *ret)
{
	return tli_map_member(((struct gprov *)vp)->map, type, member, ret);
}

static struct tli_error *g_type_size(void *vp, const char *type, uint64_t *ret)
{
	return tli_map_type_size(((struct gprov *)vp)->map, type, ret);
}

static struct tli_error *g_constant(void *vp, const char *name, int64_t *ret)
{
	return tli_map_constant(((struct gprov *)vp)->map, name, ret);
}

static struct tli_error *g_global(void *vp, const char *name, struct tli_global *ret)
{
	struct gprov *p = vp;
	bool arena = !strcmp(name, "main_arena");
	if (!arena && strcmp(name, "mp_"))
		return tli_error_create(TLI_E_NO_INFO, "the libc finder knows only main_arena and mp_, not %s", name);
	if (!p->tried) {
		p->tried = true;
		struct tli_error *err = tli_libcfind_file(p->libc, p->map, TLI_LIBCFIND_ARENA | TLI_LIBCFIND_MP, &p->r);
		if (err) {
			p->code = err->code;
			snprintf(p->msg, sizeof(p->msg), "%s", err->msg);
			tli_error_destroy(err);
		}
	}
	if (p->msg[0])
		return tli_error_create(p->code == TLI_E_NOMEM ? TLI_E_NOMEM : TLI_E_NO_INFO, "%s", p->msg);
	const char *type = arena ? "malloc_state" : "malloc_par";
	uint64_t size = 0;
	tli_error_destroy(tli_map_type_size(p->map, type, &size));
	ret->addr = arena ? p->r.main_arena : p->r.mp;
	ret->size = size;
	return NULL;
}

static void g_destroy(void *vp)
{
	struct gprov *p = vp;
	if (!p)
		return;
	tli_map_free(p->map);
	free(p->libc);
	free(p);
}

static const struct tli_layout_provider_ops glibc_provider_ops = {
	.name = "runtime-maps",
	.member = g_member,
	.type_size = g_type_size,
	.global = g_global,
	.constant = g_constant,
	.destroy = g_destroy,
};

struct tli_error *tli_maps_add_glibc_provider(struct tli_layout *l, const char *libc_path, struct tli_map *m)
{
	struct gprov *p = calloc(1, sizeof(*p));
	if (!p || !(p->libc = strdup(libc_path))) {
		free(p);
		tli_map_free(m);
		return &tli_enomem;
	}
	p->map = m;
	char label[4300];
	snprintf(label, sizeof(label), "runtime-maps %s %s", tli_map_version(m), libc_path);
	/* on failure the layout has destroyed p already */
	return tli_layout_add_provider_labeled(l, &glibc_provider_ops, p, label);
}
