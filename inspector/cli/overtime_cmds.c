/* SPDX-License-Identifier: MIT */
/*
 * snapshot, diff, watch, metrics and goroutines --pprof: the command-line side (files,
 * sessions, signals) of inspector/overtime/. A live target's session can stop it once; a
 * command that looks at it again (watch's next sample, metrics' leak scan) opens a fresh
 * session the way the shell does for each command, so the target runs between looks.
 */
#include "overtime_cmds.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/live.h"
#include "core/fileio.h"
#include "glibc/glibc.h"
#include "go/chans.h"
#include "go/gobin.h"
#include "overtime/overtime.h"
#include "render/pprof.h"
#include "session/open.h"

#define WATCH_MAX_SAMPLES 100000

static const struct tli_optval *opt(struct tli_cmd_ctx *ctx, const char *name)
{
	const struct tli_optval *v = tli_cmd_opt(ctx, name);
	return v && v->set ? v : NULL;
}

/* A session on the same target, able to stop it again: a fresh one for a live process (the
 * first one's stop is over), the same one for a core. *fresh says which. */
static struct tli_error *reopen(struct tli_cmd_ctx *ctx, struct tli_session **ret, bool *fresh)
{
	*fresh = false;
	if (!ctx->session->target || ctx->session->target->kind != TLI_TARGET_LIVE || !ctx->cli) {
		*ret = ctx->session;
		return NULL;
	}
	const struct tli_cli_opts *c = ctx->cli;
	struct tli_session_opts so = {
		.pid = c->pid, .exe = c->exe, .no_stop = c->no_stop, .no_dwarf = c->no_dwarf,
		.timeout_ms = c->timeout_ms, .snapshot_fork = c->snapshot_fork,
	};
	struct tli_error *err = tli_session_open(&so, ret);
	if (!err)
		*fresh = true;
	return err;
}

static void close_fresh(struct tli_session *s, bool fresh)
{
	if (!fresh)
		return;
	if (s->target && !s->target->released && s->target->kind == TLI_TARGET_LIVE)
		tli_target_release(s->target);
	tli_session_destroy(s);
}

/* the snapshot file: the whole document as the CLI would print it with --json */
static struct tli_error *write_snapshot(struct tli_session *s, json_t *result, const char *path, bool force)
{
	json_t *doc = json_object();
	static const char *const order[] = { "schema", "tool", "target", "kind", "time", "go", "glibc",
					     "glibc_unreadable" };
	tli_session_describe(s, result);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		json_t *v = json_object_get(result, order[i]);
		if (v)
			json_object_set(doc, order[i], v);
	}
	json_object_set(doc, "warnings", json_object_get(result, "warnings"));
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	json_decref(doc);
	if (!text)
		return tli_error_create(TLI_E_NOMEM, "%s: the snapshot could not be encoded", path);
	size_t len = strlen(text);
	text[len] = '\0';
	char *nl = realloc(text, len + 2);
	if (nl) {
		text = nl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	struct tli_error *err = tli_file_write_new(path, text, len, force);
	free(text);
	return err;
}

struct tli_error *tli_cmd_snapshot(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *out = opt(ctx, "output");
	if (!out)
		return tli_error_create(TLI_E_USAGE, "snapshot needs -o FILE (the snapshot is written there)");
	struct tli_error *err = tli_ot_snapshot(ctx->session, result);
	if (err)
		return err;
	if ((err = write_snapshot(ctx->session, result, out->str, opt(ctx, "force") != NULL)))
		return err;
	json_object_set_new(result, "file", json_string(out->str));
	return NULL;
}

struct tli_error *tli_cmd_diff(struct tli_cmd_ctx *ctx, json_t *result)
{
	json_t *a = NULL, *b = NULL;
	struct tli_error *err = tli_ot_load(ctx->argv[0], &a);
	if (!err)
		err = tli_ot_load(ctx->argv[1], &b);
	if (!err)
		err = tli_ot_diff(a, b, ctx->argv[0], ctx->argv[1], result);
	json_decref(a);
	json_decref(b);
	return err;
}

/* ---- watch ---- */

static volatile sig_atomic_t g_watch_stop;

/* Ctrl-C: the first ends the watch after the sample under way (which releases the target in
 * milliseconds); a second one releases everything now and dies by the signal, as the guard. */
static void watch_sigint(int sig)
{
	if (!g_watch_stop) {
		g_watch_stop = 1;
		return;
	}
	tli_live_release_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* sleep `sec` seconds unless interrupted */
static void watch_sleep(double sec)
{
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)sec;
	end.tv_nsec += (long)((sec - (double)(time_t)sec) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!g_watch_stop) {
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
}

static void watch_progress(size_t i, size_t n, const json_t *snap)
{
	json_t *go = json_object_get(snap, "go");
	fprintf(stderr, "tlinspect: watch: sample %zu/%zu at %s", i + 1, n,
		json_string_value(json_object_get(json_object_get(snap, "time"), "utc")));
	if (json_is_object(go))
		fprintf(stderr, ": %lld goroutines, %lld live heap bytes",
			(long long)json_integer_value(json_object_get(go, "goroutine_count")),
			(long long)json_integer_value(json_object_get(go, "live_bytes")));
	fputc('\n', stderr);
}

struct tli_error *tli_cmd_watch(struct tli_cmd_ctx *ctx, json_t *result)
{
	const struct tli_optval *iv = opt(ctx, "interval"), *cv = opt(ctx, "count");
	long interval = iv ? iv->num : 10, count = cv ? cv->num : 6;
	if (ctx->session->target && ctx->session->target->kind != TLI_TARGET_LIVE)
		return tli_error_create(TLI_E_USAGE, "watch needs a live process (--pid): a core does not change");
	json_t **snaps = calloc((size_t)count, sizeof(*snaps));
	if (!snaps)
		return &tli_enomem;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_sigint;
	sigemptyset(&sa.sa_mask);
	g_watch_stop = 0;
	sigaction(SIGINT, &sa, &old);
	struct tli_error *err = NULL;
	size_t n = 0;
	for (long i = 0; i < count && !g_watch_stop; i++) {
		if (i)
			watch_sleep((double)interval);
		if (g_watch_stop)
			break;
		struct tli_session *s = ctx->session;
		bool fresh = false;
		if (i && (err = reopen(ctx, &s, &fresh)))
			break;
		json_t *snap = json_object();
		err = tli_ot_snapshot(s, snap);
		close_fresh(s, fresh);
		if (err) {
			json_decref(snap);
			break;
		}
		snaps[n++] = snap;
		watch_progress(n - 1, (size_t)count, snap);
	}
	bool interrupted = g_watch_stop != 0;
	sigaction(SIGINT, &old, NULL);
	if (err && n >= 2) { /* the target went away: report what was seen, say why it stopped */
		tli_session_warn(ctx->session, "watch stopped after %zu samples: %s", n, err->msg);
		tli_error_destroy(err);
		err = NULL;
	}
	if (!err && n < 2 && !interrupted)
		err = tli_error_create(TLI_E_USAGE, "watch needs at least 2 samples (--count)");
	if (!err) {
		tli_ot_watch(snaps, n, interrupted, result);
		json_t *w = json_object_get(result, "watch");
		json_object_set_new(w, "interval_seconds", json_integer(interval));
		json_object_set_new(w, "samples_wanted", json_integer(count));
		if (n)
			json_object_set(result, "target", json_object_get(snaps[0], "target"));
	}
	for (size_t i = 0; i < n; i++)
		json_decref(snaps[i]);
	free(snaps);
	return err;
}

/* ---- metrics ---- */

struct metrics_leaks {
	struct tli_session *s;
	json_t *doc;
	bool ran;
};

static bool metrics_glibc_leaks(void *arg)
{
	struct metrics_leaks *m = arg;
	struct tli_glibc_opts o = { .top = 0 };
	m->ran = true;
	struct tli_error *e = tli_glibc_leaks(m->s, &o, m->doc);
	if (e && e->code != TLI_E_NOT_GO)
		tli_session_warn(m->s, "glibc leaks: %s", e->msg);
	tli_error_destroy(e);
	return true;
}

struct tli_error *tli_cmd_metrics(struct tli_cmd_ctx *ctx, json_t *result)
{
	json_t *snap = json_object();
	struct tli_error *err = tli_ot_snapshot(ctx->session, snap);
	if (err) {
		json_decref(snap);
		return err;
	}
	/* leaked goroutines and chunks: a second look (a heap scan of its own) */
	struct metrics_leaks m = { .doc = json_object() };
	bool fresh = false;
	struct tli_error *le = reopen(ctx, &m.s, &fresh);
	if (!le) {
		struct tli_gobin *gb = NULL;
		struct tli_go_leak_opts lo = { .top = 0 };
		le = tli_session_gobin(m.s, &gb);
		if (!le)
			le = tli_go_cmd_leaks(m.s, &lo, metrics_glibc_leaks, &m, m.doc);
		else if (le->code == TLI_E_NOT_GO) {
			tli_error_destroy(le);
			le = NULL;
		}
		if (!m.ran)
			metrics_glibc_leaks(&m);
		close_fresh(m.s, fresh);
	}
	if (le) {
		tli_session_warn(ctx->session, "leaks not counted: %s", le->msg);
		tli_error_destroy(le);
	}
	tli_ot_metrics(snap, m.doc, result);
	json_object_set(result, "target", json_object_get(snap, "target"));
	json_decref(m.doc);
	json_decref(snap);
	return NULL;
}

struct tli_error *tli_goroutines_pprof(struct tli_cmd_ctx *ctx, json_t *result, const char *path, bool force)
{
	json_t *prof = NULL;
	struct tli_error *err = tli_ot_goroutine_profile(result, &prof);
	if (err)
		return err;
	uint64_t now = ctx->session && ctx->session->target ? (uint64_t)ctx->session->target->wall_now_ns : 0;
	if (now)
		json_object_set_new(prof, "time_nanos", json_integer((json_int_t)now));
	err = tli_pprof_write_file(prof, path, force);
	json_decref(prof);
	if (!err)
		json_object_set_new(json_object_get(result, "go"), "pprof", json_string(path));
	return err;
}
