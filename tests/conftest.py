"""Shared fixtures for the unit tests (respx-mocked HTTP)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

import cme_async

API = "https://web-paas-api.cme.qcloud.com"
LOGIN = "https://open.cme.qcloud.com"
SECRET_KEY = "unit-test-secret-key-0123456789"
SECRET_ID = "AKIDunitTestSecretId"
PLATFORM = "1000000009"


def ok(data: object | None = None) -> dict[str, object]:
    body: dict[str, object] = {"Code": "Success", "Message": "成功", "EnglishMessage": "success"}
    if data is not None:
        body["Data"] = data
    return body


def fail(code: str, english: str = "error") -> dict[str, object]:
    return {"Code": code, "Message": "错误", "EnglishMessage": english}


class LoginCounter:
    """A respx side effect for the login endpoint: issues tf_1, tf_2, ... and counts."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.issued: list[str] = []
        self.signatures: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.signatures.append(request.url.params["signature"])
        ticket = f"tf_ticket_{next(self._ids):04d}_secretvalue"
        self.issued.append(ticket)
        return httpx.Response(
            200,
            json={
                "Response": {
                    "AppId": 1200000001,
                    "Authorization": ticket,
                    "Platform": PLATFORM,
                    "RequestId": "login-req",
                    "TfUid": "tfuid-1",
                }
            },
        )

    @property
    def count(self) -> int:
        return len(self.issued)


@pytest.fixture
def signer() -> cme_async.LocalSigner:
    return cme_async.LocalSigner(SECRET_ID, SECRET_KEY, PLATFORM)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def logins(mock: respx.MockRouter) -> LoginCounter:
    counter = LoginCounter()
    mock.get(url__startswith=LOGIN).mock(side_effect=counter)
    return counter


@pytest.fixture
async def client(signer: cme_async.LocalSigner) -> AsyncIterator[cme_async.AsyncCmeClient]:
    async with cme_async.AsyncCmeClient(signer, "user_1", max_retries=2) as c:
        yield c
