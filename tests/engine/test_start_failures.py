"""A run whose start fails (not a cancel): its workers are stopped before the
lab closes the slots they wait on, as worker processes are killed."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from gilviz.engine import client, strategies
from gilviz.engine.model import RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.session import RunFailed, Session
from gilviz.engine.slots import OS_ID, Slots

#: The lab, with worker thread 1 crashing before it says its OS id.
CRASHING_LAB = """
from gilviz.engine import lab, strategies
real = strategies._thread_work
def crash(slots, index, *args):
    if index == 1:
        raise RuntimeError("crashed before the start")
    return real(slots, index, *args)
strategies._thread_work = crash
lab.main()
"""


@pytest.mark.parametrize("strategy", ["threads", "asyncio"])
def test_a_start_that_times_out_stops_its_threads_before_the_slots_close(monkeypatch, strategy):
    """The run before never ends, so the start times out: the run says so,
    not as a cancel, and no thread of it is left when it returns; none dies
    once the slots are closed (each did, waiting for a start signal)."""
    monkeypatch.setattr(strategies, "START_TIMEOUT_S", 0.5)
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    urls = ("http://127.0.0.1:9/never-asked",) * 2 if strategy == "asyncio" else ()
    request = RunRequest(workload="fetch" if urls else "count", strategy=strategy, workers=2, urls=urls, live=True)
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    threads_before = set(threading.enumerate())
    try:
        outcome = strategies.execute(request, plan, slots, lambda startup_s: None, after=lambda: True)
        assert all(slots.get(i, OS_ID) for i in range(2))  # they were made, and waited
        left = [t for t in threading.enumerate() if t not in threads_before]
    finally:
        slots.close()
        slots.unlink()
    what = "the asyncio loop" if strategy == "asyncio" else "worker threads"
    assert outcome.errors == [f"{what} not ready after 0.5 s"] and not outcome.cancelled
    assert left == []
    time.sleep(1.0)  # a thread left waiting looks at the start word every 0.5 s
    assert died == []



def test_threads_started_before_the_system_refuses_another_are_stopped(monkeypatch):
    """The system starts two worker threads of four, then no more ("can't
    start new thread", a low limit on processes): the run fails with that
    error, and the two are stopped before the slots close, not left waiting
    for a start signal that never comes (each died on the closed slots)."""
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    real_start, started = threading.Thread.start, []

    def start(thread: threading.Thread) -> None:
        if thread.name.startswith("thread-"):
            if len(started) == 2:
                raise RuntimeError("can't start new thread")
            started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    request = RunRequest(workload="count", strategy="threads", workers=4, live=True)
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    try:
        with pytest.raises(RuntimeError, match="can't start new thread"):
            strategies.execute(request, plan, slots, lambda startup_s: None)
        assert len(started) == 2
        left = [t for t in started if t.is_alive()]
    finally:
        slots.close()
        slots.unlink()
    assert left == []
    time.sleep(1.0)  # a thread left waiting looks at the start word every 0.5 s
    assert died == []


def test_a_thread_that_dies_after_its_os_id_while_the_run_before_ends_fails_the_start(monkeypatch):
    """A switch's threads say their OS ids, then wait for the run before to
    end. One that died meanwhile (after its OS id) went unnoticed: the run
    would have started without it, or, here, timed out saying the threads
    were not ready. The start fails saying which thread ended and why, and
    the others are stopped."""
    monkeypatch.setattr(strategies, "START_TIMEOUT_S", 5.0)
    real_wait = strategies._wait_for_go

    def wait_for_go(go, words) -> None:
        if threading.current_thread().name == "thread-1":
            raise RuntimeError("crashed after its OS id")
        real_wait(go, words)

    monkeypatch.setattr(strategies, "_wait_for_go", wait_for_go)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # thread-1's end, expected
    request = RunRequest(workload="count", strategy="threads", workers=3, live=True)
    plan = make_plan(request)
    slots = Slots.create(plan.workers)
    threads_before = set(threading.enumerate())
    try:
        outcome = strategies.execute(request, plan, slots, lambda startup_s: None, after=lambda: True)
        assert all(slots.get(i, OS_ID) for i in range(3))  # each said its OS id
        left = [t for t in threading.enumerate() if t not in threads_before]
    finally:
        slots.close()
        slots.unlink()
    assert outcome.errors == ["worker thread thread-1 ended before it started: RuntimeError: crashed after its OS id"]
    assert not outcome.cancelled and left == []

@pytest.mark.e2e
def test_a_worker_thread_that_ends_before_the_start_fails_the_run_and_no_other_dies(monkeypatch):
    """In the lab: the run fails saying which thread ended and why; its other
    threads end with it, not later on the closed slots, a ValueError
    traceback each in the lab's log."""
    monkeypatch.setattr(client, "LAB_COMMAND", CRASHING_LAB)
    session = Session()
    try:
        with pytest.raises(RunFailed, match="thread-1 ended before it started: RuntimeError: crashed before"):
            session.run(RunRequest(workload="count", strategy="threads", workers=3, size=300_000))
        lab = session.lab
        assert lab is not None and lab.alive
        deadline = time.monotonic() + 30
        while psutil.Process(lab.pid).num_threads() > 1:  # the lab's main thread, reading commands
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)  # its log read to the end
        log = "\n".join(lab.stderr_tail)
        assert "ValueError" not in log, log
        assert "RuntimeError: crashed before the start" in log  # the log is read: the crash is in it
        result = session.run(RunRequest(workload="count", strategy="threads", workers=1, size=300_000))
        assert result.units == 300_000 and result.errors == ()
    finally:
        session.close()
