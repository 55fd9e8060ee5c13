/* SPDX-License-Identifier: MIT */
/**
 * @file vec.h
 * A growable array of any element type (libdrgn's vector.h, in macro form).
 *
 *     TLI_VEC(u64vec, uint64_t);            // struct u64vec { uint64_t *v; size_t n, cap; }
 *     struct u64vec a = {0};
 *     if (!tli_vec_push(&a, 42)) return &tli_enomem;
 *     for (size_t i = 0; i < a.n; i++) ... a.v[i] ...
 *     tli_vec_free(&a);
 *
 * Growth doubles the capacity and is checked for size_t overflow; a failed
 * push leaves the vector unchanged.
 */
#ifndef TLI_CORE_VEC_H
#define TLI_CORE_VEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/** Declare `struct name { T *v; size_t n, cap; }`. */
#define TLI_VEC(name, T) struct name { T *v; size_t n, cap; }

/** Make room for at least `need` elements of `elsize` bytes in *v (capacity *cap). */
bool tli_vec_grow_(void **v, size_t *cap, size_t need, size_t elsize);

/** Capacity for at least `need` elements in total (false: out of memory or overflow). */
#define tli_vec_reserve(vec, need) \
	((need) <= (vec)->cap || tli_vec_grow_((void **)&(vec)->v, &(vec)->cap, (need), sizeof(*(vec)->v)))

/** Append x (false: out of memory, vector unchanged). */
#define tli_vec_push(vec, x) \
	(tli_vec_reserve((vec), (vec)->n + 1) ? ((vec)->v[(vec)->n++] = (x), true) : false)

/** Append an uninitialized element and return a pointer to it (NULL: out of memory). */
#define tli_vec_append(vec) \
	(tli_vec_reserve((vec), (vec)->n + 1) ? &(vec)->v[(vec)->n++] : NULL)

/** Free the storage and reset to empty. */
#define tli_vec_free(vec) do { free((vec)->v); (vec)->v = NULL; (vec)->n = (vec)->cap = 0; } while (0)

#endif
