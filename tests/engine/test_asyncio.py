"""The asyncio strategy on the real lab and the embedded loopback server
(127.0.0.1 only): one thread, one event loop, every request in flight at once."""

from __future__ import annotations

import pytest

from gilviz.engine.model import ALL_STRATEGIES, STRATEGIES, RunRequest
from gilviz.engine.plan import make_plan
from gilviz.engine.workloads import WORKLOADS, spec

LATENCY_S = 0.3


def fault_url(session, kind: str) -> str:
    return f"http://127.0.0.1:{session.server.ensure()}/fault/{kind}"


def test_six_urls_take_about_one_latency_on_one_thread(session):
    r = session.run(RunRequest(workload="fetch", strategy="asyncio", workers=6, latency_s=LATENCY_S, size=4096))
    assert r.errors == ()
    assert r.wall_s < 3 * LATENCY_S  # one after another would be 6 latencies
    assert [w.name for w in r.worker_results] == [f"task-{i}" for i in range(6)]
    assert {w.kind for w in r.worker_results} == {"task"}
    assert len({w.os_id for w in r.worker_results}) == 1  # every lane is a task on the loop's thread
    assert all(w.units == 4096 and w.state == "done" for w in r.worker_results)
    # one thread's CPU time, shared among its tasks: they add up to no more than the lab's
    assert sum(w.cpu_s for w in r.worker_results) <= r.cpu_s + 0.01
    if r.states_measured:  # the loop thread's time shared: the tasks mostly wait for the network
        for w in r.worker_results:
            assert w.io_wait_s > w.running_s and w.gil_wait_s < 0.05


def test_lanes_are_tasks_whatever_the_worker_count():
    request = RunRequest(workload="fetch", strategy="asyncio", workers=2, urls=tuple(f"http://h/{i}" for i in range(5)))
    plan = make_plan(request)
    assert plan.workers == 5 and all(len(lane) == 1 for lane in plan.lanes)


def test_errors_are_reported_per_task(session):
    ok = f"http://127.0.0.1:{session.server.ensure()}/item/0?latency=0&size=100"
    urls = (ok, fault_url(session, "status/500"), fault_url(session, "redirect"), fault_url(session, "hang"))
    r = session.run(RunRequest(workload="fetch", strategy="asyncio", workers=4, urls=urls, timeout_s=1.0))
    states = [w.state for w in r.worker_results]
    assert states == ["done", "error", "error", "error"]
    assert "HTTP 500" in r.worker_results[1].errors[0]
    assert "too many redirects" in r.worker_results[2].errors[0]
    assert "within 1 s" in r.worker_results[3].errors[0]
    assert r.worker_results[0].units == 100


def test_only_io_workloads_take_asyncio():
    for w in WORKLOADS.values():
        if w.async_runner is not None:
            assert w.strategies == ALL_STRATEGIES and w.refusal("asyncio") is None
        else:
            assert "asyncio" not in w.strategies
            assert "never await" in (w.refusal("asyncio") or "")
    assert spec("count").strategies == STRATEGIES


@pytest.mark.parametrize("workload", ["fetch"])
def test_compare_runs_asyncio_last_for_fetch(session, workload):
    results = session.compare(RunRequest(workload=workload, workers=3, latency_s=LATENCY_S, size=1000))
    assert [r.strategy for r in results] == ["sequential", "threads", "processes", "asyncio"]
    assert results[-1].speedup is not None and results[-1].speedup > 1.5


def test_a_lab_without_aiohttp_says_what_to_install(monkeypatch):
    import sys

    from gilviz.engine import strategies

    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp now fails
    with pytest.raises(strategies.MissingPackage) as err:
        strategies._warm_up_async("fetch")
    assert "'aiohttp'" in str(err.value) and f"{sys.executable} -m pip install aiohttp" in str(err.value)


def test_a_cancel_reaches_tasks_blocked_in_a_request(session):
    import threading
    import time

    urls = (fault_url(session, "hang"),) * 3
    timer = threading.Timer(0.5, session.cancel)
    t = time.monotonic()
    timer.start()
    r = session.run(RunRequest(workload="fetch", strategy="asyncio", workers=3, urls=urls, timeout_s=30.0))
    assert time.monotonic() - t < 5  # not the 30 s timeout: the loop cancels its tasks
    assert r.cancelled and {w.state for w in r.worker_results} == {"cancelled"}
