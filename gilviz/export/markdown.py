"""Markdown: the compare scoreboard as a table, for slides."""

from __future__ import annotations

from ..engine.model import RunResult


def compare_markdown(results: list[RunResult]) -> str:
    """The scoreboard as a Markdown table, for slides."""
    if not results:
        return "no run completed"
    first = results[0]
    race = first.workload == "race"
    gil = "GIL enabled" if first.gil_enabled else "GIL disabled"
    out = [
        f"**{first.workload}**, same total work ({first.size:,} {first.unit}), "
        f"{first.implementation} {first.python} ({gil}), {first.cpu_count} cores",
        "",
        "| strategy | workers | wall (s) | CPU (s) | cores used | speedup |" + (" lost updates |" if race else ""),
        "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if race else ""),
    ]
    best = min(results, key=lambda r: r.wall_s)
    for r in results:
        name = f"**{r.strategy}**" if r is best else r.strategy
        row = (f"| {name} | {1 if r.strategy == 'sequential' else r.workers} | {r.wall_s:.3f} | {r.cpu_s:.3f} | "
               f"{r.cores_used:.2f} | {(r.speedup or 0):.2f}x |")
        if race:
            row += f" {r.lost:,} |" if r.lost is not None else " – |"
        out.append(row)
    return "\n".join(out)
