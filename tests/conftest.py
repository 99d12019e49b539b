"""Shared fixtures: a real session (lab + loopback server) and leak checks."""

from __future__ import annotations

import os
import socket
import time
import uuid

import psutil
import pytest


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Live processes whose environment carries GILVIZ_TEST_TAG=tag."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == os.getpid():
                continue
            if proc.environ().get("GILVIZ_TEST_TAG") == tag and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def wait_no_tagged(tag: str, timeout_s: float = 10.0) -> list[psutil.Process]:
    """Wait until no tagged process is left; return the survivors."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = tagged_processes(tag)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def wait_gone(pids: set[int], timeout_s: float = 20.0) -> set[int]:
    """Wait until none of ``pids`` runs (ended, or a zombie); return those
    still running. A killed process ends once the kernel gives it a turn,
    which on a busy machine is not at once."""
    from gilviz.engine.strategies import _gone

    deadline = time.monotonic() + timeout_s
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if not _gone(p)}
        time.sleep(0.05)
    return pids


def descendants() -> list[psutil.Process]:
    """This test process's living descendants (zombies count: nobody reaped them)."""
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()]


@pytest.fixture
def tag(monkeypatch) -> str:
    """A unique tag in the environment, inherited by every process we start."""
    value = uuid.uuid4().hex
    monkeypatch.setenv("GILVIZ_TEST_TAG", value)
    return value


@pytest.fixture(scope="module")
def session():
    from gilviz.engine.session import Session

    s = Session()
    yield s
    s.close()


@pytest.fixture
def refused_url() -> str:
    """An http URL on 127.0.0.1 whose port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: starts the real lab (a few seconds)")
