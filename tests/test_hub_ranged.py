"""The remote file the GGUF header reader streams from: blocks fetched forward, a short answer is the file's end."""

from __future__ import annotations

import pytest

from advisor.hub.ranged import MAX_HEADER_BYTES, RangeFile, TooFar

DATA = bytes(range(256)) * 40  # 10,240 bytes


def test_reads_come_from_blocks_and_the_end_is_fetched_once() -> None:
    calls: list[tuple[int, int]] = []

    def fetch(start: int, end: int) -> bytes:
        calls.append((start, end))
        return DATA[start:end + 1]

    f = RangeFile(fetch, block_bytes=4096, first_bytes=1024)
    assert f.read(10) == DATA[:10] and f.read(100) == DATA[10:110]
    assert f.read(1000) == DATA[110:1110]  # past the first block: a bigger one from there
    f.seek(5000, 1)  # skipped, never fetched
    assert f.read(4) == DATA[6110:6114]
    assert f.read(10_000) == DATA[6114:]  # runs past the end: what there is
    assert f.read(10) == b"" and f.read(1) == b""
    # a read past a block fetches from where it starts
    assert calls == [(0, 1023), (110, 4205), (6110, 10205), (6114, 16113)]


def test_a_header_that_never_ends_stops_before_the_weights() -> None:
    f = RangeFile(lambda start, end: b"\0" * (end - start + 1))
    f.seek(MAX_HEADER_BYTES - 8)
    with pytest.raises(TooFar):
        f.read(16)
