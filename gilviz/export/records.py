"""JSON records of runs: one object for ``run --json``, a list for
``compare --json``, and JSON Lines appended to a results file."""

from __future__ import annotations

import json
from typing import Iterable, Sequence

from ..engine.model import RunResult


def run_json(result: RunResult) -> str:
    """One run as an indented JSON object (``RunResult.to_dict``)."""
    return json.dumps(result.to_dict(), indent=2)


def compare_json(results: Iterable[RunResult], interpreters: Sequence[str] | None = None) -> str:
    """Several runs as an indented JSON list; with ``interpreters`` (a label
    per run, "3.13t no-GIL"), each object also has an "interpreter" key."""
    rows = [r.to_dict() for r in results]
    if interpreters is not None:
        rows = [dict(row, interpreter=label) for row, label in zip(rows, interpreters, strict=True)]
    return json.dumps(rows, indent=2)


def append_json_lines(path: str, results: Iterable[RunResult]) -> None:
    """Append each run to ``path`` as one JSON line; create the file if need be."""
    with open(path, "a", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.to_dict()) + "\n")
