"""Plain, frozen data that crosses a boundary (lab -> parent, engine -> UI/CLI).

Units are in the field names (``wall_s``, ``cpu_s``, ``units_per_s``) so a
reader never has to guess seconds versus milliseconds. Standard library only:
the lab imports this module too.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable, NamedTuple

STRATEGIES = ("sequential", "threads", "processes")
#: one thread, one event loop, one task per URL: for workloads that wait on
#: I/O only (a WorkloadSpec lists the strategies that apply to it)
ASYNCIO = "asyncio"
ALL_STRATEGIES = STRATEGIES + (ASYNCIO,)
RACE_STYLES = ("call", "plain")

MIN_WORKERS = 1
MAX_WORKERS = 256


class WorkerState(enum.IntEnum):
    """What a worker is doing. Stored as an int in the shared-memory slots."""

    QUEUED = 0  # created, waiting for the start signal or its next task
    RUNNING = 1  # executing Python / C code of its task
    WAITING = 2  # blocked on I/O (network)
    DONE = 3
    ERROR = 4  # finished, at least one task failed
    CANCELLED = 5


#: Every state, by the int a slot stores (``WorkerState(n)`` costs 0.5 µs, and
#: the sampler asks twice per worker per period: 256 workers, 2,560 times a second).
_STATE_BY_VALUE = tuple(sorted(WorkerState))


def worker_state(value: int) -> WorkerState:
    """The state a slot stores as ``value``; ERROR for a value no state has."""
    return _STATE_BY_VALUE[value] if 0 <= value < len(_STATE_BY_VALUE) else WorkerState.ERROR


@dataclass(frozen=True)
class RunRequest:
    """What to run. Sent from the parent to the lab as JSON."""

    workload: str = "count"
    strategy: str = "threads"
    workers: int = 4
    #: Total work, in the workload's unit (see its WorkloadSpec); for fetch,
    #: body bytes per URL of the embedded server. ``None``: the default.
    size: int | None = None
    switch_interval_s: float | None = None
    lock: bool = False
    #: race: "call" reads, calls a function, then writes (loses updates on
    #: every CPython); "plain" is the seed notes' ``counter += 1`` on a global,
    #: which CPython 3.10+ never interrupts between the read and the write.
    race_style: str = "call"
    urls: tuple[str, ...] = ()
    latency_s: float = 0.5
    timeout_s: float = 10.0
    #: a live run: every worker repeats its tasks until the run is stopped
    #: (or ``duration_s`` has passed); the result is a throughput, not a time
    live: bool = False
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["urls"] = list(self.urls)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunRequest":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "urls" in kw:
            kw["urls"] = tuple(kw["urls"])
        return cls(**kw)


@dataclass(frozen=True)
class LabInfo:
    """The interpreter the lab runs on, as the lab reports it about itself."""

    pid: int
    python: str  # "3.11.7"
    implementation: str  # "CPython"
    executable: str
    gil_enabled: bool
    switch_interval_s: float
    cpu_count: int


def gil_between(gil_enabled: bool | None, strategy: str) -> bool | None:
    """Whether a GIL stands between a run's workers: not on a free-threaded
    build (``gil_enabled`` False), nor between processes, each with its own
    interpreter (four processes racing behind a lock read "GIL wait 12%",
    time each spent waiting for the lock); None where the interpreter is
    not known."""
    return False if strategy == "processes" else gil_enabled


def worker_kind(strategy: str) -> str:
    """What one lane of ``strategy`` is: a process, a thread, or an asyncio task."""
    return {"processes": "process", ASYNCIO: "task"}.get(strategy, "thread")


def worker_name(strategy: str, index: int) -> str:
    """A lane's name: "sequential", "thread-2", "process-0", "task-5"."""
    return "sequential" if strategy == "sequential" else f"{worker_kind(strategy)}-{index}"


@dataclass(frozen=True)
class WorkerIdentity:
    index: int
    name: str  # "thread-0", "process-1", "sequential"
    kind: str  # "thread", "process" or "task" (asyncio: every task shares one thread)
    os_id: int  # native thread id or pid (asyncio: the loop's thread); 0 until the worker has started


class WorkerSample(NamedTuple):
    """One worker over one sample period, read by the parent's sampler.

    A named tuple, not a frozen dataclass: the sampler makes one for every
    worker every period, and a frozen dataclass sets each of its seventeen
    fields through ``object.__setattr__`` (5.5 µs here, against 0.9 µs for a
    named tuple made positionally: at 256 workers, 1.4 ms of the app's
    sampling thread every 100 ms)."""

    index: int  # type: ignore[assignment]  # the lane's; it hides tuple.index, which nothing here calls
    os_id: int
    state: WorkerState
    units: int  # cumulative units done
    units_delta: int  # units done in this period
    tasks_done: int
    tasks_total: int
    task_index: int  # current task index, -1 if none
    cpu_s: float  # cumulative CPU time of this worker (psutil)
    #: CPU seconds per wall second (1.0 = a full core), over the window of
    #: the last read of its CPU time: this period's, or with many workers
    #: (read every few periods) the last read's
    cpu_share: float
    errors: int
    #: Where this worker's time went in the window that ended with this
    #: sample (the kernel's schedstat and the worker's own state): on a core;
    #: runnable but waiting for a core; blocked with CPU work to do (the GIL,
    #: or a lock); blocked on the network. They add up to the time it was in
    #: the run during the window. All 0.0 where not measured (``split``).
    running_s: float = 0.0
    core_wait_s: float = 0.0
    gil_wait_s: float = 0.0
    io_wait_s: float = 0.0
    #: the four figures above were measured for this sample
    split: bool = False
    #: units per second over the same window as ``cpu_share``: the two compare
    #: (with 64 workers a lane read "rate 4%" for this period beside "cpu 0%"
    #: for the one before)
    units_per_s: float = 0.0


#: The four states of a worker's time, in WorkerSample's field order, with
#: what they are called on screen and in exports.
STATES = ("running", "core_wait", "gil_wait", "io_wait")
STATE_NAMES = {
    "running": "running",
    "core_wait": "waiting for a core",
    "gil_wait": "waiting for the GIL",
    "io_wait": "waiting for the network",
}


def dominant_state(sample: WorkerSample) -> str | None:
    """The state a worker spent most of its sample's window in (one of
    STATES), or None where the split was not measured or it was not in the run."""
    if not sample.split:
        return None
    values = (sample.running_s, sample.core_wait_s, sample.gil_wait_s, sample.io_wait_s)
    if sum(values) <= 0:
        return None
    return STATES[max(range(4), key=values.__getitem__)]


#: Seconds on a core a thread or process must have had before its own rate
#: counts as a measure of the solo rate: enough that the CPU clock's ticks
#: and a sample's reads a few milliseconds apart are under 1% of it.
SOLO_EVIDENCE_CPU_S = 1.0


class FastestPerCore:
    """The most units any one thread or process of a run did per second on
    a core, over any stretch of at least ``SOLO_EVIDENCE_CPU_S`` of its own
    CPU time. This is a measure of the solo rate too: a worker can do no
    more per second on a core than one worker alone does. Stretches, not
    the whole run: this VM's speed per core drifts, and a run's average
    left the last seconds' "2.03× solo" above 1.93 cores used. Workers that
    share one thread (asyncio's tasks) count together, as that thread."""

    def __init__(self) -> None:
        self._since: dict[int, tuple[int, float]] = {}  # os id: (units, CPU s) where its stretch began
        self.fastest: float | None = None

    def add(self, workers: Iterable[WorkerSample]) -> float | None:
        """Samples whose CPU time was read with them (cumulative units and
        CPU time); the fastest stretch so far, or None."""
        units: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for w in workers:
            if w.os_id:
                units[w.os_id] = units.get(w.os_id, 0) + w.units
                cpu[w.os_id] = cpu.get(w.os_id, 0.0) + w.cpu_s
        for key, now_cpu in cpu.items():
            start_units, start_cpu = self._since.setdefault(key, (0, 0.0))
            if now_cpu - start_cpu >= SOLO_EVIDENCE_CPU_S:
                rate = (units[key] - start_units) / (now_cpu - start_cpu)
                self.fastest = rate if self.fastest is None else max(self.fastest, rate)
                self._since[key] = (units[key], now_cpu)
        return self.fastest


@dataclass(frozen=True)
class Tick:
    """Everything measured in one sample period."""

    seq: int
    t_s: float  # seconds since the run's start signal (end of this period)
    period_s: float  # actual length of this period
    workers: tuple[WorkerSample, ...]
    cores_percent: tuple[float, ...]  # each core's busy per cent over this period, as psutil.cpu_percent says it
    cores_used: float  # lab + worker CPU seconds per wall second, this period
    #: race: the shared counter as the lab last published it (live runs count up); None otherwise
    race_counter: int | None = None
    #: race: the increments the workers had reported when ``race_counter`` was read (its
    #: expected value, had no update been lost); None otherwise
    race_units: int | None = None


@dataclass(frozen=True)
class RunStarted:
    """Sent when the workers have been released (the start signal)."""

    request: RunRequest
    workers: tuple[WorkerIdentity, ...]
    unit: str
    tasks: tuple[str, ...]  # a label per task: the URL, "chunk 3/8" ...
    #: each worker's planned total in ``unit`` (None: not known in advance, a real URL)
    planned_units: tuple[int | None, ...]
    #: one worker alone on a free core: the lab's calibration, raised by any
    #: earlier worker measured doing more per CPU second (lab.raise_solo)
    solo_units_per_s: float | None
    startup_s: float  # time to create the workers before the start signal
    switch_interval_s: float  # sys.getswitchinterval() in the lab for this run
    lab: LabInfo


@dataclass(frozen=True)
class WorkerResult:
    index: int
    name: str
    kind: str
    os_id: int
    state: str
    tasks_done: int
    units: int
    cpu_s: float
    errors: tuple[str, ...] = ()
    #: from the start signal to the end of its tasks (or of the run)
    wall_s: float = 0.0
    #: where that time went (see WorkerSample); 0.0 where not measured
    running_s: float = 0.0
    core_wait_s: float = 0.0
    gil_wait_s: float = 0.0
    io_wait_s: float = 0.0


@dataclass(frozen=True)
class ConvoyPoint:
    """The convoy workload's I/O thread in one configuration: how many CPU
    workers counted beside it, as threads or processes, at which switch interval."""

    cpu_workers: int
    cpu_strategy: str  # "threads": in the I/O thread's process; "processes": each in its own
    switch_interval_s: float
    io_requests: int
    io_requests_per_s: float
    io_latency_p50_ms: float | None
    io_latency_p99_ms: float | None


@dataclass(frozen=True)
class RunResult:
    """The measured outcome of one run. ``to_dict`` is the ``--json`` object."""

    workload: str
    strategy: str
    workers: int
    size: int
    unit: str
    lock: bool
    wall_s: float  # start signal -> last worker done
    startup_s: float  # creating threads / processes, before the start signal
    cpu_s: float  # CPU time of the lab and its worker processes during the run
    cores_used: float  # cpu_s / wall_s
    units: int
    units_per_s: float
    python: str
    implementation: str
    gil_enabled: bool
    switch_interval_s: float
    cpu_count: int
    errors: tuple[str, ...]
    cancelled: bool
    worker_results: tuple[WorkerResult, ...]
    expected: int | None = None  # race only
    actual: int | None = None
    lost: int | None = None
    race_style: str | None = None  # race only: "call" or "plain"
    speedup: float | None = None  # set by compare: sequential wall / this wall
    #: Cores busy with *other* programs during the run (all cores' load minus
    #: ours, averaged over the samples); None if no sample was taken.
    other_load_cores: float | None = None
    #: Cores' worth of time a virtual machine's host gave to other guests
    #: during the run (the kernel's steal time); None where not counted.
    steal_cores: float | None = None
    #: the kernel's schedstat gave each worker's time on a core and waiting
    #: for one, so the four states were measured (False: not Linux, or no schedstats)
    states_measured: bool = False
    #: the workers' time blocked with CPU work to do (the GIL, or a lock), over
    #: their wall time: ~0.5 for two pure-Python threads, ~0 for processes
    gil_wait_share: float | None = None
    #: compare --repeat: every pass's wall time of this strategy, in order;
    #: this result is the pass with the median wall time
    repeat_walls_s: tuple[float, ...] = ()
    #: a live run (workers repeated their tasks until stopped): read units_per_s
    live: bool = False
    #: what one worker alone did per second on a core: the lab's calibration,
    #: raised after the run by any worker measured doing more per CPU second
    #: over at least SOLO_EVIDENCE_CPU_S (lab.raise_solo; None for waiting work)
    solo_units_per_s: float | None = None
    #: convoy only: the I/O thread's requests per second and latency in this run
    io_requests_per_s: float | None = None
    io_latency_p50_ms: float | None = None
    io_latency_p99_ms: float | None = None
    #: convoy's ``gilviz run``: every configuration of its sweep
    convoy: tuple[ConvoyPoint, ...] = ()
    ticks: tuple[Tick, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "ticks":
                continue
            value = getattr(self, f.name)
            if f.name == "worker_results":
                value = [asdict(w) | {"errors": list(w.errors)} for w in value]
            elif f.name == "convoy":
                value = [asdict(c) for c in value]
            elif isinstance(value, tuple):
                value = list(value)
            d[f.name] = value
        return d

    def with_speedup(self, baseline_wall_s: float) -> "RunResult":
        from dataclasses import replace

        speed = baseline_wall_s / self.wall_s if self.wall_s > 0 else None
        return replace(self, speedup=speed)
