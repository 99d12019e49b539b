"""The convoy workload's figures, summarised in the parent: the I/O lane
writes each request's latency (float64 seconds) to the file its task names;
here they become requests per second and the median and 99th percentile.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import replace

from .model import ConvoyPoint, RunResult
from .plan import RunPlan

#: CPU workers beside the I/O thread in a convoy sweep
SWEEP_CPU_WORKERS = (0, 1, 2, 4)
#: switch intervals tried with one CPU thread, beside the default
SWEEP_SWITCH_INTERVALS_S = (0.001, 0.05)


def read_latencies(path: str) -> list[float]:
    """The latencies a run's I/O lane wrote; [] if it wrote none."""
    values = array("d")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    values.frombytes(data[: len(data) - len(data) % values.itemsize])
    return list(values)


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of an ascending list (share 0.5: the median)."""
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def recorded_files(plan: RunPlan) -> list[str]:
    return [t.record_to for t in plan.tasks if t.record_to]


def discard_records(plan: RunPlan) -> None:
    for path in recorded_files(plan):
        try:
            os.unlink(path)
        except OSError:
            pass


def with_io_figures(result: RunResult, plan: RunPlan) -> RunResult:
    """``result`` with the I/O lane's requests/s and latency, where its plan
    recorded any (convoy); unchanged otherwise."""
    paths = recorded_files(plan)
    if not paths or not result.worker_results:
        return result
    latencies = sorted(read_latencies(paths[0]))
    wall_s = result.worker_results[0].wall_s or result.wall_s
    if not latencies:
        return replace(result, io_requests_per_s=0.0)
    return replace(
        result,
        io_requests_per_s=len(latencies) / wall_s if wall_s > 0 else 0.0,
        io_latency_p50_ms=percentile(latencies, 0.5) * 1000,
        io_latency_p99_ms=percentile(latencies, 0.99) * 1000,
    )


def convoy_point(result: RunResult) -> ConvoyPoint:
    return ConvoyPoint(
        cpu_workers=len(result.worker_results) - 1,
        cpu_strategy=result.strategy,
        switch_interval_s=result.switch_interval_s,
        io_requests=result.worker_results[0].units if result.worker_results else 0,
        io_requests_per_s=result.io_requests_per_s or 0.0,
        io_latency_p50_ms=result.io_latency_p50_ms,
        io_latency_p99_ms=result.io_latency_p99_ms,
    )


def sweep_configurations(strategies: tuple[str, ...]) -> list[tuple[str, int, float | None]]:
    """(strategy, CPU workers, switch interval or None for the lab's default)
    of a convoy sweep: 0, 1, 2, 4 CPU workers as threads, then as processes,
    then one CPU thread at a short and a long switch interval."""
    configs: list[tuple[str, int, float | None]] = []
    for strategy in strategies:
        configs += [(strategy, n, None) for n in SWEEP_CPU_WORKERS]
    if "threads" in strategies:
        configs += [("threads", 1, s) for s in SWEEP_SWITCH_INTERVALS_S]
    return configs
