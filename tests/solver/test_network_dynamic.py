"""``solver.network`` for attention's dynamic W: the plan that reads it where its producer left it (a
liveness and capacity check over the layers in between), the hierarchies it solves on, and both
orientations of a layer whose operands are both computed during inference.

Hardware: ``tiny_imc`` (cells hold I2; sram holds I1 and O, below DRAM)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.solver.network import (
    Dataflow,
    exchanged_flow,
    exchanged_variant,
    plan_dynamic_weights,
    reserved_room,
    solve_network,
    variant,
    weight_moved_to,
)
from imcmap.solver.solve import SolverConfig
from imcmap.specs.constraints import parse_constraint

from .fixtures import tiny_imc

ACCEL = tiny_imc(sram_bits=2048)
DYNAMIC = frozenset({Operand.W})


def proj(name: str, b: int, k: int, c: int = 8) -> Layer:
    return Layer(name, "MatMul", {"B": b, "K": k, "C": c})


def scores(name: str, q: str, k: str, b: int = 4, keys: int = 4, c: int = 8) -> Layer:
    """Q x K^T of one head: W is the key projection's output (keys x c)."""
    return Layer(name, "MatMul", {"B": b, "K": keys, "C": c}, sources=(q, k), dynamic_operands=DYNAMIC,
                 weight_sources=(k,))


def test_weight_moved_to_adds_the_operand_and_removes_it_above():
    """I2 moved to sram: sram holds it beside I1 and O, DRAM no longer does; the cells keep it."""
    accel = weight_moved_to(ACCEL, "I2", "sram")
    assert [m.name for m in accel.chain("I2")] == ["cells", "sram"]
    assert accel.memory("sram").operands == ("I1", "O", "I2")
    assert accel.memory("dram").operands == ("I1", "O")


def test_reserved_room_shrinks_one_level():
    """512 b held for another layer: sram's 2048 b become 1536 b, nothing else changes."""
    accel = reserved_room(ACCEL, "sram", 512)
    assert accel.memory("sram").capacity_bits == 1536
    assert accel.memory("dram") == ACCEL.memory("dram")


def test_a_key_projection_output_is_held_for_the_scores_across_the_value_projection():
    """k (4 x 8 = 32 el x 8 b = 256 b) is read as W by s two layers later: held in sram, s reads its W
    there, and v, which runs in between, has 256 b of sram fewer; s reads all of k (no reservation)."""
    q, k, v = proj("q", 4, 8), proj("k", 4, 8), proj("v", 4, 8)
    s = scores("s", "q", "k")
    plan = plan_dynamic_weights(Workload("w", (q, k, v, s)), ACCEL, MappingSpec())
    assert plan["k"] == Dataflow(output_held_in="sram")
    assert plan["v"] == Dataflow(reserved=("sram", 256))
    assert plan["s"] == Dataflow(weight_read_from="sram")
    assert plan["q"] == Dataflow()
    rule = MappingSpec().resolve(s)
    assert [m.name for m in variant(ACCEL, rule, plan["s"]).chain("I2")] == ["cells", "sram"]
    assert variant(ACCEL, rule, plan["v"]).memory("sram").capacity_bits == 2048 - 256
    assert [m.name for m in variant(ACCEL, rule, plan["k"]).chain("O")] == ["rf_o", "sram"]


def test_no_hold_when_the_tensor_does_not_fit_or_w_is_partly_from_elsewhere():
    """k of 4 x 64 = 256 el x 8 b = 2048 b leaves no room in a 2048 b sram; a W larger than its producer's
    output (a cache in DRAM with the new key) is not the producer's alone; a producer another layer reads
    as its input must reach DRAM; a bypass forbids the level."""
    q, big = proj("q", 4, 64), proj("k", 4, 64)
    assert plan_dynamic_weights(Workload("w", (q, big, scores("s", "q", "k", keys=32, c=8))), ACCEL,
                                MappingSpec())["s"] == Dataflow()
    k = proj("k", 1, 8)  # 8 outputs; the scores read 4 x 8 keys
    assert all(f == Dataflow() for f in plan_dynamic_weights(
        Workload("w", (proj("q", 4, 8), k, scores("s", "q", "k"))), ACCEL, MappingSpec()).values())
    small = (proj("q", 4, 8), proj("k", 4, 8), scores("s", "q", "k"))
    also_input = Layer("x", "MatMul", {"B": 4, "K": 4, "C": 8}, sources=("k",))  # reads k as its input
    assert all(f == Dataflow() for f in plan_dynamic_weights(Workload("w", (*small, also_input)), ACCEL,
                                                             MappingSpec()).values())
    bypass = (parse_constraint("k: bypass O at sram"),)
    assert all(f == Dataflow() for f in plan_dynamic_weights(Workload("w", small), ACCEL, MappingSpec(),
                                                             bypass).values())


def test_exchanged_flow_and_variant():
    """With operands exchanged the W comes from where the input did and the other way round; a layer
    with a stored W, a fixed unrolling or user constraints has one orientation only."""
    flow = Dataflow(input_read_from="sram", output_kept_in="sram")
    assert exchanged_flow(flow) == Dataflow(weight_read_from="sram", output_kept_in="sram")
    s = scores("s", "q", "k")
    rule = MappingSpec().resolve(s)
    twin = exchanged_variant(ACCEL, s, rule, flow)
    assert twin is not None and [m.name for m in twin.chain("I2")] == ["cells", "sram"]
    assert [m.name for m in twin.chain("I1")] == ["rf_i", "sram", "dram"]
    assert exchanged_variant(ACCEL, proj("p", 4, 4), rule, flow) is None
    assert exchanged_variant(ACCEL, s, replace(rule, fixed_spatial={"D1": {"K": 4}}), flow) is None


@pytest.fixture(scope="module")
def attention():
    """q (4 queries), k (8 keys), then the scores: k (64 el x 8 b = 512 b) is held in sram for them."""
    layers = (proj("q", 4, 8), proj("k", 8, 8), scores("s", "q", "k", keys=8))
    return solve_network(Workload("w", layers), ACCEL, MappingSpec(), "energy", SolverConfig(time_limit_s=5),
                         processes=1)


def test_the_network_reads_the_held_w_on_chip_and_picks_an_orientation(attention):
    """The scores layer reads k from sram whichever operand the cells hold: as W (cells <- sram) or, with
    the operands exchanged, as the input (B 8 keys, K 4 queries; q comes from DRAM into the cells). Its
    solution is proven over both orientations and names the one it took."""
    by_name = {r.solution.layer.name: r for r in attention.layers}
    s = by_name["s"]
    assert s.dataflow.weight_read_from == "sram"
    assert by_name["k"].dataflow.output_held_in == "sram"
    assert s.solution.status == "OPTIMAL"
    assert s.solution.lower_bound <= s.solution.exact_cost * (1 + 1e-9)
    assert "other orientation" in s.solution.message
    layer, accel = s.solution.layer, s.accelerator
    if s.solution.operands_exchanged:
        assert (layer.size("B"), layer.size("K")) == (8, 4)
        assert [m.name for m in accel.chain("I1")][-1] == "sram"
        assert [m.name for m in accel.chain("I2")] == ["cells", "dram"]
    else:
        assert (layer.size("B"), layer.size("K")) == (4, 8)
        assert [m.name for m in accel.chain("I2")] == ["cells", "sram"]


def test_a_hold_that_does_not_pay_or_leaves_a_layer_unmapped_is_dropped():
    """k's output is held across v for s. Judged on the span k, v, s against the same layers with nothing
    held (here the plain hierarchy: no pair): kept 10 + 10 + 10 = 30 against 10 + 10 + 20 pays; against
    30 it does not (a tie keeps the plain hierarchy); a layer of the
    span without a mapping drops it too. Replanned without k, nothing is held."""
    from types import SimpleNamespace

    from imcmap.solver.network import _holds_not_paying, _jobs, _replanned

    workload = Workload("w", (proj("q", 4, 8), proj("k", 4, 8), proj("v", 4, 8), scores("s", "q", "k")))
    layers, spec = list(workload.layers), MappingSpec()
    plan = plan_dynamic_weights(workload, ACCEL, spec)
    _, key_of = _jobs(workload, ACCEL, spec, plan)
    _, unheld_key_of = _jobs(workload, ACCEL, spec, {n: Dataflow() for n in plan})

    def results(plain_s: float, kept_s: float | None) -> dict:
        sol = {n: SimpleNamespace(report=SimpleNamespace(energy_pj=10.0)) for n in ("q", "k", "v")}
        out = {key_of[n]: s for n, s in sol.items()} | {unheld_key_of[n]: s for n, s in sol.items()}
        out[unheld_key_of["s"]] = SimpleNamespace(report=SimpleNamespace(energy_pj=plain_s))
        out[key_of["s"]] = SimpleNamespace(report=None if kept_s is None else SimpleNamespace(energy_pj=kept_s))
        return out

    assert _holds_not_paying(layers, plan, results(20.0, 10.0), key_of, unheld_key_of, "energy") == set()
    assert _holds_not_paying(layers, plan, results(10.0, 10.0), key_of, unheld_key_of, "energy") == {"k"}
    assert _holds_not_paying(layers, plan, results(20.0, None), key_of, unheld_key_of, "energy") == {"k"}
    assert all(f == Dataflow() for f in _replanned(workload, ACCEL, spec, (), plan, {"k"}).values())


def test_one_output_held_for_two_readers():
    """A fused key/value projection kv (4 x 16 = 64 el x 8 b = 512 b) feeds the scores' W (K^T, 4 x 8 =
    32 el) and the context's W (V, 8 x 4 = 32 el). It is held until the context runs; while each reader
    runs, the rest of it takes 512 - 256 = 256 b of sram beside the reader's own W. With GPT-2's fused
    q/k/v projection the scores name no producer of their own for I: the output may be their input too,
    which the plan does not place, so nothing is held."""
    q, kv = proj("q", 4, 8), proj("kv", 4, 16)
    s = Layer("s", "MatMul", {"B": 4, "K": 4, "C": 8}, sources=("q", "kv"), dynamic_operands=DYNAMIC,
              weight_sources=("kv",))
    pv = Layer("pv", "MatMul", {"B": 4, "K": 8, "C": 4}, sources=("kv", "s"), dynamic_operands=DYNAMIC,
               weight_sources=("kv",))
    plan = plan_dynamic_weights(Workload("w", (q, kv, s, pv)), ACCEL, MappingSpec())
    assert plan["kv"] == Dataflow(output_held_in="sram")
    assert plan["s"] == Dataflow(weight_read_from="sram", reserved=("sram", 256))
    assert plan["pv"] == Dataflow(weight_read_from="sram", reserved=("sram", 256))
    fused = replace(s, sources=("kv",))
    assert all(f == Dataflow() for f in plan_dynamic_weights(Workload("w", (q, kv, fused, pv)), ACCEL,
                                                             MappingSpec()).values())


def test_a_producer_running_beside_a_held_output_counts_its_own():
    """k and v (16 x 8 = 128 el x 8 b = 1024 b each) for the scores and the context, sram 2048 b: k is
    held; v, running while k is held, would hold its own 1024 b beside k's 1024 b, no room left for its
    tiles, so V comes from DRAM."""
    q, k, v = proj("q", 4, 8), proj("k", 16, 8), proj("v", 16, 8)
    s = scores("s", "q", "k", keys=16)
    pv = Layer("pv", "MatMul", {"B": 4, "K": 8, "C": 16}, sources=("s", "v"), dynamic_operands=DYNAMIC,
               weight_sources=("v",))
    plan = plan_dynamic_weights(Workload("w", (q, k, v, s, pv)), ACCEL, MappingSpec())
    assert plan["k"] == Dataflow(output_held_in="sram")
    assert plan["v"] == Dataflow(reserved=("sram", 1024))
    assert plan["s"] == Dataflow(weight_read_from="sram")  # all of k is its W: nothing else reserved
    assert plan["pv"] == Dataflow()


def test_the_driver_joins_the_two_orientations_of_a_layer():
    """The two orientation jobs of one key: the first result waits for the second, then the better one
    stands, with the bound of both; a stop with one of them in keeps it without a bound."""
    from imcmap.solver.network import _Driver, _Job
    from imcmap.solver.status import SolveStatus
    from imcmap.solver.workers import ThreadRunner

    from .test_orientation import solution

    driver = _Driver(Workload("w", ()), ACCEL, MappingSpec(), "energy", SolverConfig(), (), None, None,
                     ThreadRunner(), 0.0)
    a, b = solution(SolveStatus.OPTIMAL, 100.0, 95.0), solution(SolveStatus.OPTIMAL, 90.0, 89.0)
    driver._put(_Job(("k",), "s", (), half=1), replace(b, operands_exchanged=True))
    assert ("k",) not in driver.results
    driver._put(_Job(("k",), "s", (), half=0), a)
    joined = driver.results[("k",)]
    assert joined.operands_exchanged and joined.lower_bound == 89.0 and joined.status is SolveStatus.OPTIMAL
    driver._put(_Job(("j",), "t", (), half=0), a)
    driver.halt("interrupted")
    alone = driver.results[("j",)]
    assert alone.exact_cost == 100.0 and alone.lower_bound is None and alone.status is SolveStatus.FEASIBLE


# k1 and k2 (16 x 8 = 128 el x 8 b = 1024 b each) for s1 and s2, sram 2048 b: k1 is held for s1; k2, running
# while k1 is held, would hold its own 1024 b beside k1's, so it holds nothing. Once k1's hold is dropped,
# k2's fits: the plan the driver then solves is one the first plan does not show.
TWO_HEADS = Workload("two_heads", (proj("k1", 16, 8), proj("k2", 16, 8), proj("q", 4, 8),
                                   scores("s1", "q", "k1", keys=16), scores("s2", "q", "k2", keys=16)))


def test_the_jobs_listed_up_front_include_those_of_the_holds_a_drop_makes_room_for():
    """The first plan holds k1 (k2, q and s1 lose 1024 b of sram, s1 reads W there); dropping k1 holds k2
    instead (q, s1 lose 1024 b, s2 reads W in sram), dropping both holds nothing: 3 hold plans. s2's
    hierarchy with its W in sram, and s1's with 1024 b taken and its W from DRAM, are listed, not in the
    first batch. A layer with two orientations is one job naming the second one's hierarchy."""
    from imcmap.solver.network import _first_plans, _hold_plans, network_jobs

    spec = MappingSpec()
    _, _, held = _first_plans(TWO_HEADS, ACCEL, spec, (), True)
    assert held["k1"] == Dataflow(output_held_in="sram") and held["k2"] == Dataflow(reserved=("sram", 1024))
    plans, complete = _hold_plans(TWO_HEADS, ACCEL, spec, (), held)
    assert complete and [p["k2"] for p in plans] == [Dataflow(reserved=("sram", 1024)),
                                                     Dataflow(output_held_in="sram"), Dataflow()]
    listed = network_jobs(TWO_HEADS, ACCEL, spec, "energy")
    assert listed.complete and {j.job.phase for j in listed.jobs} == {"solve"}  # no polish on imcmap's rules
    s1, s2 = TWO_HEADS.layers[3], TWO_HEADS.layers[4]

    def accels(layer: Layer, first: bool) -> list:
        return [j.job.accel for j in listed.jobs if j.job.layer == layer and j.first == first]

    w_on_chip = Dataflow(weight_read_from="sram")
    assert variant(ACCEL, spec.resolve(s2), w_on_chip) in accels(s2, first=False)
    assert variant(ACCEL, spec.resolve(s2), w_on_chip) not in accels(s2, first=True)
    assert variant(ACCEL, spec.resolve(s1), Dataflow(reserved=("sram", 1024))) in accels(s1, first=False)
    assert all(j.job.exchanged == exchanged_variant(ACCEL, j.job.layer, spec.resolve(j.job.layer), Dataflow())
               for j in listed.jobs if j.job.layer == s1 and j.job.accel == ACCEL)
    assert len(accels(s1, True)) == 2 and len(accels(s1, False)) == 1  # W on chip, plain; 1024 b taken


def test_past_the_hold_plans_listed_the_list_says_it_is_incomplete(monkeypatch: pytest.MonkeyPatch):
    """With room for one hold plan only, the plans after a drop are not walked: the list says so."""
    from imcmap.solver import network

    monkeypatch.setattr(network, "HOLD_PLANS_LISTED", 1)
    assert not network.network_jobs(TWO_HEADS, ACCEL, MappingSpec(), "energy").complete
    assert network.network_jobs(Workload("w", (proj("q", 4, 8),)), ACCEL, MappingSpec(), "energy").complete
