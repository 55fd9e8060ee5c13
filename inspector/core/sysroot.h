/* SPDX-License-Identifier: MIT */
/**
 * @file sysroot.h
 * --sysroot: where the files a core names are looked up. One directory (an image's root
 * filesystem, unpacked), or an image's unpacked layers "UPPER:...:LOWER" (topmost first,
 * as overlayfs' lowerdir lists them), seen merged the way a container runtime mounts them:
 * a name is taken from the topmost layer that has it; OCI whiteouts hide the layers below
 * (".wh.NAME" removes NAME, ".wh..wh..opq" makes a directory opaque; overlayfs' 0:0
 * character device counts as a whiteout too); symlinks are followed in the merged view,
 * never out of it. Only directories are entered and only a regular file is opened
 * (core/fileio.h tli_open_regular_in in the layer that holds it).
 */
#ifndef TLI_CORE_SYSROOT_H
#define TLI_CORE_SYSROOT_H

#include <stddef.h>
#include <sys/stat.h>

#define TLI_SYSROOT_MAX_LAYERS 32

/**
 * tli_open_regular_in for a sysroot of one or more layers (NULL or "" = "/"). *layer (may
 * be NULL) gets the index of the layer the file came from (0 = topmost; -1 if none);
 * *resolved is the path in that layer.
 */
int tli_sysroot_open(const char *sysroot, const char *path, struct stat *st, char **resolved, int *layer);
/** The same without opening the file (tli_stat_regular_in). */
int tli_sysroot_stat(const char *sysroot, const char *path, struct stat *st, char **resolved, int *layer);

/** Number of layers of `sysroot` (0 for NULL/""), their directories into dirs[] (pointers
 *  into *buf, which the caller frees). A string that names an existing directory as a
 *  whole is one layer even if it contains ':'. */
size_t tli_sysroot_layers(const char *sysroot, const char *dirs[TLI_SYSROOT_MAX_LAYERS], char **buf);

/**
 * Debug directories for a target: "<R>/usr/lib/debug" for its root R (a live target in
 * another mount namespace: /proc/PID/root) or for each layer of `sysroot` (a core), then
 * the host's /usr/lib/debug. Returns how many were put in dirs (cap >= 2); strings in *buf
 * (caller frees).
 */
size_t tli_debug_dirs_for(const char *root, const char *sysroot, const char **dirs, size_t cap, char **buf);

/** Where `path` is, for people: "the target's root" (under root), "sysroot layer N (DIR)",
 *  "sysroot (DIR)" or "the host"; written into buf. */
const char *tli_file_origin(const char *path, const char *root, const char *sysroot, char *buf, size_t cap);

#endif
