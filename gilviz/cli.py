"""Command line: ``gilviz`` (the live app), ``gilviz run``, ``gilviz compare``,
``gilviz pythons``, ``gilviz serve``."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence
from urllib.parse import urlsplit

from . import __version__, export
from .engine.interpreters import Interpreter, InterpreterError, looks_like_path, parse_cpus
from .engine.loopback import MAX_LATENCY_S
from .engine.model import ALL_STRATEGIES, MAX_WORKERS, MIN_WORKERS, RACE_STYLES, RunRequest, RunResult
from .engine.plan import COMPARE_BY, compare_variants
from .engine.workloads import WORKLOADS, spec

if TYPE_CHECKING:
    from .engine.session import Session

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

MIN_SWITCH_INTERVAL_S, MAX_SWITCH_INTERVAL_S = 1e-6, 10.0
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.1, 600.0


# --- validation (each raises argparse.ArgumentTypeError with a clear reason) --


def workers_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not MIN_WORKERS <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use {MIN_WORKERS} to {MAX_WORKERS} workers")
    return value


def positive_int_arg(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _float_in(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is out of range: {what} must be {low:g} to {high:g} seconds")
    return value


#: The app's compare (v) is sized so a sequential run takes about this long.
APP_SECONDS = 5.0
#: --seconds: fixed work sized by time; --duration: how long a live run goes on
MIN_SECONDS, MAX_SECONDS = 0.1, 600.0
MIN_DURATION_S, MAX_DURATION_S = 0.5, 86_400.0


def seconds_arg(text: str) -> float:
    return _float_in(text, MIN_SECONDS, MAX_SECONDS, "--seconds")


def duration_arg(text: str) -> float:
    return _float_in(text, MIN_DURATION_S, MAX_DURATION_S, "--duration")


def switch_interval_arg(text: str) -> float:
    return _float_in(text, MIN_SWITCH_INTERVAL_S, MAX_SWITCH_INTERVAL_S, "the switch interval")


def latency_arg(text: str) -> float:
    return _float_in(text, 0.0, MAX_LATENCY_S, "the latency")


def timeout_arg(text: str) -> float:
    return _float_in(text, MIN_TIMEOUT_S, MAX_TIMEOUT_S, "the timeout")


def url_arg(text: str) -> str:
    """Accept http and https URLs with a host; refuse everything else."""
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise argparse.ArgumentTypeError(f"{text!r}: a URL cannot contain spaces or control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise argparse.ArgumentTypeError(
            f"{text!r}: only http:// and https:// URLs can be fetched ({shown} given)"
        )
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} has no host name")
    return text


def python_arg(text: str) -> str:
    """A path (checked now) or a short name such as 3.13t (looked up later)."""
    if looks_like_path(text) and (not os.path.isfile(text) or not os.access(text, os.X_OK)):
        raise argparse.ArgumentTypeError(f"{text!r} is not an executable file")
    return text


def cpus_arg(text: str) -> tuple[int, ...]:
    try:
        return parse_cpus(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- the parser ----------------------------------------------------------------


def _add_run_options(p: argparse.ArgumentParser, *, with_strategy: bool = True, several: bool = False) -> None:
    """The options of a run; ``several``: --python and --gil may repeat (compare)."""
    g = p.add_argument_group("what to run")
    g.add_argument(
        "-w", "--workload", choices=tuple(WORKLOADS), default=None,
        help="; ".join(f"{w.name}: {w.help}" for w in WORKLOADS.values())
        + ". Default: count (fetch when --url is given)",
    )
    if with_strategy:
        g.add_argument(
            "-s", "--strategy", choices=ALL_STRATEGIES, default="threads",
            help="sequential: one worker does every task in turn; threads: one thread per "
            "worker, all sharing one GIL; processes: one process per worker, each with "
            "its own GIL; asyncio (fetch only): one thread, one event loop, one task per "
            "URL, on aiohttp. Default: threads",
        )
    g.add_argument(
        "-n", "--workers", type=workers_arg, default=None, metavar="N",
        help=f"how many threads or processes ({MIN_WORKERS}-{MAX_WORKERS}); the work is split "
        "into one task per worker, so every strategy does the same total work. "
        "Default: 4 (fetch: one per URL; convoy: the CPU workers beside its I/O thread, default 1)",
    )
    g.add_argument(
        "--size", type=positive_int_arg, default=None, metavar="N",
        help="total work: "
        + ", ".join(f"{w.size_help} ({w.name}, default {w.default_size:,})" for w in WORKLOADS.values()),
    )
    g.add_argument(
        "--switch-interval", type=switch_interval_arg, default=None, metavar="SECONDS",
        help="how long a thread may hold the GIL before it is asked to pass it on "
        "(sys.setswitchinterval; CPython's default is 0.005)",
    )
    lock = g.add_mutually_exclusive_group()
    lock.add_argument("--lock", dest="lock", action="store_true", default=False,
                      help="race: protect the counter with a lock (no update is lost)")
    lock.add_argument("--no-lock", dest="lock", action="store_false",
                      help="race: no lock, so updates are lost (the default)")
    g.add_argument(
        "--race-style", choices=RACE_STYLES, default="call",
        help="race: 'call' reads the counter, calls a function, then writes it back, and "
        "loses updates on every CPython; 'plain' is the classic 'counter += 1', which "
        "CPython 3.10+ never interrupts between read and write, so threads lose "
        "nothing (processes on shared memory still do). Default: call",
    )
    f = p.add_argument_group("fetch")
    f.add_argument(
        "--url", dest="urls", action="append", type=url_arg, default=[], metavar="URL",
        help="fetch this http(s) URL instead of the embedded loopback server; repeat for "
        "more URLs (e.g. --url https://python.org --url https://github.com)",
    )
    f.add_argument(
        "--latency", type=latency_arg, default=0.5, metavar="SECONDS",
        help="how long the embedded server waits before answering each URL (default 0.5)",
    )
    f.add_argument(
        "--timeout", type=timeout_arg, default=10.0, metavar="SECONDS",
        help="give up on a URL after this long (default 10)",
    )
    t = p.add_argument_group("how long")
    t.add_argument(
        "--seconds", type=seconds_arg, default=None, metavar="S",
        help="size the work by time: as much as one worker alone does in about S seconds on this "
        "machine (measured by the lab), so a sequential run takes about that long and every "
        f"strategy does the same work ({MIN_SECONDS:g}-{MAX_SECONDS:g}; not with --size; fetch is "
        "sized by --latency; with compare --by lock, the locked run takes about S). Default: the "
        "workload's fixed size; in the app, 5 for v (compare)",
    )
    if with_strategy:
        t.add_argument(
            "--duration", type=duration_arg, default=None, metavar="S",
            help="a live run: every worker repeats its work until stopped, or for S seconds "
            f"({MIN_DURATION_S:g}-{MAX_DURATION_S:g}), and the result is a throughput. 'gilviz run "
            "--duration 10' measures one for 10 s; the app's runs are live and end at x, or after S",
        )
    a = p.add_argument_group("interpreter")
    a.add_argument(
        "--python", type=python_arg, default=None, metavar="PYTHON",
        action="append" if several else "store",
        help="run the lab (the workers) under this Python: a path, or a name that "
        "'gilviz pythons' lists, such as 3.13t, 3.12 or 3.9 (CPython 3.8 or newer; "
        "gilviz itself needs 3.10+, its lab does not)"
        + (". Repeat it to compare interpreters: --python 3.9 --python 3.11" if several else "")
        + ". Default: the Python running gilviz",
    )
    a.add_argument(
        "--gil", choices=("on", "off"), default=None, action="append" if several else "store",
        help="on a free-threaded build (3.13t and newer): run the lab with the GIL turned on "
        "(PYTHON_GIL=1) or off (PYTHON_GIL=0); 'off' is refused on a build that has a GIL"
        + (". Give both (--gil on --gil off) to compare them" if several else "")
        + ". Default: the build's own default",
    )
    a.add_argument(
        "--cpus", type=cpus_arg, default=None, metavar="LIST",
        help="run and compare: pin the lab and every worker to these cores, e.g. 0, 0,1 "
        "or 0-3 (os.sched_setaffinity, Linux): processes pinned to one core take turns "
        "like threads under the GIL. Default: every core",
    )


def theme_names() -> tuple[str, ...]:
    """The themes the app can open in: ours first, then Textual's built-in ones."""
    from textual.theme import BUILTIN_THEMES

    from .ui.theme import GILVIZ_THEME

    return (GILVIZ_THEME.name, *BUILTIN_THEMES)


def theme_arg(text: str) -> str:
    names = theme_names()
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown theme {text!r}; the themes are: {', '.join(names)}")
    return text


def _add_app_options(p: argparse.ArgumentParser) -> None:
    """The options of the live app (``gilviz`` and ``gilviz serve``)."""
    a = p.add_argument_group("app")
    a.add_argument(
        "--theme", type=theme_arg, default=None, metavar="NAME",
        help="the app's colours: gilviz (the default, high contrast for a projector), textual-light "
        "(for a bright hall), or any Textual theme; an unknown name lists them all",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gilviz",
        description="See CPython's Global Interpreter Lock at work. Without a command, "
        "gilviz opens the live app: one lane per worker thread or process, core "
        "meters and a scoreboard. The commands run the same measurements headless.",
        epilog="Examples:\n"
        "  gilviz                                   open the live app\n"
        "  gilviz --workload fetch                  open it on the I/O demo\n"
        "  gilviz run -w count -s threads           one run, as a summary\n"
        "  gilviz compare -w count --json           sequential vs threads vs processes\n"
        "  gilviz run -w race --lock                the race, fixed by a lock\n"
        "  gilviz compare -w race --by lock         the race without and with the lock\n"
        "  gilviz pythons                           the interpreters gilviz can use\n"
        "  gilviz compare --python 3.13t --gil on --gil off\n"
        "                                           the free-threaded build with and without its GIL\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gilviz {__version__}")
    _add_run_options(parser)
    _add_app_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run one workload with one strategy and print what was measured",
        description="Run one workload with one strategy in the lab process and print "
        "what was measured: wall time, CPU time, cores used (CPU time / wall time), "
        "per-worker results, and for race the lost updates. Exit status: 0 when the "
        "run completed (failed URLs are listed, not fatal), 1 when it could not, "
        "2 for bad options.",
    )
    _add_run_options(run)
    out = run.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    out.add_argument(
        "--trace", metavar="FILE.json", default=None,
        help="also write the run's lanes as a Chrome Trace Event file (open it in "
        "https://ui.perfetto.dev or chrome://tracing)",
    )
    out.add_argument("--force", action="store_true", help="let --trace replace an existing file")
    out.add_argument(
        "--results", metavar="FILE.jsonl", default=None,
        help="also append the result as one JSON line to this file (to prepare numbers before a talk)",
    )

    compare = sub.add_parser(
        "compare", help="run sequential, threads and processes on the same work and compare",
        description="Run the same total work three times, sequential, threads, then "
        "processes, and print a table with the speedup of each against sequential "
        "(measured, not assumed). With several --python or --gil, do so under each "
        "interpreter and GIL setting; each one's speedups are against its own sequential run. "
        "With --by lock (the race), run its threads without and then with the lock instead.",
    )
    _add_run_options(compare, with_strategy=False, several=True)
    compare.add_argument(
        "--by", choices=COMPARE_BY, default="strategy",
        help="what the runs differ in: 'strategy' (sequential, threads, processes; the default) or "
        "'lock' (race only: threads without, then with the lock, on the same increments; the "
        "speedup is against the run without it)",
    )
    compare.add_argument(
        "--repeat", type=repeat_arg, default=1, metavar="N",
        help=f"run the three strategies N times, interleaved (1-{MAX_REPEAT}), and report each one's "
        "median pass with the range of its wall times: one pass on a machine whose speed drifts is "
        "one sample. Default: 1",
    )
    out = compare.add_argument_group("output")
    fmt = out.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print a JSON list of the three runs (three per interpreter and GIL setting)")
    fmt.add_argument("--markdown", action="store_true", help="print the scoreboard as a Markdown table, for slides")
    out.add_argument(
        "--results", metavar="FILE.jsonl", default=None,
        help="also append each run as one JSON line to this file",
    )
    pythons = sub.add_parser(
        "pythons", help="list the Python interpreters gilviz can run its lab under",
        description="Find the Pythons on this machine (PATH, pyenv, uv, /opt, /usr/local/bin, "
        "/usr/bin), ask each what it is, and say whether gilviz's lab can run there "
        "(CPython 3.8 or newer; fetch also needs requests). The short names in the first "
        "column work with --python.",
    )
    pythons.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    serve = sub.add_parser(
        "serve", help="serve the live app to a web browser (for a projector showing a browser)",
        description="Serve the live app in a web browser with textual-serve. Each browser tab "
        "gets its own app and its own lab. Listens on 127.0.0.1 only unless --host says "
        "otherwise. The run options choose the mode the app opens in.",
    )
    _add_run_options(serve)
    _add_app_options(serve)
    web = serve.add_argument_group("web")
    web.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=port_arg, default=8000, help="port to listen on (default 8000)")
    return parser


#: compare --repeat: at most this many passes
MAX_REPEAT = 50


def repeat_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_REPEAT:
        raise argparse.ArgumentTypeError(f"{value} is out of range: repeat 1 to {MAX_REPEAT} times")
    return value


def port_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: ports are 1 to 65535")
    return value


def app_command(args: argparse.Namespace) -> str:
    """The shell command that opens the app in the mode ``args`` asks for.

    textual-serve runs it through a shell: every piece is quoted, and every
    piece was validated by the parser first."""
    import shlex

    parts = [sys.executable, "-m", "gilviz"]
    if args.workload:
        parts += ["--workload", args.workload]
    parts += ["--strategy", args.strategy]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.size:
        parts += ["--size", str(args.size)]
    if args.switch_interval:
        parts += ["--switch-interval", repr(args.switch_interval)]
    parts += ["--lock"] if args.lock else []
    parts += ["--race-style", args.race_style]
    for url in args.urls:
        parts += ["--url", url]
    parts += ["--latency", repr(args.latency), "--timeout", repr(args.timeout)]
    if args.python:
        parts += ["--python", args.python]
    if args.gil:
        parts += ["--gil", args.gil]
    if args.seconds:
        parts += ["--seconds", repr(args.seconds)]
    if args.duration:
        parts += ["--duration", repr(args.duration)]
    if args.theme:
        parts += ["--theme", args.theme]
    return " ".join(shlex.quote(p) for p in parts)


def serve(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        print("gilviz: 'gilviz serve' needs textual-serve: pip install 'gilviz[serve]'", file=sys.stderr)
        return EXIT_USAGE
    print(f"gilviz: serving the app on http://{args.host}:{args.port} (Ctrl+C to stop)", file=sys.stderr)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    try:
        Server(app_command(args), host=args.host, port=args.port, title="gilviz").serve()
    except KeyboardInterrupt:
        pass
    finally:
        end_descendants()
    return EXIT_OK


def end_descendants(grace_s: float = 5.0) -> None:
    """End every process we started (apps of open tabs, their labs, workers):
    politely first, then for good."""
    import psutil

    procs = psutil.Process().children(recursive=True)
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive + psutil.Process().children(recursive=True):
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def _check_file_path(flag: str, path: str) -> None:
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{flag} {path!r}: the folder {folder!r} does not exist")


def check_output_paths(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, to write where we cannot or should not."""
    trace = getattr(args, "trace", None)
    if trace is not None:
        _check_file_path("--trace", trace)
        if os.path.exists(trace) and not args.force:
            raise ValueError(f"--trace {trace!r} already exists; add --force to replace it")
    results = getattr(args, "results", None)
    if results is not None:
        _check_file_path("--results", results)


def request_from_args(args: argparse.Namespace) -> RunRequest:
    from .engine.session import default_workers

    workload = args.workload or ("fetch" if args.urls else "count")
    urls = tuple(args.urls)
    limit = spec(workload).max_size
    if args.size is not None and args.size > limit:
        raise ValueError(f"--size {args.size} is too large for {workload}: at most {limit:,}")
    if urls and "urls" not in spec(workload).options:
        raise ValueError(f"--url only applies to the fetch workload, not {workload}")
    if urls and args.size is not None:
        raise ValueError("--size sets the embedded server's body size; with --url the servers decide")
    refused = spec(workload).refusal(getattr(args, "strategy", "threads"))
    if refused:
        raise ValueError(refused)
    if args.size is not None and args.seconds is not None:
        raise ValueError("--size and --seconds both say how much work to do: give one of them")
    duration = getattr(args, "duration", None)
    return RunRequest(
        live=duration is not None and args.command == "run",
        duration_s=duration,
        workload=workload,
        strategy=getattr(args, "strategy", "threads"),
        workers=args.workers or default_workers(workload, urls),
        size=args.size,
        switch_interval_s=args.switch_interval,
        lock=args.lock,
        race_style=args.race_style,
        urls=urls,
        latency_s=args.latency,
        timeout_s=args.timeout,
    )


# --- running ---------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True)
class LabChoice:
    """One interpreter and GIL setting to run the lab with."""

    python: str | None  # None: the Python running gilviz
    gil: str | None  # "on", "off", None (the build's default)
    interpreter: Interpreter
    #: how tables name this interpreter: its short name ("3.13t"), or its
    #: version or path where two compared interpreters share a short name
    name: str = ""

    def label(self, gil_enabled: bool) -> str:
        """"3.11 GIL", "3.13t no-GIL": the GIL as the lab measured it."""
        return f"{self.name or self.interpreter.short_name} {'GIL' if gil_enabled else 'no-GIL'}"


def lab_choices(args: argparse.Namespace, workload: str) -> list[LabChoice]:
    """Every (interpreter, GIL setting) the options name, each checked before
    anything starts: ValueError (InterpreterError) says what is wrong."""
    from .engine import interpreters

    pythons = args.python if isinstance(args.python, list) else ([args.python] if args.python else [])
    gils = args.gil if isinstance(args.gil, list) else [args.gil]
    known: list[Interpreter] | None = None
    found: dict[str, Interpreter] = {}  # by real path: one interpreter named twice runs once
    for name in pythons:
        if not looks_like_path(name) and known is None:
            known = interpreters.discover()
        interp = interpreters.resolve(name, known)
        found.setdefault(os.path.realpath(interp.path), interp)
    if not found:
        found = {sys.executable: interpreters.current()}
    names = _distinct_names(list(found.values()))
    choices = []
    for interp, name in zip(found.values(), names, strict=True):
        for gil in dict.fromkeys(gils):
            interpreters.check_gil(interp, gil)
            if workload == "fetch" and not interp.has_requests:
                raise InterpreterError(interp.requests_hint())
            python = interp.path if pythons else None
            choices.append(LabChoice(python, gil, interp, name))
    return choices


def _distinct_names(found: list[Interpreter]) -> list[str]:
    """Short names, made longer (version, then path) where two would be the same."""
    names = [i.short_name for i in found]
    if len(set(names)) < len(names):
        names = [i.version + ("t" if i.free_threaded else "") for i in found]
    if len(set(names)) < len(names):
        names = [i.path for i in found]
    return names


def list_pythons(as_json: bool) -> int:
    """``gilviz pythons``: the interpreters found here, as a table or JSON."""
    import json

    from .engine.interpreters import discover

    found = discover()
    if as_json:
        print(json.dumps([i.to_dict() for i in found], indent=2))
        return EXIT_OK
    if not found:
        print("no Python interpreter found")
        return EXIT_OK
    print(f"  {'name':<10} {'version':<9} {'build':<15} {'GIL by default':<15} {'lab':<4} path")
    for i in found:
        build = "free-threaded" if i.free_threaded else "GIL"
        row = (f"  {i.short_name:<10} {i.version:<9} {build:<15} {'on' if i.gil_enabled_by_default else 'off':<15} "
               f"{'yes' if i.lab_ok else 'no':<4} {i.path}")
        if i.why_not:
            row += f"   ({i.why_not})"
        print(row)
    return EXIT_OK


def check_compare_by(args: argparse.Namespace, request: RunRequest) -> None:
    """``compare --by lock``: only the race has a lock, and the compare runs
    it both ways, so ``--lock`` says nothing more."""
    if getattr(args, "by", "strategy") != "lock":
        return
    compare_variants(request, "lock")  # ValueError for a workload with no lock
    if request.lock:
        raise ValueError("--by lock runs the race without and then with the lock; leave out --lock")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "pythons":
        return list_pythons(args.json)
    try:
        request = request_from_args(args)
        check_compare_by(args, request)
        check_output_paths(args)
        choices = lab_choices(args, request.workload)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command in (None, "serve"):
        if args.cpus:
            parser.error("--cpus applies to 'gilviz run' and 'gilviz compare'; the live app does not pin its lab")
        args.python = choices[0].python  # serve's apps get it (and --gil) on their command line
    if args.command is None:
        from .ui.app import run_app

        return run_app(request, python=args.python, seconds=args.seconds or APP_SECONDS, theme=args.theme,
                       gil=choices[0].gil)
    if args.command == "serve":
        return serve(args)
    try:
        return headless(args, request, choices)
    except BrokenPipeError:  # `gilviz run | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK


def headless(args: argparse.Namespace, request: RunRequest, choices: list[LabChoice]) -> int:
    """``gilviz run`` and ``gilviz compare``: measure in the lab, print, export."""
    from .engine.client import LabError
    from .engine.session import RunFailed, Session

    # SIGTERM and a closed terminal end us like Ctrl+C does: through the
    # finally below, which ends the lab and every worker.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    sessions: list[Session] = []

    def open_session(choice: LabChoice) -> Session:
        session = Session(python=choice.python, gil=choice.gil, cpus=args.cpus)
        sessions.append(session)
        return session

    try:
        if args.command == "run":
            results = run_command(args, request, open_session(choices[0]))
        elif len(choices) == 1:
            results = compare_command(args, request, open_session(choices[0]))
        else:
            results = compare_interpreters(args, request, choices, open_session)
        if args.results:
            export.append_json_lines(args.results, results)
        return EXIT_OK
    except (RunFailed, LabError) as exc:
        print(f"gilviz: the run failed: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        print("gilviz: interrupted; the lab and its workers were stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for session in sessions:
            session.close()


def sized(args: argparse.Namespace, request: RunRequest, session: Session) -> RunRequest:
    """With --seconds, the work one worker alone does in that long (measured
    on a sequential worker, as compare sizes its runs)."""
    if args.seconds is None or request.live:
        return request
    return replace(request, size=session.sized_for_compare(request, args.seconds).size)


def run_command(args: argparse.Namespace, request: RunRequest, session: Session) -> list[RunResult]:
    """One run: print it (summary or JSON), write its trace if asked."""
    request = sized(args, request, session)
    result = session.convoy(request) if spec(request.workload).sweep and not request.live else session.run(request)
    print(export.run_json(result) if args.json else export.run_summary(result))
    if args.trace:
        where = export.write_trace(result, args.trace, force=args.force)
        print(f"gilviz: trace written to {where}", file=sys.stderr)
    return [result]


def compare_command(args: argparse.Namespace, request: RunRequest, session: Session) -> list[RunResult]:
    """Sequential, threads, processes on the same work (or the race without
    and with its lock): print the comparison."""
    results = session.compare(request, repeat=args.repeat, by=args.by, seconds=args.seconds)
    print_compare(args, results)
    return results


def compare_interpreters(args: argparse.Namespace, request: RunRequest, choices: list[LabChoice],
                         open_session) -> list[RunResult]:
    """The compare under each interpreter and GIL setting, one after another,
    each lab ended before the next starts (they would compete for the cores);
    one table with an interpreter column."""
    results: list[RunResult] = []
    labels: list[str] = []
    for choice in choices:
        session = open_session(choice)
        try:
            runs = session.compare(request, repeat=args.repeat, by=args.by, seconds=args.seconds)
        finally:
            session.close()
        results += runs
        labels += [choice.label(r.gil_enabled) for r in runs]
    print_compare(args, results, labels)
    return results


def print_compare(args: argparse.Namespace, results: list[RunResult], labels: list[str] | None = None) -> None:
    """As --json or --markdown ask, else as a table; ``labels``: each run's interpreter."""
    if args.json:
        print(export.compare_json(results, interpreters=labels))
    elif args.markdown:
        print(export.compare_markdown(results, interpreters=labels))
    else:
        print(export.compare_table(results, interpreters=labels))


if __name__ == "__main__":
    sys.exit(main())
