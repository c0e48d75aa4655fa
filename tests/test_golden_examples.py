"""Every documented example pair, end to end through the generated methods.

Each example request must be producible by calling the generated method with the
example's fields (the wire body sent is exactly the example), each success answer
must parse into the response class (and unstructure back to the documented
``Data``, alias spellings normalised), and each error answer must raise the error
class of its code.
"""

from __future__ import annotations

from typing import Any

import pytest
from actions_support import (
    kwargs_from_wire,
    mocked_client,
    normalize,
    reference_actions,
    route,
    sent,
    spec_of,
)

import cme_async
from cme_async import _errors
from cme_async._catalogue import catalogue
from cme_async._converter import converter
from cme_async._generated import models

ERROR_CODES = catalogue().error_codes

FAMILY_CLASS = {
    "auth": _errors.AuthError,
    "rate_limit": _errors.RateLimitError,
    "invalid_parameter": _errors.InvalidParameterError,
    "permission": _errors.PermissionDeniedError,
    "not_found": _errors.NotFoundError,
    "quota": _errors.QuotaExceededError,
    "operation_failed": _errors.OperationFailedError,
    "server": _errors.ServerError,
    "other": _errors.CmeApiError,
}

CASES = [
    pytest.param(action, example, id=f"{action['action_name']}-{n}")
    for action in reference_actions()
    for n, example in enumerate(action["examples"])
]


def test_every_action_has_examples() -> None:
    assert len(reference_actions()) == 32
    assert len(CASES) == 64


@pytest.mark.parametrize(("action", "example"), CASES)
async def test_example(action: dict[str, Any], example: dict[str, Any]) -> None:
    spec = spec_of(action)
    answer = example["response"]
    async with mocked_client() as (client, router):
        r = route(router, spec.action_class, spec.action_name).respond(json=answer)
        method = getattr(getattr(client, spec.action_class.lower()), spec.method)
        kwargs = kwargs_from_wire(spec, example["request"])
        if answer["Code"] != "Success":
            expected = cme_async.error_class_for(answer["Code"])
            with pytest.raises(expected) as info:
                await method(**kwargs)
            assert info.value.code == answer["Code"]
            assert info.value.english_message == answer["EnglishMessage"]
            # The catalogue's family for the code agrees with the class raised; a code the
            # catalogue marks not_found is also a NotFoundError.
            code_spec = ERROR_CODES[answer["Code"]]
            assert issubclass(expected, FAMILY_CLASS[code_spec.family])
            assert issubclass(expected, _errors.NotFoundError) == code_spec.not_found
            if not code_spec.not_found:
                assert FAMILY_CLASS[code_spec.family] is expected
            assert answer["Code"] in spec.errors
            result = None
        else:
            result = await method(**kwargs)
        assert r.call_count == 1
        assert sent(r) == example["request"]

    if answer["Code"] != "Success":
        return
    if not spec.has_data:
        assert result is None
        assert "Data" not in answer
        return
    response_cls = getattr(models, f"{spec.action_name}Response")
    assert isinstance(result, response_cls)
    data = answer.get("Data")
    if data is None:
        # FinishUploadMaterial: documented Data.MaterialId, example answers without Data.
        assert converter.unstructure(result) == {}
        return
    if spec.action_name == "DescribeMaterials" and "MaterialInfoSet" not in data:
        # Documented oddity: the example answers one flat MaterialInfo.
        data = {"MaterialInfoSet": [data]}
    assert converter.unstructure(result) == normalize(data, spec.response)
    # And the typed view reads the documented values.
    assert converter.structure(data, response_cls) == result
