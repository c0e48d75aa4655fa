"""Review of the secrets rule: a traceback rendered with its frames' locals (what
Sentry's "local variables" and ``TracebackException(capture_locals=True)`` do) neither
shows the secret key nor fails to render, whatever option was wrong."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest

import cme_async
from cme_async._limits import LocalRateLimiter
from cme_async._tokens import MemoryTicketStore, TokenManager

KEY = "review-secret-key-0123456789abcdef"
ENV = {"CME_SECRET_ID": "AKIDreviewSecrets", "CME_SECRET_KEY": KEY}


def rendered(exc: BaseException) -> str:
    """The traceback with every frame's locals, as a crash reporter would show it."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def signer() -> cme_async.LocalSigner:
    return cme_async.LocalSigner("AKIDreviewSecrets", KEY, "1000000009")


async def _fail_login() -> None:
    pass


CASES: dict[str, Callable[[], object]] = {
    "signer without platform": lambda: cme_async.LocalSigner("AKIDx", KEY, ""),
    "signer with a bad expiry": lambda: cme_async.LocalSigner("AKIDx", KEY, "p", expire_seconds=0),
    "signer key not utf-8": lambda: cme_async.LocalSigner("AKIDx", KEY + "\udce9", "p"),
    "signer from env without platform": lambda: cme_async.LocalSigner.from_env(ENV),
    "client from env without platform": lambda: cme_async.AsyncCmeClient.from_env(ENV),
    "client from env with a bad url": lambda: cme_async.AsyncCmeClient.from_env(
        {**ENV, "CME_PLATFORM": "p", "CME_API_URL": "ftp://example.com"}
    ),
    "client with a bad timeout": lambda: cme_async.AsyncCmeClient(signer(), "u", timeout=-1),
    "client with a bad user id": lambda: cme_async.AsyncCmeClient(signer(), ""),
    "sign with a bad nonce": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY, platform="p", user_id="u", nonce=-1
    ),
    "sign with an empty user": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY, platform="p", user_id=""
    ),
    "sign with a key not utf-8": lambda: cme_async.sign(
        secret_id="AKIDx", secret_key=KEY + "\udce9", platform="p", user_id="u"
    ),
    "store with a bad size": lambda: MemoryTicketStore(max_tickets=0),
    "token manager with a bad ttl": lambda: TokenManager(_fail_login, ticket_ttl=-1),  # type: ignore[arg-type]
    "rate limiter with a bad rate": lambda: LocalRateLimiter(-1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_option_renders_with_locals_and_without_the_key(case: str) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        CASES[case]()
    text = rendered(caught.value)  # must not raise (a repr of a half-built object did)
    assert KEY not in text


async def test_a_signer_whose_key_is_not_utf8_fails_at_construction() -> None:
    """A key read from the environment with a byte that is not UTF-8 (surrogateescape)
    used to fail inside the login, its UnicodeEncodeError carrying the whole key."""
    with pytest.raises(ValueError, match="secret_key") as caught:
        cme_async.LocalSigner("AKIDx", "abc\udce9" + KEY, "p")
    assert KEY not in repr(caught.value) + str(caught.value)
