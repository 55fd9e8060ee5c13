#!/bin/bash
# private apt config per suite; nothing on the system changes
set -x
mkdir -p "$(dirname "$0")/../../out/glibc-dl" && cd "$(dirname "$0")/../../out/glibc-dl"
for suite in trixie bullseye; do
  d=$PWD/$suite; mkdir -p $d/lists/partial $d/cache/archives/partial $d/root
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" > $d/sources.list
  O="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o APT::Default-Release=$suite"
  apt-get $O update
  # explicit versions: without them apt picks the installed (bookworm) version
  v=$(apt-cache $O madison libc6 | awk -v s=$suite '$0 ~ s {print $3; exit}')
  (cd $d && apt-get $O download libc6:amd64=$v libc6-dbg:amd64=$v)
  if [ $suite = bullseye ]; then
    k=$(apt-cache $O madison linux-libc-dev | awk -v s=$suite '$0 ~ s {print $3; exit}')
    (cd $d && apt-get $O download libc6-dev:amd64=$v linux-libc-dev:amd64=$k)
  fi
  for f in $d/*.deb; do dpkg-deb -x $f $d/root; done
done

# Ubuntu 22.04 (glibc 2.35) and 24.04 (2.39): libc6 + libc6-dbg only, for the stripped-libc
# finder and the runtime maps (tests/unit/test_libcfind.c, make maps-check). Optional: a
# mirror that cannot be reached leaves them out. Ubuntu's archive key comes from Debian's
# ubuntu-keyring package, downloaded and unpacked here (not installed).
kr=$PWD/ubuntu-keyring
if [ ! -f "$kr/usr/share/keyrings/ubuntu-archive-keyring.gpg" ]; then
  mkdir -p "$kr" && (cd "$kr" && apt-get download ubuntu-keyring && dpkg-deb -x ubuntu-keyring_*.deb "$kr") || true
fi
for suite in jammy noble; do
  [ -f "$kr/usr/share/keyrings/ubuntu-archive-keyring.gpg" ] || break
  d=$PWD/$suite; mkdir -p $d/lists/partial $d/cache/archives/partial $d/root
  echo "deb [signed-by=$kr/usr/share/keyrings/ubuntu-archive-keyring.gpg] http://archive.ubuntu.com/ubuntu $suite main" > $d/sources.list
  O="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o APT::Default-Release=$suite -o APT::Architecture=amd64 -o APT::Architectures=amd64"
  apt-get $O update || { echo "note: $suite unreachable, skipped"; continue; }
  v=$(apt-cache $O madison libc6 | awk -v s=$suite '$0 ~ s {print $3; exit}')
  [ -n "$v" ] || { echo "note: no libc6 in $suite"; continue; }
  (cd $d && apt-get $O download libc6:amd64=$v libc6-dbg:amd64=$v) || { echo "note: $suite download failed"; continue; }
  for f in $d/libc6_*.deb $d/libc6-dbg_*.deb; do dpkg-deb -x $f $d/root; done
done
