"""Building a bundle: the steps in order, each announced, then a summary.

Everything is staged in a temporary folder shaped like ``/var/task``, proven (every ELF file's
libraries resolve inside it through the bundled loader), and only then zipped.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import attrs

from ._compile import compile_checked, compile_sourceless, record_attrs_bytecode
from ._errors import BundleError
from ._interpreter import Interpreter, stage_interpreter
from ._launcher import launcher_script
from ._layout import BOOTSTRAP, RUNTIME_DIR, Layout
from ._libraries import Closure, elf_files, gather_libraries, prove_closure, strip_files
from ._limits import GO1X_MACHINE, MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES, MIB
from ._packages import copy_runtime, install_requirements, runtime_dists
from ._zipfile import ZipStats, write_zip

__all__ = ["BundleRequest", "BundleSummary", "build_bundle"]

#: ``module.function``, ``pkg/module.function``: what the runtime resolves, and nothing a shell
#: or the launcher's comment line could misread.
_HANDLER_SPEC: Final = re.compile(r"[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*")

#: Lambda's Handler setting for go1.x is a file name at the zip root.
_HANDLER_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

#: Never copied from ``--src``: version control, caches, environments (hidden names), and
#: bytecode, which is compiled afresh.
_SRC_LEFT_OUT: Final = ("__pycache__",)

#: Where the code runs on Lambda; bytecode names its files under it.
TASK_ROOT: Final = "/var/task"

_STEPS: Final = 7


@attrs.frozen(kw_only=True)
class BundleRequest:
    """What ``lambda-legacy bundle`` was asked to build."""

    handler: str
    output: Path
    src: Path | None = None
    requirements: Path | None = None
    handler_name: str = "main"


@attrs.frozen(kw_only=True)
class BundleSummary:
    """What was built, for the summary the command prints."""

    output: Path
    stats: ZipStats
    handler: str
    launchers: tuple[str, ...]
    runtimes: tuple[str, ...]
    machine: str
    python_version: str
    closure: Closure
    requirements: tuple[str, ...]
    stripped: bool
    seconds: float

    def lines(self) -> list[str]:
        """The summary as text lines."""

        def version(v: tuple[int, ...] | None) -> str:
            return ".".join(map(str, v)) if v else "none"

        size = (
            f"{self.stats.zipped_bytes / MIB:.1f} MB zipped, "
            f"{self.stats.unzipped_bytes / MIB:.1f} MB unzipped, {self.stats.file_count} files "
            f"(Lambda's limits: {MAX_ZIPPED_BYTES // MIB} MB, {MAX_UNZIPPED_BYTES // MIB} MB)"
        )
        return [
            f"{self.output}: {size}",
            f"  serves:    {self.handler} on Python {self.python_version} ({self.machine})",
            f"  handlers:  {', '.join(self.launchers)}",
            f"  runtimes:  {', '.join(self.runtimes)}",
            f"  glibc:     none from the host; carries {version(self.closure.glibc_carried)}, "
            f"its {self.closure.elf_count} ELF files need at most "
            f"{version(self.closure.glibc_needed)}",
            f"  requirements: {', '.join(self.requirements) or 'none'}",
            f"  built in {self.seconds:.1f} s"
            + ("" if self.stripped else " (strip not found: binaries left unstripped)"),
        ]


def _validate(request: BundleRequest) -> None:
    if not _HANDLER_SPEC.fullmatch(request.handler):
        raise BundleError(f"handler {request.handler!r} is not module.function (e.g. app.handler)")
    if not _HANDLER_NAME.fullmatch(request.handler_name) or request.handler_name == RUNTIME_DIR:
        raise BundleError(f"--handler-name {request.handler_name!r} is not a plain file name")
    if request.src is not None and not request.src.is_dir():
        raise BundleError(f"--src {request.src} is not a folder")
    if request.src is not None:
        reserved = {request.handler_name, BOOTSTRAP, RUNTIME_DIR}
        for entry in sorted(request.src.iterdir()):
            if entry.name in reserved:
                raise BundleError(
                    f"--src has {entry.name!r} at its top, which the bundle needs for itself"
                )
    if request.requirements is not None and not request.requirements.is_file():
        raise BundleError(f"--requirements {request.requirements} is not a file")
    if not request.output.resolve().parent.is_dir():
        raise BundleError(f"-o {request.output}: its folder does not exist")


def _copy_src(src: Path, root: Path, output: Path) -> None:
    """The user's files at the zip root, as Lambda's Python runtime has them."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n.startswith(".")
            or n in _SRC_LEFT_OUT
            or n.endswith(".pyc")
            or (Path(directory) / n).resolve() == output.resolve()
        }

    shutil.copytree(src, root, ignore=ignore, dirs_exist_ok=True)


def _module_present(root: Path, layout: Layout, handler: str) -> bool:
    module = handler.rsplit(".", 1)[0].replace("/", ".").replace(".", "/")
    for base in (root, root / layout.site_packages):
        stem = base / module
        if stem.with_suffix(".py").is_file() or (stem / "__init__.py").is_file():
            return True
        if stem.with_suffix(".pyc").is_file() or (stem / "__init__.pyc").is_file():
            return True
        if stem.parent.is_dir() and any(stem.parent.glob(f"{stem.name}.*.so")):
            return True
    return False


def _runtimes(machine: str) -> tuple[str, ...]:
    provided = ("provided.al2", "provided.al2023")
    return ("go1.x", *provided) if machine == GO1X_MACHINE else provided


def build_bundle(request: BundleRequest, progress: Callable[[str], None]) -> BundleSummary:
    """Build the zip ``request`` asks for, reporting each step to ``progress``.

    Raises:
        BundleError: bad input, a library missing on this machine, an open closure, or a zip
            over Lambda's limits (no zip is left behind then).
    """
    started = time.monotonic()
    _validate(request)
    interpreter = Interpreter.running()
    layout = interpreter.layout()
    launchers = tuple(dict.fromkeys((request.handler_name, BOOTSTRAP)))
    with tempfile.TemporaryDirectory(prefix="lambda-legacy-bundle-") as temp:
        work = Path(temp)
        root = work / "task"
        root.mkdir()

        progress(f"[1/{_STEPS}] Python {interpreter.version} from {interpreter.executable}")
        stage_interpreter(interpreter, root)

        dists = runtime_dists()
        names = ", ".join(f"{d.name} {d.version}" for d in dists)
        progress(f"[2/{_STEPS}] runtime packages: {names}")
        copy_runtime(dists, root / layout.site_packages)
        site_packages = root / layout.site_packages
        # The runtime's own extension modules (simplejson's speedups carry 340 KB of debug
        # info) are ours to strip; the user's requirements, installed next, are left as built.
        runtime_stripped = strip_files(elf_files(site_packages))
        # -OO (no docstrings or asserts) for the runtime too: trio guards every use of __doc__,
        # attrs and lambda-legacy only assert what types already say. 180 KB zipped.
        compile_sourceless(site_packages, f"{TASK_ROOT}/{layout.site_packages}", optimize=2)
        compile_sourceless(root / layout.stdlib, f"{TASK_ROOT}/{layout.stdlib}", optimize=2)

        installed: list[str] = []
        if request.requirements is not None:
            progress(f"[3/{_STEPS}] requirements: pip install -r {request.requirements}")
            installed = install_requirements(
                request.requirements, dists, root / layout.site_packages, work
            )
        else:
            progress(f"[3/{_STEPS}] requirements: none given")

        if request.src is not None:
            progress(f"[4/{_STEPS}] source: {request.src}")
            _copy_src(request.src, root, request.output)
        else:
            progress(f"[4/{_STEPS}] source: none given")
        compile_checked(root, TASK_ROOT)
        if not _module_present(root, layout, request.handler):
            progress(f"  warning: no module for {request.handler} in --src or the requirements")

        progress(f"[5/{_STEPS}] shared libraries, glibc included")
        assert interpreter.elf.interpreter is not None
        gather_libraries(Path(interpreter.elf.interpreter), root, layout)
        stripped = runtime_stripped and strip_files(  # the requirements stay as they came
            p for p in elf_files(root / RUNTIME_DIR) if not p.is_relative_to(site_packages)
        )
        record_attrs_bytecode(root, layout)

        for name in launchers:
            launcher = root / name
            launcher.write_text(launcher_script(layout, request.handler), encoding="utf-8")
            launcher.chmod(0o755)

        progress(f"[6/{_STEPS}] proving every library resolves inside the bundle")
        closure = prove_closure(root, layout)
        if not closure.ok:
            raise BundleError(
                "the bundle is not self-contained: "
                + "; ".join(closure.outside or ["its libc is older than its files need"])
            )

        progress(f"[7/{_STEPS}] writing {request.output}")
        stats = write_zip(root, request.output)
    return BundleSummary(
        output=request.output,
        stats=stats,
        handler=request.handler,
        launchers=launchers,
        runtimes=_runtimes(interpreter.elf.machine),
        machine=interpreter.elf.machine,
        python_version=interpreter.version,
        closure=closure,
        requirements=tuple(installed),
        stripped=stripped,
        seconds=time.monotonic() - started,
    )
