"""What a measured run says, in words: small rules over the result.

Each rule looks at what was measured (cores used, lost updates, the GIL-wait
share, other programs' load) and at the facts of the interpreter the lab ran
on (its version, whether the GIL was enabled), and says one sentence or
nothing. No sentence is fixed per workload and strategy: "together they use
about one core" is only said next to a cores-used figure near one.
Used by the CLI's summary and compare table, and by the app.
"""

from __future__ import annotations

from typing import Callable

from .model import RunResult
from .workloads import spec
from .workloads.race import plain_increment_is_atomic

__all__ = ["BUSY_CORES", "busy_note", "compare_beyond_cores", "plain_increment_is_atomic", "reading"]

#: Other programs' load (in cores) from which a note says the machine was busy.
BUSY_CORES = 0.3


def _race(r: RunResult) -> str | None:
    if r.workload != "race" or r.lost is None or r.expected is None:
        return None
    if r.lost:
        head = f"{r.lost:,} of {r.expected:,} increments were lost: "
        if r.strategy == "processes":
            return head + "the processes ran at the same time on different cores, and one's write overwrote another's."
        if not r.gil_enabled:
            return head + "without the GIL the threads ran at the same time, and one's write overwrote another's."
        if r.race_style == "plain":
            return head + (f"CPython {r.python} switched threads between the read and the write of "
                           "'counter += 1', as CPython did before 3.10, and the increments made meanwhile "
                           "were overwritten.")
        return head + ("a thread read the counter, was switched out at the call before its write, "
                       "and then overwrote the increments made meanwhile.")
    if r.lock:
        return "No update was lost: the lock makes each read-and-write one step."
    if r.strategy == "sequential" or r.workers == 1:
        return "No update was lost: with one worker there is nobody to race with."
    if r.race_style == "plain" and r.strategy == "threads" and plain_increment_is_atomic(r.python, r.gil_enabled):
        return ("No update was lost: on GIL builds of CPython 3.10 and later, threads only switch at calls and "
                "backward jumps, and 'counter += 1' has neither between its read and its write. "
                "The race is still there in principle; --race-style call shows it.")
    return "No update was lost this time: races are timing-dependent; run it again."


def _cores(r: RunResult) -> str | None:
    work = spec(r.workload)
    used = f"cores used {r.cores_used:.2f}"
    # the convoy's I/O thread is a lane beside its --workers CPU workers
    room = min(len(r.worker_results) or r.workers, r.cpu_count)
    if work.io_bound:
        gil = ", and waiting releases the GIL" if r.gil_enabled else ""
        return f"{used}: the workers spent the run waiting for the network{gil}."
    if r.strategy == "sequential":
        return f"{used}: one worker does every task in turn, so at most one core is busy."
    if r.strategy == "processes":
        own = "interpreter and GIL" if r.gil_enabled else "interpreter"
        return f"{used}: each process has its own {own}, so up to {room} can run at once here."
    if not r.gil_enabled:
        return (f"{used}: this Python runs without the GIL, so the threads run at the same time, "
                f"up to {room} at once here.")
    if work.releases_gil:
        return f"{used}: this work runs in C code that releases the GIL, so threads can run in parallel."
    if r.lock and r.workload == "race" and r.cores_used > 1.1:
        # measured: a locked 4-thread race spends over half its CPU time in
        # the kernel (os.times: 2.5 s system of 4.0 s), handing the lock over
        return (f"{used}: one thread at a time runs Python (the GIL), but each hand-over of the lock wakes a "
                "sleeping thread, and that waking is the kernel's work, done on another core.")
    if r.cores_used < 0.7:
        return (f"{used}: pure-Python threads take turns holding the one GIL, and here they did not even "
                "keep one core busy (see the other programs' load).")
    if r.cores_used <= 1.25:
        return f"{used}: pure-Python threads take turns holding the one GIL, so together they use about one core."
    return (f"{used}: more than one core, although pure-Python threads share one GIL: the lab's own threads "
            "and the switching between workers add to it.")


def _gil_wait(r: RunResult) -> str | None:
    if r.gil_wait_share is None or r.strategy == "sequential" or spec(r.workload).io_bound:
        return None
    share = f"{r.gil_wait_share:.0%}"
    if not r.gil_enabled:
        why = ": waiting for the lock" if r.lock and r.workload == "race" else ""
        return (f"This Python has no GIL to wait for; the workers spent {share} of their time blocked with "
                f"work to do{why}.")
    if r.strategy == "processes":
        if r.lock and r.workload == "race":
            return f"The processes spent {share} of their time blocked with work to do: waiting for the shared lock."
        return f"No process waited for a GIL: each has its own ({share} of their time blocked with work to do)."
    if r.gil_wait_share >= 0.2:
        what = "the GIL or the lock" if r.lock and r.workload == "race" else "the GIL"
        return f"The threads spent {share} of their time waiting for {what} (blocked with work to do)."
    return f"The threads spent only {share} of their time waiting for the GIL."


def busy_note(r: RunResult) -> str | None:
    others = r.other_load_cores is not None and r.other_load_cores >= BUSY_CORES
    host = r.steal_cores is not None and r.steal_cores >= BUSY_CORES
    if not (others or host):
        return None
    took = []
    if others:
        took.append(f"other programs kept about {r.other_load_cores:.1f} of {r.cpu_count} cores busy")
    if host:
        took.append(f"this virtual machine's host gave about {r.steal_cores:.1f} of its {r.cpu_count} cores' "
                    "time to other guests (steal time)")
    return f"Note: {' and '.join(took)} during this run, so these figures are lower than on an idle machine."


#: A speedup this much above the cores used is more than the cores can give.
SUPERLINEAR = 1.1


def _beyond_cores(r: RunResult) -> str | None:
    """A compare's speedup above its cores used: free-threaded 3.13 counted
    2.2-2.5x faster on 2 cores here, because the sequential run did less per
    second on a core than the threads (2.0 s of CPU against 1.6 s for the
    same work). The speedup is measured; where the extra came from is said."""
    if not _is_beyond_cores(r):
        return None
    assert r.speedup is not None
    return (f"Note: {r.speedup:.2f}x faster on {r.cores_used:.2f} cores is more than the cores can give: the "
            "sequential run it is measured against went slower than one full core of this machine. Speeds here "
            "vary between runs: measure again before reading much into it.")


def _is_beyond_cores(r: RunResult) -> bool:
    """CPU-bound work faster than its cores can make it. Waiting work (fetch)
    gains by overlapping its waits, not by cores: 5.9x on 0.04 cores is its
    point; the convoy's unit is the I/O thread's requests."""
    work = spec(r.workload)
    if work.io_bound or work.io_lane or r.speedup is None or r.strategy == "sequential":
        return False
    # a speedup (not a slowdown: "0.95x faster" on 0.80 cores), beyond what its cores give
    return r.speedup > 1.0 and r.cores_used >= 1.0 and r.speedup > r.cores_used * SUPERLINEAR


def compare_beyond_cores(results: list[RunResult]) -> str | None:
    """The compare's runs whose speedup is above their cores used, in one
    note, with the CPU time each took for the same work as the sequential run."""
    said = []
    base: RunResult | None = None  # each run's sequential run: the one before it (one per interpreter)
    for r in results:
        if r.strategy == "sequential":
            base = r
        elif _is_beyond_cores(r) and base is not None:
            # S = (seq CPU / this CPU) x (these cores / seq cores): say which factor it was
            why = []
            if base.cpu_s > r.cpu_s * 1.05:
                why.append(f"took {base.cpu_s:.2f} s of CPU for the same work, this run {r.cpu_s:.2f} s")
            if base.cores_used < 0.95:
                why.append(f"had only {base.cores_used:.2f} of a core (it waited for a core, or for the host)")
            said.append(f"{r.strategy} {r.speedup:.2f}x on {r.cores_used:.2f} cores: the sequential run "
                        + (" and ".join(why) or "went slower than one full core"))
    if not said:
        return None
    return (f"Note: {'; '.join(said)}. More than the cores can give. Speeds on this machine vary between runs: "
            "measure again (--repeat) before reading much into it.")


#: Below this share of one worker's work per second on a core, a run's cores
#: are said to have done less each.
SLOWER_PER_CORE = 0.75


def _slower_per_core(r: RunResult) -> str | None:
    """CPU-bound work on several cores that did less per CPU second than one
    worker alone: four processes read 1.00x solo on 1.97 cores of this
    2-vCPU VM, where an iteration costs 27.9 ns of CPU with one vCPU busy and
    47.8 ns with both. The figures are right; this says why they look low."""
    work = spec(r.workload)
    # only workers that truly run side by side: not threads handing one GIL
    # round (their switching is its own cost), not a contended lock (the
    # kernel's hand-overs are, said by _cores)
    parallel = r.strategy == "processes" or (r.strategy == "threads" and (not r.gil_enabled or work.releases_gil))
    if (not parallel or work.io_bound or work.io_lane or r.lock or r.cpu_s <= 0
            or r.units <= 0 or r.cores_used < 1.3):
        return None
    alone = r.units / r.cpu_s / r.solo_units_per_s if r.solo_units_per_s else None
    # in a compare, against its own sequential run, the same work on one
    # core: processes read 1.01x on 1.92 cores of this VM where the lab's
    # solo rate, measured in a slower stretch, said nothing. The speedup per
    # core used is that share, or above it if the sequential run had less
    # than a core (it cannot have more): never a share said too low
    sequential = r.speedup / r.cores_used if r.speedup is not None else None
    if sequential is not None and (alone is None or sequential < alone):
        share, against = sequential, "the sequential run did on its core"
    elif alone is not None:
        share, against = alone, "one worker alone did on a core"
    else:
        return None
    if share >= SLOWER_PER_CORE:
        return None
    shared = ", or the memory the threads share" if r.strategy == "threads" else ""
    return (f"Each CPU second here did {share:.0%} of what {against}: with "
            f"{r.cores_used:.2f} cores busy at once, each went slower (cores that share a physical core or "
            f"caches, a lower clock with every core busy, a virtual machine's host{shared}).")


def _cancelled(r: RunResult) -> str | None:
    return "The run was cancelled before the end: the figures cover the part that ran." if r.cancelled else None


#: In order: the explainer keeps the first whole sentences that fit, so why
#: the cores did less each comes right after the cores used it explains.
RULES: tuple[Callable[[RunResult], str | None], ...] = (_race, _cores, _slower_per_core, _gil_wait, _beyond_cores,
                                                      busy_note, _cancelled)


def reading(r: RunResult) -> list[str]:
    """What the measured numbers say, in words, one sentence per rule that applies."""
    return [line for rule in RULES if (line := rule(r)) is not None]
