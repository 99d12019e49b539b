"""What the Textual app costs while it draws a busy run, and how fast it answers.

    python bench/ui_bench.py [--workers 16] [--seconds 8] [--presses 20]

1. UI CPU: the app (headless, ``App.run_test`` at 120x40) draws a count run
   with N threads in the real lab. We measure the CPU time of *this* process
   (the UI: Textual's event loop, plus the session's sampler thread that
   reads the lab's slots and psutil) per wall second. Target: under 10% of a
   core. The workers run in the lab, another process, and are not counted.
2. Key latency: during the same kind of run, the time from a key press
   (``?``, which opens the help screen) to the frame showing it, and back
   (Esc). Target: under 100 ms.

Headless: no terminal writes, so a real terminal adds its own drawing time.
Figures depend on the machine and its load; the run prints the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from textual import events  # noqa: E402

from gilviz.engine.model import RunRequest  # noqa: E402
from gilviz.engine.session import Session  # noqa: E402
from gilviz.ui.app import GilvizApp  # noqa: E402
from gilviz.ui.screens import HelpScreen  # noqa: E402

BIG = 10**12  # the run must outlast the measurement; it is stopped at the end


async def wait_for(pilot, condition, limit_s: float = 60.0) -> None:
    deadline = time.perf_counter() + limit_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await pilot.pause(0.01)


def thread_cpu() -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


async def bench(workers: int, seconds: float, presses: int) -> dict:
    request = RunRequest(workload="count", strategy="threads", workers=workers, size=BIG)
    app = GilvizApp(request, session_factory=Session)
    out: dict = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.lab is not None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.running and app.live.view(0).t_s is not None)
        await pilot.pause(0.5)  # past the start-up

        # 1. CPU of this process while the run is drawn
        main_id = threading.main_thread().native_id
        frames0 = app.frames
        threads0 = thread_cpu()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        threads1 = thread_cpu()
        main_cpu = threads1.get(main_id, 0.0) - threads0.get(main_id, 0.0)
        out["wall_s"] = wall
        out["ui_process_cores"] = cpu / wall
        out["ui_event_loop_cores"] = main_cpu / wall
        out["ui_other_threads_cores"] = (cpu - main_cpu) / wall
        out["frames_per_s"] = (app.frames - frames0) / wall
        out["ticks_running"] = app.running

        # 2. key press -> frame
        # The key is posted to the app as the terminal driver does (Pilot's
        # press() also waits for the whole process to go idle, which it never
        # does during a run); the clock stops when the frame showing the new
        # screen has been painted (call_after_refresh).
        latencies = []
        for _ in range(presses):
            for key, char, shown in (("question_mark", "?", True), ("escape", None, False)):
                await asyncio.sleep(0.2)
                t = time.perf_counter()
                app.post_message(events.Key(key, char))
                while isinstance(app.screen, HelpScreen) != shown:
                    await asyncio.sleep(0.001)
                painted = asyncio.Event()
                app.screen.call_after_refresh(painted.set)
                await painted.wait()
                latencies.append(time.perf_counter() - t)
        out["key_ms_median"] = statistics.median(latencies) * 1000
        out["key_ms_p90"] = sorted(latencies)[int(0.9 * (len(latencies) - 1))] * 1000
        out["key_ms_max"] = max(latencies) * 1000
        out["still_running"] = app.running
        await pilot.press("q")
    app.close_session()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    r = asyncio.run(bench(args.workers, args.seconds, args.presses))
    print(f"gilviz UI benchmark: count x threads x {args.workers} workers in the lab, app headless at 120x40")
    print(f"machine: {psutil.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"UI process CPU while drawing: {r['ui_process_cores'] * 100:5.1f}% of one core "
          f"(event loop {r['ui_event_loop_cores'] * 100:.1f}%, sampler and other threads "
          f"{r['ui_other_threads_cores'] * 100:.1f}%)   target < 10%")
    print(f"frames drawn: {r['frames_per_s']:.1f} per second over {r['wall_s']:.1f} s")
    print(f"key press -> frame ({args.presses * 2} presses of ? and Esc): median {r['key_ms_median']:.1f} ms, "
          f"p90 {r['key_ms_p90']:.1f} ms, max {r['key_ms_max']:.1f} ms   target < 100 ms")
    ok = r["ui_process_cores"] < 0.10 and r["key_ms_p90"] < 100
    print("within targets" if ok else "NOT within targets (see the load average above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
