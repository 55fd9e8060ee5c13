/* SPDX-License-Identifier: MIT */
/**
 * @file layout.h
 * The layout resolver: "offset and size of member X of struct Y", "size of
 * struct Y", "address of global Z", "value of constant C" — answered by a chain
 * of providers (DWARF of the executable, ELF symbols, runtime-maps tables).
 * Walkers ask by name and never know where the answer came from; they never
 * contain offsets. Answers are cached.
 */
#ifndef TLI_CORE_LAYOUT_H
#define TLI_CORE_LAYOUT_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct tli_member {
	uint64_t offset;  /**< byte offset from the start of the outer struct */
	uint64_t size;    /**< byte size of the member */
};

struct tli_global {
	uint64_t addr;    /**< link-time address (the layout adds the module bias) */
	uint64_t size;    /**< 0 if unknown */
};

/**
 * A provider answers from one source. Each callback returns NULL on success,
 * an error with code TLI_E_NO_INFO when it simply does not know, and any other
 * code for real failures. Callbacks may be NULL (= never knows).
 */
struct tli_layout_provider_ops {
	const char *name; /**< "dwarf", "elf-symtab", "map go1.24", ... */
	/** `member` may be a dotted path ("sched.sp") through nested structs. */
	struct tli_error *(*member)(void *p, const char *type, const char *member,
				    struct tli_member *ret);
	struct tli_error *(*type_size)(void *p, const char *type, uint64_t *ret);
	struct tli_error *(*global)(void *p, const char *name, struct tli_global *ret);
	struct tli_error *(*constant)(void *p, const char *name, int64_t *ret);
	void (*destroy)(void *p);
};

struct tli_layout;

struct tli_error *tli_layout_create(struct tli_layout **ret);
void tli_layout_destroy(struct tli_layout *l);
/** Append a provider (asked in order). The layout owns `p` (destroy called at the end). */
struct tli_error *tli_layout_add_provider(struct tli_layout *l,
					  const struct tli_layout_provider_ops *ops, void *p);
/**
 * Same as tli_layout_add_provider, with a label used in error messages and by
 * tli_layout_last_source_label (e.g. "dwarf /usr/bin/foo"); copied. NULL = ops->name.
 */
struct tli_error *tli_layout_add_provider_labeled(struct tli_layout *l,
						  const struct tli_layout_provider_ops *ops,
						  void *p, const char *label);
/** Load bias added to every global address (PIE). */
void tli_layout_set_bias(struct tli_layout *l, uint64_t bias);

/** Member offset/size; error names "type.member" and every provider asked. */
struct tli_error *tli_layout_member(struct tli_layout *l, const char *type, const char *member,
				    struct tli_member *ret);
/** Optional member: true and *ret filled if present, false if no provider knows it. */
bool tli_layout_has_member(struct tli_layout *l, const char *type, const char *member,
			   struct tli_member *ret);
struct tli_error *tli_layout_type_size(struct tli_layout *l, const char *type, uint64_t *ret);
/** Global address with bias applied. */
struct tli_error *tli_layout_global(struct tli_layout *l, const char *name, struct tli_global *ret);
struct tli_error *tli_layout_constant(struct tli_layout *l, const char *name, int64_t *ret);
/** Name of the provider that answered the last successful query (for --verbose/explain). */
const char *tli_layout_last_source(const struct tli_layout *l);
/** Label of that provider ("dwarf /path/exe"); NULL before any successful query. */
const char *tli_layout_last_source_label(const struct tli_layout *l);
/** Cache statistics: queries answered from the cache, and provider calls made. */
void tli_layout_stats(const struct tli_layout *l, uint64_t *cache_hits, uint64_t *provider_calls);

/*
 * Persisted answers ("layout cache"): every answer the chain gave (found or not, with the
 * label of the provider that answered) written as text, and read back into another
 * layout of the SAME binary before any query, so those queries never reach a provider
 * (e.g. DWARF is then never decompressed and indexed). `stamp` identifies the binary and
 * the tool version (one line); load refuses a file with another stamp (TLI_E_NO_INFO)
 * and a malformed one (TLI_E_BAD_FORMAT). Global addresses are saved unbiased.
 */
#define TLI_LAYOUT_ANSWERS_MAGIC "tlinspect-layout-answers 1"
struct tli_error *tli_layout_save_answers(const struct tli_layout *l, const char *stamp, FILE *f);
struct tli_error *tli_layout_load_answers(struct tli_layout *l, const char *stamp, const char *text,
					  size_t len);
/** Answers held (cached queries, found or not). */
size_t tli_layout_answer_count(const struct tli_layout *l);

/**
 * Declarative resolution: a table of members to resolve at once.
 * Optional members that are absent get `*present = false` and offset/size
 * UINT32_MAX/0. A required member that is absent fails the whole call.
 */
struct tli_field_spec {
	const char *type;
	const char *member;
	uint32_t *offset;
	uint32_t *size;     /**< may be NULL */
	bool optional;
	bool *present;      /**< may be NULL */
};
struct tli_error *tli_layout_resolve(struct tli_layout *l, const struct tli_field_spec *specs,
				     size_t n);

#endif
