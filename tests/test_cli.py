"""The headless command line, as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import tagged_processes, wait_no_tagged

GILVIZ = [sys.executable, "-m", "gilviz"]


def gilviz(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*GILVIZ, *args], capture_output=True, text=True, timeout=timeout)


def test_run_json_has_the_documented_fields(tag):
    out = gilviz("run", "--workload", "count", "--strategy", "threads", "--workers", "2", "--size", "400000", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    for key in ("workload", "strategy", "workers", "wall_s", "cpu_s", "cores_used", "python",
                "gil_enabled", "switch_interval_s", "errors", "worker_results", "units"):
        assert key in d
    assert (d["workload"], d["strategy"], d["workers"], d["units"]) == ("count", "threads", 2, 400_000)
    assert d["python"] == ".".join(map(str, sys.version_info[:3]))
    assert d["gil_enabled"] is getattr(sys, "_is_gil_enabled", lambda: True)()
    assert d["errors"] == []
    assert wait_no_tagged(tag) == []


def test_race_json_reports_expected_actual_lost(tag):
    out = gilviz("run", "-w", "race", "-s", "processes", "-n", "2", "--size", "20000", "--lock", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert (d["expected"], d["actual"], d["lost"]) == (20_000, 20_000, 0)
    assert d["lock"] is True


def test_run_summary_is_readable():
    out = gilviz("run", "-w", "race", "-n", "2", "--size", "10000", "--lock")
    assert out.returncode == 0, out.stderr
    assert "race · threads · 2 workers" in out.stdout
    assert "expected 10,000, actual 10,000, lost 0" in out.stdout
    assert "cores used" in out.stdout


def test_compare_json_is_sequential_threads_processes_with_speedups(tag):
    out = gilviz("compare", "-w", "hash", "-n", "2", "--size", "16", "--json")
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert [r["strategy"] for r in runs] == ["sequential", "threads", "processes"]
    assert runs[0]["speedup"] == pytest.approx(1.0)
    for r in runs:
        assert r["speedup"] == pytest.approx(runs[0]["wall_s"] / r["wall_s"])
        assert r["units"] == 16  # MiB, as --size counts them
    assert wait_no_tagged(tag) == []


def test_compare_table():
    out = gilviz("compare", "-w", "count", "-n", "2", "--size", "300000")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.strip().startswith("sequential") for line in lines)
    assert "<- fastest" in out.stdout
    assert "speedup" in out.stdout


def test_compare_by_lock_runs_the_race_without_then_with_the_lock(tag):
    """The same increments under threads, unlocked then locked; the locked
    run loses nothing; the table and the Markdown say which run had the lock."""
    out = gilviz("compare", "-w", "race", "--by", "lock", "-n", "3", "--size", "200000", "--json")
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert [(r["strategy"], r["lock"]) for r in runs] == [("threads", False), ("threads", True)]
    assert [r["expected"] for r in runs] == [200_000, 200_000]
    assert runs[1]["lost"] == 0
    assert runs[1]["speedup"] == pytest.approx(runs[0]["wall_s"] / runs[1]["wall_s"])
    table = gilviz("compare", "-w", "race", "--by", "lock", "-n", "3", "--size", "200000")
    rows = [line.split() for line in table.stdout.splitlines() if line.strip().startswith("threads")]
    assert [row[:2] for row in rows] == [["threads", "off"], ["threads", "on"]]
    assert "speedup: against the run without the lock" in table.stdout
    md = gilviz("compare", "-w", "race", "--by", "lock", "-n", "3", "--size", "200000", "--markdown")
    assert "| strategy | lock | workers |" in md.stdout
    rows = [line for line in md.stdout.splitlines() if "threads" in line]
    assert ["| off |" in rows[0], "| on |" in rows[1]] == [True, True]
    assert wait_no_tagged(tag) == []


def test_a_reader_that_goes_away_is_not_an_error(tag):
    """``gilviz run | head``: the reader closes the pipe before gilviz writes;
    no traceback, a clean exit."""
    proc = subprocess.Popen([*GILVIZ, "run", "-w", "count", "-n", "2", "--size", "200000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # gone before the summary is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert wait_no_tagged(tag) == []


def test_fetch_against_the_embedded_server_by_default():
    out = gilviz("run", "-w", "fetch", "--latency", "0.05", "--size", "1000", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["workers"] == 6 and d["units"] == 6_000 and d["errors"] == []


def test_a_refused_url_is_listed_and_the_run_completes(refused_url):
    out = gilviz("run", "-w", "fetch", "--url", refused_url, "--timeout", "5", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert len(d["errors"]) == 1 and "connection failed" in d["errors"][0]


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--url", "ftp://example.org/file"], "only http:// and https://"),
        (["run", "--url", "file:///etc/passwd"], "only http:// and https://"),
        (["run", "--url", "javascript:alert(1)"], "only http:// and https://"),
        (["run", "--url", "http://"], "has no host"),
        (["run", "--workers", "0"], "1 to 256"),
        (["run", "--workers", "257"], "1 to 256"),
        (["run", "--workers", "many"], "not a whole number"),
        (["run", "--switch-interval", "0"], "switch interval"),
        (["run", "--switch-interval", "nan"], "switch interval"),
        (["run", "--latency", "-1"], "latency"),
        (["run", "--size", "0"], "at least 1"),
        (["run", "-w", "fetch", "--size", "999999999999"], "too large"),
        (["run", "-w", "count", "--url", "http://127.0.0.1/"], "only applies to the fetch"),
        (["run", "--workload", "sleep"], "invalid choice"),
        (["run", "--python", "/nonexistent/python"], "not an executable"),
        (["compare", "--url", "gopher://x"], "only http:// and https://"),
        (["run", "-w", "count", "-s", "asyncio"], "awaits I/O"),
        (["run", "-w", "race", "--strategy", "asyncio"], "does not run with --strategy asyncio"),
        (["--theme", "neon"], "unknown theme 'neon'; the themes are: gilviz, textual-dark, textual-light"),
        (["serve", "--theme", "neon"], "unknown theme 'neon'"),
        (["compare", "-w", "count", "--by", "lock"], "count has no lock to compare; only race has"),
        (["compare", "-w", "race", "--by", "lock", "--lock"], "leave out --lock"),
        (["compare", "-w", "race", "--by", "colour"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_starts_nothing(tag, args, message):
    out = gilviz(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""
    assert tagged_processes(tag) == []


def test_serve_passes_the_theme_to_each_app():
    from gilviz.cli import app_command, build_parser

    assert "--theme textual-light" in app_command(build_parser().parse_args(["serve", "--theme", "textual-light"]))
    assert "--theme" not in app_command(build_parser().parse_args(["serve"]))  # the app's default: gilviz


def test_help_explains_the_options():
    for args in ([], ["run"], ["compare"]):
        out = gilviz(*args, "--help")
        assert out.returncode == 0
        assert "--workers" in out.stdout and "--switch-interval" in out.stdout
    assert "releases the GIL" in gilviz("run", "--help").stdout


def test_a_lab_under_a_missing_interpreter_is_a_clear_failure(tmp_path):
    # it passes gilviz's interpreter check (see tests/test_interpreters.py for
    # what fails it), then the lab itself does not start
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" = -c ]; then echo 'GILVIZ-PROBE {\"version\": [3, 11, 0], \"implementation\": \"cpython\", "
        "\"free_threaded\": false, \"gil_enabled\": true, \"requests\": true}'; exit 0; fi\n"
        "echo 'not python' >&2\nexit 3\n"
    )
    fake.chmod(0o755)
    out = gilviz("run", "--python", str(fake), "--size", "1000")
    assert out.returncode == 1
    assert "the lab" in out.stderr and "did not start" in out.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_run_stops_everything(tag, sig):
    proc = subprocess.Popen(
        [*GILVIZ, "run", "-w", "count", "-s", "processes", "-n", "3", "--size", "5000000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # wait for the lab and its three workers to be up
    deadline = time.monotonic() + 60
    while len(tagged_processes(tag)) < 5:  # gilviz, lab, 3 workers
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert wait_no_tagged(tag) == []


def test_a_killed_gilviz_takes_its_lab_and_workers_along(tag):
    """SIGKILL cannot be caught: the lab notices its stdin closing, the
    workers notice their parent is gone."""
    proc = subprocess.Popen(
        [*GILVIZ, "run", "-w", "count", "-s", "processes", "-n", "2", "--size", "5000000000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(tagged_processes(tag)) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert wait_no_tagged(tag) == []


def test_python_dash_m_and_the_console_script_agree():
    out = subprocess.run(["gilviz", "--version"], capture_output=True, text=True)
    if out.returncode != 0 and "not found" in out.stderr:
        pytest.skip("console script not installed")
    assert out.stdout == gilviz("--version").stdout


def test_compare_repeat_reports_the_median_pass_and_every_wall_time(tag):
    out = gilviz("compare", "-w", "count", "-n", "2", "--size", "300000", "--repeat", "3", "--json")
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)
    assert [r["strategy"] for r in runs] == ["sequential", "threads", "processes"]
    for r in runs:
        walls = r["repeat_walls_s"]
        assert len(walls) == 3 and r["wall_s"] == sorted(walls)[1]
        assert r["speedup"] == pytest.approx(runs[0]["wall_s"] / r["wall_s"])
    table = gilviz("compare", "-w", "count", "-n", "2", "--size", "300000", "--repeat", "2")
    assert "median s" in table.stdout and "wall range s" in table.stdout and "2 passes, interleaved" in table.stdout
    assert wait_no_tagged(tag) == []


@pytest.mark.parametrize("value", ["0", "-1", "51", "two", "1.5"])
def test_compare_repeat_refuses_bad_counts(value):
    out = gilviz("compare", "--repeat", value)
    assert out.returncode == 2 and "--repeat" in out.stderr
