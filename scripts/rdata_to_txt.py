#!/usr/bin/env python3
"""Writes the character vectors of an R lazy-load database (Rdata.rdx + Rdata.rdb, as in an installed R package's data/
folder) as text files, one element per line: OUTDIR/NAME.txt for each variable that is a character vector.

Usage: rdata_to_txt.py DATA_DIR OUTDIR [NAME ...]   (DATA_DIR holds Rdata.rdx and Rdata.rdb; NAMEs: only these variables)

Only the standard library is used. The .rdx index and each .rdb entry are zlib streams prefixed by their 4-byte big-endian
uncompressed length (R's compression type 1; bzip2 and xz entries, which carry a type byte, are also read); the .rdx
index is a gzip file (as saveRDS writes) or such a length-prefixed entry. The content is
R's serialization format 2 or 3 in XDR (binary, big-endian); the reader below covers the object types that data sets
use: NULL, symbols, pairlists (attributes), logical/integer/double/complex/character vectors, lists, references.
"""
import bz2
import gzip
import lzma
import os
import struct
import sys
import zlib

NILVALUE, REFSXP, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE, EMPTYENV, BASEENV = 254, 255, 253, 252, 251, 247, 242, 241
SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, VECSXP, EXPRSXP = 1, 2, 9, 10, 13, 14, 15, 16, 19, 20


def decompress(blob):
    """One compressed object of a lazy-load database."""
    (length,) = struct.unpack(">I", blob[:4])
    kind = blob[4:5]
    if kind == b"2":
        data = bz2.decompress(blob[5:])
    elif kind == b"Z":
        data = lzma.decompress(blob[5:])
    elif kind == b"0":
        data = blob[5:]
    else:
        data = zlib.decompress(blob[4:])
    if len(data) != length:
        raise ValueError(f"decompressed {len(data)} bytes, header says {length}")
    return data


class Reader:
    """R unserialize for XDR format 2/3."""

    def __init__(self, data):
        self.d, self.p, self.refs = data, 0, []
        if self.d[:2] != b"X\n":
            raise ValueError("not XDR-serialized R data (expected 'X\\n')")
        self.p = 2
        version = self.int()
        self.int()  # writer R version
        self.int()  # minimal reader version
        if version == 3:
            n = self.int()
            self.p += n  # native encoding name
        elif version != 2:
            raise ValueError(f"unsupported serialization version {version}")

    def int(self):
        (v,) = struct.unpack_from(">i", self.d, self.p)
        self.p += 4
        return v

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t == NILVALUE or t in (GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE, EMPTYENV, BASEENV):
            return None
        if t == REFSXP:
            index = flags >> 8
            return self.refs[(index if index else self.int()) - 1]
        if t == SYMSXP:
            name = self.item()
            self.refs.append(name)
            return name
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return None
            s = self.d[self.p:self.p + n]
            self.p += n
            return s.decode("utf-8" if flags & (1 << 15) or not flags & (1 << 14) else "latin-1", errors="replace")
        if t == LISTSXP:
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            rest = self.item()
            return [(tag, car)] + (rest if isinstance(rest, list) else [])
        if t in (LGLSXP, INTSXP):
            n = self.int()
            value = list(struct.unpack_from(f">{n}i", self.d, self.p))
            self.p += 4 * n
        elif t == REALSXP:
            n = self.int()
            value = list(struct.unpack_from(f">{n}d", self.d, self.p))
            self.p += 8 * n
        elif t == CPLXSXP:
            n = self.int()
            self.p += 16 * n
            value = None
        elif t == STRSXP:
            value = [self.item() for _ in range(self.int())]
        elif t in (VECSXP, EXPRSXP):
            value = [self.item() for _ in range(self.int())]
        else:
            raise ValueError(f"unsupported R object type {t} at byte {self.p - 4}")
        attrs = dict(self.item()) if has_attr else {}
        return (t, value, attrs)


def named_list(obj):
    t, values, attrs = obj
    names = attrs.get("names")
    return dict(zip(names[1], values)) if names else {}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    data_dir, out_dir, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(os.path.join(data_dir, "Rdata.rdx"), "rb") as f:
        raw = f.read()
    index = named_list(Reader(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else decompress(raw)).item())
    variables = named_list(index["variables"])
    with open(os.path.join(data_dir, "Rdata.rdb"), "rb") as f:
        rdb = f.read()
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for name, entry in sorted(variables.items()):
        if wanted and name not in wanted:
            continue
        offset, length = entry[1]
        t, value, _ = Reader(decompress(rdb[offset:offset + length])).item()
        if t != STRSXP:
            continue
        path = os.path.join(out_dir, name + ".txt")
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join("" if line is None else line for line in value) + "\n")
        print(f"{path}: {len(value)} lines")
        written += 1
    if written == 0:
        sys.exit(f"no character vectors{' named ' + ', '.join(sorted(wanted)) if wanted else ''} in {data_dir}")


if __name__ == "__main__":
    main()
