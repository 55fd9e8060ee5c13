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
