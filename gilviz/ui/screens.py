"""HelpScreen: every key, what it does, and what the glyphs mean."""

from __future__ import annotations

from dataclasses import replace

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .widgets import _glyphs as g


class HelpScreen(g.GlyphStyles, ModalScreen[None]):
    COMPONENT_CLASSES = g.COMPONENT_CLASSES | {"help--key"}

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

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.key_bindings = bindings

    def glyph_colour(self, name: str) -> Style:
        """A glyph's colour and weight, on the help's own background."""
        style = self.glyph_style(name)
        return Style(color=style.color, bold=style.bold)

    def key_label(self, binding: Binding) -> str:
        """Every key of ``binding`` as the footer shows it (``App.get_key_display``)."""
        shown = (self.app.get_key_display(replace(binding, key=key.strip())) for key in binding.key.split(","))
        return " / ".join(dict.fromkeys(shown))

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style=self.get_component_rich_style("help--key", partial=True), no_wrap=True)
        keys.add_column()
        for binding in self.key_bindings:
            keys.add_row(self.key_label(binding), binding.tooltip or binding.description)
        keys.add_row("Ctrl+P", "Command palette: every action by name")
        legend = Table.grid(padding=(0, 2))
        legend.add_column(no_wrap=True)
        legend.add_column()
        seen = set()
        for io_bound in (False, True):
            for glyph, style, text in g.legend_items(io_bound):
                if glyph not in seen:
                    seen.add(glyph)
                    legend.add_row(Text(glyph, self.glyph_colour(style)), text)
        with VerticalScroll() as scroll:
            # on the border, so it shows however short the terminal and wherever the scroll is
            scroll.border_subtitle = "Esc, ? or q closes"
            yield Static(Text("gilviz keys", style="bold"))
            yield Static(keys)
            yield Static(Text("\nLanes: one cell per sample period (100 ms)", style="bold"))
            yield Static(legend)
            yield Static(
                "\nCores used is the lab's CPU seconds per wall second: 1.0 means one core's worth, "
                "however the OS spreads it over the per-core bars.",
                classes="help--note",
                markup=False,
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
