"""Strategies: how the lab runs a workload's tasks.

- ``sequential``: one worker thread does every task in turn.
- ``threads``: one thread per worker inside the lab; they share its GIL.
- ``processes``: one process per worker; each has its own interpreter and GIL.
- ``asyncio``: one thread, one event loop, one task per lane (for I/O only).

Workers are created first, each writes its OS id into its slot and waits for
the start signal (the GO word), so the measured wall time is the work, and the
cost of creating threads or processes is reported apart as ``startup_s``.

Runs inside the lab: standard library only.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .model import ASYNCIO, RunRequest, WorkerState
from .plan import Lane, RunPlan
from .slots import CPU_NS, DONE_NS, ERRORS, GO, GO_NS, OS_ID, RACE_COUNTER, STATE, Slots
from .workloads import Progress, TaskContext, race, run_tasks, run_tasks_async, spec

START_TIMEOUT_S = 60.0  # workers that are not ready by then: the run fails
CANCEL_GRACE_S = 2.0  # after a cancel, how long workers get to notice
WATCHDOG_PERIOD_S = 0.25


@dataclass
class Outcome:
    """What the lab reports when a run ends."""

    wall_s: float
    cpu_s: float
    startup_s: float
    cancelled: bool
    workers: list[dict[str, Any]]
    errors: list[str]
    race_actual: int | None = None
    notes: list[str] = field(default_factory=list)


class _GoSignal:
    """The start signal of worker processes: a byte in a pipe that nobody
    reads, so every worker polling the pipe sees it at once.

    multiprocessing's Event woke them one after another: its set() holds
    the condition's lock while each sleeper says it woke, and each then
    takes that lock in turn to return, while the ones already released
    count on both cores. 256 processes began 3.3 s (median) after the
    start signal, drawn as queued all that time."""

    def __init__(self, ctx: Any) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)

    def set(self) -> None:
        self._writer.send_bytes(b"go")

    def wait(self, timeout_s: float) -> bool:
        return bool(self._reader.poll(timeout_s))


def _wait_for_go(go: Any, words: Any) -> None:
    """Block (without spinning: 256 spinning workers would slow the start)
    until the start signal; the GO word is for readers of the slots."""
    while not go.wait(0.5):
        if words[GO]:
            return


def _stop_before_go(go: threading.Event, stop: threading.Event, threads: list[threading.Thread]) -> None:
    """End a run's threads before their start signal, as worker processes
    are killed: released with ``stop`` set, each ends at once, writing no
    more to its slot, and is waited for, so that none is left waiting on
    slots the lab then closes (each died there, a ValueError traceback in
    the lab's log). A thread cannot be stopped from outside: CANCEL_GRACE_S
    at most."""
    stop.set()
    go.set()
    deadline = time.perf_counter() + CANCEL_GRACE_S
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))


# --- threads -----------------------------------------------------------------


def _thread_main(slots: Slots, index: int, workload: str, tasks: list, ctx: TaskContext, go: Any,
                 stop: threading.Event, out: dict) -> None:
    try:
        _thread_work(slots, index, workload, tasks, ctx, go, stop, out)
    except BaseException as exc:  # the lab waits for this thread: say why it ended
        out["crash"] = f"{type(exc).__name__}: {exc}"
        raise


def _thread_work(slots: Slots, index: int, workload: str, tasks: list, ctx: TaskContext, go: Any,
                 stop: threading.Event, out: dict) -> None:
    words = slots.words
    base = slots.base(index)
    words[base + OS_ID] = threading.get_native_id()
    p = Progress(words, base, time.thread_time_ns)
    _wait_for_go(go, words)
    if stop.is_set():  # the run failed before its start
        return
    p.started()
    words[base + CPU_NS] = 0
    start_ns = time.thread_time_ns()
    p.clock_ns = lambda: time.thread_time_ns() - start_ns
    out["errors"] = run_tasks(p, spec(workload).runner, tasks, ctx)


# --- processes ---------------------------------------------------------------


def _gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (ended, or a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _watch_lab(lab_pid: int, parent: int) -> None:
    """In a worker process: exit at once when the lab or ``parent`` is gone (no orphans).

    Our parent (the nursery that forked us, or the lab's fork server) cannot
    notice the lab's death while we live, so we watch the lab. ``parent`` is
    the pid our parent had when it made us: one that died before this
    thread started is noticed too."""
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if os.getppid() != parent or _gone(lab_pid):
            os._exit(3)


def _process_main(slots_path: str, *args: Any) -> None:
    """A worker process started on its own (spawned): its slots, then
    :func:`_process_work` with the rest of its arguments."""
    _process_work(Slots(slots_path), *args, parent=os.getppid())


_PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[int], int] | None:
    """Linux's prctl, to have the kernel kill a worker when its nursery
    ends: no watch thread to start in each worker (0.7 ms of its CPU here).
    None where there is no such call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda sig: int(prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0))


def _watch_lab_from_nursery(lab_pid: int, children: dict[int, int]) -> None:
    """In a nursery, once its workers are forked: when the lab is gone, end
    them and itself (workers that die with their parent do not watch the lab)."""
    while True:
        time.sleep(WATCHDOG_PERIOD_S)
        if _gone(lab_pid):
            for pid in list(children):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os._exit(3)


def _process_work(
    slots: Slots,
    index: int,
    workload: str,
    tasks: list,
    lock: Any,
    timeout_s: float,
    switch_interval_s: float | None,
    race_style: str,
    lab_pid: int,
    go: Any,
    results: Any,
    live: bool,
    *,
    parent: int,
    watch: bool = True,
) -> None:
    """A worker process's life, once it has its slots: watch the lab and its
    parent (unless the kernel ends it with its parent, which watches the
    lab: ``watch`` False), say its OS id, wait for the start signal, do its
    tasks, send back its errors."""
    if watch:
        threading.Thread(target=_watch_lab, args=(lab_pid, parent), daemon=True).start()
    _warm_up(workload)
    if switch_interval_s:
        sys.setswitchinterval(switch_interval_s)
    words = slots.words
    base = slots.base(index)
    ctx = TaskContext(cell=race.SharedCell(words, RACE_COUNTER), lock=lock, race_style=race_style,
                      timeout_s=timeout_s, live=live)
    words[base + OS_ID] = os.getpid()
    _wait_for_go(go, words)
    start_ns = time.process_time_ns()
    p = Progress(words, base, lambda: time.process_time_ns() - start_ns)
    p.started()
    errors = run_tasks(p, spec(workload).runner, tasks, ctx)
    if errors:  # none: its slot says so (see _Processes.ended_clean)
        results.put((index, errors))


def _exit_code(status: int) -> int:
    """A wait status as multiprocessing says it: -N for signal N (os.waitstatus_to_exitcode, before 3.9)."""
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _nursery_main(slots_path: str, first: int, lanes: list, workload: str, lock: Any, timeout_s: float,
                  switch_interval_s: float | None, race_style: str, lab_pid: int, go: Any, results: Any,
                  live: bool) -> None:
    """Fork one worker process per lane (``first`` is the first's index), then
    reap them, sending each one's exit code to the lab: ``("exit", index, code)``.

    Forked from this one process (single-threaded, started by the fork
    server), a worker starts from a copy of it with its slots already open:
    no round trip to the fork server, no unpickling, no multiprocessing
    bootstrap. 256 workers are ready in 0.4 s here, not 0.9 s."""
    slots = Slots(slots_path)
    _warm_up(workload)
    me = os.getpid()
    die_with_parent = _parent_death_signal()
    children: dict[int, int] = {}
    for index, tasks in enumerate(lanes, start=first):
        try:
            pid = os.fork()
        except OSError as exc:  # out of processes or memory: the lab ends the run and says why
            results.put(("unforked", index, f"{type(exc).__name__}: {exc}"))
            break
        if pid == 0:
            code = 1
            try:
                dies_with_parent = die_with_parent is not None and die_with_parent(signal.SIGKILL) == 0
                if dies_with_parent and os.getppid() != me:  # the nursery ended before the call
                    os._exit(3)
                _process_work(slots, index, workload, tasks, lock, timeout_s, switch_interval_s, race_style,
                              lab_pid, go, results, live, parent=me, watch=not dies_with_parent)
                code = 0
            except BaseException:
                import traceback

                sys.stderr.write(f"worker process process-{index}:\n")
                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:
                        pass
                os._exit(code)
        children[pid] = index
    # forked: a thread may start now
    threading.Thread(target=_watch_lab_from_nursery, args=(lab_pid, children), daemon=True).start()
    while children:
        pid, status = os.waitpid(-1, 0)
        index = children.pop(pid, -1)
        if index >= 0:
            try:
                results.put(("exit", index, _exit_code(status)))
            except OSError:  # the lab is gone: its workers follow, reaped here in silence
                pass


# --- the run -----------------------------------------------------------------


_context: Any = None
#: the processes multiprocessing has started and not yet seen end
_started_children: set = getattr(multiprocessing.process, "_children", set())


def mp_context() -> Any:
    """A fork server where there is one (Linux, macOS), else spawn.

    Not plain fork: the lab has threads, and forking a process with threads
    is unsafe. spawn starts a fresh interpreter per worker (~0.2 s each here,
    a minute for 256); the fork server is started once, with the workload
    modules imported, and forks each worker from that clean process."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            # and what a nursery (or a worker) imports to unpickle itself (its
            # Event, Lock, SimpleQueue, Popen): imported once in the fork
            # server. Not requests: a fetch run's nursery imports it once
            # (40 ms), and without its 9 MiB a nursery forks 256 count
            # workers in 0.37-0.40 s here, not 0.50-0.56 s.
            _context.set_forkserver_preload(["gilviz.engine.strategies", "multiprocessing.synchronize",
                                             "multiprocessing.queues", "multiprocessing.popen_forkserver"])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


class MissingPackage(RuntimeError):
    """A workload needs a package this interpreter lacks; the message says
    which, and the command that installs it."""


def _require(module: str, what: str) -> None:
    """Import ``module`` now, or say which package ``what`` needs and how to install it."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingPackage(
            f"{what} needs the package '{module}', which {sys.executable} "
            f"(Python {'.'.join(map(str, sys.version_info[:3]))}) lacks; install it with: "
            f"{sys.executable} -m pip install {module}"
        ) from None


def _warm_up(workload: str) -> None:
    """Import what a workload needs before the start signal, not on the clock."""
    if workload == "fetch":
        _require("requests", "the fetch workload")


def execute(request: RunRequest, plan: RunPlan, slots: Slots, on_started: Callable[[float], None],
            after: Callable[[], bool] | None = None) -> Outcome:
    """Run ``request`` as ``plan`` says, to the end (or until cancelled). Blocking.
    ``after``: True while the run this one replaces is still stopping; the
    workers start meanwhile, and get the start signal once it is False."""
    words = slots.words
    lanes = plan.lanes
    if slots.cancelled:  # a switch's run dropped before it began: start nothing
        return Outcome(0.0, 0.0, 0.0, True, [], ["cancelled before the start"])
    _warm_up(request.workload)
    if request.switch_interval_s:
        sys.setswitchinterval(request.switch_interval_s)
    t_create = time.perf_counter()
    kind: Callable[..., _Workers] = _WorkerThreads
    if request.strategy == "processes":
        kind = _ForkedWorkers if mp_context().get_start_method() == "forkserver" else _WorkerProcesses
    if request.strategy == ASYNCIO:
        kind = _LoopTasks
    outcome = _run(kind(request, slots, lanes), request, slots, len(lanes), on_started, t_create, after)
    # every worker has ended: anything still "running" did not report back
    for i in range(len(lanes)):
        state = slots.get(i, STATE)
        if state in (WorkerState.QUEUED, WorkerState.RUNNING, WorkerState.WAITING):
            words[slots.base(i) + STATE] = WorkerState.CANCELLED if slots.cancelled else WorkerState.ERROR
    return outcome


def _ready(slots: Slots, n: int) -> bool:
    return all(slots.get(i, OS_ID) for i in range(n))


class _Workers(Protocol):
    """What differs between worker threads and worker processes; ``_run``
    is the rest. Each method is called from the lab's running thread."""

    kind: str  # "thread" or "process", as the lab reports it
    go: Any  # the start signal: threading.Event, or _GoSignal for processes

    def start(self) -> None:
        """Create and start every worker; each writes its OS id, then waits for ``go``."""

    def start_problem(self) -> str | None:
        """Before the start signal (waiting for the workers' OS ids, or for
        the run before to end): why the run cannot start (after stopping
        every worker), or None to keep waiting."""

    def before_go(self) -> None:
        """Just before the start signal, once the run before has ended."""

    def still_running(self) -> bool:
        """Wait a moment (at most 0.05 s) for workers to end; True while any runs."""

    def give_up(self) -> bool:
        """The cancel grace is over: stop the workers if possible; True to keep
        waiting for them to end, False to stop waiting."""

    def finish(self) -> None:
        """After the end: collect what is still in flight."""

    def own_cpu_s(self) -> float:
        """CPU time spent outside the lab process (not in its process_time)."""

    def names(self) -> list[str]:
        """Each worker's name, by index."""

    def errors(self, index: int) -> list[str]:
        """What went wrong in worker ``index``."""

    def notes(self) -> list[str]:
        """Remarks about the run for the UI (e.g. threads still blocked)."""

    def race_actual(self) -> int:
        """The race counter's final value."""


def _run(workers: _Workers, request: RunRequest, slots: Slots, n: int,
         on_started: Callable[[float], None], t_create: float,
         after: Callable[[], bool] | None = None) -> Outcome:
    """Start ``n`` workers, give the start signal when each has its OS id
    (and the run before has ended: ``after``), wait for the end (with the
    cancel grace), and collect the outcome."""
    workers.start()
    startup_s = None
    while startup_s is None or (after is not None and after()):
        if startup_s is None and _ready(slots, n):
            startup_s = time.perf_counter() - t_create  # the workers' own start, not the wait for the run before
            continue
        why = workers.start_problem()
        if why is not None:  # and its workers are stopped
            return Outcome(0.0, 0.0, time.perf_counter() - t_create, slots.cancelled,
                           _worker_records(workers, n, lambda i: []), [why])
        time.sleep(0.005)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    workers.before_go()
    slots.words[GO_NS] = time.monotonic_ns()
    slots.words[GO] = 1
    # said before the workers go: once 256 threads run, this thread waits
    # its turn for the GIL among them to say it (2.2 s, once)
    on_started(startup_s)
    workers.go.set()
    cancel_at = None
    while workers.still_running():
        if slots.cancelled:
            cancel_at = cancel_at or time.perf_counter()
            if time.perf_counter() - cancel_at > CANCEL_GRACE_S and not workers.give_up():
                break
    wall_s = time.perf_counter() - t0
    workers.finish()
    cpu_s = time.process_time() - cpu0 + workers.own_cpu_s()
    records = _worker_records(workers, n, workers.errors)
    errors = [e for r in records for e in r["errors"]]
    race_actual = workers.race_actual() if request.workload == "race" else None
    return Outcome(wall_s, cpu_s, startup_s, slots.cancelled, records, errors, race_actual, workers.notes())


def _worker_records(workers: _Workers, n: int, errors: Callable[[int], list[str]]) -> list[dict[str, Any]]:
    names = workers.names()
    return [{"index": i, "name": names[i], "kind": workers.kind, "errors": errors(i)} for i in range(n)]


class _WorkerThreads:
    """One thread per lane, in the lab; they share its GIL (and its CPU time)."""

    kind = "thread"

    def __init__(self, request: RunRequest, slots: Slots, lanes: tuple[Lane, ...]) -> None:
        self.request, self.slots, self.lanes = request, slots, lanes
        self.cell = race.Cell()
        self.lock = threading.Lock() if request.lock else None
        self.outs: list[dict] = [{} for _ in lanes]
        self.go = threading.Event()
        self.stop = threading.Event()  # set with go before the start: end at once
        self.threads: list[threading.Thread] = []
        self.deadline = time.perf_counter() + START_TIMEOUT_S

    def start(self) -> None:
        if self.request.workload == "race":
            self.slots.publish_race(lambda: 0)  # the first pair (0, 0): no sample reads an unpublished one
        name = "sequential" if self.request.strategy == "sequential" else "thread"
        try:
            for i, lane in enumerate(self.lanes):
                ctx = TaskContext(cell=self.cell, lock=self.lock, race_style=self.request.race_style,
                                  timeout_s=self.request.timeout_s, live=self.request.live)
                t = threading.Thread(
                    target=_thread_main,
                    args=(self.slots, i, self.request.workload, lane, ctx, self.go, self.stop, self.outs[i]),
                    name=f"{name}-{i}",
                    daemon=True,
                )
                t.start()
                self.threads.append(t)
        except BaseException:
            # the system would start no more ("can't start new thread"): those
            # started are stopped before the run fails and its slots close
            _stop_before_go(self.go, self.stop, self.threads)
            raise

    def start_problem(self) -> str | None:
        why = self._start_problem()
        if why is not None:
            _stop_before_go(self.go, self.stop, self.threads)
        return why

    def _start_problem(self) -> str | None:
        """A thread that ended before the start signal will never start: a
        worker waits for the signal whatever happens, so it crashed, before
        or after it said its OS id (after, the run started without it)."""
        for i, t in enumerate(self.threads):
            if not t.is_alive():
                crash = self.outs[i].get("crash")
                return f"worker thread {t.name} ended before it started" + (f": {crash}" if crash else "")
        if self.slots.cancelled:
            return "cancelled"
        if time.perf_counter() > self.deadline:
            return f"worker threads not ready after {START_TIMEOUT_S:g} s"
        return None

    def before_go(self) -> None:
        # the plain race counts in one global for every threads run: zeroed
        # here, once the run before (whose threads may have been adding to
        # it until they stopped) has ended and been counted
        race.counter = 0
        if self.request.workload == "race":
            self.slots.publish_race(self.race_actual)

    def still_running(self) -> bool:
        alive = [t for t in self.threads if t.is_alive()]
        if alive:
            alive[0].join(0.05)
        if self.request.workload == "race":
            # the threads' counter lives in the lab: publish it for the
            # sampler, with the units it is to be compared with (processes
            # count in the shared word itself)
            self.slots.publish_race(self.race_actual)
        return bool(alive)

    def give_up(self) -> bool:
        return False  # a thread cannot be stopped from outside: stop waiting

    def finish(self) -> None:
        pass

    def own_cpu_s(self) -> float:
        return 0.0  # threads' CPU time is the lab's

    def names(self) -> list[str]:
        return [t.name for t in self.threads]

    def errors(self, index: int) -> list[str]:
        return self.outs[index].get("errors", [])

    def notes(self) -> list[str]:
        stuck = [t.name for t in self.threads if t.is_alive()]
        return [f"{len(stuck)} thread(s) still blocked after the cancel: {', '.join(stuck)}"] if stuck else []

    def race_actual(self) -> int:
        return race.counter if self.request.race_style == "plain" else self.cell.value


class _Processes:
    """What worker processes share, however they are started: their start
    signal, results queue and race lock from multiprocessing; ``pending``,
    the processes this run waits for (workers, or the nurseries that reap
    them), each asked for its exit code once its sentinel says it ended."""

    kind = "process"

    def __init__(self, request: RunRequest, slots: Slots, lanes: tuple[Lane, ...]) -> None:
        self.request, self.slots, self.lanes = request, slots, lanes
        self.ctx = mp_context()
        self.lock = self.ctx.Lock() if request.lock and request.workload == "race" else None
        self.results = self.ctx.SimpleQueue()
        self.go = _GoSignal(self.ctx)
        self.pending: list[Any] = []
        self.reported: dict[int, list[str]] = {}
        self.deadline = 0.0

    def still_running(self) -> bool:
        ended = set(multiprocessing.connection.wait([p.sentinel for p in self.pending] + [self.results._reader],
                                                    timeout=0.05))
        self.finish()
        # only those whose sentinels say they ended: asking each of 256 for
        # its exit code opens a selector each time, 20 times a second
        self.pending = [p for p in self.pending if p.sentinel not in ended or p.exitcode is None]
        return bool(self.pending)

    def finish(self) -> None:
        """Drain the results, so the pipe never fills up and blocks a worker."""
        while not self.results.empty():
            self.receive(self.results.get())

    def receive(self, message: tuple) -> None:
        index, errs = message
        self.reported[index] = errs

    def ended_clean(self, index: int) -> bool:
        """Worker ``index`` ended its tasks without an error, and its slot
        says so: it sends its errors only when it has some. 256 workers each
        sending through the one queue, its lock taken in turn while the
        others still counted, held their stop 40-150 ms longer."""
        return (self.slots.get(index, DONE_NS) != 0 and self.slots.get(index, ERRORS) == 0
                and self.slots.get(index, STATE) in (WorkerState.DONE, WorkerState.CANCELLED))

    def own_cpu_s(self) -> float:
        return sum(self.slots.get(i, CPU_NS) for i in range(len(self.lanes))) / 1e9

    def before_go(self) -> None:
        pass

    def notes(self) -> list[str]:
        return []

    def race_actual(self) -> int:
        return int(self.slots.words[RACE_COUNTER])


class _WorkerProcesses(_Processes):
    """One process per lane, each started by multiprocessing (where there is
    no fork server to fork nurseries from: spawned); each has its own GIL."""

    def __init__(self, request: RunRequest, slots: Slots, lanes: tuple[Lane, ...]) -> None:
        super().__init__(request, slots, lanes)
        self.procs: list[Any] = []

    def start(self) -> None:
        r = self.request
        for i, lane in enumerate(self.lanes):
            p = self.ctx.Process(
                target=_process_main,
                args=(self.slots.path, i, r.workload, lane, self.lock, r.timeout_s,
                      r.switch_interval_s, r.race_style, os.getpid(), self.go, self.results, r.live),
                name=f"process-{i}",
                daemon=True,
            )
            self.procs.append(p)
            p.start()
            # multiprocessing polls every child it started, at each start, to
            # reap the ended ones: 32,640 polls for 256 workers, a fifth of a
            # second. This run joins its own workers (``still_running``).
            _started_children.discard(p)
        self.pending = list(self.procs)
        self.deadline = time.perf_counter() + START_TIMEOUT_S

    def start_problem(self) -> str | None:
        # one select for every worker, every 5 ms: not an exit-code poll each
        ended = set(multiprocessing.connection.wait([p.sentinel for p in self.procs], timeout=0))
        dead = [p for p in self.procs if p.sentinel in ended and p.exitcode is not None]
        cancelled = self.slots.cancelled
        if not (dead or time.perf_counter() > self.deadline or cancelled):
            return None
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.join()
        if cancelled:
            return "cancelled"
        if dead:
            return f"worker process {dead[0].name} exited with status {dead[0].exitcode} before starting"
        return f"worker processes not ready after {START_TIMEOUT_S:g} s"

    def give_up(self) -> bool:
        for p in self.pending:
            p.kill()
        return True  # killed: wait until they are gone

    def names(self) -> list[str]:
        return [p.name for p in self.procs]

    def errors(self, index: int) -> list[str]:
        errs = self.reported.get(index)
        if errs is None and self.ended_clean(index):
            errs = []
        if errs is None:
            p = self.procs[index]
            why = f"{p.name} (pid {p.pid}) ended with status {p.exitcode} without a result"
            errs = [] if self.slots.cancelled else [why]
        return errs


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores the lab is pinned to (--cpus)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: workers per nursery before a second one forks beside it (a fork costs the
#: nursery ~0.8 ms here: 256 from one nursery take 0.2 s of its CPU alone)
WORKERS_PER_NURSERY = 32


class _ForkedWorkers(_Processes):
    """One process per lane, forked by nurseries: one or a few processes
    started by the fork server, which fork the workers and reap them (see
    ``_nursery_main``). Each worker has its own GIL, as with one fork-server
    start per worker, which took 3.5 ms of a worker's CPU and a round trip
    through the fork server each. ``pending``: the nurseries."""

    def __init__(self, request: RunRequest, slots: Slots, lanes: tuple[Lane, ...]) -> None:
        super().__init__(request, slots, lanes)
        self.nurseries: list[Any] = []
        self.exits: dict[int, int] = {}  # worker index: its exit code, from its nursery
        self.unforked: str | None = None
        self.lab_pid = os.getpid()  # the process whose end ends the workers

    def start(self) -> None:
        r, n = self.request, len(self.lanes)
        count = max(1, min(_usable_cores(), n // WORKERS_PER_NURSERY))
        bounds = [n * k // count for k in range(count + 1)]
        for k in range(count):
            first, end = bounds[k], bounds[k + 1]
            p = self.ctx.Process(
                target=_nursery_main,
                args=(self.slots.path, first, list(self.lanes[first:end]), r.workload, self.lock, r.timeout_s,
                      r.switch_interval_s, r.race_style, self.lab_pid, self.go, self.results, r.live),
                name=f"nursery-{k}",
                daemon=True,
            )
            self.nurseries.append(p)
            p.start()
            _started_children.discard(p)  # joined here, like the workers
        self.pending = list(self.nurseries)
        self.deadline = time.perf_counter() + START_TIMEOUT_S

    def _pid(self, index: int) -> int:
        return self.slots.get(index, OS_ID)

    def _kill_workers(self) -> None:
        """Every worker that said its pid and has not ended."""
        self.finish()
        for i in range(len(self.lanes)):
            pid = self._pid(i)
            if pid and i not in self.exits:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:  # ended meanwhile
                    pass

    def _kill_all(self) -> None:
        """Before the start: the nurseries first (no more forks; a worker
        not yet known by its pid sees its parent gone and exits), then every
        worker known."""
        for p in self.nurseries:
            p.kill()
        self._kill_workers()
        for p in self.nurseries:
            p.join()
        self.finish()

    def start_problem(self) -> str | None:
        self.finish()
        ended = set(multiprocessing.connection.wait([p.sentinel for p in self.nurseries], timeout=0))
        dead = sorted(self.exits)  # before the start signal, any end is too early
        gone = [p for p in self.nurseries if p.sentinel in ended and p.exitcode is not None]
        cancelled = self.slots.cancelled
        if not (dead or gone or self.unforked or time.perf_counter() > self.deadline or cancelled):
            return None
        self._kill_all()
        if cancelled:
            return "cancelled"
        if self.unforked:
            return f"cannot start another worker process: {self.unforked}"
        if dead:
            return f"worker process process-{dead[0]} exited with status {self.exits[dead[0]]} before starting"
        if gone:
            return (f"the process that starts the workers (pid {gone[0].pid}) exited with status "
                    f"{gone[0].exitcode} before they started")
        return f"worker processes not ready after {START_TIMEOUT_S:g} s"

    def give_up(self) -> bool:
        self._kill_workers()
        return True  # killed: their nurseries reap them and end

    def receive(self, message: tuple) -> None:
        """A worker's errors, or from a nursery: a worker's exit code, a fork that failed."""
        if message[0] == "exit":
            self.exits[message[1]] = message[2]
        elif message[0] == "unforked":
            self.unforked = self.unforked or message[2]
        else:
            super().receive(message)

    def names(self) -> list[str]:
        return [f"process-{i}" for i in range(len(self.lanes))]

    def errors(self, index: int) -> list[str]:
        errs = self.reported.get(index)
        if errs is None and self.ended_clean(index):
            errs = []
        if errs is None:
            code = self.exits.get(index)
            said = f"with status {code}" if code is not None else "(its nursery was stopped)"
            why = f"process-{index} (pid {self._pid(index)}) ended {said} without a result"
            errs = [] if self.slots.cancelled else [why]
        return errs


# --- asyncio -------------------------------------------------------------------


def _warm_up_async(workload: str) -> None:
    """The asyncio strategy's client, imported before the start signal."""
    if spec(workload).async_runner is None:
        raise ValueError(spec(workload).refusal(ASYNCIO))
    _require("aiohttp", "the asyncio strategy")


class _LoopTasks:
    """One thread in the lab runs one event loop; each lane is a task on it.
    Every lane's slot carries the loop thread's id: the sampler shares that
    thread's time among the lanes."""

    kind = "task"

    def __init__(self, request: RunRequest, slots: Slots, lanes: tuple[Lane, ...]) -> None:
        self.request, self.slots, self.lanes = request, slots, lanes
        self.go = threading.Event()
        self.stop = threading.Event()  # set with go before the start: end at once
        self.out: dict = {}
        self.thread = threading.Thread(target=self._main, name="asyncio-loop", daemon=True)
        self.deadline = time.perf_counter() + START_TIMEOUT_S

    def start(self) -> None:
        _warm_up_async(self.request.workload)
        self.thread.start()

    def before_go(self) -> None:
        pass

    def _main(self) -> None:
        import asyncio

        try:
            asyncio.run(self._loop())
        except BaseException as exc:  # the lab waits for this thread: say why it ended
            self.out["crash"] = f"{type(exc).__name__}: {exc}"

    async def _loop(self) -> None:
        import asyncio

        import aiohttp

        words = self.slots.words
        bases = [self.slots.base(i) for i in range(len(self.lanes))]
        # no limit on connections: every request in flight at once
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for base in bases:
                words[base + OS_ID] = threading.get_native_id()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, _wait_for_go, self.go, words)
            if self.stop.is_set():  # the run failed before its start
                return
            start_ns = time.thread_time_ns()
            runner = spec(self.request.workload).async_runner
            assert runner is not None
            coros = []
            for i, lane in enumerate(self.lanes):
                base = bases[i]
                p = Progress(words, base, lambda: time.thread_time_ns() - start_ns)
                p.started()
                words[base + CPU_NS] = 0
                ctx = TaskContext(timeout_s=self.request.timeout_s, http_session=session, live=self.request.live)
                coros.append(run_tasks_async(p, runner, list(lane), ctx))
            tasks = [asyncio.ensure_future(c) for c in coros]
            watch = asyncio.ensure_future(self._watch_cancel(tasks))
            results = await asyncio.gather(*tasks, return_exceptions=True)
            watch.cancel()
        self.out["errors"] = [r if isinstance(r, list) else [] for r in results]
        # the kernel counts one thread: its CPU time, shared evenly among the
        # tasks (as the sampler shares it), so the lanes add up to the loop's
        share = (time.thread_time_ns() - start_ns) // max(1, len(bases))
        for base in bases:
            words[base + CPU_NS] = share

    async def _watch_cancel(self, tasks: list) -> None:
        """A task blocked in a request notices a cancel only here: cancel them all."""
        import asyncio

        while not self.slots.cancelled:
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()

    def start_problem(self) -> str | None:
        why = self._start_problem()
        if why is not None:
            _stop_before_go(self.go, self.stop, [self.thread])
        return why

    def _start_problem(self) -> str | None:
        if not self.thread.is_alive():  # before the start signal: it crashed, with its ids said or not
            crash = self.out.get("crash")
            return "the asyncio loop thread ended before it started" + (f": {crash}" if crash else "")
        if self.slots.cancelled:
            return "cancelled"
        if time.perf_counter() > self.deadline:
            return f"the asyncio loop not ready after {START_TIMEOUT_S:g} s"
        return None

    def still_running(self) -> bool:
        self.thread.join(0.05)
        return self.thread.is_alive()

    def give_up(self) -> bool:
        return False  # a thread cannot be stopped from outside: stop waiting

    def finish(self) -> None:
        pass

    def own_cpu_s(self) -> float:
        return 0.0  # the loop's CPU time is the lab's

    def names(self) -> list[str]:
        return [f"task-{i}" for i in range(len(self.lanes))]

    def errors(self, index: int) -> list[str]:
        per_lane = self.out.get("errors")
        if per_lane is None:
            crash = self.out.get("crash")
            return [f"the asyncio loop ended: {crash}"] if crash and index == 0 else []
        return per_lane[index] if index < len(per_lane) else []

    def notes(self) -> list[str]:
        return ["the asyncio loop thread is still blocked after the cancel"] if self.thread.is_alive() else []

    def race_actual(self) -> int:
        return 0
