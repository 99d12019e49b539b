"""The stage's views and options: theme, presenter view, footer at every width, scoreboard keys."""

from __future__ import annotations

from gilviz.engine.model import RunRequest
from gilviz.ui.app import GilvizApp

from .conftest import FakeLab, async_test


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
