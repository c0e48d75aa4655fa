"""The ticket store contract kit against the memory store, Redis and a third-party store."""

from __future__ import annotations

import asyncio

import pytest

from cme_async import MemoryTicketStore, Ticket
from cme_async.redis import RedisTicketStore
from cme_async.testing import check_ticket_store, ticket_store_checks


class DictStore:
    """A third-party store as a user might write one: a dict and nothing else."""

    def __init__(self) -> None:
        self.tickets: dict[str, Ticket] = {}

    async def get(self, key: str) -> Ticket | None:
        return self.tickets.get(key)

    async def set(self, key: str, ticket: Ticket, ttl: float | None = None) -> None:
        self.tickets[key] = ticket

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        found = self.tickets.get(key)
        if found is None or found.authorization != authorization:
            return False
        del self.tickets[key]
        return True


async def test_memory_store_passes() -> None:
    await check_ticket_store(MemoryTicketStore)


async def test_third_party_store_passes_without_expiry() -> None:
    await check_ticket_store(DictStore, expiry=False)


async def test_third_party_store_without_ttl_fails_the_expiry_check() -> None:
    # The kit must be able to fail: a store that ignores ttl is caught.
    with pytest.raises(AssertionError, match="never expired"):
        await check_ticket_store(DictStore)


class SlowDeleteStore(DictStore):
    """Not atomic: yields between the compare and the delete."""

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        found = self.tickets.get(key)
        await asyncio.sleep(0)
        if found is None or found.authorization != authorization:
            return False
        self.tickets.pop(key, None)
        return True


async def test_kit_catches_a_non_atomic_delete() -> None:
    with pytest.raises(AssertionError, match="exactly 1 must"):
        await check_ticket_store(SlowDeleteStore, expiry=False)


@pytest.mark.parametrize("check", ticket_store_checks(), ids=str)
async def test_redis_store_passes(check: object, redis_url: str, redis_prefix: str) -> None:
    assert callable(check)
    await check(lambda: RedisTicketStore(redis_url, prefix=redis_prefix))


async def test_redis_store_with_encryption_passes(redis_url: str, redis_prefix: str) -> None:
    def seal(data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data)[::-1]

    def unseal(data: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in data[::-1])

    await check_ticket_store(
        lambda: RedisTicketStore(redis_url, prefix=redis_prefix, encrypt=seal, decrypt=unseal)
    )
