"""Argument types the verbs share, so that each refuses bad values the same way (exit 2)."""

from __future__ import annotations

import argparse
import math

__all__ = ["function_timeout", "memory_size", "positive_seconds", "tcp_port"]

#: Lambda's longest function timeout, in seconds (its API refuses more).
MAX_FUNCTION_TIMEOUT = 900
#: Lambda's memory sizes, in MB (its API refuses others).
MIN_MEMORY_SIZE, MAX_MEMORY_SIZE = 128, 10240
#: The largest TCP port.
MAX_PORT = 65535


def positive_seconds(text: str) -> float:
    """A timeout option's value: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def function_timeout(text: str) -> float:
    """A function timeout: positive seconds, at most Lambda's 900."""
    value = positive_seconds(text)
    if value > MAX_FUNCTION_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_FUNCTION_TIMEOUT} seconds (Lambda's longest), got {text!r}"
        )
    return value


def memory_size(text: str) -> int:
    """A function's memory size: whole MB from 128 to 10240, as Lambda allows."""
    value = _integer(text)
    if not MIN_MEMORY_SIZE <= value <= MAX_MEMORY_SIZE:
        raise argparse.ArgumentTypeError(
            f"must be from {MIN_MEMORY_SIZE} to {MAX_MEMORY_SIZE} MB, as Lambda allows, "
            f"got {text!r}"
        )
    return value


def tcp_port(text: str) -> int:
    """A TCP port to dial: 1 to 65535."""
    value = _integer(text)
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be a TCP port from 1 to {MAX_PORT}, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
