"""What every workload shares: a task, a worker's progress handle, the
context its tasks share, and the loop that runs a worker's tasks.

Runs inside the lab (threads) or its worker processes: standard library only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..model import WorkerState
from ..slots import (
    CANCEL,
    CORE_WAIT0_NS,
    CORE_WAIT_END_NS,
    CPU_NS,
    DONE_NS,
    ERRORS,
    HEADER_WORDS,
    ON_CPU0_NS,
    ON_CPU_END_NS,
    SLOT_WORDS,
    STARTED_NS,
    STATE,
    TASK_INDEX,
    TASKS_DONE,
    UNITS,
)


class Progress:
    """A worker's handle on its own slot. Every method is a couple of stores."""

    __slots__ = ("words", "base", "clock_ns")

    def __init__(self, words: Any, base: int, clock_ns: Callable[[], int]) -> None:
        self.words = words
        self.base = base
        self.clock_ns = clock_ns  # time.thread_time_ns or time.process_time_ns

    def cancelled(self) -> bool:
        return self.words[CANCEL] != 0

    def state(self, state: WorkerState) -> None:
        self.words[self.base + STATE] = state

    def add_units(self, n: int) -> None:
        self.words[self.base + UNITS] += n

    @property
    def units(self) -> int:
        return int(self.words[self.base + UNITS])

    def task(self, index: int) -> None:
        self.words[self.base + TASK_INDEX] = index

    def task_done(self) -> None:
        self.words[self.base + TASKS_DONE] += 1

    def error(self) -> None:
        self.words[self.base + ERRORS] += 1

    def cpu(self) -> None:
        self.words[self.base + CPU_NS] = self.clock_ns()

    def started(self) -> None:
        """At the start signal: note this thread's own scheduler figures, the
        zero the sampler counts its time on a CPU and waiting for a core from."""
        on_cpu, waiting = own_schedstat_ns()
        self.words[self.base + ON_CPU0_NS] = on_cpu
        self.words[self.base + CORE_WAIT0_NS] = waiting
        self.words[self.base + STARTED_NS] = time.monotonic_ns()

    def finished(self) -> None:
        """At the end: the thread's own scheduler figures (once it has ended
        nobody else can read them) and the time."""
        on_cpu, waiting = own_schedstat_ns()
        self.words[self.base + ON_CPU_END_NS] = on_cpu
        self.words[self.base + CORE_WAIT_END_NS] = waiting
        self.words[self.base + DONE_NS] = time.monotonic_ns()


def own_schedstat_ns() -> tuple[int, int]:
    """(ns on a CPU, ns runnable but waiting for a core) of the calling
    thread, from the kernel; (-1, -1) where it keeps no schedstat."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu), int(waiting)
    except (OSError, ValueError):
        return -1, -1


class LocalProgress(Progress):
    """Progress into a private array: for calibration runs nobody watches."""

    def __init__(self) -> None:
        super().__init__([0] * (HEADER_WORDS + SLOT_WORDS), HEADER_WORDS, time.thread_time_ns)


@dataclass(frozen=True)
class Task:
    label: str  # shown on the lane: "chunk 2/4: 8,000,000 iterations", the URL
    amount: int  # units of work (iterations, MiB, increments); 0 for fetch
    url: str = ""
    #: a task that runs for a set time rather than a set amount (convoy)
    duration_s: float = 0.0
    #: a file the task writes its measurements to (convoy: request latencies)
    record_to: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "amount": self.amount, "url": self.url,
                "duration_s": self.duration_s, "record_to": self.record_to}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Task":
        return cls(label=d["label"], amount=int(d["amount"]), url=d.get("url", ""),
                   duration_s=float(d.get("duration_s", 0.0)), record_to=d.get("record_to", ""))


class TaskError(Exception):
    """A task failed in an expected way (a URL that did not answer): its
    message goes on the worker's lane, and the run goes on."""


@dataclass
class TaskContext:
    """What the tasks of one worker share: the race counter, a lock, an HTTP session."""

    cell: Any = None
    lock: Any = None
    race_style: str = "call"
    timeout_s: float = 10.0
    http_session: Any = None
    #: a live run: repeat the tasks until cancelled
    live: bool = False


#: A live run that keeps failing (a URL that is gone) stops after this many errors.
MAX_LIVE_ERRORS = 20

#: A workload's task runner: does ``task``, reporting progress into ``p``.
Runner = Callable[[Progress, Task, TaskContext], None]
#: The same as a coroutine, for the asyncio strategy (one event loop, one thread).
AsyncRunner = Callable[[Progress, Task, TaskContext], Awaitable[None]]


def _failed(p: Progress, errors: list[str], task: Task, exc: Exception) -> None:
    """A task failed: count it on the worker's slot and keep its message."""
    p.error()
    if isinstance(exc, TaskError):
        errors.append(f"{task.label}: {exc}")
    else:  # a bug in a workload must not kill the lab
        errors.append(f"{task.label}: {type(exc).__name__}: {exc}")


def _again(p: Progress, ctx: TaskContext, tasks: list[tuple[int, Task]], errors: list[str]) -> bool:
    """Go through the tasks once more: a live run, not stopped, not failing over and over."""
    return ctx.live and not p.cancelled() and bool(tasks) and len(errors) <= MAX_LIVE_ERRORS


def _ended(p: Progress, errors: list[str]) -> list[str]:
    p.task(-1)
    p.cpu()
    p.finished()
    if p.cancelled():
        p.state(WorkerState.CANCELLED)
    else:
        p.state(WorkerState.ERROR if errors else WorkerState.DONE)
    return errors


def run_tasks(p: Progress, runner: Runner, tasks: list[tuple[int, Task]], ctx: TaskContext) -> list[str]:
    """Run a worker's tasks in turn (in a live run, again and again until
    cancelled). Returns the error messages (one per failed task)."""
    errors: list[str] = []
    while True:
        for index, task in tasks:
            if p.cancelled():
                break
            p.task(index)
            p.state(WorkerState.RUNNING)
            try:
                runner(p, task, ctx)
            except Exception as exc:
                _failed(p, errors, task, exc)
            else:
                if not p.cancelled():
                    p.task_done()
        if not _again(p, ctx, tasks, errors):
            return _ended(p, errors)


async def run_tasks_async(p: Progress, runner: AsyncRunner, tasks: list[tuple[int, Task]],
                          ctx: TaskContext) -> list[str]:
    """``run_tasks`` for one asyncio task (one lane): the lane's tasks in turn,
    as coroutines on the loop's one thread. Returns the error messages."""
    import asyncio

    errors: list[str] = []
    while True:
        for index, task in tasks:
            if p.cancelled():
                break
            p.task(index)
            p.state(WorkerState.RUNNING)
            try:
                await runner(p, task, ctx)
            except asyncio.CancelledError:
                return _ended(p, errors)
            except Exception as exc:
                _failed(p, errors, task, exc)
            else:
                if not p.cancelled():
                    p.task_done()
        if not _again(p, ctx, tasks, errors):
            return _ended(p, errors)
