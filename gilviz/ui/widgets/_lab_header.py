"""LabHeader: which Python the lab runs, and what the next run will do."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gilviz.engine.model import LabInfo, RunRequest
from gilviz.engine.workloads import spec


def format_interval(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    ms = seconds * 1000
    return f"{ms:g} ms" if ms >= 1 else f"{ms * 1000:g} µs"


class LabHeader(Static):
    DEFAULT_CSS = """
    LabHeader {
        height: 2;
    }
    """

    def show(self, info: LabInfo | None, mode: RunRequest, switch_interval_s: float | None, status: Text | str) -> None:
        lab = Text()
        lab.append(" gilviz ", "bold #101010 on #ffd23f")
        lab.append("  ")
        if info is None:
            lab.append("starting the lab…", "#9a9a9a")
        else:
            lab.append(f"{info.implementation} {info.python}", "bold")
            lab.append("  ·  ", "#9a9a9a")
            if info.gil_enabled:
                lab.append("GIL enabled", "bold #ffd23f")
            else:
                lab.append("GIL disabled (free-threaded)", "bold #3ddc84")
            lab.append("  ·  ", "#9a9a9a")
            lab.append(f"{info.cpu_count} cores", "bold")
        lab.append("  ·  ", "#9a9a9a")
        lab.append("switch interval ", "#9a9a9a")
        lab.append(format_interval(switch_interval_s), "bold")
        line2 = Text(" ")
        line2.append(mode.workload, "bold #82aaff")
        line2.append(" × ", "#9a9a9a")
        line2.append(mode.strategy, "bold #82aaff")
        line2.append(" × ", "#9a9a9a")
        workers = 1 if mode.strategy == "sequential" else mode.workers
        line2.append(f"{workers} worker{'s' if workers != 1 else ''}", "bold #82aaff")
        if mode.strategy == "sequential" and not spec(mode.workload).io_bound:
            line2.append(f" ({mode.workers} chunks)", "#9a9a9a")
        if "lock" in spec(mode.workload).options:
            line2.append("  ·  lock ", "#9a9a9a")
            line2.append("on" if mode.lock else "off", "bold #3ddc84" if mode.lock else "bold #ff8c1a")
            line2.append("  ·  ", "#9a9a9a")
            line2.append("counter += 1" if mode.race_style == "plain" else "read, call, write", "bold #e8e8e8")
        line2.append("   ")
        line2.append_text(status if isinstance(status, Text) else Text(status))
        self.update(Text("\n").join([lab, line2]))
