"""Text from files, the catalog and the command line, made safe to show. Pure."""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1


def safe(text: str) -> str:
    """Text as it may be shown: every control character (C0, DEL, C1, so every escape sequence's ESC) written as
    \\xNN, so a name or a path never drives the terminal and stays on one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
