"""End to end: the app drives the real lab for small runs.

Small sizes, and every wait polls the app's state with a generous limit, so
they pass on a busy two-core machine; nothing here measures speed.
"""

from __future__ import annotations

import psutil
import pytest

from gilviz.engine.model import RunRequest
from gilviz.engine.session import Session
from gilviz.ui.app import GilvizApp
from gilviz.ui.widgets import Lanes, Scoreboard

from .conftest import async_test

pytestmark = pytest.mark.e2e

LIMIT_S = 120.0


async def until(pilot, condition, limit_s: float = LIMIT_S) -> None:
    steps = int(limit_s / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app did not get there in time")


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def ticking(app) -> bool:
    """A live run is going and its lanes have drawn a few periods."""
    view = app.live.view(5)
    return app.running and view.t_s is not None and view.t_s > 0.3 and all(lane.cells for lane in view.lanes)


@async_test
async def test_a_real_live_run_then_a_compare_and_quitting_leaves_no_child():
    before = descendants()
    request = RunRequest(workload="count", strategy="threads", workers=3)
    app = GilvizApp(request, session_factory=Session, seconds=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        assert app.lab.cpu_count >= 1
        await pilot.press("enter")
        await until(pilot, lambda: ticking(app))
        lanes = app.query_one(Lanes)
        assert [lane.identity.name for lane in lanes.view.lanes] == ["thread-0", "thread-1", "thread-2"]
        assert all(lane.identity.os_id > 0 for lane in lanes.view.lanes)
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        live = app.last_result
        assert live is not None and live.live and live.units > 0 and not live.errors
        assert app.query_one(Scoreboard).rows_data == []  # live runs are not scored
        await pilot.press("v")  # fixed work, sized by time
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 3 and not app.running)
        rows = [r.result for r in app.query_one(Scoreboard).rows_data]
        assert len({r.units for r in rows}) == 1 and not any(r.errors for r in rows)
        started = descendants() - before
        assert started  # the lab
        await pilot.press("q")
    assert app.return_code == 0
    assert not alive(started)


@async_test
async def test_a_real_live_fetch_on_the_embedded_server():
    request = RunRequest(workload="fetch", strategy="threads", workers=6, size=10_000, latency_s=0.2)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.live.view(0).t_s is not None and app.live.view(0).t_s > 0.6)
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        result = app.last_result
        assert result is not None and result.errors == ()
        assert result.units >= 6 * 10_000  # every URL at least once, again and again
        await pilot.press("q")


@async_test
async def test_quitting_during_a_process_run_leaves_no_child_process():
    before = descendants()
    request = RunRequest(workload="count", strategy="processes", workers=2)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.live.view(0).t_s is not None)
        started = descendants() - before
        assert len(started) >= 3  # the lab and two worker processes
        await pilot.press("q")
    app.close_session()
    for _ in range(100):
        if not alive(started):
            break
        psutil.wait_procs([psutil.Process(p) for p in alive(started)], timeout=0.1)
    assert not alive(started)


@async_test
async def test_a_live_run_switched_from_threads_to_processes_and_back():
    """p during a threads count replaces the threads by processes without
    Enter: the second core fills; t brings the threads back; no worker
    process is left behind."""
    before = descendants()
    request = RunRequest(workload="count", strategy="threads", workers=2)
    app = GilvizApp(request, session_factory=Session)

    def running(strategy: str) -> bool:
        view = app.live.view(0)
        return (app.running and view.started is not None and view.started.request.strategy == strategy
                and view.t_s is not None and view.t_s > view.switches[-1][0] + 0.5 if view.switches else False)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: ticking(app))
        threads_cores = sorted(app.live.view(0).cores_used[-5:])[2]
        await pilot.press("p")
        await until(pilot, lambda: running("processes"))
        view = app.live.view(0)
        assert [lane.identity.kind for lane in view.lanes] == ["process", "process"]
        assert "threads → processes" in view.switches[-1][1]
        used, percent = view.cores_used[-5:], [sum(p[-5:][i] for p in view.cores_percent) / 100 for i in range(5)]
        processes_cores = max(used)
        # other programs' load while the processes ran: a second core they
        # keep busy cannot be filled, and then there is nothing to see
        others = min(max(0.0, total - ours) for total, ours in zip(percent, used))
        if (app.lab.cpu_count or 1) >= 2 and others < 0.5:
            assert processes_cores > threads_cores + 0.3, (threads_cores, processes_cores, others)
        await pilot.press("t")
        await until(pilot, lambda: running("threads"))
        assert [lane.identity.kind for lane in app.live.view(0).lanes] == ["thread", "thread"]
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        workers = [p for p in alive(descendants() - before) if "forkserver" not in " ".join(psutil.Process(p).cmdline())]
        assert len(workers) <= 2  # the lab (and its server), no worker process
        await pilot.press("q")
    app.close_session()
    assert alive(descendants() - before) == set()


@pytest.mark.parametrize("strategy", ["threads", "processes"])
@async_test
async def test_256_workers_in_the_app_with_keys_still_answering(strategy):
    """Scale: 256 lanes of real workers; the help key works mid-run, the lanes
    scroll, the run stops and quitting leaves nothing behind."""
    from gilviz.ui.screens import HelpScreen

    before = descendants()
    request = RunRequest(workload="count", strategy=strategy, workers=256)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.stage.query_one(Lanes).view is not None
                    and len(app.stage.query_one(Lanes).view.lanes) == 256)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), 30)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), 30)
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        result = app.last_result
        assert result is not None and result.errors == () and result.units > 0
        await pilot.press("q")
    app.close_session()
    assert alive(descendants() - before) == set()


@async_test
async def test_the_lab_killed_mid_run_shows_why_and_the_next_run_works():
    request = RunRequest(workload="count", strategy="processes", workers=2)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.stage.query_one(Lanes).view is not None)
        psutil.Process(app.session.lab.pid).kill()
        await until(pilot, lambda: not app.running, 30)
        assert "SIGKILL" in str(app.stage.status())
        assert any("SIGKILL" in str(n.message) for n in app._notifications)
        app.stage.mode = RunRequest(workload="count", strategy="threads", workers=2)
        killed_run = app.live.view(0).started
        await pilot.press("enter")
        await until(pilot, lambda: app.live.view(0).started is not killed_run and ticking(app))
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        assert app.last_result is not None and app.last_result.units > 0
        await pilot.press("q")
    app.close_session()


@async_test
async def test_convoy_and_asyncio_run_in_the_app():
    """convoy runs one configuration (its I/O thread beside the chosen CPU
    workers); fetch takes the asyncio key, count dims it."""
    request = RunRequest(workload="count", strategy="threads", workers=2, size=300)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        stage = app.screen
        assert stage.check_action("strategy", ("asyncio",)) is None  # dimmed for CPU work
        await pilot.press("o")
        await pilot.press("enter")  # a live run, stopped with x
        # the I/O thread reports its latencies at the end of each 300 ms round
        await until(pilot, lambda: ticking(app) and app.live.view(0).t_s > 1.0)
        lanes = app.query_one(Lanes)
        assert [lane.identity.name for lane in lanes.view.lanes] == ["thread-0", "thread-1", "thread-2"]
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        assert app.last_result.io_requests_per_s > 0
        await pilot.press("f", "a")
        assert stage.mode.strategy == "asyncio"
        await pilot.press("enter")
        await until(pilot, lambda: ticking(app) and {lane.identity.kind for lane in app.live.view(0).lanes} == {"task"})
        assert len(app.live.view(0).lanes) == 6  # a lane per URL, one thread
        await pilot.press("x")
        await until(pilot, lambda: not app.running)
        await pilot.press("c")
        assert stage.mode.strategy == "threads"  # asyncio does not apply to count: back to threads
