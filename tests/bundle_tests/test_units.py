"""Small pieces of the builder: the ELF reader on bad input, the zip writer's refusals."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_legacy._bundle import _zipfile
from lambda_legacy._bundle._elf import ELF_MAGIC, ElfError, ElfInfo, glibc_version, read_elf
from lambda_legacy._bundle._errors import BundleError


@given(st.binary(max_size=512))
def test_elf_reader_never_fails_otherwise(tail: bytes) -> None:
    """Any bytes after the magic give an ElfInfo or an ElfError, never another exception."""
    try:
        info = read_elf(ELF_MAGIC + tail)
    except ElfError:
        return
    assert isinstance(info, ElfInfo)


@pytest.mark.parametrize("cut", [4, 16, 40, 64, 200])
def test_truncated_elf_is_an_elf_error(cut: int) -> None:
    with open("/bin/sh", "rb") as f:
        data = f.read()
    if data[:4] != ELF_MAGIC:
        pytest.skip("/bin/sh is not an ELF file here")
    with pytest.raises(ElfError):
        read_elf(data[:cut])


def test_glibc_version_names() -> None:
    assert glibc_version("GLIBC_2.2.5") == (2, 2, 5)
    assert glibc_version("GLIBC_2.34") == (2, 34)
    assert glibc_version("GLIBC_PRIVATE") is None
    assert glibc_version("GCC_3.0") is None


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "main").write_text("#!/bin/sh\n", encoding="ascii")
    (root / "main").chmod(0o700)
    (root / "pkg" / "data.txt").write_text("x", encoding="ascii")
    (root / "pkg" / "data.txt").chmod(0o600)
    return root


def test_zip_modes_are_normalised(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    stats = _zipfile.write_zip(root, tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert modes == {"main": stat.S_IFREG | 0o755, "pkg/data.txt": stat.S_IFREG | 0o644}
    assert stats.file_count == 2
    assert stats.unzipped_bytes == len("#!/bin/sh\n") + 1


def test_zip_refuses_symlinks(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    os.symlink("main", root / "link")
    with pytest.raises(BundleError, match="link is a symlink"):
        _zipfile.write_zip(root, tmp_path / "out.zip")


def test_zip_over_the_limits_is_refused_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "t")
    (root / "noise.bin").write_bytes(os.urandom(4096))
    monkeypatch.setattr(_zipfile, "MAX_ZIPPED_BYTES", 1024)
    with pytest.raises(BundleError, match="Lambda refuses a direct upload over"):
        _zipfile.write_zip(root, tmp_path / "out.zip")
    assert list(tmp_path.glob("out.zip*")) == []
    monkeypatch.setattr(_zipfile, "MAX_UNZIPPED_BYTES", 1024)
    with pytest.raises(BundleError, match="unzipped; Lambda's limit is"):
        _zipfile.write_zip(root, tmp_path / "out.zip")
