"""What became of one layer's solve, as a type: ``SolveStatus``."""

from __future__ import annotations

from enum import Enum


class SolveStatus(str, Enum):
    """A layer's solve status. A ``str`` whose value is its name, so JSON documents, text reports and
    comparisons with the bare strings read exactly as before (``str()`` and f-strings give the value on
    every Python version).

    * ``OPTIMAL``: CP-SAT proved the mapping optimal over the solver's mapping space; the mapping is
      re-priced by the evaluator and its gap certified against CP-SAT's bound (the bound rests on the
      model's relaxation, so the gap may be a little above 0).
    * ``FEASIBLE``: a legal mapping, re-priced exactly, but no proof of optimality: the per-layer time
      limit, Ctrl-C or the total time limit stopped the search first (``LayerSolution.stopped`` says
      which of the last two), or the policy proves nothing (ZigZag's rules). Its gap, where the policy
      reports a bound, is certified by the bound CP-SAT had proven when it stopped.
    * ``INFEASIBLE``: no legal mapping meets the layer's constraints; ``conflict`` holds a smallest set
      of user constraints that clash (empty when the layer cannot be mapped at all).
    * ``UNKNOWN``: the search stopped (time limit, Ctrl-C, total time limit) before any mapping was found.
    * ``MODEL_INVALID``: CP-SAT rejected the model (a bug in the encoding; never expected).
    * ``MODEL_ERROR``: CP-SAT found mappings, but every one failed the evaluator's legality check or a
      user constraint (a bug in the encoding; never expected).
    * ``NOT_SOLVED``: the layer's solve never started: Ctrl-C or the total time limit came first.
    * ``FAILED``: the worker process solving the layer died (a native crash, the OOM killer, a signal)
      on its first try and on its retry; the message gives the cause (signal or exit code).
    """

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"
    MODEL_INVALID = "MODEL_INVALID"
    MODEL_ERROR = "MODEL_ERROR"
    NOT_SOLVED = "NOT_SOLVED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)
