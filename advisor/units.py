"""Byte units, size parsing and formatting. Pure."""

from __future__ import annotations

import math
import re
from typing import Final

from advisor.errors import UsageError

KIB: Final = 1024
MIB: Final = 1024**2
GIB: Final = 1024**3
GB: Final = 1000**3
MAX_SIZE_BYTES: Final = 64 * 1024**4
MAX_ECHO_CHARS: Final = 80  # at most this much of what the user typed is repeated in a message
MAX_TOKENS: Final = 1 << 40  # no context or depth comes near this; it only keeps the numbers finite

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
    match = _SIZE.match(text) if len(text) <= 64 else None
    if not match:
        msg = f"cannot read {cut(text)!r} as a memory size; write it like 64GB or 24GiB"
        raise UsageError(msg)
    number = float(match.group(1))
    if not math.isfinite(number) or number > MAX_SIZE_BYTES:
        msg = f"{cut(text)!r} is more memory than any machine has (at most 64 TiB)"
        raise UsageError(msg)
    unit = (match.group(2) or default_unit).lower()
    if unit in ("gb", "g"):
        unit = "gib"
    elif unit in ("tb", "t"):
        unit = "tib"
    elif unit in ("mb", "m"):
        unit = "mib"
    value = int(number * _FACTORS[unit])
    if value > MAX_SIZE_BYTES:
        msg = f"{cut(text)!r} is more memory than any machine has (at most 64 TiB)"
        raise UsageError(msg)
    if value <= 0:
        msg = f"memory size must be positive, got {cut(text)!r}"
        raise UsageError(msg)
    return value


_TOKENS = re.compile(r"^\s*(\d{1,15})\s*([km]?)\s*$", re.IGNORECASE)
_TOKEN_FACTORS: Final = {"": 1, "k": 1024, "m": 1024**2}


def parse_tokens(text: str) -> int:
    """A token count: '8192', '8k' (8 x 1024), '128K', '1M' (1 x 1048576). Raises ValueError with a short message.

    k and M are binary (1024 and 1048576), as context lengths are published: a model's '128k' context is 131072.
    """
    match = _TOKENS.match(text) if len(text) <= 32 else None
    if not match:
        msg = f"{cut(text)!r} is not a token count; write it like 8192, 8k, 128k or 1M (k = 1024, M = 1048576)"
        raise ValueError(msg)
    return min(int(match.group(1)) * _TOKEN_FACTORS[match.group(2).lower()], MAX_TOKENS)


def cut(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """The user's text as a message may repeat it: at most `limit` characters, the rest shown as '…'."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def gib(value_bytes: int | float) -> float:
    """Bytes to GiB."""
    return value_bytes / GIB


def format_gib(value_bytes: int | None, digits: int = 1) -> str:
    """'23.5 GiB', or 'unknown'."""
    if value_bytes is None:
        return "unknown"
    return f"{value_bytes / GIB:.{digits}f} GiB"
