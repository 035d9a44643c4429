#!/usr/bin/env python3
"""Make TorchSharp's libLibTorchSharp.so load with an older system libstdc++ (Debian 12: GLIBCXX up to 3.4.30).

usage: torchsharp-glibcxx-patch.py DIR [DIR ...]

For each DIR that holds libLibTorchSharp.so (itself or under runtimes/linux-*/native/) (TorchSharp-cpu 0.107.0 is built with GCC 13 and asks for
GLIBCXX_3.4.32), the libstdc++ versions that the file requires and the system libstdc++ does not define are marked
weak (vna_flags |= VER_FLG_WEAK in its .gnu.version_r). glibc's loader then reports a missing weak version only
under LD_DEBUG/ldd -v instead of refusing to load the library.

That is enough only when no relocation binds a symbol of such a version: GCC 13's <iostream> emits a bare
`.globl _ZSt21ios_base_library_initv` (std::ios_base_library_init(), GLIBCXX_3.4.32) so that the link records the
version; nothing refers to the symbol, so it is never looked up. The script checks that, and stops with an error
(leaving the file untouched) if a relocation does use one of the missing versions, since the library would then fail
at the first call instead.

Only the given copies are rewritten (written to a temporary file and renamed over, so a hard link into the NuGet
cache is never modified; mode and timestamps are kept). Nothing is done when the file is absent, when the system
libstdc++ defines every version the file asks for, or when the missing ones are already weak: running it again is a
no-op. Python 3 standard library only.
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
import struct
import subprocess
import sys
import tempfile

LIBRARY = "libLibTorchSharp.so"
LIBSTDCXX = "libstdc++.so.6"

SHT_RELA = 4
SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF
VER_FLG_WEAK = 0x2


def log(message: str) -> None:
    print(f"torchsharp-glibcxx-patch: {message}", file=sys.stderr)


class Elf:
    """Just enough of a little-endian ELF64 file: its sections and NUL-terminated strings."""

    def __init__(self, data: bytes, path: str) -> None:
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError(f"{path} is not a little-endian ELF64 file")
        self.data = data
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        self.sections = []
        for i in range(shnum):
            # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
            fields = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            self.sections.append({"type": fields[1], "offset": fields[4], "size": fields[5], "link": fields[6],
                                  "entsize": fields[9], "index": i})

    def first(self, sh_type: int) -> dict | None:
        return next((s for s in self.sections if s["type"] == sh_type), None)

    def string(self, strtab: dict, offset: int) -> str:
        start = strtab["offset"] + offset
        return self.data[start:self.data.index(b"\0", start)].decode("ascii", "replace")


def defined_versions(path: str) -> set[str]:
    """Version names a shared library defines (its .gnu.version_d)."""
    with open(path, "rb") as f:
        elf = Elf(f.read(), path)
    verdef = elf.first(SHT_GNU_VERDEF)
    if verdef is None:
        return set()
    strtab = elf.sections[verdef["link"]]
    names, pos = set(), verdef["offset"]
    while True:
        _, _, _, cnt, _, aux, nxt = struct.unpack_from("<HHHHIII", elf.data, pos)
        a = pos + aux
        for _ in range(cnt):
            name, anext = struct.unpack_from("<II", elf.data, a)
            names.add(elf.string(strtab, name))
            a += anext
        if nxt == 0:
            return names
        pos += nxt


def system_libstdcxx() -> str | None:
    """Path of the libstdc++.so.6 the dynamic loader picks for a process without extra search paths."""
    try:
        ctypes.CDLL(LIBSTDCXX)
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if os.path.basename(path).startswith("libstdc++.so"):
                    return path
    except OSError:
        pass
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"^\s*libstdc\+\+\.so\.6 \(libc6,x86-64\) => (\S+)", out, re.M)
        return m.group(1) if m else None
    except OSError:
        return None


def patch(path: str, have: set[str]) -> None:
    with open(path, "rb") as f:
        data = bytearray(f.read())
    elf = Elf(bytes(data), path)
    verneed = elf.first(SHT_GNU_VERNEED)
    if verneed is None:
        log(f"{path}: no version requirements; nothing to do")
        return
    strtab = elf.sections[verneed["link"]]

    missing: dict[int, tuple[str, int]] = {}  # version index -> (name, offset of its Vernaux)
    already_weak: list[str] = []
    pos = verneed["offset"]
    while True:
        _, cnt, file_name, aux, nxt = struct.unpack_from("<HHIII", data, pos)
        a = pos + aux
        for _ in range(cnt):
            _, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
            version = elf.string(strtab, name)
            if elf.string(strtab, file_name) == LIBSTDCXX and version not in have:
                if flags & VER_FLG_WEAK:
                    already_weak.append(version)
                else:
                    missing[other & 0x7FFF] = (version, a)
            a += anext
        if nxt == 0:
            break
        pos += nxt

    if not missing:
        state = f"already patched ({', '.join(already_weak)} weak)" if already_weak else "the system libstdc++ has every version it needs"
        log(f"{path}: {state}; nothing to do")
        return

    # A relocation against a symbol of a missing version would need a real definition (a shim library); refuse then.
    dynsym, versym = elf.first(SHT_DYNSYM), elf.first(SHT_GNU_VERSYM)
    if dynsym is not None and versym is not None:
        for rela in (s for s in elf.sections if s["type"] == SHT_RELA and s["link"] == dynsym["index"]):
            for off in range(rela["offset"], rela["offset"] + rela["size"], 24):
                (info,) = struct.unpack_from("<Q", data, off + 8)
                sym = info >> 32
                if sym == 0:
                    continue
                (ver,) = struct.unpack_from("<H", data, versym["offset"] + 2 * sym)
                if ver & 0x7FFF in missing:
                    sym_name = elf.string(elf.sections[dynsym["link"]],
                                          struct.unpack_from("<I", data, dynsym["offset"] + 24 * sym)[0])
                    raise SystemExit(f"torchsharp-glibcxx-patch: {path}: relocation uses {sym_name}@"
                                     f"{missing[ver & 0x7FFF][0]}, which the system libstdc++ lacks; marking the "
                                     "version weak is not enough (a shim library defining it would be); file left as is")

    for version, a in missing.values():
        (flags,) = struct.unpack_from("<H", data, a + 4)
        struct.pack_into("<H", data, a + 4, flags | VER_FLG_WEAK)

    st = os.stat(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{LIBRARY}.", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, st.st_mode & 0o7777)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, path)  # a new inode: the NuGet cache's file is never written, even if hard-linked
    except BaseException:
        os.unlink(tmp)
        raise
    log(f"{path}: marked {', '.join(v for v, _ in missing.values())} weak (no relocation uses them)")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    # A RID-specific build or publish puts the native library next to the app, a portable one under runtimes/; cpu/ is
    # where TorchSharp's loader gathers the native files when a first load attempt failed.
    patterns = [LIBRARY, os.path.join("runtimes", "linux-*", "native", LIBRARY), os.path.join("cpu", LIBRARY)]
    targets = [t for d in argv[1:] for p in patterns for t in sorted(glob.glob(os.path.join(glob.escape(d), p)))]
    targets = [t for t in targets if os.path.isfile(t)]
    if not targets:
        log(f"no {LIBRARY} under {' '.join(argv[1:])}; nothing to do")
        return 0
    if not sys.platform.startswith("linux"):
        return 0
    lib = system_libstdcxx()
    if lib is None:
        log(f"cannot find the system {LIBSTDCXX}; nothing done")
        return 0
    have = defined_versions(lib)
    for t in targets:
        patch(t, have)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
