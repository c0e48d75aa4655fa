"""``RemoteFakeCme``: the controls of an emulator running in another process.

For tests and demos that talk to ``python -m cme_async.testing`` over TCP; it
speaks to the ``/_emulator/*`` endpoints, which only the emulator has.
"""

from __future__ import annotations

from typing import Any

import httpx


class RemoteFakeCme:
    """``await RemoteFakeCme(url).expire_tickets()`` and friends, over HTTP."""

    def __init__(self, url: str, *, http_client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = http_client

    async def _post(self, what: str, body: dict[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not None}
        if self._http is not None:
            response = await self._http.post(f"{self.url}/_emulator/{what}", json=payload)
        else:
            async with httpx.AsyncClient() as http:
                response = await http.post(f"{self.url}/_emulator/{what}", json=payload)
        if response.status_code != 200:
            raise ValueError(f"emulator refused {what}: {response.text}")
        return response.json()["Result"]

    async def expire_tickets(self, user_id: str | None = None) -> int:
        """Invalidate tickets (all, or ``user_id``'s); returns how many."""
        return int(await self._post("expire-tickets", {"UserId": user_id}))

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
            },
        )

    async def latency(self, seconds: float, action: str | None = None) -> None:
        await self._post("latency", {"Seconds": seconds, "Action": action})

    async def rate_limit(
        self, action: str | None, per_second: float | None, *, burst: float | None = None
    ) -> None:
        await self._post("rate-limit", {"Action": action, "PerSecond": per_second, "Burst": burst})

    async def counters(self) -> dict[str, Any]:
        """``{"Logins": n, "LoginAttempts": n, "Calls": {"Material/SearchMaterial": n, ...}}``."""
        if self._http is not None:
            response = await self._http.get(f"{self.url}/_emulator/counters")
        else:
            async with httpx.AsyncClient() as http:
                response = await http.get(f"{self.url}/_emulator/counters")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
