"""The sampler's windows, against a scripted kernel and clock: what the
kernel's figures cover is what the window covers."""

from __future__ import annotations

import os

import pytest

from gilviz.engine import sampler as sm
from gilviz.engine.model import WorkerState
from gilviz.engine.slots import (
    CORE_WAIT0_NS,
    ERRORS,
    GO_NS,
    ON_CPU0_NS,
    OS_ID,
    STARTED_NS,
    STATE,
    TASK_INDEX,
    TASKS_DONE,
    UNITS,
    Slots,
)

MS = 1_000_000


class Clock:
    """time.monotonic_ns, set by the test."""

    def __init__(self) -> None:
        self.now = 0

    def monotonic_ns(self) -> int:
        return self.now


def fake_kernel(monkeypatch, figures) -> None:
    """The kernel's (on a core, waiting for a core) of every thread, as
    ``figures(path)`` gives them: where the sampler looks for schedstat at
    its start, and where it reads the workers' files, kept open."""
    monkeypatch.setattr(sm, "read_schedstat", figures)
    monkeypatch.setattr(sm.Sampler, "_read_schedstat", lambda self, path: figures(path))


def one_running_worker(go: int) -> Slots:
    """The slots of one worker thread that began at the start signal ``go``."""
    slots = Slots.create(1)
    slots.words[GO_NS] = go
    base = slots.base(0)
    for field, value in ((OS_ID, 4242), (ON_CPU0_NS, 0), (CORE_WAIT0_NS, 0), (STARTED_NS, go),
                         (STATE, WorkerState.RUNNING)):
        slots.words[base + field] = value
    return slots


def test_a_late_read_of_the_kernel_does_not_show_as_waiting_for_the_gil(monkeypatch):
    """A worker on a core all the time. The sampler takes its clock at 100 ms
    but, on a busy machine, reads the kernel's figures only at 150 ms; the
    next sample reads at once, at 200 ms. The second window then holds 50 ms
    on a core: measured from 100 ms, the other 50 ms were "blocked", which
    the lanes draw as waiting for the GIL. Measured from the read, none."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    # the kernel's (on a core, waiting for a core) for our one worker: a full core since go
    fake_kernel(monkeypatch, lambda path: ((clock.now - go) / 1e9, 0.0))
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # no cores' load, no steal
    slots = one_running_worker(go)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        clock.now = go
        sampler.start()

        late = sampler._read_workers  # the sampler loses its core between its clock and the read

        def read_late(now_ns, rows):
            clock.now = go + 150 * MS
            late(now_ns, rows)

        clock.now = go + 100 * MS
        monkeypatch.setattr(sampler, "_read_workers", read_late)
        first = sampler.sample().workers[0]
        monkeypatch.setattr(sampler, "_read_workers", late)
        clock.now = go + 200 * MS
        second = sampler.sample().workers[0]
    finally:
        slots.close()
        slots.unlink()
    assert first.split and second.split
    assert second.gil_wait_s == pytest.approx(0.0, abs=1e-9)
    assert second.running_s == pytest.approx(0.05)
    window = first.running_s + first.core_wait_s + first.gil_wait_s + first.io_wait_s
    assert first.gil_wait_s == pytest.approx(0.0, abs=1e-9) and window == pytest.approx(0.15)


def test_time_the_host_took_from_a_running_worker_is_waiting_for_a_core(monkeypatch):
    """Under the host's steal a sequential run "waited for the GIL" 10%: a
    worker on a core loses the stolen time from its CPU time, and the
    kernel counts no wait for a core either. Here the host takes a fifth of
    the busy core's time (an idle core gathers no steal); the worker is on a
    core 80 ms of each 100."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    fake_kernel(monkeypatch, lambda path: (0.8 * (clock.now - go) / 1e9, 0.0))
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # the steal comes from read_steal below
    taken = {"share": 0.2}
    # (stolen, busy) of the machine's cores since boot: one core busy, a fifth of it the host's
    monkeypatch.setattr(sm, "read_steal", lambda cores: (taken["share"] * (clock.now - go) / 1e9, (clock.now - go) / 1e9))
    slots = one_running_worker(go)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        clock.now = go
        sampler.start()
        clock.now = go + 100 * MS
        stolen = sampler.sample().workers[0]
        taken["share"] = 0.0  # no steal from here on: the 20 ms off its core were blocked
        monkeypatch.setattr(sm, "read_steal", lambda cores: (0.02, (clock.now - go) / 1e9))
        clock.now = go + 200 * MS
        blocked = sampler.sample().workers[0]
    finally:
        slots.close()
        slots.unlink()
    assert stolen.running_s == pytest.approx(0.08)
    assert stolen.core_wait_s == pytest.approx(0.02) and stolen.gil_wait_s == pytest.approx(0.0, abs=1e-9)
    assert blocked.gil_wait_s == pytest.approx(0.02) and blocked.core_wait_s == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("stored", [*range(-2, 9)])
def test_a_slot_s_state_reads_as_the_state_it_stores_and_anything_else_as_an_error(stored):
    """The sampler reads each worker's state twice a period through a table,
    not ``WorkerState(n)``: the same answer, an error for what no state is."""
    expected = WorkerState(stored) if stored in {int(s) for s in WorkerState} else WorkerState.ERROR
    assert sm.worker_state(stored) is expected


def test_a_period_s_work_is_read_with_its_cpu_time(monkeypatch):
    """A worker counting 1,000 units per CPU millisecond, on a core all the
    time. The sampler reads the slots at 100 ms, but the kernel only at
    150 ms (each /proc read lets the app's thread take the GIL); the next
    sample reads both at 200 ms. Units read with the slots made the second
    period 100 ms of work against 50 ms of CPU: "2× solo" on one core. Read
    with the CPU time, each period's work is what its CPU time did."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    slots = one_running_worker(go)
    units_word = slots.base(0) + sm.UNITS

    def count_to_now() -> None:
        slots.words[units_word] = (clock.now - go) // 1000  # 1,000 units a CPU millisecond

    def kernel(path):
        count_to_now()  # the worker kept counting until this read
        return (clock.now - go) / 1e9, 0.0

    fake_kernel(monkeypatch, kernel)
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # no cores' load, no steal
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        clock.now = go
        sampler.start()
        on_time = sampler._read_workers

        def read_late(now_ns, rows):
            clock.now = go + 150 * MS
            on_time(now_ns, rows)

        samples = []
        for at, read in ((100, read_late), (200, on_time), (300, on_time)):
            clock.now = go + at * MS
            count_to_now()
            monkeypatch.setattr(sampler, "_read_workers", read)
            samples.append(sampler.sample().workers[0])
    finally:
        slots.close()
        slots.unlink()
    cpu = [0.15, 0.05, 0.1]  # what the kernel said each sample's CPU time grew by
    assert [s.units_delta for s in samples] == [round(c * 1e6) for c in cpu]
    assert sum(s.units_delta for s in samples) == 300_000  # nothing lost or counted twice


def test_with_many_workers_a_lane_s_rate_covers_the_window_of_its_cpu_share(monkeypatch):
    """With many workers each one's CPU time is read every few periods, and
    its share of a core is the last read's; its rate was this period's: a
    lane read "rate 4%" beside "cpu 0%". Both now cover the read's window."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    slots = one_running_worker(go)
    units_word = slots.base(0) + sm.UNITS
    cpu = {"s": 0.0}  # the worker's CPU time so far: it gets half a core, then none
    fake_kernel(monkeypatch, lambda path: (cpu["s"], 0.0))
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # no cores' load, no steal
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        sampler.cpu_every = 2  # as with 33 to 64 workers
        clock.now = go
        sampler.start()
        samples = []
        for at, cpu_s in ((100, 0.05), (200, 0.10), (300, 0.10), (400, 0.10)):
            clock.now = go + at * MS
            cpu["s"] = cpu_s
            slots.words[units_word] = round(cpu_s * 1e6)  # 1,000 units a CPU millisecond
            samples.append(sampler.sample().workers[0])
    finally:
        slots.close()
        slots.unlink()
    # read at 100 ms and 300 ms: half a core over the first window, a quarter over the second
    assert [s.cpu_share for s in samples] == pytest.approx([0.5, 0.5, 0.25, 0.25])
    assert [s.units_per_s for s in samples] == pytest.approx([500_000, 500_000, 250_000, 250_000])
    # this period's units are still this period's (the cells of the timeline)
    assert [s.units_delta for s in samples] == [50_000, 50_000, 0, 0]


def _a_worker_on_half_a_core(monkeypatch):
    """A scripted clock, and the slots of one worker thread that began at
    the start signal ``go``: (clock, go, slots, its units' word, its CPU
    seconds since the signal as a function of the clock: half a core)."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    slots = one_running_worker(go)
    return clock, go, slots, slots.base(0) + sm.UNITS, lambda: 0.5 * (clock.now - go) / 1e9


def test_the_first_window_counts_from_the_start_signal_not_from_the_sampler_s_start(monkeypatch):
    """The session starts its sampler after the app's ``on_started`` (and,
    with 256 workers, after reading their files): here 40 ms after the start
    signal. A worker on half a core counted its CPU time and units from the
    signal, but the first window from the sampler's start: "cpu 83%" and a
    rate 1.7 times its own. Its share and rate count from the signal; the
    lab's cores used, read first at the sampler's start, from there."""
    clock, go, slots, units_word, half = _a_worker_on_half_a_core(monkeypatch)
    fake_kernel(monkeypatch, lambda path: (half(), 0.0))
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # no cores' load, no steal
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        monkeypatch.setattr(sampler, "_lab_cpu", half)  # the lab: this one worker
        clock.now = go + 40 * MS
        sampler.start()
        samples = []
        for at in (100, 200):
            clock.now = go + at * MS
            slots.words[units_word] = round(half() * 1e6)  # 1,000 units a CPU millisecond
            tick = sampler.sample()
            samples.append((tick.workers[0], tick.cores_used))
    finally:
        slots.close()
        slots.unlink()
    assert [w.cpu_share for w, _ in samples] == pytest.approx([0.5, 0.5])
    assert [w.units_per_s for w, _ in samples] == pytest.approx([500_000, 500_000])
    assert [cores for _, cores in samples] == pytest.approx([0.5, 0.5])


def test_without_schedstat_the_first_window_counts_from_the_sampler_s_start(monkeypatch):
    """Where the kernel keeps no schedstat, a worker's CPU time comes from
    psutil, which can only count from the sampler's start: its units then
    count from there too, or the first rate holds the work done before."""
    clock, go, slots, units_word, half = _a_worker_on_half_a_core(monkeypatch)
    monkeypatch.setattr(sm, "read_schedstat", lambda path: None)
    monkeypatch.setattr(sm, "read_core_times", lambda: [])  # no cores' load, no steal
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        assert not sampler.schedstat
        monkeypatch.setattr(sampler, "_lab_cpu", half)
        clock.now = go + 40 * MS
        monkeypatch.setattr(sampler, "_psutil_cpu", lambda: [half() - 0.02])  # psutil's: since the start
        slots.words[units_word] = round(half() * 1e6)
        sampler.start()
        clock.now = go + 100 * MS
        slots.words[units_word] = round(half() * 1e6)
        first = sampler.sample().workers[0]
    finally:
        slots.close()
        slots.unlink()
    assert first.cpu_share == pytest.approx(0.5)
    assert first.units_per_s == pytest.approx(500_000)


def test_a_core_s_load_is_psutil_s_figure_from_one_read_of_the_cores_a_period(monkeypatch):
    """The per-core load and the host's steal come from one read of every
    core's times a period (psutil's cpu_times; each read of /proc/stat
    costs the kernel the whole file), and the load is the figure
    ``psutil.cpu_percent(percpu=True)`` gives for the same two readings:
    guests' time counted once, I/O wait idle, a field that went back none."""
    import psutil

    kind = type(psutil.cpu_times(percpu=True)[0])
    fields = kind._fields

    def times(**values):
        return kind(*(float(values.get(name, 0.0)) for name in fields))

    before = [times(user=10, system=5, idle=80, iowait=2, guest=1), times(user=50, idle=50, steal=4)]
    after = [times(user=13, system=6, idle=85, iowait=5, guest=2),  # 4 of 12 busy, 3 waiting for I/O
             times(user=49, idle=51, steal=7)]  # user went back: none of it counts
    readings = iter([before, after])
    with monkeypatch.context() as patch:
        patch.setattr(psutil, "cpu_times", lambda percpu=False: next(readings))
        psutil.cpu_percent(percpu=True)
        psutils = psutil.cpu_percent(percpu=True)
    assert [sm.busy_percent(a, b) for a, b in zip(before, after)] == psutils
    assert psutils[0] == pytest.approx(100 * 4 / 12, abs=0.05)

    # a sample reads the cores once, for the load and the steal alike
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    fake_kernel(monkeypatch, lambda path: ((clock.now - go) / 1e9, 0.0))
    reads = []
    cores = iter([before, after])
    monkeypatch.setattr(sm.psutil, "cpu_times", lambda percpu=False: reads.append(percpu) or next(cores))
    slots = one_running_worker(go)
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [1])
        monkeypatch.setattr(sampler, "_lab_cpu", lambda: (clock.now - go) / 1e9)
        clock.now = go
        sampler.start()
        clock.now = go + 100 * MS
        tick = sampler.sample()
    finally:
        slots.close()
        slots.unlink()
    assert reads == [True, True]  # one at the start, one for the sample
    assert tick.cores_percent == tuple(psutils)
    assert sampler._steal_last == (7.0, 13 + 6 + 49 + 7)  # read with the load: the cores' steal and busy time


def test_every_field_of_a_sample_says_what_its_name_says(monkeypatch):
    """The sampler makes each sample positionally (a named tuple takes
    keywords at three times the cost): each slot value and each figure lands
    in the field of its name."""
    clock = Clock()
    monkeypatch.setattr(sm, "time", clock)
    go = 1_000 * MS
    # on a core 60 ms and waiting for a core 10 ms of its first 100 ms
    fake_kernel(monkeypatch, lambda path: (0.060 * (clock.now - go) / (100 * MS), 0.010 * (clock.now - go) / (100 * MS)))
    monkeypatch.setattr(sm, "read_core_times", lambda: [])
    slots = one_running_worker(go)
    base = slots.base(0)
    for field, value in ((UNITS, 700), (TASKS_DONE, 2), (TASK_INDEX, 3), (ERRORS, 1)):
        slots.words[base + field] = value
    try:
        sampler = sm.Sampler(slots, os.getpid(), "threads", [5])
        clock.now = go
        sampler.start()
        clock.now = go + 100 * MS
        sample = sampler.sample().workers[0]
    finally:
        slots.close()
        slots.unlink()
    assert (sample.index, sample.os_id, sample.state) == (0, 4242, WorkerState.RUNNING)
    assert (sample.units, sample.units_delta, sample.units_per_s) == (700, 700, pytest.approx(7000))
    assert (sample.tasks_done, sample.tasks_total, sample.task_index, sample.errors) == (2, 5, 3, 1)
    assert (sample.cpu_s, sample.cpu_share) == (pytest.approx(0.060), pytest.approx(0.6))
    assert sample.split
    assert (sample.running_s, sample.core_wait_s) == (pytest.approx(0.060), pytest.approx(0.010))
    assert (sample.gil_wait_s, sample.io_wait_s) == (pytest.approx(0.030), 0.0)
