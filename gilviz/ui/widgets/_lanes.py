"""Lanes: one row per worker and its timeline, painted with the Line API.

One widget paints every row (``render_line``) of a :class:`ScrollView`, as
Textual's ``Log`` does: the virtual height is the number of lanes, and only
the lanes on screen are asked of the run (``visible_lanes``). It holds the
latest :class:`~gilviz.ui.timeline.RunView` and draws it when refreshed, so
the cost of a frame does not depend on how often the lab samples. The column
header (:class:`LanesHeader`) and the legend (:class:`Legend`) are widgets of
their own, above and below.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from rich.cells import cell_len
from rich.segment import Segment
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from gilviz.engine.model import WorkerState
from gilviz.engine.workloads import spec
from gilviz.ui._frame import FramePainted
from gilviz.ui.compare_board import LaneGroup
from gilviz.ui.timeline import LaneView, RunView, Switch, clock_number, run_clock

from . import _glyphs as g
from ._still import StillLines

NAME_W = 10
ID_W = 7
DONE_W = 4
CPU_W = 4


@dataclass(frozen=True)
class LaneColumns:
    """Where each column of a lane row goes, for a given width (``fit``
    remembers its answers: every line of every frame asks)."""

    task_w: int  # 0: no task column (narrow terminals)
    timeline_w: int
    os_id: bool = True  # the os-id column (not in the presenter view)

    @classmethod
    @functools.lru_cache(maxsize=64)
    def fit(cls, width: int, presenter: bool = False) -> "LaneColumns":
        """The columns for ``width``; the presenter view keeps the worker's
        name, done and cpu, and gives the rest to the timeline."""
        fixed = NAME_W + 1 + DONE_W + 1 + CPU_W + 1 + 1  # + the "│"
        if presenter:
            return cls(task_w=0, timeline_w=max(0, width - fixed), os_id=False)
        fixed += ID_W + 1
        task_w = 0
        if width >= 96:
            task_w = max(12, min(40, width // 4 - 4))
            fixed += task_w + 1
        return cls(task_w=task_w, timeline_w=max(0, width - fixed))


def _runs_moved_on(runs: list[tuple[str, str]], drop_first: bool, newest) -> list[tuple[str, str]]:
    """Runs of glyphs (text, style name) without their first cell when
    ``drop_first``, and with the ``newest`` cell after their last: every
    glyph is one cell, one character."""
    runs = list(runs)
    if drop_first and runs:
        text, style = runs[0]
        if len(text) > 1:
            runs[0] = (text[1:], style)
        else:
            del runs[0]
    glyph, style = g.glyph(newest)
    if runs and runs[-1][1] == style:
        runs[-1] = (runs[-1][0] + glyph, style)
    else:
        runs.append((glyph, style))
    return runs


def percent(fraction: float, most: int = 999) -> str:
    """A share (of a core, of one worker's solo rate) in the lanes' four
    cells: under 10% with its tenth, so that a run's lanes add up to the
    figure beside them. Rounded to whole percents, sixteen threads at about
    6% of a core each summed to 98% beside "cores used 1.01", and four
    locked race threads read 1 + 3 + 3 + 1% beside "work 0.06× solo"."""
    value = 100 * fraction
    if value <= 0:
        return "0%"
    if value < 9.95:
        return f"{value:.1f}%"
    return f"{min(most, round(value))}%"


def short_task(label: str, width: int) -> str:
    """A task label that fits: "chunk 2/4" for chunks, host/path for URLs."""
    if label.startswith(("http://", "https://")):
        parts = urlsplit(label)
        label = parts.netloc + parts.path
    elif ":" in label and len(label) > width:
        label = label.split(":", 1)[0]
    if len(label) > width:
        label = label[: max(0, width - 1)] + "…"
    return label


def clock_text(t_s: float | None) -> str:
    """The run's clock (``run_clock``) with its unit: "12 s", "12.3 s"."""
    return "" if t_s is None else f"{clock_number(t_s)} s"


def timeline_title(width: int, period_s: float | None, t_s: float | None, visible: range, total: int) -> str:
    """The timeline column's title, the longest that fits in ``width``: the
    time scale, the clock and which lanes are on screen, said shorter and
    shorter ("time → 1 cell = 100 ms, 1.2 s lanes 1-16 of 40 (scroll)" down
    to "100ms/cell 1-16/40", then without the scale)."""
    ms = f"{round(period_s * 1000)} ms" if period_s else "sample period"
    clock = clock_text(t_s)
    lanes = ""
    if total > len(visible):
        lanes = f"{visible.start + 1}-{min(total, visible.stop)}/{total}"
    candidates = [
        f" time → 1 cell = {ms}" + (f", {clock}" if clock else "")
        + (f" lanes {lanes.replace('/', ' of ')} (scroll)" if lanes else ""),
        f" time → cell = {ms}" + (f", {clock}" if clock else "") + (f" lanes {lanes}" if lanes else ""),
        f" time → {ms}/cell" + (f" {clock}" if clock else "") + (f" {lanes}" if lanes else ""),
        f" {ms.replace(' ', '')}/cell" + (f" {clock.replace(' ', '')}" if clock else "")
        + (f" {lanes}" if lanes else ""),
        f" {ms.replace(' ', '')}/cell" + (f" {lanes}" if lanes else ""),
        " " + " ".join(part for part in (clock.replace(" ", ""), lanes) if part),
    ]
    for text in candidates:
        if len(text) <= width:
            return text
    return candidates[-1][: max(0, width)]


def switch_title(width: int, t_s: float | None, switch: Switch) -> str:
    """A switched live run's timeline title, the longest that fits: the
    clock, then when the last switch was and what it changed ("19.3 s ┃
    13.9 s: threads → processes"), shorter and shorter, down to what the
    mode became ("→ processes"); never a word cut (it read "13.9 s: thre")."""
    clock = f"{clock_text(t_s)} " if t_s is not None else ""
    change, short = switch.change, switch.became
    last = short.rsplit(", ", 1)[-1]
    candidates = [f" {clock}┃ {switch.t_s:.1f} s: {change}", f" {clock}┃ {change}", f" {clock}┃ {short}",
                  f" ┃ {short}", f" ┃ {last}", f" {clock}┃"]
    for text in candidates:
        if len(text) <= width:
            return text
    return ""


class LanesHeader(FramePainted, StillLines, g.GlyphLines, Widget):
    """The lanes' column titles, the time scale and which lanes are on screen.

    Its line is kept until it reads differently (StillLines): Textual asks
    for it with every frame of the lanes beside it."""

    COMPONENT_CLASSES = g.COMPONENT_CLASSES

    DEFAULT_CSS = """
    LanesHeader {
        height: 1;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.period_s: float | None = None  # the session's sample period
        self.presenter = False  # the presenter view's columns (LaneColumns.fit)
        self.scale = 1  # sample periods per cell (a compare's runs squeezed to fit)
        self._shown: tuple = ()

    def show(self, t_s: float | None, visible: range, total: int, live: bool = False,
             switch: Switch | None = None) -> None:
        """The clock of the run on screen, the lanes shown of ``total``; in a
        live run the lanes give each worker's rate, and ``switch`` says what
        the last mode switch changed. A live run's clock counts whole
        seconds (``run_clock``): the header is drawn again once a second."""
        if t_s is not None:
            t_s = run_clock(t_s, live)
        # with what the line is made of besides (set as attributes)
        shown = (t_s, visible, total, live, switch, self.period_s, self.scale, self.presenter)
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render_line(self, y: int) -> Strip:
        # every segment comes in the widget's own colours (GlyphStyles.strip)
        width = self.line_width
        if y != 0:
            return self.blank(width)
        t_s, visible, total, live, switch = self._shown[:5] if self._shown else (None, range(0), 0, False, None)
        cols = LaneColumns.fit(width, self.presenter)
        text = f"{'worker':<{NAME_W}} "
        if cols.os_id:
            text += f"{'os id':>{ID_W}} "
        if cols.task_w:
            text += f"{'task':<{cols.task_w}} "
        text += f"{'rate' if live else 'done':>{DONE_W}} {'cpu':>{CPU_W}} │"
        dim = self.glyph_style(g.DIM)
        period_s = self.period_s * self.scale if self.period_s else None
        if switch is not None:  # a live run switched: say when and what, before the rest of the title
            timeline = switch_title(cols.timeline_w, t_s, switch)
        else:
            timeline = timeline_title(cols.timeline_w, period_s, t_s, visible, total)
        return self.strip([Segment(text, dim), Segment(timeline, dim)], width)


class Legend(FramePainted, StillLines, g.GlyphLines, Widget):
    """What the glyphs of the lanes mean, for the workload on screen."""

    COMPONENT_CLASSES = g.COMPONENT_CLASSES

    DEFAULT_CSS = """
    Legend {
        height: auto;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.workload = "count"
        self.states_measured = True
        self.full_block = "one worker alone on a free core"
        self.race_lock = False  # not ``lock``: every Textual widget has its own ``lock``
        self.gil_enabled: bool | None = True
        self._lines: list[Strip] = []
        self._lines_key: tuple | None = None

    def show(self, workload: str, states_measured: bool = True,
             full_block: str = "one worker alone on a free core", lock: bool = False,
             gil_enabled: bool | None = True) -> None:
        """The legend for ``workload``; ``states_measured`` False where the
        kernel gave no split; ``full_block``: what █ stands for."""
        shown = (workload, states_measured, full_block, lock, gil_enabled)
        if shown != (self.workload, self.states_measured, self.full_block, self.race_lock, self.gil_enabled):
            width = self.content_size.width  # as the layout measured it (get_content_height)
            height = len(self._legend_lines(width)) if width else None
            self.workload, self.states_measured, self.full_block, self.race_lock, self.gil_enabled = shown
            # another legend may take another number of lines; the same number
            # (a new solo rate, at each switch of a live run) needs no layout
            # pass, which cost 10-20 ms of the UI thread with 256 lanes
            self.refresh(layout=height is None or len(self._legend_lines(width)) != height)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines_key = None  # the cached lines hold the old theme's colours

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._legend_lines(width))

    def render_line(self, y: int) -> Strip:
        # every segment comes in the widget's own colours (GlyphStyles.strip)
        lines = self._legend_lines(self.line_width)
        return lines[y] if 0 <= y < len(lines) else self.blank(self.line_width)

    def _legend_lines(self, width: int) -> list[Strip]:
        base = self.base_style  # the styles as they are now, made again if the app's filter changed
        key = (self.workload, self.states_measured, self.full_block, self.race_lock, self.gil_enabled, width,
               base, self._true_colour)
        if self._lines_key != key:
            self._lines = self._make_legend(width)
            self._lines_key = key
        return self._lines

    def _make_legend(self, width: int) -> list[Strip]:
        lines: list[list[Segment]] = [[]]
        used = 0
        work = spec(self.workload)
        items = g.legend_items(work.io_bound, self.states_measured, self.full_block, self.race_lock,
                               self.gil_enabled, work.io_lane)
        dim = self.glyph_style(g.DIM)
        for glyph, style, text in items:
            item = len(glyph) + 1 + len(text)
            if used and used + 3 + item > width:
                lines.append([])
                used = 0
            if used:
                lines[-1].append(Segment("   "))
                used += 3
            # an item longer than a line goes on over the next ones, under its text
            indent = len(glyph) + 1
            parts = textwrap.wrap(text, max(10, width - indent)) if item > width else [text]
            lines[-1] += [Segment(glyph, self.glyph_style(style)), Segment(" " + parts[0], dim)]
            used += indent + len(parts[0])
            for part in parts[1:]:
                lines.append([Segment(" " * indent + part, dim)])
                used = indent + len(part)
        return [self.strip(segments, width) for segments in lines]


class Lanes(FramePainted, g.GlyphLines, ScrollView):
    """Every worker of the current run, one row each, with its timeline."""

    COMPONENT_CLASSES = g.COMPONENT_CLASSES

    DEFAULT_CSS = """
    Lanes {
        height: 1fr;
        width: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 0;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.view: RunView | None = None
        self.workload = "count"
        self.hint = ""
        self.presenter = False  # the presenter view's columns (LaneColumns.fit)
        #: a compare's runs, grouped under their headings (None: the run on screen only)
        self.groups: list[LaneGroup] | None = None
        self._rows: tuple[LaneView | LaneGroup, ...] = ()
        #: each lane's last timeline, by worker name: its cells and their runs of glyphs
        self._timelines: dict[str, tuple[tuple, list[tuple[str, str]]]] = {}

    # -- what the stage calls -------------------------------------------------

    @property
    def columns(self) -> LaneColumns:
        return LaneColumns.fit(self.laid_out_size.width, self.presenter)

    def show(self, view: RunView | None, workload: str, hint: str = "") -> None:
        """Draw ``view``. Only the lanes are repainted when the mode is the
        same, not the blank rows under them."""
        partial = (
            self.view is not None
            and view is not None
            and workload == self.workload
            and hint == self.hint
            and len(view.lanes) == len(self.view.lanes)
        )
        partial = partial and self.groups is None
        self.groups = None
        self.view = view
        self.workload = workload
        self.hint = hint
        virtual_size = Size(0, len(self._lanes()))
        if virtual_size != self.virtual_size:  # a reactive's set costs, the same or not
            self.virtual_size = virtual_size
        if partial and view is not None:
            # the lanes' rows from the top of the panel (ScrollView.refresh_lines, without its size lookup)
            size = self.laid_out_size
            self.refresh(Region(0, 0, size.width, min(size.height, len(view.lanes))))
        else:
            self.refresh()

    def show_groups(self, groups: list[LaneGroup], workload: str) -> None:
        """Draw a compare's runs, each under its heading, on one time axis."""
        rows: list[LaneView | LaneGroup] = []
        for group in groups:
            rows.append(group)
            rows.extend(group.lanes)
        self.groups = groups
        self.workload = workload
        self._rows = tuple(rows)
        self.virtual_size = Size(0, len(rows))
        self.refresh()

    def visible_lanes(self) -> range:
        """The lanes on screen now: only these need their timelines."""
        first = self.scroll_offset.y
        return range(first, first + self.laid_out_size.height)

    def _lanes(self) -> tuple[LaneView | LaneGroup, ...]:
        if self.groups is not None:
            return self._rows
        return self.view.lanes if self.view is not None else ()

    # -- painting -------------------------------------------------------------

    #: the first lane on screen while Textual renders the lines (``render_lines``)
    _frame_top: int | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_top = self.scroll_offset.y  # once a frame, not once a line
        try:
            return super().render_lines(crop)
        finally:
            self._frame_top = None

    def _top(self) -> int:
        """The first lane on screen (read once a frame while Textual renders it)."""
        return self.scroll_offset.y if self._frame_top is None else self._frame_top

    def content_rows(self) -> int | None:
        lanes = self._lanes()
        if not lanes:  # the hint
            return None
        return max(0, len(lanes) - self._top())

    def render_line(self, y: int) -> Strip:
        # every segment comes in the widget's own colours (GlyphStyles.strip)
        width = self.line_width
        lanes = self._lanes()
        if not lanes:
            lines = self._hint_lines(width)
            if 1 <= y < 1 + len(lines):
                return self.strip([Segment(lines[y - 1], self.glyph_style(g.LABEL))], width)
            return self.blank(width)
        index = self._top() + y
        if index >= len(lanes):
            return self.blank(width)
        row = lanes[index]
        if isinstance(row, LaneGroup):
            style = self.glyph_style(g.LABEL if row.finished else g.BUSY)
            return self.strip([Segment(row.fit(width)[:width], style)], width)
        return self._lane(row, LaneColumns.fit(width, self.presenter), width)

    def _hint_lines(self, width: int) -> list[str]:
        return textwrap.wrap(self.hint, max(10, width - 4), initial_indent="  ", subsequent_indent="  ")

    def _lane(self, lane: LaneView, cols: LaneColumns, width: int) -> Strip:
        sample = lane.sample
        ident = lane.identity
        os_id = (sample.os_id if sample is not None and sample.os_id else ident.os_id) or 0
        style = self.glyph_style
        segments, used = self._lane_head(ident, os_id, lane.task, cols)
        # a compare's groups are fixed-work runs: how far each got, whatever
        # run (a stopped live one) the lanes showed before
        done_text, done_style = self._done(lane, self.view if self.groups is None else None)
        segments.append(Segment(f"{done_text:>{DONE_W}} ", style(done_style)))
        # a worker that ended: its share of the period it ended in, while the
        # run goes on; once the run is over, none (a compare's lanes showed
        # 94% and 88% for two threads, "–" for the two that ended a period earlier)
        over = self.groups is not None or self.view is None or not self.view.running
        ended = sample is not None and sample.state in (WorkerState.DONE, WorkerState.CANCELLED)
        if sample is None or ended and (sample.units_delta == 0 or over):
            cpu_text, cpu_style = "–", g.DIM
        else:
            cpu_text, cpu_style = percent(sample.cpu_share, 100), g.load_style(sample.cpu_share)
        segments.append(Segment(f"{cpu_text:>{CPU_W}} ", style(cpu_style)))
        segments.append(Segment("│", style(g.DIM)))
        used += len(segments[-3].text) + len(segments[-2].text) + 1
        if cols.timeline_w > 0:
            for text, name in self._timeline(ident.name, lane.cells[-cols.timeline_w:]):
                segments.append(Segment(text, style(name)))
                used += len(text)
        if used == width:
            return g.Line(segments, width)
        return g.fit_strip(segments, width, self.base_style, used)  # every segment has its style

    #: a lane's first columns (name, os id, task), which change only with
    #: its task: made once, not each frame (the glyph styles they were made
    #: in, ``_painted``, and the segments with their width, by what they show)
    _heads_painted: dict | None = None
    _heads: dict[tuple, tuple[tuple[Segment, ...], int]] = {}

    def _lane_head(self, ident, os_id: int, task: str, cols: LaneColumns) -> tuple[list[Segment], int]:
        """The segments of a lane's name, os id and task, and their width."""
        dim = self.glyph_style(g.DIM)  # makes the styles, if a theme change emptied them
        if self._heads_painted is not self._painted or len(self._heads) > 4096:
            self._heads, self._heads_painted = {}, self._painted
        key = (ident.name, ident.kind, os_id, task, cols)
        head = self._heads.get(key)
        if head is None:
            style = self.glyph_style
            name_style = style(g.PROCESS if ident.kind == "process" else g.THREAD)
            segments = [Segment(f"{ident.name[:NAME_W]:<{NAME_W}} ", name_style)]
            if cols.os_id:
                segments.append(Segment(f"{(str(os_id) if os_id else '–'):>{ID_W}} ", dim))
            if cols.task_w:
                segments.append(Segment(f"{short_task(task, cols.task_w):<{cols.task_w}} ", style(g.TEXT)))
            # only a task's label may hold a character wider than one cell (a URL's)
            head = self._heads[key] = (tuple(segments), sum(cell_len(s.text) for s in segments))
        return list(head[0]), head[1]

    def _timeline(self, name: str, cells: tuple) -> list[tuple[str, str]]:
        """A lane's cells as runs of glyphs of one style (``glyph_runs``),
        made from the lane's last frame where its timeline only moved on by
        a cell, as it does at each sample period: the oldest cell leaves,
        the newest comes (a lane's sixty cells looked up again each frame
        were half of drawing it)."""
        last = self._timelines.get(name)
        runs: list[tuple[str, str]] | None = None
        if last is not None:
            step = g.moved_on(last[0], cells)
            if step == g.SAME:
                runs = last[1]
            elif step is not None:
                runs = _runs_moved_on(last[1], step == g.SHIFTED, cells[-1])
        if runs is None:
            runs = g.glyph_runs(cells)
        if last is None and len(self._timelines) > 1024:  # workers of runs long gone
            self._timelines.clear()
        self._timelines[name] = (cells, runs)
        return runs

    @staticmethod
    def _done(lane: LaneView, view: RunView | None) -> tuple[str, str]:
        """How far the worker got; in a live run, its rate against one
        worker alone on a free core (100% = full speed)."""
        sample = lane.sample
        if sample is None:
            return "–", g.DIM
        if sample.state == WorkerState.ERROR:
            return "err", g.ERROR
        if view is not None and view.live:
            solo = view.solo_units_per_s
            if not solo:
                return "–", g.DIM
            # over the same window as its cpu column (with many workers, the
            # last read of their CPU times, every few periods)
            return percent(sample.units_per_s / solo), g.VALUE
        if lane.units_expected:
            pct = min(100, int(100 * sample.units / lane.units_expected))
            style = g.WORK if sample.state == WorkerState.DONE else g.VALUE
            return f"{pct}%", style
        return f"{sample.tasks_done}/{sample.tasks_total}", g.VALUE
