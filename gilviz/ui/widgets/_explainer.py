"""Explainer: what to look at for the current workload and strategy, and why."""

from __future__ import annotations

from textual.widgets import Static

_TEXT = {
    ("count", "sequential"): (
        "One worker counts every chunk in turn: full-height blocks on one lane, one core busy. "
        "This is the baseline the scoreboard's speedups are measured against."
    ),
    ("count", "threads"): (
        "A thread needs the GIL to run Python code, so only one counts at a time: each lane moves at "
        "about 1/N of full speed and [b]cores used[/] stays near 1.0, even when the per-core bars show "
        "the OS spreading the threads over several cores. Press ] up to 100 ms to watch the GIL pass like a baton."
    ),
    ("count", "processes"): (
        "Each process has its own interpreter and its own GIL: lanes run at full height, as many at once "
        "as there are cores, and [b]cores used[/] climbs to the core count. Beyond that the OS takes turns."
    ),
    ("hash", "sequential"): (
        "One worker hashes every chunk in turn, on one core: the baseline."
    ),
    ("hash", "threads"): (
        "hashlib releases the GIL while it hashes a buffer larger than 2 KiB, so threads hash in parallel: "
        "full-height lanes and [b]cores used[/] above 1, up to the core count. C code that releases the GIL scales with threads."
    ),
    ("hash", "processes"): (
        "Processes hash in parallel too, each with its own GIL; since hashlib already releases it, "
        "they add only their start-up cost over threads here."
    ),
    ("race", "sequential"): (
        "One worker increments the counter alone: nobody to race, no update lost. The baseline."
    ),
    ("race", "threads"): (
        "Each increment reads the counter, calls a function, then writes it back. Since 3.10 CPython switches "
        "threads only at calls and backward jumps, so a switch lands between the read and the write and other "
        "threads' increments are overwritten: see [b]lost[/] in the scoreboard. Press l for a lock, k for the plain counter += 1."
    ),
    ("race", "processes"): (
        "The processes share the counter through shared memory and truly run at once, so without a lock "
        "they overwrite each other's increments too: the GIL never protected your data."
    ),
    ("fetch", "sequential"): (
        "One worker fetches the URLs one after another: the waits add up, one latency per URL, "
        "and the CPU idles meanwhile."
    ),
    ("fetch", "threads"): (
        "A thread waiting for the network releases the GIL, so the threads' waits overlap: the lanes wait "
        "together and the run takes about one latency instead of one per URL, with [b]cores used[/] near 0."
    ),
    ("fetch", "processes"): (
        "Processes overlap their waits as well, but each starts a new interpreter: for I/O, threads do "
        "the same job cheaper."
    ),
}

_LOCKED = {
    "threads": (
        "With a lock held from the read to the write, no increment is lost; the price is handing the lock "
        "(and the GIL) from thread to thread: compare the wall time with the run without it."
    ),
    "processes": (
        "A lock shared by the processes makes every increment count; the processes now mostly wait for it, "
        "so compare the wall time with the run without it."
    ),
}


_PLAIN_THREADS = (
    "This is the seed notes' [b]counter += 1[/]. Since 3.10 CPython switches threads only at calls and "
    "backward jumps, and there is neither between its read and its write, so no update is lost: the race "
    "is still there in principle, the interpreter just never lands in it. Press k to put a call in between."
)


def explanation(
    workload: str, strategy: str, lock: bool = False, gil_enabled: bool | None = True, race_style: str = "call"
) -> str:
    """Two or three sentences (Rich markup) for the mode on screen."""
    if workload == "race" and lock and strategy in _LOCKED:
        text = _LOCKED[strategy]
    elif workload == "race" and race_style == "plain" and strategy == "threads" and gil_enabled is not False:
        text = _PLAIN_THREADS
    else:
        text = _TEXT.get((workload, strategy), "")
    if gil_enabled is False:
        text = "[b]This Python runs without the GIL[/]: pure-Python threads can run in parallel here. " + text
    return text


class Explainer(Static):
    DEFAULT_CSS = """
    Explainer {
        height: auto;
    }
    """

    def show(
        self, workload: str, strategy: str, lock: bool, gil_enabled: bool | None, race_style: str = "call"
    ) -> None:
        self.update(explanation(workload, strategy, lock, gil_enabled, race_style))
