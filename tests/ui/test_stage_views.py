"""The stage's views and options: theme, presenter view, footer at every width, scoreboard keys."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace

import pytest
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Digits, Footer, Static
from textual.widgets._footer import FooterKey

from gilviz.engine.model import RunRequest, RunResult, WorkerIdentity
from gilviz.engine.workloads import NAMES, spec
from gilviz.export.text import amount, human
from gilviz.ui.app import GilvizApp
from gilviz.ui.timeline import LaneView, RunView, Switch
from gilviz.ui.widgets import CoreMeters, Explainer, Lanes, Legend, Presenter, Scoreboard
from gilviz.ui.widgets._explainer import explanation, fit_sentences
from gilviz.ui.widgets._lanes import timeline_title
from gilviz.ui.widgets._presenter import Figure, FigureBox, figures
from gilviz.ui.widgets._scoreboard import row_labels

from .conftest import SOLO, FakeLab, async_test, make_app, settle


@async_test
async def test_the_theme_option_chooses_the_theme_at_start():
    lab = FakeLab()
    app = GilvizApp(RunRequest(), session_factory=lab.session, theme="textual-light")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "textual-light"
        assert not app.current_theme.dark
    default = GilvizApp(RunRequest(), session_factory=FakeLab().session)
    async with default.run_test() as pilot:
        assert default.theme == "gilviz"


# -- the presenter view ---------------------------------------------------------


def _figures(app: GilvizApp) -> list[tuple[str, str]]:
    return [(box.query_one(Digits).value, str(box.query_one(Static).content))
            for box in app.query(FigureBox) if box.display]


@async_test
async def test_z_toggles_the_presenter_view_with_big_figures_of_the_last_run():
    app, fake = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("x")  # a live run has its result once stopped
        await settle(app, pilot)
        assert not app.query_one(Presenter).display
        await pilot.press("z")
        await settle(app, pilot)
        assert app.stage.presenter and app.screen.has_class("-presenter")
        assert app.query_one(Presenter).display
        assert not app.query_one(CoreMeters).display and not app.query_one(Scoreboard).display
        result = app.last_result
        assert result is not None and result.gil_wait_share is not None
        assert _figures(app) == [
            (f"{result.cores_used:.2f}", "cores used of 4 cores"),
            (f"{result.wall_s:.2f}", "seconds wall time"),
            (f"{result.gil_wait_share:.0%}", "waiting for the GIL"),
        ]
        # the lanes give the os-id and task columns to the timeline
        lanes = app.query_one(Lanes)
        assert not lanes.columns.os_id and lanes.columns.task_w == 0
        row = "".join(seg.text for seg in lanes.render_line(0))
        assert "thread-0" in row and "5000" not in row
        await pilot.press("z")
        await settle(app, pilot)
        assert not app.stage.presenter and not app.query_one(Presenter).display
        assert app.query_one(CoreMeters).display and lanes.columns.os_id


@pytest.mark.parametrize("strategy, gil, workload, lock, meaning", [
    ("threads", False, "count", False, "blocked with work to do"),  # free-threaded: no GIL at all
    ("processes", True, "count", False, "blocked with work to do"),  # each process its own
    ("processes", True, "race", True, "waiting for the lock"),
])
@async_test
async def test_nothing_on_screen_waits_for_a_gil_that_is_not_between_the_workers(strategy, gil, workload, lock,
                                                                                   meaning):
    """On a free-threaded build the CPU panel read "GIL wait 0%", the
    legend "waiting for the GIL": the share measured is of time blocked with
    work to do, and there is no GIL to wait for. Four processes' race behind
    a lock read "GIL wait 12%", and "waiting for the GIL or the lock": each
    process has its own interpreter, and what they wait for is the lock."""
    app, fake = make_app(FakeLab(hold=True), workload=workload, strategy=strategy, lock=lock)
    fake.info_ = replace(fake.info_, python="3.13.5" if not gil else fake.info_.python, gil_enabled=gil)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        for _ in range(4000):
            if fake.in_run.is_set() and app.live.view(0).t_s is not None:
                break
            await pilot.pause()
        await asyncio.to_thread(lambda: time.sleep(0.3))
        app.draw(force=True)
        await pilot.pause()
        meters, legend = app.query_one(CoreMeters), app.query_one(Legend)
        panel = ["".join(seg.text for seg in meters.render_line(y)).strip() for y in range(meters.size.height)]
        assert any(row.startswith("blocked ") for row in panel), panel
        shown = panel + ["".join(seg.text for seg in legend.render_line(y)) for y in range(legend.size.height)]
        assert any(meaning in row for row in shown), shown
        assert not any("GIL" in row for row in shown), shown
        if workload == "count":  # the race's presenter shows its counts instead
            await pilot.press("z")
            app.draw(force=True)
            await pilot.pause()
            assert _figures(app)[2][1] == "blocked with work to do, now"
        await pilot.press("x")
        await settle(app, pilot)
        if workload == "count":
            assert _figures(app)[2][1] == "blocked with work to do"


@async_test
async def test_the_presenter_view_counts_live_during_a_run():
    app, fake = make_app(FakeLab(hold=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("z", "enter")
        while not fake.in_run.is_set() or app.live.view(0).t_s is None:
            await pilot.pause()
        await asyncio.to_thread(lambda: time.sleep(0.3))  # a few scripted ticks
        app.draw(force=True)
        await pilot.pause()
        # the scripted ticks are played out faster than the screen draws: the
        # clock is live, the shares are those of the last samples ("-" if none)
        (_, cores_caption), (t, t_caption), (_, gil_caption) = _figures(app)
        # a live run's clock in whole seconds, as the lanes' header counts it
        assert t_caption == "seconds so far" and t.isdigit() and int(t) > 0
        assert (cores_caption, gil_caption) == ("cores used of 4 cores", "waiting for the GIL, now")
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_presenter_view_of_the_race_shows_counted_and_lost():
    app, fake = make_app(workload="race")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("z")
        await settle(app, pilot)
        r = app.last_result
        assert r is not None and r.lost
        from gilviz.ui.widgets._presenter import count

        assert _figures(app)[2:] == [(count(r.actual), f"counted, of {count(r.expected)}"),
                                     (count(r.lost), "updates lost")]
        assert app.query(FigureBox)[3].has_class("-bad")
        for box in app.query(FigureBox):  # every number has its room: none touches the next
            assert box.query_one(Digits).region.width >= len(box.query_one(Digits).value) * 3 - 2


def test_the_figures_now_are_of_this_run_s_last_ticks():
    """The GIL wait and cores used "now" are the means of the run's last
    ticks, as LiveRun measured them; the cores-used history is the machine's
    and reaches back into the last run, which must not count."""
    def view(cores_used, throughput, gil_wait):
        return RunView(None, (), 1.0, 0.1, cores_used, (), True, True, throughput, gil_wait)

    two_ticks = view((1.9, 1.9, 1.9, 1.0, 0.8), (5.0, 5.0), (0.5, 0.7))
    assert two_ticks.recent_gil_wait() == pytest.approx(0.6)
    assert two_ticks.recent_cores_used() == pytest.approx(0.9)  # not the last run's 1.9s
    many = view(tuple(float(i) for i in range(10)), (1.0,) * 10, (0.1,) * 10)
    assert many.recent_cores_used() == pytest.approx(7.0)  # the last five: 5..9
    assert view((1.0,), (), ()).recent_cores_used() is None and view((), (), ()).recent_gil_wait() is None
    assert figures("count", 4, two_ticks, None, recent_gil=0.75, recent_cores=1.234) == [
        Figure("1.23", "cores used of 4 cores"), Figure("1.0", "seconds so far"),
        Figure("75%", "waiting for the GIL, now")]


# -- every size: the footer, the lanes' header, the help -------------------------


def _footer_actions(app: GilvizApp) -> set[str]:
    return {key.action for key in app.query(FooterKey)}


@pytest.mark.parametrize("width", [80, 100, 160])
@async_test
async def test_the_footer_keeps_run_stop_help_and_quit_at_every_width(width):
    app, fake = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        shown = _footer_actions(app)
        assert {"run", "stop", "help", "app.quit"} <= shown
        footer = app.query_one(Footer)
        right = max(k.region.right for k in app.query(FooterKey) if not k.has_class("-command-palette"))
        assert right <= footer.region.right - (13 if width >= 120 else 0)  # nothing cut
        if width >= 160:
            assert {"export_trace", "save_svg", "presenter"} <= shown
        else:
            assert "save_svg" not in shown  # in help and the palette only
        assert app.stage.check_action("save_svg", ()) is True  # and its key still works


@async_test
async def test_the_race_keys_come_before_the_rest_at_80_columns():
    app, fake = make_app(workload="race")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "lock" in _footer_actions(app)  # race_style may be in help and the palette only
        await pilot.press("c")  # count: the race's keys would do nothing, the presenter comes back
        await pilot.pause()
        await pilot.pause()
        shown = _footer_actions(app)
        assert "lock" not in shown  # its room goes to keys that apply


def test_an_explainer_too_long_for_its_lines_drops_whole_sentences():
    text = "One two three. Four five six seven eight. Nine [b]ten[/] eleven."
    assert fit_sentences(text, 80, 1) == text
    assert fit_sentences(text, 20, 3) == "One two three. Four five six seven eight."
    assert fit_sentences(text, 20, 2) == "One two three."
    assert fit_sentences(text, 5, 1) == "One two three."  # at least the first: Textual cuts it


@async_test
async def test_at_80x24_every_explainer_is_whole():
    """The race's ended "Press l for a lock, k for the plain" at 80x24: a
    sentence cut mid-way. Every mode's text fits the explainer there, on a
    GIL build and without the GIL; a longer one would lose whole sentences."""
    app, fake = make_app(workload="race")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        explainer = app.stage.query_one(Explainer)
        assert str(explainer.render()).endswith("k for the plain counter += 1.")
        width, lines = explainer.content_size.width, int(explainer.styles.max_height.value)
    assert 70 <= width < 80 and lines == 4
    for name in NAMES:
        for strategy in spec(name).strategies:
            for lock in (False, True):
                for style in ("call", "plain"):
                    for gil, python in ((True, "3.11.7"), (False, "3.13.1"), (True, "3.9.18")):
                        text = explanation(name, strategy, lock, gil, style, python)
                        assert fit_sentences(text, width, lines) == text, (name, strategy, lock, style, gil)
                        # markup eats "[ and ]" as a tag: the convoy said "Press  to change it"
                        meant = text.replace("[b]", "").replace("[/]", "").replace("\\[", "[")
                        assert Content.from_markup(text).plain == meant, (name, strategy)


def test_a_switch_title_fits_without_cutting_a_word():
    """At 80 columns the switch label read "13.9 s: thre"."""
    from gilviz.ui.widgets._lanes import switch_title

    switch = Switch(13.9, "threads → processes, workers 4 → 6", "→ processes, → workers 6")
    shorter = [" 19.3 s ┃ 13.9 s: threads → processes, workers 4 → 6", " 19.3 s ┃ threads → processes, workers 4 → 6",
               " 19.3 s ┃ → processes, → workers 6", " ┃ → processes, → workers 6", " ┃ → workers 6", " 19.3 s ┃"]
    for title in shorter:
        assert switch_title(len(title), 19.3, switch) == title
    assert switch_title(8, 19.3, switch) == ""
    for width in range(0, 90):
        title = switch_title(width, 19.3, switch)
        assert len(title) <= width and ("thre" not in title or "threads" in title)


@pytest.mark.parametrize("width", [10, 22, 30, 45, 80])
def test_the_timeline_title_fits(width):
    title = timeline_title(width, 0.1, 12.3, range(0, 8), 16)
    assert len(title) <= width
    if width >= 22:
        assert "100" in title and "1-8" in title


@async_test
async def test_the_help_says_how_to_close_it_on_its_border():
    app, fake = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query_one(VerticalScroll).border_subtitle == "Esc, ? or q closes"


@async_test
async def test_the_help_s_legend_and_keys_take_the_theme_of_when_it_opens():
    """The help's legend paints each glyph in the lanes' colour, and its key
    column in the theme's accent: opened under one theme and again under
    another, they are the second theme's (they kept the first's)."""
    from gilviz.ui.screens import HelpScreen
    from gilviz.ui.widgets import _glyphs as g

    def tables(help_screen):
        keys, legend = (help_screen.query_one(f"#{name}", Static).content for name in ("keys", "legend"))
        return keys.columns[0].style, [cell.style for cell in legend.columns[0].cells]

    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        lanes = app.stage.query_one(Lanes)
        seen = {}
        for theme in ("textual-dark", "solarized-light"):
            app.theme = theme
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            key_style, glyph_styles = tables(app.screen)
            legend = HelpScreen.legend_items()
            assert [s.color for s in glyph_styles] == [lanes.glyph_style(name).color for _, name, _ in legend]
            assert key_style.color == app.screen.get_component_rich_style("help--key", partial=True).color
            seen[theme] = (key_style.color, [s.color for s in glyph_styles])
            await pilot.press("escape")
            await pilot.pause()
        assert seen["textual-dark"][0] != seen["solarized-light"][0]  # the accent differs
        assert seen["textual-dark"][1] != seen["solarized-light"][1]
        assert g.WORK in {name for _, name, _ in HelpScreen.legend_items()}


# -- the scoreboard --------------------------------------------------------------


@async_test
async def test_shift_c_clears_the_scoreboard():
    app, fake = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.stage.check_action("clear_scoreboard", ()) is None  # nothing to clear
        await pilot.press("v")
        await settle(app, pilot)
        board = app.query_one(Scoreboard)
        assert len(board.rows_data) == 3 and board.row_count == 3
        assert app.stage.check_action("clear_scoreboard", ()) is True  # the key lit
        await pilot.press("C")
        await pilot.pause()
        assert board.rows_data == [] and board.row_count == 0
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("shift+c")  # a terminal with the kitty keyboard protocol says so
        await pilot.pause()
        assert board.rows_data == []


@async_test
async def test_m_exports_the_scoreboard_as_markdown(tmp_path):
    fake = FakeLab()
    app = GilvizApp(RunRequest(workers=4), session_factory=fake.session, screenshot_dir=str(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.stage.check_action("export_scoreboard", ()) is None  # nothing to export
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.press("m")  # a second export is a second file
        await pilot.pause()
        files = sorted(tmp_path.glob("gilviz-scoreboard*.md"))
        assert len(files) == 2
        text = files[0].read_text()
        assert "| sequential |" in text and "| threads |" in text and "1.00x" in text
        assert any(str(files[0]) in str(n.message) for n in app._notifications)


def test_row_labels_say_what_differs():
    base = dict(workers=4, size=1000, unit="increments", wall_s=1.0, startup_s=0.0, cpu_s=1.0, cores_used=1.0,
                units=1000, units_per_s=1000.0, python="3.12.4", implementation="CPython", gil_enabled=True,
                switch_interval_s=0.005, cpu_count=4, errors=(), cancelled=False, worker_results=())
    race = RunResult(workload="race", strategy="threads", lock=False, race_style="call", **base)
    runs = [race, replace(race, lock=True), replace(race, race_style="plain"), replace(race, workload="count",
                                                                                         race_style=None)]
    assert row_labels(runs) == ["race", "race+lock", "race plain", "count"]
    assert row_labels([race, replace(race, python="3.13.1", gil_enabled=False)]) == [
        "race 3.12.4", "race 3.13.1 no GIL"]
    assert row_labels([race, replace(race, gil_enabled=False)]) == ["race GIL", "race no GIL"]
    assert row_labels([race, replace(race, switch_interval_s=0.1)]) == ["race 5ms", "race 100ms"]


@async_test
async def test_a_lost_count_in_the_millions_fits_the_scoreboard():
    """A race sized by time loses millions: "1.2 M", not a cut "1,183,1"."""
    app, _ = make_app(workload="race")
    async with app.run_test(size=(100, 30)) as pilot:
        base = dict(workers=4, size=3_000_000, unit="increments", wall_s=0.2, startup_s=0.0, cpu_s=0.2,
                    cores_used=1.0, units=3_000_000, units_per_s=1.5e7, python="3.12.4", implementation="CPython",
                    gil_enabled=True, switch_interval_s=0.005, cpu_count=4, errors=(), cancelled=False,
                    worker_results=())
        board = app.query_one(Scoreboard)
        for lost in (1_183_123, 9_999):
            board.add_result(RunResult(workload="race", strategy="threads", lock=False, race_style="call",
                                       expected=3_000_000, actual=3_000_000 - lost, lost=lost, **base))
        await pilot.pause()
        cells = [str(board.get_row_at(i)[Scoreboard.LOST]).replace("\xa0", " ").strip() for i in range(2)]
        assert cells == ["1.2 M", "9,999"]


@async_test
async def test_a_run_without_the_gil_is_not_scored_as_waiting_for_one():
    """The scoreboard's, the tables' and the Markdown's share of time
    blocked with work to do is "GIL wait" while every run had a GIL, and
    "blocked" once one ran without: a free-threaded build has none to wait for."""
    from gilviz.export import compare_markdown, compare_table, run_summary

    app, _ = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        base = dict(workers=2, size=1000, unit="iterations", wall_s=1.0, startup_s=0.0, cpu_s=1.9, cores_used=1.9,
                    units=1000, units_per_s=1000.0, python="3.13.5", implementation="CPython", gil_enabled=True,
                    switch_interval_s=0.005, cpu_count=2, errors=(), cancelled=False, worker_results=(),
                    gil_wait_share=0.5, states_measured=True)
        with_gil = RunResult(workload="count", strategy="threads", lock=False, **base)
        without = replace(with_gil, gil_enabled=False, gil_wait_share=0.02)
        board = app.query_one(Scoreboard)

        def heading() -> str:
            return str(board.ordered_columns[Scoreboard.BLOCKED].label).replace("\xa0", " ").strip()

        board.add_result(with_gil)
        await pilot.pause()
        assert heading() == "GIL wait"
        board.add_result(without)
        await pilot.pause()
        assert heading() == "blocked"
        assert str(board.get_row_at(1)[Scoreboard.BLOCKED]).replace("\xa0", " ").strip() == "2%"
        board.clear_results()
        await pilot.pause()
        assert heading() == "GIL wait"
    assert "GIL wait" in compare_table([with_gil]) and "GIL wait" in compare_markdown([with_gil])
    for text in (compare_table([with_gil, without], ["3.13 GIL", "3.13 no GIL"]),
                 compare_markdown([with_gil, without], ["3.13 GIL", "3.13 no GIL"]), run_summary(without)):
        assert "GIL wait" not in text and "blocked" in text, text
    assert any(line.split()[:2] == ["blocked", "2%"] and "no GIL" in line for line in run_summary(without).splitlines())



def test_processes_blocked_on_a_lock_are_not_scored_as_waiting_for_the_gil():
    """Four processes racing behind a lock were scored "GIL wait 12%": each
    has its own GIL, and what they waited for is the lock. A processes run
    that was blocked makes the column "blocked"; one never blocked reads
    "GIL wait 0%" beside the threads it is compared with, which is true."""
    from gilviz.export import compare_markdown, compare_table, run_summary
    from gilviz.export.text import blocked_heading

    base = dict(workers=4, size=1000, unit="increments", wall_s=1.0, startup_s=0.0, cpu_s=1.9, cores_used=1.9,
                units=1000, units_per_s=1000.0, python="3.11.7", implementation="CPython", gil_enabled=True,
                switch_interval_s=0.005, cpu_count=2, errors=(), cancelled=False, worker_results=(),
                states_measured=True)
    threads = RunResult(workload="race", strategy="threads", lock=True, gil_wait_share=0.4, **base)
    locked = replace(threads, strategy="processes", gil_wait_share=0.12)
    free = replace(locked, gil_wait_share=0.002)  # never blocked, as a count's processes
    assert blocked_heading([threads, free]) == "GIL wait"
    for text in (compare_table([threads, locked]), compare_markdown([threads, locked]), run_summary(locked)):
        assert "GIL wait" not in text and "blocked" in text, text
    summary = [line for line in run_summary(locked).splitlines() if line.split()[:2] == ["blocked", "12%"]]
    assert summary and "own GIL" in summary[0], run_summary(locked)
    assert "GIL wait" in run_summary(threads)


# -- a compare, side by side ------------------------------------------------------


def _rows(app: GilvizApp) -> list[str]:
    lanes = app.query_one(Lanes)
    return ["".join(seg.text for seg in lanes.render_line(y)).rstrip() for y in range(lanes.virtual_size.height)]


@async_test
async def test_v_keeps_sequential_threads_and_processes_on_screen_under_their_headings():
    app, fake = make_app(workers=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        lanes = app.query_one(Lanes)
        assert lanes.groups is not None
        assert [g.strategy for g in lanes.groups] == ["sequential", "threads", "processes"]
        results = app.stage.compare_board.results
        rows = _rows(app)
        assert len(rows) == 3 + 1 + 4 + 4
        assert rows[0].startswith(f"sequential: {results[0].wall_s:.2f} s · {results[0].cores_used:.2f} cores used")
        assert rows[2].startswith("threads: ") and "thread-0" in rows[3]
        assert rows[7].startswith("processes: ") and f"speedup {results[2].speedup:.2f}×" in rows[7]
        # one time axis: each group's cells start at its own start signal, so
        # the processes' lanes end where the threads' are still going
        processes, threads = lanes.groups[2].lanes[0], lanes.groups[1].lanes[0]
        assert 0 < len(processes.cells) < len(threads.cells)
        # a single run takes the lanes back
        await pilot.press("enter")
        await settle(app, pilot)
        assert lanes.groups is None and app.stage.compare_board is None
        assert len(lanes.view.lanes) == 4


@async_test
async def test_v_on_the_race_keeps_it_without_and_with_the_lock_on_screen():
    """The race's compare: threads without, then with the lock, on the same
    increments (sized on a short locked run first), each heading with its
    lost updates, as measured."""
    app, fake = make_app(workload="race", strategy="sequential", workers=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        probe, *runs = fake.requests
        assert (probe.strategy, probe.lock) == ("threads", True)  # the locked run's rate, measured
        assert [(r.strategy, r.lock) for r in runs] == [("threads", False), ("threads", True)]
        assert runs[0].size == runs[1].size
        lanes = app.query_one(Lanes)
        results = app.stage.compare_board.results
        assert [(r.lock, r.expected) for r in results] == [(False, runs[0].size), (True, runs[0].size)]
        unlocked, locked = results
        assert unlocked.lost > 0 and locked.lost == 0
        rows = _rows(app)
        assert rows[0].startswith(f"threads, no lock: {unlocked.wall_s:.2f} s")
        assert rows[0].endswith(f"lost {human(unlocked.lost)} of {human(unlocked.expected)}")
        assert rows[4].startswith("threads, lock: ") and rows[4].endswith(f"lost 0 of {human(locked.expected)}")
        assert "speedup" not in rows[0] + rows[4]
        assert [g.finished for g in lanes.groups] == [True, True]


@async_test
async def test_a_compare_after_a_stopped_run_is_sized_all_the_same():
    """x stops a live run; the v after it must not find that stop still
    standing: its probe of the locked run would end at once, and the compare
    would run unsized."""
    from gilviz.engine.workloads import spec

    app, fake = make_app(workload="race", workers=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        while not fake.played.is_set():
            await pilot.pause()
        await pilot.press("x")
        await settle(app, pilot)
        await pilot.press("v")
        await settle(app, pilot)
        live, probe, *runs = fake.requests
        assert live.live and (probe.strategy, probe.lock) == ("threads", True)
        assert [(r.lock, r.size) for r in runs] == [(False, runs[0].size), (True, runs[0].size)]
        assert runs[0].size != spec("race").default_size  # sized from the probe's rate
        assert [r.cancelled for r in app.stage.compare_board.results] == [False, False]
        # the groups' done column is how far each got, not the stopped live run's rates
        lanes = [row for row in _rows(app) if row.startswith("thread-")]
        assert len(lanes) == 6 and all(" 100% " in row for row in lanes)


@async_test
async def test_at_80_columns_a_race_heading_keeps_its_lost_updates():
    """The full heading does not fit an 80-column lanes panel: the short one
    drops the cores used, never the lost updates."""
    app, fake = make_app(workload="race", workers=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        unlocked, locked = app.stage.compare_board.results
        rows = _rows(app)
        width = app.query_one(Lanes).size.width
        assert len(app.query_one(Lanes).groups[0].heading) > width  # the full one would be cut
        assert rows[0] == f"threads, no lock: {unlocked.wall_s:.2f} s · lost {human(unlocked.lost)} of " \
                          f"{human(unlocked.expected)}"
        assert rows[4].startswith("threads, lock: ") and rows[4].endswith(f"lost 0 of {human(locked.expected)}")


@async_test
async def test_the_race_compare_counts_the_lost_updates_while_it_runs():
    fake = FakeLab(hold=lambda request: not request.lock)  # the unlocked run waits, once played
    app, _ = make_app(fake, workload="race", workers=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        while len(fake.requests) < 2 or not fake.played.is_set():  # after the probe of the locked run
            await pilot.pause()
        app.draw(force=True)
        await pilot.pause()
        expected, actual = app.live.view(0).race
        assert expected > 0 and expected - actual == expected // 3  # what the fake lab's counter lost
        heading = app.query_one(Lanes).groups[-1].heading
        assert heading.startswith("threads, no lock: running…")
        assert heading.endswith(f"lost {human(max(0, expected - actual))} of {human(expected)} so far")
        fake.release()
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_compare_board_shows_the_run_going_on_last():
    fake = FakeLab(hold=True)
    app, _ = make_app(fake, workers=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        while not fake.in_run.is_set() or app.live.view(0).t_s is None:
            await pilot.pause()
        app.draw(force=True)
        await pilot.pause()
        groups = app.query_one(Lanes).groups
        assert groups is not None and len(groups) == 1
        assert groups[0].heading.startswith("sequential: running…") and not groups[0].finished
        fake.release()
        await settle(app, pilot)
        assert [g.finished for g in app.query_one(Lanes).groups] == [True, True, True]


@async_test
async def test_a_compare_s_runs_are_drawn_against_one_solo_rate_however_the_lab_raised_it():
    """The lab raises its solo rate after a run whose worker did more per CPU
    second than its calibration: the sequential run, first, started with the
    old figure. Drawn against it, its full blocks would stand beside the
    others' drawn against the new one; every run is drawn against the highest."""
    from gilviz.ui.timeline import CellKind

    raised = 2 * SOLO["count"]
    app, fake = make_app(FakeLab(solo_after=raised), workers=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        board = app.stage.compare_board
        assert [r.strategy for r in board.results] == ["sequential", "threads", "processes"]
        assert board.results[0].solo_units_per_s == raised  # the lab's figure after the run
        groups = app.query_one(Lanes).groups
        assert [g.finished for g in groups] == [True, True, True]  # each run once: none taken for one going on
        sequential = [c for lane in groups[0].lanes for c in lane.cells if c.kind == CellKind.WORK]
        # a full core of work against twice that solo rate: half height, not full
        assert sequential and {c.level for c in sequential} == {4}
        assert all(c.level <= 4 for g in groups for lane in g.lanes for c in lane.cells if c.kind == CellKind.WORK)


@async_test
async def test_the_lab_measures_the_mode_s_solo_rate_once_the_app_is_idle_not_during_a_run():
    """A moment after the lab is ready, and after a key changes the mode, the
    app asks the lab to measure the mode's solo rate then, not as the run
    starts beside the app's first frames of it."""
    import asyncio

    from gilviz.ui.app import WARM_SOLO_AFTER_S

    def warmed(fake) -> list[tuple[str, str]]:
        return [(m["request"]["workload"], m["request"]["strategy"]) for m in fake.sent if m.get("op") == "warm_solo"]

    fake = FakeLab(hold=True)
    app, _ = make_app(fake, workers=2)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.lab is None:
            await pilot.pause()
        assert warmed(fake) == []  # not at once: the app is drawing its first frames
        await asyncio.sleep(WARM_SOLO_AFTER_S + 0.3)
        await pilot.pause()
        # the mode, and the other side of a threads/processes switch (the lab
        # measures again only the race's, whose unit costs more in a process)
        assert warmed(fake) == [("count", "threads"), ("count", "processes")]
        await pilot.press("r", "p")  # two keys in a row: one measurement, of where they led
        await asyncio.sleep(WARM_SOLO_AFTER_S + 0.3)
        await pilot.pause()
        assert warmed(fake)[2:4] == [("race", "processes"), ("race", "threads")]
        # and the race with its lock the other way (l): a speaker's key during a live race
        locks = [m["request"]["lock"] for m in fake.sent if m.get("op") == "warm_solo"]
        assert warmed(fake)[4:] == [("race", "processes")] and locks[2:] == [False, False, True]
        await pilot.press("enter")
        while not fake.in_run.is_set():
            await pilot.pause()
        await pilot.press("t")  # a switch during a live run: its workers would slow a measurement
        await asyncio.sleep(WARM_SOLO_AFTER_S + 0.3)
        await pilot.pause()
        assert len(warmed(fake)) == 5
        await pilot.press("x")
        await settle(app, pilot)


def test_a_long_run_is_squeezed_so_that_every_group_fits_on_one_axis():
    from gilviz.ui.compare_board import _downsample
    from gilviz.ui.timeline import EMPTY_CELL

    lane = LaneView(WorkerIdentity(0, "thread-0", "thread", 0), None, "", None, (EMPTY_CELL,) * 25)
    assert len(_downsample((lane,), 1, 10)[0].cells) == 10
    assert len(_downsample((lane,), 3, 10)[0].cells) == 8


@async_test
async def test_at_80_columns_a_long_race_says_its_lost_updates_whole():
    """The CPU panel is 20 columns wide at 80: "lost 308.9 M of 491.7 M" was
    cut to "of 491."; the total is said shorter, or left out, never cut."""
    app, _ = make_app(workload="race")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        meters = app.query_one(CoreMeters)
        width = meters.size.width
        for expected, actual in ((491_700_000, 182_800_000), (4_000, 3_000), (123_456_789_000, 1)):
            meters.view = replace(meters.view, race=(expected, actual))
            text = "".join(seg.text for seg in meters.render_line(5)).rstrip()
            lost = human(expected - actual)
            assert text.startswith(f"lost {lost}") and len(text) <= width, text
            assert text in (f"lost {lost} of {human(expected)}", f"lost {lost}/{human(expected)}", f"lost {lost}")


@async_test
async def test_once_a_run_is_over_no_lane_shows_the_share_of_its_last_period():
    """A compare's lanes read 94% and 88% for two threads, "–" for the two
    that had ended a period earlier: a partial period's share, shown or not
    by chance. Once a run is over, the CPU column is empty for every lane."""
    app, fake = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        lanes = app.query_one(Lanes)
        rows = ["".join(seg.text for seg in lanes.render_line(y)) for y in range(lanes.size.height)]
        lane_rows = [row.split("│")[0].split() for row in rows if "│" in row]
        assert len(lane_rows) == 1 + 4 + 4, rows  # sequential, 4 threads, 4 processes
        assert all(cells[-1] == "–" and cells[-2] == "100%" for cells in lane_rows), lane_rows



@async_test
async def test_once_a_run_is_over_its_work_rate_is_the_run_s_average_as_its_cores_used():
    """After a compare the CPU panel read "cores used 1.84 of 2 run avg"
    beside "work 1.6 k MiB/s 1.21× solo": the run's average cores, but its
    last period's work, when the processes were ending. Once a run is over,
    both are the run's averages, and say so."""
    app, fake = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("v")
        await settle(app, pilot)
        last = app.last_result
        assert last is not None and last.strategy == "processes" and last.units_per_s > 0
        solo = app.live.view(0).solo_units_per_s
        meters = app.query_one(CoreMeters)
        title, work = ("".join(seg.text for seg in meters.render_line(y)).rstrip() for y in (0, 3))
        assert title.endswith(" run avg") and f"{last.cores_used:.2f}" in title, title
        # the unit gives way to "run avg" in a narrow panel (the legend says it)
        assert work.startswith(f"work {human(last.units_per_s)}/s ") and work.endswith(
            f" {last.units_per_s / solo:.2f}× solo run avg"), work

def test_the_convoy_legend_says_what_its_io_lane_draws():
    from gilviz.ui.widgets._glyphs import legend_items

    meanings = [text for _, _, text in legend_items(False, io_lane=True)]
    assert "waiting for the network" in meanings and "answers arriving" in meanings
    assert "waiting for the network" not in [text for _, _, text in legend_items(False)]


@async_test
async def test_at_80_columns_a_free_threaded_lab_keeps_the_mode_line():
    """The lab's line of a free-threaded Python is 89 columns: at 80 it
    wrapped and pushed the mode and "running" out of the two-line header."""
    from gilviz.ui.widgets import LabHeader

    app, fake = make_app()
    fake.info_ = replace(fake.info_, python="3.13.5", gil_enabled=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        lines = str(app.query_one(LabHeader).render()).splitlines()
        assert len(lines) == 2 and all(len(line) <= 80 for line in lines), lines
        assert "GIL off (free-threaded)" in lines[0] and "switch 5 ms" in lines[0]
        assert lines[1].startswith(" count × threads × 4 workers") and "ready" in lines[1]
    app, fake = make_app()
    fake.info_ = replace(fake.info_, python="3.13.5", gil_enabled=False)
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        assert "GIL disabled (free-threaded)  ·  4 cores  ·  switch interval" in str(
            app.query_one(LabHeader).render())


def _cells_of(strips) -> list[list[tuple[str, object]]]:
    """Each line as its cells: (character, style); where segments break does not matter."""
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


@async_test
async def test_the_lanes_and_meters_draw_what_textual_s_styles_cache_would():
    """The line widgets skip Textual's styles cache where their styles have
    nothing for it to draw (GlyphLines.render_lines): their lines must be
    the ones it would have given, whole or cropped, in a dark and a light
    theme, and in the terminal's own colours or made true colour."""
    from textual.geometry import Region
    from textual.widget import Widget

    from gilviz.ui.widgets import LanesHeader
    from gilviz.ui.widgets._glyphs import GlyphStyles

    app, fake = make_app(FakeLab(hold=True), workers=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        while not fake.in_run.is_set() or app.live.view(0).t_s is None:
            await pilot.pause()
        await asyncio.to_thread(lambda: time.sleep(0.3))
        # ansi-dark draws in the terminal's own colours (no filter); with
        # ansi_color off, the app's filter makes its colours true colour,
        # which the widgets do once, ahead of it
        for theme, ansi_color in (("gilviz", False), ("textual-light", False), ("ansi-dark", True),
                                  ("ansi-dark", False)):
            app.theme = theme
            app.ansi_color = ansi_color
            app.draw(force=True)
            await pilot.pause()
            for widget in (app.query_one(Lanes), app.query_one(LanesHeader), app.query_one(CoreMeters),
                           app.query_one(Legend)):
                assert widget._plain(), type(widget).__name__
                width, height = widget.outer_size
                top = min(1, height - 1)  # a crop inside the widget, as the compositor asks
                for crop in (Region(0, 0, width, height), Region(3, top, width - 5, height - top)):
                    widget.refresh()
                    ours = widget.render_lines(crop)
                    # Textual's own path, from styles as Textual makes them (not true colour first)
                    with pytest.MonkeyPatch.context() as patch:
                        patch.setattr(GlyphStyles, "_in_true_colour", lambda self, style: style)
                        widget.notify_style_update()
                        widget.refresh()
                        textuals = Widget.render_lines(widget, crop)
                    widget.notify_style_update()
                    assert _cells_of(ours) == _cells_of(textuals), (theme, ansi_color, type(widget).__name__, crop)
                    assert any(seg.text.strip() for strip in ours for seg in strip)  # not a blank panel
        # a style that the cache draws (a tint) sends the widget back to it
        lanes = app.query_one(Lanes)
        lanes.styles.tint = "red 40%"
        assert not lanes._plain()
        lanes.styles.tint = None
        assert lanes._plain()
        # the answer is kept between frames, but a change of an ancestor's
        # opacity (a counter of its styles grows) is seen at once
        panel = app.query_one("#lanes")
        panel.styles.opacity = 0.5
        assert not lanes._plain()
        panel.styles.opacity = 1.0
        assert lanes._plain()
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_a_frame_s_lines_leave_no_garbage_for_the_cycle_collector():
    """Textual's compositor divides each line of a frame at the screen's
    cuts, and kept a line within one cut as a list of itself in its own
    cache: every lane line of every frame became a reference cycle, left to
    the cycle collector (3-4 ms a second at 16 lanes, and a full collection
    of 10-15 ms every ten seconds). A frame's lines are freed when the next
    frame replaces them."""
    import gc

    from textual.strip import Strip

    app, fake = make_app(FakeLab(hold=True), workers=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        while not fake.in_run.is_set() or app.live.view(0).t_s is None:
            await pilot.pause()
        lanes = app.query_one(Lanes)
        names = tuple(lane.identity.name for lane in app.live.view(0).lanes)
        drawn = []
        real = Lanes.render_lines
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Lanes, "render_lines", lambda self, crop: drawn.append(1) or real(self, crop))
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage, to look at
            try:
                for _ in range(5):
                    await asyncio.to_thread(lambda: time.sleep(0.1))  # the next scripted ticks
                    app.draw(force=True)
                    await pilot.pause()
                gc.collect()
                cycles = [o.text for o in gc.garbage if isinstance(o, Strip) and o.text.startswith(names)]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
        assert len(drawn) >= 3 and lanes.view is not None  # frames of lanes were drawn
        assert cycles == []
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_footer_is_made_again_only_when_its_keys_change():
    """Opening and closing help left the footer's keys as they were, yet
    Textual's footer made all 40 again each time (11,000 objects of garbage
    a toggle, whose collection held key presses). It keeps them now, and
    still follows a change: a workload key dims the workload on screen, and
    restyles the same keys (making them again took 25-30 ms of the UI
    thread twice a live run's switch)."""
    app, _ = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        keys = list(app.screen.query(FooterKey))
        assert keys
        for _ in range(2):
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
        await pilot.pause()
        assert list(app.screen.query(FooterKey)) == keys  # the same objects
        dimmed = {key.action for key in keys if key.has_class("-disabled")}
        assert "workload('count')" in dimmed and "workload('hash')" not in dimmed
        await pilot.press("h")
        for _ in range(20):
            await pilot.pause()
            dimmed = {key.action for key in app.screen.query(FooterKey) if key.has_class("-disabled")}
            if "workload('hash')" in dimmed:
                break
        assert "workload('hash')" in dimmed and "workload('count')" not in dimmed
        assert list(app.screen.query(FooterKey)) == keys
        assert [k for k in keys if k._disabled] == [k for k in keys if k.has_class("-disabled")]


@async_test
async def test_a_waiting_workload_s_work_rate_is_the_mean_of_its_last_second():
    """Fetch's requests finish in bursts: the CPU panel read "work 0/s", then
    a burst, period after period. Its lanes show no rate, and the panel's
    figure is the mean of the last second, said as such."""
    app, fake = make_app(FakeLab(hold=True), workload="fetch")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        app.draw(force=True)
        await pilot.pause()
        view = app.live.view(0)
        recent = view.throughput[-10:]
        assert len(recent) == 10 and len(set(recent)) > 1, view.throughput  # bursts: the periods differ
        meters = app.query_one(CoreMeters)
        row = "".join(seg.text for seg in meters.render_line(3))
        # bytes said in MiB keep their unit, even in a narrow panel
        number, unit = amount(sum(recent) / len(recent), "bytes")
        assert unit == "MiB" and f"work {number} MiB/s" in row, row
        await pilot.resize_terminal(160, 45)  # a wider panel: room to say what the figure is
        await pilot.pause()
        row = "".join(seg.text for seg in meters.render_line(3))
        assert f"work {number} MiB/s" in row and row.rstrip().endswith("last 1 s"), row
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_still_widgets_give_their_last_lines_until_something_changes():
    """The screen, the panels' containers, the header, the legend, the
    explainer and the footer were drawn again at every frame of a live run
    for lines that had not changed. They give back their last lines now,
    and new ones after a refresh, a new theme or other line filters."""
    from textual.geometry import Region

    from gilviz.ui.stage import Pane
    from gilviz.ui.widgets import Explainer, LabHeader

    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        for widget in (app.query_one(Pane), app.query_one(LabHeader), app.query_one(Explainer), app.screen):
            crop = Region(0, 0, widget.size.width, widget.size.height)
            first = widget.render_lines(crop)
            assert widget.render_lines(crop) is first  # nothing changed
            widget.refresh()
            again = widget.render_lines(crop)
            assert again is not first and again == first  # drawn again, the same
        pane = app.query_one(Pane)
        crop = Region(0, 0, pane.size.width, pane.size.height)
        dark = pane.render_lines(crop)
        app.theme = "textual-light"
        await pilot.pause()
        light = pane.render_lines(crop)
        assert light != dark  # the border's colours are the light theme's
        filters = app._filters
        app._filters = []  # no true-colour filter: the lines are drawn through no filter
        try:
            assert pane.render_lines(crop) is not light
        finally:
            app._filters = filters
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_status_keeps_its_styles_until_the_stylesheet_applies_again():
    """The stage asks the header for the status at every frame, to see
    whether it changed, and Textual made its style again each time (the
    header is refreshed often): a tenth of a 16-lane frame. The style is
    kept until the stylesheet applies again, and follows a new theme."""
    from gilviz.ui.widgets import LabHeader

    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        header = app.query_one(LabHeader)
        made: list[tuple[str, ...]] = []
        component_style = header.get_component_rich_style
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(header, "get_component_rich_style",
                          lambda *names, **kw: made.append(names) or component_style(*names, **kw))
            first = header.status("● running", "running")
            header.refresh()
            again = header.status("● running x to stop", "running")
            assert again.style == first.style == component_style("lab-header--running")
            assert len(made) <= 1  # made once at most, not at every call
        for theme in ("textual-light", "nord"):
            app.theme = theme
            await pilot.pause()
            assert header.status("● running", "running").style == component_style("lab-header--running"), theme
        assert header.status("✓ done", "done").style == component_style("lab-header--done")


def test_a_line_is_made_to_its_width_in_one_strip():
    """fit_strip pads a line with blank cells in the widget's own style, or
    cuts it, and gives the strip its length: every cell is counted, a wide
    character as two."""
    from rich.segment import Segment
    from rich.style import Style

    from gilviz.ui.widgets._glyphs import fit_strip

    base, red = Style(bgcolor="black"), Style(color="red")
    short = fit_strip([Segment("ab", red), Segment("日", red)], 8, base)
    assert short.cell_length == 8 and short.text == "ab日    "
    assert list(short)[-1] == Segment("    ", base)
    cut = fit_strip([Segment("abcdef", red), Segment("日本", red)], 7, base)
    assert cut.cell_length == 7 and cut.text.startswith("abcdef")
    exact = fit_strip([Segment("abc", red)], 3, base)
    assert exact.cell_length == 3 and list(exact) == [Segment("abc", red)]
    # the cells counted by the caller (a lane's): the same strip
    counted = fit_strip([Segment("ab", red), Segment("日", red)], 8, base, used=4)
    assert list(counted) == list(short) and counted.cell_length == 8


@async_test
async def test_the_line_widgets_size_from_the_layout_is_their_size_on_screen():
    """The lanes, their header, the legend and the CPU panel read their size
    from the layout (``laid_out_size``), not by finding themselves on the
    screen (``size``) a dozen times a frame: the two must agree at every
    size, in the presenter view and out of it, with a padded panel too."""
    from gilviz.ui.widgets import LanesHeader

    app, fake = make_app(FakeLab(hold=True), workers=6)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        while not fake.in_run.is_set():
            await pilot.pause()
        widgets = [app.query_one(kind) for kind in (Lanes, LanesHeader, Legend, CoreMeters)]
        for cols, rows in ((80, 24), (100, 30), (160, 45), (200, 60)):
            await pilot.resize_terminal(cols, rows)
            for presenter in (False, True):
                app.screen.presenter = presenter
                await pilot.pause()
                shown = [widget for widget in widgets if widget.display and widget.region]
                assert Lanes in {type(widget) for widget in shown}
                for widget in shown:
                    assert widget.laid_out_size == widget.size, (cols, rows, presenter, type(widget).__name__)
        app.screen.presenter = False
        meters = app.query_one(CoreMeters)
        meters.styles.padding = (1, 2)  # a gutter: the content is smaller than the layout's size
        await pilot.pause()
        assert meters.laid_out_size == meters.size != meters.outer_size
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_cpu_panel_sends_only_its_rows_that_changed_to_the_screen():
    """Each frame the CPU panel makes its rows, and only those that read
    differently from the last frame's are repainted: the same view twice
    repaints nothing; a new race counter repaints its one row."""
    from textual.geometry import Region

    app, fake = make_app(FakeLab(hold=True), workers=4, workload="race")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        while not fake.in_run.is_set() or app.live.view(0).t_s is None:
            await pilot.pause()
        await pilot.press("x")
        await settle(app, pilot)
        meters = app.query_one(CoreMeters)
        view, cores = meters.view, meters.cpu_count
        assert view is not None and view.race is not None
        refreshed: list[tuple[Region, ...]] = []
        original = meters.refresh

        def spy(*regions, **kwargs):
            refreshed.append(regions)
            return original(*regions, **kwargs)

        meters.refresh = spy  # type: ignore[method-assign]
        meters.show(view, cores, meters.run_cores_used, meters.run_units_per_s)
        assert refreshed == []
        expected, actual = view.race
        meters.show(replace(view, race=(expected + 10_000_000, actual)), cores, meters.run_cores_used,
                    meters.run_units_per_s)
        assert refreshed == [(Region(0, 5, meters.size.width, 1),)]
        assert "".join(seg.text for seg in meters.render_line(5)).startswith(f"lost {human(expected + 10_000_000 - actual)}")


@async_test
async def test_a_live_runs_header_counts_whole_seconds_and_repaints_once_a_second():
    """The lanes' header is drawn again only when it reads differently: a
    live run's clock counts whole seconds, so nine frames in ten leave the
    header alone; a run of fixed work keeps its tenths."""
    from textual.geometry import Region

    from gilviz.ui.widgets import LanesHeader
    from gilviz.ui.widgets._lanes import clock_text

    app, fake = make_app(FakeLab(hold=True), workers=4)
    async with app.run_test(size=(120, 40)):
        header = app.query_one(LanesHeader)
        refreshed: list[int] = []
        original = header.refresh

        def spy(*regions, **kwargs):
            refreshed.append(1)
            return original(*regions, **kwargs)

        header.refresh = spy  # type: ignore[method-assign]
        lanes = range(0, 4)
        for t_s in (3.0, 3.1, 3.5, 3.99):
            header.show(t_s, lanes, 4, live=True)
        assert len(refreshed) == 1
        assert "".join(seg.text for seg in header.render_line(0)).rstrip().endswith("1 cell = 100 ms, 3 s")
        header.show(4.02, lanes, 4, live=True)
        assert len(refreshed) == 2
        header.show(4.02, lanes, 4, live=False)  # a compare's run: tenths
        assert "".join(seg.text for seg in header.render_line(0)).rstrip().endswith("1 cell = 100 ms, 4.0 s")
        # the line Textual gets is kept until it reads differently, and what
        # it is made of besides the clock (a compare's scale) makes it again
        crop = Region(0, 0, header.size.width, 1)
        assert header.render_lines(crop) is header.render_lines(crop)
        header.scale = 2
        header.show(4.02, lanes, 4, live=False)
        assert len(refreshed) == 4
        assert "".join(seg.text for seg in header.render_lines(crop)[0]).rstrip().endswith("1 cell = 200 ms, 4.0 s")
        assert (clock_text(12), clock_text(12.34), clock_text(None)) == ("12 s", "12.3 s", "")


def _spy_messages(*nodes) -> list[tuple[str, str]]:
    """(node's class, message's class) of every message posted to ``nodes`` from now on."""
    posted: list[tuple[str, str]] = []
    for node in nodes:
        original = node.post_message

        def spy(message, node=node, original=original):
            posted.append((type(node).__name__, type(message).__name__))
            return original(message)

        node.post_message = spy
    return posted


@async_test
async def test_a_live_frame_is_painted_without_textual_s_message_steps():
    """The draw timer's frame hands the lanes and the CPU panel to the
    compositor as it ends (ui/_frame.py): nothing is posted to them or to
    the screen, the terminal is written within the frame, and the lines on
    screen are the frame's. A widget that needs more than a repaint (a
    layout) takes Textual's own steps, and the others are painted anyway."""
    app, fake = make_app(FakeLab(hold=True), workers=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        stage = app.screen
        lanes, meters = app.query_one(Lanes), app.query_one(CoreMeters)
        written = []
        display = app._display

        def spy_display(screen, update):
            written.append(update)
            return display(screen, update)

        app._display = spy_display
        posted = _spy_messages(stage, lanes, meters)
        painted = stage.frame.painted
        # a frame that draws the same view again (no newer tick needed), and
        # every row of the lanes, not only those that moved on
        lanes.view = None
        stage._drawn = None
        stage.tick()
        assert stage.frame.painted == painted + 1
        assert posted == [], posted  # no Prompt, Idle or Update on the way
        assert written, "the frame reached the terminal within the tick"
        assert not lanes._repaint_required and not meters._repaint_required
        # what was written is the lanes' lines as they give them now
        codes = "".join(update.render_segments(app.console) for update in written)
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", codes)  # without the colours and the cursor's moves
        first = "".join(seg.text for seg in lanes.render_line(0)).rstrip()
        assert first.startswith("thread-0") and first in text

        # a layout to do first: that widget waits for Textual's steps, the other is painted now
        posted.clear()
        with stage.frame:
            lanes.refresh(layout=True)
            meters.refresh()
        assert ("Lanes", "Prompt") in posted
        assert not any(node == "CoreMeters" for node, _ in posted)
        assert stage.frame.painted == painted + 2
        await pilot.pause()
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_a_frame_under_the_help_takes_textual_s_own_steps():
    """Under help (a modal screen) Textual repaints the stage whole and the
    help over it: the stage's frame paints nothing itself, its widgets post
    the messages Textual would. Once help closes, its frames are painted again."""
    app, fake = make_app(FakeLab(hold=True), workers=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        stage = app.screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is not stage
        lanes = stage.query_one(Lanes)
        posted = _spy_messages(lanes)
        painted, deferred = stage.frame.painted, stage.frame.deferred
        stage._drawn = None
        stage.tick()
        assert (stage.frame.painted, stage.frame.deferred) == (painted, deferred + 1)
        assert ("Lanes", "Prompt") in posted
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is stage
        stage._drawn = None
        stage.tick()
        assert stage.frame.painted == painted + 1
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_without_textual_s_names_a_frame_takes_textual_s_own_steps(monkeypatch):
    """If a Textual release renames what the frame uses, every refresh goes
    Textual's own way (its widgets post their Prompt), and the run is drawn
    all the same."""
    from gilviz.ui import _frame

    monkeypatch.setattr(_frame, "SUPPORTED", False)
    app, fake = make_app(FakeLab(hold=True), workers=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        stage = app.screen
        lanes = app.query_one(Lanes)
        posted = _spy_messages(lanes)
        stage._drawn = None
        stage.tick()
        assert stage.frame.painted == 0 and stage.frame.deferred > 0
        assert ("Lanes", "Prompt") in posted
        await pilot.pause()
        assert not lanes._repaint_required  # Textual took it from there
        assert "thread-0" in app.export_screenshot()
        await pilot.press("x")
        await settle(app, pilot)


def test_a_lane_s_share_under_ten_percent_keeps_its_tenth_so_the_lanes_add_up():
    """The lanes' rate and cpu columns (four cells): whole percents from
    10% up, a tenth below. Sixteen threads sharing one core read each
    about 6%: whole percents could be eight points off the 1.00 beside them."""
    from gilviz.ui.widgets._lanes import percent

    assert [percent(f) for f in (0.0, 0.0004, 0.064, 0.0994, 0.0996, 0.25, 1.0, 12.5)] == [
        "0%", "0.0%", "6.4%", "9.9%", "10%", "25%", "100%", "999%"]
    assert percent(1.0, 100) == "100%" and percent(1.4, 100) == "100%"
    assert all(len(percent(f / 1000)) <= 4 for f in range(0, 20_000, 7))
    shares = [1 / 16] * 16  # one core among sixteen
    shown = sum(float(percent(f).rstrip("%")) for f in shares)
    assert abs(shown - 100) <= 16 * 0.05 + 1e-9
    assert sum(round(100 * f) for f in shares) == 96  # what whole percents said: 6% each


@async_test
async def test_sixteen_lanes_cpu_figures_add_up_to_the_cores_used_beside_them():
    """In the app: sixteen threads sharing a core (the scripted lab gives
    each 4.4-8.8% a period); their cpu column sums to the panel's cores used."""
    app, fake = make_app(FakeLab(hold=True), workers=16)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("enter")
        await settle(app, pilot)
        lanes, meters = app.query_one(Lanes), app.query_one(CoreMeters)
        rows = ["".join(seg.text for seg in lanes.render_line(y)) for y in range(16)]
        cpu = [float(row.split("│")[0].split()[-1].rstrip("%")) for row in rows]
        assert all(len(row.split("│")[0].split()) >= 4 for row in rows)
        assert any(value != int(value) for value in cpu), cpu  # tenths shown
        used = float("".join(seg.text for seg in meters.render_line(0)).split()[2])
        assert abs(sum(cpu) - 100 * used) <= 16 * 0.05 + 0.5 + 1e-9, (sum(cpu), used)
        await pilot.press("x")
        await settle(app, pilot)


@async_test
async def test_the_convoy_s_mode_line_counts_its_io_thread_beside_its_workers():
    """The convoy draws its I/O thread as lane 0 beside its counting
    workers: "1 worker" over two lanes read as one lane too many. Where
    both do not fit, the status comes first."""
    from gilviz.ui.widgets import LabHeader

    done = "✓ convoy × threads took 5.00 s   ⏎ run again"
    for width, status, said in ((80, "ready: press ⏎ to run, ? for help", True),
                                (80, "● running   x to stop", True), (80, done, False), (100, done, True)):
        app, fake = make_app(workload="convoy", strategy="threads", workers=1)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
            header = app.query_one(LabHeader)
            header.show(app.lab, app.screen.mode, 0.005, status)
            line = str(header.render()).splitlines()[1]
            assert line == " convoy × threads × 1 worker" + (" + I/O thread" if said else "") + "   " + status, line
            assert len(line) <= width
    app, fake = make_app(workload="count", strategy="threads", workers=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "I/O thread" not in str(app.query_one(LabHeader).render())
