"""The solver on hardware priced by ZigZag 3.9.1's rules (as every ZigZag file is): its model is imcmap's own
with ZigZag's partial sums (energy) or a surrogate (latency), so it is judged by what it claims. For energy
its bound must stay below the brute-force optimum by ZigZag's rules, and close to it where words are not
rounded; for latency it claims no bound."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.evaluator import check, evaluate
from imcmap.models.hardware import Accelerator, CostRules, MemoryKind
from imcmap.models.mapping_spec import MappingSpec
from imcmap.solver.solve import SolverConfig, solve_layer

from .brute import brute_force, legal_mappings
from .fixtures import with_zigzag_rules
from .test_oracle import random_case

SEEDS = range(8)
CLOSE_SEEDS = range(12)


def cheap_dram(accel: Accelerator, scale: float) -> Accelerator:
    """``accel`` with its DRAM's energies times ``scale``: at 1/100 the on-chip partial sums, where
    ZigZag's rules differ most from imcmap's own, weigh as much as the DRAM traffic."""
    return replace(accel, memories=tuple(
        replace(m, read_energy_pj=m.read_energy_pj * scale, write_energy_pj=m.write_energy_pj * scale)
        if m.kind is MemoryKind.DRAM else m for m in accel.memories))


@pytest.mark.parametrize("dram_scale", [1.0, 0.01])
@pytest.mark.parametrize("seed", SEEDS)
def test_energy_bound_holds_under_zigzag_rules(seed: int, dram_scale: float) -> None:
    """lower bound <= brute-force minimum by ZigZag's rules <= the returned mapping's exact cost, and the
    gap reported is the one between them."""
    layer, accel = random_case(seed)
    zz = with_zigzag_rules(cheap_dram(accel, dram_scale))
    best, _, legal = brute_force(layer, zz, lambda r: r.energy_pj)
    solution = solve_layer(
        layer, zz, MappingSpec(diagonal_default=True).resolve(layer), "energy", SolverConfig(seed=0, time_limit_s=20)
    )
    if legal == 0:
        assert solution.mapping is None
        return
    assert solution.mapping is not None and check(layer, zz, solution.mapping) == []
    assert solution.exact_cost == pytest.approx(evaluate(layer, zz, solution.mapping).energy_pj, rel=1e-12)
    assert solution.lower_bound is not None and solution.lower_bound <= best * (1 + 1e-9)
    assert solution.exact_cost >= best * (1 - 1e-9)
    assert solution.gap == pytest.approx((solution.exact_cost - solution.lower_bound) / solution.exact_cost, abs=1e-12)
    assert solution.status == "FEASIBLE"  # optimal for imcmap's own rules, not proven for ZigZag's


ONE_BIT_WORDS = 1 << 30  # ``with_zigzag_rules``' word divisor that leaves bandwidth_min at one bit
CLOSE = 0.015  # the tangents' underestimate (0.41% of a flow, more of a flow less its correction) and the stop


@pytest.mark.parametrize(("seed", "word_divisor"),
                         [(s, ONE_BIT_WORDS) for s in CLOSE_SEEDS] + [(s, d) for s in SEEDS for d in (2, 4, 8)])
def test_energy_gap_closes_under_zigzag_rules(seed: int, word_divisor: int) -> None:
    """With one-bit ``bandwidth_min`` words nothing is rounded, and ZigZag's energy differs from imcmap's own
    only in its partial sums (every write read back while an output-irrelevant loop remains above the cut,
    at psum width; the array's outputs written every iteration), which the model encodes: its bound is
    then within the tangents' spacing of the brute-force optimum, never above it. Without that encoding
    the bound was 4-12% below on three of these cases (seeds 1, 5 and 8 of ``random_case``). With words a
    half, a quarter or an eighth of the port, the rounding of every tile, which the model encodes
    (``objective._tile_words``), closes it too: with the rounding of spatial tiles alone and a one-word
    floor elsewhere, 5 of these 24 cases were further than that below."""
    layer, accel = random_case(seed)
    zz = with_zigzag_rules(cheap_dram(accel, 0.01), word_divisor=word_divisor)
    best, _, legal = brute_force(layer, zz, lambda r: r.energy_pj)
    if legal == 0:
        return
    solution = solve_layer(
        layer, zz, MappingSpec(diagonal_default=True).resolve(layer), "energy", SolverConfig(seed=0, time_limit_s=20)
    )
    assert solution.lower_bound is not None and solution.exact_cost is not None
    assert best * (1 - CLOSE) <= solution.lower_bound <= best * (1 + 1e-9)
    assert solution.exact_cost <= best * (1 + CLOSE)


@pytest.mark.parametrize("seed", SEEDS)
def test_zigzag_energy_never_undercuts_imcmaps_own(seed: int) -> None:
    """What makes the energy bound valid: on every legal mapping of the case, ZigZag's rules price at least
    imcmap's own (whole words, every partial sum read back and written at psum width, the lowest output
    level written every iteration); their latency is at least the compute cycles."""
    layer, accel = random_case(seed)
    zz = with_zigzag_rules(accel)
    own = replace(zz, rules=CostRules.IMCMAP)
    for mapping in legal_mappings(layer, zz):
        theirs, ours = evaluate(layer, zz, mapping), evaluate(layer, own, mapping)
        assert theirs.energy_pj >= ours.energy_pj * (1 - 1e-12), mapping
        assert theirs.latency_cycles >= theirs.compute_cycles >= 0 and theirs.stall_cycles >= 0


def test_latency_is_not_certified_under_zigzag_rules() -> None:
    layer, accel = random_case(0)
    zz = with_zigzag_rules(accel)
    solution = solve_layer(
        layer, zz, MappingSpec(diagonal_default=True).resolve(layer), "latency", SolverConfig(seed=0)
    )
    assert solution.mapping is not None
    assert (solution.lower_bound, solution.gap, solution.status) == (None, None, "FEASIBLE")
    assert solution.exact_cost == evaluate(layer, zz, solution.mapping).latency_cycles


def test_surrogate_stop_falls_back_to_the_whole_budget_when_it_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Latency on ZigZag's rules stops CP-SAT early (``SURROGATE_LATENCY``, per array kind); when that
    leaves no mapping, the solve runs again on the whole budget, and then answers as a solve that was
    never cut short."""
    from imcmap.solver import policy as policy_module

    layer, accel = random_case(3)
    zz = with_zigzag_rules(accel)
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    config = SolverConfig(seed=0, time_limit_s=5)

    def stops(det_s: float) -> dict:
        return {
            kind: replace(stop, max_deterministic_time=det_s) for kind, stop in policy_module.SURROGATE_LATENCY.items()
        }

    monkeypatch.setattr(policy_module, "SURROGATE_LATENCY", stops(5.0))
    whole = solve_layer(layer, zz, rule, "latency", config)
    monkeypatch.setattr(policy_module, "SURROGATE_LATENCY", stops(0.0))  # CP-SAT stops before its first solution
    again = solve_layer(layer, zz, rule, "latency", config)
    assert whole.mapping is not None
    assert (again.mapping, again.exact_cost) == (whole.mapping, whole.exact_cost)


def _solve_refining(monkeypatch: pytest.MonkeyPatch, seed: int, above: float | None):
    """The case's energy on ZigZag's rules with ln 3 first tangents (coarser than any policy's, so the second
    search has a gap to close) and a second search above ``above`` (None: never); unpolished, so the
    answer is the cheapest mapping the searches found."""
    from math import log

    from imcmap.solver import policy as policy_module

    monkeypatch.setattr(policy_module, "ZIGZAG_ENERGY_TANGENT_STEP", log(3.0))
    monkeypatch.setattr(policy_module, "SURROGATE_TANGENT_STEP", log(3.0))
    monkeypatch.setattr(policy_module, "ZIGZAG_REFINE_ABOVE_GAP", {"imc": above, "digital": above})
    layer, accel = random_case(seed)
    zz = with_zigzag_rules(cheap_dram(accel, 0.01))
    return layer, zz, solve_layer(layer, zz, MappingSpec(diagonal_default=True).resolve(layer), "energy",
                                  SolverConfig(seed=0, time_limit_s=20), polish_now=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_refined_search_keeps_the_larger_bound_and_the_cheaper_mapping(monkeypatch: pytest.MonkeyPatch,
                                                                       seed: int) -> None:
    """A second search with finer tangents (forced here on every layer with a gap) is a relaxation too: its
    bound stays below the brute-force optimum by ZigZag's rules; the layer keeps the larger of the two
    bounds and the cheaper of the two searches' mappings, so neither gets worse than one search's."""
    layer, zz, once = _solve_refining(monkeypatch, seed, None)
    _, _, refined = _solve_refining(monkeypatch, seed, 0.0)
    if once.mapping is None:
        assert refined.mapping is None
        return
    best, _, _ = brute_force(layer, zz, lambda r: r.energy_pj)
    assert once.lower_bound is not None and once.exact_cost is not None and once.gap is not None
    assert refined.lower_bound is not None and refined.exact_cost is not None and refined.gap is not None
    assert refined.lower_bound <= best * (1 + 1e-9) <= refined.exact_cost * (1 + 2e-9)
    assert refined.lower_bound >= once.lower_bound * (1 - 1e-12)
    assert refined.exact_cost <= once.exact_cost * (1 + 1e-12)
    assert refined.gap <= once.gap + 1e-12
    assert refined.candidates > once.candidates if once.gap > 0 else refined.candidates == once.candidates


def test_refined_search_closes_a_coarse_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ln 3 tangents leave the bound more than 1% short, a second search above 1% (ln 1.2) brings it
    within the close-gap margin of the optimum (``CLOSE``)."""
    coarse = []
    for seed in range(16):  # ln 3 leaves seeds 11 and 14 above 1% (1.8% and 1.5%)
        layer, zz, once = _solve_refining(monkeypatch, seed, None)
        if once.gap is not None and once.gap > 0.01:
            _, _, refined = _solve_refining(monkeypatch, seed, 0.01)
            best, _, _ = brute_force(layer, zz, lambda r: r.energy_pj)
            assert refined.lower_bound is not None
            assert best * (1 - CLOSE) <= refined.lower_bound <= best * (1 + 1e-9)
            coarse.append(seed)
    assert coarse  # the ln 3 tangents leave some case above 1%, or this test checks nothing


@pytest.mark.parametrize(("cost", "spent_s", "above", "stop", "why"), [
    (100.0, 0.0, None, False, "the policy does not refine"),
    (None, 0.0, 0.01, False, "no mapping was priced"),
    (101.0, 0.0, 0.01, False, "the gap (0.99%) is within the threshold"),
    (110.0, 5.0, 0.01, False, "the first search spent the whole budget"),
    (110.0, 0.0, 0.01, True, "a stop was set"),
])
def test_refine_search_runs_only_above_its_gap_within_the_budget(cost: float | None, spent_s: float,
                                                                 above: float | None, stop: bool, why: str) -> None:
    """``refine_search`` answers None, before building anything, in each of these cases (bound 100)."""
    import threading
    from types import SimpleNamespace

    from imcmap.solver.policy import policy_for
    from imcmap.solver.solve import refine_search

    policy = replace(policy_for(CostRules.ZIGZAG, "energy", "digital"), refine_above_gap=above)
    first = SimpleNamespace(bound=100.0, deterministic_s=spent_s)
    signal = threading.Event()
    if stop:
        signal.set()
    answer = refine_search(first, cost, None, "energy", (), policy, SolverConfig(time_limit_s=5.0), 0.0,  # type: ignore[arg-type]
                           signal)
    assert answer is None, why
