import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

import pytest

import cme_async

KAT = (
    "CKH7UW2l9oE1EcdOWEnrLIk1bq9zZWNyZXRJZD1BS0lEZXhhbXBsZVNlY3JldElkJmN1cnJlbnRUaW1lU3RhbXA9MTcw"
    "MDAwMDAwMCZleHBpcmVUaW1lPTE3MDAwMDAzMDAmcmFuZG9tPTEyMzQ1NiZwbGF0Zm9ybT0xMDAwMDAwMDA5JmFjdGlv"
    "bj1Mb2dpbiZ1c2VySWQ9dXNlcl8x"
)
BASE = dict(
    secret_id="AKIDexampleSecretId",
    secret_key="exampleSecretKey",
    platform="1000000009",
    user_id="user_1",
)


def test_known_answer() -> None:
    assert cme_async.sign(**BASE, now=1700000000, expire_seconds=300, nonce=123456) == KAT


def test_structure_mac_then_original() -> None:
    raw = base64.b64decode(KAT)
    original = raw[20:]
    assert raw[:20] == hmac.new(b"exampleSecretKey", original, hashlib.sha1).digest()
    assert raw[:20].hex() == "08a1fb516da5f6813511c74e5849eb2c89356eaf"
    assert [k for k, _ in parse_qsl(original.decode())] == [
        "secretId",
        "currentTimeStamp",
        "expireTime",
        "random",
        "platform",
        "action",
        "userId",
    ]


def decode(signature: str) -> list[tuple[str, str]]:
    return parse_qsl(base64.b64decode(signature)[20:].decode())


def test_values_are_urlencoded_space_as_plus() -> None:
    sig = cme_async.sign(**{**BASE, "user_id": "a b&c=d/é"}, now=1, nonce=1)
    original = base64.b64decode(sig)[20:].decode()
    assert "userId=a+b%26c%3Dd%2F%C3%A9" in original
    assert dict(decode(sig))["userId"] == "a b&c=d/é"


def test_defaults_now_and_random_nonce() -> None:
    a = dict(decode(cme_async.sign(**BASE)))
    b = dict(decode(cme_async.sign(**BASE)))
    assert int(a["expireTime"]) - int(a["currentTimeStamp"]) == 300
    assert 0 <= int(a["random"]) < 2**32
    assert a["random"] != b["random"] or a["currentTimeStamp"] != b["currentTimeStamp"]


def test_open_project_appends_project_id_last() -> None:
    sig = cme_async.sign(**BASE, action="OpenProject", project_id="cmepid_1", now=5, nonce=7)
    pairs = decode(sig)
    assert pairs[-1] == ("openProject.projectId", "cmepid_1")
    assert ("action", "OpenProject") in pairs


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"secret_id": ""}, "secret_id"),
        ({"secret_key": ""}, "secret_key"),
        ({"platform": ""}, "platform"),
        ({"user_id": ""}, "user_id"),
        ({"expire_seconds": 0}, "expire_seconds"),
        ({"expire_seconds": -5}, "expire_seconds"),
        ({"action": "Delete"}, "action"),
        ({"action": "OpenProject"}, "project_id"),
        ({"nonce": 2**32}, "nonce"),
    ],
)
def test_bad_arguments_name_the_argument(override: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        cme_async.sign(**{**BASE, **override})  # type: ignore[arg-type]


async def test_local_signer_fresh_signature_each_call_and_hidden_key() -> None:
    signer = cme_async.LocalSigner("AKIDexampleSecretId", "exampleSecretKey", "1000000009")
    first, second = await signer("user_1"), await signer("user_1")
    assert dict(decode(first))["action"] == "Login"
    assert dict(decode(first))["userId"] == "user_1"
    assert first != second  # a new nonce every call
    text = repr(signer)
    assert "exampleSecretKey" not in text and "secret_key=***" in text
    assert "AKIDexampleSecretId" not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(signer)


def test_local_signer_validates_up_front() -> None:
    with pytest.raises(ValueError, match="secret_key"):
        cme_async.LocalSigner("id", "", "1")
    with pytest.raises(ValueError, match="expire_seconds"):
        cme_async.LocalSigner("id", "key", "1", expire_seconds=0)
