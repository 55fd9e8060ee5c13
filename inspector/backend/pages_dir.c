/* SPDX-License-Identifier: MIT */
/**
 * @file pages_dir.c
 * The page directory of the page-request backend: opening it (it must be
 * private: gdb runs the commands written there), reading and atomically
 * writing its files, DIR/context.txt, and emptying a gdb-managed directory.
 */
#include "pages_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONTEXT (8u << 20) /* DIR/context.txt */

int tli_pages_slurp_at(int dirfd, const char *name, size_t max, char **ret, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EINVAL;
	}
	/* st_size is a hint (0 for /proc files): read to the end, at most max bytes */
	size_t want = (size_t)st.st_size > max ? max : (size_t)st.st_size;
	size_t cap = want ? want : (max < 4096 ? max : 4096);
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				break;
			size_t nc = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, nc + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return ENOMEM;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	*ret = buf;
	*len = n;
	return 0;
}

int tli_pages_write_at(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno;
	size_t n = 0;
	while (n < len) {
		ssize_t k = write(fd, data + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			close(fd);
			unlinkat(dirfd, tmp, 0);
			return e;
		}
		n += (size_t)k;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return e;
	}
	return 0;
}

/* Open DIR and check that nobody else can change it (we source files from it). */
static struct tli_error *open_private_dir(const char *dir, int *ret)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tli_error_errno(errno == ENOENT ? TLI_E_NO_TARGET : TLI_E_PERM, errno,
				       "cannot open page directory %s", dir);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return tli_error_errno(TLI_E_INTERNAL, e, "fstat of page directory %s", dir);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return tli_error_create(TLI_E_PERM,
					"page directory %s must be owned by uid %u and not writable by "
					"others (owner %u, mode %04o): gdb runs the commands written there",
					dir, (unsigned)geteuid(), (unsigned)st.st_uid,
					(unsigned)(st.st_mode & 07777));
	}
	*ret = fd;
	return NULL;
}

struct tli_error *tli_pages_open_dir(const char *dir, char **abs_ret, int *dirfd)
{
	if (!dir || !*dir)
		return tli_error_create(TLI_E_USAGE, "--pages needs a directory");
	char *abs = realpath(dir, NULL);
	if (!abs)
		return tli_error_errno(TLI_E_NO_TARGET, errno, "page directory %s", dir);
	for (const char *c = abs; *c; c++)
		if (isspace((unsigned char)*c) || *c == '"' || *c == '\'' || *c == '\\' || !isprint((unsigned char)*c)) {
			struct tli_error *e = tli_error_create(TLI_E_USAGE,
							       "page directory %s: the path must not contain "
							       "blanks, quotes or backslashes (gdb reads it unquoted)",
							       abs);
			free(abs);
			return e;
		}
	struct tli_error *err = open_private_dir(abs, dirfd);
	if (err) {
		free(abs);
		return err;
	}
	*abs_ret = abs;
	return NULL;
}

struct tli_error *tli_pages_read_description(const char *dir, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	char *abs;
	int dirfd;
	struct tli_error *err = tli_pages_open_dir(dir, &abs, &dirfd);
	if (err)
		return err;
	int e = tli_pages_slurp_at(dirfd, "context.txt", MAX_CONTEXT, text, len);
	if (e && e != ENOENT)
		err = tli_error_errno(TLI_E_INTERNAL, e, "reading %s/context.txt", abs);
	close(dirfd);
	free(abs);
	return err;
}

void tli_pages_clear_dir(int dirfd, bool keep_owner)
{
	int dfd = dup(dirfd);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	rewinddir(d);
	struct dirent *de;
	unsigned n = 0;
	while ((de = readdir(d)) && n++ < 4000000) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (keep_owner && !strcmp(de->d_name, "owner"))
			continue;
		unlinkat(dirfd, de->d_name, 0); /* files only: a subdirectory stays */
	}
	closedir(d);
}
