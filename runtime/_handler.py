"""Finding the user's handler by name, and calling it on trio.

:func:`resolve_handler` keeps what awslambdaric users already see (``bootstrap._get_handler``):
the ``module.function`` split on the last dot, ``pkg/module.function`` paths, the refusal of
built-in module names, and the ``Runtime.*`` errors with their exact messages (PROTOCOL.md
section 7). One addition, because the go1.x environment promises it: ``LAMBDA_TASK_ROOT`` and then
the working directory go to the front of ``sys.path`` (awslambdaric relies on ``python -m`` having
put the working directory there).

:func:`call_handler` awaits ``async def`` handlers on the trio loop and runs plain functions in a
worker thread (:mod:`runtime._handler_threads`), so the server keeps answering ``Function.Ping``
while a handler computes. The thread is never abandoned on cancellation: the handler's side
effects finish before the invoke is over, which is what "one invoke at a time" means for user code.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import cast

from ._context import LambdaContext
from ._errors import (
    BuiltInModuleConflict,
    HandlerNotFound,
    ImportModuleError,
    MalformedHandlerName,
    UserCodeSyntaxError,
    UserInitError,
)
from ._faults import format_user_traceback

__all__ = ["Handler", "call_handler", "exit_if_forked", "is_async_handler", "resolve_handler"]

#: A user handler: ``handler(event, context)``, plain or ``async def``.
Handler = Callable[..., object]


def _put_on_search_path(task_root: str | None, cwd: str) -> None:
    """Move the task root, then ``cwd``, to the front of ``sys.path`` (in place, no duplicates)."""
    front: list[str] = []
    for entry in (task_root, cwd):
        if entry:
            path = os.path.normpath(os.path.join(cwd, entry))
            if path not in front:
                front.append(path)
    sys.path[:] = front + [path for path in sys.path if path not in front]


def _user_init_error(exc: Exception) -> UserInitError:
    return UserInitError(
        type(exc).__name__, str(exc), stack_trace=format_user_traceback(exc.__traceback__)
    )


def resolve_handler(spec: str, task_root: str | None, cwd: str) -> Handler:
    """Import the module named by ``spec`` (``module.function``) and return the function.

    ``spec`` may use ``/`` between packages (``pkg/module.function``); the module is imported
    as ``modname.replace("/", ".")`` and messages quote it as written. The attribute is returned
    as found; a non-callable one fails at invoke time, as with awslambdaric.

    Raises:
        MalformedHandlerName: ``spec`` has no dot.
        BuiltInModuleConflict: the first dotted part of the module is a built-in module.
        ImportModuleError: the import raised ``ImportError`` (including a missing module).
        UserCodeSyntaxError: the module does not compile; ``stack_trace`` has the line.
        HandlerNotFound: the module has no such attribute.
        UserInitError: importing raised anything else; ``error_type`` is its class name.
    """
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as exc:
        raise MalformedHandlerName(f"Bad handler '{spec}': {exc}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise BuiltInModuleConflict(f"Cannot use built-in module {modname} as a handler module")
    _put_on_search_path(task_root, cwd)
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise ImportModuleError(f"Unable to import module '{modname}': {exc}") from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        message = f"Syntax error in module '{modname}': {exc}"
        raise UserCodeSyntaxError(message, stack_trace=trace) from exc
    except Exception as exc:
        raise _user_init_error(exc) from exc
    try:
        handler = getattr(module, fname)
    except AttributeError:
        raise HandlerNotFound(f"Handler '{fname}' missing on module '{modname}'") from None
    except Exception as exc:  # a module-level __getattr__ that fails otherwise
        raise _user_init_error(exc) from exc
    return cast(Handler, handler)


def is_async_handler(handler: Handler) -> bool:
    """``async def`` functions and partials of them, and objects with an ``async def __call__``."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        type(handler).__call__
    )


async def call_handler(handler: Handler, event: object, context: LambdaContext) -> object:
    """Call ``handler(event, context)`` and return its result unchanged.

    A plain function runs in a worker thread (contextvars are copied into it, so the request id
    getter works there); a cancelled caller still waits for it to finish. If it returns a
    coroutine, for instance because a decorator hid an ``async def``, that coroutine is awaited
    on trio too.

    Raises:
        Whatever the handler raises, unchanged.
    """
    if is_async_handler(handler):
        result = handler(event, context)
    else:
        # Imported here: Runtime API mode resolves handlers without ever starting trio.
        from ._handler_threads import run_sync  # noqa: PLC0415 - lazy on purpose

        result = await run_sync(handler, event, context)
    if inspect.iscoroutine(result):
        return await result
    return result


def exit_if_forked(pid: int, error: BaseException | None = None) -> None:
    """End this process if it is not ``pid`` but a child a handler forked.

    Such a child, back from the handler, must not answer the parent's invoke (nor, in RPC mode,
    wait for a trio thread it does not have): it flushes its output and exits as a Python
    program ends: status 0 after a return; after ``SystemExit`` its code (None 0, an int as it
    is, anything else printed, then 1); after any other exception the traceback on stderr, 1.
    """
    if os.getpid() != pid:
        status = 0
        try:  # whatever the printing raises, the child ends here
            if isinstance(error, SystemExit):
                if isinstance(error.code, int):
                    # As CPython ends: the code as a C long (-1 if it does not fit), of which
                    # the OS keeps the low 8 bits.
                    status = error.code & 0xFF if -(2**63) <= error.code < 2**63 else 255
                elif error.code is not None:
                    status = 1
                    print(error.code, file=sys.stderr)
            elif error is not None:
                status = 1
                traceback.print_exception(error)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
