"""``bundle --check`` against zips built to fail the way users' go1.x zips fail."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lambda_legacy._bundle._check import Fault, check_zip
from lambda_legacy._bundle._elf import read_elf
from lambda_legacy._bundle._limits import MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES, MIB

SCRIPT = b"#!/bin/sh\necho hello\n"


def _zip(path: Path, entries: dict[str, tuple[bytes, int]], *, system: int = 3) -> Path:
    """A zip whose entries carry exactly these modes (``mode`` includes the file type bits)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = system
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


def _entry(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr = 3, mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _problems(faults: tuple[Fault, ...]) -> str:
    return "\n".join(f"{f.path}: {f.problem} / {f.fix}" for f in faults)


def _static_binary() -> bytes:
    """A static x86_64 program, as a go1.x Go binary is (busybox-static stands in for one)."""
    found = shutil.which("busybox")
    if found is None or read_elf(Path(found).read_bytes()).is_dynamic:
        pytest.skip("busybox-static not installed: no static binary to zip")
    return Path(found).read_bytes()


def test_handler_without_exec_bit(tmp_path: Path) -> None:
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (SCRIPT, stat.S_IFREG | 0o644)}))
    assert [f.path for f in report.faults] == ["main"]
    assert "not executable at all (mode 0644)" in report.faults[0].problem
    assert "permission denied" in report.faults[0].problem
    assert report.faults[0].fix.startswith("chmod 755 main")


def test_handler_executable_by_owner_only(tmp_path: Path) -> None:
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (SCRIPT, stat.S_IFREG | 0o744)}))
    assert "by users other than its owner (mode 0744)" in _problems(report.faults)


def test_zip_made_on_windows_has_no_modes(tmp_path: Path) -> None:
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (SCRIPT, 0)}, system=0))
    assert "has no Unix mode" in _problems(report.faults)
    assert "build-lambda-zip" in report.faults[0].fix


def test_symlink(tmp_path: Path) -> None:
    entries = {
        "main": (SCRIPT, stat.S_IFREG | 0o755),
        "lib/libfoo.so": (b"libfoo.so.1", stat.S_IFLNK | 0o777),
    }
    report = check_zip(_zip(tmp_path / "f.zip", entries))
    assert [(f.path, f.problem) for f in report.faults] == [("lib/libfoo.so", "is a symlink")]


def test_missing_library_and_glibc_too_new(extracted: Path, tmp_path: Path) -> None:
    """The bundle's own interpreter zipped alone: a dynamic binary that needs its libpython."""
    python = next((extracted / "lambda-legacy" / "bin").iterdir()).read_bytes()
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (python, stat.S_IFREG | 0o755)}))
    problems = _problems(report.faults)
    assert "needs libpython3." in problems
    assert "which neither the zip nor Lambda's image has" in problems
    needed = read_elf(python).glibc_needed()
    assert needed is not None
    if needed > (2, 17):
        assert f"needs GLIBC_{'.'.join(map(str, needed))}; go1.x has glibc 2.17" in problems
    assert not report.ok


def test_library_carried_in_lib_is_found(extracted: Path, tmp_path: Path) -> None:
    """go1.x's LD_LIBRARY_PATH has /var/task/lib: a library there counts as carried."""
    python = next((extracted / "lambda-legacy" / "bin").iterdir())
    libpython = next((extracted / "lambda-legacy" / "lib").glob("libpython3*.so*"))
    entries = {
        "main": (python.read_bytes(), stat.S_IFREG | 0o755),
        f"lib/{libpython.name}": (libpython.read_bytes(), stat.S_IFREG | 0o755),
    }
    problems = _problems(check_zip(_zip(tmp_path / "f.zip", entries)).faults)
    assert "needs libpython" not in problems


def test_over_the_zipped_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(_entry("main", stat.S_IFREG | 0o755), SCRIPT)
        archive.writestr(_entry("data.bin"), os.urandom(MAX_ZIPPED_BYTES + MIB))
    report = check_zip(path)
    assert [f.path for f in report.faults] == [""]
    assert "Lambda refuses a direct upload over 50 MB" in report.faults[0].problem


def test_over_the_unzipped_limit(tmp_path: Path) -> None:
    path = tmp_path / "wide.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(_entry("main", stat.S_IFREG | 0o755), SCRIPT)
        archive.writestr(_entry("zeros.bin"), bytes(MAX_UNZIPPED_BYTES + MIB))
    report = check_zip(path)
    assert path.stat().st_size < MAX_ZIPPED_BYTES
    assert "unzipped; Lambda's limit is 250 MB" in _problems(report.faults)


def test_handler_in_a_folder(tmp_path: Path) -> None:
    report = check_zip(_zip(tmp_path / "f.zip", {"build/main": (SCRIPT, stat.S_IFREG | 0o755)}))
    assert "is not at the zip root; the zip has build/main" in _problems(report.faults)
    assert "not the folder" in report.faults[0].fix


def test_script_with_windows_line_endings(tmp_path: Path) -> None:
    crlf = b"#!/bin/sh\r\necho hello\r\n"
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (crlf, stat.S_IFREG | 0o755)}))
    assert "Windows line endings" in _problems(report.faults)


def test_path_faults(tmp_path: Path) -> None:
    entries = {
        "main": (SCRIPT, stat.S_IFREG | 0o755),
        "../escape": (b"x", stat.S_IFREG | 0o644),
        "secret.txt": (b"x", stat.S_IFREG | 0o600),
    }
    problems = _problems(check_zip(_zip(tmp_path / "f.zip", entries)).faults)
    assert "../escape: is an absolute or '..' path" in problems
    assert "secret.txt: is not readable by Lambda's user (mode 0600)" in problems


def test_static_binary_passes(tmp_path: Path) -> None:
    binary = _static_binary()
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (binary, stat.S_IFREG | 0o755)}))
    assert report.faults == ()
    assert report.handler_kind == "ELF x86_64, static"
    assert report.runtimes == ("go1.x",)


def test_go_function_built_here(tmp_path: Path) -> None:
    """tools/bin/gopeer (aws-lambda-go, cgo on by default): its glibc floor decides the verdict."""
    from go_peer import gopeer

    binary = gopeer().read_bytes()
    report = check_zip(_zip(tmp_path / "f.zip", {"main": (binary, stat.S_IFREG | 0o755)}))
    needed = read_elf(binary).glibc_needed()
    glibc_faults = [f for f in report.faults if "GLIBC_" in f.problem]
    assert bool(glibc_faults) == (needed is not None and needed > (2, 17))
    for fault in glibc_faults:
        assert "CGO_ENABLED=0" in fault.fix


def test_cli_exit_codes(built_bundle_zip_or_skip: Path, tmp_path: Path) -> None:
    bad = _zip(tmp_path / "bad.zip", {"main": (SCRIPT, stat.S_IFREG | 0o644)})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lambda_legacy", "bundle", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    faulty = run("--check", str(bad))
    assert faulty.returncode == 1
    assert "FAULT main: is not executable" in faulty.stdout
    assert "fix: chmod 755 main" in faulty.stdout
    good = run("--check", str(built_bundle_zip_or_skip))
    assert good.returncode == 0, good.stdout
    assert "ok: runs on go1.x, provided.al2, provided.al2023" in good.stdout
    assert run("--check", str(tmp_path / "absent.zip")).returncode == 2
    assert run().returncode == 2
    assert run("not-a-handler").returncode == 2
