"""Strategies: how the lab runs a workload's tasks.

- ``sequential``: one worker thread does every task in turn.
- ``threads``: one thread per worker inside the lab; they share its GIL.
- ``processes``: one process per worker; each has its own interpreter and GIL.

Workers are created first, each writes its OS id into its slot and waits for
the start signal (the GO word), so the measured wall time is the work, and the
cost of creating threads or processes is reported apart as ``startup_s``.

Runs inside the lab: standard library only.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .model import RunRequest, WorkerState
from .plan import Lane, RunPlan
from .slots import CPU_NS, GO, OS_ID, RACE_COUNTER, STATE, Slots
from .workloads import Progress, TaskContext, race, run_tasks, spec

START_TIMEOUT_S = 60.0  # workers that are not ready by then: the run fails
CANCEL_GRACE_S = 2.0  # after a cancel, how long workers get to notice
WATCHDOG_PERIOD_S = 0.25


@dataclass
class Outcome:
    """What the lab reports when a run ends."""

    wall_s: float
    cpu_s: float
    startup_s: float
    cancelled: bool
    workers: list[dict[str, Any]]
    errors: list[str]
    race_actual: int | None = None
    notes: list[str] = field(default_factory=list)


def _wait_for_go(go: Any, words: Any) -> None:
    """Block (without spinning: 256 spinning workers would slow the start)
    until the start signal; the GO word is for readers of the slots."""
    while not go.wait(0.5):
        if words[GO]:
            return


# --- threads -----------------------------------------------------------------


def _thread_main(slots: Slots, index: int, workload: str, tasks: list, ctx: TaskContext, go: Any, out: dict) -> None:
    words = slots.words
    base = slots.base(index)
    words[base + OS_ID] = threading.get_native_id()
    p = Progress(words, base, time.thread_time_ns)
    _wait_for_go(go, words)
    words[base + CPU_NS] = 0
    start_ns = time.thread_time_ns()
    p.clock_ns = lambda: time.thread_time_ns() - start_ns
    out["errors"] = run_tasks(p, spec(workload).runner, tasks, ctx)


# --- processes ---------------------------------------------------------------


def _gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (ended, or a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _watch_lab(lab_pid: int) -> None:
    """In a worker process: exit at once when the lab is gone (no orphans).

    Our parent is the lab's fork server, which cannot notice the lab's death
    while we live (every worker holds its liveness pipe), so we watch the lab."""
    parent = os.getppid()
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if os.getppid() != parent or _gone(lab_pid):
            os._exit(3)


def _process_main(
    slots_path: str,
    index: int,
    workload: str,
    tasks: list,
    lock: Any,
    timeout_s: float,
    switch_interval_s: float | None,
    race_style: str,
    lab_pid: int,
    go: Any,
    results: Any,
) -> None:
    threading.Thread(target=_watch_lab, args=(lab_pid,), daemon=True).start()
    _warm_up(workload)
    if switch_interval_s:
        sys.setswitchinterval(switch_interval_s)
    slots = Slots(slots_path)
    words = slots.words
    base = slots.base(index)
    ctx = TaskContext(cell=race.SharedCell(words, RACE_COUNTER), lock=lock, race_style=race_style, timeout_s=timeout_s)
    words[base + OS_ID] = os.getpid()
    _wait_for_go(go, words)
    start_ns = time.process_time_ns()
    p = Progress(words, base, lambda: time.process_time_ns() - start_ns)
    errors = run_tasks(p, spec(workload).runner, tasks, ctx)
    results.put((index, errors))


# --- the run -----------------------------------------------------------------


_context: Any = None


def mp_context() -> Any:
    """A fork server where there is one (Linux, macOS), else spawn.

    Not plain fork: the lab has threads, and forking a process with threads
    is unsafe. spawn starts a fresh interpreter per worker (~0.2 s each here,
    a minute for 256); the fork server is started once, with the workload
    modules imported, and forks each worker from that clean process."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["gilviz.engine.strategies", "requests"])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


def _warm_up(workload: str) -> None:
    """Import what a workload needs before the start signal, not on the clock."""
    if workload == "fetch":
        import requests  # noqa: F401


def execute(request: RunRequest, plan: RunPlan, slots: Slots, on_started: Callable[[float], None]) -> Outcome:
    """Run ``request`` as ``plan`` says, to the end (or until cancelled). Blocking."""
    words = slots.words
    lanes = plan.lanes
    _warm_up(request.workload)
    if request.switch_interval_s:
        sys.setswitchinterval(request.switch_interval_s)
    t_create = time.perf_counter()
    if request.strategy == "processes":
        outcome = _run_processes(request, slots, lanes, on_started, t_create)
    else:
        outcome = _run_threads(request, slots, lanes, on_started, t_create)
    # every worker has ended: anything still "running" did not report back
    for i in range(len(lanes)):
        state = slots.get(i, STATE)
        if state in (WorkerState.QUEUED, WorkerState.RUNNING, WorkerState.WAITING):
            words[slots.base(i) + STATE] = WorkerState.CANCELLED if slots.cancelled else WorkerState.ERROR
    return outcome


def _ready(slots: Slots, n: int) -> bool:
    return all(slots.get(i, OS_ID) for i in range(n))


def _run_threads(request: RunRequest, slots: Slots, lanes: tuple[Lane, ...],
                 on_started: Callable[[float], None], t_create: float) -> Outcome:
    words = slots.words
    cell = race.Cell()
    lock = threading.Lock() if request.lock else None
    outs: list[dict] = [{} for _ in lanes]
    race.counter = 0  # the plain race's global
    go = threading.Event()
    threads = []
    name = "sequential" if request.strategy == "sequential" else "thread"
    for i, lane in enumerate(lanes):
        ctx = TaskContext(cell=cell, lock=lock, race_style=request.race_style, timeout_s=request.timeout_s)
        t = threading.Thread(
            target=_thread_main,
            args=(slots, i, request.workload, lane, ctx, go, outs[i]),
            name=f"{name}-{i}",
            daemon=True,
        )
        threads.append(t)
        t.start()
    while not _ready(slots, len(lanes)):
        time.sleep(0.005)
    startup_s = time.perf_counter() - t_create
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    words[GO] = 1
    go.set()
    on_started(startup_s)
    cancel_at = None
    for t in threads:
        while t.is_alive():
            t.join(0.05)
            if slots.cancelled:
                cancel_at = cancel_at or time.perf_counter()
                if time.perf_counter() - cancel_at > CANCEL_GRACE_S:
                    break
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    stuck = [t.name for t in threads if t.is_alive()]
    workers = []
    errors = []
    for i, t in enumerate(threads):
        errs = outs[i].get("errors", [])
        errors.extend(errs)
        workers.append({"index": i, "name": t.name, "kind": "thread", "errors": errs})
    notes = [f"{len(stuck)} thread(s) still blocked after the cancel: {', '.join(stuck)}"] if stuck else []
    race_actual = None
    if request.workload == "race":
        race_actual = race.counter if request.race_style == "plain" else cell.value
    return Outcome(wall_s, cpu_s, startup_s, slots.cancelled, workers, errors, race_actual, notes)


def _run_processes(request: RunRequest, slots: Slots, lanes: tuple[Lane, ...],
                   on_started: Callable[[float], None], t_create: float) -> Outcome:
    words = slots.words
    ctx = mp_context()
    lock = ctx.Lock() if request.lock and request.workload == "race" else None
    results = ctx.SimpleQueue()
    go = ctx.Event()
    procs = []
    for i, lane in enumerate(lanes):
        p = ctx.Process(
            target=_process_main,
            args=(slots.path, i, request.workload, lane, lock, request.timeout_s,
                  request.switch_interval_s, request.race_style, os.getpid(), go, results),
            name=f"process-{i}",
            daemon=True,
        )
        procs.append(p)
        p.start()
    deadline = time.perf_counter() + START_TIMEOUT_S
    while not _ready(slots, len(lanes)):
        dead = [p for p in procs if p.exitcode is not None]
        if dead or time.perf_counter() > deadline or slots.cancelled:
            for p in procs:
                p.kill()
            for p in procs:
                p.join()
            why = "cancelled" if slots.cancelled else (
                f"worker process {dead[0].name} exited with status {dead[0].exitcode} before starting"
                if dead else f"worker processes not ready after {START_TIMEOUT_S:g} s")
            return Outcome(0.0, 0.0, time.perf_counter() - t_create, slots.cancelled,
                           [{"index": i, "name": p.name, "kind": "process", "errors": []} for i, p in enumerate(procs)],
                           [why])
        time.sleep(0.005)
    startup_s = time.perf_counter() - t_create
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    words[GO] = 1
    go.set()
    on_started(startup_s)
    cancel_at = None
    pending = list(procs)
    reported: dict[int, list[str]] = {}

    def drain() -> None:  # keep the pipe from filling up and blocking a worker
        while not results.empty():
            index, errs = results.get()
            reported[index] = errs

    while pending:
        multiprocessing.connection.wait([p.sentinel for p in pending] + [results._reader], timeout=0.05)
        drain()
        pending = [p for p in pending if p.exitcode is None]
        if slots.cancelled and pending:
            cancel_at = cancel_at or time.perf_counter()
            if time.perf_counter() - cancel_at > CANCEL_GRACE_S:
                for p in pending:
                    p.kill()
    wall_s = time.perf_counter() - t0
    drain()
    lab_cpu_s = time.process_time() - cpu0
    workers_cpu_s = sum(slots.get(i, CPU_NS) for i in range(len(procs))) / 1e9
    workers, errors = [], []
    for i, p in enumerate(procs):
        errs = reported.get(i)
        if errs is None:
            errs = [] if slots.cancelled else [f"{p.name} (pid {p.pid}) ended with status {p.exitcode} without a result"]
        errors.extend(errs)
        workers.append({"index": i, "name": p.name, "kind": "process", "errors": errs})
    race_actual = int(words[RACE_COUNTER]) if request.workload == "race" else None
    return Outcome(wall_s, lab_cpu_s + workers_cpu_s, startup_s, slots.cancelled, workers, errors, race_actual)

