"""What a solved layer with a dynamic operand (attention's W, computed during inference) tells the reports:
which operand of the layer as imported the IMC cells hold, and what writing them costs per inference."""

from __future__ import annotations

from dataclasses import dataclass

from imcmap.models.evaluator import CellWrites, cell_writes
from imcmap.models.workload import Operand

from .network import LayerResult


@dataclass(frozen=True, slots=True)
class DynamicOperands:
    """``cells_hold``: the imported layer's operand the cells hold ("W", or "I" when the operands were
    exchanged); ``cell_writes``: None on a digital array or without a mapping."""

    operands_exchanged: bool
    cells_hold: str
    cell_writes: CellWrites | None
    weight_read_from: str | None

    def describe(self) -> str:
        parts = ["dynamic W", f"cells hold {self.cells_hold}" if self.cell_writes is not None else ""]
        writes = self.cell_writes
        if writes is not None:
            stall = f", {writes.stall_cycles:,.0f} cycles" if writes.stall_cycles is not None else ""
            parts.append(f"cell writes {writes.energy_pj:,.3f} pJ{stall}")
        return "; ".join(p for p in parts if p)


def dynamic_operands(result: LayerResult) -> DynamicOperands | None:
    """None for a layer whose W is a stored weight."""
    sol = result.solution
    if Operand.W not in sol.layer.dynamic_operands:
        return None
    writes = None
    if sol.mapping is not None and sol.report is not None:
        writes = cell_writes(sol.layer, result.accelerator, sol.mapping, sol.report)
    return DynamicOperands(sol.operands_exchanged, "I" if sol.operands_exchanged else "W", writes,
                           result.dataflow.weight_read_from)
