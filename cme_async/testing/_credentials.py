"""Who may log in: the registered API keys and platforms, and the signature check.

``signature = base64(HMAC-SHA1(secret_key, original) || original)``; the
server parses ``original`` itself, so parameter order does not matter.  Several
(SecretId, SecretKey, Platform) triples may be registered: one key may serve
several platforms, and several keys may share the emulator (tenants).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ._faults import Fault

MAX_SIGNATURE_VALIDITY = 24 * 3600
_REQUIRED = ("secretId", "currentTimeStamp", "expireTime", "random", "platform", "action", "userId")


@dataclass(frozen=True, slots=True)
class Credentials:
    secret_id: str
    secret_key: str
    platform: str


class CredentialRegistry:
    """The (SecretId, SecretKey, Platform) triples signatures may be made with."""

    def __init__(self, first: Credentials) -> None:
        self.primary = first
        self._by_id: dict[str, dict[str, Credentials]] = {}
        self.add(first)

    def add(self, creds: Credentials) -> Credentials:
        platforms = self._by_id.setdefault(creds.secret_id, {})
        other = next(iter(platforms.values()), None)
        if other is not None and other.secret_key != creds.secret_key:
            raise ValueError(
                f"SecretId {creds.secret_id!r} is already registered with another SecretKey"
            )
        platforms[creds.platform] = creds
        return creds

    def __iter__(self) -> Iterator[Credentials]:
        for platforms in self._by_id.values():
            yield from platforms.values()

    def platforms(self) -> set[str]:
        return {c.platform for c in self}

    def verify(self, signature: str | None, now: float) -> tuple[str, str]:
        """``(platform, user id)`` of a valid, current ``Login`` signature; else a Fault."""
        params, mac, original = _parse(signature)
        platforms = self._by_id.get(params["secretId"])
        if not platforms:
            raise Fault("AuthFailure.SecretIdNotFound", "secretId not found")
        creds = platforms.get(params["platform"]) or next(iter(platforms.values()))
        expected = hmac.new(creds.secret_key.encode("utf-8"), original, hashlib.sha1).digest()
        if not hmac.compare_digest(mac, expected):
            raise Fault("AuthFailure.SignatureFailure", "signature verify fail")
        if params["platform"] not in platforms:
            raise Fault("InvalidParameterValue.Platform", "platform not exist")
        _check_claims(params, now)
        return params["platform"], params["userId"]


def _parse(signature: str | None) -> tuple[dict[str, str], bytes, bytes]:
    if not signature:
        raise Fault("MissingParameter", "missing required parameter: signature")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Fault("AuthFailure.SignatureFailure", "signature is not valid base64") from None
    if len(raw) <= 20:
        raise Fault("AuthFailure.SignatureFailure", "signature too short")
    mac, original = raw[:20], raw[20:]
    try:
        params = dict(
            parse_qsl(original.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        )
    except (UnicodeDecodeError, ValueError):
        raise Fault(
            "AuthFailure.SignatureFailure", "signature plaintext is not a query string"
        ) from None
    for key in _REQUIRED:
        if not params.get(key):
            raise Fault("AuthFailure.SignatureFailure", f"signature lacks parameter {key}")
    return params, mac, original


def _check_claims(params: dict[str, str], now: float) -> None:
    if params["action"] != "Login":
        raise Fault(
            "AuthFailure.UnauthorizedOperation",
            f"signature action {params['action']!r} cannot log in",
        )
    try:
        current, expire = int(params["currentTimeStamp"]), int(params["expireTime"])
        random = int(params["random"])
    except ValueError:
        raise Fault(
            "AuthFailure.SignatureFailure", "signature has a non-integer time or random"
        ) from None
    if not 0 <= random < 2**32:
        raise Fault("AuthFailure.SignatureFailure", "random is not a uint32")
    if expire <= now:
        raise Fault("AuthFailure.SignatureExpire", "signature expired")
    if expire > now + MAX_SIGNATURE_VALIDITY or expire - current > MAX_SIGNATURE_VALIDITY:
        raise Fault("AuthFailure.SignatureExpire", "signature validity longer than 24 hours")
    if expire < current:
        raise Fault("AuthFailure.SignatureFailure", "expireTime before currentTimeStamp")
