#!/usr/bin/env bash
# tests/integration/fetch-promtool.sh - promtool for the overtime suite: Debian's prometheus
# package is downloaded (apt-get download, no install, no service) and only usr/bin/promtool is
# kept, in tests/out/promtool/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dst=$ROOT/tests/out/promtool
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download prometheus
dpkg-deb -x prometheus_*.deb x
mkdir -p "$dst"
install -m 0755 x/usr/bin/promtool "$dst/promtool"
"$dst/promtool" --version | head -1
