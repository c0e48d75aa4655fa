"""RedisTicketStore on a real redis-server: format, failures, secrets, lifecycle."""

from __future__ import annotations

import asyncio
import json
import threading
import traceback

import pytest
import redis.asyncio as aioredis

import cme_async
from cme_async import Ticket, TicketStoreError
from cme_async.redis import RedisRateLimiter, RedisTicketStore
from cme_async.testing import (
    FakeCme,
    check_ticket_store,
)
from tests.emulated import demo_client
from tests.redis_server import INSTALL_HINT, RedisServer

SECRET = "tf_secret_ticket_value_0123456789abcdef"
KEY = "endpoint|platform|user"


def ticket(authorization: str = SECRET) -> Ticket:
    return Ticket(authorization, "user", app_id=7, platform="p", tf_uid="tf", obtained_at=12.5)


def rendered(exc: BaseException) -> str:
    """Everything an error can show: text, repr, chain, traceback with locals."""
    shown = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return "".join([str(exc), repr(exc), *shown.format()])


def assert_clean(exc: BaseException, *secrets: str) -> None:
    text = rendered(exc)
    for secret in secrets:
        assert secret not in text, f"a secret leaked into {type(exc).__name__}"
    assert exc.__cause__ is None and exc.__context__ is None


@pytest.fixture
async def raw(redis_url: str) -> aioredis.Redis:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_stores_only_what_a_call_needs(redis_url: str, redis_prefix: str, raw) -> None:
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as store:
        await store.set(KEY, ticket(), ttl=30)
        value = (await raw.get(f"{redis_prefix}ticket:{KEY}")).decode()
        assert 0 < await raw.pttl(f"{redis_prefix}ticket:{KEY}") <= 30_000
        body = json.loads(value.split("|", 3)[3])
        assert set(body) == {
            "authorization",
            "user_id",
            "platform",
            "app_id",
            "tf_uid",
            "obtained_at",
        }
        await store.set(KEY, ticket())  # no ttl: the key no longer expires
        assert await raw.pttl(f"{redis_prefix}ticket:{KEY}") == -1


async def test_encrypted_at_rest(redis_url: str, redis_prefix: str, raw) -> None:
    def seal(data: bytes) -> bytes:
        return bytes(b ^ 0x33 for b in data)

    async with RedisTicketStore(
        redis_url, prefix=redis_prefix, encrypt=seal, decrypt=seal
    ) as store:
        await store.set(KEY, ticket())
        value = await raw.get(f"{redis_prefix}ticket:{KEY}")
        assert SECRET.encode() not in value and b"user_id" not in value
        assert (await store.get(KEY)) == ticket()
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as plain:
        with pytest.raises(TicketStoreError, match="no decrypt hook") as caught:
            await plain.get(KEY)

    def refuse(data: bytes) -> bytes:
        raise ValueError(f"cannot open {data!r}")  # a hook that quotes its input

    async with RedisTicketStore(
        redis_url, prefix=redis_prefix, encrypt=seal, decrypt=refuse
    ) as bad:
        with pytest.raises(TicketStoreError, match="decrypt hook failed") as caught:
            await bad.get(KEY)
    assert_clean(caught.value, SECRET)


@pytest.mark.parametrize(
    "garbage",
    [
        b"not a ticket",
        b"cme1|0000|j|{}",
        b'cme1|%s|j|{"authorization": 5}',
        b"cme1|%s|x|payload",
        b"\xff\xfe\x00",
    ],
)
async def test_garbage_is_a_clear_error(
    redis_url: str, redis_prefix: str, raw, garbage: bytes
) -> None:
    await raw.set(f"{redis_prefix}ticket:{KEY}", garbage.replace(b"%s", b"ab" * 32))
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as store:
        with pytest.raises(TicketStoreError) as caught:
            await store.get(KEY)
    assert caught.value.operation == "get"
    assert "RedisTicketStore(redis://127.0.0.1" in caught.value.store
    assert isinstance(caught.value, cme_async.CmeError)


async def _swap_ticket(raw: aioredis.Redis, name: str) -> None:
    value = (await raw.get(name)).decode()
    await raw.set(name, value.replace(SECRET, "tf_other_ticket_value_000000000000000000"))


async def test_a_tampered_ticket_is_refused(redis_url: str, redis_prefix: str, raw) -> None:
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as store:
        await store.set(KEY, ticket())
        await _swap_ticket(
            raw, f"{redis_prefix}ticket:{KEY}"
        )  # (the value stays out of this frame)
        with pytest.raises(TicketStoreError, match="digest does not match") as caught:
            await store.get(KEY)
        assert_clean(caught.value, SECRET)


async def test_wrong_redis_type_is_a_clear_error(redis_url: str, redis_prefix: str, raw) -> None:
    await raw.hset(f"{redis_prefix}ticket:{KEY}", "authorization", SECRET)
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as store:
        for call in (store.get(KEY), store.compare_and_delete(KEY, SECRET)):
            with pytest.raises(TicketStoreError, match="WRONGTYPE") as caught:
                await call
            assert_clean(caught.value, SECRET)


async def test_redis_down_raises_without_secrets(own_redis: RedisServer) -> None:
    store = RedisTicketStore(
        f"redis://:p4ssw0rd-x@127.0.0.1:{own_redis.port}/0", socket_timeout=0.5
    )
    own_redis.stop()
    operations = {
        "get": store.get(KEY),
        "set": store.set(KEY, ticket()),
        "compare_and_delete": store.compare_and_delete(KEY, SECRET),
        "acquire_login_lock": store.acquire_login_lock(KEY, "owner", 5),
        "release_login_lock": store.release_login_lock(KEY, "owner"),
        "wait_for_ticket": store.wait_for_ticket(KEY, 5),
    }
    for operation, call in operations.items():
        async with asyncio.timeout(10):
            with pytest.raises(TicketStoreError) as caught:
                await call
        error = caught.value
        assert error.operation == operation
        assert operation in str(error) and "RedisTicketStore(redis://:***@127.0.0.1" in str(error)
        assert_clean(error, SECRET, "p4ssw0rd-x")
    assert "p4ssw0rd-x" not in repr(store)
    await store.aclose()


async def test_calls_fail_fast_while_redis_is_down_and_recover(own_redis: RedisServer) -> None:
    """Stop redis-server mid-run, pause it (a hung server), restart it: calls that hold a
    valid ticket keep working from the process's near cache; calls that need the store
    raise TicketStoreError within the socket timeout, never hang; then all work again."""
    fake = FakeCme.seeded()
    store = RedisTicketStore(own_redis.url, socket_timeout=0.5)
    outcomes: list[str] = []
    async with (
        fake.serve() as url,
        demo_client(url, allow_insecure=True, ticket_store=store) as client,
    ):

        async def call() -> None:
            async with asyncio.timeout(10):  # nothing may hang
                try:
                    await client.team.describe_join_teams()
                    outcomes.append("ok")
                except TicketStoreError as exc:
                    assert_clean(exc, *fake.active_tickets())
                    outcomes.append(exc.operation)

        async def run(count: int) -> None:
            await asyncio.gather(*(call() for _ in range(count)))

        await run(20)
        assert outcomes == ["ok"] * 20
        outcomes.clear()

        background = asyncio.create_task(_keep_calling(call))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(own_redis.stop)  # mid-run
        await asyncio.sleep(0.3)
        assert outcomes and set(outcomes) == {"ok"}  # the cached ticket still works
        fake.expire_tickets()  # now every call needs the store
        await asyncio.sleep(0.5)
        background.cancel()
        await asyncio.gather(background, return_exceptions=True)
        assert "compare_and_delete" in outcomes or "get" in outcomes, outcomes
        assert set(outcomes) <= {"ok", "get", "set", "acquire_login_lock", "compare_and_delete"}

        outcomes.clear()
        await asyncio.to_thread(own_redis.start)
        await run(10)
        assert outcomes == ["ok"] * 10  # the same store reconnects by itself
        assert fake.logins == 2  # the restarted server lost the ticket (no persistence)

        outcomes.clear()
        own_redis.pause()  # accepts connections, answers nothing
        fake.expire_tickets()
        try:
            await run(5)
        finally:
            own_redis.resume()
        assert outcomes == ["compare_and_delete"] * 5, outcomes
        outcomes.clear()
        await run(5)
        assert outcomes == ["ok"] * 5
    await store.aclose()


async def _keep_calling(call) -> None:
    while True:
        await asyncio.gather(*(call() for _ in range(5)))
        await asyncio.sleep(0.01)


async def test_repr_hides_password(redis_url: str) -> None:
    store = RedisTicketStore("rediss://alice:s3cr3t-pw@cache.example:6380/2?password=s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(store) and "alice:***@cache.example:6380" in repr(store)
    with pytest.raises(ValueError, match="redis://"):
        RedisTicketStore("http://cache.example")
    with pytest.raises(ValueError, match="encrypt and decrypt go together"):
        RedisTicketStore(redis_url, encrypt=lambda b: b)


def test_no_loop_needed_to_build_and_each_loop_gets_its_client(
    redis_url: str, redis_prefix: str
) -> None:
    store = RedisTicketStore(redis_url, prefix=redis_prefix)  # no running loop here

    async def use(n: int) -> Ticket | None:
        await store.set(KEY, ticket(f"{SECRET}-{n}"))
        found = await store.get(KEY)
        await store.aclose()
        return found

    assert asyncio.run(use(1)) == ticket(f"{SECRET}-1")
    assert asyncio.run(use(2)) == ticket(f"{SECRET}-2")  # a second loop works too
    results: list[Ticket | None] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(use(3))))
    thread.start()
    thread.join(10)
    assert results == [ticket(f"{SECRET}-3")]


async def test_borrowed_client_stays_open(redis_url: str, redis_prefix: str, raw) -> None:
    store = RedisTicketStore(raw, prefix=redis_prefix)
    assert "borrowed redis client 127.0.0.1" in repr(store)
    await store.set(KEY, ticket())
    await store.aclose()
    assert await raw.ping()  # still usable: the store did not close it
    decoded = aioredis.Redis.from_url(redis_url, decode_responses=True)
    async with RedisTicketStore(decoded, prefix=redis_prefix) as text_store:
        assert await text_store.get(KEY) == ticket()  # decode_responses=True works too
    assert await decoded.ping()
    await decoded.aclose()


def test_missing_redis_server_fails_with_the_install_hint(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("tests.redis_server.shutil.which", lambda name: None)
    monkeypatch.setattr("tests.redis_server.os.access", lambda path, mode: False)
    with pytest.raises(pytest.fail.Exception, match="make services"):
        RedisServer(tmp_path)
    assert "redis-server" in INSTALL_HINT


ACL = [
    "on",
    ">acl-pw-0123456789",
    "~cme:*",
    "resetchannels",
    "-@all",
    "+get",
    "+set",
    "+del",
    "+mget",
    "+time",
    "+evalsha",
    "+eval",
    "+script|load",
]


async def test_works_as_the_restricted_acl_user_the_docs_give(own_redis: RedisServer) -> None:
    admin = aioredis.Redis.from_url(own_redis.url)
    await admin.execute_command("ACL", "SETUSER", "cme", *ACL)
    await admin.aclose()
    url = f"redis://cme:acl-pw-0123456789@127.0.0.1:{own_redis.port}/0"
    await check_ticket_store(lambda: RedisTicketStore(url, prefix="cme:contract:"))
    limiter = RedisRateLimiter(url, rate=100)
    await limiter.acquire("*")
    await limiter.aclose()
    outside = RedisTicketStore(url, prefix="other:")  # the ACL keeps it to cme:*
    with pytest.raises(TicketStoreError, match="NoPermissionError"):
        await outside.get(KEY)
    await outside.aclose()


async def test_a_failing_encrypt_hook_leaks_nothing(redis_url: str, redis_prefix: str) -> None:
    def leaky(data: bytes) -> bytes:
        raise RuntimeError(f"refusing {data!r}")

    store = RedisTicketStore(redis_url, prefix=redis_prefix, encrypt=leaky, decrypt=leaky)
    with pytest.raises(TicketStoreError, match="encrypt hook failed") as caught:
        await store.set(KEY, ticket())
    assert caught.value.operation == "set"
    assert_clean(caught.value, SECRET)
    odd = Ticket("tf_\ud800_odd_ticket_value_01234", "ü/ser|x", platform="p|q", obtained_at=1.0)
    async with RedisTicketStore(redis_url, prefix=redis_prefix) as plain:
        await plain.set(KEY, odd)  # a lone surrogate and separators survive the round trip
        assert await plain.get(KEY) == odd
        assert await plain.compare_and_delete(KEY, odd.authorization)
    await store.aclose()
