/* SPDX-License-Identifier: MIT */
/*
 * libc's layout chain, the hook the glibc commands ask through (core/liblayout.h):
 * the DWARF of libc's separate debug file (found by build-id) and that file's .symtab;
 * without debug information, the glibc runtime map of libc's version (chosen by the
 * banner in .rodata; no map = refused, exit 11) with main_arena, mp_ and tcache's TLS
 * slot from the stripped-libc finder (libcfind.c).
 */
#include "runtime_maps/maps.h"

#include <stdlib.h>
#include <string.h>

#include "dwarf/dwarf.h"
#include "dwarf/elfsym.h"

/* No debug information: the runtime map of libc's version + the finder. */
static struct tli_error *add_runtime_map(struct tli_lib_layout *ll, const char *path)
{
	char banner[512];
	struct tli_map *map = NULL;
	struct tli_error *err = tli_libc_version(path, ll->map_key, sizeof(ll->map_key), banner, sizeof(banner));
	if (err)
		return tli_error_wrap(err, "no debug info for %s (%s) and no glibc version to choose a "
				      "runtime map by", path, tli_dwarf_why_none(ll->dw));
	if ((err = tli_maps_load_glibc(ll->map_key, banner, &map)))
		return err;
	return tli_maps_add_glibc_provider(ll->layout, path, map);
}

/* DWARF of libc (its debug file), then that file's .symtab, else the runtime map. */
static struct tli_error *chain(const struct tli_lib_layout_req *req, struct tli_lib_layout *ll)
{
	struct tli_error *err = tli_layout_create(&ll->layout);
	if (err)
		return err;
	tli_layout_set_bias(ll->layout, req->bias);
	struct tli_dwarf_opts dopts = { .no_dwarf = req->no_dwarf, .debug_dirs = req->debug_dirs,
					.n_debug_dirs = req->n_debug_dirs };
	if ((err = tli_dwarf_open(req->path, &dopts, &ll->dw)))
		return err;
	if ((err = tli_dwarf_add_to_layout(ll->dw, ll->layout))) {
		ll->dw = NULL; /* destroyed by the layout */
		return err;
	}
	if (!tli_dwarf_has_dwarf(ll->dw))
		return add_runtime_map(ll, req->path);
	ll->debug_path = strdup(tli_dwarf_debug_path(ll->dw));
	struct tli_elfsym *sym = NULL;
	struct tli_error *e = ll->debug_path ? tli_elfsym_open(ll->debug_path, &sym) : &tli_enomem;
	if (!e)
		e = tli_elfsym_add_to_layout(sym, ll->layout);
	tli_error_destroy(e); /* the .symtab only adds answers */
	return NULL;
}

static struct tli_error *libc_layout(const struct tli_lib_layout_req *req, struct tli_lib_layout *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct tli_error *err = chain(req, ret);
	if (err) {
		tli_layout_destroy(ret->layout); /* owns dw */
		free(ret->debug_path);
		memset(ret, 0, sizeof(*ret));
	}
	return err;
}

static struct tli_error *libc_tcache_slot(const char *path, struct tli_libc_tls_slot *ret)
{
	struct tli_libcfind r;
	memset(ret, 0, sizeof(*ret));
	struct tli_error *err = tli_libcfind_file(path, NULL, TLI_LIBCFIND_TCACHE, &r);
	if (err)
		return err;
	ret->direct = r.tcache_direct;
	ret->got = r.tcache_got;
	ret->tpoff = r.tcache_tpoff;
	ret->disp = r.tcache_disp;
	return NULL;
}

const struct tli_lib_layout_finder tli_maps_lib_layout_finder = {
	.libc_layout = libc_layout,
	.libc_tcache_slot = libc_tcache_slot,
};
