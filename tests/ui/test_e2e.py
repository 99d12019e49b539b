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


@async_test
async def test_a_real_count_run_draws_lanes_and_scores_and_quitting_leaves_no_child():
    before = descendants()
    request = RunRequest(workload="count", strategy="threads", workers=3, size=2_000_000)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        assert app.lab.cpu_count >= 1
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        lanes = app.query_one(Lanes)
        assert [lane.identity.name for lane in lanes.view.lanes] == ["thread-0", "thread-1", "thread-2"]
        assert all(lane.identity.os_id > 0 for lane in lanes.view.lanes)
        assert all(lane.cells for lane in lanes.view.lanes)
        row = app.query_one(Scoreboard).rows_data[0].result
        assert row.units == 2_000_000 and not row.errors
        started = descendants() - before
        assert started  # the lab
        await pilot.press("q")
    assert app.return_code == 0
    assert not alive(started)


@async_test
async def test_a_real_fetch_run_on_the_embedded_server():
    request = RunRequest(workload="fetch", strategy="threads", workers=6, size=10_000, latency_s=0.2)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        result = app.query_one(Scoreboard).rows_data[0].result
        assert result.errors == ()
        assert result.units == 6 * 10_000
        await pilot.press("q")


@async_test
async def test_quitting_during_a_process_run_leaves_no_child_process():
    before = descendants()
    request = RunRequest(workload="count", strategy="processes", workers=2, size=2_000_000_000)
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
async def test_stop_then_a_new_mode_runs_cleanly():
    request = RunRequest(workload="count", strategy="threads", workers=2, size=2_000_000_000)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.live.view(0).t_s is not None)
        await pilot.press("r")  # changing the mode stops the run first
        assert app.stage.mode.workload == "race"
        await until(pilot, lambda: not app.running)
        assert app.query_one(Scoreboard).rows_data == []  # the stopped run is not scored
        app.stage.mode = RunRequest(workload="race", strategy="threads", workers=2, size=20_000)
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        assert app.query_one(Scoreboard).rows_data[0].result.workload == "race"
        await pilot.press("q")


@pytest.mark.parametrize("strategy", ["threads", "processes"])
@async_test
async def test_256_workers_in_the_app_with_keys_still_answering(strategy):
    """Scale: 256 lanes of real workers; the help key works mid-run, the lanes
    scroll, the run completes and quitting leaves nothing behind."""
    from gilviz.ui.screens import HelpScreen

    before = descendants()
    request = RunRequest(workload="count", strategy=strategy, workers=256, size=256 * 400_000)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.stage.query_one(Lanes).view is not None and len(app.stage.query_one(Lanes).view.lanes) == 256)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), 30)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), 30)
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        result = app.query_one(Scoreboard).rows_data[0].result
        assert result.errors == () and result.units == 256 * 400_000
        await pilot.press("q")
    app.close_session()
    assert alive(descendants() - before) == set()


@async_test
async def test_the_lab_killed_mid_run_shows_why_and_the_next_run_works():
    request = RunRequest(workload="count", strategy="processes", workers=2, size=10**10)
    app = GilvizApp(request, session_factory=Session)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None)
        await pilot.press("enter")
        await until(pilot, lambda: app.running and app.stage.query_one(Lanes).view is not None)
        psutil.Process(app.session.lab.pid).kill()
        await until(pilot, lambda: not app.running, 30)
        assert "SIGKILL" in str(app.stage.status())
        assert any("SIGKILL" in str(n.message) for n in app._notifications)
        app.stage.mode = RunRequest(workload="count", strategy="threads", workers=2, size=500_000)
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        assert app.query_one(Scoreboard).rows_data[0].result.units == 500_000
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
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 1 and not app.running)
        lanes = app.query_one(Lanes)
        assert [lane.identity.name for lane in lanes.view.lanes] == ["thread-0", "thread-1", "thread-2"]
        assert app.last_result.io_requests_per_s > 0
        await pilot.press("f", "a")
        assert stage.mode.strategy == "asyncio"
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query_one(Scoreboard).rows_data) == 2 and not app.running)
        assert {lane.identity.kind for lane in lanes.view.lanes} == {"task"}
        await pilot.press("c")
        assert stage.mode.strategy == "threads"  # asyncio does not apply to count: back to threads
