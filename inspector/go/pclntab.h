/* SPDX-License-Identifier: MIT */
/**
 * @file pclntab.h
 * Go's pc/line table (pclntab, Go 1.18+): PC -> function, pcsp, file:line and
 * inlined frames. Format: Go's runtime/symtab.go (pcHeader, _func, pcvalue) and
 * debug/gosym/pclntab.go (go1.18+ layout), as of go1.18-go1.27.
 *
 * Every address is a LINK-TIME address (the caller removes the PIE bias).
 * The table is read in place (zero copy) from a buffer that must outlive it
 * (normally the mmapped executable owned by struct tli_gobin).
 * All lookups are bounds-checked; a corrupt table yields errors, never a crash.
 * tli_pclntab_find is O(log nfunc) and does not allocate (except for errors).
 */
#ifndef TLI_GO_PCLNTAB_H
#define TLI_GO_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct tli_pclntab;

/** pclntab header magics. */
#define TLI_PCLNTAB_MAGIC_118 0xfffffff0u /* Go 1.18, 1.19 */
#define TLI_PCLNTAB_MAGIC_120 0xfffffff1u /* Go 1.20 .. 1.27 */

/* abi.PCDATA / FUNCDATA indexes used here. */
#define TLI_PCDATA_INLTREEINDEX 2
#define TLI_FUNCDATA_INLTREE 3

struct tli_gofunc {
	uint64_t entry, end;      /**< [entry, end), link-time */
	const char *name;         /**< points into the mapped file (NUL-terminated), "?" if bad */
	uint8_t funcid;           /**< abi.FuncID of the physical function */
	uint8_t flag;             /**< abi.FuncFlag (e.g. FuncFlagTopFrame, SPWrite, Asm) */
	uint32_t priv_funcoff;    /**< internal: offset of _func within the pclntable */
};

struct tli_goframe {              /**< one logical frame */
	const char *func;         /**< function name as in pclntab (inlined callee or physical function) */
	const char *file;         /**< "?" if unknown */
	int32_t line;             /**< 0 if unknown */
	uint8_t funcid;           /**< funcID of that (possibly inlined) function */
	bool inlined;             /**< true for frames that exist only by inlining */
	uint64_t entry;           /**< entry of the PHYSICAL function */
};

/** PC -> function. TLI_E_NO_INFO "pc 0x… is outside Go text" when no function covers pc. */
struct tli_error *tli_pclntab_find(const struct tli_pclntab *t, uint64_t pc, struct tli_gofunc *ret);
/** SP delta at pc (bytes between SP at pc and SP at entry, i.e. frame size so far). */
struct tli_error *tli_pclntab_spdelta(const struct tli_pclntab *t, const struct tli_gofunc *f, uint64_t pc,
				      int32_t *ret);
/** File and line at pc (of the innermost inlined code at pc). *file points into the mapped file. */
struct tli_error *tli_pclntab_fileline(const struct tli_pclntab *t, const struct tli_gofunc *f, uint64_t pc,
				       const char **file, int32_t *line);
/**
 * The logical frames at pc, INNERMOST FIRST: inlined callees, then the physical function.
 * The caller already applied the pc-1 rule for return addresses; this looks up exactly `pc`.
 * If there are more than `max` frames, the outermost ones are dropped and *n == max.
 * Without moduledata.gofunc (see tli_pclntab_set_gofunc) inline trees cannot be read, and
 * only the physical frame is returned (with the file:line of the code at pc).
 */
struct tli_error *tli_pclntab_frames(const struct tli_pclntab *t, uint64_t pc, struct tli_goframe *out, size_t max,
				     size_t *n);
/** Function by exact name (linear scan; first match). TLI_E_NO_INFO if absent. */
struct tli_error *tli_pclntab_lookup(const struct tli_pclntab *t, const char *name, struct tli_gofunc *ret);
size_t tli_pclntab_nfunc(const struct tli_pclntab *t);

/* ---- extra API ---- */

/** Function number idx (0 <= idx < nfunc) in address order. */
struct tli_error *tli_pclntab_func_at(const struct tli_pclntab *t, size_t idx, struct tli_gofunc *ret);
/** PCDATA table `table` at pc; *ret = -1 when the function has no such table. */
struct tli_error *tli_pclntab_pcdata(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t table,
				     uint64_t pc, int32_t *ret);
/** Link-time address of FUNCDATA `idx` of f; 0 if none (or if gofunc is unknown). */
uint64_t tli_pclntab_funcdata(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t idx);
/**
 * A 32-bit member of f's _func record at byte offset `off` (runtime._func.args,
 * .deferreturn: the caller resolves the offset by name); *ok false if off is
 * outside the record.
 */
uint32_t tli_pclntab_func_u32(const struct tli_pclntab *t, const struct tli_gofunc *f, uint32_t off, bool *ok);
uint32_t tli_pclntab_magic(const struct tli_pclntab *t);
uint64_t tli_pclntab_addr(const struct tli_pclntab *t);       /**< link-time address of the header */
uint64_t tli_pclntab_text(const struct tli_pclntab *t);       /**< textStart in use */
uint64_t tli_pclntab_etext(const struct tli_pclntab *t);      /**< text + last functab entryoff */
/** Header textStart as stored in the file (0 on Go 1.26+). */
uint64_t tli_pclntab_header_text(const struct tli_pclntab *t);

/**
 * The name the Go runtime prints for a pclntab function name (runtime.funcNameForPrint): the
 * shape arguments of generic instantiations become "[...]" ("main.f[go.shape.int]" -> "main.f[...]";
 * Go 1.27+ also handles generic methods of generic types). minor = Go minor version (-1: newest rules).
 * Writes a NUL-terminated string (truncated to n-1 bytes) and returns buf.
 */
char *tli_go_funcname_print(const char *name, int minor, char *buf, size_t n);

/** Reader of file-image bytes at a link-time address; returns NULL if [vaddr, vaddr+len) is not file-backed. */
typedef const uint8_t *(*tli_pclntab_view_fn)(const void *ctx, uint64_t vaddr, size_t len);

/**
 * Parse and validate a pclntab held in data[0..size) (size = bytes available, may be more than the
 * table), whose header is at link-time address addr. The buffer must outlive the table.
 * Errors: TLI_E_NOT_GO (no magic), TLI_E_UNSUPPORTED (pre-1.18 magic), TLI_E_BAD_FORMAT.
 */
struct tli_error *tli_pclntab_create(const uint8_t *data, size_t size, uint64_t addr, struct tli_pclntab **ret);
/** Override textStart (Go 1.26+ stores 0: use moduledata.text or the .text section address). */
void tli_pclntab_set_text(struct tli_pclntab *t, uint64_t text);
/** Give access to moduledata.gofunc (funcdata base, needed for inline trees). */
void tli_pclntab_set_gofunc(struct tli_pclntab *t, uint64_t gofunc, tli_pclntab_view_fn view, const void *ctx);
void tli_pclntab_destroy(struct tli_pclntab *t);

#endif
