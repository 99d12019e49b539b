"""SVG snapshots of the main screens, fed by the fake lab (fixed Ticks, fixed size).

Update after a deliberate change with ``pytest tests/ui --snapshot-update``
and look at the result (tests/ui/__snapshots__/).
"""

from __future__ import annotations

import pytest

from .conftest import FakeLab, make_app, settle


def _after(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)

    return run_before


def test_opening_screen(snap_compare):
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after())


def test_count_threads(snap_compare):
    app, _ = make_app(workload="count", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("enter"))


def test_count_processes(snap_compare):
    app, _ = make_app(workload="count", strategy="processes", workers=4)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("enter"))


def test_count_threads_with_a_100ms_switch_interval(snap_compare):
    app, _ = make_app(workload="count", strategy="threads", workers=4, switch_interval_s=0.1)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("enter"))


def test_fetch_threads(snap_compare):
    app, _ = make_app(workload="fetch", strategy="threads", workers=6)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("enter"))


def test_race_without_then_with_lock(snap_compare):
    app, _ = make_app(workload="race", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("enter", "l", "enter"))


def test_scoreboard_after_compare(snap_compare):
    app, _ = make_app(workload="count", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_after("v"))


def test_small_terminal_16_threads(snap_compare):
    app, _ = make_app(workload="count", strategy="threads", workers=16)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_after("enter"))


def test_large_terminal_16_threads(snap_compare):
    app, _ = make_app(FakeLab(cpu_count=8), workload="count", strategy="threads", workers=16)
    assert snap_compare(app, terminal_size=(200, 60), run_before=_after("enter"))


def test_help_screen(snap_compare):
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(100, 40), run_before=_after("question_mark"))


def test_lab_failure_message(snap_compare):
    app, _ = make_app(FakeLab(fail="the lab process died (exit code -9)"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=_after("enter"))


def test_count_threads_light_theme(snap_compare):
    """Every colour is a theme variable: under textual-light the panels are
    light and the footer's words readable."""
    app, _ = make_app(workload="count", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_themed("textual-light", "enter"))


def _themed(theme: str, *keys: str):
    async def run_before(pilot) -> None:
        pilot.app.theme = theme
        await _after(*keys)(pilot)

    return run_before


@pytest.mark.parametrize("theme", ["gilviz", "textual-light"])
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 45)])
def test_every_size_after_a_race(snap_compare, size, theme):
    """From 80x24 to 160x45, dark and light: the footer keeps run, stop, help
    and quit, the lanes' header and the scoreboard fit, nothing is cut."""
    app, _ = make_app(workload="race", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=size, run_before=_themed(theme, "enter", "l", "enter"))


@pytest.mark.parametrize("theme", ["gilviz", "textual-light"])
def test_presenter_view(snap_compare, theme):
    """z: cores used, wall time and GIL wait in large digits; the lanes
    without their os-id and task columns fill the rest."""
    app, _ = make_app(workload="count", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(100, 30), run_before=_themed(theme, "enter", "z"))


def test_presenter_view_of_the_race_at_80x24(snap_compare):
    app, _ = make_app(workload="race", strategy="threads", workers=4)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_after("enter", "z"))
