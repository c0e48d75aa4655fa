"""The login exchange: verify a client access signature, issue a ticket.

``signature = base64(HMAC-SHA1(secret_key, original) || original)``; the
server parses ``original`` itself, so parameter order does not matter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
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


def verify_signature(signature: str | None, creds: Credentials, now: float) -> str:
    """The signature's ``userId`` if it is a valid, current ``Login`` signature; else a Fault."""
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
    if params["secretId"] != creds.secret_id:
        raise Fault("AuthFailure.SecretIdNotFound", "secretId not found")
    expected = hmac.new(creds.secret_key.encode("utf-8"), original, hashlib.sha1).digest()
    if not hmac.compare_digest(mac, expected):
        raise Fault("AuthFailure.SignatureFailure", "signature verify fail")
    if params["platform"] != creds.platform:
        raise Fault("InvalidParameterValue.Platform", "platform not exist")
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
    return params["userId"]
