"""A fake lab for the UI tests: replays fixed, made-up-but-plausible Ticks.

``FakeSession`` has :class:`gilviz.engine.session.Session`'s interface (info,
run, compare, cancel, close, child_pids) and calls the callbacks from the
calling thread, as the real one does, but without a lab, clocks or sleeps, so
what the app draws is the same on every run and every machine.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from gilviz.engine.model import (
    LabInfo,
    RunRequest,
    RunResult,
    RunStarted,
    Tick,
    WorkerIdentity,
    WorkerResult,
    WorkerSample,
    WorkerState,
)
from gilviz.engine.session import RunFailed
from gilviz.engine.plan import make_plan
from gilviz.engine.workloads import spec

SOLO = {"count": 30_000_000.0, "hash": 800.0, "race": 4_000_000.0, "fetch": None}
DEFAULT_SIZES = {"count": 25_000_000, "hash": 2048, "race": 1_000_000, "fetch": 256 * 1024}


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


class FakeSession:
    period_s = 0.1

    def __init__(
        self,
        cpu_count: int = 4,
        hold: bool = False,
        fail: str | None = None,
        worker_error: str | None = None,
        ticks: int | None = None,
    ) -> None:
        self.lab = lab_info(cpu_count)
        self.hold = hold  # after the ticks, wait for cancel() or release
        self.fail = fail  # raise RunFailed with this message
        self.worker_error = worker_error  # worker 0's task fails
        self.ticks = ticks
        self.requests: list[RunRequest] = []
        self.cancelled = threading.Event()
        self.released = threading.Event()
        self.in_run = threading.Event()
        self.closed = False

    # -- Session's interface -------------------------------------------------

    def info(self) -> LabInfo:
        return self.lab

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        self.closed = True
        self.cancel()

    def child_pids(self) -> list[int]:
        return []

    def prepare(self, request: RunRequest) -> RunRequest:
        if request.workload == "fetch" and not request.urls:
            size = request.size if request.size is not None else DEFAULT_SIZES["fetch"]
            urls = tuple(f"http://127.0.0.1:8765/item/{i}?latency={request.latency_s:g}&size={size}" for i in range(6))
            return replace(request, urls=urls, size=size)
        if request.size is None:
            return replace(request, size=DEFAULT_SIZES[request.workload])
        return request

    def run(self, request, on_started=None, on_tick=None) -> RunResult:
        self.cancelled.clear()
        return self._run(self.prepare(request), on_started, on_tick)

    def compare(self, request, on_result=None, **callbacks) -> list[RunResult]:
        self.cancelled.clear()
        request = self.prepare(request)
        results: list[RunResult] = []
        for strategy in ("sequential", "threads", "processes"):
            if self.cancelled.is_set():
                break
            result = self._run(replace(request, strategy=strategy), **callbacks)
            result = result.with_speedup(results[0].wall_s if results else result.wall_s)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    def release(self) -> None:
        self.released.set()

    # -- the replay ----------------------------------------------------------

    def _run(self, request, on_started=None, on_tick=None) -> RunResult:
        self.requests.append(request)
        if self.fail:
            raise RunFailed(self.fail)
        started = self.started(request)
        if on_started is not None:
            on_started(started)
        self.in_run.set()
        ticks = list(self.replay(request, started))
        for tick in ticks:
            if on_tick is not None:
                on_tick(tick)
        if self.hold:
            while not (self.cancelled.is_set() or self.released.is_set()):
                self.cancelled.wait(0.01)
        self.in_run.clear()
        return self.result(request, started, ticks)

    def started(self, request: RunRequest) -> RunStarted:
        plan = make_plan(request)
        lanes = plan.lanes
        kind = "process" if request.strategy == "processes" else "thread"
        base = 5000 if kind == "thread" else 7000
        workers = tuple(
            WorkerIdentity(
                index=i,
                name="sequential" if request.strategy == "sequential" else f"{kind}-{i}",
                kind=kind,
                os_id=base + i,
            )
            for i in range(len(lanes))
        )
        return RunStarted(
            request=request,
            workers=workers,
            unit=spec(request.workload).unit,
            tasks=tuple(t.label for t in plan.tasks),
            planned_units=plan.planned_units(),
            solo_units_per_s=SOLO[request.workload],
            startup_s=0.002,
            switch_interval_s=request.switch_interval_s or self.lab.switch_interval_s,
            lab=self.lab,
        )

    def replay(self, request: RunRequest, started: RunStarted):
        """Ticks that look like the real thing, computed, not timed."""
        lanes = make_plan(request).lanes
        n = len(lanes)
        cores = self.lab.cpu_count
        expected = started.planned_units
        units = [0] * n
        cpu = [0.0] * n
        task_pos = [0] * n
        period = self.period_s
        solo = started.solo_units_per_s
        baton = (request.switch_interval_s or 0.005) >= 0.05
        count = self.ticks or 40
        for seq in range(1, count + 1):
            samples = []
            used = 0.0
            for i in range(n):
                done = units[i] >= (expected[i] or 0)
                delta = 0
                state = WorkerState.RUNNING
                share = 0.0
                if request.workload == "fetch":
                    waits = int(request.latency_s / period)
                    phase = seq - 1 - task_pos[i] * (waits + 1)
                    if task_pos[i] >= len(lanes[i]):
                        state = WorkerState.DONE
                    elif phase < waits:
                        state = WorkerState.WAITING
                        share = 0.01
                    else:
                        state = WorkerState.WAITING
                        delta = request.size or 0
                        share = 0.04
                        task_pos[i] += 1
                elif done:
                    state = WorkerState.ERROR if (self.worker_error and i == 0) else WorkerState.DONE
                else:
                    if request.strategy == "processes":
                        fraction = min(1.0, cores / n)
                    elif request.strategy == "sequential" or request.workload == "hash":
                        fraction = 1.0 if request.strategy == "sequential" else min(1.0, cores / n)
                    elif baton:
                        fraction = 1.0 if (seq - 1) % n == i else 0.0
                    else:
                        weights = [1 + ((j + seq) % 3) / 2 for j in range(n)]
                        fraction = weights[i] / sum(weights)
                    delta = int(solo * period * fraction)
                    delta = min(delta, (expected[i] or 0) - units[i])
                    share = fraction
                    if units[i] + delta >= (expected[i] or 0):
                        state = WorkerState.ERROR if (self.worker_error and i == 0) else WorkerState.DONE
                units[i] += delta
                cpu[i] += share * period
                used += share
                tasks_total = len(lanes[i])
                tasks_done = tasks_total if state in (WorkerState.DONE,) else task_pos[i] if request.workload == "fetch" else 0
                samples.append(
                    WorkerSample(
                        index=i,
                        os_id=started.workers[i].os_id,
                        state=state,
                        units=units[i],
                        units_delta=delta,
                        tasks_done=tasks_done,
                        tasks_total=tasks_total,
                        task_index=-1 if state in (WorkerState.DONE, WorkerState.ERROR) else lanes[i][min(task_pos[i], tasks_total - 1)][0],
                        cpu_s=round(cpu[i], 6),
                        cpu_share=share,
                        errors=1 if state == WorkerState.ERROR else 0,
                    )
                )
            used = min(used, float(cores))
            finished = all(x.state in (WorkerState.DONE, WorkerState.ERROR) for x in samples)
            per_core = tuple(round(min(100.0, 100.0 * used / cores + (15.0 if k % 2 else -15.0) * (used > 0.2)), 1) for k in range(cores))
            yield Tick(
                seq=seq,
                t_s=round(seq * period, 3),
                period_s=period,
                workers=tuple(samples),
                cores_percent=tuple(max(0.0, p) for p in per_core),
                cores_used=round(used, 3),
            )
            if finished:
                return

    def result(self, request: RunRequest, started: RunStarted, ticks: list[Tick]) -> RunResult:
        last = ticks[-1]
        wall = round(sum(t.period_s for t in ticks), 3)
        cpu_s = round(sum(t.cores_used * t.period_s for t in ticks), 3)
        units = sum(w.units for w in last.workers)
        errors = (f"{started.tasks[0]}: {self.worker_error}",) if self.worker_error else ()
        race = request.workload == "race"
        lost = None
        if race:
            lost = 0 if (request.lock or request.strategy == "sequential") else units // 3
        rows = tuple(
            WorkerResult(
                index=w.index,
                name=started.workers[w.index].name,
                kind=started.workers[w.index].kind,
                os_id=w.os_id,
                state=w.state.name.lower(),
                tasks_done=w.tasks_done,
                units=w.units,
                cpu_s=w.cpu_s,
            )
            for w in last.workers
        )
        return RunResult(
            workload=request.workload,
            strategy=request.strategy,
            workers=request.workers,
            size=request.size or 0,
            unit=started.unit,
            lock=request.lock,
            wall_s=wall,
            startup_s=0.002,
            cpu_s=cpu_s,
            cores_used=round(cpu_s / wall, 3) if wall else 0.0,
            units=units,
            units_per_s=units / wall if wall else 0.0,
            python=self.lab.python,
            implementation=self.lab.implementation,
            gil_enabled=True,
            switch_interval_s=started.switch_interval_s,
            cpu_count=self.lab.cpu_count,
            errors=errors,
            cancelled=self.cancelled.is_set(),
            worker_results=rows,
            expected=units if race else None,
            actual=(units - lost) if race else None,
            lost=lost,
            ticks=tuple(ticks),
        )


@pytest.fixture
def fake():
    return FakeSession()


def make_app(session: FakeSession | None = None, **request):
    from gilviz.ui.app import GilvizApp

    session = session or FakeSession()
    defaults = dict(workload="count", strategy="threads", workers=4)
    defaults.update(request)
    return GilvizApp(RunRequest(**defaults), session_factory=lambda: session), session


async def settle(app, pilot) -> None:
    """Wait until the run's thread is done, its last message handled and the
    frame drawn. Polls the app's state, never a clock."""
    await app.workers.wait_for_complete()
    for _ in range(2000):
        await pilot.pause()
        if not app.running:
            break
    app.draw(force=True)
    await pilot.pause()


def async_test(fn):
    """Run an ``async def`` test in a fresh event loop (no asyncio plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper
