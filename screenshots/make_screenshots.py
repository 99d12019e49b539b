"""Make the SVG screenshots in screenshots/ from real runs.

    python screenshots/make_screenshots.py            # all of them, into screenshots/
    python screenshots/make_screenshots.py --only race_lock --size 140x40

Each scene opens the app headless (Textual's ``App.run_test``) on the real lab,
presses the keys a speaker would press, lets the live run go on a few seconds
(or a compare end), and saves what is on screen. Figures are this machine's measurements: rerun it on yours.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gilviz.engine.model import RunRequest  # noqa: E402
from gilviz.engine.session import Session  # noqa: E402
from gilviz.ui.app import WARM_SOLO_AFTER_S, GilvizApp  # noqa: E402

HERE = Path(__file__).resolve().parent

#: A step: a key, and how long to let the run go on after it (None: until the
#: run has ended, for v). Live runs go on long enough for every worker to
#: have a second on a core: the live raise of the solo rate (FastestPerCore)
#: needs that much, and this VM's speed drifts from the lab's calibration
#: (taken at 4 s, two threads read "1.20× solo" at 1.00 cores used).
Step = tuple[str, "float | None"]


#: name -> (the mode the app opens in, the steps, options: size, theme)
SCENES: dict[str, tuple[RunRequest, tuple[Step, ...], dict]] = {
    "count_threads": (RunRequest(workload="count", strategy="threads", workers=4), (("enter", 8.0),), {}),
    "count_threads_switch_100ms": (
        RunRequest(workload="count", strategy="threads", workers=2, switch_interval_s=0.1), (("enter", 8.0),), {},
    ),
    "count_threads_then_processes": (
        RunRequest(workload="count", strategy="threads", workers=2), (("enter", 5.0), ("p", 4.0)), {},
    ),
    "count_processes": (RunRequest(workload="count", strategy="processes", workers=4), (("enter", 8.0),), {}),
    "fetch_threads": (RunRequest(workload="fetch", strategy="threads", workers=6), (("enter", 3.0),), {}),
    "convoy_threads": (RunRequest(workload="convoy", strategy="threads", workers=1), (("enter", 4.0),), {}),
    "race_no_lock": (RunRequest(workload="race", strategy="threads", workers=4), (("enter", 8.0),), {}),
    "race_then_lock": (RunRequest(workload="race", strategy="threads", workers=4), (("enter", 6.0), ("l", 4.0)), {}),
    "compare_side_by_side": (RunRequest(workload="count", strategy="threads", workers=2), (("v", None),), {}),
    "race_compare_lock": (RunRequest(workload="race", strategy="threads", workers=4), (("v", None),), {}),
    "presenter_race": (
        RunRequest(workload="race", strategy="threads", workers=4), (("enter", 7.0), ("z", 1.0)), {"size": (100, 30)},
    ),
    "count_threads_light": (
        RunRequest(workload="count", strategy="threads", workers=2), (("enter", 8.0),), {"theme": "textual-light"},
    ),
}


async def shoot(name: str, request: RunRequest, steps: tuple[Step, ...], size: tuple[int, int], out: Path,
                theme: str | None = None) -> Path:
    app = GilvizApp(request, session_factory=Session, screenshot_dir=str(out), seconds=2.0, theme=theme)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 60
        while app.lab is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        # as a speaker would: the app open a moment before the first key, so
        # the lab has measured the mode's solo rate on an idle machine
        # (WARM_SOLO_AFTER_S); pressed at once, that rate was measured beside
        # the run's start, read low, and the lanes read "2.74× solo" at 1.96 cores
        await pilot.pause(WARM_SOLO_AFTER_S + 1.5)
        for key, seconds in steps:
            await pilot.press(key)
            await pilot.pause(0.2)
            if seconds is None:  # a compare: until it has ended
                deadline = time.monotonic() + 300
                while app.running and time.monotonic() < deadline:
                    await pilot.pause(0.1)
            else:  # a live run: let the audience watch
                await pilot.pause(seconds)
        app.draw(force=True)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
        await pilot.press("q")
    app.close_session()
    return path


async def gil_vs_nogil(out: Path, size: tuple[int, int]) -> Path | None:
    """v under this Python, then under a free-threaded one with its GIL off:
    the scoreboard holds both compares, labelled by interpreter."""
    import os

    from gilviz.ui.app import LabSettings

    ft = os.environ.get("GILVIZ_FT_PYTHON") or "/opt/py313t/bin/python3.13t"
    if not os.access(ft, os.X_OK):
        print(f"no free-threaded Python at {ft}: gil_vs_nogil skipped (set GILVIZ_FT_PYTHON)")
        return None
    app = GilvizApp(RunRequest(workload="count", strategy="threads", workers=2), session_factory=None,
                    screenshot_dir=str(out), seconds=2.0)
    async with app.run_test(size=size) as pilot:
        for settings in (None, LabSettings(python=ft, gil="off")):
            if settings is not None:
                app.change_lab(settings)
            deadline = time.monotonic() + 60
            while (app.lab is None or (settings is not None and app.lab.gil_enabled)) and time.monotonic() < deadline:
                await pilot.pause(0.1)
            await pilot.press("v")
            await pilot.pause(0.5)
            deadline = time.monotonic() + 300
            while app.running and time.monotonic() < deadline:
                await pilot.pause(0.1)
        app.draw(force=True)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename="gil_vs_nogil.svg", path=str(out)))
        await pilot.press("q")
    app.close_session()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the SVGs (default: screenshots/)")
    parser.add_argument("--size", default="120x36", help="terminal size, WIDTHxHEIGHT (default 120x36)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENES) + ["gil_vs_nogil"], help="make only these")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or [*SCENES, "gil_vs_nogil"]:
        if name == "gil_vs_nogil":
            print(asyncio.run(gil_vs_nogil(args.out, (width, height))))
            continue
        request, steps, options = SCENES[name]
        size = options.get("size", (width, height))
        path = asyncio.run(shoot(name, request, steps, size, args.out, options.get("theme")))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
