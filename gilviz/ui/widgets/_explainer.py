"""Explainer: what to look at for the current mode, and, once a run of it has
finished, what that run measured, in words."""

from __future__ import annotations

import re

from rich.markup import escape
from textual import events
from textual.content import Content
from textual.css.scalar import Unit
from textual.widgets import Static

from gilviz.engine.model import RunResult
from gilviz.engine.reading import reading
from gilviz.engine.workloads import spec

from ._still import StillLines


def explanation(
    workload: str, strategy: str, lock: bool = False, gil_enabled: bool | None = True, race_style: str = "call",
    python: str | None = None,
) -> str:
    """Two or three sentences (Rich markup) for the mode on screen, from the
    workload's spec, true of the interpreter the lab runs."""
    return spec(workload).explain(strategy, lock, race_style, gil_enabled, python)


def measured(result: RunResult) -> str:
    """What a finished run measured, in words (the same rules as the CLI's)."""
    return "[b]Measured:[/] " + " ".join(escape(line) for line in reading(result))


#: Where one sentence ends and the next begins: a full stop, question or
#: exclamation mark, then a capital or markup ("3.10" and "e.g." stay whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[])")


def fit_sentences(markup: str, width: int, lines: int) -> str:
    """As many whole sentences of ``markup`` as fit in ``lines`` lines of
    ``width`` cells: a sentence cut mid-way ("Press l for a lock, k for
    the plain") says something it does not mean. At least the first."""
    sentences = _SENTENCE_END.split(markup)
    for count in range(len(sentences), 1, -1):
        text = " ".join(sentences[:count])
        # Textual's markup and wrapping, as Static draws it
        if len(Content.from_markup(text).wrap(max(1, width))) <= lines:
            return text
    return sentences[0]


class Explainer(StillLines, Static):
    """Two to four lines under the scoreboard, in whole sentences."""

    DEFAULT_CSS = """
    Explainer {
        height: auto;
    }
    """

    _text = ""
    _shown: str | None = None

    def show(self, text: str) -> None:
        self._text = text
        self._fit()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        width = self.content_size.width
        most = self.styles.max_height  # gilviz.tcss: a few lines under the scoreboard
        text = self._text
        if width > 0 and most is not None and most.unit == Unit.CELLS:
            text = fit_sentences(text, width, int(most.value))
        if text != self._shown:
            self._shown = text
            self.update(text)
