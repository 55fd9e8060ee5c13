/* SPDX-License-Identifier: MIT */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fd (opened O_NONBLOCK) is the regular file `before` described; else close it, EINVAL. */
static int confirm_same(int fd, const struct stat *before, struct stat *after)
{
	int e = fstat(fd, after) != 0 ? errno : 0;
	if (!e && (!S_ISREG(after->st_mode) || after->st_dev != before->st_dev ||
		   after->st_ino != before->st_ino))
		e = EINVAL; /* swapped between the check and the open */
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int tli_open_regular(const char *path)
{
	struct stat pre, st;
	if (stat(path, &pre) != 0)
		return -1;
	if (!S_ISREG(pre.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (confirm_same(fd, &pre, &st) < 0)
		return -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

#define IN_ROOT_LINKS 40   /* as the kernel's MAXSYMLINKS */
#define IN_ROOT_DEPTH 128
#define IN_ROOT_PATH  8192

/* The walk of tli_open_regular_in: the directories entered from root (fd[0]), and the
 * resolved path (res[0..rlen)), whose length at each depth is nlen[depth]. */
struct in_root {
	int fd[IN_ROOT_DEPTH + 1];
	size_t nlen[IN_ROOT_DEPTH + 1];
	int depth;
	char res[IN_ROOT_PATH];
	size_t rlen;
	char *rest, *tmp; /* what is left to resolve, and a spare buffer (IN_ROOT_PATH each) */
	size_t p;         /* position in rest */
	int links;
	bool no_open;     /* tli_stat_regular_in: find the file, do not open it */
};

static void pop_to(struct in_root *w, int depth)
{
	while (w->depth > depth)
		close(w->fd[w->depth--]);
	w->rlen = w->nlen[w->depth];
}

static bool res_append(struct in_root *w, const char *comp)
{
	size_t n = strlen(comp);
	if (w->rlen + 1 + n >= sizeof(w->res))
		return false;
	w->res[w->rlen++] = '/';
	memcpy(w->res + w->rlen, comp, n);
	w->rlen += n;
	return true;
}

/* A symlink at comp: what it says goes in front of the rest; absolute = from root. 0 or errno. */
static int follow_link(struct in_root *w, const char *comp)
{
	if (++w->links > IN_ROOT_LINKS)
		return ELOOP;
	ssize_t n = readlinkat(w->fd[w->depth], comp, w->tmp, IN_ROOT_PATH - 1);
	if (n <= 0)
		return n < 0 ? errno : ENOENT;
	size_t remain = strlen(w->rest + w->p);
	if ((size_t)n + remain >= IN_ROOT_PATH)
		return ENAMETOOLONG;
	memcpy(w->tmp + n, w->rest + w->p, remain + 1); /* the rest starts with '/' or is empty */
	char *x = w->rest;
	w->rest = w->tmp;
	w->tmp = x;
	w->p = 0;
	if (w->rest[0] == '/')
		pop_to(w, 0);
	return 0;
}

/* One component of the walk: 0 = go on, 1 = *fd is the file, else an errno. */
static int step(struct in_root *w, const char *comp, bool last, struct stat *st, int *fd)
{
	if (!strcmp(comp, "."))
		return last ? EINVAL : 0;
	if (!strcmp(comp, "..")) {
		if (w->depth)
			pop_to(w, w->depth - 1);
		return last ? EINVAL : 0;
	}
	struct stat ls;
	size_t before = w->rlen;
	if (!res_append(w, comp))
		return ENAMETOOLONG;
	if (fstatat(w->fd[w->depth], comp, &ls, AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	if (S_ISLNK(ls.st_mode)) {
		w->rlen = before; /* the link's name is not part of where it leads */
		return follow_link(w, comp);
	}
	if (S_ISDIR(ls.st_mode)) {
		if (last)
			return EINVAL;
		if (w->depth == IN_ROOT_DEPTH)
			return ENAMETOOLONG;
		int d = openat(w->fd[w->depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0)
			return errno;
		w->fd[++w->depth] = d;
		w->nlen[w->depth] = w->rlen;
		return 0;
	}
	if (!S_ISREG(ls.st_mode)) /* FIFO, device, socket: never opened */
		return EINVAL;
	if (!last)
		return ENOTDIR;
	if (w->no_open) {
		*st = ls;
		*fd = -1;
		return 1;
	}
	int f = openat(w->fd[w->depth], comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f < 0)
		return errno;
	if (confirm_same(f, &ls, st) < 0)
		return errno;
	*fd = f;
	return 1;
}

static int walk(struct in_root *w, const char *path, struct stat *st)
{
	if (strlen(path) >= IN_ROOT_PATH)
		return ENAMETOOLONG;
	strcpy(w->rest, path);
	for (;;) {
		while (w->rest[w->p] == '/')
			w->p++;
		if (!w->rest[w->p])
			return EINVAL; /* names a directory */
		size_t q = w->p;
		while (w->rest[q] && w->rest[q] != '/')
			q++;
		char comp[NAME_MAX + 1];
		if (q - w->p > NAME_MAX)
			return ENAMETOOLONG;
		memcpy(comp, w->rest + w->p, q - w->p);
		comp[q - w->p] = 0;
		w->p = q;
		size_t after = q;
		while (w->rest[after] == '/')
			after++;
		int fd = -1;
		int r = step(w, comp, !w->rest[after], st, &fd);
		if (r == 1)
			return -fd - 2; /* negative: an fd, or -1 (no_open) */
		if (r) { /* the path it was after, for messages: what is left as it stands */
			size_t n = strlen(w->rest + q);
			if (w->rlen + n < sizeof(w->res)) {
				memcpy(w->res + w->rlen, w->rest + q, n);
				w->rlen += n;
			}
			return r;
		}
	}
}

static int in_root(const char *root, const char *path, struct stat *st, char **resolved, bool no_open)
{
	if (resolved)
		*resolved = NULL;
	if (!root || !*root)
		root = "/";
	size_t rootlen = strlen(root);
	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;
	if (rootlen == 1 && root[0] == '/')
		rootlen = 0; /* components follow as "/name" */
	struct in_root *w = calloc(1, sizeof(*w));
	char *b1 = malloc(IN_ROOT_PATH), *b2 = malloc(IN_ROOT_PATH);
	int err = 0, fd = -1;
	if (!w || !b1 || !b2 || rootlen >= sizeof(w->res)) {
		err = w && b1 && b2 ? ENAMETOOLONG : ENOMEM;
		goto out;
	}
	w->rest = b1;
	w->tmp = b2;
	w->no_open = no_open;
	memcpy(w->res, root, rootlen);
	w->rlen = w->nlen[0] = rootlen;
	w->fd[0] = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->fd[0] < 0) {
		err = errno;
		goto out;
	}
	int r = walk(w, path, st);
	if (r < 0)
		fd = -r - 2;
	else
		err = r;
	if (resolved && (*resolved = malloc(w->rlen + 2))) {
		memcpy(*resolved, w->res, w->rlen);
		if (!w->rlen)
			(*resolved)[w->rlen++] = '/';
		(*resolved)[w->rlen] = 0;
	}
	pop_to(w, 0);
	close(w->fd[0]);
out:
	free(b1); /* w->rest and w->tmp are b1 and b2, maybe swapped */
	free(b2);
	free(w);
	errno = err;
	return err ? -1 : no_open ? 0 : fd;
}

int tli_open_regular_in(const char *root, const char *path, struct stat *st, char **resolved)
{
	return in_root(root, path, st, resolved, false);
}

int tli_stat_regular_in(const char *root, const char *path, struct stat *st, char **resolved)
{
	return in_root(root, path, st, resolved, true);
}

/* An output file the user named: permission problems are theirs to fix (exit 4), the rest is a
 * bad name (exit 2); tli_error_errno turns ENOMEM into exit 13 itself. */
static enum tli_errcode out_code(int e)
{
	return (e == EACCES || e == EPERM || e == EROFS) ? TLI_E_PERM : TLI_E_USAGE;
}

/* Write everything, then close; -1 with errno on the first failure (fd closed either way). */
static int fill_and_close(int fd, const void *data, size_t len)
{
	const char *p = data;
	int e = 0;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0 && !e)
		e = errno;   /* NFS and full disks report here */
	errno = e;
	return e ? -1 : 0;
}

/* force over an existing regular file: a temporary file beside it, renamed over it */
static struct tli_error *replace_atomically(const char *path, const void *data, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (!tmp)
		return tli_error_errno(TLI_E_NOMEM, ENOMEM, "cannot replace %s", path);
	/* ".NAME.XXXXXX" in the same directory, so rename(2) stays within one file system */
	snprintf(tmp, n, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	int fd = mkostemp(tmp, O_CLOEXEC);   /* O_CREAT | O_EXCL, mode 0600 */
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return tli_error_errno(out_code(e), e, "cannot create a temporary file beside %s", path);
	}
	if (fill_and_close(fd, data, len) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		return tli_error_errno(out_code(e), e, "cannot replace %s", path);
	}
	free(tmp);
	return NULL;
}

struct tli_error *tli_file_write_new(const char *path, const void *data, size_t len, bool force)
{
	if (!path || !*path)
		return tli_error_create(TLI_E_USAGE, "no output file named");
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!force)
			return tli_error_create(TLI_E_USAGE, "%s already exists (--force replaces it)", path);
		if (!S_ISREG(st.st_mode))
			return tli_error_create(TLI_E_USAGE, "%s is not a regular file (a symlink, directory or "
						"device is never written through nor replaced)", path);
		return replace_atomically(path, data, len);
	}
	if (errno != ENOENT)
		return tli_error_errno(out_code(errno), errno, "cannot create %s", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)   /* appeared since the lstat (or a dangling symlink) */
			return tli_error_create(TLI_E_USAGE, "%s already exists (--force replaces it)", path);
		return tli_error_errno(out_code(errno), errno, "cannot create %s", path);
	}
	if (fill_and_close(fd, data, len) != 0) {
		int e = errno;
		unlink(path);   /* ours: created by the open above; no half-written output stays */
		return tli_error_errno(out_code(e), e, "cannot write %s", path);
	}
	return NULL;
}
