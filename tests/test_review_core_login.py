"""Review of the login road: a signer that never answers must not wedge its identity."""

from __future__ import annotations

import asyncio

import pytest

import cme_async
from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_USER_ID, FakeCme
from tests.emulated import demo_client

BODY = {"Platform": DEMO_PLATFORM, "Owner": {"Type": "PERSON", "Id": DEMO_USER_ID}}


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_signer_that_hangs_once_fails_that_login_and_the_next_call_works(
    transport: str,
) -> None:
    """The signer (your backend) hangs on its first call. The login used to wait for it
    forever, and every later call of that user joined the stuck login: with deadlines,
    each one timed out; without, each one hung. The signer is bounded by the attempt
    timeout like the rest of the login."""
    fake = FakeCme.seeded()
    inner = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    asked = 0
    never = asyncio.Event()

    async def backend(user_id: str) -> str:
        nonlocal asked
        asked += 1
        if asked == 1:
            await never.wait()
        return await inner(user_id)

    backend.platform = DEMO_PLATFORM  # type: ignore[attr-defined]
    async with (
        fake.serve() as url,
        cme_async.AsyncCmeClient(
            backend, DEMO_USER_ID, api_url=url, login_url=url, transport=transport, timeout=0.3
        ) as client,
    ):
        with pytest.raises(cme_async.CmeTimeoutError) as caught:
            await client.call("Material", "DescribeClass", BODY, deadline=10)
        assert caught.value.kind == "attempt"
        assert "signer" in str(caught.value)
        assert caught.value.may_have_run is False and caught.value.attempts == 0
        assert fake.calls["Material/DescribeClass"] == 0
        # The stuck login is over: the next call logs in and works.
        await client.call("Material", "DescribeClass", BODY, deadline=10)
    assert asked == 2
    assert fake.logins == 1


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_an_on_login_hook_that_hangs_does_not_hold_the_login(transport: str) -> None:
    """The on_login hook runs inside the one login every call of that user waits on; a
    hook stuck on its metrics backend held them all (observability must never break a
    call). It gets the attempt timeout, then the login finishes without it."""
    fake = FakeCme.seeded()
    never = asyncio.Event()
    events: list[cme_async.LoginEvent] = []

    async def stuck_metrics(event: cme_async.LoginEvent) -> None:
        events.append(event)
        await never.wait()

    async with (
        fake.serve() as url,
        demo_client(url, transport=transport, timeout=0.3, on_login=stuck_metrics) as client,
    ):
        calls = [client.call("Material", "DescribeClass", BODY, deadline=10) for _ in range(5)]
        await asyncio.gather(*calls)
    assert len(events) == 1 and events[0].ok
    assert fake.logins == 1


async def test_a_signature_for_another_user_is_refused_before_sending() -> None:
    """A signing backend that signs for the session's user instead of the one asked got
    alice a ticket of bob's, cached and used as alice's: every call of alice's view
    acted as bob. The signature says whom it is for; it is checked before it is sent."""
    fake = FakeCme.seeded()
    other = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)

    async def mixed_up(user_id: str) -> str:
        return await other("bob")

    mixed_up.platform = DEMO_PLATFORM  # type: ignore[attr-defined]
    async with fake.serve() as url:
        root = cme_async.AsyncCmeClient(mixed_up, None, api_url=url, login_url=url)
        async with root:
            alice = root.as_user("alice")
            with pytest.raises(cme_async.LoginError) as caught:
                await alice.call("Material", "DescribeClass", BODY)
            assert alice.ticket is None
    assert "'bob'" in str(caught.value) and "'alice'" in str(caught.value)
    assert caught.value.may_have_run is False and caught.value.attempts == 0
    assert fake.login_attempts == 0  # refused before sending


async def test_signatures_the_sdk_cannot_read_are_left_to_cme() -> None:
    """Only a signature in CME's documented form is read; anything else is sent as it is
    (CME judges it), so a custom signer's format is never refused locally."""
    from cme_async._login import signed_for

    assert signed_for("not base64 at all!") is None
    assert signed_for("c2hvcnQ=") is None  # too short to hold an HMAC and parameters
    inner = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    assert signed_for(await inner("用户|1")) == ("用户|1", DEMO_PLATFORM)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_calls_waiting_for_one_users_login_hold_no_slot_others_need(
    transport: str,
) -> None:
    """Calls took their concurrency slot before their ticket, so calls waiting for one
    user's slow login (a slow signing backend, a login outage) held every slot and no
    other user's call could start: head-of-line blocking across users of one root."""
    fake = FakeCme.seeded()
    inner = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    slow_signing = asyncio.Event()

    async def backend(user_id: str) -> str:
        if user_id == "slow":
            await slow_signing.wait()
        return await inner(user_id)

    backend.platform = DEMO_PLATFORM  # type: ignore[attr-defined]
    async with (
        fake.serve() as url,
        cme_async.AsyncCmeClient(
            backend, None, api_url=url, login_url=url, transport=transport, max_concurrency=10
        ) as root,
    ):
        slow, fast = root.as_user("slow"), root.as_user("fast")

        def body(user: str) -> dict[str, object]:
            return {"Platform": DEMO_PLATFORM, "Owner": {"Type": "PERSON", "Id": user}}

        waiting = [
            asyncio.create_task(slow.call("Material", "DescribeClass", body("slow")))
            for _ in range(10)
        ]
        await asyncio.sleep(0.1)
        assert root._shared.limits.in_flight() == 0  # waiting for a login holds no slot
        await fast.call("Material", "DescribeClass", body("fast"), deadline=10)
        slow_signing.set()
        await asyncio.gather(*waiting)
    assert fake.logins_for("slow") == 1 and fake.logins_for("fast") == 1


async def test_a_custom_signers_signature_echoed_in_an_answer_is_masked() -> None:
    """Only LocalSigner's signatures were remembered as secrets: a signature from your
    own backend echoed raw in a login error page reached the error text."""
    signature = "c2lnbmF0dXJlLWZyb20teW91ci1vd24tYmFja2VuZC0wMTIzNDU2Nzg5"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        page = b"<html>bad request: " + signature.encode() + b"</html>"
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n" % len(page) + page)
        await writer.drain()
        writer.close()

    async def backend(user_id: str) -> str:
        return signature

    backend.platform = DEMO_PLATFORM  # type: ignore[attr-defined]
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with cme_async.AsyncCmeClient(
            backend, "u1", api_url=url, login_url=url, max_retries=0
        ) as client:
            with pytest.raises(cme_async.CmeHTTPError) as caught:
                await client.call("Material", "DescribeClass", BODY)
    finally:
        server.close()
    assert "bad request" in str(caught.value)
    assert signature not in str(caught.value) + repr(caught.value.body_snippet)


async def test_a_ticket_store_that_hangs_once_fails_that_login_not_the_user_for_good() -> None:
    """A ticket store of your own that never answers one ``set`` held the login (and so
    every later call of that user) for good, like a hung signer did. Store operations
    are bounded by the login lock's lifetime (a little more than one login attempt)."""
    fake = FakeCme.seeded()
    never = asyncio.Event()
    sets = 0

    class FlakyStore(cme_async.MemoryTicketStore):
        async def set(self, key: str, ticket: cme_async.Ticket, ttl: float | None = None) -> None:
            nonlocal sets
            sets += 1
            if sets == 1:
                await never.wait()
            await super().set(key, ticket, ttl)

    signer = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    async with (
        fake.serve() as url,
        cme_async.AsyncCmeClient(
            signer, DEMO_USER_ID, api_url=url, login_url=url, timeout=0.2, ticket_store=FlakyStore()
        ) as client,
    ):
        with pytest.raises(cme_async.TicketStoreError) as caught:
            await client.call("Material", "DescribeClass", BODY, deadline=20)
        assert "set" in str(caught.value)
        await client.call("Material", "DescribeClass", BODY, deadline=20)
    assert sets == 2
