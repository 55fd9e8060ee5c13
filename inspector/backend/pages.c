/* SPDX-License-Identifier: MIT */
/**
 * @file pages.c
 * Page-request target: the memory of a live process that gdb holds, when the
 * kernel lets gdb read it but not tlinspect (gdb's CAP_SYS_PTRACE is not
 * inherited, the target runs as another user, Yama 1 with `gdb prog` + `run`).
 *
 * The target reads memory only from files in a directory DIR:
 *
 *   DIR/<start>-<len>.bin   bytes [start, start+len) of the process (hex names),
 *                           written by gdb's `dump binary memory`
 *   DIR/requested           runs asked for in earlier rounds ("start len" per line)
 *   DIR/request.gdb         written by us: the runs this round missed, as
 *                           `frame apply 1 -s dump binary memory ...` lines
 *   DIR/context.txt         optional: the debugger's description of the process
 *                           (tli_pages_read_description; parsed by the face)
 *   DIR/owner               gdb-managed directories only (tli_pages_gdb_slot)
 *
 * A read of a page that is neither present nor requested before records the
 * page as missing and fails like an unmapped read (EFAULT), so the walkers go
 * on and degrade per item: one run collects every page of the current pointer
 * depth. A page requested before and still absent is unreadable for good,
 * which bounds the number of rounds by the pointer depth of the walk.
 *
 * The process itself comes as plain data (struct tli_pages_process): pid and
 * executable, AT_ENTRY/AT_PHDR (PIE bias), the mappings (libc's path and bias,
 * plausibility checks) and every thread's registers (running goroutines,
 * fs_base for glibc's tcache). The face extracts it from the debugger's text
 * (gdb's: cli/gdbhint.c, from its stdin or DIR/context.txt). It is untrusted.
 *
 * Never writes to the target; writes only inside DIR, which must be owned by
 * us and not writable by others.
 */
#include "pages.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define PAGE 4096ull
#define PAGE_MASK (~(PAGE - 1))
/* bounds: hostile or huge inputs stay bounded */
#define MAX_RUNS (1u << 20)               /* page files loaded */
#define MAX_LOADED (4ull << 30)            /* bytes loaded from page files */
#define MAX_MISSING (1u << 16)             /* pages requested per round (256 MiB) */
#define MAX_REQUESTED_LINES (1u << 22)
#define MAX_CONTEXT (8u << 20)               /* DIR/context.txt */

struct run {
	uint64_t addr, len;
	unsigned char *data; /* NULL: not loaded (bad size) */
};

struct span {
	uint64_t a, b;
};

struct pages {
	int dirfd;
	char *dir;            /* absolute path (goes into request.gdb) */
	struct run *runs;     /* sorted by addr, non-overlapping */
	size_t nruns;
	struct span *bad;     /* requested before: sorted, merged */
	size_t nbad;
	uint64_t *miss;       /* pages missed in this run (unsorted, duplicates) */
	size_t nmiss, capmiss;
	bool miss_truncated;
	bool gdb_managed;     /* DIR/owner exists: clean up when the command completes */
	uint64_t loaded;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static int u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int runcmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int spancmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return (x->a > y->a) - (x->a < y->a);
}

/* Read a whole file relative to dirfd (bounded). 0 or errno. */
static int slurp_at(int dirfd, const char *name, size_t max, char **ret, size_t *len)
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

/* Write a whole file in dirfd atomically (tmp + rename). 0 or errno. */
static int write_at(int dirfd, const char *name, const char *data, size_t len)
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

/* ------------------------------------------------------------------ */
/* page files                                                          */

/* "<hex>-<hex>.bin" -> addr, len */
static bool parse_run_name(const char *n, uint64_t *addr, uint64_t *len)
{
	char *e;
	if (!isxdigit((unsigned char)n[0]))
		return false;
	errno = 0;
	unsigned long long a = strtoull(n, &e, 16);
	if (errno || *e != '-' || !isxdigit((unsigned char)e[1]))
		return false;
	unsigned long long l = strtoull(e + 1, &e, 16);
	if (errno || strcmp(e, ".bin") || !l || l > (1ull << 32) || a + l < a || (a & ~PAGE_MASK) ||
	    (l & ~PAGE_MASK))
		return false;
	*addr = a;
	*len = l;
	return true;
}

static struct tli_error *load_runs(struct pages *P)
{
	int dfd = dup(P->dirfd);
	if (dfd < 0)
		return tli_error_errno(TLI_E_INTERNAL, errno, "dup");
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return tli_error_errno(TLI_E_INTERNAL, errno, "reading page directory %s", P->dir);
	}
	rewinddir(d);
	size_t cap = 0;
	struct dirent *de;
	struct tli_error *err = NULL;
	while ((de = readdir(d))) {
		uint64_t a, l;
		if (!parse_run_name(de->d_name, &a, &l))
			continue;
		if (P->nruns >= MAX_RUNS || P->loaded + l > MAX_LOADED)
			break;
		if (P->nruns == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct run *nr = realloc(P->runs, nc * sizeof(*nr));
			if (!nr) {
				err = &tli_enomem;
				break;
			}
			P->runs = nr;
			cap = nc;
		}
		char *buf;
		size_t got;
		if (slurp_at(P->dirfd, de->d_name, (size_t)l, &buf, &got))
			continue;
		if (got != l) { /* a partial dump: unusable */
			free(buf);
			continue;
		}
		P->runs[P->nruns++] = (struct run){ a, l, (unsigned char *)buf };
		P->loaded += l;
	}
	closedir(d);
	if (err)
		return err;
	if (P->nruns)
		qsort(P->runs, P->nruns, sizeof(*P->runs), runcmp);
	/* drop overlaps (only written by a hostile directory; keep the first) */
	size_t k = 0;
	for (size_t i = 0; i < P->nruns; i++) {
		if (k && P->runs[i].addr < P->runs[k - 1].addr + P->runs[k - 1].len) {
			free(P->runs[i].data);
			continue;
		}
		P->runs[k++] = P->runs[i];
	}
	P->nruns = k;
	return NULL;
}

static struct tli_error *load_requested(struct pages *P)
{
	char *buf;
	size_t len;
	int e = slurp_at(P->dirfd, "requested", 64u << 20, &buf, &len);
	if (e == ENOENT)
		return NULL;
	if (e)
		return tli_error_errno(TLI_E_INTERNAL, e, "reading %s/requested", P->dir);
	size_t cap = 0, lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l && lines < MAX_REQUESTED_LINES;
	     l = strtok_r(NULL, "\n", &save), lines++) {
		char *end;
		errno = 0;
		unsigned long long a = strtoull(l, &end, 16);
		unsigned long long n = strtoull(end, &end, 16);
		if (errno || !n || a + n < a)
			continue;
		if (P->nbad == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct span *ns = realloc(P->bad, nc * sizeof(*ns));
			if (!ns) {
				free(buf);
				return &tli_enomem;
			}
			P->bad = ns;
			cap = nc;
		}
		P->bad[P->nbad++] = (struct span){ a & PAGE_MASK, a + n };
	}
	free(buf);
	if (P->nbad)
		qsort(P->bad, P->nbad, sizeof(*P->bad), spancmp);
	size_t k = 0;
	for (size_t i = 0; i < P->nbad; i++) {
		if (k && P->bad[i].a <= P->bad[k - 1].b) {
			if (P->bad[i].b > P->bad[k - 1].b)
				P->bad[k - 1].b = P->bad[i].b;
			continue;
		}
		P->bad[k++] = P->bad[i];
	}
	P->nbad = k;
	return NULL;
}

/* Run containing addr, or NULL. */
static const struct run *find_run(const struct pages *P, uint64_t addr)
{
	size_t lo = 0, hi = P->nruns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct run *r = &P->runs[mid];
		if (addr < r->addr)
			hi = mid;
		else if (addr - r->addr >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static bool is_bad(const struct pages *P, uint64_t page)
{
	size_t lo = 0, hi = P->nbad;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (page < P->bad[mid].a)
			hi = mid;
		else if (page >= P->bad[mid].b)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static void add_miss(struct pages *P, uint64_t page)
{
	if (P->nmiss && P->miss[P->nmiss - 1] == page)
		return;
	if (P->nmiss >= MAX_MISSING) {
		P->miss_truncated = true;
		return;
	}
	if (P->nmiss == P->capmiss) {
		size_t nc = P->capmiss ? P->capmiss * 2 : 256;
		uint64_t *nm = realloc(P->miss, nc * sizeof(*nm));
		if (!nm) {
			P->miss_truncated = true;
			return;
		}
		P->miss = nm;
		P->capmiss = nc;
	}
	P->miss[P->nmiss++] = page;
}

/* Readable per the mappings gdb listed (true when none are known). */
static bool readable(const struct tli_target *t, uint64_t addr)
{
	if (!t->nmaps)
		return true;
	const struct tli_mapping *m = tli_target_find_mapping(t, addr);
	return m && (m->prot & TLI_PROT_R);
}

static struct tli_error *pages_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct pages *P = t->priv;
	for (size_t i = 0; i < n; i++) {
		struct tli_read *r = &reads[i];
		r->got = 0;
		r->err = 0;
		uint64_t a = r->addr, end = r->addr + r->len;
		if (end < a) {
			r->err = EFAULT;
			continue;
		}
		while (a < end) {
			const struct run *run = find_run(P, a);
			if (run) {
				uint64_t take = run->addr + run->len - a;
				if (take > end - a)
					take = end - a;
				memcpy((unsigned char *)r->buf + r->got, run->data + (a - run->addr), (size_t)take);
				r->got += (size_t)take;
				a += take;
				continue;
			}
			r->err = EFAULT;
			/* name every missing page of the rest of this read, up to the first
			 * one that cannot be had (unmapped, or requested before) */
			for (uint64_t p = a & PAGE_MASK; p < end && !P->miss_truncated; p += PAGE) {
				if (!readable(t, p) || is_bad(P, p))
					break;
				if (!find_run(P, p))
					add_miss(P, p);
				if (p + PAGE < p)
					break;
			}
			break;
		}
	}
	return NULL;
}

static void pages_destroy(struct tli_target *t)
{
	struct pages *P = t->priv;
	if (!P)
		return;
	for (size_t i = 0; i < P->nruns; i++)
		free(P->runs[i].data);
	free(P->runs);
	free(P->bad);
	free(P->miss);
	if (P->dirfd >= 0)
		close(P->dirfd);
	free(P->dir);
	free(P);
	t->priv = NULL;
}

static const struct tli_target_ops pages_ops = {
	.name = "gdb-pages",
	.read_many = pages_read_many,
	.release = NULL,
	.stop = NULL,
	.destroy = pages_destroy,
};

bool tli_pages_is(const struct tli_target *t)
{
	return t && t->ops == &pages_ops;
}

/* ------------------------------------------------------------------ */
/* the process as the debugger described it                           */

void tli_pages_process_free(struct tli_pages_process *p)
{
	if (!p)
		return;
	free(p->exe);
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	free(p->threads);
	memset(p, 0, sizeof(*p));
}

static int thread_cmp_main_first(const void *a, const void *b, void *arg)
{
	const struct tli_thread *x = a, *y = b;
	int pid = *(const int *)arg;
	if ((x->tid == pid) != (y->tid == pid))
		return x->tid == pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int map_cmp(const void *a, const void *b)
{
	const struct tli_mapping *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* The described mappings, sorted, without overlaps (untrusted text: the first kept). */
static struct tli_error *adopt_maps(struct tli_target *t, const struct tli_pages_process *d)
{
	if (!d->nmaps)
		return NULL;
	t->maps = calloc(d->nmaps, sizeof(*t->maps));
	if (!t->maps)
		return &tli_enomem;
	for (size_t i = 0; i < d->nmaps; i++) {
		t->maps[i] = d->maps[i];
		t->maps[i].path = NULL;
		t->nmaps = i + 1;
		if (d->maps[i].path && !(t->maps[i].path = strdup(d->maps[i].path)))
			return &tli_enomem;
	}
	qsort(t->maps, t->nmaps, sizeof(*t->maps), map_cmp);
	size_t k = 0;
	for (size_t i = 0; i < t->nmaps; i++) {
		if (k && t->maps[i].start < t->maps[k - 1].end) {
			free(t->maps[i].path);
			continue;
		}
		t->maps[k++] = t->maps[i];
	}
	t->nmaps = k;
	return NULL;
}

/* The described threads, held stopped by the debugger: the main thread first, each tid once. */
static struct tli_error *adopt_threads(struct tli_target *t, const struct tli_pages_process *d)
{
	if (!d->nthreads)
		return NULL;
	t->threads = malloc(d->nthreads * sizeof(*t->threads));
	if (!t->threads)
		return &tli_enomem;
	for (size_t i = 0; i < d->nthreads; i++) {
		t->threads[i] = d->threads[i];
		t->threads[i].state = 't';
	}
	t->nthreads = d->nthreads;
	int pid = t->pid;
	qsort_r(t->threads, t->nthreads, sizeof(*t->threads), thread_cmp_main_first, &pid);
	size_t k = 0;
	/* sorted: the main thread's entries first, then by tid, so duplicates are adjacent */
	for (size_t i = 0; i < t->nthreads; i++)
		if (!k || t->threads[k - 1].tid != t->threads[i].tid)
			t->threads[k++] = t->threads[i];
	t->nthreads = k;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* open / finish                                                       */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* DIR as an absolute path gdb can read unquoted, opened and checked private (*abs, *dirfd). */
static struct tli_error *open_page_dir(const char *dir, char **abs_ret, int *dirfd)
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
	struct tli_error *err = open_page_dir(dir, &abs, &dirfd);
	if (err)
		return err;
	int e = slurp_at(dirfd, "context.txt", MAX_CONTEXT, text, len);
	if (e && e != ENOENT)
		err = tli_error_errno(TLI_E_INTERNAL, e, "reading %s/context.txt", abs);
	close(dirfd);
	free(abs);
	return err;
}

struct tli_error *tli_pages_open(const struct tli_pages_opts *o, struct tli_target **ret)
{
	*ret = NULL;
	char *abs;
	int dirfd;
	struct tli_error *err = open_page_dir(o ? o->dir : NULL, &abs, &dirfd);
	if (err)
		return err;
	struct tli_target *t = calloc(1, sizeof(*t));
	struct pages *P = calloc(1, sizeof(*P));
	if (!t || !P) {
		free(t);
		free(P);
		free(abs);
		close(dirfd);
		return &tli_enomem;
	}
	P->dirfd = dirfd;
	P->dir = abs;
	t->ops = &pages_ops;
	t->priv = P;
	t->kind = TLI_TARGET_LIVE; /* a process that gdb holds stopped: like --no-stop */
	t->no_stop = true;

	struct stat st;
	/* only the gdb face's own directories are emptied and removed when done, never a
	 * directory the user named that happens to hold a file called "owner" */
	P->gdb_managed = !strncmp(o->dir, TLI_PAGES_GDB_PREFIX, strlen(TLI_PAGES_GDB_PREFIX)) &&
			 !strchr(o->dir + strlen(TLI_PAGES_GDB_PREFIX), '/') &&
			 fstatat(P->dirfd, "owner", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	static const struct tli_pages_process nothing;
	const struct tli_pages_process *d = o->process ? o->process : &nothing;
	t->pid = o->pid ? o->pid : d->pid;
	t->at_entry = d->at_entry;
	t->at_phdr = d->at_phdr;
	if ((err = adopt_maps(t, d)) || (err = adopt_threads(t, d)))
		goto fail;
	const char *exe = o->exe ? o->exe : d->exe;
	if (exe && !(t->exe_path = strdup(exe))) {
		err = &tli_enomem;
		goto fail;
	}
	if ((err = load_runs(P)) || (err = load_requested(P)))
		goto fail;
	t->mono_now_ns = now_ns(CLOCK_MONOTONIC);
	t->wall_now_ns = now_ns(CLOCK_REALTIME);
	*ret = t;
	return NULL;
fail:
	t->released = true;
	tli_target_destroy(t);
	return err;
}

/* Remove the files of a gdb-managed directory (ours), then the directory. */
static void clear_dir(int dirfd, bool keep_owner)
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

struct tli_error *tli_pages_finish(struct tli_target *t, bool *need_ret)
{
	*need_ret = false;
	if (!tli_pages_is(t))
		return NULL;
	struct pages *P = t->priv;
	if (!P->nmiss) {
		if (P->gdb_managed) { /* done: process memory does not stay on disk */
			clear_dir(P->dirfd, false);
			rmdir(P->dir);
		}
		return NULL;
	}
	qsort(P->miss, P->nmiss, sizeof(*P->miss), u64cmp);
	size_t k = 0;
	for (size_t i = 0; i < P->nmiss; i++)
		if (!k || P->miss[i] != P->miss[k - 1])
			P->miss[k++] = P->miss[i];
	P->nmiss = k;
	/* runs of consecutive pages inside one mapping (gdb's dump fails as a whole) */
	size_t cap = 4096 + P->nmiss * (strlen(P->dir) + 128), len = 0, rcap = 1024 + P->nmiss * 40, rlen = 0;
	char *gdb = malloc(cap), *req = NULL;
	char *old = NULL;
	size_t oldlen = 0;
	int e = slurp_at(P->dirfd, "requested", 64u << 20, &old, &oldlen);
	if (e && e != ENOENT) {
		free(gdb);
		return tli_error_errno(TLI_E_INTERNAL, e, "reading %s/requested", P->dir);
	}
	req = malloc(oldlen + rcap);
	if (!gdb || !req) {
		free(gdb);
		free(req);
		free(old);
		return &tli_enomem;
	}
	if (old)
		memcpy(req, old, oldlen);
	rlen = oldlen;
	free(old);
	len += (size_t)snprintf(gdb + len, cap - len,
				"# tlinspect page request: %zu page(s) of process %d for %s\n", P->nmiss,
				t->pid, P->dir);
	for (size_t i = 0; i < P->nmiss && len < cap && rlen < oldlen + rcap;) {
		uint64_t a = P->miss[i], b = a + PAGE;
		const struct tli_mapping *m = tli_target_find_mapping(t, a);
		size_t j = i + 1;
		while (j < P->nmiss && P->miss[j] == b && m && b < m->end) {
			b += PAGE;
			j++;
		}
		len += (size_t)snprintf(gdb + len, cap - len,
					"frame apply 1 -s dump binary memory %s/%016" PRIx64 "-%" PRIx64
					".bin 0x%" PRIx64 " 0x%" PRIx64 "\n",
					P->dir, a, b - a, a, b);
		rlen += (size_t)snprintf(req + rlen, oldlen + rcap - rlen, "%" PRIx64 " %" PRIx64 "\n", a, b - a);
		i = j;
	}
	int we = write_at(P->dirfd, "requested", req, rlen);
	if (!we)
		we = write_at(P->dirfd, "request.gdb", gdb, len);
	free(gdb);
	free(req);
	if (we)
		return tli_error_errno(TLI_E_INTERNAL, we, "writing the page request in %s", P->dir);
	*need_ret = true;
	return NULL;
}

void tli_pages_stats(const struct tli_target *t, size_t *present, size_t *missing)
{
	*present = *missing = 0;
	if (!tli_pages_is(t))
		return;
	const struct pages *P = t->priv;
	*present = (size_t)(P->loaded / PAGE);
	*missing = P->nmiss;
}

/* ------------------------------------------------------------------ */
/* gdb-managed directories: /tmp/tlinspect-gdb.N                      */

/* pid and start time of a process ("PID STARTTIME"), false if gone/unreadable */
static bool proc_identity(int pid, char *out, size_t cap, int *ppid, char *comm, size_t ccap)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (slurp_at(AT_FDCWD, path, 4096, &buf, &len))
		return false;
	/* "pid (comm) state ppid ... starttime(22)" */
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp) {
		free(buf);
		return false;
	}
	if (comm) {
		size_t n = (size_t)(rp - lp - 1);
		if (n >= ccap)
			n = ccap - 1;
		memcpy(comm, lp + 1, n);
		comm[n] = 0;
	}
	char *f = rp + 2;
	unsigned long long start = 0;
	long pp = 0;
	for (int field = 3; field <= 22 && f && *f; field++) {
		if (field == 4)
			pp = strtol(f, NULL, 10);
		if (field == 22)
			start = strtoull(f, NULL, 10);
		f = strchr(f, ' ');
		if (f)
			f++;
	}
	free(buf);
	if (ppid)
		*ppid = (int)pp;
	snprintf(out, cap, "%d %llu\n", pid, start);
	return start != 0;
}

/* The gdb that runs us: the first ancestor that is not a shell. */
static bool gdb_identity(char *out, size_t cap)
{
	int pid = getppid();
	for (int depth = 0; depth < 4 && pid > 1; depth++) {
		char comm[64] = "";
		int pp = 0;
		if (!proc_identity(pid, out, cap, &pp, comm, sizeof(comm)))
			return false;
		if (strcmp(comm, "sh") && strcmp(comm, "dash") && strcmp(comm, "bash") && strcmp(comm, "busybox"))
			return true;
		pid = pp;
	}
	return false;
}

/* owner file content still names a live process? */
static bool owner_alive(const char *owner)
{
	int pid = atoi(owner);
	char now[64];
	if (pid <= 0 || !proc_identity(pid, now, sizeof(now), NULL, NULL, 0))
		return false;
	return !strcmp(now, owner);
}

/* Claim a page directory: create DIR/owner exclusively (two gdbs racing for the same
 * slot: exactly one wins, the other sees EEXIST and moves on). 0 or errno. */
static int claim_owner(int dirfd, const char *me)
{
	int fd = openat(dirfd, "owner", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno;
	size_t len = strlen(me), n = 0;
	int e = 0;
	while (n < len) {
		ssize_t k = write(fd, me + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			e = k < 0 ? errno : EIO;
			break;
		}
		n += (size_t)k;
	}
	if (close(fd) < 0 && !e)
		e = errno;
	if (e)
		unlinkat(dirfd, "owner", 0);
	return e;
}

struct tli_error *tli_pages_gdb_slot(int *ret)
{
	char me[64];
	if (!gdb_identity(me, sizeof(me)))
		return tli_error_create(TLI_E_NO_TARGET, "cannot identify the gdb that runs tlinspect "
					"(--pages-slot is for gdb-ext/tlinspect.gdb)");
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < TLI_PAGES_SLOTS; s++) {
			char path[64];
			snprintf(path, sizeof(path), "%s%d", TLI_PAGES_GDB_PREFIX, s);
			if (pass == 1 && mkdir(path, 0700) == 0) {
				int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd < 0)
					continue;
				int we = claim_owner(fd, me);
				close(fd);
				if (we) {
					rmdir(path); /* fails (not empty) if another gdb claimed it first */
					continue;
				}
				*ret = s;
				return NULL;
			}
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct stat st;
			if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
				close(fd); /* someone else's (or not private): never touch it */
				continue;
			}
			char *owner = NULL;
			size_t olen;
			bool mine = false, stale = false;
			if (!slurp_at(fd, "owner", 128, &owner, &olen)) {
				mine = !strcmp(owner, me);
				stale = !mine && !owner_alive(owner);
			} else {
				stale = true; /* ours but unclaimed (half-made): reusable */
			}
			free(owner);
			if (pass == 0 && mine) {
				clear_dir(fd, true);
				close(fd);
				*ret = s;
				return NULL;
			}
			if (pass == 1 && stale) {
				clear_dir(fd, false);
				int we = claim_owner(fd, me);
				close(fd);
				if (!we) {
					*ret = s;
					return NULL;
				}
				continue;
			}
			close(fd);
		}
	return tli_error_create(TLI_E_INTERNAL, "no free page directory %s0..%d for gdb's page requests",
				TLI_PAGES_GDB_PREFIX, TLI_PAGES_SLOTS - 1);
}
