# notp.py CORE OUT: OUT = an x86-64 CORE with the thread pointer (fs_base) of every NT_PRSTATUS
# set to 0, as a core from a tool that records no thread pointer; prints how many were cleared.
import os, struct, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nofile import notes  # noqa: E402

PR_REG, FS_BASE = 112, 21  # elf_prstatus.pr_reg; user_regs_struct.fs_base (x86-64)
b = bytearray(open(sys.argv[1], "rb").read())
if b[:4] != b"\x7fELF" or struct.unpack_from("<H", b, 18)[0] != 62:
    sys.exit("notp.py: not an x86-64 ELF core")
n = 0
for _, typ, desc, dsz in notes(b):
    if typ == 1 and dsz >= PR_REG + 8 * (FS_BASE + 1):
        struct.pack_into("<Q", b, desc + PR_REG + 8 * FS_BASE, 0); n += 1
open(sys.argv[2], "wb").write(b)
print(n)
