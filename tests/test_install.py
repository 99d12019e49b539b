"""gilviz as users get it: a wheel built from this tree, installed (not
editable) into a fresh virtual environment, run from outside the source tree.

An editable install reads every file from the source tree, so it cannot see
a file the wheel forgot (the stylesheet once was: the README's first command
crashed). These tests build the wheel and look only at what it installs.

No network: the wheel is built without build isolation, and the fresh venv
borrows the dependencies (Textual, psutil, requests) already installed for the
tests, by a .pth line that adds their folder after its own site-packages. That
line does not run the .pth files of that folder, so the editable gilviz there
stays invisible; a test checks the gilviz that runs is the installed one.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import wait_no_tagged

SOURCE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its bin folder."""
    root = tmp_path_factory.mktemp("installed")
    # build from a copy without earlier build output: a stale build/ or
    # egg-info/SOURCES.txt can carry a file the declared package data misses
    tree = root / "source"
    shutil.copytree(SOURCE, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache",
        ".ruff_cache", "screenshots"))
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), "--quiet"],
        check=True, cwd=root, timeout=300,
    )
    (wheel,) = wheels.glob("gilviz-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True, cwd=root, timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "gilviz_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "gilviz"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_the_installed_gilviz_is_the_wheel_not_the_source_tree(installed, tmp_path):
    out = subprocess.run(
        [str(installed / "python"), "-c",
         "import gilviz, gilviz.ui, pathlib; print(gilviz.__file__);"
         "print((pathlib.Path(gilviz.ui.__file__).parent / 'gilviz.tcss').is_file())"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout.split()
    assert not out[0].startswith(str(SOURCE)), out[0]
    assert out[0].startswith(str(installed.parent)), out[0]
    assert out[1] == "True", "the wheel has no stylesheet"


def test_version_and_a_headless_run(installed, tmp_path, tag):
    version = run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("gilviz "), version
    done = run(installed, "run", "--workload", "count", "--workers", "2", "--size", "400000", "--json",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["workload"] == "count" and result["workers"] == 2
    assert result["wall_s"] > 0 and not result["errors"]
    assert wait_no_tagged(tag) == []


def test_the_installed_app_loads_its_stylesheet(installed, tmp_path, tag):
    """The app from the wheel, headless: the stylesheet's rules are applied."""
    script = (
        "import asyncio\n"
        "from gilviz.ui.app import GilvizApp\n"
        "async def main():\n"
        "    app = GilvizApp()\n"
        "    async with app.run_test(size=(100, 30)) as pilot:\n"
        "        await pilot.pause()\n"
        "        lanes = app.query_one('#lanes')\n"
        "        print(lanes.styles.border_top[0])\n"
        "        await pilot.press('q')\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([str(installed / "python"), "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    # gilviz.tcss gives the lanes a round border; Textual's default is none
    assert out.stdout.split()[-1] == "round", out.stdout
    assert wait_no_tagged(tag) == []


def test_the_installed_app_opens_in_a_terminal_and_quits(installed, tmp_path, tag):
    """The README's first command ends in ``gilviz``: run it in a real pty."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app, from outside the source tree
        os.chdir(tmp_path)
        os.environ["TERM"] = "xterm-256color"
        os.execv(str(installed / "gilviz"), [str(installed / "gilviz")])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    out = bytearray()

    def read() -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            out.extend(data)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in out:
            assert b"Error" not in out, bytes(out[-2000:]).decode(errors="replace")
            assert time.monotonic() < deadline, "the app never said it was ready"
            time.sleep(0.05)
        os.write(fd, b"q")
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"StylesheetError" not in out
    assert wait_no_tagged(tag) == []
