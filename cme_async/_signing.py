"""Client access signatures (HMAC-SHA1 over an urlencoded parameter string).

``signature = base64(HMAC-SHA1(secret_key, original) || original)`` where
``original`` is the urlencoded query string of the documented parameters.
Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, TypeAlias
from urllib.parse import urlencode

from ._constants import DEFAULT_SIGNATURE_EXPIRE_SECONDS
from ._redact import mask, register_secret

SignatureAction: TypeAlias = Literal["Login", "OpenProject", "Upload"]
#: Anything that turns a user id into a fresh ``Login`` signature, e.g. a call to
#: your own backend. ``LocalSigner`` is the in-process implementation.
Signer: TypeAlias = Callable[[str], Awaitable[str]]

_ACTIONS = ("Login", "OpenProject", "Upload")
_UINT32 = 2**32


def _text_problem(name: str, value: object) -> Exception | None:
    """What is wrong with a text argument (never quoting it), or None."""
    if not isinstance(value, str):
        return TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        return ValueError(f"{name} must not be empty")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Its .object would be the whole value: never let it out.
            return ValueError(
                f"{name} is not valid UTF-8 text (a lone surrogate: a byte that is not "
                "UTF-8, read through os.environ or a file opened with errors="
                "'surrogateescape'?)"
            )
    return None


def _expiry_problem(expire_seconds: object) -> Exception | None:
    if isinstance(expire_seconds, bool) or not isinstance(expire_seconds, int):
        return TypeError("expire_seconds must be an int")
    if expire_seconds <= 0:
        return ValueError(f"expire_seconds must be positive, got {expire_seconds}")
    return None


def _first_problem(*problems: Exception | None) -> Exception | None:
    return next((p for p in problems if p is not None), None)


def _sign_problem(
    secret_id: object,
    secret_key: object,
    platform: object,
    user_id: object,
    action: object,
    expire_seconds: object,
    nonce: object,
    project_id: object,
) -> Exception | None:
    """The first thing wrong with ``sign``'s arguments. Returned, not raised: the error is
    raised by ``sign`` once it has deleted the key from its locals (a traceback rendered
    with locals shows every frame's)."""
    problem = _first_problem(
        _text_problem("secret_id", secret_id),
        _text_problem("secret_key", secret_key),
        _text_problem("platform", platform),
        _text_problem("user_id", user_id),
    )
    if problem is not None:
        return problem
    if action not in _ACTIONS:
        return ValueError(f"action must be one of {', '.join(_ACTIONS)}, got {action!r}")
    problem = _expiry_problem(expire_seconds)
    if problem is not None:
        return problem
    if project_id is not None:
        return _text_problem("project_id", project_id)
    if action == "OpenProject":
        return ValueError("project_id is required when action is 'OpenProject'")
    if nonce is not None and not (isinstance(nonce, int) and 0 <= nonce < _UINT32):
        return ValueError(f"nonce must be a uint32 (0 <= nonce < 2**32), got {nonce!r}")
    return None


def sign(
    *,
    secret_id: str,
    secret_key: str,
    platform: str,
    user_id: str,
    action: SignatureAction = "Login",
    expire_seconds: int = DEFAULT_SIGNATURE_EXPIRE_SECONDS,
    now: int | None = None,
    nonce: int | None = None,
    project_id: str | None = None,
) -> str:
    """Compute a CME client access signature.

    Args:
        secret_id: SecretId of the Tencent Cloud API key.
        secret_key: SecretKey of that key. Keep it on your server.
        platform: the CME platform id, e.g. ``"1000000009"``.
        user_id: your application's id for the end user.
        action: ``"Login"`` (trade for an Authorization ticket), ``"OpenProject"``
            (open the editor; needs ``project_id``) or ``"Upload"``.
        expire_seconds: validity of the signature from ``now``.
        now: Unix time to sign at; the current time by default.
        nonce: the ``random`` parameter (uint32); a cryptographically random one by default.
        project_id: ``openProject.projectId``, only sent when given.

    Raises:
        ValueError: an empty id or key, a non-positive expiry, an unknown action,
            ``OpenProject`` without ``project_id``, a nonce outside uint32.
    """
    problem = _sign_problem(
        secret_id, secret_key, platform, user_id, action, expire_seconds, nonce, project_id
    )
    if problem is not None:
        del secret_id, secret_key
        raise problem
    if now is None:
        now = int(time.time())
    if nonce is None:
        nonce = secrets.randbelow(_UINT32)

    params: list[tuple[str, str]] = [
        ("secretId", secret_id),
        ("currentTimeStamp", str(now)),
        ("expireTime", str(now + expire_seconds)),
        ("random", str(nonce)),
        ("platform", platform),
        ("action", action),
        ("userId", user_id),
    ]
    if project_id is not None:
        params.append(("openProject.projectId", project_id))
    original = urlencode(params).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), original, hashlib.sha1).digest()
    signature = base64.b64encode(digest + original).decode("ascii")
    register_secret(signature)
    return signature


class LocalSigner:
    """Signs ``Login`` signatures in process: ``await signer(user_id)``.

    Use it on trusted servers and in batch jobs that hold the API key. Apps
    whose clients must not see the key pass their own ``async def signer(user_id)``
    that asks their backend instead.
    """

    __slots__ = ("_expire_seconds", "_secret_id", "_secret_key", "platform")

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        platform: str,
        *,
        expire_seconds: int = DEFAULT_SIGNATURE_EXPIRE_SECONDS,
    ) -> None:
        problem = _first_problem(
            _text_problem("secret_id", secret_id),
            _text_problem("secret_key", secret_key),
            _text_problem("platform", platform),
            _expiry_problem(expire_seconds),
        )
        if problem is not None:
            del secret_id, secret_key  # not a local of a frame in the traceback
            raise problem
        register_secret(secret_key)
        self._secret_id = secret_id
        self._secret_key = secret_key
        self.platform = platform
        self._expire_seconds = expire_seconds

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        expire_seconds: int = DEFAULT_SIGNATURE_EXPIRE_SECONDS,
    ) -> LocalSigner:
        """A signer from ``CME_SECRET_ID``, ``CME_SECRET_KEY`` and ``CME_PLATFORM``.

        Raises ``ValueError`` listing every variable that is missing or empty.
        """
        env = os.environ if environ is None else environ
        try:
            names = ("CME_SECRET_ID", "CME_SECRET_KEY", "CME_PLATFORM")
            missing = [name for name in names if not env.get(name)]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
                    "export CME_SECRET_ID, CME_SECRET_KEY (your Tencent Cloud API key) and "
                    "CME_PLATFORM (your CME platform id)"
                )
            return cls(
                env["CME_SECRET_ID"],
                env["CME_SECRET_KEY"],
                env["CME_PLATFORM"],
                expire_seconds=expire_seconds,
            )
        finally:
            # The environment holds the key: not a local of a frame in a traceback.
            del env, environ

    async def __call__(self, user_id: str) -> str:
        return sign(
            secret_id=self._secret_id,
            secret_key=self._secret_key,
            platform=self.platform,
            user_id=user_id,
            expire_seconds=self._expire_seconds,
        )

    def __repr__(self) -> str:
        # getattr: a traceback rendered with locals shows a half-built one too.
        return (
            f"LocalSigner(secret_id={mask(getattr(self, '_secret_id', None))}, "
            f"secret_key=***, platform={getattr(self, 'platform', None)!r}, "
            f"expire_seconds={getattr(self, '_expire_seconds', None)})"
        )

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would copy the secret key into whatever store receives it.
        raise TypeError("LocalSigner holds a secret key and cannot be pickled")
