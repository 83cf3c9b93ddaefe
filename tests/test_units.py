from __future__ import annotations

import pytest

from advisor.errors import UsageError
from advisor.units import GIB, MIB, format_gib, parse_size


@pytest.mark.parametrize(("text", "expected"), [
    ("64GB", 64 * GIB), ("64 GiB", 64 * GIB), ("64", 64 * GIB), ("512MiB", 512 * MIB),
    ("1.5GB", int(1.5 * GIB)), ("2TB", 2 * 1024 * GIB),
])
def test_memory_sizes_are_read_in_binary_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-4GB", "0GB", "64 parsecs"])
def test_bad_sizes_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text)


def test_format_gib_says_unknown_for_none() -> None:
    assert format_gib(None) == "unknown"
    assert format_gib(3 * GIB) == "3.0 GiB"
