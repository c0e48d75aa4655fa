"""Regression tests for the adversarial review (issue 9): bad input is refused before
anything is sent, errors pickle, events and errors carry no secret, configuration is
checked with errors that name the fix."""

from __future__ import annotations

import logging
import math
import pickle

import httpx
import pytest
import respx

import cme_async
from cme_async._hooks import RequestEvent, ResponseEvent, RetryEvent
from tests.conftest import API, LOGIN, PLATFORM, LoginCounter, ok

SECRET_TICKET = "tf_ticket_0001_secretvalue"


@pytest.fixture
def any_post(mock: respx.MockRouter) -> respx.Route:
    return mock.post(url__startswith=API).respond(json=ok({"x": 1}))


# -- finding 7: action names and bodies ----------------------------------------------


@pytest.mark.parametrize(
    ("action_class", "action_name"),
    [
        ("Team", "DescribeTeams?auth=EVIL&x="),
        ("Team", "DescribeTeams#"),
        ("..", "../x"),
        ("Team", "describeTeams"),
        ("Team/Material", "X"),
        ("Team", ""),
        ("Team", "Describe Teams"),
        ("Team", "DescribeTeams\n"),
        ("Ｔeam", "X"),
    ],
)
async def test_injected_action_names_are_refused_before_sending(
    client: cme_async.AsyncCmeClient,
    any_post: respx.Route,
    logins: LoginCounter,
    action_class: str,
    action_name: str,
) -> None:
    with pytest.raises(cme_async.InvalidRequestError, match=r"\^\[A-Z\]") as info:
        await client.call(action_class, action_name, {})
    assert info.value.attempts == 0 and not info.value.may_have_run
    assert any_post.call_count == 0 and logins.count == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"Limit": math.nan}, "Out of range float"),
        ({"Limit": math.inf}, "Out of range float"),
        (["MaterialId"], "must be a mapping"),
        ("MaterialId=1", "must be a mapping"),
        ({"Name": "\ud800"}, "lone surrogate"),
        ({"Name": b"bytes"}, "bytes is not JSON serializable"),
        ({"Tags": {"a", "b"}}, "set is not JSON serializable"),
    ],
)
async def test_bodies_that_are_not_json_objects_are_refused(
    client: cme_async.AsyncCmeClient,
    any_post: respx.Route,
    body: object,
    words: str,
) -> None:
    with pytest.raises(cme_async.InvalidRequestError, match=words) as info:
        await client.call("Material", "SearchMaterial", body)  # type: ignore[arg-type]
    assert "nothing was sent" in str(info.value) or "mapping" in str(info.value)
    assert isinstance(info.value, cme_async.CmeError) and info.value.attempts == 0
    assert any_post.call_count == 0


async def test_deep_and_circular_bodies_are_refused(
    client: cme_async.AsyncCmeClient, any_post: respx.Route
) -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100_000):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    with pytest.raises(cme_async.InvalidRequestError, match="nested too deeply"):
        await client.call("Material", "SearchMaterial", deep)
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(cme_async.InvalidRequestError, match="Circular"):
        await client.call("Material", "SearchMaterial", circular)
    assert any_post.call_count == 0


async def test_call_options_are_checked(
    client: cme_async.AsyncCmeClient, any_post: respx.Route
) -> None:
    with pytest.raises(TypeError, match="replay_safe"):
        await client.call("Material", "SearchMaterial", {}, replay_safe="no")  # type: ignore[arg-type]
    for bad in (math.nan, math.inf, 0, -1):
        with pytest.raises(ValueError, match="deadline"):
            await client.call("Material", "SearchMaterial", {}, deadline=bad)
        with pytest.raises(ValueError, match="timeout"):
            await client.call("Material", "SearchMaterial", {}, timeout=bad)
    assert any_post.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"max_concurrency": 2.5}, "max_concurrency"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"deadline": math.nan}, "deadline"),
        ({"timeout": math.nan}, "timeout"),
        ({"ticket_ttl": math.nan}, "ticket_ttl"),
        ({"ticket_ttl": math.inf}, "ticket_ttl"),
        ({"rate_limit": math.nan}, "rate_limit"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"action_rate_limit": {"Material/SearchMaterial": -1}}, "action_rate_limit"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_client_options_are_checked(
    signer: cme_async.LocalSigner, kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        cme_async.AsyncCmeClient(signer, "u", **kwargs)  # type: ignore[arg-type]


# -- identity: the platform is required and keys tickets ------------------------------


def test_a_client_needs_a_platform() -> None:
    async def my_signer(user_id: str) -> str:
        return "sig"

    with pytest.raises(ValueError, match=r"platform='<your platform id>'.*signer\.platform"):
        cme_async.AsyncCmeClient(my_signer, "u")
    client = cme_async.AsyncCmeClient(my_signer, "u", platform="P1")
    assert client.platform == "P1"
    my_signer.platform = "P2"  # type: ignore[attr-defined]
    assert cme_async.AsyncCmeClient(my_signer, "u").platform == "P2"
    with pytest.raises(ValueError, match="differs"):
        cme_async.AsyncCmeClient(my_signer, "u", platform="P3")


async def test_two_platforms_with_one_user_id_never_share_a_ticket(
    mock: respx.MockRouter, logins: LoginCounter
) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["auth"])
        return httpx.Response(200, json=ok())

    mock.post(url__startswith=API).mock(side_effect=record)

    async def backend_signer(user_id: str) -> str:
        return f"signature-for-{user_id}"

    store = cme_async.MemoryTicketStore()  # one store shared by both tenants
    async with (
        cme_async.AsyncCmeClient(backend_signer, "u1", platform="P1", ticket_store=store) as p1,
        cme_async.AsyncCmeClient(backend_signer, "u1", platform="P2", ticket_store=store) as p2,
    ):
        await p1.call("Material", "DescribeClass", {})
        await p2.call("Material", "DescribeClass", {})
    assert logins.count == 2 and seen[0] != seen[1]


# -- users on one client --------------------------------------------------------------


async def test_a_client_without_user_points_to_as_user(
    signer: cme_async.LocalSigner, any_post: respx.Route, logins: LoginCounter
) -> None:
    async with cme_async.AsyncCmeClient(signer) as root:
        assert root.user_id is None
        with pytest.raises(ValueError, match=r"as_user\(user_id\)"):
            await root.call("Material", "DescribeClass", {})
        assert any_post.call_count == 0
        view = root.as_user("alice")
        assert view.user_id == "alice" and view._shared is root._shared
        await view.call("Material", "DescribeClass", {})
        assert view.with_options(max_retries=0).user_id == "alice"
        assert view.as_user("bob").user_id == "bob"
        with pytest.raises(ValueError, match="user_id"):
            root.as_user("")


async def test_views_own_nothing_and_the_root_ends_them(
    signer: cme_async.LocalSigner, any_post: respx.Route, logins: LoginCounter
) -> None:
    root = cme_async.AsyncCmeClient(signer)
    async with root.as_user("alice") as alice:
        await alice.call("Material", "DescribeClass", {})
    async with root.with_options(max_retries=0):
        pass
    assert not root.is_closed
    await root.as_user("bob").call("Material", "DescribeClass", {})
    await root.aclose()
    with pytest.raises(cme_async.ClientClosedError):
        await alice.call("Material", "DescribeClass", {})


# -- configuration errors that name the fix (issue 12) ----------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("127.0.0.1:8765", "needs a scheme"),
        ("ftp://example.com", "needs a scheme"),
        ("https://example.com/?auth=x", "query string"),
        ("https://example.com#frag", "query string"),
        ("http://example.com", "clear text"),
        ("https://user:pw@example.com", "credentials"),
    ],
)
def test_endpoint_urls_are_checked(signer: cme_async.LocalSigner, url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        cme_async.AsyncCmeClient(signer, "u", api_url=url)
    with pytest.raises(ValueError, match=words):
        cme_async.AsyncCmeClient(signer, "u", login_url=url)


def test_clear_text_is_fine_on_loopback_or_when_allowed(signer: cme_async.LocalSigner) -> None:
    for url in (
        "http://127.0.0.1:8765",
        "http://localhost:1",
        "http://[::1]:2",
        "http://x.invalid",
    ):
        cme_async.AsyncCmeClient(signer, "u", api_url=url, login_url=url)
    cme_async.AsyncCmeClient(signer, "u", api_url="http://10.0.0.1", allow_insecure=True)


def test_a_sync_signer_is_refused_with_what_a_signer_must_be() -> None:
    def sync_signer(user_id: str) -> str:
        return "sig"

    with pytest.raises(TypeError, match="async def signer"):
        cme_async.AsyncCmeClient(sync_signer, "u", platform="P")  # type: ignore[arg-type]


async def test_a_signer_returning_a_non_str_gets_a_type_error(
    mock: respx.MockRouter, any_post: respx.Route
) -> None:
    class Weird:
        platform = PLATFORM

        def __call__(self, user_id: str) -> str:
            return "not awaitable"

    async def returns_bytes(user_id: str) -> bytes:
        return b"sig"

    for bad in (Weird(), returns_bytes):
        async with cme_async.AsyncCmeClient(bad, "u", platform=PLATFORM) as c:  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="signer"):
                await c.call("Material", "DescribeClass", {})
    assert any_post.call_count == 0


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "CME_SECRET_ID": "AKIDenv",
        "CME_SECRET_KEY": "env-secret-key-0123456789",
        "CME_PLATFORM": "P7",
        "CME_USER_ID": "envuser",
        "CME_API_URL": "http://127.0.0.1:9",
        "CME_LOGIN_URL": "http://127.0.0.1:9",
    }
    client = cme_async.AsyncCmeClient.from_env(env, max_retries=0)
    assert (client.user_id, client.platform, client._max_retries) == ("envuser", "P7", 0)
    assert client._shared.api_base == "http://127.0.0.1:9/PaaS/"
    with pytest.raises(ValueError, match="CME_SECRET_KEY, CME_PLATFORM are not set"):
        cme_async.AsyncCmeClient.from_env({"CME_SECRET_ID": "x"})
    monkeypatch.setenv("CME_SECRET_ID", "AKIDenv")
    monkeypatch.setenv("CME_SECRET_KEY", "env-secret-key-0123456789")
    monkeypatch.setenv("CME_PLATFORM", "P8")
    assert cme_async.LocalSigner.from_env().platform == "P8"


# -- finding 7: pickling; finding 3: reprs ----------------------------------------------


def _every_error() -> list[cme_async.CmeError]:
    return [
        cme_async.NotFoundError("ResourceNotFound", "m", "e", request_id="r", action="A/B"),
        cme_async.AuthError("AuthFailure.SessionInvalid", "m", "e", action="A/B"),
        cme_async.CmeHTTPError(502, b"<html>?auth=tf_secret_html</html>", action="A/B"),
        cme_async.MalformedResponseError("not JSON", b"{", action="A/B", http_status=200),
        cme_async.CmeConnectionError("ConnectError (h:443): refused", action="A/B"),
        cme_async.CmeTimeoutError("deadline", action="A/B", kind="deadline"),
        cme_async.InvalidRequestError("bad body", action="A/B"),
        cme_async.RequestValidationError("Text too long", action="A/B", field="Text"),
        cme_async.TicketStoreError("down", store="RedisTicketStore", operation="get"),
        cme_async.RateLimiterError("down", limiter="RedisRateLimiter"),
        cme_async.ClientClosedError("closed"),
        cme_async.EventLoopMismatchError("other loop"),
    ]


@pytest.mark.parametrize("error", _every_error(), ids=lambda e: type(e).__name__)
def test_every_error_survives_pickling(error: cme_async.CmeError) -> None:
    error.attempts, error.may_have_run = 3, True
    error.__cause__ = httpx.ConnectError("https://h/?auth=tf_cause_secret")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert back.attempts == 3 and back.may_have_run is True
    assert back.__cause__ is None and "tf_cause_secret" not in repr(back.__dict__)


def test_event_reprs_mask_secrets() -> None:
    leaky = httpx.ConnectError(f"boom https://h/PaaS/A/B?auth={SECRET_TICKET}")
    events = [
        RequestEvent(action="A/B", attempt=1),
        ResponseEvent("A/B", 1, 0.1, None, None, None, error=leaky),
        RetryEvent("A/B", 1, f"reason auth={SECRET_TICKET}", True, 0.1, error=leaky),
    ]
    for event in events:
        assert SECRET_TICKET not in repr(event) and SECRET_TICKET not in str(event)


def test_redacting_filter_is_not_needed_by_app_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An app's own logger.exception() of an SDK error shows no ticket (no filter)."""
    app_logger = logging.getLogger("some.app")
    err = cme_async.CmeConnectionError(f"ReadError: x auth={SECRET_TICKET}", action="A/B")
    try:
        raise err
    except cme_async.CmeError:
        with caplog.at_level(logging.ERROR, logger="some.app"):
            app_logger.exception("call failed")
    assert "call failed" in caplog.text and SECRET_TICKET not in caplog.text


# -- login and auth codes (issue 12) ---------------------------------------------------


async def test_no_new_login_for_auth_codes_a_login_cannot_cure(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter
) -> None:
    route = mock.post(url__startswith=API).respond(
        json={"Code": "AuthFailure.UnauthorizedOperation", "Message": "no", "EnglishMessage": "no"}
    )
    with pytest.raises(cme_async.AuthError) as info:
        await client.call("Material", "DescribeClass", {})
    assert info.value.code == "AuthFailure.UnauthorizedOperation" and info.value.attempts == 1
    assert logins.count == 1 and route.call_count == 1


async def test_a_session_refused_once_makes_one_new_login(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter
) -> None:
    answers = iter(
        [
            httpx.Response(200, json={"Code": "AuthFailure.SessionInvalid"}),
            httpx.Response(200, json=ok()),
        ]
    )
    mock.post(url__startswith=API).mock(side_effect=lambda request: next(answers))
    assert await client.call("Material", "DescribeClass", {}) is None
    assert logins.count == 2


async def test_a_login_answered_request_limit_exceeded_is_retried(
    signer: cme_async.LocalSigner, mock: respx.MockRouter, any_post: respx.Route
) -> None:
    limited = httpx.Response(
        200,
        headers={"Retry-After": "0.05"},
        json={"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}}},
    )
    counter = LoginCounter()
    answers = iter([limited, limited])
    mock.get(url__startswith="https://open.cme.qcloud.com").mock(
        side_effect=lambda request: next(answers, None) or counter(request)
    )
    async with cme_async.AsyncCmeClient(signer, "u", max_retries=2) as c:
        assert await c.call("Material", "DescribeClass", {}) == {"x": 1}
    assert counter.count == 1


async def test_a_refused_signature_names_what_to_check(
    signer: cme_async.LocalSigner, mock: respx.MockRouter, any_post: respx.Route
) -> None:
    route = mock.get(url__startswith="https://open.cme.qcloud.com").respond(
        json={"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}}
    )
    async with cme_async.AsyncCmeClient(signer, "u") as c:
        with pytest.raises(cme_async.LoginError) as info:
            await c.call("Material", "DescribeClass", {})
    text = str(info.value)
    for hint in ("CME_SECRET_ID", "CME_SECRET_KEY", "CME_PLATFORM", "clock", "expired"):
        assert hint in text
    assert route.call_count == 1 and any_post.call_count == 0


async def test_a_404_names_the_url_path_but_never_the_ticket(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter
) -> None:
    mock.post(url__startswith=API).respond(404, text="<html>Not Found</html>")
    with pytest.raises(cme_async.CmeHTTPError) as info:
        await client.call("Material", "DescribeClass", {})
    text = str(info.value)
    assert f"{API}/PaaS/Material/DescribeClass" in text and "base URL" in text
    assert "auth=" not in text and logins.issued[0] not in text
    assert info.value.url == f"{API}/PaaS/Material/DescribeClass"


# -- not found (issue 12) -------------------------------------------------------------


def _not_found_codes() -> list[str]:
    from cme_async._generated._errors import NOT_FOUND_CODES

    return sorted(NOT_FOUND_CODES)


@pytest.mark.parametrize("code", _not_found_codes())
async def test_codes_that_mean_does_not_exist_raise_not_found(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter, code: str
) -> None:
    mock.post(url__startswith=API).respond(json={"Code": code, "Message": "不存在"})
    with pytest.raises(cme_async.NotFoundError) as info:
        await client.call("Material", "DeleteMaterial", {"MaterialId": "m"})
    assert info.value.code == code and not info.value.after_replay
    # Code written before NotFoundError covered these still catches them.
    assert isinstance(info.value, cme_async.InvalidParameterError) == code.startswith(
        "InvalidParameter"
    )


def test_the_catalogue_names_the_common_not_found_codes() -> None:
    codes = set(_not_found_codes())
    for code in (
        "InvalidParameterValue.MaterialId",
        "InvalidParameterValue.ProjectId",
        "InvalidParameterValue.ClassNotExist",
        "InvalidParameterValue.TeamNotExist",
        "ResourceNotFound",
    ):
        assert code in codes


async def test_a_delete_replayed_after_it_may_have_run_says_so(
    client: cme_async.AsyncCmeClient,
    mock: respx.MockRouter,
    logins: LoginCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cme_async._retry.backoff_delay", lambda n, retry_after=None: 0.0)
    answers = iter(
        [
            httpx.Response(503, text="busy"),
            httpx.Response(200, json={"Code": "InvalidParameterValue.MaterialId"}),
        ]
    )
    mock.post(url__startswith=API).mock(side_effect=lambda request: next(answers))
    with pytest.raises(cme_async.NotFoundError) as info:
        await client.call("Material", "DeleteMaterial", {"MaterialId": "m"})
    assert info.value.after_replay and info.value.attempts == 2 and info.value.may_have_run
    assert "probably did it" in str(info.value)


async def test_call_raw_gives_the_request_id_of_a_success(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter
) -> None:
    mock.post(url__startswith=API).respond(
        json=ok({"ClassInfoSet": []}), headers={"X-Request-Id": "req-42"}
    )
    result = await client.call_raw("Material", "DescribeClass", {})
    assert result == cme_async.RawResult({"ClassInfoSet": []}, "req-42", 200, 1)
    assert await client.call("Material", "DescribeClass", {}) == {"ClassInfoSet": []}


async def test_login_checks_the_key_and_returns_this_identitys_ticket(
    signer: cme_async.LocalSigner, logins: LoginCounter
) -> None:
    async with cme_async.AsyncCmeClient(signer) as root:
        with pytest.raises(ValueError, match="as_user"):
            await root.login()
        alice = root.as_user("alice")
        ticket = await alice.login()
        assert ticket.user_id == "alice" and ticket.platform == PLATFORM
        assert await alice.login() is ticket and logins.count == 1
    with pytest.raises(cme_async.ClientClosedError):
        await alice.login()


async def test_typed_results_carry_the_request_id(
    client: cme_async.AsyncCmeClient, mock: respx.MockRouter, logins: LoginCounter
) -> None:
    mock.post(url__startswith=API).respond(
        json=ok({"ClassInfoSet": []}), headers={"X-Request-Id": "req-typed-7"}
    )
    tree = await client.material.describe_class()
    assert tree.request_id == "req-typed-7"
    assert "req-typed-7" not in repr(tree) and "RequestId" not in tree.to_dict()
    assert type(tree).from_dict(tree.to_dict()) == tree  # not part of equality
    assert type(tree).from_dict({}).request_id is None


@pytest.mark.parametrize("ticket", ["tf_" + "x" * 70_000, "tf_with space", "tf_a\r\nX-Injected: 1"])
async def test_a_login_answer_whose_authorization_is_no_ticket_is_refused(
    mock: respx.MockRouter, signer: cme_async.LocalSigner, ticket: str
) -> None:
    """Kept, an absurd Authorization would ride in every URL: one too long for any
    server failed each call as 'not sent' and was never dropped (the user wedged)."""
    body = {"Response": {"Authorization": ticket, "AppId": 1, "Platform": "1000000009"}}
    login = mock.get(url__startswith=LOGIN).respond(200, json=body)
    action = mock.post(url__startswith=API).respond(200, json={"Code": "Success", "Data": {}})
    async with cme_async.AsyncCmeClient(signer, "u", platform="1000000009") as client:
        with pytest.raises(cme_async.CmeError) as info:
            await client.call("Material", "DescribeClass", {})
    assert "is not a ticket" in str(info.value)
    assert ticket[:40] not in str(info.value) + repr(info.value)
    assert login.call_count >= 1 and action.call_count == 0
    assert client.ticket is None


async def test_a_huge_request_id_or_code_is_cut_in_errors(
    mock: respx.MockRouter, logins: LoginCounter, signer: cme_async.LocalSigner
) -> None:
    answer = {"Code": "X" * 50_000, "Message": "m", "RequestId": "r" * 50_000}
    mock.post(url__startswith=API).respond(200, json=answer)
    async with cme_async.AsyncCmeClient(signer, "u", platform="1000000009", max_retries=0) as c:
        with pytest.raises(cme_async.CmeError) as info:
            await c.call("Material", "DescribeClass", {})
    assert len(str(info.value)) < 1_000 and len(repr(info.value)) < 1_000
    assert info.value.request_id is not None and "(50000 chars)" in info.value.request_id
