"""Layers: loop dimensions, operand relevance, precisions.

A layer is the loop nest ``O[b,g,k,oy,ox] += W[g,k,c,fy,fx] * I[b,g,c,iy,ix]`` with
``ix = stride_x*ox + dilation_x*fx - pad_left`` (same for y). Gemm/MatMul use B, G, K, C only:
``O[b,g,k] += W[g,k,c] * I[b,g,c]``, B the rows sharing one right operand, G the slices that each
have their own (attention's heads).

I and O are the network's activations; W is what the loop nest stores, a weight for Conv and most
Gemm/MatMul layers, but in attention's ``Q x K^T`` and ``P x V`` it is produced during inference
too. ``Layer.dynamic_operands`` says so (``{W}``), and ``Layer.weight_sources`` names the layers
that produce it, so a cost model can price what storing it costs per inference.

Such a layer is ``exchangeable``: I is an activation anyway, so both operands are computed during
inference and either may be the one an IMC macro holds in its cells. ``operands_exchanged(layer)``
is the same product with I and W swapped (``O^T[k,g,b] += I[b,g,c] * W[g,k,c]``: B and K trade
places, and so do the operand precisions); its cost is the original's with the other operand in
the cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from functools import lru_cache

LOOP_DIMS: tuple[str, ...] = ("B", "G", "K", "C", "OY", "OX", "FY", "FX")
_ALL_DIMS = frozenset(LOOP_DIMS)


class Operand(str, Enum):
    """A layer operand (not a memory operand: those are I1, I2, O in the hardware)."""

    W = "W"
    I = "I"
    O = "O"


OPERANDS: tuple[Operand, ...] = (Operand.W, Operand.I, Operand.O)

RELEVANT_DIMS: dict[Operand, frozenset[str]] = {
    Operand.W: frozenset({"G", "K", "C", "FY", "FX"}),
    Operand.I: frozenset({"B", "G", "C", "OY", "OX", "FY", "FX"}),
    Operand.O: frozenset({"B", "G", "K", "OY", "OX"}),
}


def is_relevant(operand: Operand, dim: str) -> bool:
    return dim in RELEVANT_DIMS[operand]


@dataclass(frozen=True, slots=True)
class Precision:
    """Operand precisions in bits; ``psum_bits`` is the width of an unfinished output."""

    w_bits: int = 8
    i_bits: int = 8
    o_bits: int = 8
    psum_bits: int = 16

    def bits(self, operand: Operand, final: bool = True) -> int:
        if operand is Operand.W:
            return self.w_bits
        if operand is Operand.I:
            return self.i_bits
        return self.o_bits if final else self.psum_bits


@lru_cache(maxsize=65536)
def input_positions(outputs: int, taps: int, stride: int, dilation: int) -> int:
    """Distinct input positions ``stride*o + dilation*f`` for o < outputs, f < taps."""
    if stride == 1 and dilation == 1:
        return outputs + taps - 1
    return len({stride * o + dilation * f for o in range(outputs) for f in range(taps)})


def end_padding_reached(span: int, begin: int, end: int, size: int) -> int:
    """Of ``end`` zeros after ``size`` data rows (``begin`` zeros before them), those inside the ``span``
    positions the windows cover: with a stride, rows past the last window are never read (H 14, pads
    1/1, 3 taps, stride 2: 7 outputs span 15 positions, 1 + 14 data, no end padding)."""
    return min(end, max(0, span - begin - size))


@dataclass(frozen=True, slots=True)
class Layer:
    """One compute layer. ``dims`` holds every loop dimension of LOOP_DIMS (size 1 if absent)."""

    name: str
    op: str
    dims: dict[str, int]
    stride: tuple[int, int] = (1, 1)  # (y, x)
    dilation: tuple[int, int] = (1, 1)  # (y, x)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # (top, left, bottom, right) zeros the output window reaches
    precision: Precision = field(default_factory=Precision)
    sources: tuple[str, ...] = ()  # names of the layers whose outputs feed this one's I (or a dynamic W)
    # operands computed during inference although the loop nest stores them like weights (only W can
    # be: I and O always are); empty for a layer whose W is a stored parameter
    dynamic_operands: frozenset[Operand] = frozenset()
    weight_sources: tuple[str, ...] = ()  # of ``sources``, the layers whose outputs feed a dynamic W

    def size(self, dim: str) -> int:
        return self.dims.get(dim, 1)

    @property
    def macs(self) -> int:
        total = 1
        for dim in LOOP_DIMS:
            total *= self.size(dim)
        return total

    def input_extent(self, axis: str, out_tile: int, filt_tile: int) -> int:
        """Input rows (axis 'Y') or columns ('X') touched by ``out_tile`` outputs and ``filt_tile`` taps:
        the distinct positions ``stride*o + dilation*f`` (a stride wider than the taps skips some), at
        most the input's real size: padding positions are zeros that no memory stores (as in ZigZag)."""
        index = 0 if axis == "Y" else 1
        touched = input_positions(out_tile, filt_tile, self.stride[index], self.dilation[index])
        return min(touched, self.input_size(axis))

    def input_size(self, axis: str) -> int:
        """The unpadded input rows or columns: the full window's positions less the padding."""
        index = 0 if axis == "Y" else 1
        out_dim, filt_dim = ("OY", "FY") if axis == "Y" else ("OX", "FX")
        full = input_positions(self.size(out_dim), self.size(filt_dim), self.stride[index], self.dilation[index])
        pad = self.padding[0] + self.padding[2] if axis == "Y" else self.padding[1] + self.padding[3]
        return max(1, full - pad)

    def footprint(self, operand: Operand, tile: dict[str, int]) -> int:
        """Elements of ``operand`` touched by a tile of loop extents ``tile`` (missing dims = 1)."""
        t = tile if tile.keys() == _ALL_DIMS else {d: tile.get(d, 1) for d in LOOP_DIMS}
        if operand is Operand.W:
            return t["G"] * t["K"] * t["C"] * t["FY"] * t["FX"]
        if operand is Operand.O:
            return t["B"] * t["G"] * t["K"] * t["OY"] * t["OX"]
        iy = self.input_extent("Y", t["OY"], t["FY"])
        ix = self.input_extent("X", t["OX"], t["FX"])
        return t["B"] * t["G"] * t["C"] * iy * ix

    def operand_size(self, operand: Operand) -> int:
        """Elements of the whole operand (inputs without padding beyond the touched window)."""
        return self.footprint(operand, self.dims)

    def signature(self) -> tuple[object, ...]:
        """What makes two layers cost the same (identical layers are solved once)."""
        return (
            self.op,
            tuple(self.size(d) for d in LOOP_DIMS),
            self.stride,
            self.dilation,
            # the input tiles stop at the unpadded input, so padding changes what is stored and moved
            self.padding,
            self.precision,
            self.dynamic_operands,
        )


_WINDOW_DIMS = ("OY", "OX", "FY", "FX")


def exchangeable(layer: Layer) -> bool:
    """Both operands are computed during inference (W is dynamic; I always is) and the loop nest is a
    matrix product (no window), so swapping I and W gives the same product: either may sit in IMC cells."""
    return (
        Operand.W in layer.dynamic_operands
        and all(layer.size(d) == 1 for d in _WINDOW_DIMS)
        and layer.padding == (0, 0, 0, 0)
    )


def operands_exchanged(layer: Layer) -> Layer:
    """The layer with I and W swapped: B and K trade sizes, ``w_bits`` and ``i_bits`` trade too, and the
    weight's producers become the input's (the name stays: it is the same layer, computed the other way
    round). Applying it twice gives the layer back. Raises ValueError for a layer that is not
    ``exchangeable``."""
    if not exchangeable(layer):
        raise ValueError(f"layer {layer.name!r} is not exchangeable: its W is a stored weight or it has a window")
    dims = {d: n for d, n in layer.dims.items() if d not in ("B", "K")}
    if "K" in layer.dims:
        dims["B"] = layer.dims["K"]
    if "B" in layer.dims:
        dims["K"] = layer.dims["B"]
    prec = layer.precision
    inputs = tuple(s for s in layer.sources if s not in layer.weight_sources)
    return replace(
        layer,
        dims=dims,
        precision=replace(prec, w_bits=prec.i_bits, i_bits=prec.w_bits),
        weight_sources=inputs,
    )


@dataclass(frozen=True, slots=True)
class UnmodelledOp:
    """ONNX operators imcmap does not price: listed in every report, never dropped silently."""

    op_type: str
    count: int
    node_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    layers: tuple[Layer, ...]
    unmodelled_ops: tuple[UnmodelledOp, ...] = ()
    warnings: tuple[str, ...] = ()
