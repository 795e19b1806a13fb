"""Reading what an ELF file needs from the loader: its interpreter, libraries and symbol versions.

Our own reader (no binutils), over bytes, for both the build (the closure and glibc floor of what
goes into a bundle) and ``--check`` (any zip's members, never extracted). It reads the program
headers only, as the loader does: ``PT_INTERP`` for the interpreter, ``PT_DYNAMIC`` for
``DT_NEEDED``, ``DT_SONAME``, ``DT_RPATH``/``DT_RUNPATH`` and the GNU version tables
(``DT_VERNEED``: what a file needs, e.g. ``GLIBC_2.34`` from ``libc.so.6``; ``DT_VERDEF``: what
a library defines), addresses mapped to file offsets through the ``PT_LOAD`` segments. Section
headers are ignored: ``strip`` may remove them, the loader never reads them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable

import attrs

__all__ = ["ELF_MAGIC", "ElfError", "ElfInfo", "glibc_version", "newest_glibc", "read_elf"]

ELF_MAGIC = b"\x7fELF"

_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ = 0, 1, 5, 10
_DT_SONAME, _DT_RPATH, _DT_RUNPATH = 14, 15, 29
_DT_VERDEF, _DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
_DT_VERNEED, _DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF

#: A bound on version-table walks, so a corrupt file's cyclic ``vn_next`` cannot loop forever.
_MAX_VERSION_ENTRIES = 4096

_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64"}
_GLIBC = re.compile(r"GLIBC_(\d+(?:\.\d+)+)$")


class ElfError(ValueError):
    """The bytes start like an ELF file but its headers are cut short or inconsistent."""


@attrs.frozen(kw_only=True)
class ElfInfo:
    """What the dynamic loader reads from one ELF file.

    Attributes:
        machine: ``x86_64``, ``aarch64``, ... or ``e_machine=N`` for others.
        bits: 32 or 64.
        interpreter: ``PT_INTERP`` (the loader the kernel starts first), None if static.
        needed: ``DT_NEEDED`` names in order.
        soname: ``DT_SONAME``, None if absent.
        rpath: ``DT_RPATH`` entries (searched before ``LD_LIBRARY_PATH``).
        runpath: ``DT_RUNPATH`` entries (searched after it).
        version_needs: per needed file, the version names it must define (``GLIBC_2.34``).
        version_defs: the version names this file defines.
    """

    machine: str
    bits: int
    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    version_defs: tuple[str, ...] = ()

    @property
    def is_dynamic(self) -> bool:
        """Whether the loader is involved at all (a static Go binary has neither)."""
        return self.interpreter is not None or bool(self.needed)

    def glibc_needed(self) -> tuple[int, ...] | None:
        """The newest ``GLIBC_x.y`` this file needs from any library, None if it needs none."""
        return newest_glibc(v for _, versions in self.version_needs for v in versions)


def glibc_version(name: str) -> tuple[int, ...] | None:
    """``GLIBC_2.2.5`` -> ``(2, 2, 5)``; None for other names (``GLIBC_PRIVATE``, ``GCC_3.0``)."""
    match = _GLIBC.match(name)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def newest_glibc(names: Iterable[str]) -> tuple[int, ...] | None:
    """The newest glibc version among version names, None if there is none."""
    versions = [v for v in (glibc_version(n) for n in names) if v is not None]
    return max(versions) if versions else None


@attrs.define(eq=False)
class _Reader:
    data: bytes
    endian: str
    bits: int

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        layout = self.endian + fmt
        end = offset + struct.calcsize(layout)
        if offset < 0 or end > len(self.data):
            raise ElfError(
                f"ELF header field at offset {offset} is past the end ({len(self.data)})"
            )
        values: tuple[int, ...] = struct.unpack_from(layout, self.data, offset)
        return values

    def cstring(self, offset: int) -> str:
        if offset < 0 or offset >= len(self.data):
            raise ElfError(f"ELF string at offset {offset} is past the end ({len(self.data)})")
        end = self.data.find(b"\0", offset)
        raw = self.data[offset:] if end < 0 else self.data[offset:end]
        return raw.decode("utf-8", "surrogateescape")


def read_elf(data: bytes) -> ElfInfo:
    """Parse the loader-relevant parts of an ELF file.

    Raises:
        ElfError: not an ELF file, or its headers point outside ``data``.
    """
    if data[:4] != ELF_MAGIC or len(data) < 16:
        raise ElfError("not an ELF file")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfError(f"unknown ELF class {data[4]} or byte order {data[5]}")
    reader = _Reader(data, "<" if data[5] == 1 else ">", 32 if data[4] == 1 else 64)
    if reader.bits == 64:
        (machine,) = reader.unpack("H", 18)
        (phoff,) = reader.unpack("Q", 32)
        phentsize, phnum = reader.unpack("HH", 54)
    else:
        (machine,) = reader.unpack("H", 18)
        (phoff,) = reader.unpack("I", 28)
        phentsize, phnum = reader.unpack("HH", 42)
    segments: list[tuple[int, int, int, int]] = []  # (type, offset, vaddr, filesz)
    for index in range(phnum):
        at = phoff + index * phentsize
        if reader.bits == 64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = reader.unpack("IIQQQQ", at)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = reader.unpack("IIIII", at)
        segments.append((p_type, p_offset, p_vaddr, p_filesz))
    interpreter = None
    for p_type, p_offset, _, _ in segments:
        if p_type == _PT_INTERP:
            interpreter = reader.cstring(p_offset)
    fields: dict[str, object] = {
        "machine": _MACHINES.get(machine, f"e_machine={machine}"),
        "bits": reader.bits,
        "interpreter": interpreter,
    }
    dynamic = next((s for s in segments if s[0] == _PT_DYNAMIC), None)
    if dynamic is not None:
        loads = [s for s in segments if s[0] == _PT_LOAD]
        fields.update(_read_dynamic(reader, dynamic[1], dynamic[3], loads))
    return ElfInfo(**fields)  # type: ignore[arg-type]


def _read_dynamic(
    reader: _Reader, offset: int, size: int, loads: list[tuple[int, int, int, int]]
) -> dict[str, object]:
    entry = "qQ" if reader.bits == 64 else "iI"
    step = 16 if reader.bits == 64 else 8
    tags: list[tuple[int, int]] = []
    for at in range(offset, offset + size - step + 1, step):
        tag, value = reader.unpack(entry, at)
        if tag == _DT_NULL:
            break
        tags.append((tag, value))

    def file_offset(vaddr: int) -> int:
        for _, p_offset, p_vaddr, p_filesz in loads:
            if p_vaddr <= vaddr < p_vaddr + p_filesz:
                return vaddr - p_vaddr + p_offset
        raise ElfError(f"address {vaddr:#x} is in no PT_LOAD segment")

    table = dict(tags)
    if _DT_STRTAB not in table:
        return {}
    strtab = file_offset(table[_DT_STRTAB])

    def string(index: int) -> str:
        return reader.cstring(strtab + index)

    def paths(tag: int) -> tuple[str, ...]:
        return tuple(p for v in (val for t, val in tags if t == tag) for p in string(v).split(":"))

    out: dict[str, object] = {
        "needed": tuple(string(v) for t, v in tags if t == _DT_NEEDED),
        "soname": string(table[_DT_SONAME]) if _DT_SONAME in table else None,
        "rpath": paths(_DT_RPATH),
        "runpath": paths(_DT_RUNPATH),
    }
    if _DT_VERNEED in table:
        out["version_needs"] = _read_verneed(
            reader, file_offset(table[_DT_VERNEED]), table.get(_DT_VERNEEDNUM, 0), string
        )
    if _DT_VERDEF in table:
        out["version_defs"] = _read_verdef(
            reader, file_offset(table[_DT_VERDEF]), table.get(_DT_VERDEFNUM, 0), string
        )
    return out


def _read_verneed(
    reader: _Reader, at: int, count: int, string: Callable[[int], str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    needs: list[tuple[str, tuple[str, ...]]] = []
    for _ in range(min(count, _MAX_VERSION_ENTRIES)):
        _, vn_cnt, vn_file, vn_aux, vn_next = reader.unpack("HHIII", at)
        names: list[str] = []
        aux = at + vn_aux
        for _ in range(min(vn_cnt, _MAX_VERSION_ENTRIES)):
            _, _, _, vna_name, vna_next = reader.unpack("IHHII", aux)
            names.append(string(vna_name))
            if vna_next == 0:
                break
            aux += vna_next
        needs.append((string(vn_file), tuple(names)))
        if vn_next == 0:
            break
        at += vn_next
    return tuple(needs)


def _read_verdef(
    reader: _Reader, at: int, count: int, string: Callable[[int], str]
) -> tuple[str, ...]:
    names: list[str] = []
    for _ in range(min(count, _MAX_VERSION_ENTRIES)):
        _, _, _, vd_cnt, _, vd_aux, vd_next = reader.unpack("HHHHIII", at)
        if vd_cnt:
            (vda_name,) = reader.unpack("I", at + vd_aux)
            names.append(string(vda_name))
        if vd_next == 0:
            break
        at += vd_next
    return tuple(names)
