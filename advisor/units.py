"""Byte units, size parsing and formatting. Pure."""

from __future__ import annotations

import re
from typing import Final

from advisor.errors import UsageError

KIB: Final = 1024
MIB: Final = 1024**2
GIB: Final = 1024**3
GB: Final = 1000**3
MAX_SIZE_BYTES: Final = 64 * 1024**4

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_FACTORS: Final = {
    "b": 1, "k": 1000, "kb": 1000, "kib": KIB, "ki": KIB,
    "m": 1000**2, "mb": 1000**2, "mib": MIB, "mi": MIB,
    "g": GB, "gb": GB, "gib": GIB, "gi": GIB,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4,
}


def parse_size(text: str, *, default_unit: str = "gb") -> int:
    """Parse '64GB', '24 GiB', '512MiB' or '64' (default unit) into bytes.

    'GB' is read as the binary gigabyte when it describes installed memory, because
    memory is sold in binary units: a '64GB' DIMM kit holds 64 GiB. Use parse_size
    only for memory amounts.
    """
    match = _SIZE.match(text)
    if not match:
        msg = f"cannot read {text!r} as a memory size; write it like 64GB or 24GiB"
        raise UsageError(msg)
    number = float(match.group(1))
    unit = (match.group(2) or default_unit).lower()
    if unit in ("gb", "g"):
        unit = "gib"
    elif unit in ("tb", "t"):
        unit = "tib"
    elif unit in ("mb", "m"):
        unit = "mib"
    value = int(number * _FACTORS[unit])
    if value > MAX_SIZE_BYTES:
        msg = f"{text!r} is more memory than any machine has (at most 64 TiB)"
        raise UsageError(msg)
    if value <= 0:
        msg = f"memory size must be positive, got {text!r}"
        raise UsageError(msg)
    return value


def gib(value_bytes: int | float) -> float:
    """Bytes to GiB."""
    return value_bytes / GIB


def format_gib(value_bytes: int | None, digits: int = 1) -> str:
    """'23.5 GiB', or 'unknown'."""
    if value_bytes is None:
        return "unknown"
    return f"{value_bytes / GIB:.{digits}f} GiB"
