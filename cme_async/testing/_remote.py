"""``RemoteFakeCme``: the controls of an emulator running in another process.

For tests and demos that talk to ``python -m cme_async.testing`` (or ``fake.serve()``)
over TCP; it speaks to the ``/_emulator/*`` endpoints (see ``_control_api.py``), which
only the emulator has.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx


class RemoteFakeCme:
    """``await RemoteFakeCme(url).expire_tickets()`` and friends, over HTTP."""

    def __init__(self, url: str, *, http_client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = http_client

    async def _send(self, method: str, what: str, **kwargs: Any) -> httpx.Response:
        target = f"{self.url}/_emulator/{what}"
        if self._http is not None:
            return await self._http.request(method, target, **kwargs)
        async with httpx.AsyncClient() as http:
            return await http.request(method, target, **kwargs)

    async def _post(self, what: str, body: dict[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not None}
        response = await self._send("POST", what, json=payload)
        if response.status_code != 200:
            raise ValueError(f"emulator refused {what}: {response.text}")
        return response.json()["Result"]

    async def _get(self, what: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self._send("GET", what, params=query)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # ---- controls --------------------------------------------------------------------
    async def expire_tickets(
        self, user_id: str | None = None, *, platform: str | None = None
    ) -> int:
        """Invalidate tickets (all, or ``user_id``'s, on ``platform``); returns how many."""
        return int(await self._post("expire-tickets", {"UserId": user_id, "Platform": platform}))

    async def expire_randomly(
        self,
        probability: float,
        *,
        seed: int | str | None = None,
        min_uses: int = 1,
        users: Collection[str] | None = None,
    ) -> None:
        body = {
            "Probability": probability,
            "Seed": seed,
            "MinUses": min_uses,
            "Users": None if users is None else list(users),
        }
        await self._post("expire-randomly", body)

    async def fail_next(
        self,
        action: str | None,
        *,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        times: int = 1,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        await self._post(
            "fail-next",
            {
                "Action": action,
                "Code": code,
                "HttpStatus": http_status,
                "Malformed": malformed,
                "DropConnection": drop_connection,
                "Times": times,
                "Message": message,
                "RetryAfter": retry_after,
            },
        )

    async def fail_randomly(
        self,
        probability: float,
        action: str | None = None,
        *,
        seed: int | str | None = None,
        code: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        await self._post(
            "fail-randomly",
            {
                "Probability": probability,
                "Action": action,
                "Seed": seed,
                "Code": code,
                "HttpStatus": http_status,
                "Malformed": malformed,
                "DropConnection": drop_connection,
                "Message": message,
                "RetryAfter": retry_after,
            },
        )

    async def fail_next_login(
        self,
        code: str | None = None,
        *,
        retry_after: float | None = None,
        times: int = 1,
        message: str | None = None,
        http_status: int | None = None,
        malformed: bool = False,
        drop_connection: bool = False,
    ) -> None:
        if code is None and http_status is None and not malformed and not drop_connection:
            code = "InternalError"
        await self.fail_next(
            "Login",
            code=code,
            http_status=http_status,
            malformed=malformed,
            drop_connection=drop_connection,
            times=times,
            message=message,
            retry_after=retry_after,
        )

    async def latency(self, seconds: float, action: str | None = None) -> None:
        await self._post("latency", {"Seconds": seconds, "Action": action})

    async def login_latency(self, seconds: float) -> None:
        await self.latency(seconds, "Login")

    async def rate_limit(
        self, action: str | None, per_second: float | None, *, burst: float | None = None
    ) -> None:
        await self._post("rate-limit", {"Action": action, "PerSecond": per_second, "Burst": burst})

    async def add_credentials(self, secret_id: str, secret_key: str, platform: str) -> None:
        body = {"SecretId": secret_id, "SecretKey": secret_key, "Platform": platform}
        await self._post("add-credentials", body)

    async def set_request_log_size(self, size: int) -> None:
        await self._post("request-log", {"Size": size})

    async def reset_controls(self) -> None:
        await self._post("reset", {})

    # ---- what the emulator saw ---------------------------------------------------------
    async def counters(self) -> dict[str, Any]:
        """``{"Logins", "LoginAttempts", "Calls": {"Material/SearchMaterial": n, ...},
        "LoginsByUser": [{"Platform", "UserId", "Logins"}], "ExpiriesByUser": [...],
        "Requests": <records logged so far>}``."""
        return await self._get("counters")

    async def logins_for(self, user_id: str, platform: str | None = None) -> int:
        rows = (await self.counters())["LoginsByUser"]
        return sum(
            r["Logins"]
            for r in rows
            if r["UserId"] == user_id and (platform is None or r["Platform"] == platform)
        )

    async def expiries_for(self, user_id: str, platform: str | None = None) -> int:
        rows = (await self.counters())["ExpiriesByUser"]
        return sum(
            r["Expiries"]
            for r in rows
            if r["UserId"] == user_id and (platform is None or r["Platform"] == platform)
        )

    async def requests(
        self,
        *,
        action: str | None = None,
        user_id: str | None = None,
        platform: str | None = None,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """Every logged request after sequence number ``since`` (``RequestRecord.to_json``
        dicts: ``Seq``, ``Action``, ``UserId``, ``Platform``, ``Ticket``, ``Session``,
        ``Body``, ``Status``, ``Code``, ``Outcome`` ...), fetched page by page."""
        out: list[dict[str, Any]] = []
        while True:
            page = await self._get(
                "requests",
                {"since": since, "action": action, "user_id": user_id, "platform": platform},
            )
            out.extend(page["Requests"])
            if not page["Requests"]:
                return out
            since = page["Last"]
