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
	/* runtime-maps/go/ holds linux/amd64 layouts; linux/arm64 shares most of them, not all
	 * (go1.27's runtime.p and runtime.mheap differ), so it has maps of its own in go-arm64/ */
	const struct tli_arch *arch = tli_gobin_arch(gb);
	if (arch && arch != &tli_arch_x86_64 && arch != &tli_arch_arm64)
		return tli_error_create(TLI_E_UNSUPPORTED, "no runtime maps for linux/%s executables", arch->name);
	const char *kind = arch == &tli_arch_arm64 ? "go-arm64" : "go";
	char key[32], path[4200];
	snprintf(key, sizeof(key), "1.%d", minor);
	if (!tli_maps_path(kind, key, path, sizeof(path)))
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
