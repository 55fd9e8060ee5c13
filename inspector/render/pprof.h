/* SPDX-License-Identifier: MIT */
/**
 * @file pprof.h
 * A printer to pprof's format: a gzipped profile.proto (render/pprof/profile.proto, encoded
 * by the protobuf-c code protoc-c generates from it at build time, gzipped by zlib) that
 * `go tool pprof` reads. Like every printer it sees only a JSON description, never the
 * target: a command (heap --pprof, goroutines --pprof) turns its result tree into the
 * description below and hands it here.
 *
 * The description (every key but "sample_types" and "samples" optional; other keys are refused):
 *
 *     {
 *       "sample_types": [{"type": "inuse_objects", "unit": "count"},
 *                        {"type": "inuse_space", "unit": "bytes"}],
 *       "default_sample_type": "inuse_space",     one of the sample_types' "type"
 *       "period_type": {"type": "space", "unit": "bytes"},
 *       "period": 524288,
 *       "time_nanos": 1700000000000000000,        when it was taken (ns since the epoch)
 *       "duration_nanos": 0,
 *       "comments": ["tlinspect heap --pprof", "..."],
 *       "samples": [
 *         {"stack": ["main.User", ".field users", "root: global main.users"],
 *          "values": [1, 48],                       one integer per sample type
 *          "labels": {"state": "chan receive", "n": 3, "size": {"num": 0, "unit": "bytes"}}}
 *       ]
 *     }
 *
 * "stack" lists frames innermost first (the leaf, e.g. the object's type, then outwards to the
 * root), as pprof does. A frame is a string (a function name as pprof shows it) or an object
 * {"function": NAME, "file": FILE, "line": N} ("file" and "line" optional) for frames that have
 * a source position (goroutine stacks). Each distinct function (name, file) becomes one
 * Function, each distinct frame (name, file, line) one Location with one Line, ids from 1 in
 * order of first appearance; string table entry 0 is "". No Mapping is written.
 *
 * A label's value is a string, an integer, or {"num": N, "unit": U}. Readers (go tool pprof)
 * drop a numeric label that is 0 and has no unit - the format cannot tell it from no label -
 * so give a unit where 0 must show.
 *
 * Sizes are bounded (TLI_PPROF_MAX_*); a description that breaks a rule or a bound is refused
 * with TLI_E_USAGE and a message naming the offending item ("samples[3].values[1]: ...").
 */
#ifndef TLI_RENDER_PPROF_H
#define TLI_RENDER_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

#define TLI_PPROF_MAX_SAMPLE_TYPES 64
#define TLI_PPROF_MAX_SAMPLES      (1u << 24)   /**< 16 Mi samples */
#define TLI_PPROF_MAX_DEPTH        4096         /**< frames per stack */
#define TLI_PPROF_MAX_LABELS       64           /**< labels per sample */
#define TLI_PPROF_MAX_COMMENTS     1024
#define TLI_PPROF_MAX_STRING       (1u << 16)   /**< bytes per string (names, labels, comments) */

/**
 * Encode `profile` (the description above) as a gzipped profile.proto in memory.
 * On success *out (malloc'd, free() it) and *len; on error both are left NULL/0.
 */
struct tli_error *tli_pprof_encode(const json_t *profile, uint8_t **out, size_t *len);

/**
 * Encode `profile` and write it to `path`: a new file, mode 0600, never through a symlink;
 * with `force` an existing regular file is replaced atomically (core/fileio.h,
 * tli_file_write_new). Nothing is written if the description is refused.
 */
struct tli_error *tli_pprof_write_file(const json_t *profile, const char *path, bool force);

#endif
