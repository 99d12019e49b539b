"""The four states (running, waiting for a core, for the GIL, for the network),
measured from the kernel's schedstat on real threads and processes.

Assertions are loose enough for a busy 2-core machine, and can still fail:
two pure-Python threads must spend a clear share of their time blocked with
work to do; processes and fetching threads must not."""

from __future__ import annotations

import pytest

from gilviz.engine.model import RunRequest
from gilviz.engine.sampler import read_schedstat

pytestmark = pytest.mark.skipif(read_schedstat("/proc/self/schedstat") is None,
                                reason="this kernel keeps no schedstat: the states are not measured")

# long enough for several 100 ms periods on a fast machine
COUNT = 12_000_000


def worker_sums_cover_their_wall_time(result) -> None:
    for w in result.worker_results:
        total = w.running_s + w.core_wait_s + w.gil_wait_s + w.io_wait_s
        assert total == pytest.approx(w.wall_s, rel=0.10, abs=0.02), (w.name, total, w.wall_s)
        assert w.wall_s <= result.wall_s + 1e-6


def test_two_threads_wait_for_the_gil_two_processes_do_not(session):
    threads = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=COUNT))
    processes = session.run(RunRequest(workload="count", strategy="processes", workers=2, size=COUNT))
    assert threads.states_measured and processes.states_measured
    worker_sums_cover_their_wall_time(threads)
    worker_sums_cover_their_wall_time(processes)
    # ~0.5 on an idle machine: one thread runs while the other waits for the GIL
    assert threads.gil_wait_share > 0.2
    # processes share no GIL: what they wait for is a core
    assert processes.gil_wait_share < 0.1
    assert threads.gil_wait_share > processes.gil_wait_share + 0.15


def test_a_sequential_worker_never_waits_for_the_gil(session):
    result = session.run(RunRequest(workload="count", strategy="sequential", workers=2, size=COUNT // 2))
    worker_sums_cover_their_wall_time(result)
    assert result.gil_wait_share < 0.1


def test_a_fetching_thread_waits_for_the_network_not_the_gil(session):
    result = session.run(RunRequest(workload="fetch", strategy="threads", workers=3, latency_s=0.4, size=2000))
    assert result.states_measured and not result.errors
    worker_sums_cover_their_wall_time(result)
    for w in result.worker_results:
        assert w.io_wait_s > 0.6 * w.wall_s, w
        assert w.gil_wait_s < 0.1 * w.wall_s, w
    assert result.gil_wait_share < 0.1


def test_the_json_gives_every_worker_its_four_states(session):
    d = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=COUNT // 4)).to_dict()
    assert d["states_measured"] is True and 0 <= d["gil_wait_share"] <= 1
    for w in d["worker_results"]:
        assert {"wall_s", "running_s", "core_wait_s", "gil_wait_s", "io_wait_s"} <= set(w)
