"""A session: one lab (restarted when needed), one embedded HTTP server, and
runs measured one after another. The headless CLI and the Textual app both
drive the engine through this class.

What the session reads from the outside world comes through three seams,
each a Protocol below: the lab connection (events from the lab process), the
tick source (the sampler, which reads the slots and the OS's counters) and the
URL source (the embedded HTTP server). Tests of the app replace these and
nothing else, so the real planning, compare and result code runs under test.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol

import psutil

from .client import LabClient, LabError
from .latency import convoy_point, discard_records, sweep_configurations, with_io_figures
from .loopback import LoopbackError, LoopbackServer
from .model import (
    LabInfo,
    RunRequest,
    RunResult,
    RunStarted,
    Tick,
    WorkerIdentity,
    WorkerResult,
    WorkerState,
    worker_kind,
    worker_name,
)
from .plan import RunPlan, compare_variants, make_plan
from .sampler import Sampler, read_core_times, read_steal
from .slots import CPU_NS, DONE_NS, GO_NS, OS_ID, STARTED_NS, STATE, TASKS_DONE, UNITS, Slots
from .strategies import CANCEL_GRACE_S, START_TIMEOUT_S
from .workloads import convoy, spec

DEFAULT_PERIOD_S = 0.1
#: A run keeps its newest samples, at most this many worker-samples in all
#: (about 40 MB), so a long run with many workers cannot grow without bound:
#: 16 workers keep 20 minutes at 100 ms, 256 keep the last 78 s.
MAX_KEPT_SAMPLES = 200_000
MIN_KEPT_TICKS = 300
#: A live run goes on for as long as the talk: it keeps far fewer (about 4 MB),
#: so the app's memory is flat after a minute or two (its trace covers the
#: last 8 s to 2 min, by the number of workers: 256 to 16).
MAX_KEPT_LIVE_SAMPLES = 20_000
#: ... and, whatever the number of workers, its last 5 s. (It kept at least
#: 30 s: 76,800 samples at 256 workers, which every full garbage collection
#: of the app walked, 25-65 ms each, a key press waiting for it.)
MIN_KEPT_LIVE_TICKS = 50


def kept_ticks(n_workers: int, live: bool = False) -> int:
    """How many ticks a run keeps for its result (and trace)."""
    if live:
        return max(MIN_KEPT_LIVE_TICKS, MAX_KEPT_LIVE_SAMPLES // max(1, n_workers))
    return max(MIN_KEPT_TICKS, MAX_KEPT_SAMPLES // max(1, n_workers))


#: A lock compare's probe of its locked run: this many seconds of one worker's solo work.
LOCK_PROBE_S = 0.1


def median_pass(runs: list[RunResult], repeat: int) -> RunResult:
    """The pass with the median wall time (the lower middle of an even count),
    carrying every pass's wall time."""
    from dataclasses import replace

    if repeat <= 1:
        return runs[0]
    ordered = sorted(runs, key=lambda r: r.wall_s)
    return replace(ordered[(len(ordered) - 1) // 2], repeat_walls_s=tuple(r.wall_s for r in runs))


class StateTotals:
    """Each worker's time per state, summed over every tick of a run (the
    run keeps only its newest ticks; these totals cover all of them)."""

    def __init__(self, n_workers: int) -> None:
        self.seconds = [[0.0, 0.0, 0.0, 0.0] for _ in range(n_workers)]
        self.measured = False

    def add(self, tick: Tick) -> None:
        for w in tick.workers:
            if w.split and 0 <= w.index < len(self.seconds):
                self.measured = True
                totals = self.seconds[w.index]
                totals[0] += w.running_s
                totals[1] += w.core_wait_s
                totals[2] += w.gil_wait_s
                totals[3] += w.io_wait_s


class RunFailed(RuntimeError):
    """The run could not be carried out (the lab died or refused it)."""


class RunCancelled(RunFailed):
    """The run was stopped (or switched from) before its workers started:
    there is nothing measured to give back."""


def default_workers(workload: str, urls: tuple[str, ...] = ()) -> int:
    """The workload's default: for fetch, one worker per URL."""
    s = spec(workload)
    return len(urls) if urls and "urls" in s.options else s.default_workers


def other_load(ticks: tuple[Tick, ...], own_cores: float = 0.0, steal_cores: float | None = None) -> float | None:
    """Average cores used by other programs while the run went (a busy machine
    explains a surprising result): every core's load, minus the lab and its
    workers, minus ``own_cores`` (gilviz's other processes: this one, with the
    UI and the sampler, and the embedded HTTP server), minus ``steal_cores``
    (a virtual machine's host running other guests, which psutil counts as
    load)."""
    if not ticks:
        return None
    total = sum(t.period_s for t in ticks)
    busy = sum(max(0.0, sum(t.cores_percent) / 100.0 - t.cores_used) * t.period_s for t in ticks)
    return max(0.0, busy / total - own_cores - (steal_cores or 0.0)) if total > 0 else None


class OwnCpu:
    """CPU time of gilviz's own processes besides the lab: this process (the
    CLI or the app, and the sampler) and the embedded HTTP server."""

    def __init__(self, server: object) -> None:
        self.procs = [psutil.Process()]
        proc = getattr(server, "proc", None)
        if proc is not None and proc.poll() is None:
            try:
                self.procs.append(psutil.Process(proc.pid))
            except psutil.Error:
                pass
        self.t0 = time.monotonic()
        self.cpu0 = self._cpu()

    def _cpu(self) -> float:
        total = 0.0
        for p in self.procs:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def cores(self) -> float:
        """Their average cores used since this object was made."""
        wall = time.monotonic() - self.t0
        return max(0.0, self._cpu() - self.cpu0) / wall if wall > 0 else 0.0


class StealTime:
    """Time the host of a virtual machine ran other guests on its cores
    (the kernel's "steal"): busy in every core's load, but not a program
    here. None where the kernel does not count it."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.steal0 = self._steal()

    @staticmethod
    def _steal() -> float | None:
        read = read_steal(read_core_times())
        return read[0] if read is not None else None

    def cores(self) -> float | None:
        """The cores' worth of time taken since this object was made."""
        now, wall = self._steal(), time.monotonic() - self.t0
        if now is None or self.steal0 is None or wall <= 0:
            return None
        return max(0.0, now - self.steal0) / wall


#: Waiting for the "started" event: the lab's own START_TIMEOUT_S for the
#: workers, plus this for calibration and the lab's answer.
STARTED_MARGIN_S = 30.0
#: After a cancel, the workers get CANCEL_GRACE_S to notice, and the lab this
#: much more to report; then the lab is killed.
CANCEL_MARGIN_S = 3.0


class LabConnection(Protocol):
    """The parent's side of a lab (:class:`~gilviz.engine.client.LabClient`)."""

    info: LabInfo | None

    @property
    def alive(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def start(self) -> LabInfo: ...

    def send(self, msg: dict) -> None: ...

    def wait_event(self, timeout_s: float | None) -> dict | None: ...

    def discard_events(self) -> None: ...

    def death_message(self) -> str: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


class TickSource(Protocol):
    """Measures a run period by period (:class:`~gilviz.engine.sampler.Sampler`)."""

    def start(self) -> None: ...

    def sample(self, final: bool = False) -> Tick: ...

    def close(self) -> None: ...


class UrlSource(Protocol):
    """Serves the fetch workload's URLs (:class:`~gilviz.engine.loopback.LoopbackServer`)."""

    def urls(self, count: int, latency_s: float, size_bytes: int) -> tuple[str, ...]: ...

    def close(self) -> None: ...


LabFactory = Callable[[], LabConnection]
#: (slots, lab pid, strategy, tasks per worker) -> a tick source for one run
TickSourceFactory = Callable[..., TickSource]


@dataclass
class _Queued:
    """A switch's next run, sent to the lab while the current run stops."""

    asked: RunRequest  # as the caller asked for it (``run`` takes it up by this)
    request: RunRequest  # prepared
    plan: RunPlan
    slots: Slots
    run_id: int
    lab: LabConnection  # the lab it was sent to

    def drop(self) -> None:
        """Stop it in the lab, wherever it got to, and free what it holds here."""
        self.slots.cancel()
        self.slots.close()
        self.slots.unlink()
        discard_records(self.plan)


class Session:
    def __init__(
        self,
        python: str | None = None,
        period_s: float = DEFAULT_PERIOD_S,
        *,
        gil: str | None = None,
        cpus: tuple[int, ...] | None = None,
        lab_factory: LabFactory | None = None,
        tick_source: TickSourceFactory | None = None,
        url_source: UrlSource | None = None,
        warm_processes: bool = False,
    ) -> None:
        """``warm_processes``: the lab starts its fork server before it is
        ready, so the first processes run starts at once (the app: a speaker
        switches to processes mid-run; headless runs leave it to the first
        processes run, before its start signal)."""
        self.python = python
        self.period_s = period_s
        self.gil = gil  # "on" / "off": PYTHON_GIL for the lab (free-threaded builds)
        self.cpus = cpus  # the cores the lab and its workers are pinned to
        self.lab_factory: LabFactory = lab_factory or (lambda: LabClient(python, gil=gil, cpus=cpus,
                                                                               warm_processes=warm_processes))
        self.tick_source: TickSourceFactory = tick_source or Sampler
        self.lab: LabConnection | None = None
        self.server: UrlSource = url_source or LoopbackServer()
        self._slots: Slots | None = None  # the current run's
        self._queued: _Queued | None = None  # the next run, sent during a switch
        self._taken = 0  # how often the next run was taken up or dropped (see switch)
        self._run_ids = itertools.count(1)
        self._runs_lock = threading.Lock()  # guards the three above, never held while waiting
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------

    def ensure_lab(self) -> LabConnection:
        with self._lock:
            if self.lab is None or not self.lab.alive:
                if self.lab is not None:
                    self.lab.kill()
                lab = self.lab_factory()
                lab.start()
                self.lab = lab
            return self.lab

    def info(self) -> LabInfo:
        info = self.ensure_lab().info
        assert info is not None
        return info

    def close(self) -> None:
        """End the lab, its workers and the HTTP server. Safe to call twice."""
        self.cancel()
        with self._lock:
            if self.lab is not None:
                self.lab.close()
                self.lab = None
        self.server.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------

    def prepare(self, request: RunRequest) -> RunRequest:
        """Fill in what the request leaves to defaults (sizes, embedded URLs)."""
        from dataclasses import replace

        s = spec(request.workload)
        if "urls" in s.options and request.urls:
            return request  # real URLs: their sizes are the servers'
        size = request.size if request.size is not None else s.default_size
        if "loopback" in s.options and not request.urls:  # convoy: one small answer at once, again and again
            try:
                urls = self.server.urls(1, 0.0, convoy.BODY_BYTES)
            except LoopbackError as exc:
                raise RunFailed(str(exc)) from None
            return replace(request, urls=urls, size=size)
        if "urls" in s.options:
            try:
                # as many URLs as the workload's default workers, whatever the
                # worker count: fewer workers then take several URLs each
                urls = self.server.urls(s.default_workers, request.latency_s, size)
            except LoopbackError as exc:
                raise RunFailed(str(exc)) from None
            return replace(request, urls=urls, size=size)
        return replace(request, size=size)

    def solo_rate(self, request: RunRequest) -> float | None:
        """Units per second one worker of ``request`` does alone on a free
        core, measured by the lab (None for I/O work)."""
        try:
            lab = self.ensure_lab()
            lab.discard_events()
            lab.send({"op": "calibrate", "request": request.to_dict()})
            deadline = time.perf_counter() + STARTED_MARGIN_S
            while time.perf_counter() < deadline:
                event = lab.wait_event(0.1)
                if event is None:
                    if not lab.alive:
                        self._lab_died(lab)
                    continue
                if self._check_event(lab, event, run_id=0) == "calibrated":  # not a run's
                    rate = event.get("solo_units_per_s")
                    return float(rate) if rate else None
        except LabError as exc:
            raise RunFailed(str(exc)) from None
        raise RunFailed("the lab did not calibrate in time")

    def warm_solo(self, request: RunRequest) -> None:
        """Have a running, idle lab measure ``request``'s solo rate now, for
        its first run (the app, idle a moment after a change). Returns at
        once; the lab answers nothing, and a run asked for meanwhile waits
        for the measurement (under half a second)."""
        lab = self.lab
        if lab is None or not lab.alive or spec(request.workload).calibration_units is None:
            return
        try:
            lab.send({"op": "warm_solo", "request": request.to_dict()})
        except LabError:  # the next run starts a new lab, and measures there
            pass

    def sized_for_compare(self, request: RunRequest, seconds: float, by: str = "strategy") -> RunRequest:
        """``request`` with the work for a compare (``by``, as :meth:`compare`)
        that lasts about ``seconds`` on this machine, measured. By strategy:
        what one worker alone does in that long, so the sequential run takes
        about that long and every strategy does the same work. By lock: what
        the locked run, the slow one, does in that long (:meth:`_locked_rate`);
        the unlocked run then takes what it takes. I/O work is left as it is."""
        from dataclasses import replace

        if by == "lock":
            rate = self._locked_rate(request)
        else:
            rate = self.solo_rate(replace(request, strategy="sequential", live=False))
        if not rate:
            return request
        s = spec(request.workload)
        return replace(request, size=max(1, min(s.max_size, int(rate * seconds))))

    def _locked_rate(self, request: RunRequest) -> float | None:
        """The race's locked run's rate, measured on a short run of it (about
        a tenth of a second of solo work): a contended lock costs many times
        its solo rate, and no solo figure says how many. None if cancelled."""
        from dataclasses import replace

        locked = replace(compare_variants(request, "lock")[-1], live=False)
        solo = self.solo_rate(replace(locked, strategy="sequential"))
        if not solo:
            return None
        probe = self._run(replace(locked, size=max(locked.workers, int(solo * LOCK_PROBE_S))))
        if probe.cancelled or probe.wall_s <= 0 or not probe.units:
            return None
        return probe.units / probe.wall_s

    def cancel(self) -> None:
        """Ask the current run to stop (thread-safe). The run returns soon
        after; a switch's next run (:meth:`switch`) is dropped."""
        with self._runs_lock:
            queued = self._take_queued()
            self._cancel_current()
        if queued is not None:
            queued.drop()

    def _take_queued(self) -> _Queued | None:
        """The switch's run sent and not yet followed, no longer queued (hold
        ``_runs_lock``); and one a switch is still preparing is not to be sent."""
        queued, self._queued = self._queued, None
        self._taken += 1
        return queued

    def _drop_queued(self) -> None:
        with self._runs_lock:
            queued = self._take_queued()
        if queued is not None:
            queued.drop()

    def _cancel_current(self) -> None:
        self._cancel.set()
        slots = self._slots
        if slots is not None:
            try:
                slots.cancel()
            except ValueError:  # already closed
                pass

    def switch(self, request: RunRequest) -> bool:
        """During a run (thread-safe): stop it, and have the lab start
        ``request``'s workers at once, beside the old ones' end, giving them
        the start signal once the old run has ended. The caller's next
        :meth:`run` of the same request follows that run. A speaker's switch
        from 256 threads to processes waited for the threads' stop (0.2 s)
        before the processes' start (0.3 s). False if no run is going (the
        request is not sent; ``run`` starts it as any other).

        The request is prepared (a fetch's may start the loopback server)
        before the run is stopped and without ``_runs_lock``: a cancel,
        another switch or the next run does not wait for it, and one that
        comes meanwhile wins (this switch then stops and sends nothing:
        False). The stop, the send and the queueing stay one step under the
        lock: the old run's thread, once stopped, cannot take up its next
        run between them and start it as if nothing were queued."""
        with self._runs_lock:
            taken = self._taken
            lab = self.lab if self._slots is not None and self.lab is not None and self.lab.alive else None
        mine: _Queued | None = None
        if lab is not None:  # a run is going: the request, ready to send
            try:
                prepared = self.prepare(request)
            except RunFailed:  # the run asks again, and says why
                pass
            else:
                plan = make_plan(prepared)
                mine = _Queued(request, prepared, plan, Slots.create(plan.workers), next(self._run_ids), lab)
        queued, sent = None, False
        with self._runs_lock:
            if self._taken == taken:  # else a cancel, another switch or the next run came meanwhile
                queued = self._take_queued()
                self._cancel_current()
                if mine is not None and self._slots is not None and self.lab is mine.lab and mine.lab.alive:
                    try:
                        mine.lab.send({"op": "run", "request": mine.request.to_dict(), "plan": mine.plan.to_message(),
                                       "slots": mine.slots.path, "id": mine.run_id, "after": True})
                    except LabError:  # the run finds the lab gone and says so
                        pass
                    else:
                        self._queued, sent = mine, True
        if queued is not None:
            queued.drop()  # a second switch before the first's run began
        if mine is not None and not sent:
            mine.drop()
        return sent

    def run(
        self,
        request: RunRequest,
        on_started: Callable[[RunStarted], None] | None = None,
        on_tick: Callable[[Tick], None] | None = None,
    ) -> RunResult:
        """Run ``request`` in the lab and measure it. Blocks until it ends."""
        self._cancel.clear()
        return self._run(request, on_started, on_tick)

    def _run(self, request, on_started=None, on_tick=None) -> RunResult:
        with self._runs_lock:
            queued = self._take_queued()
            if queued is not None and queued.asked == request and queued.lab is self.lab and queued.lab.alive:
                self._slots = queued.slots  # a switch's run: the lab has it already
            elif queued is not None:
                queued.drop()
                queued = None
        if queued is not None:
            # the lab it was sent to, found alive with the lock held: self.lab may be gone since (a close)
            lab, request, plan, slots, run_id = queued.lab, queued.request, queued.plan, queued.slots, queued.run_id
        else:
            request = self.prepare(request)
            try:
                lab = self.ensure_lab()
            except LabError as exc:
                raise RunFailed(str(exc)) from None
            plan = make_plan(request)
            slots = Slots.create(plan.workers)
            run_id = next(self._run_ids)
            lab.discard_events()  # events of an earlier, abandoned run
        assert lab is not None and lab.info is not None
        try:
            if queued is None:
                # sent and made the current run at once: a switch in between
                # would reach the lab first, and start as if nothing ran
                with self._runs_lock:
                    lab.send({"op": "run", "request": request.to_dict(), "plan": plan.to_message(),
                              "slots": slots.path, "id": run_id})
                    self._slots = slots
            return with_io_figures(self._follow(lab, request, plan, slots, run_id, on_started, on_tick), plan)
        except BaseException as exc:
            slots.cancel()  # whatever went wrong here, the lab's run ends
            if not isinstance(exc, RunCancelled):  # a switch's run is still wanted after a stop before the start
                self._drop_queued()  # nobody follows a switch's run once this one failed
            if isinstance(exc, LabError):
                raise RunFailed(str(exc)) from None
            raise
        finally:
            with self._runs_lock:
                self._slots = None
            slots.close()
            slots.unlink()
            discard_records(plan)

    def _follow(self, lab: LabConnection, request: RunRequest, plan: RunPlan, slots: Slots, run_id: int,
                on_started: Callable[[RunStarted], None] | None,
                on_tick: Callable[[Tick], None] | None) -> RunResult:
        started_event = self._wait_started(lab, slots, run_id)
        if lab.pid is None:  # closed meanwhile (Session.close), its started event read after
            self._lab_died(lab)
        assert lab.pid is not None and lab.info is not None
        started = self._started(request, plan, slots, started_event, lab.info)
        if on_started is not None:
            on_started(started)  # first: the sampler's start reads 256 workers' files (10 ms)
        sampler = self.tick_source(slots, lab.pid, request.strategy, [len(lane) for lane in plan.lanes],
                                   race=request.workload == "race",
                                   probe_lanes=(0,) if spec(request.workload).io_lane else ())
        sampler.start()
        ticks: deque[Tick] = deque(maxlen=kept_ticks(plan.workers, request.live))
        states = StateTotals(plan.workers)
        own = OwnCpu(self.server)
        steal = StealTime()

        def measure(final: bool = False) -> None:
            tick = sampler.sample(final=final)
            ticks.append(tick)
            states.add(tick)
            if on_tick is not None:
                on_tick(tick)

        next_at = time.perf_counter() + self.period_s
        cancel_deadline = None
        # a live run with a duration ends when it is over, as if stopped
        ends_at = time.perf_counter() + request.duration_s if request.live and request.duration_s else None
        try:
            while True:
                if ends_at is not None and time.perf_counter() >= ends_at:
                    slots.cancel()
                    ends_at = None
                event = lab.wait_event(max(0.0, next_at - time.perf_counter()))
                if event is not None:
                    if self._check_event(lab, event, run_id) == "finished":
                        measure(final=True)
                        return self._result(request, lab.info, started, slots, event["outcome"], tuple(ticks), states,
                                            own.cores(), steal.cores(), event.get("solo_units_per_s"))
                    continue
                if not lab.alive:  # do not wait for the pipe: a worker may hold it
                    self._lab_died(lab)
                measure()
                next_at += self.period_s
                if next_at < time.perf_counter():  # fell behind: do not burst
                    next_at = time.perf_counter() + self.period_s
                if self._cancel.is_set():
                    slots.cancel()
                    cancel_deadline = cancel_deadline or time.perf_counter() + CANCEL_GRACE_S + CANCEL_MARGIN_S
                    if time.perf_counter() > cancel_deadline:
                        lab.kill()  # a worker that does not listen: end the lab
                        raise RunFailed("the run did not stop when cancelled; the lab was restarted")
        finally:
            sampler.close()  # its sleep probe, however the run ended

    @staticmethod
    def _started(request: RunRequest, plan: RunPlan, slots: Slots, event: dict, info: LabInfo) -> RunStarted:
        """What the screen needs to know of a run at its start signal."""
        kind = worker_kind(request.strategy)
        identities = tuple(
            WorkerIdentity(
                index=i,
                name=worker_name(request.strategy, i),
                kind=kind,
                os_id=slots.get(i, OS_ID),
            )
            for i in range(plan.workers)
        )
        return RunStarted(
            request=request,
            workers=identities,
            unit=spec(request.workload).unit,
            tasks=tuple(t.label for t in plan.tasks),
            # a live run repeats its tasks: it has no planned total
            planned_units=(None,) * plan.workers if request.live else plan.planned_units(),
            solo_units_per_s=event.get("solo_units_per_s"),
            startup_s=event.get("startup_s", 0.0),
            switch_interval_s=event.get("switch_interval_s", info.switch_interval_s),
            lab=info,
        )

    @staticmethod
    def _lab_died(lab: LabConnection) -> None:
        msg = lab.death_message()
        lab.kill()
        raise RunFailed(msg)

    def _check_event(self, lab: LabConnection, event: dict, run_id: int | None = None) -> str:
        """The kind of a lab event, "other" for another run's (one a switch
        dropped); an error or the lab's exit raises RunFailed."""
        if run_id is not None and event.get("id", run_id) != run_id:
            return "other"
        ev = event.get("ev")
        if ev == "error":
            raise RunFailed(f"the lab reported: {event.get('message')}")
        if ev == "exit":
            self._lab_died(lab)
        return str(ev)

    def _wait_started(self, lab: LabConnection, slots: Slots, run_id: int) -> dict:
        deadline = time.perf_counter() + START_TIMEOUT_S + STARTED_MARGIN_S
        while True:
            event = lab.wait_event(0.1)
            if event is None:
                if self._cancel.is_set():
                    slots.cancel()
                if time.perf_counter() > deadline:
                    lab.kill()
                    raise RunFailed("the lab did not start the workers in time; it was restarted")
                continue
            ev = self._check_event(lab, event, run_id)
            if ev == "started":
                return event
            if ev == "finished":  # ended before starting (cancelled, workers failed)
                errors = event["outcome"].get("errors") or ["cancelled before the start"]
                if self._cancel.is_set() and event["outcome"].get("cancelled"):
                    raise RunCancelled("; ".join(errors))
                raise RunFailed("; ".join(errors))

    @staticmethod
    def _worker_wall_s(slots: Slots, i: int, run_wall_s: float) -> float:
        """From when the worker began (it woke up to the start signal) to its
        end, or to the run's end."""
        go_ns, started_ns, done_ns = int(slots.words[GO_NS]), slots.get(i, STARTED_NS), slots.get(i, DONE_NS)
        began_ns = started_ns or go_ns
        if not began_ns:
            return run_wall_s
        end_ns = done_ns if done_ns >= began_ns else go_ns + int(run_wall_s * 1e9)
        return max(0.0, min((end_ns - began_ns) / 1e9, run_wall_s))

    def _worker_results(self, request: RunRequest, started: RunStarted, slots: Slots, outcome: dict,
                        states: StateTotals) -> list[WorkerResult]:
        """Each worker's result, from its slot (what it wrote) and the states measured."""
        rows = []
        kind = worker_kind(request.strategy)
        for i, w in enumerate(outcome["workers"]):
            running, core_wait, gil_wait, io_wait = states.seconds[i] if i < len(states.seconds) else (0, 0, 0, 0)
            rows.append(
                WorkerResult(
                    index=i,
                    name=started.workers[i].name,
                    kind=kind,
                    os_id=slots.get(i, OS_ID),
                    state=WorkerState(slots.get(i, STATE)).name.lower(),
                    tasks_done=slots.get(i, TASKS_DONE),
                    units=slots.get(i, UNITS),
                    cpu_s=slots.get(i, CPU_NS) / 1e9,
                    errors=tuple(w.get("errors", ())),
                    wall_s=self._worker_wall_s(slots, i, outcome["wall_s"]),
                    running_s=running,
                    core_wait_s=core_wait,
                    gil_wait_s=gil_wait,
                    io_wait_s=io_wait,
                )
            )
        return rows

    def _result(self, request: RunRequest, info: LabInfo, started: RunStarted, slots: Slots, outcome: dict,
                ticks: tuple[Tick, ...], states: StateTotals | None = None, own_cores: float = 0.0,
                steal_cores: float | None = None, solo_after: float | None = None) -> RunResult:
        """``solo_after``: the lab's solo rate once the run was over, raised
        by what its workers did per CPU second (see lab.raise_solo)."""
        states = states or StateTotals(len(outcome["workers"]))
        rows = self._worker_results(request, started, slots, outcome, states)
        units = sum(r.units for r in rows)
        wall_s = outcome["wall_s"]
        cpu_s = outcome["cpu_s"]
        errors = list(outcome["errors"]) + list(outcome.get("notes", []))
        race = request.workload == "race"
        actual = outcome.get("race_actual") if race else None
        worker_wall = sum(r.wall_s for r in rows)
        gil_share = sum(r.gil_wait_s for r in rows) / worker_wall if states.measured and worker_wall > 0 else None
        return RunResult(
            workload=request.workload,
            strategy=request.strategy,
            workers=request.workers,
            size=request.size if request.size is not None else 0,
            unit=spec(request.workload).unit,
            lock=request.lock,
            wall_s=wall_s,
            startup_s=outcome["startup_s"],
            cpu_s=cpu_s,
            cores_used=cpu_s / wall_s if wall_s > 0 else 0.0,
            units=units,
            units_per_s=units / wall_s if wall_s > 0 else 0.0,
            python=info.python,
            implementation=info.implementation,
            gil_enabled=info.gil_enabled,
            switch_interval_s=started.switch_interval_s,
            cpu_count=info.cpu_count,
            errors=tuple(errors),
            # stopping is how a live run ends
            cancelled=bool(outcome["cancelled"]) and not request.live,
            live=request.live,
            solo_units_per_s=solo_after if solo_after is not None else started.solo_units_per_s,
            worker_results=tuple(rows),
            expected=units if race else None,
            actual=actual,
            lost=(units - actual) if race and actual is not None else None,
            race_style=request.race_style if race else None,
            other_load_cores=other_load(ticks, own_cores, steal_cores),
            steal_cores=steal_cores,
            states_measured=states.measured,
            gil_wait_share=gil_share,
            ticks=ticks,
        )

    def compare(
        self,
        request: RunRequest,
        on_result: Callable[[RunResult], None] | None = None,
        repeat: int = 1,
        by: str = "strategy",
        seconds: float | None = None,
        **callbacks,
    ) -> list[RunResult]:
        """The same total work under each variant of :func:`compare_variants`
        (``by`` "strategy": sequential, threads, processes and asyncio, those
        that apply to the workload; "lock": the race without and with its
        lock), one after another. With ``repeat`` > 1 the variants run that
        many times, interleaved (a machine whose speed drifts affects each
        alike), and each variant's result is its median pass, with every
        pass's wall time in ``repeat_walls_s``. Speedups are against the
        first variant (sequential; the race without its lock), of the medians.
        ``seconds``: size the work first (:meth:`sized_for_compare`); a
        :meth:`cancel` while it is measured stops the compare too."""
        from dataclasses import replace

        self._cancel.clear()  # a stop of an earlier run is not one of this compare
        if seconds is not None:
            request = replace(request, size=self.sized_for_compare(request, seconds, by).size)
        variants = compare_variants(self.prepare(request), by)  # prepared once: the same URLs for each
        passes: list[list[RunResult]] = [[] for _ in variants]
        for _ in range(repeat):
            for runs, variant in zip(passes, variants, strict=True):
                if self._cancel.is_set():
                    break
                result = self._run(variant, **callbacks)
                runs.append(result)
                if result.cancelled:
                    self._cancel.set()
                    break
                if repeat == 1 and on_result is not None:
                    on_result(result.with_speedup(passes[0][0].wall_s))
        results = [median_pass(runs, repeat) for runs in passes if runs]
        results = [r.with_speedup(results[0].wall_s) for r in results]
        if repeat > 1 and on_result is not None:
            for r in results:
                on_result(r)
        return results

    def convoy(self, request: RunRequest, on_result: Callable[[RunResult], None] | None = None,
               **callbacks) -> RunResult:
        """The convoy sweep: the I/O thread with 0, 1, 2, 4 CPU workers as
        threads and as processes, and with one CPU thread at a short and a
        long switch interval, one run each (``request.size`` ms). Returns
        the run of ``request``'s own configuration (run apart if the sweep
        has none like it), carrying every configuration in ``convoy``."""
        from dataclasses import replace

        self._cancel.clear()
        request = self.prepare(request)
        own = (request.strategy, request.workers, request.switch_interval_s)
        mine: RunResult | None = None
        points = []
        for strategy, cpu_workers, interval in sweep_configurations(spec(request.workload).strategies):
            if self._cancel.is_set():
                break
            result = self._run(replace(request, strategy=strategy, workers=cpu_workers,
                                       switch_interval_s=interval), **callbacks)
            points.append(convoy_point(result))
            if on_result is not None:
                on_result(result)
            if (strategy, cpu_workers, interval) == own:
                mine = result
            if result.cancelled:
                break
        if mine is None and not self._cancel.is_set():
            mine = self._run(request, **callbacks)
        if mine is None:
            raise RunFailed("the convoy sweep was cancelled")
        return replace(mine, convoy=tuple(points))
