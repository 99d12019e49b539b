"""The embedded HTTP server that the fetch workload downloads from.

It runs in its own small process (``python -m gilviz.engine.loopback``),
listens on 127.0.0.1 only, on a free port, and serves only responses it
generates: ``GET /item/<n>?latency=<s>&size=<bytes>`` answers after
``latency`` seconds with ``size`` bytes. For rehearsing failures it also
misbehaves on request: ``/fault/hang`` never answers, ``/fault/endless``
sends a body that never ends, ``/fault/redirect`` redirects to itself,
``/fault/status/<code>`` answers with that HTTP status. So the I/O demo works in a hall with
no network, and its CPU use is neither the lab's nor the UI's. It exits when
its stdin closes (its parent is gone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_LATENCY_S = 60.0
MAX_SIZE_BYTES = 64 * 1024 * 1024
_BLOCK = (b"gilviz " * 9363)[:65536]


class _Handler(BaseHTTPRequestHandler):
    server_version = "gilviz-loopback"
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm the body
    # waits for the client's delayed ACK (40 ms on Linux), which made every
    # small answer on a kept-alive connection take 40 ms
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        if parts.path.startswith("/fault/"):
            self._fault(parts.path[len("/fault/"):])
            return
        if not parts.path.startswith("/item/"):
            self.send_error(404, "gilviz serves /item/<n> only")
            return
        query = parse_qs(parts.query)
        try:
            latency = float(query.get("latency", ["0.5"])[0])
            size = int(query.get("size", ["65536"])[0])
        except ValueError:
            self.send_error(400, "latency and size must be numbers")
            return
        if not (0 <= latency <= MAX_LATENCY_S) or not (0 <= size <= MAX_SIZE_BYTES):
            self.send_error(400, f"latency 0..{MAX_LATENCY_S:g} s, size 0..{MAX_SIZE_BYTES} bytes")
            return
        time.sleep(latency)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        left = size
        while left > 0:
            n = min(left, len(_BLOCK))
            self.wfile.write(_BLOCK[:n])
            left -= n

    def _fault(self, kind: str) -> None:
        try:
            if kind == "hang":
                time.sleep(MAX_LATENCY_S * 10)
            elif kind == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                while True:
                    self.wfile.write(_BLOCK)
            elif kind == "redirect":
                self.send_response(302)
                self.send_header("Location", "/fault/redirect")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind.startswith("status/") and kind[7:].isdigit() and 200 <= int(kind[7:]) <= 599:
                self.send_error(int(kind[7:]))
            else:
                self.send_error(404, "unknown fault")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    # 256 workers connect at the same moment: socketserver's default backlog
    # of 5 drops their SYNs, and each dropped one costs a 1 s, then 3 s retry
    request_queue_size = 1024


def serve() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # returns when the parent closes our stdin or dies
    os._exit(0)


class LoopbackError(RuntimeError):
    """The embedded HTTP server could not start."""


class LoopbackServer:
    """The parent's handle on the server process."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.stderr_tail: deque[str] = deque(maxlen=20)
        #: one start at a time: a switch prepares its run (a fetch's URLs)
        #: beside the run going on, which may prepare its next one
        self._lock = threading.RLock()

    def start(self) -> int:
        from .client import PACKAGE_ROOT

        env = dict(os.environ)
        env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self.proc = subprocess.Popen(
                [self.python, "-m", "gilviz.engine.loopback"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # never the terminal: a client that hangs up mid-body (a
                # cancelled fetch) makes http.server print a traceback, which
                # would land across the app's screen
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise LoopbackError(f"the embedded HTTP server did not start: {exc.strerror or exc}") from None
        self.stderr_tail.clear()
        threading.Thread(target=self._read_stderr, args=(self.proc,), name="loopback-stderr", daemon=True).start()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            self.close()
            detail = " | ".join(list(self.stderr_tail)[-2:])
            raise LoopbackError("the embedded HTTP server did not start" + (f": {detail}" if detail else "")) from None
        return self.port

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        """Keep the last lines the server wrote, for an error message."""
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                self.stderr_tail.append(line.rstrip())
        except (OSError, ValueError):
            pass

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ensure(self) -> int:
        """The server's port, the server started first if it is not running
        (by one caller: two at once get the same server)."""
        with self._lock:
            if not self.alive:
                self.close()
                self.start()
            assert self.port is not None
            return self.port

    def urls(self, count: int, latency_s: float, size_bytes: int) -> tuple[str, ...]:
        port = self.ensure()
        return tuple(
            f"http://127.0.0.1:{port}/item/{i}?latency={latency_s:g}&size={size_bytes}" for i in range(count)
        )

    def close(self) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(1.0)
        except (subprocess.TimeoutExpired, OSError):
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                try:
                    stream.close()
                except (OSError, ValueError):
                    pass
        self.proc = None


if __name__ == "__main__":
    serve()
