"""Run sweep tasks on Dask distributed: a LocalCluster on this machine by default, or an existing
cluster given by its scheduler address, through the same code.

* One task is one network solve (``runs.solve_request``) and holds one CPU slot: local workers have one
  thread each, and CP-SAT's ``num_workers`` is the task's ``SolverConfig.workers`` (1 by default;
  CP-SAT ignores OMP_NUM_THREADS and would otherwise take every core in every worker).
* A worker that dies while running a task (a native crash, ``kill -9``, the OOM killer) costs that task
  one retry on another worker: the local scheduler allows one failure per task
  (``distributed.scheduler.allowed-failures``); a task that kills a second worker comes back as
  ``KilledWorker`` and is reported failed with that reason. A cluster started by hand uses its own
  scheduler's setting.
* Results are handed to ``on_outcome`` in the client as each task finishes, so the caller stores every
  finished run before the next one arrives; Ctrl-C cancels what is left and closes the cluster.
* As many tasks are in flight as there are worker slots; the next is prepared (``prepare``) and sent as
  one finishes, so it carries what the finished runs stored, and the scheduler never holds the sweep.
* ``distributed`` is imported here only, when a sweep runs, so other commands do not pay for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imcmap.models.errors import ImcmapError

from .runs import FAILED, RunOutcome, RunRequest, solve_request

if TYPE_CHECKING:  # distributed is imported only when a sweep runs
    from distributed import Client, Future, LocalCluster

CONNECT_TIMEOUT_S = 10
CLOSE_TIMEOUT_S = 10
# after Ctrl-C the workers are killed first, so closing takes well under a second; a close cut shorter
# than it needs leaves the cluster to the interpreter's exit, which then waits 10 s for it
INTERRUPTED_CLOSE_TIMEOUT_S = 3
POLL_S = 0.05  # how often the client looks for finished tasks
ALLOWED_WORKER_DEATHS = 1  # per task, before it is reported failed
LOW_LEVEL_LOG_LENGTH = 50


class SchedulerUnreachable(ImcmapError):
    """``--scheduler`` names an address no Dask scheduler answers on within ``CONNECT_TIMEOUT_S``."""


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    running: int
    failed: int
    total: int
    eta_s: float | None  # from the mean wall time of the runs finished so far


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class Execution:
    completed: int
    failed: int
    interrupted: bool
    workers: int
    scheduler: str  # "local" or the address


def failed_outcome(request: RunRequest, reason: str) -> RunOutcome:
    return RunOutcome(
        key=request.key,
        status=FAILED,
        figures=None,
        layers=(),
        message=reason,
        wall_time_s=0.0,
        solver=request.config.as_dict(),
    )


def execute(
    requests: Sequence[RunRequest],
    on_outcome: Callable[[RunRequest, RunOutcome], None],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    task: Callable[[RunRequest], RunOutcome] = solve_request,
    prepare: Callable[[RunRequest], RunRequest] | None = None,
) -> Execution:
    """Run every request; ``on_outcome`` gets each result in the order they finish. ``prepare`` gives
    the request as sent, just before it is (the original is what ``on_outcome`` gets)."""
    if not requests:
        return Execution(0, 0, False, 0, scheduler or "local")
    import dask
    from distributed import Client, KilledWorker, LocalCluster

    n_workers = max(1, min(workers or os.cpu_count() or 1, len(requests)))
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_WORKER_DEATHS,
                          # one task in flight per thread: a worker's death then blames only the task it ran
                          "distributed.scheduler.worker-saturation": 1.0,
                          "distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S}s",
                          # the scheduler's debugging logs keep this many messages per worker stream, each
                          # compute-task message with its whole request: 1000 by default grew the client (the
                          # local scheduler lives in it) by about 20 kB a run (bench/README.md)
                          "distributed.admin.low-level-log-length": LOW_LEVEL_LOG_LENGTH}):
        cluster = client = execution = None
        try:
            if scheduler is None:
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, worker_dashboard_address=None,
                                       silence_logs=50)
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
                except (OSError, TimeoutError) as exc:
                    raise SchedulerUnreachable(f"no Dask scheduler answered at {scheduler} within "
                                               f"{CONNECT_TIMEOUT_S} s ({exc})") from None
                n_workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            execution = _run(client, requests, on_outcome, task, progress, n_workers, scheduler or "local",
                             KilledWorker, prepare)
            return execution
        finally:
            # after Ctrl-C the solves in flight are abandoned: do not wait for them to wind down
            interrupted = execution is None or execution.interrupted
            if interrupted and cluster is not None:
                _kill_local_workers(cluster)
            _close(client, cluster, INTERRUPTED_CLOSE_TIMEOUT_S if interrupted else CLOSE_TIMEOUT_S)


def _run(
    client: Client,
    requests: Sequence[RunRequest],
    on_outcome: Callable[[RunRequest, RunOutcome], None],
    task: Callable[[RunRequest], RunOutcome],
    progress: ProgressFn | None,
    n_workers: int,
    where: str,
    killed_worker: type[Exception],
    prepare: Callable[[RunRequest], RunRequest] | None = None,
) -> Execution:
    """Keeps ``n_workers`` tasks in flight, each prepared just before it is sent, so that it carries what
    the runs stored meanwhile taught (the layer cache, the fronts). The futures are polled, not waited
    on: distributed's ``as_completed`` blocks the main thread in a lock wait that a Ctrl-C does not
    break until the next task ends (seconds of CP-SAT)."""
    start = time.perf_counter()
    waiting = iter(requests)
    by_future: dict[Future, RunRequest] = {}

    def send() -> None:
        request = next(waiting, None)
        if request is not None:
            sent = prepare(request) if prepare is not None else request
            by_future[client.submit(task, sent, key=f"imcmap-run-{request.key}", pure=False)] = request

    done = failed = 0
    interrupted = False
    try:
        for _ in range(n_workers):
            send()
        while by_future:
            ready = [f for f in by_future if f.done()]
            if not ready:
                time.sleep(POLL_S)
                continue
            for future in ready:
                request = by_future.pop(future)
                try:
                    outcome = future.result()
                except killed_worker as exc:
                    outcome = failed_outcome(request, f"the task killed {ALLOWED_WORKER_DEATHS + 1} workers: {exc}")
                except Exception as exc:  # a bug in the task: record it, keep sweeping
                    lines = traceback.format_exception_only(type(exc), exc)
                    outcome = failed_outcome(request, "".join(lines).strip())
                future.release()
                on_outcome(request, outcome)
                done += 1
                failed += outcome.status == FAILED
                send()
                if progress is not None:
                    elapsed = time.perf_counter() - start
                    left = len(requests) - done
                    eta = elapsed / done * left if done else None
                    progress(Progress(done, min(left, n_workers), failed, len(requests), eta))
    except KeyboardInterrupt:
        interrupted = True
        client.cancel(list(by_future), force=True)
    return Execution(done, failed, interrupted, n_workers, where)


def _kill_local_workers(cluster: LocalCluster) -> None:
    """SIGKILL the local worker processes: a worker inside a CP-SAT solve does not answer its nanny's
    request to stop until the solve ends (seconds), and the solves in flight are abandoned anyway."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        nanny.auto_restart = False  # else it starts a fresh worker, and closing waits for that one
        process = getattr(getattr(nanny, "process", None), "process", None)
        pid = getattr(process, "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _close(client: Client | None, cluster: LocalCluster | None, timeout_s: float) -> None:
    """Close within ``timeout_s``; worker processes left behind by a timeout end with this process."""
    for thing in (client, cluster):
        if thing is not None:
            with contextlib.suppress(TimeoutError, OSError, RuntimeError):
                thing.close(timeout=timeout_s)
