"""The sampler's /proc files, kept open and read again: the figures they
give are the kernel's, as psutil and a fresh open give them."""

from __future__ import annotations

import os
import subprocess
import sys
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
        assert file._ended  # and not opened again: the id may be another thread's by then
        assert sm.ProcFile(path).read() is None
    finally:
        stop.set()
        go.set()
        file.close()


@linux_only
def test_the_lab_s_cpu_time_is_the_scheduler_s_count_as_the_lanes_are():
    """Cores used is the lab's CPU time over a 100 ms period: in psutil's
    10 ms ticks it read 0.90 beside two lanes at 47% and 53%. The lab's CPU
    clock is the scheduler's count, as each worker's schedstat (the lanes'
    CPU) is: read of a spinning lab beside its schedstat, the two agree to
    a scheduler tick, and they are not whole ticks of /proc/<pid>/stat."""
    if sm.read_schedstat("/proc/self/schedstat") is None:
        pytest.skip("no schedstat in this kernel")
    lab = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    slots = Slots.create(1)
    try:
        sampler = sm.Sampler(slots, lab.pid, "threads", [1])
        if sampler._lab_clock is None:
            pytest.skip("no process CPU clock here")
        time.sleep(0.2)
        readings = []
        for _ in range(20):
            clock = sampler._lab_cpu()
            kernel = sm.read_schedstat(f"/proc/{lab.pid}/schedstat")
            assert clock is not None and kernel is not None
            assert abs(clock - kernel[0]) <= 1 / os.sysconf("SC_CLK_TCK") + 0.001  # within a tick
            readings.append(clock)
            time.sleep(0.013)
        assert readings == sorted(readings) and readings[-1] > readings[0]
        assert any(round(r * 1000) % 10 for r in readings)  # not 10 ms ticks
        ticks = psutil.Process(lab.pid).cpu_times()
        assert abs(readings[-1] - (ticks.user + ticks.system)) < 0.1
        sampler.close()
    finally:
        lab.kill()
        lab.wait()
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
