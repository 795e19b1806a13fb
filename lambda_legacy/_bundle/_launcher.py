"""The launcher: the file Lambda executes, which runs the bundled Python under the bundled glibc.

Why ``/bin/sh``, and not a launcher without a shell:

- The Handler must be one executable that takes no arguments (go1.x runs ``/var/task/main``
  bare). The loader needs its arguments (``--library-path DIR PROGRAM``), and a ``#!`` line can
  carry only one, with the script's own path appended after it.
- An ELF program can name its loader in ``PT_INTERP``, but only as a fixed path (the kernel
  resolves a relative one against the working directory, not the program), so the bundle would
  run only when unpacked at ``/var/task``: not in tests, nor with
  ``lambda-legacy invoke -- ./main``. And that loader would then search Lambda's
  ``LD_LIBRARY_PATH`` (the host's glibc first).
- A static launcher binary would need a C or Go toolchain wherever bundles are built, or a
  machine-code blob in this package.

Every Lambda image has ``/bin/sh`` (go1.x's is bash, linked against its own glibc, which is what
``LD_LIBRARY_PATH`` gives it). The script finds its own folder from ``$0`` and ``exec``s the
loader, so no shell stays behind: the function is the process Lambda started, in the process group
it kills. Only POSIX features are used, so dash and busybox run it too.
"""

from __future__ import annotations

import shlex

from ._layout import RUNTIME_DIR, Layout

__all__ = ["ENTRY_MODULE", "launcher_script"]

#: The module the bundled Python runs: ``lambda-legacy serve HANDLER``, nothing else imported.
ENTRY_MODULE = "lambda_legacy._bundle_main"


def launcher_script(layout: Layout, handler: str) -> str:
    """The ``sh`` script that serves ``handler`` (go1.x RPC, or the Runtime API if so started).

    Python runs isolated (``-I``: no ``PYTHON*`` variables, no user site), in UTF-8 mode (the
    bundled glibc has no locale files, and ``LANG=en_US.UTF-8`` names one) and unbuffered, so
    output written just before a crash or a kill still reaches the log.
    """
    return f"""#!/bin/sh
# lambda-legacy bundle: serves {shlex.quote(handler)} with the Python and glibc in {RUNTIME_DIR}/,
# loading nothing from the host whatever LD_LIBRARY_PATH says.
case $0 in */*) D=${{0%/*}} ;; *) D=. ;; esac
exec "$D/{layout.loader}" --library-path "$D/{layout.lib_dir}" \\
    "$D/{layout.python}" -I -X utf8 -u -m {ENTRY_MODULE} {shlex.quote(handler)} "$@"
"""
