"""The history the lanes and core meters draw: a pure model, fed by Ticks.

No Textual here. The run's thread calls :meth:`LiveRun.start` and
:meth:`LiveRun.feed` (through the session's callbacks); the UI's draw timer
calls :meth:`LiveRun.view` about ten times a second and paints whatever is
latest. Every buffer is a fixed-size ring (``deque(maxlen=...)``): nothing
grows with the length of a run, nothing is queued per sample.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from gilviz.engine.model import (
    FastestPerCore,
    RunStarted,
    Tick,
    WorkerIdentity,
    WorkerSample,
    WorkerState,
    dominant_state,
)

#: Cells kept per lane: one per sample period, so 60 s at 100 ms.
HISTORY_CELLS = 600
#: Samples kept per core and for the "cores used" gauge.
CORE_HISTORY = 120
#: "Now", for a figure that would jump from sample to sample: the mean of this many ticks.
RECENT_TICKS = 5
#: Eighths of a block: how full a cell is drawn.
LEVELS = 8


class CellKind(enum.IntEnum):
    """What a worker did during one sample period."""

    EMPTY = 0  # no sample (before the run)
    QUEUED = 1  # waiting for the start signal or its next task
    WORK = 2  # got work done; ``level`` says how much
    STALLED = 3  # running but did no work: waiting for the GIL (or a free core)
    WAITING = 4  # blocked on I/O, no bytes arrived
    RECEIVING = 5  # I/O: bytes arrived in this period
    DONE = 6
    ERROR = 7
    CANCELLED = 8
    GIL_WAIT = 9  # no work done, measured: blocked with work to do (the GIL, or a lock)
    CORE_WAIT = 10  # no work done, measured: runnable, but no core was free
    SWITCH = 11  # a live run switched mode here: other workers from this cell on


@dataclass(frozen=True)
class Cell:
    kind: CellKind
    level: int = 0  # 1..LEVELS for WORK: units done vs one worker alone on a free core
    #: the state the worker spent most of the period in, measured (model.STATES);
    #: None where the kernel gave no split
    state: str | None = None


#: Every cell drawn so far, by value: a few hundred at most (kind, level,
#: state). A lane keeps one of these per sample period, 600 of them, and 256
#: lanes would otherwise hold 150,000 objects that the garbage collector walks
#: through on every full collection (a 0.5-1 s pause of the UI, seen here).
_CELLS: dict[tuple[CellKind, int, str | None], Cell] = {}


def cell(kind: CellKind, level: int = 0, state: str | None = None) -> Cell:
    """The one :class:`Cell` of this value."""
    key = (kind, level, state)
    found = _CELLS.get(key)
    if found is None:
        found = _CELLS[key] = Cell(kind, level, state)
    return found


EMPTY_CELL = cell(CellKind.EMPTY)


def classify(sample: WorkerSample, period_s: float, solo_units_per_s: float | None,
             measured: str | None = None) -> Cell:
    """The cell one sample draws.

    Work is measured against ``solo_units_per_s``, what one worker does alone
    on a free core (the lab measures it before the run): a full block is full
    speed, an eighth is an eighth of it. Without a solo rate (fetch), a period
    in which bytes arrived is RECEIVING. ``measured`` is the state the worker
    spent most of the period in (from the kernel), which colours the cell, and
    says why a worker that did nothing did nothing.
    """
    state = sample.state
    did = sample.units_delta > 0
    if state == WorkerState.QUEUED:
        return cell(CellKind.QUEUED)
    if state == WorkerState.ERROR and not did:
        return cell(CellKind.ERROR)
    if state == WorkerState.CANCELLED and not did:
        return cell(CellKind.CANCELLED)
    if state == WorkerState.DONE and not did:
        return cell(CellKind.DONE)
    if state == WorkerState.WAITING:
        # back from the network but not going on: the convoy's I/O thread
        # waits for the GIL after every answer (the sleep probe tells)
        if sample.split and measured == "gil_wait":  # measured in this period, not carried
            return cell(CellKind.GIL_WAIT, state=measured)
        if sample.split and measured == "core_wait":
            return cell(CellKind.CORE_WAIT, state=measured)
        return cell(CellKind.RECEIVING if did else CellKind.WAITING, state=measured)
    if not did:
        if measured == "gil_wait":
            return cell(CellKind.GIL_WAIT, state=measured)
        if measured == "core_wait":
            return cell(CellKind.CORE_WAIT, state=measured)
        if measured == "running" and sample.cpu_share > 0:
            # on a core, though it counts no units: the convoy's CPU lanes
            # count iterations, not the run's unit (requests), and were drawn
            # "-" at 94% of a core. Its height: the share of a core it had
            level = max(1, min(LEVELS, round(sample.cpu_share * LEVELS)))
            return cell(CellKind.WORK, level, measured)
        return cell(CellKind.STALLED, state=measured)
    if not solo_units_per_s or solo_units_per_s <= 0 or period_s <= 0:
        return cell(CellKind.RECEIVING, state=measured)
    fraction = sample.units_delta / period_s / solo_units_per_s
    level = max(1, min(LEVELS, round(fraction * LEVELS)))
    return cell(CellKind.WORK, level, measured)


@dataclass(frozen=True)
class LaneView:
    """One lane, as the screen draws it."""

    identity: WorkerIdentity
    sample: WorkerSample | None  # the latest, None before the first tick
    task: str  # label of the current task, "" if none
    units_expected: int | None  # the worker's planned total, None if unknown
    cells: tuple[Cell, ...]  # oldest first, at most the width asked for


@dataclass(frozen=True)
class RunView:
    """Everything the lanes and meters draw in one frame."""

    started: RunStarted | None
    lanes: tuple[LaneView, ...]
    t_s: float | None  # time of the latest tick since the start signal
    period_s: float | None
    cores_used: tuple[float, ...]  # history, oldest first
    cores_percent: tuple[tuple[float, ...], ...]  # per core: history, oldest first
    running: bool
    #: the run's samples came with the kernel's split into four states
    states_measured: bool
    #: live runs: units per second of all workers, per period (oldest first)
    throughput: tuple[float, ...] = ()
    #: the workers' share of time waiting for the GIL, per measured period
    gil_wait: tuple[float, ...] = ()
    #: units per second of all workers over the window of their last CPU
    #: reading, which the lanes' rates add up to (None before one)
    work_now: float | None = None
    #: race: (expected, actual) as the lab last published them, else None
    race: tuple[int, int] | None = None
    #: where a live run switched mode: (time in s, what changed), oldest first
    switches: tuple[Switch, ...] = ()
    version: int = 0
    #: what one worker does alone per second on a core: the lab's
    #: calibration, or more where a worker of this run was measured doing
    #: more (see :meth:`LiveRun.feed`); None where there is none (fetch)
    solo_units_per_s: float | None = None

    @property
    def live(self) -> bool:
        """A live run's view (it goes on until stopped), not a run of fixed work's."""
        return self.started is not None and self.started.request.live

    def recent_gil_wait(self) -> float | None:
        """The GIL-wait share over the last few measured ticks of this run."""
        recent = self.gil_wait[-RECENT_TICKS:]
        return sum(recent) / len(recent) if recent else None

    def recent_cores_used(self) -> float | None:
        """Cores used over this run's last few ticks. The cores-used history
        is the machine's and reaches back into the last run; ``throughput``
        has one entry per tick of this run."""
        n = min(RECENT_TICKS, len(self.throughput))
        recent = self.cores_used[-n:] if n else ()
        return sum(recent) / len(recent) if recent and self.t_s is not None else None


class Switch(NamedTuple):
    """Where a live run switched mode, and what changed."""

    t_s: float
    change: str  # "threads → processes, workers 4 → 6"
    became: str  # the same, shorter: "→ processes, → workers 6"


def what_changed(before: RunStarted, after: RunStarted) -> str:
    """A switch's label: the mode's parts that differ, old → new."""
    return ", ".join(f"{label}{old} → {new}" for label, old, new in _changes(before, after)) or "restarted"


def what_became(before: RunStarted, after: RunStarted) -> str:
    """A switch's short label: what the parts that differ became."""
    return ", ".join(f"→ {label}{new}" for label, _, new in _changes(before, after)) or "restarted"


def _changes(before: RunStarted, after: RunStarted) -> list[tuple[str, str, str]]:
    """(label, old, new) of each part of the mode that differs."""
    a, b = before.request, after.request
    parts = []
    for name in ("workload", "strategy", "workers", "switch_interval_s", "lock", "race_style"):
        old, new = getattr(a, name), getattr(b, name)
        if old != new:
            if name == "switch_interval_s":
                old, new = (f"{(v or before.switch_interval_s) * 1000:g} ms" for v in (old, new))
            elif name == "lock":
                old, new = ("on" if v else "off" for v in (old, new))
            elif name == "race_style":
                old, new = ("counter += 1" if v == "plain" else "read-call-write" for v in (old, new))
            label = {"workers": "workers ", "lock": "lock "}.get(name, "")
            parts.append((label, str(old), str(new)))
    if before.lab.python != after.lab.python:
        parts.append(("Python ", before.lab.python, after.lab.python))
    if before.lab.gil_enabled != after.lab.gil_enabled:
        parts.append(("GIL ", "on" if before.lab.gil_enabled else "off", "on" if after.lab.gil_enabled else "off"))
    return parts


def run_clock(t_s: float, live: bool) -> float | int:
    """A run's clock as the screen shows it: a live run's in whole seconds
    (it goes on for minutes and its timeline scrolls by itself; tenths
    changing ten times a second made the lanes' header a line to draw again
    every frame), a run of fixed work's as measured."""
    return int(t_s) if live else t_s


def clock_number(t_s: float | int) -> str:
    """``run_clock``'s figure: "12" for whole seconds, "12.3" otherwise."""
    return f"{t_s}" if isinstance(t_s, int) else f"{t_s:.1f}"


class _Lane:
    __slots__ = ("identity", "sample", "cells", "units_expected", "last_task", "last_state", "off_screen")

    def __init__(self, identity: WorkerIdentity, units_expected: int | None, capacity: int) -> None:
        self.identity = identity
        self.sample: WorkerSample | None = None
        self.cells: deque[Cell] = deque(maxlen=capacity)
        self.units_expected = units_expected
        self.last_task = -1  # the last task it worked on: still shown once it is done
        #: its last measured state: with many workers the split comes every few periods
        self.last_state: str | None = None
        #: what a frame gets of a lane that is not on screen: who it is, nothing measured
        self.off_screen = LaneView(identity, None, "", units_expected, ())


class LiveRun:
    """The latest state of the current (or last) run. Thread-safe."""

    def __init__(self, capacity: int = HISTORY_CELLS, core_history: int = CORE_HISTORY) -> None:
        self.capacity = capacity
        self.core_history = core_history
        self._lock = threading.Lock()
        self._started: RunStarted | None = None
        self._lanes: list[_Lane] = []
        self._cores_used: deque[float] = deque(maxlen=core_history)
        self._cores: list[deque[float]] = []
        self._t_s: float | None = None
        self._period_s: float | None = None
        self._running = False
        #: a sample of this run came with the kernel's split into states
        self._states_measured = False
        self._throughput: deque[float] = deque(maxlen=core_history)
        self._gil_wait: deque[float] = deque(maxlen=core_history)
        self._race: tuple[int, int] | None = None
        self._work_now: float | None = None
        self._switches: deque[Switch] = deque(maxlen=16)
        self._t_offset = 0.0  # a switched live run's time carries on from the last one's
        self._solo: float | None = None  # see RunView.solo_units_per_s
        self._fastest = FastestPerCore()  # this run's workers, per second on a core
        self.version = 0  # bumped by every change: the UI redraws only when it moved

    def start(self, started: RunStarted, switched_from: RunStarted | None = None, note: str = "") -> None:
        """A new run: new lanes, with the plan the session made. Core history
        carries on (it is the machine's). ``switched_from``: a live run that
        switched mode; its lanes' histories carry on, with a marker, and the
        clock goes on from where it was."""
        expected = started.planned_units
        with self._lock:
            old = self._lanes if switched_from is not None else []
            self._lanes = [_Lane(w, expected[i] if i < len(expected) else None, self.capacity)
                           for i, w in enumerate(started.workers)]
            if switched_from is not None:
                self._t_offset = self._t_s or 0.0
                change, became = what_changed(switched_from, started), what_became(switched_from, started)
                if note:  # what the kernel's view cannot tell: the cores the lab was pinned to
                    change = note if change == "restarted" else f"{change}, {note}"
                    became = note if became == "restarted" else f"{became}, {note}"
                self._switches.append(Switch(self._t_offset, change, became))
                for i, lane in enumerate(self._lanes):
                    if i < len(old):
                        lane.cells.extend(old[i].cells)
                    lane.cells.append(cell(CellKind.SWITCH))
            else:
                self._t_offset = 0.0
                self._switches.clear()
                self._throughput.clear()
                self._gil_wait.clear()
            self._started = started
            self._solo = started.solo_units_per_s
            self._fastest = FastestPerCore()
            self._t_s = self._t_offset if switched_from is not None else None
            self._period_s = None
            self._running = True
            if switched_from is None:
                # a switch keeps it: the kernel that split the old lanes'
                # states splits the new ones' (the legend said "needs Linux
                # schedstat" for a few frames of every switch, and took a line more)
                self._states_measured = False
            self._race = None
            self._work_now = None
            self.version += 1

    def feed(self, tick: Tick) -> None:
        with self._lock:
            solo = self._solo
            # live runs only: a compare's runs are drawn against one
            # calibration, so their heights compare
            if solo and self._started is not None and self._started.request.live:
                # The lab's calibration is best of three, but all three can
                # fall in a slow half second of this VM (the other vCPU busy,
                # or the host's steal): then six processes read "2.2× solo"
                # at 1.9 cores used. A worker measured doing more per second
                # on a core than the solo rate is a better measure of it.
                # only samples whose CPU time was read with them: with many
                # workers the kernel is read every few periods, and a stale
                # CPU time beside fresh units would overstate the rate
                fastest = self._fastest.add(w for w in tick.workers if w.split)
                if fastest is not None and fastest > solo:
                    solo = self._solo = fastest
            # one pass over the workers for their lanes and the run's sums
            # (256 workers, ten times a second, in the sampling thread)
            lanes, n_lanes, period_s = self._lanes, len(self._lanes), tick.period_s
            units = work_now = in_run = gil_wait = 0.0
            for sample in tick.workers:
                units += sample.units_delta
                work_now += sample.units_per_s
                if sample.split:
                    in_run += sample.running_s + sample.core_wait_s + sample.gil_wait_s + sample.io_wait_s
                    gil_wait += sample.gil_wait_s
                if 0 <= sample.index < n_lanes:
                    lane = lanes[sample.index]
                    lane.sample = sample
                    if sample.task_index >= 0:
                        lane.last_task = sample.task_index
                    if sample.split:
                        lane.last_state = dominant_state(sample)
                        self._states_measured = True
                    lane.cells.append(classify(sample, period_s, solo, lane.last_state))
            self._cores_used.append(tick.cores_used)
            self._throughput.append(units / period_s if period_s else 0.0)
            self._work_now = work_now
            if in_run > 0:
                self._gil_wait.append(gil_wait / in_run)
            if tick.race_counter is not None:
                expected = tick.race_units if tick.race_units is not None else sum(w.units for w in tick.workers)
                self._race = (expected, tick.race_counter)
            if len(self._cores) != len(tick.cores_percent):
                self._cores = [deque(maxlen=self.core_history) for _ in tick.cores_percent]
            for history, value in zip(self._cores, tick.cores_percent, strict=True):
                history.append(value)
            self._t_s = self._t_offset + tick.t_s
            self._period_s = tick.period_s
            self.version += 1

    def finish(self) -> None:
        with self._lock:
            self._running = False
            self.version += 1

    @property
    def t_s(self) -> float | None:
        """The time of the latest tick since the start signal (None before the first)."""
        with self._lock:
            return self._t_s

    def view(self, cells: int, visible: range | None = None) -> RunView:
        """A consistent copy of the newest ``cells`` cells of every lane in
        ``visible`` (all lanes if None); the others come as who they are,
        without samples or cells (``_Lane.off_screen``), so a frame of 256
        workers copies only the rows on screen (making 256 lanes' views took
        1.7 ms of a frame)."""
        cells = max(0, cells)
        with self._lock:
            started = self._started
            lanes = []
            for i, lane in enumerate(self._lanes):
                if visible is not None and i not in visible:
                    lanes.append(lane.off_screen)
                    continue
                # from the newest back: a deque is walked from one end, and
                # the newest 60 of 600 cells counted from the oldest walked
                # past the other 540 (half of making a lane's view)
                tail = tuple(itertools.islice(reversed(lane.cells), cells))[::-1] if cells else ()
                sample = lane.sample
                task = ""
                if started is not None and 0 <= lane.last_task < len(started.tasks):
                    task = started.tasks[lane.last_task]
                lanes.append(LaneView(lane.identity, sample, task, lane.units_expected, tail))
            return RunView(
                started=started,
                lanes=tuple(lanes),
                t_s=self._t_s,
                period_s=self._period_s,
                cores_used=tuple(self._cores_used),
                cores_percent=tuple(tuple(h) for h in self._cores),
                running=self._running,
                states_measured=self._states_measured,
                throughput=tuple(self._throughput),
                gil_wait=tuple(self._gil_wait),
                work_now=self._work_now,
                race=self._race,
                switches=tuple(self._switches),
                version=self.version,
                solo_units_per_s=self._solo,
            )
