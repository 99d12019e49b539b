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
   against threads and asyncio (the limit for both is one latency plus overhead);
4. the sampler's own cost with the kernel's schedstat read for the four
   states: the CPU time of the thread that samples, per worker per tick, and
   as a share of one core, at 16 and 256 workers sampled at 10 Hz (target for
   256: under 10% of a core);
5. the convoy effect: the I/O thread's requests/s and latency (p50, p99)
   beside 0, 1, 2, 4 CPU workers as threads and as processes, and with one
   CPU thread at a 1 ms and a 50 ms switch interval (median of 3 sweeps);
6. where a free-threaded interpreter is present (env GILVIZ_FT_PYTHON, or
   /opt/py313t/bin/python3.13t): count under threads and processes with
   its GIL on and off.

    python bench/bench.py --only convoy,free-threaded   # just 5 and 6
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
    parser.add_argument("--only", default="", help="comma-separated sections to run: overhead, compare, fetch, "
                        "sampler, convoy, free-threaded (default: all)")
    parser.add_argument("--convoy-ms", type=int, default=1500, help="milliseconds per convoy configuration")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}

    def wanted(section: str) -> bool:
        return not only or section in only

    print(f"machine: {machine()}")
    with Session() as session:
        info = session.info()
        print(f"lab: {info.implementation} {info.python}, GIL {'enabled' if info.gil_enabled else 'disabled'}\n")
        engine_sections(session, args, wanted)
        if wanted("convoy"):
            convoy_table(session, args.convoy_ms)
    if wanted("free-threaded"):
        free_threaded_count(args.size)


def engine_sections(session: Session, args: argparse.Namespace, wanted) -> None:
    """Sections 1-4, those ``wanted`` says."""
    if wanted("overhead"):
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

    if wanted("compare"):
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

    if wanted("fetch"):
        # 3. fetch, 6 URLs at 0.5 s
        for strategy in ("sequential", "threads", "asyncio"):
            r = session.run(RunRequest(workload="fetch", strategy=strategy, workers=6, latency_s=0.5))
            note = "6 x 0.5 s = 3.0 s" if strategy == "sequential" else "one latency (0.5 s) + overhead"
            print(f"| fetch, 6 URLs at 0.5 s, {strategy}: wall | {r.wall_s:.3f} s | {note} |")

    if wanted("sampler"):
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


def convoy_table(session: Session, ms: int, sweeps: int = 3) -> None:
    """The convoy sweep, ``sweeps`` times; each configuration's median."""
    runs = [session.convoy(RunRequest(workload="convoy", strategy="threads", workers=1, size=ms)).convoy
            for _ in range(sweeps)]
    print(f"convoy: the I/O thread beside CPU workers, {ms} ms per configuration, median of {sweeps} sweeps\n")
    print("| CPU workers | as | switch interval | I/O requests/s | latency p50 | latency p99 |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for i, point in enumerate(runs[0]):
        rps = statistics.median(r[i].io_requests_per_s for r in runs)
        p50s = [r[i].io_latency_p50_ms for r in runs]
        p99s = [r[i].io_latency_p99_ms for r in runs]

        def ms(values: list) -> str:  # "–" where a sweep measured no latency: never a perfect-looking 0.00
            return "–" if None in values else f"{statistics.median(values):.2f} ms"

        print(f"| {point.cpu_workers} | {point.cpu_strategy} | {point.switch_interval_s * 1000:g} ms | {rps:,.0f} "
              f"| {ms(p50s)} | {ms(p99s)} |")
    print()


def free_threaded_python() -> str | None:
    path = os.environ.get("GILVIZ_FT_PYTHON") or "/opt/py313t/bin/python3.13t"
    return path if os.access(path, os.X_OK) else None


def free_threaded_count(size: int) -> None:
    """count, 2 workers, threads and processes, under a free-threaded build
    with its GIL on and off."""
    python = free_threaded_python()
    if python is None:
        print("free-threaded: no interpreter (set GILVIZ_FT_PYTHON); skipped")
        return
    print(f"count, 2 workers, {size:,} iterations, under {python}\n")
    print("| GIL | strategy | wall | cores used | speedup |")
    print("| --- | --- | ---: | ---: | ---: |")
    for gil in ("on", "off"):
        with Session(python=python, gil=gil) as session:
            results = session.compare(RunRequest(workload="count", workers=2, size=size))
        for r in results:
            print(f"| {gil} | {r.strategy} | {r.wall_s:.3f} s | {r.cores_used:.2f} | {r.speedup or 0:.2f}x |")
    print()


if __name__ == "__main__":
    main()
