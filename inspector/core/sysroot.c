/* SPDX-License-Identifier: MIT */
/**
 * @file sysroot.c
 * A --sysroot of one directory or of an image's unpacked layers, merged as a container
 * runtime would (see sysroot.h). The merged view is walked one name at a time: the layers
 * that contribute to the current directory are known, a name is looked up in them top
 * first (lstat only: nothing is opened while walking), a whiteout ends the search, a
 * directory's contributors are the layers from the one that has it down to an opaque one or
 * to one where the name is something else or whited out, a symlink's text restarts the walk
 * (from the root for an absolute one; ".." never climbs above it), at most 40 of them.
 * The file found is opened with tli_open_regular_in inside its own layer, which checks
 * again that every component is a directory and the file a regular one.
 */
#include "sysroot.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define MAX_LINKS 40
#define MAX_STEPS 4096 /* names looked up in one walk: ".." re-walks are bounded too */

size_t tli_sysroot_layers(const char *sysroot, const char *dirs[TLI_SYSROOT_MAX_LAYERS], char **buf)
{
	struct stat st;
	*buf = NULL;
	if (!sysroot || !*sysroot)
		return 0;
	if (!strchr(sysroot, ':') || (stat(sysroot, &st) == 0 && S_ISDIR(st.st_mode))) {
		dirs[0] = sysroot;
		return 1;
	}
	if (!(*buf = strdup(sysroot)))
		return 0;
	size_t n = 0;
	char *save = NULL;
	for (char *p = strtok_r(*buf, ":", &save); p && n < TLI_SYSROOT_MAX_LAYERS; p = strtok_r(NULL, ":", &save))
		dirs[n++] = p;
	return n;
}

struct merged {
	const char **dirs;
	size_t n;
	bool contrib[TLI_SYSROOT_MAX_LAYERS]; /* layers whose copy of cur is part of the merged directory */
	char cur[PATH_MAX];                   /* the merged directory walked so far ("" = the root) */
};

static bool lexists(const char *dir, const char *cur, const char *pre, const char *name, struct stat *st)
{
	char p[PATH_MAX * 2 + 8];
	struct stat tmp;
	if ((size_t)snprintf(p, sizeof(p), "%s%s/%s%s", dir, cur, pre, name) >= sizeof(p))
		return false;
	return lstat(p, st ? st : &tmp) == 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0; /* overlayfs' own form */
}

/* The layers of cur/name, a directory found first in layer `top`. */
static void enter_dir(struct merged *m, size_t top, const char *name)
{
	bool next[TLI_SYSROOT_MAX_LAYERS] = { false };
	next[top] = true;
	char sub[PATH_MAX + NAME_MAX + 2];
	snprintf(sub, sizeof(sub), "%s/%s", m->cur, name);
	bool stop = lexists(m->dirs[top], sub, "", ".wh..wh..opq", NULL);
	for (size_t k = top + 1; k < m->n && !stop; k++) {
		struct stat st;
		if (!m->contrib[k])
			continue;
		if (lexists(m->dirs[k], m->cur, ".wh.", name, NULL))
			break;
		if (!lexists(m->dirs[k], m->cur, "", name, &st))
			continue;
		if (!S_ISDIR(st.st_mode))
			break; /* a file (or whiteout) there: nothing below shows through */
		next[k] = true;
		stop = lexists(m->dirs[k], sub, "", ".wh..wh..opq", NULL);
	}
	memcpy(m->contrib, next, sizeof(next));
	memcpy(m->cur, sub, sizeof(m->cur) - 1); /* fits: walk() checked the length */
	m->cur[sizeof(m->cur) - 1] = 0;
}

static void to_root(struct merged *m)
{
	m->cur[0] = 0;
	for (size_t i = 0; i < m->n; i++)
		m->contrib[i] = true;
}

/* Walk `path` in the merged view: the layer holding the regular file it names, its path in
 * that layer (relative to the layer, in out), or -1 with errno. */
static int walk(struct merged *m, const char *path, char *out, size_t cap)
{
	char rest[PATH_MAX * 2];
	unsigned links = 0, steps = 0;
	if ((size_t)snprintf(rest, sizeof(rest), "%s", path) >= sizeof(rest))
		return errno = ENAMETOOLONG, -1;
	to_root(m);
	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return errno = EINVAL, -1; /* a directory */
		if (++steps > MAX_STEPS)
			return errno = ELOOP, -1;
		char name[NAME_MAX + 1];
		size_t len = strcspn(p, "/");
		if (len > NAME_MAX)
			return errno = ENAMETOOLONG, -1;
		memcpy(name, p, len);
		name[len] = 0;
		p += len;
		bool last = !p[strspn(p, "/")];
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) { /* the parent: re-walked from the root, never above it */
			char again[PATH_MAX * 2];
			char *slash = strrchr(m->cur, '/');
			if (slash)
				*slash = 0;
			if ((size_t)snprintf(again, sizeof(again), "%s/%s", m->cur, p) >= sizeof(again))
				return errno = ENAMETOOLONG, -1;
			memcpy(rest, again, sizeof(again) < sizeof(rest) ? sizeof(again) : sizeof(rest));
			p = rest;
			to_root(m);
			continue;
		}
		long found = -1;
		struct stat st;
		for (size_t i = 0; i < m->n && found < 0; i++) {
			if (!m->contrib[i])
				continue;
			if (lexists(m->dirs[i], m->cur, ".wh.", name, NULL))
				break;
			if (lexists(m->dirs[i], m->cur, "", name, &st)) {
				if (is_whiteout(&st))
					break;
				found = (long)i;
			}
		}
		if (found < 0)
			return errno = ENOENT, -1;
		if (S_ISLNK(st.st_mode)) {
			char lp[PATH_MAX * 2 + 8], target[PATH_MAX], again[PATH_MAX * 2];
			if (++links > MAX_LINKS)
				return errno = ELOOP, -1;
			snprintf(lp, sizeof(lp), "%s%s/%s", m->dirs[found], m->cur, name);
			ssize_t n = readlink(lp, target, sizeof(target) - 1);
			if (n <= 0)
				return errno = n < 0 ? errno : ENOENT, -1;
			target[n] = 0;
			if ((size_t)snprintf(again, sizeof(again), "%s%s%s/%s", target[0] == '/' ? "" : m->cur,
					     target[0] == '/' ? "" : "/", target, p) >= sizeof(again))
				return errno = ENAMETOOLONG, -1;
			memcpy(rest, again, sizeof(rest));
			p = rest;
			to_root(m);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (last)
				return errno = EINVAL, -1;
			if (strlen(m->cur) + len + 2 > sizeof(m->cur))
				return errno = ENAMETOOLONG, -1;
			enter_dir(m, (size_t)found, name);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			return errno = EINVAL, -1;
		if (!last)
			return errno = ENOTDIR, -1;
		if ((size_t)snprintf(out, cap, "%s/%s", m->cur, name) >= cap)
			return errno = ENAMETOOLONG, -1;
		return (int)found;
	}
}

static int in_sysroot(const char *sysroot, const char *path, struct stat *st, char **resolved, int *layer,
		      bool stat_only)
{
	const char *dirs[TLI_SYSROOT_MAX_LAYERS];
	char *buf;
	if (layer)
		*layer = -1;
	if (resolved)
		*resolved = NULL;
	size_t n = tli_sysroot_layers(sysroot, dirs, &buf);
	if (n <= 1) {
		int r = stat_only ? tli_stat_regular_in(n ? dirs[0] : NULL, path, st, resolved)
				  : tli_open_regular_in(n ? dirs[0] : NULL, path, st, resolved);
		if (r >= 0 && layer && n)
			*layer = 0;
		return r;
	}
	struct merged m = { .dirs = dirs, .n = n };
	char in_layer[PATH_MAX];
	int l = walk(&m, path, in_layer, sizeof(in_layer));
	int r = -1;
	if (l >= 0) {
		r = stat_only ? tli_stat_regular_in(dirs[l], in_layer, st, resolved)
			      : tli_open_regular_in(dirs[l], in_layer, st, resolved);
		if (r >= 0 && layer)
			*layer = l;
	}
	int e = errno;
	free(buf);
	errno = e;
	return r;
}

int tli_sysroot_open(const char *sysroot, const char *path, struct stat *st, char **resolved, int *layer)
{
	return in_sysroot(sysroot, path, st, resolved, layer, false);
}

int tli_sysroot_stat(const char *sysroot, const char *path, struct stat *st, char **resolved, int *layer)
{
	return in_sysroot(sysroot, path, st, resolved, layer, true);
}

size_t tli_debug_dirs_for(const char *root, const char *sysroot, const char **dirs, size_t cap, char **buf)
{
	const char *layers[TLI_SYSROOT_MAX_LAYERS];
	char *lbuf = NULL;
	size_t nl = root ? 1 : tli_sysroot_layers(sysroot, layers, &lbuf);
	if (root)
		layers[0] = root;
	size_t n = 0, total = 1;
	for (size_t i = 0; i < nl; i++)
		total += strlen(layers[i]) + sizeof("/usr/lib/debug");
	char *o = *buf = malloc(total);
	if (o) {
		for (size_t i = 0; i < nl && n + 1 < cap; i++) {
			dirs[n++] = o;
			o += sprintf(o, "%s/usr/lib/debug", layers[i]) + 1;
		}
	}
	free(lbuf);
	dirs[n++] = "/usr/lib/debug";
	return n;
}

static bool under(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	while (l > 1 && dir[l - 1] == '/')
		l--;
	return l && !strncmp(path, dir, l) && (path[l] == '/' || !path[l]);
}

const char *tli_file_origin(const char *path, const char *root, const char *sysroot, char *buf, size_t cap)
{
	const char *dirs[TLI_SYSROOT_MAX_LAYERS];
	char *lbuf;
	size_t n = tli_sysroot_layers(sysroot, dirs, &lbuf);
	if (root && path && under(path, root))
		snprintf(buf, cap, "the target's root");
	else
		snprintf(buf, cap, "the host");
	for (size_t i = 0; path && i < n; i++) {
		if (!under(path, dirs[i]))
			continue;
		if (n == 1)
			snprintf(buf, cap, "sysroot (%s)", dirs[i]);
		else
			snprintf(buf, cap, "sysroot layer %zu (%s)", i, dirs[i]);
		break;
	}
	free(lbuf);
	return buf;
}
