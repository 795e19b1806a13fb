"""The one exception the bundle builder raises for bad input or a broken limit."""

from __future__ import annotations

from runtime._errors import LambdaLegacyError

__all__ = ["BundleError"]


class BundleError(LambdaLegacyError):
    """The bundle cannot be built from these inputs (the CLI exits with status 2).

    The message says what and how to fix it. STYLE.md names this case ``UsageError``; when
    ``lambda_legacy.errors`` defines that class, this one should derive from it.
    """
