/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_debuginfod.c
 * Separate debug info from debuginfod servers ($DEBUGINFOD_URLS), the last place
 * tli_dw_find_separate() looks (after the target's root and the host's debug
 * directories). elfutils' libdebuginfod does the work (servers, its cache in
 * $DEBUGINFOD_CACHE_PATH or ~/.cache/debuginfod_client, $DEBUGINFOD_TIMEOUT); it is
 * loaded with dlopen, as elfutils' own libdwfl loads it, so that the program does not
 * depend on libcurl and runs where libdebuginfod.so.1 is not installed. The statically
 * linked build cannot dlopen and says so.
 *
 * A fetch is bounded in wall time ($TLINSPECT_DEBUGINFOD_TIMEOUT seconds, default 10):
 * the progress callback cancels it, so an unanswering server costs at most that, once
 * per file and run. The file is taken only if its build-id is the one asked for
 * (tli_dw_try_debug_file).
 */
#include "dwarf_int.h"

#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 10.0

/* set by the linker in a dynamically linked program only: a static one cannot dlopen */
extern char _DYNAMIC[] __attribute__((weak));

static struct {
	bool tried;
	void *h;
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	void (*set_user_data)(debuginfod_client *, void *);
	void *(*get_user_data)(debuginfod_client *);
	const char *(*get_url)(debuginfod_client *);
	char why[160];
} lib;

static bool load_lib(void)
{
	if (lib.tried)
		return lib.h != NULL;
	lib.tried = true;
	if (!_DYNAMIC) {
		snprintf(lib.why, sizeof(lib.why), "this statically linked tlinspect cannot load libdebuginfod");
		return false;
	}
	lib.h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib.h) {
		snprintf(lib.why, sizeof(lib.why), "libdebuginfod.so.1 not loadable (%s)", dlerror());
		return false;
	}
	*(void **)&lib.begin = dlsym(lib.h, "debuginfod_begin");
	*(void **)&lib.end = dlsym(lib.h, "debuginfod_end");
	*(void **)&lib.find_debuginfo = dlsym(lib.h, "debuginfod_find_debuginfo");
	*(void **)&lib.set_progressfn = dlsym(lib.h, "debuginfod_set_progressfn");
	*(void **)&lib.set_user_data = dlsym(lib.h, "debuginfod_set_user_data");
	*(void **)&lib.get_user_data = dlsym(lib.h, "debuginfod_get_user_data");
	*(void **)&lib.get_url = dlsym(lib.h, "debuginfod_get_url"); /* 0.179+, optional */
	if (!lib.begin || !lib.end || !lib.find_debuginfo || !lib.set_progressfn || !lib.set_user_data ||
	    !lib.get_user_data) {
		snprintf(lib.why, sizeof(lib.why), "libdebuginfod.so.1 lacks the client functions");
		dlclose(lib.h);
		lib.h = NULL;
		return false;
	}
	return true;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fetch {
	double deadline;
	bool timed_out;
	char url[512]; /* the server that is answering, when known */
};

/* called by libdebuginfod about once a second while it waits: nonzero cancels */
static int progress(debuginfod_client *c, long a, long b)
{
	(void)a;
	(void)b;
	struct fetch *f = lib.get_user_data(c);
	if (lib.get_url && !f->url[0]) {
		const char *u = lib.get_url(c);
		if (u)
			snprintf(f->url, sizeof(f->url), "%s", u);
	}
	if (now_s() > f->deadline) {
		f->timed_out = true;
		return 1;
	}
	return 0;
}

static double timeout_s(void)
{
	const char *e = getenv("TLINSPECT_DEBUGINFOD_TIMEOUT");
	char *end;
	double t = e && *e ? strtod(e, &end) : DEFAULT_TIMEOUT_S;
	if (e && *e && (*end || t <= 0 || t > 3600))
		t = DEFAULT_TIMEOUT_S;
	return t;
}

/* build-ids the servers gave nothing for in this run, and why: a file opened again (libc by
 * each command of the shell, before and after a deferred stop) costs no second timeout */
#define MAX_MISSES 16
static struct {
	uint8_t id[TLI_BUILD_ID_MAX];
	size_t len;
	char why[sizeof(((struct tli_dwarf *)0)->debuginfod_why)];
} misses[MAX_MISSES];
static size_t nmisses;

static bool missed_before(struct tli_dwarf *d)
{
	for (size_t i = 0; i < nmisses; i++) {
		if (misses[i].len == d->info.build_id_len && !memcmp(misses[i].id, d->info.build_id, misses[i].len)) {
			memcpy(d->debuginfod_why, misses[i].why, sizeof(d->debuginfod_why));
			return true;
		}
	}
	return false;
}

static void remember_miss(const struct tli_dwarf *d)
{
	size_t i = nmisses < MAX_MISSES ? nmisses++ : MAX_MISSES - 1;
	memcpy(misses[i].id, d->info.build_id, d->info.build_id_len);
	misses[i].len = d->info.build_id_len;
	memcpy(misses[i].why, d->debuginfod_why, sizeof(misses[i].why));
}

static bool fetch(struct tli_dwarf *d, const char *urls);

bool tli_dw_find_debuginfod(struct tli_dwarf *d)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls || d->info.build_id_len < 2 || d->info.build_id_len > TLI_BUILD_ID_MAX)
		return false;
	if (missed_before(d))
		return false;
	bool ok = fetch(d, urls);
	if (!ok && d->debuginfod_why[0])
		remember_miss(d);
	return ok;
}

/* Ask the servers for d's debug file. */
static bool fetch(struct tli_dwarf *d, const char *urls)
{
	if (!load_lib()) {
		snprintf(d->debuginfod_why, sizeof(d->debuginfod_why), "debuginfod (%s): %s", urls, lib.why);
		return false;
	}
	debuginfod_client *c = lib.begin();
	if (!c) {
		snprintf(d->debuginfod_why, sizeof(d->debuginfod_why), "debuginfod (%s): no client", urls);
		return false;
	}
	double t = timeout_s();
	struct fetch f = { .deadline = now_s() + t };
	lib.set_user_data(c, &f);
	lib.set_progressfn(c, progress);
	char *path = NULL;
	int fd = lib.find_debuginfo(c, d->info.build_id, (int)d->info.build_id_len, &path);
	if (fd >= 0 && lib.get_url && !f.url[0]) {
		const char *u = lib.get_url(c);
		if (u)
			snprintf(f.url, sizeof(f.url), "%s", u);
	}
	lib.end(c);
	bool ok = false;
	if (fd >= 0) {
		close(fd);
		ok = path && tli_dw_try_debug_file(d, path, false, 0);
		if (ok) {
			d->method = "debuginfod";
			d->debuginfod_url = strdup(f.url[0] ? f.url : urls);
		} else {
			snprintf(d->debuginfod_why, sizeof(d->debuginfod_why),
				 "debuginfod (%s): %s is not debug info for this build-id", urls, path ? path : "?");
		}
	} else if (f.timed_out) {
		snprintf(d->debuginfod_why, sizeof(d->debuginfod_why),
			 "debuginfod (%s): no answer within %g s (TLINSPECT_DEBUGINFOD_TIMEOUT)", urls, t);
	} else {
		snprintf(d->debuginfod_why, sizeof(d->debuginfod_why), "debuginfod (%s): %s", urls,
			 fd == -ENOENT ? "not found on the servers" : strerror(-fd));
	}
	free(path);
	return ok;
}
