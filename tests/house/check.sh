#!/usr/bin/env bash
# tests/house/check.sh - the house rules of inspector/, checked from the source itself (make house).
#
#   1. layers: each folder includes only the folders below it (the table LAYERS below, read from
#      the #include "..." lines); backend/backend.h is private to backend/ (and tests/);
#   2. no function longer than MAX_FUNC lines (tests/house/funclen.awk);
#   3. no source file longer than MAX_FILE lines.
# Prints one line per break and ends with "house: N passed, N failed" (one check per rule).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "${HOUSE_ROOT:-$HERE/../..}" || exit 2   # HOUSE_ROOT: check another tree (selftest.sh)
MAX_FUNC=${MAX_FUNC:-200}
MAX_FILE=${MAX_FILE:-1000}

# folder: the folders its files may include (besides system headers). Lowest floor first.
declare -A LAYERS=(
	[core]="core"
	[backend]="core backend"
	[dwarf]="core dwarf"
	[render]="core render"
	[go]="core dwarf go"
	[glibc]="core dwarf glibc"
	[runtime_maps]="core dwarf go glibc runtime_maps"
	[session]="core backend dwarf go glibc runtime_maps session"
	[explain]="core dwarf go glibc session explain"
	[overtime]="core dwarf go glibc session overtime"
	[secrets]="core dwarf go glibc session secrets"
	[cli]="*"
	[shell]="*"
)
breaks=0
bad() { echo "house: $*"; breaks=$((breaks + 1)); }
pass=0 fail=0
rule() {  # NAME: close a rule (its breaks counted since the last rule)
	if [ "$breaks" = 0 ]; then pass=$((pass + 1)); echo "house: ok   $1"; else fail=$((fail + 1)); echo "house: FAIL $1 ($breaks)"; fi
	breaks=0
}

for dir in inspector/*/; do
	folder=$(basename "$dir")
	allowed=${LAYERS[$folder]-}
	if [ -z "$allowed" ]; then
		bad "inspector/$folder/ is in no layer (add it to LAYERS in $0 and to docs/architecture.md)"
		continue
	fi
	for f in "$dir"*.[ch]; do
		[ -e "$f" ] || continue
		while IFS=: read -r line inc; do
			case $inc in */*) ;; *) continue ;; esac   # same-folder include
			to=${inc%%/*}
			if [ "$inc" = backend/backend.h ] && [ "$folder" != backend ]; then
				bad "$f:$line includes $inc (private to backend/)"; continue
			fi
			[ "$allowed" = "*" ] && continue
			case " $allowed " in *" $to "*) ;; *)
				bad "$f:$line: $folder/ may not include $inc ($folder/ sits below $to/; allowed: $allowed)" ;;
			esac
		done < <(grep -n '^#include "' "$f" | sed -E 's/^([0-9]+):#include "([^"]*)".*/\1:\2/')
	done
done
rule "layers: every #include goes down (LAYERS in tests/house/check.sh)"

while read -r n where name; do
	if [ "$n" -gt "$MAX_FUNC" ]; then
		bad "$where: function $name is $n lines (max $MAX_FUNC)"
	fi
done < <(find inspector -name '*.c' | sort | xargs awk -f "$HERE/funclen.awk")
rule "functions: none over $MAX_FUNC lines"

while read -r n f; do
	[ "$f" = total ] && continue
	if [ "$n" -gt "$MAX_FILE" ]; then
		bad "$f is $n lines (max $MAX_FILE)"
	fi
done < <(find inspector -name '*.[ch]' | sort | xargs wc -l)
rule "files: none over $MAX_FILE lines"

echo "house: $pass passed, $fail failed"
[ "$fail" = 0 ]
