/* SPDX-License-Identifier: MIT */
/* Text rendering of the glibc command results (the JSON trees of glibc/heap_cmd.c and glibc/leaks.c). */
#include "text_glibc.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

static json_int_t I(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *S(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static void problems(FILE *f, json_t *g)
{
	json_t *p = json_object_get(g, "problems");
	if (!json_array_size(p))
		return;
	fprintf(f, "\nCORRUPTION / INCONSISTENCIES (%" JSON_INTEGER_FORMAT " total):\n", I(g, "problems_total"));
	size_t i;
	json_t *x;
	json_array_foreach(p, i, x)
		fprintf(f, "  %-18s %s\n", S(x, "address"), S(x, "what"));
}

static void header(FILE *f, json_t *g)
{
	fprintf(f, "libc %s  main_arena %s  mp_ %s  safe-linking %s\n", S(g, "libc"), S(g, "main_arena"),
		S(g, "mp_"), json_is_true(json_object_get(g, "safe_linking")) ? "on" : "off");
}

static void cbp(FILE *f, json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	fprintf(f, "%8" JSON_INTEGER_FORMAT " / %12" JSON_INTEGER_FORMAT, I(x, "count"), I(x, "bytes"));
}

static void arenas(FILE *f, json_t *g, bool full)
{
	size_t i;
	json_t *a;
	fprintf(f, "\n%-3s %-16s %12s %12s %5s  %-25s  %-25s %6s\n", "#", "arena", "system_mem", "top_size",
		"heaps", "in use (prog) n / bytes", "free (prog) n / bytes", "frag");
	json_array_foreach(json_object_get(g, "arenas"), i, a) {
		json_t *pv = json_object_get(a, "program_view");
		fprintf(f, "%-3" JSON_INTEGER_FORMAT " %-16s %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT
			" %5zu  ", I(a, "index"), S(a, "address"), I(a, "system_mem"), I(a, "top_size"),
			json_array_size(json_object_get(a, "heaps")));
		cbp(f, pv, "in_use");
		fprintf(f, "  ");
		cbp(f, pv, "free");
		fprintf(f, " %5.1f%%%s\n", 100.0 * json_real_value(json_object_get(a, "fragmentation")),
			I(a, "mutex") ? "  LOCKED" : "");
		if (!full)
			continue;
		size_t j;
		json_t *h;
		json_array_foreach(json_object_get(a, "heaps"), j, h)
			fprintf(f, "      heap %s-%s heap_info %s size %" JSON_INTEGER_FORMAT "\n", S(h, "start"),
				S(h, "end"), S(h, "heap_info"), I(h, "size"));
		json_t *ch = json_object_get(a, "chunks");
		const char *k;
		json_t *v;
		fprintf(f, "      chunks:");
		json_object_foreach(ch, k, v)
			if (I(v, "count"))
				fprintf(f, " %s %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "B", k, I(v, "count"),
					I(v, "bytes"));
		fprintf(f, "  overhead %" JSON_INTEGER_FORMAT "B\n", I(a, "overhead"));
	}
}

static void heap(FILE *f, json_t *g)
{
	header(f, g);
	json_t *m = json_object_get(g, "mallinfo2");
	fprintf(f, "\nmallinfo2 (reproduced): arena %" JSON_INTEGER_FORMAT " ordblks %" JSON_INTEGER_FORMAT
		" smblks %" JSON_INTEGER_FORMAT " hblks %" JSON_INTEGER_FORMAT " hblkhd %" JSON_INTEGER_FORMAT
		"\n                        uordblks %" JSON_INTEGER_FORMAT " fordblks %" JSON_INTEGER_FORMAT
		" fsmblks %" JSON_INTEGER_FORMAT " keepcost %" JSON_INTEGER_FORMAT "\n",
		I(m, "arena"), I(m, "ordblks"), I(m, "smblks"), I(m, "hblks"), I(m, "hblkhd"), I(m, "uordblks"),
		I(m, "fordblks"), I(m, "fsmblks"), I(m, "keepcost"));
	arenas(f, g, false);
	json_t *mm = json_object_get(g, "mmapped");
	fprintf(f, "\nmmapped chunks: %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " bytes) per mp_; %"
		JSON_INTEGER_FORMAT " found\n", I(mm, "n_mmaps"), I(mm, "mmapped_mem"), I(mm, "found_count"));
	size_t i;
	json_t *x;
	fprintf(f, "\nin-use chunks by size class:\n  %-22s %10s %14s\n", "size", "count", "bytes");
	json_array_foreach(json_object_get(g, "histogram"), i, x) {
		char r[64];
		snprintf(r, sizeof(r), "%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT, I(x, "from"), I(x, "to"));
		fprintf(f, "  %-22s %10" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n", r, I(x, "count"),
			I(x, "bytes"));
	}
	fprintf(f, "\ntop sizes (in use):\n  %-12s %10s %14s\n", "chunk size", "count", "bytes");
	json_array_foreach(json_object_get(g, "top_sizes"), i, x)
		fprintf(f, "  %-12" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n",
			I(x, "size"), I(x, "count"), I(x, "bytes"));
	problems(f, g);
}

static void bins(FILE *f, json_t *g)
{
	header(f, g);
	size_t i, j;
	json_t *t, *b;
	fprintf(f, "\ntcache (free to the program, in use for the arena):\n");
	json_array_foreach(json_object_get(g, "tcache"), i, t) {
		if (json_is_string(json_object_get(t, "unknown"))) {
			fprintf(f, "  thread %" JSON_INTEGER_FORMAT " tcache unknown: %s\n", I(t, "tid"), S(t, "unknown"));
			continue;
		}
		if (json_is_string(json_object_get(t, "owner")))
			fprintf(f, "  tcache %s (found by its content, owner thread unknown): %" JSON_INTEGER_FORMAT
				" chunks, %" JSON_INTEGER_FORMAT " bytes\n", S(t, "tcache"),
				I(json_object_get(t, "total"), "count"), I(json_object_get(t, "total"), "bytes"));
		else
			fprintf(f, "  thread %" JSON_INTEGER_FORMAT " tcache %s: %" JSON_INTEGER_FORMAT " chunks, %"
				JSON_INTEGER_FORMAT " bytes\n", I(t, "tid"), S(t, "tcache"),
				I(json_object_get(t, "total"), "count"), I(json_object_get(t, "total"), "bytes"));
		json_array_foreach(json_object_get(t, "bins"), j, b)
			fprintf(f, "    [%2" JSON_INTEGER_FORMAT "] size 0x%-5llx count %"
				JSON_INTEGER_FORMAT "%s\n", I(b, "index"), I(b, "chunk_size"), I(b, "count"),
				I(b, "count") != I(b, "found") ? "  (list length differs!)" : "");
	}
	json_array_foreach(json_object_get(g, "arenas"), i, t) {
		fprintf(f, "\narena %" JSON_INTEGER_FORMAT " %s  (top %" JSON_INTEGER_FORMAT " bytes)\n",
			I(t, "index"), S(t, "address"), I(t, "top_size"));
		json_array_foreach(json_object_get(t, "fastbins"), j, b)
			fprintf(f, "  fastbin[%" JSON_INTEGER_FORMAT "] size 0x%llx: %"
				JSON_INTEGER_FORMAT " chunks %" JSON_INTEGER_FORMAT " bytes\n", I(b, "index"),
				I(b, "chunk_size"), I(b, "count"), I(b, "bytes"));
		json_t *u = json_object_get(t, "unsorted");
		if (I(u, "count"))
			fprintf(f, "  unsorted: %" JSON_INTEGER_FORMAT " chunks %" JSON_INTEGER_FORMAT " bytes\n",
				I(u, "count"), I(u, "bytes"));
		const char *kinds[] = { "small", "large" };
		for (int k = 0; k < 2; k++)
			json_array_foreach(json_object_get(t, kinds[k]), j, b)
				fprintf(f, "  %s bin %3" JSON_INTEGER_FORMAT ": %" JSON_INTEGER_FORMAT " chunks %"
					JSON_INTEGER_FORMAT " bytes (0x%llx-0x%llx)\n", kinds[k], I(b, "index"),
					I(b, "count"), I(b, "bytes"), (unsigned long long)I(b, "min_size"),
					(unsigned long long)I(b, "max_size"));
	}
	problems(f, g);
}

static void chunk(FILE *f, json_t *g)
{
	json_t *c = json_object_get(g, "chunk");
	json_t *fl = json_object_get(c, "flags");
	fprintf(f, "chunk %s (user %s), size 0x%llx (raw %s) [%s%s%s]\n", S(c, "address"),
		S(c, "user"), I(c, "size"), S(c, "raw_size"),
		json_is_true(json_object_get(fl, "prev_inuse")) ? "P" : "-",
		json_is_true(json_object_get(fl, "is_mmapped")) ? "M" : "-",
		json_is_true(json_object_get(fl, "non_main_arena")) ? "A" : "-");
	fprintf(f, "  state %s; program view: %s, arena view: %s", S(c, "state"), S(c, "program_view"),
		S(c, "arena_view"));
	if (json_object_get(c, "bin"))
		fprintf(f, "; bin %" JSON_INTEGER_FORMAT, I(c, "bin"));
	if (json_is_integer(json_object_get(c, "arena")))
		fprintf(f, "; arena %" JSON_INTEGER_FORMAT, I(c, "arena"));
	fprintf(f, "\n  usable %" JSON_INTEGER_FORMAT " bytes; %s is at offset %" JSON_INTEGER_FORMAT "\n",
		I(c, "usable"), S(c, "query"), I(c, "offset"));
	json_t *p = json_object_get(c, "prev"), *n = json_object_get(c, "next");
	if (p)
		fprintf(f, "  prev %s size 0x%llx %s\n", S(p, "address"), I(p, "size"),
			S(p, "state"));
	if (n)
		fprintf(f, "  next %s size 0x%llx %s\n", S(n, "address"), I(n, "size"),
			S(n, "state"));
	problems(f, g);
}

static void leaks(FILE *f, json_t *h)
{
	json_t *u = json_object_get(h, "unreachable");
	fprintf(f, "%" JSON_INTEGER_FORMAT " unreachable chunks (%" JSON_INTEGER_FORMAT " bytes) of %"
		JSON_INTEGER_FORMAT " in use; roots %" JSON_INTEGER_FORMAT " bytes + %" JSON_INTEGER_FORMAT
		" registers\n", I(u, "count"), I(u, "bytes"), I(h, "in_use_chunks"), I(h, "root_bytes"),
		I(h, "root_registers"));
	size_t i;
	json_t *x;
	if (json_array_size(json_object_get(h, "groups")) == 0)
		return; /* nothing unreachable: no empty table */
	fprintf(f, "\n  %10s %8s %12s  %s\n", "chunk size", "count", "bytes", "type");
	json_array_foreach(json_object_get(h, "groups"), i, x)
		fprintf(f, "  %10" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "  %s\n",
			I(x, "size"), I(x, "count"), I(x, "bytes"),
			json_is_string(json_object_get(x, "type")) ? S(x, "type") : "-");
	fprintf(f, "\n");
	json_array_foreach(json_object_get(h, "unreachable_chunks"), i, x) {
		if (i >= 50) {
			fprintf(f, "  ... (%zu more; --json lists all)\n",
				json_array_size(json_object_get(h, "unreachable_chunks")) - 50);
			break;
		}
		fprintf(f, "  %s size %" JSON_INTEGER_FORMAT "%s%s\n", S(x, "address"), I(x, "size"),
			json_is_string(json_object_get(x, "type")) ? " type " : "",
			json_is_string(json_object_get(x, "type")) ? S(x, "type") : "");
	}
}

void tli_glibc_render_text(FILE *f, const char *command, json_t *result)
{
	json_t *g = json_object_get(result, "glibc");
	if (!strcmp(command, "leaks") && json_object_get(result, "heap"))
		leaks(f, json_object_get(result, "heap"));
	else if (!g)
		json_dumpf(result, f, JSON_INDENT(2)), fputc('\n', f);
	else if (!strcmp(command, "heap"))
		heap(f, g);
	else if (!strcmp(command, "arenas"))
		header(f, g), arenas(f, g, true), problems(f, g);
	else if (!strcmp(command, "bins"))
		bins(f, g);
	else if (!strcmp(command, "chunk"))
		chunk(f, g);
	else
		json_dumpf(result, f, JSON_INDENT(2)), fputc('\n', f);
}
