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
 * (the CLI parses gdb's, from its stdin or DIR/context.txt). It is untrusted.
 *
 * Never writes to the target; writes only inside DIR, which must be owned by
 * us and not writable by others.
 */
#include "pages_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MISSING (1u << 16) /* pages requested per round (256 MiB) */

/* ------------------------------------------------------------------ */
/* reads                                                               */

static void add_miss(struct pages *P, uint64_t page)
{
	if (P->miss.n && P->miss.v[P->miss.n - 1] == page)
		return;
	if (P->miss.n >= MAX_MISSING || !tli_vec_push(&P->miss, page))
		P->miss_truncated = true;
}

/* Readable per the mappings gdb listed (true when none are known). */
static bool readable(const struct tli_target *t, uint64_t addr)
{
	if (!t->nmaps)
		return true;
	const struct tli_mapping *m = tli_target_find_mapping(t, addr);
	return m && (m->prot & TLI_PROT_R);
}

/* Name every missing page of [a, end), up to the first one that cannot be had
 * (unmapped, or requested before). */
static void record_missing(const struct tli_target *t, struct pages *P, uint64_t a, uint64_t end)
{
	for (uint64_t p = a & PAGE_MASK; p < end && !P->miss_truncated; p += PAGE) {
		if (!readable(t, p) || tli_pages_requested_before(P, p))
			break;
		if (!tli_pages_find_run(P, p))
			add_miss(P, p);
		if (p + PAGE < p)
			break;
	}
}

/* One range from the page files; a missing page ends it (EFAULT) and is recorded. */
static void read_one(const struct tli_target *t, struct pages *P, struct tli_read *r)
{
	r->got = 0;
	r->err = 0;
	uint64_t a = r->addr, end = r->addr + r->len;
	if (end < a) {
		r->err = EFAULT;
		return;
	}
	while (a < end) {
		const struct run *run = tli_pages_find_run(P, a);
		if (!run) {
			r->err = EFAULT;
			record_missing(t, P, a, end);
			return;
		}
		uint64_t take = run->addr + run->len - a;
		if (take > end - a)
			take = end - a;
		memcpy((unsigned char *)r->buf + r->got, run->data + (a - run->addr), (size_t)take);
		r->got += (size_t)take;
		a += take;
	}
}

static struct tli_error *pages_read_many(struct tli_target *t, struct tli_read *reads, size_t n)
{
	struct pages *P = t->priv;
	for (size_t i = 0; i < n; i++)
		read_one(t, P, &reads[i]);
	return NULL;
}

static void pages_destroy(struct tli_target *t)
{
	struct pages *P = t->priv;
	if (!P)
		return;
	for (size_t i = 0; i < P->runs.n; i++)
		free(P->runs.v[i].data);
	tli_vec_free(&P->runs);
	tli_vec_free(&P->bad);
	tli_vec_free(&P->miss);
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
/* open                                                                */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct tli_error *tli_pages_open(const struct tli_pages_opts *o, struct tli_target **ret)
{
	*ret = NULL;
	char *abs;
	int dirfd;
	struct tli_error *err = tli_pages_open_dir(o ? o->dir : NULL, &abs, &dirfd);
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
	t->arch = &tli_arch_x86_64; /* the faces parse x86-64 register names (cli/gdbhint.c) */
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
	if ((err = tli_pages_load_runs(P)) || (err = tli_pages_load_requested(P)))
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

void tli_pages_stats(const struct tli_target *t, size_t *present, size_t *missing)
{
	*present = *missing = 0;
	if (!tli_pages_is(t))
		return;
	const struct pages *P = t->priv;
	*present = (size_t)(P->loaded / PAGE);
	*missing = P->miss.n;
}
