"""Plain text: the summary of one run and the table of a compare, as the
headless commands print them."""

from __future__ import annotations

from typing import Sequence

from ..engine.model import RunResult, gil_between
from ..engine.reading import busy_note, compare_beyond_cores, reading

_SCALES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def human(value: float) -> str:
    for scale, suffix in _SCALES:
        if abs(value) >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f}"


_BYTES = ("bytes", "KiB", "MiB", "GiB", "TiB")


def amount(value: float, unit: str) -> tuple[str, str]:
    """``value`` of ``unit`` said short, as (number, unit): a quantity of
    bytes goes up by 1024 into the next unit ("1.6 GiB", where ``human``
    made "1.6 k MiB"); any other unit takes a k, M or G on its number."""
    if unit not in _BYTES:
        return human(value), unit
    step = _BYTES.index(unit)
    while abs(value) >= 1024 and step < len(_BYTES) - 1:
        value, step = value / 1024, step + 1
    if _BYTES[step] == unit:  # not scaled: as many as there are
        return f"{value:.0f}", unit
    return f"{value:.1f}", _BYTES[step]


def interval(seconds: float) -> str:
    return f"{seconds * 1000:g} ms"


def headline(r: RunResult) -> str:
    gil = "GIL enabled" if r.gil_enabled else "GIL disabled, free-threaded"
    return (
        f"{r.workload} · {r.strategy} · {r.workers} worker{'s' if r.workers != 1 else ''} · "
        f"{r.implementation} {r.python} ({gil}) · switch interval {interval(r.switch_interval_s)} · "
        f"{r.cpu_count} cores"
    )


def run_summary(r: RunResult) -> str:
    out = [headline(r), ""]
    kind = "processes" if r.strategy == "processes" else "threads"
    out.append(f"  wall time    {r.wall_s:8.3f} s   (+{r.startup_s:.3f} s starting the {kind}, not counted)")
    out.append(f"  CPU time     {r.cpu_s:8.3f} s")
    out.append(f"  cores used   {r.cores_used:8.2f}     CPU time / wall time")
    if r.gil_wait_share is not None:
        if r.gil_enabled is False:
            what = "with work to do (this Python has no GIL to wait for)"
        elif r.strategy == "processes":
            what = "with work to do (each process has its own GIL: none stands between them)"
        else:
            what = "blocked with work to do"
        out.append(f"  {blocked_heading([r]):<12} {r.gil_wait_share:8.0%}     of the workers' time, {what}")
    rate, unit = amount(r.units_per_s, r.unit)
    out.append(f"  throughput   {rate:>8} {unit}/s   ({r.units:,} {r.unit})")
    if r.workload == "race" and r.expected is not None:
        out.append(f"  counter      expected {r.expected:,}, actual {r.actual:,}, lost {r.lost:,}"
                   f"   ({'with' if r.lock else 'without'} a lock)")
    if r.io_requests_per_s is not None:
        out.append(f"  I/O thread   {r.io_requests_per_s:8.0f} requests/s, latency p50 {_ms(r.io_latency_p50_ms)}, "
                   f"p99 {_ms(r.io_latency_p99_ms)}")
    out.append("")
    out.extend(_worker_table(r))
    if r.convoy:
        out.append("")
        out.extend(convoy_table(r))
    if r.errors:
        out.append("")
        out.append(f"  {len(r.errors)} error{'s' if len(r.errors) != 1 else ''}:")
        out.extend(f"    - {e}" for e in r.errors)
    lines = reading(r)
    if lines:
        out.append("")
        out.extend(f"  {line}" for line in lines)
    return "\n".join(out)


def _ms(value: float | None) -> str:
    return f"{value:.2f} ms" if value is not None else "-"


def convoy_table(r: RunResult) -> list[str]:
    """The convoy sweep: the I/O thread's requests/s and latency per configuration."""
    out = [f"  {'CPU workers':>11}  {'as':<10} {'switch':>8} {'requests/s':>11} {'p50':>10} {'p99':>10}"]
    for c in r.convoy:
        out.append(f"  {c.cpu_workers:>11}  {c.cpu_strategy:<10} {interval(c.switch_interval_s):>8} "
                   f"{c.io_requests_per_s:>11,.0f} {_ms(c.io_latency_p50_ms):>10} {_ms(c.io_latency_p99_ms):>10}")
    return out


def _worker_table(r: RunResult) -> list[str]:
    """One row per worker; with the four states where they were measured."""
    head = f"  {'worker':<12} {'os id':>8} {'tasks':>7} {r.unit:>14} {'CPU s':>7}"
    if r.states_measured:
        head += f" {'running':>8} {'core wait':>9} {blocked_heading([r]):>8} {'net wait':>8}"
    out = [head + "  state"]
    for w in r.worker_results:
        row = f"  {w.name:<12} {w.os_id:>8} {w.tasks_done:>7} {w.units:>14,} {w.cpu_s:>7.3f}"
        if r.states_measured:
            row += f" {w.running_s:>8.3f} {w.core_wait_s:>9.3f} {w.gil_wait_s:>8.3f} {w.io_wait_s:>8.3f}"
        out.append(row + f"  {w.state}")
    if r.states_measured:
        out.append("  (seconds from the start signal: on a core, runnable but no free core, blocked with work"
                   " to do, blocked on the network; from the kernel's schedstat)")
    else:
        out.append("  (the split into running and waiting is not available: this kernel keeps no schedstat)")
    return out


def total_work(r: RunResult) -> str:
    """The work every strategy of a compare did, with its unit."""
    if r.workload == "fetch":
        return f"{r.workers} URLs" if not r.size else f"{r.size:,} {r.unit} per URL"
    return f"{r.size:,} {r.unit}"


def fastest_correct(results: list[RunResult]) -> RunResult | None:
    """The fastest run that completed with no error and lost no update."""
    ok = [r for r in results if not r.cancelled and not r.errors and not r.lost and r.wall_s > 0]
    return min(ok, key=lambda r: r.wall_s) if ok else None


def blocked_heading(results: Sequence[RunResult]) -> str:
    """The name of the share of time blocked with work to do: "GIL wait"
    where a GIL stood between every run's workers, else "blocked" (a
    free-threaded build has no GIL to wait for; what is measured there is
    waiting for a lock). Processes have a GIL each and none between them: a
    processes run that was never blocked reads "GIL wait 0%", true, beside
    the threads it is compared with; one that was blocked (on the race's
    lock) makes the column "blocked"."""
    return "GIL wait" if all(_called_gil_wait(r) for r in results) else "blocked"


def _called_gil_wait(r: RunResult) -> bool:
    """A GIL stood between the run's workers, or it ran on a GIL build and
    shows no time blocked (processes, a GIL each, none between them)."""
    shown_blocked = r.gil_wait_share is not None and round(r.gil_wait_share * 100) > 0
    return gil_between(r.gil_enabled, r.strategy) is not False or (r.gil_enabled is not False and not shown_blocked)


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
        where = headline(first).split(" · ", 3)[-1]
    else:
        where = f"switch interval {interval(first.switch_interval_s)} · {first.cpu_count} cores"
    out = [f"{first.workload} · same total work ({total_work(first)}) · {where}", ""]
    width = max(len("interpreter"), *(len(label) for label in labels)) if labels else 0
    race = first.workload == "race"
    locks = len({r.lock for r in results}) > 1  # a compare by lock: say which run had it
    states = any(r.gil_wait_share is not None for r in results)
    head = f"  {'interpreter':<{width}}" if labels else ""
    repeats = max(len(r.repeat_walls_s) for r in results)
    wall = "median s" if repeats > 1 else "wall s"
    head += f"  {'strategy':<11}" + (f" {'lock':<4}" if locks else "")
    head += f" {'workers':>7} {wall:>8} {'CPU s':>8} {'cores used':>10} {'speedup':>8}"
    head += f" {'wall range s':>13}" if repeats > 1 else ""
    head += f" {blocked_heading(results):>8}" if states else ""
    head += f" {'lost':>10}" if race else ""
    head += "  errors"
    out.append(head)
    best = fastest_correct(results)
    for i, r in enumerate(results):
        row = f"  {labels[i]:<{width}}" if labels else ""
        row += f"  {r.strategy:<11}" + (f" {'on' if r.lock else 'off':<4}" if locks else "")
        row += (
            f" {1 if r.strategy == 'sequential' else r.workers:>7} {r.wall_s:>8.3f} "
            f"{r.cpu_s:>8.3f} {r.cores_used:>10.2f} {(r.speedup or 0):>7.2f}x"
        )
        if repeats > 1:
            walls = r.repeat_walls_s or (r.wall_s,)
            row += f" {f'{min(walls):.3f}-{max(walls):.3f}':>13}"
        if states:
            row += f" {r.gil_wait_share:>8.0%}" if r.gil_wait_share is not None else f" {'-':>8}"
        if race:
            row += f" {r.lost:>10,}" if r.lost is not None else f" {'-':>10}"
        row += f"  {len(r.errors)}"
        if r is best and len(results) > 1:
            row += "   <- fastest" + (" correct" if race else "")
        out.append(row)
    io = [r for r in results if r.io_requests_per_s is not None]
    if io:
        out.append("")
        out.extend(f"  I/O thread beside {r.workers} CPU {r.strategy}: {r.io_requests_per_s:,.0f} requests/s, "
                   f"latency p50 {_ms(r.io_latency_p50_ms)}, p99 {_ms(r.io_latency_p99_ms)}" for r in io)
    if locks:
        out.append("")
        out.append("  speedup: against the run without the lock")
    if repeats > 1:
        out.append("")
        out.append(f"  {repeats} passes, interleaved; each row is its strategy's median pass, "
                   "speedups are of the medians")
    # a busy machine once (every run notes it); speedups beyond the cores in one note for all
    notes = [note for note in (next(filter(None, map(busy_note, results)), None), compare_beyond_cores(results))
             if note]
    if notes:
        out.append("")
        out.extend("  " + note for note in notes)
    return "\n".join(out)
