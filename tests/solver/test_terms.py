"""``solver.terms``: exact values by element table, the log-domain lower bound and its tolerance, and
the input-halo table, each checked on fixed exponents."""

from __future__ import annotations

from itertools import pairwise
from math import ceil, exp, log

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from imcmap.models.workload import Layer
from imcmap.solver.terms import (
    LOG_SCALE,
    SURROGATE_TANGENT_STEP,
    TANGENT_STEP,
    Term,
    exact_value,
    floor_log,
    halo_log_table,
    lower_bound,
    snapped_points,
    table_value,
)


def _solve(model: cp_model.CpModel, minimize=None) -> cp_model.CpSolver:
    if minimize is not None:
        model.minimize(minimize)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    return solver


def _fixed(model: cp_model.CpModel, exps: dict[int, int], bounds: dict[int, int], name: str) -> dict:
    out = {}
    for p, b in bounds.items():
        var = model.new_int_var(0, b, f"{name}^{p}")
        model.add(var == exps.get(p, 0))
        out[p] = var
    return out


def test_floor_log_is_scaled_and_floored():
    """floor(10000 * ln 2) = floor(6931.47) = 6931; ln 1 = 0; ln 0.5 floors down to -6932."""
    assert floor_log(2) == 6931
    assert floor_log(1) == 0
    assert floor_log(0.5) == -6932
    assert LOG_SCALE == 10_000


def test_exact_value_of_a_product_by_hand():
    """exps {2: 3, 3: 1} with bounds {2: 3, 3: 2}: the value 2^3 * 3 = 24."""
    model = cp_model.CpModel()
    exps = _fixed(model, {2: 3, 3: 1}, {2: 3, 3: 2}, "x")
    var = exact_value(model, [(exps, {2: 3, 3: 2})], lambda v: v, "tile")
    assert _solve(model).value(var) == 24


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1), st.sampled_from(["index", "rows"]))
def test_exact_value_of_two_parts_applies_the_function(a2: int, a3: int, b2: int, b5: int, encoding: str):
    """Two parts (2^a2 * 3^a3, 2^b2 * 5^b5) and fn(x, y) = x * 10 + y: the table's index strides
    (``exact_value``) or its rows (``table_value``) must line the axes up, so each assignment reads its
    own entry."""
    model = cp_model.CpModel()
    first = _fixed(model, {2: a2, 3: a3}, {2: 3, 3: 2}, "a")
    second = _fixed(model, {2: b2, 5: b5}, {2: 2, 5: 1}, "b")
    value = exact_value if encoding == "index" else table_value
    var = value(model, [(first, {2: 3, 3: 2}), (second, {2: 2, 5: 1})], lambda x, y: 10 * x + y, "v")
    x, y = 2**a2 * 3**a3, 2**b2 * 5**b5
    assert _solve(model).value(var) == 10 * x + y


@pytest.mark.parametrize("step", [TANGENT_STEP, SURROGATE_TANGENT_STEP])
@pytest.mark.parametrize(
    ("coef", "exps"), [(1.0, {2: 0, 3: 0}), (3.5, {2: 4, 3: 1}), (0.25, {2: 7, 3: 3}), (12.0, {2: 2, 3: 2})]
)
def test_lower_bound_never_exceeds_the_term_and_is_within_the_tangent_gap(
    coef: float, exps: dict[int, int], step: float
):
    """t, minimised, is at most coef * prod(p^e) (in units of 1) and at least that times exp(-step^2/8)
    less rounding: the tangents of exp are step apart in log space, and their envelope
    lies below exp by at most about step^2/8 in relative terms (0.41 % for ln 1.2, 5.8 % for ln 2).
    3.5 * 2^4 * 3 = 168; 0.25 * 2^7 * 27 = 864; 12 * 4 * 9 = 432."""
    model = cp_model.CpModel()
    bounds = {2: 7, 3: 3}
    evars = _fixed(model, exps, bounds, "e")
    t = lower_bound(model, Term(coef, evars, bounds, name="term"), unit=1.0, step=step)
    assert t is not None
    value = coef * 2 ** exps[2] * 3 ** exps[3]
    got = _solve(model, minimize=t).value(t)
    assert got <= value
    assert got >= value * exp(-(step**2) / 8) * (1 - 1e-3) - 1


@given(st.integers(0, 7), st.integers(0, 3), st.integers(0, 2), st.sampled_from([0.25, 1.0, 3.5, 12.0]),
       st.sampled_from([TANGENT_STEP, SURROGATE_TANGENT_STEP]))
@settings(max_examples=60, deadline=None)
def test_snapped_tangents_meet_the_term_where_they_touch_and_never_exceed_it(
    e2: int, e3: int, e7: int, coef: float, step: float
):
    """With ``snap`` the tangents touch exp at logs the term takes, at most ``step`` apart where such logs
    are that close: t minimised is at most coef * 2^e2 * 3^e3 * 7^e7 (rounded up: t is an integer) at every
    exponent vector, at least that times exp(-step^2/8) less rounding, and the term itself (less
    rounding) at the tangent points. 0.25 * 7 = 1.75 takes t = 2: a tangent at 2 is 1.73 there."""
    model = cp_model.CpModel()
    bounds = {2: 7, 3: 3, 7: 2}
    evars = _fixed(model, {2: e2, 3: e3, 7: e7}, bounds, "e")
    term = Term(coef, evars, bounds, name="term")
    t = lower_bound(model, term, unit=1.0, step=step, snap=True)
    assert t is not None
    value = coef * 2**e2 * 3**e3 * 7**e7
    got = _solve(model, minimize=t).value(t)
    assert got <= ceil(value)  # t is an integer: at most the whole unit the rows' envelope lies in
    assert got >= value * exp(-(step**2) / 8) * (1 - 1e-3) - 1
    base = floor_log(coef)
    log_here = base + floor_log(2) * e2 + floor_log(3) * e3 + floor_log(7) * e7
    s_max = base + floor_log(2) * 7 + floor_log(3) * 3 + floor_log(7) * 2
    if log_here in snapped_points(term, base, s_max, step * LOG_SCALE):
        assert got >= exp(log_here / LOG_SCALE) - 1


@given(st.dictionaries(st.sampled_from([2, 3, 5, 7, 11]), st.integers(0, 6), min_size=1, max_size=4),
       st.integers(-20_000, 20_000), st.sampled_from([TANGENT_STEP, SURROGATE_TANGENT_STEP, 0.05]))
@settings(max_examples=100, deadline=None)
def test_snapped_points_are_reachable_logs_at_most_a_step_apart_where_they_can_be(
    bounds: dict[int, int], base: int, step: float
):
    """The points are logs the term can take, rising from ``base`` to the largest one; each is the largest
    within ``step`` of the one before or, when none is, the next one there is."""
    term = Term(1.0, {}, bounds, name="t")
    logs = {base}
    for p, b in bounds.items():
        logs = {v + floor_log(p) * n for v in logs for n in range(b + 1)}
    reachable = sorted(logs)
    width = step * LOG_SCALE
    points = snapped_points(term, base, reachable[-1], width)
    assert points is not None and points[0] == base and points[-1] == reachable[-1]
    assert set(points) <= logs and points == sorted(set(points))
    for before, after in pairwise(points):
        within = [v for v in reachable if before < v <= before + width]
        assert after == (max(within) if within else min(v for v in reachable if v > before))


def test_snapped_points_leave_halo_terms_and_large_lattices_evenly_spaced():
    """A halo's logs come from a table, and a lattice beyond SNAP_LATTICE costs more to list than it gives."""
    model = cp_model.CpModel()
    halo = model.new_int_var(0, 100, "h")
    assert snapped_points(Term(1.0, {}, {2: 3}, [(halo, 100)]), 0, 10**6, 1823.0) is None
    assert snapped_points(Term(1.0, {}, {2: 200, 3: 200}), 0, 10**9, 1823.0) is None


def test_lower_bound_of_a_zero_coefficient_is_no_term():
    """A term with coefficient 0 costs nothing and gets no variable."""
    model = cp_model.CpModel()
    assert lower_bound(model, Term(0.0, {}, {}), unit=1.0) is None


def test_lower_bound_off_asks_nothing():
    """With its enforcement literal false the term may be 0; true, it is bounded as usual (2^5 = 32)."""
    for on, expected_max in ((0, 0), (1, 32)):
        model = cp_model.CpModel()
        evars = _fixed(model, {2: 5}, {2: 6}, "e")
        lit = model.new_bool_var("on")
        model.add(lit == on)
        t = lower_bound(model, Term(1.0, evars, {2: 6}, name="t"), unit=1.0, enforce=lit)
        got = _solve(model, minimize=t).value(t)
        assert got <= expected_max
        if on:
            assert got >= 32 * exp(-(TANGENT_STEP**2) / 8) - 1


def test_halo_table_counts_the_input_positions():
    """OX tile 2^2 = 4 outputs with FX tile 3 taps, stride 2: positions 2o + f for o < 4, f < 3 are
    0..8, 9 of them; the table holds 9 and floor(10000 ln 9) = 21972; the largest extent (OX 8, FX 3:
    2*7 + 2 + 1 = 17 positions, an input of that size) gives the max log."""
    layer = Layer("c", "Conv", {"OX": 8, "FX": 3}, stride=(1, 2))
    model = cp_model.CpModel()
    o = _fixed(model, {2: 2}, {2: 3}, "o")
    f = _fixed(model, {3: 1}, {3: 1}, "f")
    value, logv, max_log = halo_log_table(
        model, o, {2: 3}, f, {3: 1}, lambda a, b: layer.input_extent("X", a, b), "halo"
    )
    solver = _solve(model)
    assert solver.value(value) == 9
    assert solver.value(logv) == floor_log(9) == 21972
    assert max_log == floor_log(17)
    assert log(17) * LOG_SCALE - 1 < max_log <= log(17) * LOG_SCALE
