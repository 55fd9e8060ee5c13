/* SPDX-License-Identifier: MIT */
/**
 * @file gobin.h
 * An opened Go executable (ELF64 little-endian, mmapped read-only): Go version from
 * .go.buildinfo, build id, pclntab, runtime.firstmoduledata. Works on stripped binaries
 * (-ldflags=-s -w) and without section headers. All addresses are LINK-TIME addresses.
 * Formats: debug/buildinfo/buildinfo.go (.go.buildinfo), cmd/internal/buildid/note.go (the
 * "Go" build-id note), runtime/symtab.go (pcHeader, moduledata), go1.18 .. go1.27.
 */
#ifndef TLI_GO_GOBIN_H
#define TLI_GO_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arch.h"
#include "core/error.h"
#include "go/pclntab.h"

struct tli_gobin;

/** Open path. TLI_E_NO_TARGET (cannot open), TLI_E_BAD_FORMAT (not a usable ELF / corrupt table),
 *  TLI_E_NOT_GO (no Go metadata). */
struct tli_error *tli_gobin_open(const char *path, struct tli_gobin **ret);
void tli_gobin_destroy(struct tli_gobin *b);
/** "go1.24.4" from .go.buildinfo, or NULL. */
const char *tli_gobin_version(const struct tli_gobin *b);
/** 24 for go1.24.x, -1 if unknown. */
int tli_gobin_minor(const struct tli_gobin *b);
/** The executable's architecture (core/arch.h), NULL for a machine we do not know. */
const struct tli_arch *tli_gobin_arch(const struct tli_gobin *b);
/** ET_DYN */
bool tli_gobin_is_pie(const struct tli_gobin *b);
/** lowest PT_LOAD p_vaddr (link base, for bias) */
uint64_t tli_gobin_min_vaddr(const struct tli_gobin *b);
const struct tli_pclntab *tli_gobin_pclntab(const struct tli_gobin *b);
/** Read bytes at a link-time virtual address from the FILE image (PT_LOAD file data; zero for bss). */
struct tli_error *tli_gobin_read(const struct tli_gobin *b, uint64_t vaddr, void *buf, size_t len);
/** Section lookup by name: link-time address and size (false if absent). */
bool tli_gobin_section(const struct tli_gobin *b, const char *name, uint64_t *addr, uint64_t *size);
/** .note.go.buildid string, or NULL. */
const char *tli_gobin_buildid(const struct tli_gobin *b);

/** moduledata values (link-time). addr = address of runtime.firstmoduledata itself. */
struct tli_gomoduledata {
	uint64_t addr, text, etext, noptrdata, enoptrdata, data, edata, bss, ebss, noptrbss, enoptrbss,
		types, etypes, gofunc, rodata;
};
/** NULL if not found. */
const struct tli_gomoduledata *tli_gobin_moduledata(const struct tli_gobin *b);

/* ---- extra API ---- */
/** Zero-copy view of file bytes at [vaddr, vaddr+len) if entirely file-backed, else NULL. */
const uint8_t *tli_gobin_view(const struct tli_gobin *b, uint64_t vaddr, size_t len);
/** ELF entry point (link-time). */
uint64_t tli_gobin_entry(const struct tli_gobin *b);
/** Symbol lookup in .symtab (false if stripped or absent). */
bool tli_gobin_symbol(const struct tli_gobin *b, const char *name, uint64_t *addr, uint64_t *size);
/** How runtime.firstmoduledata was found: "symtab", ".go.module", "scan", or NULL. */
const char *tli_gobin_moduledata_source(const struct tli_gobin *b);

/* ---- per session (go/session_gobin.c) ---- */
struct tli_session;
/**
 * The Go metadata of the session's executable, opened on first use and kept by the session
 * (TLI_E_NOT_GO if it is not a Go program). The session's opener frees it.
 */
struct tli_error *tli_session_gobin(struct tli_session *s, struct tli_gobin **ret);

#endif
