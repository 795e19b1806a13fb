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
in ``sys.modules``; its code runs in it, under a lock, at the first use of the module other than
the import system's own look-ups (``__spec__``, ``__name__``, ...): reading any other name,
setting or deleting one, ``dir()``, ``vars()``. So ``import ssl``, ``from ssl import
SSLContext``, ``isinstance(e, ssl.SSLError)``, ``mock.patch`` and ``dir(ssl)`` behave as before,
in any thread. A module whose code fails raises at that first use, and is then gone from
``sys.modules`` so that the next ``import`` raises again, as after a failed import.

What makes this safe for ``ssl`` and ``hmac`` in particular, and is why :func:`defer` is not a
general tool: they are leaf modules (a package's submodule imports would use it at once), and
running them imports only modules that never use them back, so the lock here cannot meet
Python's per-module import lock in the other order.
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

#: What the import system reads of a module that is already in ``sys.modules``; reading these
#: does not run a deferred module.
_IMPORT_SYSTEM_NAMES = frozenset(
    {"__class__", "__name__", "__spec__", "__loader__", "__package__", "__path__", "__file__"}
)

#: Held while a deferred module's code runs: a second thread waits for the whole module.
_LOCK = threading.RLock()
#: The deferred modules whose code has not run yet: their spec and the names set before it ran.
_PENDING: dict[str, tuple[ModuleSpec, frozenset[str]]] = {}


def _ensure_run(module: types.ModuleType) -> None:
    """Run ``module``'s code if it has not run yet (once, whichever thread asks first)."""
    with _LOCK:
        pending = _PENDING.pop(types.ModuleType.__getattribute__(module, "__name__"), None)
        if pending is None:
            return
        spec, names_before = pending
        try:
            names_now = types.ModuleType.__getattribute__(module, "__dict__").keys()
            if names_now == names_before:  # not run meanwhile (importlib.reload runs it too)
                assert spec.loader is not None
                spec.loader.exec_module(module)
        except BaseException:
            # As after any failed import: the next ``import`` tries again and raises again.
            sys.modules.pop(spec.name, None)
            raise
        finally:
            object.__setattr__(module, "__class__", types.ModuleType)


class _DeferredModule(types.ModuleType):
    """A module whose code has not run yet: it runs on the first use (see the module docs)."""

    def __getattribute__(self, name: str) -> object:
        if name not in _IMPORT_SYSTEM_NAMES:
            _ensure_run(self)
        return types.ModuleType.__getattribute__(self, name)

    def __setattr__(self, name: str, value: object) -> None:
        _ensure_run(self)  # else its code would later overwrite what is set now
        types.ModuleType.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _ensure_run(self)
        types.ModuleType.__delattr__(self, name)

    def __dir__(self) -> Iterable[str]:
        _ensure_run(self)
        return types.ModuleType.__dir__(self)


def defer(names: Iterable[str] = DEFERRED) -> None:
    """Put each of ``names`` that is not imported yet (and exists, and is no package) in
    ``sys.modules`` with its code not run; it runs on first use. Meant for :data:`DEFERRED`."""
    for name in names:
        if name in sys.modules or "." in name:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is not None:
            continue  # missing, or a package
        module = importlib.util.module_from_spec(spec)
        with _LOCK:
            _PENDING[name] = (spec, frozenset(module.__dict__))
            object.__setattr__(module, "__class__", _DeferredModule)
            sys.modules[name] = module
