"""YAML text -> a tree of nodes that remember where they were written.

We compose (not construct) with PyYAML's safe resolver, then build our own tree, because construction
throws the positions away and silently keeps the last of two duplicate keys. Every node carries its
1-based line and column and its key path, so a builder can report any value at its place.

Problems that stop parsing (unreadable file, YAML syntax) raise ``SpecError`` at once; problems that do
not (duplicate keys, unsupported tags) are returned in ``Document.issues`` so the builder reports them
together with its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import SpecError, SpecIssue

Scalar = bool | int | float | str | None

MAX_DEPTH = 64  # far beyond any spec; guards the recursive builder
MAX_NODES = 200_000  # guards against alias bombs (an anchor reused many times over)

_TAG = "tag:yaml.org,2002:"
_TEXT_TAGS = frozenset({_TAG + "str", _TAG + "timestamp", _TAG + "value", _TAG + "merge"})


@dataclass(frozen=True, slots=True)
class YamlScalar:
    value: Scalar
    text: str  # as written; used in messages ("got .nan") and in hints ("1e10 is text in YAML 1.1")
    line: int
    col: int
    path: str
    quoted: bool = False  # written in quotes: the text starts one column after ``col``


@dataclass(frozen=True, slots=True)
class YamlSeq:
    items: tuple[YamlNode, ...]
    line: int
    col: int
    path: str


@dataclass(frozen=True, slots=True)
class YamlMap:
    items: dict[str, YamlNode]  # in file order (order is meaningful, e.g. memory levels)
    keys: dict[str, tuple[int, int]]  # where each key is written: (line, col)
    line: int
    col: int
    path: str


YamlNode = YamlScalar | YamlSeq | YamlMap


@dataclass(frozen=True, slots=True)
class Document:
    file: str
    root: YamlNode | None  # None for an empty file
    issues: tuple[SpecIssue, ...] = ()


def child_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def load_yaml(path: str | Path) -> Document:
    """Read and parse one YAML file; raise SpecError if it cannot be read or is not YAML."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError.single(file, "file not found") from None
    except IsADirectoryError:
        raise SpecError.single(file, "is a directory, not a file") from None
    except PermissionError:
        raise SpecError.single(file, "permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: e.g. a NUL byte in the path
        raise SpecError.single(file, f"cannot read file ({exc})") from None
    try:
        text = data.decode("utf-8-sig")  # -sig: tolerate a byte-order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        issue = SpecIssue(file, line, col, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x})")
        raise SpecError([issue]) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text; ``file`` names it in messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_syntax_issue(exc, file)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _position_of(text, exc.position)
        issue = SpecIssue(file, line, col, "", f"invalid YAML: character #x{_char_code(exc)}: {exc.reason}")
        raise SpecError([issue]) from None
    except yaml.YAMLError as exc:
        raise SpecError.single(file, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError.single(file, "invalid YAML: nested too deeply") from None
    if node is None:
        return Document(file, None)
    builder = _TreeBuilder(file)
    root = builder.build(node, "", 0)
    return Document(file, root, tuple(builder.issues))


def to_plain(node: YamlNode) -> object:
    """The node as plain Python data (dicts, lists, scalars), for parts kept raw."""
    if isinstance(node, YamlMap):
        return {key: to_plain(value) for key, value in node.items.items()}
    if isinstance(node, YamlSeq):
        return [to_plain(item) for item in node.items]
    return node.value


def _syntax_issue(exc: yaml.MarkedYAMLError, file: str) -> SpecIssue:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = exc.problem or exc.context or "cannot parse"
    hint = ""
    if exc.problem and exc.context and exc.context_mark is not None:
        hint = f"{exc.context} at line {exc.context_mark.line + 1}"
    return SpecIssue(file, line, col, "", f"invalid YAML: {problem}", hint)


def _position_of(text: str, index: int) -> tuple[int, int]:
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def _char_code(exc: yaml.reader.ReaderError) -> str:
    char = exc.character  # an int code point for text input; bytes or str in other PyYAML paths
    if isinstance(char, int):
        return f"{char:04x}"
    if isinstance(char, (bytes, str)) and char:
        return f"{char[0] if isinstance(char, bytes) else ord(char[0]):04x}"
    return "????"


class _TreeBuilder:
    """Turns PyYAML's composed nodes into our tree, collecting the non-fatal issues on the way."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SpecIssue] = []
        self.count = 0
        self.active: set[int] = set()  # ids of the nodes being built: an alias back to one is a cycle
        self._constructor = yaml.constructor.SafeConstructor()

    def _issue(self, node: yaml.Node, path: str, message: str, hint: str = "") -> None:
        mark = node.start_mark
        self.issues.append(SpecIssue(self.file, mark.line + 1, mark.column + 1, path, message, hint))

    def build(self, node: yaml.Node, path: str, depth: int) -> YamlNode:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.count += 1
        if self.count == MAX_NODES + 1:
            self._issue(node, path, f"document too large (more than {MAX_NODES} values after aliases)")
        if self.count > MAX_NODES:
            return YamlScalar(None, "", line, col, path)
        if depth > MAX_DEPTH:
            self._issue(node, path, f"nested too deeply (more than {MAX_DEPTH} levels)")
            return YamlScalar(None, "", line, col, path)
        if id(node) in self.active:
            # PyYAML hands back the anchored node itself, so the place is the anchor's.
            self._issue(node, path, "an alias refers to a value that contains it (recursive alias)")
            return YamlScalar(None, "", line, col, path)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _TAG + "seq":
                    self._issue(node, path, f"unsupported YAML tag '{node.tag}'")
                items = tuple(
                    self.build(item, child_path(path, i), depth + 1) for i, item in enumerate(node.value)
                )
                return YamlSeq(items, line, col, path)
            return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.Node, path: str, depth: int) -> YamlMap:
        if node.tag != _TAG + "map":
            self._issue(node, path, f"unsupported YAML tag '{node.tag}'")
        items: dict[str, YamlNode] = {}
        keys: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._issue(key_node, path, "mapping keys must be plain text, not a list or mapping")
                continue
            if key_node.tag == _TAG + "merge":
                self._issue(key_node, path, "YAML merge keys (<<) are not supported", "write the keys out")
                continue
            key = str(key_node.value)
            key_path = child_path(path, key)
            if key in keys:
                first_line = keys[key][0]
                self._issue(key_node, key_path, f"duplicate key '{key}' (first defined at line {first_line})")
                continue
            keys[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            items[key] = self.build(value_node, key_path, depth + 1)
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        return YamlMap(items, keys, line, col, path)

    def _scalar(self, node: yaml.ScalarNode, path: str) -> YamlScalar:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        text = str(node.value)
        tag = node.tag
        if tag in _TEXT_TAGS:
            return YamlScalar(text, text, line, col, path, node.style in ("'", '"'))
        constructors = {
            _TAG + "null": self._constructor.construct_yaml_null,
            _TAG + "bool": self._constructor.construct_yaml_bool,
            _TAG + "int": self._constructor.construct_yaml_int,
            _TAG + "float": self._constructor.construct_yaml_float,
        }
        construct = constructors.get(tag)
        if construct is None:
            self._issue(node, path, f"unsupported YAML tag '{tag}'")
            return YamlScalar(text, text, line, col, path)
        try:
            value: Scalar = construct(node)
        # PyYAML's scalar constructors raise assorted built-in errors on explicitly tagged junk
        # such as `!!int ""` or `!!float abc`; all of them mean the same thing to the user.
        except (yaml.YAMLError, ValueError, IndexError, TypeError, OverflowError):
            self._issue(node, path, f"cannot read '{text}' as {tag.removeprefix(_TAG)}")
            return YamlScalar(text, text, line, col, path)
        return YamlScalar(value, text, line, col, path)
