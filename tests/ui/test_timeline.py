"""The lane history model, without Textual."""

from __future__ import annotations

import threading
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from gilviz.engine.model import RunRequest, Tick, WorkerSample, WorkerState
from gilviz.engine.plan import make_plan
from gilviz.ui.timeline import LEVELS, CellKind, LiveRun, classify
from gilviz.ui.widgets._lanes import Lanes

from .conftest import FakeLab


def sample(state=WorkerState.RUNNING, delta=0, index=0) -> WorkerSample:
    return WorkerSample(index, 100, state, 0, delta, 0, 1, 0, 0.0, 0.0, 0)


def test_full_speed_is_a_full_block_and_a_quarter_is_two_eighths():
    assert classify(sample(delta=1000), 0.1, 10_000) == classify(sample(delta=1000), 0.1, 10_000)
    assert classify(sample(delta=1000), 0.1, 10_000).level == LEVELS
    assert classify(sample(delta=250), 0.1, 10_000).level == 2
    assert classify(sample(delta=5000), 0.1, 10_000).level == LEVELS  # clamped


def test_any_work_shows_at_least_one_eighth():
    cell = classify(sample(delta=1), 0.1, 10_000_000)
    assert cell.kind == CellKind.WORK and cell.level == 1


def test_states_map_to_kinds():
    assert classify(sample(WorkerState.QUEUED), 0.1, 1.0).kind == CellKind.QUEUED
    assert classify(sample(WorkerState.RUNNING, 0), 0.1, 1.0).kind == CellKind.STALLED
    assert classify(sample(WorkerState.WAITING, 0), 0.1, None).kind == CellKind.WAITING
    assert classify(sample(WorkerState.WAITING, 10), 0.1, None).kind == CellKind.RECEIVING
    assert classify(sample(WorkerState.DONE, 0), 0.1, 1.0).kind == CellKind.DONE
    assert classify(sample(WorkerState.ERROR, 0), 0.1, 1.0).kind == CellKind.ERROR
    assert classify(sample(WorkerState.CANCELLED, 0), 0.1, 1.0).kind == CellKind.CANCELLED
    # finished during the period: the work it did still shows
    assert classify(sample(WorkerState.DONE, 500), 0.1, 10_000).kind == CellKind.WORK


def test_a_worker_on_a_core_that_counts_no_units_is_drawn_running():
    """The convoy's CPU lanes count iterations, not its unit (requests): at
    94% of a core they were drawn "-", which the legend calls waiting."""
    on_core = sample(WorkerState.RUNNING, 0)._replace(cpu_share=0.94)
    assert classify(on_core, 0.1, None, "running") == classify(on_core, 0.1, 10_000, "running")
    assert classify(on_core, 0.1, None, "running").kind == CellKind.WORK
    assert classify(on_core, 0.1, None, "running").level == LEVELS
    assert classify(on_core._replace(cpu_share=0.3), 0.1, None, "running").level == 2
    assert classify(on_core, 0.1, None, "gil_wait").kind == CellKind.GIL_WAIT
    assert classify(on_core._replace(cpu_share=0.0), 0.1, None, "running").kind == CellKind.STALLED


def run_ticks(lab: FakeLab, request: RunRequest):
    """A real Session over the scripted lab: the RunStarted and every Tick it gives."""
    got = {"ticks": []}
    lab.session().run(request, on_started=lambda s: got.__setitem__("started", s),
                      on_tick=got["ticks"].append)
    return got["started"], got["ticks"]


def fed_live_run(workers: int, ticks: int, capacity: int):
    """A LiveRun fed, as the app feeds it, every Tick of a live count run over the scripted lab."""
    started, got = run_ticks(FakeLab(ticks=ticks),
                             RunRequest(workload="count", strategy="threads", workers=workers, size=10**12))
    live = LiveRun(capacity=capacity)
    live.start(started)
    for tick in got:
        live.feed(tick)
    return started, got, live


def test_a_history_holds_one_object_per_kind_of_cell_not_per_period():
    """256 lanes of 600 cells each were 150,000 objects that every full
    garbage collection walked; equal cells are now one object."""
    _, _, live = fed_live_run(workers=4, ticks=40, capacity=40)
    cells = [c for lane in live.view(40).lanes for c in lane.cells]
    assert len(cells) == 4 * 40
    assert len({id(c) for c in cells}) == len(set(cells)) < 40
    assert classify(sample(delta=1000), 0.1, 10_000) is classify(sample(delta=1000), 0.1, 10_000)


def live_started(strategy: str, solo: float):
    """What a live count run of two workers says when it starts, with this solo rate."""
    started, _ = run_ticks(FakeLab(ticks=1), RunRequest(workload="count", strategy=strategy, workers=2, size=10**9))
    return replace(started, request=replace(started.request, live=True), solo_units_per_s=solo)


def worker_tick(t_s: float, workers: list[tuple[int, int, float]], period_s: float = 0.1) -> Tick:
    """One period in which each worker, given as (os id, units so far, CPU
    seconds so far), did a tenth of its units per CPU second on a full core."""
    samples = tuple(
        WorkerSample(i, os_id, WorkerState.RUNNING, units, round(units / cpu_s * period_s), 0, 1, 0, cpu_s, 1.0, 0,
                     running_s=period_s, split=True, units_per_s=round(units / cpu_s * period_s) / period_s)
        for i, (os_id, units, cpu_s) in enumerate(workers))
    return Tick(seq=1, t_s=t_s, period_s=period_s, workers=samples, cores_percent=(100.0, 100.0),
                cores_used=float(len({os_id for os_id, _, _ in workers})))


def test_a_worker_faster_on_a_core_than_the_calibration_raises_the_solo_rate():
    """A calibration that fell in a slow half second of the VM made six
    processes read "2.2× solo" at 1.9 cores used. Each worker's units per
    second on a core is a measure of the solo rate too; the higher one wins,
    so the work against solo does not run ahead of the cores used."""
    started = live_started("processes", 100.0)
    live = LiveRun(capacity=10)
    live.start(started)
    # under a second on a core: too little to tell, the calibration stands
    live.feed(worker_tick(0.5, [(11, 200, 0.5), (12, 200, 0.5)]))
    assert live.view(10).solo_units_per_s == 100.0
    # 1.5 s on a core each, at 200 units a second: twice the calibration
    live.feed(worker_tick(1.5, [(11, 300, 1.5), (12, 270, 1.5)]))
    view = live.view(10)
    assert view.solo_units_per_s == 200.0
    assert view.throughput[-1] / view.solo_units_per_s <= view.cores_used[-1]
    assert [Lanes._done(lane, view)[0] for lane in view.lanes] == ["100%", "90%"]
    assert view.lanes[0].cells[-1].level == LEVELS and view.lanes[1].cells[-1].level == round(0.9 * LEVELS)
    # slower later (both cores busy): the best measure stays
    live.feed(worker_tick(3.0, [(11, 450, 3.0), (12, 420, 3.0)]))
    assert live.view(10).solo_units_per_s == 200.0
    # the next run starts from its own calibration
    live.start(started)
    assert live.view(10).solo_units_per_s == 100.0
    # a CPU time not read with this period (many workers: the kernel is read
    # every few periods) is stale beside fresh units: not a measure
    stale = worker_tick(1.5, [(11, 600, 1.5)])
    live.feed(replace(stale, workers=tuple(w._replace(split=False) for w in stale.workers)))
    assert live.view(10).solo_units_per_s == 100.0
    # a compare's fixed-work runs are drawn against the calibration, so their heights compare
    fixed = LiveRun(capacity=10)
    fixed.start(replace(started, request=replace(started.request, live=False)))
    fixed.feed(worker_tick(1.5, [(11, 300, 1.5), (12, 270, 1.5)]))
    assert fixed.view(10).solo_units_per_s == 100.0


def test_a_fast_second_late_in_a_run_raises_the_solo_rate_too():
    """This VM's speed per core drifts: four processes read "2.03× solo" at
    1.93 cores used 40 s into a run, though their average since the start
    was under the calibration. Any second-long stretch counts."""
    live = LiveRun(capacity=10)
    live.start(live_started("processes", 100.0))
    live.feed(worker_tick(1.0, [(11, 80, 1.0)]))  # 80 a second on a core
    live.feed(worker_tick(2.0, [(11, 160, 2.0)]))
    assert live.view(10).solo_units_per_s == 100.0
    live.feed(worker_tick(3.0, [(11, 280, 3.0)]))  # then 120: the run's average is 93
    assert live.view(10).solo_units_per_s == 120.0


def test_tasks_that_share_a_thread_count_as_that_thread():
    """asyncio's tasks share the loop thread's CPU time: none alone has a
    second of it, together they do, and their units are counted together."""
    live = LiveRun(capacity=10)
    live.start(live_started("asyncio", 100.0))
    live.feed(worker_tick(0.8, [(7, 100, 0.4), (7, 20, 0.4)]))
    assert live.view(10).solo_units_per_s == 100.0  # 0.8 s on a core together: too little to tell
    # the first task's share of the thread reads 250 a second, the thread did 150
    live.feed(worker_tick(1.2, [(7, 150, 0.6), (7, 30, 0.6)]))
    assert live.view(10).solo_units_per_s == 150.0


def test_live_run_keeps_a_fixed_size_history_and_views_the_newest():
    started, ticks, live = fed_live_run(workers=3, ticks=50, capacity=20)
    view = live.view(8)
    assert len(view.lanes) == 3
    assert all(len(lane.cells) == 8 for lane in view.lanes)
    assert len(live.view(100).lanes[0].cells) == 20  # the ring's size
    assert view.t_s == ticks[-1].t_s and view.running
    assert [lane.units_expected for lane in view.lanes] == list(started.planned_units)
    live.finish()
    assert not live.view(1).running


def test_a_frame_copies_only_the_lanes_on_screen():
    """Making a view of all 256 lanes took 1.7 ms of each frame: the lanes
    off screen come as who they are, nothing measured."""
    started, ticks, live = fed_live_run(workers=6, ticks=12, capacity=20)
    view = live.view(8, range(2, 4))
    assert [lane.identity for lane in view.lanes] == list(started.workers)
    for i, lane in enumerate(view.lanes):
        if i in (2, 3):
            assert lane.sample is not None and lane.sample.index == i and len(lane.cells) == 8
        else:
            assert lane.sample is None and lane.cells == () and lane.task == ""
            assert lane.units_expected == started.planned_units[i]
    every = live.view(8)  # no rows given: every lane in full
    assert all(lane.sample is not None and len(lane.cells) == 8 for lane in every.lanes)
    assert every.lanes[2] == view.lanes[2]


def test_view_is_consistent_while_another_thread_feeds():
    started, ticks = run_ticks(FakeLab(ticks=400),
                               RunRequest(workload="count", strategy="threads", workers=8, size=10**12))
    live = LiveRun(capacity=64)
    live.start(started)
    feeder = threading.Thread(target=lambda: [live.feed(t) for t in ticks])
    feeder.start()
    while feeder.is_alive():
        view = live.view(32)
        assert len({len(lane.cells) for lane in view.lanes}) <= 2
    feeder.join()
    assert live.view(64).lanes[0].cells[-1].kind == CellKind.WORK


@settings(max_examples=60, deadline=None)
@given(
    workload=st.sampled_from(["count", "hash", "race"]),
    strategy=st.sampled_from(["sequential", "threads", "processes"]),
    workers=st.integers(1, 40),
    size=st.integers(1, 10**7),
)
def test_planned_units_add_up_to_the_total_work(workload, strategy, workers, size):
    request = RunRequest(workload=workload, strategy=strategy, workers=workers, size=size)
    planned = make_plan(request).planned_units()
    assert sum(planned) == size
    assert len(planned) == (1 if strategy == "sequential" else workers)


def test_a_switch_keeps_the_kernel_s_split_of_states():
    """At a live run's switch the legend said "telling them apart needs
    Linux schedstat" (and took a line more) until the new workers' first
    split sample: the kernel that split the old lanes splits the new ones."""
    started, _, live = fed_live_run(workers=3, ticks=5, capacity=20)
    assert live.view(20).states_measured
    live.start(replace(started, request=replace(started.request, strategy="processes")), switched_from=started)
    assert live.view(20).states_measured
    live.start(started)  # a new run, not a switch: nothing measured yet
    assert not live.view(20).states_measured


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["next", "grow", "same", "jump", "new"]),
                          st.lists(st.integers(0, 5), min_size=1, max_size=3)), min_size=1, max_size=40),
       st.integers(1, 12))
def test_a_lane_s_timeline_moved_on_by_a_cell_is_the_timeline_made_again(steps, width):
    """A lane's runs of glyphs are made from its last frame's when its
    cells only moved on (the oldest left, a new one came, or one came while
    the timeline fills): they must be the runs made from the cells afresh,
    whatever came before."""
    from gilviz.ui.timeline import cell
    from gilviz.ui.widgets import _glyphs as g

    palette = [cell(CellKind.GIL_WAIT), cell(CellKind.WORK, 3, "gil_wait"), cell(CellKind.WORK, 8),
               cell(CellKind.CORE_WAIT), cell(CellKind.DONE), cell(CellKind.WORK, 5, "core_wait")]
    lanes = Lanes()
    cells: tuple = ()
    for step, picks in steps:
        new = tuple(palette[i] for i in picks)
        if step == "next":  # the timeline moves on: the oldest cell leaves if it is full
            cells = (cells + new[:1])[-width:]
        elif step == "grow":
            cells = cells + new[:1]
        elif step == "jump":  # two periods in one frame, or another run's lanes
            cells = (cells + new)[-width:]
        elif step == "new":
            cells = new
        assert lanes._timeline("thread-0", cells) == g.glyph_runs(cells), (step, cells)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["next", "grow", "same", "jump", "new", "rescale"]),
                          st.lists(st.floats(-1, 120, allow_nan=False), min_size=1, max_size=3)),
                min_size=1, max_size=40),
       st.integers(0, 12))
def test_a_sparkline_made_from_its_last_one_is_the_sparkline_made_again(steps, width):
    """The CPU panel's histories are drawn from their last frame's where
    they only moved on: always the sparkline made afresh."""
    from gilviz.ui.widgets import _glyphs as g

    kept: dict = {}
    values: tuple = ()
    top = 100.0
    for step, new in steps:
        if step == "next":
            values = (values + tuple(new[:1]))[-max(1, width):]
        elif step == "grow":
            values = values + tuple(new[:1])
        elif step == "jump":
            values = (values + tuple(new))[-max(1, width):]
        elif step == "new":
            values = tuple(new)
        elif step == "rescale":  # another number of cores
            top = max(1.0, new[0])
        assert g.spark_kept(kept, "used", values, width, top) == g.spark(values, width, top), (step, values)


def test_a_view_holds_each_lanes_newest_cells_oldest_first():
    """A lane keeps up to its capacity of cells; a view copies the newest
    ``cells`` of them, in the order they came, or all there are."""
    started = live_started("threads", 1000.0)
    live = LiveRun(capacity=20)
    live.start(started)
    levels = [1 + i % LEVELS for i in range(30)]  # one cell a tick, each of a height that says when it came
    for i, level in enumerate(levels):
        units = round(level / LEVELS * 1000.0 * 0.1)
        samples = tuple(WorkerSample(w, 100 + w, WorkerState.RUNNING, units, units, 0, 1, 0, 0.0, 1.0, 0)
                        for w in range(2))
        live.feed(Tick(seq=i, t_s=0.1 * (i + 1), period_s=0.1, workers=samples, cores_percent=(100.0,),
                       cores_used=1.0))
        if i == 4:  # fewer cells than asked for: all of them
            assert [c.level for c in live.view(8).lanes[0].cells] == levels[:5]
    for lane in live.view(8).lanes:
        assert [c.level for c in lane.cells] == levels[-8:]
    assert [c.level for c in live.view(50).lanes[1].cells] == levels[-20:]  # the capacity kept
    assert live.view(0).lanes[0].cells == ()
    assert live.view(8, visible=range(1, 2)).lanes[0].cells == ()  # off screen: none copied
