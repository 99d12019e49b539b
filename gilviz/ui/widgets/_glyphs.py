"""How a cell of history looks: glyphs and colours shared by the lanes, the
meters and the legend. Fixed, high-contrast colours: they must read on a
projector whatever the terminal's theme."""

from __future__ import annotations

from rich.style import Style

from gilviz.ui.timeline import Cell, CellKind

EIGHTHS = " ▁▂▃▄▅▆▇█"
BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"

WORK = Style(color="#3ddc84")
STALLED = Style(color="#ff8c1a", bold=True)
WAITING = Style(color="#ffd23f")
RECEIVING = Style(color="#35c6ff")
QUEUED = Style(color="#8a8a8a")
DONE = Style(color="#4f7f5f")
ERROR = Style(color="#ff4a4a", bold=True)
CANCELLED = Style(color="#8a8a8a")
DIM = Style(color="#9a9a9a")
LABEL = Style(color="#e8e8e8", bold=True)
TEXT = Style(color="#e8e8e8")
VALUE = Style(color="#ffffff", bold=True)
TROUGH = Style(color="#3a3a3a")

_GLYPHS: dict[CellKind, tuple[str, Style]] = {
    CellKind.EMPTY: (" ", TEXT),
    CellKind.QUEUED: ("·", QUEUED),
    CellKind.STALLED: ("-", STALLED),
    CellKind.WAITING: ("░", WAITING),
    CellKind.RECEIVING: ("█", RECEIVING),
    CellKind.DONE: ("─", DONE),
    CellKind.ERROR: ("✗", ERROR),
    CellKind.CANCELLED: ("×", CANCELLED),
}


def glyph(cell: Cell) -> tuple[str, Style]:
    if cell.kind == CellKind.WORK:
        return EIGHTHS[max(1, min(8, cell.level))], WORK
    return _GLYPHS[cell.kind]


def legend_items(io_bound: bool) -> list[tuple[str, Style, str]]:
    """(glyph, style, meaning) for the legend under the lanes."""
    if io_bound:
        items = [
            ("░", WAITING, "waiting for the network"),
            ("█", RECEIVING, "receiving bytes"),
        ]
    else:
        items = [
            ("▂▅█", WORK, "work done (█ = one worker alone on a free core)"),
            ("-", STALLED, "stalled (no GIL or no free core)"),
        ]
    return items + [
        ("·", QUEUED, "queued"),
        ("─", DONE, "done"),
        ("✗", ERROR, "error"),
    ]


def load_style(fraction: float) -> Style:
    """Colour of a CPU load: green, amber when busy, red when saturated."""
    if fraction >= 0.9:
        return Style(color="#ff5f5f", bold=True)
    if fraction >= 0.6:
        return Style(color="#ffd23f")
    return WORK


def spark(values, width: int, top: float) -> str:
    """The newest ``width`` values as a sparkline scaled to ``top``."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    out = []
    for v in tail:
        f = 0.0 if top <= 0 else max(0.0, min(1.0, v / top))
        out.append(EIGHTHS[round(f * 8)] if f > 0 else " ")
    return "".join(out).ljust(width)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar, eighths of a cell resolution."""
    if width <= 0:
        return ""
    f = max(0.0, min(1.0, fraction))
    eighths = round(f * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_EIGHTHS[part] if part else "")
    return text.ljust(width)
