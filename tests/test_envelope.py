"""Reading answers: action envelopes, both login shapes, malformed bodies, error mapping."""

import json

import pytest

import cme_async
from cme_async._envelope import parse_action_response, parse_login_response

ACTION = "Material/DeleteMaterial"


def parse(body: object, status: int = 200, headers: dict[str, str] | None = None) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_action_response(status, headers or {}, raw, ACTION)


def test_data_returned_and_absent_data_is_none() -> None:
    assert parse({"Code": "Success", "Message": "成功", "Data": {"ItemId": "1"}}) == {"ItemId": "1"}
    assert parse({"Code": "Success", "Message": "成功", "EnglishMessage": "success"}) is None


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AuthFailure.SessionInvalid", cme_async.AuthError),
        ("AuthFailure", cme_async.AuthError),
        ("RequestLimitExceeded.UinLimitExceeded", cme_async.RateLimitError),
        ("InvalidParameterValue.MaterialId", cme_async.ParameterNotFoundError),
        ("InvalidParameterValue.Name", cme_async.InvalidParameterError),
        ("InvalidParameter.Platform", cme_async.InvalidParameterError),
        ("MissingParameter", cme_async.InvalidParameterError),
        ("UnknownParameter", cme_async.InvalidParameterError),
        ("InvalidAction", cme_async.InvalidParameterError),
        ("OperationDenied.PermissionDeny", cme_async.PermissionDeniedError),
        ("UnauthorizedOperation", cme_async.PermissionDeniedError),
        ("ResourceNotFound", cme_async.NotFoundError),
        ("LimitExceeded.BillItemStorage", cme_async.QuotaExceededError),
        ("FailedOperation.InvalidVodUser", cme_async.OperationFailedError),
        ("InternalError", cme_async.ServerError),
        ("ServiceUnavailable", cme_async.ServerError),
        ("SomethingNew.Odd", cme_async.CmeApiError),
        ("InvalidParameterValueish", cme_async.CmeApiError),
    ],
)
def test_error_class_by_code_family(code: str, cls: type[cme_async.CmeApiError]) -> None:
    with pytest.raises(cme_async.CmeApiError) as info:
        parse(
            {"Code": code, "Message": "媒体不存在", "EnglishMessage": "material not exist"},
            headers={"x-request-id": "req-42"},
        )
    err = info.value
    assert type(err) is cls
    assert err.code == code and err.action == ACTION and err.request_id == "req-42"
    assert err.http_status == 200 and err.english_message == "material not exist"
    text = str(err)
    assert ACTION in text and code in text and "req-42" in text and "material not exist" in text


def test_request_id_from_body_when_no_header() -> None:
    with pytest.raises(cme_async.NotFoundError) as info:
        parse({"Code": "ResourceNotFound", "Message": "x", "RequestId": "body-rid"})
    assert info.value.request_id == "body-rid"


@pytest.mark.parametrize(
    ("body", "status", "cls", "needle"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, cme_async.CmeHTTPError, "502"),
        (b"[]", 200, cme_async.MalformedResponseError, "list"),
        (b'{"Code": "Success", "Data": {"Mat', 200, cme_async.MalformedResponseError, "not JSON"),
        (b'{"Message": "ok"}', 200, cme_async.MalformedResponseError, "no Code"),
        (b"", 200, cme_async.MalformedResponseError, "empty"),
        (b'{"Code": 0}', 200, cme_async.MalformedResponseError, "not a string"),
        (b"null", 503, cme_async.CmeHTTPError, "503"),
    ],
)
def test_malformed_answers(body: bytes, status: int, cls: type[Exception], needle: str) -> None:
    with pytest.raises(cls) as info:
        parse(body, status=status, headers={"x-request-id": "rid-9"})
    text = str(info.value)
    assert needle in text and ACTION in text and "rid-9" in text


def test_error_envelope_on_non_2xx_is_still_an_api_error() -> None:
    with pytest.raises(cme_async.ServerError) as info:
        parse(
            {
                "Code": "InternalError",
                "Message": "服务器内部错误",
                "EnglishMessage": "system error",
            },
            status=500,
        )
    assert info.value.http_status == 500


def test_long_body_snippet_is_cut_to_200_chars() -> None:
    body = b"<html>" + b"x" * 5000 + b"</html>"
    with pytest.raises(cme_async.MalformedResponseError) as info:
        parse(body)
    assert len(info.value.body_snippet) < 230
    assert "+4813 chars" in info.value.body_snippet


# -- login shapes -----------------------------------------------------------------------------


def login(body: object, status: int = 200) -> dict[str, object]:
    return parse_login_response(status, {}, json.dumps(body).encode())


def test_login_current_shape() -> None:
    fields = login(
        {
            "Response": {
                "AppId": 1200000001,
                "Authorization": "tf_abc123def456",
                "Platform": "1000000009",
                "RequestId": "r",
                "TfUid": "u1",
            }
        }
    )
    assert fields["Authorization"] == "tf_abc123def456" and fields["TfUid"] == "u1"


def test_login_older_shape() -> None:
    fields = login(
        {
            "Code": "Success",
            "Message": "成功",
            "EnglishMessage": "OK",
            "Data": {"AppId": 123, "Platform": "p", "UserId": "u", "Authorization": "tf_zz9988"},
        }
    )
    assert fields["Authorization"] == "tf_zz9988" and fields["AppId"] == 123


def test_login_current_failure_shape() -> None:
    with pytest.raises(cme_async.LoginError) as info:
        login(
            {
                "Response": {
                    "Error": {
                        "Code": "InvalidParameterValue.Platform",
                        "Message": "platform not exist",
                    },
                    "RequestId": "rq-1",
                }
            }
        )
    err = info.value
    assert err.code == "InvalidParameterValue.Platform" and err.request_id == "rq-1"
    assert err.action == "Login" and "platform not exist" in str(err)


def test_login_older_failure_shape() -> None:
    with pytest.raises(cme_async.LoginError) as info:
        login(
            {
                "Code": "SignatureVerifyFail",
                "Message": "签名校验失败",
                "EnglishMessage": "Signature Verify Fail",
            }
        )
    assert info.value.code == "SignatureVerifyFail"
    assert "Signature Verify Fail" in str(info.value)


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"Response": {"AppId": 1}}, cme_async.MalformedResponseError),
        ({"Code": "Success"}, cme_async.MalformedResponseError),
        ({"hello": 1}, cme_async.MalformedResponseError),
        ([], cme_async.MalformedResponseError),
    ],
)
def test_login_malformed(body: object, cls: type[Exception]) -> None:
    with pytest.raises(cls, match="Login"):
        login(body)


def test_login_html_error_page() -> None:
    with pytest.raises(cme_async.CmeHTTPError, match="HTTP 504"):
        parse_login_response(504, {}, b"<html>gateway timeout</html>")
