"""Explainer: what to look at for the current workload and strategy, and why."""

from __future__ import annotations

from textual.widgets import Static

from gilviz.engine.workloads import spec


def explanation(
    workload: str, strategy: str, lock: bool = False, gil_enabled: bool | None = True, race_style: str = "call"
) -> str:
    """Two or three sentences (Rich markup) for the mode on screen, from the workload's spec."""
    return spec(workload).explain(strategy, lock, race_style, gil_enabled)


class Explainer(Static):
    DEFAULT_CSS = """
    Explainer {
        height: auto;
    }
    """

    def show(
        self, workload: str, strategy: str, lock: bool, gil_enabled: bool | None, race_style: str = "call"
    ) -> None:
        self.update(explanation(workload, strategy, lock, gil_enabled, race_style))
