"""The X/Y mirror cut (``constraints.add_axis_symmetry``) loses no optimum: on X/Y-symmetric layers
CP-SAT proves the same optimal model objective with and without it, the solver with it still matches
brute force, it removes one of two mirrored twins, and it applies only where the mirror keeps the cost."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

import imcmap.solver.constraints as C
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand
from imcmap.solver.policy import policy_of
from imcmap.solver.problem import build_problem
from imcmap.solver.solve import SolverConfig, build_model, solve_layer, use_axis_symmetry
from imcmap.specs.constraints import parse_constraint

from .brute import brute_force, enumeration_size
from .fixation import ModelMapping, Segment, status_with
from .fixtures import oracle_digital, oracle_imc, oracle_imc_rows, proven_optimum, tiny_imc, with_zigzag_rules

HARDWARE = {
    "tiny_imc": lambda: tiny_imc(d1=4, d2=4, sram_bits=512),
    "oracle_imc": lambda: oracle_imc(d1=2, d2=4, buf_bits=128),
    "oracle_imc_rows": lambda: oracle_imc_rows(d1=4, d2=8, buf_bits=256),
    "oracle_digital": lambda: oracle_digital(d1=2, d2=2, rf_bits=32, buf_bits=256),
}


def _problem(layer: Layer, accel, diagonal: bool = True):  # type: ignore[no-untyped-def]
    return build_problem(layer, accel, MappingSpec(diagonal_default=diagonal).resolve(layer))


def _optimum(layer: Layer, accel, objective: str, mirror_cut: bool) -> tuple[str, float | None]:  # type: ignore[no-untyped-def]
    problem = _problem(layer, accel)
    assert C.axis_symmetric(problem)
    return proven_optimum(build_model(problem, objective, axis_symmetry=mirror_cut)[0])


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.sampled_from([1, 2, 4]), c=st.sampled_from([1, 2, 3]), o=st.sampled_from([1, 2, 4, 6]),
    f=st.sampled_from([1, 2, 3]), stride=st.sampled_from([1, 2]),
    hardware=st.sampled_from(sorted(HARDWARE)), objective=st.sampled_from(["energy", "latency"]),
)
def test_the_cut_keeps_the_model_optimum(k, c, o, f, stride, hardware, objective):  # type: ignore[no-untyped-def]
    """Square layers (OX = OY, FX = FY, one stride), IMC arrays with and without diagonal rows and a
    digital one: the proven optimum is the same with the cut as without."""
    if o == f == 1:
        o = 2
    layer = Layer("c", "Conv", {"K": k, "C": c, "OX": o, "OY": o, "FX": f, "FY": f}, stride=(stride, stride))
    accel = HARDWARE[hardware]()
    free = _optimum(layer, accel, objective, False)
    assert free[0] in ("OPTIMAL", "INFEASIBLE")
    assert _optimum(layer, accel, objective, True) == free


SQUARE = [
    (Layer("sq_a", "Conv", {"K": 1, "C": 1, "OX": 2, "OY": 2, "FX": 2, "FY": 2}), "rows"),
    (Layer("sq_b", "Conv", {"K": 2, "C": 2, "OX": 2, "OY": 2}), "rows"),
    (Layer("sq_c", "Conv", {"K": 1, "C": 1, "OX": 3, "OY": 3, "FX": 2, "FY": 2}, stride=(2, 2)), "rows"),
    (Layer("sq_d", "Conv", {"K": 1, "C": 1, "OX": 2, "OY": 2, "FX": 3, "FY": 3}, stride=(2, 2)), "plain"),
]


@pytest.mark.parametrize("objective", ["energy", "latency"])
@pytest.mark.parametrize(("layer", "hardware"), SQUARE, ids=lambda x: getattr(x, "name", x))
def test_solver_with_the_cut_matches_brute_force(layer: Layer, hardware: str, objective: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The solver with the cut (and the seeded incumbent; the policy takes both for energy, the test for
    latency too) finds the brute-force minimum, and its bound stays below it; diagonal unrolling allowed,
    so OX/OY mirror on the columns too."""
    import imcmap.solver.solve as S

    def with_both(accel, objective):  # type: ignore[no-untyped-def]
        return replace(policy_of(accel, objective), axis_symmetry=True, seed_incumbent=True)

    monkeypatch.setattr(S, "policy_of", with_both)
    accel = oracle_imc_rows() if hardware == "rows" else oracle_imc(d1=2, d2=4, buf_bits=128)
    assert enumeration_size(layer, accel) <= 20000
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    assert use_axis_symmetry(build_problem(layer, accel, rule), (), with_both(accel, objective))
    metric = {"energy": lambda r: r.energy_pj, "latency": lambda r: r.latency_cycles}[objective]
    best, best_mapping, legal = brute_force(layer, accel, metric)
    assert legal > 0
    solution = solve_layer(layer, accel, rule, objective, SolverConfig(seed=0, time_limit_s=20))
    assert solution.mapping is not None, solution.message
    assert solution.exact_cost == pytest.approx(best, rel=1e-9), (best_mapping, solution.mapping)
    assert solution.lower_bound <= best * (1 + 1e-9)


def _twin(spatial_filter: str) -> ModelMapping:
    """On oracle_imc (W: cells, dram; I and O: buf, dram): the filter dim ``spatial_filter`` on the rows,
    OX and OY in a weight-stationary bottom segment below the cells' cut (one weight a cell), the other
    filter dim above it, below the buffer's cuts."""
    other = "FY" if spatial_filter == "FX" else "FX"
    return ModelMapping(
        segments=(Segment(Operand.W, {"OX": 2, "OY": 2}), Segment(Operand.W, {other: 2}), Segment(Operand.W, {}),
                  Segment(Operand.W, {})),
        spatial={"D2": {spatial_filter: 2}},
        cut_segment={Operand.W: (0,), Operand.I: (1,), Operand.O: (1,)},
    )


def test_the_cut_keeps_one_of_two_mirrored_twins() -> None:
    """FX on the rows and FY on the rows are mirrors: both legal, and with the cut only FX's (its
    exponent comes first in the order and is the larger) stays."""
    layer = Layer("sq", "Conv", {"K": 1, "C": 1, "OX": 2, "OY": 2, "FX": 2, "FY": 2})
    problem = _problem(layer, oracle_imc(d1=2, d2=4, buf_bits=1 << 12), diagonal=False)
    assert C.axis_symmetric(problem)

    def cut(model: cp_model.CpModel, v) -> None:  # type: ignore[no-untyped-def]
        C.add_axis_symmetry(model, v, problem)

    n_segments = sum(problem.chain_length(op) - 1 for op in (Operand.W, Operand.I, Operand.O)) + 1
    assert n_segments == 4
    for dim in ("FX", "FY"):
        assert status_with(problem, _twin(dim)) == "OPTIMAL"
    assert status_with(problem, _twin("FX"), extra=cut) == "OPTIMAL"
    assert status_with(problem, _twin("FY"), extra=cut) == "INFEASIBLE"


ASYMMETRIC = [
    Layer("wide", "Conv", {"K": 2, "OX": 4, "OY": 2, "FX": 2, "FY": 2}),
    Layer("tall_filter", "Conv", {"K": 2, "OX": 2, "OY": 2, "FX": 3, "FY": 1}),
    Layer("strided_x", "Conv", {"K": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2}, stride=(1, 2)),
    Layer("dilated_y", "Conv", {"K": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2}, dilation=(2, 1)),
    Layer("padded_x", "Conv", {"K": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2}, padding=(0, 1, 0, 1)),
    Layer("gemm", "Gemm", {"B": 2, "K": 2, "C": 2}),
]


@pytest.mark.parametrize("layer", ASYMMETRIC, ids=lambda layer: layer.name)
def test_no_cut_where_the_axes_differ(layer: Layer) -> None:
    """Sizes, stride, dilation or padding that differ by axis (or no X/Y dim at all): no mirror."""
    assert not C.axis_symmetric(_problem(layer, oracle_imc_rows()))


def test_no_cut_when_the_unrollings_are_not_mirrored() -> None:
    """A user's allowed unrolling with FX but not FY on the rows: the mirror of a candidate is missing."""
    layer = Layer("sq", "Conv", {"K": 2, "C": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2})
    rule = MappingSpec(diagonal_default=False).resolve(layer)
    assert C.axis_symmetric(build_problem(layer, oracle_imc(), rule))
    one_sided = replace(rule, allowed_spatial={"D1": ("K",), "D2": ("C", "FX")})
    assert not C.axis_symmetric(build_problem(layer, oracle_imc(), one_sided))


def test_where_the_cut_applies() -> None:
    """Energy on imcmap's own rules on IMC arrays only, and under no user constraint."""
    layer = Layer("sq", "Conv", {"K": 2, "C": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2})
    imc, digital = oracle_imc(), oracle_digital()
    problem = _problem(layer, imc)
    on = [use_axis_symmetry(problem, (), policy_of(imc, objective)) for objective in ("energy", "latency", "edp")]
    assert on == [True, False, False]
    assert not use_axis_symmetry(_problem(layer, digital), (), policy_of(digital, "energy"))
    user = (parse_constraint("stationary W at cells"),)
    assert not use_axis_symmetry(problem, user, policy_of(imc, "energy"))


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.sampled_from([1, 2, 4]), c=st.sampled_from([1, 2, 3]), o=st.sampled_from([1, 2, 4, 6]),
    f=st.sampled_from([1, 2, 3]), stride=st.sampled_from([1, 2]),
    hardware=st.sampled_from(sorted(HARDWARE)), word_divisor=st.sampled_from([2, 4, 8]),
)
def test_the_cut_keeps_the_zigzag_energy_optimum(k, c, o, f, stride, hardware, word_divisor):  # type: ignore[no-untyped-def]
    """The same on hardware priced by ZigZag's rules, whose energy model (partial sums, every tile's
    whole words, the input halo per axis) the policy takes the cut for: nothing in it tells X from Y."""
    if o == f == 1:
        o = 2
    layer = Layer("c", "Conv", {"K": k, "C": c, "OX": o, "OY": o, "FX": f, "FY": f}, stride=(stride, stride))
    accel = with_zigzag_rules(HARDWARE[hardware](), word_divisor)
    free = _optimum(layer, accel, "energy", False)
    assert free[0] in ("OPTIMAL", "INFEASIBLE")
    assert _optimum(layer, accel, "energy", True) == free
