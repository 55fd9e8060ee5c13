/* SPDX-License-Identifier: MIT */
/** @file fileio.h  Opening files whose names come from untrusted places (cores, gdb, /proc). */
#ifndef TLI_CORE_FILEIO_H
#define TLI_CORE_FILEIO_H

/**
 * open(path, O_RDONLY | O_CLOEXEC) for a REGULAR file only: a FIFO, device or
 * directory named by a crafted core (NT_FILE), by gdb's mapping list or by the
 * user would block or mislead the readers, so it is refused with errno EINVAL
 * (opened with O_NONBLOCK first, so a FIFO cannot hang us). Returns the fd
 * (blocking mode restored) or -1 with errno set.
 */
int tli_open_regular(const char *path);

#endif
