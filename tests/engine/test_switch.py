"""A live run's switch: the lab starts the next run's workers while the old
ones stop, and gives them the start signal once the old run has ended."""

from __future__ import annotations

import contextlib
import threading
import time
from types import SimpleNamespace

import psutil
import pytest

from gilviz.engine import strategies
from gilviz.engine.model import RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.session import Session
from gilviz.engine.slots import DONE_NS, GO, GO_NS, OS_ID, Slots
from tests.conftest import wait_gone


def _wait_ready(slots: Slots, n: int, runner: threading.Thread) -> None:
    """Until every worker has its OS id (the run going on meanwhile)."""
    deadline = time.monotonic() + 60
    while not strategies._ready(slots, n):
        assert time.monotonic() < deadline and runner.is_alive()
        time.sleep(0.01)


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_a_switch_s_workers_are_made_beside_the_old_run_s_end_and_go_after_it(strategy):
    """Every worker has its OS id while the run before is still going, and
    none is released until it has ended; the start-up is the workers' own,
    not the wait."""
    request = RunRequest(workload="count", strategy=strategy, workers=3, live=True)
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    before_going = threading.Event()
    before_going.set()
    started: list[float] = []
    box: dict = {}

    def execute() -> None:
        box["outcome"] = strategies.execute(request, plan, slots, started.append, after=before_going.is_set)

    runner = threading.Thread(target=execute)
    try:
        t0 = time.perf_counter()
        runner.start()
        _wait_ready(slots, 3, runner)
        time.sleep(0.3)  # ready, and waiting for the run before
        assert slots.words[GO] == 0 and started == [] and all(slots.get(i, DONE_NS) == 0 for i in range(3))
        waited = time.perf_counter() - t0
        before_going.clear()
        deadline = time.monotonic() + 60
        while not started:
            assert time.monotonic() < deadline and runner.is_alive()
            time.sleep(0.01)
        assert slots.words[GO] == 1
        assert started[0] < waited  # the start-up is the workers' own
        time.sleep(0.2)
        slots.cancel()
        runner.join(30)
        outcome = box["outcome"]
        assert outcome.errors == [] and outcome.cancelled
    finally:
        slots.cancel()
        runner.join(30)
        slots.close()
        slots.unlink()


@pytest.mark.parametrize("measured", [True, False])
def test_a_switch_starts_the_next_run_while_the_old_one_stops(tag, measured):
    """A live fetch whose requests take 2 s stops when they answer; the
    processes the switch asked for are made meanwhile, released after the
    fetch workers ended, and followed by the next ``run``. Nothing is left.
    Unless their solo rate is still to be measured: that is measured alone,
    once the old run has ended, and the processes are made after it."""
    from tests.conftest import wait_no_tagged

    session = Session()
    try:
        fetch = RunRequest(workload="fetch", strategy="threads", workers=2, latency_s=2.0, live=True)
        count = RunRequest(workload="count", strategy="processes", workers=3, live=True)
        if measured:  # as the app does while idle
            assert session.solo_rate(count)
        box: dict = {}

        def on_old_tick(tick) -> None:
            slots = session._slots
            if tick.seq == 2 and "switched_at" not in box:
                box["switched_at"] = time.time()
                box["switched"] = session.switch(count)
            if "switched" in box and slots is not None:  # the last tick comes after the run's end
                box["old_done_ns"] = max(slots.get(i, DONE_NS) for i in range(2))

        old = session.run(fetch, on_tick=on_old_tick)
        old_returned_at = time.time()
        assert box["switched"] is True and old.cancelled is False and old.live
        queued = session._queued
        assert queued is not None and queued.asked == count
        pids = [queued.slots.get(i, OS_ID) for i in range(3)]
        if measured:
            assert all(pids)  # made before the old run's end ...
            made = [psutil.Process(pid).create_time() for pid in pids]
            assert max(made) < old_returned_at - 0.5, (box["switched_at"], made, old_returned_at)
        else:
            assert not any(pids)

        def on_started(started) -> None:
            box["go_ns"] = session._slots.words[GO_NS]
            box["started"] = started

        def on_new_tick(tick) -> None:
            if tick.seq == 3:
                threading.Thread(target=session.cancel).start()

        new = session.run(count, on_started=on_started, on_tick=on_new_tick)
        assert session._queued is None
        assert box["started"].startup_s < 1.5  # its own start-up, not the 2 s wait
        assert box["go_ns"] >= box["old_done_ns"] > 0  # ... and released after it
        assert [w.kind for w in new.worker_results] == ["process"] * 3
        if measured:
            assert [w.os_id for w in new.worker_results] == pids
        assert new.units > 0 and new.errors == ()
    finally:
        session.close()
    assert wait_no_tagged(tag) == []


def _switch_from_a_live_count(session: Session, to: RunRequest, then_stop: bool = False) -> bool:
    """A live threads count, switched to ``to`` at its second sample (and
    stopped at once, ``then_stop``: x after the key); what switch() said."""
    box: dict = {}

    def on_tick(tick) -> None:
        if tick.seq == 2 and "switched" not in box:
            box["switched"] = session.switch(to)
            if then_stop:
                # x once the switch's workers are made: they are what must not be left
                queued, deadline = session._queued, time.monotonic() + 30
                while queued is not None and not strategies._ready(queued.slots, to.workers):
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                box["made"] = queued is not None
                session.cancel()

    session.run(RunRequest(workload="count", strategy="threads", workers=2, live=True), on_tick=on_tick)
    assert box.get("made", True)
    return box["switched"]


def test_a_dropped_switch_leaves_no_worker_and_the_next_run_works(tag):
    """A switch whose run nobody follows (x after p) ends in the lab: no
    worker process is left while the session lives on, and the next run
    is an ordinary one."""
    session = Session()
    try:
        to = RunRequest(workload="count", strategy="processes", workers=3, live=True)
        assert _switch_from_a_live_count(session, to, then_stop=True) is True
        assert session._queued is None
        lab = psutil.Process(session.lab.pid)

        def workers() -> list[psutil.Process]:
            alive = []
            for p in lab.children(recursive=True):
                try:  # a killed worker is a zombie until its parent reaps it: ended
                    # not the lab's own helpers: the fork server and the resource tracker
                    helper = p.ppid() == lab.pid and "multiprocessing" in " ".join(p.cmdline())
                    if p.status() != psutil.STATUS_ZOMBIE and not helper:
                        alive.append(p)
                except (psutil.NoSuchProcess, psutil.ZombieProcess):
                    pass
            return alive

        deadline = time.monotonic() + 30
        while workers() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers() == []
        result = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=400_000))
        assert result.units == 400_000 and result.errors == ()
    finally:
        session.close()


def test_a_switch_s_threads_count_the_plain_race_from_zero_after_the_old_run():
    """The plain race counts in one global for every threads run, and the
    old run's threads add to it until they stop: the new run zeroes it at
    its start signal, not when its threads are made (a locked race then
    read updates lost, or more found than made)."""
    from gilviz.engine.workloads import race

    request = RunRequest(workload="race", strategy="threads", workers=3, size=30_000, lock=True,
                         race_style="plain")
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    before_going = threading.Event()
    before_going.set()
    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(outcome=strategies.execute(
        request, plan, slots, lambda startup_s: None, after=before_going.is_set)))
    try:
        runner.start()
        _wait_ready(slots, 3, runner)
        race.counter += 5_000  # the old run's threads, still counting as they stop
        before_going.clear()
        runner.join(60)
        outcome = box["outcome"]
        assert outcome.errors == [] and outcome.race_actual == 30_000
    finally:
        slots.cancel()
        runner.join(30)
        slots.close()
        slots.unlink()


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_a_dropped_switch_s_workers_end_before_its_slots_close(strategy):
    """Cancelled while it waits for the run before, a run ends its workers
    before it returns (threads left waiting died on the closed slots, each
    with a traceback in the lab's log); cancelled before it began, it makes
    none at all."""
    request = RunRequest(workload="count", strategy=strategy, workers=4, live=True)
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    threads_before = set(threading.enumerate())
    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(outcome=strategies.execute(
        request, plan, slots, lambda startup_s: None, after=lambda: True)))
    try:
        runner.start()
        _wait_ready(slots, 4, runner)
        pids = [slots.get(i, OS_ID) for i in range(4)]
        slots.cancel()
        runner.join(30)
        assert not runner.is_alive()
        assert box["outcome"].cancelled and box["outcome"].errors == ["cancelled"]
        if strategy == "threads":
            # its own threads: others of earlier tests may end meanwhile
            assert [t for t in threading.enumerate() if t not in threads_before] == []
        else:
            assert wait_gone(set(pids)) == set()  # killed: each ends at its next turn on a core
    finally:
        slots.cancel()
        runner.join(30)
        slots.close()
        slots.unlink()
    cancelled_first = Slots.create(plan.workers)
    try:
        cancelled_first.cancel()
        outcome = strategies.execute(request, plan, cancelled_first, lambda startup_s: None, after=lambda: True)
        assert outcome.cancelled and outcome.workers == []
        assert not any(cancelled_first.get(i, OS_ID) for i in range(4))
    finally:
        cancelled_first.close()
        cancelled_first.unlink()


def test_a_switch_stopped_before_its_workers_started_is_a_cancel_not_a_failure(tag):
    """x (or another key) right after a switch's run was taken up, while
    the lab still measures its solo rate: nothing started, nothing failed;
    RunCancelled says so (the app then goes on, or stops, quietly)."""
    from gilviz.engine.session import RunCancelled, RunFailed

    session = Session()
    try:
        assert _switch_from_a_live_count(session, RunRequest(workload="hash", strategy="processes", workers=2,
                                                             live=True)) is True
        box: dict = {}

        def follow() -> None:
            try:
                session.run(RunRequest(workload="hash", strategy="processes", workers=2, live=True))
            except RunFailed as exc:
                box["error"] = exc

        follower = threading.Thread(target=follow)
        follower.start()
        time.sleep(0.1)  # taken up; the lab measures hash's solo rate (3 x 0.15 s) before any worker
        session.cancel()
        follower.join(30)
        assert isinstance(box.get("error"), RunCancelled), box
        again = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=400_000))
        assert again.units == 400_000
    finally:
        session.close()


def _hold_prepare(monkeypatch, session: Session, held: RunRequest) -> tuple[threading.Event, threading.Event]:
    """The session's prepare of ``held`` waits to be released (as a fetch's
    may wait for the loopback server to start); (preparing, release)."""
    preparing, release = threading.Event(), threading.Event()
    real_prepare = session.prepare

    def prepare(request: RunRequest) -> RunRequest:
        if request == held:
            preparing.set()
            assert release.wait(60)
        return real_prepare(request)

    monkeypatch.setattr(session, "prepare", prepare)
    return preparing, release


def _live_run_held_at_its_first_tick(session: Session, box: dict) -> tuple[threading.Thread, threading.Event]:
    """A live threads count whose first tick waits to be released: until
    then it is the session's current run, whatever it is told; (its
    thread, release). Its result goes in ``box["old"]``."""
    ticking, release = threading.Event(), threading.Event()

    def on_tick(tick) -> None:
        ticking.set()
        assert release.wait(60)

    runner = threading.Thread(target=lambda: box.update(old=session.run(
        RunRequest(workload="count", strategy="threads", workers=2, live=True), on_tick=on_tick)))
    runner.start()
    assert ticking.wait(60)
    return runner, release


@contextlib.contextmanager
def _switch_being_prepared(monkeypatch, to: RunRequest):
    """A session running a live count held at its first tick, told to
    switch to ``to`` on another thread, whose run is held in its prepare:
    (session, box, the old run's slots, switcher, runner, release_prepare,
    release_old); everything released and the session closed after."""
    session = Session()
    preparing, release_prepare = _hold_prepare(monkeypatch, session, to)
    box: dict = {}
    runner, release_old = _live_run_held_at_its_first_tick(session, box)
    try:
        old_slots = session._slots
        switcher = threading.Thread(target=lambda: box.update(switched=session.switch(to)))
        switcher.start()
        assert preparing.wait(30)
        yield SimpleNamespace(session=session, box=box, old_slots=old_slots, switcher=switcher, runner=runner,
                              release_prepare=release_prepare, release_old=release_old)
    finally:
        release_prepare.set()
        release_old.set()
        session.close()


def _within(call, timeout_s: float = 10.0) -> dict:
    """``call()`` on another thread, given ``timeout_s`` (generous: a busy
    machine): {"returned": its value} if it returned by then, else {}."""
    box: dict = {}
    caller = threading.Thread(target=lambda: box.update(returned=call()), daemon=True)
    caller.start()
    caller.join(timeout_s)
    return box


def test_a_stop_does_not_wait_for_a_switch_preparing_its_run_and_drops_it(monkeypatch):
    """x while a switch's run is being prepared: the stop returns at once
    (it waited for the whole preparation, the lock held), and the switch,
    stopped meanwhile, sends nothing and says so."""
    to = RunRequest(workload="count", strategy="processes", workers=2, live=True)
    with _switch_being_prepared(monkeypatch, to) as held:
        session, box = held.session, held.box
        assert _within(session.cancel) == {"returned": None}
        assert held.switcher.is_alive()  # still preparing
        held.release_prepare.set()
        held.switcher.join(30)
        assert box["switched"] is False and session._queued is None
        held.release_old.set()
        held.runner.join(30)
        assert box["old"].live
        again = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=400_000))
        assert again.units == 400_000 and again.errors == ()


def test_of_two_switches_the_later_does_not_wait_for_the_earlier_and_is_the_one_followed(monkeypatch):
    """A second switch while the first's run is being prepared: it returns
    at once, sent; the first, once prepared, sends nothing (else the lab
    would run both, and the session follow the first). The next run
    follows the second's."""
    first = RunRequest(workload="count", strategy="processes", workers=2, live=True)
    second = RunRequest(workload="count", strategy="threads", workers=3, live=True)
    with _switch_being_prepared(monkeypatch, first) as held:
        session = held.session
        assert _within(lambda: session.switch(second)) == {"returned": True}
        held.release_prepare.set()
        held.switcher.join(30)
        assert held.box["switched"] is False
        queued = session._queued
        assert queued is not None and queued.asked == second
        held.release_old.set()
        held.runner.join(30)
        _follow_the_queued_run(session, second, ["thread"] * 3)


def test_a_run_goes_on_while_its_switch_s_run_is_prepared_then_is_stopped_as_it_is_sent(monkeypatch):
    """Stopped first, the old run could end, and its thread take up its next
    run, before the switch's run was sent: the lab then started that one as
    any other, not beside the old run's end. The old run is stopped once
    the switch's run is ready to send, and the next run follows it."""
    to = RunRequest(workload="count", strategy="processes", workers=2, live=True)
    with _switch_being_prepared(monkeypatch, to) as held:
        session, box, old_slots = held.session, held.box, held.old_slots
        assert old_slots is not None and not old_slots.cancelled and session._queued is None
        held.release_prepare.set()
        held.switcher.join(30)
        assert box["switched"] is True and old_slots.cancelled
        assert session._queued is not None and session._queued.asked == to
        held.release_old.set()
        held.runner.join(30)
        assert box["old"].live
        _follow_the_queued_run(session, to, ["process"] * 2)


def _follow_the_queued_run(session: Session, request: RunRequest, kinds: list[str]) -> None:
    """Run ``request`` as the app's run thread does after a switch: it takes
    up the queued run, whose workers are ``kinds``; stopped at its second tick."""

    def on_tick(tick) -> None:
        if tick.seq == 2:
            threading.Thread(target=session.cancel).start()

    new = session.run(request, on_tick=on_tick)
    assert session._queued is None
    assert [w.kind for w in new.worker_results] == kinds
    assert new.units > 0 and new.errors == ()


class _ClosingAfterTheTakeUp:
    """The session's runs lock, which closes the session as the next run
    lets go of it, once: as a close() from another thread may, between the
    run's take-up of the switch's run and the rest of its start."""

    def __init__(self, session: Session) -> None:
        self.lock, self.session, self.armed = session._runs_lock, session, True

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()
        if self.armed:
            self.armed = False
            self.session.close()


@pytest.mark.parametrize("said_started", [False, True])
def test_a_close_as_a_switch_s_run_is_taken_up_fails_the_run(monkeypatch, tag, said_started):
    """The run follows the lab it found the switch's run in, closed: it
    fails, as any run whose lab is closed under it (it asserted a lab was
    there and raised AssertionError), and leaves nothing running. Taken up
    at once, or once the lab has said the switch's run started (that event
    is read after the close)."""
    from gilviz.engine.session import RunFailed
    from tests.conftest import wait_no_tagged

    session = Session()
    try:
        to = RunRequest(workload="count", strategy="threads", workers=2, live=True)
        assert _switch_from_a_live_count(session, to) is True
        queued = session._queued
        assert queued is not None
        if said_started:  # its start signal given, and said: the event waits to be read
            deadline = time.monotonic() + 30
            while not queued.slots.words[GO]:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(0.5)
        monkeypatch.setattr(session, "_runs_lock", _ClosingAfterTheTakeUp(session))
        with pytest.raises(RunFailed):  # or RunCancelled, if the lab said the cancel's end first
            session.run(to)
        assert session.lab is None and session._queued is None and session._slots is None
    finally:
        session.close()
    assert wait_no_tagged(tag) == []


def test_two_prepares_at_once_start_one_embedded_server(tag):
    """A switch prepares its run beside the run going on, which may prepare
    its next one: two fetches asking for the embedded server at once get
    the same server, and no second one is left running unseen."""
    from gilviz.engine.loopback import LoopbackServer
    from tests.conftest import tagged_processes, wait_no_tagged

    server = LoopbackServer()
    real_start, starts = server.start, []

    def slow_start() -> int:  # the window in which another caller looks
        starts.append(1)
        time.sleep(0.3)
        return real_start()

    server.start = slow_start  # type: ignore[method-assign]
    ports: list[int] = []
    callers = [threading.Thread(target=lambda: ports.append(server.ensure())) for _ in range(2)]
    try:
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(30)
        assert len(ports) == 2 and ports[0] == ports[1]
        assert len(starts) == 1
        assert len(tagged_processes(tag)) == 1  # the one server
    finally:
        server.close()
    assert wait_no_tagged(tag) == []
