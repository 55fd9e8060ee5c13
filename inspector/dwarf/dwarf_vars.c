/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf_vars.c
 * DWARF variables: the static address of a global (DW_OP_addr / DW_OP_addrx)
 * and the TLS offset of a thread-local one.
 */
#include "dwarf_int.h"

#include <stdio.h>

/* Look a variable up; *loc gets its single location expression. */
static struct tli_error *var_location(struct tli_dwarf *d, const char *name, Dwarf_Die *die,
				     Dwarf_Attribute *attr, Dwarf_Op **ops, size_t *n, Dwarf_Op *buf)
{
	uint64_t v;
	if (!d->dbg)
		return no_dwarf_err(d);
	if (!tli_strmap_get(d->vars, name, &v))
		return tli_error_create(TLI_E_NO_INFO, "no variable %s in DWARF of %s", name,
					d->debug_path);
	if (IDX_RANK(v) != RANK_DEF)
		return tli_error_create(TLI_E_NO_INFO, "variable %s is only declared in DWARF of %s",
					name, d->debug_path);
	if (!offdie(d, v, die))
		return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: variable %s: bad DIE offset",
					d->debug_path, name);
	if (!dwarf_attr(die, DW_AT_location, attr))
		return tli_error_create(TLI_E_NO_INFO, "variable %s has no location in DWARF of %s",
					name, d->debug_path);
	if (!tli_dw_get_location(d, die, attr, ops, n, buf))
		return tli_error_create(TLI_E_NO_INFO,
					"variable %s has no single static location in DWARF of %s: %s",
					name, d->debug_path, dwarf_errmsg(-1));
	return NULL;
}

struct tli_error *tli_dwarf_global(struct tli_dwarf *d, const char *name, struct tli_global *ret)
{
	Dwarf_Die die;
	Dwarf_Attribute attr;
	Dwarf_Op *ops, buf[2];
	size_t n;
	struct tli_error *err = var_location(d, name, &die, &attr, &ops, &n, buf);
	if (err)
		return err;
	uint64_t addr;
	if (n == 1 && ops[0].atom == DW_OP_addr) {
		addr = ops[0].number;
	} else if (n == 1 && (ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index)) {
		Dwarf_Attribute res;
		Dwarf_Addr a;
		if (dwarf_getlocation_attr(&attr, &ops[0], &res) != 0 || dwarf_formaddr(&res, &a) != 0)
			return tli_error_create(TLI_E_BAD_FORMAT, "DWARF of %s: variable %s: bad DW_OP_addrx",
						d->debug_path, name);
		addr = a;
	} else {
		return tli_error_create(TLI_E_NO_INFO,
					"variable %s is not at a static address in DWARF of %s (op 0x%x)",
					name, d->debug_path, ops[0].atom);
	}
	ret->addr = addr;
	ret->size = 0;
	Dwarf_Die t;
	uint64_t sz;
	if (type_of(&die, &t)) {
		char what[300];
		snprintf(what, sizeof(what), "variable %s", name);
		struct tli_error *e = tli_dw_size_of(d, &t, what, 0, &sz);
		if (!e)
			ret->size = sz;
		tli_error_destroy(e);
	}
	return NULL;
}

struct tli_error *tli_dwarf_tls_offset(struct tli_dwarf *d, const char *name, uint64_t *ret)
{
	Dwarf_Die die;
	Dwarf_Attribute attr;
	Dwarf_Op *ops, buf[2];
	size_t n;
	struct tli_error *err = var_location(d, name, &die, &attr, &ops, &n, buf);
	if (err)
		return err;
	if (n == 2 &&
	    (ops[0].atom == DW_OP_const8u || ops[0].atom == DW_OP_const4u ||
	     ops[0].atom == DW_OP_constu || ops[0].atom == DW_OP_const2u ||
	     ops[0].atom == DW_OP_const1u) &&
	    (ops[1].atom == DW_OP_form_tls_address || ops[1].atom == DW_OP_GNU_push_tls_address)) {
		*ret = ops[0].number;
		return NULL;
	}
	return tli_error_create(TLI_E_NO_INFO, "variable %s is not thread-local in DWARF of %s",
				name, d->debug_path);
}

/* ---- every global (the Go heap census: typed roots) ---- */

/* Go's linker: the runtime type descriptor of a type DIE (cmd/link/internal/ld/dwarf.go) */
#define TLI_DW_AT_GO_RUNTIME_TYPE 0x2904
#define TLI_DW_AT_GO_ELEM 0x2902

static uint64_t go_runtime_type(Dwarf_Die *t)
{
	for (int i = 0; i < MAX_DEPTH; i++) {
		Dwarf_Attribute a;
		Dwarf_Addr v;
		Dwarf_Word w;
		if (dwarf_attr(t, TLI_DW_AT_GO_RUNTIME_TYPE, &a)) {
			if (dwarf_formaddr(&a, &v) == 0)
				return v;
			if (dwarf_formudata(&a, &w) == 0)
				return w;
			return 0;
		}
		if (dwarf_tag(t) != DW_TAG_typedef || !type_of(t, t))
			return 0;
	}
	return 0;
}

/* one variable DIE at a static address */
static bool each_var(struct tli_dwarf *d, Dwarf_Die *die, tli_dwarf_global_fn fn, void *arg)
{
	const char *name = die_name(die);
	Dwarf_Attribute attr;
	Dwarf_Op *ops, buf[2];
	size_t n;
	if (!name || !dwarf_attr(die, DW_AT_location, &attr) || !tli_dw_get_location(d, die, &attr, &ops, &n, buf) ||
	    n != 1 || ops[0].atom != DW_OP_addr)
		return true;
	Dwarf_Die t, el;
	Dwarf_Attribute ea;
	uint64_t sz = 0, rt = 0, elem = 0;
	const char *tname = NULL;
	if (type_of(die, &t)) {
		tname = die_name(&t);
		struct tli_error *e = tli_dw_size_of(d, &t, name, 0, &sz);
		tli_error_destroy(e);
		rt = go_runtime_type(&t);
		/* slice types the linker synthesizes carry no runtime type, only their element */
		if (!rt && dwarf_attr(&t, TLI_DW_AT_GO_ELEM, &ea) && dwarf_formref_die(&ea, &el))
			elem = go_runtime_type(&el);
	}
	return fn(arg, name, ops[0].number, sz, rt, elem, tname);
}

struct tli_error *tli_dwarf_each_global(struct tli_dwarf *d, tli_dwarf_global_fn fn, void *arg)
{
	if (!d->dbg)
		return no_dwarf_err(d);
	Dwarf_Off off = 0, next;
	size_t hsize;
	for (size_t units = 0; units < (1u << 20) &&
	     dwarf_nextcu(d->dbg, off, &next, &hsize, NULL, NULL, NULL) == 0; units++, off = next) {
		Dwarf_Die cu, c;
		if (!dwarf_offdie(d->dbg, off + hsize, &cu) || dwarf_child(&cu, &c) != 0)
			continue;
		do {
			if (dwarf_tag(&c) == DW_TAG_variable && !each_var(d, &c, fn, arg))
				return NULL;
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	return NULL;
}
