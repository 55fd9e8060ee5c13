#!/bin/sh
# scripts/gen-bash-completion.sh TLINSPECT [TEMPLATE] > tlinspect.bash-completion
#
# The bash completion script, with its fallback lists (used when the program being completed
# cannot be run) generated from the command table of the tlinspect binary TLINSPECT
# (`--print-commands`, `--print-options [CMD]`), like gdb-ext/gen-tlinspect-gdb.sh. Run by `make`.
set -eu
tli=$1
tmpl=${2:-$(dirname "$0")/tlinspect.bash-completion.in}
cmds=$("$tli" --print-commands | cut -f1 | tr '\n' ' ' | sed 's/ $//')
glob=$("$tli" --print-options | tr '\n' ' ' | sed 's/ $//')
fb=$(mktemp)
trap 'rm -f "$fb"' EXIT
{
	printf '_tlinspect_fallback_commands="%s"\n' "$cmds"
	printf '_tlinspect_fallback_global="%s"\n' "$glob"
	for c in $cmds; do
		o=$("$tli" --print-options "$c" | tr '\n' ' ' | sed 's/ $//')
		[ -n "$o" ] && printf '_tlinspect_fallback_cmdopts_%s="%s"\n' "$(printf '%s' "$c" | tr - _)" "$o"
	done
} > "$fb"
awk -v fb="$fb" '$0 == "@FALLBACK@" { while ((getline l < fb) > 0) print l; next } { print }' "$tmpl"
