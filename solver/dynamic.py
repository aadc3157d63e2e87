"""What a solved layer with a dynamic operand (attention's W, computed during inference) tells the reports:
which operand of the layer as imported the IMC cells hold, and what writing them costs per inference."""

from __future__ import annotations

from dataclasses import dataclass

from imcmap.models.evaluator import CellWrites, cell_writes
from imcmap.models.hardware import Accelerator
from imcmap.models.mapping import Mapping
from imcmap.models.report import CostReport
from imcmap.models.workload import Layer, Operand

from .network import LayerResult


@dataclass(frozen=True, slots=True)
class DynamicOperands:
    """``cells_hold``: the imported layer's operand the cells hold ("W", or "I" when the operands were
    exchanged); ``cell_writes``: None on a digital array or without a mapping."""

    operands_exchanged: bool
    cells_hold: str
    cell_writes: CellWrites | None

    def describe(self, explain: bool = False) -> str:
        """One line for reports; ``explain``: also say how to read the dims shown when exchanged."""
        parts = ["dynamic W", f"cells hold {self.cells_hold}" if self.cell_writes is not None else ""]
        if explain and self.operands_exchanged:
            parts[-1] += " (operands exchanged: B and K, W and I as shown are the layer's I and W)"
        writes = self.cell_writes
        if writes is not None:
            stall = f", {writes.stall_cycles:,.0f} cycles" if writes.stall_cycles is not None else ""
            parts.append(f"cell writes {writes.energy_pj:,.3f} pJ{stall}")
        return "; ".join(p for p in parts if p)


def dynamic_of(layer: Layer, exchanged: bool, accel: Accelerator, mapping: Mapping | None,
               report: CostReport | None) -> DynamicOperands | None:
    """None for a layer whose W is a stored weight; ``layer`` as mapped (exchanged when ``exchanged``)."""
    if Operand.W not in layer.dynamic_operands:
        return None
    writes = cell_writes(layer, accel, mapping, report) if mapping is not None and report is not None else None
    return DynamicOperands(exchanged, "I" if exchanged else "W", writes)


def dynamic_operands(result: LayerResult) -> DynamicOperands | None:
    """None for a layer whose W is a stored weight."""
    sol = result.solution
    return dynamic_of(sol.layer, sol.operands_exchanged, result.accelerator, sol.mapping, sol.report)
