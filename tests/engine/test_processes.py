"""Worker processes, started and followed by the lab's code in this process."""

from __future__ import annotations

import os

import pytest

from gilviz.engine import strategies
from gilviz.engine.model import RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.slots import Slots

pytestmark = pytest.mark.skipif(strategies.mp_context().get_start_method() != "forkserver",
                                reason="the fork server's Popen is counted here; this platform spawns")


def _run(request: RunRequest) -> strategies.Outcome:
    slots = Slots.create(request.workers)
    try:
        return strategies.execute(request, make_plan(request), slots, lambda startup_s: None)
    finally:
        slots.close()
        os.unlink(slots.path)


def test_workers_are_polled_for_their_exit_once_each_not_once_a_loop(monkeypatch):
    """multiprocessing polls every child it has started at each start (n²/2
    polls: 32,640 for 256 workers), and asking each worker for its exit code
    every 50 ms of a run opens a selector each time. The lab asks a worker
    once its sentinel says it ended."""
    import multiprocessing.popen_forkserver as popen

    polls = []
    real_poll = popen.Popen.poll

    def counted(self, flag=os.WNOHANG):
        polls.append(self.pid)
        return real_poll(self, flag)

    monkeypatch.setattr(popen.Popen, "poll", counted)
    workers = 24
    outcome = _run(RunRequest(workload="count", strategy="processes", workers=workers, size=workers * 400_000))
    assert not outcome.errors
    assert len(outcome.workers) == workers
    assert len(set(polls)) == workers  # each one's exit code was read
    assert all(strategies._gone(pid) for pid in polls)
    # each ended worker's exit code is read when its sentinel fires, then
    # once more for the records; n²/2 would be 276 at start alone
    assert len(polls) <= 3 * workers, f"{len(polls)} polls of {workers} workers"


def test_a_worker_that_ends_before_its_start_signal_is_reported():
    """The one select still notices workers that end before they start: here
    each is told a slots file that is not there."""
    request = RunRequest(workload="count", strategy="processes", workers=3, size=3_000)
    slots = Slots.create(3)
    path, slots.path = slots.path, os.path.join(os.path.dirname(slots.path), "gilviz-slots-not-there")
    try:
        outcome = strategies.execute(request, make_plan(request), slots, lambda startup_s: None)
    finally:
        slots.close()
        os.unlink(path)
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("worker process process-")
    assert outcome.errors[0].endswith("exited with status 1 before starting")
