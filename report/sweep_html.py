"""``sweep.html``: the design points of a sweep as one self-contained page (no network, no library):
per workload a log-log plot of energy against latency, the Pareto front joined by a line, and on hover
each point's parameters and figures. The page draws itself from the JSON document embedded in it."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    from imcmap.results import SweepResult

from imcmap.serialize import sweep_json

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>imcmap sweep TITLE</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.plot { border: 1px solid #ccc; background: #fff; }
.tip { position: fixed; pointer-events: none; background: #fffff4; border: 1px solid #999; padding: 6px 8px;
       font: 12px ui-monospace, monospace; white-space: pre; display: none; box-shadow: 2px 2px 4px #0003; }
.legend span { display: inline-block; margin-right: 16px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
</style></head><body>
<h1>imcmap sweep TITLE</h1>
<p id="summary"></p>
<div id="plots"></div>
<div class="tip" id="tip"></div>
<script id="data" type="application/json">DATA</script>
<script>
"use strict";
const doc = JSON.parse(document.getElementById("data").textContent);
const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const bases = [...new Set(doc.runs.map(r => r.accelerator))];
const color = b => palette[bases.indexOf(b) % palette.length];
const tip = document.getElementById("tip");
const fmt = v => (typeof v === "number")
  ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : +v.toPrecision(5))
  : String(v);
document.getElementById("summary").textContent =
  `${doc.runs.length} runs stored of ${doc.planned} planned; front over ${doc.front_metrics.join(", ")}; ` +
  `filled circles are on the front, rings are not; the dashed line joins the energy-latency front. ` +
  `Hover a point for its parameters and figures.`;
const NS = "http://www.w3.org/2000/svg";
const el = (name, attrs, parent) => { const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (parent) parent.appendChild(e); return e; };
const W = 720, H = 440, L = 80, R = 20, T = 20, B = 50;
for (const workload of Object.keys(doc.fronts)) {
  const runs = doc.runs.filter(r => r.workload === workload && r.energy_pj > 0 && r.latency_s > 0);
  const section = document.createElement("section");
  section.innerHTML = `<h2>workload ${workload}</h2>`;
  document.getElementById("plots").appendChild(section);
  const legend = document.createElement("div"); legend.className = "legend";
  legend.innerHTML = bases.map(b => `<span><i class="swatch" style="background:${color(b)}"></i>${b}</span>`).join("");
  section.appendChild(legend);
  const svg = el("svg", {width: W, height: H, class: "plot", "data-workload": workload}, section);
  if (!runs.length) {
    el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, svg).textContent = "no solved runs";
    continue;
  }
  const lx = runs.map(r => Math.log10(r.energy_pj)), ly = runs.map(r => Math.log10(r.latency_s));
  const pad = (lo, hi) => hi - lo < 1e-9 ? [lo - 0.5, hi + 0.5] : [lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)];
  const [x0, x1] = pad(Math.min(...lx), Math.max(...lx)), [y0, y1] = pad(Math.min(...ly), Math.max(...ly));
  const sx = v => L + (Math.log10(v) - x0) / (x1 - x0) * (W - L - R);
  const sy = v => H - B - (Math.log10(v) - y0) / (y1 - y0) * (H - T - B);
  el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#444"}, svg);
  el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#444"}, svg);
  el("text", {x: (L + W - R) / 2, y: H - 12, "text-anchor": "middle"}, svg).textContent =
    "energy per inference (pJ, log)";
  const yl = el("text", {x: 18, y: (T + H - B) / 2, "text-anchor": "middle",
                         transform: `rotate(-90 18 ${(T + H - B) / 2})`}, svg);
  yl.textContent = "latency (s, log)";
  for (const [v, axis, anchor] of [[10 ** x0, "x", "start"], [10 ** x1, "x", "end"],
                                   [10 ** y0, "y"], [10 ** y1, "y"]]) {
    const t = axis === "x" ? el("text", {x: sx(v), y: H - B + 16, "text-anchor": anchor, "font-size": 11}, svg)
                           : el("text", {x: L - 6, y: sy(v) + 4, "text-anchor": "end", "font-size": 11}, svg);
    t.textContent = fmt(v);
  }
  // the dashed line is this plane's energy-latency front; filled points are the sweep's front (area too)
  const front = []; let best = Infinity;
  for (const r of [...runs].sort((a, b) => a.energy_pj - b.energy_pj || a.latency_s - b.latency_s))
    if (r.latency_s < best) { front.push(r); best = r.latency_s; }
  if (front.length > 1)
    el("polyline", {points: front.map(r => `${sx(r.energy_pj)},${sy(r.latency_s)}`).join(" "),
                    fill: "none", stroke: "#888", "stroke-dasharray": "4 3"}, svg);
  for (const r of runs) {
    const c = el("circle", {cx: sx(r.energy_pj), cy: sy(r.latency_s), r: 6, class: "run",
                            fill: r.on_front ? color(r.accelerator) : "#fff", stroke: color(r.accelerator),
                            "stroke-width": 2}, svg);
    const lines = [`${r.accelerator}  (${r.objective})${r.on_front ? "  on the front" : ""}`];
    for (const [k, v] of Object.entries(r.point)) if (k !== "base") lines.push(`${k} = ${fmt(v)}`);
    for (const k of ["energy_pj", "latency_cycles", "latency_s", "area_mm2", "tops_per_w", "peak_tops_per_w",
                     "tops_per_mm2", "peak_tops_per_mm2", "utilization", "median_gap", "worst_gap"])
      if (r[k] !== null && r[k] !== undefined) lines.push(`${k} = ${fmt(r[k])}`);
    c.addEventListener("mouseenter", e => { tip.textContent = lines.join("\\n"); tip.style.display = "block"; });
    c.addEventListener("mousemove", e => {
      tip.style.left = (e.clientX + 14) + "px"; tip.style.top = (e.clientY + 14) + "px";
    });
    c.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  }
}
document.body.setAttribute("data-drawn", document.querySelectorAll("circle.run").length);
</script></body></html>
"""


def sweep_html(result: SweepResult) -> str:
    document = sweep_json(result)
    # "</" inside a script element would end it early; the JSON escape keeps the data intact
    data = json.dumps(document, default=str).replace("</", "<\\/")
    return _PAGE.replace("TITLE", html.escape(result.spec.name)).replace("DATA", data)
