"""Exports: Chrome trace files, JSON Lines results, Markdown scoreboards."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from gilviz.engine.model import RunRequest
from gilviz.export.files import fresh_path, write_fresh_file, write_new_file
from gilviz.export.trace import chrome_trace, trace_file_stem, write_trace, write_trace_in_folder

REQUIRED = {"name", "ph", "pid", "tid"}


def check_trace(doc: dict) -> None:
    """Validate against the Trace Event Format's rules that viewers rely on."""
    assert isinstance(doc["traceEvents"], list) and doc["traceEvents"]
    last_ts: dict[tuple, float] = {}
    for e in doc["traceEvents"]:
        assert e.keys() >= REQUIRED, e
        assert e["ph"] in {"M", "X", "C"}
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "M":
            assert "args" in e
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] > 0
        if e["ph"] == "C":
            assert all(isinstance(v, (int, float)) for v in e["args"].values())
        key = (e["pid"], e["tid"], e["ph"], e["name"] if e["ph"] == "C" else "")
        assert e["ts"] >= last_ts.get(key, 0), f"timestamps go back on {key}"
        last_ts[key] = e["ts"]


@pytest.mark.parametrize("strategy", ["threads", "processes"])
def test_trace_of_a_real_run_is_valid_and_has_a_track_per_worker(session, strategy):
    result = session.run(RunRequest(workload="count", strategy=strategy, workers=3, size=6_000_000))
    doc = json.loads(json.dumps(chrome_trace(result)))
    check_trace(doc)
    names = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert len(names) == 3 and all(f"{'tid' if strategy == 'threads' else 'pid'} " in n for n in names)
    slices = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert {(e["pid"], e["tid"]) for e in slices} == {
        (e["pid"], e["tid"]) for e in doc["traceEvents"] if e["name"] == "thread_name"
    }
    assert sum(e["args"]["iterations"] for e in slices) == result.units
    counters = [e for e in doc["traceEvents"] if e["ph"] == "C" and e["name"] == "cores used"]
    assert len(counters) == len(result.ticks)
    assert doc["otherData"]["workload"] == "count"


def test_fetch_trace_shows_waiting(session):
    result = session.run(RunRequest(workload="fetch", strategy="threads", workers=2, size=1000, latency_s=0.3))
    doc = chrome_trace(result)
    check_trace(doc)
    names = [e["name"] for e in doc["traceEvents"] if e["ph"] == "X"]
    waiting = "waiting for the network" if result.states_measured else "waiting"
    assert waiting in names
    waits = [e for e in doc["traceEvents"] if e["name"] == waiting]
    assert max(e["dur"] for e in waits) >= 0.2e6  # the 0.3 s latency shows as waiting
    if result.states_measured:
        assert "waiting for the GIL" not in names


def test_trace_shows_the_gil_passed_like_a_baton(session):
    """Two counting threads at a 100 ms switch interval: each worker's track
    has stretches running and stretches waiting for the GIL, measured."""
    result = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=40_000_000,
                                    switch_interval_s=0.1))
    if not result.states_measured:
        pytest.skip("this kernel keeps no schedstat: the states are not measured")
    doc = chrome_trace(result)
    check_trace(doc)
    by_track: dict[tuple, set] = {}
    for e in doc["traceEvents"]:
        if e["ph"] == "X":
            by_track.setdefault((e["pid"], e["tid"]), set()).add(e["name"])
    assert len(by_track) == 2
    for names in by_track.values():
        assert {"running", "waiting for the GIL"} <= names, names


def test_write_trace_never_overwrites_silently(session, tmp_path):
    result = session.run(RunRequest(workload="count", strategy="sequential", workers=1, size=1000))
    path = tmp_path / "t.json"
    path.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_trace(result, str(path))
    assert path.read_text() == "keep me"
    write_trace(result, str(path), force=True)
    check_trace(json.loads(path.read_text()))


def test_write_trace_in_folder_picks_a_new_name_each_time(session, tmp_path):
    result = session.run(RunRequest(workload="count", strategy="threads", workers=2, size=1000))
    when = time.strptime("2026-03-01 09:30:05", "%Y-%m-%d %H:%M:%S")
    stem = trace_file_stem(result, when)
    assert stem == "gilviz-count-threads-2-20260301-093005"
    first = write_trace_in_folder(result, str(tmp_path), when)
    second = write_trace_in_folder(result, str(tmp_path), when)
    assert first == str(tmp_path / f"{stem}.json") and second == str(tmp_path / f"{stem}-1.json")
    check_trace(json.loads((tmp_path / f"{stem}-1.json").read_text()))


# --- the new-file helper -----------------------------------------------------------


def test_write_new_file_refuses_to_replace_a_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_new_file(str(path), "new")
    assert path.read_text() == "keep me"


def test_write_new_file_replaces_a_file_with_force(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old, and longer than the new text")
    assert write_new_file(str(path), "new", force=True) == str(path)
    assert path.read_text() == "new"


def test_write_new_file_writes_a_new_file_and_returns_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert write_new_file("out.txt", "é\n") == str(tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "é\n"


def test_write_new_file_says_when_the_folder_is_missing(tmp_path):
    path = tmp_path / "no" / "such" / "out.json"
    with pytest.raises(FileNotFoundError) as exc:
        write_new_file(str(path), "x")
    assert "does not exist" in exc.value.strerror and str(tmp_path / "no" / "such") in exc.value.strerror
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_fresh_file(str(tmp_path / "no"), "stem", ".json", "x")


def test_write_new_file_refuses_a_folder_even_with_force(tmp_path):
    with pytest.raises(IsADirectoryError, match="folder"):
        write_new_file(str(tmp_path), "x", force=True)


def test_fresh_names_skip_existing_files_and_folders(tmp_path):
    (tmp_path / "t.json").write_text("0")
    (tmp_path / "t-1.json").mkdir()
    assert fresh_path(str(tmp_path), "t", ".json") == str(tmp_path / "t-2.json")
    assert write_fresh_file(str(tmp_path), "t", ".json", "2") == str(tmp_path / "t-2.json")
    assert write_fresh_file(str(tmp_path), "t", ".json", "3") == str(tmp_path / "t-3.json")
    assert (tmp_path / "t.json").read_text() == "0" and (tmp_path / "t-3.json").read_text() == "3"


def test_fresh_names_give_up_clearly_when_all_are_taken(tmp_path):
    for name in ("t.json", "t-1.json", "t-2.json"):
        (tmp_path / name).write_text("taken")
    with pytest.raises(FileExistsError, match="numbered variants all exist"):
        write_fresh_file(str(tmp_path), "t", ".json", "x", tries=3)
    with pytest.raises(FileExistsError):
        fresh_path(str(tmp_path), "t", ".json", tries=3)


def gilviz(*args):
    return subprocess.run([sys.executable, "-m", "gilviz", *args], capture_output=True, text=True, timeout=120)


def test_cli_trace_and_results(tmp_path):
    trace, results = tmp_path / "run.json", tmp_path / "talk.jsonl"
    out = gilviz("run", "-w", "count", "-n", "2", "--size", "2000000", "--trace", str(trace), "--results", str(results))
    assert out.returncode == 0, out.stderr
    assert str(trace) in out.stderr
    check_trace(json.loads(trace.read_text()))
    out = gilviz("compare", "-w", "count", "-n", "2", "--size", "200000", "--results", str(results))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["strategy"] for r in lines] == ["threads", "sequential", "threads", "processes"]
    # an existing trace is not replaced without --force, and nothing runs
    out = gilviz("run", "--size", "1000", "--trace", str(trace))
    assert out.returncode == 2 and "already exists" in out.stderr and out.stdout == ""
    assert gilviz("run", "--size", "1000", "--trace", str(trace), "--force").returncode == 0
    out = gilviz("run", "--trace", str(tmp_path / "no" / "such" / "dir.json"))
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_compare_markdown_is_a_table():
    out = gilviz("compare", "-w", "race", "-n", "2", "--size", "20000", "--lock", "--markdown")
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| strategy | workers | wall (s)") and "lost updates" in rows[0]
    assert len(rows) == 5  # header, rule, three runs
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    assert sum("**" in row for row in rows[2:]) == 1  # the fastest is bold


def test_amounts_of_bytes_go_up_by_1024_and_other_units_take_a_scale():
    """A fast hash read "1.6 k MiB/s" on stage: bytes go up into GiB."""
    from gilviz.export.text import amount

    assert amount(1638.4, "MiB") == ("1.6", "GiB")
    assert amount(1024, "MiB") == ("1.0", "GiB")
    assert amount(1010, "MiB") == ("1010", "MiB")  # not "1.0 k MiB"
    assert amount(812.6, "MiB") == ("813", "MiB")
    assert amount(35_200_000, "iterations") == ("35.2 M", "iterations")
    assert amount(12, "requests") == ("12", "requests")
    assert amount(2_400_000, "bytes") == ("2.3", "MiB")
    assert amount(512, "bytes") == ("512", "bytes")
