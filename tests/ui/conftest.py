"""A scripted lab for the UI tests: the real Session, fed by a fake edge.

The app drives a real :class:`gilviz.engine.session.Session`, so the real
planning (``prepare``, the plan, planned units), compare (speedups) and result
code (units, lost updates, wall time, cores used) run under test. Only what
the session reads from the outside world is replaced, through its three seams:

- the **lab connection**: :class:`FakeLab` answers the run command with a
  "started" event and, when its script is played out, a "finished" event;
- the **tick source**: :class:`ScriptedTicks` plays one scripted period per
  sample, writing the workers' progress into the run's real shared slots (the
  session reads its result from them);
- the **URL source**: :class:`FakeUrls` names embedded-server URLs without a
  server.

The script is computed, not timed: what a plausible run of the mode would
measure (threads sharing one core, processes one each, fetch waits), the same
on every machine, without sleeps, so the SVG snapshots are stable.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Callable

import pytest

from gilviz.engine.model import LabInfo, RunRequest, Tick, WorkerSample, WorkerState
from gilviz.engine.plan import RunPlan
from gilviz.engine.session import Session
from gilviz.engine.slots import CPU_NS, ERRORS, OS_ID, STATE, TASK_INDEX, TASKS_DONE, UNITS, Slots

#: What one worker alone on a free core does per second, per workload: the
#: fake lab's "calibration".
SOLO = {"count": 30_000_000.0, "hash": 800.0, "race": 4_000_000.0, "fetch": None}
PERIOD_S = 0.1
STARTUP_S = 0.002


def lab_info(cpu_count: int = 4) -> LabInfo:
    return LabInfo(
        pid=4242,
        python="3.12.4",
        implementation="CPython",
        executable="/usr/bin/python3",
        gil_enabled=True,
        switch_interval_s=0.005,
        cpu_count=cpu_count,
    )


@dataclass(frozen=True)
class Period:
    """One scripted sample period of one worker."""

    state: WorkerState
    units_delta: int
    task_index: int
    tasks_done: int
    cpu_share: float


def _cpu_fraction(request: RunRequest, cores: int, n: int, i: int, seq: int) -> float:
    """The share of a core worker ``i`` gets in period ``seq``."""
    if request.strategy == "sequential":
        return 1.0
    if request.strategy == "processes" or request.workload == "hash":
        return min(1.0, cores / n)
    if (request.switch_interval_s or 0.005) >= 0.05:  # the baton: one at a time
        return 1.0 if (seq - 1) % n == i else 0.0
    weights = [1 + ((j + seq) % 3) / 2 for j in range(n)]
    return weights[i] / sum(weights)


def script(request: RunRequest, plan: RunPlan, cores: int, max_periods: int,
           worker_error: str | None = None) -> list[list[Period]]:
    """The periods of a plausible run, worker by worker."""
    n = plan.workers
    expected = plan.planned_units()
    units = [0] * n
    task_pos = [0] * n
    solo = SOLO[request.workload] or 0.0
    end_state = [WorkerState.ERROR if (worker_error and i == 0) else WorkerState.DONE for i in range(n)]
    periods: list[list[Period]] = []
    for seq in range(1, max_periods + 1):
        row = []
        for i in range(n):
            lane = plan.lanes[i]
            current = lane[min(task_pos[i], len(lane) - 1)][0]
            if request.workload == "fetch":
                waits = int(request.latency_s / PERIOD_S)
                phase = seq - 1 - task_pos[i] * (waits + 1)
                if task_pos[i] >= len(lane):
                    row.append(Period(end_state[i], 0, -1, len(lane), 0.0))
                elif phase < waits:
                    row.append(Period(WorkerState.WAITING, 0, current, task_pos[i], 0.01))
                else:
                    task_pos[i] += 1
                    row.append(Period(WorkerState.WAITING, request.size or 0, current, task_pos[i] - 1, 0.04))
                continue
            left = (expected[i] or 0) - units[i] if not request.live else 10**18
            if left <= 0:
                row.append(Period(end_state[i], 0, -1, len(lane), 0.0))
                continue
            fraction = _cpu_fraction(request, cores, n, i, seq)
            delta = min(int(solo * PERIOD_S * fraction), left)
            units[i] += delta
            done = units[i] >= (expected[i] or 0) and not request.live
            row.append(Period(end_state[i] if done else WorkerState.RUNNING, delta,
                              -1 if done else current, len(lane) if done else 0, fraction))
        periods.append(row)
        if all(p.state in (WorkerState.DONE, WorkerState.ERROR) for p in row):
            break
    return periods


class ScriptedTicks:
    """The tick source: one scripted period per sample, written into the run's
    real slots as a worker would, and reported as the sampler would."""

    def __init__(self, lab: "FakeLab", slots: Slots) -> None:
        self.lab = lab
        self.slots = slots
        self.seq = 0
        self.units = [0] * slots.n_workers
        self.cpu_s = [0.0] * slots.n_workers

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def split(self, p: Period) -> dict:
        """Where the period went, as the kernel would say: threads that do not
        run wait for the GIL, processes for a core, fetches for the network."""
        if p.state not in (WorkerState.RUNNING, WorkerState.WAITING):
            return {"split": True}
        running = round(p.cpu_share * PERIOD_S, 6)
        rest = round(PERIOD_S - running, 6)
        request = self.lab._request
        assert request is not None
        if p.state == WorkerState.WAITING:
            return {"split": True, "running_s": running, "io_wait_s": rest}
        if request.strategy == "processes":
            return {"split": True, "running_s": running, "core_wait_s": rest}
        return {"split": True, "running_s": running, "gil_wait_s": rest}

    def sample(self, final: bool = False) -> Tick:
        period_row = self.lab.next_period()
        self.seq += 1
        samples = []
        for i, p in enumerate(period_row):
            self.units[i] += p.units_delta
            self.cpu_s[i] += p.cpu_share * PERIOD_S
            base = self.slots.base(i)
            words = self.slots.words
            words[base + UNITS] = self.units[i]
            words[base + STATE] = p.state
            words[base + TASK_INDEX] = p.task_index
            words[base + TASKS_DONE] = p.tasks_done
            words[base + CPU_NS] = round(self.cpu_s[i] * 1e9)
            words[base + ERRORS] = 1 if p.state == WorkerState.ERROR else 0
            samples.append(WorkerSample(
                index=i, os_id=self.slots.get(i, OS_ID), state=p.state, units=self.units[i],
                units_delta=p.units_delta, tasks_done=p.tasks_done, tasks_total=len(self.lab.plan.lanes[i]),
                task_index=p.task_index, cpu_s=round(self.cpu_s[i], 6), cpu_share=p.cpu_share,
                units_per_s=p.units_delta / PERIOD_S,  # its CPU time is read every period, as with few workers
                errors=1 if p.state == WorkerState.ERROR else 0, **self.split(p),
            ))
        cores = self.lab.info_.cpu_count
        used = min(sum(p.cpu_share for p in period_row), float(cores))
        self.lab.cpu_s += used * PERIOD_S
        self.lab.wall_s += PERIOD_S
        per_core = tuple(max(0.0, round(min(100.0, 100.0 * used / cores + (15.0 if k % 2 else -15.0) * (used > 0.2)), 1))
                         for k in range(cores))
        race_counter = None
        request = self.lab._request
        if request is not None and request.workload == "race":  # the shared counter, as _finish counts it
            total = sum(self.units)
            race_counter = total - (0 if request.lock or request.strategy == "sequential" else total // 3)
        return Tick(seq=self.seq, t_s=round(self.seq * PERIOD_S, 3), period_s=PERIOD_S, workers=tuple(samples),
                    cores_percent=per_core, cores_used=round(used, 3), race_counter=race_counter)


class _Cancelled:
    """Set once the session has asked the run to stop: the session writes the
    cancel word of the run's slots, and this reads it (or remembers it)."""

    def __init__(self, lab: "FakeLab") -> None:
        self.lab = lab
        self._event = threading.Event()

    def is_set(self) -> bool:
        slots = self.lab._slots
        return self._event.is_set() or (slots is not None and slots.cancelled)

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()


class FakeUrls:
    """The URL source: embedded-server URLs, no server."""

    def urls(self, count: int, latency_s: float, size_bytes: int) -> tuple[str, ...]:
        return tuple(f"http://127.0.0.1:8765/item/{i}?latency={latency_s:g}&size={size_bytes}" for i in range(count))

    def close(self) -> None:
        pass


class FakeLab:
    """The lab connection, scripted. Knobs: ``hold`` (after the script, wait
    for a cancel or :meth:`release`; a function of the request: the runs to
    hold), ``fail`` (the lab dies at the next run
    with this message), ``worker_error`` (worker 0's task fails), ``ticks``
    (at most this many periods), ``cpu_count``, ``solo_after`` (the solo
    rate the lab says it raised to after each run, and starts the next with)."""

    def __init__(self, cpu_count: int = 4, hold: bool | Callable[[RunRequest], bool] = False, fail: str | None = None,
                 worker_error: str | None = None, ticks: int | None = None,
                 solo_after: float | None = None) -> None:
        self.solo_after = solo_after
        self.finished_runs = 0
        self.sent: list[dict] = []  # every message the session sent
        self.info_ = lab_info(cpu_count)
        self.info: LabInfo | None = None
        self.hold = hold
        self.fail = fail
        self.worker_error = worker_error
        self.ticks = ticks
        self.requests: list[RunRequest] = []
        self.cancelled = _Cancelled(self)
        self.released = threading.Event()
        #: clear: a cancelled run's workers take until it is set to stop
        self.stops = threading.Event()
        self.stops.set()
        self.in_run = threading.Event()
        #: a live run's script has been played: the run waits to be stopped
        self.played = threading.Event()
        self.closed = False
        self._alive = False
        self._events: queue.Queue[dict] = queue.Queue()
        self._periods: list[list[Period]] = []
        self._request: RunRequest | None = None
        self._slots: Slots | None = None
        self._tag: dict = {}  # the run's id, on its events
        #: switches' runs, sent while a run was going: each begins when the one before ends
        self.queued: list[dict] = []
        self.plan = RunPlan((), ())
        self.cpu_s = self.wall_s = 0.0

    # -- what the session calls ----------------------------------------------

    @property
    def alive(self) -> bool:
        return self._alive

    @property
    def pid(self) -> int | None:
        return self.info_.pid

    def start(self) -> LabInfo:
        self._alive = True
        self.info = self.info_
        return self.info_

    def send(self, msg: dict) -> None:
        self.sent.append(msg)
        if msg.get("op") == "calibrate":  # the lab's solo rate, for runs sized by time
            workload = msg["request"]["workload"]
            self._events.put({"ev": "calibrated", "solo_units_per_s": SOLO[workload]})
            return
        if msg.get("op") != "run":
            return
        request = RunRequest.from_dict(msg["request"])
        self.requests.append(request)
        if self.fail:
            self._alive = False
            self._events.put({"ev": "exit"})
            return
        if msg.get("after") and (self._slots is not None or self.queued):  # a switch: after the runs before
            self.queued.append(msg)
            return
        self._begin(msg)

    def _begin(self, msg: dict) -> None:
        request = RunRequest.from_dict(msg["request"])
        tag = {"id": msg["id"]} if "id" in msg else {}
        try:
            slots = Slots(msg["slots"])
        except OSError as exc:  # a switch's run that the session dropped meanwhile, as the lab says it
            self._events.put({"ev": "error", "message": f"{type(exc).__name__}: {exc}", **tag})
            return
        self.cancelled.clear()
        self.played.clear()
        self._request = request
        self._tag = tag
        self.plan = RunPlan.from_message(msg["plan"])
        self._slots = slots
        base = 5000 if request.strategy != "processes" else 7000
        for i in range(self.plan.workers):
            self._slots.words[self._slots.base(i) + OS_ID] = base + i
        self._periods = script(request, self.plan, self.info_.cpu_count, self.ticks or 40, self.worker_error)
        self.cpu_s = self.wall_s = 0.0
        solo = self.solo_after if self.solo_after and self.finished_runs else SOLO[request.workload]
        self._events.put({"ev": "started", "startup_s": STARTUP_S, "solo_units_per_s": solo,
                          "switch_interval_s": request.switch_interval_s or self.info_.switch_interval_s, **tag})
        self.in_run.set()

    def wait_event(self, timeout_s: float | None) -> dict | None:
        while self._slots is None and self.queued:
            # a switch's run begins once the run before has ended (and had
            # its last sample: the scripted periods are the new run's now)
            self._begin(self.queued.pop(0))
        try:
            return self._events.get_nowait()
        except queue.Empty:
            pass
        if self._slots is None:
            return None
        if self._slots.cancelled:
            if not self.stops.wait(timeout_s or 0):  # its workers are still stopping
                return None
            return self._finish(cancelled=True)
        request = self._request
        held = self.hold(request) if callable(self.hold) and request is not None else self.hold
        hold = held or (request is not None and request.live)
        if len(self._periods) > (0 if hold else 1):
            return None  # the session samples the next period
        self.played.set()
        while hold and not (self._slots.cancelled or self.released.is_set()):
            self.released.wait(0.01)
        if self._slots.cancelled and not self.stops.wait(timeout_s or 0):
            return None
        return self._finish(cancelled=self._slots.cancelled)

    def waiting_to_be_stopped(self) -> bool:
        """A live run has played its script, and nobody has asked it to stop:
        after a key that switches mode, the old run's script was played, but
        the new run's is still to come."""
        return self.played.is_set() and not self.cancelled.is_set()

    def discard_events(self) -> None:
        while not self._events.empty():
            self._events.get_nowait()

    def death_message(self) -> str:
        return self.fail or "the lab is not running"

    def kill(self) -> None:
        self._alive = False

    def close(self) -> None:
        self.closed = True
        if self._slots is not None and self._slots.cancelled:
            self.cancelled.set()
        self.kill()

    # -- the script ----------------------------------------------------------

    def next_period(self) -> list[Period]:
        """The next scripted period (the last one again, idle, once played out)."""
        if self._periods:
            return self._periods.pop(0)
        return [Period(WorkerState.DONE, 0, -1, len(lane), 0.0) for lane in self.plan.lanes]

    def _finish(self, cancelled: bool) -> dict:
        if cancelled:
            self.cancelled.set()
        request = self._request
        assert request is not None and self._slots is not None
        units = sum(self._slots.get(i, UNITS) for i in range(self.plan.workers))
        if self._periods and not cancelled:
            units += sum(p.units_delta for p in self._periods[-1])  # the final sample adds these
        lost = 0 if (request.lock or request.strategy == "sequential") else units // 3
        kind = "process" if request.strategy == "processes" else "thread"
        errors = [f"{self.plan.tasks[0].label}: {self.worker_error}"] if self.worker_error and not cancelled else []
        self._slots.close()
        self._slots = None
        self.in_run.clear()
        wall_s = self.wall_s + (PERIOD_S if self._periods and not cancelled else 0.0)
        cpu_s = self.cpu_s + (min(sum(p.cpu_share for p in self._periods[-1]), self.info_.cpu_count) * PERIOD_S
                              if self._periods and not cancelled else 0.0)
        self.finished_runs += 1
        raised = {"solo_units_per_s": self.solo_after} if self.solo_after else {}
        return {"ev": "finished", **raised, **self._tag, "outcome": {
            "wall_s": round(wall_s, 3), "cpu_s": round(cpu_s, 3), "startup_s": STARTUP_S, "cancelled": cancelled,
            "workers": [{"index": i, "name": f"{kind}-{i}", "kind": kind,
                         "errors": errors if i == 0 else []} for i in range(self.plan.workers)],
            "errors": errors, "race_actual": units - lost if request.workload == "race" else None, "notes": [],
        }}

    def release(self) -> None:
        self.released.set()

    # -- the session around it -----------------------------------------------

    def session(self) -> Session:
        """A real Session whose lab, ticks and URLs are this fake's."""
        return Session(period_s=PERIOD_S, lab_factory=lambda: self,
                       tick_source=lambda slots, pid, strategy, tasks, **kw: ScriptedTicks(self, slots),
                       url_source=FakeUrls())


@pytest.fixture
def fake():
    return FakeLab()


def make_app(lab: FakeLab | None = None, seconds: float = 1.0, **request):
    from gilviz.ui.app import GilvizApp

    lab = lab or FakeLab()
    defaults = dict(workload="count", strategy="threads", workers=4)
    defaults.update(request)
    app = GilvizApp(RunRequest(**defaults), session_factory=lab.session, seconds=seconds)
    app.test_lab = lab  # settle() knows when a live run has played its script
    return app, lab


async def settle(app, pilot) -> None:
    """Wait until the run's thread is done (or a live run has played its
    script and waits to be stopped), its last message handled and the frame
    drawn. Polls the app's state, never a clock."""
    lab = getattr(app, "test_lab", None)
    for _ in range(4000):
        await pilot.pause()
        if not app.running:
            break
        if lab is not None and lab.waiting_to_be_stopped() and app.live.version == getattr(app, "_settled", None):
            break
        app._settled = app.live.version
    if not app.running:
        await app.workers.wait_for_complete()
    app.draw(force=True)
    # a widget whose height changed asks the screen for a layout when it is
    # next idle: a second pause lets the screen lay it out before a snapshot
    # (the legend was once drawn at its old height, two lines too high)
    await pilot.pause()
    await pilot.pause()


def async_test(fn):
    """Run an ``async def`` test in a fresh event loop (no asyncio plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper
