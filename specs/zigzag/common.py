"""What the three ZigZag readers share: warnings, the issue collector and its failure, and ZigZag's names."""

from __future__ import annotations

import dataclasses
import re
from typing import NoReturn

from ..checks import Issues, describe
from ..errors import SpecIssue
from ..loader import Document, YamlMap, YamlNode, YamlScalar, YamlSeq

# ZigZag 3.9.1's workload validator: the operator types it accepts, and those imcmap prices.
ZIGZAG_OPERATORS = (
    "Max", "Conv", "Pooling", "Add", "Conv_downsample", "Gemm", "Pool", "MaxPool", "AveragePool",
    "GlobalAveragePool",
)
COMPUTE_OPERATORS = ("Conv", "Conv_downsample", "Gemm")
UNMODELLED_OPERATORS = tuple(op for op in ZIGZAG_OPERATORS if op not in COMPUTE_OPERATORS)


class Notes:
    """Warnings of one file, each rendered like an issue: ``file:line:col: key: message``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[str] = []

    def at(self, node: YamlNode, message: str) -> None:
        self.found.append(str(SpecIssue(self.file, node.line, node.col, node.path, message)))

    def at_key(self, parent: YamlMap, key: str, message: str) -> None:
        line, col = parent.keys.get(key, (parent.line, parent.col))
        path = f"{parent.path}.{key}" if parent.path else key
        self.found.append(str(SpecIssue(self.file, line, col, path, message)))


def issues_of(doc: Document) -> Issues:
    """The file's issue collector, with a ZigZag hint on PyYAML's duplicate keys."""
    found = [
        dataclasses.replace(issue, hint="ZigZag (PyYAML) silently keeps the last one; delete the one not meant")
        if issue.message.startswith("duplicate key") and not issue.hint
        else issue
        for issue in doc.issues
    ]
    return Issues(doc.file, found)


def fail(issues: Issues) -> NoReturn:
    """Raise what was found, leaving out issues inside the value of a duplicated key: the duplicate
    is reported, and the value imcmap kept (the first) is not the one ZigZag would read (the last)."""
    duplicated = [i.key_path for i in issues.found if i.message.startswith("duplicate key") and i.key_path]
    issues.found = [
        i for i in issues.found
        if not any(i.key_path.startswith((d + ".", d + "[")) for d in duplicated)
    ]
    issues.fail()


def root_list(issues: Issues, root: YamlNode | None, what: str) -> YamlSeq:
    if isinstance(root, YamlSeq) and root.items:
        return root
    if root is None:
        issues.at_file(f"file is empty; expected a list of {what}")
    elif isinstance(root, YamlSeq):
        issues.at(root, f"expected a non-empty list of {what}")
    else:
        issues.at(root, f"expected a list of {what}, got {describe(root)}")
    issues.fail()


def present(node: YamlNode | None) -> YamlNode | None:
    """The node, or None when the key is absent or null (ZigZag's normalizer treats both alike)."""
    if node is None or (isinstance(node, YamlScalar) and node.value is None):
        return None
    return node


def node_or(node: YamlNode | None, fallback: YamlNode) -> YamlNode:
    return node if node is not None else fallback


def array_dim_index(name: str) -> int | None:
    """n for ZigZag's array dim ``Dn``, None for any other name."""
    match = re.fullmatch(r"D(\d+)", name)
    return int(match.group(1)) if match else None
