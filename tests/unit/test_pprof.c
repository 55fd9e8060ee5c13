/* SPDX-License-Identifier: MIT */
/*
 * render/pprof.c: the profile description (pprof.h) -> gzipped profile.proto. The oracle is the
 * format itself: the bytes are gunzipped with zlib and unpacked with the protobuf-c code
 * generated from render/pprof/profile.proto, and every field must give back what went in
 * (frames resolved through Location -> Line -> Function -> string table). Bad descriptions are
 * refused with exit 2 and a message naming the item; files are 0600, never through a symlink,
 * replaced only with force. (`go tool pprof` itself reads the files in tests/integration/pprof.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fileio.h"
#include "render/pprof.h"

#include "profile.pb-c.h"

static const char *DESC =
	"{\"sample_types\": [{\"type\": \"inuse_objects\", \"unit\": \"count\"},"
	"                    {\"type\": \"inuse_space\", \"unit\": \"bytes\"}],"
	" \"default_sample_type\": \"inuse_space\","
	" \"period_type\": {\"type\": \"space\", \"unit\": \"bytes\"}, \"period\": 524288,"
	" \"time_nanos\": 1700000000123456789, \"duration_nanos\": 5,"
	" \"comments\": [\"first comment\", \"inuse_space\"],"
	" \"samples\": ["
	"  {\"stack\": [\"main.User\", \".field users\", \"root: global main.users\"], \"values\": [1000, 48000]},"
	"  {\"stack\": [\"main.Session\", \"main.User\", \".field users\", \"root: global main.users\"],"
	"   \"values\": [10, -640], \"labels\": {\"kind\": \"session\", \"n\": 3}},"
	"  {\"stack\": [{\"function\": \"main.worker\", \"file\": \"/src/main.go\", \"line\": 42},"
	"             {\"function\": \"main.worker\", \"file\": \"/src/main.go\", \"line\": 50},"
	"             {\"function\": \"main.User\"}], \"values\": [2, 0]}"
	" ]}";

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *d = json_loads(s, 0, &e);
	if (!d)
		fail_msg("bad test JSON: %s", e.text);
	return d;
}

/* gunzip (zlib, gzip wrapper only) and unpack with the generated code */
static Pprof__Profile *decode(const uint8_t *gz, size_t n)
{
	assert_true(n > 18);
	assert_int_equal(gz[0], 0x1f);   /* gzip magic, deflate */
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(gz[2], 8);
	size_t cap = 1 << 20;
	uint8_t *raw = malloc(cap);
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)n;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);   /* nothing after the gzip member */
	size_t rawlen = cap - z.avail_out;
	inflateEnd(&z);
	Pprof__Profile *p = pprof__profile__unpack(NULL, rawlen, raw);
	free(raw);
	assert_non_null(p);
	return p;
}

static Pprof__Profile *encode_decode(const char *desc)
{
	json_t *d = load(desc);
	uint8_t *gz;
	size_t n;
	struct tli_error *err = tli_pprof_encode(d, &gz, &n);
	if (err)
		fail_msg("encode: %s", err->msg);
	json_decref(d);
	Pprof__Profile *p = decode(gz, n);
	free(gz);
	return p;
}

static const char *str(const Pprof__Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const Pprof__Location *loc(const Pprof__Profile *p, uint64_t id)
{
	/* ids are 1..n in order */
	assert_true(id >= 1 && id <= p->n_location);
	assert_int_equal(p->location[id - 1]->id, id);
	return p->location[id - 1];
}

static const Pprof__Function *fn(const Pprof__Profile *p, uint64_t id)
{
	assert_true(id >= 1 && id <= p->n_function);
	assert_int_equal(p->function[id - 1]->id, id);
	return p->function[id - 1];
}

/* frame i of sample s as "name file:line" */
static void frame(const Pprof__Profile *p, const Pprof__Sample *s, size_t i, char *out, size_t n)
{
	assert_true(i < s->n_location_id);
	const Pprof__Location *l = loc(p, s->location_id[i]);
	assert_int_equal(l->n_line, 1);
	assert_int_equal(l->mapping_id, 0);
	const Pprof__Function *f = fn(p, l->line[0]->function_id);
	assert_int_equal(f->system_name, f->name);
	snprintf(out, n, "%s %s:%lld", str(p, f->name), str(p, f->filename), (long long)l->line[0]->line);
}

static void expect_stack(const Pprof__Profile *p, const Pprof__Sample *s, const char *const *want, size_t n)
{
	assert_int_equal(s->n_location_id, n);
	for (size_t i = 0; i < n; i++) {
		char got[256];
		frame(p, s, i, got, sizeof(got));
		assert_string_equal(got, want[i]);
	}
}

static void test_round_trip(void **state)
{
	Pprof__Profile *p = encode_decode(DESC);
	assert_true(p->n_string_table > 0);
	assert_string_equal(p->string_table[0], "");
	for (size_t i = 1; i < p->n_string_table; i++)   /* each string once */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(p->string_table[i], p->string_table[j]);

	assert_int_equal(p->n_sample_type, 2);
	assert_string_equal(str(p, p->sample_type[0]->type), "inuse_objects");
	assert_string_equal(str(p, p->sample_type[0]->unit), "count");
	assert_string_equal(str(p, p->sample_type[1]->type), "inuse_space");
	assert_string_equal(str(p, p->sample_type[1]->unit), "bytes");
	assert_string_equal(str(p, p->default_sample_type), "inuse_space");
	assert_non_null(p->period_type);
	assert_string_equal(str(p, p->period_type->type), "space");
	assert_string_equal(str(p, p->period_type->unit), "bytes");
	assert_int_equal(p->period, 524288);
	assert_int_equal(p->time_nanos, 1700000000123456789LL);
	assert_int_equal(p->duration_nanos, 5);
	assert_int_equal(p->n_comment, 2);
	assert_string_equal(str(p, p->comment[0]), "first comment");
	assert_string_equal(str(p, p->comment[1]), "inuse_space");   /* shares the type's string */
	assert_int_equal(p->n_mapping, 0);
	assert_int_equal(p->drop_frames, 0);
	assert_int_equal(p->keep_frames, 0);

	assert_int_equal(p->n_sample, 3);
	static const char *const s0[] = {"main.User :0", ".field users :0", "root: global main.users :0"};
	static const char *const s1[] = {"main.Session :0", "main.User :0", ".field users :0",
					 "root: global main.users :0"};
	static const char *const s2[] = {"main.worker /src/main.go:42", "main.worker /src/main.go:50",
					 "main.User :0"};
	expect_stack(p, p->sample[0], s0, 3);
	expect_stack(p, p->sample[1], s1, 4);
	expect_stack(p, p->sample[2], s2, 3);
	assert_int_equal(p->sample[0]->n_value, 2);
	assert_int_equal(p->sample[0]->value[0], 1000);
	assert_int_equal(p->sample[0]->value[1], 48000);
	assert_int_equal(p->sample[1]->value[0], 10);
	assert_int_equal(p->sample[1]->value[1], -640);
	assert_int_equal(p->sample[2]->value[0], 2);
	assert_int_equal(p->sample[2]->value[1], 0);

	/* one Location per distinct frame, one Function per (name, file); shared ones are shared */
	assert_int_equal(p->n_location, 6);   /* User, .field, root, Session, worker:42, worker:50 */
	assert_int_equal(p->n_function, 5);   /* User, .field, root, Session, worker */
	assert_int_equal(p->sample[1]->location_id[1], p->sample[0]->location_id[0]);
	assert_int_equal(p->sample[2]->location_id[2], p->sample[0]->location_id[0]);   /* {"function"} = "..." */
	assert_int_equal(loc(p, p->sample[2]->location_id[0])->line[0]->function_id,
			 loc(p, p->sample[2]->location_id[1])->line[0]->function_id);

	assert_int_equal(p->sample[0]->n_label, 0);
	assert_int_equal(p->sample[1]->n_label, 2);
	const Pprof__Label *k = p->sample[1]->label[0], *nl = p->sample[1]->label[1];
	assert_string_equal(str(p, k->key), "kind");
	assert_string_equal(str(p, k->str), "session");
	assert_int_equal(k->num, 0);
	assert_string_equal(str(p, nl->key), "n");
	assert_int_equal(nl->str, 0);
	assert_int_equal(nl->num, 3);
	pprof__profile__free_unpacked(p, NULL);
}

static void test_minimal(void **state)
{
	Pprof__Profile *p = encode_decode("{\"sample_types\": [{\"type\": \"goroutine\", \"unit\": \"count\"}],"
					  " \"samples\": []}");
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_location, 0);
	assert_int_equal(p->default_sample_type, 0);   /* readers default to the last type */
	assert_null(p->period_type);
	assert_int_equal(p->time_nanos, 0);
	assert_int_equal(p->n_string_table, 3);
	assert_string_equal(p->string_table[0], "");
	pprof__profile__free_unpacked(p, NULL);
}

/* Every refusal: exit 2 (TLI_E_USAGE), a message naming the item, nothing returned. */
static void test_refused(void **state)
{
#define TYPES "\"sample_types\": [{\"type\": \"a\", \"unit\": \"count\"}]"
	static const struct { const char *json, *msg; } cases[] = {
		{"[]", "must be a JSON object"},
		{"{\"samples\": []}", "sample_types"},
		{"{\"sample_types\": [], \"samples\": []}", "sample_types"},
		{"{\"sample_types\": {}, \"samples\": []}", "sample_types"},
		{"{\"sample_types\": [{\"type\": \"a\"}], \"samples\": []}", "sample_types[0].unit: missing"},
		{"{\"sample_types\": [{\"type\": 1, \"unit\": \"u\"}], \"samples\": []}", "sample_types[0].type: wrong type"},
		{"{\"sample_types\": [{\"type\": \"a\", \"unit\": \"u\", \"x\": 1}], \"samples\": []}", "unknown key \"x\""},
		{"{\"sample_types\": [{\"type\": \"a\", \"unit\": \"u\"}, {\"type\": \"a\", \"unit\": \"v\"}], \"samples\": []}",
		 "given twice"},
		{"{" TYPES "}", "samples"},
		{"{" TYPES ", \"samples\": {}}", "samples"},
		{"{" TYPES ", \"samples\": [], \"sample\": []}", "unknown key \"sample\""},
		{"{" TYPES ", \"samples\": [], \"default_sample_type\": \"b\"}", "default_sample_type \"b\""},
		{"{" TYPES ", \"samples\": [], \"time_nanos\": \"now\"}", "time_nanos"},
		{"{" TYPES ", \"samples\": [], \"period_type\": \"space\"}", "period_type"},
		{"{" TYPES ", \"samples\": [], \"comments\": [1]}", "comments[0]"},
		{"{" TYPES ", \"samples\": [3]}", "samples[0]"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"]}]}", "samples[0].values"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1, 2]}]}", "samples[0].values"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1.5]}]}", "samples[0].values[0]"},
		{"{" TYPES ", \"samples\": [{\"stack\": \"f\", \"values\": [1]}]}", "samples[0].stack"},
		{"{" TYPES ", \"samples\": [{\"values\": [1]}]}", "samples[0].stack"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\", 7], \"values\": [1]}]}", "samples[0].stack[1]"},
		{"{" TYPES ", \"samples\": [{\"stack\": [{\"file\": \"x.go\"}], \"values\": [1]}]}",
		 "samples[0].stack[0].function: missing"},
		{"{" TYPES ", \"samples\": [{\"stack\": [{\"function\": \"f\", \"line\": \"3\"}], \"values\": [1]}]}",
		 "samples[0].stack[0].line"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1], \"labels\": []}]}", "samples[0].labels"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1], \"labels\": {\"k\": [1]}}]}",
		 "samples[0].labels.k"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1], \"labels\": {\"\": \"v\"}}]}",
		 "samples[0].labels: a label key"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\\u0000g\"], \"values\": [1]}]}", "samples[0].stack[0]"},
		{"{" TYPES ", \"samples\": [{\"stack\": [\"f\"], \"values\": [1], \"extra\": 1}]}",
		 "samples[0]: unknown key \"extra\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t e;
		json_t *d = json_loads(cases[i].json, JSON_ALLOW_NUL, &e);
		if (!d)
			fail_msg("case %zu: bad test JSON: %s", i, e.text);
		uint8_t *out = (uint8_t *)"x";
		size_t len = 7;
		struct tli_error *err = tli_pprof_encode(d, &out, &len);
		json_decref(d);
		if (!err)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (err->code != TLI_E_USAGE || !strstr(err->msg, cases[i].msg))
			fail_msg("case %zu: code %d, message \"%s\" (want \"%s\")", i, err->code, err->msg, cases[i].msg);
		assert_null(out);
		assert_int_equal(len, 0);
		tli_error_destroy(err);
	}
#undef TYPES
}

/* A description `depth` frames deep (distinct names), `nsamples` samples of it. */
static json_t *deep(size_t depth, size_t nsamples)
{
	json_t *d = load("{\"sample_types\": [{\"type\": \"a\", \"unit\": \"count\"}], \"samples\": []}");
	json_t *stack = json_array();
	for (size_t i = 0; i < depth; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%zu", i);
		json_array_append_new(stack, json_string(name));
	}
	for (size_t i = 0; i < nsamples; i++)
		json_array_append_new(json_object_get(d, "samples"),
				      json_pack("{s:O, s:[I]}", "stack", stack, "values", (json_int_t)i));
	json_decref(stack);
	return d;
}

static void test_bounds(void **state)
{
	uint8_t *out;
	size_t len;
	json_t *d = deep(TLI_PPROF_MAX_DEPTH, 3);
	struct tli_error *err = tli_pprof_encode(d, &out, &len);
	assert_null(err);
	json_decref(d);
	Pprof__Profile *p = decode(out, len);
	free(out);
	assert_int_equal(p->n_sample, 3);
	assert_int_equal(p->n_location, TLI_PPROF_MAX_DEPTH);
	assert_int_equal(p->sample[2]->n_location_id, TLI_PPROF_MAX_DEPTH);
	assert_string_equal(p->string_table[p->function[TLI_PPROF_MAX_DEPTH - 1]->name], "f4095");
	pprof__profile__free_unpacked(p, NULL);

	d = deep(TLI_PPROF_MAX_DEPTH + 1, 1);
	err = tli_pprof_encode(d, &out, &len);
	json_decref(d);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_USAGE);
	assert_non_null(strstr(err->msg, "samples[0].stack"));
	tli_error_destroy(err);

	char *big = malloc(TLI_PPROF_MAX_STRING + 2);
	memset(big, 'x', TLI_PPROF_MAX_STRING + 1);
	big[TLI_PPROF_MAX_STRING + 1] = 0;
	d = deep(1, 1);
	json_array_set_new(json_object_get(json_array_get(json_object_get(d, "samples"), 0), "stack"), 0,
			   json_string(big));
	free(big);
	err = tli_pprof_encode(d, &out, &len);
	json_decref(d);
	assert_non_null(err);
	assert_int_equal(err->code, TLI_E_USAGE);
	tli_error_destroy(err);
}

static char dir[64];

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static size_t entries(void)
{
	DIR *dp = opendir(dir);
	assert_non_null(dp);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dp)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(dp);
	return n;
}

static void read_all(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	*buf = malloc(1 << 20);
	*len = fread(*buf, 1, 1 << 20, f);
	fclose(f);
}

static void expect_refused(const json_t *d, const char *path, bool force, const char *msg)
{
	struct tli_error *err = tli_pprof_write_file(d, path, force);
	if (!err)
		fail_msg("%s (force %d) was written", path, force);
	if (!strstr(err->msg, path) || !strstr(err->msg, msg))
		fail_msg("message \"%s\" (want the path and \"%s\")", err->msg, msg);
	assert_int_equal(err->code, TLI_E_USAGE);
	tli_error_destroy(err);
}

static void test_write_file(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tli-pprof-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[128], victim[128], link[128], dangling[128];
	path_in(path, sizeof(path), "heap.pb.gz");
	path_in(victim, sizeof(victim), "victim");
	path_in(link, sizeof(link), "link.pb.gz");
	path_in(dangling, sizeof(dangling), "dangling.pb.gz");
	json_t *d = load(DESC);

	mode_t old = umask(0);   /* 0600 comes from the writer, not from a kind umask */
	assert_null(tli_pprof_write_file(d, path, false));
	umask(old);
	struct stat st, st2;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	uint8_t *want, *got;
	size_t wlen, glen;
	assert_null(tli_pprof_encode(d, &want, &wlen));
	read_all(path, &got, &glen);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	free(got);

	expect_refused(d, path, false, "already exists");

	/* a planted symlink is never written through, with or without force */
	FILE *f = fopen(victim, "w");
	fputs("precious", f);
	fclose(f);
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(symlink("/nonexistent/x", dangling), 0);
	expect_refused(d, link, false, "already exists");
	expect_refused(d, link, true, "not a regular file");
	expect_refused(d, dangling, false, "already exists");
	expect_refused(d, dangling, true, "not a regular file");
	expect_refused(d, dir, true, "not a regular file");
	read_all(victim, &got, &glen);
	assert_int_equal(glen, 8);
	assert_memory_equal(got, "precious", 8);
	free(got);

	/* force: the regular file is replaced by a new inode, 0600, no temporary file left */
	assert_int_equal(chmod(path, 0644), 0);
	json_t *d2 = load("{\"sample_types\": [{\"type\": \"a\", \"unit\": \"count\"}], \"samples\": []}");
	assert_null(tli_pprof_write_file(d2, path, true));
	assert_int_equal(lstat(path, &st2), 0);
	assert_true(st2.st_ino != st.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0600);
	read_all(path, &got, &glen);
	Pprof__Profile *p = decode(got, glen);
	free(got);
	assert_int_equal(p->n_sample_type, 1);
	pprof__profile__free_unpacked(p, NULL);
	assert_int_equal(entries(), 4);   /* heap.pb.gz, victim, link.pb.gz, dangling.pb.gz */

	/* a refused description writes nothing; a missing directory is named */
	char fresh[128], nodir[128];
	path_in(fresh, sizeof(fresh), "fresh.pb.gz");
	path_in(nodir, sizeof(nodir), "no/such/dir.pb.gz");
	json_t *bad = load("{\"sample_types\": [], \"samples\": []}");
	expect_refused(bad, fresh, false, "sample_types");
	assert_int_equal(lstat(fresh, &st), -1);
	expect_refused(d, nodir, false, "cannot create");
	assert_int_equal(entries(), 4);

	json_decref(bad);
	json_decref(d2);
	json_decref(d);
	free(want);
	unlink(path);
	unlink(victim);
	unlink(link);
	unlink(dangling);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_write_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
