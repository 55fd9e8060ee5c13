/* SPDX-License-Identifier: MIT */
/*
 * The layout cache (opt-in: TLINSPECT_LAYOUT_CACHE=1, which the gdb/lldb faces set).
 *
 * A debugger face runs the engine once per command, and on a Go binary most of the
 * engine's start-up is decompressing and indexing DWARF (~20 ms for a small program)
 * to answer the same few hundred layout queries as last time. With the cache on, the
 * answers of a run (found or not, see tli_layout_save_answers) are written to
 * $TLINSPECT_CACHE_DIR, else $XDG_CACHE_HOME/tlinspect, else ~/.cache/tlinspect, in a file
 * named after a stamp of the executable (its build-id, GNU's or else Go's, and size; only
 * without either, device, inode, size and mtime) and of the tlinspect binary itself. Never
 * its path: in a container the executable is read as /proc/PID/exe, and the same path on
 * two hosts or in two images is routinely two different programs; the next run with the same stamp loads them first and opens
 * DWARF only if a query is not among them. Same binary, same tool: same answers.
 * Failures to read or write the cache are silent (it is only a cache). The cache is used
 * only through a trusted directory chain (trusted_dir below), read and written relative to
 * it with O_NOFOLLOW, so a planted symlink or another user's directory never redirects a
 * write or feeds a read; a damaged file is refused as a whole.
 */
#include "open.h"

#include "core/hash.h"
#include "runtime_maps/maps.h"

#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define CACHE_MAX (4u << 20)

bool tli_session_cache_wanted(void)
{
	const char *e = getenv("TLINSPECT_LAYOUT_CACHE");
	return e && *e && strcmp(e, "0") != 0;
}

static bool cache_dir(char *buf, size_t cap)
{
	const char *d = getenv("TLINSPECT_CACHE_DIR");
	if (d && *d)
		return (size_t)snprintf(buf, cap, "%s", d) < cap;
	d = getenv("XDG_CACHE_HOME");
	if (d && *d)
		return (size_t)snprintf(buf, cap, "%s/tlinspect", d) < cap;
	d = getenv("HOME");
	if (d && *d)
		return (size_t)snprintf(buf, cap, "%s/.cache/tlinspect", d) < cap;
	return false;
}

/* The executable's identity: "build-id gnu:HEX" or "build-id go:HEX" (the first note
 * found), else its inode stamp "inode DEV:INO SIZE MTIME". The fd is the one stat'd. */
static bool exe_identity(const char *exe, char *buf, size_t cap)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat se;
	if (fd < 0)
		return false;
	if (fstat(fd, &se) || !S_ISREG(se.st_mode)) {
		close(fd);
		return false;
	}
	int k = snprintf(buf, cap, "inode %llu:%llu %lld %lld.%09ld", (unsigned long long)se.st_dev,
			 (unsigned long long)se.st_ino, (long long)se.st_size, (long long)se.st_mtim.tv_sec,
			 se.st_mtim.tv_nsec);
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL;
	bool found = false;
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
			continue;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;
		while (!found && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			const char *name = (const char *)d->d_buf + noff;
			bool gnu = nh.n_namesz == 4 && !memcmp(name, "GNU", 4) && nh.n_type == NT_GNU_BUILD_ID;
			bool go = nh.n_namesz == 3 && !memcmp(name, "Go", 3) && nh.n_type == 4;
			if ((!gnu && !go) || !nh.n_descsz || nh.n_descsz > 256)
				continue;
			k = snprintf(buf, cap, "build-id %s:", gnu ? "gnu" : "go");
			const unsigned char *p = (const unsigned char *)d->d_buf + doff;
			for (size_t i = 0; i < nh.n_descsz && k > 0 && (size_t)k + 3 < cap; i++)
				k += snprintf(buf + k, cap - (size_t)k, "%02x", p[i]);
			if (k > 0 && (size_t)k + 24 < cap)
				snprintf(buf + k, cap - (size_t)k, " size %lld", (long long)se.st_size);
			found = true;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return k > 0 && (size_t)k < cap;
}

/* stamp + path for exe; false if the cache cannot be used */
static bool stamp_of(const char *exe, char **stamp, char **path)
{
	struct stat st;
	char self[PATH_MAX], dir[PATH_MAX], id[700];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !exe_identity(exe, id, sizeof(id)) || !cache_dir(dir, sizeof(dir)))
		return false;
	self[n] = 0;
	if (stat(self, &st))
		return false;
	char *sp = NULL;
	const char *maps = tli_maps_env_dir();
	if (asprintf(&sp, "exe %s tool %lld %lld.%09ld maps %s", id, (long long)st.st_size,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, maps ? maps : "-") < 0)
		return false;
	if (strchr(sp, '\n')) {
		free(sp);
		return false;
	}
	char *pp = NULL;
	if (asprintf(&pp, "%s/layout-%016llx.txt", dir, (unsigned long long)tli_fnv1a(sp)) < 0) {
		free(sp);
		return false;
	}
	*stamp = sp;
	*path = pp;
	return true;
}

/*
 * Open directory `dir` (relative: to the working directory) for the cache, walking it component by component from
 * "/" with O_NOFOLLOW: no component may be a symlink; each must be owned by root or by us,
 * and one that others may write must be root's and sticky (/tmp); the last one must be
 * ours and writable by nobody else. With `create`, missing components are made (0700) —
 * only inside directories that passed those checks. Returns a directory fd or -1.
 */
static int trusted_dir(const char *dir, bool create)
{
	char path[PATH_MAX], cwd[PATH_MAX];
	if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir[0] == '/' ? "" : cwd, dir[0] == '/' ? "" : "/",
			     dir) >= sizeof(path))
		return -1;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uid_t me = geteuid();
	for (char *name = path + 1, *next; fd >= 0 && name && *name; name = next) {
		next = strchr(name, '/');
		if (next)
			*next++ = 0;
		if (!*name || !strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			close(fd);
			return -1;
		}
		int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && create && mkdirat(fd, name, 0700) == 0)
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
		struct stat st;
		if (fd < 0 || fstat(fd, &st) || (st.st_uid != me && st.st_uid != 0) ||
		    ((st.st_mode & 022) && !(st.st_uid == 0 && (st.st_mode & S_ISVTX)))) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) || st.st_uid != me || (st.st_mode & 022))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Split the session's cache path into its directory (copied to dir) and file name. */
static const char *split_path(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= cap)
		return NULL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	return slash + 1;
}

/* Read the cache file for this session's stamp; text (malloc'd) or NULL. */
char *tli_session_cache_read(struct tli_session *s, const char *exe, size_t *len)
{
	free(s->cache_stamp);
	free(s->cache_path);
	s->cache_stamp = s->cache_path = NULL;
	if (!stamp_of(exe, &s->cache_stamp, &s->cache_path))
		return NULL;
	char dir[PATH_MAX];
	const char *name = split_path(s->cache_path, dir, sizeof(dir));
	/* only a file of ours, in a directory chain nobody else controls, that nobody else
	 * may write: another user's cache could lie about layouts (e.g. root with an inherited HOME) */
	int dfd = name ? trusted_dir(dir, false) : -1;
	if (dfd < 0)
		return NULL;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022) &&
	    st.st_size > 0 && st.st_size <= CACHE_MAX &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[got] = 0;
			*len = got;
		}
	}
	close(fd);
	return buf;
}

void tli_session_cache_save(struct tli_session *s)
{
	if (!s || !s->cache_on || !s->layout || !s->cache_path || !s->cache_stamp ||
	    tli_layout_answer_count(s->layout) <= s->cache_loaded)
		return;
	char dir[PATH_MAX];
	const char *name = split_path(s->cache_path, dir, sizeof(dir));
	/* mkdir -p of the cache directory (0700: it names the executables inspected), through
	 * trusted directories only; the same checks as for reading */
	int dfd = name ? trusted_dir(dir, true) : -1;
	if (dfd < 0)
		return;
	char tmp[NAME_MAX + 1];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", name, (int)getpid()) >= sizeof(tmp)) {
		close(dfd);
		return;
	}
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		close(dfd);
		return;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return;
	}
	struct tli_error *e = tli_layout_save_answers(s->layout, s->cache_stamp, f);
	bool ok = !tli_error_drop(e) && fflush(f) == 0;
	if (fclose(f) != 0)
		ok = false;
	if (!ok || renameat(dfd, tmp, dfd, name) != 0)
		unlinkat(dfd, tmp, 0);
	close(dfd);
}
