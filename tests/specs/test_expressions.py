"""The sweep expression language: values, conditions, and everything it refuses, with offsets."""

from __future__ import annotations

import pickle

import pytest

from imcmap.specs.expressions import (
    ExpressionError,
    evaluate,
    parse_expression,
    unknown_names,
)


def _value(text: str, **values: float | str) -> int | float | bool:
    return evaluate(parse_expression(text), values)


def _holds(text: str, **values: float | str) -> int | float | bool:
    return evaluate(parse_expression(text, condition=True), values)


def _parse_error(text: str, condition: bool = False) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, condition)
    return info.value


def _eval_error(text: str, **values: float | str) -> ExpressionError:
    expr = parse_expression(text)
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, values)
    return info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),  # * binds tighter than +
        ("(1 + 2) * 3", 9),
        ("7 // 2", 3),
        ("-7 % 3", 2),  # Python's modulo: the sign of the divisor
        ("2 ** 3 ** 2", 512),  # ** is right-associative: 2 ** 9
        ("1 / 4", 0.25),
        ("-(3 - 5)", 2),
        ("+4", 4),
        ("32 * 8192", 262144),  # a product of integers is never refused as a too-large power
        ("2 ** 4096", 2**4096),  # the largest power allowed
    ],
)
def test_arithmetic(text: str, expected: float) -> None:
    """The operators give Python's arithmetic, precedence included."""
    assert _value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log2(32)", 5.0),
        ("log(8, 2)", 3.0),
        ("sqrt(16)", 4.0),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("ceil(4.5)", 5),
        ("floor(4.5)", 4),
        ("round(4.5)", 5),  # halves away from zero, not Python's round-half-to-even (4)
        ("round(5.5)", 6),
        ("round(-4.5)", -5),
        ("round(4.4)", 4),
    ],
)
def test_functions(text: str, expected: float) -> None:
    """Each whitelisted function, checked by hand."""
    assert _value(text) == expected


@pytest.mark.parametrize(("rows", "adc_bits"), [(32, 4.5), (128, 5.5), (512, 6.5)])
def test_the_iccad_adc_rule(rows: int, adc_bits: float) -> None:
    """adc_bits = Bi + 0.5 * log2(rows) with Bi = 2: 2 + 2.5, 2 + 3.5, 2 + 4.5."""
    assert _value("input_bits_per_cycle + 0.5 * log2(rows)", input_bits_per_cycle=2, rows=rows) == adc_bits


def test_dotted_names_read_as_one_name() -> None:
    """array.dims.D2 is the name 'array.dims.D2', looked up in the values, not an attribute."""
    expr = parse_expression("array.dims.D2 // 8 + rows")
    assert expr.names == ("array.dims.D2", "rows")
    assert [use.offset for use in expr.uses] == [0, 21]
    assert evaluate(expr, {"array.dims.D2": 128, "rows": 1}) == 17


def test_conditions() -> None:
    """Chained comparisons, and/or/not, and text compared for equality."""
    assert _holds("32 <= rows <= 256", rows=64) is True
    assert _holds("32 <= rows <= 256", rows=512) is False
    assert _holds("rows >= 64 and area_mm2 < 1", rows=64, area_mm2=0.5) is True
    assert _holds("rows >= 64 or not area_mm2 < 1", rows=32, area_mm2=2.0) is True
    assert _holds("kind == 'analog'", kind="analog") is True
    assert _holds("kind != 'analog'", kind="analog") is False


def test_unknown_names_suggest_a_known_one() -> None:
    """Each unknown name is an error at its offset, with a did-you-mean."""
    errors = unknown_names(parse_expression("2 * rwos + cols"), ["rows", "cols"])
    assert [(e.message, e.offset) for e in errors] == [("unknown name 'rwos', did you mean 'rows'?", 4)]


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("__import__('os')", "unknown function '__import__'", 0),
        ("().__class__", "attribute access is not allowed in an expression", 0),
        ("rows.__class__", "'rows.__class__': names starting with '_' are not allowed", 0),
        ("(lambda: 1)()", "a lambda is not allowed in an expression", 1),
        ("1 + (lambda x: x)(2)", "a lambda is not allowed in an expression", 5),
        ("[x for x in rows]", "a list comprehension is not allowed in an expression", 0),
        ("{x for x in rows}", "a set comprehension is not allowed in an expression", 0),
        ("{k: 1 for k in rows}", "a dict comprehension is not allowed in an expression", 0),
        ("sum(x for x in rows)", "unknown function 'sum'", 0),
        ("max(x for x in rows)", "a generator expression is not allowed in an expression", 3),
        ("rows[0]", "indexing is not allowed in an expression", 0),
        ("open('f').read()", "attribute access is not allowed in an expression", 0),
        ("os.system('ls')", "only the listed functions can be called", 0),
        ("1 if rows else 2", "a conditional (x if c else y) is not allowed in an expression", 0),
        ("(y := 1)", "an assignment (:=) is not allowed in an expression", 1),
        ("f'{rows}'", "an f-string is not allowed in an expression", 0),
        ("True", "'True' is not allowed in an expression", 0),
        ("None", "'None' is not allowed in an expression", 0),
        ("1j", "a complex constant is not allowed", 0),
        ("2 << rows", "operator not allowed", 0),
        ("log2", "'log2' is a function: call it, e.g. log2(x)", 0),
        ("log2(x=1)", "log2() takes no keyword arguments", 7),
        ("sqrt(1, 2)", "sqrt() takes 1 argument, got 2", 0),
        ("rows +", "not a valid expression (invalid syntax)", 6),
        ("rows in (1, 2)", "comparison not allowed", 0),
        ("'a' + rows", "text can only be compared with == or !=", 0),
        ("(rows < 2) + 1", "a condition cannot be used as a number", 1),
        ("rows < 64", "must be a number, not a condition (comparisons belong in filters)", 0),
    ],
)
def test_refused_constructs_are_located(text: str, message: str, offset: int) -> None:
    """Nothing beyond the whitelist parses: builtins, attributes, lambdas, comprehensions, ..."""
    error = _parse_error(text)
    assert error.message.startswith(message)
    assert error.offset == offset


def test_a_filter_must_be_a_condition() -> None:
    """A filter that gives a number is refused; and/or need conditions on both sides."""
    assert _parse_error("area_mm2", condition=True).message.startswith("a filter must be a condition")
    error = _parse_error("rows >= 64 and area_mm2", condition=True)
    assert (error.message.split(",")[0], error.offset) == ("'and' needs conditions on both sides", 15)


def test_leading_spaces_keep_offsets() -> None:
    """Offsets count from the text as written, leading spaces included."""
    assert _parse_error("  rows + ").offset == 8  # just after the '+': where the operand is missing
    assert parse_expression("  rows").uses[0].offset == 2


@pytest.mark.parametrize(
    ("text", "values", "message", "offset"),
    [
        ("64 / (rows - 32)", {"rows": 32}, "division by zero (64 / 0)", 0),
        ("1 + rows // 0", {"rows": 3}, "division by zero (3 // 0)", 4),
        ("rows % 0", {"rows": 3}, "division by zero (3 % 0)", 0),
        ("0 ** -1", {}, "division by zero (0 ** -1)", 0),
        ("2 + log2(rows)", {"rows": 0}, "log2(0) is undefined", 4),
        ("sqrt(rows)", {"rows": -1}, "sqrt(-1) is undefined", 0),
        ("2 ** rows", {"rows": 100000}, "2 ** 100000 is too large", 0),
        ("1.0e300 * rows", {"rows": 1.0e10}, "1e+300 * 1e+10 is not a finite number", 0),
        ("(-8) ** 0.5", {}, "-8 ** 0.5 is not a real number", 0),
        ("rows + 1", {"rows": "analog"}, "'analog' is text, not a number", 0),
        ("rows + 1", {}, "no value for 'rows'", 0),
        ("1 + rows", {"rows": None}, "no value for 'rows'", 4),  # a metric the model has no figure for
    ],
)
def test_evaluation_errors_are_located(text: str, values: dict[str, int | float | str], message: str,
                                       offset: int) -> None:
    """What fails at some values is an ExpressionError at the part that failed."""
    error = _eval_error(text, **values)
    assert (error.message, error.offset) == (message, offset)


def test_text_cannot_be_ordered() -> None:
    """'<' between text and a number is an evaluation error, not Python's TypeError."""
    expr = parse_expression("kind < 3", condition=True)
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, {"kind": "analog"})
    assert info.value.message == "cannot order text and a number ('analog', 3)"


def test_builtin_names_are_not_reachable() -> None:
    """A builtin's name is just an unknown name: only the given values are ever read."""
    expr = parse_expression("len + print")
    assert unknown_names(expr, ["rows"])[0].message == "unknown name 'len'"
    with pytest.raises(ExpressionError, match="no value for 'len'"):
        evaluate(expr, {})


def test_too_long_or_deep_is_refused() -> None:
    """Very long or deeply nested text is an error, not a crash."""
    assert _parse_error("1 + " * 1000 + "1").message.startswith("expression too long")
    deep = "-" * 60 + "1"
    assert "nested too deeply" in _parse_error(deep).message


def test_expressions_pickle() -> None:
    """An expression survives pickling (sent to workers) and evaluates the same."""
    expr = parse_expression("2 + 0.5 * log2(array.dims.D2)")
    copy = pickle.loads(pickle.dumps(expr))
    assert copy == expr
    assert evaluate(copy, {"array.dims.D2": 128}) == 5.5
