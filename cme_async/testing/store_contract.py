"""A contract test kit for ticket stores: run it against your own ``TicketStore``.

    from cme_async.testing import check_ticket_store

    async def test_my_store():
        await check_ticket_store(lambda: MyStore(...))

or, one pytest test per check (failures then name the check)::

    from cme_async.testing import ticket_store_checks

    @pytest.mark.parametrize("check", ticket_store_checks(), ids=str)
    async def test_my_store(check):
        await check(lambda: MyStore(...))

``factory()`` returns a store (or an awaitable of one); the kit calls ``aclose()`` on it
afterwards when it has one. Every check uses fresh random keys, so the stores a factory
returns may share one backend (they must, for a ``SharedLoginStore``). A store that also
implements ``SharedLoginStore`` (the cross-process login lock) gets those checks too.
Checks that wait do so for well under a second and are bounded.
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from cme_async import Identity, SharedLoginStore, Ticket, TicketStore

__all__ = ["StoreCheck", "check_ticket_store", "ticket_store_checks"]

StoreFactory = Callable[[], "TicketStore | Awaitable[TicketStore]"]
_SHORT = 0.3  # seconds: the TTLs the expiry checks use
_BOUND = 10.0  # seconds: no single check may take longer


class StoreCheck:
    """One named check; ``await check(factory)`` runs it (``str(check)`` is its name)."""

    def __init__(
        self,
        name: str,
        run: Callable[[StoreFactory], Awaitable[None]],
        *,
        shared_only: bool = False,
        expiry: bool = False,
    ) -> None:
        self.name, self._run, self.shared_only, self.expiry = name, run, shared_only, expiry

    async def __call__(self, factory: StoreFactory) -> None:
        try:
            async with asyncio.timeout(_BOUND):
                await self._run(factory)
        except TimeoutError:
            raise AssertionError(f"{self.name}: did not finish within {_BOUND} s") from None

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


@asynccontextmanager
async def _open(factory: StoreFactory) -> AsyncIterator[Any]:
    made = factory()
    store = await made if inspect.isawaitable(made) else made
    if not isinstance(store, TicketStore):
        raise AssertionError(
            f"factory() returned {type(store).__name__}, which lacks get/set/compare_and_delete"
        )
    try:
        yield store
    finally:
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()


def _key(platform: str, user_id: str) -> str:
    return Identity("https://login.example", platform, user_id).key


def _fresh(label: str = "") -> tuple[str, str]:
    """A unique (platform, user id) with characters that must survive storage."""
    token = secrets.token_hex(6)
    return f"plat/{token}", f"user {label}|{token}/é"


def _ticket(user_id: str, platform: str, n: int = 0) -> Ticket:
    return Ticket(
        authorization=f"contract-ticket-{secrets.token_hex(16)}-{n}",
        user_id=user_id,
        app_id=1250000000 + n,
        platform=platform,
        tf_uid=f"tf-{n}",
        obtained_at=1_700_000_000.25 + n,
    )


def _same(found: object, expected: Ticket, what: str) -> None:
    assert isinstance(found, Ticket), f"{what}: expected a Ticket, got {type(found).__name__}"
    for field in ("authorization", "user_id", "app_id", "platform", "tf_uid", "obtained_at"):
        got, want = getattr(found, field), getattr(expected, field)
        assert got == want, f"{what}: field {field} came back changed"


async def _missing_is_none(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        assert await store.get(_key(*_fresh())) is None, "get() of an unknown key must be None"


async def _round_trip(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        ticket = _ticket(user, platform)
        await store.set(_key(platform, user), ticket)
        _same(await store.get(_key(platform, user)), ticket, "get() after set()")
        minimal = Ticket("contract-minimal-" + secrets.token_hex(8), user, obtained_at=5.0)
        await store.set(_key(platform, user), minimal)
        _same(await store.get(_key(platform, user)), minimal, "a ticket with None fields")


async def _keys_are_separate(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        token = secrets.token_hex(6)
        one, two = (f"a{token}/b", "c"), (f"a{token}", "b/c")  # same text joined by "/"
        key_one, key_two = _key(*one), _key(*two)
        first, second = _ticket(one[1], one[0], 1), _ticket(two[1], two[0], 2)
        await store.set(key_one, first)
        await store.set(key_two, second)
        _same(await store.get(key_one), first, "first of two identities")
        _same(await store.get(key_two), second, "second of two identities")
        assert await store.compare_and_delete(key_one, first.authorization)
        _same(await store.get(key_two), second, "the other identity after a delete")


async def _compare_and_delete(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        key, ticket = _key(platform, user), _ticket(user, platform)
        assert not await store.compare_and_delete(key, ticket.authorization), (
            "compare_and_delete() of a missing ticket must return False"
        )
        await store.set(key, ticket)
        assert not await store.compare_and_delete(key, ticket.authorization + "x"), (
            "compare_and_delete() with another authorization must return False"
        )
        assert not await store.compare_and_delete(key, ticket.authorization[:-1]), (
            "compare_and_delete() must compare whole authorizations, not prefixes"
        )
        _same(await store.get(key), ticket, "ticket after a refused compare_and_delete")
        assert await store.compare_and_delete(key, ticket.authorization) is True
        assert await store.get(key) is None, "ticket still there after compare_and_delete()"


async def _stale_delete_keeps_newer(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        key = _key(platform, user)
        old, new = _ticket(user, platform, 1), _ticket(user, platform, 2)
        await store.set(key, old)
        await store.set(key, new)
        assert not await store.compare_and_delete(key, old.authorization), (
            "deleting a replaced ticket must not delete its successor"
        )
        _same(await store.get(key), new, "newer ticket after a stale delete")


async def _delete_is_atomic(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        key, ticket = _key(platform, user), _ticket(user, platform)
        await store.set(key, ticket)
        results = await asyncio.gather(
            *(store.compare_and_delete(key, ticket.authorization) for _ in range(50))
        )
        assert sum(bool(r) for r in results) == 1, (
            f"50 concurrent compare_and_delete() calls: {sum(map(bool, results))} said True, "
            "exactly 1 must"
        )


async def _ttl(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        short, long, forever = (_key(platform, user + s) for s in ("-s", "-l", "-f"))
        await store.set(short, _ticket(user + "-s", platform), ttl=_SHORT)
        await store.set(long, _ticket(user + "-l", platform), ttl=600)
        await store.set(forever, _ticket(user + "-f", platform), ttl=_SHORT)
        await store.set(forever, _ticket(user + "-f", platform, 1))  # ttl=None: no expiry
        deadline = time.monotonic() + 10 * _SHORT
        while await store.get(short) is not None:
            assert time.monotonic() < deadline, f"a ticket set with ttl={_SHORT} never expired"
            await asyncio.sleep(0.05)
        await asyncio.sleep(_SHORT)
        assert await store.get(long) is not None, "a ticket set with ttl=600 expired early"
        assert await store.get(forever) is not None, "set() without ttl must clear an old ttl"


async def _not_in_repr(factory: StoreFactory) -> None:
    async with _open(factory) as store:
        platform, user = _fresh()
        ticket = _ticket(user, platform)
        await store.set(_key(platform, user), ticket)
        assert ticket.authorization not in repr(store), "repr(store) shows a ticket"
        assert ticket.authorization not in str(store), "str(store) shows a ticket"


async def _shared_between_instances(factory: StoreFactory) -> None:
    async with _open(factory) as first, _open(factory) as second:
        platform, user = _fresh()
        ticket = _ticket(user, platform)
        await first.set(_key(platform, user), ticket)
        _same(await second.get(_key(platform, user)), ticket, "a second store instance")


async def _lock_owner(factory: StoreFactory) -> None:
    async with _open(factory) as one, _open(factory) as two:
        key = _key(*_fresh())
        assert await one.acquire_login_lock(key, "owner-a", 30) is True, "free lock not taken"
        assert await two.acquire_login_lock(key, "owner-b", 30) is False, "lock taken twice"
        assert await two.release_login_lock(key, "owner-b") is False, "released by a non-owner"
        assert await two.acquire_login_lock(key, "owner-b", 30) is False, "non-owner release"
        assert await one.release_login_lock(key, "owner-a") is True, "owner could not release"
        assert await one.release_login_lock(key, "owner-a") is False, "released twice"
        assert await two.acquire_login_lock(key, "owner-b", 30) is True, "released lock not free"
        assert await two.release_login_lock(key, "owner-b") is True


async def _lock_expires(factory: StoreFactory) -> None:
    async with _open(factory) as one, _open(factory) as two:
        key = _key(*_fresh())
        assert await one.acquire_login_lock(key, "crashed-owner", _SHORT)
        deadline = time.monotonic() + 10 * _SHORT
        while not await two.acquire_login_lock(key, "next-owner", 30):
            assert time.monotonic() < deadline, f"a lock with ttl={_SHORT} never expired"
            await asyncio.sleep(0.05)
        assert await one.release_login_lock(key, "crashed-owner") is False, (
            "an expired owner released its successor's lock"
        )
        assert await two.release_login_lock(key, "next-owner") is True


async def _wait_sees_ticket(factory: StoreFactory) -> None:
    async with _open(factory) as holder, _open(factory) as waiter:
        platform, user = _fresh()
        key, ticket = _key(platform, user), _ticket(user, platform)
        assert await holder.acquire_login_lock(key, "holder", 30)

        async def log_in() -> None:
            await asyncio.sleep(0.1)
            await holder.set(key, ticket)
            await holder.release_login_lock(key, "holder")

        task = asyncio.create_task(log_in())
        found = await waiter.wait_for_ticket(key, 5)
        await task
        _same(found, ticket, "wait_for_ticket() while another instance logs in")
        _same(await waiter.wait_for_ticket(key, 5), ticket, "wait_for_ticket() on a stored ticket")


async def _wait_ends_on_release(factory: StoreFactory) -> None:
    async with _open(factory) as holder, _open(factory) as waiter:
        key = _key(*_fresh())
        assert await holder.acquire_login_lock(key, "holder", 30)

        async def fail_login() -> None:
            await asyncio.sleep(0.1)
            await holder.release_login_lock(key, "holder")

        task = asyncio.create_task(fail_login())
        started = time.monotonic()
        found = await waiter.wait_for_ticket(key, 8)
        await task
        assert found is None, "wait_for_ticket() after a release without a ticket must be None"
        assert time.monotonic() - started < 6, "wait_for_ticket() outlived the released lock"
        assert await waiter.wait_for_ticket(key, 5) is None, "no lock, no ticket: None at once"


async def _wait_is_bounded(factory: StoreFactory) -> None:
    async with _open(factory) as holder, _open(factory) as waiter:
        key = _key(*_fresh())
        assert await holder.acquire_login_lock(key, "holder", 30)
        assert await waiter.wait_for_ticket(key, _SHORT) is None, "no ticket: must be None"
        await holder.release_login_lock(key, "holder")


_CHECKS = (
    StoreCheck("get of a missing key is None", _missing_is_none),
    StoreCheck("set then get returns every field", _round_trip),
    StoreCheck("identities whose parts hold separators stay apart", _keys_are_separate),
    StoreCheck("compare_and_delete compares whole authorizations", _compare_and_delete),
    StoreCheck("a stale compare_and_delete keeps the newer ticket", _stale_delete_keeps_newer),
    StoreCheck("compare_and_delete is atomic under 50 concurrent callers", _delete_is_atomic),
    StoreCheck("ttl expires a ticket and set without ttl clears it", _ttl, expiry=True),
    StoreCheck("repr never shows a ticket", _not_in_repr),
    StoreCheck("instances share tickets", _shared_between_instances, shared_only=True),
    StoreCheck("login lock: one owner, released only by it", _lock_owner, shared_only=True),
    StoreCheck("login lock: a dead owner's lock expires", _lock_expires, shared_only=True),
    StoreCheck("wait_for_ticket sees the holder's ticket", _wait_sees_ticket, shared_only=True),
    StoreCheck(
        "wait_for_ticket ends when the lock is released", _wait_ends_on_release, shared_only=True
    ),
    StoreCheck("wait_for_ticket returns within its timeout", _wait_is_bounded, shared_only=True),
)


def ticket_store_checks(*, shared: bool = True, expiry: bool = True) -> list[StoreCheck]:
    """The checks, one per contract clause. ``shared=False`` leaves out the login-lock
    checks (for stores that are not ``SharedLoginStore``); ``expiry=False`` leaves out
    the ttl check (for stores that keep tickets until they are refused)."""
    return [c for c in _CHECKS if (shared or not c.shared_only) and (expiry or not c.expiry)]


async def check_ticket_store(factory: StoreFactory, *, expiry: bool = True) -> None:
    """Run every check on stores from ``factory``; raise ``AssertionError`` naming the
    first that fails. The login-lock checks run when the store is a ``SharedLoginStore``."""
    async with _open(factory) as probe:
        shared = isinstance(probe, SharedLoginStore)
    for check in ticket_store_checks(shared=shared, expiry=expiry):
        try:
            await check(factory)
        except AssertionError as exc:
            raise AssertionError(f"ticket store contract, {check}: {exc}") from None
