/* SPDX-License-Identifier: MIT */
/* The session every command runs against: warnings and the "target" part of each result.
 * Opening one (backend, layout chain, caches) is the floor above: inspector/session/. */
#include "session.h"
#include "jsonstr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

double tli_session_elapsed(const struct tli_session *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(&s->t_open, &now);
}

/* At most this many warnings per session: the same kind of damage in 100k items is not news. */
#define SESSION_WARNINGS_MAX 200

void tli_session_warn(struct tli_session *s, const char *fmt, ...)
{
	char buf[TLI_WARNING_LINE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* de-duplicate: the same warning from 100k goroutines is one warning */
	if (tli_warnings_has(&s->warnings, buf) || s->warnings.n >= SESSION_WARNINGS_MAX)
		return;
	tli_warnings_add(&s->warnings, "%s", buf);
}

void tli_session_describe(struct tli_session *s, json_t *result)
{
	struct tli_target *t = s->target;
	json_t *tg = json_object();
	json_object_set_new(tg, "kind", json_string(t->kind == TLI_TARGET_LIVE ? "live" : "core"));
	json_object_set_new(tg, "arch", t->arch ? json_string(t->arch->name) : json_null());
	json_object_set_new(tg, "pid", t->pid > 0 ? json_integer(t->pid) : json_null());
	/* the executable as the target names it; where it was read, when that is another name */
	const char *exe = t->exe_name ? t->exe_name : t->exe_path;
	json_object_set_new(tg, "exe", exe ? json_string(exe) : json_null());
	if (t->exe_name && t->exe_path)
		json_object_set_new(tg, "exe_file", json_string(t->exe_path));
	if (t->kind == TLI_TARGET_LIVE && t->ns_pid > 0)
		json_object_set_new(tg, "ns_pid", json_integer(t->ns_pid));
	if (t->root)
		json_object_set_new(tg, "root", json_string(t->root));
	json_object_set_new(tg, "core", t->core_path ? json_string(t->core_path) : json_null());
	json_object_set_new(tg, "threads", json_integer((json_int_t)t->nthreads));
	if (t->kind == TLI_TARGET_LIVE && !t->no_stop && t->released)
		json_object_set_new(tg, "pause_ms", json_real(t->pause_ms));
	else
		json_object_set_new(tg, "pause_ms", json_null());
	if (t->kind == TLI_TARGET_LIVE && !t->no_stop)
		json_object_set_new(tg, "snapshot", json_string(t->forked ? "fork" : "copy"));
	json_object_set_new(tg, "stopped_by_us", json_boolean(t->kind == TLI_TARGET_LIVE && !t->no_stop));
	if (t->kind == TLI_TARGET_LIVE && t->no_stop && t->pid > 0) {
		/* --no-stop (a debugger's face): was the process held stopped by someone else? */
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
		FILE *sf = fopen(path, "re");
		size_t n = sf ? fread(buf, 1, sizeof(buf) - 1, sf) : 0;
		if (sf)
			fclose(sf);
		buf[n] = 0;
		const char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2])
			json_object_set_new(tg, "stopped_by_other", json_boolean(rp[2] == 't' || rp[2] == 'T'));
	}
	json_object_set_new(tg, "bytes_read", json_integer((json_int_t)tli_target_bytes_read(t)));
	const char *src = tli_layout_last_source(s->layout);
	if (src)
		json_object_set_new(tg, "layout_source", json_string(src));
	/* merge with whatever the command put there already (e.g. go_version) */
	json_t *old = json_object_get(result, "target");
	if (old && json_is_object(old))
		json_object_update(old, tg), json_decref(tg);
	else
		json_object_set_new(result, "target", tg);
	/* what the backend found wrong with the target itself (a truncated core, an --exe that
	 * could not be verified) first, then what the command found */
	json_t *w = json_array();
	for (size_t i = 0; i < t->warnings.n; i++)
		if (!tli_warnings_has(&s->warnings, t->warnings.v[i]))
			json_array_append_new(w, tli_json_string_lossy(t->warnings.v[i]));
	for (size_t i = 0; i < s->warnings.n; i++)
		json_array_append_new(w, tli_json_string_lossy(s->warnings.v[i]));
	json_object_set_new(result, "warnings", w);
}
