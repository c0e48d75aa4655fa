"""Review of the transports: an answer's memory stays near its size, however it is cut.

A server may send an answer as many tiny pieces (one-byte chunks, a slow trickle); each
piece kept as its own ``bytes`` in a list cost ~50 bytes on top of its data, so the
``max_response_bytes`` bound did not bound memory (a 1 MiB answer held 56 MiB)."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

from cme_async._transport._aiohttp import _read
from cme_async._transport._httpx_body import read_body

PIECES = 200_000  # two bytes each: 400 kB of answer
PIECE_BYTES = 2
# Generous: the data twice (buffer and result) plus slack; a list of pieces needs ~10 MB.
PEAK_LIMIT = 3 * 1024 * 1024


def piece(i: int) -> bytes:
    return b"%02d" % (i % 100)  # a new object each time (one-byte bytes are cached)


def expected() -> bytes:
    return b"".join(piece(i) for i in range(PIECES))


class TrickledResponse:
    """What ``read_body`` reads of an ``httpx.Response`` streamed in tiny pieces."""

    is_stream_consumed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for i in range(PIECES):
            yield piece(i)


class TrickledStream:
    """What ``_read`` reads of an aiohttp ``StreamReader`` fed in tiny pieces."""

    def __init__(self) -> None:
        self._next = 0

    async def readany(self) -> bytes:
        if self._next >= PIECES:
            return b""
        self._next += 1
        return piece(self._next - 1)


async def _peak_of(read: object) -> tuple[bytes, int]:
    tracemalloc.start()
    try:
        body = await read  # type: ignore[misc]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return body, peak


async def test_the_httpx_road_holds_a_trickled_answer_in_about_its_size() -> None:
    body, peak = await _peak_of(
        read_body(TrickledResponse(), 1 << 20, None, "")  # type: ignore[arg-type]
    )
    assert body == expected()
    assert peak < PEAK_LIMIT, f"{peak} bytes traced for a {PIECES * PIECE_BYTES}-byte answer"


async def test_the_aiohttp_road_holds_a_trickled_answer_in_about_its_size() -> None:
    body, peak = await _peak_of(_read(TrickledStream(), 1 << 20, 200))
    assert body == expected()
    assert peak < PEAK_LIMIT, f"{peak} bytes traced for a {PIECES * PIECE_BYTES}-byte answer"


async def test_one_piece_and_empty_answers_are_returned_as_they_are() -> None:
    class One:
        is_stream_consumed = False

        def __init__(self, pieces: list[bytes]) -> None:
            self.pieces = pieces

        async def aiter_raw(self) -> AsyncIterator[bytes]:
            for p in self.pieces:
                yield p

    whole = b'{"Code":"Success"}'
    assert await read_body(One([whole]), 100, None, "") is whole  # type: ignore[arg-type]
    assert await read_body(One([]), 100, None, "") == b""  # type: ignore[arg-type]
    assert await read_body(One([b"", whole, b""]), 100, None, "") == whole  # type: ignore[arg-type]
    assert await read_body(One([b"ab", b"", b"cd"]), 100, None, "") == b"abcd"  # type: ignore[arg-type]
