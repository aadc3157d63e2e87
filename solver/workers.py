"""Where the network driver's tasks run: a process per task (``ProcessRunner``) or, one task at a time,
a thread of this process (``ThreadRunner``). Both hand every task one stop signal, ``runner.stop``.

A process per task: a task whose process dies (a native solver crash, the OOM killer, a signal) takes
only itself down. Its future fails with ``WorkerDied`` (the exit code or signal), the other tasks run on,
and the driver decides whether to run it again, in a fresh process. A process also gives back all its
memory when its task ends, so no worker grows over a long network; a fork costs milliseconds against a
layer's seconds. Workers ignore SIGINT (a terminal sends Ctrl-C to the whole process group): the parent
decides what Ctrl-C means and sets ``stop``, which every running search watches (``solve.search``), so a
stopped task still returns its best mapping.

A thread: a solve in the main thread would hold Python's SIGINT handler off until CP-SAT returns; in a
helper thread the main thread waits in Python, so Ctrl-C reaches it at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

EXIT_GRACE_S = 2.0  # a worker that sent its result and has not exited after this long is killed
PARENT_POLL_S = 0.5  # how often a worker checks that the process that started it is still there


class StopEvent(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...


class WorkerDied(Exception):
    """The process running a task ended without handing back a result."""

    def __init__(self, exitcode: int | None):
        self.exitcode = exitcode
        super().__init__(self.cause)

    @property
    def cause(self) -> str:
        """'killed by signal 9 (SIGKILL)' or 'exited with code 1'."""
        code = self.exitcode
        if code is None:
            return "ended without a result (exit status unknown)"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "unknown signal"
            return f"killed by signal {-code} ({name})"
        return f"exited with code {code} without a result"


class Runner(Protocol):
    """What ``network._Driver`` needs: submit, wait for any of some futures, stop, end."""

    stop: StopEvent

    def submit(self, fn: Callable[..., Any], *args: Any, first: bool = False) -> Future: ...

    def wait(self, futures: Collection[Future], timeout: float | None) -> set[Future]: ...

    def cancel_waiting(self) -> None: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


# --- in a thread ---------------------------------------------------------------------------------


class ThreadRunner:
    """Tasks one after another in one helper thread, in the order submitted."""

    def __init__(self) -> None:
        self.stop: StopEvent = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imcmap-solve")
        self._futures: list[Future] = []

    def submit(self, fn: Callable[..., Any], *args: Any, first: bool = False) -> Future:
        # ``first`` orders retries before waiting tasks; a thread never dies alone, so none come here
        future = self._pool.submit(fn, *args, stop=self.stop)
        self._futures.append(future)
        return future

    def wait(self, futures: Collection[Future], timeout: float | None) -> set[Future]:
        done, _ = wait_futures(futures, timeout, return_when=FIRST_COMPLETED)
        return done

    def cancel_waiting(self) -> None:
        for future in self._futures:
            future.cancel()  # only those not started yet
        self._futures = [f for f in self._futures if not f.done()]

    def kill(self) -> None:
        # a thread cannot be killed: the stop ends its search within ``solve.STOP_POLL_S``
        self.stop.set()
        self.cancel_waiting()

    def close(self) -> None:
        self.cancel_waiting()
        self._pool.shutdown(wait=not self.stop.is_set(), cancel_futures=True)


# --- a process per task --------------------------------------------------------------------------


def _watch_parent(parent: int, stop: StopEvent) -> None:
    """Stop this process's search when the parent is gone (killed): nobody would read its result."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    stop.set()


def _work(fn: Callable[..., Any], args: tuple[Any, ...], stop: StopEvent, writer: Connection, parent: int) -> None:
    """A worker's whole life: run ``fn(*args, stop=stop)``, send (True, result) or (False, exception)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent around the fork
    threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True).start()
    try:
        outcome: tuple[bool, Any] = (True, fn(*args, stop=stop))
    except Exception as exc:
        outcome = (False, exc)
    try:
        writer.send(outcome)
    except Exception as exc:
        writer.send((False, RuntimeError(f"a worker's result could not be sent: {type(exc).__name__}: {exc}")))
    writer.close()
    # no interpreter teardown: a fork may have copied a lock another thread of the parent held (a
    # progress bar's), and flushing under it would hang; the result is sent, nothing else is owed
    os._exit(0)


@dataclass
class _Task:
    future: Future
    fn: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass
class _Worker:
    task: _Task
    process: BaseProcess
    reader: Connection


class ProcessRunner:
    """At most ``max_workers`` tasks at once, each in a process of its own."""

    def __init__(self, max_workers: int):
        self._context = multiprocessing.get_context()
        self.stop: StopEvent = self._context.Event()
        self._max = max_workers
        self._queue: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self._exiting: list[tuple[BaseProcess, float]] = []  # sent their result; reaped when they end

    def submit(self, fn: Callable[..., Any], *args: Any, first: bool = False) -> Future:
        """Queue ``fn(*args, stop=...)`` (``first``: ahead of every task waiting); it starts in ``wait``,
        so that retries submitted together all go before the tasks that were waiting."""
        task = _Task(Future(), fn, args)
        if first:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)
        return task.future

    @property
    def pids(self) -> tuple[int, ...]:
        """The processes running a task now."""
        return tuple(w.process.pid for w in self._workers if w.process.pid is not None)

    def _launch(self) -> None:
        while self._queue and len(self._workers) < self._max and not self.stop.is_set():
            task = self._queue.popleft()
            if not task.future.set_running_or_notify_cancel():
                continue
            reader, writer = self._context.Pipe(duplex=False)
            process = self._context.Process(target=_work, args=(task.fn, task.args, self.stop, writer, os.getpid()),
                                            name="imcmap-worker", daemon=True)
            # SIGINT stays blocked until the worker ignores it: a Ctrl-C at the fork must not kill it; here
            # it is held until the worker is on the books, then raised as KeyboardInterrupt as usual
            masked = hasattr(signal, "pthread_sigmask")
            old: set[int | signal.Signals] = set()
            if masked:
                old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                process.start()
                writer.close()
                self._workers.append(_Worker(task, process, reader))
            finally:
                if masked:
                    signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def wait(self, futures: Collection[Future], timeout: float | None) -> set[Future]:
        """The futures among ``futures`` that are done, waiting up to ``timeout`` (None: no limit) for
        one; meanwhile results are taken in, deaths recorded and waiting tasks started. A slot that a
        task among ``futures`` frees is filled on the next call, after the caller has seen it (and maybe
        queued a retry first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._launch()
        while True:
            self._reap_exited()
            done = {f for f in futures if f.done()}
            if done or not self._workers:
                return done
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return done
            handles: list[Any] = [w.reader for w in self._workers] + [w.process.sentinel for w in self._workers]
            ready = set(wait_connections(handles, remaining))
            for worker in list(self._workers):
                if worker.reader in ready or worker.process.sentinel in ready:
                    self._finish(worker)
            if not any(f.done() for f in futures):
                self._launch()

    def _finish(self, worker: _Worker) -> None:
        self._workers.remove(worker)
        outcome: tuple[bool, Any] | None = None
        try:
            if worker.reader.poll():
                outcome = worker.reader.recv()
        except (EOFError, OSError):
            outcome = None  # died while sending
        except Exception as exc:
            outcome = (False, RuntimeError(f"a worker's result could not be read: {type(exc).__name__}: {exc}"))
        finally:
            worker.reader.close()
        future = worker.task.future
        if outcome is None:
            worker.process.join(EXIT_GRACE_S)
            future.set_exception(WorkerDied(worker.process.exitcode))
            return
        self._exiting.append((worker.process, time.monotonic() + EXIT_GRACE_S))
        ok, value = outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _reap_exited(self) -> None:
        still = []
        for process, deadline in self._exiting:
            if process.exitcode is None:
                if time.monotonic() < deadline:
                    still.append((process, deadline))
                    continue
                process.kill()
            process.join(0.1)
        self._exiting = still

    def cancel_waiting(self) -> None:
        for task in self._queue:
            task.future.cancel()
        self._queue.clear()

    def kill(self) -> None:
        """End every worker now (SIGKILL): their tasks fail with ``WorkerDied``."""
        self.stop.set()
        self.cancel_waiting()
        for worker in self._workers:
            worker.process.kill()
        for worker in list(self._workers):
            worker.process.join(1.0)
            self._finish(worker)
        for process, _ in self._exiting:
            process.kill()
            process.join(0.1)
        self._exiting = []

    def close(self) -> None:
        """Nothing is left behind: waiting tasks cancelled, workers still running killed."""
        self.kill()
