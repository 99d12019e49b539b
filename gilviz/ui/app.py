"""GilvizApp: the life cycle of the lab and its runs; the stage is a screen.

:class:`~gilviz.ui.stage.StageScreen` draws the lanes, core meters,
scoreboard and explainer, and holds the keys. The workers run in the lab, another process, driven by a
:class:`~gilviz.engine.session.Session` from one Textual thread worker. The
session's per-tick callback only writes into :class:`~gilviz.ui.timeline.LiveRun`
(fixed-size rings); the stage's timer draws the latest state about ten times a second.
Only coarse events (lab ready, run began, run ended, failure) are posted as
messages. So the UI never waits on the workers and its cost does not grow
with the number of samples.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Iterable

from textual import work
from textual.actions import parse
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.timer import Timer

from gilviz.engine.interpreters import Interpreter
from gilviz.engine.model import LabInfo, RunRequest, RunResult, RunStarted
from gilviz.engine.session import RunCancelled, RunFailed, Session
from gilviz.engine.workloads import spec

from .compare_board import compare_by
from .messages import LabFailed, LabReady, RunBegan, RunEnded, RunIdle
from .screens import HelpScreen
from .stage import MIN_SIZE, StageScreen
from .theme import GILVIZ_THEME
from .timeline import LiveRun


@dataclass(frozen=True)
class LabSettings:
    """Which Python the lab runs on, and how: what the i, g and 1 keys change."""

    python: str | None = None  # None: the Python running gilviz
    gil: str | None = None  # "on" / "off" (PYTHON_GIL, free-threaded builds); None: the build's default
    cpus: tuple[int, ...] | None = None  # the cores the lab and its workers are pinned to; None: all


#: Frames per second of the drawing timer.
DRAW_HZ = 10
#: Idle this long after the lab is ready or the mode changed, the lab
#: measures the mode's solo rate for its first run (Session.warm_solo).
WARM_SOLO_AFTER_S = 1.0


class GilvizApp(App[int]):
    """See the GIL: run a workload under a strategy and watch the workers.

    The app owns the life cycle: the session (and so the lab), the run's
    thread and the messages it posts. :class:`StageScreen` owns what you see.
    """

    CSS_PATH = "gilviz.tcss"
    TITLE = "gilviz"
    # below MIN_SIZE: -too-narrow / -too-short, and a message instead of the panels
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_SIZE[0], "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_SIZE[1], "-short"), (40, "-tall")]

    def __init__(
        self,
        request: RunRequest | None = None,
        session_factory: Callable[[], Session] | None = None,
        python: str | None = None,
        gil: str | None = None,
        screenshot_dir: str | None = None,
        draw_hz: float = DRAW_HZ,
        seconds: float = 5.0,
        duration_s: float | None = None,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.register_theme(GILVIZ_THEME)
        self.theme = theme or GILVIZ_THEME.name  # the CLI checked the name (cli.theme_arg)
        self.lab_settings = LabSettings(python=python, gil=gil)
        self.discover_pythons = session_factory is None  # a scripted lab runs on no other Python
        if session_factory is not None:  # tests: the factory decides (a scripted lab)
            self.make_session: Callable[[LabSettings], Session] = lambda settings: session_factory()
        else:
            self.make_session = lambda s: Session(python=s.python, gil=s.gil, cpus=s.cpus, warm_processes=True)
        self.session_factory: Callable[[], Session] = lambda: self.make_session(self.lab_settings)
        #: a change of interpreter, GIL or cores asked for during a live run
        self.pending_lab: LabSettings | None = None
        #: what a lab change did that the next run's start cannot tell ("one core")
        self.switch_note = ""
        #: the Pythons gilviz found (gilviz pythons), where the lab can run
        self.interpreters: list[Interpreter] = []
        # made on mount, so that a factory that fails fails inside the app
        self.session: Session = None  # type: ignore[assignment]
        self.lab: LabInfo | None = None
        self.live = LiveRun()
        self.last_result: RunResult | None = None
        self.screenshot_dir = screenshot_dir or os.getcwd()
        self.draw_hz = draw_hz
        #: compare (v) is sized so a sequential run takes about this long
        self.seconds = seconds
        #: a live run goes on until stopped, or for this long
        self.duration_s = duration_s
        #: the mode a live run switches to once its workers have stopped
        self.next_live: RunRequest | None = None
        self.stage = StageScreen(request or RunRequest())
        self._session_closed = False
        self._warm_timer: Timer | None = None

    @property
    def running(self) -> bool:
        """A run's thread is going (read by tests and scripts that wait for a run)."""
        return self.stage.phase.running

    def draw(self, force: bool = False) -> None:
        """Paint the latest measurements now (tests and screenshots call this)."""
        self.stage.draw(force)

    # -- life cycle -------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return self.stage

    def on_mount(self) -> None:
        self.session = self.session_factory()
        self.load_lab()
        if self.discover_pythons:
            self.find_interpreters()
        # built once, now: opening help mid-run then costs one frame, not a compose
        self.install_screen(HelpScreen(self.stage.bindings_list(), self.stage.glyph_style), name="help")
        self.call_after_refresh(self._freeze_startup)

    @staticmethod
    def _freeze_startup() -> None:
        """Once the first frame is drawn, leave what was made to start the app
        (modules, styles, widgets, the help screen) out of every later
        garbage collection. A full collection walks every object there is;
        with these it paused the UI for 0.1-1 s every few seconds of a live
        run with 256 lanes (seen here, gc.callbacks), so keys waited."""
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        self.close_session()
        gc.unfreeze()  # the app's own objects can be collected again (tests run many apps in one process)

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

    async def action_quit(self) -> None:
        if self.session is not None:
            self.session.cancel()
        self.exit(0)

    # -- the lab, in a thread ---------------------------------------------------

    @work(thread=True, group="lab", exit_on_error=False)
    def load_lab(self) -> None:
        try:
            self.post_message(LabReady(self.session.info()))
        except Exception as exc:  # the app stays usable; the next run retries
            self.post_message(LabFailed(f"the lab did not start: {exc}"))

    @work(thread=True, group="pythons", exit_on_error=False)
    def find_interpreters(self) -> None:
        """Which Pythons the i key can switch to (probing takes a few seconds)."""
        from gilviz.engine.interpreters import discover

        found = [i for i in discover() if i.lab_ok]
        self.call_from_thread(self._set_interpreters, found)

    def _set_interpreters(self, found: list[Interpreter]) -> None:
        self.interpreters = found
        self.stage.refresh_bindings()

    def current_interpreter(self) -> Interpreter | None:
        """The discovered Python the lab runs on now, if it is one of them."""
        lab = self.lab
        if lab is None:
            return None
        here = os.path.realpath(lab.executable)
        return next((i for i in self.interpreters if os.path.realpath(i.path) == here), None)

    def change_lab(self, settings: LabSettings) -> None:
        """Another Python, GIL setting or set of cores: a new lab. During a
        live run it is one more switch (the run goes on under the new lab);
        when idle the lab is replaced now."""
        if settings.cpus != self.lab_settings.cpus:
            self.switch_note = f"core {','.join(map(str, settings.cpus))} only" if settings.cpus else "every core"
        if self.stage.phase.running:
            self.pending_lab = settings
            self.switch_live(self.stage.mode)
            return
        old, self.lab_settings = self.session, settings
        self.session = self.make_session(settings)
        self.lab = None
        old.close()
        self.load_lab()

    def switch_live(self, request: RunRequest) -> None:
        """During a live run: replace its workers by ``request``'s. The lab
        starts the new workers while the current ones stop, and the run's
        thread follows them; under another lab (``pending_lab``) the run's
        thread starts them once the current ones have stopped."""
        self.next_live = request
        if self.pending_lab is None:
            self.session.switch(self._live(request))
        else:
            self.session.cancel()

    def _live(self, request: RunRequest) -> RunRequest:
        """``request`` as a live run of this app."""
        return replace(request, live=True, duration_s=self.duration_s)

    def stop(self) -> None:
        """Stop the run going on, live or not; no switch follows."""
        self.next_live = None
        self.session.cancel()

    @work(thread=True, group="run", exit_on_error=False)
    def run_in_lab(self, request: RunRequest, compare: bool) -> None:
        """Compare (fixed work, sized by time) or a live run, which goes on,
        switching mode when asked, until stopped."""
        session = self.session
        previous: list[RunStarted] = []

        def on_started(started: RunStarted) -> None:
            note, self.switch_note = self.switch_note, ""
            self.live.start(started, switched_from=previous[-1] if previous and not compare else None, note=note)
            previous.append(started)
            self.post_message(RunBegan(started))

        by = compare_by(request.workload) if compare else "strategy"

        def on_result(result: RunResult) -> None:
            if by == "lock":
                # against the unlocked run, a lock compare's speedup is not the
                # scoreboard's (against a sequential run of the same work)
                result = replace(result, speedup=None)
            self.post_message(RunEnded(result, request.urls))

        try:
            if compare:
                session.compare(replace(request, live=False), on_result=on_result, by=by, seconds=self.seconds,
                                on_started=on_started, on_tick=self.live.feed)
                return
            self.next_live = None
            while True:
                try:
                    on_result(session.run(self._live(request), on_started=on_started, on_tick=self.live.feed))
                except RunCancelled:
                    pass  # stopped, or switched again, before its workers started: nothing was measured
                switch, self.next_live = self.next_live, None
                if switch is None:
                    break
                request = switch
                if self.pending_lab is not None:  # the switch is to another lab
                    old, self.lab_settings, self.pending_lab = session, self.pending_lab, None
                    session = self.session = self.make_session(self.lab_settings)
                    old.close()
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
        self.stage.lab_ready()
        self.warm_solo_soon()

    def warm_solo_soon(self) -> None:
        """Once the app has been idle a moment (its first frames drawn, the
        keys pressed), the lab measures the mode's solo rate: measured as a
        run starts, it ran beside the app drawing that run's first frames
        on the other vCPU, and read low (31 M iterations/s, then 35 M done)."""
        if self._warm_timer is not None:
            self._warm_timer.stop()
        self._warm_timer = self.set_timer(WARM_SOLO_AFTER_S, self._warm_solo)

    def _warm_solo(self) -> None:
        self._warm_timer = None
        if self.lab is not None and not self.stage.phase.busy:
            mode = self.stage.mode
            self.session.warm_solo(mode)
            # and the other side of the threads/processes switch: the race's
            # unit costs more in a process (its counter and lock in shared
            # memory), and a speaker's p during a live race had its rate
            # measured after the switch, beside the app drawing it (the
            # processes read "2.37× solo" at 1.95 cores used for their first
            # seconds). Which workloads that is, the lab knows (its solo
            # rates are one for count or hash whatever the strategy): asked
            # for every workload, the lab measures what it has not already.
            other = "threads" if mode.strategy == "processes" else "processes"
            self.session.warm_solo(replace(mode, strategy=other))
            # and the race's other side of its lock (l), a key a speaker
            # presses during a live race: measured at the switch, beside the
            # app drawing, the locked threads read "1.09× solo" at 0.96
            # cores used for their first seconds
            if "lock" in spec(mode.workload).options:
                self.session.warm_solo(replace(mode, lock=not mode.lock))

    def on_run_began(self, message: RunBegan) -> None:
        self.lab = message.started.lab
        self.stage.run_began(message.started)

    def on_run_ended(self, message: RunEnded) -> None:
        self.last_result = message.result
        self.stage.run_ended(message.result, message.urls)

    def on_lab_failed(self, message: LabFailed) -> None:
        self.stage.failed(message.message)

    def on_run_idle(self, message: RunIdle) -> None:
        self.stage.run_idle()

    # -- command palette --------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, then every binding of the stage that applies now."""
        yield from super().get_system_commands(screen)
        stage = self.stage
        for binding in stage.bindings_list():
            if not binding.show or binding.action.startswith("app."):  # Textual lists Quit itself
                continue
            _, name, params = parse(binding.action)
            if stage.check_action(name, params) is not True:
                continue
            group = binding.group.description.capitalize() + ": " if binding.group else ""
            yield SystemCommand(f"{group}{binding.description}", binding.tooltip,
                                partial(stage.run_action, binding.action))


def run_app(request: RunRequest, python: str | None = None, seconds: float = 5.0,
            theme: str | None = None, gil: str | None = None) -> int:
    """Run the app until the user quits; the lab and its workers end with it.
    ``gil``: "on"/"off" for the first lab (free-threaded builds); i, g and 1
    change it like any other lab setting."""
    app = GilvizApp(replace(request, live=False), python=python, gil=gil, seconds=seconds,
                    duration_s=request.duration_s, theme=theme)
    try:
        app.run()
    finally:
        app.close_session()
    return app.return_code or 0
