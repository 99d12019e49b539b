"""The default theme: today's high-contrast stage colours for a projector.

Everything in ``gilviz.tcss`` is a theme variable, so any other Textual theme
(``textual-light`` for a bright hall, from the command palette) applies too.
"""

from __future__ import annotations

from textual.theme import Theme

GILVIZ_THEME = Theme(
    name="gilviz",
    primary="#82aaff",  # the mode, thread names, bytes received
    secondary="#c792ea",  # process names
    accent="#ffd23f",  # titles, the GIL, waiting, a busy core
    warning="#ff8c1a",  # stalled, stopping
    error="#ff4a4a",
    success="#3ddc84",  # work done
    foreground="#e8e8e8",
    background="#0c0c10",
    surface="#16161e",
    panel="#1c1c28",
    dark=True,
)
