"""Interleaved measurement: the order contenders take turns in, and statistics over the turns.

Two cores shared with other work drift by tens of percent within a minute, while the goals of
issue 5 compare differences of 100 to 300 us on p50s near 1,500 us. So ``benchmarks.compare``
keeps every contender up at once and takes its samples in small batches, one batch per contender
per *rotation*; drift then lands on all contenders alike, and two contenders' batches of the same
rotation are a pair measured moments apart. This module holds the pure part of that: no
processes, no clock.

- :func:`rotation_orders` gives the orders of a Williams design, so each contender follows each
  other one equally often (a fixed order would always put the same one before it, and whatever
  that one leaves behind, a full GC or a cold cache, would be charged to it).
- :class:`Series` is one contender's batches at one event size, in the order they were taken; the
  pooled samples give p50, p99 and invokes/s; :meth:`Series.slice_p50s` cuts the run into
  consecutive time slices for the spread.
- :func:`paired_differences` is, per rotation, the batch p50 of one contender minus the other's:
  the most drift-proof estimate of a difference, as both were measured in the same moment.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import attrs

from ._report import percentile

__all__ = ["Batch", "Series", "paired_differences", "rotation_orders", "slice_bounds"]


def rotation_orders(count: int) -> list[tuple[int, ...]]:
    """The orders of a Williams design for ``count`` contenders (indices ``0..count-1``).

    Row 0 is ``0, 1, n-1, 2, n-2, ...``; row ``i`` adds ``i`` to each entry, modulo ``n``. Over
    the rows, each contender comes first equally often and directly follows each other one
    exactly once; for odd ``n`` that needs the reversed rows too (``2n`` rows, twice each).
    """
    if count < 1:
        raise ValueError("no contenders")
    first = [0]
    low, high = 1, count - 1
    while len(first) < count:
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [tuple((x + shift) % count for x in first) for shift in range(count)]
    if count % 2:
        rows += [row[::-1] for row in rows]
    return rows


def slice_bounds(rotations: int, slices: int) -> list[range]:
    """``rotations`` consecutive rotation indices cut into at most ``slices`` near-equal ranges."""
    parts = max(1, min(slices, rotations))
    return [range(k * rotations // parts, (k + 1) * rotations // parts) for k in range(parts)]


@attrs.frozen(kw_only=True)
class Batch:
    """One contender's invokes in one rotation: the pairing key and each invoke's time in us."""

    rotation: int
    samples_us: tuple[float, ...]

    @property
    def p50_us(self) -> float:
        return percentile(self.samples_us, 0.5)


@attrs.define(eq=False)
class Series:
    """One contender's batches at one event size, in the order they were taken."""

    batches: list[Batch] = attrs.Factory(list)

    def add(self, rotation: int, samples_us: Sequence[float]) -> None:
        self.batches.append(Batch(rotation=rotation, samples_us=tuple(samples_us)))

    def pooled(self, rotations: range | None = None) -> list[float]:
        """Every sample, or those of the batches whose rotation is in ``rotations``."""
        return [
            sample
            for batch in self.batches
            if rotations is None or batch.rotation in rotations
            for sample in batch.samples_us
        ]

    def p50_us(self) -> float:
        return percentile(self.pooled(), 0.5)

    def p99_us(self) -> float:
        return percentile(self.pooled(), 0.99)

    def per_second(self) -> float:
        """1e6 / the mean invoke time: one invoke in flight, so the reciprocal of latency."""
        return 1e6 / statistics.fmean(self.pooled())

    def slice_p50s(self, slices: Sequence[range]) -> list[float]:
        """The p50 of the pooled samples of each time slice (a range of rotation indices)."""
        return [percentile(self.pooled(part), 0.5) for part in slices]


def paired_differences(minuend: Series, subtrahend: Series) -> dict[int, float]:
    """Per rotation both were measured in: ``minuend``'s batch p50 minus ``subtrahend``'s."""
    theirs = {batch.rotation: batch.p50_us for batch in subtrahend.batches}
    return {
        batch.rotation: batch.p50_us - theirs[batch.rotation]
        for batch in minuend.batches
        if batch.rotation in theirs
    }
