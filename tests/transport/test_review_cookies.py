"""Review of the httpx road's cookie jar: answers that each set a new cookie must not
grow every later request until servers refuse it."""

from __future__ import annotations

import asyncio

import cme_async

LOGIN_ANSWER = b'{"Response": {"Authorization": "tf_review_cookie_ticket_1", "AppId": 1}}'
ACTION_ANSWER = b'{"Code":"Success","Data":{}}'
NGINX_HEADER_BUFFER = 8192  # nginx refuses request heads past its 8 KiB buffers


class CookieServer:
    """Answers every request, each answer setting a cookie of a new name (and a sticky
    ``lb`` cookie of a fixed name); records the size of each request head."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.answers = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                body = LOGIN_ANSWER if b"signature=" in head else ACTION_ANSWER
                self.answers += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\n"
                    b"Set-Cookie: waf%d=%s; Path=/\r\n"
                    b"Set-Cookie: lb=node-7; Path=/\r\n"
                    b"Content-Length: %d\r\n\r\n" % (self.answers, b"v" * 40, len(body)) + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_new_cookie_on_every_answer_does_not_grow_requests_without_bound() -> None:
    server = CookieServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    signer = cme_async.LocalSigner("AKIDreviewCookies", "review-cookie-secret-key", "1000000009")
    try:
        async with cme_async.AsyncCmeClient(signer, "u1", api_url=url, login_url=url) as client:
            for _ in range(300):
                await client.call("Material", "DescribeClass", {})
                assert b"lb=node-7" in server.heads[-1]  # never dropped, not even once
            jar = client._shared.transport.client.cookies  # type: ignore[attr-defined]
            assert jar.get("lb") == "node-7"  # a cookie the server keeps setting is kept
    finally:
        listener.close()
    biggest = max(len(head) for head in server.heads)
    assert biggest < NGINX_HEADER_BUFFER, f"a request head grew to {biggest} bytes"
    assert b"lb=node-7" in server.heads[-1]
