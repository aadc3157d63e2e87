"""Memory cost model without an external binary: SRAM fitted to CACTI 7, RF from gates, DRAM per bit.

``memory_cost(capacity_bits=..., read_bw_bits=..., write_bw_bits=..., kind=..., node_nm=..., ports=...)``
returns a frozen ``MemoryCost``: energy per access of one port width (``read_bw_bits`` bits read,
``write_bw_bits`` bits written), area and access time. ``ports`` counts physical ports the way
CACTI does (exclusive read + exclusive write + read/write): 1 = one shared read/write port,
2 = one read and one write port (ZigZag's default 1/1), 4 = two of each.

SRAM (fitted, reference node 22 nm; ``C`` capacity bits, ``W`` port width, ``P`` ports)::

    E(W, C, P) = P^g * (a * W^alpha * C^beta + b * W + d * C^delta)         [pJ per access]
    A(W, C, P) = P^h * (a_cell * C + a_per * max(W_r, W_w) * C^e + a_0)       [mm2]
    t(W, C, P) = t_0 + t_1 * log2(C) + t_2 * sqrt(A(W, C, P))                [ns]

then energy x (node/22)^1.6, area x (node/22)^2, time x (node/22). Term by term: the first
energy term is the bitline/H-tree data path (it grows faster than linearly in W because a wide
port enlarges the array its wires cross), ``b*W`` the per-bit sense amplifiers and drivers,
``d*C^delta`` the width-independent decoder and address H-tree. Area is cells + width-dependent
periphery + a fixed overhead; time is a decoder depth (log) plus a wire (sqrt of area) term.
Every constant is >= 0, so energy, area and time never decrease with C, W, P or the node.

Simpler laws fit the same points worse (read energy, max error / rms log error): the form
``P^g * (W * (a*sqrt(C) + b) + c)`` +170 % / 0.39, a power law ``k * W^a * C^b * P^g`` +181 % /
0.41, this one +81 % / 0.21. CACTI's own outputs are not smooth (its optimizer changes the
organization between neighbouring sizes: 32 KB x 256 b reads at 10.3 pJ, 64 KB x 512 b at
20.0 pJ but writes at 58 pJ), so no monotone law reproduces every point; see the table below.

Fit: ``scipy.optimize.least_squares`` on log(model / CACTI), exponents and coefficients bounded
>= 0, random restarts all reaching the same optimum; data in ``SRAM_CALIBRATION`` (31 points;
energies of non-22 nm points divided by (node/22)^1.6, areas by (node/22)^2 inside the fit).
Time: linear least squares on the relative error (non-negative coefficients) over
``SRAM_TIMING_CALIBRATION`` with the fitted area. ``tests/models/test_memory.py`` checks that
the stored constants are still that optimum. Validity: 1 Kbit - 1.7 Gbit, 8 - 16384-bit ports,
1 - 4 ports, 22 - 45 nm; outside it the formulas extrapolate smoothly but are not calibrated.

Node scaling. Energy ~ C V^2 with C ~ L and CACTI's ITRS-HP supply (tech_params/*.dat: 0.8 V at
22 nm, 0.9 at 32, 1.0 at 45, 1.1 at 65, 1.2 at 90): L*V^2 follows L^1.574 over 22-90 nm, and
L^1.6 stays within 3.5 % of it, hence ``ENERGY_NODE_EXPONENT = 1.6``, chosen, not fitted. Refits
with other exponents: L^1 (fixed V) rms log 0.29 / 0.30 (read / write) with the 45 nm points
21-24 % low on average; L^2 0.21 / 0.17, the data alone would pick about 2. Area ~ L^2 (CACTI's
cell is 146 F^2 at every node; the fit's 1-port cell term, 0.0698 um2/bit, is that cell at
22 nm, 0.0707 um2, within 2 %). Delay ~ L.

Sources (costs in CACTI's nJ converted to pJ):
  [zz]  KULeuven-MICAS/zigzag zigzag/cacti/cacti_master/example_mem_pool.yaml (commit bfccab5):
        entries tagged TECH_0.022 (CACTI 7, "ram", ITRS-HP cells and periphery, ED^2-optimized;
        ZigZag's cacti_config_creator.py). Untagged entries record no node (the config default
        is 90 nm) and are not used; neither is the 2-bank 32 MB entry (banks are not modelled).
  [sj]  sjoks93/spiking-zigzag, same file (commit 67a273a): further TECH_0.022 entries.
  [tk]  Taukman/zigzag-cimp, same file (commit 3fe7d5a): TECH_0.028 entries; the 1 MB x 8000 b
        run is also in zigzag/cacti/cacti_master/self_gen/cache.cfg.out (with its access time).
  [nt]  /work/shared/zigzag-notes.md section 7: ZigZag 3.9.1 auto-extraction, 22 nm, ports 1/1.
  [bf]  hsharma35/bitfusion bitfusion/sram/cacti_sweep.csv (commit 0246bc4): CACTI 7, 45 nm,
        ITRS-HP, 32-bit port, 1 read + 1 write port (+1 read/write port where P = 3).
  [ci]  Taukman/zigzag-cimp zigzag/cacti/cacti_master/self_gen/cache_a.cfg.out: 32 nm, 32-bit
        port, port count not recorded (taken as 1; used for access time only).
  [dg]  D. J. Greaves, sram64_cbg.cpp (Univ. of Cambridge SoC D/M classes), comments quoting the
        HP Labs online CACTI at 45 nm, 64-bit, one read/write port; same author's slide
        www.cl.cam.ac.uk/teaching/1112/SysOnChip/slides/sp7tte/zhpd802be4b0.html.

SRAM calibration points (model error = model / CACTI - 1, with the constants below):

  src  node  capacity(B)  W(b)   P | read pJ   err  | write pJ  err  | area mm2   err
  zz    22         128      8   2 |   0.0740  +2%  |   0.0997 +22%  | 0.000309  -10%
  zz    22         128     16   2 |   0.0879 +18%  |    0.159  +4%  | 0.000321   -0%
  zz    22         128     32   4 |    0.199 +30%  |    0.296 +45%  | 0.000950   +3%
  zz    22       2,048    256   4 |     4.82 +13%  |     6.44 +31%  |   0.0269   -5%
  sj    22       8,192     64   2 |     2.20  -9%  |     2.46  +8%  |   0.0147   +7%
  sj    22      16,384    128   2 |     4.09 +11%  |     7.64 -16%  |   0.0285  +28%
  sj    22      32,768    256   2 |     10.3 +16%  |     17.4  +2%  |   0.0587  +51%
  sj    22      65,536    512   2 |     20.0 +81%  |     58.2  -6%  |    0.116  +94%
  nt    22     131,072     64   2 |     11.6 +17%  |     8.21 +61%  |    0.230  -12%
  sj    22     262,144    256   2 |     41.1  -8%  |     43.4 +17%  |    0.546   -6%
  sj    22   1,048,576   1024   2 |      358 -13%  |      512  -5%  |     2.95   +0%
  zz    22   2,097,152    256   2 |      135  +8%  |      140 +10%  |     3.67   -7%
  sj    22   2,097,152   1024   2 |      542 -19%  |      696  -2%  |     5.34   -3%
  sj    22  20,971,520   1024   2 |    1,703 -13%  |    2,087  +1%  |     42.5  -10%
  zz    22  33,554,432    256   4 |    1,764  -7%  |    1,777 -32%  |      139  -16%
  zz    22  33,554,432   8192   2 |   24,031  +7%  |   35,706 +10%  |      154   -1%
  zz    22  33,554,432  16384   4 |  171,925 -34%  |  204,890 -19%  |      710  -12%
  sj    22 209,715,200   1024   2 |    5,014 +22%  |    5,975 +13%  |      343   -6%
  tk    28       1,024    256   2 |     4.78 -16%  |     5.59  +3%  |   0.0128  -17%
  tk    28       2,048    512   2 |     16.9 -24%  |     17.7  -2%  |   0.0416  -28%
  tk    28       1,024    256   1 |     3.55 -27%  |     4.14 -15%  |  0.00489  -10%
  tk    28   1,048,576   8192   1 |    4,376 +33%  |    6,114 +14%  |     11.2  -16%
  tk    28   1,000,000   8000   2 |    6,702 +28%  |   10,997  -2%  |     18.7  +14%
  bf    45         128     32   2 |    0.684 -23%  |    0.925 -11%  |  0.00150  +14%
  bf    45         512     32   3 |     1.06 +12%  |     2.34 -20%  |  0.00760   +7%
  bf    45       1,024     32   2 |     1.13 +16%  |     3.30 -42%  |  0.00882   -2%
  bf    45       2,048     32   2 |     1.90  +4%  |     3.64 -24%  |   0.0151   +5%
  bf    45       4,096     32   2 |     3.43 -10%  |     4.31  -6%  |   0.0301   -2%
  bf    45       4,096     32   3 |     3.98  +1%  |     5.05  +7%  |   0.0486   +1%
  bf    45       8,192     32   2 |     6.39 -22%  |     5.56  +8%  |   0.0575   -3%
  bf    45      16,384     32   2 |     9.98 -18%  |     8.42  +9%  |    0.109   -1%

  Fit error: read -34..+81 %, rms log 0.214; write -42..+61 %, rms log 0.202; area -28..+94 %,
  rms log 0.180. 26 of the 31 points are within +-35 % on all three; the worst point is CACTI's
  64 KB x 512 b organization (read 20 pJ where its write is 58 pJ).
  Held out: zz 22 nm 1.25 GB x 2048 b, 1 port (10 Gbit, beyond any on-chip SRAM): read +8 %,
  write +14 %, area -24 %. Older CACTI (dg, 45 nm, 64 b, 1 port; not fitted): read -50..+26 %,
  area -35..-59 %; CACTI versions differ by about that much.

SRAM access-time points (22 nm model x node/22; error = model / CACTI - 1):

  src  node  capacity(B)  W(b)  P | CACTI ns  err      src  node  capacity(B)  W(b)  P | CACTI ns  err
  bf    45         128     32  2 |   0.165   +2%      ci    32         128     32  1 |   0.109   +5%
  bf    45         512     32  3 |   0.227   -1%      ci    32       4,096     32  1 |   0.199   -0%
  bf    45       1,024     32  2 |   0.277  -13%      ci    32       8,000     32  1 |   0.203  +10%
  bf    45       2,048     32  2 |   0.295   -8%      tk    28   1,000,000   8000  2 |   2.79    -1%
  bf    45       4,096     32  2 |   0.301   +4%      dg    45       1,024     64  1 |   0.241   -6%
  bf    45       4,096     32  3 |   0.331   +3%      dg    45       4,096     64  1 |   0.293   -3%
  bf    45       8,192     32  2 |   0.330  +10%      dg    45      65,536     64  1 |   0.523   -2%
  bf    45      16,384     32  2 |   0.443   -3%      dg    45     262,144     64  1 |   0.769   -1%

  Fit error: max 13 %, rms log 0.059. No CACTI access time above 1 MB was found; larger memories
  extrapolate through the area term.

RF (register file of flip-flops; gate-level model at 28 nm, 0.9 V; D = ceil(C / W) words). Unit
  constants are ZigZag-IMC's 28 nm gate fit (/work/shared/imc-model.md section 2, also in
  ``models.gates``): NAND2-equivalent (GE) area Ag = 0.614 um2, input load Cg = 0.7 fF; a DFF is
  6 Ag and 3 Cg. The MUX2 (2.3 GE), write-enable (5 GE) and timing values are assumptions.
  Area: C flip-flops of 6 GE, one D:1 mux tree of (D - 1) MUX2 per read bit and read port, and
  one write enable (clock gate + decode) per word.
  Write: the DFF's 3 Cg switched at V^2 per bit written (clock pin, data pin, internal node)
  plus the word decoder, half of its D enable inputs toggling.
  Read: the output (0.5 toggles) and, per bit, (D - 1) muxes whose select pin toggles with
  probability 0.5 and whose output with probability 0.25 (random address and data).
  Time: clock-to-q (50 ps) + log2(D) mux stages (30 ps each). Ports: a flop array always has a
  separate write path, so ports = 1 and 2 build the same array; each port beyond 2 adds one
  read mux tree (area only). Scaling from 28 nm as for SRAM (energy ^1.6, area ^2, time ^1).
  These are engineering assumptions, not fitted to measurements. Per access, a wider port over
  the same capacity needs fewer mux levels, so RF read energy and area can fall with width.
  Against the SRAM fit at the same node, ports and width, the RF reads cheaper up to D = 8
  words (0.1x at D = 1, 0.5x at D = 4, 0.8-1.0x at D = 8) and writes cheaper up to at least
  D = 64, but is larger in area from 16 bits on: the CACTI fit has 146 F^2 cells and a 26 um2
  fixed overhead, no compiler-macro overhead, and below 1 Kbit it is extrapolated. The read
  mux tree toggles about (D - 1) select and mux-output pins per bit; a decoded (one-hot) AND-OR
  read path would cost less for large D and is not modelled.

DRAM (off chip): ZigZag's example DRAM, 700 pJ read and 750 pJ write per 64-bit access
(zigzag/inputs/hardware/tpu_like.yaml, 10.9 and 11.7 pJ/bit), constant per bit, node- and
port-independent, no on-chip area. It lies inside the range usually quoted for off-chip DRAM,
from a few pJ/bit (HBM2, LPDDR4) to 20-40 pJ/bit (DDR3; Horowitz, ISSCC 2014: 1.3-2.6 nJ per
64-bit access); those literature figures are quoted from memory, not re-checked for this module.
Access time: a nominal 40 ns (row activate + column read), not calibrated.

Left out: leakage and refresh power, banking (CACTI's bank count), cache tags/associativity,
ITRS cell types other than HP, SRAM voltage as an input, different widths for several read (or
write) ports, a decoded RF read path.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

from .hardware import MemoryKind

SRAM_REF_NODE_NM = 22
RF_REF_NODE_NM = 28
ENERGY_NODE_EXPONENT = 1.6
AREA_NODE_EXPONENT = 2.0
DELAY_NODE_EXPONENT = 1.0


@dataclass(frozen=True, slots=True)
class MemoryCost:
    """Cost of one memory instance: energies per access of the port width, area, access time."""

    read_energy_pj: float
    write_energy_pj: float
    area_mm2: float
    access_time_ns: float


@dataclass(frozen=True, slots=True)
class SramEnergyFit:
    """``P^port_exp * (array_pj * W^width_exp * C^capacity_exp + per_bit_pj * W + decode_pj * C^decode_exp)``."""

    array_pj: float
    width_exp: float
    capacity_exp: float
    per_bit_pj: float
    decode_pj: float
    decode_exp: float
    port_exp: float

    def at_reference_node(self, width_bits: float, capacity_bits: float, ports: float) -> float:
        data_path = self.array_pj * width_bits**self.width_exp * capacity_bits**self.capacity_exp
        sense = self.per_bit_pj * width_bits
        decode = self.decode_pj * capacity_bits**self.decode_exp
        return float(ports**self.port_exp * (data_path + sense + decode))


@dataclass(frozen=True, slots=True)
class SramAreaFit:
    """``P^port_exp * (cell_mm2 * C + periphery_mm2 * W * C^periphery_exp + fixed_mm2)``."""

    cell_mm2: float
    periphery_mm2: float
    periphery_exp: float
    fixed_mm2: float
    port_exp: float

    def at_reference_node(self, width_bits: float, capacity_bits: float, ports: float) -> float:
        cells = self.cell_mm2 * capacity_bits
        periphery = self.periphery_mm2 * width_bits * capacity_bits**self.periphery_exp
        return float(ports**self.port_exp * (cells + periphery + self.fixed_mm2))


@dataclass(frozen=True, slots=True)
class SramTimeFit:
    """``fixed_ns + per_doubling_ns * log2(C) + wire_ns_per_mm * sqrt(area_mm2)``."""

    fixed_ns: float
    per_doubling_ns: float
    wire_ns_per_mm: float

    def at_reference_node(self, capacity_bits: float, area_mm2: float) -> float:
        return (
            self.fixed_ns + self.per_doubling_ns * math.log2(capacity_bits) + self.wire_ns_per_mm * math.sqrt(area_mm2)
        )


SRAM_READ_FIT = SramEnergyFit(
    array_pj=5.95344e-06,
    width_exp=1.53582,
    capacity_exp=0.405222,
    per_bit_pj=0.00171055,
    decode_pj=0.000137804,
    decode_exp=0.787718,
    port_exp=0.638105,
)
SRAM_WRITE_FIT = SramEnergyFit(
    array_pj=1.17447e-05,
    width_exp=1.36954,
    capacity_exp=0.468074,
    per_bit_pj=0.00230516,
    decode_pj=0.000450601,
    decode_exp=0.67998,
    port_exp=0.718548,
)
SRAM_AREA_FIT = SramAreaFit(
    cell_mm2=6.97725e-08,
    periphery_mm2=3.00033e-08,
    periphery_exp=0.62442,
    fixed_mm2=2.5904e-05,
    port_exp=1.26159,
)
SRAM_TIME_FIT = SramTimeFit(fixed_ns=0.00160142, per_doubling_ns=0.00694996, wire_ns_per_mm=0.557298)


@dataclass(frozen=True, slots=True)
class CactiPoint:
    """One CACTI result used to calibrate the SRAM fit; ``source`` keys the module docstring."""

    source: str
    node_nm: int
    capacity_bytes: int
    width_bits: int
    ports: int
    read_energy_pj: float
    write_energy_pj: float
    area_mm2: float

    @property
    def capacity_bits(self) -> int:
        return 8 * self.capacity_bytes


@dataclass(frozen=True, slots=True)
class CactiTimingPoint:
    """One CACTI access time used to calibrate ``SRAM_TIME_FIT``."""

    source: str
    node_nm: int
    capacity_bytes: int
    width_bits: int
    ports: int
    access_time_ns: float

    @property
    def capacity_bits(self) -> int:
        return 8 * self.capacity_bytes


SRAM_CALIBRATION: tuple[CactiPoint, ...] = (
    CactiPoint("zz", 22, 128, 8, 2, 0.0739625, 0.0996867, 0.000309137),
    CactiPoint("zz", 22, 128, 16, 2, 0.0878633, 0.159245, 0.000320741),
    CactiPoint("zz", 22, 128, 32, 4, 0.199462, 0.29577, 0.000950414),
    CactiPoint("zz", 22, 2048, 256, 4, 4.82046, 6.43854, 0.0268598),
    CactiPoint("sj", 22, 8192, 64, 2, 2.19637, 2.4641, 0.0146812),
    CactiPoint("sj", 22, 16384, 128, 2, 4.08919, 7.63942, 0.0285261),
    CactiPoint("sj", 22, 32768, 256, 2, 10.3099, 17.4103, 0.0586927),
    CactiPoint("sj", 22, 65536, 512, 2, 19.978, 58.1808, 0.116032),
    CactiPoint("nt", 22, 131072, 64, 2, 11.59, 8.21, 0.2299),
    CactiPoint("sj", 22, 262144, 256, 2, 41.1143, 43.3834, 0.546219),
    CactiPoint("sj", 22, 1048576, 1024, 2, 358.366, 511.763, 2.95058),
    CactiPoint("zz", 22, 2097152, 256, 2, 134.898, 139.563, 3.66505),
    CactiPoint("sj", 22, 2097152, 1024, 2, 542.274, 695.672, 5.33856),
    CactiPoint("sj", 22, 20971520, 1024, 2, 1702.74, 2086.81, 42.5164),
    CactiPoint("zz", 22, 33554432, 256, 4, 1763.77, 1776.82, 138.63),
    CactiPoint("zz", 22, 33554432, 8192, 2, 24031.3, 35705.8, 153.898),
    CactiPoint("zz", 22, 33554432, 16384, 4, 171925.0, 204890.0, 710.457),
    CactiPoint("sj", 22, 209715200, 1024, 2, 5014.09, 5974.51, 343.131),
    CactiPoint("tk", 28, 1024, 256, 2, 4.78175, 5.58964, 0.012752),
    CactiPoint("tk", 28, 2048, 512, 2, 16.863, 17.7358, 0.0416345),
    CactiPoint("tk", 28, 1024, 256, 1, 3.54582, 4.1352, 0.00489173),
    CactiPoint("tk", 28, 1048576, 8192, 1, 4375.88, 6114.29, 11.1599),
    CactiPoint("tk", 28, 1000000, 8000, 2, 6702.18, 10996.9, 18.6888),
    CactiPoint("bf", 45, 128, 32, 2, 0.683701, 0.925317, 0.00149898),
    CactiPoint("bf", 45, 512, 32, 3, 1.06097, 2.33869, 0.00760331),
    CactiPoint("bf", 45, 1024, 32, 2, 1.13324, 3.29596, 0.00882362),
    CactiPoint("bf", 45, 2048, 32, 2, 1.90318, 3.63853, 0.015132),
    CactiPoint("bf", 45, 4096, 32, 2, 3.42953, 4.31011, 0.0300607),
    CactiPoint("bf", 45, 4096, 32, 3, 3.98324, 5.05131, 0.0485739),
    CactiPoint("bf", 45, 8192, 32, 2, 6.39163, 5.56268, 0.0575061),
    CactiPoint("bf", 45, 16384, 32, 2, 9.9817, 8.4209, 0.108577),
)

SRAM_HOLDOUT: tuple[CactiPoint, ...] = (CactiPoint("zz", 22, 1250000000, 2048, 1, 17119.6, 19384.6, 1053.63),)

SRAM_TIMING_CALIBRATION: tuple[CactiTimingPoint, ...] = (
    CactiTimingPoint("bf", 45, 128, 32, 2, 0.165182),
    CactiTimingPoint("bf", 45, 512, 32, 3, 0.226852),
    CactiTimingPoint("bf", 45, 1024, 32, 2, 0.276741),
    CactiTimingPoint("bf", 45, 2048, 32, 2, 0.294885),
    CactiTimingPoint("bf", 45, 4096, 32, 2, 0.300907),
    CactiTimingPoint("bf", 45, 4096, 32, 3, 0.331441),
    CactiTimingPoint("bf", 45, 8192, 32, 2, 0.330297),
    CactiTimingPoint("bf", 45, 16384, 32, 2, 0.442529),
    CactiTimingPoint("ci", 32, 128, 32, 1, 0.108879),
    CactiTimingPoint("ci", 32, 4096, 32, 1, 0.198912),
    CactiTimingPoint("ci", 32, 8000, 32, 1, 0.202894),
    CactiTimingPoint("tk", 28, 1000000, 8000, 2, 2.79247),
    CactiTimingPoint("dg", 45, 1024, 64, 1, 0.241078),
    CactiTimingPoint("dg", 45, 4096, 64, 1, 0.292769),
    CactiTimingPoint("dg", 45, 65536, 64, 1, 0.522593),
    CactiTimingPoint("dg", 45, 262144, 64, 1, 0.769209),
)

# Register file (flip-flop array), 28 nm, 0.9 V.
RF_VDD_V = 0.9
RF_GATE_AREA_UM2 = 0.614  # one NAND2 equivalent (GE)
RF_DFF_GE = 6.0
RF_MUX2_GE = 2.3
RF_WORD_ENABLE_GE = 5.0  # clock gate + word decode
RF_GATE_INPUT_FF = 0.7
RF_DFF_WRITE_LOADS = 3.0  # clock pin, data pin, internal node
RF_DECODE_ACTIVITY = 0.5
RF_OUTPUT_ACTIVITY = 0.5
RF_MUX_SELECT_ACTIVITY = 0.5
RF_MUX_OUTPUT_ACTIVITY = 0.25
RF_CLK_TO_Q_NS = 0.05
RF_MUX2_DELAY_NS = 0.03

# Off-chip DRAM: ZigZag's example (700 / 750 pJ per 64-bit access).
DRAM_READ_PJ_PER_BIT = 700.0 / 64
DRAM_WRITE_PJ_PER_BIT = 750.0 / 64
DRAM_ACCESS_TIME_NS = 40.0


def memory_cost(
    *,
    capacity_bits: int,
    read_bw_bits: int,
    write_bw_bits: int,
    kind: MemoryKind | str = "sram",
    node_nm: int = 28,
    ports: int = 1,
) -> MemoryCost:
    """Energy per access (of ``read_bw_bits`` / ``write_bw_bits`` bits), area and access time.

    Raises ``ValueError`` for non-positive sizes, node or ports, a port wider than the memory,
    or an unknown ``kind``; ``TypeError`` for non-integer sizes.
    """
    capacity = _positive_int("capacity_bits", capacity_bits)
    read_bw = _positive_int("read_bw_bits", read_bw_bits)
    write_bw = _positive_int("write_bw_bits", write_bw_bits)
    node = _positive_int("node_nm", node_nm)
    n_ports = _positive_int("ports", ports)
    for name, width in (("read_bw_bits", read_bw), ("write_bw_bits", write_bw)):
        if width > capacity:
            raise ValueError(
                f"{name} ({width}) exceeds capacity_bits ({capacity}): a port cannot be wider than the memory"
            )
    memory_kind = _memory_kind(kind)
    if memory_kind is MemoryKind.SRAM:
        return _sram_cost(capacity, read_bw, write_bw, node, n_ports)
    if memory_kind is MemoryKind.RF:
        return _rf_cost(capacity, read_bw, write_bw, node, n_ports)
    return _dram_cost(read_bw, write_bw)


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer (got {value!r})") from None
    if number <= 0:
        raise ValueError(f"{name} must be positive (got {number})")
    return number


def _memory_kind(kind: MemoryKind | str) -> MemoryKind:
    if isinstance(kind, MemoryKind):
        return kind
    try:
        return MemoryKind(str(kind).strip().lower())
    except ValueError:
        valid = ", ".join(k.value for k in MemoryKind)
        raise ValueError(f"unknown memory kind {kind!r}; expected one of: {valid}") from None


def _sram_cost(capacity: int, read_bw: int, write_bw: int, node: int, ports: int) -> MemoryCost:
    ratio = node / SRAM_REF_NODE_NM
    energy_scale = ratio**ENERGY_NODE_EXPONENT
    area_ref = SRAM_AREA_FIT.at_reference_node(max(read_bw, write_bw), capacity, ports)
    return MemoryCost(
        read_energy_pj=SRAM_READ_FIT.at_reference_node(read_bw, capacity, ports) * energy_scale,
        write_energy_pj=SRAM_WRITE_FIT.at_reference_node(write_bw, capacity, ports) * energy_scale,
        area_mm2=area_ref * ratio**AREA_NODE_EXPONENT,
        access_time_ns=SRAM_TIME_FIT.at_reference_node(capacity, area_ref) * ratio**DELAY_NODE_EXPONENT,
    )


def _rf_cost(capacity: int, read_bw: int, write_bw: int, node: int, ports: int) -> MemoryCost:
    ratio = node / RF_REF_NODE_NM
    gate_fj = RF_GATE_INPUT_FF * RF_VDD_V**2  # one gate load switched once, fJ
    read_depth = -(-capacity // read_bw)
    write_depth = -(-capacity // write_bw)
    read_trees = max(1, ports - 1)

    mux_toggles = (read_depth - 1) * (RF_MUX_SELECT_ACTIVITY + RF_MUX_OUTPUT_ACTIVITY)
    read_fj = read_bw * (RF_OUTPUT_ACTIVITY + mux_toggles) * gate_fj
    write_fj = (write_bw * RF_DFF_WRITE_LOADS + write_depth * RF_DECODE_ACTIVITY) * gate_fj

    gates = (
        capacity * RF_DFF_GE + read_trees * read_bw * (read_depth - 1) * RF_MUX2_GE + write_depth * RF_WORD_ENABLE_GE
    )
    energy_scale = ratio**ENERGY_NODE_EXPONENT
    return MemoryCost(
        read_energy_pj=read_fj * 1e-3 * energy_scale,
        write_energy_pj=write_fj * 1e-3 * energy_scale,
        area_mm2=gates * RF_GATE_AREA_UM2 * 1e-6 * ratio**AREA_NODE_EXPONENT,
        access_time_ns=(RF_CLK_TO_Q_NS + math.log2(read_depth) * RF_MUX2_DELAY_NS) * ratio**DELAY_NODE_EXPONENT,
    )


def _dram_cost(read_bw: int, write_bw: int) -> MemoryCost:
    return MemoryCost(
        read_energy_pj=read_bw * DRAM_READ_PJ_PER_BIT,
        write_energy_pj=write_bw * DRAM_WRITE_PJ_PER_BIT,
        area_mm2=0.0,
        access_time_ns=DRAM_ACCESS_TIME_NS,
    )
