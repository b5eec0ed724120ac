"""Input mappings of declared stages: parsing references, rebuilding what a stage can see,
resolving paths safely, and `{input}`-style prompt templates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, computed_field

from domain.errors import StageFailed
from domain.pipelines.mapping import (
    INPUT_STAGE,
    InputMapping,
    MappingScope,
    Reference,
    as_text,
    read_path,
    render_template,
    template_fields,
)


class Doc(BaseModel):
    title: str
    items: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size(self) -> int:
        return len(self.items)

    def secret(self) -> str:
        return "methods are not reachable"


@dataclass
class Hit:
    id: int
    score: float


# --- references ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "root", "stage", "path"),
    [
        ("$input", "input", None, ()),
        ("$input.question", "input", None, ("question",)),
        ("$stages.retrieve", "stages", "retrieve", ()),
        ("$stages.retrieve.items.0", "stages", "retrieve", ("items", "0")),
        ("$stages.fan-out_2.x", "stages", "fan-out_2", ("x",)),
    ],
)
def test_references_parse_and_print_back(
    text: str, root: str, stage: str | None, path: tuple[str, ...]
) -> None:
    ref = Reference.parse(text)
    assert (ref.root, ref.stage, ref.path) == (root, stage, path)
    assert str(ref) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("input", "start with '\\$'"),
        ("$", "each part"),
        ("$stages", "name the stage"),
        ("$outputs.x", "starts with '\\$input' or"),
        ("$input..x", "each part"),
        ("$input.__class__", "each part"),
        ("$input.a b", "each part"),
        ("$stages.input", "pipeline input is '\\$input'"),
    ],
)
def test_bad_references_say_what_is_expected(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Reference.parse(text)


def test_a_mapping_compiles_nested_references_and_literals() -> None:
    mapping = InputMapping(
        {
            "question": "$input.q",
            "context": ["$stages.retrieve.items", "$stages.rank"],
            "k": 3,
            "price": "$$5",
            "note": "plain text",
        }
    )
    assert [str(r) for r in mapping.references] == [
        "$input.q",
        "$stages.retrieve.items",
        "$stages.rank",
    ]
    assert mapping.stages == ("retrieve", "rank")
    assert mapping.uses_input
    scope = MappingScope({"retrieve": {"items": ["a", "b"]}, "rank": [2, 1]}, {"q": "why?"}, True)
    assert mapping.resolve(scope) == {
        "question": "why?",
        "context": [["a", "b"], [2, 1]],
        "k": 3,
        "price": "$5",
        "note": "plain text",
    }


def test_a_single_reference_is_a_mapping_too() -> None:
    mapping = InputMapping("$stages.split.first")
    assert mapping.stages == ("split",) and not mapping.uses_input
    assert mapping.resolve(MappingScope({"split": {"first": [1]}})) == [1]


def test_a_bad_reference_names_where_it_is() -> None:
    with pytest.raises(ValueError, match=r"context\.1: .*name the stage"):
        InputMapping({"context": ["$input", "$stages"]})


# --- what a stage sees -----------------------------------------------------------------


def test_the_scope_is_rebuilt_from_what_the_executor_hands_over() -> None:
    root = MappingScope.received((), "text")
    assert root.has_input and root.input == "text" and root.stages == {}
    one = MappingScope.received(("a",), 1)
    assert one.stages == {"a": 1} and not one.has_input
    several = MappingScope.received(("a", "b"), {"a": 1, "b": 2})
    assert several.stages == {"a": 1, "b": 2}
    with_input = MappingScope.received(("a", INPUT_STAGE), {"a": 1, INPUT_STAGE: "text"})
    assert with_input.has_input and with_input.input == "text"


def test_missing_things_fail_the_stage_naming_the_reference() -> None:
    mapping = InputMapping({"x": "$stages.a.missing"})
    with pytest.raises(StageFailed, match=r"\$stages\.a\.missing: no key 'missing' \(keys: b\)"):
        mapping.resolve(MappingScope({"a": {"b": 1}}))
    with pytest.raises(StageFailed, match="not a dependency"):
        InputMapping("$stages.z").resolve(MappingScope({"a": 1}))
    with pytest.raises(StageFailed, match="input is not available"):
        InputMapping("$input").resolve(MappingScope({"a": 1}))


# --- paths ---------------------------------------------------------------------------


def test_paths_read_keys_indexes_and_declared_fields() -> None:
    doc = Doc(title="t", items=["x", "y"])
    assert read_path({"doc": doc}, ["doc", "title"]) == "t"
    assert read_path(doc, ["items", "1"]) == "y"
    assert read_path(doc, ["items", "-1"]) == "y"
    assert read_path(doc, ["size"]) == 2
    assert read_path([Hit(1, 0.5)], ["0", "score"]) == 0.5
    assert read_path({"a": 1}, []) == {"a": 1}


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        (Doc(title="t", items=[]), ["secret"], "Doc has no field 'secret'"),
        (Doc(title="t", items=[]), ["model_dump"], "no field"),
        (Hit(1, 0.5), ["__dict__"], "Hit has no field"),
        (["a"], ["1"], r"no item 1 \(length 1\)"),
        (["a"], ["first"], "no item first"),
        ("text", ["upper"], "cannot read 'upper' from a str"),
        (3, ["real"], "cannot read 'real' from a int"),
    ],
)
def test_paths_never_reach_methods_or_attributes(
    value: object, path: list[str], reason: str
) -> None:
    with pytest.raises(LookupError, match=reason):
        read_path(value, path)


# --- templates -----------------------------------------------------------------------


def test_templates_fill_the_input_and_paths_into_it() -> None:
    assert render_template("Summarize:\n{input}", "some text") == "Summarize:\nsome text"
    value = {"question": "why?", "hits": [{"id": 1}], "doc": Doc(title="T", items=["a"])}
    text = render_template(
        "Q: {question} / first: {hits.0.id} / title: {input.doc.title} / {{literal}}", value
    )
    assert text == "Q: why? / first: 1 / title: T / {literal}"
    assert render_template("{input}", {"a": [1, "é"]}) == '{"a": [1, "é"]}'


def test_template_placeholders_are_checked() -> None:
    assert template_fields("{input} and {a.b} {{x}}") == ["input", "a.b"]
    with pytest.raises(ValueError, match="bad placeholder"):
        template_fields("{input.__class__}")
    with pytest.raises(ValueError, match="bad placeholder"):
        template_fields("{a b}")
    with pytest.raises(ValueError, match="unbalanced"):
        template_fields("a } b")
    with pytest.raises(LookupError, match=r"placeholder \{missing\}: no key 'missing'"):
        render_template("{missing}", {"present": 1})


def test_values_become_text_as_json_unless_already_text() -> None:
    assert as_text("plain") == "plain"
    assert as_text(Doc(title="t", items=["a"])) == '{"title": "t", "items": ["a"], "size": 1}'
    assert as_text(Hit(1, 0.5)) == '{"id": 1, "score": 0.5}'
    assert as_text(3) == "3"
