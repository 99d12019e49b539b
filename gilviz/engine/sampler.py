"""The sampler: measures a run from outside, the way a profiler watches its target.

At each period it reads the workers' shared slots (state, units, tasks) and
asks the OS for the CPU time of every worker thread (in the lab) or worker
process, for the lab as a whole, and for every core. It runs in the parent,
so measuring costs the lab nothing but a few stores per chunk.

A worker's CPU time comes from the kernel's scheduler statistics where Linux
keeps them (``/proc/<pid>/task/<tid>/schedstat``: nanoseconds on a CPU, and
nanoseconds runnable but waiting for a core), else from psutil (in clock
ticks of 10 ms). Every figure counts from the sampler's start, and a worker
that has ended is read from its slot, where it wrote its own CPU time (the
same clock) as it finished, minus what the slot said at the start.
"""

from __future__ import annotations

import time

import psutil

from .model import Tick, WorkerSample, WorkerState
from .slots import CPU_NS, ERRORS, OS_ID, STATE, TASK_INDEX, TASKS_DONE, UNITS, Slots


#: How many workers' CPU figures the sampler reads from /proc per period, about.
CPU_READS_PER_PERIOD = 32


def _cpu(times) -> float:
    return times.user + times.system


def read_schedstat(path: str) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for a core) of one
    thread, from the kernel; None where the file is missing (the thread has
    ended, not Linux, or a kernel without schedstats)."""
    try:
        with open(path, "rb") as f:
            on_cpu, waiting, _ = f.read().split()
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return None


class Sampler:
    def __init__(self, slots: Slots, lab_pid: int, strategy: str, tasks_per_worker: list[int]) -> None:
        self.slots = slots
        self.n = slots.n_workers
        self.threads = strategy != "processes"
        self.tasks_per_worker = tasks_per_worker
        self.lab = psutil.Process(lab_pid)
        self._procs: dict[int, psutil.Process] = {}
        self._cpu_base: dict[int, float] = {}  # per worker: CPU at the sampler's start
        self._slot_base: list[float] = [0.0] * self.n  # per worker: its slot's CPU at the start
        self._cpu_last: list[float] = [0.0] * self.n
        #: schedstat is read where the kernel has it (checked on the lab itself)
        self.schedstat = read_schedstat(f"/proc/{lab_pid}/schedstat") is not None
        self._units_last = [0] * self.n
        self._total_cpu_last = 0.0
        self._seq = 0
        self.t0 = 0.0
        self._t_last = 0.0
        self._t_cpu = 0.0  # when the OS's CPU figures were last read
        self._shares = [0.0] * self.n
        self._cores_used = 0.0
        #: read the OS's per-worker CPU every this many periods (~32 workers a period)
        self.cpu_every = max(1, -(-self.n // CPU_READS_PER_PERIOD))

    def start(self) -> None:
        """Call at the start signal: the baseline every later sample is measured from."""
        psutil.cpu_percent(percpu=True)  # the next call reports since now
        self.t0 = self._t_last = self._t_cpu = time.perf_counter()
        self._slot_base = [self.slots.get(i, CPU_NS) / 1e9 for i in range(self.n)]
        self._total_cpu_last = self._total_cpu(self._worker_cpu())

    def _worker_cpu(self) -> list[float]:
        """CPU seconds of each worker since the start signal, from the OS.

        A worker thread or process that has ended can no longer be asked; its
        last figure then comes from its slot, where it wrote its own CPU time
        (time.thread_time / time.process_time, also the OS's count) as it
        finished."""
        raw: list[float | None] = []
        if self.schedstat:
            raw = [self._schedstat_cpu(i) for i in range(self.n)]
        elif self.threads:
            try:
                by_tid = {t.id: t.user_time + t.system_time for t in self.lab.threads()}
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                by_tid = {}
            raw = [by_tid.get(self.slots.get(i, OS_ID)) for i in range(self.n)]
        else:
            for i in range(self.n):
                pid = self.slots.get(i, OS_ID)
                try:
                    proc = self._procs.get(pid)
                    if proc is None and pid:
                        proc = self._procs[pid] = psutil.Process(pid)
                    raw.append(_cpu(proc.cpu_times()) if proc is not None else None)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    raw.append(None)
        out = []
        for i, value in enumerate(raw):
            if value is None:
                own = self.slots.get(i, CPU_NS) / 1e9 - self._slot_base[i]
                out.append(max(own, self._cpu_last[i]))
                continue
            base = self._cpu_base.setdefault(i, value)
            out.append(max(0.0, value - base))
        return out

    def _schedstat_cpu(self, i: int) -> float | None:
        os_id = self.slots.get(i, OS_ID)
        if not os_id:
            return None
        pid = self.lab.pid if self.threads else os_id
        stat = read_schedstat(f"/proc/{pid}/task/{os_id}/schedstat")
        return stat[0] if stat is not None else None

    def _total_cpu(self, worker_cpu: list[float]) -> float:
        """CPU of the lab process (all its threads) plus its worker processes."""
        try:
            total = _cpu(self.lab.cpu_times())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return self._total_cpu_last
        if not self.threads:
            total += sum(worker_cpu)
        return total

    def sample(self, final: bool = False) -> Tick:
        """Measure the period since the last sample.

        Work and states come from the slots every period. The OS's CPU
        figures cost one /proc read per worker, so with many workers they are
        read every ``cpu_every`` periods (and always on the final sample);
        between two reads a worker's share is the one measured over the last
        window."""
        now = time.perf_counter()
        period = max(now - self._t_last, 1e-6)
        self._t_last = now
        self._seq += 1
        if final or (self._seq - 1) % self.cpu_every == 0:
            cpu = self._worker_cpu()
            total_cpu = self._total_cpu(cpu)
            window = max(now - self._t_cpu, 1e-6)
            self._cores_used = max(0.0, total_cpu - self._total_cpu_last) / window
            # one worker is one thread: it cannot use more than one core;
            # reading the files a few microseconds apart can make it look so
            self._shares = [min(1.0, max(0.0, cpu[i] - self._cpu_last[i]) / window) for i in range(self.n)]
            self._total_cpu_last = total_cpu
            self._cpu_last = cpu
            self._t_cpu = now
        workers = []
        for i, row in enumerate(self.slots.read_all()):
            units = row[UNITS]
            state = row[STATE]
            workers.append(
                WorkerSample(
                    index=i,
                    os_id=row[OS_ID],
                    state=WorkerState(state) if 0 <= state <= 5 else WorkerState.ERROR,
                    units=units,
                    units_delta=units - self._units_last[i],
                    tasks_done=row[TASKS_DONE],
                    tasks_total=self.tasks_per_worker[i],
                    task_index=row[TASK_INDEX],
                    cpu_s=self._cpu_last[i],
                    cpu_share=self._shares[i],
                    errors=row[ERRORS],
                )
            )
            self._units_last[i] = units
        cores = tuple(psutil.cpu_percent(percpu=True))
        return Tick(
            seq=self._seq,
            t_s=now - self.t0,
            period_s=period,
            workers=tuple(workers),
            cores_percent=cores,
            cores_used=self._cores_used,
        )
