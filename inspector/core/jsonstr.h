/* SPDX-License-Identifier: MIT */
/**
 * @file jsonstr.h
 * Building the result tree from target data: strings read from a target may be
 * anything, the tree must hold valid UTF-8. Walkers use this; printers never see
 * invalid bytes.
 */
#ifndef TLI_CORE_JSONSTR_H
#define TLI_CORE_JSONSTR_H

#include <jansson.h>

/** Make a jansson string from bytes that may not be UTF-8 (invalid bytes become '?'); NULL -> json null. */
json_t *tli_json_string_lossy(const char *s);

/** parent[key] as an object, created (and set) if absent; borrowed. */
json_t *tli_json_child_object(json_t *parent, const char *key);

#endif
