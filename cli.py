"""The ``imcmap`` command: parse the arguments, call ``api``, render the result, pick the exit code.

Every subcommand is one ``Command`` in ``COMMANDS``: a function that adds its arguments and a function
that runs it with the parsed arguments and the ``Consoles`` (stdout, stderr) ``main`` was given,
returning the exit code. The reports are drawn by ``report``; JSON documents come from ``serialize``.

Exit codes: 0 ok (also when ``--total-time-limit`` ended ``solve`` with some layers mapped; the others
are named); 2 invalid input (a ``SpecError``) or invalid usage, printed as one message on stderr, never
a traceback; 3 a layer has no legal mapping; 4 the run is incomplete: a time limit came before a
mapping was found (under ``--total-time-limit``: for every layer), or a layer's worker process died on
its try and on its retry (status ``FAILED``, with the cause); 130 interrupted.

Ctrl-C during ``solve`` or ``experiment`` stops the running searches, keeps each layer's best mapping so
far (status ``FEASIBLE``, with its certified gap), writes the report and the ``-o`` files with all of
it, and exits 130; a Ctrl-C while the results are being written is held until they are whole. A second
Ctrl-C exits at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn, TextIO, cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from imcmap import __version__, api
from imcmap.report.evaluate import render_evaluation
from imcmap.report.experiment import render_experiment
from imcmap.report.files import experiment_files, solve_files, sweep_files, write_files
from imcmap.report.show import render_listing, render_show
from imcmap.report.solve import render_solve, report_infeasible
from imcmap.report.sweep import render_sweep
from imcmap.report.text import print_notes
from imcmap.report.validate import render_validation
from imcmap.serialize import (
    evaluation_json,
    experiment_json,
    json_text,
    network_json,
    show_json,
    sweep_json,
    validation_json,
)
from imcmap.specs import SpecError

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4
EXIT_INTERRUPTED = 130


class PiecewiseStream:
    """A text stream that hands each write on in pieces of ``PIECE`` characters. CPython drops the rest
    of one large write to a full pipe when a signal interrupts it (a Ctrl-C that ``held_interrupt``
    holds while a report or JSON document is printed), while small writes are retried whole."""

    PIECE = 4096

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        for begin in range(0, len(text), self.PIECE):
            self._stream.write(text[begin:begin + self.PIECE])
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _piecewise(stream: TextIO) -> TextIO:
    # a PiecewiseStream is a TextIO by delegation (``__getattr__``), which the type system cannot see
    return cast(TextIO, PiecewiseStream(stream))


@dataclass(frozen=True, slots=True)
class Consoles:
    out: Console  # the report, or the JSON document
    err: Console  # errors, notes, progress


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Consoles], int]


COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    COMMANDS[command.name] = command
    return command


class UsageError(Exception):
    """Invalid command-line usage; ``main`` prints it as one line and exits 2."""


class _Parser(argparse.ArgumentParser):
    # argparse prints usage and calls sys.exit on errors; we want one message and a return code.
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imcmap",
        description="Optimal mappings and costs for SRAM in-memory-computing DNN accelerators.",
    )
    parser.add_argument("--version", action="version", version=f"imcmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_arguments(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    console: Console | None = None,
    err_console: Console | None = None,
) -> int:
    """Run one command; return its exit code (tests pass consoles writing to StringIO)."""
    consoles = Consoles(console if console is not None else Console(file=_piecewise(sys.stdout)),
                        err_console if err_console is not None else Console(file=_piecewise(sys.stderr)))
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version print, then exit
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if args.command is None:
            names = ", ".join(COMMANDS)
            raise UsageError(f"imcmap: error: a command is required: {names} (see 'imcmap --help')")
        return COMMANDS[args.command].run(args, consoles)
    except (SpecError, UsageError) as exc:
        consoles.err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except KeyboardInterrupt:
        consoles.err.print("interrupted", markup=False, highlight=False)
        return EXIT_INTERRUPTED


@contextmanager
def held_interrupt() -> Iterator[list[int]]:
    """While the results are written and printed: a first Ctrl-C is held (noted in the list yielded) so
    that the files come out whole; a second one raises KeyboardInterrupt at once."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held  # signal handlers belong to the main thread; there is nothing to hold here
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        if held:
            raise KeyboardInterrupt
        held.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


def print_json(console: Console, document: dict[str, object], indent: int) -> None:
    """The document alone on ``console``'s file, as it is (no wrapping, markup or highlighting)."""
    console.file.write(json_text(document, indent) + "\n")
    console.file.flush()


def _positive(command: str, flag: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise UsageError(f"imcmap {command}: error: {flag} must be a positive number of seconds (got {value})")


def _processes(command: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise UsageError(f"imcmap {command}: error: --processes must be >= 1 (got {value})")


def _bar(err: Console, quiet: bool, label: str) -> tuple[Progress, TaskID]:
    """A bar on stderr while work runs (only on a terminal, and not under --json)."""
    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
        console=err, transient=True, disable=quiet or not err.is_terminal,
    )
    return progress, progress.add_task("", total=None)


def _progress(err: Console, quiet: bool) -> tuple[Progress, Callable[[api.LayerDone], None]]:
    """The bar of layers solved."""
    progress, task = _bar(err, quiet, "solving")

    def advance(tick: api.LayerDone) -> None:
        where = f"{tick.run}: {tick.layer}" if tick.run else tick.layer
        progress.update(task, total=tick.total, completed=tick.done, description=where)

    return progress, advance


# --- imcmap list --------------------------------------------------------------------------------


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=api.SPEC_KINDS)


def _run_list(args: argparse.Namespace, consoles: Consoles) -> int:
    render_listing(consoles.out, api.list_specs(args.kind))
    return EXIT_OK


register(Command("list", "list the bundled accelerators, workloads, mappings and experiments", _list_arguments,
                 _run_list))


# --- imcmap show --------------------------------------------------------------------------------


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--accelerator", metavar="ACCEL", help="bundled accelerator name or a path")
    parser.add_argument("-w", "--workload", metavar="WORKLOAD", help="bundled workload name or a .yaml/.onnx path")
    parser.add_argument("-m", "--mapping", metavar="MAPPING", help="bundled mapping spec name or a path")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")


def _run_show(args: argparse.Namespace, consoles: Consoles) -> int:
    if not (args.accelerator or args.workload or args.mapping):
        raise UsageError("imcmap show: error: give at least one of -a, -w, -m (see 'imcmap show --help')")
    result = api.show(args.accelerator or None, args.workload or None, args.mapping or None)
    print_notes(consoles.err, result.notes)
    if args.json:
        print_json(consoles.out, show_json(result), indent=2)
    else:
        render_show(consoles.out, result)
    return EXIT_OK


register(Command("show", "validate specs and show what was understood", _show_arguments, _run_show))


# --- imcmap evaluate ----------------------------------------------------------------------------


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--accelerator", metavar="ACCEL", required=True,
                        help="bundled accelerator name or a path")
    parser.add_argument("-w", "--workload", metavar="WORKLOAD", required=True,
                        help="bundled workload name or a .yaml/.onnx path")
    parser.add_argument("-m", "--mapping", metavar="FULL_MAPPING", required=True,
                        help="full mapping file (.yaml): spatial unrolling and every temporal loop of the layers it "
                             "names")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")


def _run_evaluate(args: argparse.Namespace, consoles: Consoles) -> int:
    result = api.evaluate(args.accelerator, args.workload, args.mapping)
    print_notes(consoles.err, result.notes)
    if args.json:
        print_json(consoles.out, evaluation_json(result), indent=2)
    else:
        render_evaluation(consoles.out, result)
    return EXIT_OK


register(Command("evaluate",
                 "price a full mapping of a workload's layers on an accelerator (illegal mappings are explained, "
                 "not priced)",
                 _evaluate_arguments, _run_evaluate))


# --- imcmap validate ----------------------------------------------------------------------------


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chips", nargs="*", metavar="CHIP",
                        help="bundled chip names or chip files (default: every bundled chip)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")


def _run_validate(args: argparse.Namespace, consoles: Consoles) -> int:
    result = api.validate(args.chips)
    if args.json:
        print_json(consoles.out, validation_json(result.chips), indent=2)
    else:
        render_validation(consoles.out, result)
    return EXIT_OK


register(Command("validate",
                 "the IMC macro model against the seven published chips (model, reported, ratio, ZigZag-IMC's ratio)",
                 _validate_arguments, _run_validate))


# --- imcmap solve ------------------------------------------------------------------------------


def _solve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--accelerator", required=True, help="bundled name or path (imcmap or ZigZag 3.x YAML)")
    parser.add_argument("-w", "--workload", required=True, help="bundled name or path (.onnx or YAML)")
    parser.add_argument("-m", "--mapping", help="mapping spec: fixed or restricted spatial unrolling, operand links")
    parser.add_argument("--objective", choices=("energy", "latency", "edp"), default="energy")
    parser.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                        help="per layer, in CP-SAT deterministic seconds (default 10; keeps runs repeatable)")
    parser.add_argument("--total-time-limit", type=float, metavar="SECONDS",
                        help="wall-clock limit for the whole network")
    parser.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
    parser.add_argument("--processes", type=int, help="layers solved in parallel (default: all cores)")
    parser.add_argument("--no-dataflow", action="store_true",
                        help="do not keep a layer's output on chip for the next layer")
    parser.add_argument("--diagonal", action="store_true",
                        help="also search diagonal OX/OY unrolling over IMC columns where the mapping spec does not "
                             "say")
    parser.add_argument("--latency-bound", action="store_true",
                        help="latency or EDP on a ZigZag file: also prove a lower bound on ZigZag's latency (compute "
                             "and port cycles; for EDP times the energy bound), so the gaps are certified; about 2-3x "
                             "the solve time")
    parser.add_argument("--detail", action="store_true", help="also print each layer's loop nest and energy breakdown")
    parser.add_argument("-o", "--output", metavar="DIR", help="write result.json, mappings.yaml and report.txt to DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument(
        "--constraint", action="append", default=[], metavar="TEXT",
        help="a mapping constraint, repeatable, e.g. 'spatial.D1.K >= 16' or 'Conv: stationary W at cells' "
        "(grammar: README, 'Constraints')",
    )


def _run_solve(args: argparse.Namespace, consoles: Consoles) -> int:
    _positive("solve", "--time-limit", args.time_limit)
    _positive("solve", "--total-time-limit", args.total_time_limit)
    _processes("solve", args.processes)
    progress, advance = _progress(consoles.err, args.json)
    with progress:
        result = api.solve(
            args.accelerator, args.workload, args.mapping, args.objective, args.constraint,
            time_limit_s=args.time_limit, seed=args.seed, processes=args.processes,
            total_time_limit_s=args.total_time_limit, dataflow=not args.no_dataflow, diagonal=args.diagonal,
            latency_bound=args.latency_bound, progress=advance,
        )
    with held_interrupt() as held:
        print_notes(consoles.err, result.notes)
        if args.output:
            write_files(args.output, solve_files(result, consoles.err))
        if args.json:
            print_json(consoles.out, network_json(result), indent=1)
        else:
            render_solve(consoles.out, result, detail=args.detail)
        if result.infeasible and not args.json and not result.interrupted:
            report_infeasible(consoles.err, result)
    if result.interrupted or held:
        return EXIT_INTERRUPTED
    return _solve_exit_code(result)


def _solve_exit_code(result: api.SolveResult) -> int:
    """3 infeasible; 4 incomplete (a worker died twice; a layer without a mapping, except that under
    the total time limit only a run with no mapping at all is); else 0."""
    if result.infeasible:
        return EXIT_INFEASIBLE
    if result.network.failed:
        return EXIT_NO_SOLUTION
    if result.network.time_limit_reached:
        mapped = any(r.solution.mapping is not None for r in result.layers)
        return EXIT_OK if mapped else EXIT_NO_SOLUTION
    return EXIT_OK if result.complete else EXIT_NO_SOLUTION


register(Command("solve", "find the optimal mapping of every layer (CP-SAT) and price it exactly", _solve_arguments,
                 _run_solve))


# --- imcmap experiment -------------------------------------------------------------------------


def _experiment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="EXPERIMENT", help="experiment YAML file, or a bundled experiment's name")
    parser.add_argument("--processes", type=int, help="layers solved in parallel (default: all cores)")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="write experiment.json and report.txt to DIR "
                        "(and comparison.png, energy_per_layer.png with matplotlib)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def _run_experiment(args: argparse.Namespace, consoles: Consoles) -> int:
    _processes("experiment", args.processes)
    progress, advance = _progress(consoles.err, args.json)
    with progress:
        result = api.experiment(args.experiment, processes=args.processes, progress=advance)
    infeasible = [(name, run) for name, run in result.runs if run.infeasible]
    with held_interrupt() as held:
        if args.output:
            write_files(args.output, experiment_files(result, consoles.err))
        if args.json:
            print_json(consoles.out, experiment_json(result), indent=1)
        else:
            render_experiment(consoles.out, result)
        if infeasible and not args.json and not result.interrupted:
            for name, run in infeasible:
                report_infeasible(consoles.err, run, prefix=f"{name}: ")
    if result.interrupted or held:
        return EXIT_INTERRUPTED
    if infeasible:
        return EXIT_INFEASIBLE
    return EXIT_OK if result.complete else EXIT_NO_SOLUTION


register(Command("experiment", "solve a baseline and its variants (constraints, hardware changes) and compare them",
                 _experiment_arguments, _run_experiment))


# --- imcmap sweep ------------------------------------------------------------------------------


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", metavar="SWEEP", help="sweep YAML file, or a bundled sweep's name")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="results folder (default sweep-NAME): sweep.sqlite, runs.csv, sweep.json, report.txt, "
                        "sweep.html and, with matplotlib, fronts.png; runs stored there are not solved again")
    parser.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster whose scheduler is at "
                        "ADDRESS (tcp://HOST:PORT) instead of a local one")
    parser.add_argument("--fresh", action="store_true", help="forget the runs stored in the folder first")
    parser.add_argument("--prune", action="store_true", help="give up a run as soon as its layers solved so far "
                        "prove it off its workload's front (stored as pruned; a rerun without --prune solves it)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def _sweep_progress(err: Console, quiet: bool) -> tuple[Progress, Callable[[api.SweepProgress], None]]:
    """The bar of runs stored, with those running, failed and the time left."""
    progress, task = _bar(err, quiet, "sweeping")

    def advance(tick: api.SweepProgress) -> None:
        eta = "" if tick.eta_s is None else f", about {tick.eta_s:.0f} s left"
        progress.update(task, total=tick.total, completed=tick.done,
                        description=f"{tick.running} running, {tick.failed} failed{eta}")

    return progress, advance


def _run_sweep(args: argparse.Namespace, consoles: Consoles) -> int:
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"imcmap sweep: error: --workers must be >= 1 (got {args.workers})")
    spec = api.load_sweep(args.sweep)
    progress, advance = _sweep_progress(consoles.err, args.json)
    try:
        with progress:
            result = api.sweep(spec, args.output, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
                               progress=advance, prune=args.prune)
    except api.SchedulerUnreachable as exc:
        raise UsageError(f"imcmap sweep: error: {exc}") from None
    write_files(result.folder, sweep_files(result, consoles.err))
    if args.json:
        print_json(consoles.out, sweep_json(result), indent=1)
    else:
        render_sweep(consoles.out, result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.complete else EXIT_NO_SOLUTION


register(Command("sweep", "solve every design point of a hardware sweep and show the Pareto fronts",
                 _sweep_arguments, _run_sweep))


if __name__ == "__main__":
    sys.exit(main())
