"""Hostile-review regressions: emulator controls given nonsense refuse it at once,
naming the argument, instead of arming a fault that tests nothing (a "failure" with
HTTP 200 or code "Success"), hangs (infinite latency) or fails later far from the cause
(a seed whose misspelt key leaves the world empty)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from cme_async.testing import FakeCme

MISUSE: list[tuple[str, Callable[[FakeCme], Any], str]] = [
    ("status 200", lambda f: f.fail_next("SearchMaterial", http_status=200), "http_status"),
    ("status 99", lambda f: f.fail_next("SearchMaterial", http_status=99), "http_status"),
    ("status text", lambda f: f.fail_next("SearchMaterial", http_status="503"), "http_status"),
    ("code Success", lambda f: f.fail_next("SearchMaterial", code="Success"), "code"),
    ("code empty", lambda f: f.fail_next("SearchMaterial", code=""), "code"),
    ("code int", lambda f: f.fail_next("SearchMaterial", code=5), "code"),
    ("times bool", lambda f: f.fail_next("SearchMaterial", code="X", times=True), "times"),
    ("times float", lambda f: f.fail_next("SearchMaterial", code="X", times=1.5), "times"),
    ("message int", lambda f: f.fail_next("SearchMaterial", code="X", message=5), "message"),
    (
        "retry_after nan",
        lambda f: f.fail_next("SearchMaterial", code="X", retry_after=math.nan),
        "retry_after",
    ),
    ("random status 200", lambda f: f.fail_randomly(0.5, http_status=200), "http_status"),
    ("login status 302", lambda f: f.fail_next_login(http_status=302), "http_status"),
    ("latency nan", lambda f: f.latency(math.nan), "latency"),
    ("latency inf", lambda f: f.latency(math.inf, "SearchMaterial"), "latency"),
    ("latency negative", lambda f: f.latency(-1), "latency"),
    ("login latency inf", lambda f: f.login_latency(math.inf), "latency"),
    ("ttl negative", lambda f: setattr(f, "ticket_ttl", -1), "ticket_ttl"),
    ("ttl nan", lambda f: setattr(f, "ticket_ttl", math.nan), "ticket_ttl"),
    ("seed key typo", lambda f: f.load_seed({"matrials": []}), "'matrials'"),
    (
        "seed record key typo",
        lambda f: f.load_seed({"classes": [{"Owner": {}, "Path": "/a"}]}),
        "'Path'",
    ),
    ("seed record not object", lambda f: f.load_seed({"materials": ["m1"]}), "materials[0]"),
    ("seed missing key", lambda f: f.load_seed({"teams": [{"Name": "t"}]}), "'TeamId'"),
]


@pytest.mark.parametrize(("case", "misuse", "words"), MISUSE, ids=[m[0] for m in MISUSE])
def test_control_misuse_is_refused_naming_the_argument(
    case: str, misuse: Callable[[FakeCme], Any], words: str
) -> None:
    fake = FakeCme.seeded()
    before = len(fake.state.materials)
    with pytest.raises((ValueError, TypeError)) as info:
        misuse(fake)
    assert words in str(info.value), (case, str(info.value))
    assert fake.controls.rules == [] and not fake.controls.latencies
    assert len(fake.state.materials) == before


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"task_duration": -1}, "task_duration"),
        ({"task_duration": math.inf}, "task_duration"),
        ({"ai_page_size": 0}, "ai_page_size"),
        ({"ai_page_size": 2.5}, "ai_page_size"),
        ({"ticket_ttl": 0}, "ticket_ttl"),
    ],
)
def test_fake_cme_arguments_are_checked(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises((ValueError, TypeError), match=words):
        FakeCme(**kwargs)


def test_sane_controls_still_work() -> None:
    fake = FakeCme.seeded(task_duration=0, ai_page_size=1, ticket_ttl=30)
    fake.fail_next("SearchMaterial", http_status=503, retry_after=0, times=2, message="busy")
    fake.fail_next_login()
    fake.latency(0.5)
    fake.latency(0)
    fake.ticket_ttl = None
    fake.load_seed({"classes": [{"Owner": {"Type": "PERSON", "Id": "x"}, "ClassPath": "/a"}]})
    assert len(fake.controls.rules) == 2 and not fake.controls.latencies


@pytest.mark.parametrize(
    "content",
    [
        b'{"MaterialId":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # crashed the app
        b'{"MaterialId": "m", "StartTimeOffset": NaN, "EndTimeOffset": 9}',  # not JSON
        b'{"MaterialId": "m", "StartTimeOffset": 0, "EndTimeOffset": Infinity}',
    ],
    ids=["nested 100k deep", "NaN", "Infinity"],
)
async def test_a_body_that_is_not_standard_json_is_refused_not_crashed_on(
    api: Any, fake: FakeCme, content: bytes
) -> None:
    response = await api.http.post(
        "/PaaS/Material/DescribeMaterialSubtitle", params={"auth": api.ticket}, content=content
    )
    answer = response.json()
    assert (response.status_code, answer["Code"]) == (200, "InvalidParameter")
    assert "not JSON" in answer["EnglishMessage"]
    assert fake.internal_errors == []


async def test_a_control_body_nested_beyond_reason_is_a_400(api: Any, fake: FakeCme) -> None:
    deep = b'{"Action":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await api.http.post("/_emulator/fail-next", content=deep)
    assert response.status_code == 400 and "Error" in response.json()
    assert fake.controls.rules == []


def test_a_platform_no_credentials_serve_is_refused_not_created() -> None:
    """load_seed(platform="typo") filled a space no login can reach, so the test's own
    platform stayed empty and 'not found' assertions passed for the wrong reason."""
    fake = FakeCme.seeded()
    with pytest.raises(ValueError, match=r"platform 'typo' .*add_credentials"):
        fake.load_seed({"classes": []}, platform="typo")
    with pytest.raises(ValueError, match=r"platform 'typo'"):
        fake.space("typo")
    assert "typo" not in fake.world.spaces
    fake.add_credentials("AKIDother000000000000000000000000000", "other-key", "typo")
    fake.load_seed(
        {"classes": [{"Owner": {"Type": "PERSON", "Id": "u"}, "ClassPath": "/a"}]}, platform="typo"
    )
    assert fake.space("typo") is fake.world.spaces["typo"]
