"""Plain text: the summary of one run and the table of a compare, as the
headless commands print them."""

from __future__ import annotations

from typing import Sequence

from ..engine.model import RunResult
from ..engine.workloads import spec

_SCALES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def human(value: float) -> str:
    for scale, suffix in _SCALES:
        if abs(value) >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f}"


def interval(seconds: float) -> str:
    return f"{seconds * 1000:g} ms"


def headline(r: RunResult) -> str:
    gil = "GIL enabled" if r.gil_enabled else "GIL disabled (free-threaded)"
    return (
        f"{r.workload} · {r.strategy} · {r.workers} worker{'s' if r.workers != 1 else ''} · "
        f"{r.implementation} {r.python} ({gil}) · switch interval {interval(r.switch_interval_s)} · "
        f"{r.cpu_count} cores"
    )


def reading(r: RunResult) -> list[str]:
    """What the measured numbers say, in words. Only from the numbers."""
    lines = []
    if r.workload == "race" and r.lost is not None:
        if r.lost and r.race_style == "plain" and r.strategy == "threads":
            why = ("this Python switched threads between the read and the write of 'counter += 1', "
                   "as CPython did before 3.10" if r.gil_enabled else
                   "without the GIL the threads ran 'counter += 1' at the same time")
            lines.append(f"{r.lost:,} of {r.expected:,} increments were lost: {why}.")
        elif r.lost:
            lines.append(
                (f"{r.lost:,} of {r.expected:,} increments were lost: a worker read the counter, "
                 "was switched out at the call before its write, and then overwrote the "
                 "increments made meanwhile.")
                if r.strategy != "processes" else
                (f"{r.lost:,} of {r.expected:,} increments were lost: the processes ran at the "
                 "same time on different cores, and one's write overwrote another's.")
            )
        elif r.lock:
            lines.append("No update was lost: the lock makes each read-and-write one step.")
        elif r.race_style == "plain" and r.strategy == "threads":
            lines.append(
                "No update was lost: since CPython 3.10, threads only switch at calls and backward "
                "jumps, and 'counter += 1' has neither between its read and its write. "
                "The race is still there in principle; --race-style call shows it."
            )
        elif r.strategy == "sequential" or r.workers == 1:
            lines.append("No update was lost: with one worker there is nobody to race with.")
        else:
            lines.append("No update was lost this time: races are timing-dependent; run it again.")
    work = spec(r.workload)
    if r.strategy in ("threads", "sequential") and not work.releases_gil and r.gil_enabled:
        lines.append(
            f"cores used {r.cores_used:.2f}: pure-Python threads take turns holding the one GIL, "
            "so together they use about one core."
        )
    elif r.strategy == "processes" and not work.io_bound:
        lines.append(
            f"cores used {r.cores_used:.2f}: each process has its own interpreter and GIL, "
            f"so up to {min(r.workers, r.cpu_count)} can run at once here."
        )
    elif work.releases_gil and not work.io_bound and r.strategy == "threads":
        lines.append(
            f"cores used {r.cores_used:.2f}: hashlib releases the GIL while it hashes, so threads run in parallel."
        )
    elif work.io_bound:
        lines.append(
            f"cores used {r.cores_used:.2f}: the workers spent the run waiting for the network, "
            "and waiting releases the GIL."
        )
    if r.other_load_cores is not None and r.other_load_cores >= 0.5:
        lines.append(
            f"Note: other programs kept about {r.other_load_cores:.1f} of {r.cpu_count} cores busy "
            "during this run, so these figures are lower than on an idle machine."
        )
    if r.cancelled:
        lines.append("The run was cancelled before the end: the figures cover the part that ran.")
    return lines


def run_summary(r: RunResult) -> str:
    out = [headline(r), ""]
    kind = "processes" if r.strategy == "processes" else "threads"
    out.append(f"  wall time    {r.wall_s:8.3f} s   (+{r.startup_s:.3f} s starting the {kind}, not counted)")
    out.append(f"  CPU time     {r.cpu_s:8.3f} s")
    out.append(f"  cores used   {r.cores_used:8.2f}     CPU time / wall time")
    out.append(f"  throughput   {human(r.units_per_s):>8} {r.unit}/s   ({r.units:,} {r.unit})")
    if r.workload == "race" and r.expected is not None:
        out.append(f"  counter      expected {r.expected:,}, actual {r.actual:,}, lost {r.lost:,}"
                   f"   ({'with' if r.lock else 'without'} a lock)")
    out.append("")
    out.append(f"  {'worker':<12} {'os id':>8} {'tasks':>7} {r.unit:>14} {'CPU s':>7}  state")
    for w in r.worker_results:
        out.append(
            f"  {w.name:<12} {w.os_id:>8} {w.tasks_done:>7} {w.units:>14,} {w.cpu_s:>7.3f}  {w.state}"
        )
    if r.errors:
        out.append("")
        out.append(f"  {len(r.errors)} error{'s' if len(r.errors) != 1 else ''}:")
        out.extend(f"    - {e}" for e in r.errors)
    lines = reading(r)
    if lines:
        out.append("")
        out.extend(f"  {line}" for line in lines)
    return "\n".join(out)


def compare_table(results: list[RunResult], interpreters: Sequence[str] | None = None) -> str:
    """The compare as a table. ``interpreters``: a label per result ("3.11
    GIL", "3.13t no-GIL"); with more than one distinct label, the table gets
    an interpreter column (and each speedup is against that interpreter's
    own sequential run)."""
    if not results:
        return "no run completed"
    first = results[0]
    labels = list(interpreters) if interpreters is not None and len(set(interpreters)) > 1 else None
    if labels is None:
        out = [f"{first.workload} · same total work ({first.size:,}) · " + headline(first).split(" · ", 3)[-1], ""]
    else:
        out = [f"{first.workload} · same total work ({first.size:,}) · switch interval "
               f"{interval(first.switch_interval_s)} · {first.cpu_count} cores", ""]
    width = max(len("interpreter"), *(len(label) for label in labels)) if labels else 0
    race = first.workload == "race"
    head = f"  {'interpreter':<{width}}" if labels else ""
    head += f"  {'strategy':<11} {'workers':>7} {'wall s':>8} {'CPU s':>8} {'cores used':>10} {'speedup':>8}"
    head += f" {'lost':>10}" if race else ""
    head += "  errors"
    out.append(head)
    best = min(results, key=lambda r: r.wall_s)
    for i, r in enumerate(results):
        row = f"  {labels[i]:<{width}}" if labels else ""
        row += (
            f"  {r.strategy:<11} {1 if r.strategy == 'sequential' else r.workers:>7} {r.wall_s:>8.3f} "
            f"{r.cpu_s:>8.3f} {r.cores_used:>10.2f} {(r.speedup or 0):>7.2f}x"
        )
        if race:
            row += f" {r.lost:>10,}" if r.lost is not None else f" {'-':>10}"
        row += f"  {len(r.errors)}"
        if r is best and len(results) > 1:
            row += "   <- fastest"
        out.append(row)
    notes = [line for r in results for line in reading(r) if line.startswith("Note:")]
    if notes:
        out.append("")
        out.append("  " + notes[0])
    return "\n".join(out)
