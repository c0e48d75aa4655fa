"""One worker process of the multi-process Redis tests (run as a script, driven by lines).

    python tests/redis/_worker.py '<json config>'

prints ``ready`` once its client exists, then obeys lines on stdin:

* ``calls N``: N concurrent first calls for one user; prints a JSON report.
* ``limit T0 SECONDS``: from wall-clock T0 for SECONDS, calls as fast as its tasks can;
  counts calls that started at or after T0 and ended by T0 + SECONDS.
* ``exit``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import cme_async
from cme_async.redis import RedisRateLimiter, RedisTicketStore
from cme_async.testing import DEMO_PLATFORM, DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_USER_ID


def emit(message: object) -> None:
    sys.stdout.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
    sys.stdout.flush()


async def read_line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


async def calls(client: cme_async.AsyncCmeClient, count: int) -> dict[str, Any]:
    async def one() -> str | None:
        try:
            await client.team.describe_join_teams()
        except cme_async.CmeError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    started = time.time()
    outcomes = await asyncio.gather(*(one() for _ in range(count)))
    errors = [o for o in outcomes if o is not None]
    return {
        "ok": count - len(errors),
        "errors": errors[:5],
        "logins": client.tokens.login_count,
        "started": started,
        "ended": time.time(),
    }


async def limited(
    client: cme_async.AsyncCmeClient, t0: float, seconds: float, tasks: int
) -> dict[str, Any]:
    end = t0 + seconds
    counted = late = 0
    errors: list[str] = []
    await asyncio.sleep(max(0.0, t0 - time.time()))

    async def loop() -> None:
        nonlocal counted, late
        while time.time() < end:
            try:
                await client.team.describe_join_teams()
            except cme_async.CmeError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if time.time() <= end:
                counted += 1
            else:
                late += 1

    await asyncio.gather(*(loop() for _ in range(tasks)))
    return {"counted": counted, "late": late, "errors": errors[:5]}


async def main(config: dict[str, Any]) -> None:
    store = RedisTicketStore(
        config["redis"],
        prefix=config["prefix"],
        login_lock_ttl=config.get("lock_ttl"),
        socket_timeout=config.get("socket_timeout", 3.0),
    )
    limiter = None
    if "rate" in config:
        limiter = RedisRateLimiter(
            config["redis"], rate=config["rate"], burst=config["burst"], prefix=config["prefix"]
        )
    signer = cme_async.LocalSigner(DEMO_SECRET_ID, DEMO_SECRET_KEY, DEMO_PLATFORM)
    async with cme_async.AsyncCmeClient(
        signer,
        DEMO_USER_ID,
        api_url=config["url"],
        login_url=config["url"],
        allow_insecure=True,
        ticket_store=store,
        rate_limit=limiter,
        max_concurrency=config.get("max_concurrency", 50),
        timeout=config.get("timeout", 60.0),
    ) as client:
        emit("ready")
        while True:
            words = (await read_line()).split()
            if not words or words[0] == "exit":
                break
            if words[0] == "calls":
                emit(await calls(client, int(words[1])))
            elif words[0] == "limit":
                emit(await limited(client, float(words[1]), float(words[2]), config["tasks"]))
    await store.aclose()
    if limiter is not None:
        await limiter.aclose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
