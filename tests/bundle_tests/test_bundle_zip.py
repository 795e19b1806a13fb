"""The zip itself: Lambda-safe entries, what is (and is not) inside, summary, reproducibility."""

from __future__ import annotations

import hashlib
import marshal
import stat
import zipfile
from pathlib import Path, PurePosixPath
from types import CodeType

import pytest
from bundle_helpers import HANDLER, BuiltBundle, build

from lambda_legacy._bundle._check import check_zip
from lambda_legacy._bundle._limits import MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES
from lambda_legacy._bundle._packages import SERVICE_SIDE_MODULES
from lambda_legacy._bundle_main import ATTRS_BYTECODE


def _infos(zip_path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.infolist()


def test_every_entry_is_a_regular_file_lambda_can_read(built_bundle: BuiltBundle) -> None:
    infos = _infos(built_bundle.zip_path)
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for info in infos:
        mode = info.external_attr >> 16
        assert info.create_system == 3, info.filename
        assert mode in (stat.S_IFREG | 0o755, stat.S_IFREG | 0o644), (info.filename, oct(mode))
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert not info.is_dir()
        path = PurePosixPath(info.filename)
        assert not path.is_absolute(), info.filename
        assert ".." not in path.parts, info.filename
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_launchers_at_the_root(built_bundle: BuiltBundle) -> None:
    with zipfile.ZipFile(built_bundle.zip_path) as archive:
        for name in ("main", "bootstrap"):
            info = archive.getinfo(name)
            assert info.external_attr >> 16 == stat.S_IFREG | 0o755
            script = archive.read(name).decode()
            assert script.startswith("#!/bin/sh\n")
            assert HANDLER in script
            assert "--library-path" in script
        loader = archive.getinfo("lambda-legacy/lib/ld-linux-x86-64.so.2")
        assert loader.external_attr >> 16 == stat.S_IFREG | 0o755


def test_contents(built_bundle: BuiltBundle) -> None:
    names = {i.filename for i in _infos(built_bundle.zip_path)}
    assert "fn.py" in names
    assert any(n.startswith("__pycache__/fn.") for n in names)  # checked pyc beside the source
    assert not any(n.startswith(".git") for n in names)  # hidden names stay behind
    tinyreq = {n.split("/site-packages/")[1] for n in names if "/site-packages/tinyreq" in n}
    assert "tinyreq/__init__.py" in tinyreq  # requirements keep their sources
    assert "tinyreq-1.0.dist-info/METADATA" in tinyreq
    for package in ("trio", "attr", "gobrpc", "runtime", "lambda_legacy"):
        assert any(f"/site-packages/{package}/__init__.pyc" in n for n in names), package
    assert not any("/site-packages/lambda_legacy/_bundle/" in n for n in names)
    ours = {n.split("/site-packages/lambda_legacy/")[1] for n in names if "/lambda_legacy/" in n}
    assert {"_bundle_main.pyc", "_cmd_serve.pyc", "_attrs_bytecode.pyc"} <= ours
    for package, modules in SERVICE_SIDE_MODULES.items():
        kept = {n.split(f"/site-packages/{package}/")[1] for n in names if f"/{package}/" in n}
        assert not {m.replace(".py", ".pyc") for m in modules} & kept, package
    runtime = {n.split("/site-packages/runtime/")[1] for n in names if "/runtime/" in n}
    assert {"_runtime_api_blocking.pyc", "_server.pyc", "_stream.pyc"} <= runtime
    assert ATTRS_BYTECODE in names
    assert not any("/site-packages/trio/_tests/" in n for n in names)
    assert not any(n.endswith("/os.py") for n in names)  # the stdlib is bytecode only
    assert any(n.endswith("/os.pyc") for n in names)
    assert any(n.endswith("/libpthread.so.0") for n in names)  # loaded by name, see _libraries


def _code_in(archive: zipfile.ZipFile, name: str) -> CodeType:
    """The module code of the pyc ``name`` in the zip (a pyc's header is 16 bytes)."""
    code = marshal.loads(archive.read(name)[16:])
    assert isinstance(code, CodeType)
    return code


def _columns(code: CodeType) -> set[int | None]:
    """Every column an instruction of ``code`` or a function inside it has."""
    found = {column for _, _, column, end in code.co_positions() for column in (column, end)}
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            found |= _columns(constant)
    return found


def test_sourceless_bytecode_has_no_columns_and_the_users_keeps_them(
    built_bundle: BuiltBundle,
) -> None:
    """Columns only serve a traceback's ``^^^`` under a source line, and the runtime ships none;
    the user's pycs sit beside their sources."""
    with zipfile.ZipFile(built_bundle.zip_path) as archive:
        names = archive.namelist()
        runtime = [
            next(n for n in names if n.endswith(suffix))
            for suffix in ("/python3.11/os.pyc", "/site-packages/runtime/_server.pyc")
        ]
        for name in runtime:
            code = _code_in(archive, name)
            assert _columns(code) == {None}, name
            assert {line for _, _, line in code.co_lines()} - {None}, name  # lines stay
        users = next(n for n in names if n.startswith("__pycache__/fn."))
        assert _columns(_code_in(archive, users)) - {None}


def test_sizes_within_lambda_limits(built_bundle: BuiltBundle) -> None:
    infos = _infos(built_bundle.zip_path)
    assert built_bundle.zip_path.stat().st_size <= MAX_ZIPPED_BYTES
    assert sum(i.file_size for i in infos) <= MAX_UNZIPPED_BYTES


def test_progress_and_summary(built_bundle: BuiltBundle) -> None:
    for step in range(1, 8):
        assert f"[{step}/7]" in built_bundle.stderr
    out = built_bundle.stdout
    infos = _infos(built_bundle.zip_path)
    assert f"{len(infos)} files" in out
    zipped = built_bundle.zip_path.stat().st_size / 1024 / 1024
    assert f"{zipped:.1f} MB zipped" in out
    assert "handlers:  main, bootstrap" in out
    assert "runtimes:  go1.x, provided.al2, provided.al2023" in out
    assert "glibc:     none from the host; carries 2." in out
    assert "requirements: tinyreq 1.0" in out


def test_own_bundle_passes_check(built_bundle: BuiltBundle) -> None:
    report = check_zip(built_bundle.zip_path)
    assert report.faults == ()
    assert report.runtimes == ("go1.x", "provided.al2", "provided.al2023")


def test_two_builds_are_the_same_bytes(built_bundle: BuiltBundle, tmp_path: Path) -> None:
    src, requirements = built_bundle.inputs
    status, _, stderr = build(src, requirements, tmp_path / "again.zip")
    assert status == 0, stderr

    def sha256(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    if sha256(tmp_path / "again.zip") != sha256(built_bundle.zip_path):
        with (
            zipfile.ZipFile(built_bundle.zip_path) as first,
            zipfile.ZipFile(tmp_path / "again.zip") as second,
        ):
            names = sorted(set(first.namelist()) | set(second.namelist()))
            differ = [n for n in names if n not in second.namelist() or n not in first.namelist()
                      or first.read(n) != second.read(n)]  # fmt: skip
        pytest.fail(f"two builds differ in {differ[:10]} (a source edited between them?)")
