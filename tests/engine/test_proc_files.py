"""The sampler's /proc files, kept open and read again: the figures they
give are the kernel's, as psutil and a fresh open give them."""

from __future__ import annotations

import os
import threading
import time

import psutil
import pytest

from gilviz.engine import sampler as sm
from gilviz.engine.slots import Slots

linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="Linux's /proc")


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@linux_only
def test_a_kept_open_schedstat_file_follows_its_thread_and_fails_once_it_ended():
    if sm.read_schedstat("/proc/self/schedstat") is None:
        pytest.skip("no schedstat in this kernel")
    go, stop, tid = threading.Event(), threading.Event(), []

    def worker() -> None:
        tid.append(threading.get_native_id())
        go.wait()
        _spin(0.05)
        stop.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    while not tid:
        time.sleep(0.001)
    path = f"/proc/{os.getpid()}/task/{tid[0]}/schedstat"
    file = sm.ProcFile(path)
    try:
        before = sm.parse_schedstat(file.read())
        go.set()
        time.sleep(0.01)
        while sm.parse_schedstat(file.read())[0] - before[0] < 0.05:  # the spin shows, read after read
            time.sleep(0.005)
        kept, fresh = sm.parse_schedstat(file.read()), sm.read_schedstat(path)
        assert kept is not None and fresh is not None
        assert kept[0] <= fresh[0] < kept[0] + 0.02  # the same counter as a fresh open gives
        stop.set()
        thread.join()  # Python's join returns as the OS thread is still ending
        deadline = time.monotonic() + 10
        while file.read() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert file.read() is None  # the thread ended: ESRCH, as a missing file
        assert sm.ProcFile(path).read() is None
    finally:
        stop.set()
        go.set()
        file.close()


@linux_only
def test_steal_and_the_lab_s_cpu_agree_with_psutil():
    """read_steal and the sampler's read of the lab's CPU time parse /proc
    themselves: against psutil's own reading, taken right after."""
    ours = sm.read_steal()
    times = psutil.cpu_times()
    if getattr(times, "steal", None) is None:
        assert ours is None
    else:
        assert ours is not None
        busy = sum(getattr(times, n, 0.0) for n in ("user", "nice", "system", "irq", "softirq", "steal"))
        assert times.steal - 0.05 <= ours[0] <= times.steal + 1e-6
        assert busy - 0.5 <= ours[1] <= busy + 1e-6  # two cores busy for at most a quarter second between
    slots = Slots.create(1)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        _spin(0.2)
        before = time.process_time()
        lab = sampler._lab_cpu()
        after = time.process_time()
        mine = psutil.Process().cpu_times()
        # our own process as the lab: its CPU clock, to the nanosecond, and psutil's 10 ms ticks
        assert lab is not None and before <= lab <= after
        assert mine.user + mine.system - 0.05 <= lab <= mine.user + mine.system + 0.05
        assert lab >= 0.2
        sampler._lab_clock = None  # without the clock: /proc/<pid>/stat, in ticks, as psutil reads it
        ticks = sampler._lab_cpu()
        mine = psutil.Process().cpu_times()
        assert ticks is not None and mine.user + mine.system - 0.05 <= ticks <= mine.user + mine.system + 1e-6
        sampler.close()
    finally:
        slots.close()
        slots.unlink()


def test_the_lab_s_cpu_time_comes_in_nanoseconds_not_in_ticks():
    """Cores used is the lab's CPU time over a period of 100 ms: in 10 ms
    ticks it read 0.90 beside two lanes at 47% and 53%. Read twice a few
    microseconds apart, the lab's CPU clock moves by less than a tick."""
    slots = Slots.create(1)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        if sampler._lab_clock is None:
            pytest.skip("no process CPU clock of another process here (Linux only)")
        readings = []
        for _ in range(50):
            _spin(0.0003)
            readings.append(sampler._lab_cpu())
        steps = {round(b - a, 6) for a, b in zip(readings, readings[1:])}
        assert all(0 < step < 0.005 for step in steps), steps  # every read moved, by under half a tick
        sampler.close()
    finally:
        slots.close()
        slots.unlink()


@linux_only
def test_the_sampler_closes_the_files_it_kept_open():
    """One file a worker stays open while the run goes on; the run's end
    closes them all (a long talk makes hundreds of runs)."""
    if sm.read_schedstat("/proc/self/schedstat") is None:
        pytest.skip("no schedstat in this kernel")
    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    slots = Slots.create(1)
    try:
        before = fds()
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        path = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/schedstat"
        assert sampler._read_schedstat(path) == pytest.approx(sm.read_schedstat(path), abs=0.01)
        assert sampler._lab_cpu() is not None  # the lab's CPU clock: no file
        assert fds() == before + 1
        sampler.close()
        assert fds() == before
    finally:
        slots.close()
        slots.unlink()


@linux_only
def test_past_its_share_of_open_files_the_sampler_opens_each_file_for_one_read(monkeypatch):
    """256 worker processes under a low limit on open files would use them
    all up, kept open: past MAX_KEPT_FILES, a file is opened for each read
    and closed again, and reads the same figures."""
    if sm.read_schedstat("/proc/self/schedstat") is None:
        pytest.skip("no schedstat in this kernel")
    monkeypatch.setattr(sm, "MAX_KEPT_FILES", 1)
    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    slots = Slots.create(1)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        before = fds()
        kept = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/schedstat"
        other = f"/proc/{os.getpid()}/schedstat"
        assert sampler._read_schedstat(kept) is not None
        assert fds() == before + 1
        once = sampler._read_schedstat(other)
        assert once is not None and once == pytest.approx(sm.read_schedstat(other), abs=0.01)
        assert fds() == before + 1 and other not in sampler._schedstat_files
        sampler.close()
        assert fds() == before
    finally:
        slots.close()
        slots.unlink()
