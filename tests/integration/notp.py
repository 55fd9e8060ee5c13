# notp.py CORE OUT: OUT = an x86-64 CORE with the thread pointer (fs_base) of every NT_PRSTATUS
# set to 0, as a core from a tool that records no thread pointer; prints how many were cleared.
import struct, sys
PR_REG, FS_BASE = 112, 21  # elf_prstatus.pr_reg; user_regs_struct.fs_base (x86-64)
b = bytearray(open(sys.argv[1], "rb").read())
if b[:4] != b"\x7fELF" or struct.unpack_from("<H", b, 18)[0] != 62:
    sys.exit("notp.py: not an x86-64 ELF core")
phoff, = struct.unpack_from("<Q", b, 32); phnum, = struct.unpack_from("<H", b, 56)
n = 0
for i in range(phnum):
    t, _, off, _, _, fsz = struct.unpack_from("<IIQQQQ", b, phoff + 56 * i)
    if t != 4: continue
    p = off
    while p + 12 <= off + fsz:
        nsz, dsz, typ = struct.unpack_from("<III", b, p)
        desc = p + 12 + (nsz + 3 & ~3)
        if typ == 1 and dsz >= PR_REG + 8 * (FS_BASE + 1):
            struct.pack_into("<Q", b, desc + PR_REG + 8 * FS_BASE, 0); n += 1
        p = desc + (dsz + 3 & ~3)
open(sys.argv[2], "wb").write(b)
print(n)
