"""Moved to ``gilviz.export.trace``; kept so ``gilviz.ui.app`` (which calls
``write_trace(result, path)``) keeps working until it imports the new home."""

from __future__ import annotations

from ..export.trace import chrome_trace, write_trace

__all__ = ["chrome_trace", "write_trace"]
