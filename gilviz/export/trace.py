"""Export a run as a Chrome Trace Event Format file (Perfetto, chrome://tracing).

Each worker is a track (pid = its process, tid = its OS thread id or pid),
each stretch of one state is a complete ("X") slice, and the machine's core
loads and the lab's cores used are counter ("C") tracks. Timestamps are
microseconds from the run's start signal. Format reference:
https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..engine.model import STATE_NAMES, RunResult, WorkerSample, WorkerState, dominant_state
from ..engine.workloads import spec
from .files import write_fresh_file, write_new_file

COUNTER_PID = 0  # the "machine" track: per-core load and cores used
LAB_PID = 1  # a stable id for the lab's track when workers are threads
_ENDED = (WorkerState.DONE, WorkerState.ERROR, WorkerState.CANCELLED)


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def chrome_trace(result: RunResult) -> dict[str, Any]:
    """The run as a Trace Event Format document (a dict ready for ``json``)."""
    events, tracks = _track_names(result)
    events += _state_slices(result, tracks)
    events += _counters(result)
    # metadata first, then everything else in time order (stable)
    meta = [e for e in events if e["ph"] == "M"]
    timed = sorted((e for e in events if e["ph"] != "M"), key=lambda e: e["ts"])
    return {
        "traceEvents": meta + timed,
        "displayTimeUnit": "ms",
        "otherData": {k: v for k, v in result.to_dict().items() if k != "worker_results"},
    }


def _track_names(result: RunResult) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Metadata events naming the tracks, and each worker's (pid, tid)."""
    threads = result.strategy != "processes"
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": COUNTER_PID, "tid": 0, "args": {"name": "machine"}},
    ]
    if threads:
        events.append({"name": "process_name", "ph": "M", "pid": LAB_PID, "tid": 0,
                       "args": {"name": f"lab ({result.strategy})"}})
    tracks = []
    for w in result.worker_results:
        pid = LAB_PID if threads else (w.os_id or 10_000 + w.index)
        tid = w.os_id or w.index + 1
        tracks.append((pid, tid))
        if not threads:
            events.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": w.name}})
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"name": f"{w.name} ({'tid' if threads else 'pid'} {w.os_id})"}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"sort_index": w.index}})
    return events, tracks


def _state_slices(result: RunResult, tracks: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """One complete ("X") event per stretch of one state of one worker."""
    events = []
    for s in _merged_periods(result, len(tracks)):
        pid, tid = tracks[s["index"]]
        if s["name"] in (WorkerState.DONE.name.lower(), WorkerState.CANCELLED.name.lower()):
            continue  # after the end: nothing to show
        events.append({
            "name": s["name"], "cat": result.workload, "ph": "X", "pid": pid, "tid": tid,
            "ts": _us(s["start"]), "dur": max(_us(s["end"] - s["start"]), 0.1),
            "args": {result.unit: s["units"], "cpu_s": round(s["cpu_s"], 6)},
        })
    return events


def _period_name(ws: WorkerSample, io_bound: bool, previous: str | None) -> str:
    """What a worker did in one period: its dominant measured state (running,
    waiting for a core, for the GIL, for the network) while it was in the
    run; without a measured split, what its slot and progress say."""
    in_run = ws.state not in _ENDED or ws.units_delta > 0
    state = dominant_state(ws)
    if in_run and state is not None:
        return STATE_NAMES[state]
    if in_run and not ws.split and previous is not None and previous in STATE_NAMES.values():
        return previous  # many workers: read every few periods; the last split holds
    if ws.state in _ENDED and ws.units_delta > 0:
        return "running"  # it worked in this period, then ended
    if io_bound and ws.units_delta > 0:
        return "receiving"  # bytes arrived in this period
    return ws.state.name.lower()


def _merged_periods(result: RunResult, n_tracks: int) -> list[dict[str, Any]]:
    """Consecutive sampling periods of the same state, merged per worker."""
    io_bound = spec(result.workload).io_bound
    slices: list[dict[str, Any]] = []
    open_: dict[int, dict[str, Any]] = {}
    for tick in result.ticks:
        start = max(0.0, tick.t_s - tick.period_s)
        for ws in tick.workers:
            if ws.index >= n_tracks:
                continue
            cur = open_.get(ws.index)
            name = _period_name(ws, io_bound, cur["name"] if cur else None)
            if cur is not None and cur["name"] == name:
                cur["end"] = tick.t_s
                cur["units"] += ws.units_delta
                cur["cpu_s"] += ws.cpu_share * tick.period_s
                continue
            if cur is not None:
                slices.append(cur)
            open_[ws.index] = {"index": ws.index, "name": name, "start": start, "end": tick.t_s,
                               "units": ws.units_delta, "cpu_s": ws.cpu_share * tick.period_s}
    slices.extend(open_.values())
    return slices


def _counters(result: RunResult) -> list[dict[str, Any]]:
    """Counter ("C") events: the lab's cores used and each core's load."""
    events = []
    for tick in result.ticks:
        ts = _us(tick.t_s)
        events.append({"name": "cores used", "ph": "C", "pid": COUNTER_PID, "tid": 0, "ts": ts,
                       "args": {"cores": round(tick.cores_used, 3)}})
        events.append({"name": "core load %", "ph": "C", "pid": COUNTER_PID, "tid": 0, "ts": ts,
                       "args": {f"cpu{i}": p for i, p in enumerate(tick.cores_percent)}})
    return events


def trace_json(result: RunResult) -> str:
    """The trace file's text."""
    return json.dumps(chrome_trace(result))


def write_trace(result: RunResult, path: str, *, force: bool = False) -> str:
    """Write the trace to ``path``; refuse to replace a file unless ``force``.
    Returns the file's absolute path (see ``files.write_new_file``)."""
    return write_new_file(path, trace_json(result), force=force)


def trace_file_stem(result: RunResult, when: time.struct_time | None = None) -> str:
    """``gilviz-{workload}-{strategy}-{workers}-{YYYYmmdd-HHMMSS}``: a name
    that says which run it was and when (local time; now by default)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", when or time.localtime())
    return f"gilviz-{result.workload}-{result.strategy}-{result.workers}-{stamp}"


def write_trace_in_folder(result: RunResult, folder: str, when: time.struct_time | None = None) -> str:
    """Write the trace to a new file in ``folder``, named by ``trace_file_stem``
    (``-1``, ``-2``... if taken); never replaces a file. Returns its absolute
    path (see ``files.write_fresh_file`` for the errors)."""
    return write_fresh_file(folder, trace_file_stem(result, when), ".json", trace_json(result))
