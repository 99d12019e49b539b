"""Which keys the footer has room for: the essential ones at every width.

The footer is one line. At 160 columns every key fits; at 80 the less used
ones would push Quit off the edge. :func:`footer_actions` picks, by rank,
the actions that fit in a width; the others leave the footer only (they stay
in the help screen and the command palette, and their keys still work).
The screen passes the bindings and how a key is displayed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Collection, Iterable

from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from .widgets._still import StillLines

#: The footer's order of importance (action names, without parameters): the
#: first ones are always shown. An action not listed comes last.
RANK = (
    "run", "stop", "help", "app.quit",
    "workload", "strategy", "compare",
    "lock", "race_style",  # the race's own keys (dimmed, so last, for the other workloads)
    "presenter",
    "workers", "switch",
    "clear_scoreboard", "export_scoreboard",
    "export_trace", "save_svg",
)
#: Columns the footer keeps free: the command palette's key, docked right at 120 and more.
PALETTE_W = 13


def action_name(binding: Binding) -> str:
    namespace, name, _ = parse(binding.action)
    return f"{namespace}.{name}" if namespace else name


def item_widths(bindings: Iterable[Binding], key_display: Callable[[Binding], str]) -> dict[str, int]:
    """How many columns each action takes in the compact footer: a key alone
    is "k Label ", a group is " abc label " (every key, then the group's label)."""
    widths: dict[str, int] = {}
    groups: dict[str, list[Binding]] = {}
    for b in bindings:
        if not b.show:
            continue
        b = replace(b, key=b.key.split(",")[0])  # the footer shows an action's first key
        if b.group is not None:
            groups.setdefault(b.group.description, []).append(b)
            continue
        name = action_name(b)
        widths[name] = max(widths.get(name, 0), len(key_display(b)) + 1 + len(b.description) + 1)
    for label, members in groups.items():
        names = {action_name(b) for b in members}
        width = 1 + sum(len(key_display(b)) for b in members) + 1 + len(label) + 1
        for name in names:  # a group is one item: its width is counted once
            widths[name] = width if name == sorted(names)[0] else 0
    return widths


def footer_actions(widths: dict[str, int], width: int, dimmed: Collection[str] = ()) -> set[str]:
    """The actions the footer shows in ``width`` columns, best ranked first.
    ``dimmed`` actions (that do nothing in this mode) rank after the rest,
    and are shown only when every other one fits. The first one that does
    not fit ends the list: a footer that skipped a key to show a lesser one
    would change with every width."""
    budget = width - 1 - (PALETTE_W if width >= 120 else 0)
    order = sorted(widths, key=lambda n: (n in dimmed, RANK.index(n) if n in RANK else len(RANK)))
    shown = set(RANK[:4]) & set(widths)  # run, stop, help and quit are never hidden
    budget -= sum(widths[name] for name in shown)
    for name in order:
        if name in shown:
            continue
        if widths[name] > budget:
            break
        shown.add(name)
        budget -= widths[name]
    return shown


class StageFooter(StillLines, Footer):
    """Textual's footer, made again only when what it shows changes.

    Textual's footer makes all its keys again whenever its screen's bindings
    are updated, which the help screen's opening and closing do, with the
    same keys each time: 40 new keys, each restyled through virtual nodes,
    some 11,000 objects of cyclic garbage a toggle. With 256 lanes, the
    full collections that cleared it held a key press up to 250 ms."""

    _shown: tuple | None = None  # what the keys were made from, when they last were

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen and self._bindings_ready:
            shown = self._what_it_shows(screen)
            if shown == self._shown:
                return
            if self._shown is not None and self._same_keys(shown, self._shown):
                # only which keys are dimmed (or their tooltips) changed, as at
                # every switch of a live run: restyle those keys, no new
                # footer (making 40 keys again, and the layout that followed,
                # took the UI thread 25-30 ms, twice a switch)
                self._restate(screen)
                self._shown = shown
                return
        super().bindings_changed(screen)

    @staticmethod
    def _same_keys(a: tuple, b: tuple) -> bool:
        """The same bindings (and palette key, and compactness), whether or
        not each is enabled."""
        return [k[0] for k in a[0]] == [k[0] for k in b[0]] and a[1:] == b[1:]

    def _restate(self, screen: Screen) -> None:
        """Each key's dimming and tooltip as Textual's footer would make them."""
        first: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in screen.active_bindings.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        for key in self.walk_children(FooterKey):
            if key.has_class("-command-palette"):
                if palette is None:
                    continue
                _, binding, enabled, _ = palette
                tip = binding.tooltip or binding.description
            elif key.action in first:
                binding, enabled, tooltip = first[key.action]
                tip = (tooltip or binding.description) if key.has_class("-grouped") else tooltip
            else:
                continue
            key._disabled = not enabled
            key.set_class(not enabled, "-disabled")
            if key.tooltip != (tip or None):
                key.tooltip = tip or None

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._what_it_shows(self.screen)
        yield from super().compose()

    def _what_it_shows(self, screen: Screen) -> tuple:
        keys = tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in screen.active_bindings.values())
        return keys, self.show_command_palette, self.compact
