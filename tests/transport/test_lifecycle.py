"""Both roads: event loops, closing with exchanges in flight, cancellation storms and
``on_settled`` (which keeps orphaned exchanges counted against max_concurrency)."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cme_async._errors import ClientClosedError, EventLoopMismatchError
from cme_async._transport import Answer, Transport, make_transport
from tests.transport.conftest import BODY, KINDS, TICKET, assert_scrubbed, failure_of
from tests.transport.evil import EvilServer


async def _ok(transport: Transport, url: str, **kwargs: Any) -> Answer:
    return await transport.send(
        "POST", url, ("auth", TICKET), content=BODY, timeout=5, max_bytes=1000, **kwargs
    )


async def _eventually(check: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    assert check()


# -- event loops -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_used_from_another_loop_raises_event_loop_mismatch(kind: str) -> None:
    home = asyncio.new_event_loop()
    try:
        server = home.run_until_complete(EvilServer().start())
        transport, _ = make_transport(None, kind)  # type: ignore[arg-type]
        answer = home.run_until_complete(_ok(transport, f"{server.url}/ok"))
        assert answer.status == 200

        error = asyncio.run(failure_of(transport, f"{server.url}/ok"))
        assert isinstance(error, EventLoopMismatchError)
        assert "another event loop" in str(error)
        assert_scrubbed(error)
        assert len(server.requests) == 1  # nothing was sent from the other loop

        home.run_until_complete(transport.aclose())
        home.run_until_complete(server.stop())
    finally:
        home.close()


def test_a_users_client_shared_across_loops_raises_event_loop_mismatch() -> None:
    # Two transports (two SDK clients) over one user client, each on its own loop.
    home = asyncio.new_event_loop()
    user = httpx.AsyncClient()
    try:
        server = home.run_until_complete(EvilServer().start())
        first, _ = make_transport(user)
        assert home.run_until_complete(_ok(first, f"{server.url}/ok")).status == 200
        second, _ = make_transport(user)
        error = asyncio.run(failure_of(second, f"{server.url}/ok"))
        assert isinstance(error, EventLoopMismatchError)
        assert_scrubbed(error)
        home.run_until_complete(first.aclose())
        home.run_until_complete(user.aclose())
        home.run_until_complete(server.stop())
    finally:
        home.close()


# -- closing -----------------------------------------------------------------------


async def test_send_after_close_is_a_client_closed_error(
    transport: Transport, evil: EvilServer
) -> None:
    assert (await _ok(transport, f"{evil.url}/ok")).status == 200
    await transport.aclose()
    error = await failure_of(transport, f"{evil.url}/ok")
    assert isinstance(error, ClientClosedError)
    assert_scrubbed(error)


async def test_close_leaves_a_users_client_open(evil: EvilServer) -> None:
    user = httpx.AsyncClient()
    transport, owned = make_transport(user)
    assert owned is False
    assert (await _ok(transport, f"{evil.url}/ok")).status == 200
    await transport.aclose()
    assert not user.is_closed
    assert (await user.post(f"{evil.url}/ok")).status_code == 200
    await user.aclose()


@pytest.fixture(scope="module")
def outside_server() -> Iterator[str]:
    """The evil server in its own process, so that only the SDK's sockets are counted."""
    script = Path(__file__).with_name("evil.py")
    process = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def unraisable() -> Iterator[list[Any]]:
    """Warnings and unraisable exceptions (a ResourceWarning from a __del__) seen meanwhile."""
    seen: list[Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = seen.append
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield seen
        finally:
            gc.collect()
            seen.extend(w for w in caught if issubclass(w.category, ResourceWarning))
            sys.unraisablehook = previous


async def test_close_with_300_exchanges_in_flight_leaks_no_socket(
    kind: str, outside_server: str, unraisable: list[Any]
) -> None:
    # Issue 9 finding 5: 300 in flight on the default pool (100 connections, 200 waiting
    # for one), then aclose(): every socket closed, no ResourceWarning, 20 times over.
    url = f"{outside_server}/hang"
    base = _fds()
    for _ in range(20):
        transport, _ = make_transport(None, kind)  # type: ignore[arg-type]
        tasks = [
            asyncio.create_task(
                transport.send(
                    "POST", url, ("auth", TICKET), content=BODY, timeout=30, max_bytes=100
                )
            )
            for _ in range(300)
        ]
        await _eventually(lambda: _fds() >= base + 100)
        await transport.aclose()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(o, ClientClosedError | httpx.TransportError) for o in outcomes), {
            type(o).__name__ for o in outcomes
        }
        for outcome in outcomes[:5]:
            assert_scrubbed(outcome)  # type: ignore[arg-type]
        del tasks, outcomes
        gc.collect()
        await _eventually(lambda: _fds() == base, seconds=5)
    gc.collect()
    assert unraisable == []


# -- cancellation ------------------------------------------------------------------


async def test_a_cancellation_storm_strands_no_pool_slot(kind: str, evil: EvilServer) -> None:
    # The storm that strands httpcore connections for good when requests are cancelled
    # inside it: 8 waves of 300 calls on a 5-connection pool, each cancelled at a random
    # moment. Calls take a slot of 20 as the SDK does, released by on_settled, so
    # orphaned exchanges keep counting. Afterwards all 5 connections must still serve
    # at once, and every exchange must have settled exactly once.
    transport, _ = make_transport(None, kind, max_connections=5)  # type: ignore[arg-type]
    assert transport.cancel_safe is True
    rng = random.Random(11)
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(20)
    settled: list[int] = []
    sends = 0

    def release() -> None:
        settled.append(1)
        slots.release()

    async def call(path: str) -> Answer:
        nonlocal sends
        await slots.acquire()
        sends += 1
        return await transport.send(
            "POST",
            f"{evil.url}{path}",
            ("auth", TICKET),
            content=BODY,
            timeout=5,
            max_bytes=100,
            on_settled=release,
        )

    try:
        for _ in range(8):
            tasks = [asyncio.create_task(call("/slow")) for _ in range(300)]
            for task in tasks:
                loop.call_later(rng.uniform(0, 0.08), task.cancel)
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)
            assert all(isinstance(o, Answer | asyncio.CancelledError) for o in outcomes), [
                repr(o) for o in outcomes if not isinstance(o, Answer | asyncio.CancelledError)
            ][:3]
        await _eventually(lambda: len(settled) == sends, seconds=30)
        # A stranded connection would cap how many requests the server sees at once.
        held = await asyncio.gather(*(call("/late") for _ in range(5)))
        assert [a.status for a in held] == [200] * 5
        assert evil.max_holding == 5
        answers = await asyncio.gather(*(call("/slow") for _ in range(100)))
        assert [a.status for a in answers] == [200] * 100
        await asyncio.sleep(0.1)
        assert len(settled) == sends
    finally:
        await transport.aclose()


async def test_a_cancelled_callers_exchange_settles_once_when_it_really_ends(
    kind: str, evil: EvilServer
) -> None:
    transport, _ = make_transport(None, kind)  # type: ignore[arg-type]
    settled: list[str] = []
    try:
        task = asyncio.create_task(
            transport.send(
                "POST",
                f"{evil.url}/late",
                None,
                content=b"{}",
                timeout=10,
                max_bytes=100,
                on_settled=lambda: settled.append("late"),
            )
        )
        await _eventually(lambda: len(evil.requests) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # httpx lets the exchange finish in the background (its connection then goes
        # back to the pool); aiohttp ends it at once. Either way: settled exactly once.
        await _eventually(lambda: settled == ["late"])
        await asyncio.sleep(0.1)
        assert settled == ["late"]
        assert (await _ok(transport, f"{evil.url}/ok")).status == 200
    finally:
        await transport.aclose()


async def test_an_orphaned_exchange_is_bounded_by_the_attempt_timeout(
    kind: str, evil: EvilServer
) -> None:
    # A cancelled caller's exchange against a slowloris server ends by its timeout (the
    # server would take 24 s), so orphans cannot pile up past max_concurrency for long.
    transport, _ = make_transport(None, kind)  # type: ignore[arg-type]
    settled: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        task = asyncio.create_task(
            transport.send(
                "POST",
                f"{evil.url}/slowloris",
                None,
                content=b"{}",
                timeout=1.0,
                max_bytes=10_000,
                on_settled=lambda: settled.append(loop.time()),
            )
        )
        started = loop.time()
        await _eventually(lambda: len(evil.requests) == 1)
        task.cancel()
        await _eventually(lambda: len(settled) == 1, seconds=8)
        assert settled[0] - started < 8
        await _eventually(lambda: evil.slow_closed_by_client)
    finally:
        await transport.aclose()


@pytest.fixture
async def slow_evil() -> AsyncIterator[EvilServer]:
    server = await EvilServer().start()
    yield server
    await server.stop()


async def test_close_over_a_users_client_ends_exchanges_and_strands_nothing(
    evil: EvilServer,
) -> None:
    # Exchanges holding a connection are cancelled (httpcore then closes it: safe); those
    # still waiting for one are abandoned, never cancelled, so the user's pool, which
    # stays open, keeps every one of its connections.
    user = httpx.AsyncClient(limits=httpx.Limits(max_connections=5, max_keepalive_connections=5))
    transport, _ = make_transport(user)
    settled: list[int] = []
    tasks = [
        asyncio.create_task(
            transport.send(
                "POST",
                f"{evil.url}/hang",
                ("auth", TICKET),
                content=BODY,
                timeout=30,
                max_bytes=100,
                on_settled=lambda: settled.append(1),
            )
        )
        for _ in range(40)
    ]
    await _eventually(lambda: evil.holding == 5)
    await transport.aclose()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, ClientClosedError) for o in outcomes), {repr(o) for o in outcomes}
    assert len(settled) == 40
    assert not user.is_closed
    assert evil.max_holding == 5  # the abandoned 35 never reached the server whole
    assert len(evil.requests) == 5
    answers = await asyncio.gather(*(user.post(f"{evil.url}/late") for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert evil.max_holding == 5 and len(evil.requests) == 10
    await user.aclose()


async def test_the_native_road_builds_no_httpx_objects_per_call(
    evil: EvilServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    for cls in (httpx.Request, httpx.Response, httpx.URL, httpx.Headers):
        original = cls.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    transport, _ = make_transport(None, "aiohttp")
    try:
        for _ in range(3):
            assert (await _ok(transport, f"{evil.url}/ok")).status == 200
        assert built == []
        httpx_road, _ = make_transport(None, "httpx")
        assert (await _ok(httpx_road, f"{evil.url}/ok")).status == 200
        assert "Request" in built and "Response" in built  # the check can fail
        await httpx_road.aclose()
    finally:
        await transport.aclose()
