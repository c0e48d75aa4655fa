"""In-process mounting: an httpx transport that calls the emulator's ASGI app.

Like ``httpx.ASGITransport`` but faithful to the failures a socket would show:
``fail_next(drop_connection=True)`` raises ``httpx.RemoteProtocolError`` and a
``latency`` longer than the request's read timeout raises ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ._app import ABORT_KEY, App, Message


class FakeCmeTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: App) -> None:
        self._app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        aborted = False

        def abort() -> None:
            nonlocal aborted
            aborted = True

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 0),
            "server": (request.url.host, request.url.port or 80),
            "state": {ABORT_KEY: abort},
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # never: the app reads the body once
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            if timeout is None:
                await self._app(scope, receive, send)
            else:
                await asyncio.wait_for(self._app(scope, receive, send), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout(
                "FakeCme did not answer within the read timeout", request=request
            ) from None
        if aborted:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        # A stream, as a socket transport gives: the client may read it in chunks or bound it.
        stream = httpx.ByteStream(b"".join(chunks))
        return httpx.Response(status, headers=headers, stream=stream, request=request)
