/* SPDX-License-Identifier: MIT */
/**
 * @file vtable.h
 * Internal (leaks): the C++ type of a heap object from its first word, when that
 * word points into a `_ZTV…` vtable symbol of some module of the target; the
 * name demangled by libstdc++'s __cxa_demangle when available.
 */
#ifndef TLI_GLIBC_VTABLE_H
#define TLI_GLIBC_VTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/target.h"
#include "core/vec.h"

struct tli_elfsym;

/** The symbols of each module, opened on first use. Zero-initialize; free with _free. */
struct tli_gl_modsym { char *path; uint64_t bias; struct tli_elfsym *sym; };
TLI_VEC(tli_gl_vtables, struct tli_gl_modsym);

/** The demangled class whose vtable `v` points into ("Foo", "ns::Bar"), written to
 *  buf; NULL if v is no vtable address. */
const char *tli_gl_vtable_type(struct tli_gl_vtables *mc, struct tli_target *t, uint64_t v, char *buf,
			       size_t cap);
void tli_gl_vtables_free(struct tli_gl_vtables *mc);

#endif
