"""What the Textual app costs while it draws a busy run, and how fast it answers.

    python bench/ui_bench.py [--workers 16] [--seconds 8] [--presses 20] [--size 120x40]

The app runs as a user runs it: ``gilviz`` in a real pseudo-terminal (a pty
of the given size, TERM=xterm-256color), its output read as fast as it comes.

1. UI CPU: while a count run with N threads goes on in the lab, the CPU time
   of the app's own process (Textual's event loop, the terminal writes, the
   session thread that samples the lab), per wall second, measured from
   outside with psutil. The lab and its workers are other processes and are
   not counted. Target: under 10% of one core.
2. Key latency: during the same run, the time from writing ``?`` to the pty
   to the moment the help screen's first bytes come back on it. Target: under
   100 ms.

Figures depend on the machine and its load: the run prints the load average.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--size", default="120x40", help="terminal COLSxROWS (default 120x40)")
    args = parser.parse_args(argv)
    cols, rows = (int(v) for v in args.size.split("x"))
    load = os.getloadavg()

    term = Terminal([sys.executable, "-m", "gilviz", "--workload", "count", "--strategy", "threads",
                     "--workers", str(args.workers), "--size", str(10**11)], cols, rows)
    try:
        term.wait_for(b"ready")
        term.send(b"\r")
        term.wait_for(b"running")
        time.sleep(1.0)  # past the start-up
        app = psutil.Process(term.pid)
        cpu0, t0 = sum(app.cpu_times()[:2]), time.perf_counter()
        time.sleep(args.seconds)
        ui_cores = (sum(app.cpu_times()[:2]) - cpu0) / (time.perf_counter() - t0)
        threads = len(app.threads())

        latencies = []
        for _ in range(args.presses):
            since = term.mark()
            t = time.perf_counter()
            term.send(b"?")
            latencies.append(term.wait_for(b"gilviz keys", since) - t)
            time.sleep(0.3)
            term.send(b"?")  # closes the help screen again
            time.sleep(0.4)
    finally:
        term.close()

    lat = sorted(ms * 1000 for ms in latencies)
    p90 = lat[int(0.9 * (len(lat) - 1))]
    print(f"gilviz UI benchmark: count x threads x {args.workers} workers in the lab, app in a {cols}x{rows} pty")
    print(f"machine: {psutil.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"UI process CPU while drawing: {ui_cores * 100:5.1f}% of one core ({threads} threads)   target < 10%")
    print(f"key press -> screen change ({args.presses} presses of ?): median {statistics.median(lat):.1f} ms, "
          f"p90 {p90:.1f} ms, max {lat[-1]:.1f} ms   target < 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
