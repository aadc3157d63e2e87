"""The seeded incumbent (``seed.seed_incumbent``): the proven optimum is the same with it as without,
the cutoff it adds keeps the incumbent, and it tries the next unrolling when one has no legal mapping."""

from __future__ import annotations

from math import prod

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer
from imcmap.solver.policy import policy_of
from imcmap.solver.problem import build_problem
from imcmap.solver.seed import SEED_TIME_S, SEED_TRIES, by_pes_used, seed_at, seed_incumbent
from imcmap.solver.solve import SolverConfig, _Recorder, build_model, configure_search, search_layer, use_seed
from imcmap.specs.constraints import parse_constraint

from .fixtures import oracle_digital, oracle_imc, oracle_imc_rows, proven_optimum, tiny_imc

HARDWARE = {
    "tiny_imc": lambda: tiny_imc(d1=4, d2=4, sram_bits=512),
    "oracle_imc": lambda: oracle_imc(d1=2, d2=4, buf_bits=128),
    "oracle_imc_rows": lambda: oracle_imc_rows(d1=4, d2=8, buf_bits=256),
}

CONV_DIMS = st.fixed_dictionaries({
    "K": st.sampled_from([1, 2, 4]), "C": st.sampled_from([1, 2, 3]), "OX": st.sampled_from([1, 2, 4]),
    "OY": st.sampled_from([1, 3]), "FX": st.sampled_from([1, 3]), "FY": st.sampled_from([1, 2]),
})


def _problem(layer: Layer, accel):  # type: ignore[no-untyped-def]
    return build_problem(layer, accel, MappingSpec(diagonal_default=True).resolve(layer))


def _real_run(objective: str, accel):  # type: ignore[no-untyped-def]
    policy = policy_of(accel, objective)

    def run(sub: cp_model.CpModel, seconds: float):  # type: ignore[no-untyped-def]
        solver = cp_model.CpSolver()
        configure_search(solver.parameters, SolverConfig(time_limit_s=seconds), policy)
        return solver, solver.solve(sub)

    return run


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=CONV_DIMS,
    hardware=st.sampled_from(sorted(HARDWARE)),
    objective=st.sampled_from(["energy", "latency"]),
)
def test_the_seed_keeps_the_model_optimum(dims, hardware, objective):  # type: ignore[no-untyped-def]
    """The model with the seed's hint and cutoff proves the optimum the model proves without them."""
    layer = Layer("c", "Conv", dims)
    accel = HARDWARE[hardware]()
    problem = _problem(layer, accel)
    free = proven_optimum(build_model(problem, objective)[0])
    assert free[0] in ("OPTIMAL", "INFEASIBLE")
    model, v, _ = build_model(problem, objective)
    seed_incumbent(model, v, problem, _real_run(objective, accel), 5.0)
    assert proven_optimum(model) == free


def test_the_cutoff_keeps_the_incumbent() -> None:
    """The seeded model's optimum is at most the incumbent's objective, and both are proven."""
    layer = Layer("c", "Conv", {"K": 4, "C": 3, "OX": 4, "OY": 4, "FX": 3, "FY": 3})
    accel = tiny_imc(d1=4, d2=4, sram_bits=512)
    problem = _problem(layer, accel)
    model, v, _ = build_model(problem, "energy")
    incumbents: list[float] = []
    real = _real_run("energy", accel)

    def run(sub: cp_model.CpModel, seconds: float):  # type: ignore[no-untyped-def]
        solver, status = real(sub, seconds)
        incumbents.append(solver.objective_value)
        return solver, status

    seed_incumbent(model, v, problem, run, 5.0)
    assert len(incumbents) == 1
    assert len(model.proto.solution_hint.vars) == len(model.proto.variables)
    status, optimum = proven_optimum(model)
    assert status == "OPTIMAL" and optimum is not None and optimum <= incumbents[0]


def test_an_infeasible_unrolling_passes_to_the_next() -> None:
    """Tries go most PEs first; one without a legal mapping moves on to the next, an unfinished one (out
    of time) stops the seed without a cutoff; at most SEED_TRIES tries, the cutoff after the first
    assignment found."""
    layer = Layer("c", "Conv", {"K": 4, "C": 3, "OX": 4, "OY": 4, "FX": 3, "FY": 3})
    accel = tiny_imc(d1=4, d2=4, sram_bits=512)
    problem = _problem(layer, accel)
    order = by_pes_used(problem)
    pes = [prod(f for u in problem.groups[0].candidates[k].values() for f in u.values()) for k in order]
    assert sorted(order) == list(range(len(order))) and pes == sorted(pes, reverse=True)
    real = _real_run("energy", accel)
    for forced in ([cp_model.INFEASIBLE], [cp_model.UNKNOWN], [cp_model.INFEASIBLE] * SEED_TRIES):
        model, v, _ = build_model(problem, "energy")
        rows = len(model.proto.constraints)
        statuses: list[int] = []

        def run(sub: cp_model.CpModel, seconds: float, forced=forced, statuses=statuses):  # type: ignore[no-untyped-def]
            solver, status = real(sub, seconds)
            statuses.append(forced[len(statuses)] if len(statuses) < len(forced) else status)
            return solver, statuses[-1]

        seed_incumbent(model, v, problem, run, 5.0)
        found = [s in (cp_model.OPTIMAL, cp_model.FEASIBLE) for s in statuses]
        assert 1 <= len(statuses) <= SEED_TRIES
        assert all(s == cp_model.INFEASIBLE for s in statuses[:-1])
        assert len(model.proto.constraints) == rows + found[-1]
        if forced[0] == cp_model.UNKNOWN:
            assert statuses == [cp_model.UNKNOWN]
        elif len(statuses) < SEED_TRIES:
            assert found[-1]


def test_search_layer_counts_the_seed_and_keeps_its_mappings() -> None:
    layer = Layer("c", "Conv", {"K": 4, "C": 3, "OX": 4, "OY": 4, "FX": 3, "FY": 3})
    accel = tiny_imc(d1=4, d2=4, sram_bits=512)
    problem = _problem(layer, accel)
    model, v, _ = build_model(problem, "energy")
    recorder = _Recorder(problem, v, 0.0)
    solver, status, seconds = search_layer(model, v, problem, SolverConfig(), policy_of(accel, "energy"), (),
                                           recorder)
    assert status == cp_model.OPTIMAL
    assert seconds > solver.deterministic_time  # the seed's search is counted
    assert len(recorder.mappings) > len(recorder.trace)  # its mappings are kept, its bounds not traced


def test_where_the_seed_applies() -> None:
    """Energy on imcmap's own rules on IMC arrays, without user constraints."""
    imc, digital = oracle_imc(), oracle_digital()
    assert [use_seed(policy_of(imc, o), ()) for o in ("energy", "latency", "edp")] == [True, False, False]
    assert not use_seed(policy_of(digital, "energy"), ())
    assert not use_seed(policy_of(imc, "energy"), (parse_constraint("stationary W at cells"),))


def test_the_seed_parameters_are_recorded() -> None:
    """Outputs record every solver parameter: the seed's tries and per-try budget too."""
    assert SolverConfig().as_dict()["incumbent_seed"] == {"tries": SEED_TRIES, "max_deterministic_time": SEED_TIME_S}


def test_the_seed_shares_the_layers_budgets() -> None:
    """The proof gets what the seed left of the deterministic budget, and of the wall cap."""
    layer = Layer("c", "Conv", {"K": 4, "C": 3, "OX": 4, "OY": 4, "FX": 3, "FY": 3})
    accel = tiny_imc(d1=4, d2=4, sram_bits=512)
    problem = _problem(layer, accel)
    model, v, _ = build_model(problem, "energy")
    config = SolverConfig(time_limit_s=10.0, wall_limit_s=60.0)
    solver, _, seconds = search_layer(model, v, problem, config, policy_of(accel, "energy"), (),
                                      _Recorder(problem, v, 0.0))
    seed_seconds = seconds - solver.deterministic_time
    assert solver.parameters.max_deterministic_time == pytest.approx(10.0 - seed_seconds)
    assert 0 < solver.parameters.max_time_in_seconds < 60.0


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=CONV_DIMS,
    hardware=st.sampled_from(sorted(HARDWARE)),
)
def test_seed_at_another_models_mapping_keeps_the_optimum(dims, hardware):  # type: ignore[no-untyped-def]
    """``seed_at`` the best mapping of the model with ln 3 tangents, in the model with ln 1.2 ones (as
    ``refine_search`` does): a complete hint, one cutoff row, and the finer model's proven optimum as
    without them."""
    from dataclasses import replace
    from math import log

    layer = Layer("c", "Conv", dims)
    accel = HARDWARE[hardware]()
    problem = _problem(layer, accel)
    policy = policy_of(accel, "energy")
    coarse, coarse_v, _ = build_model(problem, "energy", policy=replace(policy, tangent_step=log(3.0)))
    solver = cp_model.CpSolver()
    configure_search(solver.parameters, SolverConfig(), policy)
    if solver.solve(coarse) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    decisions = [solver.value(x) for x in coarse_v.decisions()]
    finer = replace(policy, tangent_step=log(1.2))
    free = proven_optimum(build_model(problem, "energy", policy=finer)[0])
    model, v, _ = build_model(problem, "energy", policy=finer)
    rows = len(model.proto.constraints)
    seed_at(model, v, decisions, _real_run("energy", accel), 5.0)
    assert len(model.proto.solution_hint.vars) == len(model.proto.variables)
    assert len(model.proto.constraints) == rows + 1
    assert proven_optimum(model) == free
