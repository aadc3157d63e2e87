"""The validation toolkit every builder uses: an issue collector and typed readers of YAML nodes.

Kept apart from ``loader`` (which only parses) so a builder reads as a schema: ``Fields`` checks the
keys of one mapping and hands out typed values. Every reader returns ``None`` after recording an issue,
so a builder keeps going and the user sees every problem of a file at once.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from typing import NoReturn

from .errors import SpecError, SpecIssue
from .loader import YamlMap, YamlNode, YamlScalar, YamlSeq, child_path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Issues:
    """Collects the issues of one file; ``raise_if_any`` / ``fail`` raise them as one SpecError."""

    def __init__(self, file: str, initial: Iterable[SpecIssue] = ()) -> None:
        self.file = file
        self.found: list[SpecIssue] = list(initial)

    def __len__(self) -> int:
        return len(self.found)

    def at(self, node: YamlNode, message: str, hint: str = "") -> None:
        self.found.append(SpecIssue(self.file, node.line, node.col, node.path, message, hint))

    def at_key(self, parent: YamlMap, key: str, message: str, hint: str = "") -> None:
        """An issue about a key itself (unknown, misplaced): points at the key, not its value."""
        line, col = parent.keys.get(key, (parent.line, parent.col))
        self.found.append(SpecIssue(self.file, line, col, child_path(parent.path, key), message, hint))

    def at_file(self, message: str, hint: str = "") -> None:
        self.found.append(SpecIssue(self.file, 1, 1, "", message, hint))

    def raise_if_any(self) -> None:
        if self.found:
            raise SpecError(self.found)

    def fail(self) -> NoReturn:
        """Raise what was found. Builders call it when a part could not be built, which a reader
        never allows without recording an issue; an empty list is therefore a bug here."""
        if not self.found:
            raise RuntimeError("internal error: a spec builder failed without reporting an issue")
        raise SpecError(self.found)


def is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


NAME_RULE = "letters, digits and '_', not starting with a digit"


def root_mapping(issues: Issues, root: YamlNode | None, expected_keys: str) -> YamlMap:
    """The document's top-level mapping, or raise: nothing else can be checked without it."""
    if isinstance(root, YamlMap):
        return root
    if root is None:
        issues.at_file(f"file is empty; expected a mapping with keys {expected_keys}")
    else:
        issues.at(root, f"expected a mapping with keys {expected_keys}, got {describe(root)}")
    issues.fail()


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``", did you mean 'x'?"`` for the closest choice, or ``""``; case slips count as close."""
    options = list(choices)
    for option in options:
        if option.lower() == word.lower():
            return f", did you mean '{option}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else ""


def describe(node: YamlNode) -> str:
    """What the user wrote, for 'expected X, got Y' messages."""
    if isinstance(node, YamlMap):
        return "a mapping"
    if isinstance(node, YamlSeq):
        return "a list"
    value = node.value
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"a boolean ({node.text})"
    if isinstance(value, int):
        return f"an integer ({node.text})"
    if isinstance(value, float):
        return f"a float ({node.text})"
    shown = value if len(value) <= 40 else value[:37] + "..."
    return f"a string ({shown!r})"


def number_hint(node: YamlNode) -> str:
    """Why a number-looking string is a string: quotes, or YAML 1.1's exponent syntax."""
    if not isinstance(node, YamlScalar) or not isinstance(node.value, str):
        return ""
    try:
        float(node.value)
    except ValueError:
        return ""
    if "e" in node.value.lower() and "." not in node.value:
        return "YAML 1.1 reads an exponent without a dot as text: write 1.0e+10, not 1e10"
    return "write numbers without quotes"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _range_text(
    minimum: float | None, maximum: float | None, min_open: bool, max_open: bool
) -> str:
    if minimum is not None and maximum is not None:
        return f"in {'(' if min_open else '['}{_fmt(minimum)}, {_fmt(maximum)}{')' if max_open else ']'}"
    if minimum is not None:
        return f"{'>' if min_open else '>='} {_fmt(minimum)}"
    return f"{'<' if max_open else '<='} {_fmt(maximum if maximum is not None else math.inf)}"


def _in_range(
    value: float, minimum: float | None, maximum: float | None, min_open: bool, max_open: bool
) -> bool:
    below = minimum is not None and (value < minimum or (min_open and value == minimum))
    above = maximum is not None and (value > maximum or (max_open and value == maximum))
    return not (below or above)


def as_map(issues: Issues, node: YamlNode, what: str = "a mapping") -> YamlMap | None:
    if isinstance(node, YamlMap):
        return node
    issues.at(node, f"expected {what}, got {describe(node)}")
    return None


def as_seq(issues: Issues, node: YamlNode, what: str = "a list") -> YamlSeq | None:
    if isinstance(node, YamlSeq):
        return node
    issues.at(node, f"expected {what}, got {describe(node)}")
    return None


def as_str(issues: Issues, node: YamlNode) -> str | None:
    if not isinstance(node, YamlScalar) or not isinstance(node.value, str):
        issues.at(node, f"expected a string, got {describe(node)}")
        return None
    if not node.value.strip():
        issues.at(node, "must not be empty")
        return None
    return node.value


def as_name(issues: Issues, node: YamlNode, what: str) -> str | None:
    """A name usable in constraint expressions: letters, digits and '_', not starting with a digit."""
    text = as_str(issues, node)
    if text is not None and not is_name(text):
        issues.at(node, f"{what} '{text}' must be {NAME_RULE}")
        return None
    return text


def as_bool(issues: Issues, node: YamlNode) -> bool | None:
    if isinstance(node, YamlScalar) and isinstance(node.value, bool):
        return node.value
    issues.at(node, f"expected true or false, got {describe(node)}")
    return None


def as_int(
    issues: Issues, node: YamlNode, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    # YAML `true` is a bool (an int subclass in Python), never an integer here
    if not isinstance(node, YamlScalar) or not isinstance(node.value, int) or isinstance(node.value, bool):
        issues.at(node, f"expected an integer, got {describe(node)}", number_hint(node))
        return None
    value = node.value
    if (minimum is not None or maximum is not None) and not _in_range(value, minimum, maximum, False, False):
        issues.at(node, f"must be {_range_text(minimum, maximum, False, False)} (got {node.text})")
        return None
    return value


def as_number(
    issues: Issues,
    node: YamlNode,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
) -> float | None:
    """A finite int or float (not a bool, not a quoted string), optionally within a range."""
    if (
        not isinstance(node, YamlScalar)
        or not isinstance(node.value, (int, float))
        or isinstance(node.value, bool)
    ):
        issues.at(node, f"expected a number, got {describe(node)}", number_hint(node))
        return None
    try:
        number = float(node.value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        issues.at(node, f"must be a finite number (got {node.text})")
        return None
    if (minimum is not None or maximum is not None) and not _in_range(
        number, minimum, maximum, min_open, max_open
    ):
        issues.at(node, f"must be {_range_text(minimum, maximum, min_open, max_open)} (got {node.text})")
        return None
    return number


def as_choice(issues: Issues, node: YamlNode, choices: Sequence[str], what: str = "value") -> str | None:
    """One of ``choices`` (case-sensitive, with a did-you-mean for slips)."""
    if not isinstance(node, YamlScalar) or not isinstance(node.value, str):
        issues.at(node, f"expected one of {', '.join(choices)}; got {describe(node)}")
        return None
    if node.value not in choices:
        issues.at(
            node,
            f"unknown {what} '{node.value}'{did_you_mean(node.value, choices)}",
            f"expected one of: {', '.join(choices)}",
        )
        return None
    return node.value


def as_choice_list(
    issues: Issues, node: YamlNode, choices: Sequence[str], what: str, *, nonempty: bool = False
) -> tuple[str, ...] | None:
    """A list of distinct values from ``choices``."""
    seq = as_seq(issues, node)
    if seq is None:
        return None
    picked: list[str] = []
    ok = True
    for item in seq.items:
        value = as_choice(issues, item, choices, what)
        if value is None:
            ok = False
        elif value in picked:
            issues.at(item, f"{what} '{value}' is listed twice")
            ok = False
        else:
            picked.append(value)
    if nonempty and not seq.items:
        issues.at(seq, f"must list at least one {what}", f"expected some of: {', '.join(choices)}")
        return None
    return tuple(picked) if ok else None


def check_keys(
    issues: Issues, node: YamlMap, required: Sequence[str], optional: Sequence[str] = ()
) -> bool:
    """Report missing required keys (at the mapping) and unknown keys (at the key); True if clean."""
    valid = [*required, *optional]
    before = len(issues)
    for key in required:
        if key not in node.items:
            issues.at(node, f"missing required key '{key}'")
    for key in node.items:
        if key not in valid:
            issues.at_key(node, key, f"unknown key '{key}'{did_you_mean(key, valid)}",
                          f"valid keys: {', '.join(sorted(valid))}")
    return len(issues) == before


class Fields:
    """Typed access to the keys of one mapping whose keys have been checked against a schema.

    A getter returns ``default`` when the key is absent, and ``None`` (with an issue) when the value
    is invalid or a required key is missing.
    """

    def __init__(
        self, issues: Issues, node: YamlMap, required: Sequence[str], optional: Sequence[str] = ()
    ) -> None:
        self.issues = issues
        self.node = node
        check_keys(issues, node, required, optional)

    def get(self, key: str) -> YamlNode | None:
        return self.node.items.get(key)

    def has(self, key: str) -> bool:
        return key in self.node.items

    def text(self, key: str, default: str | None = None) -> str | None:
        node = self.get(key)
        return default if node is None else as_str(self.issues, node)

    def flag(self, key: str, default: bool | None = None) -> bool | None:
        node = self.get(key)
        return default if node is None else as_bool(self.issues, node)

    def integer(
        self, key: str, default: int | None = None, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        node = self.get(key)
        if node is None:
            return default
        return as_int(self.issues, node, minimum=minimum, maximum=maximum)

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        min_open: bool = False,
        max_open: bool = False,
    ) -> float | None:
        node = self.get(key)
        if node is None:
            return default
        return as_number(
            self.issues, node, minimum=minimum, maximum=maximum, min_open=min_open, max_open=max_open
        )

    def choice(
        self, key: str, choices: Sequence[str], default: str | None = None, what: str = "value"
    ) -> str | None:
        node = self.get(key)
        return default if node is None else as_choice(self.issues, node, choices, what)

    def mapping(self, key: str) -> YamlMap | None:
        node = self.get(key)
        return None if node is None else as_map(self.issues, node)

    def sequence(self, key: str) -> YamlSeq | None:
        node = self.get(key)
        return None if node is None else as_seq(self.issues, node)
