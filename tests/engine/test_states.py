"""The four states (running, waiting for a core, for the GIL, for the network),
measured from the kernel's schedstat on real threads and processes.

Assertions are loose enough for a busy 2-core machine, and can still fail:
two pure-Python threads must spend a clear share of their time blocked with
work to do; processes and fetching threads must not."""

from __future__ import annotations

import os

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
    # ~0.5 on an idle machine: one thread runs while the other waits for the
    # GIL (on a loaded machine part of that turns into waiting for a core)
    assert threads.gil_wait_share > 0.15
    # processes share no GIL: what they wait for is a core
    assert processes.gil_wait_share < 0.12
    assert threads.gil_wait_share > processes.gil_wait_share + 0.1


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


def test_more_processes_than_cores_wait_for_a_core_not_the_gil(session):
    cores = os.cpu_count() or 2
    result = session.run(RunRequest(workload="count", strategy="processes", workers=2 * cores, size=COUNT))
    worker_sums_cover_their_wall_time(result)
    core_wait = sum(w.core_wait_s for w in result.worker_results)
    gil_wait = sum(w.gil_wait_s for w in result.worker_results)
    wall = sum(w.wall_s for w in result.worker_results)
    assert core_wait > 0.2 * wall and core_wait > 1.5 * gil_wait, (core_wait, gil_wait, wall)


def test_the_baton_at_100_ms_shows_in_the_lanes(session):
    """Two counting threads at a 100 ms switch interval, fed to the lanes'
    model as the app feeds it: each lane has periods running (work done, in
    the running colour) and periods waiting for the GIL with no work at all."""
    from gilviz.ui.timeline import CellKind, LiveRun

    live = LiveRun()
    session.run(RunRequest(workload="count", strategy="threads", workers=2, size=60_000_000, switch_interval_s=0.1),
                on_started=live.start, on_tick=live.feed)
    for lane in live.view(200).lanes:
        states = [c.state for c in lane.cells]
        # periods spent mostly running, and mostly waiting for the GIL (with
        # no work at all, or a little: the baton's phase drifts against the
        # sampler's periods)
        assert "running" in states and "gil_wait" in states, states
        assert any(c.kind == CellKind.WORK for c in lane.cells)
