"""How a layer is solved, chosen once per (cost rules, objective, array kind): ``policy_for``.

The CP-SAT model encodes imcmap's own rules. Where the evaluator prices by those (``CostRules.IMCMAP``)
the model's bound is the answer's certificate: fine tangents, a proof to the end, nothing after CP-SAT.
Where it prices by ZigZag 3.9.1's rules (hardware read from a ZigZag file) the model is a relaxation of
them (energy: their partial sums and array-side words encoded, its bound holds) or a surrogate (latency,
EDP: no bound, coarse tangents, an early stop): floors that steer the model toward ZigZag's whole words
and cycles, and a polish by the evaluator.
``solve`` and ``objective`` read the policy's fields; this module is the one place in ``solver/`` that
looks at ``CostRules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imcmap.models.hardware import Accelerator, CostRules, ImcArray
from imcmap.models.objective import Objective

from .polish import POLISH_STARTS, POLISH_WINDOW
from .terms import SURROGATE_TANGENT_STEP, TANGENT_STEP, ZIGZAG_ENERGY_TANGENT_STEP

OBJECTIVES = tuple(objective.value for objective in Objective)  # "energy", "latency", "edp"
ARRAY_KINDS = ("imc", "digital")

SURROGATE_GAP = 0.01  # CP-SAT's stop where its model is not the evaluator's rules: 1% of its own bound
# energy on ZigZag's rules, whose partial sums and array-side words the model encodes: a stop at 0.1%, since
# the certified gap is now the model's own (bench/README.md, "Certified energy gap")
ZIGZAG_ENERGY_GAP = 0.001
# energy on ZigZag's rules, per array kind: the largest word-rounding table (rows); beyond it a transfer
# costs at least one word. Digital arrays' deeper hierarchies made tables of 1,000-3,000 rows cost 3-8x
# the proof time on MobileNetV2's depthwise layers for no gap (bench/README.md).
ZIGZAG_WORD_TABLE_ROWS = {"imc": 20_000, "digital": 1_000}
# energy on ZigZag's rules, per array kind: a second search with finer tangents where the certified gap is
# above this. On digital arrays (ln 2 tangents) depthwise convs ended at 2.4-4.7%, all proven optima of the
# model, so the tangents were the gap, and their second searches cost hundredths of a det-second. On IMC
# arrays (ln 1.5) no layer of the set ended above 1.9%, and a second proof of a large layer cost 18-30%
# of a network's time for gaps of 1.0-1.5%; there it is a safety net (bench/README.md, "Refined tangents")
ZIGZAG_REFINE_ABOVE_GAP = {"imc": 0.02, "digital": 0.01}
ZIGZAG_REFINE_TANGENT_STEP = TANGENT_STEP
# energy on ZigZag's rules: the word-rounding tables are many small allowed-assignment tables, on which
# presolve's probing and at-most-one merging spent most of a layer's time (bench/README.md)
ZIGZAG_ENERGY_PARAMETERS: tuple[tuple[str, object], ...] = (
    ("cp_model_probing_level", 0), ("max_presolve_iterations", 1), ("merge_at_most_one_work_limit", 1e6))


@dataclass(frozen=True, slots=True)
class SurrogateStop:
    """Where CP-SAT stops on latency priced by ZigZag's rules: the model is a surrogate there and its
    bound is never reported, so the search only has to hand the polish good starts."""

    max_deterministic_time: float
    relative_gap: float
    parameters: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "max_deterministic_time": self.max_deterministic_time,
            "relative_gap": self.relative_gap,
            **self.parameters,
        }


# Per array kind: IMC solves hit the budget, where probing costs a fifth of it; digital ones end by the
# gap, and probing steers them (bench/README.md).
SURROGATE_LATENCY: dict[str, SurrogateStop] = {
    "imc": SurrogateStop(0.8, 0.01, {"cp_model_probing_level": 0}),
    "digital": SurrogateStop(1.0, 0.03),
}

MODEL_BOUND_SOURCE = (
    "CP-SAT's proven bound on a relaxation whose every term is at most the evaluator's "
    "(log-domain tangents, exact tables for halos and spatial terms)"
)
# For energy the model takes ZigZag's partial sums as they are and a floor of one word per transfer for
# their whole words, so the bound holds; ZigZag's stall windows are not a roofline, so for latency there is
# no bound to certify.
ZIGZAG_ENERGY_BOUND_SOURCE = (
    MODEL_BOUND_SOURCE.replace("the evaluator's", "ZigZag 3.9.1's rules'")
    + "; their partial sums as they price them (each write read back while outputs are partial, the array's "
    "written every iteration), their whole bandwidth_min words as at least one word per transfer"
)
# latency, where the user asks: a model of its own (``objective.zigzag_latency_bound``), whose bound holds
ZIGZAG_LATENCY_BOUND_SOURCE = (
    "CP-SAT's proven bound on a second model, below ZigZag 3.9.1's latency of every mapping: the larger of "
    "the compute cycles and each physical port's transfer cycles less one transfer per link (their stalls "
    "and loading beyond that are not bounded)"
)
ZIGZAG_EDP_BOUND_SOURCE = (
    "the product of two proven bounds, each below ZigZag 3.9.1's figure of every mapping: energy by the "
    "energy model (" + ZIGZAG_ENERGY_BOUND_SOURCE + ") and latency by a second model (the larger of the "
    "compute cycles and each physical port's transfer cycles less one transfer per link)"
)
ZIGZAG_NO_BOUND_SOURCE = (
    "none: the hardware comes from a ZigZag file and is priced by ZigZag 3.9.1's rules, whose stall "
    "model the solver does not bound; the search optimises imcmap's own rules"
)


@dataclass(frozen=True, slots=True)
class PolishStarts:
    """Which of the model's solutions the polish walks from: the ``count`` cheapest by the evaluator,
    less those priced more than ``window`` (a fraction) above the cheapest; ``window`` None keeps all."""

    count: int
    window: float | None


@dataclass(frozen=True, slots=True)
class SolvePolicy:
    """What the solver does for one (cost rules, objective, array kind)."""

    rules: CostRules
    objective: Objective
    array_kind: str  # "imc" | "digital"
    tangent_step: float  # log-domain spacing of the cost terms' tangents (``terms.lower_bound``)
    relative_gap_limit: float | None  # CP-SAT stops within this gap of its own bound; None: CP-SAT's default
    surrogate_stop: SurrogateStop | None  # a shorter budget (and parameters) where no bound is reported
    canonical_cuts: bool  # the canonical cut rule may apply (``solve.use_canonical_cuts`` adds the user's part)
    transfer_floors: bool  # a transfer costs at least one ``bandwidth_min`` word (energy) and one cycle (latency)
    physical_ports: bool  # latency: cycles add up per allocated port, not per read / write direction
    weight_refill_stalls: bool  # latency: every refill of the IMC cells stalls the macro on top of compute
    polish: PolishStarts | None  # None: the model's cheapest solution is the answer
    proves_optimality: bool  # CP-SAT's OPTIMAL is reported as OPTIMAL (else FEASIBLE)
    reports_bound: bool  # the model's bound is a lower bound on the evaluator's cost, so it is reported
    bound_source: str  # what the reported gaps rest on (``solver.bound_source`` in the JSON)
    axis_symmetry: bool = False  # the X/Y mirror cut may apply (``solve.use_axis_symmetry`` adds the layer's part)
    # energy on ZigZag's rules: the model prices partial sums as they do (``objective.build_flows``): every
    # write read back while an output-irrelevant loop remains, the array's outputs written every iteration
    partial_sums_per_write: bool = False
    seed_incumbent: bool = False  # an incumbent on one unrolling first, as hint and cutoff (``solve.use_seed``)
    # with ``partial_sums_per_write``: the largest table of a tile's whole words (``objective._tile_words``)
    word_table_rows: int = 0
    # CP-SAT parameters on top of ``solve.SEARCH_PARAMETERS`` (``solve.configure_search``)
    search_parameters: tuple[tuple[str, object], ...] = ()
    # a second search with tangents at ``refine_tangent_step`` where the first one's certified gap is
    # above this (``solve.refine_search``); None: one search
    refine_above_gap: float | None = None
    refine_tangent_step: float = TANGENT_STEP
    # latency and EDP on ZigZag's rules: where the user asks (``SolverConfig.latency_bound``), a second model
    # after the surrogate (``objective.zigzag_latency_bound``; for EDP the energy model too), searched for its
    # proven bound alone (``solve.bound_search``): the certified one, whose source is then
    # ZIGZAG_LATENCY_BOUND_SOURCE (EDP: ZIGZAG_EDP_BOUND_SOURCE)
    latency_bound: bool = False
    # energy: tangents at logs the terms can take (``terms.snapped_points``), not evenly spaced
    snap_tangents: bool = False


def array_kind(accel: Accelerator) -> str:
    return "imc" if isinstance(accel.array, ImcArray) else "digital"


def policy_for(rules: CostRules, objective: Objective | str, kind: str) -> SolvePolicy:
    """The policy for hardware priced by ``rules``, solved for ``objective`` on an array of ``kind``."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}")
    objective = Objective(objective)
    if kind not in ARRAY_KINDS:
        raise ValueError(f"unknown array kind {kind!r}; expected one of {', '.join(ARRAY_KINDS)}")
    imc = kind == "imc"
    if rules is CostRules.IMCMAP:
        # the canonical cut rule only on IMC arrays: on digital ones it made the proofs slower (bench/README.md);
        # the X/Y mirror cut and the seeded incumbent as measured: energy on IMC arrays, whose proofs are the
        # choice among unrollings; on latency a tie of the model came out 4e-6 dearer by the evaluator
        # (bench/README.md); tangents at reachable logs there too: the gaps halve at 0.98-1.11x the
        # deterministic time (on digital arrays 1.22x for no gap)
        measured = imc and objective is Objective.ENERGY
        return SolvePolicy(
            rules, objective, kind, tangent_step=TANGENT_STEP, relative_gap_limit=None, surrogate_stop=None,
            canonical_cuts=imc, transfer_floors=False, physical_ports=False, weight_refill_stalls=False, polish=None,
            proves_optimality=True, reports_bound=True, bound_source=MODEL_BOUND_SOURCE, axis_symmetry=measured,
            seed_incumbent=measured, snap_tangents=measured,
        )
    if rules is CostRules.ZIGZAG:
        energy = objective is Objective.ENERGY
        # energy: the model is a close relaxation of these rules (their partial sums and array-side words
        # encoded), so finer tangents and a stop at 0.1%; latency and EDP: a surrogate, whose last solution
        # comes early while the proof takes the rest, so coarse tangents, a 1% stop, shorter still on latency
        stop = SURROGATE_LATENCY[kind] if objective is Objective.LATENCY else None
        gap = stop.relative_gap if stop is not None else ZIGZAG_ENERGY_GAP if energy else SURROGATE_GAP
        return SolvePolicy(
            # digital arrays: ln 2 on energy too, their gaps stay small and the proofs got shorter
            rules, objective, kind,
            tangent_step=ZIGZAG_ENERGY_TANGENT_STEP if energy and imc else SURROGATE_TANGENT_STEP,
            relative_gap_limit=gap, surrogate_stop=stop,
            # not for latency or EDP: there the rule's twins are priced apart and were the polish's starts
            canonical_cuts=imc and energy,
            transfer_floors=True, physical_ports=True, weight_refill_stalls=True,
            # a near-tie in the model can be far apart by the evaluator, and walks end in different optima
            polish=PolishStarts(POLISH_STARTS, POLISH_WINDOW[objective]),
            proves_optimality=False, reports_bound=energy,
            bound_source=ZIGZAG_ENERGY_BOUND_SOURCE if energy else ZIGZAG_NO_BOUND_SOURCE,
            partial_sums_per_write=energy,
            search_parameters=ZIGZAG_ENERGY_PARAMETERS if energy else (),
            word_table_rows=ZIGZAG_WORD_TABLE_ROWS[kind] if energy else 0,
            # the seed as on imcmap's own rules: the proofs of IMC energy are the choice among unrollings;
            # the mirror cut on digital arrays too (ResNet-18 on tpu_like: 0.98 -> 0.84 det-s)
            axis_symmetry=energy, seed_incumbent=imc and energy,
            refine_above_gap=ZIGZAG_REFINE_ABOVE_GAP[kind] if energy else None,
            refine_tangent_step=ZIGZAG_REFINE_TANGENT_STEP,
            latency_bound=not energy,
        )
    raise ValueError(f"no solve policy for cost rules {rules!r}")


def policy_of(accel: Accelerator, objective: str) -> SolvePolicy:
    """``policy_for`` the rules and array of ``accel``."""
    return policy_for(accel.rules, objective, array_kind(accel))
