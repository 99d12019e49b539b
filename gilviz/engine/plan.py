"""The plan of a run: which worker runs which tasks, and how much work each
is to do. Made once, by the session; the lab follows it and the screen shows
it (through :class:`~gilviz.engine.model.RunStarted`), neither recomputes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Tuple

from .model import ASYNCIO, RunRequest
from .workloads import Task, spec

#: One worker's share: (task index, task) pairs, in the order it runs them.
Lane = Tuple[Tuple[int, Task], ...]


@dataclass(frozen=True)
class RunPlan:
    tasks: tuple[Task, ...]
    lanes: tuple[Lane, ...]

    @property
    def workers(self) -> int:
        return len(self.lanes)

    def planned_units(self) -> tuple[int | None, ...]:
        """Each worker's planned total in the workload's units; None where a
        task's size is not known in advance (a real URL)."""
        out: list[int | None] = []
        for lane in self.lanes:
            amounts = [task.amount for _, task in lane]
            out.append(sum(amounts) if all(a > 0 for a in amounts) else None)
        return tuple(out)

    def to_message(self) -> dict[str, Any]:
        """The plan as the lab receives it (JSON)."""
        return {
            "tasks": [t.to_dict() for t in self.tasks],
            "lanes": [[i for i, _ in lane] for lane in self.lanes],
        }

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> "RunPlan":
        tasks = tuple(Task.from_dict(t) for t in msg["tasks"])
        lanes = tuple(tuple((i, tasks[i]) for i in lane) for lane in msg["lanes"])
        return cls(tasks, lanes)


def assign(strategy: str, workers: int, tasks: list[Task] | tuple[Task, ...],
           lane_per_task: bool = False) -> tuple[Lane, ...]:
    """Which worker runs which tasks: all to one (sequential), one lane per
    task (asyncio: every request in flight at once; or a workload that asks
    for it), else round-robin."""
    if strategy == ASYNCIO or lane_per_task:
        return tuple(((i, task),) for i, task in enumerate(tasks))
    n = 1 if strategy == "sequential" else workers
    lanes: list[list[tuple[int, Task]]] = [[] for _ in range(n)]
    for i, task in enumerate(tasks):
        lanes[i % n].append((i, task))
    return tuple(tuple(lane) for lane in lanes)


def make_plan(request: RunRequest) -> RunPlan:
    """Split the request's work into tasks and deal them to the workers."""
    s = spec(request.workload)
    size = request.size if request.size is not None else (None if s.io_bound else s.default_size)
    tasks = tuple(s.plan(request.workers, size, request.urls))
    return RunPlan(tasks, assign(request.strategy, request.workers, tasks, s.lane_per_task))


#: What a compare varies: the strategy, or (race) the lock.
COMPARE_BY = ("strategy", "lock")


def compare_variants(request: RunRequest, by: str = "strategy") -> list[RunRequest]:
    """The runs of a compare of ``request``: one per strategy the workload
    has; or, ``by="lock"``, the race without and then with its lock, under
    the request's strategy (threads where it is sequential: one worker has
    nobody to race)."""
    s = spec(request.workload)
    if by == "strategy":
        return [replace(request, strategy=strategy) for strategy in s.strategies]
    if by == "lock":
        if "lock" not in s.options:
            raise ValueError(f"{request.workload} has no lock to compare; only race has (-w race)")
        strategy = "threads" if request.strategy == "sequential" else request.strategy
        return [replace(request, strategy=strategy, lock=lock) for lock in (False, True)]
    raise ValueError(f"a compare varies one of {', '.join(COMPARE_BY)}, not {by!r}")
