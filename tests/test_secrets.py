"""No ticket, signature or secret key in any log record, exception text or repr."""

import logging

import httpx
import pytest
import respx

import cme_async
from cme_async._redact import redact
from tests.conftest import API, LOGIN, PLATFORM, SECRET_KEY, LoginCounter, fail, ok


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


@pytest.mark.parametrize("echoed", ["ticket", "signature"])
async def test_a_secret_echoed_after_the_remembered_list_forgot_it_is_masked(
    mock: respx.MockRouter, signer: cme_async.LocalSigner, echoed: str
) -> None:
    """A web app sees more tickets than ``_redact`` remembers (512): the secret an
    exchange is sending is masked in the error it builds, however many came since."""
    from cme_async import _redact

    ticket = "tf_ticket_forgotten_by_the_list_0001"
    signatures: list[str] = []

    def login(request: httpx.Request) -> httpx.Response:
        signature = request.url.params["signature"]
        signatures.append(signature)
        for n in range(600):  # other users' logins in between, in a busy process
            _redact.register_secret(f"other-secret-{n:04d}-padding")
        if echoed == "signature":  # an error page quoting the signature bare
            return httpx.Response(502, text=f"<p>no upstream for {signature}</p>")
        body = {"Response": {"Authorization": ticket, "AppId": 1, "Platform": PLATFORM}}
        return httpx.Response(200, json=body)

    def action(request: httpx.Request) -> httpx.Response:
        sent = request.url.params["auth"]
        for n in range(600):
            _redact.register_secret(f"more-secret-{n:04d}-padding")
        return httpx.Response(200, json=fail("InternalError", f"ticket {sent} is broken"))

    mock.get(url__startswith=LOGIN).mock(side_effect=login)
    mock.post(url__startswith=API).mock(side_effect=action)
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=0) as client:
        with pytest.raises(cme_async.CmeError) as info:
            await client.call("Material", "DescribeClass", {})
    text = str(info.value) + repr(info.value) + str(getattr(info.value, "body_snippet", ""))
    if echoed == "ticket":
        assert "is broken" in text and ticket not in text
    else:
        assert "no upstream for" in text and signatures
        # The quote is cut at 200 characters: look for any part of a signature.
        assert not [s for s in signatures if s[:24] in text or s[-24:] in text]
