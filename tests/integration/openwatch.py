#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""openwatch.py PATH OUT: report every open of PATH (a file, FIFO or device) until killed.

Writes "ready" to OUT once the inotify watch (IN_OPEN, inotify(7)) is in place, then one
"opened" line per open of PATH by anyone. Used by crafted.sh to show that a file a crafted
core names is never opened.
"""
import ctypes
import os
import sys

IN_OPEN = 0x20


def main(path, out):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(0)
    if fd < 0 or libc.inotify_add_watch(fd, os.fsencode(path), IN_OPEN) < 0:
        sys.exit("openwatch: inotify on %s: %s" % (path, os.strerror(ctypes.get_errno())))
    with open(out, "a") as fh:
        fh.write("ready\n")
    while True:
        buf = os.read(fd, 4096)
        n = len(buf) // 16  # struct inotify_event without a name (a watch on the file itself)
        with open(out, "a") as fh:
            fh.write("opened\n" * max(n, 1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
