"""Shared-memory counters: how workers tell the world what they are doing.

Each worker (a thread in the lab, or a worker process) writes its state and
progress into its own slot of a small memory-mapped file. The parent's sampler
maps the same file and reads it at a fixed period, from outside the lab: no
message per sample, no sampler thread competing for the lab's GIL. A write is
one aligned 8-byte store, so a reader sees either the old or the new value.

Layout (all signed 64-bit integers)::

    header: MAGIC, CANCEL, GO, N_WORKERS, RACE_COUNTER, GO_NS, RACE_SEQ, RACE_UNITS
    slot i: STATE, UNITS, TASKS_DONE, TASKS_TOTAL, OS_ID, TASK_INDEX, CPU_NS, ERRORS,
            DONE_NS, ON_CPU0_NS, CORE_WAIT0_NS, STARTED_NS

Times ending in ``_NS`` are CLOCK_MONOTONIC (``time.monotonic_ns()``), the
same clock in every process on the machine: GO_NS is when the lab gave the
start signal, STARTED_NS when a worker woke up to it and began (0 until
then), DONE_NS when it finished its tasks (0 until then).
ON_CPU0_NS and CORE_WAIT0_NS are the worker thread's own schedstat figures
(time on a CPU, time runnable but waiting for a core) at the start signal,
so the sampler can count from that moment exactly (-1 where the kernel keeps
no schedstat).

The race's counter and the units it is to be compared with must be read as
one pair, or the reader sees updates "lost" that were merely counted later.
Processes count in RACE_COUNTER itself, after they did the work their UNITS
say: read the slots first, then the counter. Threads count in the lab's
memory; the lab publishes the pair (:meth:`Slots.publish_race`), the units
summed before the counter is read, under a sequence number
(:meth:`Slots.read_race` retries a pair caught half written).

Standard library only: the lab uses this module.
"""

from __future__ import annotations

import mmap
import os
import tempfile

MAGIC_VALUE = 0x67696C76697A  # "gilviz"

# header fields
MAGIC, CANCEL, GO, N_WORKERS, RACE_COUNTER, GO_NS, RACE_SEQ, RACE_UNITS = range(8)
HEADER_WORDS = 8

# per-worker fields
(STATE, UNITS, TASKS_DONE, TASKS_TOTAL, OS_ID, TASK_INDEX, CPU_NS, ERRORS, DONE_NS, ON_CPU0_NS, CORE_WAIT0_NS,
 STARTED_NS, ON_CPU_END_NS, CORE_WAIT_END_NS) = range(14)
SLOT_WORDS = 14

WORD_BYTES = 8


def _size_bytes(n_workers: int) -> int:
    return (HEADER_WORDS + SLOT_WORDS * n_workers) * WORD_BYTES


def _shm_dir() -> str | None:
    """A RAM-backed folder where one exists (Linux), else the temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class Slots:
    """A view of the shared counters. Create it in the parent, open it elsewhere."""

    def __init__(self, path: str, *, _fd: int | None = None) -> None:
        self.path = path
        fd = _fd if _fd is not None else os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.words = memoryview(self._map).cast("q")
        if self.words[MAGIC] != MAGIC_VALUE:
            raise ValueError(f"{path} is not a gilviz slots file")
        self.n_workers = int(self.words[N_WORKERS])

    @classmethod
    def create(cls, n_workers: int) -> "Slots":
        fd, path = tempfile.mkstemp(prefix="gilviz-slots-", dir=_shm_dir())
        try:
            os.ftruncate(fd, _size_bytes(n_workers))
            header = memoryview(bytearray(HEADER_WORDS * WORD_BYTES)).cast("q")
            header[MAGIC] = MAGIC_VALUE
            header[N_WORKERS] = n_workers
            os.pwrite(fd, header.tobytes(), 0)
            # every worker starts with no task
            for i in range(n_workers):
                base = (HEADER_WORDS + SLOT_WORDS * i + TASK_INDEX) * WORD_BYTES
                os.pwrite(fd, (-1).to_bytes(8, "little", signed=True), base)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        return cls(path, _fd=fd)

    def base(self, index: int) -> int:
        """Index of worker ``index``'s first word in ``words``."""
        return HEADER_WORDS + SLOT_WORDS * index

    def get(self, index: int, field: int) -> int:
        return int(self.words[HEADER_WORDS + SLOT_WORDS * index + field])

    def read_all(self) -> list[tuple[int, ...]]:
        """A copy of every worker's slot, as tuples of SLOT_WORDS ints."""
        w = self.words
        out = []
        for i in range(self.n_workers):
            b = HEADER_WORDS + SLOT_WORDS * i
            out.append(tuple(w[b : b + SLOT_WORDS]))
        return out

    def publish_race(self, read_counter) -> None:
        """The lab, for threads: the workers' units so far, then the counter
        (``read_counter()``, read after them), published as one pair."""
        w = self.words
        seq = int(w[RACE_SEQ])
        w[RACE_SEQ] = seq + 1  # odd: being written
        w[RACE_UNITS] = sum(int(w[HEADER_WORDS + SLOT_WORDS * i + UNITS]) for i in range(self.n_workers))
        w[RACE_COUNTER] = read_counter()
        w[RACE_SEQ] = seq + 2

    def read_race(self, rows: list[tuple[int, ...]]) -> tuple[int, int] | None:
        """The race's (units, counter), read as one pair; ``rows``: this
        sample's :meth:`read_all`, made before. None if the lab kept writing
        the pair while it was read (the next sample will have one)."""
        w = self.words
        for _ in range(100):
            seq = int(w[RACE_SEQ])
            if seq == 0:  # nothing published: processes count in the word itself, after their units
                return sum(row[UNITS] for row in rows), int(w[RACE_COUNTER])
            if seq % 2:
                continue
            units, counter = int(w[RACE_UNITS]), int(w[RACE_COUNTER])
            if int(w[RACE_SEQ]) == seq:
                return units, counter
        return None

    @property
    def cancelled(self) -> bool:
        return self.words[CANCEL] != 0

    def cancel(self) -> None:
        self.words[CANCEL] = 1

    def close(self) -> None:
        try:
            self.words.release()
            self._map.close()
        except (BufferError, ValueError):
            pass

    def unlink(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
