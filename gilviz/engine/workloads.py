"""The demos: what a worker does. Runs inside the lab (threads) or its worker
processes. Standard library only, plus ``requests`` for ``fetch``.

Every workload is a list of *tasks* that does not depend on the strategy, so
sequential, threads and processes all do exactly the same total work:

- ``count``: the countdown loop ``while n > 0: n -= 1`` (pure Python, holds
  the GIL). The total iterations are split into one chunk per worker.
- ``hash``: SHA-256 over 1 MiB buffers. hashlib releases the GIL while it
  hashes a buffer larger than 2 KiB, so threads do scale.
- ``race``: increments of a shared counter, by read, call, write. Since
  CPython 3.10 the interpreter only switches threads at calls and backward
  jumps, so the seed notes' ``counter += 1`` never loses an update; a call
  between the read and the write is where the switch happens.
- ``fetch``: HTTP GET of a URL with requests, streaming the body. The GIL is
  released while the socket waits.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable

from .model import WorkerState
from .slots import CANCEL, CPU_NS, ERRORS, STATE, TASK_INDEX, TASKS_DONE, UNITS

#: Default total sizes, chosen so a sequential run takes 1-2 s on a laptop.
DEFAULT_SIZES = {
    "count": 32_000_000,  # iterations
    "hash": 2048,  # MiB
    "race": 1_000_000,  # increments
    "fetch": 256 * 1024,  # body bytes per URL (embedded server)
}
DEFAULT_FETCH_URLS = 6

COUNT_CHUNK = 200_000  # iterations between two progress writes (~10 ms)
HASH_BLOCK = 1 << 20  # bytes hashed per call
RACE_CHUNK = 2_000  # increments between two progress writes
FETCH_CHUNK = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024  # a body larger than this is an error


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

    def task(self, index: int) -> None:
        self.words[self.base + TASK_INDEX] = index

    def task_done(self) -> None:
        self.words[self.base + TASKS_DONE] += 1

    def error(self) -> None:
        self.words[self.base + ERRORS] += 1

    def cpu(self) -> None:
        self.words[self.base + CPU_NS] = self.clock_ns()


class LocalProgress(Progress):
    """Progress into a private array: for calibration runs nobody watches."""

    def __init__(self) -> None:
        super().__init__([0] * 16, 8, time.thread_time_ns)


@dataclass(frozen=True)
class Task:
    label: str  # shown on the lane: "chunk 2/4", the URL
    amount: int  # iterations, MiB, increments; 0 for fetch
    url: str = ""


def plan(workload: str, tasks: int, size: int, urls: tuple[str, ...]) -> list[Task]:
    """Split the total work into tasks (one per worker, or one per URL)."""
    if workload == "fetch":
        return [Task(label=u, amount=0, url=u) for u in urls]
    tasks = max(1, min(tasks, size))
    share, extra = divmod(size, tasks)
    unit = {"count": "iterations", "hash": "MiB", "race": "increments"}[workload]
    return [
        Task(label=f"chunk {i + 1}/{tasks}: {share + (i < extra):,} {unit}", amount=share + (i < extra))
        for i in range(tasks)
    ]


# --- count -----------------------------------------------------------------


def countdown(n: int) -> None:
    """The seed notes' CPU-bound loop."""
    while n > 0:
        n -= 1


def run_count(p: Progress, task: Task, ctx: "TaskContext") -> None:
    n = task.amount
    while n > 0:
        if p.cancelled():
            return
        step = COUNT_CHUNK if n > COUNT_CHUNK else n
        m = step
        while m > 0:  # the countdown loop, inlined: no extra call per chunk
            m -= 1
        n -= step
        p.add_units(step)
        p.cpu()


# --- hash ------------------------------------------------------------------

_BLOCK = bytes(range(256)) * (HASH_BLOCK // 256)


def run_hash(p: Progress, task: Task, ctx: "TaskContext") -> None:
    h = hashlib.sha256()
    for _ in range(task.amount):
        if p.cancelled():
            return
        h.update(_BLOCK)  # releases the GIL for the whole MiB
        p.add_units(HASH_BLOCK)
        p.cpu()
    h.hexdigest()


# --- race ------------------------------------------------------------------


class Cell:
    """The shared counter for threads: a plain Python attribute."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class SharedCell:
    """The shared counter for processes: a word of shared memory."""

    __slots__ = ("words", "index")

    def __init__(self, words: Any, index: int) -> None:
        self.words = words
        self.index = index

    @property
    def value(self) -> int:
        return self.words[self.index]

    @value.setter
    def value(self, v: int) -> None:
        self.words[self.index] = v


def switch_point() -> None:
    """Any call will do: entering a function is where CPython (3.10+) checks
    whether another thread asked for the GIL, so a thread switch can happen
    here, between the read and the write of the counter."""


#: The seed notes' counter, for the "plain" race under threads: a module global.
counter = 0


def _plain_increments(step: int) -> None:
    """The seed notes' race, verbatim. On CPython 3.10+ no thread switch can
    fall between the read and the write of ``counter += 1`` (there is no call
    and no backward jump inside it), so no update is lost."""
    global counter
    for _ in range(step):
        counter += 1


def _plain_increments_locked(step: int, lock: Any) -> None:
    global counter
    for _ in range(step):
        with lock:
            counter += 1


def _plain_cell_increments(cell: Any, step: int) -> None:
    """``counter += 1`` on shared memory (processes): no GIL is shared, the
    processes run at the same time, and updates are lost."""
    for _ in range(step):
        cell.value += 1


def run_race(p: Progress, task: Task, ctx: "TaskContext") -> None:
    if ctx.race_style == "plain":
        return _run_plain_race(p, task, ctx)
    cell, lock = ctx.cell, ctx.lock
    left = task.amount
    while left > 0:
        if p.cancelled():
            return
        step = RACE_CHUNK if left > RACE_CHUNK else left
        if lock is None:
            for _ in range(step):
                value = cell.value  # read
                switch_point()  # another thread may run here...
                cell.value = value + 1  # ...and its increments are overwritten
        else:
            for _ in range(step):
                with lock:
                    value = cell.value
                    switch_point()
                    cell.value = value + 1
        left -= step
        p.add_units(step)
        p.cpu()


def _run_plain_race(p: Progress, task: Task, ctx: "TaskContext") -> None:
    cell, lock = ctx.cell, ctx.lock
    shared = isinstance(cell, SharedCell)
    left = task.amount
    while left > 0:
        if p.cancelled():
            return
        step = RACE_CHUNK if left > RACE_CHUNK else left
        if shared:
            if lock is None:
                _plain_cell_increments(cell, step)
            else:
                for _ in range(step):
                    with lock:
                        cell.value += 1
        elif lock is None:
            _plain_increments(step)
        else:
            _plain_increments_locked(step, lock)
        left -= step
        p.add_units(step)
        p.cpu()


# --- fetch -----------------------------------------------------------------


class FetchError(Exception):
    pass


def run_fetch(p: Progress, task: Task, ctx: "TaskContext") -> None:
    import requests  # imported here: the CPU workloads never need it

    session = ctx.http_session
    if session is None:
        session = ctx.http_session = requests.Session()
    deadline = time.monotonic() + ctx.timeout_s
    p.state(WorkerState.WAITING)
    received = 0
    try:
        with session.get(task.url, timeout=ctx.timeout_s, stream=True, allow_redirects=True) as resp:
            resp.raise_for_status()
            for chunk in resp.iter_content(FETCH_CHUNK):
                received += len(chunk)
                p.add_units(len(chunk))
                if received > MAX_BODY_BYTES:
                    raise FetchError(f"body larger than {MAX_BODY_BYTES // (1 << 20)} MiB, stopped")
                if time.monotonic() > deadline:
                    raise FetchError(f"took longer than {ctx.timeout_s:g} s, stopped")
                if p.cancelled():
                    return
    except requests.exceptions.HTTPError as exc:
        raise FetchError(f"HTTP {exc.response.status_code} {exc.response.reason}") from None
    except requests.exceptions.ConnectionError as exc:
        raise FetchError(f"connection failed: {_reason(exc)}") from None
    except requests.exceptions.Timeout:
        raise FetchError(f"no answer within {ctx.timeout_s:g} s") from None
    except requests.exceptions.TooManyRedirects:
        raise FetchError("too many redirects") from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{type(exc).__name__}: {_reason(exc)}") from None
    finally:
        p.cpu()


def _reason(exc: BaseException) -> str:
    """The innermost, most telling reason of a requests exception."""
    import re

    text = str(exc)
    host = re.search(r"Failed to resolve '([^']+)'", text)
    if host:
        return f"cannot resolve host {host.group(1)!r}"
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if errno:
        return errno.group(0).strip()
    return text[:160]


RUNNERS = {"count": run_count, "hash": run_hash, "race": run_race, "fetch": run_fetch}


@dataclass
class TaskContext:
    """What the tasks of one worker share: the race counter, a lock, an HTTP session."""

    cell: Any = None
    lock: Any = None
    race_style: str = "call"
    timeout_s: float = 10.0
    http_session: Any = None


def run_tasks(p: Progress, workload: str, tasks: list[tuple[int, Task]], ctx: TaskContext) -> list[str]:
    """Run a worker's tasks in turn. Returns the error messages (one per failed task)."""
    runner = RUNNERS[workload]
    errors: list[str] = []
    for index, task in tasks:
        if p.cancelled():
            break
        p.task(index)
        p.state(WorkerState.RUNNING)
        try:
            runner(p, task, ctx)
        except FetchError as exc:
            p.error()
            errors.append(f"{task.label}: {exc}")
        except Exception as exc:  # a bug in a workload must not kill the lab
            p.error()
            errors.append(f"{task.label}: {type(exc).__name__}: {exc}")
        else:
            if not p.cancelled():
                p.task_done()
    p.task(-1)
    p.cpu()
    if p.cancelled():
        p.state(WorkerState.CANCELLED)
    else:
        p.state(WorkerState.ERROR if errors else WorkerState.DONE)
    return errors


def solo_rate(workload: str, lock: bool, seconds: float = 0.15) -> float | None:
    """Units per second one worker does alone, measured now on this core."""
    if workload == "fetch":
        return None
    p = LocalProgress()
    ctx = TaskContext(cell=Cell(), lock=__import__("threading").Lock() if lock else None)
    amount = {"count": COUNT_CHUNK, "hash": 8, "race": RACE_CHUNK * 5}[workload]
    task = Task(label="calibration", amount=amount)
    runner = RUNNERS[workload]
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        runner(p, task, ctx)
    elapsed = time.perf_counter() - start
    return p.words[p.base + UNITS] / elapsed
