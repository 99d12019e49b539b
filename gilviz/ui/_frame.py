"""A frame of a live run, handed to Textual's compositor by the stage itself.

In Textual a widget's ``refresh()`` reaches the screen in steps, each a turn
of the app's message loop: the widget posts itself a Prompt; its Idle posts
the screen an Update; the screen posts itself a Prompt, and its Idle resumes
the screen's update timer, which renders the dirty widgets. A live run
refreshes the lanes and the CPU panel ten times a second, and those steps
were 0.9 ms of a 16-lane frame's 5.5 on the main thread (this VM, the
threads' CPU clocks, four runs each way in turn).

While the stage draws a frame (``with frame:``), a widget that mixes in
:class:`FramePainted` posts nothing when it refreshes; as the frame closes,
the widgets that only need repainting go straight to the screen's
compositor, as the update timer would send them. Whatever else Textual has
to do first (a layout, a scroll, new styles, a callback, a batch of
updates, the whole screen to repaint, as under the help) goes its own way:
those widgets post their Prompt as they would have, and nothing is painted
ahead of it.

This leans on Textual's private names (the screen's dirty widgets, its
compositor and its update timer's callback; the flags of what a widget's
idle would do), looked for before each use and exercised by three tests
(``test_a_live_frame_is_painted_without_textual_s_message_steps`` and the
two after it): if a Textual release renames them, every refresh takes
Textual's own steps.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widget import Widget

#: Textual's names the frame uses (besides the update timer's callback,
#: ``SUPPORTED``): the screen's set of dirty widgets, its compositor and the
#: flags of what its update would do first; a widget's flags of what its
#: idle would do.
_SCREEN_NAMES = ("_dirty_widgets", "_compositor", "_layout_required", "_scroll_required", "_repaint_required",
                 "_recompose_required")
_WIDGET_NAMES = ("_repaint_required", "_layout_required", "_scroll_required", "_refresh_styles_required",
                 "_recompose_required", "_next_callbacks")


def _has_names(obj: Any, names: tuple[str, ...]) -> bool:
    return all(hasattr(obj, name) for name in names)


#: Textual's update timer's callback is a method of every screen's class
SUPPORTED = callable(getattr(Screen, "_on_timer_update", None))


class Frame:
    """One of the stage's frames at a time: ``with frame: draw()``."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        self.open = False
        self._refreshed: dict[Widget, None] = {}  # widgets that refreshed while open, in order
        #: frames handed to the compositor directly, and those left to Textual (for tests, and the curious)
        self.painted = 0
        self.deferred = 0

    def attach(self, *widgets: FramePainted) -> None:
        """The widgets whose refreshes the frame holds while it is open."""
        for widget in widgets:
            widget.frame = self

    def __enter__(self) -> Frame:
        self.open = True
        return self

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self.open = False
        refreshed, self._refreshed = self._refreshed, {}
        if not refreshed:
            return
        direct = [w for w in refreshed if self._only_repaint(w)] if kind is None and self._screen_ready() else []
        for widget in refreshed:
            if widget not in direct:
                widget.check_idle()  # Textual's own steps (the frame is closed), as if nothing was held back
        if not direct:
            self.deferred += 1
            return
        dirty = self.screen._dirty_widgets
        for widget in direct:
            widget._repaint_required = False  # its idle would have sent the screen this Update
            if widget.display:
                dirty.add(widget)
        self.screen._on_timer_update()  # the screen's update timer's work, now
        self.painted += 1

    def held(self, widget: Widget) -> bool:
        """Called by a widget's ``check_idle``: True if the frame takes care
        of it (it posts nothing now)."""
        if not self.open:
            return False
        self._refreshed[widget] = None
        return True

    def _screen_ready(self) -> bool:
        """The screen is the top one, and would paint dirty widgets at its
        next update, and nothing first."""
        screen = self.screen
        if not SUPPORTED or not _has_names(screen, _SCREEN_NAMES) or not hasattr(screen.app, "_batch_count"):
            return False
        return bool(
            screen.app.screen_stack and screen.app.screen is screen
            and not screen.app._batch_count
            and screen in screen._compositor
            and not (screen._layout_required or screen._scroll_required or screen._repaint_required
                     or screen._recompose_required)
        )

    @staticmethod
    def _only_repaint(widget: Widget) -> bool:
        """All the widget's idle would do is send the screen an Update."""
        if not _has_names(widget, _WIDGET_NAMES):
            return False
        return bool(
            widget.is_mounted
            and widget._repaint_required
            and not (widget._layout_required or widget._scroll_required or widget._refresh_styles_required
                     or widget._recompose_required or widget._next_callbacks)
        )


class FramePainted:
    """Mix in before the Textual widget class: ``class Lanes(FramePainted, ScrollView)``.
    The stage gives the widget its :class:`Frame` (``frame``)."""

    frame: Frame | None = None

    def check_idle(self) -> None:
        frame = self.frame
        if frame is not None and frame.held(self):  # type: ignore[arg-type]
            return
        super().check_idle()  # type: ignore[misc]
