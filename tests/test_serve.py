"""`gilviz serve`: the app in a real headless Chromium, end to end.

Needs Debian's chromium (/usr/bin/chromium; .ci/run installs it) and the
playwright Python package (its driver only: no browser download)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import tagged_processes, wait_no_tagged

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)")

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def cmdlines(tag: str) -> list[str]:
    out = []
    for p in tagged_processes(tag):
        try:
            out.append(" ".join(p.cmdline()))
        except Exception:
            pass
    return out


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_serve_in_a_browser_runs_the_app(tag, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gilviz", "serve", "--port", str(port),
         "--workload", "count", "--strategy", "processes", "--workers", "2", "--size", "20000000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_port(port)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            # the page starts the app (and the app its lab) over a websocket
            wait_for(lambda: any("gilviz.engine.lab" in c for c in cmdlines(tag)), 60, "the app's lab")
            page.wait_for_selector("canvas, .xterm-screen", timeout=30_000)
            time.sleep(2)  # let the first frames arrive
            before = page.screenshot(path=str(tmp_path / "before.png"))
            page.locator("body").click()
            page.keyboard.press("Enter")
            # the run starts: the lab forks two worker processes
            wait_for(lambda: sum("forkserver" in c for c in cmdlines(tag)) >= 3, 60, "worker processes")
            time.sleep(1.5)
            after = page.screenshot(path=str(tmp_path / "after.png"))
            assert after != before  # the lanes are being drawn
            browser.close()
        # a closed tab ends its app, its lab and the workers, mid-run, while
        # the server goes on serving
        wait_for(lambda: [p.pid for p in tagged_processes(tag)] == [server.pid], 30,
                 "the tab's processes to end")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    left = wait_no_tagged(tag, timeout_s=20)
    assert left == [], cmdlines(tag)


def test_serve_listens_on_loopback_by_default(tag):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gilviz", "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port)
        import psutil

        listening = [c for c in psutil.Process(server.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN]
        assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(20)
    assert wait_no_tagged(tag) == []
