"""Kubernetes resource quantities (``250m``, ``1523718n``, ``512Mi``, ``1G``) as plain floats."""

from __future__ import annotations

import re

_SUFFIX = {
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0,
    "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}
_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$")


_PARSED: dict[str, float | None] = {}  # a cluster uses a handful of distinct quantities ("100m", "256Mi")
_PARSED_MAX = 10_000


def parse_quantity(value: object) -> float | None:
    """CPU in cores or memory in bytes; None when absent or not a quantity."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return _PARSED[value]
    except KeyError:
        pass
    match = _QUANTITY.match(value)
    number = float(match.group(1)) * _SUFFIX[match.group(2) or ""] if match else None
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[value] = number
    return number


def format_cpu(cores: float | None) -> str:
    if cores is None:
        return ""
    return f"{cores * 1000:.0f}m"


def format_memory(num_bytes: float | None) -> str:
    if num_bytes is None:
        return ""
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if num_bytes >= size:
            value = num_bytes / size
            return f"{value:.0f}{unit}" if value >= 10 else f"{value:.1f}{unit}"
    return f"{num_bytes:.0f}"
