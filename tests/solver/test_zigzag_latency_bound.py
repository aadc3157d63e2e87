"""The certified latency bound on ZigZag's rules (``objective.zigzag_latency_bound``, ``solve.bound_search``),
asked for with ``SolverConfig.latency_bound``: judged against the brute-force optimum by ZigZag's own rules
(the evaluator's ``zigzag_rules``), on the oracle's tiny cases as ZigZag files would describe them, and
with ports an eighth as wide, where the transfers and not the compute set the latency."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.evaluator import evaluate
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec
from imcmap.solver.policy import (
    ZIGZAG_EDP_BOUND_SOURCE,
    ZIGZAG_LATENCY_BOUND_SOURCE,
    ZIGZAG_NO_BOUND_SOURCE,
    policy_of,
)
from imcmap.solver.solve import SolverConfig, bound_source, solve_layer

from .brute import brute_force, legal_mappings
from .fixtures import with_zigzag_rules
from .test_oracle import random_case

SEEDS = range(8)
BOUND = SolverConfig(seed=0, time_limit_s=20, latency_bound=True)


def narrow_ports(accel: Accelerator, divisor: int) -> Accelerator:
    """``accel`` with every port ``divisor`` times narrower (its smallest word too, at least one bit)."""
    return replace(accel, memories=tuple(
        replace(m, port_allocation=tuple(
            replace(p, bandwidth_bits=max(1, p.bandwidth_bits // divisor),
                    bandwidth_min_bits=max(1, p.bandwidth_min_bits // divisor)) for p in m.port_allocation))
        for m in accel.memories))


def zigzag_case(seed: int, divisor: int) -> tuple:
    layer, accel = random_case(seed)
    return layer, narrow_ports(with_zigzag_rules(accel), divisor)


FIGURES = {"latency": lambda r: r.latency_cycles, "edp": lambda r: r.energy_pj * r.latency_cycles}


@pytest.mark.parametrize("objective", ["latency", "edp"])
@pytest.mark.parametrize("divisor", [1, 8])
@pytest.mark.parametrize("seed", SEEDS)
def test_latency_bound_holds_under_zigzag_rules(seed: int, divisor: int, objective: str) -> None:
    """0 < lower bound <= the brute-force minimum of ZigZag's latency (EDP: energy x latency) <= the
    answer's, and the gap is theirs."""
    layer, accel = zigzag_case(seed, divisor)
    best, _, legal = brute_force(layer, accel, FIGURES[objective])
    solution = solve_layer(layer, accel, MappingSpec(diagonal_default=True).resolve(layer), objective, BOUND)
    if legal == 0:
        assert solution.mapping is None
        return
    assert solution.mapping is not None and solution.exact_cost is not None
    assert solution.exact_cost == pytest.approx(FIGURES[objective](evaluate(layer, accel, solution.mapping)), rel=1e-12)
    assert solution.lower_bound is not None and 0 < solution.lower_bound <= best * (1 + 1e-9)
    assert solution.exact_cost >= best * (1 - 1e-9)
    assert solution.gap == pytest.approx((solution.exact_cost - solution.lower_bound) / solution.exact_cost, abs=1e-12)
    assert solution.status == "FEASIBLE"  # a bound, not a proof of ZigZag's optimum


def test_port_cycles_raise_the_bound_above_the_compute_cycles() -> None:
    """With ports an eighth as wide, the bound is above the fewest compute cycles of any legal mapping on
    some cases: the ports' rows, not the compute row alone, set it there (without them it never is)."""
    above = 0
    for seed in SEEDS:
        layer, accel = zigzag_case(seed, 8)
        fewest = min((evaluate(layer, accel, m).compute_cycles for m in legal_mappings(layer, accel)), default=None)
        if fewest is None:
            continue
        solution = solve_layer(layer, accel, MappingSpec(diagonal_default=True).resolve(layer), "latency", BOUND)
        assert solution.lower_bound is not None
        above += solution.lower_bound > fewest * 1.01
    assert above >= 2


def test_latency_bound_only_where_asked_and_on_zigzag_latency() -> None:
    """Off by default (its models cost 2-3x the solve: bench/README.md), for latency and EDP on ZigZag's rules
    only; its source is named where it runs."""
    layer, accel = zigzag_case(0, 1)
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    plain = solve_layer(layer, accel, rule, "latency", SolverConfig(seed=0))
    assert (plain.lower_bound, plain.gap) == (None, None)
    latency, edp, energy = (policy_of(accel, objective) for objective in ("latency", "edp", "energy"))
    assert latency.latency_bound and edp.latency_bound and not energy.latency_bound
    assert bound_source(latency, SolverConfig()) == bound_source(edp, SolverConfig()) == ZIGZAG_NO_BOUND_SOURCE
    assert bound_source(latency, BOUND) == ZIGZAG_LATENCY_BOUND_SOURCE
    assert bound_source(edp, BOUND) == ZIGZAG_EDP_BOUND_SOURCE
    assert bound_source(energy, BOUND) == energy.bound_source
    own = replace(accel, rules=policy_of(accel, "latency").rules.IMCMAP)
    assert not policy_of(own, "latency").latency_bound


@pytest.mark.parametrize("seed", SEEDS)
def test_edp_bound_takes_the_energy_bound_too(seed: int) -> None:
    """EDP's bound is the energy model's bound times the latency one: at least the fewest compute cycles
    times nine tenths of the least energy (the energy model's bound is that close on these cases)."""
    layer, accel = zigzag_case(seed, 1)
    reports = [evaluate(layer, accel, m) for m in legal_mappings(layer, accel)]
    if not reports:
        return
    solution = solve_layer(layer, accel, MappingSpec(diagonal_default=True).resolve(layer), "edp", BOUND)
    fewest = min(r.compute_cycles for r in reports)
    least = min(r.energy_pj for r in reports)
    assert solution.lower_bound is not None and solution.lower_bound >= 0.9 * least * fewest
