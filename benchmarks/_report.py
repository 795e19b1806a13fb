"""Shared pieces of the benchmarks: percentiles, peak RSS, and the plain-text table they print.

Benchmarks never assert timings; they print what they measured, the Go reference from the same run,
the ratio, and the spread seen over repeated rounds (the machine is shared and noisy).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["format_table", "percentile", "rss_kib", "spread"]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``samples``."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def spread(rounds: Sequence[float]) -> str:
    """How far repeated rounds of one measurement were from their median, as ``±N%``."""
    if len(rounds) < 2:
        return "n/a"
    middle = statistics.median(rounds)
    if middle == 0:
        return "n/a"
    worst = max(abs(r - middle) for r in rounds)
    return f"±{100 * worst / middle:.0f}%"


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident set (``VmRSS``) or its peak (``VmHWM``) in KiB, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table, so the output can go into README unchanged."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
