"""HelpScreen: every key, what it does, and what the glyphs mean."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .widgets import _glyphs as g


def key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    names = {
        "enter": "Enter",
        "space": "Space",
        "escape": "Esc",
        "plus": "+",
        "equals_sign": "=",
        "minus": "-",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "question_mark": "?",
        "ctrl+s": "Ctrl+S",
        "ctrl+c": "Ctrl+C",
    }
    return " / ".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 96;
        height: 90%;
        border: thick #ffd23f;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.key_bindings = bindings

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold #ffd23f", no_wrap=True)
        keys.add_column()
        for binding in self.key_bindings:
            keys.add_row(key_label(binding), binding.tooltip or binding.description)
        keys.add_row("Ctrl+P", "Command palette: every action by name")
        legend = Table.grid(padding=(0, 2))
        legend.add_column(no_wrap=True)
        legend.add_column()
        seen = set()
        for io_bound in (False, True):
            for glyph, style, text in g.legend_items(io_bound):
                if glyph not in seen:
                    seen.add(glyph)
                    legend.add_row(Text(glyph, style), text)
        with VerticalScroll():
            yield Static(Text("gilviz keys", style="bold"))
            yield Static(keys)
            yield Static(Text("\nLanes: one cell per sample period (100 ms)", style="bold"))
            yield Static(legend)
            yield Static(
                Text(
                    "\nCores used is the lab's CPU seconds per wall second: 1.0 means one core's worth, "
                    "however the OS spreads it over the per-core bars. Press Esc, ? or q to close.",
                    style="#9a9a9a",
                )
            )

    def action_dismiss(self) -> None:
        self.dismiss(None)
