"""Every key, through Pilot, against a fake lab that replays fixed Ticks."""

from __future__ import annotations

import gc

import pytest
from rich.cells import cell_len
from textual.widgets import Footer

from gilviz.engine.model import MAX_WORKERS, MIN_WORKERS
from gilviz.ui.app import GilvizApp
from gilviz.ui.screens import HelpScreen
from gilviz.ui.widgets import Explainer, Lanes, Scoreboard

from .conftest import FakeLab, async_test, make_app, settle


def enabled(app: GilvizApp, action: str, *params) -> bool | None:
    return app.stage.check_action(action, params)


@async_test
async def test_enter_starts_a_live_run_that_goes_on_until_x():
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        request = fake.requests[-1]
        assert request.workload == "count" and request.strategy == "threads" and request.live
        assert app.running  # a live run does not end by itself
        lanes = app.query_one(Lanes)
        assert len(lanes.view.lanes) == 4
        text = "".join(seg.text for seg in lanes.render_line(0))
        assert "thread-0" in text and "5000" in text and "%" in text  # its rate against solo
        await pilot.press("x")
        await settle(app, pilot)
        assert not app.running and app.last_result is not None and app.last_result.live
        assert app.query_one(Scoreboard).rows_data == []  # the scoreboard compares fixed work
        assert "Measured:" in str(app.stage.query_one(Explainer).render())


@async_test
async def test_space_runs_too():
    app, fake = make_app()
    async with app.run_test() as pilot:
        await pilot.press("space")
        await settle(app, pilot)
        assert len(fake.requests) == 1


@pytest.mark.parametrize("key, workload", [("c", "count"), ("h", "hash"), ("r", "race"), ("f", "fetch")])
@async_test
async def test_workload_keys(key, workload):
    app, fake = make_app(workload="race" if workload != "race" else "count")
    async with app.run_test() as pilot:
        await pilot.press(key)
        assert app.stage.mode.workload == workload
        assert enabled(app, "workload", workload) is None  # the current one is dimmed
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.requests[-1].workload == workload


@pytest.mark.parametrize("key, strategy", [("s", "sequential"), ("t", "threads"), ("p", "processes")])
@async_test
async def test_strategy_keys(key, strategy):
    app, fake = make_app(strategy="processes" if strategy != "processes" else "threads")
    async with app.run_test() as pilot:
        await pilot.press(key)
        assert app.stage.mode.strategy == strategy
        assert enabled(app, "strategy", strategy) is None


@async_test
async def test_plus_and_minus_change_workers_within_bounds():
    app, fake = make_app(workers=2)
    async with app.run_test() as pilot:
        await pilot.press("plus", "plus", "equals_sign")
        assert app.stage.mode.workers == 5
        await pilot.press(*["minus"] * 10)
        assert app.stage.mode.workers == MIN_WORKERS
        assert enabled(app, "workers", -1) is None
        app.stage.mode = app.stage.mode.__class__(workers=MAX_WORKERS)
        assert enabled(app, "workers", 1) is None


@async_test
async def test_brackets_step_the_switch_interval():
    app, fake = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.stage.switch_interval() == 0.005  # the lab's, until changed
        await pilot.press("right_square_bracket")
        assert app.stage.mode.switch_interval_s == 0.01
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert app.stage.mode.switch_interval_s == 0.1
        await pilot.press("left_square_bracket")
        assert app.stage.mode.switch_interval_s == 0.05
        await pilot.press(*["left_square_bracket"] * 12)
        assert enabled(app, "switch", -1) is None
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.requests[-1].switch_interval_s == 0.0005


@async_test
async def test_lock_only_applies_to_race():
    app, fake = make_app(workload="count")
    async with app.run_test() as pilot:
        assert enabled(app, "lock") is None
        await pilot.press("l")
        assert app.stage.mode.lock is False
        await pilot.press("r", "l")
        assert app.stage.mode.lock is True
        await pilot.press("l")
        assert app.stage.mode.lock is False


@async_test
async def test_stop_cancels_the_run_and_is_dimmed_when_idle():
    fake = FakeLab(hold=True)
    app, _ = make_app(fake)
    async with app.run_test() as pilot:
        assert enabled(app, "stop") is None
        await pilot.press("enter")
        await pilot.pause()
        assert fake.in_run.wait(5)
        assert app.running
        assert enabled(app, "stop") is True
        assert enabled(app, "run") is None and enabled(app, "compare") is None
        await pilot.press("x")
        await settle(app, pilot)
        assert fake.cancelled.is_set()
        assert not app.running
        assert app.query_one(Scoreboard).rows_data == []  # a stopped run is not scored
        assert enabled(app, "run") is True


@async_test
async def test_a_mode_key_during_a_live_run_replaces_its_workers_and_the_lanes_go_on():
    from gilviz.ui.timeline import CellKind

    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("p")  # no Enter: the switch is immediate
        for _ in range(500):
            if len(fake.requests) == 2 and fake.played.is_set():
                break
            await pilot.pause(0.01)
        await settle(app, pilot)
        assert [(r.strategy, r.live) for r in fake.requests] == [("threads", True), ("processes", True)]
        # sent at the key, for the lab to start beside the threads' end
        first, second = [m for m in fake.sent if m.get("op") == "run"]
        assert second.get("after") is True and not first.get("after") and second["id"] != first["id"]
        assert app.running and app.stage.mode.strategy == "processes"
        view = app.live.view(200)
        assert view.switches and view.switches[-1].change == "threads → processes"
        assert view.switches[-1].became == "→ processes"  # the title's short form at 80 columns
        assert view.t_s > view.switches[-1].t_s > 0  # the clock went on
        cells = view.lanes[0].cells
        assert CellKind.SWITCH in [c.kind for c in cells]
        assert cells.index(next(c for c in cells if c.kind == CellKind.SWITCH)) > 0  # history kept
        await pilot.press("x")
        await settle(app, pilot)
        assert not app.running and len(fake.requests) == 2


@async_test
async def test_a_second_switch_before_the_first_began_drops_the_first():
    """p then s at once: the lab had the processes run already; it is
    dropped (its events, with its id, are not the next run's) and the run
    goes on sequential. x then stops it, with no switch left to begin."""
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        fake.stops.clear()  # the threads take their time to stop: s comes before the processes begin
        await pilot.press("p", "s")
        await pilot.pause()
        fake.stops.set()
        for _ in range(500):
            if app.live.view(0).started.request.strategy == "sequential" and fake.played.is_set():
                break
            await pilot.pause(0.01)
        await settle(app, pilot)
        assert [r.strategy for r in fake.requests] == ["threads", "processes", "sequential"]
        view = app.live.view(200)
        assert app.running and view.started.request.strategy == "sequential"
        assert [s.change for s in view.switches] == ["threads → sequential"]  # the dropped run never showed
        assert app.stage.failure is None
        fake.stops.clear()
        await pilot.press("t")
        await pilot.press("x")  # stops the sequential run and drops the threads run sent for t
        await pilot.pause()
        fake.stops.set()
        await settle(app, pilot)
        assert not app.running and app.session._queued is None
        assert [r.strategy for r in fake.requests] == ["threads", "processes", "sequential", "threads"]
        assert app.live.view(0).started.request.strategy == "sequential"


@async_test
async def test_compare_fills_the_scoreboard_with_measured_speedups():
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        rows = app.query_one(Scoreboard).rows_data
        assert [r.result.strategy for r in rows] == ["sequential", "threads", "processes"]
        assert rows[0].speedup == 1.0
        seq, procs = rows[0].result, rows[2].result
        assert rows[2].speedup == pytest.approx(seq.wall_s / procs.wall_s)


@async_test
async def test_speedups_compare_like_with_like():
    """The race's v compares its lock (against the unlocked run, which is not
    the scoreboard's speedup: those rows get none until a sequential run of
    the same work); the plain race's rows are not the read-call-write race's."""
    app, fake = make_app(workload="race")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("k", "v")
        await settle(app, pilot)
        rows = app.query_one(Scoreboard).rows_data
        assert [(r.result.race_style, r.result.lock) for r in rows] == [
            ("call", False), ("call", True), ("plain", False), ("plain", True)]
        assert rows[2].key != rows[0].key and rows[1].key != rows[0].key
        assert [r.speedup for r in rows] == [None] * 4


@async_test
async def test_screenshot_key_saves_an_svg(tmp_path):
    fake = FakeLab()
    app = GilvizApp(session_factory=fake.session, screenshot_dir=str(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        files = list(tmp_path.glob("*.svg"))
        assert len(files) == 1 and files[0].read_text().startswith("<svg")
        assert any(str(files[0]) in str(n.message) for n in app._notifications)


@async_test
async def test_question_mark_opens_help_with_every_key():
    app, fake = make_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


@async_test
async def test_q_quits_and_closes_the_session():
    fake = FakeLab(hold=True)
    app, _ = make_app(fake)
    async with app.run_test() as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert fake.in_run.wait(5)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert fake.cancelled.is_set() and fake.closed


@async_test
async def test_every_binding_is_in_the_footer_with_a_description():
    app, fake = make_app()
    async with app.run_test(size=(200, 30)):
        footer = app.query_one(Footer)
        assert footer is not None
        for binding in app.stage.BINDINGS:
            assert binding.description
        shown = {b.action for (_, b, _, _) in app.screen.active_bindings.values()}
        assert {"run", "stop", "compare", "lock", "help", "app.quit", "save_svg"} <= shown


@async_test
async def test_every_action_is_in_the_command_palette():
    app, fake = make_app(workload="race")
    async with app.run_test():
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert {"Run", "Compare", "Workload: fetch", "Strategy: procs", "Workers: +1", "Switch: ×2",
                "Lock", "+=1", "SVG", "Help", "Quit"} <= set(commands)
        assert "Workload: race" not in commands  # it is the current one
        assert "Trace" not in commands  # nothing to export yet: dimmed keys are left out
        assert commands["Lock"] == "Race: take a lock around read and write, or not"  # the binding's tooltip


@async_test
async def test_a_failed_lab_shows_a_message_and_the_app_stays_usable():
    fake = FakeLab(fail="the lab process died (exit code -9)")
    app, _ = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        assert "died" in (app.stage.failure or "")
        assert enabled(app, "run") is True
        fake.fail = None
        await pilot.press("v")
        await settle(app, pilot)
        assert app.stage.failure is None
        assert len(app.query_one(Scoreboard).rows_data) == 3


@async_test
async def test_a_worker_error_is_shown_and_scored():
    fake = FakeLab(worker_error="connection failed: Connection refused")
    app, _ = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        assert "Connection refused" in app.stage.failure
        row = app.query_one(Scoreboard).rows_data[0]
        assert row.result.errors


@pytest.mark.parametrize("size", [(80, 24), (200, 60), (60, 20)])
@async_test
async def test_resizing_during_a_run(size):
    fake = FakeLab(hold=True, ticks=40)
    app, _ = make_app(fake, workers=16)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert fake.in_run.wait(5)
        await pilot.resize_terminal(*size)
        await pilot.pause()
        app.draw(force=True)
        await pilot.pause()
        lanes = app.query_one(Lanes)
        cols = lanes.columns
        assert lanes.size.width > 0
        for y in range(lanes.size.height):
            line = lanes.render_line(y)  # the length it says, and the cells its text takes
            assert line.cell_length == cell_len(line.text) == lanes.size.width
        assert all(len(l.cells) <= max(cols.timeline_w, 0) for l in lanes.view.lanes)
        await pilot.press("x")
        await settle(app, pilot)
        assert not app.running and app.last_result is not None


@async_test
async def test_a_default_worker_count_follows_the_workload():
    """f after count: one thread per URL (6), so the waits overlap in one
    latency; a count chosen by the speaker stays as it is."""
    from gilviz.engine.model import RunRequest
    from gilviz.ui.app import GilvizApp
    from tests.ui.conftest import FakeLab

    app = GilvizApp(RunRequest(workload="count", workers=4), session_factory=FakeLab().session)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        assert app.stage.mode.workers == 6
        await pilot.press("c")
        assert app.stage.mode.workers == 4
        await pilot.press("plus", "f")
        assert app.stage.mode.workers == 5


@async_test
async def test_k_switches_the_race_between_plain_and_read_call_write():
    app, fake = make_app(workload="count")
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.stage.check_action("race_style", ()) is None  # dimmed outside the race
        await pilot.press("k")
        assert app.stage.mode.race_style == "call"
        await pilot.press("r", "k")
        assert app.stage.mode.race_style == "plain"
        assert "counter += 1" in str(app.stage.query_one(Explainer).render())
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.requests[-1].race_style == "plain"
        await pilot.press("k")
        assert app.stage.mode.race_style == "call"


@async_test
async def test_e_exports_the_last_run_as_a_chrome_trace(tmp_path):
    import json

    fake = FakeLab()
    app = GilvizApp(session_factory=fake.session, screenshot_dir=str(tmp_path))
    app.test_lab = fake
    async with app.run_test() as pilot:
        assert app.stage.check_action("export_trace", ()) is None  # nothing to export yet
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("x")  # a live run is exported once stopped
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.press("e")  # a second export is a second file, never an overwrite
        await pilot.pause()
        files = sorted(tmp_path.glob("gilviz-*.json"))
        assert len(files) == 2
        doc = json.loads(files[0].read_text())
        assert any(e["ph"] == "X" for e in doc["traceEvents"])
        assert any(str(files[0]) in str(n.message) for n in app._notifications)


@async_test
async def test_a_tiny_terminal_gets_a_message_not_a_jumble():
    app, fake = make_app()
    async with app.run_test(size=(20, 10)) as pilot:
        await pilot.pause()
        too_small = app.query_one("#too-small")
        assert too_small.display and too_small.region.height > 0
        assert not app.stage.query_one(Lanes).display or app.stage.query_one(Lanes).region.height == 0
        await pilot.press("v")  # keys still work
        await settle(app, pilot)
        assert len(app.query_one(Scoreboard).rows_data) == 3
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert app.stage.query_one(Lanes).region.height > 0
        assert app.query_one("#too-small").region.height == 0


@async_test
async def test_scrolling_the_lanes_draws_the_timelines_that_come_into_view():
    app, fake = make_app(workers=40)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        lanes = app.stage.query_one(Lanes)
        rows = len(lanes.visible_lanes())
        assert 0 < rows < 40
        assert lanes.view.lanes[0].cells and not lanes.view.lanes[39].cells  # off screen: not copied
        from textual.events import MouseScrollDown

        for _ in range(40):  # the mouse wheel, as the terminal reports it
            lanes.post_message(MouseScrollDown(lanes, 5, 5, 0, 0, 0, False, False, False))
        await pilot.pause()
        await pilot.pause()
        assert lanes.scroll_offset.y == 40 - rows
        assert lanes.view.lanes[39].cells  # now on screen, with its history


@async_test
async def test_a_theme_switch_recolours_what_is_already_drawn():
    """Colours come from the theme: after a switch (the palette's theme picker)
    no colour of the default theme is left on screen."""
    app, fake = make_app(workload="race")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        app.theme = "textual-light"
        for _ in range(3):
            await pilot.pause()
        svg = app.export_screenshot().lower()
        for colour in ("#0c0c10", "#1c1c28", "#3ddc84", "#ff4a4a", "#ffd23f"):
            assert colour not in svg


@async_test
async def test_one_core_during_a_live_run_is_one_more_switch():
    """1 pins the lab to core 0: a new lab, the live run goes on with a marker
    that says so; 1 again gives every core back."""
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        first = app.session
        await pilot.press("1")
        for _ in range(500):
            if len(fake.requests) == 2 and fake.played.is_set():
                break
            await pilot.pause(0.01)
        await settle(app, pilot)
        assert app.lab_settings.cpus == (0,) and app.session is not first
        assert app.running and "core 0 only" in app.live.view(0).switches[-1][1]
        assert "core 0 only" in str(app.stage.status())
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("1")  # idle: the lab is replaced at once
        await pilot.pause()
        assert app.lab_settings.cpus is None


@async_test
async def test_the_python_and_gil_keys_are_dimmed_where_they_cannot_apply():
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        # a scripted lab runs on no other Python, and the one it runs has a GIL only
        assert app.stage.check_action("next_python", ()) is None
        assert app.stage.check_action("toggle_gil", ()) is None
        await pilot.press("i", "g")
        assert app.lab_settings.python is None and app.lab_settings.gil is None


@async_test
async def test_what_starts_the_app_is_left_out_of_later_collections_until_it_exits():
    """A full garbage collection walks every object there is: with the app's
    own (modules, styles, widgets) it paused a live run of 256 lanes for up
    to a second every few seconds. They are frozen after the first frame,
    and given back when the app ends (a process may run another app)."""
    gc.unfreeze()
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.2)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000
    assert gc.get_freeze_count() == 0
