"""race: workers increment one shared counter, and lose updates unless locked.

Two styles:

- ``call`` (default): read the counter, call a function, write it back. Since
  CPython 3.10 a GIL build switches threads only at calls and backward jumps,
  so the call is where another thread gets in, and its increments are
  overwritten: updates are lost on every CPython.
- ``plain``: the seed notes' ``counter += 1`` on a module global. A GIL build
  of CPython 3.10+ never switches threads between its read and its write, so
  threads lose nothing there; processes on shared memory still do.
"""

from __future__ import annotations

from typing import Any

from ._spec import WorkloadSpec
from ._task import Progress, Task, TaskContext

#: increments between two progress writes
CHUNK = 2_000


class Cell:
    """The shared counter for threads: a plain Python attribute."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class SharedCell:
    """The shared counter for processes: a word of shared memory."""

    __slots__ = ("words", "index")

    def __init__(self, words: Any, index: int) -> None:
        self.words = words
        self.index = index

    @property
    def value(self) -> int:
        return int(self.words[self.index])

    @value.setter
    def value(self, v: int) -> None:
        self.words[self.index] = v


def version_tuple(python: str) -> tuple[int, ...]:
    """"3.9.18" -> (3, 9, 18); unparsable parts are dropped."""
    import re

    out = []
    for part in python.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        out.append(int(digits.group()))
    return tuple(out)


def plain_increment_is_atomic(python: str, gil_enabled: bool) -> bool:
    """On a GIL build of CPython 3.10+, a thread switch never falls between the
    read and the write of ``counter += 1`` (switches happen only at calls and
    backward jumps). Before 3.10 it can; without a GIL threads truly overlap."""
    return gil_enabled and version_tuple(python)[:2] >= (3, 10)


def switch_point() -> None:
    """Any call will do: entering a function is where CPython (3.10+) checks
    whether another thread asked for the GIL, so a thread switch can happen
    here, between the read and the write of the counter."""


#: The seed notes' counter, for the "plain" race under threads: a module global.
counter = 0


def _plain_increments(step: int) -> None:
    """The seed notes' race, verbatim."""
    global counter
    for _ in range(step):
        counter += 1


def _plain_increments_locked(step: int, lock: Any) -> None:
    global counter
    for _ in range(step):
        with lock:
            counter += 1


def _plain_cell_increments(cell: Any, step: int) -> None:
    """``counter += 1`` on shared memory (processes): no GIL is shared, the
    processes run at the same time, and updates are lost."""
    for _ in range(step):
        cell.value += 1


def _call_increments(cell: Any, step: int, lock: Any) -> None:
    if lock is None:
        for _ in range(step):
            value = cell.value  # read
            switch_point()  # another thread may run here...
            cell.value = value + 1  # ...and its increments are overwritten
    else:
        for _ in range(step):
            with lock:
                value = cell.value
                switch_point()
                cell.value = value + 1


def _plain_step(cell: Any, step: int, lock: Any) -> None:
    if isinstance(cell, SharedCell):
        if lock is None:
            _plain_cell_increments(cell, step)
        else:
            for _ in range(step):
                with lock:
                    cell.value += 1
    elif lock is None:
        _plain_increments(step)
    else:
        _plain_increments_locked(step, lock)


def run(p: Progress, task: Task, ctx: TaskContext) -> None:
    cell, lock = ctx.cell, ctx.lock
    plain = ctx.race_style == "plain"
    left = task.amount
    while left > 0:
        if p.cancelled():
            return
        step = CHUNK if left > CHUNK else left
        if plain:
            _plain_step(cell, step, lock)
        else:
            _call_increments(cell, step, lock)
        left -= step
        p.add_units(step)
        p.cpu()


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
    "This is the seed notes' [b]counter += 1[/]. Since 3.10 a GIL build of CPython switches threads only at "
    "calls and backward jumps, and there is neither between its read and its write, so no update is lost: the "
    "race is there, but the interpreter never lands in it. Press k to put a call in between."
)


_PLAIN_THREADS_LOSE = (
    "This is the seed notes' [b]counter += 1[/]. {why}, so a thread can be switched out between the read "
    "and the write, and the other threads' increments made meanwhile are overwritten: see [b]lost[/]. "
    "Press l for a lock."
)


def _explain(strategy: str, lock: bool, race_style: str, gil_enabled: bool | None,
             python: str | None) -> str | None:
    if lock and strategy == "threads" and gil_enabled is False:
        return ("[b]This Python runs without the GIL[/], and with a lock held from the read to the write no "
                "increment is lost all the same; the price is handing the lock from thread to thread: compare the "
                "wall time with the run without it.")
    if lock and strategy in _LOCKED:
        return _LOCKED[strategy]
    if race_style == "plain" and strategy == "threads":
        if python is None or plain_increment_is_atomic(python, gil_enabled is not False):
            return _PLAIN_THREADS
        why = ("Without the GIL the threads run at the same time" if gil_enabled is False
               else f"CPython {python} (before 3.10) may switch threads anywhere between two bytecodes")
        return _PLAIN_THREADS_LOSE.format(why=why)
    if strategy == "threads" and gil_enabled is False:
        return ("[b]This Python runs without the GIL[/]: the threads run at the same time, so they can lose "
                "updates even with the read and the write close together. Press l for a lock.")
    return None


SPEC = WorkloadSpec(
    name="race",
    key="r",
    title="increment a shared counter (lost updates)",
    help="threads increment a shared counter and lose updates unless locked",
    unit="increments",
    size_help="increments",
    default_size=1_000_000,
    max_size=10**9,
    runner=run,
    calibration_units=CHUNK * 5,
    options=frozenset({"lock", "race_style"}),
    explain_hook=_explain,
    explainer={
        "sequential": "One worker increments the counter alone: nobody to race, no update lost. The baseline.",
        "threads": (
            "Each increment reads the counter, calls a function, then writes it back. Since 3.10 CPython switches "
            "threads only at calls and backward jumps, so a switch lands between the read and the write and other "
            "threads' increments are overwritten: see [b]lost[/]. Press l for a lock, k for the plain counter += 1."
        ),
        "processes": (
            "The processes share the counter through shared memory and truly run at once, so without a lock "
            "they overwrite each other's increments too: the GIL never protected your data."
        ),
    },
    explainer_nogil={
        "processes": (
            "The processes share the counter through shared memory and run at once, so without a lock they "
            "overwrite each other's increments, as threads do here."
        ),
    },
)
