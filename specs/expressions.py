"""A small arithmetic language for sweep specs: derived values and point filters, evaluated safely.

An expression is parsed with ``ast.parse(mode="eval")`` and accepted only if every node is on a
whitelist; evaluation walks that tree itself (no ``eval``/``compile``), so no Python builtin, attribute
or object is reachable from a spec file. The language::

    numbers (1, 0.5, 1.0e3), 'text' (only as an operand of == or !=)
    names: a parameter, derived value or metric; dotted names (array.dims.D2) read as one name
    arithmetic: + - * / // % **, unary - and +, parentheses
    functions: log2(x), log(x), log(x, base), sqrt(x), min(a, b, ...), max(a, b, ...),
               ceil(x), floor(x), round(x)            # round halves away from zero: round(4.5) = 5
    conditions (filters): == != < <= > >= (chained: 32 <= rows <= 256), and, or, not

A condition cannot be used as a number, nor a number as a condition. Errors are ``ExpressionError``
with the 0-based offset of the offending part inside the text; the caller places it in its file.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import cast

from imcmap.models.errors import ImcmapError

from .checks import did_you_mean

Value = int | float | str
Result = int | float | str | bool  # a name alone gives its value, which may be text

MAX_LENGTH = 2000  # characters; far beyond any rule worth writing in a spec
MAX_DEPTH = 40  # nesting of the tree; keeps parsing and the recursive walk bounded
MAX_POWER_BITS = 4096  # an integer power larger than this is an error, not a long computation


class ExpressionError(ImcmapError):
    """A bad expression, or one that cannot be evaluated at some values; ``offset`` is 0-based."""

    def __init__(self, message: str, offset: int = 0, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _round(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# name -> (function, fewest arguments, most arguments or None for any number)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    "log2": (math.log2, 1, 1),
    "log": (_log, 1, 2),
    "sqrt": (math.sqrt, 1, 1),
    "min": (min, 2, None),
    "max": (max, 2, None),
    "ceil": (math.ceil, 1, 1),
    "floor": (math.floor, 1, 1),
    "round": (_round, 1, 1),
}
_FUNCTION_LIST = ", ".join(FUNCTIONS)

_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_COMPARISONS: dict[type[ast.cmpop], Callable[[Value, Value], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_EQUALITY = (ast.Eq, ast.NotEq)

# What the user wrote, for "X is not allowed" (the node class names mean nothing to a spec author)
_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.IfExp: "a conditional (x if c else y)",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "unpacking (*)",
    ast.JoinedStr: "an f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}

NUMBER, TEXT, ANY, CONDITION = "number", "text", "value", "condition"


@dataclass(frozen=True, slots=True)
class NameUse:
    name: str  # as written, dots included: "array.dims.D2"
    offset: int  # where it starts in the text (0-based)


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression. ``uses`` lists every name it reads, in the order written."""

    text: str
    is_condition: bool
    uses: tuple[NameUse, ...]
    tree: ast.expr = field(compare=False, repr=False)
    offsets: dict[int, int] = field(compare=False, repr=False)  # id(node) -> offset in text

    @property
    def names(self) -> tuple[str, ...]:
        """The distinct names read, in first-use order."""
        return tuple(dict.fromkeys(use.name for use in self.uses))

    def __reduce__(self) -> tuple[Callable[[str, bool], Expression], tuple[str, bool]]:
        # rebuilt from its text: the node ids that key ``offsets`` do not survive pickling
        return (parse_expression, (self.text, self.is_condition))


def parse_expression(text: str, condition: bool = False) -> Expression:
    """Parse and check ``text``: a condition (a filter) if ``condition``, else a number."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    flat = text.replace("\r", " ").replace("\n", " ")  # one line, same offsets
    lead = len(flat) - len(flat.lstrip())
    body = flat.strip()
    if not body:
        raise ExpressionError("empty expression", 0, "e.g. 0.5 * log2(rows)")
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError as exc:
        at = lead + (exc.offset - 1 if exc.offset and exc.offset > 0 else len(body))
        raise ExpressionError(f"not a valid expression ({exc.msg})", min(at, len(text))) from None
    except (RecursionError, MemoryError, ValueError):  # ValueError: a NUL character
        raise ExpressionError("cannot parse the expression (nested too deeply, or a NUL character)") from None
    checker = _Checker(body, lead)
    kind = checker.check(tree, 0)
    if condition and kind != CONDITION:
        raise ExpressionError("a filter must be a condition, e.g. area_mm2 <= 1.0 or rows >= 64", lead)
    if not condition and kind == CONDITION:
        raise ExpressionError("must be a number, not a condition (comparisons belong in filters)", lead)
    return Expression(text, condition, tuple(checker.uses), tree, checker.offsets)


def unknown_names(expr: Expression, known: Collection[str]) -> list[ExpressionError]:
    """One error per use of a name not in ``known``, each with a did-you-mean."""
    return [
        ExpressionError(f"unknown name '{use.name}'{did_you_mean(use.name, known)}", use.offset)
        for use in expr.uses
        if use.name not in known
    ]


def evaluate(expr: Expression, values: Mapping[str, Value | None]) -> Result:
    """The value of ``expr`` with its names taken from ``values``; ExpressionError if it fails there
    (division by zero, log of a non-positive number, text where a number is needed, a missing name)."""
    return _Evaluator(expr, values).value(expr.tree)


class _Checker:
    """Walks a parsed tree: rejects anything off the whitelist, records names and node offsets."""

    def __init__(self, body: str, lead: int) -> None:
        self.body = body
        self.lead = lead
        self.uses: list[NameUse] = []
        self.offsets: dict[int, int] = {}

    def _offset(self, node: ast.AST) -> int:
        col = getattr(node, "col_offset", 0)  # UTF-8 bytes on line 1 (the text is one line)
        return self.lead + len(self.body.encode()[:col].decode(errors="ignore"))

    def _fail(self, node: ast.AST, message: str, hint: str = "") -> ExpressionError:
        return ExpressionError(message, self._offset(node), hint)

    def check(self, node: ast.AST, depth: int) -> str:
        """The kind of value ``node`` gives: NUMBER, TEXT, ANY (a name) or CONDITION."""
        if depth > MAX_DEPTH:
            raise self._fail(node, f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        self.offsets[id(node)] = self._offset(node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = self._dotted(node)
            self.uses.append(NameUse(name, self._offset(node)))
            return ANY
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _ARITHMETIC:
                raise self._fail(node, "operator not allowed", "arithmetic: + - * / // % **")
            self._operand(node.left, depth)
            self._operand(node.right, depth)
            return NUMBER
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self._condition_operand(node.operand, depth, "not")
                return CONDITION
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                self._operand(node.operand, depth)
                return NUMBER
            raise self._fail(node, "operator '~' not allowed")
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for value in node.values:
                self._condition_operand(value, depth, word)
            return CONDITION
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        what = _CONSTRUCTS.get(type(node), type(node).__name__)
        raise self._fail(node, f"{what} is not allowed in an expression",
                         "allowed: numbers, names, + - * / // % **, comparisons, and/or/not, " + _FUNCTION_LIST)

    def _constant(self, node: ast.Constant) -> str:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self._fail(node, f"'{value}' is not allowed in an expression", "use numbers and comparisons")
        if isinstance(value, (int, float)):
            return NUMBER
        if isinstance(value, str):
            return TEXT
        raise self._fail(node, f"a {type(value).__name__} constant is not allowed", "numbers only")

    def _dotted(self, node: ast.expr) -> str:
        parts: list[str] = []
        current = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self._fail(node, "attribute access is not allowed in an expression",
                             "a dotted name (array.dims.D2) must consist of names only")
        parts.append(current.id)
        name = ".".join(reversed(parts))
        if any(part.startswith("_") for part in parts):
            raise self._fail(node, f"'{name}': names starting with '_' are not allowed")
        if name in FUNCTIONS:
            raise self._fail(node, f"'{name}' is a function: call it, e.g. {name}(x)")
        return name

    def _operand(self, node: ast.expr, depth: int) -> None:
        kind = self.check(node, depth + 1)
        if kind == CONDITION:
            raise self._fail(node, "a condition cannot be used as a number")
        if kind == TEXT:
            raise self._fail(node, "text can only be compared with == or !=")

    def _condition_operand(self, node: ast.expr, depth: int, word: str) -> None:
        if self.check(node, depth + 1) != CONDITION:
            raise self._fail(node, f"'{word}' needs conditions on both sides, e.g. rows >= 64 and area_mm2 < 1")

    def _compare(self, node: ast.Compare, depth: int) -> str:
        for op in node.ops:
            if type(op) not in _COMPARISONS:
                raise self._fail(node, "comparison not allowed", "use == != < <= > >=")
        operands = [node.left, *node.comparators]
        kinds = [self.check(operand, depth + 1) for operand in operands]
        for k, (operand, kind) in enumerate(zip(operands, kinds, strict=True)):
            if kind == CONDITION:
                raise self._fail(operand, "a condition cannot be compared; combine conditions with and/or")
            beside = [node.ops[i] for i in (k - 1, k) if 0 <= i < len(node.ops)]
            if kind == TEXT and not all(isinstance(op, _EQUALITY) for op in beside):
                raise self._fail(operand, "text can only be compared with == or !=")
        return CONDITION

    def _call(self, node: ast.Call, depth: int) -> str:
        if not isinstance(node.func, ast.Name):
            self.check(node.func, depth + 1)  # names what was called when it is not allowed (a lambda)
            raise self._fail(node, "only the listed functions can be called", f"functions: {_FUNCTION_LIST}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self._fail(node, f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}",
                             f"functions: {_FUNCTION_LIST}")
        if node.keywords:
            raise self._fail(node.keywords[0].value, f"{name}() takes no keyword arguments")
        for arg in node.args:
            self._operand(arg, depth)
        _, fewest, most = FUNCTIONS[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            expected = str(fewest) if fewest == most else f"{fewest} or more" if most is None else f"{fewest} to {most}"
            raise self._fail(node, f"{name}() takes {expected} argument{'s' * (expected != '1')}, got {count}")
        return NUMBER


class _Evaluator:
    def __init__(self, expr: Expression, values: Mapping[str, Value | None]) -> None:
        self.expr = expr
        self.values = values

    def _fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, self.expr.offsets.get(id(node), 0))

    def value(self, node: ast.expr) -> Result:
        if isinstance(node, ast.Constant):
            return cast(Value, node.value)  # parse_expression admits numbers and text only
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.value(node.operand)
            number = self._number(node.operand)
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self.value(v) for v in node.values)
            return any(self.value(v) for v in node.values)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self._fail(node, "internal error: an unchecked expression node")  # parse_expression rejects it

    def _name(self, node: ast.expr) -> Value:
        parts: list[str] = []
        current = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        assert isinstance(current, ast.Name)
        name = ".".join([current.id, *reversed(parts)])
        value = self.values.get(name)
        if value is None:  # absent, or a metric the model has no figure for (None)
            raise self._fail(node, f"no value for '{name}'")
        return value

    def _number(self, node: ast.expr) -> int | float:
        value = self.value(node)
        if isinstance(value, str):
            raise self._fail(node, f"'{value}' is text, not a number")
        return value

    def _binop(self, node: ast.BinOp) -> int | float:
        left, right = self._number(node.left), self._number(node.right)
        symbol, op = _ARITHMETIC[type(node.op)]
        power = isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int)
        if power and right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_POWER_BITS:
            raise self._fail(node, f"{left} ** {right} is too large")
        try:
            result = op(left, right)
        except ZeroDivisionError:
            raise self._fail(node, f"division by zero ({_show(left)} {symbol} {_show(right)})") from None
        except OverflowError:
            raise self._fail(node, f"{_show(left)} {symbol} {_show(right)} is too large") from None
        if isinstance(result, complex):
            raise self._fail(node, f"{_show(left)} {symbol} {_show(right)} is not a real number")
        if isinstance(result, float) and not math.isfinite(result):
            raise self._fail(node, f"{_show(left)} {symbol} {_show(right)} is not a finite number")
        return result

    def _compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            if isinstance(left, str) != isinstance(right, str) and not isinstance(op, _EQUALITY):
                raise self._fail(right_node, f"cannot order text and a number ({_show(left)}, {_show(right)})")
            if isinstance(left, str) and isinstance(right, str) and not isinstance(op, _EQUALITY):
                raise self._fail(right_node, "text can only be compared with == or !=")
            if not _COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True

    def _call(self, node: ast.Call) -> int | float:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        function = FUNCTIONS[name][0]
        args = [self._number(arg) for arg in node.args]
        try:
            result = function(*args)
        except (ValueError, ZeroDivisionError):
            shown = ", ".join(_show(a) for a in args)
            raise self._fail(node, f"{name}({shown}) is undefined") from None
        except OverflowError:
            raise self._fail(node, f"{name}() of {', '.join(_show(a) for a in args)} is too large") from None
        return result


def _show(value: Value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int) and value.bit_length() > 64:  # str() of a huge int is slow, or refused
        return f"a number of {math.floor(value.bit_length() * math.log10(2)) + 1} digits"
    return f"{value:g}" if isinstance(value, float) else str(value)
