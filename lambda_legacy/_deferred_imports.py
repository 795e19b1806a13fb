"""Standard-library modules that trio imports at start-up and a function rarely needs, run on
their first use instead.

trio imports ``ssl`` (for ``SSLStream`` and DTLS) and ``hmac`` (DTLS cookies) when it is imported;
together they load OpenSSL's two shared libraries, the largest part of ``import trio`` that
lambda-legacy never uses. Deferred, they cost nothing until a handler needs them (an AWS SDK
does, and then pays the same cost at its own import). Measured in a bundle on the project's
machine: ``import trio`` about 17 ms faster with the page cache dropped (159 to 142 ms), about
8 ms warm (90 to 82 ms).

Only our own processes do this (``lambda-legacy`` / ``python -m lambda_legacy`` and a bundle's
launchers), before anything imports trio. A deferred module is the module object that ends up
in ``sys.modules``: its code runs in it, under a lock, the first time a name it does not have yet
is looked up, so ``import ssl``, ``from ssl import SSLContext`` and ``isinstance(e,
ssl.SSLError)`` behave as before, in any thread. Only leaf modules are deferred: a package's
submodule imports would look names up in it at once.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from collections.abc import Iterable
from importlib.machinery import ModuleSpec

__all__ = ["DEFERRED", "defer"]

#: Imported by trio, used by neither trio's socket and thread code nor lambda-legacy.
DEFERRED = ("ssl", "hmac")

#: Held while a deferred module's code runs: a second thread waits for the whole module.
_LOCK = threading.RLock()
#: The specs of the deferred modules whose code has not run yet, by name.
_PENDING: dict[str, ModuleSpec] = {}


class _DeferredModule(types.ModuleType):
    """A module whose code has not run yet: it runs on the first missing name."""

    def __getattr__(self, name: str) -> object:
        with _LOCK:
            spec = _PENDING.pop(self.__name__, None)
            if spec is not None:
                _run(self, spec)
        return types.ModuleType.__getattribute__(self, name)


def _run(module: types.ModuleType, spec: ModuleSpec) -> None:
    assert spec.loader is not None
    try:
        spec.loader.exec_module(module)
    except BaseException:
        # As after any failed import: the next ``import`` tries again and raises again.
        sys.modules.pop(spec.name, None)
        raise
    finally:
        module.__class__ = types.ModuleType


def defer(names: Iterable[str] = DEFERRED) -> None:
    """Put each of ``names`` that is not imported yet (and exists) in ``sys.modules`` with its
    code not run; it runs on first use."""
    for name in names:
        if name in sys.modules or "." in name:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is not None:
            continue  # missing, or a package
        module = importlib.util.module_from_spec(spec)
        with _LOCK:
            _PENDING[name] = spec
            module.__class__ = _DeferredModule
            sys.modules[name] = module
