"""Explainer: what to look at for the current mode, and, once a run of it has
finished, what that run measured, in words."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from gilviz.engine.model import RunResult
from gilviz.engine.reading import reading
from gilviz.engine.workloads import spec


def explanation(
    workload: str, strategy: str, lock: bool = False, gil_enabled: bool | None = True, race_style: str = "call",
    python: str | None = None,
) -> str:
    """Two or three sentences (Rich markup) for the mode on screen, from the
    workload's spec, true of the interpreter the lab runs."""
    return spec(workload).explain(strategy, lock, race_style, gil_enabled, python)


def measured(result: RunResult) -> str:
    """What a finished run measured, in words (the same rules as the CLI's)."""
    return "[b]Measured:[/] " + " ".join(escape(line) for line in reading(result))


class Explainer(Static):
    DEFAULT_CSS = """
    Explainer {
        height: auto;
    }
    """

    def show(self, text: str) -> None:
        self.update(text)
