"""What ``-o DIR`` writes: the JSON document, the detailed report as text, ``mappings.yaml`` for
``solve``, and PNG plots when matplotlib is installed. Each file is written whole (a temporary file
renamed over it), with the permissions the user's umask gives a new file."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from imcmap import plots
from imcmap.results import ExperimentResult, SolveResult, SweepResult
from imcmap.serialize import experiment_json, json_text, mappings_yaml, network_json, sweep_csv, sweep_json

from .experiment import render_experiment
from .solve import render_solve
from .sweep import render_sweep
from .sweep_html import sweep_html
from .text import say

REPORT_WIDTH = 120  # report.txt is read in an editor, not a terminal of unknown width


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; put it back at once
    os.umask(mask)
    return mask


def write_files(folder: str | Path, files: dict[str, str | bytes]) -> None:
    """Each file whole: a reader never sees half of one. ``mkstemp`` creates its file 0600; the
    rename would keep that, so the file gets 0666 less the umask first, as ``open`` would give it."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    mode = 0o666 & ~_umask()
    for name, content in files.items():
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb" if isinstance(content, bytes) else "w") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.replace(tmp, out / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _text(render: Callable[[Console], None]) -> str:
    buffer = io.StringIO()
    render(Console(file=buffer, width=REPORT_WIDTH, color_system=None))
    return buffer.getvalue()


def solve_files(result: SolveResult, err: Console) -> dict[str, str | bytes]:
    """result.json, mappings.yaml (re-evaluable with ``imcmap evaluate``), report.txt and, with
    matplotlib, energy_per_layer.png (else a note on ``err``)."""
    files: dict[str, str | bytes] = {
        "result.json": json_text(network_json(result), indent=1),
        "mappings.yaml": mappings_yaml(result),
        "report.txt": _text(lambda console: render_solve(console, result, detail=True)),
    }
    if plots.available():
        files["energy_per_layer.png"] = plots.energy_per_layer_png(result.network)
    else:
        say(err, f"note: {plots.MISSING}")
    return files


def experiment_files(result: ExperimentResult, err: Console) -> dict[str, str | bytes]:
    """experiment.json, report.txt (the comparison, then each run's detailed report) and, with
    matplotlib, comparison.png and energy_per_layer.png (else a note on ``err``)."""

    def report(console: Console) -> None:
        render_experiment(console, result)
        for name, run in result.runs:
            console.print()
            console.rule(f"run {name}", characters="═")
            render_solve(console, run, detail=True)

    files: dict[str, str | bytes] = {
        "experiment.json": json_text(experiment_json(result), indent=1),
        "report.txt": _text(report),
    }
    if plots.available():
        files["comparison.png"] = plots.experiment_png(result)
        files["energy_per_layer.png"] = plots.energy_per_layer_png(result.baseline.network)
    else:
        say(err, f"note: {plots.MISSING}")
    return files


def sweep_files(result: SweepResult, err: Console) -> dict[str, str | bytes]:
    """Beside ``sweep.sqlite`` (the record): sweep.json, runs.csv, report.txt, sweep.html and, with
    matplotlib, fronts.png (else a note on ``err``)."""
    files: dict[str, str | bytes] = {
        "sweep.json": json_text(sweep_json(result), indent=1),
        "runs.csv": sweep_csv(result),
        "report.txt": _text(lambda console: render_sweep(console, result)),
        "sweep.html": sweep_html(result),
    }
    if result.interrupted:
        say(err, "note: interrupted: fronts.png not drawn (run the sweep again to finish it and draw it)")
    elif plots.available():
        files["fronts.png"] = plots.sweep_fronts_png(result)
    else:
        say(err, f"note: {plots.MISSING}")
    return files
