"""The Python that goes into a bundle: the one running ``lambda-legacy bundle``, minus what a
function never uses.

The standard library is copied whole except the parts in :data:`STDLIB_LEFT_OUT` and
:data:`EXTENSIONS_LEFT_OUT` (each with its reason), so user code can import any module it could
import on Lambda's own Python runtime. Bytecode replaces the sources later (:mod:`._compile`).
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Final

import attrs

from ._elf import ElfError, ElfInfo, read_elf
from ._errors import BundleError
from ._layout import Layout

__all__ = [
    "EXTENSIONS_LEFT_OUT",
    "STDLIB_LEFT_OUT",
    "STDLIB_TEST_DIRS",
    "Interpreter",
    "stage_interpreter",
]

#: Top-level names of the standard library that are not copied, and why.
STDLIB_LEFT_OUT: Final = {
    "test": "CPython's own test suite (over 100 MB)",
    "idlelib": "the IDLE editor: no display on Lambda",
    "tkinter": "GUI toolkit: no display on Lambda",
    "turtle.py": "GUI: no display on Lambda",
    "turtledemo": "GUI demos: no display on Lambda",
    "curses": "needs a terminal, and the curses libraries",
    "lib2to3": "Python 2 converter, deprecated",
    "distutils": "build tool, deprecated (gone in 3.12); building happens before bundling",
    "ensurepip": "installs pip: packages are installed when the bundle is built",
    "venv": "makes environments: the bundle is the environment",
    "pydoc_data": "help() topics for the interactive prompt",
    "site-packages": "replaced by the bundle's own",
    "dist-packages": "replaced by the bundle's own",
    "__pycache__": "bytecode is compiled afresh, reproducibly",
    "pydoc.py": "help() and docs: the bytecode has no docstrings to show (compiled as -OO)",
    "doctest.py": "runs docstring examples: the bytecode has none (compiled as -OO)",
    "pdb.py": "interactive debugger: a function has no terminal",
    "pickletools.py": "pickle disassembler, a development tool",
    "tabnanny.py": "indentation checker, a development tool",
    "pyclbr.py": "class browser for IDEs, a development tool",
    "_pydecimal.py": "pure-Python fallback of decimal, used only without _decimal (which stays)",
    "_pyio.py": "pure-Python twin of io, used only by CPython's tests",
    "crypt.py": "deprecated (PEP 594, gone in 3.13), and its _crypt needs libcrypt",
    "aifc.py": "audio files: deprecated (PEP 594, gone in 3.13)",
    "sunau.py": "audio files: deprecated (PEP 594, gone in 3.13)",
    "sndhdr.py": "audio files: deprecated (PEP 594, gone in 3.13)",
    "nntplib.py": "Usenet client: deprecated (PEP 594, gone in 3.13)",
    "telnetlib.py": "telnet client: deprecated (PEP 594, gone in 3.13)",
    "xdrlib.py": "Sun XDR: deprecated (PEP 594, gone in 3.13)",
}

#: Folder names left out at any depth of the standard library: the test suites some packages
#: carry inside them (``unittest/test``, ``ctypes/test``).
STDLIB_TEST_DIRS: Final = frozenset({"test", "tests", "idle_test"})

#: Name prefixes of the stdlib's prefix ``config-3.X-<platform>``: the static library and Makefile
#: for building extensions (tens of MB).
_CONFIG_DIR_PREFIX: Final = "config-"

#: Extension modules (in lib-dynload) not copied, by name prefix, and why.
EXTENSIONS_LEFT_OUT: Final = {
    "_test": "CPython's test helpers",
    "_ctypes_test": "CPython's test helpers",
    "_xxtestfuzz": "CPython's test helpers",
    "xxlimited": "CPython's example module",
    "_tkinter": "GUI toolkit (needs Tcl/Tk)",
    "_curses": "needs a terminal (and ncurses)",
    "readline": "interactive line editing (needs libreadline)",
    "_crypt": "deprecated (PEP 594, gone in 3.13); needs libcrypt",
    "audioop": "audio: deprecated (PEP 594, gone in 3.13)",
    "spwd": "shadow passwords: deprecated (PEP 594, gone in 3.13)",
    "nis": "NIS lookups, deprecated (pulls in Kerberos and TI-RPC libraries)",
    "ossaudiodev": "sound devices",
    "_dbm": "needs Berkeley DB or gdbm (dbm.dumb stays)",
    "_gdbm": "needs gdbm (dbm.dumb stays)",
}


@attrs.frozen(kw_only=True)
class Interpreter:
    """Where the running Python's pieces are on this machine."""

    executable: Path
    version: str
    stdlib: Path
    lib_dynload: Path
    platlibdir: str
    elf: ElfInfo

    @classmethod
    def running(cls) -> Interpreter:
        """The interpreter running this code (through a venv, its base installation).

        Raises:
            BundleError: it is not a dynamically linked ELF program (e.g. not on Linux).
        """
        executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
        try:
            elf = read_elf(executable.read_bytes())
        except (OSError, ElfError) as exc:
            raise BundleError(f"cannot bundle {executable}: {exc}") from exc
        if elf.interpreter is None:
            raise BundleError(f"cannot bundle {executable}: it names no dynamic loader")
        lib_dynload = sysconfig.get_config_var("DESTSHARED")
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        return cls(
            executable=executable,
            version=f"{sys.version_info.major}.{sys.version_info.minor}",
            stdlib=stdlib,
            lib_dynload=Path(lib_dynload) if lib_dynload else stdlib / "lib-dynload",
            platlibdir=sys.platlibdir,
            elf=elf,
        )

    def layout(self) -> Layout:
        assert self.elf.interpreter is not None
        return Layout(
            python_version=self.version,
            loader_name=Path(self.elf.interpreter).name,
            platlibdir=self.platlibdir,
        )


def _left_out_extension(name: str) -> bool:
    return any(name.startswith(prefix) for prefix in EXTENSIONS_LEFT_OUT)


def stage_interpreter(interpreter: Interpreter, root: Path) -> None:
    """Copy the interpreter, its standard library and extension modules under ``root``."""
    layout = interpreter.layout()
    python = root / layout.python
    python.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(interpreter.executable, python)
    python.chmod(0o755)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n.endswith((".pyc", ".pyo"))}
        if Path(directory) == interpreter.stdlib:
            skipped |= {n for n in names if n in STDLIB_LEFT_OUT}
            skipped |= {n for n in names if n.startswith(_CONFIG_DIR_PREFIX)}
        if Path(directory) == interpreter.lib_dynload:
            return set(names)  # copied below, filtered
        return skipped | (STDLIB_TEST_DIRS | {"__pycache__"}) & set(names)

    shutil.copytree(interpreter.stdlib, root / layout.stdlib, ignore=ignore, dirs_exist_ok=True)
    dynload = root / layout.lib_dynload
    dynload.mkdir(parents=True, exist_ok=True)
    for extension in sorted(interpreter.lib_dynload.iterdir()):
        if extension.is_file() and not _left_out_extension(extension.name):
            shutil.copyfile(extension, dynload / extension.name)
            (dynload / extension.name).chmod(0o755)
