"""How a cell of history looks: glyphs, and the names of their colours,
shared by the lanes, the meters and the legend.

The colours themselves live in ``gilviz.tcss`` (``.glyph--work`` ...), made of
theme variables, so every Textual theme (a light one for a bright hall, high
contrast) applies. A widget that paints glyphs mixes in :class:`GlyphStyles`
and asks ``self.glyph_style(name)`` for the Rich style of a name.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from typing import Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.strip import Strip

from gilviz.ui.timeline import Cell, CellKind

EIGHTHS = " ▁▂▃▄▅▆▇█"
BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"

WORK = "glyph--work"
STALLED = "glyph--stalled"
WAITING = "glyph--waiting"
RECEIVING = "glyph--receiving"
QUEUED = "glyph--queued"
DONE = "glyph--done"
ERROR = "glyph--error"
CANCELLED = "glyph--cancelled"
DIM = "glyph--dim"
LABEL = "glyph--label"
TEXT = "glyph--text"
VALUE = "glyph--value"
TROUGH = "glyph--trough"
BUSY = "glyph--busy"  # a CPU load above 60%
SATURATED = "glyph--saturated"  # ... above 90%
GIL_WAIT = "glyph--gil"  # measured: blocked with work to do (the GIL, or a lock)
CORE_WAIT = "glyph--core"  # measured: runnable, no free core
THREAD = "glyph--thread"  # a thread's name
PROCESS = "glyph--process"  # a process's name

COMPONENT_CLASSES = {
    WORK, STALLED, WAITING, RECEIVING, QUEUED, DONE, ERROR, CANCELLED,
    DIM, LABEL, TEXT, VALUE, TROUGH, BUSY, SATURATED, THREAD, PROCESS, GIL_WAIT, CORE_WAIT,
}


class Line(Strip):
    """A strip drawn for one frame, that leaves no garbage cycle behind.

    Textual's compositor divides every line of a frame at the screen's
    cuts, and a strip within one cut is divided into a list of itself,
    which ``Strip.divide`` keeps in the strip's own cache: a reference
    cycle. Every line the app drew (the strip, its seven caches, their
    dicts and segments, about 17 objects) was then freed only by the cycle
    collector: 260 strips a second at 16 lanes, 3-4 ms a second of
    collections and a full one of 10-15 ms every ten seconds, seen here
    (``gc.callbacks``). Here that one case is not kept: the line is freed
    as soon as the next frame replaces it.
    """

    __slots__ = ()

    def divide(self, cuts: Iterable[int]) -> Sequence[Strip]:
        length = self.cell_length
        cuts = [cut for cut in cuts if cut <= length]
        if cuts == [length]:  # the whole of it: itself, not cached
            return [self]
        return super().divide(cuts)


def fit_strip(segments: list[Segment], width: int, pad_style: Style, used: int | None = None) -> Strip:
    """A strip of exactly ``width`` cells: the segments, padded with blank
    cells in ``pad_style`` or cut. Padding is added before the strip is
    made: ``Strip.adjust_cell_length`` made a second strip of every line
    (each strip comes with seven caches), 4 µs of a line's 6. ``used``: the
    segments' cells, where the caller counted them (measuring them again
    was two thirds of this, a lane's glyphs all one cell wide)."""
    if used is None:
        used = sum([cell_len(segment.text) for segment in segments])
    if used < width:
        segments.append(Segment(" " * (width - used), pad_style))
    elif used > width:
        return Line(list(Strip(segments, used).adjust_cell_length(width, pad_style)), width)
    return Line(segments, width)


class GlyphStyles:
    """Mixed into a widget that paints glyphs (which also sets
    ``COMPONENT_CLASSES = COMPONENT_CLASSES``: Textual reads them from the
    widget's own classes): the Rich style of a name, as the stylesheet and
    the theme make it, over the widget's own style.

    The styles are kept until the stylesheet next applies to the widget
    (``notify_style_update``: a theme change, a class change above it).
    Textual's own cache of component styles is emptied by every
    ``refresh()``, and making a style walks every ancestor: a frame of 16
    lanes asked for about a hundred of them, the largest part of drawing it.
    """

    _painted: dict[str, Style] | None = None
    _blanks: dict[tuple[int, Style], Strip] | None = None
    #: the app's filter the styles in ``_painted`` were made true colour by
    _true_colour: ANSIToTruecolor | None = None

    def glyph_style(self, name: str) -> Style:
        """The style of ``name`` (a component class), the widget's own style
        under it, as ``Strip.apply_style(widget.rich_style)`` would make it."""
        painted = self._painted
        if painted is None:
            # made in true colour, as the app's filter would make them a line
            # at a time (see render_lines): the filter that did it is kept
            self._true_colour = self._app_true_colour()
            painted = self._painted = {"": self._in_true_colour(self.rich_style)}  # type: ignore[attr-defined]
        style = painted.get(name)
        if style is None:
            # made whole, then made true colour, as the filter sees a segment
            # (a dim widget style dims the glyph's colour too)
            style = painted[name] = self._in_true_colour(
                self.rich_style + self.get_component_rich_style(name))  # type: ignore[attr-defined]
        return style

    def _app_true_colour(self, filters: Sequence[LineFilter] | None = None) -> ANSIToTruecolor | None:
        """The app's true-colour filter (of ``filters``, the app's line filters), where it is on."""
        if filters is None:
            filters = self.get_line_filters()  # type: ignore[attr-defined]
        return next((f for f in filters if isinstance(f, ANSIToTruecolor)), None)

    def _in_true_colour(self, style: Style) -> Style:
        if self._true_colour is None:
            return style
        _, background = self.background_colors  # type: ignore[attr-defined]
        return self._true_colour.truecolor_style(style, background.rich_color)

    @property
    def base_style(self) -> Style:
        """The widget's own colours: blank cells and padding."""
        return self.glyph_style("")

    def strip(self, segments: list[Segment], width: int) -> Strip:
        """One line of ``width`` cells; unstyled segments, and the padding,
        in the widget's own colours (a light theme would otherwise show the
        terminal's default background there)."""
        base = self.base_style
        return fit_strip([s if s.style is not None else Segment(s.text, base) for s in segments], width, base)

    def blank(self, width: int) -> Strip:
        """A line of nothing: one object per width and style, so the app's
        filters, which remember what they made of a strip, run once for it."""
        key = (width, self.base_style)
        blank = self._blanks.get(key) if self._blanks is not None else None
        if blank is None:
            if self._blanks is None or len(self._blanks) > 16:
                self._blanks = {}
            blank = self._blanks[key] = Strip.blank(width, self.base_style)
        return blank

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._painted = None

    @property
    def laid_out_size(self) -> Size:
        """The content area's size (``size``) as the layout last gave it.
        ``Widget.size`` finds the widget on its screen at every call (15-20
        µs in the running app, some fourteen calls a frame); the layout's
        size, less the gutter, is the same while the widget is on screen.
        A hidden widget keeps the size it last had."""
        size: Size = self.outer_size  # type: ignore[attr-defined]
        top, right, bottom, left = self.styles.gutter  # type: ignore[attr-defined]
        if top or right or bottom or left:
            return Size(max(0, size.width - left - right), max(0, size.height - top - bottom))
        return size


class GlyphLines(GlyphStyles):
    """GlyphStyles for a widget drawn with the Line API (``render_line``)
    whose every segment is in a style of ``glyph_style``'s: the lanes, their
    header, the legend, the CPU panel. It gives Textual its lines without
    the styles cache's per-line work, where its styles leave that work
    nothing to do."""

    #: the content width while Textual renders this widget's lines (see ``render_lines``)
    _frame_width: int | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual asks for every line of a widget in one call: its width is
        read once for all of them (a frame draws some thirty lines)."""
        self._frame_width = width = self.laid_out_size.width
        app_filters = self.get_line_filters()  # type: ignore[attr-defined]
        if self._painted is not None and self._app_true_colour(app_filters) is not self._true_colour:
            # the app's filter changed (ansi_color, a terminal theme) without
            # the stylesheet applying again: the styles are made again
            self._painted = None
        try:
            if not self._plain():
                return super().render_lines(crop)  # type: ignore[misc]
            # A widget with no border, padding, outline, tint or opacity: its
            # lines as it draws them, through the app's filters, as Textual's
            # styles cache would give them, without the cache's per-line work
            # for the styles it does not have (40 µs a line, 16 lines or more
            # a frame), as Textual itself does for a BLANK widget.
            render_line, base = self.render_line, self.base_style  # type: ignore[attr-defined]
            # every segment is in a style of glyph_style's, made true colour
            # already by the app's filter: that filter would change nothing
            # (and made a new line of every line, a tenth of a frame)
            filters = [f for f in app_filters if f is not self._true_colour]
            if filters:  # the background walks every ancestor: only for a filter that needs it
                _, background = self.background_colors  # type: ignore[attr-defined]
            lines = []
            # the rows past the content are blank: one line for them all (the
            # lanes' and the CPU panel's empty rows are half of their lines)
            content, blank = self.content_rows(), None
            for y in crop.line_range:
                if content is not None and y >= content:
                    if blank is None:
                        blank = self.blank(width)
                        for line_filter in filters:
                            blank = blank.apply_filter(line_filter, background)
                    lines.append(blank)
                    continue
                strip = render_line(y)
                if strip.cell_length != width:
                    strip = strip.adjust_cell_length(width, base)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                lines.append(strip)
            x1, x2 = crop.column_span
            if (x1, x2) != (0, width):
                lines = [strip.crop(x1, x2) for strip in lines]
            return lines
        finally:
            self._frame_width = None

    def content_rows(self) -> int | None:
        """How many rows from the top may have something in them: those
        below are blank (``blank``), as ``render_line`` would make them. None:
        ask ``render_line`` for every row."""
        return None

    #: ``_plain``'s answer, and the styles it was for (``_styles_key``)
    _plain_answer: tuple[tuple, bool] | None = None

    def _plain(self) -> bool:
        """Nothing in the widget's styles that Textual's styles cache would
        draw around or over its lines. Asked once a frame, answered again
        only when a style of the widget or of an ancestor changed: the
        answer walks every ancestor's opacity (45 µs in the running app,
        three widgets a frame)."""
        key = self._styles_key()
        answer = self._plain_answer
        if answer is None or answer[0] != key:
            answer = self._plain_answer = (key, self._plain_now())
        return answer[1]

    def _styles_key(self) -> tuple:
        """What changes whenever a style of the widget or of an ancestor
        does: the sum of their styles' change counters (Textual's
        ``RenderStyles._cache_key``, which only grow), CSS and inline alike,
        and the border's titles."""
        total = 0
        node = self
        while node is not None:
            total += node.styles._cache_key  # type: ignore[attr-defined]
            node = node.parent  # type: ignore[attr-defined]
        return total, self._border_title, self._border_subtitle

    def _plain_now(self) -> bool:
        styles = self.styles  # type: ignore[attr-defined]
        return (
            not any(styles.gutter)  # border and padding
            and not any(kind for kind, _ in styles.outline)
            and not styles.tint.a
            and self.opacity == 1.0  # type: ignore[attr-defined]
            and styles.text_opacity == 1.0
            and (not styles.has_rule("hatch") or styles.hatch == "none")
            and self._border_title is None  # type: ignore[attr-defined]
            and self._border_subtitle is None  # type: ignore[attr-defined]
        )

    @property
    def line_width(self) -> int:
        """The width a line is drawn at: the content width."""
        width = self._frame_width
        return self.laid_out_size.width if width is None else width


_GLYPHS: dict[CellKind, tuple[str, str]] = {
    CellKind.EMPTY: (" ", TEXT),
    CellKind.QUEUED: ("·", QUEUED),
    CellKind.STALLED: ("-", STALLED),
    CellKind.WAITING: ("░", WAITING),
    CellKind.RECEIVING: ("█", RECEIVING),
    CellKind.DONE: ("─", DONE),
    CellKind.ERROR: ("✗", ERROR),
    CellKind.CANCELLED: ("×", CANCELLED),
    CellKind.GIL_WAIT: ("-", GIL_WAIT),
    CellKind.CORE_WAIT: (":", CORE_WAIT),
    CellKind.SWITCH: ("┃", LABEL),
}

#: The colour of a cell with work done, by the state it spent most of its period in.
_WORK_BY_STATE = {"gil_wait": GIL_WAIT, "core_wait": CORE_WAIT}


def _glyph(cell: Cell) -> tuple[str, str]:
    if cell.kind == CellKind.WORK:
        return EIGHTHS[max(1, min(8, cell.level))], _WORK_BY_STATE.get(cell.state or "", WORK)
    return _GLYPHS[cell.kind]


#: every cell there is (``timeline.cell`` makes one object per value: a few
#: hundred at most), by its ``id``: hashing a cell's three fields took a third
#: of drawing a lane, 60 cells a lane, 16 lanes a frame
_BY_ID: dict[int, tuple[str, str]] = {}
#: the cells behind those ids, kept alive, so no other object can take one's id
_KEPT: list[Cell] = []


def glyph(cell: Cell) -> tuple[str, str]:
    """The glyph of a cell, and the name of its style: a work cell's height
    is the work done, its colour the state the worker spent most of it in."""
    found = _BY_ID.get(id(cell))
    if found is None:
        found = _BY_ID[id(cell)] = _glyph(cell)
        _KEPT.append(cell)
    return found


def glyph_runs(cells) -> list[tuple[str, str]]:
    """The cells' glyphs as runs of one style: (text, style name), one a
    segment; every glyph is one cell wide, so a run's width is its length."""
    get = _BY_ID.get
    pairs = [get(id(c)) or glyph(c) for c in cells]
    return [("".join([text for text, _ in run]), style) for style, run in groupby(pairs, _style_of)]


_style_of = itemgetter(1)


def blocked_meaning(gil_enabled: bool | None, lock: bool = False) -> str:
    """What a worker blocked with work to do waits for, true of the
    interpreter: on a free-threaded build there is no GIL to wait for."""
    if gil_enabled is False:
        return "waiting for the lock" if lock else "blocked with work to do"
    return "waiting for the GIL" + (" or the lock" if lock else "")


def legend_items(io_bound: bool, states_measured: bool = True, full_block: str = "one worker alone on a free core",
                 lock: bool = False, gil_enabled: bool | None = True,
                 io_lane: bool = False) -> list[tuple[str, str, str]]:
    """(glyph, style name, meaning) for the legend under the lanes.
    ``full_block`` says what a full block stands for (the measured solo rate)."""
    if io_bound:
        items = [
            ("░", WAITING, "waiting for the network"),
            ("█", RECEIVING, "receiving bytes"),
        ]
    elif states_measured:
        items = [
            ("▂▅█", WORK, f"running: █ = {full_block}"),
            ("▅-", GIL_WAIT, blocked_meaning(gil_enabled, lock)),
            ("▅:", CORE_WAIT, "waiting for a core"),
        ]
        if io_lane:  # the convoy's I/O lane
            items += [("░", WAITING, "waiting for the network"), ("█", RECEIVING, "answers arriving")]
    else:
        items = [
            ("▂▅█", WORK, f"work done, █ = {full_block}"),
            ("-", STALLED, "no work (no GIL or no free core: telling them apart needs Linux schedstat)"),
        ]
    return items + [
        ("·", QUEUED, "queued"),
        ("─", DONE, "done"),
        ("✗", ERROR, "error"),
    ]


def load_style(fraction: float) -> str:
    """Style name of a CPU load: work (green), busy (amber), saturated (red)."""
    if fraction >= 0.9:
        return SATURATED
    if fraction >= 0.6:
        return BUSY
    return WORK


def _spark_cell(value: float, top: float) -> str:
    f = 0.0 if top <= 0 else max(0.0, min(1.0, value / top))
    return EIGHTHS[round(f * 8)] if f > 0 else " "


def spark(values, width: int, top: float) -> str:
    """The newest ``width`` values as a sparkline scaled to ``top``."""
    if width <= 0:
        return ""
    return "".join([_spark_cell(v, top) for v in list(values)[-width:]]).ljust(width)


SAME, SHIFTED, GREW = "same", "shifted", "grew"


def moved_on(old: tuple, new: tuple) -> str | None:
    """How a history ``new`` follows ``old``, where something drawn from
    ``old`` can be moved on rather than drawn again: SAME; SHIFTED (the
    oldest left, one came, as a full history at each sample period); GREW
    (one came, as it fills); None for anything else."""
    if old is new or old == new:
        return SAME
    if new and len(new) == len(old) and old[1:] == new[:-1]:
        return SHIFTED
    if new and len(new) == len(old) + 1 and old == new[:-1]:
        return GREW
    return None


def spark_kept(kept: dict, key: object, values, width: int, top: float) -> str:
    """``spark``, made from the one it made for ``key`` last time (kept in
    ``kept``) where the values only moved on by one, as a history does at
    each sample period: the CPU panel's histories, redrawn whole each
    frame, were the larger part of drawing it."""
    if width <= 0:
        return ""
    tail = tuple(values)[-width:]
    body = None
    last = kept.get(key)
    if last is not None and last[1:3] == (top, width):
        old_body, step = last[3], moved_on(last[0], tail)
        if step == SAME:
            body = old_body
        elif step is not None:  # the oldest left (SHIFTED), or not (GREW); the newest came
            body = old_body[1 if step == SHIFTED else 0:] + _spark_cell(tail[-1], top)
    if body is None:
        body = spark(tail, len(tail), top)
    kept[key] = (tail, top, width, body)
    return body.ljust(width)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar, eighths of a cell resolution."""
    if width <= 0:
        return ""
    f = max(0.0, min(1.0, fraction))
    eighths = round(f * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_EIGHTHS[part] if part else "")
    return text.ljust(width)
