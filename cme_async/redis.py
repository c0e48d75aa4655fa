"""Tickets and rate limits shared by every process and host: Redis (``cme-async[redis]``).

* ``RedisTicketStore``: one ticket per identity for every process pointing at the same
  Redis, with the cross-process login lock the token manager uses (one login at a time).
* ``RedisRateLimiter``: one calls-per-second limit (GCRA in Lua, on Redis's own clock)
  that every process shares.

Both build their ``redis.asyncio`` client lazily inside the running event loop, bound
every Redis operation with socket timeouts, and turn failures into
``TicketStoreError`` / ``RateLimiterError`` whose text never holds a ticket or a
password. Design, stored format and failure modes: docs/many-processes.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._errors import TicketStoreError
from ._options import seconds
from ._redact import register_secret
from ._redis_base import (
    DEFAULT_SOCKET_TIMEOUT,
    Connection,
    aioredis,
    bounded,
    client_options,
    describe,
    millis,
)
from ._redis_limiter import RedisRateLimiter
from ._tokens import Ticket

__all__ = ["DEFAULT_SOCKET_TIMEOUT", "RedisRateLimiter", "RedisTicketStore"]

_POLL_FIRST, _POLL_MAX = 0.01, 0.25  # wait_for_ticket's backoff (seconds)
_FORMAT = "cme1"  # version tag of the stored value
_T = TypeVar("_T")
Hook = Callable[[bytes], bytes]

# Delete KEYS[1] if its value starts with ARGV[1] (the ticket's format tag and digest).
_COMPARE_AND_DELETE = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# Delete the lock KEYS[1] only if ARGV[1] (the owner token) holds it.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTicketStore:
    """A ``SharedLoginStore`` on Redis: tickets and login locks shared by every process.

    ``AsyncCmeClient(signer, ticket_store=RedisTicketStore("redis://127.0.0.1:6379/0"))``.
    Pass a URL (the store creates, owns and closes its client; ``rediss://`` for TLS) or
    a ``redis.asyncio.Redis`` you own (``decode_responses`` either way). ``encrypt`` and
    ``decrypt`` (bytes -> bytes, both or neither) encrypt the stored value at rest.
    ``login_lock_ttl`` is how long (seconds) a login lock lives before another process may
    take it (None: the client's default). Keys: ``<prefix>ticket:<identity>`` and
    ``<prefix>lock:<identity>``.
    """

    def __init__(
        self,
        redis_url_or_client: str | aioredis.Redis,
        *,
        prefix: str = "cme:",
        login_lock_ttl: float | None = None,
        encrypt: Hook | None = None,
        decrypt: Hook | None = None,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        redis_options: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, got {prefix!r}")
        if (encrypt is None) != (decrypt is None):
            raise ValueError("encrypt and decrypt go together: pass both hooks or neither")
        for name, hook in (("encrypt", encrypt), ("decrypt", decrypt)):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be a callable taking and returning bytes")
        self.prefix = prefix
        self.login_lock_ttl = seconds(login_lock_ttl, "login_lock_ttl")
        self._encrypt, self._decrypt = encrypt, decrypt
        self._conn = Connection(
            redis_url_or_client, client_options(socket_timeout, dict(redis_options or {}))
        )
        self._conn.add_script("compare_and_delete", _COMPARE_AND_DELETE)
        self._conn.add_script("release", _RELEASE_LOCK)
        self._op_timeout = 3 * socket_timeout + 1.0
        self._name = f"RedisTicketStore({self._conn.shown})"

    # -- TicketStore ------------------------------------------------------------------

    async def get(self, key: str) -> Ticket | None:
        found = await self._read("get", key)
        if isinstance(found, str):
            raise TicketStoreError(found, store=self._name, operation="get")
        return found

    async def set(self, key: str, ticket: Ticket, ttl: float | None = None) -> None:
        px = None if ttl is None else millis(ttl)
        # The encoded value lives only inside the pending command, never in a local of a
        # frame an error passes through (a traceback rendered with locals cannot show it).
        pending = self._set_command(key, ticket, px)
        if pending is None:
            raise TicketStoreError(
                "the encrypt hook failed or did not return bytes", store=self._name, operation="set"
            )
        await self._run("set", pending)

    async def compare_and_delete(self, key: str, authorization: str) -> bool:
        script = self._conn.script("compare_and_delete")
        tag = f"{_FORMAT}|{_digest(authorization)}|"
        del authorization  # a traceback rendered with locals must not show it
        done = await self._run(
            "compare_and_delete", script(keys=[self._ticket_key(key)], args=[tag])
        )
        return bool(done)

    # -- the cross-process login lock --------------------------------------------------

    async def acquire_login_lock(self, key: str, owner: str, ttl: float) -> bool:
        client, lock = self._conn.client(), self._lock_key(key)
        if await self._run("acquire_login_lock", client.set(lock, owner, nx=True, px=millis(ttl))):
            return True
        # A reconnect may have replayed our own SET: the lock is then ours already.
        holder = await self._run("acquire_login_lock", client.get(lock))
        return _text(holder) == owner

    async def release_login_lock(self, key: str, owner: str) -> bool:
        script = self._conn.script("release")
        return bool(
            await self._run("release_login_lock", script(keys=[self._lock_key(key)], args=[owner]))
        )

    async def wait_for_ticket(self, key: str, timeout: float) -> Ticket | None:
        """Poll (backoff 10 ms -> 250 ms, jittered) until the ticket appears, the lock is
        gone without one, or ``timeout`` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        delay = _POLL_FIRST
        while True:
            found, locked = await self._poll(key)
            if isinstance(found, str):
                raise TicketStoreError(found, store=self._name, operation="wait_for_ticket")
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if not locked or remaining <= 0:
                return None
            await asyncio.sleep(min(remaining, delay * random.uniform(0.8, 1.2)))
            delay = min(_POLL_MAX, delay * 1.6)

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the Redis client this store created (a client you passed stays open)."""
        await self._conn.aclose()

    async def __aenter__(self) -> RedisTicketStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        encrypted = ", encrypted" if self._encrypt is not None else ""
        return f"RedisTicketStore({self._conn.shown}, prefix={self.prefix!r}{encrypted})"

    # -- internals (no frame that raises ever holds a stored value) -----------------------

    def _ticket_key(self, key: str) -> str:
        return f"{self.prefix}ticket:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self.prefix}lock:{key}"

    async def _run(self, operation: str, pending: Awaitable[_T]) -> _T:
        problem = ""
        try:
            return await bounded(pending, self._op_timeout)
        except Exception as exc:  # every Redis failure becomes one error type
            problem = describe(exc)
        # Raised outside the handler: no __context__ links back to redis-py's frames.
        raise TicketStoreError(problem, store=self._name, operation=operation)

    async def _read(self, operation: str, key: str) -> Ticket | str | None:
        return self._decode(
            await self._run(operation, self._conn.client().get(self._ticket_key(key)))
        )

    async def _poll(self, key: str) -> tuple[Ticket | str | None, bool]:
        client = self._conn.client()
        values = await self._run(
            "wait_for_ticket", client.mget(self._ticket_key(key), self._lock_key(key))
        )
        if not isinstance(values, list) or len(values) != 2:
            return "Redis answered MGET with something other than two values", False
        return self._decode(values[0]), values[1] is not None

    def _set_command(self, key: str, ticket: Ticket, px: int | None) -> Awaitable[Any] | None:
        value = self._encode(ticket)
        if value is None:
            return None
        return self._conn.client().set(self._ticket_key(key), value, px=px)

    def _encode(self, ticket: Ticket) -> str | None:
        body = json.dumps(
            {
                "authorization": ticket.authorization,
                "user_id": ticket.user_id,
                "platform": ticket.platform,
                "app_id": ticket.app_id,
                "tf_uid": ticket.tf_uid,
                "obtained_at": ticket.obtained_at,
            },
            separators=(",", ":"),
        ).encode("ascii")  # ASCII JSON: \u escapes, never an encoding error
        kind, payload = "j", body.decode("ascii")
        if self._encrypt is not None:
            sealed = _call_hook(self._encrypt, body)
            if sealed is None:
                return None
            kind, payload = "e", base64.b64encode(sealed).decode("ascii")
        return f"{_FORMAT}|{_digest(ticket.authorization)}|{kind}|{payload}"

    def _decode(self, raw: object) -> Ticket | str | None:
        """The stored ticket, None, or (never raising) a description of what is wrong."""
        try:
            return self._parse(raw)
        except Exception as exc:  # whatever went wrong, no frame holding the value raises
            return f"the stored value is not a ticket ({type(exc).__name__})"

    def _parse(self, raw: object) -> Ticket | str | None:
        if raw is None:
            return None
        text = _text(raw)
        if text is None:
            return f"Redis answered GET with a {type(raw).__name__}, not a string"
        fmt, _, rest = text.partition("|")
        digest, _, rest = rest.partition("|")
        kind, _, payload = rest.partition("|")
        if fmt != _FORMAT or kind not in ("j", "e"):
            return "the value under the key was not written by this version of RedisTicketStore"
        if kind == "e":
            if self._decrypt is None:
                return "the value is encrypted and this store has no decrypt hook"
            try:
                sealed = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return "the encrypted value is not base64"
            body = _call_hook(self._decrypt, sealed)
            if body is None:
                return "the decrypt hook failed or did not return bytes (wrong key?)"
        else:
            body = payload.encode()
        ticket = _ticket_from_json(body)
        if ticket is None:
            return "the stored value is not a well-formed ticket"
        if _digest(ticket.authorization) != digest:
            return "the stored value's digest does not match its ticket"
        register_secret(ticket.authorization)  # masked wherever this process prints it
        return ticket


def _digest(authorization: str) -> str:
    return hashlib.sha256(authorization.encode("utf-8", "surrogatepass")).hexdigest()


def _text(raw: object) -> str | None:
    if isinstance(raw, bytes):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return None
    return raw if isinstance(raw, str) else None


def _call_hook(hook: Hook, data: bytes) -> bytes | None:
    try:
        out = hook(data)
    except Exception:  # a hook's message could quote the plaintext
        return None
    return bytes(out) if isinstance(out, bytes | bytearray) else None


def _ticket_from_json(body: bytes) -> Ticket | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    auth, user, when = data.get("authorization"), data.get("user_id"), data.get("obtained_at")
    platform, app_id, tf_uid = data.get("platform"), data.get("app_id"), data.get("tf_uid")
    if not (isinstance(auth, str) and auth and isinstance(user, str)):
        return None
    if isinstance(when, bool) or not isinstance(when, int | float):
        return None
    if not all(v is None or isinstance(v, str) for v in (platform, tf_uid)):
        return None
    if app_id is not None and (isinstance(app_id, bool) or not isinstance(app_id, int | str)):
        return None
    return Ticket(auth, user, app_id=app_id, platform=platform, tf_uid=tf_uid, obtained_at=when)
