"""Markdown: the compare scoreboard as a table, for slides."""

from __future__ import annotations

from typing import Sequence

from ..engine.model import RunResult
from .text import blocked_heading, fastest_correct, total_work


def compare_markdown(results: list[RunResult], interpreters: Sequence[str] | None = None) -> str:
    """The scoreboard as a Markdown table, for slides. The fastest run that
    completed correctly (no error, no lost update) is in bold.
    ``interpreters``: a label per result; with more than one distinct label,
    an interpreter column."""
    if not results:
        return "no run completed"
    first = results[0]
    race = first.workload == "race"
    locks = len({r.lock for r in results}) > 1  # a compare by lock: say which run had it
    states = any(r.gil_wait_share is not None for r in results)
    repeats = max(len(r.repeat_walls_s) for r in results)
    wall = f"wall (s), median of {repeats}" if repeats > 1 else "wall (s)"
    labels = list(interpreters) if interpreters is not None and len(set(interpreters)) > 1 else None
    gil = "GIL enabled" if first.gil_enabled else "GIL disabled"
    where = f"{first.implementation} {first.python} ({gil}), " if labels is None else ""
    out = [
        f"**{first.workload}**, same total work ({total_work(first)}), {where}{first.cpu_count} cores",
        "",
        ("| interpreter " if labels else "")
        + "| strategy " + ("| lock " if locks else "") + f"| workers | {wall} | CPU (s) | cores used | speedup |"
        + (" wall range (s) |" if repeats > 1 else "") + (f" {blocked_heading(results)} |" if states else "")
        + (" lost updates |" if race else ""),
        ("| --- " if labels else "") + "| --- " + ("| --- " if locks else "") + "| ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if repeats > 1 else "") + (" ---: |" if states else "") + (" ---: |" if race else ""),
    ]
    best = fastest_correct(results)
    for i, r in enumerate(results):
        name = f"**{r.strategy}**" if r is best else r.strategy
        row = f"| {labels[i]} " if labels else ""
        row += f"| {name} " + (f"| {'on' if r.lock else 'off'} " if locks else "")
        row += (f"| {1 if r.strategy == 'sequential' else r.workers} | {r.wall_s:.3f} | {r.cpu_s:.3f} | "
                f"{r.cores_used:.2f} | " + (f"{r.speedup:.2f}x |" if r.speedup is not None else "– |"))
        if repeats > 1:
            walls = r.repeat_walls_s or (r.wall_s,)
            row += f" {min(walls):.3f}–{max(walls):.3f} |"
        if states:
            row += f" {r.gil_wait_share:.0%} |" if r.gil_wait_share is not None else " – |"
        if race:
            row += f" {r.lost:,} |" if r.lost is not None else " – |"
        out.append(row)
    return "\n".join(out)
