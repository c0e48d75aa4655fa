"""The answers the emulator writes: the client-API envelope, the two login shapes and
the injected failures (an HTTP error page, a malformed body)."""

from __future__ import annotations

import json
from typing import Any, Literal

from ._controls import FailRule
from ._faults import Fault

LoginShape = Literal["current", "legacy"]
Headers = list[tuple[bytes, bytes]]

JSON_HEADERS: Headers = [(b"content-type", b"application/json; charset=utf-8")]
MALFORMED = b'{"Code": "Success", "Message": "\xe6\x88\x90\xe5\x8a\x9f", "Data": {"Mat'


class Reply:
    """An HTTP answer, plus the ``Code`` it carries (None when it carries none)."""

    __slots__ = ("body", "code", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Headers, code: str | None = None) -> None:
        self.status, self.body, self.headers, self.code = status, body, headers, code


def plain(status: int, text: bytes, *extra: tuple[bytes, bytes]) -> Reply:
    return Reply(status, text, [(b"content-type", b"text/plain"), *extra])


def json_reply(payload: Any, request_id: str, status: int = 200, code: str | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, [*JSON_HEADERS, (b"x-request-id", request_id.encode())], code)


def envelope(fault: Fault | None, data: Any, request_id: str) -> Reply:
    """The client-API answer: ``{"Code", "Message", "EnglishMessage"[, "Data"]}``."""
    if fault is not None:
        payload: dict[str, Any] = {
            "Code": fault.code,
            "Message": fault.message,
            "EnglishMessage": fault.english,
        }
        return json_reply(payload, request_id, code=fault.code)
    payload = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}
    if data is not None:
        payload["Data"] = data
    return json_reply(payload, request_id, code="Success")


def login_ok(
    shape: LoginShape,
    *,
    app_id: int,
    ticket: str,
    platform: str,
    user_id: str,
    tf_uid: str,
    request_id: str,
) -> Reply:
    if shape == "legacy":
        data = {"AppId": app_id, "Platform": platform, "UserId": user_id, "Authorization": ticket}
        payload = {"Code": "Success", "Message": "成功", "EnglishMessage": "OK", "Data": data}
        return json_reply(payload, request_id, code="Success")
    response = {
        "AppId": app_id,
        "Authorization": ticket,
        "Platform": platform,
        "RequestId": request_id,
        "TfUid": tf_uid,
    }
    return json_reply({"Response": response}, request_id, code="Success")


def login_error(shape: LoginShape, fault: Fault, request_id: str) -> Reply:
    """``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` (legacy: the envelope)."""
    if shape == "legacy":
        return envelope(fault, None, request_id)
    error = {"Code": fault.code, "Message": fault.english}
    return json_reply(
        {"Response": {"Error": error, "RequestId": request_id}}, request_id, code=fault.code
    )


def injected(rule: FailRule, request_id: str, login_shape: LoginShape | None) -> Reply:
    """The answer a ``fail_next`` rule asks for (``login_shape`` set for the login endpoint);
    ``drop_connection`` rules are the caller's to carry out."""
    rid = (b"x-request-id", request_id.encode())
    if rule.kind == "malformed":
        return Reply(200, MALFORMED, [*JSON_HEADERS, rid])
    if rule.kind == "http_status":
        status = rule.http_status or 500
        note = rule.message or "injected by FakeCme"
        page = f"<html><body><h1>{status}</h1>{note}</body></html>".encode()
        reply = Reply(status, page, [(b"content-type", b"text/html"), rid])
    else:
        fault = Fault(rule.code or "InternalError", rule.message)
        if login_shape is not None:
            reply = login_error(login_shape, fault, request_id)
        else:
            reply = envelope(fault, None, request_id)
    if rule.retry_after is not None:
        reply.headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
    return reply
