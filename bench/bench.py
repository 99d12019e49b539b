"""gilviz engine benchmark: run by hand, on an idle machine, not by CI.

    python bench/bench.py            # about a minute

Prints, measured side by side in one run:

1. instrumentation overhead: the count workload through gilviz (1 worker,
   sequential) against the bare countdown loop in a plain interpreter, as a
   ratio of wall times (target: at most 1.03);
2. count with 2 workers under threads and processes: cores used and speedup
   against sequential (2 idle cores: threads about 1.0 and at most 1.2,
   processes at least 1.6);
3. fetch of 6 URLs at 0.5 s latency from the embedded server: sequential
   against threads (the limit for threads is one latency plus overhead);
4. the sampler's own cost with the kernel's schedstat read for the four
   states: the CPU time of the thread that samples, per worker per tick, and
   as a share of one core, at 16 and 256 workers sampled at 10 Hz (target for
   256: under 10% of a core).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from gilviz.engine.model import STRATEGIES, RunRequest
from gilviz.engine.session import Session

BARE = """
import time
def countdown(n):
    while n > 0:
        n -= 1
t = time.perf_counter()
countdown({n})
print(time.perf_counter() - t)
"""


def bare_countdown_s(n: int) -> float:
    out = subprocess.run([sys.executable, "-c", BARE.format(n=n)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of the overhead pair (default 5)")
    parser.add_argument("--size", type=int, default=32_000_000, help="countdown iterations (default 32M)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with Session() as session:
        info = session.info()
        print(f"lab: {info.implementation} {info.python}, GIL {'enabled' if info.gil_enabled else 'disabled'}\n")

        # 1. overhead, alternating so drift hits both sides alike
        gil, bare = [], []
        for _ in range(args.repeat):
            bare.append(bare_countdown_s(args.size))
            r = session.run(RunRequest(workload="count", strategy="sequential", workers=1, size=args.size))
            gil.append(r.wall_s)
        ratio = statistics.median(gil) / statistics.median(bare)
        print("| measure | value | target |")
        print("| --- | --- | --- |")
        print(f"| countdown {args.size:,}: bare loop, median of {args.repeat} | {statistics.median(bare):.3f} s | |")
        print(f"| same through gilviz (1 worker, sampled every 100 ms) | {statistics.median(gil):.3f} s | |")
        print(f"| instrumentation overhead (ratio) | {ratio:.3f} | <= 1.03 |")

        # 2. threads vs processes, 2 workers: medians of repeated compares
        rounds = [session.compare(RunRequest(workload="count", workers=2, size=args.size)) for _ in range(3)]
        for i, strategy in enumerate(STRATEGIES):  # the order compare runs them in
            wall = statistics.median(r[i].wall_s for r in rounds)
            cores = statistics.median(r[i].cores_used for r in rounds)
            speed = statistics.median(r[i].speedup for r in rounds)
            cpu_per_unit = statistics.median(r[i].cpu_s / r[i].units * 1e9 for r in rounds)
            target = {"sequential": "", "threads": "cores ~1.0, <= 1.2", "processes": "cores >= 1.6, speedup >= 1.6"}[strategy]
            print(f"| count, 2 workers, {strategy}: wall / cores used / speedup / CPU ns per iteration "
                  f"(median of 3) | {wall:.3f} s / {cores:.2f} / {speed:.2f}x / {cpu_per_unit:.1f} | {target} |")

        # 3. fetch, 6 URLs at 0.5 s
        for strategy in ("sequential", "threads"):
            r = session.run(RunRequest(workload="fetch", strategy=strategy, workers=6, latency_s=0.5))
            note = "6 x 0.5 s = 3.0 s" if strategy == "sequential" else "one latency (0.5 s) + overhead"
            print(f"| fetch, 6 URLs at 0.5 s, {strategy}: wall | {r.wall_s:.3f} s | {note} |")

        # 4. the sampler's cost: session.run samples in the calling thread
        for workers in (16, 256):
            sampler_cost(session, workers)


def sampler_cost(session: Session, workers: int, seconds: float = 5.0) -> None:
    """Run ``workers`` sleeping-and-counting threads for about ``seconds``
    and measure the sampling thread's own CPU time (schedstat on)."""
    size = 10**11  # never finishes: cancelled after ``seconds``
    import threading

    ticks = []
    timer = threading.Timer(seconds, session.cancel)
    cpu0, t0 = time.thread_time(), time.perf_counter()
    timer.start()
    session.run(RunRequest(workload="count", strategy="threads", workers=workers, size=size),
                on_tick=ticks.append)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - t0
    timer.cancel()
    split = any(w.split for t in ticks for w in t.workers)
    per = cpu / max(1, len(ticks) * workers) * 1e6
    target = "< 10% of a core" if workers == 256 else ""
    print(f"| sampler, {workers} threads at 10 Hz, schedstat {'on' if split else 'off'}: CPU per worker per "
          f"tick / share of a core | {per:.1f} µs / {cpu / wall:.1%} | {target} |")


if __name__ == "__main__":
    main()
