"""Errors in user input files, each with the place it was written.

Hierarchy::

    ImcmapError (models.errors)
     └── SpecError        one or more SpecIssues; raised once per input after collecting them all

    SpecIssue             one problem: file:line:col, the key path and a message (a value, not raised)

Lines and columns are 1-based (PyYAML's marks are 0-based; ``specs.loader`` converts them). Line 0
means the problem concerns a whole file (missing, unreadable) or a name given on the command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from imcmap.models.errors import ImcmapError


@dataclass(frozen=True, slots=True, order=True)
class SpecIssue:
    """One problem in an input. Orders by file, then position, so reports read top to bottom."""

    file: str
    line: int
    col: int
    key_path: str  # e.g. "memories.cells.capacity_bits" or "layers[2].dims.K"; "" for the whole file
    message: str
    hint: str = ""  # what to do about it: valid keys, the accepted values, a rewrite

    @property
    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def __str__(self) -> str:
        head = f"{self.location}: {self.key_path}: " if self.key_path else f"{self.location}: "
        tail = f"; {self.hint}" if self.hint else ""
        return f"{head}{self.message}{tail}"


class SpecError(ImcmapError):
    """Invalid input: every issue found, sorted by file and place; ``str()`` gives one per line."""

    issues: tuple[SpecIssue, ...]

    def __init__(self, issues: Iterable[SpecIssue]) -> None:
        # Stable sort on the place only: issues at one place (e.g. line 0) keep the order found,
        # which for ONNX files is graph order. dict.fromkeys drops repeats, keeping the first.
        ordered = tuple(sorted(dict.fromkeys(issues), key=lambda i: (i.file, i.line, i.col)))
        if not ordered:
            raise ValueError("SpecError needs at least one SpecIssue")
        self.issues = ordered
        super().__init__("\n".join(str(issue) for issue in ordered))

    def __reduce__(self) -> tuple[type[SpecError], tuple[tuple[SpecIssue, ...]]]:
        return (SpecError, (self.issues,))  # picklable across processes despite the custom __init__

    @classmethod
    def single(cls, file: str, message: str, hint: str = "", key_path: str = "") -> SpecError:
        """An error about a whole file or a command-line name (no position inside a file)."""
        return cls([SpecIssue(file, 0, 0, key_path, message, hint)])
