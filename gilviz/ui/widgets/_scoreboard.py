"""Scoreboard: one row per finished run of this session.

Speedup is measured, never assumed: a run's wall time against the wall time of
a *sequential* run of the same work in this session (same workload, size,
URLs, race style and lock, on the same interpreter with the same GIL setting
and switch interval); "–" until there is one. Each is one sample: the
border says so. The best run of each kind of work (the fastest one that lost
no updates and had no errors) is highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from gilviz.engine.model import RunResult

MAX_ROWS = 100


@dataclass(frozen=True)
class ScoreRow:
    result: RunResult
    key: tuple  # what makes two runs the same work
    speedup: float | None


def work_key(result: RunResult, urls: tuple[str, ...] = ()) -> tuple:
    """What must be equal for two runs to be compared: like with like."""
    race = result.workload == "race"
    return (
        result.workload, result.size, urls,
        result.lock if race else None, result.race_style if race else None,
        result.implementation, result.python, result.gil_enabled, result.switch_interval_s,
    )


def best_indices(rows: list[ScoreRow]) -> set[int]:
    """Per kind of work, the fastest correct run (no errors, no lost updates)."""
    best: dict[tuple, int] = {}
    for i, row in enumerate(rows):
        r = row.result
        if r.cancelled or r.errors or (r.lost or 0) > 0 or r.wall_s <= 0:
            continue
        j = best.get(row.key)
        if j is None or r.wall_s < rows[j].result.wall_s:
            best[row.key] = i
    return set(best.values())


def speedup_for(result: RunResult, key: tuple, rows: list[ScoreRow]) -> float | None:
    if result.speedup is not None:
        return result.speedup
    if result.strategy == "sequential" and not result.cancelled and not result.errors:
        return 1.0
    for row in reversed(rows):
        base = row.result
        if row.key == key and base.strategy == "sequential" and not base.cancelled and not base.errors:
            return base.wall_s / result.wall_s if result.wall_s > 0 else None
    return None


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


class Scoreboard(DataTable):
    """The results table. Not focusable: the keys belong to the app."""

    can_focus = False

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "scoreboard--best",  # the fastest correct run of its kind of work
        "scoreboard--bad",  # errors, lost updates
    }

    COLUMNS = (" ", "workload", "strategy", "workers", "wall", "cores", "speedup", "GIL wait", "errors", "lost")
    #: Fixed widths (with the leading space): the table does not jump as rows come, and fits 80 columns.
    #: (CPU seconds are cores × wall: the GIL-wait share says more.)
    WIDTHS = (2, 10, 11, 8, 8, 6, 9, 9, 7, 9)
    ERRORS, LOST = 8, 9

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="none", zebra_stripes=False, show_cursor=False, cell_padding=0, **kwargs)
        self.rows_data: list[ScoreRow] = []

    def on_mount(self) -> None:
        for i, label in enumerate(self.COLUMNS):  # no cell padding: one space before each column
            self.add_column(self._pad(label, i, ""), width=self.WIDTHS[i], key=label.strip() or "best")

    def add_result(self, result: RunResult, urls: tuple[str, ...] = ()) -> ScoreRow:
        key = work_key(result, urls)
        row = ScoreRow(result, key, speedup_for(result, key, self.rows_data))
        self.rows_data.append(row)
        del self.rows_data[:-MAX_ROWS]
        if row.speedup is not None and result.strategy != "sequential":
            # a VM's speed drifts by tens of percent: one run is one sample
            self.border_subtitle = "speedups: one run each; gilviz compare --repeat N gives medians"
        self._rebuild()
        return row

    def restyle(self) -> None:
        """The theme changed: the rows' colours come from it."""
        self._rebuild()

    def _rebuild(self) -> None:
        self.clear()
        best = best_indices(self.rows_data)
        for i, row in enumerate(self.rows_data):
            self.add_row(*self._cells(row, i in best))
        if self.rows_data:
            self.call_after_refresh(self.scroll_end, animate=False)

    @classmethod
    def _pad(cls, value: str, column: int, style: Style | str) -> Text:
        """Padded by hand (numbers to the right), so columns never touch."""
        width = cls.WIDTHS[column] - 1
        text = value.rjust(width) if column >= 3 else value.ljust(width)
        return Text("\u00a0" + text.replace(" ", "\u00a0"), style=style, no_wrap=True)

    def _cells(self, row: ScoreRow, best: bool) -> list[Text]:
        r = row.result
        workload = r.workload + ("+lock" if r.workload == "race" and r.lock else "")
        lost = "–"
        if r.workload == "race" and r.lost is not None:
            lost = f"{r.lost:,}"
        errors = "stopped" if r.cancelled else str(len(r.errors))
        values = [
            "★" if best else "",
            workload,
            r.strategy,
            str(r.workers) if r.strategy != "sequential" else "1",
            _seconds(r.wall_s),
            f"{r.cores_used:.2f}",
            f"{row.speedup:.2f}×" if row.speedup is not None else "–",
            f"{r.gil_wait_share:.0%}" if r.gil_wait_share is not None else "–",
            errors,
            lost,
        ]
        style = self.get_component_rich_style("scoreboard--best", partial=True) if best else ""
        cells = [Scoreboard._pad(v, i, style) for i, v in enumerate(values)]
        bad = self.get_component_rich_style("scoreboard--bad", partial=True)
        if r.errors and not r.cancelled:
            cells[self.ERRORS].stylize(bad)
        if r.workload == "race" and (r.lost or 0) > 0:
            cells[self.LOST].stylize(bad)
        return cells
