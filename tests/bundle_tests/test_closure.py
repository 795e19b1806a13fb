"""Closure: every ELF file in the bundle resolves to files inside it through the bundled loader,
and the bundled libc is at least as new as any file asks for.

The loader is asked directly (``ld.so --library-path DIR --list FILE``), as the launcher runs it,
not through the builder's own check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lambda_legacy._bundle._elf import ELF_MAGIC, glibc_version, newest_glibc, read_elf

RESOLVED = re.compile(r"^\s*(\S+) => (.+?) \(0x[0-9a-f]+\)$")


def _elf_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.read_bytes()[:4] == ELF_MAGIC]


def test_every_library_resolves_inside_the_bundle(extracted: Path) -> None:
    lib = extracted / "lambda-legacy" / "lib"
    loader = lib / "ld-linux-x86-64.so.2"
    files = _elf_files(extracted)
    assert len(files) > 20
    outside = []
    for path in files:
        if path == loader:
            continue
        listed = subprocess.run(
            [str(loader), "--library-path", str(lib), "--list", str(path)],
            capture_output=True, text=True, env={}, check=False,
        )  # fmt: skip
        assert "not found" not in listed.stdout, (path, listed.stdout)
        for line in listed.stdout.splitlines():
            if match := RESOLVED.match(line):
                where = Path(match.group(2)).resolve()
                if not where.is_relative_to(extracted.resolve()):
                    outside.append(f"{path.relative_to(extracted)}: {line.strip()}")
    assert outside == []


def test_bundled_libc_is_new_enough_for_every_file(extracted: Path) -> None:
    libc = extracted / "lambda-legacy" / "lib" / "libc.so.6"
    carried = newest_glibc(read_elf(libc.read_bytes()).version_defs)
    assert carried is not None
    assert carried >= (2, 17)
    needed = {
        path: read_elf(path.read_bytes()).glibc_needed()
        for path in _elf_files(extracted)
        if path != libc
    }
    too_new = {p: v for p, v in needed.items() if v is not None and v > carried}
    assert too_new == {}
    assert max(v for v in needed.values() if v) > (2, 17)  # a real floor, not a vacuous pass


def test_elf_reader_agrees_with_binutils(extracted: Path) -> None:
    """Our reader's DT_NEEDED and GLIBC_ versions, against ``readelf`` for a few files."""
    if shutil.which("readelf") is None:
        pytest.skip("binutils (readelf) not installed: reader not cross-checked")
    lib = extracted / "lambda-legacy" / "lib"
    python = next((extracted / "lambda-legacy" / "bin").iterdir())
    for path in (python, lib / "libc.so.6", lib / "libssl.so.3"):
        info = read_elf(path.read_bytes())
        dynamic = subprocess.run(
            ["readelf", "--dynamic", "--wide", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert list(info.needed) == re.findall(r"\(NEEDED\).*\[(.+?)\]", dynamic)
        versions = subprocess.run(
            ["readelf", "--version-info", "--wide", str(path)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        needed_names = re.findall(r"Name: (GLIBC_[0-9.]+)\s+Flags", versions)
        ours = [v for _, names in info.version_needs for v in names if glibc_version(v)]
        assert sorted(set(ours)) == sorted(set(needed_names)), path
