"""Where things go inside a bundle zip (paths relative to the zip root, ``/var/task`` on Lambda).

```
main, bootstrap                         the launchers (go1.x's Handler; provided.*'s bootstrap)
<the user's --src files>                at the root, as Lambda's Python runtime has them
lambda-legacy/bin/python3.X             the interpreter
lambda-legacy/lib/ld-linux-x86-64.so.2  glibc's loader, and beside it every shared library
lambda-legacy/lib/python3.X/            the standard library, as bytecode only
lambda-legacy/lib/python3.X/lib-dynload/
lambda-legacy/lib/python3.X/site-packages/   lambda-legacy, its dependencies, the requirements
```

The runtime folder has a hyphen in its name so that it can never be imported as a package, even
though the zip root is on ``sys.path`` (the user's modules are looked up there).
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["BOOTSTRAP", "RUNTIME_DIR", "Layout"]

#: The folder holding the interpreter and libraries, at the zip root.
RUNTIME_DIR: Final = "lambda-legacy"

#: provided.al2 / provided.al2023 start ``/var/task/bootstrap``.
BOOTSTRAP: Final = "bootstrap"


@attrs.frozen(kw_only=True)
class Layout:
    """The paths of one bundle, which depend on the Python version and the loader's name."""

    python_version: str  # "3.11"
    loader_name: str  # "ld-linux-x86-64.so.2"
    platlibdir: str = "lib"  # sys.platlibdir: where Python looks for lib-dynload

    @property
    def bin_dir(self) -> str:
        return f"{RUNTIME_DIR}/bin"

    @property
    def python(self) -> str:
        return f"{self.bin_dir}/python{self.python_version}"

    @property
    def lib_dir(self) -> str:
        """The loader's ``--library-path``: every shared library except extension modules."""
        return f"{RUNTIME_DIR}/lib"

    @property
    def loader(self) -> str:
        return f"{self.lib_dir}/{self.loader_name}"

    @property
    def stdlib(self) -> str:
        return f"{self.lib_dir}/python{self.python_version}"

    @property
    def lib_dynload(self) -> str:
        return f"{RUNTIME_DIR}/{self.platlibdir}/python{self.python_version}/lib-dynload"

    @property
    def site_packages(self) -> str:
        return f"{self.stdlib}/site-packages"
