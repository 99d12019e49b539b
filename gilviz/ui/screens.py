"""HelpScreen: every key, what it does, and what the glyphs mean."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Callable

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .widgets import _glyphs as g


class HelpScreen(ModalScreen[None]):
    """Every key and the glyphs' legend, in the lanes' own colours.

    The glyphs' colours come from the lanes (``glyph_style``), not from
    component classes of its own: Textual styles a screen's nodes again
    each time it is shown, a virtual node per component class, and without
    the glyphs' nineteen that takes 4.5-5.0 ms of an opening, not 8.2-8.3
    (the whole opening, 28-37 ms here, varies by more). The tables are
    made again when the theme or those colours changed since they were
    made: they kept the first theme's colours before."""

    COMPONENT_CLASSES = {"help--key"}

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen .help--note {
        color: $foreground-muted;
    }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 96;
        height: 90%;
        border: thick $accent;
        border-subtitle-color: $foreground;
        border-subtitle-style: bold;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, bindings: list[Binding], glyph_style: Callable[[str], Style]) -> None:
        """``glyph_style``: a glyph's style by its name (a component class of
        ``_glyphs``), as the lanes paint it."""
        super().__init__()
        self.key_bindings = bindings
        self.glyph_style = glyph_style
        #: what the tables were made with: the theme and the glyphs' colours
        self._made_for: tuple | None = None

    def glyph_colour(self, name: str) -> Style:
        """A glyph's colour and weight, without the lanes' background."""
        style = self.glyph_style(name)
        return Style(color=style.color, bold=style.bold)

    def key_label(self, binding: Binding) -> str:
        """Every key of ``binding`` as the footer shows it (``App.get_key_display``)."""
        shown = (self.app.get_key_display(replace(binding, key=key.strip())) for key in binding.key.split(","))
        return " / ".join(dict.fromkeys(shown))

    @staticmethod
    @cache
    def legend_items() -> tuple[tuple[str, str, str], ...]:
        """(glyph, its style's name, what it means), each glyph once: made
        once, as every opening compares the colours of now with its legend's."""
        seen: set[str] = set()
        items = []
        for io_bound in (False, True):
            for glyph, style, text in g.legend_items(io_bound):
                if glyph not in seen:
                    seen.add(glyph)
                    items.append((glyph, style, text))
        return tuple(items)

    def _colours_now(self) -> tuple:
        return self.app.theme, tuple(self.glyph_colour(style) for _, style, _ in self.legend_items())

    def _keys(self) -> Table:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style=self.get_component_rich_style("help--key", partial=True), no_wrap=True)
        keys.add_column()
        for binding in self.key_bindings:
            keys.add_row(self.key_label(binding), binding.tooltip or binding.description)
        keys.add_row("Ctrl+P", "Command palette: every action by name")
        return keys

    def _legend(self) -> Table:
        legend = Table.grid(padding=(0, 2))
        legend.add_column(no_wrap=True)
        legend.add_column()
        made_for = self._colours_now()
        for (glyph, _, text), colour in zip(self.legend_items(), made_for[1], strict=True):
            legend.add_row(Text(glyph, colour), text)
        self._made_for = made_for
        return legend

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            # on the border, so it shows however short the terminal and wherever the scroll is
            scroll.border_subtitle = "Esc, ? or q closes"
            yield Static(Text("gilviz keys", style="bold"))
            yield Static(self._keys(), id="keys")
            yield Static(Text("\nLanes: one cell per sample period (100 ms)", style="bold"))
            yield Static(self._legend(), id="legend")
            yield Static(
                "\nCores used is the lab's CPU seconds per wall second: 1.0 means one core's worth, "
                "however the OS spreads it over the per-core bars.",
                classes="help--note",
                markup=False,
            )

    def on_screen_resume(self) -> None:
        """Shown again under another theme: the tables in its colours, made
        once Textual has styled the screen again (it does so after this
        handler), before its first frame."""
        if self._made_for is not None and self._made_for != self._colours_now():
            self.call_next(self._remake)

    def _remake(self) -> None:
        self.query_one("#keys", Static).update(self._keys())
        self.query_one("#legend", Static).update(self._legend())

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
