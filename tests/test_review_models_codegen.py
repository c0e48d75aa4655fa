"""Hostile-review regressions for the catalogue's integer enums (ProcessMaterial's
Definition 20/30 used to be a check restated in the emulator): the YAML takes integers,
the method is typed ``Literal[20, 30]``, the value is checked before sending, and a
catalogue that mixes the kinds up is refused with file, action and field."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_catalogue import SPECS, action, edit, field

from cme_async._catalogue import catalogue
from cme_async._generated import models
from cme_async._generated.namespaces import MaterialActions
from codegen.loader import load
from codegen.schema import CatalogueError


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    target = tmp_path / "specs"
    shutil.copytree(SPECS, target)
    return target


def test_definition_is_an_integer_enum_everywhere() -> None:
    spec = {f.wire: f for f in catalogue().actions["Material/ProcessMaterial"].request}
    assert spec["Definition"].enum == ("20", "30")
    hint = inspect.signature(MaterialActions.process_material).parameters["definition"]
    assert "Literal[20, 30]" in str(hint.annotation)
    wire = models.ProcessMaterialRequest.__dict__["_wire"]
    assert wire.limits["definition"].allowed == (20, 30)
    assert wire.limits["definition"].problem(30) is None
    assert "21 is not one of the documented values 20, 30" in str(
        wire.limits["definition"].problem(21)
    )


def _definition(d: Any) -> dict[str, Any]:
    return field(action(d, "ProcessMaterial")["request"], "Definition")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: _definition(d).update(enum=["20", "30"]), "enum of an integer field"),
        (lambda d: _definition(d).update(enum=[True]), "enum of an integer field"),
        (
            lambda d: field(action(d, "ModifyClass")["request"], "ParentClassId").update(
                type="boolean", enum=["yes"]
            ),
            "enum values need a string or integer field",
        ),
    ],
)
def test_an_enum_that_does_not_fit_its_type_is_refused(
    specs: Path, change: Any, words: str
) -> None:
    edit(specs / "material.yaml", change)
    with pytest.raises(CatalogueError) as info:
        load(specs)
    assert "material.yaml" in str(info.value) and words in str(info.value)


def test_secret_applies_to_string_fields_only(specs: Path) -> None:
    edit(
        specs / "material.yaml",
        lambda d: field(action(d, "DeleteClass")["request"], "ClassId").update(secret=True),
    )
    with pytest.raises(CatalogueError, match="secret applies to string fields only"):
        load(specs)


def _text(d: Any) -> dict[str, Any]:
    return field(action(d, "SearchMaterial")["request"], "Text")  # type: ignore[no-any-return]


def _tags(d: Any) -> dict[str, Any]:
    return field(action(d, "ModifyMaterial")["request"], "Tags")  # type: ignore[no-any-return]


def _offset(d: Any) -> dict[str, Any]:
    return field(action(d, "SearchMaterial")["request"], "Offset")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # The SDK applied a list's max_length to each item, the emulator ignored it.
        (lambda d: _tags(d).update(max_length=15), "max_length of a list"),
        (lambda d: _text(d).update(max_items=3), "max_items applies to lists"),
        (lambda d: _text(d).update(item_max_length=3), "item_max_length applies to lists"),
        (lambda d: _offset(d).update(max_length=3), "max_length applies to strings"),
        (lambda d: _text(d).update(minimum=1), "minimum/maximum applies to numbers"),
        (lambda d: _offset(d).update(minimum=5, maximum=1), "minimum 5 is above maximum 1"),
        (lambda d: _offset(d).update(minimum=True), "minimum must be a number"),
    ],
)
def test_limits_that_do_not_fit_the_field_are_refused(specs: Path, change: Any, words: str) -> None:
    edit(specs / "material.yaml", change)
    with pytest.raises(CatalogueError) as info:
        load(specs)
    assert words in str(info.value), str(info.value)


def test_a_key_written_twice_in_the_yaml_is_refused(specs: Path) -> None:
    """YAML keeps the last of two equal keys without a word, so a limit written twice
    (``max_length: 15`` then ``max_length: 50``) silently became the second."""
    path = specs / "material.yaml"
    text = path.read_text(encoding="utf-8")
    once = "    max_length: 15\n"
    assert once in text
    path.write_text(text.replace(once, once + "    max_length: 50\n", 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"material\.yaml: .*'max_length' appears twice"):
        load(specs)


@pytest.mark.parametrize(
    "wire", ["Timeout", "MaxRetries", "Deadline", "RequestId", "ToDict", "FromDict", "MaxItems"]
)
def test_a_field_whose_attribute_clashes_with_the_sdks_own_names_is_refused(
    specs: Path, wire: str
) -> None:
    """A request field ``Timeout`` would become a second ``timeout`` keyword of the
    method (the call option), ``RequestId`` would hide ``result.request_id``."""
    edit(
        specs / "material.yaml",
        lambda d: action(d, "DeleteMaterial")["request"].append(
            {"wire": wire, "type": "string", "description": "clash"}
        ),
    )
    with pytest.raises(CatalogueError, match=r"attribute name .* is not usable"):
        load(specs)
