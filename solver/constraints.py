"""Constraint families of the layer model: one ``add_<family>`` each, mirroring ``models.evaluator``."""

from __future__ import annotations

from ortools.sat.python import cp_model

from imcmap.models.workload import OPERANDS, Operand

from .problem import MappingProblem
from .terms import exact_value, halo_log_table
from .variables import Exps, MappingVars, add_exps


def add_factorization(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """For every dim d and prime p: sum over tiers of temporal exps + spatial exps = exponent of p in d.
    Mirrors the evaluator's ``factorization`` check."""
    for dim, primes in sorted(problem.dim_primes.items()):
        for p, e in sorted(primes.items()):
            temporal = sum(v.temporal(t, dim, p) for t in range(v.n_tiers))
            spatial = sum(v.spatial(a, dim, p) for a in v.array_dims())
            model.Add(temporal + spatial == e)


def add_spatial_choice(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """Exactly one enumerated unrolling per spatial group (array sizes, IMC row/column rules and the
    diagonal row count were checked when the candidates were enumerated: ``array_size``, ``imc_rows``)."""
    for choices in v.choice:
        model.AddExactlyOne(choices)


def add_stationarity(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """Each tier puts one operand's irrelevant loops innermost: sum_X stat[t, X] = 1.
    pure[X, t] <=> no X-relevant factor in tier t. run(X, c) = the X-irrelevant factors of the tiers
    reached from the cut upward (a tier is passed when pure, and counts when pure or stationary for X)."""
    for t in range(v.n_tiers):
        model.AddExactlyOne([v.stationary[(t, op)] for op in OPERANDS])
    for op in OPERANDS:
        for t in range(v.n_tiers):
            relevant = sum(v.temporal(t, d, p) for d in v.relevant(op) for p in problem.dim_primes[d])
            pure = v.pure[(op, t)]
            model.Add(relevant == 0).OnlyEnforceIf(pure)
            model.Add(relevant >= 1).OnlyEnforceIf(pure.Not())
    v.runs = {}
    for op in OPERANDS:
        for cut in range(-1, v.n_tiers - 1):
            v.runs[(op, cut)] = _run_exps(model, v, problem, op, cut)


def _run_exps(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, cut: int) -> Exps:
    name = f"{op.value}@{cut}"
    reach: cp_model.IntVar | int = 1
    parts: list[Exps] = []
    for u in v.above(cut):
        stat_or_pure = model.NewBoolVar(f"sop[{name}/{u}]")
        model.AddBoolOr([v.stationary[(u, op)], v.pure[(op, u)]]).OnlyEnforceIf(stat_or_pure)
        model.AddImplication(v.stationary[(u, op)], stat_or_pure)
        model.AddImplication(v.pure[(op, u)], stat_or_pure)
        contrib = model.NewBoolVar(f"contrib[{name}/{u}]")
        if isinstance(reach, int):
            model.Add(contrib == stat_or_pure)
        else:
            model.AddMultiplicationEquality(contrib, [reach, stat_or_pure])
        for d in v.irrelevant(op):
            for p, e in problem.dim_primes[d].items():
                y = model.NewIntVar(0, e, f"run[{name}/{u}/{d}^{p}]")
                model.Add(y == v.temporal(u, d, p)).OnlyEnforceIf(contrib)
                model.Add(y == 0).OnlyEnforceIf(contrib.Not())
                parts.append({p: y})
        nxt = model.NewBoolVar(f"reach[{name}/{u + 1}]")
        if isinstance(reach, int):
            model.Add(nxt == v.pure[(op, u)])
        else:
            model.AddMultiplicationEquality(nxt, [reach, v.pure[(op, u)]])
        reach = nxt
    return add_exps(*parts)


def dims_bounds(problem: MappingProblem, dims) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in dims:
        for p, e in problem.dim_primes.get(d, {}).items():
            out[p] = out.get(p, 0) + e
    return out


def tile_exps(v: MappingVars, op: Operand, cut: int, served: tuple[str, ...], dims: list[str]) -> Exps:
    return add_exps(v.temporal_exps(v.upto(cut), dims), v.spatial_exps(served, dims))


HALO_PAIRS = (("OY", "FY", 0), ("OX", "FX", 1))


def input_halo(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, cut: int, served: tuple[str, ...], name: str):
    """Exact extents and logs of the input rows/cols touched by a tile: stride*(o-1) + dilation*(f-1) + 1."""
    out = []
    layer = problem.layer
    for o_dim, f_dim, axis in HALO_PAIRS:
        if o_dim not in problem.dim_primes and f_dim not in problem.dim_primes:
            continue
        o_exps = tile_exps(v, Operand.I, cut, served, [o_dim])
        f_exps = tile_exps(v, Operand.I, cut, served, [f_dim])
        out.append(
            halo_log_table(
                model,
                o_exps,
                dims_bounds(problem, [o_dim]),
                f_exps,
                dims_bounds(problem, [f_dim]),
                layer.stride[axis],
                layer.dilation[axis],
                f"{name}.{o_dim}",
            )
        )
    return out


def nonhalo_relevant(v: MappingVars, op: Operand) -> list[str]:
    if op is Operand.I:
        return [d for d in v.relevant(op) if d not in ("OX", "OY", "FX", "FY")]
    return v.relevant(op)


def level_cut(problem: MappingProblem, op: Operand, level_index: int) -> int:
    """Top tier of the operand's ``level_index``-th level; its top level holds every loop."""
    tiers = problem.chain_tiers(op)
    return len(problem.tiers) - 1 if level_index == len(tiers) - 1 else tiers[level_index]


def add_capacity(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """For every level: sum over the operands it holds of tile(X, cut, level) * bits <= capacity
    (halved when double-buffered); outputs take psum_bits while an output-irrelevant loop is above.
    Mirrors the evaluator's ``capacity`` check."""
    layer = problem.layer
    prec = layer.precision
    for li, level in enumerate(problem.accel.memories):
        capacity = level.capacity_bits // (2 if level.double_buffered else 1)
        holders = []
        for op in OPERANDS:
            tiers = problem.chain_tiers(op)
            if li in tiers:
                holders.append((op, level_cut(problem, op, tiers.index(li))))
        worst = sum(layer.operand_size(op) * max(prec.bits(op, True), prec.bits(op, False)) for op, _ in holders)
        if worst <= capacity:
            continue
        bits_terms = []
        for op, cut in holders:
            name = f"cap[{level.name}/{op.value}]"
            dims = nonhalo_relevant(v, op)
            mono = exact_value(model, [(tile_exps(v, op, cut, level.served_dims, dims), dims_bounds(problem, dims))], lambda x: x, name)
            if op is Operand.I:
                halos = input_halo(model, v, problem, cut, level.served_dims, name)
                if halos:
                    tile = model.NewIntVar(0, layer.operand_size(op), f"{name}.tile")
                    model.AddMultiplicationEquality(tile, [mono] + [h[0] for h in halos])
                else:
                    tile = mono
            else:
                tile = mono
            if op is Operand.O:
                partial = _output_partial(model, v, problem, cut, name)
                bits = model.NewIntVar(0, layer.operand_size(op) * max(prec.psum_bits, prec.o_bits), f"{name}.bits")
                model.Add(bits == tile * prec.psum_bits).OnlyEnforceIf(partial)
                model.Add(bits == tile * prec.o_bits).OnlyEnforceIf(partial.Not())
                bits_terms.append(bits)
            else:
                bits_terms.append(tile * prec.bits(op))
        model.Add(sum(bits_terms) <= capacity)


def _output_partial(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, cut: int, name: str) -> cp_model.IntVar:
    """True while an output-irrelevant temporal factor sits above the cut."""
    partial = model.NewBoolVar(f"{name}.partial")
    above = sum(
        v.temporal(t, d, p) for t in v.above(cut) for d in v.irrelevant(Operand.O) for p in problem.dim_primes[d]
    )
    model.Add(above >= 1).OnlyEnforceIf(partial)
    model.Add(above == 0).OnlyEnforceIf(partial.Not())
    return partial

