"""Worker processes, started and followed by the lab's code in this process:
forked by nurseries where there is a fork server (``_ForkedWorkers``), one
fork-server start each otherwise (``_WorkerProcesses``)."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from gilviz.engine import strategies
from gilviz.engine.model import RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.slots import OS_ID, Slots
from tests.conftest import wait_gone

pytestmark = pytest.mark.skipif(strategies.mp_context().get_start_method() != "forkserver",
                                reason="the fork server's Popen is counted here; this platform spawns")

KINDS = [strategies._ForkedWorkers, strategies._WorkerProcesses]


def _run(kind, request: RunRequest, slots: Slots, on_tick=None) -> tuple[strategies.Outcome, object]:
    """The lab's run of ``request`` by ``kind``; ``on_tick(workers)`` every 50 ms while it runs."""
    workers = kind(request, slots, make_plan(request).lanes)
    stop = threading.Event()
    if on_tick is not None:
        def ticks() -> None:
            while not stop.wait(0.05):
                on_tick(workers)
        threading.Thread(target=ticks, daemon=True).start()
    try:
        return strategies._run(workers, request, slots, request.workers, lambda startup_s: None,
                               time.perf_counter()), workers
    finally:
        stop.set()


@pytest.fixture
def slots_for():
    made = []

    def make(n: int) -> Slots:
        made.append(Slots.create(n))
        return made[-1]

    yield make
    for s in made:
        s.close()
        s.unlink()


def _descendants() -> set[int]:
    """This process's descendants but the fork server (it lives on)."""
    return {c.pid for c in psutil.Process().children(recursive=True)
            if "forkserver" not in " ".join(c.cmdline()) or c.ppid() != os.getpid()}


def test_processes_are_forked_by_nurseries_where_there_is_a_fork_server():
    """The lab's run (execute) starts its workers from a nursery: their
    parent is a child of the fork server, not the fork server itself."""
    slots = Slots.create(2)
    parents: list[int] = []
    grandparents: list[int] = []

    def on_started(startup_s: float) -> None:  # the workers wait for the start signal: all alive
        parents.extend(psutil.Process(slots.get(i, OS_ID)).ppid() for i in range(2))
        grandparents.extend(psutil.Process(p).ppid() for p in parents)

    try:
        request = RunRequest(workload="count", strategy="processes", workers=2, size=200_000)
        outcome = strategies.execute(request, make_plan(request), slots, on_started)
        assert not outcome.errors and {w["kind"] for w in outcome.workers} == {"process"}
    finally:
        slots.close()
        slots.unlink()
    assert len(set(parents)) == 1  # one nursery for two workers
    fork_server = strategies.multiprocessing.forkserver._forkserver._forkserver_pid
    assert parents[0] != fork_server and set(grandparents) == {fork_server}


@pytest.mark.parametrize("workers,nurseries", [(4, 1), (31, 1), (64, 2)])
def test_every_worker_is_its_own_process_forked_by_a_nursery(slots_for, workers, nurseries):
    if strategies._usable_cores() < nurseries:
        pytest.skip("one nursery per core at most")
    request = RunRequest(workload="count", strategy="processes", workers=workers, size=workers * 100_000)
    slots = slots_for(workers)
    parents: dict[int, int] = {}

    def note_parents(w) -> None:
        for i in range(workers):
            pid = slots.get(i, OS_ID)
            if pid and pid not in parents:
                try:
                    parents[pid] = psutil.Process(pid).ppid()
                except psutil.Error:
                    pass

    outcome, w = _run(strategies._ForkedWorkers, request, slots, on_tick=note_parents)
    assert not outcome.errors and outcome.wall_s > 0
    pids = [slots.get(i, OS_ID) for i in range(workers)]
    assert len(set(pids)) == workers and os.getpid() not in pids
    assert len(w.nurseries) == nurseries
    assert set(parents.values()) <= {p.pid for p in w.nurseries}
    assert w.exits == dict.fromkeys(range(workers), 0)  # each one's exit code, from its nursery
    assert w.reported == {} and all(w.ended_clean(i) for i in range(workers))  # no errors: nothing sent
    assert wait_gone(set(pids) | {p.pid for p in w.nurseries}) == set()


@pytest.mark.parametrize("kind", KINDS)
def test_processes_are_polled_for_their_exit_once_each_not_once_a_loop(monkeypatch, slots_for, kind):
    """multiprocessing polls every child it has started at each start (n²/2
    polls: 32,640 for 256 workers), and asking each for its exit code every
    50 ms of a run opens a selector each time. The lab asks a process once
    its sentinel says it ended."""
    import multiprocessing.popen_forkserver as popen

    polls: list[int] = []
    real_poll = popen.Popen.poll

    def counted(self, flag=os.WNOHANG):
        polls.append(self.pid)
        return real_poll(self, flag)

    monkeypatch.setattr(popen.Popen, "poll", counted)
    workers = 24
    request = RunRequest(workload="count", strategy="processes", workers=workers, size=workers * 400_000)
    outcome, w = _run(kind, request, slots_for(workers))
    assert not outcome.errors and len(outcome.workers) == workers
    started = {p.pid for p in getattr(w, "nurseries", None) or w.procs}
    assert set(polls) == started  # each one's exit code was read
    assert len(polls) <= 3 * len(started), f"{len(polls)} polls of {len(started)} processes"
    assert wait_gone(started) == set()


@pytest.mark.parametrize("kind", KINDS)
def test_a_worker_that_ends_before_its_start_signal_is_reported(slots_for, kind):
    """Each worker is told a slots file that is not there, so it ends before it starts."""
    request = RunRequest(workload="count", strategy="processes", workers=3, size=3_000)
    slots = slots_for(3)
    real, slots.path = slots.path, os.path.join(os.path.dirname(slots.path), "gilviz-slots-not-there")
    try:
        if kind is strategies._ForkedWorkers:  # its nursery opens the slots: its workers inherit them
            outcome, _ = _run(kind, request, slots)
            assert len(outcome.errors) == 1
            assert outcome.errors[0].startswith("the process that starts the workers (pid ")
            assert outcome.errors[0].endswith(") exited with status 1 before they started")
        else:
            outcome, _ = _run(kind, request, slots)
            assert len(outcome.errors) == 1
            assert outcome.errors[0].startswith("worker process process-")
            assert outcome.errors[0].endswith("exited with status 1 before starting")
    finally:
        slots.path = real


def test_a_forked_worker_that_fails_before_its_start_signal_is_reported(slots_for, monkeypatch):
    """A worker whose start fails (here: a switch interval Python refuses)
    ends with status 1; the run says which, before any start signal."""
    request = RunRequest(workload="count", strategy="processes", workers=3, size=3_000, switch_interval_s=-1.0)
    outcome, w = _run(strategies._ForkedWorkers, request, slots_for(3))
    assert len(outcome.errors) == 1, outcome.errors
    assert outcome.errors[0].startswith("worker process process-")
    assert outcome.errors[0].endswith("exited with status 1 before starting")
    assert outcome.wall_s == 0.0


def test_a_killed_forked_worker_is_an_error_with_its_status(slots_for):
    request = RunRequest(workload="count", strategy="processes", workers=2, size=60_000_000)
    slots = slots_for(2)
    killed: list[int] = []

    def kill_first(w) -> None:
        if not killed and slots.get(0, OS_ID) and slots.words[strategies.GO]:
            killed.append(slots.get(0, OS_ID))
            os.kill(killed[0], signal.SIGKILL)

    outcome, w = _run(strategies._ForkedWorkers, request, slots, on_tick=kill_first)
    assert killed
    assert outcome.errors == [f"process-0 (pid {killed[0]}) ended with status -9 without a result"]
    assert w.exits == {0: -9, 1: 0}


def test_cancelled_before_the_start_leaves_no_process(slots_for):
    """The nurseries are killed first: a worker they forked that has not
    said its pid yet sees its parent gone and exits by itself."""
    before = _descendants()
    request = RunRequest(workload="count", strategy="processes", workers=80, size=80_000)
    slots = slots_for(80)
    slots.cancel()
    outcome, w = _run(strategies._ForkedWorkers, request, slots)
    assert outcome.errors == ["cancelled"]
    assert wait_gone(_descendants() - before) == set()


def test_workers_whose_nursery_is_killed_end_by_themselves(slots_for):
    request = RunRequest(workload="count", strategy="processes", workers=3, size=10**11)
    slots = slots_for(3)
    seen: list[int] = []

    def kill_nursery(w) -> None:
        if not seen and slots.words[strategies.GO]:
            seen.extend(slots.get(i, OS_ID) for i in range(3))
            w.nurseries[0].kill()

    outcome, w = _run(strategies._ForkedWorkers, request, slots, on_tick=kill_nursery)
    assert seen
    assert wait_gone(set(seen), timeout_s=10) == set()
    # the run ended when its nursery did; each worker's end is unknown, and said so
    assert len(outcome.errors) == 3 and all("its nursery was stopped" in e for e in outcome.errors)


def test_the_workers_and_nurseries_of_a_lab_that_was_killed_end_by_themselves(slots_for):
    """SIGKILL leaves the lab no time to take its workers along (the session
    kills its process group, but a lab alone may die): each nursery sees
    the lab gone and ends, and its workers die with it. The lab here is a
    stand-in process, killed mid-run."""
    import subprocess
    import sys

    lab = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    request = RunRequest(workload="count", strategy="processes", workers=3, size=10**11)
    slots = slots_for(3)
    w = strategies._ForkedWorkers(request, slots, make_plan(request).lanes)
    w.lab_pid = lab.pid
    try:
        w.start()
        deadline = time.monotonic() + 30
        while not strategies._ready(slots, 3):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        slots.words[strategies.GO] = 1
        w.go.set()
        pids = {slots.get(i, OS_ID) for i in range(3)} | {w.nurseries[0].pid}
        lab.kill()
        lab.wait()
        assert wait_gone(pids, timeout_s=10) == set()
    finally:
        lab.kill()
        w.give_up()
        for p in w.nurseries:
            p.kill()


def _wait_then_exit(go, ready) -> None:
    ready.put(os.getpid())
    os._exit(0 if go.wait(30) else 1)


def test_the_start_signal_reaches_every_worker_at_once_without_a_handshake():
    """multiprocessing's Event.set() waits for each sleeper to say it woke,
    and each then takes a lock in turn: 256 processes began a median 3.3 s
    after the start signal. The signal is a byte nobody reads: set() returns
    at once even while a waiting worker cannot run (stopped here), and every
    worker sees it."""
    ctx = strategies.mp_context()
    go = strategies._GoSignal(ctx)
    ready = ctx.SimpleQueue()
    children = [ctx.Process(target=_wait_then_exit, args=(go, ready)) for _ in range(3)]
    for c in children:
        c.start()
    try:
        for _ in children:
            ready.get()
        time.sleep(0.5)  # all three waiting (with multiprocessing's Event, set() then waits for each)
        os.kill(children[0].pid, signal.SIGSTOP)
        done = threading.Event()
        threading.Thread(target=lambda: (go.set(), done.set()), daemon=True).start()
        assert done.wait(5), "set() waited for a worker that could not run"
        os.kill(children[0].pid, signal.SIGCONT)
        for c in children:
            c.join(30)
        assert [c.exitcode for c in children] == [0, 0, 0]
        assert go.wait(0) and go.wait(0)  # seen, not taken
    finally:
        for c in children:
            if c.is_alive():
                os.kill(c.pid, signal.SIGCONT)
                c.kill()
                c.join()


@pytest.mark.parametrize("kind", KINDS)
def test_a_worker_with_no_error_sends_nothing_and_has_none(kind, slots_for):
    """Every worker sent its (empty) errors through the one results queue at
    its end, 256 taking its lock in turn while the others still counted:
    their stop took 40-150 ms longer. A worker that ended cleanly says so in
    its slot; only errors travel. A killed one is still said to have ended
    without a result (test_a_killed_worker_s_status_is_reported)."""
    request = RunRequest(workload="count", strategy="processes", workers=3, size=300_000)
    slots = slots_for(3)
    workers = kind(request, slots, make_plan(request).lanes)
    received: list[tuple] = []
    original = workers.receive

    def receive(message: tuple) -> None:
        received.append(message)
        original(message)

    workers.receive = receive
    outcome = strategies._run(workers, request, slots, 3, lambda startup_s: None, time.perf_counter())
    assert outcome.errors == [] and [r["errors"] for r in outcome.workers] == [[], [], []]
    assert [m for m in received if m[0] not in ("exit", "unforked")] == []
    assert all(slots.get(i, strategies.DONE_NS) for i in range(3))
