"""Constraint families of the layer model: one ``add_<family>`` each, mirroring ``models.evaluator``."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from ortools.sat.python import cp_model

from imcmap.models.hardware import ImcArray, MemoryLevel
from imcmap.models.workload import OPERANDS, Operand, is_relevant

from .problem import MappingProblem, candidate_rows
from .terms import exact_value, halo_log_table
from .variables import PE, Exp, Exps, MappingVars, add_exps

Halo = tuple[cp_model.IntVar, cp_model.IntVar, int]  # (extent, its floored scaled log, the log's maximum)


def add_factorization(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """For every dim d and prime p: temporal exps over all segments + spatial exps = exponent of p in d.
    Mirrors the evaluator's ``factorization`` check."""
    for dim, primes in sorted(problem.dim_primes.items()):
        for p, e in sorted(primes.items()):
            temporal = sum(v.temporal(s, dim, p) for s in range(v.n_segments))
            spatial = sum(v.spatial(a, dim, p) for a in v.array_dims())
            model.add(temporal + spatial == e)


def add_spatial_choice(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """Exactly one enumerated unrolling per spatial group (array sizes, IMC row/column rules and the
    diagonal row count were checked when the candidates were enumerated: ``array_size``, ``imc_rows``)."""
    for choices in v.choice:
        model.add_exactly_one(choices)


def add_cut_order(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, canonical_cuts: bool = False
) -> None:
    """below[op, i, s] is monotone: a cut covers a prefix of segments (segment 0 always, the top
    segment never), and a higher level of the same operand covers at least as much. Mirrors ``cuts``.
    ``canonical_cuts``: add the cut rule of ``_break_segment_symmetry`` (when: ``solve.use_canonical_cuts``)."""
    S = v.n_segments
    for op in OPERANDS:
        for i in range(v.chains[op] - 1):
            model.add(v.below[(op, i, 0)] == 1)
            model.add(v.below[(op, i, S - 1)] == 0)
            for s in range(S - 1):
                model.add_implication(v.below[(op, i, s + 1)], v.below[(op, i, s)])
            if i + 1 < v.chains[op] - 1:
                for s in range(S):
                    model.add_implication(v.below[(op, i, s)], v.below[(op, i + 1, s)])
    _break_segment_symmetry(
        model, v, problem, cuts_past_pure=canonical_cuts and _one_operand_per_irrelevant_dim(problem)
    )


def _one_operand_per_irrelevant_dim(problem: MappingProblem) -> bool:
    """Each loop dim is irrelevant to at most one operand (true of conv and GEMM layers); the proof that
    the canonical cut rule loses no optimum rests on it."""
    return all(sum(not is_relevant(op, d) for op in OPERANDS) <= 1 for d in problem.dim_primes)


def _break_segment_symmetry(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, cuts_past_pure: bool
) -> None:
    """Canonical segments (no optimum is lost): between the bottom and the top segment, a segment is
    non-empty exactly when some cut sits on its top boundary (two segments with no cut between them
    merge at no cost, and cuts at one position share one boundary), used boundaries come first, and
    an empty segment's stationary operand is W.

    With ``cuts_past_pure``, also: a non-empty middle segment directly above a cut of X's holds an
    X-relevant loop, at[X, i, s] AND NOT empty[s+1] => NOT pure[X, s+1]. Otherwise X's cut moves up to
    the next boundary at no cost in the model: the segment's loops are all X-irrelevant, so X's tile
    there is the same and they were in X's stationary run already, so refills stay the same (for
    outputs, the level above may then hold finished outputs where it held partial sums: less space).
    If no other cut stays at the old boundary the two segments merge, keeping the lower one's
    stationary operand (the segment's own, when it is pure for an operand other than X): every
    operand's run over the merged segment is then at least what it was, given that each dim is
    irrelevant to one operand at most. Each such move raises a cut, so moves end, in a mapping that
    meets the rule. Without this rule the proofs spent most of their time refuting these twins
    (bench/README.md)."""
    S = v.n_segments
    cuts = [(op, i) for op in OPERANDS for i in range(v.chains[op] - 1)]
    used: list[cp_model.IntVar] = []
    at: dict[tuple[Operand, int, int], cp_model.IntVar] = {}
    for s in range(S - 1):
        for op, i in cuts:
            here = model.new_bool_var(f"at[{op.value}{i}/s{s}]")
            model.add_bool_and([v.below[(op, i, s)], v.below[(op, i, s + 1)].negated()]).only_enforce_if(here)
            model.add_bool_or([v.below[(op, i, s)].negated(), v.below[(op, i, s + 1)]]).only_enforce_if(here.negated())
            at[(op, i, s)] = here
        u = model.new_bool_var(f"used[s{s}]")
        model.add_max_equality(u, [at[(op, i, s)] for op, i in cuts])
        used.append(u)
    empty: list[cp_model.IntVar] = []
    for s in range(S):
        size = sum(v.temporal(s, d, p) for d in v.all_dims() for p in problem.dim_primes[d])
        empty.append(model.new_bool_var(f"empty[s{s}]"))
        model.add(size == 0).only_enforce_if(empty[s])
        model.add(size >= 1).only_enforce_if(empty[s].negated())
        model.add_implication(empty[s], v.stationary[(s, Operand.W)])
        if 1 <= s <= S - 2:
            model.add(used[s] == empty[s].negated())
    for s in range(1, S - 2):
        model.add_implication(used[s + 1], used[s])
    if cuts_past_pure:
        for op, i in cuts:
            for s in range(S - 2):
                model.add_bool_or([at[(op, i, s)].negated(), empty[s + 1], v.pure[(op, s + 1)].negated()])


def add_stationarity(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """Each segment puts one operand's irrelevant loops innermost: sum_X stat[s, X] = 1.
    pure[X, s] <=> no X-relevant factor in segment s. The run above a cut collects the X-irrelevant
    factors of the segments reached from the cut (passing a segment needs it pure; a reached segment
    counts when pure or stationary for X). Mirrors the evaluator's ``refills``."""
    S = v.n_segments
    for s in range(S):
        model.add_exactly_one([v.stationary[(s, op)] for op in OPERANDS])
    for op in OPERANDS:
        for s in range(S):
            relevant = sum(v.temporal(s, d, p) for d in v.relevant(op) for p in problem.dim_primes[d])
            pure = v.pure[(op, s)]
            model.add(relevant == 0).only_enforce_if(pure)
            model.add(relevant >= 1).only_enforce_if(pure.negated())
    for op in OPERANDS:
        for level in [PE, *range(v.chains[op] - 1)]:
            v.runs[(op, level)] = _run_exps(model, v, problem, op, level)


def _run_exps(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, level: int) -> Exps:
    name = f"{op.value}{level}"
    parts: list[Exps] = []
    reach_prev: cp_model.IntVar | None = None
    for s in range(v.n_segments):
        # first[s]: s is the lowest segment above the cut
        if level == PE:
            first: cp_model.IntVar | int = 1 if s == 0 else 0
        elif s == 0:
            first = 0  # segment 0 is below every level cut
        else:
            first = model.new_bool_var(f"first[{name}/s{s}]")
            above, below_prev = v.below[(op, level, s)].negated(), v.below[(op, level, s - 1)]
            model.add_bool_and([above, below_prev]).only_enforce_if(first)
            model.add_bool_or([above.negated(), below_prev.negated()]).only_enforce_if(first.negated())
        reach = model.new_bool_var(f"reach[{name}/s{s}]")
        carried = None
        if reach_prev is not None:
            carried = model.new_bool_var(f"carry[{name}/s{s}]")
            model.add_multiplication_equality(carried, [reach_prev, v.pure[(op, s - 1)]])
        options = [x for x in (first, carried) if not isinstance(x, int) and x is not None]
        if isinstance(first, int) and first == 1:
            model.add(reach == 1)
        elif options:
            model.add_max_equality(reach, options)
        else:
            model.add(reach == 0)
        stat_or_pure = model.new_bool_var(f"sop[{name}/s{s}]")
        model.add_max_equality(stat_or_pure, [v.stationary[(s, op)], v.pure[(op, s)]])
        contrib = model.new_bool_var(f"contrib[{name}/s{s}]")
        model.add_multiplication_equality(contrib, [reach, stat_or_pure])
        for d in v.irrelevant(op):
            for p, e in problem.dim_primes[d].items():
                y = model.new_int_var(0, e, f"run[{name}/s{s}/{d}^{p}]")
                model.add(y == v.temporal(s, d, p)).only_enforce_if(contrib)
                model.add(y == 0).only_enforce_if(contrib.negated())
                # implied (a run only takes factors above the cut); unlike the enforced rows, in the LP
                above_cut = v.temporal(s, d, p) if level == PE else v.temporal(s, d, p) - v.masked(op, level, s, d, p)
                model.add(y <= above_cut)
                parts.append({p: y})
        reach_prev = reach
    return add_exps(*parts)


def dims_bounds(problem: MappingProblem, dims: Iterable[str]) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in dims:
        for p, e in problem.dim_primes.get(d, {}).items():
            out[p] = out.get(p, 0) + e
    return out


HALO_PAIRS = (("OY", "FY", 0), ("OX", "FX", 1))


def input_halo(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, level: int, served: Iterable[str], name: str
) -> list[Halo]:
    """Exact counts and logs of the input rows/cols a tile touches (distinct stride*o + dilation*f)."""
    out: list[Halo] = []
    layer = problem.layer
    for o_dim, f_dim, _axis in HALO_PAIRS:
        if o_dim not in problem.dim_primes and f_dim not in problem.dim_primes:
            continue
        o_exps = v.tile_exps(Operand.I, level, served, [o_dim])
        f_exps = v.tile_exps(Operand.I, level, served, [f_dim])
        out.append(
            halo_log_table(
                model, o_exps, dims_bounds(problem, [o_dim]), f_exps, dims_bounds(problem, [f_dim]),
                partial(layer.input_extent, o_dim[1]), f"{name}.{o_dim}",
            )
        )
    return out


def nonhalo_relevant(v: MappingVars, op: Operand) -> list[str]:
    if op is Operand.I:
        return [d for d in v.relevant(op) if d not in ("OX", "OY", "FX", "FY")]
    return v.relevant(op)


def output_partial(model: cp_model.CpModel, v: MappingVars, level: int, name: str) -> cp_model.IntVar:
    """True while an output-irrelevant temporal factor sits above the outputs' ``level`` cut."""
    partial = model.new_bool_var(f"{name}.partial")
    above = sum(v.temporal_above(Operand.O, level, v.irrelevant(Operand.O)).values())
    model.add(above >= 1).only_enforce_if(partial)
    model.add(above == 0).only_enforce_if(partial.negated())
    return partial


def exact_tile(
    model: cp_model.CpModel, v: MappingVars, problem: MappingProblem, op: Operand, i: int, name: str,
    held_by: MemoryLevel | None = None,
) -> cp_model.IntVar:
    """An integer variable equal to op's tile at its i-th cut (``PE``: below every loop), in elements per
    instance (halo included), as ``held_by`` holds it (None: op's i-th level), as
    ``models.context.Context.tile`` sizes it."""
    served = problem.tile_served(op, held_by if held_by is not None else problem.level(op, i))
    dims = nonhalo_relevant(v, op)
    mono = exact_value(model, [(v.tile_exps(op, i, served, dims), dims_bounds(problem, dims))], lambda x: x, name)
    if op is not Operand.I:
        return mono
    halos = input_halo(model, v, problem, i, served, name)
    if not halos:
        return mono
    tile = model.new_int_var(0, problem.layer.operand_size(op), f"{name}.tile")
    model.add_multiplication_equality(tile, [mono] + [h[0] for h in halos])
    return tile


def add_capacity(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """For every memory level: sum over the operands it holds of tile(X, its cut, level) * bits <=
    capacity (halved when double-buffered); outputs take psum_bits while an output-irrelevant loop is
    above the cut of the level below. Mirrors the evaluator's ``capacity`` check and ``tile_bits``."""
    layer = problem.layer
    prec = layer.precision
    for li, level in enumerate(problem.accel.memories):
        capacity = level.capacity_bits // (2 if level.double_buffered else 1)
        holders = [(op, problem.chain_levels(op).index(li)) for op in OPERANDS if li in problem.chain_levels(op)]
        worst = sum(layer.operand_size(op) * max(prec.bits(op, True), prec.bits(op, False)) for op, _ in holders)
        if worst <= capacity:
            continue
        bits_terms: list[Exp] = []
        for op, i in holders:
            name = f"cap[{level.name}/{op.value}]"
            tile = exact_tile(model, v, problem, op, i, name)
            if op is Operand.O:
                # partial sums live here while an output-irrelevant loop runs above the level below
                partial = output_partial(model, v, i - 1 if i > 0 else PE, name)
                bits = model.new_int_var(0, layer.operand_size(op) * max(prec.psum_bits, prec.o_bits), f"{name}.bits")
                model.add(bits == tile * prec.psum_bits).only_enforce_if(partial)
                model.add(bits == tile * prec.o_bits).only_enforce_if(partial.negated())
                bits_terms.append(bits)
            else:
                bits_terms.append(tile * prec.bits(op))
        model.add(sum(bits_terms) <= capacity)


MIRROR = {"OX": "OY", "OY": "OX", "FX": "FY", "FY": "FX"}  # the X/Y mirror of a conv's loop dims
AXIS_PAIRS = (("OX", "OY"), ("FX", "FY"))


def mirrored(unroll: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """An unrolling with OX and OY (FX and FY) swapped on every array dim."""
    return {a: {MIRROR.get(d, d): f for d, f in dims.items()} for a, dims in unroll.items()}


def _unroll_key(unroll: dict[str, dict[str, int]]) -> tuple:
    return tuple(sorted((a, tuple(sorted((d, f) for d, f in dims.items() if f > 1))) for a, dims in unroll.items()))


def axis_symmetric(problem: MappingProblem) -> bool:
    """The layer and its candidate unrollings are alike in X and Y, so mirroring a mapping (OX <-> OY,
    FX <-> FY in every loop and unrolling) keeps its cost: OX = OY and FX = FY in size (at least one of
    them > 1), the same stride and dilation on both axes and as much padding, and every spatial group's
    candidates closed under the mirror with equal IMC row counts (``candidate_rows``: the diagonal rows
    rule). The hardware sees loop dims nowhere else: memories serve array dims."""
    layer = problem.layer
    if not any(layer.size(d) > 1 for d in MIRROR):
        return False
    if any(layer.size(x) != layer.size(y) for x, y in AXIS_PAIRS):
        return False
    top, left, bottom, right = layer.padding
    if layer.stride[0] != layer.stride[1] or layer.dilation[0] != layer.dilation[1] or top + bottom != left + right:
        return False
    imc = isinstance(problem.accel.array, ImcArray)
    for group in problem.groups:
        keys = {_unroll_key(c) for c in group.candidates}
        for c in group.candidates:
            twin = mirrored(c)
            if _unroll_key(twin) not in keys:
                return False
            if imc and candidate_rows(layer, problem.accel, twin) != candidate_rows(layer, problem.accel, c):
                return False
    return True


def add_axis_symmetry(model: cp_model.CpModel, v: MappingVars, problem: MappingProblem) -> None:
    """On an X/Y-symmetric problem (``axis_symmetric``): the vector of OX's and FX's exponents is
    lexicographically at least OY's and FY's, read per prime over the array dims, then over the
    segments from the innermost: (sx[a, OX^p], ..., tf[s, OX^p], ...) >=lex (the same for OY).

    No optimum is lost, and CP-SAT's bound stays a lower bound on every mapping. The mirror of an
    assignment swaps tf[s, OX, p] with tf[s, OY, p] and tf[s, FX, p] with tf[s, FY, p], and each
    group's candidate with its mirror (in the set, by ``axis_symmetric``); cuts, stationary operands
    and every derived variable follow. It is feasible (factorization: equal sizes; the relevance
    classes of OX and OY, and of FX and FY, are the same, so stationarity, runs and tiles are
    swapped sums; capacity and halos: the X and Y halo tables are one function, stride, dilation and
    padding being equal) and its model objective is the same (every term is a sum or a table over
    these exponents in which the two axes enter alike; IMC row counts are equal), and the canonical
    cut rule, which reads only emptiness and purity, holds for both or neither. The mirror decodes to
    the mirrored mapping up to the order of OY, OX (FY, FX) within a segment: adjacent loops with one
    relevance to every operand and no cut between them, which the evaluator prices alike; and the
    evaluator prices a mirrored mapping the same, for the reasons above. Of an
    assignment and its mirror, the lexicographically larger meets the rule (both, if equal), so the
    model's optimum and every objective value stay reachable: its minimum, hence the proven bound, is
    unchanged. The vector's ends need no entry: the exponents of one prime sum to a constant."""
    entries: list[tuple[Exp, Exp]] = []
    positions: list[tuple[str, int | str]] = [("spatial", a) for a in v.array_dims()]
    positions += [("temporal", s) for s in range(v.n_segments)]
    x: Exp
    y: Exp
    for kind, where in positions:
        for x_dim, y_dim in AXIS_PAIRS:
            for p in sorted(problem.dim_primes.get(x_dim, {})):
                if kind == "spatial":
                    x, y = v.spatial(str(where), x_dim, p), v.spatial(str(where), y_dim, p)
                else:
                    x, y = v.temporal(int(where), x_dim, p), v.temporal(int(where), y_dim, p)
                if not (isinstance(x, int) and isinstance(y, int)):
                    entries.append((x, y))
    prefix_equal: cp_model.IntVar | None = None  # all entries so far equal (None: before the first)
    for i, (x, y) in enumerate(entries):
        row = model.add(x >= y)
        if prefix_equal is not None:
            row.only_enforce_if(prefix_equal)
        if i == len(entries) - 1:
            break
        greater = model.new_bool_var(f"axis_gt[{i}]")
        model.add(x >= y + 1).only_enforce_if(greater)
        model.add(x <= y).only_enforce_if(greater.negated())
        equal = model.new_bool_var(f"axis_eq[{i}]")
        # equal <=> the prefix so far is equal and this entry too (given the prefix, x >= y holds)
        model.add_implication(equal, greater.negated())
        if prefix_equal is None:
            model.add_bool_or([greater, equal])
        else:
            model.add_implication(equal, prefix_equal)
            model.add_bool_or([prefix_equal.negated(), greater, equal])
        prefix_equal = equal
