"""The runtime exception tree (STYLE.md section 3).

One root, :class:`LambdaLegacyError`, re-exported by ``lambda_legacy.errors``. Two branches:

- :class:`RuntimeFault`: the runtime could not do its part of an invoke or of start-up (bad handler
  name, user module failing to import, payload that is not JSON, result that cannot be marshalled).
  Each subclass carries awslambdaric's ``Runtime.*`` string as the class-level ``error_type``, the
  way h2 gives each exception an ``error_code``, so callers never key on message text.
- :class:`InvokeFailed`: the client role got an ``InvokeResponse_Error`` back; it keeps that value.

A fault shows two faces. ``message`` and ``error_type`` are what awslambdaric would report (Runtime
API mode, init errors). ``go_message`` and ``go_type`` are what aws-lambda-go would have put in
``InvokeResponse_Error`` for the same failure (RPC mode), e.g. ``EOF`` / ``errorString`` for an
empty payload; they default to the awslambdaric face when Go has no exact equivalent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ._faults import Frame

__all__ = [
    "LambdaLegacyError",
    "RuntimeFault",
    "MalformedHandlerName",
    "ImportModuleError",
    "HandlerNotFound",
    "UserCodeSyntaxError",
    "BuiltInModuleConflict",
    "UserInitError",
    "MarshalError",
    "UnmarshalError",
    "LambdaContextUnmarshalError",
    "InvokeFailed",
]


class LambdaLegacyError(Exception):
    """Root of every exception lambda-legacy raises on purpose; never raised itself."""


class RuntimeFault(LambdaLegacyError):  # noqa: N818 -- STYLE.md section 3 names it
    """The runtime failed on the user's behalf; subclasses name the failure in ``error_type``.

    Attributes:
        message: awslambdaric's ``errorMessage`` text, also ``str(fault)``.
        stack_trace: awslambdaric's ``stackTrace`` strings (``traceback.format_list`` style); empty
            except for init errors that come with a trace.
        go_message: the ``InvokeResponse_Error.Message`` aws-lambda-go would send.
        go_type: the ``InvokeResponse_Error.Type`` aws-lambda-go would send.
    """

    error_type: ClassVar[str]

    def __init__(
        self,
        message: str,
        *,
        stack_trace: Sequence[str] = (),
        go_message: str | None = None,
        go_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.stack_trace: list[str] = list(stack_trace)
        self.go_message = message if go_message is None else go_message
        self.go_type = self.error_type if go_type is None else go_type


class MalformedHandlerName(RuntimeFault):
    """The handler string has no ``.`` between module and function (``Bad handler 'x': ...``)."""

    error_type = "Runtime.MalformedHandlerName"


class ImportModuleError(RuntimeFault):
    """The handler module, or something it imports, raised ``ImportError``."""

    error_type = "Runtime.ImportModuleError"


class HandlerNotFound(RuntimeFault):
    """The module imported but has no attribute with the handler's function name."""

    error_type = "Runtime.HandlerNotFound"


class UserCodeSyntaxError(RuntimeFault):
    """The handler module (or one it imports) does not compile."""

    error_type = "Runtime.UserCodeSyntaxError"


class BuiltInModuleConflict(RuntimeFault):
    """The handler's top-level module name is a built-in module (``sys``, ``time``, ...)."""

    error_type = "Runtime.BuiltInModuleConflict"


class UserInitError(RuntimeFault):
    """Importing the handler module raised something other than ``ImportError``/``SyntaxError``.

    awslambdaric reports such an error under the user's own exception class name rather than a
    ``Runtime.*`` type, so here ``error_type`` is per instance.
    """

    error_type = "Runtime.Unknown"

    def __init__(self, error_type: str, message: str, *, stack_trace: Sequence[str] = ()) -> None:
        # Shadows the class-level value on this instance only: the type is the user's class name.
        self.__dict__["error_type"] = error_type
        super().__init__(message, stack_trace=stack_trace)


class MarshalError(RuntimeFault):
    """The handler's result cannot be turned into JSON."""

    error_type = "Runtime.MarshalError"


class UnmarshalError(RuntimeFault):
    """The invoke payload is not a JSON value aws-lambda-go would accept."""

    error_type = "Runtime.UnmarshalError"


class LambdaContextUnmarshalError(RuntimeFault):
    """The request's ``ClientContext`` bytes are not JSON of the shape aws-lambda-go accepts."""

    error_type = "Runtime.LambdaContextUnmarshalError"


class InvokeFailed(LambdaLegacyError):  # noqa: N818 -- STYLE.md section 3 names it
    """The function answered an invoke with ``InvokeResponse_Error``; this keeps that value.

    Raised on the client side (``invoke``, ``replay``, ``bridge``), never by the server.
    """

    def __init__(
        self,
        *,
        message: str,
        type: str,
        stack_trace: Sequence[Frame] = (),
        should_exit: bool = False,
    ) -> None:
        super().__init__(f"{type}: {message}" if type else message)
        self.message = message
        self.type = type
        self.stack_trace: tuple[Frame, ...] = tuple(stack_trace)
        self.should_exit = should_exit
