"""Regressions from a hostile review of the Redis store and limiter: URL passwords that
urlsplit cannot see, clients of closed event loops, TLS certificates for other hosts."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import sys
import threading
import traceback
from pathlib import Path

import pytest

from cme_async import Ticket, TicketStoreError
from cme_async import _redis_limiter as limiter_module
from cme_async._redis_base import mask_url
from cme_async.redis import RedisRateLimiter, RedisTicketStore
from tests.redis._tls import tls_redis
from tests.redis_server import RedisProxy, RedisServer

# Generated passwords often hold characters that end a URL's host part when not
# percent-encoded; redis-py then fails to parse the URL, or reads part of it as the port.
PASSWORDS = ["Zx9+/abc==Q", "hunter#two22", "q?uery-pass", "p@zzw/0rd-x", "col:on-pass"]


def fragments(password: str) -> list[str]:
    return [piece for piece in re.split(r"[/?#@:]", password) if len(piece) >= 3]


def shown(make: object) -> str:
    """What a user can see of an object built from the URL: repr, or the error."""
    try:
        built = make()  # type: ignore[operator]
    except ValueError as exc:
        assert exc.__cause__ is None and exc.__context__ is None
        text = "".join(traceback.TracebackException.from_exception(exc).format())
        assert "percent-encode" in text or "redis://" in text
        return text
    return repr(built)


@pytest.mark.parametrize("password", PASSWORDS)
def test_passwords_with_url_delimiters_stay_hidden(password: str) -> None:
    url = f"redis://cme:{password}@127.0.0.1:6379/0"
    texts = [
        mask_url(url),
        shown(lambda: RedisTicketStore(url)),
        shown(lambda: RedisRateLimiter(url, rate=5)),
        mask_url(f"rediss://127.0.0.1:6380/0?password={password}&db=1"),
    ]
    for text in texts:
        assert password not in text
        for piece in fragments(password):
            assert piece not in text, f"{piece!r} of the password shown in {text!r}"
    assert texts[0].startswith("redis://cme:***@")


async def test_a_closed_loop_leaves_no_connections_behind(
    redis_url: str, redis_prefix: str
) -> None:
    """``asyncio.run`` per job without ``aclose()``: each dead loop's client used to stay
    bound to the store (the weak mapping never let go: the client refers to its loop)."""
    store = RedisTicketStore(redis_url, prefix=redis_prefix)
    limiter = RedisRateLimiter(redis_url, rate=1e6, prefix=redis_prefix)

    async def job(n: int) -> Ticket | None:
        await store.set("k", Ticket(f"tf_job_{n}", "user", obtained_at=1.0))
        await limiter.acquire("*")
        return await store.get("k")

    def run_jobs(count: int) -> int:
        for n in range(count):
            assert asyncio.run(job(n)) == Ticket(f"tf_job_{n}", "user", obtained_at=1.0)
        gc.collect()
        return len(os.listdir("/proc/self/fd"))

    after_first = await asyncio.to_thread(run_jobs, 1)
    after_many = await asyncio.to_thread(run_jobs, 12)
    assert len(store._conn._bound) == 1 and len(limiter._conn._bound) == 1
    # Before the fix: two more sockets per loop (24 here); now one loop's worth stays.
    assert after_many - after_first <= 2, f"{after_many - after_first} descriptors kept"
    await store.aclose()  # this loop never used them: nothing to close, no error
    await limiter.aclose()


async def test_tls_checks_that_the_certificate_names_the_host(tmp_path: Path) -> None:
    """redis-py 5 checks the chain but not the host name unless asked: a certificate the
    CA issued for any other host was accepted."""
    with tls_redis(tmp_path, "DNS:other-host.example") as (port, ca):
        options = {"ssl_ca_certs": str(ca)}
        store = RedisTicketStore(
            f"rediss://127.0.0.1:{port}/0", redis_options=options, socket_timeout=2
        )
        with pytest.raises(TicketStoreError, match="certificate"):
            await store.set("k", Ticket("tf_tls_ticket", "user"))
        await store.aclose()
        limiter = RedisRateLimiter(
            f"rediss://127.0.0.1:{port}/0", rate=5, redis_options=options, socket_timeout=2
        )
        with pytest.raises(Exception, match="certificate"):
            await limiter.acquire("*")
        await limiter.aclose()
        # An explicit opt-out in the URL (or redis_options) still decides.
        lax = RedisTicketStore(
            f"rediss://127.0.0.1:{port}/0?ssl_check_hostname=false", redis_options=options
        )
        await lax.set("k", Ticket("tf_tls_ticket", "user"))
        await lax.aclose()
    (tmp_path / "good").mkdir()
    with tls_redis(tmp_path / "good", "IP:127.0.0.1") as (port, ca):
        async with RedisTicketStore(
            f"rediss://127.0.0.1:{port}/0", redis_options={"ssl_ca_certs": str(ca)}
        ) as good:
            await good.set("k", Ticket("tf_tls_ticket", "user"))
            assert (await good.get("k")) is not None


async def test_on_the_local_fallback_one_caller_at_a_time_asks_redis(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis hangs (SIGSTOP). Once the fallback period lapsed, every caller asked Redis
    at once and waited out the socket timeout (the pool's wait first): with 40 tasks, 43 %
    of their time stalled. Now one caller probes while the others keep the local limit."""
    monkeypatch.setattr(limiter_module, "FALLBACK_RETRY_AFTER", 0.2)
    limiter = RedisRateLimiter(own_redis.url, rate=1000, on_error="local", socket_timeout=0.3)
    await limiter.acquire("*")
    asking = most = during_fallback = 0
    ask = limiter._ask

    async def counted(key: str) -> int | None:
        nonlocal asking, most, during_fallback
        probe = bool(limiter._fallback_until)
        asking += probe
        during_fallback += probe
        most = max(most, asking)
        try:
            return await ask(key)
        finally:
            asking -= probe

    monkeypatch.setattr(limiter, "_ask", counted)
    own_redis.pause()
    try:

        async def caller() -> None:
            for _ in range(60):
                await limiter.acquire("*")
                await asyncio.sleep(0.02)

        async with asyncio.timeout(60):
            await asyncio.gather(*(caller() for _ in range(20)))
    finally:
        own_redis.resume()
    assert during_fallback >= 1, "the fallback never asked Redis again"
    assert most == 1, f"{most} callers asked the hung Redis at once"
    await limiter.aclose()


def test_burst_is_counted_in_calls() -> None:
    with pytest.raises(ValueError, match=r"burst must be a finite positive number of calls,"):
        RedisRateLimiter("redis://127.0.0.1:1/0", rate=5, burst=float("nan"))


def test_threads_with_loops_of_their_own_share_one_store(redis_url: str, redis_prefix: str) -> None:
    """Worker threads each running ``asyncio.run`` jobs on one module-level store: binding
    a new loop drops the clients of closed ones, which must not trip over another thread
    doing the same (it raised KeyError / 'dictionary changed size during iteration')."""
    store = RedisTicketStore(redis_url, prefix=redis_prefix)
    errors: list[str] = []

    async def job(n: int) -> None:
        await store.set(f"k{n}", Ticket(f"tf_thread_{n}", "user", obtained_at=1.0))
        found = await store.get(f"k{n}")
        assert found is not None and found.authorization == f"tf_thread_{n}"

    def worker(n: int) -> None:
        for _ in range(30):
            try:
                asyncio.run(job(n))
            except Exception as exc:  # collected: a thread's exception would be lost
                errors.append(repr(exc))

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
    assert len(store._conn._bound) <= len(threads)


class _DropFirst(RedisProxy):
    """A TCP proxy to Redis that closes the client's connection, unanswered, when the
    first command holding ``marker`` arrives (a server restarting mid-command)."""

    def __init__(self, port: int, marker: bytes) -> None:
        super().__init__(port)
        self.marker, self.dropped = marker, 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            while data := await src.read(65536):
                if up and self.marker in data and not self.dropped:
                    self.dropped += 1
                    return
                dst.write(data)
                await dst.drain()

        tasks = [
            asyncio.create_task(pump(reader, up_writer, True)),
            asyncio.create_task(pump(up_reader, writer, False)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        writer.transport.abort()
        up_writer.transport.abort()


async def test_a_connection_dropped_mid_command_is_retried_once(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    """The documented one reconnect per command: client_options passed redis-py's sync
    Retry to the asyncio client, whose awaited commands it never retried, so a connection
    lost mid-command failed the call."""
    async with _DropFirst(redis_server.port, b"GET") as url:
        store = RedisTicketStore(url, prefix=redis_prefix, socket_timeout=2)
        await store.set("k", Ticket("tf_retried_ticket", "user", obtained_at=1.0))
        found = await store.get("k")  # its connection is dropped once, unanswered
        assert found is not None and found.authorization == "tf_retried_ticket"
        await store.aclose()
    async with _DropFirst(redis_server.port, b"EVALSHA") as url:
        limiter = RedisRateLimiter(url, rate=1000, prefix=redis_prefix, socket_timeout=2)
        await limiter.acquire("*")
        await limiter.aclose()
