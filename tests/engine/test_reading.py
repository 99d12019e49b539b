"""The sentences gilviz says follow what was measured and the interpreter's
facts: each rule, on constructed results."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gilviz.engine.model import RunResult
from gilviz.engine.reading import plain_increment_is_atomic, reading
from gilviz.engine.workloads.race import version_tuple


def result(**kw) -> RunResult:
    base = dict(
        workload="count", strategy="threads", workers=2, size=1000, unit="iterations", lock=False,
        wall_s=1.0, startup_s=0.0, cpu_s=1.0, cores_used=1.0, units=1000, units_per_s=1000.0,
        python="3.11.7", implementation="CPython", gil_enabled=True, switch_interval_s=0.005, cpu_count=2,
        errors=(), cancelled=False, worker_results=(), other_load_cores=0.0,
    )
    base.update(kw)
    return RunResult(**base)


def said(r: RunResult) -> str:
    return " ".join(reading(r))


def test_about_one_core_only_next_to_about_one_core():
    assert "together they use about one core" in said(result(cores_used=1.01))
    low = said(result(cores_used=0.44, other_load_cores=1.2))
    assert "about one core" not in low and "did not even keep one core busy" in low
    assert "other programs kept about 1.2 of 2 cores busy" in low


def test_a_locked_race_above_one_core_says_where_the_rest_went():
    race = dict(workload="race", unit="increments", lock=True, expected=1000, actual=1000, lost=0, race_style="call")
    text = said(result(cores_used=1.31, **race))
    assert "each hand-over of the lock wakes a sleeping thread" in text and "about one core" not in text
    assert "about one core" in said(result(cores_used=1.02, **race))
    assert "hand-over" not in said(result(cores_used=1.31, **dict(race, lock=False)))


def test_steal_time_is_the_host_s_not_other_programs():
    host = said(result(other_load_cores=0.1, steal_cores=0.7))
    assert "host gave about 0.7 of its 2 cores' time to other guests (steal time)" in host
    assert "other programs" not in host
    both = said(result(other_load_cores=0.5, steal_cores=0.4))
    assert "other programs kept about 0.5" in both and "about 0.4 of its 2 cores" in both
    assert "Note:" not in said(result(other_load_cores=0.1, steal_cores=0.1))


def test_a_busy_machine_is_noted_from_a_third_of_a_core():
    assert "Note:" not in said(result(other_load_cores=0.2))
    assert "Note:" in said(result(other_load_cores=0.35))


def test_without_the_gil_threads_fill_cores_and_no_baton_is_promised():
    text = said(result(gil_enabled=False, cores_used=1.9, python="3.13.5"))
    assert "without the GIL" in text and "take turns" not in text and "one GIL" not in text


def test_sequential_is_one_worker_not_threads_taking_turns():
    text = said(result(strategy="sequential", workers=2))
    assert "one worker" in text and "threads take turns" not in text


def test_plain_race_without_loss_is_explained_only_where_it_is_true():
    plain = dict(workload="race", race_style="plain", expected=1000, actual=1000, lost=0, unit="increments")
    assert "3.10 and later" in said(result(**plain))
    # 3.9 and free-threaded builds can lose updates: no claim that they cannot
    assert "3.10" not in said(result(**plain, python="3.9.18"))
    assert "3.10" not in said(result(**plain, python="3.13.5", gil_enabled=False))


def test_lost_updates_are_explained_by_what_can_interleave():
    lost = dict(workload="race", expected=1000, actual=600, lost=400, unit="increments")
    assert "switched out at the call" in said(result(**lost, race_style="call"))
    plain39 = said(result(**lost, race_style="plain", python="3.9.18"))
    assert "at the call" not in plain39 and "CPython 3.9.18 switched threads" in plain39
    ft = said(result(**lost, race_style="plain", python="3.13.5", gil_enabled=False))
    assert "without the GIL" in ft
    assert "processes ran at the same time" in said(result(**lost, strategy="processes"))


def test_gil_wait_is_said_only_where_measured():
    assert "GIL" not in " ".join(line for line in reading(result(gil_wait_share=None)) if "wait" in line)
    assert "48% of their time waiting for the GIL" in said(result(gil_wait_share=0.48))
    assert "No process waited for a GIL" in said(result(strategy="processes", gil_wait_share=0.01, cores_used=1.9))
    locked = said(replace(result(workload="race", lock=True, expected=10, actual=10, lost=0), gil_wait_share=0.6))
    assert "the GIL or the lock" in locked


@pytest.mark.parametrize("python, gil, atomic", [
    ("3.9.18", True, False), ("3.10.13", True, True), ("3.13.5", False, False), ("3.13.0", True, True),
])
def test_when_counter_plus_one_is_atomic(python, gil, atomic):
    assert plain_increment_is_atomic(python, gil) is atomic


def test_version_tuple():
    assert version_tuple("3.13.0rc1") == (3, 13, 0)
    assert version_tuple("3.9.18") == (3, 9, 18)


def test_without_the_gil_nothing_is_said_of_what_the_gil_does():
    """'waiting releases the GIL' and 'its own interpreter and GIL' were
    said of runs on a free-threaded build."""
    for strategy, workload in (("threads", "fetch"), ("processes", "count"), ("processes", "fetch"),
                               ("threads", "count")):
        for share in (0.05, 0.3):
            text = said(result(gil_enabled=False, python="3.13.5", strategy=strategy, workload=workload,
                               gil_wait_share=share))
            for wrong in ("releases the GIL", "and GIL", "waiting for the GIL", "waited for a GIL"):
                assert wrong not in text, text
    assert "and GIL" in said(result(strategy="processes"))
    assert "releases the GIL" in said(result(workload="fetch"))


def test_the_convoy_s_io_thread_counts_among_those_that_run_at_once():
    """A free-threaded convoy with one counting thread used 1.42 cores and
    was said to run 'up to 1 at once'; its I/O thread is a lane too."""
    from gilviz.engine.model import WorkerResult

    lanes = tuple(WorkerResult(i, f"thread-{i}", "thread", 10 + i, "done", 1, 1, 0.7) for i in range(2))
    text = said(result(workload="convoy", workers=1, gil_enabled=False, python="3.13.5", cores_used=1.42,
                       worker_results=lanes))
    assert "up to 2 at once" in text


def test_a_speedup_beyond_the_cores_used_is_said_with_where_it_came_from():
    """Free-threaded 3.13 here: threads 2.54x faster on 1.98 cores. The
    sequential run took 2.02 s of CPU, the threads 1.57 s for the same work."""
    from gilviz.export.text import compare_table

    seq = result(strategy="sequential", workers=1, cpu_s=2.02, cores_used=1.0, wall_s=2.02, speedup=1.0,
                 gil_enabled=False, python="3.13.5")
    threads = replace(seq, strategy="threads", workers=4, cpu_s=1.57, cores_used=1.98, wall_s=0.795, speedup=2.54)
    processes = replace(threads, strategy="processes", cpu_s=1.91, cores_used=1.97, wall_s=0.97, speedup=2.08)
    assert "went slower than one full core" in said(threads)
    assert "Note:" not in said(processes) and "Note:" not in said(seq)
    table = compare_table([seq, threads, processes])
    assert ("Note: threads 2.54x on 1.98 cores: the sequential run took 2.02 s of CPU for the same work, this run "
            "1.57 s. More than the cores can give." in table)
    assert "processes 2.08x" not in table and table.count("Note:") == 1
    # under the host's steal: the sequential run had 0.80 of a core
    waited = replace(seq, cpu_s=1.02, cores_used=0.80, wall_s=1.28)
    table = compare_table([waited, replace(threads, cpu_s=1.02, cores_used=1.02, wall_s=1.0, speedup=1.28)])
    assert "the sequential run had only 0.80 of a core (it waited for a core, or for the host)" in table
    assert "took 1.02 s of CPU" not in table
    # a slowdown is not "faster", and a speedup on less than a core is not beyond its cores
    for slower in (replace(threads, speedup=0.95, cores_used=0.80), replace(threads, speedup=1.05, cores_used=0.9)):
        assert "Note:" not in said(slower) and "Note:" not in compare_table([seq, slower])
    # fetch overlaps its waits: 5.88x on 0.04 cores is what it shows, not an oddity
    fetch = dict(workload="fetch", unit="bytes")
    table = compare_table([replace(seq, cpu_s=0.03, cores_used=0.01, wall_s=3.02, **fetch),
                           replace(threads, cpu_s=0.02, cores_used=0.04, wall_s=0.514, speedup=5.88, **fetch)])
    assert "Note:" not in table


def test_cores_that_each_did_less_say_so_and_only_where_workers_run_side_by_side():
    """Four processes read 1.00x solo on 1.97 cores of this VM: right, and
    unexplained. A run whose CPU seconds did well under one worker's alone
    says so; a run near it, threads under one GIL and a contended lock do not."""
    slow = dict(strategy="processes", workers=4, cpu_s=3.94, cores_used=1.97, wall_s=2.0, units=2_000,
                solo_units_per_s=1_000.0)
    text = said(result(**slow))
    assert "Each CPU second here did 51% of what one worker alone did on a core" in text
    assert "with 1.97 cores busy at once" in text and "memory the threads share" not in text
    assert "Each CPU second" not in said(result(**dict(slow, units=3_500)))  # 89%: near enough
    assert "Each CPU second" not in said(result(**dict(slow, solo_units_per_s=None)))
    assert "Each CPU second" not in said(result(**dict(slow, cores_used=1.1, cpu_s=2.2)))
    assert "Each CPU second" not in said(result(**dict(slow, strategy="threads")))  # one GIL
    assert "memory the threads share" in said(result(**dict(slow, strategy="threads", gil_enabled=False,
                                                              python="3.13.5")))
    assert "Each CPU second" not in said(result(**dict(slow, workload="race", unit="increments", lock=True,
                                                       expected=2_000, actual=2_000, lost=0,
                                                       race_style="call")))
    assert "Each CPU second" not in said(result(**dict(slow, workload="fetch", unit="requests")))
    # in a compare, against its own sequential run: 1.01x on 1.92 cores, where
    # a solo rate measured in a slow stretch saw nothing wrong
    near = dict(slow, units=3_600, cores_used=1.92, cpu_s=3.84)  # 94% of the solo rate
    assert "Each CPU second" not in said(result(**near))
    text = said(result(**dict(near, speedup=1.01)))
    assert "Each CPU second here did 53% of what the sequential run did on its core" in text
    assert "Each CPU second here did 53%" in said(result(**dict(near, speedup=1.01, solo_units_per_s=None)))
    # a speedup that keeps up with its cores says nothing; the solo rate's share, when lower, is said
    assert "Each CPU second" not in said(result(**dict(near, speedup=1.85)))
    assert "51% of what one worker alone did" in said(result(**dict(slow, speedup=1.9)))
