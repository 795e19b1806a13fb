"""The shared-library closure of a bundle: gather it from this machine, then prove it is whole.

Gathering asks this machine's own dynamic loader (``ld.so --list FILE``, what ``ldd`` runs) where
every library of every ELF file in the bundle lives, and copies those outside the bundle into the
bundle's library folder under the name they are asked for, glibc and its loader included. Some
libraries are loaded by name at run time, which no ``DT_NEEDED`` reveals: glibc's own
(``libpthread.so.0`` from ``ctypes.util.find_library("pthread")``, which trio does at import;
NSS modules) and ``libgcc_s.so.1`` (glibc loads it for thread cancellation and exit). Without a
copy in the bundle such a load falls through to the host's ``/etc/ld.so.cache``: on go1.x,
glibc 2.17's libpthread in a process running our glibc. So they are copied by name
(:data:`LOADED_BY_NAME`), from beside this machine's libc.

Proving asks the *bundled* loader the same question with ``--library-path`` set to the bundle's
library folder, exactly as the launcher runs it: every library must resolve to a file inside the
bundle. Then the bundled libc's newest ``GLIBC_`` version must be at least the newest one any
other file in the bundle asks for (our own ELF reader, :mod:`._elf`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import attrs

from ._elf import ELF_MAGIC, ElfError, ElfInfo, newest_glibc, read_elf
from ._errors import BundleError
from ._layout import Layout

__all__ = [
    "Closure",
    "elf_files",
    "gather_libraries",
    "prove_closure",
    "strip_files",
]

#: Libraries loaded by name at run time rather than through DT_NEEDED: glibc's (ctypes'
#: ``find_library`` answers with a soname, which then resolves in the bundle before the host's
#: cache; NSS modules), and libgcc_s (glibc dlopens it for thread cancellation and exit). glibc's
#: debugging libraries (libmemusage, libpcprofile, libc_malloc_debug, libthread_db) and libmvec
#: (1 MB, only ever a DT_NEEDED of vectorised code, which the closure then brings) are left out.
LOADED_BY_NAME: Final = (
    "libanl.so.1",
    "libBrokenLocale.so.1",
    "libdl.so.2",
    "libgcc_s.so.1",
    "libm.so.6",
    "libnsl.so.1",
    "libnss_compat.so.2",
    "libnss_dns.so.2",
    "libnss_files.so.2",
    "libnss_hesiod.so.2",
    "libpthread.so.0",
    "libresolv.so.2",
    "librt.so.1",
    "libutil.so.1",
)

#: One ``ld.so --list`` run is a few milliseconds; this only stops a wedged loader.
_LIST_TIMEOUT_S: Final = 30.0

_RESOLVED = re.compile(r"^\s*(\S+) => (.+?) \(0x[0-9a-f]+\)$")
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found$")


def elf_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` that starts with the ELF magic, in sorted order."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == ELF_MAGIC:
                    yield path


def _list(loader: Path, target: Path, library_path: Path | None) -> dict[str, str | None]:
    """``loader --list target``: each library name -> the file it resolves to (None: not found)."""
    command = [str(loader)]
    if library_path is not None:
        command += ["--library-path", str(library_path)]
    command += ["--list", str(target)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={}, timeout=_LIST_TIMEOUT_S, check=False
    )
    found: dict[str, str | None] = {}
    for line in result.stdout.splitlines():
        if match := _RESOLVED.match(line):
            found[match.group(1)] = match.group(2)
        elif match := _NOT_FOUND.match(line):
            found[match.group(1)] = None
    if result.returncode != 0 and not found:
        raise BundleError(f"{loader} --list {target} failed: {result.stderr.strip()}")
    return found


def gather_libraries(host_loader: Path, root: Path, layout: Layout) -> list[str]:
    """Copy every library the bundle's ELF files need from this machine into the bundle.

    Returns the names copied, sorted.

    Raises:
        BundleError: a library is not on this machine either.
    """
    lib_dir = root / layout.lib_dir
    lib_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(host_loader.resolve(), root / layout.loader)
    (root / layout.loader).chmod(0o755)  # the launcher executes it
    copied: dict[str, Path] = {}
    missing: list[str] = []
    for target in elf_files(root):
        for name, where in _list(host_loader, target, None).items():
            if where is None:
                missing.append(f"{target.relative_to(root)} needs {name}")
            elif not Path(where).resolve().is_relative_to(root.resolve()):
                copied.setdefault(name, Path(where).resolve())
    if missing:
        raise BundleError("libraries not found on this machine: " + "; ".join(sorted(missing)))
    libc = copied.get("libc.so.6")
    beside = dict.fromkeys([*([libc.parent] if libc else []), *(p.parent for p in copied.values())])
    for name in LOADED_BY_NAME:
        source = next((d / name for d in beside if (d / name).is_file()), None)
        if source is not None:
            copied.setdefault(name, source.resolve())
    for name, source in sorted(copied.items()):
        shutil.copyfile(source, lib_dir / name)
        (lib_dir / name).chmod(0o755)  # as shared libraries are installed
    return sorted(copied)


def strip_files(paths: Iterable[Path]) -> bool:
    """Remove symbol tables and debug sections (binutils ``strip --strip-unneeded``).

    Returns False, having changed nothing, when ``strip`` is not installed: the bundle still
    works, it is only larger.
    """
    strip = shutil.which("strip")
    files = [str(p) for p in paths]
    if strip is None or not files:
        return strip is not None
    subprocess.run([strip, "--strip-unneeded", *files], check=True, capture_output=True)
    return True


@attrs.frozen(kw_only=True)
class Closure:
    """What the bundled loader resolves, and the glibc versions involved.

    Attributes:
        elf_count: ELF files in the bundle.
        outside: ``file needs name => path`` for each library resolved outside the bundle or not
            found at all (empty when the bundle is closed).
        glibc_carried: the newest ``GLIBC_`` version the bundled libc defines.
        glibc_needed: the newest one any file in the bundle needs.
    """

    elf_count: int
    outside: tuple[str, ...]
    glibc_carried: tuple[int, ...] | None
    glibc_needed: tuple[int, ...] | None

    @property
    def ok(self) -> bool:
        carried, needed = self.glibc_carried, self.glibc_needed
        return not self.outside and (needed is None or (carried is not None and carried >= needed))


def prove_closure(root: Path, layout: Layout) -> Closure:
    """Resolve every ELF file in ``root`` through the bundled loader, as the launcher runs it."""
    loader, lib_dir = root / layout.loader, root / layout.lib_dir
    outside: list[str] = []
    infos: dict[Path, ElfInfo] = {}
    for target in elf_files(root):
        try:
            infos[target] = read_elf(target.read_bytes())
        except ElfError as exc:
            outside.append(f"{target.relative_to(root)}: {exc}")
            continue
        if target == loader:
            continue
        for name, where in _list(loader, target, lib_dir).items():
            inside = where is not None and Path(where).resolve().is_relative_to(root.resolve())
            if not inside:
                outside.append(f"{target.relative_to(root)} needs {name} => {where}")
    libc = infos.get(lib_dir / "libc.so.6")
    return Closure(
        elf_count=len(infos),
        outside=tuple(outside),
        glibc_carried=newest_glibc(libc.version_defs) if libc is not None else None,
        glibc_needed=max(
            (v for p, i in infos.items() if p != lib_dir / "libc.so.6" if (v := i.glibc_needed())),
            default=None,
        ),
    )
