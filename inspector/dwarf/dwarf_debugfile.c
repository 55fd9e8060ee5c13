/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_debugfile.c
 * Separate debug info: by GNU build-id (<debugdir>/.build-id/xx/rest.debug,
 * build-id checked) or by .gnu_debuglink (CRC32 checked) next to the file, in
 * its .debug/ directory or under a debug directory, then from debuginfod
 * (dwarf_debuginfod.c). See dwarf.h.
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
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fileio.h"

static bool file_crc32(const char *path, uint32_t *ret)
{
	int fd = tli_open_regular(path);
	if (fd < 0)
		return false;
	uLong crc = crc32(0L, Z_NULL, 0);
	unsigned char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	close(fd);
	if (n < 0)
		return false;
	*ret = (uint32_t)crc;
	return true;
}

/*
 * Try a candidate debug file. Accept it if it is an ELF with .debug_info,
 * its build-id (if both have one) matches, and (if want_crc) its CRC matches.
 * On success the handles go into d->dfd/d->delf/d->dbg.
 */
bool tli_dw_try_debug_file(struct tli_dwarf *d, const char *cand, bool want_crc, uint32_t crc)
{
	struct stat st, self;
	if (stat(cand, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if (stat(d->path, &self) == 0 && self.st_dev == st.st_dev && self.st_ino == st.st_ino)
		return false; /* the file itself */
	if (want_crc) {
		uint32_t c;
		if (!file_crc32(cand, &c) || c != crc)
			return false;
	}
	int fd = open(cand, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct tli_elfinfo di;
	struct tli_error *err = NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF || (err = tli_elf_info_from_elf(elf, cand, &di)) ||
	    !di.has_debug_info ||
	    (d->info.build_id_len && di.build_id_len &&
	     (di.build_id_len != d->info.build_id_len ||
	      memcmp(di.build_id, d->info.build_id, di.build_id_len) != 0)))
		goto fail;
	Dwarf *dbg = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dbg)
		goto fail;
	d->dfd = fd;
	d->delf = elf;
	d->dbg = dbg;
	d->debug_path = strdup(cand);
	return d->debug_path != NULL;
fail:
	tli_error_destroy(err);
	if (elf)
		elf_end(elf);
	close(fd);
	return false;
}

bool tli_dw_find_separate(struct tli_dwarf *d, const char *const *dirs, size_t ndirs)
{
	char cand[PATH_MAX + 64];
	char hex[2 * TLI_BUILD_ID_MAX + 1];
	if (d->info.build_id_len >= 2) {
		tli_build_id_hex(d->info.build_id, d->info.build_id_len, hex, sizeof(hex));
		for (size_t i = 0; i < ndirs; i++) {
			if (snprintf(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", dirs[i], hex,
				     hex + 2) >= (int)sizeof(cand))
				continue;
			if (tli_dw_try_debug_file(d, cand, false, 0)) {
				d->method = "build-id";
				return true;
			}
		}
	}
	if (d->info.has_debuglink) {
		char real[PATH_MAX];
		char dir[PATH_MAX];
		/* not through /proc/PID/{exe,root,map_files}: realpath would follow those magic
		 * links by their text, which names the target's files, not ours */
		if (!strncmp(d->path, "/proc/", 6) || !realpath(d->path, real))
			snprintf(real, sizeof(real), "%s", d->path);
		snprintf(dir, sizeof(dir), "%s", real);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		const char *name = d->info.debuglink;
		const char *fmts[] = { "%s/%s", "%s/.debug/%s" };
		for (size_t f = 0; f < 2; f++) {
			if (snprintf(cand, sizeof(cand), fmts[f], dir, name) < (int)sizeof(cand) &&
			    tli_dw_try_debug_file(d, cand, true, d->info.debuglink_crc)) {
				d->method = "debuglink";
				return true;
			}
		}
		for (size_t i = 0; i < ndirs; i++) {
			if (snprintf(cand, sizeof(cand), "%s%s%s/%s", dirs[i], dir[0] == '/' ? "" : "/",
				     dir, name) < (int)sizeof(cand) &&
			    tli_dw_try_debug_file(d, cand, true, d->info.debuglink_crc)) {
				d->method = "debuglink";
				return true;
			}
		}
	}
	return tli_dw_find_debuginfod(d);
}
