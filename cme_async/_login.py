"""The login exchange: a fresh signature from the signer, ``GET login_url/?signature=``.

One attempt lives here; the loop around it is ``_retry.run``, the same one action
calls use: transient failures, ``RequestLimitExceeded`` / ``InternalError`` answers
and ``Retry-After`` are handled alike (a login is safe to replay). A refused login
raises at once, with a hint when the signature, key or platform is the likely cause.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import time
from urllib.parse import parse_qs

from . import _retry
from ._envelope import parse_login_response
from ._errors import CmeTimeoutError, LoginError
from ._hooks import Hook, LoginEvent, emit
from ._redact import register_secret, release_secret, use_secret
from ._signing import Signer
from ._tokens import Identity, Ticket
from ._transport import Transport

logger = logging.getLogger("cme_async")
_SHA1_BYTES = 20


class LoginExchange:
    """Turns an identity into a ``Ticket``; the token manager calls it (single flight)."""

    __slots__ = (
        "_hooks",
        "_login_url",
        "_max_bytes",
        "_max_retries",
        "_signer",
        "_timeout",
        "_transport",
        "_where",
    )

    def __init__(
        self,
        signer: Signer,
        transport: Transport,
        login_url: str,
        *,
        timeout: float,
        max_retries: int,
        max_bytes: int,
        where: str = "",
        hooks: tuple[Hook, ...] = (),
    ) -> None:
        self._signer = signer
        self._transport = transport
        self._login_url = login_url.rstrip("/") + "/"
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_bytes = max_bytes
        self._where = where
        self._hooks = hooks

    async def __call__(self, identity: Identity) -> Ticket:
        started = time.monotonic()
        progress = _retry.Progress()
        error: BaseException | None = None
        try:
            ticket = await _retry.run(
                lambda _number: self._attempt(identity),
                action="Login",
                replay_safe=True,
                max_retries=self._max_retries,
                progress=progress,
                where=self._where,
            )
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(identity, started, progress, error)
            if self._hooks:
                event = LoginEvent(
                    user_id=identity.user_id,
                    elapsed=time.monotonic() - started,
                    ok=error is None,
                    attempts=progress.count,
                    error=error,
                )
                # Bounded: every call of this user waits for this login to finish.
                await emit(self._hooks, event, timeout=self._timeout)
        return ticket

    @staticmethod
    def _log(
        identity: Identity, started: float, progress: _retry.Progress, error: BaseException | None
    ) -> None:
        if error is None:
            logger.info(
                "cme_async login ok for user %r in %.0f ms (%d attempt%s)",
                identity.user_id,
                (time.monotonic() - started) * 1000,
                progress.count,
                "" if progress.count == 1 else "s",
            )
        elif isinstance(error, Exception):
            logger.info(
                "cme_async login failed for user %r: %s", identity.user_id, _retry.describe(error)
            )

    async def _attempt(self, identity: Identity) -> Ticket:
        pending = self._signer(identity.user_id)
        if not inspect.isawaitable(pending):
            raise TypeError(
                f"the signer returned {type(pending).__name__} instead of an awaitable; it must "
                "be `async def signer(user_id: str) -> str` (await your backend inside it)"
            )
        stuck: CmeTimeoutError | None = None
        try:
            # Your backend may hang: bounded like the rest of the attempt, or this login
            # (and every call of this user, which all wait on it) would wait forever.
            async with asyncio.timeout(self._timeout):
                signature = await pending
        except TimeoutError:
            stuck = CmeTimeoutError(
                f"the signer gave no signature within the attempt timeout "
                f"({self._timeout:g}s); check the backend that signs",
                action="Login",
                kind="attempt",
            )
        if stuck is not None:
            raise stuck
        problem = _signature_problem(signature, identity)
        if problem is not None:
            del signature  # never a local of a frame in a traceback
            raise problem
        register_secret(signature)  # masked wherever an answer echoes it (any signer)
        in_use = use_secret(signature)  # and by this task even once the list forgets it
        try:
            try:
                answer = await self._transport.send(
                    "GET",
                    self._login_url,
                    ("signature", signature),
                    content=None,
                    timeout=self._timeout,
                    max_bytes=self._max_bytes,
                )
            finally:
                del signature  # never a local of a frame in a traceback
            fields = parse_login_response(
                answer.status, answer.headers, answer.content, self._login_url
            )
        finally:
            release_secret(in_use)
        platform = fields.get("Platform")
        if platform is not None and str(platform) != identity.platform:
            logger.warning(
                "cme_async login for user %r: CME answered platform %r, the client is "
                "configured for %r; check CME_PLATFORM / platform=",
                identity.user_id,
                str(platform),
                identity.platform,
            )
        tf_uid = fields.get("TfUid")
        return Ticket(
            authorization=fields["Authorization"],
            user_id=identity.user_id,
            app_id=fields.get("AppId"),
            platform=identity.platform,
            tf_uid=None if tf_uid is None else str(tf_uid),
        )


def _signature_problem(signature: object, identity: Identity) -> Exception | None:
    """Why this signature must not be sent for ``identity``, or None. Returned, not
    raised: the caller drops the signature from its locals first."""
    if not isinstance(signature, str) or not signature:
        return TypeError(
            "the signer returned "
            f"{type(signature).__name__ if signature is not None else 'None'}; it must "
            "return the Login signature as a non-empty str "
            "(`async def signer(user_id: str) -> str`)"
        )
    signed = signed_for(signature)
    if signed is None or signed[0] == identity.user_id:
        return None
    # A ticket for someone else would be cached, and used, as this user's. (A signature
    # for another platform is CME's to refuse: the key decides which platforms it may
    # sign for, and the login answer's Platform is checked against the client's.)
    return LoginError(
        "SignatureMismatch",
        f"the signer signed for user {signed[0]!r}, but the login is for user "
        f"{identity.user_id!r}; nothing was sent. Check that your signing backend signs "
        "the user id it is given.",
        action="Login",
    )


def signed_for(signature: str) -> tuple[str | None, str | None] | None:
    """(userId, platform) a signature in CME's form says it is for (``base64(HMAC-SHA1
    || params)``), or None when it is not in that form (CME will judge it)."""
    try:
        raw = base64.b64decode(signature, validate=True)
        if len(raw) <= _SHA1_BYTES:
            return None
        params = parse_qs(raw[_SHA1_BYTES:].decode("utf-8"), keep_blank_values=True)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if "userId" not in params and "platform" not in params:
        return None
    return params.get("userId", [None])[-1], params.get("platform", [None])[-1]
