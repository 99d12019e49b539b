"""Everything gilviz writes about measured runs, for people and for programs.

- ``text``: the summary of one run, the table of a compare (what the CLI prints);
- ``markdown``: the compare scoreboard as a Markdown table, for slides;
- ``records``: JSON objects, lists and JSON Lines of ``RunResult``s;
- ``trace``: a run as a Chrome Trace Event Format file (Perfetto);
- ``files``: writing a new file, never over an existing one unless forced,
  or under a fresh name in a folder.

No module here imports a UI library: the headless CLI and the app share them.
"""

from __future__ import annotations

from .files import fresh_path, write_fresh_file, write_new_file
from .markdown import compare_markdown
from .records import append_json_lines, compare_json, run_json
from .text import compare_table, run_summary
from .trace import chrome_trace, trace_file_stem, write_trace, write_trace_in_folder

__all__ = [
    "append_json_lines",
    "chrome_trace",
    "compare_json",
    "compare_markdown",
    "compare_table",
    "fresh_path",
    "run_json",
    "run_summary",
    "trace_file_stem",
    "write_fresh_file",
    "write_new_file",
    "write_trace",
    "write_trace_in_folder",
]
