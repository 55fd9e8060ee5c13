/* SPDX-License-Identifier: MIT */
/* The last provider of the executable's layout chain: runtime maps (session/open.h). */
#include "open.h"

#include "dwarf/elfsym.h"
#include "runtime_maps/maps.h"

struct tli_error *tli_session_add_maps(struct tli_session *s, const char *exe)
{
	if (!s || !s->layout || !exe)
		return NULL;
	struct tli_elfinfo info;
	bool dwarf_used = false;
	struct tli_error *err = tli_elf_read_info(exe, &info);
	if (!err)
		dwarf_used = !s->opts.no_dwarf && info.has_debug_info;
	tli_error_destroy(err);
	return tli_maps_add_go_provider(s->layout, exe, dwarf_used);
}
