"""The constraint language: one line of text -> ``models.constraints.ParsedConstraint``.

Constraints are written in a mapping spec's ``constraints:`` lists, after ``--constraint`` on the
command line, and in an experiment's variants. Grammar (keywords lower case, names as in the specs)::

    constraint  := [ scope ":" ] body
    scope       := "*" | NAME | "[" GLOB "]"     # every layer | an op type or a layer name | a layer-name glob
    body        := "spatial" "." [ ADIM "." ] DIM CMP INT       # unrolling of DIM over ADIM (all array dims if omitted)
                 | "forbid" "spatial" "." [ ADIM "." ] DIM      # same as spatial.ADIM.DIM == 1
                 | "diagonal" ( "required" | "forbidden" )      # OX or OY over the IMC columns (D1)
                 | "utilization" "." "spatial" CMP FRACTION     # used / all array units, FRACTION in [0, 1]
                 | "stationary" OPERAND "at" LEVEL              # OPERAND's tile at LEVEL is loaded once per layer
                 | "order" LEVEL ":" DIM { "," DIM } [ "," "*" ]   # loop-order fragment at LEVEL, innermost first
                 | "tile" "." OPERAND "." LEVEL CMP INT         # tile size in elements per instance of LEVEL
                 | "bypass" OPERAND [ "at" ] LEVEL              # OPERAND skips LEVEL (the hierarchy changes)
    CMP         := ">=" | "<=" | "==" | ">" | "<"
    OPERAND     := "W" | "I" | "O"
    DIM         := "B" | "G" | "K" | "C" | "OY" | "OX" | "FY" | "FX"

Examples: ``spatial.D1.K >= 16``, ``Conv: forbid spatial.D1.OX``, ``[/layer4/*]: diagonal forbidden``,
``utilization.spatial >= 0.5``, ``stationary W at cells``, ``order sram_256KB: OX, K``,
``order dram: C, *``, ``tile.I.sram_256KB <= 4096``, ``bypass I at sram_256KB``.

In a mapping spec the entry's selector scopes its constraints; a scope prefix narrows it further.
A glob uses fnmatch syntax (``*``, ``?``, ``[seq]``) on layer names, which for ONNX imports look like
``/layer1/layer1.0/conv1/Conv``.

*Loop order.* The solver orders loops within a segment of the temporal nest by one choice: the
loops irrelevant to one operand innermost, each group in the order B G K C OY OX FY FX. A fragment
is therefore met exactly in that space, and a pair the space can never put in one segment in the
asked order (OX inside OY, FX inside FY, FX or FY inside C, OX or OY inside B, G inside B) is
rejected here. Fragments across levels, or involving spatial loops, are not expressible.

Parsing checks the words; ``check_constraints`` checks names against an accelerator and a
workload (array dims, memory levels, operands held there, op types, layer names), with a
did-you-mean. Issues point at the offending word: ``file:line:col`` in a file, ``col N`` after
``--constraint 'TEXT'`` on the command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from imcmap.models.constraints import (
    COMPARISONS,
    Body,
    Bypass,
    BypassError,
    DiagonalRule,
    LoopOrder,
    ParsedConstraint,
    SpatialBound,
    Stationary,
    TileBound,
    UtilizationBound,
    apply_bypass,
    order_pair_possible,
    scope_matches,
)
from imcmap.models.hardware import Accelerator, ImcArray
from imcmap.models.mapping import DEFAULT_OPERAND_LINKS
from imcmap.models.mapping_spec import MappingSpec, SourceRef, UserConstraint
from imcmap.models.workload import LOOP_DIMS, Layer, Operand, Workload

from .checks import did_you_mean
from .errors import SpecError, SpecIssue

KEYWORDS = ("spatial", "forbid", "diagonal", "utilization", "stationary", "order", "tile", "bypass")
OPERAND_NAMES = tuple(op.value for op in Operand)
CMP_TEXT = ", ".join(COMPARISONS)
_SCOPE = re.compile(r"\s*(\[.*\]|\*|[A-Za-z_][A-Za-z0-9_]*)\s*:")
_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<num>\d+(?:\.\d*)?|\.\d+)(?![A-Za-z_])|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<cmp>>=|<=|==|!=|=>|=<|=|>|<)|(?P<punct>[.,:*])"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # name | num | cmp | punct | end | bad
    text: str
    col: int  # 0-based offset in the constraint text


class _Failure(Exception):
    def __init__(self, col: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.col, self.message, self.hint = col, message, hint


def constraint_issue(constraint: UserConstraint, col: int, message: str, hint: str = "") -> SpecIssue:
    """An issue at offset ``col`` of the constraint's text: ``file:line:col`` for a file,
    ``--constraint 'TEXT': col N`` for the command line."""
    return _issue(constraint.text, constraint.source, constraint.path, col, message, hint)


def _issue(text: str, source: SourceRef | None, path: str, col: int, message: str, hint: str = "") -> SpecIssue:
    if source is None:
        return SpecIssue(f"--constraint '{text}'", 0, 0, f"col {col + 1}", message, hint)
    return SpecIssue(source.file, source.line, source.col + col, path or "constraints", message, hint)


# --- parsing ------------------------------------------------------------------------------------


def parse_constraint(text: str, source: SourceRef | None = None, scope: str = "*", path: str = "") -> UserConstraint:
    """Parse one constraint; raise SpecError (one issue, at the offending word) if it is malformed."""
    try:
        parsed = _parse(text)
    except _Failure as failure:
        raise SpecError([_issue(text, source, path, failure.col, failure.message, failure.hint)]) from None
    return UserConstraint(text, source, scope, parsed, path)


def parse_constraints(texts: Iterable[str]) -> tuple[UserConstraint, ...]:
    """Command-line constraints (no file); every malformed one is reported at once."""
    out: list[UserConstraint] = []
    issues: list[SpecIssue] = []
    for text in texts:
        try:
            out.append(parse_constraint(text))
        except SpecError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SpecError(issues)
    return tuple(out)


def parsed_or_parse(constraints: Iterable[UserConstraint | str]) -> tuple[UserConstraint, ...]:
    """Constraints given as text or as UserConstraints (parsed if not yet); issues collected."""
    out: list[UserConstraint] = []
    issues: list[SpecIssue] = []
    for c in constraints:
        try:
            if isinstance(c, str):
                out.append(parse_constraint(c))
            elif c.parsed is None:
                out.append(replace(c, parsed=parse_constraint(c.text, c.source, c.scope, c.path).parsed))
            else:
                out.append(c)
        except SpecError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SpecError(issues)
    return tuple(out)


def _tokens(text: str, start: int) -> list[_Token]:
    out: list[_Token] = []
    pos = start
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _Failure(pos, f"unexpected character '{text[pos]}'")
        kind = m.lastgroup or "bad"
        if kind != "space":
            if kind == "cmp" and m.group() not in COMPARISONS:
                fix = {"=": "==", "=>": ">=", "=<": "<="}.get(m.group())
                hint = f"write '{fix}'" if fix else f"comparisons: {CMP_TEXT}"
                raise _Failure(pos, f"unknown comparison '{m.group()}'", hint)
            out.append(_Token(kind, m.group(), pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Reader:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.columns: dict[str, int] = {}

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def _after(self) -> str:
        return f" after '{self.tokens[self.i - 1].text}'" if self.i > 0 else ""

    def fail_expected(self, what: str, hint: str = "") -> _Failure:
        tok = self.peek()
        got = "the end of the text" if tok.kind == "end" else f"'{tok.text}'"
        return _Failure(tok.col, f"expected {what}{self._after()}, got {got}", hint)

    def punct(self, symbol: str) -> None:
        if self.peek().kind == "punct" and self.peek().text == symbol:
            self.take()
            return
        raise self.fail_expected(f"'{symbol}'")

    def word(self, what: str, choices: Sequence[str] | None = None, hint: str = "", role: str = "") -> str:
        tok = self.peek()
        if tok.kind != "name":
            raise self.fail_expected(what, hint or (f"expected one of: {', '.join(choices)}" if choices else ""))
        if choices is not None and tok.text not in choices:
            raise _Failure(tok.col, f"unknown {what} '{tok.text}'{did_you_mean(tok.text, choices)}",
                           hint or f"expected one of: {', '.join(choices)}")
        self.take()
        if role:
            self.columns[role] = tok.col
        return tok.text

    def keyword(self, word: str) -> None:
        tok = self.peek()
        if tok.kind == "name" and tok.text == word:
            self.take()
            return
        raise self.fail_expected(f"'{word}'")

    def loop_dim(self, role: str) -> str:
        return self.word("loop dim", LOOP_DIMS, f"loop dims: {', '.join(LOOP_DIMS)}", role)

    def operand(self) -> Operand:
        return Operand(self.word("operand", OPERAND_NAMES, "operands: W (weights), I (inputs), O (outputs)", "operand"))

    def level(self) -> str:
        return self.word("memory level name", role="level")

    def cmp(self) -> str:
        tok = self.peek()
        if tok.kind != "cmp":
            raise self.fail_expected(f"a comparison ({CMP_TEXT})")
        self.take()
        return tok.text

    def integer(self, minimum: int) -> int:
        tok = self.peek()
        if tok.kind != "num" or not tok.text.isdigit() or int(tok.text) < minimum:
            raise self.fail_expected(f"an integer >= {minimum}")
        self.take()
        self.columns["value"] = tok.col
        return int(tok.text)

    def fraction(self) -> float:
        tok = self.peek()
        if tok.kind != "num":
            raise self.fail_expected("a fraction in [0, 1]")
        value = float(tok.text)
        if value > 1:
            raise _Failure(tok.col, f"must be a fraction in [0, 1] (got {tok.text})", "e.g. 0.5 for 50 %")
        self.take()
        self.columns["value"] = tok.col
        return value

    def end(self) -> None:
        tok = self.peek()
        if tok.kind != "end":
            raise _Failure(tok.col, f"unexpected '{tok.text}'{self._after()}", "the constraint should end here")


def _parse(text: str) -> ParsedConstraint:
    if not text.strip():
        raise _Failure(0, "empty constraint", f"constraints start with: {', '.join(KEYWORDS)}")
    scope, start = "*", 0
    columns: dict[str, int] = {}
    m = _SCOPE.match(text)
    if m is not None and m.group(1) not in KEYWORDS:
        scope, start = m.group(1), m.end()
        columns["scope"] = m.start(1)
        if scope.startswith("[") and not scope[1:-1].strip():
            raise _Failure(m.start(1), "empty layer-name glob '[]'", "e.g. [/layer1/*] or [conv*]")
    reader = _Reader(_tokens(text, start))
    first = reader.peek()
    if first.kind == "end":
        raise _Failure(first.col, f"expected a constraint after the scope '{scope}:'",
                       f"constraints start with: {', '.join(KEYWORDS)}")
    if first.kind != "name" or first.text not in KEYWORDS:
        shown = first.text
        raise _Failure(first.col, f"unknown constraint '{shown}'{did_you_mean(shown, KEYWORDS)}",
                       f"constraints start with: {', '.join(KEYWORDS)}")
    reader.take()
    columns["body"] = first.col
    body = _BODIES[first.text](reader)
    reader.end()
    return ParsedConstraint(scope, body, {**columns, **reader.columns})


def _spatial_target(r: _Reader) -> tuple[str | None, str]:
    r.punct(".")
    tok = r.peek()
    if tok.kind != "name":
        raise r.fail_expected("an array dim or a loop dim")
    if tok.text in LOOP_DIMS and not (r.tokens[r.i + 1].kind == "punct" and r.tokens[r.i + 1].text == "."):
        return None, r.loop_dim("dim")
    adim = r.word("array dim", role="array_dim")
    if r.peek().kind == "end" or r.peek().kind == "cmp":
        raise _Failure(tok.col, f"'{adim}' is not a loop dim{did_you_mean(adim, LOOP_DIMS)}",
                       f"write spatial.{adim}.<loop dim> for an array dim, or spatial.<loop dim> for all of them")
    r.punct(".")
    return adim, r.loop_dim("dim")


def _spatial(r: _Reader) -> Body:
    adim, dim = _spatial_target(r)
    op = r.cmp()
    return SpatialBound(adim, dim, op, r.integer(1))


def _forbid(r: _Reader) -> Body:
    r.keyword("spatial")
    adim, dim = _spatial_target(r)
    return SpatialBound(adim, dim, "==", 1)


def _diagonal(r: _Reader) -> Body:
    return DiagonalRule(r.word("diagonal setting", ("required", "forbidden")) == "required")


def _utilization(r: _Reader) -> Body:
    r.punct(".")
    r.word("utilization kind", ("spatial",))
    op = r.cmp()
    return UtilizationBound(op, r.fraction())


def _stationary(r: _Reader) -> Body:
    operand = r.operand()
    r.keyword("at")
    return Stationary(operand, r.level())


def _order(r: _Reader) -> Body:
    level = r.level()
    r.punct(":")
    dims: list[str] = []
    rest = False
    while True:
        tok = r.peek()
        if tok.kind == "punct" and tok.text == "*":
            r.take()
            rest = True
            if r.peek().kind != "end":
                raise _Failure(tok.col, "'*' (every other loop dim) must come last", f"e.g. order {level}: K, *")
            break
        dim = r.loop_dim(f"dims[{len(dims)}]")
        if dim in dims:
            raise _Failure(tok.col, f"loop dim '{dim}' is listed twice")
        dims.append(dim)
        if r.peek().kind == "end":
            break
        r.punct(",")
    if len(dims) < 2 and not rest:
        raise _Failure(r.columns["dims[0]"], "a loop-order fragment needs two dims, or one dim and '*'",
                       f"e.g. order {level}: {dims[0]}, * (innermost {dims[0]})")
    for i, inner in enumerate(dims):
        for outer in dims[i + 1 :]:
            if not order_pair_possible(inner, outer):
                raise _Failure(
                    r.columns[f"dims[{dims.index(outer)}]"],
                    f"{inner} inside {outer} is not in the solver's space",
                    "within a segment the loops irrelevant to one operand go innermost, each group in the order "
                    f"{' '.join(LOOP_DIMS)}; see the README's constraint section",
                )
    return LoopOrder(level, tuple(dims), rest)


def _tile(r: _Reader) -> Body:
    r.punct(".")
    operand = r.operand()
    r.punct(".")
    level = r.level()
    op = r.cmp()
    return TileBound(operand, level, op, r.integer(0))


def _bypass(r: _Reader) -> Body:
    operand = r.operand()
    if r.peek().kind == "name" and r.peek().text == "at" and r.tokens[r.i + 1].kind == "name":
        r.take()
    return Bypass(operand, r.level())


_BODIES = {
    "spatial": _spatial,
    "forbid": _forbid,
    "diagonal": _diagonal,
    "utilization": _utilization,
    "stationary": _stationary,
    "order": _order,
    "tile": _tile,
    "bypass": _bypass,
}


# --- checks against an accelerator and a workload ----------------------------------------------


def check_constraints(
    constraints: Sequence[UserConstraint],
    accel: Accelerator,
    workload: Workload | None = None,
    spec: MappingSpec | None = None,
) -> list[SpecIssue]:
    """Names each constraint uses that ``accel`` or ``workload`` does not have, each with a
    did-you-mean: array dims, memory levels, levels that do not hold the operand (under the operand
    links of every layer the constraint applies to), bypasses that cannot be, diagonal rules on a
    digital array, and scopes that match no layer."""
    found: list[SpecIssue] = []
    for c in constraints:
        if c.parsed is None:
            continue
        layers = _scoped_layers(c, workload, found)
        _check_body(c, accel, layers, spec, found)
    return sorted(found, key=lambda i: (i.file, i.line, i.col))


def _scoped_layers(c: UserConstraint, workload: Workload | None, found: list[SpecIssue]) -> list[Layer] | None:
    """The layers ``c`` applies to (None without a workload); an issue if there are none."""
    assert c.parsed is not None
    if workload is None:
        return None
    scope = c.parsed.scope
    at = c.parsed.columns.get("scope", 0)
    names = [layer.name for layer in workload.layers]
    ops = sorted({layer.op for layer in workload.layers})
    if scope not in ("*", "default") and not scope.startswith("[") and scope not in names and scope not in ops:
        found.append(
            constraint_issue(
                c,
                at,
                f"'{scope}' is neither an op type nor a layer of workload '{workload.name}'"
                f"{did_you_mean(scope, ops + names)}",
                f"op types: {', '.join(ops)}; match layer names with a glob in brackets, "
                f"e.g. [{names[0] if names else 'conv*'}]",
            )
        )
        return []
    if not any(scope_matches(c.scope, layer) for layer in workload.layers):
        return []  # the entry's selector matches nothing: check_mapping_against reports the selector
    layers = [layer for layer in workload.layers if c.applies_to(layer)]
    if not layers:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        why = f"the glob {scope}" if scope.startswith("[") else f"'{scope}'"
        if c.scope not in ("*", "default"):
            why += f" within the entry for '{c.scope}'"
        found.append(constraint_issue(c, at, f"{why} matches no layer of workload '{workload.name}'",
                                      f"layers: {shown}"))
    return layers


def _links(layer: Layer | None, spec: MappingSpec | None) -> dict[Operand, str]:
    if layer is None or spec is None:
        return dict(DEFAULT_OPERAND_LINKS)
    return spec.resolve(layer).operand_links


def _check_body(c: UserConstraint, accel: Accelerator, layers: list[Layer] | None, spec: MappingSpec | None,
                found: list[SpecIssue]) -> None:
    assert c.parsed is not None
    body, cols = c.parsed.body, c.parsed.columns
    adims = [d.name for d in accel.array_dims]
    if isinstance(body, SpatialBound) and body.array_dim is not None and body.array_dim not in adims:
        found.append(constraint_issue(c, cols.get("array_dim", 0),
                                      f"unknown array dim '{body.array_dim}'{did_you_mean(body.array_dim, adims)}",
                                      f"{accel.name} has array dims: {', '.join(adims)}"))
    if isinstance(body, DiagonalRule) and not isinstance(accel.array, ImcArray):
        found.append(
            constraint_issue(
                c,
                cols.get("body", 0),
                f"diagonal mappings exist on IMC arrays only; {accel.name} has a digital PE array",
            )
        )
    level = getattr(body, "level", None)
    if level is None:
        return
    memories = [m.name for m in accel.memories]
    if level not in memories:
        found.append(constraint_issue(c, cols.get("level", 0),
                                      f"unknown memory level '{level}'{did_you_mean(level, memories)}",
                                      f"{accel.name} has memories: {', '.join(memories)}"))
        return
    operand = getattr(body, "operand", None)
    if operand is None:
        return
    for layer in layers if layers else [None]:
        links = _links(layer, spec)
        chain = [m.name for m in accel.chain(links[operand])]
        where = (
            f" (layer {layer.name})"
            if layer is not None and spec is not None and links != DEFAULT_OPERAND_LINKS
            else ""
        )
        message = ""
        if level not in chain:
            message = (f"{level} does not hold {operand.value} (memory operand {links[operand]}){where}; "
                       f"{operand.value}'s levels: {', '.join(chain)}")
        elif isinstance(body, Bypass):
            try:
                apply_bypass(accel, links, body)
            except BypassError as exc:
                message = str(exc) + where
        if message:
            found.append(constraint_issue(c, cols.get("level", 0), message))
            return
