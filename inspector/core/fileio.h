/* SPDX-License-Identifier: MIT */
/** @file fileio.h  Opening files whose names come from untrusted places (cores, gdb, /proc). */
#ifndef TLI_CORE_FILEIO_H
#define TLI_CORE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

/**
 * open(path, O_RDONLY | O_CLOEXEC) for a REGULAR file only: a FIFO, device or
 * directory named by a crafted core (NT_FILE), by gdb's mapping list or by the
 * user would block or mislead the readers, so it is refused with errno EINVAL.
 * The name is stat'ed BEFORE it is opened, so a FIFO or device is never opened
 * (no side effect); the open (O_NONBLOCK, so a FIFO swapped in meanwhile cannot
 * hang us) is then fstat'ed: it must be the same regular file, else EINVAL.
 * Returns the fd (blocking mode restored) or -1 with errno set.
 */
int tli_open_regular(const char *path);

/**
 * Open the regular file `path` as if `root` were "/" (a --sysroot; NULL or "" = "/"):
 * `..` never climbs above root, an absolute symlink is followed from root, and each
 * component is checked before it is opened (fstatat without following it): only
 * directories are entered (O_PATH | O_NOFOLLOW) and only a regular file is opened
 * (O_NOFOLLOW | O_NONBLOCK, then fstat'ed: the same regular file), so nothing outside
 * root is reached and no FIFO, device or socket is ever opened. At most 40 symlinks,
 * 128 directories deep. The fd keeps O_NONBLOCK (no effect on reads of a regular file).
 * Returns the fd with *st filled, or -1 with errno (EINVAL: not a regular file; ENOENT,
 * EACCES, ELOOP, ENOTDIR, ENAMETOOLONG as open(2) says). *resolved (may be NULL) gets the
 * path that was opened or looked up, root included, symlinks resolved (malloc'd, also on
 * failure when known; NULL otherwise).
 */
int tli_open_regular_in(const char *root, const char *path, struct stat *st, char **resolved);

/** tli_open_regular_in without the open: 0 and *st (lstat of the file) if `path` inside
 *  root is a regular file, else -1 with errno; nothing but directories is opened. */
int tli_stat_regular_in(const char *root, const char *path, struct stat *st, char **resolved);

/**
 * Write `len` bytes to a NEW file `path` (an output the user named: a profile, a snapshot),
 * mode 0600 (less if the umask says so), never through a symlink: open(O_CREAT | O_EXCL |
 * O_NOFOLLOW), so a planted symlink, even a dangling one, and an existing file are refused.
 * With `force` an existing REGULAR file is replaced atomically instead: the bytes go to a
 * temporary file in the same directory (mkostemp, 0600), which is then renamed over `path`
 * (rename replaces a symlink swapped in meanwhile, it never follows it); anything else at
 * `path` (symlink, directory, FIFO) is still refused. A failed write leaves no file behind.
 * Errors name the path: TLI_E_USAGE (exists, not a regular file, no such directory),
 * TLI_E_PERM (EACCES, EPERM, EROFS), TLI_E_NOMEM.
 */
struct tli_error *tli_file_write_new(const char *path, const void *data, size_t len, bool force);

#endif
