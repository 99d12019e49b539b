"""The app in a real pseudo-terminal, ended the hard ways: whatever kills it,
no lab, worker or server process survives."""

from __future__ import annotations

import os
import pty
import signal
import sys
import threading
import time

import pytest

from tests.conftest import tagged_processes, wait_no_tagged

pytestmark = pytest.mark.e2e


class Pty:
    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.execvp(argv[0], argv)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.out = bytearray()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.out.extend(data)

    def wait_for(self, text: bytes, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.out:
            assert time.monotonic() < deadline, f"{text!r} never appeared"
            time.sleep(0.05)

    def reap(self) -> None:
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP", "SIGTERM", "q", "ctrl+c"])
def test_the_app_ended_mid_run_leaves_no_process(tag, how):
    app = Pty([sys.executable, "-m", "gilviz", "--workload", "fetch", "--strategy", "processes",
               "--latency", "30", "--workers", "3"])
    app.wait_for(b"ready")
    os.write(app.fd, b"\r")
    # the lab, its fork server and three workers blocked on the server, which is up too
    deadline = time.monotonic() + 60
    while len(tagged_processes(tag)) < 6:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.1)
    if how in ("q", "ctrl+c"):
        os.write(app.fd, b"q" if how == "q" else b"\x03")
    else:
        os.kill(app.pid, getattr(signal, how))
    app.reap()
    assert wait_no_tagged(tag, timeout_s=20) == []
