"""Reading an httpx answer within a size bound: the few headers the SDK keeps, and the
body, inflated (gzip / deflate) never beyond the room left."""

from __future__ import annotations

import zlib

import httpx

from ._base import READ_HEADERS


class TooLarge(Exception):
    """The answer outgrew ``max_bytes`` (the transport turns it into the SDK's error)."""


# Raw (lower-cased) header names read from an answer, and their keys in Answer.headers.
_KEEP = {name.encode(): name for name in READ_HEADERS}


def pick_headers(headers: httpx.Headers) -> tuple[dict[str, str], str | None, str]:
    """One pass over the answer's headers: the few kept, Content-Length, Content-Encoding
    (``headers.get`` scans them all each time, and raises inside when one is absent)."""
    kept: dict[str, str] = {}
    declared: str | None = None
    encoding = ""
    for raw_name, raw_value in headers.raw:
        name = raw_name.lower()
        key = _KEEP.get(name)
        if key is not None:
            kept[key] = raw_value.decode("latin-1")
        elif name == b"content-length":
            declared = raw_value.decode("latin-1")
        elif name == b"content-encoding":
            encoding = raw_value.decode("latin-1").strip().lower()
    return kept, declared, encoding


async def read_body(
    response: httpx.Response, max_bytes: int, declared: str | None, encoding: str
) -> bytes:
    """The whole (decoded) body, refusing to hold more than ``max_bytes``.

    gzip and deflate are inflated here, never more than the room left at a time (httpx's
    own decoder inflates a whole network chunk at once: a 300 KB gzip bomb peaked at
    143 MiB with max_bytes of 1 MiB, against 3 MiB now).
    """
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge
    if response.is_stream_consumed:
        # Built in memory by a mock transport (MockTransport, respx, the emulator) and
        # already decoded by httpx: nothing left to stream.
        body = response.content
        if len(body) > max_bytes:
            raise TooLarge
        return body
    inflater: Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = Inflater(encoding)
    source = (
        response.aiter_raw()
        if inflater is not None or encoding in ("", "identity")
        else (
            response.aiter_bytes()  # an encoding the SDK did not ask for: httpx decodes it
        )
    )
    kept = Accumulator()
    total = 0
    async for chunk in source:
        if inflater is not None:
            chunk = inflater.feed(chunk, max_bytes - total)
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge
        kept.add(chunk)
    if inflater is not None:
        tail = inflater.flush()
        total += len(tail)
        if total > max_bytes:
            raise TooLarge
        kept.add(tail)
    return kept.result()


class Accumulator:
    """The chunks of a body, held in about as many bytes as they carry.

    A list of chunks costs ~50 bytes per chunk on top of the data: a server sending
    one-byte chunks made a 1 MiB answer cost 56 MiB. Up to ``_LISTED`` chunks are kept
    as a list (joined once at the end, as before: most answers are a few chunks); past
    that, into one ``bytearray``.
    """

    __slots__ = ("_buffer", "_chunks")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._buffer: bytearray | None = None

    def add(self, chunk: bytes) -> None:
        if self._buffer is not None:
            self._buffer += chunk
            return
        self._chunks.append(chunk)
        if len(self._chunks) > _LISTED:  # many small pieces: one buffer from here on
            self._buffer = bytearray(b"".join(self._chunks))
            self._chunks = []

    def result(self) -> bytes:
        if self._buffer is not None:
            return bytes(self._buffer)
        chunks = self._chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_LISTED = 64


class Inflater:
    """gzip / deflate decoding that never produces more than it is given room for."""

    __slots__ = ("_decoder", "_deflate_first")

    def __init__(self, encoding: str) -> None:
        gzip = encoding != "deflate"
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        # "deflate" is sent zlib-wrapped or raw in the wild: try wrapped, then raw.
        self._deflate_first = not gzip

    def feed(self, data: bytes, room: int) -> bytes:
        pieces: list[bytes] = []
        size = 0
        try:
            while data:
                piece = self._decoder.decompress(data, room - size + 1)
                self._deflate_first = False
                size += len(piece)
                pieces.append(piece)
                if size > room:
                    raise TooLarge
                data = self._decoder.unconsumed_tail
        except zlib.error as exc:
            if not self._deflate_first:
                raise httpx.DecodingError(
                    f"the answer is not valid compressed data: {exc}"
                ) from None
            self._deflate_first = False
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        return b"".join(pieces)

    def flush(self) -> bytes:
        try:
            return self._decoder.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(f"the answer is not valid compressed data: {exc}") from None
