"""``solver.network``: the on-chip dataflow plan (which producer/consumer tensors stay on chip), the
capped hierarchies it solves on, identical layers solved once, and the network totals.

Hardware: ``tiny_imc`` (sram holds I1 and O, 2048 b, below DRAM)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imcmap.models.evaluator import evaluate
from imcmap.models.mapping_spec import MappingSpec
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.solver.network import Dataflow, capped, plan_dataflow, resolve_rule, solve_network, variant
from imcmap.solver.solve import SolverConfig
from imcmap.specs import load_accelerator, load_workload, resolve
from imcmap.specs.constraints import parse_constraint

from .fixtures import tiny_imc

ACCEL = tiny_imc(sram_bits=2048)


def gemm(name: str, k: int, c: int, sources: tuple[str, ...] = ()) -> Layer:
    return Layer(name, "Gemm", {"B": 4, "K": k, "C": c}, sources=sources)


def test_describe():
    """What a layer's dataflow says in reports: '-' when it is the plain hierarchy."""
    assert Dataflow().describe() == "-"
    assert Dataflow("sram", "sram").describe() == "input from sram, output kept in sram"


def test_capped_removes_the_operand_above_the_level_only():
    """O capped at sram: dram no longer holds O, sram and rf_o still do; other operands keep dram."""
    accel = capped(ACCEL, "O", "sram")
    assert [m.name for m in accel.chain("O")] == ["rf_o", "sram"]
    assert [m.name for m in accel.chain("I1")] == ["rf_i", "sram", "dram"]


def test_a_chain_whose_tensor_fits_stays_on_chip():
    """a (B4 x K8 outputs = 32 * 8 b = 256 b <= 2048 b) feeds only b, which reads only a: a's output is
    kept in sram, b's input read from there; b's own output feeds c, 4 x 64 = 256 el = 2048 b: fits too."""
    a, b = gemm("a", 8, 8), gemm("b", 64, 8, ("a",))
    c = gemm("c", 8, 64, ("b",))
    plan = plan_dataflow(Workload("w", (a, b, c)), ACCEL, MappingSpec())
    assert plan == {"a": Dataflow("sram", None), "b": Dataflow("sram", "sram"), "c": Dataflow(None, "sram")}


def test_no_pair_when_the_tensor_is_too_big_or_has_two_readers():
    """b's output 4 x 128 = 512 el * 8 b = 4096 b > 2048 b stays in DRAM; a read by two layers too."""
    a, b = gemm("a", 8, 8), gemm("b", 128, 8, ("a",))
    c = gemm("c", 8, 128, ("b",))
    assert plan_dataflow(Workload("w", (a, b, c)), ACCEL, MappingSpec())["b"].output_kept_in is None
    d, e = gemm("d", 8, 8, ("a",)), gemm("e", 8, 8, ("a",))
    assert all(f == Dataflow() for f in plan_dataflow(Workload("w", (a, d, e)), ACCEL, MappingSpec()).values())


def test_no_pair_through_a_bypassed_level():
    """'bypass O at sram' on the producer leaves sram unusable for its output."""
    a, b = gemm("a", 8, 8), gemm("b", 8, 8, ("a",))
    bypass = (parse_constraint("a: bypass O at sram"),)
    assert plan_dataflow(Workload("w", (a, b)), ACCEL, MappingSpec(), bypass)["a"] == Dataflow()


def test_variant_caps_outputs_and_inputs_as_planned():
    """A layer both reading from and keeping in sram sees neither O nor I1 in DRAM."""
    rule = MappingSpec().resolve(gemm("b", 8, 8))
    accel = variant(ACCEL, rule, Dataflow("sram", "sram"))
    assert accel.memory("dram").operands == ("I2",)


def test_resolve_rule_keeps_only_the_constraints_in_scope():
    """Of 'a: ...' and 'Gemm: ...', layer b of op Gemm gets the second only."""
    texts = (parse_constraint("a: diagonal forbidden"), parse_constraint("Gemm: spatial.D1.K >= 2"))
    rule = resolve_rule(gemm("b", 8, 8), MappingSpec(), texts)
    assert [c.text for c in rule.constraints] == ["Gemm: spatial.D1.K >= 2"]


@pytest.fixture(scope="module")
def network():
    a, b = gemm("a", 8, 8), gemm("b", 8, 8)
    c = replace(a, name="c")  # same signature as a
    return solve_network(Workload("w", (a, b, c)), ACCEL, MappingSpec(), "energy", SolverConfig(time_limit_s=5),
                         processes=1, dataflow=False)


def test_identical_layers_are_solved_once_and_reported_under_their_own_names(network):
    """a, b and c have one signature (b's K, C equal a's too): each is reported under its own name,
    all solved as one layer with the same energy, and the totals add the three."""
    names = [r.solution.layer.name for r in network.layers]
    assert names == ["a", "b", "c"]
    assert len({r.solved_as for r in network.layers}) == 1
    energies = [r.solution.report.energy_pj for r in network.layers]
    assert energies[0] == energies[1] == energies[2]
    assert network.energy_pj == pytest.approx(sum(energies), rel=1e-12)
    assert network.latency_cycles == pytest.approx(
        sum(r.solution.report.latency_cycles for r in network.layers), rel=1e-12
    )
    assert network.complete and not network.timed_out
    assert [r.solution.report.layer for r in network.layers] == names


def test_layers_that_differ_only_in_padding_are_solved_apart():
    """Two 3x3 convs with the same sizes, one padded: the padded one reads 16 input positions per
    channel, the other 36, so each is solved for itself and priced on its own input."""
    dims = {"K": 8, "C": 4, "OY": 4, "OX": 4, "FY": 3, "FX": 3}
    unpadded, padded = Layer("u", "Conv", dims), Layer("p", "Conv", dims, padding=(1, 1, 1, 1))
    result = solve_network(Workload("w", (unpadded, padded)), ACCEL, MappingSpec(), "energy",
                           SolverConfig(time_limit_s=5), processes=1, dataflow=False)
    assert [r.solved_as for r in result.layers] == ["u", "p"]
    for r, layer in zip(result.layers, (unpadded, padded), strict=True):
        assert r.solution.layer == layer
        assert r.solution.report == evaluate(layer, r.accelerator, r.solution.mapping)


def test_attention_context_reads_its_scores_on_chip_whatever_feeds_its_dynamic_w():
    """GPT-2's decode step: P.V takes I from the scores layer just before it (through Softmax) and W (V,
    the cache with the new token) from c_attn. Only I's producer decides the pair: the scores (G12 x K129
    at 8 bits = 12,384 bits) fit dimc's 262,144-bit SRAM, so they stay there for P.V."""
    workload = load_workload(resolve("workload", "gpt2_decode"))
    scores, context = workload.layers[1], workload.layers[2]
    assert context.weight_sources and set(context.sources) == {scores.name, *context.weight_sources}
    assert scores.operand_size(Operand.O) * scores.precision.o_bits == 12 * 129 * 8 == 12_384
    plan = plan_dataflow(workload, load_accelerator(resolve("accelerator", "dimc")), MappingSpec())
    assert plan[scores.name].output_kept_in == "sram_256KB"
    assert plan[context.name].input_read_from == "sram_256KB"
