"""StillLines: a widget whose lines stay as they are until it is refreshed.

Textual's compositor asks every widget whose *container* meets a frame's
update for all its lines, and a live run updates the lanes and the CPU panel
ten times a second: the screen, the panels' containers, the header, the
explainer and the footer were each rendered again through Textual's styles
cache (every line through the app's filters), 1.2 ms of a 16-lane frame of
6.5, for lines that had not changed. A widget that mixes this in gives back
the lines it gave last time, until something that Textual would draw again
for happens to it: a refresh (new content, a resize, a scroll), a style
update (a theme, a class, hover or focus), or other line filters.
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.strip import Strip


class StillLines:
    """Mix in before the Textual widget class: ``class Pane(StillLines, Vertical)``."""

    _still: tuple[tuple, list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        key = (crop, tuple(self.get_line_filters()))  # type: ignore[attr-defined]
        still = self._still
        if still is not None and still[0] == key:
            return still[1]
        lines = super().render_lines(crop)  # type: ignore[misc]
        self._still = (key, lines)
        return lines

    def refresh(self, *regions: Region, **kwargs: Any) -> Any:
        self._still = None
        return super().refresh(*regions, **kwargs)  # type: ignore[misc]

    def notify_style_update(self) -> None:
        self._still = None
        super().notify_style_update()  # type: ignore[misc]
