"""Presenter: the few numbers a hall should read, in large digits.

Shown by the presenter view (``z``): cores used of N cores, the wall time (or
the time so far while a run goes on), the share of the workers' time spent
waiting for the GIL, and for the race the count it reached against the one
expected and the updates lost. The numbers come from the last
:class:`~gilviz.engine.model.RunResult`, or, during a run, from the latest
:class:`~gilviz.ui.timeline.RunView`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from gilviz.engine.model import RunResult, gil_between
from gilviz.ui.timeline import RunView, clock_number, run_clock
from gilviz.ui.widgets._glyphs import blocked_meaning

SLOTS = 4
NONE = "-"


@dataclass(frozen=True)
class Figure:
    value: str  # what the Digits show: digits, ".", ",", "%", "-"
    caption: str
    bad: bool = False  # drawn in the error colour (updates lost)
    wide: bool = False  # a count of up to 9 digits: more room than the others


def count(n: int) -> str:
    """A count that fits large digits: exact up to a million, then in millions."""
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def figures(workload: str, cpu_count: int | None, live: RunView | None, last: RunResult | None,
            recent_gil: float | None = None, recent_cores: float | None = None,
            gil_enabled: bool | None = True) -> list[Figure]:
    """The figures to show: of the run going on (``live``), else of ``last``."""
    cores_of = f"cores used of {cpu_count} cores" if cpu_count else "cores used"
    if live is not None:
        # as the lanes' header counts it: a live run's in whole seconds
        t = NONE if live.t_s is None else clock_number(run_clock(live.t_s, live.live))
        out = [Figure(f"{recent_cores:.2f}" if recent_cores is not None else NONE, cores_of),
               Figure(t, "seconds so far")]
        if workload == "race":
            if live.race is None:  # the lab publishes its counter with the next sample
                return out + [Figure(NONE, "counted", wide=True), Figure(NONE, "updates lost", wide=True)]
            expected, actual = live.race
            lost = max(0, expected - actual)
            return out + [Figure(count(actual), f"counted, of {count(expected)}", wide=True),
                          Figure(count(lost), "updates lost", bad=lost > 0, wide=True)]
        share = f"{recent_gil:.0%}" if recent_gil is not None else NONE
        gil = gil_between(live.started.lab.gil_enabled, live.started.request.strategy) if live.started else True
        return out + [Figure(share, f"{blocked_meaning(gil)}, now")]
    if last is None or last.cancelled:
        out = [Figure(NONE, cores_of), Figure(NONE, "seconds wall time")]
        if workload == "race":
            return out + [Figure(NONE, "counted", wide=True), Figure(NONE, "updates lost", wide=True)]
        return out + [Figure(NONE, blocked_meaning(gil_enabled))]
    out = [Figure(f"{last.cores_used:.2f}", f"cores used of {last.cpu_count} cores"),
           Figure(f"{last.wall_s:.2f}", "seconds wall time")]
    if last.workload == "race":
        caption = f"counted, of {count(last.expected)}" if last.expected is not None else "counted"
        return out + [
            Figure(count(last.actual) if last.actual is not None else NONE, caption, wide=True),
            Figure(count(last.lost) if last.lost is not None else NONE, "updates lost", bad=(last.lost or 0) > 0,
                   wide=True),
        ]
    share = f"{last.gil_wait_share:.0%}" if last.gil_wait_share is not None else NONE
    return out + [Figure(share, blocked_meaning(gil_between(last.gil_enabled, last.strategy)))]


class FigureBox(Vertical):
    """One number in large digits, its caption under it."""

    DEFAULT_CSS = """
    FigureBox {
        width: 2fr;
        height: auto;
        padding: 0 1;
        align-horizontal: center;
    }
    FigureBox.-wide { width: 3fr; }
    FigureBox > Digits { width: 100%; text-align: center; }
    FigureBox > Static { width: 100%; text-align: center; }
    """

    def compose(self) -> ComposeResult:
        yield Digits(NONE)
        yield Static("", markup=False)

    def show(self, figure: Figure) -> None:
        digits = self.query_one(Digits)
        if digits.value != figure.value:
            digits.update(figure.value)
        caption = self.query_one(Static)
        if str(caption.content) != figure.caption:
            caption.update(figure.caption)
        self.set_class(figure.bad, "-bad")
        self.set_class(figure.wide, "-wide")


class Presenter(Horizontal):
    """The presenter view's band of figures."""

    DEFAULT_CSS = """
    Presenter {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: list[Figure] = []

    def compose(self) -> ComposeResult:
        for _ in range(SLOTS):
            yield FigureBox()

    def show(self, workload: str, cpu_count: int | None, view: RunView | None, last: RunResult | None,
             gil_enabled: bool | None = True) -> None:
        """The figures of the run going on (``view`` while it runs), else of ``last``."""
        live = view if view is not None and view.running and view.started is not None else None
        if live is None:
            shown = figures(workload, cpu_count, None, last, gil_enabled=gil_enabled)
        else:
            shown = figures(live.started.request.workload if live.started else workload, cpu_count,
                            live, None, live.recent_gil_wait(), live.recent_cores_used())
        if shown == self._shown:
            return
        self._shown = shown
        for i, box in enumerate(self.query(FigureBox)):
            box.display = i < len(shown)
            if i < len(shown):
                box.show(shown[i])
