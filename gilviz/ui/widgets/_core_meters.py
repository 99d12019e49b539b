"""CoreMeters: the lab's "cores used" gauge over one bar per core.

Per-core bars alone mislead: two pure-Python threads can show as two cores at
~50% while the lab as a whole uses one core's worth of CPU. So the gauge on
top is the lab's CPU seconds per wall second, measured by the sampler, scaled
to the number of cores. Painted with the Line API.
"""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from gilviz.engine.model import gil_between
from gilviz.engine.workloads import spec
from gilviz.export.text import amount, human
from gilviz.ui._frame import FramePainted
from gilviz.ui.timeline import RunView

from . import _glyphs as g

#: Periods in the mean of a waiting workload's throughput: a second at 100 ms.
IO_MEAN_PERIODS = 10

#: Rows above the per-core meters: cores used (title, bar, history), the
#: run's work rate, GIL wait and race counter, and the per-core heading.
TOP_ROWS = 7

BOLD = Style(bold=True)


class CoreMeters(FramePainted, g.GlyphLines, Widget):
    COMPONENT_CLASSES = g.COMPONENT_CLASSES

    DEFAULT_CSS = """
    CoreMeters {
        height: 1fr;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.view: RunView | None = None
        self.cpu_count: int | None = None
        self.run_cores_used: float | None = None  # the finished run's average
        self.run_units_per_s: float | None = None  # ... and its work's
        #: the rows with something in them, made by ``show`` for the frame,
        #: and what they were made for: the size and the glyph styles
        self._rows: list[Strip] = []
        self._rows_for: tuple | None = None
        #: each history's last sparkline (g.spark_kept): "used", and each core by its index
        self._sparks: dict[object, tuple] = {}

    def show(self, view: RunView | None, cpu_count: int | None, run_cores_used: float | None = None,
             run_units_per_s: float | None = None) -> None:
        """``run_cores_used``, ``run_units_per_s``: once a run is over, its
        measured averages, shown instead of the last sample's."""
        self.view = view
        self.cpu_count = cpu_count
        self.run_cores_used = run_cores_used
        self.run_units_per_s = run_units_per_s
        size = self.laid_out_size
        rows = min(size.height, self.content_rows())  # the rest is blank: not repainted
        before, made_for = self._rows, self._rows_for
        if not self.display or not size.width or rows <= 0:
            # hidden (the presenter view): nothing to repaint; shown again,
            # the layout repaints it all, and render_line makes its rows
            self._rows, self._rows_for = [], None
            return
        self._frame_width = size.width
        try:
            self._rows = [self._row(y, size.width) for y in range(rows)]
        finally:
            self._frame_width = None
        self._rows_for = self._made_for(size)
        # another size or theme: every row
        if made_for is None or made_for[:2] != self._rows_for[:2] or len(before) != len(self._rows):
            self.refresh(Region(0, 0, size.width, rows))
            return
        # only the rows that changed go through Textual's compositor: at 16
        # lanes the panel's rows were a fifth of a frame, and half of them
        # (the bar, the headings, a GIL wait that held) read the same
        changed = []
        for y, (old, new) in enumerate(zip(before, self._rows, strict=True)):
            if old == new:
                self._rows[y] = old  # the same line, already rendered to escape codes
            else:
                changed.append(y)
        if changed:
            self.refresh(*[Region(0, y, size.width, 1) for y in changed])

    def _made_for(self, size) -> tuple:
        """What the rows ``show`` made depend on: the size, the glyph styles
        (a theme), and what they show."""
        return size, self._painted, self.view, self.cpu_count, self.run_cores_used, self.run_units_per_s

    def _cores_used_now(self) -> float | None:
        if self.run_cores_used is not None:
            return self.run_cores_used
        if self._live() and self.view is not None and self.view.cores_used:
            return self.view.cores_used[-1]
        return None

    # -- data ----------------------------------------------------------------

    def _cores(self) -> tuple[tuple[float, ...], ...]:
        if self.view is not None and self.view.cores_percent:
            return self.view.cores_percent
        return tuple(() for _ in range(self.cpu_count or 0))

    def _n_cores(self) -> int:
        return self.cpu_count or len(self._cores())

    def _live(self) -> bool:
        """Values are current (a run is going, or just ended)."""
        return self.view is not None and self.view.t_s is not None

    # -- painting ------------------------------------------------------------

    #: the rows ``show`` made, while Textual renders the lines of the frame they were made for
    _frame_rows: list[Strip] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        """Whether ``show``'s rows are this frame's is asked once, not for
        each of the panel's thirty-odd lines."""
        if self._rows_current(self.laid_out_size.width):
            self._frame_rows = self._rows
        try:
            return super().render_lines(crop)
        finally:
            self._frame_rows = None

    def content_rows(self) -> int:
        return TOP_ROWS + max(1, self._n_cores())  # the rest of the panel is blank

    def _rows_current(self, width: int) -> bool:
        """The rows ``show`` made are for this width, these glyph styles and what is shown."""
        made_for = self._rows_for
        return made_for is not None and made_for[0].width == width and made_for == self._made_for(made_for[0])

    def render_line(self, y: int) -> Strip:
        # every segment comes in the widget's own colours (GlyphStyles.strip)
        rows = self._frame_rows
        if rows is None and self._rows_current(self.line_width):  # asked for one line
            rows = self._rows
        if rows is not None and y < len(rows):
            return rows[y]  # made by show() for this frame
        width = self.line_width
        if y >= self.content_rows():  # the panel's rest: nothing
            return self.blank(width)
        return self._row(y, width)

    def _row(self, y: int, width: int) -> Strip:
        if y == 0:
            return self._cores_used_title(width)
        if y == 1:
            return self._cores_used_bar(width)
        if y == 2:
            return self._cores_used_history(width)
        if y in (3, 4, 5):
            return self._run_figure(y - 3, width)
        if y == 6:
            return self.strip([Segment("per core (psutil)", self.glyph_style(g.DIM))], width)
        return self._core_row(y - TOP_ROWS, width)

    def _run_figure(self, row: int, width: int) -> Strip:
        """Under cores used: the run's throughput against one worker alone,
        its GIL-wait share, and for the race the counter, all as they go."""
        view = self.view
        dim, value = self.glyph_style(g.DIM), self.glyph_style(g.VALUE)
        started = view.started if view is not None else None
        segments: list[Segment] = []
        if view is None or started is None or view.t_s is None:
            pass
        elif row == 0 and (view.throughput or self.run_units_per_s is not None):
            # over the window of the workers' last CPU reading, as the lanes'
            # rates and the cores used: they add up to this. Work that waits
            # finishes in bursts (six requests of 0.5 s land together, one
            # period reads 0/s, the next 60/s): its lanes show no rate, and
            # the figure is the mean of the last second. Once the run is
            # over, its average, as cores used above (a compare's processes
            # read "1.21× solo", their last period, beside "1.84 run avg")
            waits = spec(started.request.workload).io_bound
            recent = (view.throughput[-IO_MEAN_PERIODS:] if waits or view.work_now is None
                      else (view.work_now,))
            over = self.run_units_per_s is not None
            rate = self.run_units_per_s if self.run_units_per_s is not None else sum(recent) / len(recent)
            span = ""  # what the rate is over, where it is not the last period's
            if over:
                span = " run avg"
            elif waits and len(recent) > 1 and view.period_s:
                span = f" last {len(recent) * view.period_s:.1f}".removesuffix(".0") + " s"
            ratio = f" {rate / view.solo_units_per_s:.2f}× solo" if view.solo_units_per_s else ""
            # narrow panel: the unit only where it fits with the rest (the
            # legend gives it). Each part is said whole or not at all: "×
            # solo" (what the ratio is of) never cut to "× s"; the ratio
            # before the span, the span before the rate
            label = Segment("work ", self.glyph_style(g.LABEL))
            # "1.6 GiB/s", not "1.6 k MiB/s"; a number in another unit than
            # the workload's (bytes said in MiB) keeps its unit
            number, unit = amount(rate, started.unit)
            forms = [f"{number} {unit}/s"]
            if unit == started.unit:
                forms = forms + [f"{human(rate)}/s"] if width >= 34 else [f"{human(rate)}/s"]
            rate_text = next((form for form in forms if len("work ") + len(form) + len(ratio) + len(span) <= width),
                             forms[-1])
            used = len("work ") + len(rate_text)
            if ratio and used + len(ratio) > width:
                segments = [label, Segment(ratio.strip(), value)]
                used = len("work ") + len(ratio) - 1
            else:
                segments = [label, Segment(rate_text, value)]
                if ratio:
                    segments.append(Segment(ratio, dim))
                    used += len(ratio)
            if span and used + len(span) <= width:
                segments.append(Segment(span, dim))
        elif row == 1 and (share := view.recent_gil_wait()) is not None:
            # no GIL to wait for on a free-threaded build: what was measured is the time blocked
            # nor between processes, each with its own
            name = "GIL wait " if gil_between(started.lab.gil_enabled, started.request.strategy) else "blocked "
            segments = [Segment(name, self.glyph_style(g.LABEL)),
                        Segment(f"{share:.0%}", self.glyph_style(g.GIL_WAIT if share >= 0.2 else g.VALUE))]
            if width >= 34:
                segments.append(Segment(" of the workers' time", dim))
        elif row == 2 and view.race is not None:
            expected, actual = view.race
            lost = max(0, expected - actual)
            # at 80 columns a long run's "lost 308.9 M of 491.7 M" was cut to
            # "of 491.": the total is said shorter, or left out, never cut
            of = next((text for text in (f" of {human(expected)}", f"/{human(expected)}")
                       if len(f"lost {human(lost)}{text}") <= width), "")
            segments = [Segment("lost ", self.glyph_style(g.LABEL)),
                        Segment(f"{human(lost)}", self.glyph_style(g.ERROR if lost else g.VALUE)),
                        Segment(of, dim)]
        return self.strip(segments, width)

    def _cores_used_title(self, width: int) -> Strip:
        n = self._n_cores()
        value = self._cores_used_now()
        segments = [Segment("cores used ", self.glyph_style(g.LABEL))]
        if value is None:
            segments.append(Segment("–", self.glyph_style(g.DIM)))
        else:
            style = self.glyph_style(g.load_style(value / n if n else 0)) + BOLD
            segments.append(Segment(f"{value:.2f}", style))
        if n:
            segments.append(Segment(f" of {n}", self.glyph_style(g.DIM)))
        if self.run_cores_used is not None:
            segments.append(Segment(" run avg", self.glyph_style(g.DIM)))
        return self.strip(segments, width)

    def _cores_used_bar(self, width: int) -> Strip:
        n = self._n_cores()
        value = self._cores_used_now() or 0.0
        fraction = value / n if n else 0.0
        if n <= 1 or width < 2 * n:
            text = g.bar(fraction, width)
            return self.strip([Segment(text, self.glyph_style(g.load_style(fraction)))], width)
        # One segment per core, so "1.0 of 4" reads as one core's worth of four.
        per = width // n
        segments = []
        for i in range(n):
            part = max(0.0, min(1.0, value - i))
            cell_w = per if i < n - 1 else width - per * (n - 1)
            text = g.bar(part, cell_w - 1) + ("▕" if i < n - 1 else " ")
            segments.append(Segment(text[:-1], self.glyph_style(g.load_style(fraction))))
            segments.append(Segment(text[-1], self.glyph_style(g.TROUGH)))
        return self.strip(segments, width)

    def _cores_used_history(self, width: int) -> Strip:
        n = self._n_cores()
        history = self.view.cores_used if self.view is not None else ()
        text = g.spark_kept(self._sparks, "used", history, width, float(n or 1))
        return self.strip([Segment(text, self.glyph_style(g.WORK))], width)

    def _core_row(self, row: int, width: int) -> Strip:
        cores = self._cores()
        n = len(cores)
        rows = max(1, self.laid_out_size.height - TOP_ROWS)
        if n == 0:
            if row == 0:
                return self.strip([Segment("–", self.glyph_style(g.DIM))], width)
            return self.blank(width)
        per_column = math.ceil(n / rows) if n > rows else 1
        columns = per_column
        rows_used = math.ceil(n / columns)
        if row >= rows_used:
            return self.blank(width)
        cell_w = width // columns
        segments: list[Segment] = []
        for c in range(columns):
            i = row + c * rows_used
            if i >= n:
                break
            segments += self._core_cell(i, cores[i], cell_w)
        return self.strip(segments, width)

    def _core_cell(self, index: int, history: tuple[float, ...], width: int) -> list[Segment]:
        live = self._live() and history
        value = history[-1] if live else None
        label = f"{index:>2} "
        pct = f"{value:3.0f}%" if value is not None else "   –"
        room = width - len(label) - len(pct) - 1
        if room <= 0:
            return [Segment(label, self.glyph_style(g.DIM)), Segment(pct + " ", self.glyph_style(g.VALUE))][: 2]
        spark_w = room if room < 16 else max(8, room // 2)
        bar_w = room - spark_w - 1 if room >= 16 else 0
        fraction = (value or 0.0) / 100
        segments = [Segment(label, self.glyph_style(g.DIM)),
                    Segment(g.spark_kept(self._sparks, index, history, spark_w, 100.0),
                            self.glyph_style(g.RECEIVING))]
        if bar_w > 0:
            segments += [Segment(" "), Segment(g.bar(fraction, bar_w), self.glyph_style(g.load_style(fraction)))]
        segments.append(Segment(pct + " ", self.glyph_style(g.VALUE) if value is not None else self.glyph_style(g.DIM)))
        return segments
