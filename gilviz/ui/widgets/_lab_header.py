"""LabHeader: which Python the lab runs, and what the next run will do."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gilviz.engine.model import LabInfo, RunRequest
from gilviz.engine.workloads import spec

from ._still import StillLines


def format_interval(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    ms = seconds * 1000
    return f"{ms:g} ms" if ms >= 1 else f"{ms * 1000:g} µs"


class LabHeader(StillLines, Static):
    """Two lines: the lab, then the mode and the status. Colours from the
    stylesheet (``lab-header--*`` component classes)."""

    DEFAULT_CSS = """
    LabHeader {
        height: 2;
    }
    """

    COMPONENT_CLASSES = {
        "lab-header--badge",
        "lab-header--muted",
        "lab-header--strong",
        "lab-header--mode",
        "lab-header--gil-enabled",
        "lab-header--gil-disabled",
        "lab-header--on",
        "lab-header--off",
        # the status, after the mode
        "lab-header--failed",
        "lab-header--stopping",
        "lab-header--running",
        "lab-header--done",
        "lab-header--starting",
        "lab-header--ready",
    }

    #: the status styles made since the stylesheet last applied (see ``status``)
    _status_styles: dict[str, Style] | None = None

    def status(self, text: str, kind: str) -> Text:
        """``text`` styled as a status of ``kind`` (failed, stopping, running, done, starting, ready).

        The stage asks for the status every frame, to see whether it
        changed, and Textual makes a component style again after every
        refresh of the widget: the styles are kept here until the stylesheet
        next applies (a theme, a class). A profiler had that at 0.5-0.8 ms a
        frame; the frame's own CPU clock, in the app, shows no difference."""
        styles = self._status_styles
        if styles is None:
            styles = self._status_styles = {}
        style = styles.get(kind)
        if style is None:
            style = styles[kind] = self.get_component_rich_style(f"lab-header--{kind}")
        return Text(text, style)

    def notify_style_update(self) -> None:
        self._status_styles = None
        super().notify_style_update()

    #: the lab's line, longest first: (GIL on, GIL off, switch interval label, separator)
    LAB_FORMS = (
        ("GIL enabled", "GIL disabled (free-threaded)", "switch interval ", "  ·  "),
        ("GIL enabled", "GIL off (free-threaded)", "switch interval ", "  ·  "),
        ("GIL enabled", "GIL off (free-threaded)", "switch ", " · "),
        ("GIL on", "GIL off", "switch ", " · "),
    )

    _shown: tuple | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def _lab_line(self, info: LabInfo | None, switch_interval_s: float | None, form: tuple[str, ...]) -> Text:
        style = self.get_component_rich_style
        muted, strong = style("lab-header--muted"), style("lab-header--strong")
        gil_on, gil_off, switch, sep = form
        lab = Text()
        lab.append(" gilviz ", style("lab-header--badge"))
        lab.append("  ")
        if info is None:
            lab.append("starting the lab…", muted)
        else:
            lab.append(f"{info.implementation} {info.python}", strong)
            lab.append(sep, muted)
            if info.gil_enabled:
                lab.append(gil_on, style("lab-header--gil-enabled"))
            else:
                lab.append(gil_off, style("lab-header--gil-disabled"))
            lab.append(sep, muted)
            lab.append(f"{info.cpu_count} cores", strong)
        lab.append(sep, muted)
        lab.append(switch, muted)
        lab.append(format_interval(switch_interval_s), strong)
        return lab

    def show(self, info: LabInfo | None, mode: RunRequest, switch_interval_s: float | None, status: Text | str) -> None:
        self._shown = (info, mode, switch_interval_s, status)
        style = self.get_component_rich_style
        muted, strong, value = style("lab-header--muted"), style("lab-header--strong"), style("lab-header--mode")
        # each line on its line: at 80 columns a free-threaded lab's line
        # wrapped and pushed the mode and "running" out of the header
        width = self.content_size.width or 10_000
        for form in self.LAB_FORMS:
            lab = self._lab_line(info, switch_interval_s, form)
            if lab.cell_len <= width:
                break
        lab.truncate(width, overflow="ellipsis")
        line2 = Text(" ")
        line2.append(mode.workload, value)
        line2.append(" × ", muted)
        line2.append(mode.strategy, value)
        line2.append(" × ", muted)
        workers = 1 if mode.strategy == "sequential" else mode.workers
        line2.append(f"{workers} worker{'s' if workers != 1 else ''}", value)
        if mode.strategy == "sequential" and not spec(mode.workload).io_bound:
            line2.append(f" ({mode.workers} chunks)", muted)
        if "lock" in spec(mode.workload).options:
            line2.append("  ·  lock ", muted)
            line2.append("on" if mode.lock else "off", style("lab-header--on" if mode.lock else "lab-header--off"))
            line2.append("  ·  ", muted)
            line2.append("counter += 1" if mode.race_style == "plain" else "read, call, write", strong)
        status_text = status if isinstance(status, Text) else Text(status)
        # the convoy draws its I/O thread as lane 0, beside its workers' lanes:
        # said where it fits with the status (the status first, at 80 columns)
        io_thread = " + I/O thread" if spec(mode.workload).io_lane else ""
        if io_thread and line2.cell_len + len(io_thread) + 3 + status_text.cell_len <= width:
            line2.append(io_thread, muted)
        line2.append("   ")
        line2.append_text(status_text)
        # too long: drop whole parts from the end ("x to stop" is in the
        # footer too), never cut one to "x …"
        while line2.cell_len > width and (cut := line2.plain.rfind("   ")) > 0:
            line2.truncate(cut)
        line2.truncate(width, overflow="ellipsis")
        # two lines high whatever it says: no layout pass (one at every
        # status change cost 10-20 ms of the UI thread with 256 lanes)
        self.update(Text("\n").join([lab, line2]), layout=False)
