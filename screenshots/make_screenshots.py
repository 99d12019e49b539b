"""Make the SVG screenshots in screenshots/ from real runs.

    python screenshots/make_screenshots.py            # all of them, into screenshots/
    python screenshots/make_screenshots.py --only race_lock --size 140x40

Each scene opens the app headless (Textual's ``App.run_test``) on the real lab,
presses the keys a speaker would press, waits for the run to end, and saves
what is on screen. Figures are this machine's measurements: rerun it on yours.
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
from gilviz.ui.app import GilvizApp  # noqa: E402

HERE = Path(__file__).resolve().parent

#: name -> (the mode the app opens in, the keys pressed, one after another)
SCENES: dict[str, tuple[RunRequest, tuple[str, ...]]] = {
    "count_threads": (RunRequest(workload="count", strategy="threads", workers=4), ("enter",)),
    "count_threads_switch_100ms": (
        RunRequest(workload="count", strategy="threads", workers=4, switch_interval_s=0.1),
        ("enter",),
    ),
    "count_processes": (RunRequest(workload="count", strategy="processes", workers=4), ("enter",)),
    "fetch_threads": (RunRequest(workload="fetch", strategy="threads", workers=6), ("enter",)),
    "race_no_lock": (RunRequest(workload="race", strategy="threads", workers=4), ("enter",)),
    "race_lock": (RunRequest(workload="race", strategy="threads", workers=4, lock=True), ("enter",)),
    "scoreboard_compare": (RunRequest(workload="count", strategy="threads", workers=4), ("v",)),
}


async def shoot(name: str, request: RunRequest, keys: tuple[str, ...], size: tuple[int, int], out: Path) -> Path:
    app = GilvizApp(request, session_factory=Session, screenshot_dir=str(out))
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 60
        while app.lab is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
            deadline = time.monotonic() + 300
            while app.running and time.monotonic() < deadline:
                await pilot.pause(0.1)
        app.draw(force=True)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
        await pilot.press("q")
    app.close_session()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the SVGs (default: screenshots/)")
    parser.add_argument("--size", default="120x36", help="terminal size, WIDTHxHEIGHT (default 120x36)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENES), help="make only these")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or SCENES:
        request, keys = SCENES[name]
        path = asyncio.run(shoot(name, request, keys, (width, height), args.out))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
