/* SPDX-License-Identifier: MIT */
/* Layout provider answering from a Go runtime map (members, sizes, constants) and the
 * stripped-binary finder (globals). Loaded lazily at the first query. */
#include "runtime_maps/maps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/gobin.h"

struct mprov {
	char *exe;
	bool other_sources;   /* DWARF in use: a missing map is NO_INFO, not UNSUPPORTED */
	bool tried;
	enum tli_errcode load_code;
	char load_msg[768];
	struct tli_gobin *gb;
	struct tli_map *map;
};

struct tli_error *tli_maps_load_go(const struct tli_gobin *gb, struct tli_map **ret)
{
	*ret = NULL;
	int minor = tli_gobin_minor(gb);
	const char *ver = tli_gobin_version(gb);
	if (minor < 0)
		return tli_error_create(TLI_E_NO_INFO, "the Go version of the executable is unknown "
					"(no .go.buildinfo): cannot choose a runtime map");
	char key[32], path[4200];
	snprintf(key, sizeof(key), "1.%d", minor);
	if (!tli_maps_path("go", key, path, sizeof(path)))
		return tli_error_create(TLI_E_UNSUPPORTED, "Go %s has no runtime map (%s); generate one "
					"with `tlinspect maps gen BINARY-BUILT-WITH-IT`",
					ver ? ver : key, path);
	struct tli_map *m;
	struct tli_error *err = tli_map_load(path, &m);
	if (err)
		return err;
	char want[32];
	snprintf(want, sizeof(want), "go1.%d", minor);
	if (strcmp(tli_map_kind(m), "go") || strcmp(tli_map_version(m), want)) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "runtime map %s is for %s %s, not %s", path,
				       tli_map_kind(m), tli_map_version(m), want);
		tli_map_free(m);
		return err;
	}
	*ret = m;
	return NULL;
}

static struct tli_error *load(struct mprov *p)
{
	if (!p->tried) {
		p->tried = true;
		struct tli_error *err = tli_gobin_open(p->exe, &p->gb);
		if (!err)
			err = tli_maps_load_go(p->gb, &p->map);
		if (err) {
			p->load_code = err->code;
			snprintf(p->load_msg, sizeof(p->load_msg), "%s", err->msg);
			tli_error_destroy(err);
		}
	}
	if (p->map)
		return NULL;
	enum tli_errcode c = p->load_code;
	/* not Go / no version: we simply do not know; with DWARF around, never block it */
	if (c == TLI_E_NOT_GO || c == TLI_E_NO_INFO || p->other_sources)
		c = TLI_E_NO_INFO;
	return tli_error_create(c, "%s", p->load_msg);
}

static struct tli_error *p_member(void *vp, const char *type, const char *member, struct tli_member *ret)
{
	struct mprov *p = vp;
	struct tli_error *err = load(p);
	return err ? err : tli_map_member(p->map, type, member, ret);
}

static struct tli_error *p_type_size(void *vp, const char *type, uint64_t *ret)
{
	struct mprov *p = vp;
	struct tli_error *err = load(p);
	return err ? err : tli_map_type_size(p->map, type, ret);
}

static struct tli_error *p_constant(void *vp, const char *name, int64_t *ret)
{
	struct mprov *p = vp;
	struct tli_error *err = load(p);
	return err ? err : tli_map_constant(p->map, name, ret);
}

static struct tli_error *p_global(void *vp, const char *name, struct tli_global *ret)
{
	struct mprov *p = vp;
	struct tli_error *err = load(p);
	if (err)
		return err;
	err = tli_gofind_global(p->gb, p->map, name, ret);
	if (err && err->code != TLI_E_NO_INFO) {
		/* a corrupt function body etc.: the finder simply does not know */
		err->code = TLI_E_NO_INFO;
	}
	return err;
}

static void p_destroy(void *vp)
{
	struct mprov *p = vp;
	if (!p)
		return;
	tli_map_free(p->map);
	if (p->gb)
		tli_gobin_destroy(p->gb);
	free(p->exe);
	free(p);
}

const struct tli_layout_provider_ops tli_maps_provider_ops = {
	.name = "runtime-maps",
	.member = p_member,
	.type_size = p_type_size,
	.global = p_global,
	.constant = p_constant,
	.destroy = p_destroy,
};

struct tli_error *tli_maps_add_go_provider(struct tli_layout *l, const char *exe, bool other_sources)
{
	struct mprov *p = calloc(1, sizeof(*p));
	if (!p || !(p->exe = strdup(exe))) {
		free(p);
		return &tli_enomem;
	}
	p->other_sources = other_sources;
	char label[4200];
	snprintf(label, sizeof(label), "runtime-maps %s", exe);
	/* on failure the layout has destroyed p already */
	return tli_layout_add_provider_labeled(l, &tli_maps_provider_ops, p, label);
}

/* ---------------------------------------------------------------- glibc */

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
