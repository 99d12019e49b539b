"""CompareBoard: the runs of one compare (``v``), kept side by side.

A compare runs sequential, threads, then processes; the live lanes show one
run at a time, so each new run used to replace the last. The board keeps each
finished run's lanes (rebuilt from the ticks its :class:`RunResult` carries,
through a :class:`~gilviz.ui.timeline.LiveRun` of its own) with its wall time,
cores used and speedup, and lays them out on one time axis: every group's
time starts at its own start signal, so the hall sees processes finish while
threads are still going. No Textual here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gilviz.engine.model import RunResult, RunStarted
from gilviz.engine.workloads import spec
from gilviz.export.text import human

from .timeline import HISTORY_CELLS, LaneView, LiveRun, RunView


def compare_by(workload: str) -> str:
    """What ``v`` compares for ``workload``: the race, without and with its
    lock (its story is the lost updates and the price of the fix); every
    other workload, its strategies."""
    return "lock" if "lock" in spec(workload).options else "strategy"


@dataclass(frozen=True)
class LaneGroup:
    """One run of the compare: a heading and its lanes (cells from the start signal)."""

    strategy: str
    heading: str
    lanes: tuple[LaneView, ...]
    finished: bool
    #: the heading for a narrow panel: what it was, its wall time and the
    #: figure that matters most (the race's lost updates, else the speedup)
    short: str = ""

    def fit(self, width: int) -> str:
        """The heading that fits ``width``, the full one where it can."""
        if len(self.heading) <= width or not self.short:
            return self.heading
        return self.short


def run_label(workload: str, strategy: str, lock: bool) -> str:
    """What a group's run was: its strategy, and for the race its lock."""
    return f"{strategy}, {'lock' if lock else 'no lock'}" if workload == "race" else strategy


def heading(result: RunResult) -> str:
    """A finished run's heading: what it was, its wall time, cores used,
    speedup where it has one, and the race's lost updates."""
    speedup = f" · speedup {result.speedup:.2f}×" if result.speedup is not None else ""
    lost = ""
    if result.workload == "race" and result.expected is not None and result.lost is not None:
        lost = f" · lost {human(result.lost)} of {human(result.expected)}"
    return (f"{run_label(result.workload, result.strategy, result.lock)}: {result.wall_s:.2f} s · "
            f"{result.cores_used:.2f} cores used{speedup}{lost}" + (" · stopped" if result.cancelled else ""))


def short_heading(result: RunResult) -> str:
    """:func:`heading` for a narrow panel: the lost updates (race) or the
    speedup stay, the cores used go."""
    label = f"{run_label(result.workload, result.strategy, result.lock)}: {result.wall_s:.2f} s"
    if result.workload == "race" and result.expected is not None and result.lost is not None:
        return f"{label} · lost {human(result.lost)} of {human(result.expected)}"
    return label + (f" · {result.speedup:.2f}×" if result.speedup is not None else "")


def _downsample(lanes: tuple[LaneView, ...], every: int, width: int) -> tuple[LaneView, ...]:
    """Every ``every``-th cell (the last of each stretch), the first ``width`` of them."""
    if every <= 1:
        return tuple(replace(lane, cells=lane.cells[:width]) for lane in lanes)
    return tuple(replace(lane, cells=lane.cells[every - 1::every][:width]) for lane in lanes)


class CompareBoard:
    """The finished runs of one compare, in the order they ran."""

    def __init__(self) -> None:
        self._runs: list[tuple[RunResult, RunView]] = []
        self._started: list[RunStarted] = []
        self._solo: float | None = None  # the one solo rate every run is drawn against
        #: the finished runs' groups as last made: (width, every, runs) -> groups
        self._finished: tuple[tuple[int, int, int], list[LaneGroup]] | None = None

    def __len__(self) -> int:
        return len(self._runs)

    @property
    def results(self) -> list[RunResult]:
        return [result for result, _ in self._runs]

    def add(self, started: RunStarted, result: RunResult) -> None:
        """A run of the compare ended: keep its lanes, replayed from its ticks.

        Every run is drawn against one solo rate, the highest the lab has
        given (it raises it after a run whose worker did more per CPU second
        than its calibration), so their heights compare."""
        self._started.append(started)
        solos = [s for s in (self._solo, started.solo_units_per_s, result.solo_units_per_s) if s]
        solo = max(solos) if solos else None
        if solo != self._solo:  # the runs before were drawn against another: again
            self._solo = solo
            self._runs = [(r, self._replay(self._started[i], r)) for i, (r, _) in enumerate(self._runs)]
            self._finished = None
        self._runs.append((result, self._replay(started, result)))

    def _replay(self, started: RunStarted, result: RunResult) -> RunView:
        replay = LiveRun(capacity=HISTORY_CELLS)
        replay.start(replace(started, solo_units_per_s=self._solo) if self._solo else started)
        for tick in result.ticks:
            replay.feed(tick)
        replay.finish()
        return replay.view(HISTORY_CELLS)

    def has(self, started: RunStarted) -> bool:
        """This run is on the board already (it ended)."""
        return any(s is started for s in self._started)

    def groups(self, width: int, live: RunView | None = None) -> tuple[list[LaneGroup], int]:
        """The groups to draw in ``width`` cells, the run going on (``live``,
        with every cell since its start) last; and how many sample periods one
        cell stands for, so that the longest run fits."""
        views = [view for _, view in self._runs] + ([live] if live is not None and live.started else [])
        longest = max((len(lane.cells) for view in views for lane in view.lanes), default=0)
        every = max(1, math.ceil(longest / width)) if width > 0 else 1
        key = (width, every, len(self._runs))
        if self._finished is None or self._finished[0] != key:  # they change only with a new run or scale
            self._finished = (key, [LaneGroup(result.strategy, heading(result),
                                              _downsample(view.lanes, every, width), True, short_heading(result))
                                    for result, view in self._runs])
        groups = list(self._finished[1])
        if live is not None and live.started is not None:
            clock = f" {live.t_s:.1f} s" if live.t_s is not None else " starting"
            request = live.started.request
            strategy = request.strategy
            so_far = short = ""
            if live.race is not None:  # the race's counter as the lab last published it
                expected, actual = live.race
                so_far = f" · lost {human(max(0, expected - actual))} of {human(expected)} so far"
                short = f" · lost {human(max(0, expected - actual))}"
            label = f"{run_label(request.workload, strategy, request.lock)}: running…{clock}"
            groups.append(LaneGroup(strategy, label + so_far, _downsample(live.lanes, every, width), False,
                                    label + short))
        return groups, every
