/* SPDX-License-Identifier: MIT */
/*
 * render/pprof.c: a JSON profile description (pprof.h) -> pprof's profile.proto, gzipped.
 * The proto structs are protoc-c's (build/gen/profile.pb-c.h, from render/pprof/profile.proto);
 * this file only fills them: strings interned into the string table, frames into Functions
 * and Locations, samples pointing at them. protobuf-c packs, zlib gzips.
 */
#include "pprof.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/fileio.h"
#include "core/hash.h"
#include "core/vec.h"

#include "profile.pb-c.h"

TLI_VEC(pp_strs, char *);
TLI_VEC(pp_fns, Pprof__Function *);
TLI_VEC(pp_locs, Pprof__Location *);

/* A Location with its one Line, in one allocation (freed as the Location). */
struct pp_loc {
	Pprof__Location loc;
	Pprof__Line line;
	Pprof__Line *linep;
};

/* What the profile is built from; everything it points to is owned here. */
struct pp {
	Pprof__Profile prof;
	struct tli_strmap *str_ids, *fn_ids, *loc_ids;   /* key -> string index / id */
	struct pp_strs strtab;
	struct pp_fns fns;
	struct pp_locs locs;
	Pprof__ValueType *types, **typep, period_type;
	Pprof__Sample *samples, **samplep;
	size_t nsamples;      /* samples[0..nsamples) are initialized (their arrays are ours) */
	int64_t *comments;
};

/* A refused description: TLI_E_USAGE, "pprof profile: WHERE: WHAT". */
static struct tli_error *bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct tli_error *bad(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tli_error_create(TLI_E_USAGE, "pprof profile: %s", msg);
}

/* A string member: present (unless optional), a string without NUL, at most MAX_STRING bytes.
 * *s = NULL when an optional member is absent. */
static struct tli_error *get_str(const json_t *obj, const char *key, const char *where, bool optional,
				 const char **s)
{
	const json_t *v = json_object_get(obj, key);
	*s = NULL;
	if (!v && optional)
		return NULL;
	if (!json_is_string(v))
		return bad("%s.%s: %s, expected a string", where, key, v ? "wrong type" : "missing");
	size_t n = json_string_length(v);
	if (n > TLI_PPROF_MAX_STRING)
		return bad("%s.%s: string of %zu bytes (at most %u)", where, key, n, TLI_PPROF_MAX_STRING);
	if (strlen(json_string_value(v)) != n)
		return bad("%s.%s: string with a NUL byte", where, key);
	*s = json_string_value(v);
	return NULL;
}

/* An optional integer member (*present false when absent). */
static struct tli_error *get_int(const json_t *obj, const char *key, const char *where, int64_t *val,
				 bool *present)
{
	const json_t *v = json_object_get(obj, key);
	*present = v != NULL;
	*val = 0;
	if (!v)
		return NULL;
	if (!json_is_integer(v))
		return bad("%s.%s: expected an integer", where, key);
	*val = (int64_t)json_integer_value(v);
	return NULL;
}

/* Every key of obj is one of `known` (a NULL-terminated list): typos are refused, not ignored. */
static struct tli_error *only_keys(const json_t *obj, const char *where, const char *const *known)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		size_t i;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i])
			return bad("%s: unknown key \"%.64s\"", where, key);
	}
	return NULL;
}

/* The index of s in the string table, added on first use. */
static struct tli_error *intern(struct pp *p, const char *s, int64_t *idx)
{
	uint64_t v;
	if (tli_strmap_get(p->str_ids, s, &v)) {
		*idx = (int64_t)v;
		return NULL;
	}
	char *copy = strdup(s);
	if (!copy || !tli_vec_push(&p->strtab, copy)) {
		free(copy);
		return &tli_enomem;
	}
	*idx = (int64_t)(p->strtab.n - 1);
	return tli_strmap_put(p->str_ids, s, (uint64_t)*idx) ? NULL : &tli_enomem;
}

/* A key that tells (name, file[, line]) apart whatever bytes they hold: lengths first. */
static char *frame_key(const char *name, const char *file, bool with_line, int64_t line)
{
	size_t n = strlen(name) + strlen(file) + 64;
	char *k = malloc(n);
	if (!k)
		return NULL;
	if (with_line)
		snprintf(k, n, "%zu:%s%zu:%s:%lld", strlen(name), name, strlen(file), file, (long long)line);
	else
		snprintf(k, n, "%zu:%s%zu:%s", strlen(name), name, strlen(file), file);
	return k;
}

/* The id of Function (name, file), created on first use. */
static struct tli_error *function_id(struct pp *p, const char *name, const char *file, uint64_t *id)
{
	char *key = frame_key(name, file, false, 0);
	if (!key)
		return &tli_enomem;
	struct tli_error *err = NULL;
	if (tli_strmap_get(p->fn_ids, key, id))
		goto out;
	Pprof__Function *f = malloc(sizeof(*f));
	if (!f || !tli_vec_push(&p->fns, f)) {
		free(f);
		err = &tli_enomem;
		goto out;
	}
	pprof__function__init(f);
	f->id = *id = p->fns.n;
	if ((err = intern(p, name, &f->name)) || (err = intern(p, file, &f->filename)))
		goto out;
	f->system_name = f->name;
	if (!tli_strmap_put(p->fn_ids, key, *id))
		err = &tli_enomem;
out:
	free(key);
	return err;
}

/* The id of the Location of one frame (a string, or {"function", "file", "line"}). */
static struct tli_error *location_id(struct pp *p, const json_t *frame, const char *where, uint64_t *id)
{
	static const char *const keys[] = {"function", "file", "line", NULL};
	const char *name = json_string_value(frame), *file = "";
	int64_t line = 0;
	bool has_line = false;
	struct tli_error *err;
	if (!name) {
		if (!json_is_object(frame))
			return bad("%s: a frame is a string or an object {function, file, line}", where);
		if ((err = only_keys(frame, where, keys)) || (err = get_str(frame, "function", where, false, &name)) ||
		    (err = get_str(frame, "file", where, true, &file)) ||
		    (err = get_int(frame, "line", where, &line, &has_line)))
			return err;
		if (!file)
			file = "";
	} else if (json_string_length(frame) > TLI_PPROF_MAX_STRING || strlen(name) != json_string_length(frame)) {
		return bad("%s: a frame name must be at most %u bytes, without NUL", where, TLI_PPROF_MAX_STRING);
	}
	char *key = frame_key(name, file, true, line);
	if (!key)
		return &tli_enomem;
	if (tli_strmap_get(p->loc_ids, key, id))
		goto out;
	uint64_t fid;
	struct pp_loc *l = NULL;
	if ((err = function_id(p, name, file, &fid)))
		goto out;
	if (!(l = malloc(sizeof(*l))) || !tli_vec_push(&p->locs, &l->loc)) {
		free(l);
		err = &tli_enomem;
		goto out;
	}
	pprof__location__init(&l->loc);
	pprof__line__init(&l->line);
	l->line.function_id = fid;
	l->line.line = line;
	l->linep = &l->line;
	l->loc.line = &l->linep;
	l->loc.n_line = 1;
	l->loc.id = *id = p->locs.n;
	if (!tli_strmap_put(p->loc_ids, key, *id))
		err = &tli_enomem;
out:
	free(key);
	return err;
}

/* One {"type", "unit"} into vt. */
static struct tli_error *value_type(struct pp *p, const json_t *o, const char *where, Pprof__ValueType *vt)
{
	static const char *const keys[] = {"type", "unit", NULL};
	const char *type, *unit;
	struct tli_error *err;
	if (!json_is_object(o))
		return bad("%s: expected an object {type, unit}", where);
	if ((err = only_keys(o, where, keys)) || (err = get_str(o, "type", where, false, &type)) ||
	    (err = get_str(o, "unit", where, false, &unit)))
		return err;
	pprof__value_type__init(vt);
	if ((err = intern(p, type, &vt->type)) || (err = intern(p, unit, &vt->unit)))
		return err;
	return NULL;
}

static struct tli_error *sample_types(struct pp *p, const json_t *d)
{
	const json_t *a = json_object_get(d, "sample_types");
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n == 0 || n > TLI_PPROF_MAX_SAMPLE_TYPES)
		return bad("sample_types: expected an array of 1 to %d {type, unit}", TLI_PPROF_MAX_SAMPLE_TYPES);
	if (!(p->types = calloc(n, sizeof(*p->types))) || !(p->typep = calloc(n, sizeof(*p->typep))))
		return &tli_enomem;
	for (size_t i = 0; i < n; i++) {
		char where[48];
		snprintf(where, sizeof(where), "sample_types[%zu]", i);
		struct tli_error *err = value_type(p, json_array_get(a, i), where, &p->types[i]);
		if (err)
			return err;
		for (size_t j = 0; j < i; j++)
			if (p->types[j].type == p->types[i].type)
				return bad("%s: type \"%s\" given twice", where, p->strtab.v[p->types[i].type]);
		p->typep[i] = &p->types[i];
	}
	p->prof.sample_type = p->typep;
	p->prof.n_sample_type = n;

	const char *def;
	struct tli_error *err = get_str(d, "default_sample_type", "profile", true, &def);
	if (err || !def)
		return err;
	size_t i;
	for (i = 0; i < n && strcmp(p->strtab.v[p->types[i].type], def); i++)
		;
	if (i == n)
		return bad("default_sample_type \"%.64s\" is none of sample_types", def);
	p->prof.default_sample_type = p->types[i].type;
	return NULL;
}

/* One label: "key": "string" or "key": integer. */
static struct tli_error *label(struct pp *p, const char *key, const json_t *v, const char *where,
			       Pprof__Label *l)
{
	pprof__label__init(l);
	size_t kn = strlen(key);
	if (kn == 0 || kn > TLI_PPROF_MAX_STRING)
		return bad("%s: a label key must be 1 to %u bytes", where, TLI_PPROF_MAX_STRING);
	struct tli_error *err = intern(p, key, &l->key);
	if (err)
		return err;
	if (json_is_integer(v)) {
		l->num = (int64_t)json_integer_value(v);
		return NULL;
	}
	if (json_is_object(v)) {   /* {"num": N, "unit": "bytes"} */
		static const char *const keys[] = {"num", "unit", NULL};
		char lwhere[192];
		const char *unit;
		bool has;
		snprintf(lwhere, sizeof(lwhere), "%s.%.64s", where, key);
		if ((err = only_keys(v, lwhere, keys)) || (err = get_int(v, "num", lwhere, &l->num, &has)) ||
		    (err = get_str(v, "unit", lwhere, false, &unit)))
			return err;
		if (!has)
			return bad("%s.num: missing", lwhere);
		return intern(p, unit, &l->num_unit);
	}
	if (!json_is_string(v) || json_string_length(v) > TLI_PPROF_MAX_STRING ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad("%s.%.64s: a label's value is a string (at most %u bytes, no NUL), an integer or "
			   "{num, unit}", where, key, TLI_PPROF_MAX_STRING);
	return intern(p, json_string_value(v), &l->str);
}

static struct tli_error *sample_labels(struct pp *p, const json_t *labels, const char *where, Pprof__Sample *s)
{
	if (!labels)
		return NULL;
	size_t n = json_object_size(labels);
	if (!json_is_object(labels) || n > TLI_PPROF_MAX_LABELS)
		return bad("%s.labels: expected an object of at most %d labels", where, TLI_PPROF_MAX_LABELS);
	if (n == 0)
		return NULL;
	/* one block: the pointers, then the labels */
	Pprof__Label **lp = calloc(n, sizeof(*lp) + sizeof(Pprof__Label));
	if (!lp)
		return &tli_enomem;
	Pprof__Label *ls = (Pprof__Label *)(lp + n);
	s->label = lp;
	char lwhere[64];
	snprintf(lwhere, sizeof(lwhere), "%s.labels", where);
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach((json_t *)labels, key, v) {
		struct tli_error *err = label(p, key, v, lwhere, &ls[i]);
		if (err)
			return err;
		lp[i] = &ls[i];
		s->n_label = ++i;
	}
	return NULL;
}

static struct tli_error *sample(struct pp *p, const json_t *o, const char *where, Pprof__Sample *s)
{
	static const char *const keys[] = {"stack", "values", "labels", NULL};
	struct tli_error *err;
	if (!json_is_object(o))
		return bad("%s: expected an object {stack, values, labels}", where);
	if ((err = only_keys(o, where, keys)))
		return err;
	const json_t *stack = json_object_get(o, "stack"), *values = json_object_get(o, "values");
	size_t depth = json_array_size(stack), nv = json_array_size(values);
	if (!json_is_array(stack) || depth > TLI_PPROF_MAX_DEPTH)
		return bad("%s.stack: expected an array of at most %d frames", where, TLI_PPROF_MAX_DEPTH);
	if (!json_is_array(values) || nv != p->prof.n_sample_type)
		return bad("%s.values: expected an array of %zu integers (one per sample type)", where,
			   p->prof.n_sample_type);
	if (!(s->value = calloc(nv, sizeof(*s->value))) ||
	    (depth && !(s->location_id = calloc(depth, sizeof(*s->location_id)))))
		return &tli_enomem;
	for (size_t i = 0; i < nv; i++) {
		const json_t *v = json_array_get(values, i);
		if (!json_is_integer(v))
			return bad("%s.values[%zu]: expected an integer", where, i);
		s->value[i] = (int64_t)json_integer_value(v);
	}
	s->n_value = nv;
	for (size_t i = 0; i < depth; i++) {
		char fwhere[80];
		snprintf(fwhere, sizeof(fwhere), "%s.stack[%zu]", where, i);
		if ((err = location_id(p, json_array_get(stack, i), fwhere, &s->location_id[i])))
			return err;
		s->n_location_id = i + 1;
	}
	return sample_labels(p, json_object_get(o, "labels"), where, s);
}

static struct tli_error *samples(struct pp *p, const json_t *d)
{
	const json_t *a = json_object_get(d, "samples");
	size_t n = json_array_size(a);
	if (!json_is_array(a) || n > TLI_PPROF_MAX_SAMPLES)
		return bad("samples: expected an array of at most %u samples", TLI_PPROF_MAX_SAMPLES);
	if (n == 0)
		return NULL;
	if (!(p->samples = calloc(n, sizeof(*p->samples))) || !(p->samplep = calloc(n, sizeof(*p->samplep))))
		return &tli_enomem;
	p->prof.sample = p->samplep;
	for (size_t i = 0; i < n; i++) {
		char where[48];
		snprintf(where, sizeof(where), "samples[%zu]", i);
		pprof__sample__init(&p->samples[i]);
		p->samplep[i] = &p->samples[i];
		p->nsamples = i + 1;
		struct tli_error *err = sample(p, json_array_get(a, i), where, &p->samples[i]);
		if (err)
			return err;
	}
	p->prof.n_sample = n;
	return NULL;
}

/* period_type, period, time_nanos, duration_nanos, comments */
static struct tli_error *header(struct pp *p, const json_t *d)
{
	struct tli_error *err;
	bool has;
	const json_t *pt = json_object_get(d, "period_type");
	if (pt) {
		if ((err = value_type(p, pt, "period_type", &p->period_type)))
			return err;
		p->prof.period_type = &p->period_type;
	}
	if ((err = get_int(d, "period", "profile", &p->prof.period, &has)) ||
	    (err = get_int(d, "time_nanos", "profile", &p->prof.time_nanos, &has)) ||
	    (err = get_int(d, "duration_nanos", "profile", &p->prof.duration_nanos, &has)))
		return err;
	const json_t *c = json_object_get(d, "comments");
	if (!c)
		return NULL;
	size_t n = json_array_size(c);
	if (!json_is_array(c) || n > TLI_PPROF_MAX_COMMENTS)
		return bad("comments: expected an array of at most %d strings", TLI_PPROF_MAX_COMMENTS);
	if (n && !(p->comments = calloc(n, sizeof(*p->comments))))
		return &tli_enomem;
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(c, i);
		if (!json_is_string(s) || json_string_length(s) > TLI_PPROF_MAX_STRING ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return bad("comments[%zu]: expected a string of at most %u bytes, no NUL", i,
				   TLI_PPROF_MAX_STRING);
		if ((err = intern(p, json_string_value(s), &p->comments[i])))
			return err;
	}
	p->prof.comment = p->comments;
	p->prof.n_comment = n;
	return NULL;
}

static void pp_free(struct pp *p)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		free(p->samples[i].location_id);
		free(p->samples[i].value);
		free(p->samples[i].label);
	}
	free(p->samples);
	free(p->samplep);
	for (size_t i = 0; i < p->locs.n; i++)
		free(p->locs.v[i]);   /* the struct pp_loc that starts with it */
	tli_vec_free(&p->locs);
	for (size_t i = 0; i < p->fns.n; i++)
		free(p->fns.v[i]);
	tli_vec_free(&p->fns);
	for (size_t i = 0; i < p->strtab.n; i++)
		free(p->strtab.v[i]);
	tli_vec_free(&p->strtab);
	free(p->types);
	free(p->typep);
	free(p->comments);
	tli_strmap_free(p->str_ids);
	tli_strmap_free(p->fn_ids);
	tli_strmap_free(p->loc_ids);
}

/* The description -> p->prof, ready to pack. */
static struct tli_error *build(struct pp *p, const json_t *d)
{
	static const char *const keys[] = {"sample_types", "default_sample_type", "period_type", "period",
					   "time_nanos", "duration_nanos", "comments", "samples", NULL};
	pprof__profile__init(&p->prof);
	if (!json_is_object(d))
		return bad("the description must be a JSON object");
	struct tli_error *err = only_keys(d, "profile", keys);
	if (err)
		return err;
	if (!(p->str_ids = tli_strmap_new()) || !(p->fn_ids = tli_strmap_new()) || !(p->loc_ids = tli_strmap_new()))
		return &tli_enomem;
	int64_t empty;
	if ((err = intern(p, "", &empty)) || (err = sample_types(p, d)) || (err = header(p, d)) ||
	    (err = samples(p, d)))
		return err;
	p->prof.string_table = p->strtab.v;
	p->prof.n_string_table = p->strtab.n;
	p->prof.function = p->fns.v;
	p->prof.n_function = p->fns.n;
	p->prof.location = p->locs.v;
	p->prof.n_location = p->locs.n;
	return NULL;
}

/* gzip (RFC 1952) of in[0..n) into a malloc'd buffer; zlib counts in uInt, so feed it in slices. */
static struct tli_error *gzip_bytes(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
	const size_t slice = 1u << 30;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return tli_error_create(TLI_E_INTERNAL, "pprof profile: zlib: deflateInit2 failed");
	size_t cap = deflateBound(&z, n), in_off = 0, out_off = 0;
	uint8_t *buf = malloc(cap);
	int rc = Z_OK;
	while (buf && rc == Z_OK) {
		size_t in_left = n - in_off, out_left = cap - out_off;
		z.next_in = (Bytef *)in + in_off;
		z.avail_in = (uInt)(in_left < slice ? in_left : slice);
		z.next_out = buf + out_off;
		z.avail_out = (uInt)(out_left < slice ? out_left : slice);
		uInt ai = z.avail_in, ao = z.avail_out;
		rc = deflate(&z, in_left <= slice ? Z_FINISH : Z_NO_FLUSH);
		in_off += ai - z.avail_in;
		out_off += ao - z.avail_out;
		if (rc == Z_OK && ai == z.avail_in && ao == z.avail_out)
			rc = Z_BUF_ERROR;   /* no progress: deflateBound was wrong; never loop */
	}
	deflateEnd(&z);
	if (!buf)
		return &tli_enomem;
	if (rc != Z_STREAM_END) {
		free(buf);
		return tli_error_create(TLI_E_INTERNAL, "pprof profile: zlib: deflate failed (%d)", rc);
	}
	*out = buf;
	*outlen = out_off;
	return NULL;
}

struct tli_error *tli_pprof_encode(const json_t *profile, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	struct pp p;
	memset(&p, 0, sizeof(p));
	struct tli_error *err = build(&p, profile);
	if (!err) {
		size_t n = pprof__profile__get_packed_size(&p.prof);
		uint8_t *raw = malloc(n ? n : 1);
		if (!raw) {
			err = &tli_enomem;
		} else {
			size_t packed = pprof__profile__pack(&p.prof, raw);
			err = packed == n ? gzip_bytes(raw, n, out, len)
					  : tli_error_create(TLI_E_INTERNAL, "pprof profile: packed %zu of %zu bytes",
							     packed, n);
			free(raw);
		}
	}
	pp_free(&p);
	return err;
}

struct tli_error *tli_pprof_write_file(const json_t *profile, const char *path, bool force)
{
	uint8_t *buf;
	size_t len;
	struct tli_error *err = tli_pprof_encode(profile, &buf, &len);
	if (err)
		return tli_error_wrap(err, "%s", path ? path : "(no file)");
	err = tli_file_write_new(path, buf, len, force);
	free(buf);
	return err;
}
