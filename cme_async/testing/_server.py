"""TCP mounting with uvicorn (the ``testing`` extra), imported only when serving."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._app import ABORT_KEY, App


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "FakeCme.serve() needs uvicorn: pip install 'cme-async[testing]'"
        ) from exc
    return uvicorn


def _protocol_class() -> type[Any]:
    """uvicorn's h11 protocol, exposing ``transport.abort`` to the app through
    ``scope["state"]`` so that ``drop_connection`` closes the socket unanswered."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DroppableH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.app_state = {**self.app_state, ABORT_KEY: transport.abort}

    return DroppableH11Protocol


def _config(app: App, **kw: Any) -> Any:
    uvicorn = _uvicorn()
    return uvicorn.Config(
        app,
        http=_protocol_class(),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=1,
        **kw,
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP; without it, headers and body leave in two segments and Nagle adds ~40 ms a call.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serve(app: App, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run the app on ``host:port`` (0 = a free port) in the current loop; yield its URL."""
    uvicorn = _uvicorn()
    config = _config(app)

    class _Server(uvicorn.Server):  # type: ignore[misc,name-defined]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # leave the host's signal handlers alone
            yield

    sock = bind(host, port)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="cme-fake-server")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("FakeCme server stopped during startup")
            await asyncio.sleep(0.005)
        yield url_of(sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_forever(app: App, sock: socket.socket) -> None:
    """Blocking run for ``python -m cme_async.testing`` (Ctrl-C stops it)."""
    uvicorn = _uvicorn()
    uvicorn.Server(_config(app)).run(sockets=[sock])
