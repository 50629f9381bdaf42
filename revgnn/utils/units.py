"""Byte counts as people write them."""

from __future__ import annotations

import re

__all__ = ["format_bytes", "parse_bytes"]

_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
    "t": 2**40,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(text: str | int, name: str = "memory") -> int:
    """``"16GB"`` (10^9), ``"16GiB"`` or ``"16G"`` (2^30), ``"500MB"``, ``"1e9B"`` -> bytes.

    A unit is required in text: ``"16"`` is refused (16 bytes is never what was meant). An
    ``int`` is taken as bytes.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    if m is None or m.group(2).lower() not in _UNITS:
        hint = (
            f"; a unit is required, e.g. {m.group(1)}GB or {m.group(1)}GiB"
            if m is not None and not m.group(2)
            else ""
        )
        raise ValueError(
            f"{name}={text!r} is not a size{hint}; write e.g. 16GB, 16GiB, 500MB or 1e9B"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_bytes(n: float) -> str:
    """Binary units: ``2.86 GiB``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"
