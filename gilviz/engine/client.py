"""The parent's side of the lab: start it, talk to it, end it without orphans."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import fields
from pathlib import Path

from .interpreters import gil_environment
from .model import LabInfo

HELLO_TIMEOUT_S = 30.0
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
#: How the lab is started, with any interpreter: ``python -c LAB_COMMAND [--cpus ...]``.
LAB_COMMAND = "from gilviz.engine.lab import main; main()"


class LabError(RuntimeError):
    """The lab could not start, or died."""


class LabClient:
    """One lab process. Events arrive on ``events`` (a queue of dicts); a
    ``{"ev": "exit"}`` event is queued when the lab's stdout closes."""

    def __init__(self, python: str | None = None, *, gil: str | None = None,
                 cpus: tuple[int, ...] | None = None, warm_processes: bool = False) -> None:
        self.python = python or sys.executable
        #: "on" / "off": PYTHON_GIL=1 / 0 for the lab, its workers and its
        #: fork server (a free-threaded build obeys it; None: leave it be)
        self.gil = gil
        #: the cores the lab pins itself (and so every worker) to; None: all
        self.cpus = tuple(cpus) if cpus else None
        #: start the lab's fork server before it says hello (lab.warm_fork_server)
        self.warm_processes = warm_processes
        gil_environment(gil)  # refuses anything but on/off/None now, not at start
        self.proc: subprocess.Popen | None = None
        self.info: LabInfo | None = None
        self.events: queue.Queue[dict] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._send_lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------

    def start(self) -> LabInfo:
        env = dict(os.environ)
        env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(gil_environment(self.gil))
        # -c, not -m: a worker process re-runs the main module of its parent
        # (multiprocessing's "fixup main"), 3 ms of CPU each, 256 of them on a
        # switch to processes; a -c command has no module to re-run
        args = [self.python, "-c", LAB_COMMAND]
        if self.cpus:
            args += ["--cpus", ",".join(str(c) for c in self.cpus)]
        if self.warm_processes:
            args.append("--warm-processes")
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
                bufsize=1,
                # its own process group: a terminal's Ctrl+C goes to us, and
                # we can end the lab and all its workers with one killpg
                start_new_session=True,
            )
        except OSError as exc:
            raise LabError(f"cannot start the lab with {self.python}: {exc.strerror or exc}") from None
        threading.Thread(target=self._read_stdout, name="lab-events", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="lab-stderr", daemon=True).start()
        event = self.wait_event(HELLO_TIMEOUT_S)
        if event is None or event.get("ev") != "hello":
            self.close()
            detail = " ".join(self.stderr_tail).strip()
            raise LabError(f"the lab ({self.python}) did not start" + (f": {detail[-300:]}" if detail else ""))
        known = {f.name for f in fields(LabInfo)}
        self.info = LabInfo(**{k: v for k, v in event["lab"].items() if k in known})
        return self.info

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def close(self, timeout_s: float = 2.0) -> None:
        """End the lab and everything it started. Safe to call twice."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self.send({"op": "quit"})
            except LabError:
                pass
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL the lab's whole process group (lab, workers), then reap."""
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except (OSError, ValueError):
                pass
        self.proc = None

    # -- talking ---------------------------------------------------------------

    def send(self, msg: dict) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise LabError(self.death_message())
        try:
            with self._send_lock:
                proc.stdin.write(json.dumps(msg) + "\n")
                proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise LabError(self.death_message()) from None

    def wait_event(self, timeout_s: float | None) -> dict | None:
        try:
            return self.events.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def discard_events(self) -> None:
        """Forget events not read yet (those of an earlier, abandoned run)."""
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return

    def death_message(self) -> str:
        proc = self.proc
        code = proc.poll() if proc is not None else None
        if code is None:
            why = "the lab is not running"
        elif code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = f"the lab process was killed ({name})"
        else:
            why = f"the lab process exited with status {code}"
        tail = " | ".join(line.strip() for line in list(self.stderr_tail)[-3:] if line.strip())
        return why + (f": {tail}" if tail else "")

    def _read_stdout(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.strip()
                if not line:
                    continue
                try:
                    self.events.put(json.loads(line))
                except ValueError:
                    self.stderr_tail.append(line)
        except (OSError, ValueError):
            pass
        # give the exit status a moment to appear, for a good message
        for _ in range(20):
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        self.events.put({"ev": "exit"})

    def _read_stderr(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stderr is not None
        try:
            for line in proc.stderr:
                self.stderr_tail.append(line.rstrip())
        except (OSError, ValueError):
            pass
