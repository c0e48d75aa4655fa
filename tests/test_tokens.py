"""The token manager on its own: single flight, compare-and-invalidate, failures, cancellation."""

import asyncio
import time

import pytest

import cme_async
from cme_async import Ticket, TokenManager


class SlowLogin:
    def __init__(self, delay: float = 0.02, fail_times: int = 0) -> None:
        self.delay = delay
        self.fail_times = fail_times
        self.calls = 0

    async def __call__(self, user_id: str) -> Ticket:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail_times:
            self.fail_times -= 1
            raise cme_async.LoginError("AuthFailure.SignatureFailure", "bad", action="Login")
        return Ticket(authorization=f"tf_{user_id}_{self.calls:03d}", user_id=user_id)


async def test_one_login_for_1000_concurrent_callers() -> None:
    login = SlowLogin()
    tokens = TokenManager(login)
    got = await asyncio.gather(*(tokens.get("p/u", "u") for _ in range(1000)))
    assert login.calls == 1 and tokens.login_count == 1
    assert {t.authorization for t in got} == {"tf_u_001"}
    # and it is cached afterwards
    assert (await tokens.get("p/u", "u")).authorization == "tf_u_001"
    assert login.calls == 1


async def test_identities_are_separate() -> None:
    login = SlowLogin()
    tokens = TokenManager(login)
    a, b = await asyncio.gather(tokens.get("p/a", "a"), tokens.get("p/b", "b"))
    assert a.user_id == "a" and b.user_id == "b" and login.calls == 2


async def test_compare_and_invalidate() -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login)
    old = await tokens.get("k", "u")
    assert await tokens.invalidate("k", old) is True
    new = await tokens.get("k", "u")
    assert new.authorization != old.authorization
    # a late failure reported on the old ticket does not drop the new one
    assert await tokens.invalidate("k", old) is False
    assert (await tokens.get("k", "u")) is new
    assert login.calls == 2


async def test_failed_login_reaches_every_waiter_and_is_not_cached() -> None:
    login = SlowLogin(fail_times=1)
    tokens = TokenManager(login)
    results = await asyncio.gather(
        *(tokens.get("k", "u") for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(r, cme_async.LoginError) for r in results)
    assert login.calls == 1
    ticket = await tokens.get("k", "u")  # next call logs in again
    assert ticket.authorization == "tf_u_002" and login.calls == 2


async def test_cancelled_waiter_does_not_cancel_shared_login() -> None:
    login = SlowLogin(delay=0.05)
    tokens = TokenManager(login)
    first = asyncio.create_task(tokens.get("k", "u"))
    others = [asyncio.create_task(tokens.get("k", "u")) for _ in range(10)]
    await asyncio.sleep(0.01)
    first.cancel()
    got = await asyncio.gather(*others)
    assert first.cancelled()
    assert {t.authorization for t in got} == {"tf_u_001"} and login.calls == 1


async def test_login_finishes_and_is_cached_even_if_every_waiter_is_cancelled() -> None:
    login = SlowLogin(delay=0.03)
    tokens = TokenManager(login)
    waiters = [asyncio.create_task(tokens.get("k", "u")) for _ in range(5)]
    await asyncio.sleep(0.005)
    for w in waiters:
        w.cancel()
    await asyncio.sleep(0.05)
    assert (await tokens.peek("k")) is not None
    assert (await tokens.get("k", "u")).authorization == "tf_u_001" and login.calls == 1


async def test_ticket_ttl_renews_old_tickets() -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login, ticket_ttl=60)
    first = await tokens.get("k", "u")
    await tokens.store.set(
        "k", Ticket(authorization=first.authorization, user_id="u", obtained_at=time.time() - 61)
    )
    second = await tokens.get("k", "u")
    assert second.authorization != first.authorization and login.calls == 2
    with pytest.raises(ValueError, match="ticket_ttl"):
        TokenManager(login, ticket_ttl=0)


def test_ticket_repr_masks_authorization() -> None:
    t = Ticket(authorization="tf_supersecretticketvalue", user_id="u", app_id=1)
    assert "supersecret" not in repr(t) and "tf_" in repr(t)


async def test_known_ticket_follows_logins_and_refusals() -> None:
    class SharedStore(cme_async.MemoryTicketStore):
        """Stands for a store shared with other processes (not introspectable)."""

    login = SlowLogin(delay=0)
    tokens = TokenManager(login, store=SharedStore())
    assert tokens.known("k") is None
    first = await tokens.get("k", "u")
    assert tokens.known("k") is first
    await tokens.invalidate("k", first)
    assert tokens.known("k") is None
    second = await tokens.get("k", "u")
    await tokens.invalidate("k", first)  # a late refusal of the old ticket changes nothing
    assert tokens.known("k") is second
