"""count: the seed notes' countdown loop, ``while n > 0: n -= 1``.

Pure Python, so a thread must hold the GIL for every iteration: threads take
turns and together use about one core; processes each have their own GIL.
"""

from __future__ import annotations

from ._spec import WorkloadSpec
from ._task import Progress, Task, TaskContext

#: iterations between two progress writes and cancel checks (~0.1-0.2 ms here): a
#: cancelled thread first finishes its chunk, and with the GIL 256 threads
#: finish theirs one after another (0.5-0.7 s with 200,000, 0.2-0.25 s with
#: 50,000, 0.12-0.3 s with 20,000, 0.04 s in a bare loop with 5,000: a
#: speaker's switch away from 256 threads). Best of 60, the checks cost
#: nothing measurable at 5,000 (19.0 against 19.1 ns an iteration).
CHUNK = 5_000


def run(p: Progress, task: Task, ctx: TaskContext) -> None:
    n = task.amount
    while n > 0:
        if p.cancelled():
            return
        step = CHUNK if n > CHUNK else n
        m = step
        while m > 0:  # the countdown loop, inlined: no extra call per chunk
            m -= 1
        n -= step
        p.add_units(step)
        p.cpu()


def _explain(strategy: str, lock: bool, race_style: str, gil_enabled: bool | None,
             python: str | None) -> str | None:
    if strategy == "threads" and gil_enabled is False:
        return ("[b]This Python runs without the GIL[/]: the threads count at the same time, each lane at full "
                "height as long as there is a free core, and [b]cores used[/] climbs above 1, up to the core count. "
                "There is no baton to pass here: compare with a GIL build (--python, or --gil on).")
    return None


SPEC = WorkloadSpec(
    name="count",
    key="c",
    title="count down in pure Python (CPU, holds the GIL)",
    help="a countdown loop in pure Python (CPU-bound, holds the GIL)",
    unit="iterations",
    size_help="iterations",
    default_size=32_000_000,
    max_size=10**11,
    runner=run,
    calibration_units=4 * CHUNK,  # four chunks a call: the calibration loop's own check stays negligible
    explain_hook=_explain,
    explainer={
        "sequential": (
            "One worker counts every chunk in turn: full-height blocks on one lane, one core busy. "
            "This is the baseline the scoreboard's speedups are measured against."
        ),
        "threads": (
            "A thread needs the GIL to run Python code, so only one counts at a time: each lane moves at "
            "about 1/N of full speed and [b]cores used[/] stays near 1.0, even when the per-core bars show "
            "the OS spreading the threads over several cores. Press ] up to 100 ms to watch the GIL pass "
            "like a baton."
        ),
        "processes": (
            "Each process has its own interpreter and its own GIL: lanes run at full height, as many at once "
            "as there are cores, and [b]cores used[/] climbs to the core count. Beyond that the OS takes turns."
        ),
    },
    explainer_nogil={
        "processes": (
            "Each process runs its own interpreter: lanes run at full height, as many at once as there are "
            "cores, and [b]cores used[/] climbs to the core count, as threads do here, plus each one's start-up."
        ),
    },
)
