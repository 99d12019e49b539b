"""A long live run: does memory stay flat? Run by hand, not by CI.

    python bench/live_memory.py [--minutes 10] [--workers 16] [--workload count]

``gilviz`` runs in a real pseudo-terminal (as ui_bench.py does); Enter starts
a live run that goes on until the end. Every 10 s the resident memory of the
app's process (the UI, with its sampler) and of the lab process is read from
outside with psutil. The run keeps fixed-size rings only (the lanes' history,
the kept ticks), so both should stay flat: the target is the last minute's
median within 10% of the second minute's (the first minute is warm-up:
imports, calibration, rings filling).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ui_bench import Terminal  # noqa: E402


def lab_of(app_pid: int) -> psutil.Process | None:
    for child in psutil.Process(app_pid).children(recursive=True):
        try:
            if "gilviz.engine.lab" in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--workload", default="count")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between two readings")
    args = parser.parse_args()

    gilviz = os.path.join(os.path.dirname(sys.executable), "gilviz")
    term = Terminal([gilviz, "--workload", args.workload, "--workers", str(args.workers)], 120, 40)
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in term.out and time.monotonic() < deadline:
            time.sleep(0.1)
        os.write(term.fd, b"\r")
        time.sleep(3)
        app, lab = psutil.Process(term.pid), lab_of(term.pid)
        if lab is None:
            raise SystemExit("no lab process found")
        readings: list[tuple[float, int, int]] = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.minutes * 60:
            readings.append((time.monotonic() - t0, app.memory_info().rss, lab.memory_info().rss))
            time.sleep(args.every)
        os.write(term.fd, b"x")
        time.sleep(1)
    finally:
        term.close()  # q, then kill if it does not go: never wait on it forever

    def window(lo: float, hi: float, i: int) -> float:
        return statistics.median(r[i] for r in readings if lo <= r[0] < hi) / 2**20

    end = readings[-1][0]
    print(f"live {args.workload} run, {args.workers} workers, {end / 60:.1f} min, load average "
          f"{os.getloadavg()[0]:.1f}")
    print("| process | RSS, minute 2 (MiB) | RSS, last minute (MiB) | change | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, i in (("app (UI + sampler)", 1), ("lab", 2)):
        early, late = window(60, 120, i), window(end - 60, end + 1, i)
        print(f"| {name} | {early:.1f} | {late:.1f} | {(late / early - 1):+.1%} | within 10% |")


if __name__ == "__main__":
    main()
