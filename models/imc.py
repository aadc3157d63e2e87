"""SRAM IMC macro cost model for mapping exploration: ZigZag 3.9.1's generic form (imc-model.md section 7).

One template per IMC type, generalised with the array's explicit parameters:

* **Analog (AIMC):** a DAC per driven row (``b`` = ``dac_bits``, or ``Bc`` when 0; none for 1 bit),
  ``Bw*D1`` NOR multipliers per row, one ADC per weight bit-column (``Bw*D1*NM``), a place-value
  tree per column merging the ``Bw`` ADC outputs, and an accumulator when ``Bc < Bi``.
* **Digital (DIMC):** ``Bc*Bw`` multipliers per cell group, ``Bc*D1`` regular adder trees of
  ``D2`` x ``Bw`` bits per macro, a place-value tree per column merging the ``Bc`` slice sums,
  and an accumulator when ``Bc < Bi``.

D1 = columns (one ``Bw``-bit weight word each), D2 = rows summed together, further dims = macros.

The ADC resolution ``R`` may be fractional (the ICCAD 2023 rule ``Bc + 0.5*log2(D2)`` gives 4.5 bits):
every formula it enters is continuous in it (ADC area, energy and delay; the analog place-value tree's
``R*(N-1) + ...`` full adders; the ``Bi + R + Bw``-bit accumulator and its carry chain), as in the
case study's scripts, whose stored peak figures these reproduce.

Generalisations beyond 3.9.1 (all reduce to it for vdd 0.9 V, 28 nm, toggle 1, sparsity 0):

* **Voltage:** ``array.vdd_v`` (3.9.1 fixes 0.9 V).
* **Node:** for ``node_nm != 28`` the gate-based terms are scaled linearly by ``node_nm/28``
  (section 4.5): area of multipliers, adder trees, place-value trees, accumulators and ADCs;
  energy of multipliers, adder trees, place-value trees, accumulators, analog bitlines and
  precharge. ADC and DAC energies, the cell area (given by the user for its own node) and all
  delays are not scaled.
* **Activity** (toggle ``t``, weight sparsity ``s``), following the validation scripts where they
  scale a block and the svg's summary formulas otherwise (section 4.4):

  ========================  ==============  ==============
  term                      analog          digital
  ========================  ==============  ==============
  multipliers               ``t*(1-s)``     ``t*(1-s)``
  regular adder trees       --              ``t*(1-s)``
  analog bitline            ``(1-s)``       --
  ADC                       ``(1-s)``       --
  place-value trees         ``(1-s)``       1
  DAC                       ``t``           --
  accumulators, precharge   1               1
  ========================  ==============  ==============

  AIMC place-value adders take ``(1-s)`` like the scripts' AIMC adders; the DIMC place-value
  tree merges bit-slice sums like DIMC3's cross-column tree, which the scripts run at full
  activity; the DAC follows the svg's ``(1-Sa)`` (the scripts leave it unscaled).
* **Adder-tree live inputs** (digital): ``rows_adder`` (rows outside a column's diagonal window
  hold zero weights), or ``rows_total`` as 3.9.1 does with ``zigzag_compat=True`` (section 8 item 8).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import gates as g
from .hardware import ImcArray, ImcType

AREA_KEYS: tuple[str, ...] = ("cells", "adc", "dac", "mult", "adder_tree", "place_value", "accumulator")
TCLK_KEYS: tuple[str, ...] = ("adc", "mult", "adder_tree", "place_value", "accumulator")
ENERGY_KEYS: tuple[str, ...] = (
    "dac",
    "adc",
    "mult",
    "bitline",
    "adder_tree",
    "place_value",
    "accumulator",
    "precharge",
)

_UM2_PER_MM2 = 1e6
_FJ_PER_PJ = 1e3


# --- structure derived from the array ----------------------------------------------------------


def _check_array(array: ImcArray) -> None:
    """Shape rules of the template (section 7.2); ``ValueError`` names the offending field."""
    if len(array.dims) < 2:
        raise ValueError(f"IMC array needs at least two dims (D1 columns, D2 rows); got {len(array.dims)}")
    for d in array.dims:
        if d.size < 1:
            raise ValueError(f"array dim {d.name} must be >= 1 (got {d.size})")
    if array.input_bits < 1 or array.weight_bits < 1:
        raise ValueError(f"input_bits and weight_bits must be >= 1 (got {array.input_bits}, {array.weight_bits})")
    if not 1 <= array.input_bits_per_cycle <= array.input_bits:
        raise ValueError(
            f"input_bits_per_cycle must be in [1, input_bits={array.input_bits}] (got {array.input_bits_per_cycle})"
        )
    if not 0.0 <= array.input_toggle_rate <= 1.0:
        raise ValueError(f"input_toggle_rate must be in [0, 1] (got {array.input_toggle_rate})")
    if not 0.0 <= array.weight_sparsity <= 1.0:
        raise ValueError(f"weight_sparsity must be in [0, 1] (got {array.weight_sparsity})")
    if array.vdd_v <= 0:
        raise ValueError(f"vdd_v must be positive (got {array.vdd_v})")
    if array.imc_type is ImcType.ANALOG:
        if array.adc_bits < 1:
            raise ValueError(f"analog IMC needs adc_bits >= 1 (got {array.adc_bits})")
        if not g.is_power_of_two(array.weight_bits):
            raise ValueError(
                f"analog IMC: weight_bits must be a power of 2 (place-value tree); got {array.weight_bits}"
            )
    else:
        if not g.is_power_of_two(array.rows):
            raise ValueError(f"digital IMC: D2 (rows) must be a power of 2 (adder tree); got {array.rows}")
        if not g.is_power_of_two(array.input_bits_per_cycle):
            raise ValueError(
                "digital IMC: input_bits_per_cycle must be a power of 2 (place-value tree); "
                f"got {array.input_bits_per_cycle}"
            )


def _analog(array: ImcArray) -> bool:
    return array.imc_type is ImcType.ANALOG


def _dac_bits(array: ImcArray) -> int:
    """DAC resolution: ``dac_bits``, or ``Bc`` when 0. A 1-bit input needs no DAC (returns 0)."""
    bits = array.dac_bits if array.dac_bits > 0 else array.input_bits_per_cycle
    return bits if bits > 1 else 0


def _tree_input_bits(array: ImcArray) -> int:
    """Width of the regular trees' output (digital): ``Bw + log2 D2``."""
    return array.weight_bits + g.log2_int(array.rows)


def place_value_shape(array: ImcArray) -> tuple[int, float]:
    """(inputs N, input bits P) of the place-value tree: (Bw, R) analog, (Bc, Bw + log2 D2) digital."""
    if _analog(array):
        return array.weight_bits, array.adc_bits
    return array.input_bits_per_cycle, _tree_input_bits(array)


def accumulator_bits(array: ImcArray) -> float:
    """Accumulator width ``Bi + R + Bw`` (analog) or ``Bi + log2 D2 + Bw`` (digital); 0 when ``Bc = Bi``."""
    if array.input_bits_per_cycle >= array.input_bits:
        return 0
    if _analog(array):
        return array.input_bits + array.adc_bits + array.weight_bits
    return array.input_bits + g.log2_int(array.rows) + array.weight_bits


def _activity(array: ImcArray) -> tuple[float, float]:
    """(t, 1 - s)."""
    return array.input_toggle_rate, 1.0 - array.weight_sparsity


def _multipliers(array: ImcArray) -> int:
    """1-bit multipliers in the whole array: ``Bw*D1*D2*NM`` (analog), ``Bc*Bw*D1*D2*NM`` (digital)."""
    n = array.weight_bits * array.cols * array.rows * array.macros
    return n if _analog(array) else n * array.input_bits_per_cycle


# --- area (section 7.2) ------------------------------------------------------------------------


def imc_area_mm2(array: ImcArray) -> dict[str, float]:
    """Macro area in mm2 by component (keys ``AREA_KEYS``); sum the values for the total."""
    _check_array(array)
    scale = g.node_scale(array.node_nm)
    columns = array.cols * array.macros
    out = dict.fromkeys(AREA_KEYS, 0.0)
    out["cells"] = array.cell_area_um2 * array.cols * array.rows * array.macros / _UM2_PER_MM2
    out["mult"] = _multipliers(array) * g.mult_area_um2() * scale / _UM2_PER_MM2
    if _analog(array):
        if array.adc_bits > 1:
            adc = g.adc_area_mm2(array.adc_bits, high_res_branch=False)
            out["adc"] = adc * array.weight_bits * columns * scale
    else:
        trees = array.input_bits_per_cycle * columns
        out["adder_tree"] = trees * g.tree_area_um2(array.rows, array.weight_bits) * scale / _UM2_PER_MM2
    n_pv, p_pv = place_value_shape(array)
    out["place_value"] = g.pv_area_um2(n_pv, p_pv) * columns * scale / _UM2_PER_MM2
    r_acc = accumulator_bits(array)
    out["accumulator"] = g.acc_area_um2(r_acc, r_acc) * columns * scale / _UM2_PER_MM2
    return out


# --- clock period (section 7.3) ----------------------------------------------------------------


def imc_tclk_breakdown_ns(array: ImcArray) -> dict[str, float]:
    """Delay of each stage on the (unpipelined) critical path, keys ``TCLK_KEYS``."""
    _check_array(array)
    out = dict.fromkeys(TCLK_KEYS, 0.0)
    out["mult"] = g.mult_delay_ns()
    if _analog(array):
        out["adc"] = g.adc_delay_ns(array.adc_bits, array.rows)
        p_in = array.adc_bits
    else:
        out["adder_tree"] = g.t_tree_ns(array.rows, array.weight_bits)
        p_in = _tree_input_bits(array)
    n_pv, p_pv = place_value_shape(array)
    out["place_value"] = g.t_pv_ns(n_pv)
    p_in = g.pv_output_bits(n_pv, p_pv) if n_pv > 1 else p_in
    r_acc = accumulator_bits(array)
    if r_acc:
        out["accumulator"] = g.t_acc_z_ns(r_acc, p_in)
    return out


def imc_tclk_ns(array: ImcArray) -> float:
    """Clock period in ns: the stages add (no pipelining)."""
    return sum(imc_tclk_breakdown_ns(array).values())


# --- peak energy and throughput (section 7.4) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImcPeak:
    """Full-array operation, every cycle, no weight updates (activity and node scaling applied)."""

    energy_per_cycle_pj: float
    energy_breakdown_pj: dict[str, float]
    macs_per_cycle: float
    fj_per_mac: float
    tops: float
    tops_per_w: float
    tops_per_mm2: float


def imc_peak(array: ImcArray) -> ImcPeak:
    """Peak energy per cycle, energy per MAC, TOP/s, TOP/s/W and TOP/s/mm2 of the whole array."""
    _check_array(array)
    v = array.vdd_v
    scale = g.node_scale(array.node_nm)
    t, dens = _activity(array)
    columns = array.cols * array.macros
    e = dict.fromkeys(ENERGY_KEYS, 0.0)
    e["mult"] = _multipliers(array) * g.mult_energy_fj(v) * t * dens * scale
    if _analog(array):
        e["dac"] = g.dac_energy_fj(_dac_bits(array), v) * array.rows * array.macros * t
        e["adc"] = g.adc_energy_fj(array.adc_bits, v) * array.weight_bits * columns * dens
        cells = array.weight_bits * array.cols * array.rows * array.macros
        e["bitline"] = g.cell_line_energy_fj(v) * cells * dens * scale
        pv_activity = dens
    else:
        trees = array.input_bits_per_cycle * columns
        e["adder_tree"] = g.tree_energy_fj(array.rows, array.weight_bits, v) * trees * t * dens * scale
        pv_activity = 1.0
    n_pv, p_pv = place_value_shape(array)
    e["place_value"] = g.pv_energy_fj(n_pv, p_pv, v) * columns * pv_activity * scale
    r_acc = accumulator_bits(array)
    e["accumulator"] = g.acc_energy_fj(r_acc, r_acc, v) * columns * scale
    breakdown = {k: val / _FJ_PER_PJ for k, val in e.items()}
    energy_pj = sum(breakdown.values())
    macs = array.cols * array.rows * array.macros / array.cycles_per_mac
    tclk = imc_tclk_ns(array)
    area = sum(imc_area_mm2(array).values())
    tops = 2 * macs / tclk / 1000
    return ImcPeak(
        energy_per_cycle_pj=energy_pj,
        energy_breakdown_pj=breakdown,
        macs_per_cycle=macs,
        fj_per_mac=energy_pj * _FJ_PER_PJ / macs,
        tops=tops,
        tops_per_w=2 * macs / energy_pj if energy_pj > 0 else float("inf"),
        tops_per_mm2=tops / area if area > 0 else float("inf"),
    )


# --- energy of a layer under a mapping (section 7.5) -------------------------------------------


def imc_layer_energy_pj(
    array: ImcArray,
    *,
    cols: int,
    rows_total: int,
    rows_adder: int,
    activations: float,
    zigzag_compat: bool = False,
    precharges: float = 0.0,
) -> dict[str, float]:
    """IMC array energy of one layer in pJ by component (keys ``ENERGY_KEYS``; memories excluded).

    ``cols``: mapped columns (product of the D1 unrolling). ``rows_total``: rows receiving an
    input; ``rows_adder``: rows whose products enter an adder tree (``diagonal_rows`` gives both).
    ``activations``: layer MACs / product of the D1 and D2 unrolling (macro activations, normalised
    to one macro); each takes ``ceil(Bi/Bc)`` cycles. ``precharges``: local-bitline precharge count
    (only charged when a cell group holds ``cells_per_group > 1`` weights).
    """
    _check_array(array)
    if not 1 <= cols <= array.cols:
        raise ValueError(f"cols must be in [1, D1={array.cols}] (got {cols})")
    if not 1 <= rows_total <= array.rows:
        raise ValueError(f"rows_total must be in [1, D2={array.rows}] (got {rows_total})")
    if not 1 <= rows_adder <= rows_total:
        raise ValueError(f"rows_adder must be in [1, rows_total={rows_total}] (got {rows_adder})")
    if activations < 0:
        raise ValueError(f"activations must be >= 0 (got {activations})")
    if precharges < 0:
        raise ValueError(f"precharges must be >= 0 (got {precharges})")
    v = array.vdd_v
    scale = g.node_scale(array.node_nm)
    t, dens = _activity(array)
    k = array.cycles_per_mac * activations
    bw = array.weight_bits
    e = dict.fromkeys(ENERGY_KEYS, 0.0)
    if _analog(array):
        e["dac"] = g.dac_energy_fj(_dac_bits(array), v) * rows_total * k * t
        e["adc"] = g.adc_energy_fj(array.adc_bits, v) * bw * cols * k * dens
        # a driven row toggles the multipliers of every D1 column, mapped or not
        e["mult"] = g.mult_energy_fj(v) * bw * array.cols * rows_total * k * t * dens * scale
        e["bitline"] = g.cell_line_energy_fj(v) * bw * cols * array.rows * k * dens * scale
        pv_activity = dens
    else:
        # 3.9.1 charges the whole array's multipliers, independent of the mapping
        e["mult"] = (
            g.mult_energy_fj(v) * array.input_bits_per_cycle * bw * array.cols * array.rows * k * t * dens * scale
        )
        live = rows_total if zigzag_compat else rows_adder
        per_tree = g.e_tree_partial_fj(bw, live, array.rows, v)
        e["adder_tree"] = per_tree * array.input_bits_per_cycle * cols * k * t * dens * scale
        pv_activity = 1.0
    n_pv, p_pv = place_value_shape(array)
    e["place_value"] = g.pv_energy_fj(n_pv, p_pv, v) * cols * k * pv_activity * scale
    r_acc = accumulator_bits(array)
    e["accumulator"] = g.acc_energy_fj(r_acc, r_acc, v) * cols * k * scale
    m = array.cells_per_group
    if m > 1:
        per_group = (g.cell_line_energy_fj(v) + g.cell_line_energy_fj(v) * m) * bw
        e["precharge"] = precharges * per_group * scale
    return {key: val / _FJ_PER_PJ for key, val in e.items()}


# --- rows occupied by a spatial mapping (section 7.5) ------------------------------------------


def diagonal_rows(
    spatial_d1: dict[str, int],
    spatial_d2: dict[str, int],
    *,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[int, int]:
    """(rows_total, rows_adder) of a spatial mapping on an IMC array (the intended formula of 7.5).

    ``spatial_d1`` / ``spatial_d2`` map loop dims to unroll factors on D1 (columns) and D2 (rows);
    ``stride`` and ``dilation`` are (y, x) like ``Layer.stride``.

    * ``rows_adder`` = product of the D2 factors (``C*FY*FX`` for a legal mapping): the rows a
      single column reads.
    * ``rows_total``: with OX (OY) on D1 next to FX (FY) on D2, neighbouring columns read inputs
      shifted by the stride, so the rows form a band of ``C*(OY+FY-1)*(OX+FX-1)`` (stride and
      dilation 1). Other input-relevant dims on D1 (G, B, C, FX, FY) are block-diagonal: each
      value needs its own rows. K on D1 shares the inputs. With stride or dilation > 1 the band
      counts the distinct input positions, which equals ``s*(OX-1) + d*(FX-1) + 1`` unless that
      band has holes (e.g. stride 2 with FX 1), where only the used positions need rows.
    """
    for name, factor in (*spatial_d1.items(), *spatial_d2.items()):
        if factor < 1:
            raise ValueError(f"unroll factor of {name} must be >= 1 (got {factor})")
    sy, sx = stride
    dy, dx = dilation
    if min(sy, sx, dy, dx) < 1:
        raise ValueError(f"stride and dilation must be >= 1 (got {stride}, {dilation})")
    rows_adder = 1
    for factor in spatial_d2.values():
        rows_adder *= factor
    ox = spatial_d1.get("OX", 1)
    oy = spatial_d1.get("OY", 1)
    fx = spatial_d2.get("FX", 1)
    fy = spatial_d2.get("FY", 1)
    other_d2 = rows_adder // (fx * fy)
    block = 1
    for name, factor in spatial_d1.items():
        if name not in ("K", "OX", "OY"):
            block *= factor
    rows_total = block * other_d2 * _positions(oy, fy, sy, dy) * _positions(ox, fx, sx, dx)
    return rows_total, rows_adder


def _positions(outputs: int, filt: int, stride: int, dilation: int) -> int:
    """Distinct input positions ``stride*o + dilation*f`` for o < outputs, f < filt."""
    if stride == 1 and dilation == 1:
        return outputs + filt - 1
    if outputs == 1:
        return filt
    if filt == 1:
        return outputs
    return len({stride * o + dilation * f for o in range(outputs) for f in range(filt)})
