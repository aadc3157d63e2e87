"""Products of loop factors as CP-SAT quantities: exact values by table, logs, convex lower bounds.

A cost term is ``coef * prod(p ** n_p) * extra`` where the exponents n_p are linear in the
decision variables and ``extra`` is the input halo (not a product of factors). Two encodings:

* exact (``exact_value``): an element constraint over the exponent vector; used where
  correctness needs the true integer (capacity) and for terms that depend on few variables.
* lower bound (``lower_bound``): ``s = LOG_SCALE * ln(term)``, rounded down, is linear; the term
  is bounded below by tangents of ``exp`` (convex), so minimising the tangent variables gives a
  relaxation whose optimum never exceeds the true one. Tangents are spaced ``TANGENT_STEP`` apart
  in log space: the underestimate is at most about ``TANGENT_STEP**2 / 8`` (0.41 %). Closer
  tangents tighten the bound but every one is an LP row, and the proofs slow down (bench/README.md).
  ``SURROGATE_TANGENT_STEP`` (ln 2, at most 5.8 % under) is for latency and EDP on ZigZag's files,
  where the model is a surrogate of their rules and the polish finishes the mapping;
  ``ZIGZAG_ENERGY_TANGENT_STEP`` (ln 1.5, at most 2.1 % under) for energy there on IMC arrays
  (``policy.SolvePolicy.tangent_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product as iproduct
from math import ceil, exp, floor, log, prod

from ortools.sat.python import cp_model

from .variables import Exps

LOG_SCALE = 10_000  # integer units per natural-log unit
TANGENT_STEP = log(1.2)
# latency and EDP on ZigZag's files: faster solves, totals the same or lower (bench/README.md)
SURROGATE_TANGENT_STEP = log(2.0)
# energy on ZigZag's files: certified gaps within 0.3% median, 1.2% worst at ln 2's time (bench/README.md)
ZIGZAG_ENERGY_TANGENT_STEP = log(1.5)
MAX_ROW = 1 << 61  # largest |coefficient x bound| sum allowed in one linear row


@dataclass
class ExactTable:
    """An integer variable equal to ``fn(prime exponent vector)``, by an element constraint."""

    var: cp_model.IntVar
    exps_vars: dict[int, cp_model.IntVar]


def exponent_vars(model: cp_model.CpModel, exps: Exps, bounds: dict[int, int], name: str) -> dict[int, cp_model.IntVar]:
    out = {}
    for p in sorted(bounds):
        var = model.new_int_var(0, bounds[p], f"{name}^{p}")
        model.add(var == exps.get(p, 0))
        out[p] = var
    return out


Axis = tuple[int, int, int]  # (part, prime, exponent bound) of a table over prime exponents


def _exponent_axes(model: cp_model.CpModel, parts: list[tuple[Exps, dict[int, int]]],
                   name: str) -> tuple[list[cp_model.IntVar], list[Axis]]:
    """One variable per (part, prime), in order, and the table axis it spans."""
    evars: list[cp_model.IntVar] = []
    axes: list[Axis] = []
    for i, (exps, bounds) in enumerate(parts):
        part_vars = exponent_vars(model, exps, bounds, f"{name}.{i}")
        for p in sorted(bounds):
            evars.append(part_vars[p])
            axes.append((i, p, bounds[p]))
    return evars, axes


def _part_values(n_parts: int, axes: list[Axis], combo: tuple[int, ...]) -> list[int]:
    """``v_i = prod(p ** e)`` of each part for one exponent per axis."""
    values = [1] * n_parts
    for (i, p, _), e in zip(axes, combo, strict=True):
        values[i] *= p**e
    return values


def exact_value(
    model: cp_model.CpModel,
    parts: list[tuple[Exps, dict[int, int]]],
    fn: Callable[..., int],
    name: str,
) -> cp_model.IntVar:
    """``fn(v_1, ..., v_k)`` where ``v_i = prod(p ** exps_i[p])`` and ``bounds_i`` caps each exponent."""
    evars, axes = _exponent_axes(model, parts, name)
    index_terms = []
    stride = 1
    for var, (_, _, bound) in zip(evars, axes, strict=True):
        index_terms.append(stride * var)
        stride *= bound + 1
    # the index runs with the first axis fastest, matching the strides above
    table = [int(fn(*_part_values(len(parts), axes, tuple(reversed(combo)))))
             for combo in iproduct(*(range(b + 1) for _, _, b in reversed(axes)))]
    index = model.new_int_var(0, max(len(table) - 1, 0), f"{name}.idx")
    model.add(index == sum(index_terms) if index_terms else index == 0)
    target = model.new_int_var(min(table), max(table), name)
    model.add_element(index, table, target)
    return target


def table_value(
    model: cp_model.CpModel,
    parts: list[tuple[Exps, dict[int, int]]],
    fn: Callable[..., int],
    name: str,
) -> cp_model.IntVar:
    """``fn(v_1, ..., v_k)`` as ``exact_value`` gives it, by one allowed-assignments table over the prime
    exponents and the value instead of an element constraint on a flattened index: for the word-rounding
    tables (``objective._tile_words``), whose index encodings made presolve probe thousands of literals."""
    evars, axes = _exponent_axes(model, parts, name)
    rows = [[*combo, int(fn(*_part_values(len(parts), axes, combo)))]
            for combo in iproduct(*(range(b + 1) for _, _, b in axes))]
    results = [row[-1] for row in rows]
    target = model.new_int_var(min(results), max(results), name)
    model.add_allowed_assignments([*evars, target], rows)
    return target


@dataclass
class Term:
    """``coef * prod(p ** exps[p]) * prod(halo values)``; ``halo`` holds (log var, log max) pairs."""

    coef: float
    exps: Exps
    bounds: dict[int, int]
    halo: list[tuple[cp_model.IntVar, int]] = field(default_factory=list)
    name: str = "term"


def floor_log(value: float) -> int:
    return floor(LOG_SCALE * log(value))


def lower_bound(
    model: cp_model.CpModel,
    term: Term,
    unit: float,
    enforce: cp_model.IntVar | None = None,
    value_max: float | None = None,
    step: float = TANGENT_STEP,
    snap: bool = False,
) -> cp_model.IntVar | None:
    """An integer variable ``t`` (in ``unit``) that can be no larger than the term's true value
    (when ``enforce`` is a literal, only while it is true; ``t`` may be 0 otherwise). ``value_max``
    (in ``unit``), when given, is a tighter upper bound on the true value than the exponent bounds
    imply; assignments above it are cut off, which only removes non-minimal slack. Tangents are
    ``step`` apart in natural-log units; with ``snap`` (``snapped_points``) at most ``step`` apart and
    at logs the term can take, where it lists them."""
    if term.coef <= 0:
        return None
    base = floor_log(term.coef / unit)
    s_expr = base + sum(floor_log(p) * term.exps.get(p, 0) for p in term.bounds)
    s_expr += sum(var for var, _ in term.halo)
    s_max = base + sum(floor_log(p) * b for p, b in term.bounds.items()) + sum(m for _, m in term.halo)
    s_min = base
    # |coefficients x domains| of the tangent rows must stay inside 64 bits (CP-SAT rejects the
    # model otherwise); masked and run exponents may enter with either sign, hence the factor 3.
    magnitude = abs(base) + sum(3 * floor_log(p) * b for p, b in term.bounds.items()) + sum(m for _, m in term.halo)
    magnitude += LOG_SCALE + abs(s_max)
    e_cap = MAX_ROW // magnitude
    # the true largest value (floored logs would undershoot it and clash with exact floors)
    true_max = (
        log(term.coef / unit)
        + sum(b * log(p) for p, b in term.bounds.items())
        + sum(m + 1 for _, m in term.halo) / LOG_SCALE
    )
    if value_max is not None:
        true_max = min(true_max, log(max(value_max, 1e-300)))
        s_max = min(s_max, max(s_min, ceil(LOG_SCALE * true_max)))
    t_max = min(max(1, ceil(exp(min(true_max, 80)) * 1.001) + 2), MAX_ROW // LOG_SCALE)
    if enforce is not None:
        # off means a log far below every tangent point: the rows then ask nothing of t. (Enforcement
        # literals on these wide rows made CP-SAT 9.15 return a non-optimal "OPTIMAL"; this is exact.)
        shift = (s_max - s_min) + 2 * LOG_SCALE
        s_expr = s_expr + shift * enforce - shift
        magnitude += shift
        e_cap = MAX_ROW // magnitude
    t = model.new_int_var(0, t_max, term.name)
    # one variable for the log, so each tangent row has two terms
    s_var = model.new_int_var(-magnitude, magnitude, f"{term.name}.log")
    model.add(s_var == s_expr)
    s_expr = s_var
    step = step * LOG_SCALE
    snapped = snapped_points(term, base, s_max, step) if snap else None
    points: list[float] = ([float(p) for p in snapped] if snapped is not None else
                           [min(s_min + k * step, s_max) for k in range(ceil((s_max - s_min) / step) + 1)])
    for s_k in points:
        e_k = floor(exp(s_k / LOG_SCALE))
        if e_k > e_cap:
            break  # dropping a tangent only weakens the relaxation; the bound stays valid
        if e_k > 0:
            # LOG_SCALE * t >= e_k * (s - s_k + LOG_SCALE): the tangent of exp at s_k, rounded down
            model.add(LOG_SCALE * t >= e_k * (s_expr - round(s_k) + LOG_SCALE))
    return t


SNAP_LATTICE = 20_000  # the most exponent vectors ``snapped_points`` lists; beyond it, tangents evenly spaced


def snapped_points(term: Term, base: int, s_max: int, step: float) -> list[int] | None:
    """Tangent points (scaled logs) at logs the term can take, ``base`` plus floored logs of its primes'
    powers within their bounds, each the largest such log within ``step`` of the one before (a wider gap
    between two of them: the next one), up to ``s_max``. Every tangent is below ``exp``, so any points
    keep the bound; at these a mapping's term is met exactly, where points evenly spaced leave up to
    ``step**2 / 8`` below it. None for a term with a halo (whose logs come from a table) or a lattice
    larger than SNAP_LATTICE."""
    if term.halo or prod(b + 1 for b in term.bounds.values()) > SNAP_LATTICE:
        return None
    logs = {base}
    for p, b in term.bounds.items():
        logs = {value + floor_log(p) * n for value in logs for n in range(b + 1)}
    reachable = sorted(value for value in logs if value <= s_max)
    points = [reachable[0]]
    within: int | None = None  # the largest log seen within ``step`` of the last point
    for value in reachable[1:]:
        if value - points[-1] > step and within is not None:
            points.append(within)
            within = None
        if value - points[-1] > step:
            points.append(value)
        else:
            within = value
    if within is not None:
        points.append(within)
    return points


def halo_log_table(
    model: cp_model.CpModel,
    out_exps: Exps,
    out_bounds: dict[int, int],
    filt_exps: Exps,
    filt_bounds: dict[int, int],
    extent: Callable[[int, int], int],
    name: str,
) -> tuple[cp_model.IntVar, cp_model.IntVar, int]:
    """(exact extent, floored scaled log of the extent, max log) of the input positions a tile touches;
    ``extent(outputs, taps)`` is the layer's own rule (``Layer.input_extent``)."""

    value = exact_value(model, [(out_exps, out_bounds), (filt_exps, filt_bounds)], extent, f"{name}.ext")
    logv = exact_value(
        model, [(out_exps, out_bounds), (filt_exps, filt_bounds)], lambda o, f: floor_log(extent(o, f)), f"{name}.log"
    )
    o_max = prod(p**e for p, e in out_bounds.items())
    f_max = prod(p**e for p, e in filt_bounds.items())
    return value, logv, floor_log(extent(o_max, f_max))
