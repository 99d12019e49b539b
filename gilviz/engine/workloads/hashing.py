"""hash: SHA-256 over 1 MiB buffers.

CPU-bound, but hashlib releases the GIL while it hashes a buffer larger than
2 KiB, so threads hash in parallel. One unit is one MiB hashed.
"""

from __future__ import annotations

import hashlib

from ._spec import WorkloadSpec
from ._task import Progress, Task, TaskContext

BLOCK_BYTES = 1 << 20  # one unit: a MiB, hashed in one call
_BLOCK = bytes(range(256)) * (BLOCK_BYTES // 256)


def run(p: Progress, task: Task, ctx: TaskContext) -> None:
    h = hashlib.sha256()
    for _ in range(task.amount):
        if p.cancelled():
            return
        h.update(_BLOCK)  # releases the GIL for the whole MiB
        p.add_units(1)
        p.cpu()
    h.hexdigest()


SPEC = WorkloadSpec(
    name="hash",
    key="h",
    title="SHA-256 with hashlib (CPU, releases the GIL)",
    help="SHA-256 of big buffers (CPU-bound, but hashlib releases the GIL)",
    unit="MiB",
    size_help="MiB hashed",
    default_size=2048,
    max_size=1_000_000,
    runner=run,
    calibration_units=8,
    releases_gil=True,
    explainer={
        "sequential": "One worker hashes every chunk in turn, on one core: the baseline.",
        "threads": (
            "hashlib releases the GIL while it hashes a buffer larger than 2 KiB, so threads hash in parallel: "
            "each lane as tall as its share of a core and [b]cores used[/] above 1, up to the core count. "
            "C code that releases the GIL scales with threads."
        ),
        "processes": (
            "Processes hash in parallel too, each with its own GIL; since hashlib already releases it, "
            "they add only their start-up cost over threads here."
        ),
    },
    explainer_nogil={
        "threads": (
            "The threads hash in parallel: each lane as tall as its share of a core and "
            "[b]cores used[/] above 1, up to the core count. "
            "On a GIL build too: hashlib lets go of the GIL while it hashes a buffer larger than 2 KiB."
        ),
        "processes": "Processes hash in parallel too; threads already do here, so processes add only their start-up.",
    },
)
