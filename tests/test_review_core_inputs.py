"""Review of the call road: what a user configures or passes is refused before anything
is sent when it could end up somewhere it must not (the request line, the ticket key)."""

from __future__ import annotations

import pytest

import cme_async

SIGNER = cme_async.LocalSigner("AKIDreviewInputs", "review-inputs-secret-key", "1000000009")
BASE = "http://127.0.0.1:8765"


@pytest.mark.parametrize("field", ["api_url", "login_url"])
@pytest.mark.parametrize(
    "tail",
    [
        "/p\r\nX-Injected: 1",
        "/p\nX-Injected: 1",
        "/p x HTTP/1.1",
        "/a b",
        "/p\t",
        "/\u2028",
        "/caf\u00e9",
        "/p\x7f",
        "/p\x00",
    ],
)
@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_an_endpoint_with_whitespace_or_control_characters_is_refused(
    field: str, tail: str, transport: str
) -> None:
    """urlsplit drops tabs and line breaks before the checks, and the native road sends
    the URL as it is: "POST /p x HTTP/1.1X-Injected: 1/PaaS/... HTTP/1.1" went out."""
    urls = {"api_url": BASE, "login_url": BASE, field: BASE + tail}
    with pytest.raises(ValueError, match=field) as caught:
        cme_async.AsyncCmeClient(SIGNER, "u1", transport=transport, **urls)  # type: ignore[arg-type]
    assert "printable ASCII" in str(caught.value)


def test_percent_encoded_and_plain_endpoints_are_still_accepted() -> None:
    for url in (BASE, BASE + "/base/path", BASE + "/caf%C3%A9", "https://xn--fsqu00a.example"):
        client = cme_async.AsyncCmeClient(SIGNER, "u1", api_url=url, login_url=url)
        assert client.user_id == "u1"


def test_a_user_id_that_is_not_valid_utf8_is_refused_naming_user_id() -> None:
    root = cme_async.AsyncCmeClient(SIGNER, None, api_url=BASE, login_url=BASE)
    for bad in ("\ud800", "abc\udce9"):
        with pytest.raises(ValueError, match="user_id"):
            root.as_user(bad)
        with pytest.raises(ValueError, match="user_id"):
            cme_async.AsyncCmeClient(SIGNER, bad, api_url=BASE, login_url=BASE)
    # Odd but valid ids keep working, each its own identity.
    ids = ["a|b", "a%7Cb", "用户", "😀", "a\nb", "x" * 5000]
    keys = {root.as_user(uid)._identity.key for uid in ids}  # type: ignore[union-attr]
    assert len(keys) == len(ids)
