#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a small synthetic x86_64 ELF core (for the hostile-core tests in cores.sh).

  mkcore.py OUT [--pid N] [--entry ADDR] [--rsp ADDR] [--fs ADDR] [--elf PATH:BIAS]...
                [--load SPEC]... [--file SPEC]...
  mkcore.py flip-buildid IN OUT      copy the ELF file IN with one byte of its GNU build-id changed

--load VADDR:MEMSZ:PROT[:DATA]   a PT_LOAD (PROT: letters of rwx, "-" for none); DATA is what the
                                 core holds for it (p_filesz = its length, <= MEMSZ):
                                   @PATH[,OFF[,LEN]]  bytes of a file (default: the whole file)
                                   fill:BYTE:LEN      LEN bytes of BYTE
                                 without DATA, p_filesz = 0
--file START:END:PGOFF:PATH      an NT_FILE entry (page size 4096)
--elf PATH:BIAS                  the ELF file mapped at BIAS as the kernel maps it and dumps it
                                 (fs/binfmt_elf.c load_elf_binary, vma_dump_size): an NT_FILE entry
                                 and a PT_LOAD per PT_LOAD of the file; the core holds the first page
                                 (ELF header, program headers, build-id note) and the writable
                                 segment (its file bytes with the R_X86_64_RELATIVE relocations
                                 applied, then zeros), not the read-only rest. The first --elf is
                                 the executable: AT_ENTRY = BIAS + e_entry unless --entry is given.
The notes: NT_PRPSINFO, one NT_PRSTATUS (rip = --entry, rsp = --rsp, fs_base = --fs), NT_AUXV
(AT_ENTRY), NT_FILE.
Layouts: <sys/procfs.h> (elf_prstatus 336 bytes, pr_reg at 112; elf_prpsinfo 136 bytes) and the
kernel's fill_files_note (fs/binfmt_elf.c) for NT_FILE.
"""
import struct
import sys

PF = {"x": 1, "w": 2, "r": 4}


def num(s):
    return int(s, 0)


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def load_data(spec):
    if spec.startswith("@"):
        parts = spec[1:].split(",")
        data = open(parts[0], "rb").read()
        off = num(parts[1]) if len(parts) > 1 else 0
        ln = num(parts[2]) if len(parts) > 2 else len(data) - off
        return data[off:off + ln]
    if spec.startswith("fill:"):
        _, byte, ln = spec.split(":")
        return bytes([num(byte)]) * num(ln)
    raise SystemExit("mkcore: bad DATA " + spec)


def elf_image(path, bias):
    """(loads, files, entry) of the ELF file at path mapped at bias."""
    d = open(path, "rb").read()
    entry, phoff = struct.unpack_from("<QQ", d, 24)
    shoff, = struct.unpack_from("<Q", d, 40)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", d, 54)
    loads, files, rw = [], [], []
    for i in range(phnum):
        t, fl, off, va, _, fsz, msz = struct.unpack_from("<IIQQQQQ", d, phoff + i * phentsize)
        if t != 1:
            continue
        start, fstart = (bias + va) & ~4095, off & ~4095
        fend = (bias + va + fsz + 4095) & ~4095
        mend = (bias + va + msz + 4095) & ~4095
        prot = (4 if fl & 4 else 0) | (2 if fl & 2 else 0) | (1 if fl & 1 else 0)
        files.append((start, fend, fstart // 4096, path))
        if fl & 2:  # written: dumped whole, relocated below
            img = bytearray(mend - start)
            lead = (bias + va) - start
            img[lead:lead + fsz] = d[off:off + fsz]
            rw.append((start, img))
            loads.append((start, mend - start, prot, img))
        else:
            loads.append((start, fend - start, prot, d[0:4096] if fstart == 0 else b""))
            if mend > fend:  # zero-fill pages past the file: anonymous, dumped
                loads.append((fend, mend - fend, prot, bytes(mend - fend)))
    for i in range(shnum):  # R_X86_64_RELATIVE in every SHT_RELA section
        _, st, _, _, so, ssz, _, _, _, ent = struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize)
        if st != 4 or not ent:
            continue
        for k in range(ssz // ent):
            r_off, r_info, r_add = struct.unpack_from("<QQq", d, so + k * ent)
            if r_info & 0xffffffff != 8:
                continue
            for start, img in rw:
                a = bias + r_off - start
                if 0 <= a <= len(img) - 8:
                    struct.pack_into("<Q", img, a, (bias + r_add) & (2**64 - 1))
    return loads, files, bias + entry


def flip_buildid(src, dst):
    d = bytearray(open(src, "rb").read())
    phoff, = struct.unpack_from("<Q", d, 32)
    phentsize, phnum = struct.unpack_from("<HH", d, 54)
    for i in range(phnum):
        t, _, off, _, _, fsz = struct.unpack_from("<IIQQQQ", d, phoff + i * phentsize)
        p = off
        while t == 4 and p + 12 <= off + fsz:
            nsz, dsz, nt = struct.unpack_from("<III", d, p)
            desc = p + 12 + ((nsz + 3) & ~3)
            if nt == 3 and d[p + 12:p + 16] == b"GNU\0" and dsz:
                d[desc] ^= 0xff
                open(dst, "wb").write(d)
                return
            p = desc + ((dsz + 3) & ~3)
    raise SystemExit("mkcore: no GNU build-id note in " + src)


def main(argv):
    if len(argv) == 4 and argv[1] == "flip-buildid":
        return flip_buildid(argv[2], argv[3])
    out = argv[1]
    pid, entry, rsp, fs = 4242, None, 0, 0
    loads, files = [], []
    i = 2
    while i < len(argv):
        opt, val = argv[i], argv[i + 1]
        i += 2
        if opt == "--pid":
            pid = num(val)
        elif opt == "--entry":
            entry = num(val)
        elif opt == "--rsp":
            rsp = num(val)
        elif opt == "--fs":
            fs = num(val)
        elif opt == "--elf":
            path, bias = val.rsplit(":", 1)
            l, f, e = elf_image(path, num(bias))
            loads += l
            files += f
            entry = e if entry is None else entry
        elif opt == "--load":
            f = val.split(":", 3)
            prot = sum(PF.get(c, 0) for c in f[2])
            data = load_data(f[3]) if len(f) > 3 else b""
            loads.append((num(f[0]), num(f[1]), prot, data))
        elif opt == "--file":
            f = val.split(":", 3)
            files.append((num(f[0]), num(f[1]), num(f[2]), f[3]))
        else:
            raise SystemExit("mkcore: unknown option " + opt)

    entry = entry or 0
    prpsinfo = bytearray(136)
    prpsinfo[1] = ord("S")
    struct.pack_into("<i", prpsinfo, 24, pid)        # pr_pid
    prpsinfo[40:40 + 6] = b"mkcore"                  # pr_fname
    prstatus = bytearray(336)
    struct.pack_into("<i", prstatus, 32, pid)        # pr_pid
    regs = 112                                       # pr_reg: user_regs_struct
    struct.pack_into("<Q", prstatus, regs + 16 * 8, entry)   # rip
    struct.pack_into("<Q", prstatus, regs + 19 * 8, rsp)     # rsp
    struct.pack_into("<Q", prstatus, regs + 21 * 8, fs)      # fs_base
    auxv = struct.pack("<QQQQQQ", 9, entry, 6, 4096, 0, 0)   # AT_ENTRY, AT_PAGESZ, AT_NULL
    nt_file = struct.pack("<QQ", len(files), 4096)
    nt_file += b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _ in files)
    nt_file += b"".join(p.encode() + b"\0" for _, _, _, p in files)
    notes = (note("CORE", 3, bytes(prpsinfo)) + note("CORE", 1, bytes(prstatus)) +
             note("CORE", 6, auxv) + note("CORE", 0x46494C45, nt_file))

    nph = 1 + len(loads)
    pos = 64 + 56 * nph
    body = bytearray()
    notes_off = pos
    body += notes
    phdrs = [struct.pack("<IIQQQQQQ", 4, 0, notes_off, 0, 0, len(notes), 0, 1)]
    for vaddr, memsz, prot, data in loads:
        while (pos + len(body)) % 16:
            body += b"\0"
        off = pos + len(body)
        body += data
        phdrs.append(struct.pack("<IIQQQQQQ", 1, prot, off, vaddr, 0, len(data), memsz, 4096))
    ehdr = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
            struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, nph, 0, 0, 0))
    with open(out, "wb") as fh:
        fh.write(ehdr + b"".join(phdrs) + body)


if __name__ == "__main__":
    main(sys.argv)
