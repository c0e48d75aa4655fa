"""No ticket, signature or secret key in any log record, exception text or repr."""

import logging

import httpx
import pytest
import respx

import cme_async
from cme_async._redact import redact
from tests.conftest import API, LOGIN, SECRET_KEY, LoginCounter, fail, ok


@pytest.fixture
def all_records() -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    names = ["cme_async", "httpx", "httpcore"]
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(old_level)
    for n, level in old.items():
        logging.getLogger(n).setLevel(level)


def rendered(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_text:
        text += record.exc_text
    return text


async def test_no_secret_in_logs_or_errors(
    mock: respx.MockRouter,
    logins: LoginCounter,
    signer: cme_async.LocalSigner,
    all_records: list[logging.LogRecord],
) -> None:
    errors: list[BaseException] = []
    answers = iter(
        [
            httpx.Response(200, json=ok()),
            httpx.Response(200, json=fail("AuthFailure.SessionInvalid")),
            httpx.Response(200, json=ok()),
            httpx.Response(502, text="<html>bad gateway</html>"),
            httpx.Response(200, text='{"Code": "Success", "Data": {"Auth'),
        ]
    )
    mock.post(url__startswith=f"{API}/PaaS/").mock(side_effect=lambda r: next(answers))
    async with cme_async.AsyncCmeClient(signer, "user_1", max_retries=0) as client:
        for _ in range(4):
            try:
                await client.call("Project", "CreateProject", {"Name": "n"})
            except cme_async.CmeError as exc:
                errors.append(exc)
                logging.getLogger("app").exception("call failed")
        ticket_repr = repr(client.ticket)
        client_repr = repr(client)
    assert len(errors) == 2 and logins.count == 2
    secrets = [*logins.issued, *logins.signatures, SECRET_KEY]
    httpx_lines = [r for r in all_records if r.name == "httpx"]
    assert httpx_lines, "httpx should have logged its request lines at INFO"
    assert any("auth=***" in rendered(r) for r in httpx_lines)
    assert any("signature=***" in rendered(r) for r in httpx_lines)
    for record in all_records:
        text = rendered(record)
        for secret in secrets:
            assert secret not in text, f"secret leaked in {record.name}: {text[:120]}"
    for exc in errors:
        for secret in secrets:
            assert secret not in str(exc) and secret not in repr(exc)
    for text in (ticket_repr, client_repr, repr(signer)):
        for secret in secrets:
            assert secret not in text


async def test_login_error_bodies_are_redacted(mock: respx.MockRouter) -> None:
    mock.get(url__startswith=LOGIN).respond(
        200, json={"Response": {"Authorization": 17, "Note": "signature=abcdefgh1234"}}
    )

    async def signer(user_id: str) -> str:
        return "sig-from-backend-abcdef"

    async with cme_async.AsyncCmeClient(signer, "u", platform="1000000009") as client:
        with pytest.raises(cme_async.MalformedResponseError) as info:
            await client.call("Material", "DeleteMaterial", {"MaterialId": "1"})
    assert "abcdefgh1234" not in str(info.value) and "Login" in str(info.value)


def test_redact_patterns() -> None:
    text = (
        'POST https://x/PaaS/A/B?auth=tf_abc%2Bdef&x=1 {"Authorization": "tf_live_123456"} '
        "GET /?signature=AbC%2F%3D%3D"
    )
    clean = redact(text)
    assert "tf_abc" not in clean and "tf_live_123456" not in clean and "AbC" not in clean
    assert "x=1" in clean and "auth=***" in clean
