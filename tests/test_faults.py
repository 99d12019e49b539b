"""Fault injection: every way a run can go wrong ends in bounded time, with a
clear message, and the next run works. (No test here touches the internet:
every URL is on 127.0.0.1.)"""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from gilviz.engine.model import RunRequest
from gilviz.engine.session import RunFailed, Session
from gilviz.engine.workloads.fetch import reason as _reason
from tests.conftest import wait_no_tagged


def fault_url(session: Session, kind: str) -> str:
    return f"http://127.0.0.1:{session.server.ensure()}/fault/{kind}"


def fetch(urls, strategy="threads", timeout_s=1.5, workers=None):
    return RunRequest(workload="fetch", strategy=strategy, workers=workers or len(urls), urls=tuple(urls),
                      timeout_s=timeout_s)


def assert_next_run_works(session: Session) -> None:
    r = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=100_000))
    assert r.units == 100_000 and r.errors == ()


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_a_url_that_never_answers_times_out(session, strategy):
    t = time.monotonic()
    r = session.run(fetch([fault_url(session, "hang")], strategy))
    assert time.monotonic() - t < 30
    assert len(r.errors) == 1 and "no answer within 1.5 s" in r.errors[0]
    assert_next_run_works(session)


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_an_endless_body_is_cut_off(session, strategy):
    r = session.run(fetch([fault_url(session, "endless")], strategy))
    assert len(r.errors) == 1
    assert "took longer than 1.5 s" in r.errors[0] or "body larger than" in r.errors[0]
    assert_next_run_works(session)


def test_a_redirect_loop_is_an_error(session):
    r = session.run(fetch([fault_url(session, "redirect")]))
    assert len(r.errors) == 1 and "too many redirects" in r.errors[0]


@pytest.mark.parametrize("code", [500, 403, 503])
def test_http_errors_are_reported_with_their_status(session, code):
    r = session.run(fetch([fault_url(session, f"status/{code}"), fault_url(session, "status/200")]))
    assert len(r.errors) == 1 and f"HTTP {code}" in r.errors[0]
    assert sorted(w.state for w in r.worker_results) == ["done", "error"]


def test_the_embedded_server_gone_mid_session(session):
    urls = session.server.urls(2, 0.0, 100)
    session.server.proc.kill()
    session.server.proc.wait()
    r = session.run(fetch(urls))
    assert len(r.errors) == 2 and all("connection failed" in e for e in r.errors)
    # the next default fetch run restarts the server
    r = session.run(RunRequest(workload="fetch", strategy="threads", workers=6, size=100, latency_s=0.0))
    assert r.errors == () and r.units == 600


def test_a_killed_worker_process_is_an_error_on_its_lane(session):
    killed = []

    def kill_first(tick):
        if tick.seq == 2:
            pid = tick.workers[0].os_id
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    r = session.run(RunRequest(workload="count", strategy="processes", workers=2, size=200_000_000),
                    on_tick=kill_first)
    assert killed
    assert len(r.errors) == 1 and f"pid {killed[0]}" in r.errors[0] and "status -9" in r.errors[0]
    assert r.worker_results[0].state == "error" and r.worker_results[1].state == "done"
    assert_next_run_works(session)


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_cancel_while_a_url_hangs_ends_in_bounded_time(session, strategy):
    def cancel_soon(tick):
        if tick.seq == 3:
            threading.Thread(target=session.cancel).start()

    t = time.monotonic()
    try:
        r = session.run(fetch([fault_url(session, "hang")] * 2, strategy, timeout_s=60), on_tick=cancel_soon)
        assert r.cancelled
    except RunFailed as exc:  # a thread stuck in recv may need the lab restarted
        assert "restarted" in str(exc)
    assert time.monotonic() - t < 20
    assert_next_run_works(session)


def test_a_killed_lab_mid_run_then_a_new_lab(session):
    def kill_lab(tick):
        if tick.seq == 1:
            psutil.Process(session.lab.pid).kill()

    t = time.monotonic()
    with pytest.raises(RunFailed, match="SIGKILL"):
        session.run(RunRequest(workload="count", strategy="processes", workers=2, size=10**10), on_tick=kill_lab)
    assert time.monotonic() - t < 10
    assert_next_run_works(session)


@pytest.mark.parametrize("strategy", ["sequential", "threads", "processes"])
def test_256_workers_run_to_completion(tag, strategy):
    with Session() as s:
        r = s.run(RunRequest(workload="count", strategy=strategy, workers=256, size=2_560_000))
        assert r.errors == () and r.units == 2_560_000
        assert len(r.worker_results) == (1 if strategy == "sequential" else 256)
        assert all(w.state == "done" for w in r.worker_results)
        assert len({w.os_id for w in r.worker_results}) == len(r.worker_results)
    assert wait_no_tagged(tag) == []


def test_256_fetching_threads(tag):
    with Session() as s:
        urls = s.server.urls(256, 0.2, 1000)
        r = s.run(RunRequest(workload="fetch", strategy="threads", workers=256, urls=urls))
        assert r.errors == () and r.units == 256_000
    assert wait_no_tagged(tag) == []


@pytest.mark.parametrize(
    "text,reason",
    [
        ("HTTPConnectionPool(host='nowhere.invalid', port=80): Max retries exceeded with url: / (Caused by "
         "NameResolutionError(\"<urllib3.connection.HTTPConnection object at 0x7f>: Failed to resolve "
         "'nowhere.invalid' ([Errno -2] Name or service not known)\"))", "cannot resolve host 'nowhere.invalid'"),
        ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded (Caused by NewConnectionError("
         "'<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: "
         "[Errno 111] Connection refused'))", "[Errno 111] Connection refused"),
    ],
)
def test_connection_errors_are_reduced_to_their_reason(text, reason):
    """A host that does not resolve: the message requests gives, reduced
    (checked on its text: resolving a real name would touch the network)."""
    assert _reason(Exception(text)) == reason


def test_no_child_process_writes_to_our_terminal(session):
    """A cancelled fetch makes http.server print a ConnectionResetError
    traceback; it must never reach the terminal the app draws on. Every
    process the session starts has its stderr on a pipe the session reads."""
    session.run(RunRequest(workload="fetch", strategy="threads", workers=2, size=1000, latency_s=0.0))
    ours = os.readlink("/proc/self/fd/2")
    # the session's processes, not those other tests start here (tests/engine/test_processes.py)
    lab = psutil.Process(session.lab.pid)
    children = [lab, *lab.children(recursive=True), psutil.Process(session.server.proc.pid)]
    for child in children:
        try:
            assert os.readlink(f"/proc/{child.pid}/fd/2") != ours, child.cmdline()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
