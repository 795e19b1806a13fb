"""One bundle per test session (a build takes seconds), built from a small function whose
requirement is a wheel made here, so pip installs it offline.

Also makes this folder's helpers (``bundle_helpers``) importable by its tests: the suite runs with
``--import-mode=importlib`` and only ``tests/`` on ``pythonpath``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lambda_legacy._bundle._zipfile import extract_with_modes

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from bundle_helpers import (  # noqa: E402 (needs the path above)
    FUNCTION_SOURCE,
    BuiltBundle,
    build,
    make_wheel,
)


@pytest.fixture(scope="session")
def built_bundle(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """The bundle every test here looks at, built once."""
    if not sys.platform.startswith("linux"):
        pytest.skip("bundles are built on Linux only")
    base = tmp_path_factory.mktemp("bundle")
    src = base / "src"
    src.mkdir()
    (src / "fn.py").write_text(FUNCTION_SOURCE, encoding="utf-8")
    (src / ".git").mkdir()  # hidden: must not reach the zip
    (src / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    wheels = base / "wheels"
    wheels.mkdir()
    make_wheel(wheels)
    requirements = base / "requirements.txt"
    requirements.write_text(f"--no-index\n--find-links {wheels}\ntinyreq==1.0\n", encoding="utf-8")
    output = base / "function.zip"
    status, stdout, stderr = build(src, requirements, output)
    assert status == 0, stderr
    return BuiltBundle(zip_path=output, stdout=stdout, stderr=stderr, inputs=(src, requirements))


@pytest.fixture(scope="session")
def extracted(built_bundle: BuiltBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's bundle unzipped with its modes (read-only use: tests must not write here)."""
    dest = tmp_path_factory.mktemp("extracted")
    extract_with_modes(built_bundle.zip_path, dest)
    return dest


@pytest.fixture
def built_bundle_zip_or_skip(built_bundle: BuiltBundle) -> Path:
    return built_bundle.zip_path
