"""Real runs in the real lab, with small sizes. Behaviour, not speed."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import psutil
import pytest

from gilviz.engine.model import MAX_WORKERS, RunRequest, WorkerState
from gilviz.engine.session import RunFailed, Session
from gilviz.engine.slots import OS_ID

SMALL = {"count": 600_000, "hash": 24, "race": 30_000, "fetch": 5_000}
STRATEGIES = ["sequential", "threads", "processes"]


def small(workload: str, strategy: str, **kw) -> RunRequest:
    kw.setdefault("workers", 3)
    kw.setdefault("size", SMALL[workload])
    if workload == "fetch":
        kw.setdefault("latency_s", 0.05)
    return RunRequest(workload=workload, strategy=strategy, **kw)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("workload", ["count", "hash", "race", "fetch"])
def test_every_workload_completes_under_every_strategy(session, workload, strategy):
    request = small(workload, strategy, lock=True)
    result = session.run(request)
    lanes = 1 if strategy == "sequential" else 3
    assert result.errors == ()
    assert not result.cancelled
    assert len(result.worker_results) == lanes
    assert all(w.state == "done" for w in result.worker_results)
    tasks = 6 if workload == "fetch" else 3
    assert sum(w.tasks_done for w in result.worker_results) == tasks
    expected_units = {
        "count": SMALL["count"],
        "hash": SMALL["hash"],  # MiB: one unit everywhere
        "race": SMALL["race"],
        "fetch": 6 * SMALL["fetch"],  # the embedded server's bytes, all received
    }[workload]
    assert result.units == expected_units
    assert result.wall_s > 0 and result.cpu_s > 0
    assert result.cores_used == pytest.approx(result.cpu_s / result.wall_s)
    if workload == "race":
        assert (result.expected, result.actual, result.lost) == (SMALL["race"], SMALL["race"], 0)
    else:
        assert result.lost is None
    # every worker reported its OS id, distinct per worker
    ids = [w.os_id for w in result.worker_results]
    assert all(ids) and len(set(ids)) == len(ids)
    if strategy == "processes":
        assert session.lab.pid not in ids
    else:
        assert result.worker_results[0].os_id != session.lab.pid


def test_ticks_measure_work_state_and_cores(session):
    started = []
    ticks = []
    result = session.run(small("count", "threads", workers=2, size=12_000_000), on_started=started.append, on_tick=ticks.append)
    assert len(started) == 1 and started[0].solo_units_per_s > 0
    assert [w.kind for w in started[0].workers] == ["thread", "thread"]
    assert ticks and ticks == list(result.ticks)
    assert [t.seq for t in ticks] == list(range(1, len(ticks) + 1))
    assert all(b.t_s > a.t_s for a, b in zip(ticks, ticks[1:]))
    assert sum(w.units_delta for t in ticks for w in t.workers) == result.units
    assert ticks[-1].workers[0].state == WorkerState.DONE
    n_cores = psutil.cpu_count()
    assert all(len(t.cores_percent) == n_cores for t in ticks)
    # pure-Python threads share one GIL: never much more than one core,
    # however many cores the machine has or how busy it is
    assert result.cores_used < 1.5
    assert sum(w.cpu_s for w in result.worker_results) <= result.cpu_s * 1.05 + 0.02


def test_race_without_lock_loses_updates_under_threads(session):
    for attempt in range(5):
        result = session.run(small("race", "threads", workers=4, size=400_000 * (attempt + 1), lock=False))
        assert result.expected == result.actual + result.lost
        if result.lost > 0:
            return
    pytest.fail("threads lost no update in 5 attempts")


def test_race_without_lock_loses_updates_under_processes(session):
    for attempt in range(5):
        result = session.run(small("race", "processes", workers=2, size=400_000 * (attempt + 1), lock=False))
        if result.lost > 0:
            assert result.actual < result.expected
            return
    pytest.fail("processes lost no update in 5 attempts")


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_race_with_lock_loses_nothing(session, strategy):
    result = session.run(small("race", strategy, workers=4, size=60_000, lock=True))
    assert result.lost == 0 and result.actual == 60_000


@pytest.mark.parametrize("strategy", ["threads", "processes"])  # a process sends its errors, and only then
def test_a_refused_url_is_an_error_result_not_a_crash(session, refused_url, strategy):
    request = RunRequest(workload="fetch", strategy=strategy, workers=2, urls=(refused_url,), timeout_s=5)
    result = session.run(request)
    assert len(result.errors) == 1
    assert refused_url in result.errors[0] and "connection failed" in result.errors[0]
    assert [w.state for w in result.worker_results] == ["error", "done"]


def test_an_http_error_is_reported(session):
    port = session.server.ensure()
    url = f"http://127.0.0.1:{port}/not-an-item"
    result = session.run(RunRequest(workload="fetch", strategy="processes", workers=1, urls=(url,)))
    assert len(result.errors) == 1 and result.errors[0].startswith(f"{url}: HTTP 404")


def test_switch_interval_is_applied_in_the_lab(session):
    result = session.run(small("count", "threads", switch_interval_s=0.02))
    assert result.switch_interval_s == pytest.approx(0.02)
    default = session.run(small("count", "threads"))
    assert default.switch_interval_s == pytest.approx(session.info().switch_interval_s)


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_cancel_ends_a_run_early_and_the_lab_stays_usable(session, strategy):
    def cancel_soon(tick):
        if tick.seq == 2:
            threading.Thread(target=session.cancel).start()

    result = session.run(small("count", strategy, size=5_000_000_000), on_tick=cancel_soon)
    assert result.cancelled
    assert result.units < 5_000_000_000
    assert all(w.state == "cancelled" for w in result.worker_results)
    again = session.run(small("count", strategy))
    assert not again.cancelled and again.units == SMALL["count"]


def test_a_killed_lab_fails_the_run_and_the_next_run_restarts_it(session):
    def kill_lab(tick):
        if tick.seq == 1:
            psutil.Process(session.lab.pid).kill()

    with pytest.raises(RunFailed, match="killed"):
        session.run(small("count", "processes", size=5_000_000_000), on_tick=kill_lab)
    result = session.run(small("count", "threads"))
    assert result.units == SMALL["count"]


def test_compare_runs_the_three_strategies_on_the_same_work(session):
    results = session.compare(small("count", "threads", workers=2))
    assert [r.strategy for r in results] == STRATEGIES
    assert {r.units for r in results} == {SMALL["count"]}
    assert results[0].speedup == pytest.approx(1.0)
    for r in results:
        assert r.speedup == pytest.approx(results[0].wall_s / r.wall_s)


def test_a_lock_compare_runs_the_race_without_then_with_its_lock_on_the_same_work(session):
    """compare by lock: the same increments under threads, unlocked then
    locked; the locked run loses nothing, and the speedup is against the
    unlocked one. (Whether the unlocked run loses updates is the race's own
    test: it may take several tries.)"""
    results = session.compare(small("race", "sequential", workers=3, size=200_000), by="lock")
    assert [(r.strategy, r.lock) for r in results] == [("threads", False), ("threads", True)]
    assert {r.expected for r in results} == {200_000}
    assert results[1].lost == 0
    assert results[0].lost == results[0].expected - results[0].actual
    assert results[0].speedup == pytest.approx(1.0)
    assert results[1].speedup == pytest.approx(results[0].wall_s / results[1].wall_s)


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_a_locked_race_never_shows_an_update_lost_while_it_runs(session, strategy):
    """The live counter and the units it is compared with are read as one
    pair: with the lock, no tick may show the counter behind the increments
    (the lab's threads publish their counter every ~50 ms; read apart from
    the units, it looked like thousands lost)."""
    pairs = []

    def on_tick(tick):
        if tick.race_counter is not None:
            pairs.append((tick.race_units, tick.race_counter))

    result = session.run(small("race", strategy, workers=3, lock=True, live=True, duration_s=1.5), on_tick=on_tick)
    assert result.lost == 0
    assert len(pairs) >= 5
    assert all(counter >= units for units, counter in pairs), pairs
    assert pairs[-1][0] > 0


def test_a_warm_lab_has_its_fork_server_running_before_it_is_ready(tag):
    """The app's lab starts its fork server before hello, so a speaker's
    first switch to processes does not wait for it; it ends with the lab."""
    from gilviz.engine.client import LabClient

    lab = LabClient(warm_processes=True)
    lab.start()
    try:
        # the server is a child from the moment it is forked, but its command
        # line is the lab's until it has exec'd: on a busy machine, a moment later
        deadline = time.monotonic() + 10
        while True:
            children = psutil.Process(lab.pid).children(recursive=True)
            if any("forkserver" in " ".join(c.cmdline()) for c in children) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert any("forkserver" in " ".join(c.cmdline()) for c in children)
    finally:
        lab.close()
    from tests.conftest import wait_no_tagged

    assert wait_no_tagged(tag) == []


def test_a_compare_sized_by_time_is_not_stopped_by_an_earlier_cancel(session):
    """A cancel left from an earlier run must not end the compare's probe
    (sized_for_compare) at once; both runs do the probe-sized work."""
    session.cancel()
    results = session.compare(small("race", "sequential", workers=2), by="lock", seconds=0.3)
    assert [(r.lock, r.cancelled) for r in results] == [(False, False), (True, False)]
    assert results[0].expected == results[1].expected != SMALL["race"]


def test_only_the_race_has_a_lock_to_compare():
    from gilviz.engine.plan import compare_variants

    with pytest.raises(ValueError, match="only race"):
        compare_variants(RunRequest(workload="count"), by="lock")
    with pytest.raises(ValueError, match="not 'colour'"):
        compare_variants(RunRequest(workload="race"), by="colour")
    variants = compare_variants(RunRequest(workload="race", strategy="processes", lock=True), by="lock")
    assert [(v.strategy, v.lock) for v in variants] == [("processes", False), ("processes", True)]


def test_closing_a_session_leaves_no_process(tag):
    s = Session()
    box = {}

    def go():
        try:
            box["result"] = s.run(small("count", "processes", workers=3, size=5_000_000_000))
        except RunFailed as exc:
            box["error"] = exc

    s.server.ensure()
    runner = threading.Thread(target=go)
    runner.start()
    deadline = time.monotonic() + 30
    while s._slots is None or not all(s._slots.get(i, OS_ID) for i in range(3)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    from tests.conftest import tagged_processes, wait_no_tagged

    assert len(tagged_processes(tag)) >= 5  # lab, server, 3 workers
    s.close()
    runner.join(30)
    assert not runner.is_alive()
    assert wait_no_tagged(tag) == []


def test_the_seed_notes_plain_race_loses_nothing_under_threads(session):
    """counter += 1 on a global: CPython 3.10+ never switches threads between
    its read and its write, so the seed notes' race is gone (all supported
    versions are 3.10+)."""
    result = session.run(small("race", "threads", workers=4, size=400_000, race_style="plain"))
    assert (result.expected, result.lost) == (400_000, 0)
    assert result.race_style == "plain"


def test_the_plain_race_still_loses_updates_between_processes(session):
    for attempt in range(5):
        result = session.run(small("race", "processes", workers=2, size=400_000 * (attempt + 1), race_style="plain"))
        if result.lost > 0:
            return
    pytest.fail("processes lost no update in 5 attempts")


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_the_plain_race_with_a_lock_loses_nothing(session, strategy):
    result = session.run(small("race", strategy, workers=2, size=20_000, race_style="plain", lock=True))
    assert result.lost == 0 and result.actual == 20_000


def test_a_run_keeps_a_bounded_number_of_samples(session, monkeypatch):
    """A long run's history is a fixed-size ring: memory stays flat."""
    from gilviz.engine import session as session_module

    assert session_module.kept_ticks(1) * 1 <= session_module.MAX_KEPT_SAMPLES
    assert session_module.kept_ticks(256) * 256 <= session_module.MAX_KEPT_SAMPLES + 256 * 300
    # a live run goes on for a whole talk: it keeps ten times fewer, with
    # however many workers (256 kept 76,800, walked by every full collection)
    for workers in (1, 16, 256, MAX_WORKERS):
        assert session_module.kept_ticks(workers, live=True) * workers <= session_module.MAX_KEPT_LIVE_SAMPLES
        assert session_module.kept_ticks(workers, live=True) >= 50  # its last 5 s, at least
    monkeypatch.setattr(session_module, "MAX_KEPT_SAMPLES", 10)
    monkeypatch.setattr(session_module, "MIN_KEPT_TICKS", 3)
    ticks = []
    result = session.run(small("count", "threads", workers=2, size=60_000_000), on_tick=ticks.append)
    assert len(ticks) > 5  # the run lasted long enough to overflow the ring
    assert len(result.ticks) == 5 and result.ticks == tuple(ticks[-5:])


@pytest.mark.parametrize("strategy", ["sequential", "threads", "processes"])
def test_no_worker_is_ever_above_one_core(session, strategy):
    """A worker is one thread: its share of a core, in every period including
    the short last one, is at most 1; and the sampler's CPU count (from the
    kernel, from the sampler's start) agrees with the worker's own (from GO)."""
    result = session.run(small("count", strategy, size=6_000_000, workers=2))
    shares = [w.cpu_share for tick in result.ticks for w in tick.workers]
    assert shares and max(shares) <= 1.0
    last = {w.index: w.cpu_s for w in result.ticks[-1].workers}
    for w in result.worker_results:
        assert w.cpu_s <= result.wall_s * 1.02 + 0.02
        # the sampler starts a little after GO, so it can only count less
        assert last[w.index] <= w.cpu_s * 1.05 + 0.02
        assert last[w.index] >= w.cpu_s * 0.5 - 0.05


def test_without_schedstat_the_split_is_not_available(monkeypatch):
    """Not Linux, or a kernel without schedstats: CPU from psutil, and the
    result says the four states were not measured instead of showing zeros."""
    from gilviz.engine import sampler

    monkeypatch.setattr(sampler, "read_schedstat", lambda path: None)
    with Session() as s:
        result = s.run(small("count", "threads", size=3_000_000, workers=2))
    assert result.states_measured is False and result.gil_wait_share is None
    assert not any(w.split for tick in result.ticks for w in tick.workers)
    assert 0.5 < result.cores_used < 1.3
    assert max(w.cpu_share for tick in result.ticks for w in tick.workers) <= 1.0


def test_gilviz_own_processes_are_not_other_programs(session):
    """The note about a busy machine counts other programs only: this process
    (CLI or app, and the sampler) and the embedded server are gilviz's own."""
    from gilviz.engine.model import Tick
    from gilviz.engine.session import OwnCpu, other_load

    tick = Tick(seq=1, t_s=0.1, period_s=0.1, workers=(), cores_percent=(80.0, 60.0), cores_used=1.0)
    assert other_load((tick,)) == pytest.approx(0.4)
    assert other_load((tick,), own_cores=0.3) == pytest.approx(0.1)
    assert other_load((tick,), own_cores=0.9) == 0.0
    # a virtual machine's host running other guests (steal) is load to psutil, not a program here
    assert other_load((tick,), own_cores=0.1, steal_cores=0.2) == pytest.approx(0.1)
    session.run(small("fetch", "threads"))  # starts the embedded server
    own = OwnCpu(session.server)
    assert {p.pid for p in own.procs} == {os.getpid(), session.server.proc.pid}


@pytest.mark.parametrize("strategy, race_style, lock", [
    ("sequential", "plain", False), ("sequential", "call", False), ("processes", "call", True),
    ("processes", "plain", False),
])
def test_full_height_is_what_this_work_does_alone(session, strategy, race_style, lock):
    """One worker alone runs at about the calibrated solo rate, whatever
    changes the cost of a unit: the race style, a lock and its kind (processes
    share a multiprocessing lock), the shared-memory counter of processes.
    The solo rate is per second on a core, so the run's is too: on a machine
    busy with other programs the worker gets less than a core, and its rate
    per wall second is rightly below full height."""
    got = {}
    result = session.run(
        RunRequest(workload="race", strategy=strategy, workers=1, size=400_000, race_style=race_style, lock=lock),
        on_started=lambda s: got.setdefault("solo", s.solo_units_per_s),
    )
    worker = result.worker_results[0]
    on_core = worker.running_s if result.states_measured and worker.running_s > 0 else result.wall_s
    ratio = result.units / on_core / got["solo"]
    # A CPU second is not a fixed amount of work: on a VM whose two vCPUs are
    # one core's hyperthreads, an iteration took 27.9 ns with the other idle
    # and 47.8 ns with it busy, so a calibration and a run a moment apart can
    # differ by 1.7x either way (a bound of 0.45 failed twice here, in full
    # test runs). The mix-ups this test is for are larger: a lock makes a
    # unit 4.9x dearer, the processes' shared-memory counter 5.5x.
    assert 0.3 < ratio < 2.5, (ratio, on_core, result.wall_s)


def test_a_run_reports_the_host_s_steal_time_as_measured(session):
    """steal_cores comes from the kernel's counter over the run (0 or more on
    a virtual machine, None where it is not counted), and is not part of the
    other programs' load."""
    import psutil as ps

    result = session.run(small("count", "threads"))
    if getattr(ps.cpu_times(), "steal", None) is None:
        assert result.steal_cores is None
    else:
        assert result.steal_cores is not None and 0.0 <= result.steal_cores <= result.cpu_count
    assert "steal_cores" in result.to_dict()


def test_a_sequential_run_never_reads_above_its_solo_rate(session):
    """One worker alone is the solo rate's own definition: a calibration that
    fell in a slow moment made a sequential count read "1.13× solo". The
    result's solo rate is the lab's once the run was over, which the run's
    worker raised if it did more per CPU second (over at least a second of it)."""
    request = RunRequest(workload="count", strategy="sequential", workers=1)
    # 2.5 s of solo work: over a second of the worker's CPU time unless it is
    # 2.5 times faster than the calibration, which this test is for too
    size = int(session.solo_rate(request) * 2.5)
    result = session.run(replace(request, size=size))
    worker = result.worker_results[0]
    assert worker.cpu_s >= 1.0 and worker.units == size
    assert worker.units / worker.cpu_s <= result.solo_units_per_s * 1.000001
