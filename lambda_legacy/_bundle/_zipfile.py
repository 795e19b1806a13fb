"""Writing a deployment zip that Lambda can run and that is the same bytes on every build.

- Modes: every entry is a regular file recorded as made on Unix (``create_system`` 3) with mode
  0755 if any execute bit is set, else 0644. Lambda runs the code as a user that owns nothing, so
  only the "other" bits count; ``ZipFile.writestr`` alone would record 0600, "permission denied".
- No directory entries, symlinks, absolute paths or ``..``: a symlink is refused, paths are the
  files' own under the staged root.
- Reproducible: entries sorted by name, every date 1980-01-01 00:00 (the earliest a zip can say),
  no extra fields, the same compression level.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import attrs

from ._errors import BundleError
from ._limits import MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES, MIB

__all__ = ["ZipStats", "extract_with_modes", "staged_files", "write_zip"]

#: The earliest date a zip entry can hold; any fixed date makes the bytes repeatable.
FIXED_DATE: Final = (1980, 1, 1, 0, 0, 0)

#: zlib's best: the build is dominated by other steps, and the 50 MB limit counts every byte.
COMPRESS_LEVEL: Final = 9

_UNIX: Final = 3


@attrs.frozen(kw_only=True)
class ZipStats:
    """What was written."""

    zipped_bytes: int
    unzipped_bytes: int
    file_count: int


def staged_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(arcname, path)`` for every file under ``root``, sorted by arcname.

    Raises:
        BundleError: a symlink or a special file is in the tree.
    """
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            if path.is_symlink():
                raise BundleError(f"{path.relative_to(root)} is a symlink: Lambda zips have none")
            if name in filenames and not path.is_file():
                raise BundleError(f"{path.relative_to(root)} is not a regular file")
        found += [((Path(directory) / n).relative_to(root).as_posix(), Path(directory) / n)
                  for n in filenames]  # fmt: skip
    yield from sorted(found)


def _check_sizes(zipped: int | None, unzipped: int) -> None:
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BundleError(
            f"the bundle is {unzipped / MIB:.1f} MB unzipped; Lambda's limit is "
            f"{MAX_UNZIPPED_BYTES // MIB} MB: leave out requirements or files the function "
            "does not use"
        )
    if zipped is not None and zipped > MAX_ZIPPED_BYTES:
        raise BundleError(
            f"the zip is {zipped / MIB:.1f} MB; Lambda refuses a direct upload over "
            f"{MAX_ZIPPED_BYTES // MIB} MB: make it smaller (the unzipped limit, "
            f"{MAX_UNZIPPED_BYTES // MIB} MB, applies through S3)"
        )


def write_zip(root: Path, output: Path) -> ZipStats:
    """Zip every file under ``root`` into ``output`` (written whole, then renamed into place).

    Raises:
        BundleError: a symlink in the tree, or Lambda's size limits are exceeded (nothing is
            left at ``output`` then).
    """
    files = list(staged_files(root))
    unzipped = sum(path.stat().st_size for _, path in files)
    _check_sizes(None, unzipped)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for arcname, path in files:
            entry = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            entry.create_system = _UNIX
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            entry.external_attr = (stat.S_IFREG | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
    zipped = partial.stat().st_size
    try:
        _check_sizes(zipped, unzipped)
    except BundleError:
        partial.unlink()
        raise
    partial.replace(output)
    return ZipStats(zipped_bytes=zipped, unzipped_bytes=unzipped, file_count=len(files))


def extract_with_modes(zip_path: Path, dest: Path) -> None:
    """Unzip as Lambda does, applying each entry's recorded mode (``extractall`` ignores them).

    Folders get 0755, as Lambda's extraction leaves them readable and searchable by everyone.
    """
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
    for directory, _, _ in os.walk(dest):
        Path(directory).chmod(0o755)
