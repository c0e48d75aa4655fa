"""What the Redis store and limiter share: a lazily built client per event loop (or the
caller's own), bounded operations and error text that never holds a secret."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry  # (redis.retry.Retry is the sync one: never retries)
    from redis.backoff import NoBackoff
    from redis.commands.core import AsyncScript
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("cme_async.redis needs redis-py 5: pip install 'cme-async[redis]'") from exc

from ._options import seconds

__all__ = [
    "DEFAULT_SOCKET_TIMEOUT",
    "AsyncScript",
    "Connection",
    "RedisTimeoutError",
    "aioredis",
    "bounded",
    "client_options",
    "describe",
    "mask_url",
    "millis",
    "parse_url",
]

#: Seconds a Redis connect, read or write may take before the operation fails.
DEFAULT_SOCKET_TIMEOUT = 3.0
#: Redis connections per store or limiter and event loop (``redis_options`` overrides).
DEFAULT_MAX_CONNECTIONS = 16

_T = TypeVar("_T")
_QUERY_PASSWORD = re.compile(r"(?i)((?:^|[?&])password=)[^&]*")
_MASKED = r"\1***"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (userinfo and ``?password=``).

    Works on the raw text rather than on ``urlsplit``: a password holding ``/``, ``?``
    or ``#`` (common in generated passwords) ends urlsplit's host part early, so its
    tail would be shown. ``password=`` values go first (one may hold an ``@``); then
    everything up to the last ``@`` after the user name counts as the password (an
    ``@`` elsewhere masks a little too much, never too little).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<unparsable redis url>" if "@" in url else _QUERY_PASSWORD.sub(_MASKED, url)
    rest = _QUERY_PASSWORD.sub(_MASKED, rest)
    userinfo, at, where = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        userinfo = f"{user}:***" if colon else userinfo
    return f"{scheme}://{userinfo}{at}{where}"


def parse_url(url: str, name: str = "redis_url_or_client") -> dict[str, Any]:
    """redis-py's connection options for ``url``, or a ValueError that quotes the URL
    with its password masked (and never redis-py's own text, which may quote a piece
    of a password that was not percent-encoded)."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            f"{name} must be a redis://, rediss:// or unix:// URL"
            + ("" if name != "redis_url_or_client" else " or a redis.asyncio.Redis client")
            + f", got {mask_url(url)!r}"
        )
    problem = ""
    try:
        return dict(aioredis.connection.parse_url(url))
    except ValueError as exc:
        problem = str(exc)
    hint = "write it as redis://[user:password@]host[:port][/db]"
    if "@" in url:
        problem = "cannot parse it"
        hint += " and percent-encode any / ? # @ : in the password (%2F %3F %23 %40 %3A)"
    raise ValueError(f"{name} {mask_url(url)!r} is not a valid Redis URL ({problem}); {hint}")


class Connection:
    """One ``redis.asyncio.Redis`` per event loop (owned) or the caller's (borrowed)."""

    __slots__ = ("_borrowed", "_bound", "_options", "_scripts", "_url", "shown")

    def __init__(self, url_or_client: str | aioredis.Redis, options: dict[str, Any]) -> None:
        self._scripts: dict[str, str] = {}
        # Not a WeakKeyDictionary: each client refers to its loop, so no entry would ever
        # go. Entries of closed loops are dropped when another loop binds (see _get).
        self._bound: dict[
            asyncio.AbstractEventLoop, tuple[aioredis.Redis, dict[str, AsyncScript]]
        ] = {}
        if isinstance(url_or_client, str):
            parsed = parse_url(url_or_client)
            if parsed.get("connection_class") is aioredis.SSLConnection:
                # redis-py 5 checks the certificate but not, by default, that it names
                # the host: any certificate the CA signed would pass. A URL's own
                # ?ssl_check_hostname= (or redis_options) still decides.
                options = {"ssl_check_hostname": True, **options}
            self._url: str | None = url_or_client
            self._borrowed: aioredis.Redis | None = None
            self._options = options
            self.shown = mask_url(url_or_client)
        elif isinstance(url_or_client, aioredis.Redis):
            self._url, self._borrowed, self._options = None, url_or_client, {}
            kwargs = url_or_client.connection_pool.connection_kwargs
            where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
            self.shown = f"<borrowed redis client {where}/{kwargs.get('db', 0)}>"
        else:
            raise TypeError(
                "redis_url_or_client must be a redis:// URL or a redis.asyncio.Redis client, "
                f"got {type(url_or_client).__name__}"
            )

    def add_script(self, name: str, source: str) -> None:
        self._scripts[name] = source

    def _get(self) -> tuple[aioredis.Redis, dict[str, AsyncScript]]:
        loop = asyncio.get_running_loop()
        bound = self._bound.get(loop)
        if bound is None:
            # A loop closed without aclose() (asyncio.run per job): forget its client, so
            # the garbage collector closes its sockets instead of this object keeping
            # them (and the dead loop) open for as long as it lives.
            # (A copy, and pop: threads each running their own loops share this object.)
            for dead in [old for old in list(self._bound) if old.is_closed()]:
                self._bound.pop(dead, None)
            if self._borrowed is not None:
                client = self._borrowed
            else:
                assert self._url is not None
                pool = aioredis.BlockingConnectionPool.from_url(self._url, **self._options)
                client = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
            scripts = {name: client.register_script(src) for name, src in self._scripts.items()}
            bound = self._bound[loop] = (client, scripts)
        return bound

    def client(self) -> aioredis.Redis:
        return self._get()[0]

    def script(self, name: str) -> AsyncScript:
        return self._get()[1][name]

    async def aclose(self) -> None:
        """Close the client this loop owns; a borrowed client stays open."""
        bound = self._bound.pop(asyncio.get_running_loop(), None)
        if bound is not None and self._borrowed is None:
            await bound[0].aclose()


def client_options(socket_timeout: float, extra: dict[str, Any]) -> dict[str, Any]:
    timeout = seconds(socket_timeout, "socket_timeout")
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # One reconnect on a dropped connection (a restarted server), none on a timeout.
        "retry": Retry(NoBackoff(), 1),
        "retry_on_error": [_RedisConnectionError],
        "decode_responses": False,
        # A bounded pool: thousands of concurrent calls share a few connections (each
        # command takes well under a millisecond) instead of opening one each.
        "max_connections": DEFAULT_MAX_CONNECTIONS,
        "timeout": timeout,  # seconds to wait for a free connection
    }
    options.update(extra)
    return options


async def bounded(pending: Awaitable[_T], seconds: float) -> _T:
    async with asyncio.timeout(seconds):
        return await pending


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | RedisTimeoutError):
        return "Redis did not answer in time (socket_timeout)"
    return f"{type(exc).__name__}: {exc}"


def millis(value: float) -> int:
    """Whole milliseconds (at least 1) for a PX argument."""
    return max(1, int((seconds(value, "ttl") or 0) * 1000))
