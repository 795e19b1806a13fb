"""Bytecode that is the same on every build from the same inputs.

Two things make ``.pyc`` files differ between otherwise identical builds: the source timestamp in
the header, and the order of ``frozenset`` constants (``x in {"a", "b"}``), which follows string
hashing and so the per-process hash seed. So the compiler runs in a child interpreter with
``PYTHONHASHSEED=0`` and writes hash-based pycs (PEP 552), which carry a hash of the source
instead of its mtime.

- The runtime (standard library, lambda-legacy and its dependencies) becomes sourceless bytecode:
  ``x.pyc`` in place of ``x.py``, unchecked, optimised as ``python -OO`` would (no docstrings,
  no asserts), and without the column positions of each instruction (``-X no_debug_ranges``):
  with no source there is no line for a traceback to mark with ``^^^``, and they were over a
  quarter of the zipped bytecode. Half the size, and nothing is compiled at a cold start
  (``/var/task`` is read-only on Lambda, so nothing compiled there is ever cached).
- The user's code and requirements keep their sources, with checked pycs in ``__pycache__``:
  Python still compiles a file whose source no longer matches, and tracebacks show source lines.
- The methods attrs generates for the serving modules' classes, which no ``.pyc`` holds, are
  compiled by the bundle's own interpreter, run as the launcher runs it, into one file
  (:mod:`lambda_legacy._attrs_bytecode`), with the gob readers and writers of a function's first
  calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

from lambda_legacy._bundle_main import ATTRS_BYTECODE, REHEARSALS, SERVING_MODULES

from ._errors import BundleError
from ._layout import Layout

__all__ = ["compile_checked", "compile_sourceless", "record_attrs_bytecode"]

#: The child interpreter's script: compile one tree; for ``sourceless``, the .py files go after.
_COMPILER: Final = """
import compileall, py_compile, sys
root, ddir, mode, optimize = sys.argv[1:5]
unchecked = mode == "sourceless"
compileall.compile_dir(
    root, ddir=ddir, quiet=2, legacy=unchecked, workers=1, optimize=int(optimize),
    invalidation_mode=py_compile.PycInvalidationMode[
        "UNCHECKED_HASH" if unchecked else "CHECKED_HASH"
    ],
)
"""

#: Compiling the standard library takes seconds; this only stops a wedged child.
_COMPILE_TIMEOUT_S: Final = 600.0


def _run_compiler(root: Path, ddir: str, mode: str, optimize: int) -> None:
    positions = ["-X", "no_debug_ranges"] if mode == "sourceless" else []
    arguments = [str(root), ddir, mode, str(optimize)]
    _run_child(
        [sys.executable, "-S", "-s", *positions, "-c", _COMPILER, *arguments], f"compiling {root}"
    )


def _run_child(command: list[str], what: str, cwd: Path | None = None) -> None:
    """Run a child interpreter with the hash seed fixed; BundleError with its stderr if it fails."""
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_COMPILE_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise BundleError(f"{what} failed: {result.stderr.strip()}")


def compile_sourceless(root: Path, ddir: str, *, optimize: int = 0) -> None:
    """Replace every ``.py`` under ``root`` with its bytecode (``co_filename`` under ``ddir``).

    ``optimize=2`` leaves out docstrings and asserts, as ``python -OO`` would (for the standard
    library, which CPython supports running that way). A file that does not compile keeps its
    source, so it fails on import as it would anyway.
    """
    _run_compiler(root, ddir, "sourceless", optimize)
    for source in root.rglob("*.py"):
        if source.with_suffix(".pyc").is_file():
            source.unlink()


def compile_checked(root: Path, ddir: str) -> None:
    """Add checked hash-based pycs in ``__pycache__`` beside every ``.py`` under ``root``."""
    _run_compiler(root, ddir, "checked", 0)


def record_attrs_bytecode(root: Path, layout: Layout) -> None:
    """Write the bytecode of the serving modules' attrs methods into the bundle at ``root``.

    The bundle's interpreter records it, under the bundled loader and libraries as the launcher
    starts it (without ``-I``, which would ignore the fixed hash seed; ``-s`` keeps user sites
    out, and the bundle's root as working directory keeps the build's out of ``sys.path``).
    Needs the libraries gathered.
    """
    out = root / ATTRS_BYTECODE
    command = [str(root / layout.loader), "--library-path", str(root / layout.lib_dir)]
    command += [
        str(root / layout.python),
        "-s",
        "-X",
        "utf8",
        "-m",
        "lambda_legacy._attrs_bytecode",
    ]
    _run_child(
        [*command, str(out), *SERVING_MODULES, *REHEARSALS], "recording attrs bytecode", cwd=root
    )
