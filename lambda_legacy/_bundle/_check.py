"""``lambda-legacy bundle --check ZIP``: the faults that stop a go1.x function from starting.

Works on any zip, a bundle or a Go function, read in place (nothing is extracted). Each fault is
one Lambda reports at the first invoke, mostly as ``fork/exec /var/task/main: ...``:

- the Handler is not a file at the zip root ("no such file or directory");
- it lacks the execute bit for the user Lambda runs it as ("permission denied"), including zips
  made on Windows, which record no Unix mode at all; a file not readable by that user;
- it is for another machine (go1.x is x86_64) or names a loader Lambda's image has not (a binary
  built on Alpine, against musl); a ``#!`` script with Windows line endings;
- a library an ELF file needs that neither the zip nor the image has, or a ``GLIBC_`` version
  newer than the image's glibc (2.17 on go1.x: a Go binary built with cgo on a current system);
- a symlink, an absolute or ``..`` path; the zip over Lambda's size limits.

Where a library is looked for, as the loader would on go1.x: the file's own ``DT_RPATH`` /
``DT_RUNPATH`` (``$ORIGIN`` is its folder in the zip); the zip root and ``lib/``, which go1.x's
``LD_LIBRARY_PATH`` names (``/var/task``, ``/var/task/lib``); and, when the zip carries its own
loader and libc side by side (a lambda-legacy bundle), that folder, which its launcher passes as
``--library-path``; the files there then use the carried glibc instead of the image's.
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Final

import attrs

from ._elf import ELF_MAGIC, ElfError, ElfInfo, newest_glibc, read_elf
from ._layout import BOOTSTRAP
from ._limits import (
    GLIBC_OF_RUNTIME,
    GO1X_MACHINE,
    HOST_LIBRARIES,
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    MIB,
    SYSTEM_LOADERS,
)

__all__ = ["CheckReport", "Fault", "check_zip"]

_UNIX: Final = 3
_TASK_ROOT: Final = "/var/task/"
#: go1.x's LD_LIBRARY_PATH entries that point into the zip: ``/var/task`` and ``/var/task/lib``.
_ZIP_LIBRARY_DIRS: Final = ("", "lib")
_GLIBC_LIBRARIES: Final = frozenset(HOST_LIBRARIES - {"libgcc_s.so.1", "libz.so.1"})
_SHELLS: Final = frozenset({"/bin/sh", "/bin/bash", "/usr/bin/env"})


@attrs.frozen(kw_only=True)
class Fault:
    """One thing that stops the function, where, and how to fix it."""

    path: str
    problem: str
    fix: str


@attrs.frozen(kw_only=True)
class CheckReport:
    """What ``--check`` found in one zip."""

    zip_path: Path
    handler_name: str
    zipped_bytes: int
    unzipped_bytes: int
    file_count: int
    handler_kind: str
    faults: tuple[Fault, ...]
    runtimes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.faults

    def lines(self) -> list[str]:
        """The report as text lines: a header, the handler, then each fault with its fix."""
        lines = [
            f"{self.zip_path}: {self.zipped_bytes / MIB:.1f} MB zipped, "
            f"{self.unzipped_bytes / MIB:.1f} MB unzipped, {self.file_count} files",
            f"  handler {self.handler_name}: {self.handler_kind}",
        ]
        for fault in self.faults:
            where = f"{fault.path}: " if fault.path else ""
            lines += [f"  FAULT {where}{fault.problem}", f"        fix: {fault.fix}"]
        if self.ok:
            lines.append(f"  ok: runs on {', '.join(self.runtimes)}")
        return lines


def _mode(info: zipfile.ZipInfo) -> int | None:
    """The Unix mode recorded for an entry, None if the zip was not made on Unix."""
    mode = info.external_attr >> 16
    return mode if info.create_system == _UNIX and mode else None


def _path_faults(infos: list[zipfile.ZipInfo]) -> list[Fault]:
    faults: list[Fault] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            faults.append(Fault(path=name, problem="is in the zip twice", fix="zip it once"))
        seen.add(name)
        if "\\" in name:
            faults.append(
                Fault(
                    path=name,
                    problem="has a backslash: Lambda makes a file with '\\' in its name",
                    fix="zip with a tool that writes '/' (build-lambda-zip, or zip on Linux)",
                )
            )
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            faults.append(
                Fault(
                    path=name,
                    problem="is an absolute or '..' path, outside /var/task",
                    fix="zip paths relative to the function's folder (cd into it, then zip)",
                )
            )
        mode = _mode(info)
        if mode is None:
            continue
        if stat.S_ISLNK(mode):
            faults.append(
                Fault(
                    path=name,
                    problem="is a symlink",
                    fix="zip the file it points to instead (zip without -y)",
                )
            )
        elif info.is_dir() and mode & 0o005 != 0o005:
            faults.append(
                Fault(
                    path=name,
                    problem=f"is a folder Lambda's user cannot enter (mode {mode & 0o777:04o})",
                    fix=f"chmod 755 {name}, then zip again",
                )
            )
        elif not info.is_dir() and not mode & 0o004:
            faults.append(
                Fault(
                    path=name,
                    problem=f"is not readable by Lambda's user (mode {mode & 0o777:04o})",
                    fix=f"chmod a+r {name}, then zip again (Lambda runs as a user owning no file)",
                )
            )
    return faults


def _missing_handler(handler: str, names: list[str]) -> Fault:
    nested = sorted(n for n in names if PurePosixPath(n).name == handler and "/" in n)
    if nested:
        return Fault(
            path=handler,
            problem=f"is not at the zip root; the zip has {nested[0]}",
            fix="zip the folder's contents, not the folder (cd into it, then zip)",
        )
    top = sorted({n.split("/")[0] for n in names})[:8]
    return Fault(
        path=handler,
        problem=f"is not in the zip (its root has: {', '.join(top) or 'nothing'})",
        fix="name the executable as the function's Handler setting, or change the setting",
    )


def _handler_mode_faults(handler: str, info: zipfile.ZipInfo) -> list[Fault]:
    mode = _mode(info)
    if mode is None:
        return [
            Fault(
                path=handler,
                problem="has no Unix mode (a zip made on Windows): Lambda runs it without the "
                "execute bit, 'permission denied'",
                fix="build the zip with aws-lambda-go's build-lambda-zip, or chmod 755 and zip "
                "on Linux or macOS",
            )
        ]
    if stat.S_ISLNK(mode) or info.is_dir():
        return []  # reported as a path fault
    if mode & 0o001 == 0:
        which = "at all" if mode & 0o111 == 0 else "by users other than its owner"
        return [
            Fault(
                path=handler,
                problem=f"is not executable {which} (mode {mode & 0o777:04o}): "
                f"'fork/exec /var/task/{handler}: permission denied'",
                fix=f"chmod 755 {handler}, then zip again",
            )
        ]
    return []


def _handler_content(handler: str, data: bytes, names: set[str]) -> tuple[str, list[Fault]]:
    if data.startswith(b"#!"):
        line = data.split(b"\n", 1)[0]
        interpreter = line[2:].strip().split(b" ")[0].decode("utf-8", "replace")
        if line.endswith(b"\r"):
            return f"script for {interpreter.strip()}", [
                Fault(
                    path=handler,
                    problem="has Windows line endings: the kernel looks for "
                    f"'{interpreter.strip()}\\r', 'no such file or directory'",
                    fix=f"convert it to Unix line endings (dos2unix {handler})",
                )
            ]
        if interpreter not in _SHELLS and interpreter.removeprefix(_TASK_ROOT) not in names:
            return f"script for {interpreter}", [
                Fault(
                    path=handler,
                    problem=f"runs {interpreter}, which neither the zip nor Lambda's image has",
                    fix="start it with #!/bin/sh, or carry the interpreter in the zip",
                )
            ]
        return f"script for {interpreter}", []
    if not data.startswith(ELF_MAGIC):
        return "neither a program nor a script", [
            Fault(
                path=handler,
                problem="is neither an ELF program nor a #! script: 'exec format error'",
                fix="zip the compiled binary (GOOS=linux GOARCH=amd64 go build -o main)",
            )
        ]
    try:
        elf = read_elf(data)
    except ElfError as exc:
        return "a broken ELF file", [
            Fault(path=handler, problem=f"is a broken ELF file: {exc}", fix="rebuild it")
        ]
    kind = f"ELF {elf.machine}, " + (
        f"dynamic (loader {elf.interpreter})" if elf.is_dynamic else "static"
    )
    faults: list[Fault] = []
    if elf.machine != GO1X_MACHINE:
        faults.append(
            Fault(
                path=handler,
                problem=f"is built for {elf.machine}; go1.x runs {GO1X_MACHINE} only",
                fix="build with GOOS=linux GOARCH=amd64 (or deploy to provided.al2023 on arm64)",
            )
        )
    if (
        elf.interpreter is not None
        and elf.interpreter not in SYSTEM_LOADERS
        and elf.interpreter.removeprefix(_TASK_ROOT) not in names
    ):
        faults.append(
            Fault(
                path=handler,
                problem=f"needs the loader {elf.interpreter}, which Lambda's image has not "
                "(built on Alpine/musl?): 'no such file or directory'",
                fix="build with CGO_ENABLED=0 for a static binary",
            )
        )
    return kind, faults


def _zip_dir(path: str, origin: str) -> str | None:
    """A library search path as a folder in the zip (``""``: the root), None if outside it."""
    path = path.replace("${ORIGIN}", "$ORIGIN")
    if path.startswith("$ORIGIN"):
        joined = posixpath.join(origin, path.removeprefix("$ORIGIN").lstrip("/"))
    elif path.rstrip("/") == _TASK_ROOT.rstrip("/") or path.startswith(_TASK_ROOT):
        joined = path.removeprefix(_TASK_ROOT.rstrip("/")).lstrip("/")
    else:
        return None
    normalized = posixpath.normpath(joined) if joined else "."
    return "" if normalized == "." else normalized


def _search_dirs(entry: str, elf: ElfInfo, carried: Iterable[str]) -> list[str]:
    """Folders in the zip where the loader would look for ``entry``'s libraries, in order."""
    origin = posixpath.dirname(entry)
    own = [d for p in (*elf.rpath, *elf.runpath) if (d := _zip_dir(p, origin)) is not None]
    return [*own, *_ZIP_LIBRARY_DIRS, *carried]


def _in_zip(directory: str, name: str, names: set[str]) -> bool:
    return (posixpath.join(directory, name) if directory else name) in names


def _library_faults(elves: dict[str, ElfInfo], names: set[str]) -> list[Fault]:
    carried = sorted(
        {
            posixpath.dirname(n)
            for n in names
            if posixpath.basename(n).startswith("ld-linux")
            and _in_zip(posixpath.dirname(n), "libc.so.6", names)
        }
    )
    carried_libc = next(
        (elves.get(posixpath.join(d, "libc.so.6") if d else "libc.so.6") for d in carried), None
    )
    carried_glibc = newest_glibc(carried_libc.version_defs) if carried_libc else None
    host_glibc = GLIBC_OF_RUNTIME["go1.x"]
    faults: list[Fault] = []
    for entry, elf in sorted(elves.items()):
        dirs = _search_dirs(entry, elf, carried)
        uses_carried = False
        for needed in elf.needed:
            found = next((d for d in dirs if _in_zip(d, needed, names)), None)
            if found is not None:
                uses_carried = uses_carried or found in carried
            elif needed not in HOST_LIBRARIES:
                faults.append(
                    Fault(
                        path=entry,
                        problem=f"needs {needed}, which neither the zip nor Lambda's image has",
                        fix=f"put {needed} in lib/ in the zip (go1.x searches /var/task/lib), "
                        "or link it statically",
                    )
                )
        needed_glibc = newest_glibc(
            v for lib, versions in elf.version_needs if lib in _GLIBC_LIBRARIES for v in versions
        )
        if needed_glibc is None:
            continue
        text = ".".join(map(str, needed_glibc))
        if uses_carried and carried:
            if carried_glibc is None or needed_glibc > carried_glibc:
                faults.append(
                    Fault(
                        path=entry,
                        problem=f"needs GLIBC_{text}, newer than the glibc the zip carries",
                        fix="carry the glibc it was built against",
                    )
                )
        elif needed_glibc > host_glibc:
            fine_on = [r for r, v in GLIBC_OF_RUNTIME.items() if v >= needed_glibc]
            faults.append(
                Fault(
                    path=entry,
                    problem=f"needs GLIBC_{text}; go1.x has glibc "
                    f"{'.'.join(map(str, host_glibc))}: 'version `GLIBC_{text}' not found'"
                    + (f" (fine on {', '.join(fine_on)})" if fine_on else ""),
                    fix="build with CGO_ENABLED=0 (a static Go binary needs no glibc), or build "
                    "against glibc 2.17 (Amazon Linux 1)",
                )
            )
    return faults


def check_zip(path: Path, handler_name: str = "main") -> CheckReport:
    """Inspect ``path`` as a go1.x deployment zip whose Handler is ``handler_name``."""
    zipped = path.stat().st_size
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        return CheckReport(
            zip_path=path,
            handler_name=handler_name,
            zipped_bytes=zipped,
            unzipped_bytes=0,
            file_count=0,
            handler_kind="missing",
            faults=(Fault(path="", problem=f"is not a zip file ({exc})", fix="zip it again"),),
            runtimes=(),
        )
    with archive:
        infos = archive.infolist()
        files = [i for i in infos if not i.is_dir()]
        names = {i.filename for i in files}
        unzipped = sum(i.file_size for i in files)
        faults = _path_faults(infos)
        handler = next((i for i in files if i.filename == handler_name), None)
        kind = "missing"
        if handler is None:
            faults.append(_missing_handler(handler_name, sorted(names)))
        else:
            faults += _handler_mode_faults(handler_name, handler)
            kind, content_faults = _handler_content(handler_name, archive.read(handler), names)
            faults += content_faults
        elves: dict[str, ElfInfo] = {}
        for info in files:
            with archive.open(info) as member:
                if member.read(4) != ELF_MAGIC:
                    continue
            try:
                elves[info.filename] = read_elf(archive.read(info))
            except ElfError as exc:
                faults.append(Fault(path=info.filename, problem=str(exc), fix="rebuild it"))
        faults += _library_faults(elves, names)
    if zipped > MAX_ZIPPED_BYTES:
        faults.append(
            Fault(
                path="",
                problem=f"is {zipped / MIB:.1f} MB; Lambda refuses a direct upload over "
                f"{MAX_ZIPPED_BYTES // MIB} MB",
                fix="upload it through S3, or leave out what the function does not use",
            )
        )
    if unzipped > MAX_UNZIPPED_BYTES:
        faults.append(
            Fault(
                path="",
                problem=f"is {unzipped / MIB:.1f} MB unzipped; Lambda's limit is "
                f"{MAX_UNZIPPED_BYTES // MIB} MB",
                fix="leave out what the function does not use",
            )
        )
    runtimes = ["go1.x"] if handler is not None else []
    if BOOTSTRAP in names:
        runtimes += ["provided.al2", "provided.al2023"]
    return CheckReport(
        zip_path=path,
        handler_name=handler_name,
        zipped_bytes=zipped,
        unzipped_bytes=unzipped,
        file_count=len(files),
        handler_kind=kind,
        faults=tuple(faults),
        runtimes=tuple(runtimes),
    )
