"""YAML loading: positions, duplicate keys, syntax errors, unreadable files, hostile documents."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from imcmap.specs.errors import SpecError
from imcmap.specs.loader import (
    YamlMap,
    YamlScalar,
    YamlSeq,
    load_yaml,
    parse_yaml,
    to_plain,
)

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _messages(text: str) -> list[str]:
    return [str(issue) for issue in parse_yaml(text, "t.yaml").issues]


def test_nodes_carry_one_based_positions_and_paths() -> None:
    """Every node knows its 1-based line:col and key path; keys know where they are written."""
    doc = parse_yaml("top:\n  list: [a, {k: 12}]\n", "t.yaml")
    assert isinstance(doc.root, YamlMap)
    top = doc.root.items["top"]
    assert isinstance(top, YamlMap)
    assert top.keys["list"] == (2, 3)
    seq = top.items["list"]
    assert isinstance(seq, YamlSeq) and (seq.line, seq.col) == (2, 9)
    inner = seq.items[1]
    assert isinstance(inner, YamlMap)
    value = inner.items["k"]
    assert isinstance(value, YamlScalar)
    assert (value.value, value.line, value.col, value.path) == (12, 2, 17, "top.list[1].k")


def test_scalars_keep_yaml_types_and_their_text() -> None:
    """Ints, floats, bools and nulls are typed; dates and '=' stay text; the written text is kept."""
    doc = parse_yaml("a: 8\nb: 0.5\nc: true\nd: ~\ne: 2024-01-01\nf: '12'\ng: .nan\n", "t.yaml")
    assert isinstance(doc.root, YamlMap)
    values = {k: v.value for k, v in doc.root.items.items() if isinstance(v, YamlScalar)}
    assert values["a"] == 8 and values["b"] == 0.5 and values["c"] is True and values["d"] is None
    assert values["e"] == "2024-01-01" and values["f"] == "12"
    g = doc.root.items["g"]
    assert isinstance(g, YamlScalar) and g.text == ".nan"


def test_duplicate_key_is_reported_and_the_first_kept() -> None:
    """PyYAML would keep the last of two equal keys silently; we report the second."""
    doc = parse_yaml("a: 1\nb: 2\na: 3\n", "t.yaml")
    assert [str(i) for i in doc.issues] == ["t.yaml:3:1: a: duplicate key 'a' (first defined at line 1)"]
    assert to_plain(doc.root) == {"a": 1, "b": 2}  # type: ignore[arg-type]


def test_syntax_error_gives_one_issue_at_the_problem_mark() -> None:
    """A YAML syntax error is one issue at PyYAML's problem mark, made 1-based."""
    with pytest.raises(SpecError) as info:
        parse_yaml("a: b: c\n", "t.yaml")
    assert str(info.value) == "t.yaml:1:5: invalid YAML: mapping values are not allowed here"


def test_missing_file_and_directory() -> None:
    """A missing path and a directory each give one whole-file issue."""
    with pytest.raises(SpecError) as missing:
        load_yaml(BAD / "no_such_file.yaml")
    assert str(missing.value) == f"{BAD / 'no_such_file.yaml'}: file not found"
    with pytest.raises(SpecError) as directory:
        load_yaml(BAD)
    assert str(directory.value) == f"{BAD}: is a directory, not a file"


def test_non_utf8_bytes_are_located() -> None:
    """Bytes that are not UTF-8 are reported at their line and column."""
    with pytest.raises(SpecError) as info:
        load_yaml(BAD / "not_utf8.yaml")
    assert str(info.value) == f"{BAD / 'not_utf8.yaml'}:1:10: not UTF-8 text (byte 0xe9)"


def test_control_character_is_a_syntax_issue() -> None:
    """Characters YAML forbids are reported at their place, not as a PyYAML traceback."""
    with pytest.raises(SpecError) as info:
        parse_yaml("a: 1\nb: \x07\n", "t.yaml")
    assert str(info.value) == "t.yaml:2:4: invalid YAML: character #x0007: special characters are not allowed"


def test_empty_document_has_no_root() -> None:
    """An empty file parses to no root (each builder says what it expected)."""
    assert parse_yaml("# only a comment\n", "t.yaml").root is None


def test_recursive_alias_is_reported() -> None:
    """An alias to a value containing it would recurse forever; it is an issue at the anchor."""
    assert _messages("a: &x [1, *x]\n") == [
        "t.yaml:1:4: a[1]: an alias refers to a value that contains it (recursive alias)"
    ]


def test_alias_bomb_is_cut_short() -> None:
    """Nested aliases that expand to a billion values stop at the node budget, quickly."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    start = time.perf_counter()
    messages = _messages("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 10
    assert any("document too large" in m for m in messages)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    """Thousands of nested brackets give a SpecError, never a RecursionError."""
    with pytest.raises(SpecError):
        doc = parse_yaml("[" * 5000 + "]" * 5000, "t.yaml")
        if doc.issues:
            raise SpecError(doc.issues)


def test_unsupported_tags_and_merge_keys() -> None:
    """Python-object tags, junk under explicit tags and merge keys are issues, not constructions."""
    assert _messages("a: !!python/object:os.system x\nb: !!int ''\nc: !custom 1\n") == [
        "t.yaml:1:4: a: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'",
        "t.yaml:2:4: b: cannot read '' as int",
        "t.yaml:3:4: c: unsupported YAML tag '!custom'",
    ]
    assert _messages("base: &b {x: 1}\nuse:\n  <<: *b\n") == [
        "t.yaml:3:3: use: YAML merge keys (<<) are not supported; write the keys out"
    ]


def test_non_scalar_keys_are_reported() -> None:
    """A list used as a mapping key is an issue."""
    assert _messages("? [a, b]\n: 1\n") == ["t.yaml:1:3: mapping keys must be plain text, not a list or mapping"]
