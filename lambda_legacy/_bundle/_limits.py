"""Lambda's limits and the facts about its images that a bundle must respect, each with its source.

Sizes are binary megabytes, as Lambda counts them: a direct upload is refused above 52,428,800
bytes (CreateFunction's 69,905,067-byte request limit is exactly that much, base64-encoded).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "GLIBC_OF_RUNTIME",
    "GO1X_LD_LIBRARY_PATH",
    "GO1X_MACHINE",
    "HOST_LIBRARIES",
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIPPED_BYTES",
    "MIB",
    "SYSTEM_LOADERS",
]

MIB: Final = 1024 * 1024

#: Lambda refuses a zip uploaded directly above this ("50 MB zipped"); larger ones go through S3.
MAX_ZIPPED_BYTES: Final = 50 * MIB

#: Lambda refuses a function whose code, unzipped (layers included), is above this ("250 MB").
MAX_UNZIPPED_BYTES: Final = 250 * MIB

#: The glibc each runtime's image has (lambci/docker-lambda's package lists; al2023 is glibc 2.34).
#: A binary that needs a newer ``GLIBC_`` symbol version fails to start there.
GLIBC_OF_RUNTIME: Final = {
    "go1.x": (2, 17),
    "provided.al2": (2, 26),
    "provided.al2023": (2, 34),
}

#: go1.x runs x86_64 only (``e_machine`` EM_X86_64); provided.* also run arm64.
GO1X_MACHINE: Final = "x86_64"

#: The environment go1.x starts the handler with: the host's directories come first, then the zip.
GO1X_LD_LIBRARY_PATH: Final = (
    "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)

#: Dynamic loaders present on Lambda's x86_64 and arm64 images (glibc's names).
SYSTEM_LOADERS: Final = frozenset({"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"})

#: Shared libraries every Lambda image has: glibc's own and libgcc_s (the image's rpm list holds
#: glibc, libgcc and zlib). Anything else a binary needs must be in the zip.
HOST_LIBRARIES: Final = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libresolv.so.2",
        "libutil.so.1",
        "libanl.so.1",
        "libnsl.so.1",
        "libcrypt.so.1",
        "libgcc_s.so.1",
        "libz.so.1",
    }
)
