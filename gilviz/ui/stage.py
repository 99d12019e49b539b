"""StageScreen: what the speaker sees and the keys that drive it.

The app (:mod:`gilviz.ui.app`) owns the session and the run's thread; this
screen owns the mode on screen, the phase of the run, the bindings and the
drawing. The phase and the mode are reactives with ``bindings=True``, so the
footer dims and undims its keys by itself when either changes.
"""

from __future__ import annotations

import enum
import os
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from gilviz.engine.model import ALL_STRATEGIES, MAX_WORKERS, MIN_WORKERS, RunRequest, RunResult, RunStarted, gil_between
from gilviz.engine.session import default_workers
from gilviz.engine.workloads import WORKLOADS, spec
from gilviz.export.text import amount

from ._frame import Frame
from .compare_board import CompareBoard, compare_by
from .footer import StageFooter, action_name, footer_actions, item_widths
from .screens import HelpScreen
from .timeline import HISTORY_CELLS, RunView
from .widgets import CoreMeters, Explainer, LabHeader, Lanes, LanesHeader, Legend, Presenter, Scoreboard
from .widgets._explainer import explanation, measured
from .widgets._still import StillLines

if TYPE_CHECKING:
    from .app import GilvizApp

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


W = TypeVar("W", bound=Widget)


class Phase(enum.Enum):
    """Where the stage is in the life of a run. One value instead of flags."""

    STARTING = "starting"  # the lab is not ready yet, nothing has run
    READY = "ready"  # idle, the last run (if any) went well
    RUNNING = "running"  # a run's thread is going
    COMPARING = "comparing"  # ... running sequential, threads, processes in turn
    STOPPING = "stopping"  # ... and was asked to stop
    STOPPING_TO_RUN = "stopping, then run"  # ... and ⏎ was pressed meanwhile: run when stopped
    FAILED = "failed"  # idle, and the lab or the last run failed (see ``failure``)

    @property
    def running(self) -> bool:
        """A run's thread is going (possibly stopping)."""
        return self in (Phase.RUNNING, Phase.COMPARING, Phase.STOPPING, Phase.STOPPING_TO_RUN)

    @property
    def busy(self) -> bool:
        """Running and not asked to stop: the run keys are dimmed, stop is not."""
        return self in (Phase.RUNNING, Phase.COMPARING)

    @property
    def stopping(self) -> bool:
        return self in (Phase.STOPPING, Phase.STOPPING_TO_RUN)


class Row(StillLines, Horizontal):
    """A row of panels, drawn again only when it changes (see StillLines)."""


class Pane(StillLines, Vertical):
    """A bordered panel's container, drawn again only when it changes (see StillLines)."""


class StageScreen(StillLines, Screen[None]):
    """Lanes, core meters, scoreboard, explainer and the keys."""

    BINDINGS = [
        Binding("enter,space", "run", "Run", key_display="⏎", tooltip="Start a run of the mode on screen"),
        Binding("x,escape", "stop", "Stop", tooltip="Stop the run (the workers finish their chunk and exit)"),
        Binding("v", "compare", "Compare",
                tooltip="Run sequential, threads, processes in turn (the race: without, then with the lock); "
                "fill the scoreboard"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key, and what the glyphs mean"),
        Binding("z", "presenter", "Presenter",
                tooltip="Presenter view: big figures for a projector, the lanes fill the rest; z again goes back"),
        *[Binding(w.key, f"workload('{w.name}')", w.name, group=_WORKLOAD, tooltip=f"Workload: {w.title}")
          for w in WORKLOADS.values()],
        Binding("s", "strategy('sequential')", "seq", group=_STRATEGY,
                tooltip="Strategy: one worker does every task in turn"),
        Binding("t", "strategy('threads')", "threads", group=_STRATEGY,
                tooltip="Strategy: one thread per worker, sharing one GIL"),
        Binding("p", "strategy('processes')", "procs", group=_STRATEGY,
                tooltip="Strategy: one process per worker, a GIL each"),
        Binding("a", "strategy('asyncio')", "async", group=_STRATEGY,
                tooltip="Strategy: one thread, one event loop, a task per URL (I/O workloads only)"),
        Binding("plus,equals_sign", "workers(1)", "+1", key_display="+", group=_WORKERS, tooltip="One more worker"),
        Binding("minus", "workers(-1)", "-1", key_display="-", group=_WORKERS, tooltip="One worker fewer"),
        Binding("left_square_bracket", "switch(-1)", "½", key_display="[", group=_SWITCH,
                tooltip="Halve the switch interval"),
        Binding("right_square_bracket", "switch(1)", "×2", key_display="]", group=_SWITCH,
                tooltip="Double the switch interval (100 ms shows the GIL's baton)"),
        Binding("l", "lock", "Lock", tooltip="Race: take a lock around read and write, or not"),
        Binding("k", "race_style", "+=1",
                tooltip="Race: the seed notes' plain 'counter += 1' (no call between read and write), "
                "or read-call-write"),
        Binding("C,shift+c", "clear_scoreboard", "Clear", key_display="C",
                tooltip="Clear the scoreboard (speedups then wait for a new sequential run)"),
        Binding("m", "export_scoreboard", "Markdown",
                tooltip="Export the scoreboard as a Markdown table, for slides"),
        Binding("i", "next_python", "Python",
                tooltip="Run the lab under the next Python gilviz found (gilviz pythons): a live run goes on there"),
        Binding("g", "toggle_gil", "GIL",
                tooltip="A free-threaded Python: turn its GIL on or off (PYTHON_GIL) and restart the lab"),
        Binding("1", "one_core", "1 core",
                tooltip="Pin the lab and its workers to one core, or give them every core back"),
        Binding("e", "export_trace", "Trace",
                tooltip="Export the last run as a Chrome trace (Perfetto, chrome://tracing)"),
        Binding("ctrl+s", "save_svg", "SVG", tooltip="Save an SVG screenshot of the screen"),
        Binding("q", "app.quit", "Quit", tooltip="Quit (stops the run, ends the lab)"),
        # on stage, Ctrl+C means stop everything and leave, as in any terminal program
        Binding("ctrl+c", "app.quit", "Quit", show=False, priority=True),
    ]

    phase: reactive[Phase] = reactive(Phase.STARTING, bindings=True, repaint=False, init=False)

    def bindings_list(self) -> list[Binding]:
        """The stage's key bindings (BINDINGS holds only Binding objects)."""
        return [b for b in self.BINDINGS if isinstance(b, Binding)]
    mode: reactive[RunRequest] = reactive(RunRequest, bindings=True, repaint=False, init=False)
    #: the presenter view: big figures, the lanes fill the rest, the other panels hidden
    presenter: reactive[bool] = reactive(False, bindings=True, repaint=False, init=False)

    def __init__(self, mode: RunRequest) -> None:
        super().__init__()
        self.set_reactive(StageScreen.mode, mode)
        self.failure: str | None = None  # why the phase is FAILED (or why the run in progress failed)
        self._drawn: tuple[int, int, range] | None = None
        self._header_status: tuple[str, str] | None = None  # the status on screen (_status_parts)
        #: the stage's widgets, each found once (_widget)
        self._found: dict[type, Widget] = {}
        self._ready = False  # mounted, with every widget: drawing may start
        self._footer_shown: tuple[tuple, set[str]] = ((), set())
        #: the runs of the compare on screen (v), side by side; None outside a compare
        self.compare_board: CompareBoard | None = None
        self._compare_started: RunStarted | None = None  # the compare's run going on
        #: the timer's frames: the lanes and the CPU panel go to the compositor as the frame ends
        self.frame = Frame(self)

    @property
    def gilviz(self) -> GilvizApp:
        return self.app  # type: ignore[return-value]

    def _widget(self, kind: type[W]) -> W:
        """The stage's one widget of ``kind``. They are made with the stage
        and never replaced; a frame asks for seven of them, and
        ``query_one`` walks the screen's widgets each time (15-20 µs during
        a live run)."""
        found = self._found.get(kind)
        if found is None:
            found = self._found[kind] = self.query_one(kind)
        return found  # type: ignore[return-value]

    def glyph_style(self, name: str) -> Style:
        """A glyph's style (a component class of ``_glyphs``), as the lanes
        paint it under the current theme: the help's legend uses it."""
        return self._widget(Lanes).glyph_style(name)

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield LabHeader(id="header")
        yield Presenter(id="presenter")  # the presenter view's big figures (z)
        with Row(id="stage"):
            with Pane(id="lanes", classes="panel") as panel:  # #lanes: the bordered panel
                panel.border_title = "Lanes"
                yield LanesHeader()
                yield Lanes()
                yield Legend()
            # the border is the container's: the meters' own lines then need
            # no border drawn around each of them, a frame at a time
            with Pane(id="meters", classes="panel") as meters:
                meters.border_title = "CPU"
                yield CoreMeters()
        yield self._titled(Scoreboard(id="scoreboard", classes="panel"), "Scoreboard")
        yield Explainer(id="explainer")
        yield Static(
            f"gilviz needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]}: make this one larger "
            "(q quits). Runs go on meanwhile.",
            id="too-small",
        )
        yield StageFooter(compact=True)

    @staticmethod
    def _titled(widget, title: str):
        widget.border_title = title
        return widget

    def on_mount(self) -> None:
        self._ready = True
        self.query_one(LanesHeader).period_s = getattr(self.gilviz.session, "period_s", None)
        # lanes scrolled into view need their timelines now, not at the next tick
        self.watch(self.query_one(Lanes), "scroll_y", lambda: self.draw(force=True), init=False)
        self.app.theme_changed_signal.subscribe(self, self.on_theme_changed)
        self.show_mode()
        self.draw(force=True)
        self.frame.attach(self._widget(Lanes), self._widget(LanesHeader), self._widget(Legend),
                          self._widget(CoreMeters))
        self.set_interval(1 / self.gilviz.draw_hz, self.tick)

    def tick(self) -> None:
        """The timer's frame: what it refreshes is painted as it ends (_frame.py)."""
        with self.frame:
            self.draw()

    def on_resize(self) -> None:
        for footer in self.query(Footer):
            footer.show_command_palette = self.size.width >= 120
        self.refresh_bindings()  # the footer may have room for other keys now
        self.call_after_refresh(self.draw, True)

    # -- the footer ---------------------------------------------------------------

    def _footer_key(self) -> tuple:
        return (self.size.width, "lock" in spec(self.mode.workload).options)

    def footer_actions(self) -> set[str]:
        """The actions the footer has room for at this width (footer.RANK):
        run, stop, help and quit always; the race's keys before the rest when
        the race is on screen."""
        key = self._footer_key()
        if key != self._footer_shown[0]:
            widths = item_widths(self.bindings_list(), self.app.get_key_display)
            dimmed = () if key[1] else ("lock", "race_style")
            self._footer_shown = (key, footer_actions(widths, key[0], dimmed))
        return self._footer_shown[1]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The footer reads this: the keys it has no room for come with
        ``show=False``. They still work, and help and the palette list them."""
        bindings = super().active_bindings
        shown = self.footer_actions()
        return {
            key: active._replace(binding=replace(active.binding, show=False))
            if active.node is self and active.binding.show and action_name(active.binding) not in shown
            else active
            for key, active in bindings.items()
        }

    # -- reactives --------------------------------------------------------------

    def watch_mode(self) -> None:
        self.show_mode()

    def watch_phase(self) -> None:
        self.show_header()  # the status; the footer refreshes itself (bindings=True)

    def on_theme_changed(self, theme: object) -> None:
        """Text already drawn keeps the colours it was made with: make it again."""
        self.show_mode()
        self.query_one(Scoreboard).restyle()
        self.draw(force=True)

    # -- drawing ----------------------------------------------------------------

    def switch_interval(self) -> float | None:
        if self.mode.switch_interval_s is not None:
            return self.mode.switch_interval_s
        lab = self.gilviz.lab
        return lab.switch_interval_s if lab is not None else None

    def status(self) -> Text:
        """The header's status line, in the style of its kind."""
        return self._widget(LabHeader).status(*self._status_parts())

    def _status_parts(self) -> tuple[str, str]:
        """The status's (text, kind): every frame compares them with the
        ones on screen, without making the styled line."""
        phase, last = self.phase, self.gilviz.last_result
        if self.failure:
            return f"✗ {self.failure}", "failed"
        if phase.stopping:
            return "■ stopping…", "stopping"
        if phase.running:
            # The elapsed time is drawn by the lanes (cheap); the header only
            # changes on coarse events, since updating it costs a layout pass.
            what = "comparing" if phase == Phase.COMPARING else "running"
            if self.gilviz.lab_settings.cpus:
                what += f" on core {','.join(map(str, self.gilviz.lab_settings.cpus))} only"
            t = "" if self.gilviz.live.t_s is not None else " (starting workers)"
            return f"● {what}{t}   x to stop", "running"
        if last is not None and not last.cancelled:
            return f"✓ {last.workload} × {last.strategy} took {last.wall_s:.2f} s   ⏎ run again", "done"
        if self.gilviz.lab is None:
            return "starting the lab…", "starting"
        return "ready: press ⏎ to run, ? for help", "ready"

    def hint(self) -> str:
        workers = "1 worker" if self.mode.strategy == "sequential" else f"{self.mode.workers} {self.mode.strategy}"
        strategies = spec(self.mode.workload).strategies  # what the compare runs (plan.compare_variants)
        compares = ("the race without and then with the lock" if compare_by(self.mode.workload) == "lock"
                    else ", ".join(strategies[:-1]) + " and " + strategies[-1])
        return f"Press Enter to run {self.mode.workload} with {workers}. v compares {compares}; ? lists every key."

    def draw(self, force: bool = False) -> None:
        """Paint the latest measurements: at most one frame per timer tick."""
        if not self._ready or not self.app.screen_stack:  # not mounted yet, or shutting down
            return
        lanes = self._widget(Lanes)
        if not lanes.is_mounted:
            return
        live, lab = self.gilviz.live, self.gilviz.lab
        visible = lanes.visible_lanes()
        key = (live.version, lanes.laid_out_size.width, visible)
        if key == self._drawn and not force:
            return
        self._drawn = key
        if self._comparing():  # the compare's run going on: every lane, every cell since its start
            view = live.view(HISTORY_CELLS)
        else:
            # the lanes on screen, and those a taller panel would show before
            # the next frame (the presenter view, a shorter explainer): the
            # screen's height bounds them
            view = live.view(lanes.columns.timeline_w, range(visible.start, visible.start + self.outer_size.height))
        workload = view.started.request.workload if view.started is not None else self.mode.workload
        last = self.gilviz.last_result
        finished = last if not self.phase.running and last and not last.cancelled else None
        # no batch_update(): nothing draws while this runs (no await), and its
        # end woke the app's message loop once more every frame
        self._show_lanes(view if view.started is not None else None, workload)
        self._widget(CoreMeters).show(
            view, lab.cpu_count if lab else None, finished.cores_used if finished else None,
            finished.units_per_s if finished else None,
        )
        if self.presenter:
            self._widget(Presenter).show(workload, lab.cpu_count if lab else None, view, finished,
                                         lab.gil_enabled if lab else None)
        if self._status_parts() != self._header_status:  # a header update costs a layout pass
            self.show_header()

    def show_header(self) -> None:
        if not self._ready:
            return
        self._header_status = parts = self._status_parts()
        header = self._widget(LabHeader)
        header.show(self.gilviz.lab, self.mode, self.switch_interval(), header.status(*parts))

    def explainer_text(self) -> str:
        """What the last run of the mode on screen measured, once there is
        one; before that, what to look at, for the interpreter the lab runs."""
        last, mode, lab = self.gilviz.last_result, self.mode, self.gilviz.lab
        if last is not None and not last.cancelled and not self.phase.running and (
            last.workload, last.strategy, last.lock, last.race_style or mode.race_style
        ) == (mode.workload, mode.strategy, mode.lock, mode.race_style):
            return measured(last)
        return explanation(mode.workload, mode.strategy, mode.lock, lab.gil_enabled if lab else None,
                           mode.race_style, lab.python if lab else None)

    def show_mode(self) -> None:
        """The mode or the state changed: header, explainer, lanes' hint."""
        if not self._ready or not self.app.screen_stack:  # an early or a late message
            return
        self.show_header()
        self._widget(Explainer).show(self.explainer_text())
        if not self.phase.running:
            view = self._widget(Lanes).view
            self._show_lanes(view, view.started.request.workload if view and view.started else self.mode.workload)

    def _comparing(self) -> bool:
        """The lanes show a compare's runs (going on, or the last one's)."""
        board = self.compare_board
        return board is not None and bool(len(board) or self.phase.running)

    def _show_compare(self, board: CompareBoard, view: RunView | None) -> tuple[float | None, int]:
        """A compare's runs, each under its heading, the one going on
        (``view``, with every cell since its start) last: the clock on screen
        and the number of rows."""
        lanes = self._widget(Lanes)
        live = view if self.phase.running else None
        if live is not None and (live.started is None or board.has(live.started)):
            live = None  # between two runs: the last one is on the board already
        groups, every = board.groups(lanes.columns.timeline_w, live)
        lanes.show_groups(groups, self.mode.workload)
        self._widget(LanesHeader).scale = every
        return (live.t_s if live is not None else None), lanes.virtual_size.height

    def _show_lanes(self, view: RunView | None, workload: str) -> None:
        lanes = self._widget(Lanes)
        board = self.compare_board
        live, switch = False, None
        if board is not None and self._comparing():
            t_s, total = self._show_compare(board, view)
        else:
            # the hint is drawn only where there are no lanes: not made every frame of a run
            lanes.show(view, workload, lanes.hint if view is not None and view.lanes else self.hint())
            self._widget(LanesHeader).scale = 1
            t_s, total = (view.t_s if view is not None else None), (len(view.lanes) if view is not None else 0)
            live = view is not None and view.live
            if view is not None and view.switches:
                switch = view.switches[-1]
        self._widget(LanesHeader).show(t_s, lanes.visible_lanes(), total, live, switch)
        started = view.started if view is not None else None
        full_block = "one worker alone on a free core"
        solo = view.solo_units_per_s if view is not None else None
        if started is not None and solo:
            number, unit = amount(solo, started.unit)
            full_block = f"{number} {unit}/s, one worker alone"
        measured = view.states_measured if view is not None and view.t_s is not None else True
        request = started.request if started is not None else self.mode
        lab = started.lab if started is not None else self.gilviz.lab
        self._widget(Legend).show(workload, measured, full_block, request.lock and workload == "race",
                                    gil_between(lab.gil_enabled, request.strategy) if lab else None)

    # -- what the app tells the stage -------------------------------------------

    def lab_ready(self) -> None:
        if self.failure and self.failure.startswith("the lab did not start"):
            self.failure = None
        if self.phase in (Phase.STARTING, Phase.FAILED):
            self.phase = Phase.FAILED if self.failure else Phase.READY
        self.show_mode()
        self.draw(force=True)

    def run_began(self, started: RunStarted | None = None) -> None:
        if self.phase == Phase.COMPARING:
            self.compare_board = self.compare_board or CompareBoard()
            self._compare_started = started
        else:
            self.compare_board = None  # a single run: the lanes are its own again
        self.query_one(Lanes).scroll_home(animate=False)
        self.show_mode()
        self.draw(force=True)

    def run_ended(self, result: RunResult, urls: tuple[str, ...]) -> None:
        if self.compare_board is not None and self._compare_started is not None:
            self.compare_board.add(self._compare_started, result)
            self._compare_started = None
        if not result.cancelled and not result.live:  # the scoreboard compares the same work
            self.query_one(Scoreboard).add_result(result, urls)
        if result.errors and not result.cancelled:
            self.failure = f"{len(result.errors)} error(s): {result.errors[0]}"
            self.app.notify(result.errors[0], title="A worker failed", severity="error", timeout=6)
        # the keys that act on the last result (e trace, the scoreboard's) may
        # have come on: a live run that switched mode ended, its phase did not
        self.refresh_bindings()
        self.draw(force=True)
        self.show_mode()

    def failed(self, message: str) -> None:
        self.failure = message
        if not self.phase.running:
            self.phase = Phase.FAILED
        self.app.notify(message, title="The lab failed", severity="error", timeout=8)
        self.show_mode()

    def run_idle(self) -> None:
        """The run's thread is done: settle in an idle phase, or run what was asked meanwhile."""
        then_run = self.phase == Phase.STOPPING_TO_RUN
        if self.failure:
            self.phase = Phase.FAILED
        else:
            self.phase = Phase.READY if self.gilviz.lab is not None else Phase.STARTING
        self.draw(force=True)
        self.show_mode()
        if then_run:
            self.action_run()

    # -- actions ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim (None) the keys that would do nothing now."""
        busy = self.phase.busy
        if action in ("run", "compare"):
            return None if busy else True
        if action == "stop":
            return True if busy else None
        if action == "workload":
            return None if parameters and parameters[0] == self.mode.workload else True
        if action == "strategy":
            if parameters and spec(self.mode.workload).refusal(str(parameters[0])):
                return None  # asyncio for CPU work: refused, the key dimmed
            return None if parameters and parameters[0] == self.mode.strategy else True
        if action == "workers":
            n = self.mode.workers + (int(str(parameters[0])) if parameters else 1)
            return True if MIN_WORKERS <= n <= MAX_WORKERS else None
        if action == "switch":
            up = bool(parameters) and int(str(parameters[0])) > 0
            current = self.switch_interval() or DEFAULT_SWITCH_S
            return True if _step_switch(current, up) != current else None
        if action in ("lock", "race_style"):
            return True if action in spec(self.mode.workload).options else None
        if action in ("next_python", "toggle_gil", "one_core"):
            return self._lab_action_enabled(action)
        if action in ("clear_scoreboard", "export_scoreboard"):
            # the widget found once: the footer asks for every key at each
            # screen change and switch, and two queries of the screen's
            # widgets for each of these two keys were a tenth of opening help
            return True if self._ready and self._widget(Scoreboard).rows_data else None
        if action == "export_trace":
            last = self.gilviz.last_result
            return True if last is not None and last.ticks else None
        return True

    def _start(self, compare: bool) -> None:
        if self.gilviz.session is None:
            return
        self.failure = None
        self.phase = Phase.COMPARING if compare else Phase.RUNNING
        self.gilviz.run_in_lab(self.mode, compare)

    def action_run(self) -> None:
        if self.phase.running:
            if self.phase.stopping:  # a mode change is stopping the last run: run when it has
                self.phase = Phase.STOPPING_TO_RUN
            return
        self._start(compare=False)

    def action_compare(self) -> None:
        if not self.phase.running:
            # the runs side by side, from the first
            self.compare_board = CompareBoard()
            self._start(compare=True)

    def action_stop(self) -> None:
        if not self.phase.busy:
            return
        self.phase = Phase.STOPPING
        self.gilviz.stop()

    def _change(self, **changes) -> None:
        """Change the mode. A live run switches to it at once (its workers
        are replaced, the lanes go on); a compare is stopped first."""
        new = replace(self.mode, **changes)
        if new == self.mode:
            return
        self.mode = new
        if self.phase == Phase.RUNNING:
            self.gilviz.switch_live(new)
        elif self.phase.busy:
            self.action_stop()
        else:
            self.gilviz.warm_solo_soon()

    def action_workload(self, workload: str) -> None:
        if workload in WORKLOADS:
            changes: dict[str, object] = {"workload": workload}
            # a worker count left at its default follows the workload's default
            # (fetch: one thread per URL, so the waits overlap in one latency)
            if self.mode.workers == default_workers(self.mode.workload, self.mode.urls):
                changes["workers"] = default_workers(workload, self.mode.urls)
            if spec(workload).refusal(self.mode.strategy):  # asyncio, leaving fetch: threads
                changes["strategy"] = "threads"
            self._change(**changes)

    def action_strategy(self, strategy: str) -> None:
        if strategy in ALL_STRATEGIES and not spec(self.mode.workload).refusal(strategy):
            self._change(strategy=strategy)

    def action_workers(self, delta: int) -> None:
        n = max(MIN_WORKERS, min(MAX_WORKERS, self.mode.workers + int(delta)))
        self._change(workers=n)

    def action_switch(self, direction: int) -> None:
        current = self.switch_interval() or DEFAULT_SWITCH_S
        self._change(switch_interval_s=_step_switch(current, int(direction) > 0))

    def _lab_action_enabled(self, action: str) -> bool | None:
        """The lab keys apply when idle or during a live run (not a compare)."""
        app = self.gilviz
        if self.phase == Phase.COMPARING or self.phase.stopping or app.lab is None:
            return None
        if action == "next_python":
            return True if len(app.interpreters) > 1 else None
        if action == "toggle_gil":
            current = app.current_interpreter()
            return True if current is not None and current.free_threaded else None
        return True if hasattr(os, "sched_setaffinity") and (app.lab.cpu_count or 1) > 1 else None

    def action_next_python(self) -> None:
        app = self.gilviz
        if self._lab_action_enabled("next_python") is not True:
            return
        current = app.current_interpreter()
        order = app.interpreters
        at = order.index(current) if current in order else -1
        target = order[(at + 1) % len(order)]
        app.notify(f"{target.short_name}: {target.implementation} {target.version} ({target.path})",
                   title="The lab moves to", timeout=4)
        app.change_lab(replace(app.lab_settings, python=target.path, gil=None))

    def action_toggle_gil(self) -> None:
        app = self.gilviz
        if self._lab_action_enabled("toggle_gil") is not True or app.lab is None:
            return
        app.change_lab(replace(app.lab_settings, gil="on" if not app.lab.gil_enabled else "off"))

    def action_one_core(self) -> None:
        app = self.gilviz
        if self._lab_action_enabled("one_core") is not True:
            return
        app.change_lab(replace(app.lab_settings, cpus=None if app.lab_settings.cpus else (0,)))

    def action_lock(self) -> None:
        if "lock" in spec(self.mode.workload).options:
            self._change(lock=not self.mode.lock)

    def action_race_style(self) -> None:
        if "race_style" in spec(self.mode.workload).options:
            self._change(race_style="plain" if self.mode.race_style == "call" else "call")

    def action_export_trace(self) -> None:
        """Write the last run as a Chrome trace, next to the screenshots; a
        new file each time, never over an existing one."""
        from gilviz.export import write_trace_in_folder

        r = self.gilviz.last_result
        if r is None or not r.ticks:
            return
        folder = self.gilviz.screenshot_dir or os.getcwd()
        try:
            where = write_trace_in_folder(r, folder)
        except OSError as exc:
            self.app.notify(f"{exc.strerror or exc}: {folder}", title="Trace not saved", severity="error", timeout=8)
            return
        self.app.notify(f"{where}\nopen it in https://ui.perfetto.dev", title="Trace saved", timeout=8)

    def action_save_svg(self) -> None:
        path = self.app.save_screenshot(path=self.gilviz.screenshot_dir)
        self.app.notify(path, title="Screenshot saved", timeout=6)

    def action_help(self) -> None:
        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen("help")

    def action_presenter(self) -> None:
        self.presenter = not self.presenter

    def watch_presenter(self, on: bool) -> None:
        """Big figures on, the side panels off (CSS: ``Screen.-presenter``);
        the lanes drop their os-id and task columns."""
        self.set_class(on, "-presenter")
        for widget in (self.query_one(Lanes), self.query_one(LanesHeader)):
            widget.presenter = on
            widget.refresh()
        self.call_after_refresh(self.draw, True)

    def action_clear_scoreboard(self) -> None:
        self.query_one(Scoreboard).clear_results()

    def action_export_scoreboard(self) -> None:
        """Write the scoreboard as a Markdown table next to the screenshots; a
        new file each time, never over an existing one."""
        from gilviz.export.files import write_fresh_file

        board = self.query_one(Scoreboard)
        if not board.rows_data:
            return
        folder = self.gilviz.screenshot_dir or os.getcwd()
        try:
            where = write_fresh_file(folder, "gilviz-scoreboard", ".md", board.markdown())
        except OSError as exc:
            self.app.notify(f"{exc.strerror or exc}: {folder}", title="Scoreboard not saved", severity="error",
                            timeout=8)
            return
        self.app.notify(where, title="Scoreboard saved as Markdown", timeout=8)
