"""The demos: what a worker does. One module per workload, each with one
:class:`WorkloadSpec`, listed once below; everything that needs "all
workloads" (the CLI, the lab, the session, the app, the exports) reads
:data:`WORKLOADS`.

Adding a workload: a module with a runner and a ``SPEC``, one line in
``_SPECS``, and its tests.

Every workload is a list of *tasks* that does not depend on the strategy, so
sequential, threads and processes all do exactly the same total work.
Runs inside the lab and its worker processes: standard library only (fetch
imports requests when it runs).
"""

from __future__ import annotations

import time
from typing import Any

from . import convoy, count, fetch, hashing, race
from ._spec import WorkloadSpec
from ._task import LocalProgress, Progress, Runner, Task, TaskContext, TaskError, run_tasks, run_tasks_async

_SPECS = (count.SPEC, hashing.SPEC, race.SPEC, fetch.SPEC, convoy.SPEC)

#: Every workload by name, in the order the CLI and the app list them.
WORKLOADS: dict[str, WorkloadSpec] = {spec.name: spec for spec in _SPECS}
NAMES: tuple[str, ...] = tuple(WORKLOADS)


def spec(name: str) -> WorkloadSpec:
    """The spec of ``name``; KeyError names the known workloads."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}: use one of {', '.join(NAMES)}") from None


#: Measurements of the solo rate, the best kept.
CALIBRATION_ATTEMPTS = 3


def solo_rate(workload: str, lock: bool, seconds: float = 0.15, race_style: str = "call",
              processes: bool = False) -> float | None:
    """Units per second one worker does alone on a free core, measured now,
    with what changes the cost of a unit: the lock and its kind (a process
    lock is much slower than a thread lock), the race style, and the counter
    a process uses (shared memory).

    The rate is per second *on a core* (the thread's own CPU time), where
    the clock is fine enough: time the thread spent off its core, to another
    program, or to the host of a virtual machine (Linux leaves the host's
    "steal" out of a thread's CPU time), would otherwise make the solo rate
    too low and every worker's share of it too high ("3.8× solo" on two
    cores). Even so one measurement of 0.15 s varies by 15% here (this VM's
    speed drifts), and a low one made 4 threads under the GIL read "1.28×
    solo" on one core: the best of three is kept."""
    s = spec(workload)
    if s.calibration_units is None:
        return None
    return max(_calibrate(s, lock, seconds, race_style, processes) for _ in range(CALIBRATION_ATTEMPTS))


def _calibrate(s: WorkloadSpec, lock: bool, seconds: float, race_style: str,
               processes: bool) -> float:
    """Units per second on a core, of one measurement."""
    import threading

    cell: race.Cell | race.SharedCell
    the_lock: Any
    if processes:
        import multiprocessing

        cell = race.SharedCell(memoryview(bytearray(8)).cast("q"), 0)
        the_lock = multiprocessing.get_context().Lock() if lock else None
    else:
        cell, the_lock = race.Cell(), (threading.Lock() if lock else None)
    p = LocalProgress()
    ctx = TaskContext(cell=cell, lock=the_lock, race_style=race_style)
    task = Task(label="calibration", amount=s.calibration_units or 1)
    cpu0, start = time.thread_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        s.runner(p, task, ctx)
    elapsed = time.perf_counter() - start
    cpu = time.thread_time() - cpu0
    on_core = cpu if _FINE_THREAD_CLOCK and CALIBRATION_MIN_CPU_S <= cpu <= elapsed * 1.05 else elapsed
    return p.units / on_core


#: The thread's CPU clock is fine enough to time a calibration (Windows'
#: ticks in 15.6 ms steps); where it is not, the calibration uses the wall clock.
_FINE_THREAD_CLOCK = time.get_clock_info("thread_time").resolution <= 1e-6
#: Less CPU time than this in a calibration: too little to divide by (wall clock instead).
CALIBRATION_MIN_CPU_S = 0.02


__all__ = [
    "NAMES", "WORKLOADS", "LocalProgress", "Progress", "Runner", "Task", "TaskContext", "TaskError",
    "WorkloadSpec", "run_tasks", "run_tasks_async", "solo_rate", "spec",
]
