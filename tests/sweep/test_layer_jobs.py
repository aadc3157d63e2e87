"""The sweep's layer cache and pruning at the level of one network solve (``sweep.layer_jobs.RunJobs`` as
``solve_network``'s hook): what a key separates, that a network answered from the cache is the network
solved, and that a run is given up exactly when a finished run dominates the layers it has so far."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from imcmap.models.hardware import Accelerator
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.solver.network import (
    SOLVE,
    SOLVE_DEFERRED,
    Dataflow,
    JobCall,
    NetworkResult,
    capped,
    network_jobs,
    resolve_rule,
    solve_network,
)
from imcmap.solver.solve import LayerSolution, SolverConfig, solve_layer
from imcmap.solver.status import SolveStatus
from imcmap.specs import load_accelerator, load_workload, resolve
from imcmap.sweep.driver import layer_keys
from imcmap.sweep.layer_jobs import PruneTarget, RunJobs, job_key
from imcmap.sweep.runs import RunRequest

CONFIG = SolverConfig(time_limit_s=2)
SPEC = MappingSpec()


def _accel(name: str) -> Accelerator:
    return load_accelerator(resolve("accelerator", name) if "/" not in name else name)


def _solve(workload: Workload, accel: Accelerator, objective: str = "energy", known: tuple = (),
           prune: PruneTarget | None = None) -> tuple[NetworkResult, RunJobs]:
    jobs = RunJobs(workload, accel, SPEC, objective, CONFIG, (), True, known, prune)
    return solve_network(workload, accel, SPEC, objective, CONFIG, processes=1, hook=jobs), jobs


def _facts(solution: LayerSolution) -> tuple[object, ...]:
    """Everything of a solution a sweep stores or the network driver decides by (not its timing)."""
    s = solution
    return (s.layer, s.status, s.mapping, s.report, s.exact_cost, s.lower_bound, s.gap, s.model_objective,
            s.candidates, s.message, s.constraints, s.conflict, s.accelerator, s.unpolished, s.stopped,
            s.operands_exchanged)


DYNAMIC = frozenset({Operand.W})
# one attention head's scores: W is the key projection's output, so both operands are computed during
# inference and the driver solves both orientations as two jobs, joined (``solve.better_orientation``)
ATTENTION = Workload("attention", (
    Layer("q", "MatMul", {"B": 16, "K": 32, "C": 32}),
    Layer("k", "MatMul", {"B": 16, "K": 32, "C": 32}),
    Layer("scores", "MatMul", {"B": 16, "K": 16, "C": 32}, sources=("q", "k"), dynamic_operands=DYNAMIC,
          weight_sources=("k",)),
))


def test_an_attention_head_answered_from_the_layer_cache_is_the_one_solved() -> None:
    accel = _accel("dimc")
    plain = solve_network(ATTENTION, accel, SPEC, "energy", CONFIG, processes=1)
    solved, first = _solve(ATTENTION, accel)
    answered, second = _solve(ATTENTION, accel, known=tuple(first.new.items()))
    assert second.reused == len(first.new) > 0 and second.new == {}
    for a, b, c in zip(plain.layers, solved.layers, answered.layers, strict=True):
        assert _facts(a.solution) == _facts(b.solution) == _facts(c.solution)
    request = RunRequest("k", {}, "a", ATTENTION.name, accel, ATTENTION, SPEC, "energy", config=CONFIG)
    assert set(first.new) <= set(layer_keys(request))  # the client looks up every job a run solves


def _head(name: str, producer: str, queries: int) -> Layer:
    """One head's scores over 128 keys of 128 features: W is ``producer``'s output (128 x 128 x 8 b =
    131,072 b, half of dimc's 262,144 b sram)."""
    return Layer(name, "MatMul", {"B": queries, "K": 128, "C": 128}, sources=("q", producer),
                 dynamic_operands=DYNAMIC, weight_sources=(producer,))


# k1 is held in sram for s1; k2, running while k1 is held, would fill the sram with its own output beside
# it, so it holds nothing, until k1's hold is dropped
TWO_HEADS = Workload("two_heads", (
    Layer("k1", "MatMul", {"B": 128, "K": 128, "C": 8}),
    Layer("k2", "MatMul", {"B": 128, "K": 128, "C": 8}),
    Layer("q", "MatMul", {"B": 4, "K": 128, "C": 8}),
    _head("s1", "k1", 4),
    _head("s2", "k2", 8),
))


def test_every_job_the_driver_runs_is_listed_up_front_also_after_a_dropped_hold() -> None:
    """A hook that says a head has no mapping with its W read in sram makes the driver drop k1's hold,
    hold k2's instead, then drop that one too. Every job it runs is among those the sweep looks up before
    the run; two are not in the first batch: s1 with 131,072 b of sram taken by k2's output, and s2 with
    its W in sram (k2 held is k1 held, q loses the same bits beside either)."""
    accel = _accel("dimc")
    seen: list[str] = []

    class Unmapped:
        def known(self, job: JobCall) -> LayerSolution | None:
            seen.append(job_key(job, "energy", CONFIG))
            if "I2" not in job.accel.memory("sram_256KB").operands:
                return None
            return LayerSolution(job.layer, "energy", SolveStatus.INFEASIBLE, None, None, None, None, None, None, 0,
                                 0.0, "made up: no mapping with the W in sram")

        def finished(self, job: JobCall, solution: LayerSolution) -> bool:
            return False

    result = solve_network(TWO_HEADS, accel, SPEC, "energy", CONFIG, processes=1, hook=Unmapped())
    assert result.complete and all(r.dataflow == Dataflow() for r in result.layers)
    request = RunRequest("k", {}, "a", TWO_HEADS.name, accel, TWO_HEADS, SPEC, "energy", config=CONFIG)
    first = {job_key(j.job, "energy", CONFIG) for j in network_jobs(TWO_HEADS, accel, SPEC, "energy").jobs if j.first}
    assert set(seen) <= set(layer_keys(request))
    assert len(set(seen) - first) == 2


@pytest.mark.parametrize("accelerator", ["dimc", "tests/data/zigzag/dimc.yaml"])
def test_a_network_answered_from_the_layer_cache_is_the_network_solved(accelerator: str) -> None:
    """tiny_net keeps both of its intermediate tensors on chip, so each layer has more than one hierarchy
    (6 jobs); on the ZigZag file every job also has a deferred polish (9 records)."""
    accel, workload = _accel(accelerator), load_workload(resolve("workload", "tiny_net"))
    plain = solve_network(workload, accel, SPEC, "energy", CONFIG, processes=1)
    solved, first = _solve(workload, accel)
    answered, second = _solve(workload, accel, known=tuple(first.new.items()))
    assert first.reused == 0 and len(first.new) == (9 if "zigzag" in accelerator else 6)
    assert second.reused == len(first.new) and second.new == {}
    for a, b, c in zip(plain.layers, solved.layers, answered.layers, strict=True):
        assert _facts(a.solution) == _facts(b.solution) == _facts(c.solution)
        assert (a.dataflow, a.solved_as, a.accelerator) == (c.dataflow, c.solved_as, c.accelerator)
    request = RunRequest("k", {}, "a", workload.name, accel, workload, SPEC, "energy", config=CONFIG)
    assert set(first.new) <= set(layer_keys(request))  # the client looks up every job a run solves


def _layer(**changes: object) -> Layer:
    base = Layer("conv", "Conv", {"K": 8, "C": 4, "OY": 4, "OX": 4, "FY": 3, "FX": 3}, padding=(1, 1, 1, 1))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_layer_key_ignores_names_and_separates_whatever_decides_the_solve() -> None:
    accel = _accel("dimc")
    rule = resolve_rule(_layer(), SPEC)

    def key(layer: Layer | None = None, hardware: Accelerator = accel, objective: str = "energy",
            config: SolverConfig = CONFIG, phase: str = SOLVE) -> str:
        return job_key(JobCall(layer or _layer(), hardware, rule, phase), objective, config)

    assert key() == key(_layer(name="other", sources=("x",)))
    assert key() == key(phase=SOLVE_DEFERRED)  # imcmap's own rules: no polish to defer
    different = [key(_layer(padding=(0, 0, 0, 0))), key(_layer(stride=(2, 2))),
                 key(hardware=capped(accel, "O", "sram_256KB")), key(objective="latency"),
                 key(config=replace(CONFIG, seed=1)), key(config=replace(CONFIG, time_limit_s=3))]
    assert len({key(), *different}) == 1 + len(different)
    zigzag = _accel("tests/data/zigzag/dimc.yaml")
    assert key(hardware=zigzag) != key(hardware=zigzag, phase=SOLVE_DEFERRED)  # a polish to defer there


def test_a_stopped_search_is_never_cached() -> None:
    accel, layer = _accel("dimc"), _layer()
    rule = resolve_rule(layer, SPEC)
    stop = threading.Event()
    stop.set()
    solution = solve_layer(layer, accel, rule, "energy", CONFIG, stop=stop)
    assert solution.stopped
    jobs = RunJobs(Workload("w", (layer,)), accel, SPEC, "energy", CONFIG, (), True, (), None)
    jobs.finished(JobCall(layer, accel, rule, SOLVE), solution)
    assert jobs.new == {}


# --- pruning ----------------------------------------------------------------------------------------

THREE = Workload("three", (  # no producer links: no pairs, each layer has one hierarchy
    Layer("big", "Conv", {"K": 16, "C": 16, "OY": 8, "OX": 8, "FY": 3, "FX": 3}, padding=(1, 1, 1, 1)),
    Layer("mid", "Conv", {"K": 8, "C": 4, "OY": 4, "OX": 4, "FY": 3, "FX": 3}, padding=(1, 1, 1, 1)),
    Layer("small", "Gemm", {"B": 1, "K": 8, "C": 8}),
))
METRICS = ("energy_pj", "latency_s", "area_mm2")


def _target(accel: Accelerator, front: list[tuple[float, float, float]]) -> PruneTarget:
    from imcmap.sweep.figures import peak_figures

    peak = peak_figures(accel)
    return PruneTarget(METRICS, tuple((f"run {i}", v) for i, v in enumerate(front)), peak.area_mm2, peak.tclk_ns)


def _vector(result: NetworkResult, area_mm2: float) -> tuple[float, float, float]:
    from imcmap.sweep.figures import run_figures

    figures = run_figures(result)
    return figures.energy_pj, figures.latency_s, area_mm2


def test_the_bound_of_a_network_whose_every_layer_is_final_is_its_figures_to_the_bit() -> None:
    """Without pairs each layer's one hierarchy is final when solved: the bound after the last layer sums
    the same numbers in the same order as the run's figures; before it, it is below them."""
    accel = _accel("dimc")
    target = _target(accel, [])  # an empty front never prunes
    bounds: list[tuple[float, float, float]] = []
    jobs = RunJobs(THREE, accel, SPEC, "energy", CONFIG, (), True, (), target)
    finished = jobs.finished

    def spy(job: JobCall, solution: LayerSolution) -> bool:
        verdict = finished(job, solution)
        figures, _ = jobs.bound(target.tclk_ns, target.area_mm2)
        bounds.append((figures["energy_pj"], figures["latency_s"], figures["area_mm2"]))
        return verdict

    jobs.finished = spy  # type: ignore[method-assign]
    result = solve_network(THREE, accel, SPEC, "energy", CONFIG, processes=1, hook=jobs)
    exact = _vector(result, target.area_mm2)
    assert len(bounds) == 3 and bounds[-1] == exact and jobs.given_up is None
    assert all(b[0] < exact[0] and b[1] < exact[1] for b in bounds[:-1])
    # the largest layer first: its bound alone holds most of the energy
    assert bounds[0][0] > 0.5 * exact[0]


def test_a_run_is_given_up_once_a_finished_run_beats_its_layers_so_far_and_not_on_a_tie() -> None:
    accel = _accel("dimc")
    result, _ = _solve(THREE, accel)
    exact = _vector(result, _target(accel, []).area_mm2)
    # a tie with the run's own final figures never prunes: ties stay on the front
    tied, tie_jobs = _solve(THREE, accel, prune=_target(accel, [exact]))
    assert tie_jobs.given_up is None and tied.complete
    # a run better than the largest layer alone prunes after that layer: two of three jobs saved
    first_layer = solve_layer(THREE.layers[0], accel, resolve_rule(THREE.layers[0], SPEC), "energy", CONFIG).report
    assert first_layer is not None
    from imcmap.models.evaluator import clock_period_ns

    better = (first_layer.energy_pj * 0.99, first_layer.latency_cycles * clock_period_ns(accel) * 1e-9 * 0.99, exact[2])
    _, pruned = _solve(THREE, accel, prune=_target(accel, [exact, better]))
    assert pruned.given_up is not None and pruned.given_up.startswith("pruned after 1 of 3 layers")
    assert "run 1" in pruned.given_up and pruned.saved == 2


def test_an_attention_head_is_pruned_too() -> None:
    """Its hold plans are known up front, so its layers' possible hierarchies are: q, the largest layer
    with k (same problem, solved first), has one hierarchy and bounds the run alone once solved. A run
    better than q alone gives it up after that layer; of the first batch's 4 jobs (q and k plain, k
    with its output held, the scores with their W on chip and plain) the other 3 are saved."""
    accel = _accel("dimc")
    assert network_jobs(ATTENTION, accel, SPEC, "energy").complete
    result, _ = _solve(ATTENTION, accel)
    exact = _vector(result, _target(accel, []).area_mm2)
    q = result.layers[0].solution.report
    assert q is not None
    from imcmap.models.evaluator import clock_period_ns

    better = (q.energy_pj * 0.99, q.latency_cycles * clock_period_ns(accel) * 1e-9 * 0.99, exact[2])
    _, pruned = _solve(ATTENTION, accel, prune=_target(accel, [exact, better]))
    assert pruned.given_up is not None and pruned.given_up.startswith("pruned after 1 of 3 layers")
    assert pruned.saved == 3
    _, tied = _solve(ATTENTION, accel, prune=_target(accel, [exact]))
    assert tied.given_up is None
