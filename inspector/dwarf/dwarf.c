/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf.c
 * DWARF provider on libdw (see dwarf.h): the handle, opening it (the file's
 * own DWARF or separate debug info, then the index) and closing it.
 * The parts: dwarf_index.c (the index), dwarf_debugfile.c and
 * dwarf_debuginfod.c (separate debug info), dwarf_types.c, dwarf_members.c, dwarf_vars.c, dwarf_consts.c (the
 * queries), dwarf_location.c (location expressions), dwarf_provider.c (the
 * layout provider).
 */
#include "dwarf_int.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/sysroot.h"

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"

bool tli_dwarf_has_dwarf(const struct tli_dwarf *d)
{
	return d && d->dbg;
}
const char *tli_dwarf_debug_path(const struct tli_dwarf *d)
{
	return d && d->dbg ? d->debug_path : NULL;
}
const char *tli_dwarf_debug_method(const struct tli_dwarf *d)
{
	return d->method;
}
const char *tli_dwarf_debuginfod_url(const struct tli_dwarf *d)
{
	return d && d->dbg ? d->debuginfod_url : NULL;
}
const char *tli_dwarf_debuginfod_error(const struct tli_dwarf *d)
{
	return d && !d->dbg && d->debuginfod_why[0] ? d->debuginfod_why : NULL;
}
const char *tli_dwarf_describe(const struct tli_dwarf *d, const char *root, const char *sysroot, char *buf,
			       size_t cap)
{
	char a[PATH_MAX + 64], b[PATH_MAX + 64];
	tli_file_origin(d->path, root, sysroot, a, sizeof(a));
	if (!d->dbg)
		snprintf(buf, cap, "%s (from %s), debug info %s: %s", d->path, a, d->method, d->why);
	else if (d->debuginfod_url)
		snprintf(buf, cap, "%s (from %s), debug info from debuginfod %s: %s", d->path, a, d->debuginfod_url,
			 d->debug_path);
	else
		snprintf(buf, cap, "%s (from %s), debug info %s: %s (from %s)", d->path, a, d->method, d->debug_path,
			 tli_file_origin(d->debug_path, root, sysroot, b, sizeof(b)));
	return buf;
}
const char *tli_dwarf_path(const struct tli_dwarf *d)
{
	return d->path;
}
const char *tli_dwarf_why_none(const struct tli_dwarf *d)
{
	return d->dbg ? "" : d->why;
}
void tli_dwarf_get_stats(const struct tli_dwarf *d, struct tli_dwarf_stats *ret)
{
	*ret = d->stats;
}

struct tli_error *tli_dwarf_build_id(const struct tli_dwarf *d, uint8_t *buf, size_t cap,
				     size_t *len)
{
	if (!d->info.build_id_len)
		return tli_error_create(TLI_E_NO_INFO, "%s has no GNU build-id", d->path);
	if (cap < d->info.build_id_len)
		return tli_error_create(TLI_E_INTERNAL, "build-id buffer too small (%zu < %zu)", cap,
					d->info.build_id_len);
	memcpy(buf, d->info.build_id, d->info.build_id_len);
	*len = d->info.build_id_len;
	return NULL;
}

void tli_dwarf_close(struct tli_dwarf *d)
{
	if (!d)
		return;
	/* maps borrow their keys from the Dwarf: free them first */
	tli_strmap_free(d->types);
	tli_strmap_free(d->vars);
	tli_strmap_free(d->consts);
	if (d->dbg)
		dwarf_end(d->dbg);
	if (d->delf)
		elf_end(d->delf);
	if (d->dfd >= 0)
		close(d->dfd);
	if (d->elf)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d->debug_path);
	free(d->debuginfod_url);
	free(d);
}

struct tli_error *tli_dwarf_open(const char *path, const struct tli_dwarf_opts *opts,
				 struct tli_dwarf **ret)
{
	*ret = NULL;
	static const char *const def_dirs[] = { DEFAULT_DEBUG_DIR };
	const char *const *dirs = def_dirs;
	size_t ndirs = 1;
	if (opts && opts->debug_dirs && opts->n_debug_dirs) {
		dirs = opts->debug_dirs;
		ndirs = opts->n_debug_dirs;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return tli_error_create(TLI_E_INTERNAL, "libelf: version mismatch");
	struct tli_dwarf *d = calloc(1, sizeof(*d));
	if (!d)
		return &tli_enomem;
	d->fd = d->dfd = -1;
	d->method = "none";
	struct tli_error *err = NULL;
	if (!(d->path = strdup(path))) {
		err = &tli_enomem;
		goto fail;
	}
	d->fd = tli_open_regular(path);
	if (d->fd < 0) {
		err = tli_error_errno(errno == EACCES ? TLI_E_PERM : TLI_E_NO_TARGET, errno,
				      "cannot open %s", path);
		goto fail;
	}
	d->elf = elf_begin(d->fd, ELF_C_READ_MMAP, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF) {
		err = tli_error_create(TLI_E_BAD_FORMAT, "%s: not an ELF file%s%s", path,
				       d->elf ? "" : ": ", d->elf ? "" : elf_errmsg(-1));
		goto fail;
	}
	if ((err = tli_elf_info_from_elf(d->elf, path, &d->info)))
		goto fail;
	{
		GElf_Ehdr eh;
		d->msb = gelf_getehdr(d->elf, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;
	}

	if (opts && opts->no_dwarf) {
		d->method = "disabled";
		snprintf(d->why, sizeof(d->why), "DWARF use disabled (--no-dwarf) for %s", path);
		*ret = d;
		return NULL;
	}
	if (!(opts && opts->separate_only) && d->info.has_debug_info) {
		d->dbg = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
		if (d->dbg) {
			d->method = "embedded";
			if (!(d->debug_path = strdup(path))) {
				err = &tli_enomem;
				goto fail;
			}
		}
	}
	if (!d->dbg && !tli_dw_find_separate(d, dirs, ndirs)) {
		char hex[2 * TLI_BUILD_ID_MAX + 1];
		tli_build_id_hex(d->info.build_id, d->info.build_id_len, hex, sizeof(hex));
		char dl[400] = "";
		if (d->info.has_debuglink)
			snprintf(dl, sizeof(dl), " or debuglink %s", d->info.debuglink);
		size_t o = (size_t)snprintf(d->why, sizeof(d->why), "no DWARF in %s (and no separate debug info found for %s%s%s in ",
				     path, d->info.build_id_len ? "build-id " : "",
				     d->info.build_id_len ? hex : "a file without build-id", dl);
		for (size_t i = 0; i < ndirs && o < sizeof(d->why); i++)
			o += (size_t)snprintf(d->why + o, sizeof(d->why) - o, "%s%s", i ? ", " : "", dirs[i]);
		if (o < sizeof(d->why))
			snprintf(d->why + o, sizeof(d->why) - o, "%s%s)", d->debuginfod_why[0] ? "; " : "",
				 d->debuginfod_why);
		*ret = d;
		return NULL;
	}
	if (!d->dbg) {
		err = &tli_enomem;
		goto fail;
	}
	if ((err = tli_dw_build_index(d)))
		goto fail;
	*ret = d;
	return NULL;
fail:
	tli_dwarf_close(d);
	return err;
}
