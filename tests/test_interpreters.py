"""Other interpreters: discovery, --python / --gil / --cpus, and the lab
under CPython 3.8, 3.9 and a free-threaded build.

The tests that need an interpreter this machine lacks skip and say which.
The free-threaded one comes from $GILVIZ_FT_PYTHON (set by .ci/run) or
from discovery.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pytest

from gilviz.engine import interpreters
from gilviz.engine.client import LabClient, LabError
from gilviz.engine.interpreters import Interpreter, InterpreterError
from gilviz.engine.model import RunRequest
from gilviz.engine.session import RunFailed, Session
from tests.conftest import tagged_processes, wait_no_tagged

GILVIZ = [sys.executable, "-m", "gilviz"]


def gilviz(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*GILVIZ, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def found() -> list[Interpreter]:
    return interpreters.discover()


def python_named(found: list[Interpreter], short_name: str) -> Interpreter:
    for i in reversed(found):
        if i.short_name == short_name:
            return i
    pytest.skip(f"no Python {short_name} on this machine (e.g. pyenv install {short_name})")


@pytest.fixture(scope="module")
def free_threaded(found) -> Interpreter:
    path = os.environ.get("GILVIZ_FT_PYTHON")
    if path:
        try:
            i = interpreters.probe(path)
        except InterpreterError as exc:
            pytest.skip(f"GILVIZ_FT_PYTHON={path} is not usable: {exc}")
        if not i.free_threaded:
            pytest.skip(f"GILVIZ_FT_PYTHON={path} is not a free-threaded build")
        return i
    for i in found:
        if i.free_threaded and i.lab_ok:
            return i
    pytest.skip("no free-threaded Python found (set GILVIZ_FT_PYTHON, or run "
                "/work/shared/tools/free-threaded-python, or e.g. uv python install 3.14t)")


def fake_python(tmp_path, body: str) -> str:
    path = tmp_path / "python3"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


# --- discovery ---------------------------------------------------------------


def test_the_running_python_is_described_like_discovery_describes_it():
    here = interpreters.current()
    probed = interpreters.probe(sys.executable)
    assert (here.version, here.free_threaded, here.short_name) == (probed.version, probed.free_threaded,
                                                                   probed.short_name)
    assert probed.lab_ok and probed.version == ".".join(map(str, sys.version_info[:3]))


def test_discovery_finds_each_file_once_with_a_short_name(found):
    assert found, "not even the Python running the tests was found"
    keys = [(os.stat(i.path).st_dev, os.stat(i.path).st_ino) for i in found]
    assert len(keys) == len(set(keys))
    for i in found:
        major_minor = ".".join(i.version.split(".")[:2])
        assert i.short_name == major_minor + ("t" if i.free_threaded else "")
        assert i.lab_ok == (tuple(map(int, i.version.split(".")[:2])) >= (3, 8))
        assert bool(i.why_not) == (not i.lab_ok or not i.has_requests)


def test_discovery_looks_on_path_first_and_counts_links_once(tmp_path, monkeypatch):
    real = os.path.realpath(sys.executable)
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3.99").symlink_to(real)
    (folder / "python3").symlink_to(folder / "python3.99")
    (folder / "python3-config").write_text("#!/bin/sh\n")  # not a Python name: never run
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    paths = interpreters._unique(interpreters.candidate_paths())
    same = [p for p in paths if os.path.realpath(p) == real]
    assert same == [str(folder / "python3.99")]  # the name that says more, found first
    assert not any(p.endswith("-config") for p in paths)


def test_gilviz_pythons_prints_a_table_and_json(tag):
    out = gilviz("pythons", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows and set(rows[0]) >= {"path", "version", "implementation", "free_threaded",
                                     "gil_enabled_by_default", "lab_ok", "why_not", "short_name"}
    table = gilviz("pythons")
    assert table.returncode == 0
    for row in rows:
        assert row["path"] in table.stdout
    assert wait_no_tagged(tag) == []


def test_an_old_python_is_listed_with_the_reason(found):
    old = [i for i in found if not i.lab_ok]
    if not old:
        pytest.skip("no Python older than 3.8 here")
    assert all("too old" in i.why_not or "not CPython" in i.why_not for i in old)


# --- --python, --gil, --cpus: refused before anything starts -----------------


@pytest.mark.parametrize(
    "body, message",
    [
        ("exit 0\n", "is not a Python"),
        ("echo 'Python 2.7.18' >&2\necho 'SyntaxError: invalid syntax' >&2\nexit 1\n", "too old"),
        ("echo 'GILVIZ-PROBE {\"version\": [3, 7, 9], \"implementation\": \"cpython\", \"free_threaded\": false, "
         "\"gil_enabled\": true, \"requests\": true}'\n", "too old: the lab needs 3.8"),
        ("echo 'GILVIZ-PROBE {\"version\": [3, 10, 14], \"implementation\": \"pypy\", \"free_threaded\": false, "
         "\"gil_enabled\": true, \"requests\": true}'\n", "not CPython"),
        ("sleep 60 &\nsleep 60\n", "did not answer within"),
    ],
)
def test_a_python_that_is_not_usable_exits_2_quickly_and_leaves_nothing(tmp_path, tag, body, message):
    path = fake_python(tmp_path, body)
    start = time.monotonic()
    out = gilviz("run", "--python", path, "--size", "1000")
    assert time.monotonic() - start < 30  # not the fake's 60 s: the probe gives up after 5 s
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""
    assert wait_no_tagged(tag, timeout_s=3) == []


def test_a_path_that_is_not_an_executable_file_exits_2(tmp_path):
    plain = tmp_path / "python3"
    plain.write_text("")
    for path in (str(plain), str(tmp_path), "/nonexistent/python3"):
        out = gilviz("run", "--python", path)
        assert out.returncode == 2 and "not an executable file" in out.stderr


def test_an_unknown_short_name_lists_the_known_ones(tag, found):
    out = gilviz("run", "--python", "3.99", "--size", "1000")
    assert out.returncode == 2
    assert "no Python named '3.99'" in out.stderr
    assert "known here:" in out.stderr and found[-1].short_name in out.stderr
    assert tagged_processes(tag) == []


def test_the_same_interpreter_named_twice_runs_once_and_like_names_are_told_apart(found):
    from gilviz.cli import _distinct_names, build_parser, lab_choices

    here = interpreters.current()
    args = build_parser().parse_args(["compare", "--python", sys.executable, "--python", here.short_name])
    twice = lab_choices(args, "count")
    if len(twice) == 1:
        assert twice[0].label(True) == f"{here.short_name} GIL"
    else:  # the short name picked another build of that version (say, /usr/bin's)
        assert len({c.name for c in twice}) == 2
    a = interpreters.Interpreter("/a/python3.11", "3.11.2", "CPython", False, True, True, "", "3.11")
    b = interpreters.Interpreter("/b/python3.11", "3.11.7", "CPython", False, True, True, "", "3.11")
    c = interpreters.Interpreter("/c/python3.11", "3.11.7", "CPython", False, True, True, "", "3.11")
    assert _distinct_names([a, b]) == ["3.11.2", "3.11.7"]
    assert _distinct_names([b, c]) == ["/b/python3.11", "/c/python3.11"]


def test_resolve_takes_a_short_name_or_a_path(found):
    here = interpreters.current()
    assert interpreters.resolve(sys.executable).version == here.version
    assert interpreters.resolve(here.short_name, found).short_name == here.short_name
    with pytest.raises(InterpreterError, match="known here"):
        interpreters.resolve("3.99", found)


def test_a_python_too_old_for_the_lab_is_refused_by_name(found):
    old = [i for i in found if i.implementation == "CPython" and not i.lab_ok]
    if not old:
        pytest.skip("no CPython older than 3.8 here (e.g. pyenv install 3.7)")
    out = gilviz("run", "--python", old[-1].short_name)
    assert out.returncode == 2 and "too old" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--gil", "maybe"], "invalid choice: 'maybe'"),
        (["compare", "--gil", "on", "--gil", "0"], "invalid choice: '0'"),
        (["run", "--cpus", "99"], "core 99 is not available here"),
        (["run", "--cpus", "0,512-513"], "cores 512,513 are not available here"),
        (["run", "--cpus", ""], "at least one core"),
        (["run", "--cpus", ","], "at least one core"),
        (["compare", "--cpus", "1-0"], "runs backwards"),
        (["run", "--cpus", "zero"], "give core numbers like 0"),
        (["--cpus", "0"], "--cpus applies to 'gilviz run' and 'gilviz compare'"),
    ],
)
def test_bad_gil_and_cpus_exit_2_and_start_nothing(tag, args, message):
    out = gilviz(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""
    assert tagged_processes(tag) == []


def test_gil_off_is_refused_on_a_build_with_a_gil(tag, found):
    gil_only = [i for i in found if not i.free_threaded and i.lab_ok]
    assert gil_only, "no GIL build found"
    for args in (["run", "--gil", "off"], ["compare", "--python", gil_only[-1].path, "--gil", "off"]):
        out = gilviz(*args, "--size", "1000")
        assert out.returncode == 2
        assert "--gil off needs a free-threaded build" in out.stderr
    assert tagged_processes(tag) == []


def test_serve_passes_the_resolved_python_and_gil_to_each_app():
    from gilviz.cli import app_command, build_parser

    args = build_parser().parse_args(["serve", "--python", sys.executable, "--gil", "on"])
    command = app_command(args)
    assert f"--python {sys.executable}" in command and "--gil on" in command


def test_cpus_without_sched_setaffinity_is_refused(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    with pytest.raises(ValueError, match="sched_setaffinity"):
        interpreters.parse_cpus("0")


def test_cpus_lists_and_ranges():
    allowed = sorted(os.sched_getaffinity(0))
    assert interpreters.parse_cpus(str(allowed[0])) == (allowed[0],)
    assert interpreters.parse_cpus(",".join(map(str, allowed))) == tuple(allowed)


def test_help_explains_the_new_options():
    def help_of(command: str) -> str:
        return " ".join(gilviz(command, "--help").stdout.split())  # argparse wraps lines

    for command in ("run", "compare"):
        text = help_of(command)
        assert "--gil {on,off}" in text and "PYTHON_GIL" in text
        assert "--cpus LIST" in text and "sched_setaffinity" in text
        assert "gilviz pythons" in text
    assert "Repeat it to compare interpreters" in help_of("compare")
    assert "short names" in help_of("pythons")


# --- the lab under older CPythons --------------------------------------------


@pytest.mark.e2e
def test_the_lab_refuses_a_python_older_than_3_8_at_once(tag, found):
    old = [i for i in found if i.implementation == "CPython" and i.version.startswith("3.7.")]
    if not old:
        pytest.skip("no CPython 3.7 here (e.g. pyenv install 3.7)")
    client = LabClient(old[0].path)
    start = time.monotonic()
    with pytest.raises(LabError, match="needs Python 3.8 or newer"):
        client.start()
    assert time.monotonic() - start < 5
    client.close()
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_count_completes_under_3_8(tag, found):
    py38 = python_named(found, "3.8")
    with Session(python=py38.path) as session:
        for strategy in ("threads", "processes"):
            r = session.run(RunRequest(workload="count", strategy=strategy, workers=2, size=2_000_000))
            assert r.python.startswith("3.8.") and r.units == 2_000_000 and r.errors == ()
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_race_plain_under_3_9_runs_and_reports_lost_updates(tag, found):
    py39 = python_named(found, "3.9")
    out = gilviz("run", "-w", "race", "--race-style", "plain", "-n", "4", "--size", "1000000",
                 "--python", "3.9", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["python"] == py39.version and d["python"].startswith("3.9.")
    # 3.9 may switch threads inside counter += 1; how often depends on timing
    assert d["race_style"] == "plain" and d["expected"] == 1_000_000 and d["lost"] >= 0
    assert d["actual"] + d["lost"] == d["expected"]
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_fetch_without_requests_names_the_package_and_cpu_work_still_runs(tag, found):
    lacking = [i for i in found if i.lab_ok and not i.has_requests]
    if not lacking:
        pytest.skip("every Python here has requests")
    py = lacking[0]
    with Session(python=py.path) as session:
        for strategy in ("threads", "processes"):
            with pytest.raises(RunFailed) as failed:
                session.run(RunRequest(workload="fetch", strategy=strategy, workers=2, latency_s=0.0))
            assert "'requests'" in str(failed.value)
            assert f"{py.path} -m pip install requests" in str(failed.value)
        r = session.run(RunRequest(workload="hash", strategy="threads", workers=2, size=4))
        assert r.units == 4 and r.errors == ()
    out = gilviz("run", "-w", "fetch", "--python", py.path)
    assert out.returncode == 2 and f"{py.path} -m pip install requests" in out.stderr
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_compare_across_interpreters_has_an_interpreter_column(tag, found):
    python_named(found, "3.9")
    here = interpreters.current()
    args = ["compare", "-w", "race", "--race-style", "plain", "-n", "4", "--size", "200000",
            "--python", "3.9", "--python", sys.executable]
    out = gilviz(*args, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["interpreter"] for r in rows] == ["3.9 GIL"] * 3 + [f"{here.short_name} GIL"] * 3
    assert [r["strategy"] for r in rows] == ["sequential", "threads", "processes"] * 2
    assert rows[0]["speedup"] == 1.0 and rows[3]["speedup"] == 1.0  # each against its own sequential
    assert rows[0]["python"].startswith("3.9.")
    table = gilviz(*args)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "interpreter" in lines[2] and "strategy" in lines[2]
    assert lines[3].split()[:3] == ["3.9", "GIL", "sequential"]
    md = gilviz(*args, "--markdown")
    # the fastest correct run is in bold: 3.9's sequential run, when it was the fastest
    assert "| interpreter | strategy |" in md.stdout
    assert "| 3.9 GIL | sequential |" in md.stdout or "| 3.9 GIL | **sequential** |" in md.stdout
    assert wait_no_tagged(tag) == []


def test_one_interpreter_keeps_the_table_unchanged(session):
    from gilviz import export

    results = session.compare(RunRequest(workload="race", workers=2, size=20_000))
    same = ["3.11 GIL"] * len(results)
    assert export.compare_table(results, interpreters=same) == export.compare_table(results)
    assert export.compare_markdown(results, interpreters=same) == export.compare_markdown(results)
    assert json.loads(export.compare_json(results)) == [r.to_dict() for r in results]


def test_lost_plain_increments_are_explained_without_a_call(session):
    """On 3.9 (or without the GIL) 'counter += 1' itself loses updates: the
    summary must not blame a call that the plain style does not make."""
    from dataclasses import replace

    from gilviz.export.text import reading

    r = session.run(RunRequest(workload="race", race_style="plain", workers=2, size=20_000))
    lost = replace(r, lost=5, actual=r.expected - 5)
    with_gil = " ".join(reading(replace(lost, gil_enabled=True)))
    assert "5 of 20,000 increments were lost" in with_gil and "before 3.10" in with_gil
    assert "at the call" not in with_gil
    assert "without the GIL" in " ".join(reading(replace(lost, gil_enabled=False)))


# --- the GIL switch on a free-threaded build ----------------------------------


@pytest.mark.e2e
def test_gil_off_lets_two_threads_use_more_than_one_core(tag, free_threaded):
    """Two counting threads: with the GIL they take turns (about one core),
    without it they run at once. On a busy machine the absolute figure for
    'off' may fall short of 1.4; then it must still clearly beat 'on'."""
    request = RunRequest(workload="count", strategy="threads", workers=2, size=30_000_000)
    best = None
    for _ in range(3):
        with Session(python=free_threaded.path, gil="on") as s:
            on = s.run(request)
        with Session(python=free_threaded.path, gil="off") as s:
            off = s.run(request)
        assert on.gil_enabled is True and off.gil_enabled is False
        assert on.cores_used < 1.3
        best = max(best or 0.0, off.cores_used / on.cores_used)
        if off.cores_used > 1.4 or best > 1.3:
            break
    assert off.cores_used > 1.4 or best > 1.3, f"GIL off {off.cores_used:.2f} cores, on {on.cores_used:.2f}"
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_cli_gil_switch_reaches_the_lab(tag, free_threaded):
    for gil, enabled in (("on", True), ("off", False)):
        out = gilviz("run", "--python", free_threaded.path, "--gil", gil, "-n", "2", "--size", "100000", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["gil_enabled"] is enabled
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_compare_gil_on_and_off_in_one_table(tag, free_threaded):
    out = gilviz("compare", "--python", free_threaded.path, "--gil", "on", "--gil", "off",
                 "-n", "2", "--size", "400000", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    name = free_threaded.short_name
    assert [r["interpreter"] for r in rows] == [f"{name} GIL"] * 3 + [f"{name} no-GIL"] * 3
    assert [r["gil_enabled"] for r in rows] == [True] * 3 + [False] * 3
    assert wait_no_tagged(tag) == []


def test_the_lab_client_refuses_a_gil_setting_that_is_not_on_or_off():
    with pytest.raises(ValueError, match="'on' or 'off'"):
        LabClient(gil="1")


# --- pinning -------------------------------------------------------------------


@pytest.mark.e2e
def test_the_lab_says_why_it_cannot_pin(tag):
    """The CLI checks --cpus first; a LabClient given a core that is not
    there still fails at once, with the lab's reason."""
    client = LabClient(cpus=(4096,))
    with pytest.raises(LabError, match="cannot pin the lab to cores"):
        client.start()
    client.close()
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_processes_pinned_to_one_core_use_at_most_one(tag):
    core = min(os.sched_getaffinity(0))
    with Session(cpus=(core,)) as session:
        r = session.run(RunRequest(workload="count", strategy="processes", workers=2, size=20_000_000))
        assert psutil.Process(session.lab.pid).cpu_affinity() == [core]
    assert r.errors == () and r.units == 20_000_000
    assert r.cores_used <= 1.1, r.cores_used
    assert wait_no_tagged(tag) == []


@pytest.mark.e2e
def test_cli_cpus_pins_the_run(tag):
    core = str(min(os.sched_getaffinity(0)))
    out = gilviz("run", "-s", "processes", "-n", "2", "--size", "4000000", "--cpus", core, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cores_used"] <= 1.1
    assert wait_no_tagged(tag) == []


def test_the_app_takes_gil_as_a_lab_setting_not_as_the_environment(monkeypatch, free_threaded):
    """``gilviz --python 3.13t --gil off`` starts the app with the GIL off in
    its lab settings; PYTHON_GIL is not written into gilviz's own
    environment, where it would reach every later lab (i to a GIL build of
    3.13 would then refuse to start)."""
    import gilviz.ui.app as app_module
    from gilviz.cli import main

    monkeypatch.delenv("PYTHON_GIL", raising=False)
    seen = {}
    monkeypatch.setattr(app_module, "run_app", lambda request, **kw: seen.update(kw) or 0)
    assert main(["--python", free_threaded.path, "--gil", "off"]) == 0
    assert seen["gil"] == "off" and seen["python"] == free_threaded.path
    assert "PYTHON_GIL" not in os.environ
    app = app_module.GilvizApp(python=free_threaded.path, gil="off")
    assert (app.lab_settings.python, app.lab_settings.gil) == (free_threaded.path, "off")
