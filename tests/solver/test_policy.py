"""The solve policy: one per (cost rules, objective, array kind), chosen by ``policy_for`` and read by
``solve_layer`` (CP-SAT's stop, the bound it reports, the polish's starts) instead of tests on the rules."""

from __future__ import annotations

from dataclasses import replace
from math import log
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from imcmap.models.hardware import CostRules
from imcmap.models.mapping_spec import MappingSpec
from imcmap.solver import policy as policy_module
from imcmap.solver import solve as solve_module
from imcmap.solver.policy import (
    ARRAY_KINDS,
    OBJECTIVES,
    PolishStarts,
    SolvePolicy,
    SurrogateStop,
    policy_for,
    policy_of,
)
from imcmap.solver.solve import SolverConfig, configure_search, solve_layer

from .fixtures import tiny_digital, tiny_imc, with_zigzag_rules
from .test_oracle import random_case

OWN_BOUND = "CP-SAT's proven bound on a relaxation whose every term is at most the evaluator's"

# (rules, objective, kind) -> (relative gap, surrogate stop (det-s, gap, params) or None, canonical cuts,
# polish (starts, window) or None, OPTIMAL possible, bound reported, how the bound text starts)
EXPECTED = {
    **{
        (CostRules.IMCMAP, o, k): (None, None, k == "imc", None, True, True, OWN_BOUND)
        for o in OBJECTIVES
        for k in ARRAY_KINDS
    },
    **{
        (CostRules.ZIGZAG, "energy", k): (
            0.001,
            None,
            k == "imc",
            (3, 0.05),
            False,
            True,
            "CP-SAT's proven bound on a relaxation whose every term is at most ZigZag 3.9.1's rules'",
        )
        for k in ARRAY_KINDS
    },
    (CostRules.ZIGZAG, "latency", "imc"): (
        0.01,
        (0.8, 0.01, {"cp_model_probing_level": 0}),
        False,
        (3, 0.2),
        False,
        False,
        "none: the hardware comes from a ZigZag file",
    ),
    (CostRules.ZIGZAG, "latency", "digital"): (
        0.03,
        (1.0, 0.03, {}),
        False,
        (3, 0.2),
        False,
        False,
        "none: the hardware comes from a ZigZag file",
    ),
    **{
        (CostRules.ZIGZAG, "edp", k): (
            0.01,
            None,
            False,
            (3, None),
            False,
            False,
            "none: the hardware comes from a ZigZag file",
        )
        for k in ARRAY_KINDS
    },
}


@pytest.mark.parametrize(("rules", "objective", "kind"), sorted(EXPECTED, key=str))
def test_policy_for_each_case(rules: CostRules, objective: str, kind: str) -> None:
    """Every field, per case: imcmap's rules prove and report; ZigZag's stop at a gap, polish, and report a
    bound for energy only; the canonical cut rule on IMC arrays, on ZigZag's rules for energy only."""
    gap, stop, canonical, polish, proves, reports, source = EXPECTED[(rules, objective, kind)]
    policy = policy_for(rules, objective, kind)
    zigzag = rules is CostRules.ZIGZAG
    assert (policy.rules, policy.objective, policy.array_kind) == (rules, objective, kind)
    assert policy.relative_gap_limit == gap
    assert policy.surrogate_stop == (None if stop is None else SurrogateStop(*stop))
    assert policy.canonical_cuts is canonical
    assert policy.polish == (None if polish is None else PolishStarts(*polish))
    assert (policy.proves_optimality, policy.reports_bound) == (proves, reports)
    assert policy.bound_source.startswith(source)
    step = (log(1.5) if objective == "energy" and kind == "imc" else log(2.0)) if zigzag else log(1.2)
    assert policy.tangent_step == pytest.approx(step)
    assert (policy.transfer_floors, policy.physical_ports, policy.weight_refill_stalls) == (zigzag, zigzag, zigzag)
    assert policy.partial_sums_per_write is (zigzag and objective == "energy")
    zigzag_energy = zigzag and objective == "energy"
    assert dict(policy.search_parameters) == (
        {"cp_model_probing_level": 0, "max_presolve_iterations": 1, "merge_at_most_one_work_limit": 1e6}
        if zigzag_energy else {})
    assert policy.word_table_rows == ({"imc": 20_000, "digital": 1_000}[kind] if zigzag_energy else 0)
    measured = objective == "energy" and kind == "imc"  # the mirror cut and the seed, on either rules
    assert (policy.axis_symmetry, policy.seed_incumbent) == (measured or zigzag_energy, measured)
    assert policy.refine_above_gap == ({"imc": 0.02, "digital": 0.01}[kind] if zigzag_energy else None)
    assert policy.refine_tangent_step == pytest.approx(log(1.2))
    assert policy.snap_tangents is (measured and not zigzag)
    assert policy.latency_bound is (zigzag and objective != "energy")


@pytest.mark.parametrize(("objective", "kind"), [("area", "imc"), ("energy", "analog")])
def test_unknown_objective_or_array_kind_is_refused(objective: str, kind: str) -> None:
    """A misspelt objective or array kind is an error that names the valid ones, not a default policy."""
    with pytest.raises(ValueError, match="expected one of"):
        policy_for(CostRules.IMCMAP, objective, kind)


def test_policy_of_reads_the_array_kind() -> None:
    """``policy_of`` keys on the accelerator's rules and array: IMC vs digital changes the surrogate stop."""
    assert policy_of(with_zigzag_rules(tiny_imc()), "latency").surrogate_stop.max_deterministic_time == 0.8
    assert policy_of(with_zigzag_rules(tiny_digital()), "latency").surrogate_stop.max_deterministic_time == 1.0
    assert policy_of(tiny_digital(), "energy") == policy_for(CostRules.IMCMAP, "energy", "digital")


def test_configure_search_applies_the_policy() -> None:
    """CP-SAT's parameters: CP-SAT's own gap and the user's budget on imcmap's rules; on ZigZag's latency the
    surrogate stop's budget (never above the user's), gap and parameters; on ZigZag's energy its gap and the
    policy's lighter presolve."""
    default_gap = cp_model.CpSolver().parameters.relative_gap_limit
    config = SolverConfig(seed=3, time_limit_s=7.0)
    own = cp_model.CpSolver().parameters
    configure_search(own, config, policy_for(CostRules.IMCMAP, "latency", "imc"))
    assert (own.relative_gap_limit, own.max_deterministic_time, own.cp_model_probing_level, own.random_seed) == (
        default_gap,
        7.0,
        1,
        3,
    )
    surrogate = cp_model.CpSolver().parameters
    configure_search(surrogate, config, policy_for(CostRules.ZIGZAG, "latency", "imc"))
    assert (surrogate.relative_gap_limit, surrogate.max_deterministic_time, surrogate.cp_model_probing_level) == (
        0.01,
        0.8,
        0,
    )
    short = cp_model.CpSolver().parameters
    configure_search(short, SolverConfig(time_limit_s=0.5), policy_for(CostRules.ZIGZAG, "latency", "digital"))
    assert (short.relative_gap_limit, short.max_deterministic_time, short.cp_model_probing_level) == (0.03, 0.5, 1)
    energy = cp_model.CpSolver().parameters
    configure_search(energy, config, policy_for(CostRules.ZIGZAG, "energy", "imc"))
    assert (energy.relative_gap_limit, energy.max_deterministic_time) == (0.001, 7.0)
    assert (energy.cp_model_probing_level, energy.max_presolve_iterations, energy.merge_at_most_one_work_limit) == (
        0, 1, 1e6)


def _spy_policy(monkeypatch: pytest.MonkeyPatch, change: dict[str, object]) -> list[SolvePolicy]:
    """Make ``solve_layer`` see ``policy_of``'s policy with ``change`` applied; returns the policies handed out."""
    handed: list[SolvePolicy] = []

    def changed(accel, objective):
        handed.append(replace(policy_module.policy_of(accel, objective), **change))
        return handed[-1]

    monkeypatch.setattr(solve_module, "policy_of", changed)
    return handed


def test_solve_layer_reports_the_bound_as_the_policy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Latency on ZigZag's rules: no bound and FEASIBLE by the policy; the same solve with a policy that
    reports the bound and allows OPTIMAL gives a bound at or below the cost. The policy is chosen once."""
    layer, accel = random_case(0)
    zz = with_zigzag_rules(accel)
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    plain = solve_layer(layer, zz, rule, "latency", SolverConfig(seed=0))
    assert (plain.lower_bound, plain.gap, plain.status) == (None, None, "FEASIBLE")
    handed = _spy_policy(monkeypatch, {"reports_bound": True, "proves_optimality": True})
    certified = solve_layer(layer, zz, rule, "latency", SolverConfig(seed=0))
    assert len(handed) == 1
    assert certified.lower_bound is not None and certified.gap is not None
    assert certified.status in ("OPTIMAL", "FEASIBLE")


def test_solve_layer_polishes_as_the_policy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """ZigZag's rules leave polish starts (walked later with ``polish_now=False``); a policy without a
    polish leaves none, and one with a polish on imcmap's own rules leaves some."""
    layer, accel = random_case(1)
    zz = with_zigzag_rules(accel)
    rule = MappingSpec(diagonal_default=True).resolve(layer)
    config = SolverConfig(seed=0)
    assert solve_layer(layer, zz, rule, "energy", config, polish_now=False).unpolished
    assert solve_layer(layer, accel, rule, "energy", config, polish_now=False).unpolished == ()
    _spy_policy(monkeypatch, {"polish": None})
    assert solve_layer(layer, zz, rule, "energy", config, polish_now=False).unpolished == ()
    _spy_policy(monkeypatch, {"polish": PolishStarts(3, None)})
    assert solve_layer(layer, accel, rule, "energy", config, polish_now=False).unpolished


def test_only_the_policy_and_the_rule_table_read_the_cost_rules() -> None:
    """No module branches on ``CostRules`` but ``solver/policy.py`` (the solve policy) and the evaluator's
    one table from rules to rule set; the ZigZag readers set it, ``models/hardware.py`` defines it."""
    root = Path(policy_module.__file__).parent.parent
    allowed = {"solver/policy.py", "models/evaluator.py", "models/hardware.py", "models/zigzag_rules.py"}
    readers = sorted(
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if "CostRules." in p.read_text() and p.relative_to(root).parts[0] not in ("tests", "bench")
        and p.relative_to(root).parts[:2] != ("specs", "zigzag")
    )
    assert set(readers) <= allowed, readers
    branches = [str(p.relative_to(root)) for p in root.rglob("*.py")
                if p.relative_to(root).parts[0] not in ("tests", "bench")
                and any(k in p.read_text() for k in (".rules is ", ".rules == ", ".rules != "))]
    assert branches == [], branches
