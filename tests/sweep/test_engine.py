"""The Dask executor for real: a LocalCluster of worker processes, tasks that finish, fail, and kill
their worker. Tasks here are functions of this module, shipped to the workers by value (this module
is not importable in them under pytest's importlib mode)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import cloudpickle
import pytest

from imcmap.models.mapping_spec import MappingSpec
from imcmap.specs import load_accelerator, load_workload, resolve
from imcmap.sweep.engine import Progress, SchedulerUnreachable, execute
from imcmap.sweep.runs import DONE, FAILED, RunOutcome, RunRequest, solve_request

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _request(key: str, accelerator: str = "dimc", objective: str = "energy") -> RunRequest:
    return RunRequest(
        key=key,
        point={"name": key},
        accelerator_name=accelerator,
        workload_name="tiny_conv",
        accelerator=load_accelerator(resolve("accelerator", accelerator)),
        workload=load_workload(resolve("workload", "tiny_conv")),
        mapping=MappingSpec(),
        objective=objective,
    )


def _quick(request: RunRequest) -> RunOutcome:
    return RunOutcome(
        key=request.key, status=DONE, figures=None, layers=(), message=request.key.upper(), wall_time_s=0.0, solver={}
    )


def _raises(request: RunRequest) -> RunOutcome:
    raise ValueError(f"bad {request.key}")


def _dies_once(request: RunRequest) -> RunOutcome:
    """Kills its worker the first time it runs (a marker file remembers), then succeeds."""
    marker = Path(request.point["marker"])  # type: ignore[arg-type]
    if not marker.exists():
        marker.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return RunOutcome(
        key=request.key, status=DONE, figures=None, layers=(), message="survived", wall_time_s=0.0, solver={}
    )


def _always_dies(request: RunRequest) -> RunOutcome:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_solves_real_runs_in_two_workers_with_the_same_results_as_in_process() -> None:
    requests = [_request("d", "dimc"), _request("a", "aimc", "latency")]
    seen: dict[str, RunOutcome] = {}
    ticks: list[Progress] = []
    execution = execute(requests, lambda r, o: seen.__setitem__(r.key, o), workers=2, progress=ticks.append)
    assert execution.completed == 2 and execution.failed == 0 and not execution.interrupted
    assert [t.done for t in ticks] == [1, 2] and ticks[-1].total == 2
    for request in requests:
        here = solve_request(request)
        there = seen[request.key]
        assert there.status == DONE
        assert there.figures == here.figures  # deterministic: same numbers in a worker as here
        assert [layer.spatial for layer in there.layers] == [layer.spatial for layer in here.layers]


def test_an_exception_in_a_task_is_a_failed_run_and_the_rest_go_on() -> None:
    seen: dict[str, RunOutcome] = {}
    execute([_request("x"), _request("y")], lambda r, o: seen.__setitem__(r.key, o), workers=1,
            task=lambda r: _raises(r) if r.key == "x" else _quick(r))
    assert seen["x"].status == FAILED and "ValueError: bad x" in seen["x"].message
    assert seen["y"].status == DONE


def test_a_worker_killed_mid_task_costs_a_retry_not_the_run(tmp_path: Path) -> None:
    request = _request("k")
    request = RunRequest(**{**{f: getattr(request, f) for f in request.__dataclass_fields__},
                            "point": {"marker": str(tmp_path / "marker")}})
    seen: dict[str, RunOutcome] = {}
    execution = execute([request], lambda r, o: seen.__setitem__(r.key, o), workers=1, task=_dies_once)
    assert (tmp_path / "marker").exists()  # the first attempt did die
    assert execution.failed == 0 and seen["k"].status == DONE and seen["k"].message == "survived"


def test_a_task_that_keeps_killing_workers_is_failed_with_the_reason() -> None:
    seen: dict[str, RunOutcome] = {}
    execution = execute([_request("z"), _request("ok")], lambda r, o: seen.__setitem__(r.key, o), workers=1,
                        task=lambda r: _always_dies(r) if r.key == "z" else _quick(r))
    assert execution.failed == 1
    assert seen["z"].status == FAILED and "killed 2 workers" in seen["z"].message
    assert seen["ok"].status == DONE


def test_an_unreachable_scheduler_is_one_clear_error() -> None:
    with pytest.raises(SchedulerUnreachable, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:9"):
        execute([_request("u")], lambda r, o: None, scheduler="tcp://127.0.0.1:9")


def test_nothing_to_run_starts_no_cluster() -> None:
    execution = execute([], lambda r, o: None)
    assert execution.completed == 0 and execution.workers == 0


def test_an_unmapped_layer_makes_the_run_incomplete_and_says_why() -> None:
    """A layer without a mapping (here: its solution replaced by a FAILED one, as after two worker deaths)
    leaves the run INCOMPLETE, and the message names the layer with its status."""
    from dataclasses import replace

    from imcmap.solver.network import solve_network
    from imcmap.solver.status import SolveStatus
    from imcmap.sweep.runs import INCOMPLETE, outcome_of

    request = _request("i")
    result = solve_network(request.workload, request.accelerator, request.mapping, "energy", request.config,
                           processes=1)
    layer = result.layers[0]
    failed = replace(layer, solution=replace(layer.solution, status=SolveStatus.FAILED, mapping=None, report=None))
    outcome = outcome_of("i", replace(result, layers=(failed,)), 0.0)
    assert outcome.status == INCOMPLETE
    assert outcome.message == "layers without a mapping: conv (FAILED)"
