"""A raw-socket HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

The request path picks the behaviour (``/ok``, ``/slowloris``, ``/huge``, ...). Every
behaviour is bounded in bytes and time, and ``stop()`` closes every connection, so a
test can never hang on it. Run as a script (``python tests/transport/evil.py``) it
serves in its own process and prints its port (for tests that count file descriptors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import zlib

OK_BODY = json.dumps({"Code": "Success", "Message": "ok", "Data": {"n": 1}}).encode()
HUGE_TOTAL = 64 * 1024 * 1024  # what /huge would send if nobody stopped reading
HUGE_CHUNK = 64 * 1024
SLOW_BYTES = 60  # /slowloris: one byte every SLOW_STEP seconds (24 s in all)
SLOW_STEP = 0.4
LATE_HEADERS = 2.0  # /late: seconds before anything is answered
HANG = 30.0  # /hang: seconds before answering
BOMB_MIB = 300  # /bomb: what its gzip body inflates to


def _compress(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(BOMB_MIB)) + packer.flush()


# Answers in the encodings the SDK accepts, and a gzip bomb.
ENCODED = {
    "/gzip": (b"gzip", _compress(OK_BODY, 31)),
    "/deflate": (b"deflate", _compress(OK_BODY, 15)),
    "/deflate-raw": (b"deflate", _compress(OK_BODY, -15)),
}


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class EvilServer:
    def __init__(self, redirect_to: str | None = None) -> None:
        self.redirect_to = redirect_to
        self.requests: list[Request] = []
        self.connections = 0
        self.huge_bytes_sent = 0
        self.huge_closed_by_client = False
        self.slow_closed_by_client = False
        self.holding = 0  # requests held unanswered right now (/late, /hang)
        self.max_holding = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> EvilServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while not self._stopping.is_set() and await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; True if the server is stopping meanwhile."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _hold(self, reader: asyncio.StreamReader, seconds: float) -> bool:
        """Wait ``seconds`` without answering; True if the client hung up (or we stop)."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        hangup = asyncio.ensure_future(reader.read(1))
        self.holding += 1
        self.max_holding = max(self.max_holding, self.holding)
        try:
            done, _ = await asyncio.wait(
                (stopping, hangup), timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self.holding -= 1
            stopping.cancel()
            hangup.cancel()
        return bool(done)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        request = Request(method, target, headers, body)
        self.requests.append(request)  # only complete requests are recorded
        # The first segment picks the behaviour: "/drop/PaaS/X/Y" drops too, so an SDK
        # client can be pointed at api_url=f"{server.url}/drop".
        path = "/" + request.path.split("/", 2)[1]
        if path == "/ok":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"X-Request-Id: req-42\r\nRetry-After: 3\r\nX-Other: dropped\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(OK_BODY), OK_BODY)
            )
            await writer.drain()
            return True
        if path == "/slowloris":
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000
            for i in range(SLOW_BYTES):
                writer.write(answer[i : i + 1])
                try:
                    await writer.drain()
                except ConnectionError:
                    self.slow_closed_by_client = True
                    return False
                if await self._pause(SLOW_STEP) or reader.at_eof():
                    self.slow_closed_by_client = True
                    return False
            return False
        if path in ("/huge", "/huge-declared"):
            declared = path == "/huge-declared"
            if declared:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (300 * 2**20))
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"y" * HUGE_CHUNK
            framed = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            try:
                while self.huge_bytes_sent < HUGE_TOTAL:
                    writer.write(framed)
                    await writer.drain()
                    self.huge_bytes_sent += len(chunk)
                    if reader.at_eof():
                        raise ConnectionResetError
            except ConnectionError:
                self.huge_closed_by_client = True
            return False
        if path in ENCODED or path == "/bomb":
            encoding, data = ENCODED[path] if path in ENCODED else (b"gzip", _bomb())
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
                % (encoding, len(data))
            )
            writer.write(data)
            try:
                await writer.drain()
            except ConnectionError:
                return False
            return path != "/bomb"
        if path == "/malformed":
            writer.write(b"HTTP/1.1 2OO NOPE\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return False
        if path == "/drop":
            return False
        if path in ("/late", "/hang"):
            if await self._hold(reader, LATE_HEADERS if path == "/late" else HANG):
                return False
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
            return True
        if path == "/slow":
            if await self._pause(0.02):
                return False
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
            return True
        if path == "/redirect":
            location = f"{self.redirect_to}/ok".encode()
            writer.write(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                % location
            )
            await writer.drain()
            return True
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return True


async def _main() -> None:
    server = await EvilServer().start()
    print(server.port, flush=True)
    # Serve until stdin closes (the parent test ends), at most 10 minutes.
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(), 600)
    await server.stop()


if __name__ == "__main__":
    asyncio.run(_main())
