"""SpecIssue rendering and SpecError ordering."""

from __future__ import annotations

import pickle

import pytest

from imcmap.specs.errors import SpecError, SpecIssue


def test_issue_renders_file_line_col_key_and_message() -> None:
    """An issue reads file:line:col: key.path: message."""
    issue = SpecIssue("hw/imc.yaml", 14, 5, "memories.cells.size", "must be a multiple of 8 (got 12)")
    assert str(issue) == "hw/imc.yaml:14:5: memories.cells.size: must be a multiple of 8 (got 12)"


def test_issue_hint_follows_after_semicolon() -> None:
    """A hint is appended after '; '."""
    issue = SpecIssue("a.yaml", 1, 2, "x", "bad value", "use 3")
    assert str(issue) == "a.yaml:1:2: x: bad value; use 3"


def test_whole_file_issue_has_no_position_or_key() -> None:
    """Line 0 means the whole file: no line:col and no key path are printed."""
    assert str(SpecIssue("a.yaml", 0, 0, "", "file not found")) == "a.yaml: file not found"


def test_error_sorts_by_place_and_prints_one_issue_per_line() -> None:
    """SpecError orders issues by file, line and column, one per line of its text."""
    late = SpecIssue("a.yaml", 9, 1, "b", "late")
    early = SpecIssue("a.yaml", 2, 7, "a", "early")
    error = SpecError([late, early, late])
    assert error.issues == (early, late)
    assert str(error) == "a.yaml:2:7: a: early\na.yaml:9:1: b: late"


def test_error_keeps_found_order_at_one_place() -> None:
    """Issues at the same place (e.g. line 0) keep the order they were found in."""
    second = SpecIssue("m.onnx", 0, 0, "onnx.node[b]", "z")
    first = SpecIssue("m.onnx", 0, 0, "onnx.node[z]", "a")
    assert SpecError([first, second]).issues == (first, second)


def test_error_needs_an_issue_and_survives_pickling() -> None:
    """An empty SpecError is a bug; a real one pickles with its issues."""
    with pytest.raises(ValueError):
        SpecError([])
    error = SpecError.single("x.yaml", "file not found")
    assert pickle.loads(pickle.dumps(error)).issues == error.issues
