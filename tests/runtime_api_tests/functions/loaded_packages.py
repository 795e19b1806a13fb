"""Handlers that report which of the packages an RPC server needs their runtime has loaded.

This module imports none of them itself, so what the handlers see is the runtime's doing.
"""

from __future__ import annotations

import sys

#: The packages RPC mode serves with, and Runtime API mode needs only for ``async def`` handlers.
PACKAGES = ("trio", "outcome", "gobrpc")


def plain(event: object, context: object) -> object:
    """Which of :data:`PACKAGES` are loaded, seen from a plain handler."""
    return {name: name in sys.modules for name in PACKAGES}


async def coroutine(event: object, context: object) -> object:
    """The same, from an ``async def`` handler."""
    return {name: name in sys.modules for name in PACKAGES}
