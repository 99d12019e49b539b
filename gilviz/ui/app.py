"""GilvizApp: the live stage. Lanes, core meters, scoreboard, explainer, keys.

The workers run in the lab, another process, driven by a
:class:`~gilviz.engine.session.Session` from one Textual thread worker. The
session's per-tick callback only writes into :class:`~gilviz.ui.timeline.LiveRun`
(fixed-size rings); a timer draws the latest state about ten times a second.
Only coarse events (lab ready, run began, run ended, failure) are posted as
messages. So the UI never waits on the workers and its cost does not grow
with the number of samples.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from typing import Callable, Iterable

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from gilviz.engine.model import MAX_WORKERS, MIN_WORKERS, STRATEGIES, LabInfo, RunRequest, RunResult
from gilviz.engine.session import RunFailed, default_workers
from gilviz.engine.workloads import WORKLOADS, spec

from .messages import LabFailed, LabReady, RunBegan, RunEnded, RunIdle
from .screens import HelpScreen
from .timeline import LiveRun
from .widgets import CoreMeters, Explainer, LabHeader, Lanes, Scoreboard

#: Frames per second of the drawing timer.
DRAW_HZ = 10
#: The switch intervals ``[`` and ``]`` step through (seconds): about halving and doubling.
SWITCH_LADDER = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
DEFAULT_SWITCH_S = 0.005
#: Below this (columns, rows) the panels cannot be read: a message says so.
MIN_SIZE = (60, 16)

_WORKLOAD = Binding.Group("workload", compact=True)
_STRATEGY = Binding.Group("strategy", compact=True)
_WORKERS = Binding.Group("workers", compact=True)
_SWITCH = Binding.Group("switch", compact=True)


def _step_switch(current: float, up: bool) -> float:
    if up:
        for value in SWITCH_LADDER:
            if value > current * 1.0001:
                return value
        return SWITCH_LADDER[-1]
    for value in reversed(SWITCH_LADDER):
        if value < current * 0.9999:
            return value
    return SWITCH_LADDER[0]


class GilvizApp(App[int]):
    """See the GIL: run a workload under a strategy and watch the workers."""

    CSS_PATH = "gilviz.tcss"
    TITLE = "gilviz"
    # below MIN_SIZE: -too-narrow / -too-short, and a message instead of the panels
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_SIZE[0], "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_SIZE[1], "-short"), (40, "-tall")]

    BINDINGS = [
        Binding("enter,space", "run", "Run", key_display="⏎", tooltip="Start a run of the mode on screen"),
        Binding("x,escape", "stop", "Stop", tooltip="Stop the run (the workers finish their chunk and exit)"),
        Binding("v", "compare", "Compare", tooltip="Run sequential, threads, processes in turn; fill the scoreboard"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key, and what the glyphs mean"),
        *[Binding(w.key, f"workload('{w.name}')", w.name, group=_WORKLOAD, tooltip=f"Workload: {w.title}")
          for w in WORKLOADS.values()],
        Binding("s", "strategy('sequential')", "seq", group=_STRATEGY, tooltip="Strategy: one worker does every task in turn"),
        Binding("t", "strategy('threads')", "threads", group=_STRATEGY, tooltip="Strategy: one thread per worker, sharing one GIL"),
        Binding("p", "strategy('processes')", "procs", group=_STRATEGY, tooltip="Strategy: one process per worker, a GIL each"),
        Binding("plus,equals_sign", "workers(1)", "+1", key_display="+", group=_WORKERS, tooltip="One more worker"),
        Binding("minus", "workers(-1)", "-1", key_display="-", group=_WORKERS, tooltip="One worker fewer"),
        Binding("left_square_bracket", "switch(-1)", "½", key_display="[", group=_SWITCH, tooltip="Halve the switch interval"),
        Binding("right_square_bracket", "switch(1)", "×2", key_display="]", group=_SWITCH, tooltip="Double the switch interval (100 ms shows the GIL's baton)"),
        Binding("l", "lock", "Lock", tooltip="Race: take a lock around read and write, or not"),
        Binding("k", "race_style", "+=1", tooltip="Race: the seed notes' plain 'counter += 1' (no call between read and write), or read-call-write"),
        Binding("e", "export_trace", "Trace", tooltip="Export the last run as a Chrome trace (Perfetto, chrome://tracing)"),
        Binding("ctrl+s", "save_svg", "SVG", tooltip="Save an SVG screenshot of the screen"),
        Binding("q", "quit", "Quit", tooltip="Quit (stops the run, ends the lab)"),
        # on stage, Ctrl+C means stop everything and leave, as in any terminal program
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    #: Actions offered in the command palette, with their titles.
    PALETTE = [
        ("Run", "run"),
        ("Stop the run", "stop"),
        ("Compare sequential, threads, processes", "compare"),
        *[(f"Workload: {w}", f"workload('{w}')") for w in WORKLOADS],
        *[(f"Strategy: {s}", f"strategy('{s}')") for s in STRATEGIES],
        ("More workers", "workers(1)"),
        ("Fewer workers", "workers(-1)"),
        ("Halve the switch interval", "switch(-1)"),
        ("Double the switch interval", "switch(1)"),
        ("Toggle the lock (race)", "lock"),
        ("Race: plain counter += 1, or read-call-write", "race_style"),
        ("Export the last run as a Chrome trace", "export_trace"),
        ("Save an SVG screenshot", "save_svg"),
        ("Help: every key", "help"),
    ]

    def __init__(
        self,
        request: RunRequest | None = None,
        session_factory: Callable[[], object] | None = None,
        python: str | None = None,
        screenshot_dir: str | None = None,
        draw_hz: float = DRAW_HZ,
    ) -> None:
        super().__init__()
        if session_factory is None:
            from gilviz.engine.session import Session

            session_factory = partial(Session, python)
        self.session_factory = session_factory
        self.session = None
        self.mode: RunRequest = request or RunRequest()
        self.lab: LabInfo | None = None
        self.live = LiveRun()
        self.running = False  # a run's thread is going
        self.stopping = False  # ... and was asked to stop
        self.comparing = False
        self.run_after_stop = False
        self.failure: str | None = None
        self.last_result: RunResult | None = None
        self.screenshot_dir = screenshot_dir or os.getcwd()
        self.draw_hz = draw_hz
        self._drawn = (-1, -1)
        self._header_status: Text | None = None
        self._session_closed = False

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: the help screen or the palette may be on top
        # when a frame is drawn, and ``query_one`` looks at the top screen.
        self.header = LabHeader(id="header")
        self.lanes = Lanes(id="lanes")
        self.lanes.border_title = "Lanes"
        self.meters = CoreMeters(id="meters")
        self.meters.border_title = "CPU"
        self.scoreboard = Scoreboard(id="scoreboard")
        self.scoreboard.border_title = "Scoreboard"
        self.explainer = Explainer(id="explainer")
        yield self.header
        with Horizontal(id="stage"):
            yield self.lanes
            yield self.meters
        yield self.scoreboard
        yield self.explainer
        yield Static(
            f"gilviz needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]}: make this one larger "
            "(q quits). Runs go on meanwhile.",
            id="too-small",
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.session = self.session_factory()
        self.lanes.period_s = getattr(self.session, "period_s", None)
        self.show_mode()
        self.draw(force=True)
        self.set_interval(1 / self.draw_hz, self.draw)
        self.load_lab()
        # built once, now: opening help mid-run then costs one frame, not a compose
        self.install_screen(HelpScreen(list(self.BINDINGS)), name="help")

    def on_lanes_scrolled(self, message: Lanes.Scrolled) -> None:
        self.draw(force=True)

    def on_resize(self) -> None:
        footer = self.query(Footer)
        if footer:
            footer.first().show_command_palette = self.size.width >= 120
        self.call_after_refresh(self.draw, True)

    def on_unmount(self) -> None:
        self.close_session()

    def on_exit_app(self) -> None:
        """However the app is told to exit (``q``, a browser tab closed under
        ``gilviz serve``, SIGTERM to the web driver), end the lab now: the
        thread following the run must return before the app can finish."""
        self.close_session()

    def close_session(self) -> None:
        """Stop the run and end the lab. Safe to call more than once."""
        if self._session_closed or self.session is None:
            return
        self._session_closed = True
        try:
            self.session.cancel()
        finally:
            self.session.close()

    # -- drawing ----------------------------------------------------------------

    def switch_interval(self) -> float | None:
        if self.mode.switch_interval_s is not None:
            return self.mode.switch_interval_s
        return self.lab.switch_interval_s if self.lab is not None else None

    def status(self) -> Text:
        view_t = self.live.view(0).t_s if self.running else None
        if self.failure:
            return Text(f"✗ {self.failure}", "bold #ff4a4a")
        if self.stopping:
            return Text("■ stopping…", "bold #ff8c1a")
        if self.running:
            # The elapsed time is drawn by the lanes (cheap); the header only
            # changes on coarse events, since updating it costs a layout pass.
            what = "comparing" if self.comparing else "running"
            t = "" if view_t is not None else " (starting workers)"
            return Text(f"● {what}{t}   x to stop", "bold #3ddc84")
        if self.last_result is not None and not self.last_result.cancelled:
            r = self.last_result
            return Text(f"✓ {r.workload} × {r.strategy} took {r.wall_s:.2f} s   ⏎ run again", "#3ddc84")
        if self.lab is None:
            return Text("starting the lab…", "#9a9a9a")
        return Text("ready: press ⏎ to run, ? for help", "bold #ffd23f")

    def hint(self) -> str:
        workers = "1 worker" if self.mode.strategy == "sequential" else f"{self.mode.workers} {self.mode.strategy}"
        return (
            f"Press Enter to run {self.mode.workload} with {workers}. "
            "v compares sequential, threads and processes; ? lists every key."
        )

    def draw(self, force: bool = False) -> None:
        """Paint the latest measurements: at most one frame per timer tick."""
        if not self.is_mounted or not self.lanes.is_mounted or not self.screen_stack:
            return
        lanes = self.lanes
        visible = lanes.visible_lanes()
        key = (self.live.version, lanes.size.width, visible)
        if key == self._drawn and not force:
            return
        self._drawn = key
        view = self.live.view(lanes.columns.timeline_w, visible)
        workload = view.started.request.workload if view.started is not None else self.mode.workload
        with self.batch_update():
            lanes.show(view if view.started is not None else None, workload, self.hint())
            finished = self.last_result if not self.running and self.last_result and not self.last_result.cancelled else None
            self.meters.show(view, self.lab.cpu_count if self.lab else None, finished.cores_used if finished else None)
            if self.status() != self._header_status:  # a header update costs a layout pass
                self.show_header()

    def show_header(self) -> None:
        self._header_status = self.status()
        self.header.show(self.lab, self.mode, self.switch_interval(), self._header_status)

    def show_mode(self) -> None:
        """The mode or the state changed: header, explainer, keys."""
        if not self.screen_stack:  # a late message while the app shuts down
            return
        self.show_header()
        self.explainer.show(
            self.mode.workload, self.mode.strategy, self.mode.lock, self.lab.gil_enabled if self.lab else None,
            self.mode.race_style,
        )
        if not self.running:
            self.lanes.show(self.lanes.view, self.lanes.view.started.request.workload if self.lanes.view and self.lanes.view.started else self.mode.workload, self.hint())
        self.refresh_bindings()

    # -- the lab, in a thread ---------------------------------------------------

    @work(thread=True, group="lab", exit_on_error=False)
    def load_lab(self) -> None:
        try:
            self.post_message(LabReady(self.session.info()))
        except Exception as exc:  # the app stays usable; the next run retries
            self.post_message(LabFailed(f"the lab did not start: {exc}"))

    @work(thread=True, group="run", exit_on_error=False)
    def run_in_lab(self, request: RunRequest, compare: bool) -> None:
        session = self.session

        def on_started(started) -> None:
            self.live.start(started)
            self.post_message(RunBegan(started))

        def on_result(result: RunResult) -> None:
            self.post_message(RunEnded(result, request.urls))

        try:
            if compare:
                session.compare(request, on_result=on_result, on_started=on_started, on_tick=self.live.feed)
            else:
                result = session.run(request, on_started=on_started, on_tick=self.live.feed)
                on_result(result)
        except RunFailed as exc:
            self.post_message(LabFailed(str(exc)))
        except Exception as exc:  # a bug must not leave the app stuck "running"
            self.post_message(LabFailed(f"{type(exc).__name__}: {exc}"))
        finally:
            self.live.finish()
            self.post_message(RunIdle())

    # -- messages from the run's thread -----------------------------------------

    def on_lab_ready(self, message: LabReady) -> None:
        self.lab = message.info
        if self.failure and self.failure.startswith("the lab did not start"):
            self.failure = None
        self.show_mode()
        self.draw(force=True)

    def on_run_began(self, message: RunBegan) -> None:
        self.lab = message.started.lab
        self.lanes.first_lane = 0
        self.show_mode()
        self.draw(force=True)

    def on_run_ended(self, message: RunEnded) -> None:
        result = message.result
        self.last_result = result
        if not result.cancelled:
            self.scoreboard.add_result(result, message.urls)
        if result.errors and not result.cancelled:
            self.failure = f"{len(result.errors)} error(s): {result.errors[0]}"
            self.notify(result.errors[0], title="A worker failed", severity="error", timeout=6)
        self.draw(force=True)
        self.show_mode()

    def on_lab_failed(self, message: LabFailed) -> None:
        self.failure = message.message
        self.notify(message.message, title="The lab failed", severity="error", timeout=8)
        self.show_mode()

    def on_run_idle(self, message: RunIdle) -> None:
        self.running = self.stopping = self.comparing = False
        self.draw(force=True)
        self.show_mode()
        if self.run_after_stop:
            self.run_after_stop = False
            self.action_run()

    # -- actions ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim (None) the keys that would do nothing now."""
        busy = self.running and not self.stopping
        if action in ("run", "compare"):
            return None if busy else True
        if action == "stop":
            return True if busy else None
        if action == "workload":
            return None if parameters and parameters[0] == self.mode.workload else True
        if action == "strategy":
            return None if parameters and parameters[0] == self.mode.strategy else True
        if action == "workers":
            delta = int(parameters[0]) if parameters else 1
            n = self.mode.workers + delta
            return True if MIN_WORKERS <= n <= MAX_WORKERS else None
        if action == "switch":
            up = bool(parameters) and int(parameters[0]) > 0
            current = self.switch_interval() or DEFAULT_SWITCH_S
            return True if _step_switch(current, up) != current else None
        if action in ("lock", "race_style"):
            return True if action in spec(self.mode.workload).options else None
        if action == "export_trace":
            return True if self.last_result is not None and self.last_result.ticks else None
        return True

    def _start(self, compare: bool) -> None:
        if self.session is None:
            return
        self.running = True
        self.comparing = compare
        self.stopping = False
        self.failure = None
        self.run_in_lab(self.mode, compare)
        self.show_mode()

    def action_run(self) -> None:
        if self.running:
            if self.stopping:  # a mode change is stopping the last run: run when it has
                self.run_after_stop = True
            return
        self._start(compare=False)

    def action_compare(self) -> None:
        if self.running:
            return
        self._start(compare=True)

    def action_stop(self) -> None:
        if not self.running or self.stopping:
            return
        self.stopping = True
        self.run_after_stop = False
        self.session.cancel()
        self.show_mode()

    def _change(self, **changes) -> None:
        """Change the mode; a run going on is stopped first."""
        new = replace(self.mode, **changes)
        if new == self.mode:
            return
        if self.running and not self.stopping:
            self.action_stop()
        self.mode = new
        self.show_mode()

    def action_workload(self, workload: str) -> None:
        if workload in WORKLOADS:
            changes = {"workload": workload}
            # a worker count left at its default follows the workload's default
            # (fetch: one thread per URL, so the waits overlap in one latency)
            if self.mode.workers == default_workers(self.mode.workload, self.mode.urls):
                changes["workers"] = default_workers(workload, self.mode.urls)
            self._change(**changes)

    def action_strategy(self, strategy: str) -> None:
        if strategy in STRATEGIES:
            self._change(strategy=strategy)

    def action_workers(self, delta: int) -> None:
        n = max(MIN_WORKERS, min(MAX_WORKERS, self.mode.workers + int(delta)))
        self._change(workers=n)

    def action_switch(self, direction: int) -> None:
        current = self.switch_interval() or DEFAULT_SWITCH_S
        self._change(switch_interval_s=_step_switch(current, int(direction) > 0))

    def action_lock(self) -> None:
        if "lock" in spec(self.mode.workload).options:
            self._change(lock=not self.mode.lock)

    def action_race_style(self) -> None:
        if "race_style" in spec(self.mode.workload).options:
            self._change(race_style="plain" if self.mode.race_style == "call" else "call")

    def action_export_trace(self) -> None:
        """Write the last run as a Chrome trace, next to the screenshots; a
        new file each time, never over an existing one."""
        import time as _time

        from gilviz.engine.trace import write_trace

        r = self.last_result
        if r is None or not r.ticks:
            return
        folder = self.screenshot_dir or os.getcwd()
        stamp = _time.strftime("%Y%m%d-%H%M%S")
        name = f"gilviz-{r.workload}-{r.strategy}-{r.workers}-{stamp}"
        for n in range(100):
            path = os.path.join(folder, f"{name}{f'-{n}' if n else ''}.json")
            try:
                where = write_trace(r, path)
            except FileExistsError:
                continue
            except OSError as exc:
                self.notify(f"{exc.strerror}: {path}", title="Trace not saved", severity="error", timeout=8)
                return
            self.notify(f"{where}\nopen it in https://ui.perfetto.dev", title="Trace saved", timeout=8)
            return

    def action_save_svg(self) -> None:
        path = self.save_screenshot(path=self.screenshot_dir)
        self.notify(path, title="Screenshot saved", timeout=6)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen("help")

    async def action_quit(self) -> None:
        if self.session is not None:
            self.session.cancel()
        self.exit(0)

    # -- command palette --------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, action in self.PALETTE:
            name, _, args = action.partition("(")
            params = tuple(a.strip("'\" ") for a in args.rstrip(")").split(",")) if args else ()
            if self.check_action(name, params) is not True:
                continue
            help_text = next((b.tooltip for b in self.BINDINGS if b.action == action), "") or title
            yield SystemCommand(title, help_text, partial(self.run_action, action))


def run_app(request: RunRequest, python: str | None = None) -> int:
    """Run the app until the user quits; the lab and its workers end with it."""
    app = GilvizApp(request, python=python)
    try:
        app.run()
    finally:
        app.close_session()
    return app.return_code or 0
