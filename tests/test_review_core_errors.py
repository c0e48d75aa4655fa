"""Review of error texts: a huge answer or message is quoted in bounded time and size,
and secrets in it stay masked (also in the attributes a message is kept in)."""

from __future__ import annotations

import json
import time

import pytest

import cme_async
from cme_async._errors import CmeApiError, snippet
from cme_async._redact import register_secret

TICKET = "tf_review_errors_ticket_0123456789abcdef"
# Generous: the fixed code takes milliseconds; redacting whole answers took 15 s of CPU.
CPU_BOUND = 3.0


def _register_many() -> None:
    register_secret(TICKET)
    for i in range(600):  # a long-running process remembers up to 512
        register_secret(f"tf_review_filler_{i:04d}_abcdefghijklmnop")
    register_secret(TICKET)  # the most recent, so it stays remembered


def test_a_huge_unexpected_body_is_quoted_without_redacting_all_of_it() -> None:
    """A 32 MiB proxy page (within max_response_bytes) was decoded and redacted whole
    before 200 characters of it were kept: ~15 s of CPU with the event loop blocked,
    three times over when retried."""
    _register_many()
    body = b"<html>" + TICKET.encode() + b"x" * (32 * 1024 * 1024) + b"</html>"
    started = time.process_time()
    text = snippet(body)
    assert time.process_time() - started < CPU_BOUND
    assert TICKET not in text and text.startswith("<html>***")
    assert len(text) < 300


def test_a_secret_across_the_cut_is_masked_not_half_shown() -> None:
    _register_many()
    for start in (150, 190, 199, 200, 205):
        text = snippet("a" * start + TICKET + "b" * 100_000)
        assert TICKET[:12] not in text, start


def test_an_api_error_with_a_huge_message_is_bounded_and_masked() -> None:
    _register_many()
    huge = "Authorization refused for " + TICKET + " " + "m" * (8 * 1024 * 1024)
    started = time.process_time()
    err = CmeApiError("InternalError", huge, huge, action="Material/DescribeClass")
    assert time.process_time() - started < CPU_BOUND
    text = str(err)
    assert len(text) < 5000
    assert TICKET not in text and TICKET not in err.message and TICKET not in err.english_message
    assert text.startswith("Material/DescribeClass: InternalError: Authorization refused for ***")


def test_ordinary_messages_are_kept_whole() -> None:
    err = cme_async.NotFoundError(
        "InvalidParameterValue.MaterialId", "媒体不存在", "material not exist", action="M/D"
    )
    assert err.message == "媒体不存在" and err.english_message == "material not exist"
    assert str(err) == "M/D: InvalidParameterValue.MaterialId: material not exist / 媒体不存在"


def test_a_deeply_nested_answer_is_malformed_not_a_recursion_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without orjson (the ``speedups`` extra), json.loads raised RecursionError on an
    answer nested 200,000 deep: not a CmeError, so it escaped the retry policy and the
    promise that everything the SDK raises derives from CmeError."""
    from cme_async import _envelope

    monkeypatch.setattr(_envelope, "_loads", json.loads)
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(cme_async.MalformedResponseError, match="nested too deeply"):
        _envelope.parse_action_response(200, {}, b'{"Code":"Success","Data":' + deep + b"}", "A/B")
    with pytest.raises(cme_async.MalformedResponseError, match="nested too deeply"):
        _envelope.parse_login_response(200, {}, b'{"Response":' + deep + b"}")
