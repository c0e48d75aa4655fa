"""The login exchange: a fresh signature from the signer, ``GET login_url/?signature=``.

Transient transport failures and 5xx answers are retried with the same policy
as action calls (a login is safe to replay); a refused login raises at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import quote

import httpx

from . import _retry
from ._envelope import parse_login_response
from ._errors import CmeError, LoginError
from ._hooks import Hook, LoginEvent, emit
from ._signing import Signer
from ._tokens import Ticket

logger = logging.getLogger("cme_async")


class LoginExchange:
    """Turns a user id into a ``Ticket``; the token manager calls it (single flight)."""

    __slots__ = ("_hooks", "_http", "_login_url", "_max_retries", "_signer", "_timeout")

    def __init__(
        self,
        signer: Signer,
        http: httpx.AsyncClient,
        login_url: str,
        *,
        timeout: httpx.Timeout,
        max_retries: int,
        hooks: tuple[Hook, ...] = (),
    ) -> None:
        self._signer = signer
        self._http = http
        self._login_url = login_url.rstrip("/") + "/"
        self._timeout = timeout
        self._max_retries = max_retries
        self._hooks = hooks

    async def __call__(self, user_id: str) -> Ticket:
        started = time.monotonic()
        attempt = 0
        error: BaseException | None = None
        try:
            while True:
                attempt += 1
                try:
                    ticket = await self._attempt(user_id)
                except (httpx.TransportError, CmeError) as exc:
                    if isinstance(exc, LoginError):
                        raise
                    decision = _retry.classify(exc, replay_safe=True)
                    delay = _retry.backoff_delay(attempt) if attempt <= self._max_retries else None
                    if decision.verdict != "retry" or delay is None:
                        err = _retry.as_cme_error(exc, "Login", attempt)
                        if err is exc:
                            raise
                        raise err from exc
                    logger.info(
                        "cme_async login attempt %d failed (%s); retrying in %.2fs",
                        attempt,
                        decision.reason,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                logger.info(
                    "cme_async login ok for user %r in %.0f ms (%d attempt%s)",
                    user_id,
                    (time.monotonic() - started) * 1000,
                    attempt,
                    "" if attempt == 1 else "s",
                )
                return ticket
        except BaseException as exc:
            error = exc
            if not isinstance(exc, asyncio.CancelledError):
                logger.info("cme_async login failed for user %r: %s", user_id, _retry.describe(exc))
            raise
        finally:
            if self._hooks:
                await emit(
                    self._hooks,
                    LoginEvent(
                        user_id=user_id,
                        elapsed=time.monotonic() - started,
                        ok=error is None,
                        attempts=attempt,
                        error=error,
                    ),
                )

    async def _attempt(self, user_id: str) -> Ticket:
        signature = await self._signer(user_id)
        if not isinstance(signature, str) or not signature:
            raise TypeError("the signer must return a non-empty signature string")
        url = f"{self._login_url}?signature={quote(signature, safe='')}"
        response = await self._http.get(url, timeout=self._timeout)
        fields = parse_login_response(response.status_code, response.headers, response.content)
        platform = fields.get("Platform")
        tf_uid = fields.get("TfUid")
        return Ticket(
            authorization=fields["Authorization"],
            user_id=user_id,
            app_id=fields.get("AppId"),
            platform=None if platform is None else str(platform),
            tf_uid=None if tf_uid is None else str(tf_uid),
        )
