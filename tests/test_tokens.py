"""The token manager on its own: single flight, compare-and-invalidate, failures, cancellation."""

import asyncio
import time

import pytest

import cme_async
from cme_async import Ticket, TokenManager
from cme_async._tokens import Identity


def ID(user: str, platform: str = "p") -> Identity:
    return Identity("https://login.example", platform, user)


class SlowLogin:
    def __init__(self, delay: float = 0.02, fail_times: int = 0) -> None:
        self.delay = delay
        self.fail_times = fail_times
        self.calls = 0

    async def __call__(self, identity: Identity) -> Ticket:
        user_id = identity.user_id
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail_times:
            self.fail_times -= 1
            raise cme_async.LoginError("AuthFailure.SignatureFailure", "bad", action="Login")
        return Ticket(authorization=f"tf_{user_id}_{self.calls:03d}", user_id=user_id)


async def test_one_login_for_1000_concurrent_callers() -> None:
    login = SlowLogin()
    tokens = TokenManager(login)
    got = await asyncio.gather(*(tokens.get(ID("u")) for _ in range(1000)))
    assert login.calls == 1 and tokens.login_count == 1
    assert {t.authorization for t in got} == {"tf_u_001"}
    # and it is cached afterwards
    assert (await tokens.get(ID("u"))).authorization == "tf_u_001"
    assert login.calls == 1


async def test_identities_are_separate() -> None:
    login = SlowLogin()
    tokens = TokenManager(login)
    a, b = await asyncio.gather(tokens.get(ID("a")), tokens.get(ID("b")))
    assert a.user_id == "a" and b.user_id == "b" and login.calls == 2


async def test_compare_and_invalidate() -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login)
    old = await tokens.get(ID("u"))
    assert await tokens.invalidate(ID("u"), old) is True
    new = await tokens.get(ID("u"))
    assert new.authorization != old.authorization
    # a late failure reported on the old ticket does not drop the new one
    assert await tokens.invalidate(ID("u"), old) is False
    assert (await tokens.get(ID("u"))) is new
    assert login.calls == 2


async def test_failed_login_reaches_every_waiter_and_is_not_cached() -> None:
    login = SlowLogin(fail_times=1)
    tokens = TokenManager(login)
    results = await asyncio.gather(
        *(tokens.get(ID("u")) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(r, cme_async.LoginError) for r in results)
    assert login.calls == 1
    ticket = await tokens.get(ID("u"))  # next call logs in again
    assert ticket.authorization == "tf_u_002" and login.calls == 2


async def test_cancelled_waiter_does_not_cancel_shared_login() -> None:
    login = SlowLogin(delay=0.05)
    tokens = TokenManager(login)
    first = asyncio.create_task(tokens.get(ID("u")))
    others = [asyncio.create_task(tokens.get(ID("u"))) for _ in range(10)]
    await asyncio.sleep(0.01)
    first.cancel()
    got = await asyncio.gather(*others)
    assert first.cancelled()
    assert {t.authorization for t in got} == {"tf_u_001"} and login.calls == 1


async def test_login_finishes_and_is_cached_even_if_every_waiter_is_cancelled() -> None:
    login = SlowLogin(delay=0.03)
    tokens = TokenManager(login)
    waiters = [asyncio.create_task(tokens.get(ID("u"))) for _ in range(5)]
    await asyncio.sleep(0.005)
    for w in waiters:
        w.cancel()
    await asyncio.sleep(0.05)
    assert (await tokens.peek(ID("u"))) is not None
    assert (await tokens.get(ID("u"))).authorization == "tf_u_001" and login.calls == 1


async def test_ticket_ttl_renews_old_tickets() -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login, ticket_ttl=60)
    first = await tokens.get(ID("u"))
    await tokens.store.set(
        ID("u").key,
        Ticket(authorization=first.authorization, user_id="u", obtained_at=time.time() - 61),
    )
    second = await tokens.get(ID("u"))
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
    assert tokens.known(ID("u")) is None
    first = await tokens.get(ID("u"))
    assert tokens.known(ID("u")) is first
    await tokens.invalidate(ID("u"), first)
    assert tokens.known(ID("u")) is None
    second = await tokens.get(ID("u"))
    await tokens.invalidate(ID("u"), first)  # a late refusal of the old ticket changes nothing
    assert tokens.known(ID("u")) is second


# -- identity keys (issue 9, finding 1) ---------------------------------------------


def test_identity_keys_never_collide() -> None:
    pairs = [
        (Identity("https://l", "a/b", "c"), Identity("https://l", "a", "b/c")),
        (Identity("https://l", "a|b", "c"), Identity("https://l", "a", "b|c")),
        (Identity("https://l", "*", "u1"), Identity("https://l", "P2", "u1")),
        (Identity("https://l/x", "p", "u"), Identity("https://l", "x/p", "u")),
        (Identity("https://l", "p%7Cq", "u"), Identity("https://l", "p|q", "u")),
    ]
    for left, right in pairs:
        assert left.key != right.key, (left, right)
    assert Identity("https://l", "p", "u").key == Identity("https://l", "p", "u").key


async def test_same_user_on_two_platforms_gets_two_tickets() -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login)
    p1 = await tokens.get(ID("u1", platform="P1"))
    p2 = await tokens.get(ID("u1", platform="P2"))
    assert p1.authorization != p2.authorization and login.calls == 2


async def test_a_foreign_ticket_in_the_store_is_dropped_and_never_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    login = SlowLogin(delay=0)
    tokens = TokenManager(login)
    mine = ID("alice")
    # Someone else's ticket sits under alice's key (a shared store written by a bug).
    await tokens.store.set(mine.key, Ticket(authorization="tf_bobs_ticket_123", user_id="bob"))
    with caplog.at_level("WARNING", logger="cme_async"):
        got = await tokens.get(mine)
    assert got.user_id == "alice" and got.authorization != "tf_bobs_ticket_123"
    assert login.calls == 1
    assert "another identity" in caplog.text and "tf_bobs" not in caplog.text
    # A ticket recorded for another platform is refused the same way.
    await tokens.store.set(
        mine.key, Ticket(authorization="tf_other_platform", user_id="alice", platform="P9")
    )
    assert (await tokens.get(mine)).authorization != "tf_other_platform"
    assert login.calls == 2


# -- bounded memory (issue 11) ------------------------------------------------------


async def test_memory_store_evicts_least_recently_used() -> None:
    store = cme_async.MemoryTicketStore(max_tickets=3)
    for user in "abcd":
        await store.set(user, Ticket(authorization=f"tf_{user}_xxxxxx", user_id=user))
    assert len(store) == 3 and await store.get("a") is None
    await store.get("b")  # b is now the most recently used
    await store.set("e", Ticket(authorization="tf_e_xxxxxx", user_id="e"))
    assert await store.get("b") is not None and await store.get("c") is None
    with pytest.raises(ValueError, match="max_tickets"):
        cme_async.MemoryTicketStore(max_tickets=0)


async def test_memory_store_honours_ttl() -> None:
    store = cme_async.MemoryTicketStore()
    await store.set("k", Ticket(authorization="tf_ttl_xxxxxx", user_id="u"), ttl=0.01)
    assert await store.get("k") is not None
    await asyncio.sleep(0.02)
    assert await store.get("k") is None


async def test_manager_records_stay_bounded() -> None:
    tokens = TokenManager(SlowLogin(delay=0), max_identities=50)
    for n in range(500):
        await tokens.get(ID(f"user{n}"))
    assert len(tokens._known) == 50 and not tokens._inflight
    assert tokens.known(ID("user499")) is not None and tokens.known(ID("user0")) is None


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "10", True])
def test_ticket_ttl_must_be_finite_and_positive(bad: object) -> None:
    with pytest.raises(ValueError, match="ticket_ttl"):
        TokenManager(SlowLogin(), ticket_ttl=bad)  # type: ignore[arg-type]


# -- one login among processes sharing a store ---------------------------------------


class SharedMemoryStore(cme_async.MemoryTicketStore):
    """A SharedLoginStore in memory: several managers on it stand for several processes."""

    login_lock_ttl: float | None = 0.3

    def __init__(self) -> None:
        super().__init__()
        self.locks: dict[str, tuple[str, float]] = {}

    async def acquire_login_lock(self, key: str, owner: str, ttl: float) -> bool:
        held = self.locks.get(key)
        if held is not None and held[1] > time.monotonic():
            return False
        self.locks[key] = (owner, time.monotonic() + ttl)
        return True

    async def release_login_lock(self, key: str, owner: str) -> bool:
        held = self.locks.get(key)
        if held is not None and held[0] == owner:
            del self.locks[key]
            return True
        return False

    async def wait_for_ticket(self, key: str, timeout: float) -> Ticket | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = await self.get(key)
            held = self.locks.get(key)
            if found is not None or held is None or held[1] <= time.monotonic():
                return found
            await asyncio.sleep(0.005)
        return None


async def test_managers_sharing_a_store_make_one_login() -> None:
    store = SharedMemoryStore()
    logins = [SlowLogin(delay=0.05) for _ in range(4)]
    managers = [TokenManager(login, store=store) for login in logins]
    assert isinstance(store, cme_async.SharedLoginStore)
    got = await asyncio.gather(*(m.get(ID("u")) for m in managers for _ in range(25)))
    assert sum(login.calls for login in logins) == 1
    assert len({t.authorization for t in got}) == 1 and not store.locks


async def test_a_dead_lock_holder_is_taken_over_after_the_lock_expires() -> None:
    store = SharedMemoryStore()
    store.locks[ID("u").key] = ("crashed-process", time.monotonic() + 0.1)
    login = SlowLogin(delay=0)
    ticket = await asyncio.wait_for(TokenManager(login, store=store).get(ID("u")), timeout=2)
    assert ticket.user_id == "u" and login.calls == 1


async def test_a_failed_holder_releases_and_the_waiter_tries_once_itself() -> None:
    store = SharedMemoryStore()
    failing, healthy = SlowLogin(delay=0.05, fail_times=1), SlowLogin(delay=0)
    first = asyncio.create_task(TokenManager(failing, store=store).get(ID("u")))
    await asyncio.sleep(0.01)
    second = await asyncio.wait_for(TokenManager(healthy, store=store).get(ID("u")), timeout=2)
    with pytest.raises(cme_async.LoginError):
        await first
    assert second.user_id == "u" and failing.calls == 1 and healthy.calls == 1


class ReleaseFails(SharedMemoryStore):
    async def release_login_lock(self, key: str, owner: str) -> bool:
        raise ConnectionError("store went away after the login")


async def test_a_failed_lock_release_neither_fails_the_login_nor_hides_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lock expires by itself: a release that fails is a warning, not the call's end."""
    store = ReleaseFails()
    login = SlowLogin(delay=0)
    ticket = await TokenManager(login, store=store).get(ID("u"))
    assert ticket.user_id == "u" and login.calls == 1
    assert "release_login_lock" in caplog.text and "expires by itself" in caplog.text
    # A login that failed still says why, not that the release failed.
    store.locks.clear()
    failing = SlowLogin(delay=0, fail_times=1)
    with pytest.raises(cme_async.LoginError):
        await TokenManager(failing, store=ReleaseFails()).get(ID("v"))
