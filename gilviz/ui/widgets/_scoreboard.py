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
from gilviz.export.text import blocked_heading, human

from ._still import StillLines

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


def interpreter(result: RunResult) -> str:
    """The interpreter a run came from, short: "3.13.1", "PyPy 3.10.14", "3.13.1 no GIL"."""
    name = result.python if result.implementation == "CPython" else f"{result.implementation} {result.python}"
    return name + ("" if result.gil_enabled else " no GIL")


def row_labels(results: list[RunResult]) -> list[str]:
    """What each run was, saying what differs between them: the workload, for
    the race its style and lock ("race+lock", "race plain"), and, when runs
    came from different interpreters, GIL settings or switch intervals, those."""
    several_pythons = len({(r.implementation, r.python) for r in results}) > 1
    several_gils = len({r.gil_enabled for r in results}) > 1
    several_switches = len({r.switch_interval_s for r in results}) > 1
    labels = []
    for r in results:
        label = r.workload
        if r.workload == "race":
            label += (" plain" if r.race_style == "plain" else "") + ("+lock" if r.lock else "")
        if several_pythons:
            label += " " + interpreter(r)
        elif several_gils:
            label += " GIL" if r.gil_enabled else " no GIL"
        if several_switches:
            label += f" {r.switch_interval_s * 1000:g}ms"
        labels.append(label)
    return labels


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


class Scoreboard(StillLines, DataTable):
    """The results table. Not focusable: the keys belong to the app."""

    can_focus = False

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "scoreboard--best",  # the fastest correct run of its kind of work
        "scoreboard--bad",  # errors, lost updates
    }

    COLUMNS = (" ", "run", "strategy", "workers", "wall", "cores", "speedup", "GIL wait", "errors", "lost")
    #: Fixed widths (with the leading space): the table does not jump as rows come, and fits 80 columns
    #: with its border and scroll bar (lost: at most 7 characters, "999.9 M").
    #: (CPU seconds are cores × wall: the GIL-wait share says more.)
    WIDTHS = (2, 10, 11, 8, 8, 6, 8, 9, 7, 8)
    BLOCKED, ERRORS, LOST = 7, 8, 9
    #: the run label's column grows with its labels, up to this
    MAX_LABEL_W = 30

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="none", zebra_stripes=False, show_cursor=False, cell_padding=0, **kwargs)
        self.rows_data: list[ScoreRow] = []
        self.widths = self.WIDTHS
        #: the blocked share's heading: "GIL wait", or "blocked" once a row ran without a GIL
        self.blocked = blocked_heading([])

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for i, label in enumerate(self.COLUMNS):  # no cell padding: one space before each column
            shown = self.blocked if i == self.BLOCKED else label
            self.add_column(self._pad(shown, i, ""), width=self.widths[i], key=label.strip() or "best")

    def labels(self) -> list[str]:
        """Each row's label (``row_labels``)."""
        return row_labels([row.result for row in self.rows_data])

    def clear_results(self) -> None:
        """Forget every run: the next speedups wait for a new sequential run."""
        self.rows_data = []
        self.border_subtitle = ""
        self._rebuild()

    def markdown(self) -> str:
        """The scoreboard for slides: one Markdown table (``compare_markdown``)
        per kind of work, with the speedups shown here."""
        from dataclasses import replace

        from gilviz.export import compare_markdown

        groups: dict[tuple, list[int]] = {}
        for i, row in enumerate(self.rows_data):
            groups.setdefault(row.key[:5], []).append(i)  # the work, whichever the interpreter
        tables = []
        for indices in groups.values():
            rows = [self.rows_data[i] for i in indices]
            results = [replace(row.result, speedup=row.speedup) for row in rows]
            tables.append(compare_markdown(results, [interpreter(r) for r in results]))
        return "\n\n".join(tables) + "\n"

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
        labels = self.labels()
        label_w = min(self.MAX_LABEL_W, max([self.WIDTHS[1] - 1, *map(len, labels)]) + 1)
        widths = (self.WIDTHS[0], label_w, *self.WIDTHS[2:])
        blocked = blocked_heading([row.result for row in self.rows_data])
        if widths != self.widths or blocked != self.blocked:
            self.widths, self.blocked = widths, blocked
            self.clear(columns=True)
            self._add_columns()
        else:
            self.clear()
        best = best_indices(self.rows_data)
        for i, row in enumerate(self.rows_data):
            self.add_row(*self._cells(row, i in best, labels[i]))
        if self.rows_data:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _pad(self, value: str, column: int, style: Style | str) -> Text:
        """Padded by hand (numbers to the right), so columns never touch."""
        width = self.widths[column] - 1
        text = value.rjust(width) if column >= 3 else value.ljust(width)
        return Text("\u00a0" + text.replace(" ", "\u00a0"), style=style, no_wrap=True)

    def _cells(self, row: ScoreRow, best: bool, label: str) -> list[Text]:
        r = row.result
        lost = "–"
        if r.workload == "race" and r.lost is not None:
            # up to 9,999 as it is, then "12.3 k", "1.2 M": the column stays 7 wide
            lost = f"{r.lost:,}" if r.lost < 10_000 else human(r.lost)
        errors = "stopped" if r.cancelled else str(len(r.errors))
        values = [
            "★" if best else "",
            label[: self.widths[1] - 1],
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
        cells = [self._pad(v, i, style) for i, v in enumerate(values)]
        bad = self.get_component_rich_style("scoreboard--bad", partial=True)
        if r.errors and not r.cancelled:
            cells[self.ERRORS].stylize(bad)
        if r.workload == "race" and (r.lost or 0) > 0:
            cells[self.LOST].stylize(bad)
        return cells
