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

from . import count, fetch, hashing, race
from ._spec import WorkloadSpec
from ._task import LocalProgress, Progress, Runner, Task, TaskContext, TaskError, run_tasks

_SPECS = (count.SPEC, hashing.SPEC, race.SPEC, fetch.SPEC)

#: Every workload by name, in the order the CLI and the app list them.
WORKLOADS: dict[str, WorkloadSpec] = {spec.name: spec for spec in _SPECS}
NAMES: tuple[str, ...] = tuple(WORKLOADS)


def spec(name: str) -> WorkloadSpec:
    """The spec of ``name``; KeyError names the known workloads."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}: use one of {', '.join(NAMES)}") from None


def solo_rate(workload: str, lock: bool, seconds: float = 0.15) -> float | None:
    """Units per second one worker does alone, measured now on this core."""
    s = spec(workload)
    if s.calibration_units is None:
        return None
    import threading

    p = LocalProgress()
    ctx = TaskContext(cell=race.Cell(), lock=threading.Lock() if lock else None)
    task = Task(label="calibration", amount=s.calibration_units)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        s.runner(p, task, ctx)
    elapsed = time.perf_counter() - start
    return p.units / elapsed


__all__ = [
    "NAMES", "WORKLOADS", "LocalProgress", "Progress", "Runner", "Task", "TaskContext", "TaskError",
    "WorkloadSpec", "run_tasks", "solo_rate", "spec",
]
