#!/usr/bin/env bash
# tests/house/selftest.sh - check.sh must catch what it is for: a tiny tree with one break of each
# rule fails with exactly those breaks named; the same tree repaired passes.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/inspector/core" "$T/inspector/go" "$T/inspector/backend" "$T/inspector/render"
printf '#include "core/error.h"\n#include "go/gobin.h"\n' > "$T/inspector/core/a.c"       # ground reaches up
printf '#include "backend/backend.h"\n' > "$T/inspector/render/r.c"                     # private header
printf '#include "core/error.h"\n#include "render/render.h"\n' > "$T/inspector/go/w.c"   # walker includes render
{ echo 'int long_one(void)'; echo '{'; for i in $(seq 201); do echo "	x();"; done; echo '}'; } > "$T/inspector/go/f.c"
printf 'int x;\n' > "$T/inspector/backend/b.c"
pass=0 fail=0
out=$(HOUSE_ROOT=$T bash "$HERE/check.sh")
want=("core/ may not include go/gobin.h" "includes backend/backend.h (private to backend/)"
      "go/ may not include render/render.h" "function long_one is 204 lines" "house: 1 passed, 2 failed")
for w in "${want[@]}"; do
	if grep -qF "$w" <<<"$out"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "selftest: check.sh did not say: $w"; fi
done
# repaired: every rule holds
printf '#include "core/error.h"\n' > "$T/inspector/core/a.c"
printf '#include "render/render.h"\n' > "$T/inspector/render/r.c"
printf '#include "core/error.h"\n' > "$T/inspector/go/w.c"
printf 'int short_one(void)\n{\n\treturn 0;\n}\n' > "$T/inspector/go/f.c"
if HOUSE_ROOT=$T bash "$HERE/check.sh" | grep -q '^house: 3 passed, 0 failed$'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "selftest: a clean tree did not pass"; fi
echo "house-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
