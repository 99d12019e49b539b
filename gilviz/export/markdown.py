"""Markdown: the compare scoreboard as a table, for slides."""

from __future__ import annotations

from typing import Sequence

from ..engine.model import RunResult


def compare_markdown(results: list[RunResult], interpreters: Sequence[str] | None = None) -> str:
    """The scoreboard as a Markdown table, for slides. ``interpreters``: a
    label per result; with more than one distinct label, an interpreter column."""
    if not results:
        return "no run completed"
    first = results[0]
    race = first.workload == "race"
    labels = list(interpreters) if interpreters is not None and len(set(interpreters)) > 1 else None
    gil = "GIL enabled" if first.gil_enabled else "GIL disabled"
    where = (f"{first.implementation} {first.python} ({gil}), " if labels is None else "")
    out = [
        f"**{first.workload}**, same total work ({first.size:,} {first.unit}), "
        f"{where}{first.cpu_count} cores",
        "",
        ("| interpreter " if labels else "")
        + "| strategy | workers | wall (s) | CPU (s) | cores used | speedup |" + (" lost updates |" if race else ""),
        ("| --- " if labels else "") + "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if race else ""),
    ]
    best = min(results, key=lambda r: r.wall_s)
    for i, r in enumerate(results):
        name = f"**{r.strategy}**" if r is best else r.strategy
        row = f"| {labels[i]} " if labels else ""
        row += (f"| {name} | {1 if r.strategy == 'sequential' else r.workers} | {r.wall_s:.3f} | {r.cpu_s:.3f} | "
               f"{r.cores_used:.2f} | {(r.speedup or 0):.2f}x |")
        if race:
            row += f" {r.lost:,} |" if r.lost is not None else " – |"
        out.append(row)
    return "\n".join(out)
