"""The solver against brute force: on random tiny layers and accelerators, the solver's mapping has the
minimal exact cost over every legal mapping the evaluator accepts."""

from __future__ import annotations

import numpy as np
import pytest

from imcmap.models.evaluator import check
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand, Precision, operands_exchanged
from imcmap.solver.network import capped, weight_moved_to
from imcmap.solver.solve import SolverConfig, better_orientation, solve_exchanged, solve_layer

from .brute import brute_force, enumeration_size
from .fixtures import oracle_digital, oracle_imc, oracle_imc_rows

METRICS = {"energy": lambda r: r.energy_pj, "latency": lambda r: r.latency_cycles}
MAX_ENUMERATION = 40000


def random_case(seed: int):
    """A tiny layer and a tiny accelerator, drawn until the brute-force space is small enough."""
    rng = np.random.default_rng(seed)
    while True:
        if rng.random() < 0.25:
            dims = {"B": int(rng.choice([1, 2, 4])), "K": int(rng.choice([2, 3, 4])), "C": int(rng.choice([2, 4, 6]))}
            layer = Layer(f"gemm{seed}", "Gemm", dims)
        else:
            dims = {
                "K": int(rng.choice([1, 2, 4])),
                "C": int(rng.choice([1, 2, 3])),
                "OX": int(rng.choice([1, 2, 3, 4])),
                "OY": int(rng.choice([1, 2])),
                "FX": int(rng.choice([1, 2, 3])),
                "FY": int(rng.choice([1, 2])),
            }
            stride = int(rng.choice([1, 1, 2]))
            layer = Layer(f"conv{seed}", "Conv", dims, stride=(1, stride))
        if rng.random() < 0.6:
            accel = oracle_imc(
                d1=int(rng.choice([2, 4])), d2=int(rng.choice([2, 4, 8])), buf_bits=int(rng.choice([64, 128, 512])),
                analog=bool(rng.random() < 0.5),
            )
        else:
            accel = oracle_digital(
                d1=int(rng.choice([1, 2])),
                d2=int(rng.choice([2, 3])),
                rf_bits=int(rng.choice([16, 32, 64])),
                buf_bits=int(rng.choice([64, 256])),
            )
        if enumeration_size(layer, accel) <= MAX_ENUMERATION:
            return layer, accel


CASES = [(seed, objective) for seed in range(25) for objective in ("energy", "latency")]


@pytest.mark.parametrize(("seed", "objective"), CASES)
def test_solver_matches_brute_force(seed: int, objective: str):
    """The solver's exact cost equals the brute-force minimum (within 1e-9) and its mapping is legal."""
    layer, accel = random_case(seed)
    best, best_mapping, legal = brute_force(layer, accel, METRICS[objective])
    solution = solve_layer(
        layer,
        accel,
        MappingSpec(diagonal_default=True).resolve(layer),
        objective,
        SolverConfig(seed=0, time_limit_s=20),
    )
    if legal == 0:
        assert solution.mapping is None
        return
    assert solution.mapping is not None, solution.message
    assert check(layer, accel, solution.mapping) == []
    assert solution.exact_cost == pytest.approx(best, rel=1e-9), (best_mapping, solution.mapping)
    assert solution.status == "OPTIMAL"
    assert solution.lower_bound <= best * (1 + 1e-9)


ROW_CASES = [
    (Layer("diag_a", "Conv", {"K": 2, "C": 1, "OX": 4, "OY": 1, "FX": 3, "FY": 1}), "energy"),
    (Layer("diag_a", "Conv", {"K": 2, "C": 1, "OX": 4, "OY": 1, "FX": 3, "FY": 1}), "latency"),
    (Layer("diag_b", "Conv", {"K": 1, "C": 2, "OX": 2, "OY": 2, "FX": 2, "FY": 2}), "energy"),
    (Layer("diag_c", "Conv", {"K": 2, "C": 2, "OX": 3, "OY": 1, "FX": 2, "FY": 1}, stride=(1, 2)), "energy"),
]


@pytest.mark.parametrize(("layer", "objective"), ROW_CASES)
def test_solver_matches_brute_force_with_row_registers(layer: Layer, objective: str):
    """With per-row input registers (the diagonal rows rule) the solver still finds the brute-force minimum."""
    accel = oracle_imc_rows()
    best, best_mapping, legal = brute_force(layer, accel, METRICS[objective])
    assert legal > 0
    solution = solve_layer(
        layer,
        accel,
        MappingSpec(diagonal_default=True).resolve(layer),
        objective,
        SolverConfig(seed=0, time_limit_s=20),
    )
    assert solution.mapping is not None, solution.message
    assert solution.exact_cost == pytest.approx(best, rel=1e-9), (best_mapping, solution.mapping)
    assert solution.lower_bound <= best * (1 + 1e-9)


# Attention's dynamic-operand layers (G heads, B queries, K keys, C features; W computed by another layer):
# either operand may sit in the cells, and the W may come from the buffer where its producer left it.
DYNAMIC_CASES = [
    (Layer("qk_a", "MatMul", {"B": 2, "K": 4, "C": 4}, dynamic_operands=frozenset({Operand.W})), False, "energy"),
    (Layer("qk_a", "MatMul", {"B": 2, "K": 4, "C": 4}, dynamic_operands=frozenset({Operand.W})), True, "energy"),
    (Layer("qk_b", "MatMul", {"B": 4, "K": 2, "C": 2, "G": 2}, dynamic_operands=frozenset({Operand.W})), True,
     "energy"),
    (Layer("pv_a", "MatMul", {"B": 3, "K": 2, "C": 4}, dynamic_operands=frozenset({Operand.W}),
           precision=Precision(4, 8, 8, 16)), False, "latency"),
    (Layer("pv_a", "MatMul", {"B": 3, "K": 2, "C": 4}, dynamic_operands=frozenset({Operand.W}),
           precision=Precision(4, 8, 8, 16)), True, "energy"),
]


@pytest.mark.parametrize(("layer", "w_on_chip", "objective"), DYNAMIC_CASES)
def test_both_orientations_match_brute_force(layer: Layer, w_on_chip: bool, objective: str):
    """The solver's cheaper orientation has the minimum, by brute force, over both orientations' legal
    mappings (``w_on_chip``: the W is read from the buffer, so with the operands exchanged the input
    is), and its bound, the smaller of the two, is at most that minimum."""
    base = oracle_imc(d1=4, d2=4, buf_bits=512)
    accel = weight_moved_to(base, "I2", "buf") if w_on_chip else base
    twin_accel = capped(base, "I1", "buf") if w_on_chip else base
    twin = operands_exchanged(layer)
    costs = [brute_force(layer, accel, METRICS[objective]), brute_force(twin, twin_accel, METRICS[objective])]
    best = min(c[0] for c in costs)
    assert best < float("inf")
    rule, config = MappingSpec().resolve(layer), SolverConfig(seed=0, time_limit_s=20)
    # as the network driver does: each orientation a job of its own, the two joined
    solution = better_orientation(solve_layer(layer, accel, rule, objective, config),
                                  solve_exchanged(layer, twin_accel, rule, objective, config))
    assert solution.mapping is not None, solution.message
    solved_on = solution.accelerator or accel
    assert check(solution.layer, solved_on, solution.mapping) == []
    assert solution.exact_cost == pytest.approx(best, rel=1e-9)
    assert solution.operands_exchanged == (costs[1][0] < costs[0][0])
    assert solution.status == "OPTIMAL"
    assert solution.lower_bound <= best * (1 + 1e-9)
