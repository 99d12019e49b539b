"""The convoy workload: one I/O thread making small loopback requests
(127.0.0.1 only) beside CPU workers; its requests/s and latency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from gilviz.engine.latency import SWEEP_CPU_WORKERS, percentile, sweep_configurations
from gilviz.engine.model import RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.workloads import spec


def test_lane_0_is_the_io_thread_and_each_cpu_worker_has_a_lane():
    plan = make_plan(RunRequest(workload="convoy", strategy="threads", workers=3, size=500,
                                urls=("http://127.0.0.1:1/item/0",)))
    assert plan.workers == 4
    io, *cpu = [lane[0][1] for lane in plan.lanes]
    assert io.url and io.record_to and io.duration_s == 0.5
    assert all(not t.url and t.duration_s == 0.5 for t in cpu)
    alone = make_plan(RunRequest(workload="convoy", workers=0, urls=("http://127.0.0.1:1/item/0",)))
    assert alone.workers == 1  # the I/O thread alone: the baseline


def test_percentile_is_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_sweep_covers_0_1_2_4_as_threads_and_processes_and_two_switch_intervals():
    configs = sweep_configurations(spec("convoy").strategies)
    assert [(s, n) for s, n, i in configs if i is None] == (
        [("threads", n) for n in SWEEP_CPU_WORKERS] + [("processes", n) for n in SWEEP_CPU_WORKERS])
    assert [i for _, _, i in configs if i is not None] == [0.001, 0.05]


def test_a_run_measures_the_io_threads_requests_and_latency(session):
    r = session.run(RunRequest(workload="convoy", strategy="threads", workers=1, size=300))
    assert r.errors == ()
    assert [w.name for w in r.worker_results] == ["thread-0", "thread-1"]
    assert r.worker_results[0].units > 0 and r.worker_results[1].units == 0  # units: the I/O thread's requests
    assert r.io_requests_per_s and r.io_requests_per_s > 0
    assert r.io_latency_p50_ms is not None and r.io_latency_p99_ms is not None
    assert 0 < r.io_latency_p50_ms <= r.io_latency_p99_ms
    assert not [f for f in os.listdir("/dev/shm") if f.startswith("gilviz-convoy-")] if os.path.isdir(
        "/dev/shm") else True


def test_processes_keep_the_io_thread_in_a_process_of_its_own(session):
    r = session.run(RunRequest(workload="convoy", strategy="processes", workers=2, size=300))
    assert r.errors == () and {w.kind for w in r.worker_results} == {"process"}
    assert r.io_requests_per_s and r.io_requests_per_s > 0


def test_gilviz_run_convoy_reports_every_configuration_as_json():
    out = subprocess.run([sys.executable, "-m", "gilviz", "run", "-w", "convoy", "--size", "200", "--json"],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["workload"] == "convoy" and d["io_requests_per_s"] > 0
    assert len(d["convoy"]) == len(sweep_configurations(("threads", "processes")))
    for point in d["convoy"]:
        assert set(point) == {"cpu_workers", "cpu_strategy", "switch_interval_s", "io_requests",
                              "io_requests_per_s", "io_latency_p50_ms", "io_latency_p99_ms"}
        assert point["io_requests_per_s"] > 0


def test_sequential_and_asyncio_are_refused_for_convoy():
    for strategy in ("sequential", "asyncio"):
        out = subprocess.run([sys.executable, "-m", "gilviz", "run", "-w", "convoy", "-s", strategy],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "does not run with --strategy" in out.stderr


def _wchan_names_sleeps() -> bool:
    """The kernel names where a sleeping thread sleeps (some print 0 for all)."""
    import threading

    from gilviz.engine.sampler import SleepProbe

    gate = threading.Event()
    t = threading.Thread(target=gate.wait)
    t.start()
    try:
        probe = SleepProbe(os.getpid(), {0: t.native_id})
        for _ in range(200):
            time.sleep(0.005)
            probe.look()
            if probe.counts(0)[0]:
                return True
        return False
    finally:
        gate.set()
        t.join()


def test_the_sleep_probe_tells_a_futex_from_a_socket():
    """A thread blocked on a lock sleeps in a futex, as one waiting for the
    GIL does; a thread blocked reading a socket does not."""
    import socket
    import threading

    import pytest

    from gilviz.engine.sampler import SleepProbe

    if not os.path.exists(f"/proc/{os.getpid()}/task") or not _wchan_names_sleeps():
        pytest.skip("this kernel does not say where a thread sleeps")
    lock = threading.Lock()
    lock.acquire()
    a, b = socket.socketpair()
    on_lock = threading.Thread(target=lock.acquire)
    on_socket = threading.Thread(target=a.recv, args=(1,))
    on_lock.start()
    on_socket.start()
    try:
        # until both have been found asleep: a thread just started is runnable
        # ("0"), and may wait for this thread's GIL before it reaches its call
        waiting = SleepProbe(os.getpid(), {0: on_lock.native_id, 1: on_socket.native_id})
        deadline = time.monotonic() + 10
        while min(waiting.counts(0)[0], waiting.counts(1)[0]) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
            waiting.look()
        probe = SleepProbe(os.getpid(), {0: on_lock.native_id, 1: on_socket.native_id})
        for _ in range(50):
            time.sleep(0.001)
            probe.look()
        (lock_asleep, lock_futex), (socket_asleep, socket_futex) = probe.counts(0), probe.counts(1)
        assert lock_asleep >= 25 and lock_futex >= 0.9 * lock_asleep
        assert socket_asleep >= 25 and socket_futex <= 0.1 * socket_asleep
    finally:
        lock.release()
        b.send(b"x")
        on_lock.join()
        on_socket.join()
        a.close()
        b.close()


def test_the_io_thread_s_wait_for_the_gil_is_not_counted_as_the_network(session):
    """Beside a counting thread the I/O thread did 154 requests/s, 1,714
    alone; it said WAITING through each request, and its wait for the GIL
    after each answer read as the network ("GIL wait 3%"). The sleep probe
    finds it in a futex; on a GIL build most of its time is waiting for the GIL."""
    import pytest

    from gilviz.engine.sampler import read_schedstat

    if read_schedstat("/proc/self/schedstat") is None or not _wchan_names_sleeps():
        pytest.skip("the kernel gives no schedstat, or does not say where a thread sleeps")
    r = session.run(RunRequest(workload="convoy", strategy="threads", workers=1, size=1000))
    if not r.gil_enabled:
        pytest.skip("no GIL to wait for")
    io = r.worker_results[0]
    assert io.gil_wait_s > io.io_wait_s, io
