"""WorkloadSpec: everything gilviz knows about one workload, in one place.

The CLI (choices, help, size limits), the lab (runner, calibration), the
session (default size and workers, the plan), the app (key, explainer, legend)
and the exports (unit) all read the spec; none keeps its own table.
Standard library only: the lab imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from ..model import ASYNCIO, STRATEGIES
from ._task import AsyncRunner, Runner, Task

#: Picks an explainer text for a mode, or None to fall back to the spec's
#: per-strategy text. Arguments: strategy, lock, race_style, gil_enabled, and
#: the lab's Python version ("3.11.7"; None before the lab reported it).
ExplainHook = Callable[[str, bool, str, Optional[bool], Optional[str]], Optional[str]]


def split_evenly(unit: str) -> Callable[[int, Optional[int], tuple], list[Task]]:
    """A planner that splits ``size`` units into one task per worker."""

    def plan(workers: int, size: int | None, urls: tuple) -> list[Task]:
        size = size or 0
        tasks = max(1, min(workers, size))
        share, extra = divmod(size, tasks)
        return [
            Task(label=f"chunk {i + 1}/{tasks}: {share + (i < extra):,} {unit}", amount=share + (i < extra))
            for i in range(tasks)
        ]

    return plan


DEFAULT_REFUSALS = {
    ASYNCIO: ("asyncio runs every task in one thread, one at a time, and a task gives the thread up only "
              "when it awaits I/O; CPU work never awaits, so the tasks would run one after another, like "
              "sequential"),
}


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    #: the app's key for this workload
    key: str
    #: a few words for the footer's tooltip and the palette: "count down in pure Python"
    title: str
    #: one sentence for --help: what it does and how it meets the GIL
    help: str
    #: what one unit of progress is, everywhere (slots, lanes, results, exports)
    unit: str
    #: what --size counts, for --help: "iterations", "body bytes per URL from the embedded server"
    size_help: str
    default_size: int
    max_size: int
    runner: Runner
    #: what to look at, per strategy (Rich markup: [b]...[/])
    explainer: Mapping[str, str]
    #: the same, where the GIL is off and ``explainer``'s says what the GIL does
    explainer_nogil: Mapping[str, str] = field(default_factory=dict)
    #: blocked on I/O most of the time (lanes show waiting / receiving, not work levels)
    io_bound: bool = False
    #: one lane waits on the network beside lanes that compute (the convoy)
    io_lane: bool = False
    #: its hot loop runs without the GIL (C code that releases it, or a wait on I/O)
    releases_gil: bool = False
    #: units one calibration call does; None: no solo rate (I/O has no "full speed")
    calibration_units: int | None = None
    default_workers: int = 4
    #: the mode options that apply: "lock", "race_style", "urls"
    options: frozenset[str] = frozenset()
    #: splits the work into tasks: (workers, size, urls) -> tasks
    planner: Callable[[int, Optional[int], tuple], list[Task]] | None = None
    explain_hook: ExplainHook | None = field(default=None, compare=False)
    #: the strategies that apply, in the order compare runs them
    strategies: tuple = STRATEGIES
    #: why a strategy that does not apply is refused: {strategy: reason}
    refusals: Mapping[str, str] = field(default_factory=dict)
    #: the coroutine version of ``runner``, for the asyncio strategy
    async_runner: AsyncRunner | None = field(default=None, compare=False)
    #: every task gets a lane of its own, whatever the worker count
    lane_per_task: bool = False
    #: ``gilviz run`` measures a sweep of configurations (Session.convoy), not one run
    sweep: bool = False

    def refusal(self, strategy: str) -> str | None:
        """Why ``strategy`` does not apply to this workload, or None if it does."""
        if strategy in self.strategies:
            return None
        why = self.refusals.get(strategy) or DEFAULT_REFUSALS.get(strategy, "it does not apply")
        return f"the {self.name} workload does not run with --strategy {strategy}: {why}"

    def plan(self, workers: int, size: int | None, urls: tuple = ()) -> list[Task]:
        planner = self.planner or split_evenly(self.unit)
        return planner(workers, size, urls)

    def explain(self, strategy: str, lock: bool = False, race_style: str = "call",
                gil_enabled: bool | None = True, python: str | None = None) -> str:
        """Two or three sentences (Rich markup) for the mode on screen, true
        of the interpreter the lab runs (its version, whether the GIL is on)."""
        text = None
        if self.explain_hook is not None:
            text = self.explain_hook(strategy, lock, race_style, gil_enabled, python)
        if text is not None:
            return text
        text = self.explainer.get(strategy, "")
        if gil_enabled is False:
            text = self.explainer_nogil.get(strategy, text)
            text = "[b]This Python runs without the GIL[/]: pure-Python threads can run in parallel here. " + text
        return text
