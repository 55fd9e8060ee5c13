/* SPDX-License-Identifier: MIT */
/*
 * Text printer for `goroutines` and `goroutine ID`: a header line, a summary
 * (counts by status and wait reason, the top groups table) and then every
 * goroutine in Go's own traceback format:
 *
 *   goroutine 18 [chan send, 3 minutes]:
 *   main.leakyProducer(...)
 *   	/src/main.go:42
 *   main.worker(0xc000012345, 0x2)
 *   	/src/main.go:50 +0x1d
 *   created by main.main in goroutine 1
 *   	/src/main.go:30 +0x5e
 *
 * Every field may be missing or null (a corrupt goroutine yields a partial
 * object with "unreadable"); the printer then prints "?" and carries on.
 */
#include "render.h"

#include "core/progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIAGE_GROUPS 8

#define LINE_WIDTH 100   /* wrap summary lines here */
#define CELL_MAX 48      /* widest table cell before truncation */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool jtrue(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* Location line of a frame: "\tFILE:LINE[ +0xOFF]". */
static void print_location(FILE *f, json_t *fr, bool with_offset)
{
	const char *file = jstr(fr, "file");
	json_t *line = json_object_get(fr, "line");
	fputc('\t', f);
	tli_text_puts_clean(f, file ? file : "?");
	if (json_is_integer(line))
		fprintf(f, ":%lld", (long long)json_integer_value(line));
	else
		fputs(":?", f);
	json_t *off = json_object_get(fr, "offset");
	if (with_offset && json_is_integer(off) && !jtrue(fr, "inlined"))
		fprintf(f, " +0x%llx", (unsigned long long)json_integer_value(off));
	if (!jstr(fr, "function") && jstr(fr, "pc")) {
		fputs(" pc=", f);
		tli_text_puts_clean(f, jstr(fr, "pc"));
	}
	fputc('\n', f);
}

void tli_text_frame(FILE *f, json_t *fr)
{
	if (!json_is_object(fr))
		return;
	const char *fn = jstr(fr, "function");
	tli_text_puts_clean(f, fn ? fn : "?");
	const char *args = jstr(fr, "args"); /* absent: inlined, or not readable */
	fputc('(', f);
	tli_text_puts_clean(f, args ? args : "...");
	fputs(")\n", f);
	print_location(f, fr, true);
}

static void print_created_by(FILE *f, json_t *cb)
{
	if (!json_is_object(cb))
		return;
	const char *fn = jstr(cb, "function");
	fputs("created by ", f);
	tli_text_puts_clean(f, fn ? fn : "?");
	json_t *goid = json_object_get(cb, "goid");
	if (json_is_integer(goid))
		fprintf(f, " in goroutine %lld", (long long)json_integer_value(goid));
	fputc('\n', f);
	print_location(f, cb, true);
}

/* Same frame? By pc when both have one, else by function/file/line. */
static bool same_frame(json_t *a, json_t *b)
{
	if (a == b)
		return true;
	if (!json_is_object(a) || !json_is_object(b))
		return false;
	const char *pa = jstr(a, "pc"), *pb = jstr(b, "pc");
	if (pa && pb)
		return !strcmp(pa, pb) && jtrue(a, "inlined") == jtrue(b, "inlined") &&
		       json_equal(json_object_get(a, "function"), json_object_get(b, "function"));
	return json_equal(json_object_get(a, "function"), json_object_get(b, "function")) &&
	       json_equal(json_object_get(a, "file"), json_object_get(b, "file")) &&
	       json_equal(json_object_get(a, "line"), json_object_get(b, "line"));
}

/* The bracketed state: wait reason for waiting goroutines (as Go's goroutineheader does). */
static const char *state_of(json_t *g)
{
	const char *st = jstr(g, "status");
	const char *wr = jstr(g, "wait_reason");
	if (wr && *wr && (!st || !strcmp(st, "waiting") || !strcmp(st, "leaked")))
		return wr;
	return st ? st : "???";
}

/* pprof labels as runtime/pprof's debug=1 profile prints them: labels: {"k":"v", ...} */
static void print_labels(FILE *f, json_t *g)
{
	const char *why = jstr(g, "labels_unreadable");
	if (why) {
		fputs("labels unreadable: ", f);
		tli_text_puts_clean(f, why);
		fputc('\n', f);
	}
	json_t *labels = json_object_get(g, "labels");
	if (!json_is_object(labels) || !json_object_size(labels))
		return;
	fputs("labels: {", f);
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach(labels, k, v) {
		fputs(first ? "\"" : ", \"", f);
		tli_text_puts_clean(f, k);
		fputs("\":\"", f);
		tli_text_puts_clean(f, json_is_string(v) ? json_string_value(v) : "?");
		fputc('"', f);
		first = false;
	}
	fputs("}\n", f);
}

void tli_text_goroutine_block(FILE *f, json_t *g)
{
	json_t *id = json_object_get(g, "id");
	if (json_is_integer(id))
		fprintf(f, "goroutine %lld [", (long long)json_integer_value(id));
	else
		fputs("goroutine ? [", f);
	tli_text_puts_clean(f, state_of(g));
	if (jtrue(g, "scan"))
		fputs(" (scan)", f); /* the GC was scanning its stack, as goroutineheader prints */
	json_t *min = json_object_get(g, "wait_minutes");
	if (json_is_integer(min) && json_integer_value(min) >= 1)
		fprintf(f, ", %lld minutes", (long long)json_integer_value(min));
	if (jtrue(g, "locked_to_thread"))
		fputs(", locked to thread", f);
	/* the channel(s) it waits on ("blocked_on", set by the channel walker): one more
	 * ", ..." item inside the brackets, after Go's own items, so a reader of Go's
	 * traceback format still finds the status first and "goroutine N [status" intact */
	json_t *bo = json_object_get(g, "blocked_on");
	if (json_is_array(bo) && json_array_size(bo)) {
		fputs(json_array_size(bo) > 1 ? ", on chans" : ", on chan", f);
		size_t i;
		json_t *a;
		json_array_foreach(bo, i, a) {
			if (json_is_string(a)) {
				fputc(' ', f);
				tli_text_puts_clean(f, json_string_value(a));
			}
		}
	}
	fputs("]:\n", f);
	print_labels(f, g);
	const char *why = jstr(g, "unreadable");
	if (why) {
		fputs("unreadable: ", f);
		tli_text_puts_clean(f, why);
		fputc('\n', f);
	}
	json_t *stack = json_object_get(g, "stack");
	if (json_is_array(stack)) {
		size_t i;
		json_t *fr;
		json_array_foreach(stack, i, fr)
			tli_text_frame(f, fr);
		if (jtrue(g, "stack_truncated"))
			fputs("...additional frames elided...\n", f);
	} else {
		json_t *cur = json_object_get(g, "current");
		json_t *user = json_object_get(g, "user");
		if (json_is_object(cur))
			tli_text_frame(f, cur);
		if (json_is_object(user) && !same_frame(cur, user))
			tli_text_frame(f, user);
	}
	print_created_by(f, json_object_get(g, "created_by"));
}

/* ---- summary ---- */

struct kv {
	const char *key;
	long long n;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* "label  a 3, b 2, c 1" sorted by count, wrapped at LINE_WIDTH. */
static void print_counts(FILE *f, const char *label, json_t *obj, long long nsystem)
{
	size_t n = json_object_size(obj);
	if (!json_is_object(obj) || n == 0)
		return;
	struct kv *v = calloc(n, sizeof(*v));
	if (!v)
		return;
	size_t k = 0;
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) {
		if (k < n && json_is_integer(val))
			v[k++] = (struct kv){ key, (long long)json_integer_value(val) };
	}
	qsort(v, k, sizeof(*v), kv_cmp);
	int col = fprintf(f, "%-9s", label);
	int indent = col;
	for (size_t i = 0; i < k; i++) {
		char item[160];
		snprintf(item, sizeof(item), "%s %lld%s", v[i].key, v[i].n, i + 1 < k ? "," : "");
		for (char *p = item; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		int len = (int)strlen(item);
		if (col > indent && col + 1 + len > LINE_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		col += fprintf(f, "%s%s", col > indent ? " " : "", item);
	}
	if (nsystem > 0)
		fprintf(f, " (%lld system)", nsystem);
	fputc('\n', f);
	free(v);
}

/* "function (file:line)" with the file's base name; "-" for null. */
static void format_location(char *buf, size_t len, json_t *fr)
{
	if (!json_is_object(fr)) {
		snprintf(buf, len, "-");
		return;
	}
	const char *fn = jstr(fr, "function");
	const char *file = jstr(fr, "file");
	json_t *line = json_object_get(fr, "line");
	if (file) {
		const char *slash = strrchr(file, '/');
		if (slash)
			file = slash + 1;
	}
	if (file && json_is_integer(line))
		snprintf(buf, len, "%s (%s:%lld)", fn ? fn : "?", file, (long long)json_integer_value(line));
	else if (file)
		snprintf(buf, len, "%s (%s)", fn ? fn : "?", file);
	else
		snprintf(buf, len, "%s", fn ? fn : "?");
}

static void clean_cell(char *s)
{
	size_t n = 0;
	for (char *p = s; *p; p++, n++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (n > CELL_MAX)
		strcpy(s + CELL_MAX - 3, "...");
}

/*
 * A location cell longer than CELL_MAX keeps its end: the "(file:line)" and the last part of the
 * function (its method and type say most), "...pkg.(*T).Method (file.go:12)", rather than
 * "(<autoge..." cut in the middle of the file name.
 */
static void shorten_location(char *s)
{
	size_t n = strlen(s);
	if (n <= CELL_MAX)
		return;
	char *p = NULL;
	for (char *q = strstr(s, " ("); q; q = strstr(q + 1, " ("))
		p = q;
	size_t suffix = p ? strlen(p) : 0;
	if (!p || suffix + 3 + 8 > CELL_MAX) { /* no location, or a huge one: cut at the end */
		strcpy(s + CELL_MAX - 3, "...");
		return;
	}
	size_t keep = CELL_MAX - 3 - suffix;
	memmove(s + 3, p - keep, keep + suffix + 1);
	memcpy(s, "...", 3);
}

struct row {
	char count[24], state[CELL_MAX + 8], user[CELL_MAX + 8], created[CELL_MAX + 8], ids[64];
};

static void print_groups(FILE *f, json_t *groups, int top, json_t *group_count)
{
	size_t total = json_array_size(groups);
	if (!json_is_array(groups) || total == 0)
		return;
	size_t nrows = top <= 0 || (size_t)top > total ? total : (size_t)top;
	struct row *rows = calloc(nrows, sizeof(*rows));
	if (!rows)
		return;
	int w[4] = { 5, 5, 13, 10 }; /* widths of the headings */
	for (size_t i = 0; i < nrows; i++) {
		json_t *grp = json_array_get(groups, i);
		struct row *r = &rows[i];
		json_t *c = json_object_get(grp, "count");
		snprintf(r->count, sizeof(r->count), "%lld",
			 json_is_integer(c) ? (long long)json_integer_value(c) : 0LL);
		const char *wr = jstr(grp, "wait_reason"), *st = jstr(grp, "status");
		snprintf(r->state, sizeof(r->state), "%s", wr && *wr ? wr : st ? st : "?");
		char tmp[512];
		format_location(tmp, sizeof(tmp), json_object_get(grp, "user"));
		shorten_location(tmp);
		snprintf(r->user, sizeof(r->user), "%s", tmp);
		format_location(tmp, sizeof(tmp), json_object_get(grp, "created_by"));
		shorten_location(tmp);
		snprintf(r->created, sizeof(r->created), "%s", tmp);
		clean_cell(r->state);
		clean_cell(r->user);
		clean_cell(r->created);
		json_t *ids = json_object_get(grp, "ids");
		size_t o = 0, k;
		json_t *id;
		json_array_foreach(ids, k, id) {
			if (k == 3 || !json_is_integer(id))
				break;
			o += (size_t)snprintf(r->ids + o, sizeof(r->ids) - o, "%s%lld", k ? " " : "",
					      (long long)json_integer_value(id));
		}
		long long cnt = json_is_integer(c) ? (long long)json_integer_value(c) : 0;
		if ((long long)k < cnt && o < sizeof(r->ids) - 5)
			snprintf(r->ids + o, sizeof(r->ids) - o, "%s...", o ? " " : "");
		int lens[4] = { (int)strlen(r->count), (int)strlen(r->state), (int)strlen(r->user),
				(int)strlen(r->created) };
		for (int j = 0; j < 4; j++)
			if (lens[j] > w[j])
				w[j] = lens[j];
	}
	/* the walker may already have cut the list to --top; group_count is the real total */
	if (json_is_integer(group_count) && json_integer_value(group_count) > (json_int_t)total)
		total = (size_t)json_integer_value(group_count);
	if (nrows < total)
		fprintf(f, "top groups (%zu of %zu):\n", nrows, total);
	else
		fprintf(f, "groups (%zu):\n", total);
	fprintf(f, "  %*s  %-*s  %-*s  %-*s  %s\n", w[0], "COUNT", w[1], "STATE", w[2], "USER LOCATION",
		w[3], "CREATED BY", "IDS");
	for (size_t i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		fprintf(f, "  %*s  %-*s  %-*s  %-*s  %s\n", w[0], r->count, w[1], r->state, w[2], r->user,
			w[3], r->created, r->ids);
	}
	free(rows);
}

/* ---- listing ---- */

struct gref {
	long long id;
	json_t *g;
};

static int gref_cmp(const void *a, const void *b)
{
	const struct gref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static long long gid(json_t *g)
{
	json_t *id = json_object_get(g, "id");
	return json_is_integer(id) ? (long long)json_integer_value(id) : -1;
}

/* One goroutine of the listing, in order: hidden system goroutines skipped, a blank line
 * between blocks (and after the summary). */
struct listing_print {
	FILE *f;
	const struct tli_render_opts *opts;
	bool first, summary;
	size_t i;
};

static void print_one(json_t *g, void *arg)
{
	struct listing_print *p = arg;
	tli_progress_step(p->i++);
	if (!json_is_object(g) || (!p->opts->system && jtrue(g, "system")))
		return;
	if (!p->first || p->summary)
		fputc('\n', p->f);
	p->first = false;
	tli_text_goroutine_block(p->f, g);
}

static void print_hidden(FILE *f, size_t hidden, bool summary)
{
	if (summary && hidden)
		fprintf(f, "(%zu system goroutine%s not listed; use --system)\n", hidden, hidden == 1 ? "" : "s");
}

static void print_listing(FILE *f, json_t *list, const struct tli_render_opts *opts, bool summary)
{
	size_t n = json_array_size(list);
	size_t hidden = 0;
	bool sorted = true;
	long long prev = -1;
	for (size_t i = 0; i < n; i++) {
		json_t *g = json_array_get(list, i);
		if (!opts->system && jtrue(g, "system"))
			hidden++;
		long long id = gid(g);
		if (id < prev)
			sorted = false;
		prev = id;
	}
	print_hidden(f, hidden, summary);
	struct gref *order = NULL;
	if (!sorted) {
		order = malloc(n * sizeof(*order));
		if (order) {
			for (size_t i = 0; i < n; i++) {
				order[i].g = json_array_get(list, i);
				order[i].id = gid(order[i].g);
			}
			qsort(order, n, sizeof(*order), gref_cmp);
		}
	}
	struct listing_print p = { f, opts, true, summary, 0 };
	tli_progress_begin("printing goroutines", n);
	for (size_t i = 0; i < n; i++)
		print_one(order ? order[i].g : json_array_get(list, i), &p);
	tli_progress_end();
	free(order);
}

/* The listing from a stream: the same blocks print_listing prints, in the same order. */
static void print_stream(FILE *f, struct tli_render_stream *st, const struct tli_render_opts *opts, bool summary)
{
	print_hidden(f, opts->system ? 0 : st->system, summary);
	struct listing_print p = { f, opts, true, summary, 0 };
	tli_progress_begin("printing goroutines", st->count);
	st->err = st->each(st, print_one, &p);
	tli_progress_end();
}

void tli_text_goroutines(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	json_t *go = json_object_get(doc, "go");
	json_t *folded = json_object_get(go, "folded");
	if (json_is_array(folded)) { /* --folded: the lines alone, as flame-graph tools read them */
		size_t i;
		json_t *fl;
		json_array_foreach(folded, i, fl) {
			tli_text_puts_clean(f, json_string_value(json_object_get(fl, "stack")));
			fprintf(f, " %lld\n", (long long)json_integer_value(json_object_get(fl, "count")));
		}
		return;
	}
	tli_text_header(f, doc);
	json_t *list = json_object_get(go, "goroutines");
	if (!opts->no_summary) {
		json_t *sum = json_object_get(go, "summary");
		json_t *nsys = json_object_get(sum, "system");
		json_t *bs = json_object_get(sum, "by_status");
		print_counts(f, "status:", bs,
			     json_is_integer(nsys) && !json_object_get(bs, "system") ? (long long)json_integer_value(nsys) : 0);
		print_counts(f, "waiting:", json_object_get(sum, "by_wait_reason"), 0);
		json_t *groups = json_object_get(sum, "groups");
		/* the first screen shares its 40 lines with memory, pools and timers */
		int dflt = opts->no_listing && tli_text_triage_present(doc) ? TRIAGE_GROUPS : TLI_RENDER_DEFAULT_TOP;
		if (json_array_size(groups)) {
			fputc('\n', f);
			print_groups(f, groups, opts->top < 0 ? dflt : opts->top, json_object_get(sum, "group_count"));
		}
	}
	if (!opts->no_listing && opts->items)
		print_stream(f, opts->items, opts, !opts->no_summary);
	else if (!opts->no_listing && json_is_array(list))
		print_listing(f, list, opts, !opts->no_summary);
	else if (opts->no_listing && json_array_size(list)) {
		if (tli_text_triage_present(doc))
			tli_text_triage(f, doc, opts);
		size_t n = 0, k;
		json_t *g;
		json_array_foreach(list, k, g)
			n += opts->system || !jtrue(g, "system");
		fprintf(f, "\nevery traceback (%zu goroutine%s): the `goroutines` command; one: `goroutine ID`\n", n,
			n == 1 ? "" : "s");
	}
}

void tli_text_goroutine(FILE *f, json_t *doc, const struct tli_render_opts *opts)
{
	tli_text_header(f, doc);
	json_t *list = json_object_get(json_object_get(doc, "go"), "goroutines");
	struct tli_render_opts o = *opts;
	o.system = true; /* asked for by id: show it whatever it is */
	if (json_is_array(list))
		print_listing(f, list, &o, true);
}
