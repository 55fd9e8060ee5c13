# nofile.py CORE OUT: OUT = CORE with its NT_FILE note retyped (0x7fff0000: a note no reader knows),
# as a core from a tool that writes none; prints how many notes were retyped.
# notes(b) is shared with notp.py: each note of an ELF64 little-endian core.
import struct, sys


def notes(b):
    """(header offset, type, descriptor offset, descriptor size) of every note in the PT_NOTE segments"""
    phoff, = struct.unpack_from("<Q", b, 32); phnum, = struct.unpack_from("<H", b, 56)
    for i in range(phnum):
        t, _, off, _, _, fsz = struct.unpack_from("<IIQQQQ", b, phoff + 56 * i)
        if t != 4: continue
        p = off
        while p + 12 <= off + fsz:
            nsz, dsz, typ = struct.unpack_from("<III", b, p)
            desc = p + 12 + (nsz + 3 & ~3)
            yield p, typ, desc, dsz
            p = desc + (dsz + 3 & ~3)


if __name__ == "__main__":
    b = bytearray(open(sys.argv[1], "rb").read())
    n = 0
    for p, typ, _, _ in notes(b):
        if typ == 0x46494c45: struct.pack_into("<I", b, p + 8, 0x7fff0000); n += 1
    open(sys.argv[2], "wb").write(b)
    print(n)
