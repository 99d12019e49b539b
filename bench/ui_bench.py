"""What the Textual app costs while it draws a live run, and how fast it answers.

    python bench/ui_bench.py [--workers 16,256] [--seconds 8] [--presses 20] [--size 120x40]

The app runs as a user runs it: ``gilviz`` in a real pseudo-terminal (a pty
of the given size, TERM=xterm-256color), its output read as fast as it comes.
Every figure is measured from outside the app, in the same run:

0. Baseline: the app open and idle (no run), its process's CPU per wall
   second (psutil).
1. UI CPU: during a live count run with N threads in the lab (Enter), the
   CPU time of the app's own process (Textual's event loop, the terminal
   writes, the session thread that samples the lab) per wall second. The lab
   and its workers are other processes and are not counted. Targets: under
   5% of one core at 16 lanes, under 15% at 256. Printed with its split: the
   main thread (Textual's event loop, the drawing) and the others; and, on
   Linux, how long the main thread waited for a core (runnable, the
   kernel's schedstat) per second it ran, which a key press waits too.
2. Key latency: during the same run, the time from writing ``?`` to the pty
   to the moment the help screen's first bytes come back. Target: p90 under
   100 ms.
3. Mode switch: during the run, from writing ``p`` (processes) to the pty to
   the switch label ("threads → processes") coming back, which the app draws
   when the lab has released the new workers; then ``t`` back. Target: under
   500 ms.

Figures depend on the machine and its load: the run prints the load
average, how fast this machine's Python is that day (a bare loop, best of
three), what a small piece of work costs when a thread wakes up ten times a
second against the same work in a loop (the app's threads wake so), and on a
virtual machine the share of the cores' busy time its host took for other
guests (steal) while it ran. The same code's 16-lane CPU reading went from
5.0-5.5% at one stop to 7.1-7.9% at a later one, on this VM.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import sys
import termios
import threading
import time
from dataclasses import dataclass

import psutil


class Terminal:
    """A pty running a command, with everything it writes kept and timed."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the app
            os.environ["TERM"] = "xterm-256color"
            os.execvp(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = bytearray()
        self.arrivals: list[tuple[float, int]] = []  # (time, bytes so far)
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            with self.lock:
                self.out.extend(data)
                self.arrivals.append((now, len(self.out)))

    def mark(self) -> int:
        with self.lock:
            return len(self.out)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait_for(self, text: bytes, since: int = 0, timeout_s: float = 60.0) -> float:
        """When ``text`` (written after offset ``since``) arrived."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            with self.lock:
                i = self.out.find(text, since)
                if i >= 0:
                    end = i + len(text)
                    return next(t for t, n in self.arrivals if n >= end)
            time.sleep(0.0005)
        raise TimeoutError(f"{text!r} did not appear")

    def close(self) -> None:
        try:
            self.send(b"q")
            for _ in range(100):
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
                time.sleep(0.05)
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass


def _main_thread_wait(pid: int) -> float | None:
    """Seconds the process's main thread has waited for a core, runnable
    (the kernel's schedstat; None where there is none)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CpuReading:
    """The process's CPU seconds (user + system) per wall second over a
    stretch, and how they split: the main thread (Textual's event loop, the
    drawing) and the others (the session thread that samples the lab,
    Textual's writer and input threads); and how long the main thread
    waited for a core per second it ran (Linux; None elsewhere)."""

    total: float
    main: float
    others: float
    main_waited: float | None

    def split(self) -> str:
        waited = (f"; it waited {self.main_waited:.1f} s for a core per second on one"
                  if self.main_waited is not None else "")
        return f"main thread {self.main * 100:.1f}%, other threads {self.others * 100:.1f}%{waited}"


def read_cpu(pid: int, seconds: float) -> CpuReading:
    """The app's CPU over the next ``seconds``, read from outside."""
    proc = psutil.Process(pid)

    def main_thread() -> float:
        return next((t.user_time + t.system_time for t in proc.threads() if t.id == pid), 0.0)

    cpu0, main0, wait0, t0 = sum(proc.cpu_times()[:2]), main_thread(), _main_thread_wait(pid), time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    cpu, main, wait = sum(proc.cpu_times()[:2]) - cpu0, main_thread() - main0, _main_thread_wait(pid)
    waited = (wait - wait0) / main if wait is not None and wait0 is not None and main > 0 else None
    return CpuReading(cpu / wall, main / wall, max(0.0, cpu - main) / wall, waited)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def key_latencies(term: Terminal, presses: int) -> list[float]:
    """``?`` opens the help screen, ``?`` again closes it: ms to the first bytes of it."""
    out = []
    for _ in range(presses):
        since = term.mark()
        t = time.perf_counter()
        term.send(b"?")
        out.append((term.wait_for("gilviz keys".encode(), since) - t) * 1000)
        time.sleep(0.3)
        term.send(b"?")
        time.sleep(0.4)
    return out


def switch_latencies(term: Terminal, times: int) -> list[float]:
    """``p`` then ``t`` during a live threads run: ms from the key to the
    switch label, drawn once the lab has released the new workers."""
    out = []
    for _ in range(times):
        for key, label in ((b"p", "threads → processes"), (b"t", "processes → threads")):
            since = term.mark()
            t = time.perf_counter()
            term.send(key)
            out.append((term.wait_for(label.encode(), since, timeout_s=30) - t) * 1000)
            time.sleep(1.5)
    return out


def python_speed(iterations: int = 5_000_000, tries: int = 3) -> float:
    """Seconds this machine's Python takes to count ``iterations`` down in a
    bare loop (the count workload's), best of ``tries``. The same code's
    figures differ from day to day on a virtual machine: this says which
    day a reading is of."""
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        n = iterations
        while n > 0:
            n -= 1
        best = min(best, time.perf_counter() - t0)
    return best


def wake_cost(calls: int = 20, sleep_s: float = 0.1) -> tuple[float, float]:
    """Microseconds of CPU one read of every core's times (psutil, as the
    app's sampler makes each period) takes, median of ``calls``: one right
    after another, and each after a ``sleep_s`` sleep, as the app's threads
    wake ten times a second. On this VM the second cost four to eight times
    the first, idle or busy: what a frame costs depends on that as much as
    on the code."""

    def cost(pause: float) -> float:
        times = []
        for _ in range(calls):
            if pause:
                time.sleep(pause)
            t0 = time.thread_time_ns()
            psutil.cpu_times(percpu=True)
            times.append(time.thread_time_ns() - t0)
        return statistics.median(times) / 1e3

    cost(0.0)  # imported and opened once
    return cost(0.0), cost(sleep_s)


def steal_share(before, after) -> float | None:
    """The share of the cores' busy time the host of a virtual machine took
    for other guests between two ``psutil.cpu_times()``; None where it is not counted."""
    if not hasattr(before, "steal"):
        return None
    names = ("user", "nice", "system", "irq", "softirq", "steal")
    busy = sum(getattr(after, n, 0.0) - getattr(before, n, 0.0) for n in names)
    return (after.steal - before.steal) / busy if busy > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="16,256", help="lane counts to measure, comma-separated (default 16,256)")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each CPU reading lasts (default 8)")
    parser.add_argument("--presses", type=int, default=20, help="key presses timed per run (default 20)")
    parser.add_argument("--switches", type=int, default=3, help="p/t switch pairs timed per run (default 3)")
    parser.add_argument("--size", default="120x40", help="terminal COLSxROWS (default 120x40)")
    args = parser.parse_args(argv)
    cols, rows = (int(v) for v in args.size.split("x"))
    load = os.getloadavg()
    counts = [int(n) for n in args.workers.split(",")]

    print(f"gilviz UI benchmark: the app in a {cols}x{rows} pty, live count runs with threads in the lab")
    print(f"machine: {psutil.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"Python speed: a 5 M countdown in {python_speed():.2f} s (best of 3)")
    warm, woken = wake_cost()
    print(f"a read of the cores' times (psutil): {warm:.0f} µs of CPU one after another, "
          f"{woken:.0f} µs after a 100 ms sleep")
    cpu_before = psutil.cpu_times()
    for i, workers in enumerate(counts):
        term = Terminal([sys.executable, "-m", "gilviz", "--workload", "count", "--strategy", "threads",
                         "--workers", str(workers)], cols, rows)
        try:
            term.wait_for(b"ready")
            if i == 0:
                time.sleep(1.0)
                idle = read_cpu(term.pid, args.seconds).total
                print(f"  idle app (no run):                     UI CPU {idle * 100:5.1f}% of one core")
            term.send(b"\r")
            term.wait_for(b"running")
            time.sleep(1.5)  # past the start-up
            ui = read_cpu(term.pid, args.seconds)
            keys = key_latencies(term, args.presses)
            switches = switch_latencies(term, args.switches)
        finally:
            term.close()
        budget = 5 if workers <= 16 else 15
        print(f"  live run, {workers:>3} lanes at 10 frames/s:    UI CPU {ui.total * 100:5.1f}% of one core   "
              f"(target < {budget}%)")
        print(f"    of which: {ui.split()}")
        print(f"    key -> screen ({len(keys)} presses of ?):  median {statistics.median(keys):5.0f} ms, "
              f"p90 {p90(keys):5.0f} ms, max {max(keys):5.0f} ms   (target p90 < 100 ms)")
        print(f"    mode switch p/t -> new workers ({len(switches)}): median {statistics.median(switches):5.0f} ms, "
              f"max {max(switches):5.0f} ms   (target < 500 ms)")
    steal = steal_share(cpu_before, psutil.cpu_times())
    if steal is not None:
        print(f"the host took {steal:.0%} of the cores' busy time for other guests (steal) during the benchmark")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
