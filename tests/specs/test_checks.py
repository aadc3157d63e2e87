"""The validation toolkit: type checks, ranges, enums, keys, did-you-mean."""

from __future__ import annotations

from typing import Any

import pytest

from imcmap.specs.checks import (
    Fields,
    Issues,
    as_choice,
    as_int,
    as_number,
    did_you_mean,
)
from imcmap.specs.loader import YamlMap, YamlNode, parse_yaml


def _value(text: str) -> YamlNode:
    root = parse_yaml(f"v: {text}\n", "t.yaml").root
    assert isinstance(root, YamlMap)
    return root.items["v"]


def _reported(check, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    issues = Issues("t.yaml")
    check(issues, _value(text))
    return [str(i) for i in issues.found]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("true", "expected an integer, got a boolean (true)"),
        ("8.0", "expected an integer, got a float (8.0)"),
        ("'8'", "expected an integer, got a string ('8'); write numbers without quotes"),
        ("[8]", "expected an integer, got a list"),
        ("~", "expected an integer, got null (an empty value)"),
    ],
)
def test_int_rejects_everything_but_an_int(text: str, message: str) -> None:
    """YAML true, floats, quoted numbers, lists and nulls are not integers."""
    assert _reported(lambda i, n: as_int(i, n), text) == [f"t.yaml:1:4: v: {message}"]


def test_number_accepts_ints_and_floats_only_when_finite() -> None:
    """Ints and floats are numbers; .inf, -.inf, .nan and ints beyond float range are not."""
    issues = Issues("t.yaml")
    assert as_number(issues, _value("3")) == 3.0
    assert as_number(issues, _value("2.5")) == 2.5
    assert not issues.found
    for text in (".inf", "-.inf", ".nan", "1" + "0" * 400):
        assert _reported(lambda i, n: as_number(i, n), text)[0].startswith("t.yaml:1:4: v: must be a finite number")


@pytest.mark.parametrize(
    ("bounds", "text", "message"),
    [
        ({"minimum": 0}, "-1", "must be >= 0 (got -1)"),
        ({"minimum": 0, "min_open": True}, "0", "must be > 0 (got 0)"),
        ({"minimum": 0, "maximum": 1}, "1.5", "must be in [0, 1] (got 1.5)"),
        ({"minimum": 0, "maximum": 1, "max_open": True}, "1", "must be in [0, 1) (got 1)"),
    ],
)
def test_number_ranges_say_the_range(bounds: dict[str, Any], text: str, message: str) -> None:
    """Range errors state the interval with its open or closed ends."""
    assert _reported(lambda i, n: as_number(i, n, **bounds), text) == [f"t.yaml:1:4: v: {message}"]


def test_choice_suggests_the_closest_value() -> None:
    """An unknown enum value gets a did-you-mean and the list of accepted values."""
    assert _reported(lambda i, n: as_choice(i, n, ("analog", "digital"), "IMC type"), "digitl") == [
        "t.yaml:1:4: v: unknown IMC type 'digitl', did you mean 'digital'?; expected one of: analog, digital"
    ]


def test_did_you_mean_catches_case_slips_and_stays_quiet_otherwise() -> None:
    """A case slip suggests the right spelling; nothing close suggests nothing."""
    assert did_you_mean("k", ["K", "C"]) == ", did you mean 'K'?"
    assert did_you_mean("zzz", ["K", "C"]) == ""


def test_fields_report_missing_and_unknown_keys_and_give_defaults() -> None:
    """Fields reports missing required keys at the mapping and unknown keys at the key."""
    root = parse_yaml("a: 1\nbb: 2\n", "t.yaml").root
    assert isinstance(root, YamlMap)
    issues = Issues("t.yaml")
    fields = Fields(issues, root, ("a", "c"), ("b",))
    assert fields.integer("a") == 1
    assert fields.integer("b", 7) == 7
    assert [str(i) for i in issues.found] == [
        "t.yaml:1:1: missing required key 'c'",
        "t.yaml:2:1: bb: unknown key 'bb', did you mean 'b'?; valid keys: a, b, c",
    ]
