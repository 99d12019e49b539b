"""Coarse events from the run's thread to the app: posted, never per sample."""

from __future__ import annotations

from textual.message import Message

from gilviz.engine.model import LabInfo, RunResult, RunStarted


class LabReady(Message):
    def __init__(self, info: LabInfo) -> None:
        super().__init__()
        self.info = info


class RunBegan(Message):
    def __init__(self, started: RunStarted) -> None:
        super().__init__()
        self.started = started


class RunEnded(Message):
    """One run finished (a compare posts three)."""

    def __init__(self, result: RunResult, urls: tuple[str, ...]) -> None:
        super().__init__()
        self.result = result
        self.urls = urls


class LabFailed(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class RunIdle(Message):
    """The run's thread is done: the next run may start."""
