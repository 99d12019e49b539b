"""The lab: the child process where the workloads run, never the UI's process.

Started by the parent as ``python -c "from gilviz.engine.lab import main;
main()" [--cpus 0,1]``, not ``-m``, so that no worker process re-runs this
module (any CPython >= 3.8 that can import this package: standard library only, plus
requests for fetch; gilviz itself needs 3.10+, the lab does not). With
``--cpus`` the lab pins itself to those cores before any worker exists, so
every worker thread and process (and the fork server) inherits the pinning.
It speaks JSON lines: commands on stdin, events on stdout.

Commands::

    {"op": "run", "request": {...RunRequest...}, "plan": {...RunPlan...}, "slots": "/dev/shm/gilviz-slots-...",
     "id": 7, "after": true}
    {"op": "cancel"}
    {"op": "quit"}

A run with ``"after": true`` is a switch: it starts its workers while the
run before it (already cancelled) is still stopping, and gives them the
start signal once that run has ended. Its events come after that run's.

Events (a run's carry its ``id``)::

    {"ev": "hello", "lab": {...LabInfo...}}
    {"ev": "started", "startup_s": ..., "solo_units_per_s": ..., "switch_interval_s": ..., "id": 7}
    {"ev": "finished", "outcome": {...}, "id": 7}
    {"ev": "error", "message": "..."}

Progress does not travel here: workers write it into the shared slots, which
the parent reads. When stdin closes (the parent is gone, however it ended),
the lab kills its process group (its worker processes) and exits.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from dataclasses import asdict

from .model import ASYNCIO, LabInfo, RunRequest
from .slots import CPU_NS, UNITS, Slots

#: The oldest Python the lab runs on: 3.7 lacks threading.get_native_id and
#: typing.Protocol. (interpreters.MIN_LAB_VERSION says the same to the parent.)
MIN_PYTHON = (3, 8)

_out_lock = threading.Lock()
_solo_cache: dict[tuple[str, bool, str, bool], float | None] = {}
_events = sys.stdout  # replaced in main() by a private, non-inheritable copy


def emit(event: dict) -> None:
    line = json.dumps(event)
    with _out_lock:
        _events.write(line + "\n")
        _events.flush()


def _private_event_pipe() -> None:
    """Keep the event pipe to ourselves: worker processes (and the fork
    server) inherit fd 1, and if they held the pipe, the parent would not see
    it close when the lab dies. os.dup gives a non-inheritable copy; fd 1
    becomes stderr, so a stray print in a worker lands in the lab's log."""
    global _events
    _events = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return bool(check()) if check is not None else True


def lab_info() -> LabInfo:
    return LabInfo(
        pid=os.getpid(),
        python=".".join(str(v) for v in sys.version_info[:3]),
        implementation=sys.implementation.name.replace("cpython", "CPython"),
        executable=sys.executable,
        gil_enabled=gil_enabled(),
        switch_interval_s=sys.getswitchinterval(),
        cpu_count=os.cpu_count() or 1,
    )


def _solo_key(request: RunRequest) -> tuple[str, bool, str, bool]:
    from . import workloads

    options = workloads.spec(request.workload).options
    # Only the race's unit costs more with its lock, its style, or a
    # process's shared-memory counter and lock. Count and hash cost the same
    # in a process: measuring them again (three times 0.15 s) held a
    # speaker's first switch to processes 350 ms longer.
    lock = request.lock and "lock" in options
    race_style = request.race_style if "race_style" in options else "call"
    processes = request.strategy == "processes" and "lock" in options
    return (request.workload, lock, race_style, processes)


def solo_for(request: RunRequest) -> float | None:
    """The request's solo rate, measured once per lab for everything that
    changes what one unit costs (and raised by :func:`raise_solo`)."""
    from . import workloads

    key = _solo_key(request)
    if key not in _solo_cache:
        workload, lock, race_style, processes = key
        _solo_cache[key] = workloads.solo_rate(workload, lock, race_style=race_style, processes=processes)
    return _solo_cache[key]


def raise_solo(request: RunRequest, slots: Slots, workers: int) -> float | None:
    """After a run: a worker that did more per CPU second than the solo rate
    says is a better measure of it (a worker does no more on a core than one
    alone). The calibration is best of three 0.15 s, and all three can fall
    while the app draws its first frames on the sibling vCPU: the app's lab
    measured 31 M iterations/s, then ran a sequential count at 35 M, which
    read "1.13× solo", and four processes at 79% of it, where they did 70%
    of what the sequential worker did per CPU second. Over at least
    SOLO_EVIDENCE_CPU_S of a worker's own CPU time, as the live view's raise."""
    from .model import SOLO_EVIDENCE_CPU_S

    key = _solo_key(request)
    solo = _solo_cache.get(key)
    if solo is None or request.strategy == ASYNCIO:  # waiting work; or lanes that share one thread's CPU
        return solo
    for i in range(workers):
        cpu_s = slots.get(i, CPU_NS) / 1e9
        if cpu_s >= SOLO_EVIDENCE_CPU_S:
            solo = max(solo, slots.get(i, UNITS) / cpu_s)
    _solo_cache[key] = solo
    return solo


class Lab:
    def __init__(self) -> None:
        self.runner: threading.Thread | None = None  # the newest run's thread
        self.open_slots: set[Slots] = set()  # of the runs going (a switch's two, for a moment)
        self.default_switch_interval_s = sys.getswitchinterval()

    def start_run(self, msg: dict) -> None:
        previous = self.runner if self.runner is not None and self.runner.is_alive() else None
        if previous is not None and not msg.get("after"):
            previous.join(2.0)  # the last run's thread may still be tidying up
            if previous.is_alive():
                emit({"ev": "error", "message": "a run is already going"})
                return
            previous = None
        self.runner = threading.Thread(target=self._run, args=(msg, previous), name="lab-runner", daemon=True)
        self.runner.start()

    def _run(self, msg: dict, previous: threading.Thread | None = None) -> None:
        """One run, start to end. ``previous``: the run this one replaces,
        still stopping; this run's workers start beside its end (a 256
        process start takes 0.3 s here, 256 threads' stop 0.2 s) and get
        the start signal once it has ended."""
        from . import strategies
        from .plan import RunPlan

        final: dict
        slots: Slots | None = None
        tag = {"id": msg["id"]} if "id" in msg else {}
        try:
            request = RunRequest.from_dict(msg["request"])
            plan = RunPlan.from_message(msg["plan"])
            slots = Slots(msg["slots"])
            self.open_slots.add(slots)
            if previous is not None and _solo_key(request) not in _solo_cache and not slots.cancelled:
                previous.join()  # the solo rate is measured alone, not beside the old workers' end
            sys.setswitchinterval(request.switch_interval_s or self.default_switch_interval_s)
            # a switch's run dropped before it began measures nothing (execute starts nothing)
            solo = None if slots.cancelled else solo_for(request)

            def on_started(startup_s: float) -> None:
                emit({
                    "ev": "started",
                    "startup_s": startup_s,
                    # as the run before left it: it raised the cached rate as it ended
                    "solo_units_per_s": _solo_cache.get(_solo_key(request), solo),
                    "switch_interval_s": sys.getswitchinterval(),
                    **tag,
                })

            waiting = previous.is_alive if previous is not None else None
            outcome = strategies.execute(request, plan, slots, on_started, after=waiting)
            final = {"ev": "finished", "outcome": asdict(outcome),
                     "solo_units_per_s": raise_solo(request, slots, len(plan.lanes)), **tag}
        except strategies.MissingPackage as exc:  # the message says what to install
            final = {"ev": "error", "message": str(exc), **tag}
        except Exception as exc:  # report, never die: the next run must work
            final = {"ev": "error", "message": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(),
                     **tag}
        finally:
            if slots is not None:
                self.open_slots.discard(slots)
                slots.close()
        if previous is not None:
            previous.join()  # a run's events come after those of the run it replaces
        emit(final)  # last: once the parent reads it, the lab is ready for the next run

    def calibrate(self, msg: dict) -> None:
        """What one worker of this request does alone on a free core (units
        per second): the session sizes fixed-work runs by time from it."""
        try:
            emit({"ev": "calibrated", "solo_units_per_s": solo_for(RunRequest.from_dict(msg["request"]))})
        except Exception as exc:
            emit({"ev": "error", "message": f"{type(exc).__name__}: {exc}"})

    def warm_solo(self, msg: dict) -> None:
        """Measure the request's solo rate now, while the app is idle, and
        keep it for its first run; say nothing (no event to answer). Taken
        as a run starts, the calibration ran beside the app drawing the
        run's first frames on the other vCPU: 31 M iterations/s, where a
        sequential count then did 35 M. Only between runs: a run's workers
        would slow it."""
        if self.runner is not None and self.runner.is_alive():
            return
        try:
            solo_for(RunRequest.from_dict(msg["request"]))
        except Exception:  # the run that needs it measures it again, and says what went wrong
            pass

    def cancel(self) -> None:
        for slots in list(self.open_slots):
            try:
                slots.cancel()
            except (ValueError, TypeError):  # the run just ended and closed them
                pass


def _kill_group_and_exit(code: int) -> None:
    """Take every worker process down with the lab (they share its group)."""
    _events.flush()
    try:
        if os.getpgid(0) == os.getpid():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.killpg(os.getpid(), signal.SIGTERM)
    except OSError:
        pass
    os._exit(code)


def check_python() -> str | None:
    """Why this interpreter cannot run the lab, or None."""
    if sys.version_info < MIN_PYTHON:
        found = ".".join(str(v) for v in sys.version_info[:3])
        return (f"gilviz's lab needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; "
                f"{sys.executable} is {found}")
    return None


def pin_cpus(argv: list) -> str | None:
    """Apply ``--cpus 0,1`` from the command line; why not, or None."""
    if "--cpus" not in argv:
        return None
    i = argv.index("--cpus")
    try:
        cpus = {int(c) for c in argv[i + 1].split(",") if c.strip()}
    except (IndexError, ValueError):
        return "--cpus needs core numbers, e.g. --cpus 0,1"
    if not cpus:
        return "--cpus needs at least one core number"
    if not hasattr(os, "sched_setaffinity"):
        return "--cpus needs os.sched_setaffinity, which this operating system does not have"
    try:
        os.sched_setaffinity(0, cpus)
    except (OSError, ValueError) as exc:
        return f"cannot pin the lab to cores {sorted(cpus)}: {exc}"
    return None


def warm_fork_server() -> None:
    """Start the fork server now, with the workload modules imported, so the
    first processes run (a speaker's ``p``) starts its workers in a tenth of
    a second, not a second. Before the lab says hello: nothing is measured
    yet, so its start-up competes with no run."""
    import multiprocessing.forkserver

    from .strategies import mp_context

    if mp_context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


def main() -> None:
    why = check_python() or pin_cpus(sys.argv[1:])
    if why is not None:
        sys.stderr.write(why + "\n")
        sys.stderr.flush()
        sys.exit(2)
    if "--warm-processes" in sys.argv[1:]:
        warm_fork_server()
    # The parent's Ctrl+C is the parent's to handle; the lab ends when told or
    # when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _private_event_pipe()
    lab = Lab()
    emit({"ev": "hello", "lab": asdict(lab_info())})
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            emit({"ev": "error", "message": f"not JSON: {line[:80]!r}"})
            continue
        op = msg.get("op")
        if op == "run":
            lab.start_run(msg)
        elif op == "calibrate":
            lab.calibrate(msg)
        elif op == "warm_solo":
            lab.warm_solo(msg)
        elif op == "cancel":
            lab.cancel()
        elif op == "quit":
            break
        else:
            emit({"ev": "error", "message": f"unknown op {op!r}"})
    lab.cancel()
    _kill_group_and_exit(0)


if __name__ == "__main__":
    main()
