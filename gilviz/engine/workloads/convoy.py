"""convoy: one I/O thread making small requests while CPU workers count.

The convoy effect: a thread that does a little work between short waits (a
server answering requests) needs the GIL back after every wait, and a
CPU-bound thread in the same process holds it until the switch interval
forces a hand-over (5 ms by default). So each request can cost up to one
switch interval of waiting for the GIL: requests per second fall and the
latency grows to the interval. With the CPU work in other processes the I/O
thread has its GIL to itself.

Lane 0 is the I/O thread: back-to-back GETs of a small body from the
embedded loopback server (latency 0) over one keep-alive connection, for a
set time; it writes each request's latency (float64 seconds) to the file its
task names, which the session reads. Lanes 1..N count in pure Python for the
same time. One unit is one request. Standard library only (http.client).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from array import array

from ..model import WorkerState
from ._spec import WorkloadSpec
from ._task import Progress, Task, TaskContext, TaskError

#: the small body each request asks of the embedded server
BODY_BYTES = 64
#: iterations between two cancel checks of a CPU lane (~1 ms)
CHUNK = 20_000


def record_path() -> str:
    """A fresh file name for one run's latencies (RAM-backed where there is one)."""
    folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    return os.path.join(folder, f"gilviz-convoy-{uuid.uuid4().hex}.f64")


def plan(workers: int, size: int | None, urls: tuple) -> list[Task]:
    """The I/O task on lane 0, then one counting task per CPU worker, all
    running ``size`` milliseconds. ``workers`` is the CPU workers (0: the I/O
    thread alone)."""
    duration_s = (size or SPEC.default_size) / 1000
    url = urls[0] if urls else ""
    tasks = [Task(label=f"I/O: requests for {duration_s:g} s", amount=0, url=url, duration_s=duration_s,
                  record_to=record_path())]
    tasks += [Task(label=f"CPU: count for {duration_s:g} s", amount=0, duration_s=duration_s)
              for _ in range(workers)]
    return tasks


def run(p: Progress, task: Task, ctx: TaskContext) -> None:
    if task.url:
        _requests(p, task, ctx)
    else:
        _count(p, task)


def _count(p: Progress, task: Task) -> None:
    deadline = time.perf_counter() + task.duration_s
    while time.perf_counter() < deadline and not p.cancelled():
        m = CHUNK
        while m > 0:
            m -= 1
        p.cpu()


def _requests(p: Progress, task: Task, ctx: TaskContext) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(task.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=ctx.timeout_s)
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    latencies = array("d")
    clock = time.perf_counter
    deadline = clock() + task.duration_s
    p.state(WorkerState.WAITING)
    try:
        while not p.cancelled():
            t0 = clock()
            if t0 >= deadline:
                break
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            latencies.append(clock() - t0)
            if resp.status != 200:
                raise TaskError(f"HTTP {resp.status} {resp.reason}")
            p.add_units(1)
    except (OSError, http.client.HTTPException) as exc:
        raise TaskError(f"request failed: {type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
        p.cpu()
        if task.record_to:
            with open(task.record_to, "wb") as f:
                latencies.tofile(f)


SPEC = WorkloadSpec(
    name="convoy",
    key="o",
    title="one I/O thread beside CPU-bound threads (the convoy effect)",
    help="one thread making small loopback requests while N threads count: its requests/s and latency",
    unit="requests",
    size_help="milliseconds each configuration runs",
    default_size=1000,
    max_size=60_000,
    runner=run,
    default_workers=1,
    options=frozenset({"loopback"}),
    planner=plan,
    lane_per_task=True,
    sweep=True,
    io_lane=True,
    strategies=("threads", "processes"),
    refusals={
        "sequential": "the I/O thread and the CPU work must run at the same time; one after another there is "
                      "nothing to measure",
        "asyncio": "the CPU workers count and never await: they would run one after another on the loop",
    },
    explainer={
        "threads": (
            "Lane 0 asks the embedded server for tiny answers, back to back; the others count. After each "
            "answer the I/O thread needs the GIL back, and a counting thread gives it up only when the "
            "[b]switch interval[/] runs out, so requests/s collapse and latency grows to the interval. "
            "Press \\[ and ] to change it."  # "\\[": a bracket, not Rich markup
        ),
        "processes": (
            "The same I/O lane, with the counting moved to other processes: each has its own GIL, so the "
            "I/O thread never waits for one, and requests/s stay where they were with no CPU work at all "
            "(as long as there is a core to spare)."
        ),
    },
    # measured with /opt/py313t: 1,536 requests/s beside one counting
    # thread on two cores (982 alone), 18 beside two: no GIL to wait for,
    # but a core
    explainer_nogil={
        "threads": (
            "Lane 0 asks the embedded server for tiny answers; the others count. No GIL to hand back: "
            "requests/s hold while a core is spare, and once every core counts, the I/O thread waits for a core."
        ),
        "processes": (
            "The same I/O lane, with the counting moved to other processes: requests/s stay where they were "
            "while a core is spare; once every core counts, the I/O thread waits for a core."
        ),
    },
)
