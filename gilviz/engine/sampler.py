"""The sampler: measures a run from outside, the way a profiler watches its target.

At each period it reads the workers' shared slots (state, units, tasks) and
asks the OS for the CPU time of every worker thread (in the lab) or worker
process, for the lab as a whole, and for every core. It runs in the parent,
so measuring costs the lab nothing but a few stores per chunk.

Where Linux keeps scheduler statistics (``/proc/<pid>/task/<tid>/schedstat``)
each worker's time splits, window by window, into four states:

- **running**: on a core (for pure-Python work, that means holding the GIL);
- **waiting for a core**: runnable, but every core was busy;
- **waiting for the GIL**: neither, while the worker had CPU work to do (its
  slot said RUNNING): blocked on the GIL, or on the race's lock with --lock;
- **waiting for the network**: blocked while its slot said WAITING (a fetch).

The kernel gives the first two in nanoseconds; the rest of the worker's time
in the run is blocked, and the worker's own state says on what. Every figure
counts from the start signal: the worker notes its schedstat then (slot
ON_CPU0_NS), and its end (DONE_NS) bounds its last window. Without schedstat,
per-worker CPU comes from psutil (10 ms ticks) and the split is not available.

A worker says WAITING before a network call and cannot say it is back until
it holds the GIL again, so the time it then waits for the GIL would read as
the network. Where that matters (the convoy's I/O thread) a
:class:`SleepProbe` looks every few milliseconds at where the thread sleeps
(the kernel's ``wchan``): in a futex (the GIL, or a lock) or elsewhere (poll
on a socket), and the blocked time is shared between the two by its counts.

Under asyncio every worker is a task on one thread: that thread's time on a
core (and waiting for one) is shared evenly among the tasks still in the run,
and the rest of a task's time is the network while it awaits (WAITING).
"""

from __future__ import annotations

import os
import sys
import threading
import time

import psutil

from .model import ASYNCIO, Tick, WorkerSample, WorkerState, worker_state
from .slots import (
    CORE_WAIT0_NS,
    CORE_WAIT_END_NS,
    CPU_NS,
    DONE_NS,
    ERRORS,
    GO_NS,
    ON_CPU0_NS,
    ON_CPU_END_NS,
    OS_ID,
    STARTED_NS,
    STATE,
    TASK_INDEX,
    TASKS_DONE,
    UNITS,
    Slots,
)

#: How many workers' CPU figures the sampler reads from /proc per period, about.
CPU_READS_PER_PERIOD = 32


def _cpu(times) -> float:
    return times.user + times.system


class ProcFile:
    """A /proc file kept open and read again from its start (``pread``): the
    kernel makes its text anew at every read from offset 0. Opening, reading
    and closing one cost about 10 µs, a ``pread`` 2 µs, and the sampler reads
    a file a worker ten times a second. A file whose task has ended fails to
    read (ESRCH): None from then on, as for a file that is missing, and it is
    not opened again (its id may be another task's by then)."""

    __slots__ = ("path", "size", "_fd", "_ended")

    def __init__(self, path: str, size: int = 256) -> None:
        self.path = path
        self.size = size
        self._fd: int | None = None
        self._ended = False  # its task ended: not opened again (its id may be another's by then)

    def read(self) -> bytes | None:
        fd = self._fd
        if fd is None:
            if self._ended:
                return None
            try:
                fd = self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        try:
            return os.pread(fd, self.size, 0)
        except OSError:
            self.close()
            self._ended = True
            return None

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def __del__(self) -> None:
        self.close()


_clock_gettime_ns = getattr(time, "clock_gettime_ns", None)  # not on Windows


def _max_kept_files() -> int:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    return 4096 if soft == resource.RLIM_INFINITY else max(0, soft // 4)


#: At most this many workers' files kept open by one sampler (see Sampler._read_schedstat).
MAX_KEPT_FILES = _max_kept_files()


def read_core_times() -> list:
    """Every core's CPU times since boot (psutil's ``cpu_times(percpu=True)``):
    read once a period, for both the per-core load and the host's steal.
    Each read of /proc/stat costs the kernel the whole file (every
    interrupt's count): two reads a period took 0.25 ms of the app's
    sampling thread, measured in a live run."""
    return psutil.cpu_times(percpu=True)


def busy_percent(before, after) -> float:
    """A core's busy time between two of its ``cpu_times``, in per cent of
    its time, as ``psutil.cpu_percent(percpu=True)`` gives it: a field that
    went back counts as no time, the guests' time is in user and nice
    already, and waiting for I/O is idle."""
    deltas = after._make(max(0.0, b - a) for a, b in zip(before, after, strict=True))
    total = sum(deltas) - getattr(deltas, "guest", 0.0) - getattr(deltas, "guest_nice", 0.0)
    busy = total - deltas.idle - getattr(deltas, "iowait", 0.0)
    return round(busy / total * 100, 1) if total else 0.0


def read_steal(cores: list) -> tuple[float, float] | None:
    """(seconds the host of a virtual machine ran other guests on this
    machine's cores, seconds the cores were busy, that included), summed
    over ``cores`` (their times, as read_core_times gives them); None where
    steal is not counted. An idle core gathers no steal: the share that
    matters is of the busy time."""
    if not cores or not hasattr(cores[0], "steal"):
        return None
    steal = sum(t.steal for t in cores)
    busy = sum(getattr(t, name, 0.0) for t in cores for name in ("user", "nice", "system", "irq", "softirq", "steal"))
    return steal, busy


def parse_schedstat(data: bytes | None) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for a core) from a
    schedstat file's text; None for none."""
    if not data:
        return None
    try:
        on_cpu, waiting = data.split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except ValueError:
        return None


def read_schedstat(path: str) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for a core) of one
    thread, from the kernel; None where the file is missing (the thread has
    ended, not Linux, or a kernel without schedstats)."""
    try:
        with open(path, "rb") as f:
            return parse_schedstat(f.read())
    except OSError:
        return None


#: How often the sleep probe looks at where a waiting thread sleeps.
PROBE_S = 0.004


class SleepProbe:
    """Counts, for some worker threads, how often they were found asleep and
    how often asleep in a futex, looking from outside every ``PROBE_S``
    (``/proc/<pid>/task/<tid>/wchan``: "futex_do_wait", "poll_schedule_timeout",
    or "0" while on a core or runnable). The convoy's I/O thread, 150
    requests/s beside one counting thread against 1,900 alone, read "GIL wait
    3%": its wait for the GIL after each answer counted as the network. Found
    asleep in a futex in about 60% of looks. A thread of its own: the
    session's thread wakes ten times a second."""

    def __init__(self, pid: int, tids: dict[int, int], interval_s: float = PROBE_S) -> None:
        self._paths = {lane: f"/proc/{pid}/task/{tid}/wchan" for lane, tid in tids.items() if tid}
        self.interval_s = interval_s
        self._asleep = dict.fromkeys(self._paths, 0)
        self._futex = dict.fromkeys(self._paths, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gilviz-sleep-probe", daemon=True)

    @staticmethod
    def available(pid: int, tid: int) -> bool:
        """The kernel names where this thread sleeps (it may print 0 for all)."""
        try:
            with open(f"/proc/{pid}/task/{tid}/wchan", "rb"):
                return True
        except OSError:
            return False

    def start(self) -> None:
        if self._paths:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def counts(self, lane: int) -> tuple[int, int]:
        """(found asleep, of which in a futex) since the start, for ``lane``."""
        futex = self._futex.get(lane, 0)  # read first: the probe adds to it first
        return self._asleep.get(lane, 0), futex

    def look(self) -> None:
        """Look once at every thread (the probe's thread does this every ``interval_s``)."""
        for lane, path in list(self._paths.items()):
            try:
                with open(path, "rb") as f:
                    where = f.read().strip()
            except OSError:  # the thread has ended
                del self._paths[lane]
                continue
            if where and where != b"0":
                if b"futex" in where:
                    self._futex[lane] += 1
                self._asleep[lane] += 1

    def _run(self) -> None:
        while self._paths and not self._stop.wait(self.interval_s):
            self.look()


class _WorkerClock:
    """One worker's running totals since the start signal, and the window
    since they were last read."""

    __slots__ = ("cpu_s", "core_wait_s", "window_start_ns", "state_before", "split", "probed")

    def __init__(self, go_ns: int) -> None:
        self.cpu_s = 0.0  # on a CPU since the start signal
        self.core_wait_s = 0.0  # runnable but waiting for a core, since then
        self.window_start_ns = go_ns
        self.state_before = WorkerState.RUNNING
        self.split = (0.0, 0.0, 0.0, 0.0)  # the last window's running, core, GIL, network
        self.probed = (0, 0)  # the sleep probe's counts at the last read (asleep, in a futex)


class Sampler:
    def __init__(self, slots: Slots, lab_pid: int, strategy: str, tasks_per_worker: list[int],
                 race: bool = False, probe_lanes: tuple[int, ...] = ()) -> None:
        self.slots = slots
        self.race = race  # publish the race's shared counter with every tick
        self.n = slots.n_workers
        self.threads = strategy != "processes"
        #: asyncio: every worker is a task on one thread, whose time they share
        self.one_thread = strategy == ASYNCIO
        self._thread_last = (0.0, 0.0)  # that thread's figures at the last read
        self.tasks_per_worker = tasks_per_worker
        self.lab = psutil.Process(lab_pid)
        #: the cores the lab may run on (--cpus pins it): no window can use more
        try:
            self.cores = len(self.lab.cpu_affinity())
        except (AttributeError, psutil.Error):  # no affinity on this system
            self.cores = psutil.cpu_count() or 1
        #: schedstat is read where the kernel has it (checked on the lab itself)
        self.schedstat = read_schedstat(f"/proc/{lab_pid}/schedstat") is not None
        self._procs: dict[int, psutil.Process] = {}
        #: the workers' schedstat files, open while the run goes on (ProcFile)
        self._schedstat_files: dict[str, ProcFile] = {}
        #: the lab's CPU time, every period: its process CPU clock (Linux:
        #: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)), else psutil
        self._lab_clock: int | None = (
            (~lab_pid << 3) | 2 if sys.platform.startswith("linux") and _clock_gettime_ns is not None else None)
        self._psutil_base: dict[int, float] = {}  # without schedstat: CPU at the sampler's start
        self._slot_base = [0.0] * self.n  # ... and the slot's own CPU then
        self._clocks: list[_WorkerClock] = []
        self._units_last = [0] * self.n
        #: each worker's units, read right after its CPU time (None: not this sample)
        self._units_read: list[int | None] = [None] * self.n
        #: each worker's units at the last read of its CPU time, and its rate over that window
        self._units_at_cpu = [0] * self.n
        self._rates = [0.0] * self.n
        self._total_cpu_last = 0.0
        self._seq = 0
        self.go_ns = 0
        self._t_last_ns = 0
        self._t_cpu_ns = 0  # when the OS's CPU figures were last read (the lab's: cores used)
        #: when the workers' CPU times and units were last read: their shares and rates count from here
        self._t_workers_ns = 0
        self._shares = [0.0] * self.n
        self._cores_used = 0.0
        #: read the OS's per-worker CPU every this many periods (~32 workers a period)
        self.cpu_every = max(1, -(-self.n // CPU_READS_PER_PERIOD))
        #: worker threads whose network waits may hide GIL waits (see SleepProbe)
        self.probe_lanes = probe_lanes if self.threads and not self.one_thread else ()
        self.probe: SleepProbe | None = None
        #: the host's steal and the busy time at the last read, and the share of the busy time it took since
        self._steal_last: tuple[float, float] | None = None
        #: every core's times at the last sample (read_core_times)
        self._core_times: list = []
        self._stolen_share = 0.0

    def start(self) -> None:
        """Call after the start signal: every figure counts from the signal."""
        self._core_times = read_core_times()  # the next sample's load is since now
        now = time.monotonic_ns()
        self.go_ns = int(self.slots.words[GO_NS]) or now
        self._t_last_ns = self.go_ns
        self._t_cpu_ns = now  # the lab's CPU is read below, now
        # The workers' CPU (schedstat, less what the kernel had at the signal)
        # and their units count from the start signal, which was before now
        # by however long the session took to get here (the app's
        # ``on_started``, reading 256 workers' files): a first window counted
        # from now read their shares and rates high by as much. psutil's
        # figures can only count from now: the units do too.
        self._t_workers_ns = self.go_ns if self.schedstat else now
        # the first window of every worker runs from the start signal
        self._clocks = [_WorkerClock(self.go_ns) for _ in range(self.n)]
        self._slot_base = [self.slots.get(i, CPU_NS) / 1e9 for i in range(self.n)]
        if self.schedstat:
            so_far = [self._kernel_figures(i) for i in range(self.n)]
            workers_cpu = sum(f[0] for f in so_far if f is not None)
        else:
            workers_cpu = sum(c or 0.0 for c in self._psutil_cpu())  # sets psutil's base: 0 now
            self._units_at_cpu = [int(row[UNITS]) for row in self.slots.read_all()]
        lab_cpu = self._lab_cpu() or 0.0
        self._total_cpu_last = lab_cpu + (0.0 if self.threads else workers_cpu)
        self._steal_last = read_steal(self._core_times)
        tids = {i: self.slots.get(i, OS_ID) for i in self.probe_lanes if 0 <= i < self.n}
        if self.schedstat and tids and all(SleepProbe.available(self.lab.pid, t) for t in tids.values()):
            self.probe = SleepProbe(self.lab.pid, tids)
            self.probe.start()

    def close(self) -> None:
        """The run is over (or failed): stop looking at its threads. The
        session calls it once, however the run ended."""
        if self.probe is not None:
            self.probe.stop()
        for file in self._schedstat_files.values():
            file.close()
        self._schedstat_files.clear()

    # -- reading the OS ------------------------------------------------------

    def _kernel_figures(self, i: int) -> tuple[float, float] | None:
        """Worker ``i``'s (on CPU, waiting for a core) since the start signal."""
        os_id = self.slots.get(i, OS_ID)
        if not os_id:
            return None
        pid = self.lab.pid if self.threads else os_id
        stat = self._read_schedstat(f"/proc/{pid}/task/{os_id}/schedstat")
        base_cpu, base_wait = self.slots.get(i, ON_CPU0_NS), self.slots.get(i, CORE_WAIT0_NS)
        if stat is None or base_cpu < 0:
            return None
        return stat[0] - base_cpu / 1e9, stat[1] - base_wait / 1e9

    def _read_schedstat(self, path: str) -> tuple[float, float] | None:
        """``read_schedstat``, from a file kept open for the rest of the run;
        opened and closed again each time past ``MAX_KEPT_FILES`` (a quarter
        of the process's limit on open files), so 256 workers under a low
        limit cannot use them all up."""
        file = self._schedstat_files.get(path)
        if file is None:
            if len(self._schedstat_files) >= MAX_KEPT_FILES:
                return read_schedstat(path)
            file = self._schedstat_files[path] = ProcFile(path)
        return parse_schedstat(file.read())

    def _lab_cpu(self) -> float | None:
        """The lab process's CPU seconds, all its threads, ended ones too.

        On Linux from the process's CPU clock: the scheduler's own count, as
        the workers' schedstat, brought up to date at each scheduler tick (4
        ms here, HZ=250) for a process other than the reader. psutil's user
        and system time (/proc/<pid>/stat) come in 10 ms ticks, a tenth of a
        100 ms period: two threads' lanes read 47% + 53% of a core beside
        "cores used 0.90". Elsewhere, or where the clock cannot be read, psutil."""
        if self._lab_clock is not None:
            try:
                return _clock_gettime_ns(self._lab_clock) / 1e9  # type: ignore[misc]
            except OSError:
                self._lab_clock = None  # the lab has ended, or no such clock here
        try:
            return _cpu(self.lab.cpu_times())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def _psutil_cpu(self) -> list[float | None]:
        """Without schedstat: each worker's CPU since the sampler's start (psutil)."""
        raw: list[float | None] = []
        if self.threads:
            try:
                by_tid = {t.id: t.user_time + t.system_time for t in self.lab.threads()}
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                by_tid = {}
            raw = [by_tid.get(self.slots.get(i, OS_ID)) for i in range(self.n)]
        else:
            for i in range(self.n):
                pid = self.slots.get(i, OS_ID)
                try:
                    proc = self._procs.get(pid)
                    if proc is None and pid:
                        proc = self._procs[pid] = psutil.Process(pid)
                    raw.append(_cpu(proc.cpu_times()) if proc is not None else None)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    raw.append(None)
        out: list[float | None] = []
        for i, value in enumerate(raw):
            out.append(None if value is None else max(0.0, value - self._psutil_base.setdefault(i, value)))
        return out

    def _read_workers(self, now_ns: int, rows: list[tuple[int, ...]]) -> None:
        """Bring every worker's totals up to ``now_ns`` and split the window
        (``rows``: the slots as read for this sample)."""
        psutil_cpu = None if self.schedstat else self._psutil_cpu()
        # The host's steal: a worker on a core loses that time from its CPU
        # time, and the kernel counts it as no wait for a core either, so it
        # read as blocked, drawn as waiting for the GIL (a sequential run
        # "waited for the GIL" 10% while the host took 20% of the cores)
        steal = read_steal(self._core_times)  # this sample's, read with the cores' load
        if steal is not None and self._steal_last is not None:
            stolen, busy = steal[0] - self._steal_last[0], steal[1] - self._steal_last[1]
            self._stolen_share = min(0.9, max(0.0, stolen / busy)) if busy > 0 else 0.0
        self._steal_last = steal
        shared = self._shared_figures(rows) if self.one_thread and self.schedstat else None
        shared_ns = time.monotonic_ns() if shared is not None else now_ns  # when that one read was
        words, base = self.slots.words, self.slots.base
        if psutil_cpu is not None or shared is not None:  # read above, at once: the units now
            self._units_read = [int(words[base(i) + UNITS]) for i in range(self.n)]
        else:
            self._units_read = [None] * self.n
        for i, clock in enumerate(self._clocks):
            row = rows[i]
            # A window ends when the kernel's figures were read, not at
            # ``now_ns``: on a busy machine this thread can lose its core
            # between the two, and a window longer than the time the figures
            # cover left the difference as "blocked", shown as waiting for
            # the GIL (13-16% of four worker *processes*' time, seen here)
            read_ns = now_ns
            if shared is not None:  # asyncio: one thread, read once above
                figures, read_ns = shared[i], shared_ns
            else:
                figures = self._kernel_figures(i) if self.schedstat else None
                if figures is not None:
                    read_ns = time.monotonic_ns()
                    # and its units with its CPU time: each /proc read lets the
                    # app's thread take the GIL for up to 5 ms, and units read
                    # before them all made a period's rate run 5-20% off its
                    # CPU share ("1.2× solo" at one core, under the GIL)
                    self._units_read[i] = int(words[base(i) + UNITS])
            if figures is None and self.schedstat and row[DONE_NS] and row[ON_CPU_END_NS] >= 0 <= row[ON_CPU0_NS]:
                # ended: the kernel's figures it noted itself as it finished
                figures = ((row[ON_CPU_END_NS] - row[ON_CPU0_NS]) / 1e9,
                           (row[CORE_WAIT_END_NS] - row[CORE_WAIT0_NS]) / 1e9)
            if figures is not None:
                cpu_s, wait_s = figures
            elif psutil_cpu is not None and (from_psutil := psutil_cpu[i]) is not None:
                cpu_s, wait_s = from_psutil, clock.core_wait_s
            else:  # ended: it wrote its own CPU time (from the start signal) as it finished
                own = row[CPU_NS] / 1e9 - (0.0 if self.schedstat else self._slot_base[i])
                cpu_s, wait_s = own, clock.core_wait_s
            cpu_s, wait_s = max(cpu_s, clock.cpu_s), max(wait_s, clock.core_wait_s)
            state = worker_state(row[STATE])
            in_futex = None  # of the window's looks at it asleep, the share in a futex
            if self.probe is not None and i in self.probe_lanes:
                asleep, futex = self.probe.counts(i)
                looks, futexes = asleep - clock.probed[0], futex - clock.probed[1]
                clock.probed = (asleep, futex)
                in_futex = min(1.0, futexes / looks) if looks > 0 else None
            clock.split = self._split(clock, row[STARTED_NS], row[DONE_NS], read_ns, cpu_s - clock.cpu_s,
                                      wait_s - clock.core_wait_s, state, in_futex)
            clock.cpu_s, clock.core_wait_s = cpu_s, wait_s
            clock.window_start_ns = read_ns
            clock.state_before = state

    def _shared_figures(self, rows: list[tuple[int, ...]]) -> list[tuple[float, float] | None]:
        """asyncio: each task's (on CPU, waiting for a core) since the start
        signal: the loop thread's figures of this window shared evenly among
        the tasks that were still in the run when the window began."""
        thread = self._kernel_figures(0)
        if thread is None:
            return [None] * self.n
        ran = max(0.0, thread[0] - self._thread_last[0])
        waited = max(0.0, thread[1] - self._thread_last[1])
        self._thread_last = thread
        active = [not row[DONE_NS] or row[DONE_NS] > clock.window_start_ns
                  for row, clock in zip(rows, self._clocks, strict=True)]
        count = max(1, sum(active))
        return [
            (clock.cpu_s + ran / count, clock.core_wait_s + waited / count) if on else (clock.cpu_s, clock.core_wait_s)
            for on, clock in zip(active, self._clocks, strict=True)
        ]

    def _split(self, clock: _WorkerClock, started_ns: int, done_ns: int, now_ns: int, ran_s: float,
               waited_s: float, state: WorkerState,
               in_futex: float | None = None) -> tuple[float, float, float, float]:
        """(running, waiting for a core, for the GIL, for the network) in the
        worker's window: from when it began (it woke up to the start signal)
        to now, or to its end if it ended. Before it began it was waiting for
        the start signal, which is none of the four. ``in_futex``: of the
        sleep probe's looks at a waiting worker, the share that found it in
        a futex, where the probe looked."""
        if not started_ns:
            return 0.0, 0.0, 0.0, 0.0
        end_ns = min(now_ns, done_ns) if done_ns else now_ns
        in_run_s = max(0, end_ns - max(clock.window_start_ns, started_ns)) / 1e9
        running = min(max(0.0, ran_s), in_run_s)
        core_wait = min(max(0.0, waited_s), in_run_s - running)
        blocked = in_run_s - running - core_wait
        share = self._stolen_share
        if share > 0 and blocked > 0:  # what the host took while it ran: its core, taken
            stolen = min(blocked, running * share / (1.0 - share))
            core_wait += stolen
            blocked -= stolen
        on_network = WorkerState.WAITING in (state, clock.state_before)
        if on_network and in_futex is not None:
            gil = blocked * in_futex
            return running, core_wait, gil, blocked - gil
        return running, core_wait, 0.0 if on_network else blocked, blocked if on_network else 0.0

    def _total_cpu(self) -> float:
        """CPU of the lab process (all its threads) plus its worker processes."""
        total = self._lab_cpu()
        if total is None:
            return self._total_cpu_last
        if not self.threads:
            total += sum(c.cpu_s for c in self._clocks)
        return total

    # -- one period ------------------------------------------------------------

    def sample(self, final: bool = False) -> Tick:
        """Measure the period since the last sample.

        Work and states come from the slots every period. The OS's figures
        cost one /proc read per worker, so with many workers they are read
        every ``cpu_every`` periods (and always on the final sample); between
        two reads a worker's share is the one of the last window, and its
        split comes with the read that measured it."""
        now = time.monotonic_ns()
        period = max(now - self._t_last_ns, 1000) / 1e9
        self._t_last_ns = now
        cores_before, cores = self._core_times, read_core_times()
        self._core_times = cores  # before the workers are read: their steal is this read's
        # each core's load since the last sample (a core that came or went since: none yet)
        cores_percent = (tuple(busy_percent(a, b) for a, b in zip(cores_before, cores, strict=True))
                         if len(cores_before) == len(cores) else (0.0,) * len(cores))
        self._seq += 1
        read = final or (self._seq - 1) % self.cpu_every == 0
        rows = self.slots.read_all()  # once per sample: the split and the samples see the same slots
        units = [row[UNITS] for row in rows]
        if read:
            before = [c.cpu_s for c in self._clocks]
            self._read_workers(now, rows)
            # each one's units as read with its CPU time, where they were (never
            # before the slots above: a worker's units only grow)
            units = [u if r is None else max(u, r) for u, r in zip(units, self._units_read, strict=True)]
            total_cpu = self._total_cpu()
            window = max(now - self._t_cpu_ns, 1000) / 1e9
            # reading every worker's CPU takes a few milliseconds after ``now``:
            # the window's CPU time can overshoot its wall time, never the cores
            self._cores_used = min(self.cores, max(0.0, total_cpu - self._total_cpu_last) / window)
            window = max(now - self._t_workers_ns, 1000) / 1e9  # the same but the first one (start)
            # one worker is one thread: it cannot use more than one core;
            # reading the files a few microseconds apart can make it look so
            self._shares = [min(1.0, (c.cpu_s - before[i]) / window) for i, c in enumerate(self._clocks)]
            self._rates = [max(0, u - last) / window for u, last in zip(units, self._units_at_cpu, strict=True)]
            self._units_at_cpu = units
            self._total_cpu_last = total_cpu
            self._t_cpu_ns = self._t_workers_ns = now
        workers = tuple(self._worker_sample(i, row, units[i], read) for i, row in enumerate(rows))
        race = self.slots.read_race(rows) if self.race else None
        return Tick(
            seq=self._seq,
            t_s=(now - self.go_ns) / 1e9,
            period_s=period,
            workers=workers,
            cores_percent=cores_percent,
            cores_used=self._cores_used,
            race_counter=race[1] if race is not None else None,
            race_units=race[0] if race is not None else None,
        )

    def _worker_sample(self, i: int, row: tuple[int, ...], units: int, read: bool) -> WorkerSample:
        delta = units - self._units_last[i]
        self._units_last[i] = units
        clock = self._clocks[i]
        split = read and self.schedstat
        running, core_wait, gil_wait, io_wait = clock.split if split else (0.0, 0.0, 0.0, 0.0)
        # positionally, in the fields' order: a named tuple takes keywords at
        # three times the cost (2.6 µs against 0.9), every worker every period
        return WorkerSample(
            i,  # index
            row[OS_ID],  # os_id
            worker_state(row[STATE]),  # state
            units,  # units
            delta,  # units_delta
            row[TASKS_DONE],  # tasks_done
            self.tasks_per_worker[i],  # tasks_total
            row[TASK_INDEX],  # task_index
            clock.cpu_s,  # cpu_s
            self._shares[i],  # cpu_share
            row[ERRORS],  # errors
            running,  # running_s
            core_wait,  # core_wait_s
            gil_wait,  # gil_wait_s
            io_wait,  # io_wait_s
            split,  # split
            self._rates[i],  # units_per_s
        )
