"""What tests ask of processes they started: whether one is gone."""

from __future__ import annotations

from pathlib import Path


def gone(pid: int) -> bool:
    """The process no longer runs: no /proc entry, or a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
