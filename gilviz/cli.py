"""Command line: ``gilviz`` (the live app), ``gilviz run``, ``gilviz compare``."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from typing import TYPE_CHECKING, Sequence
from urllib.parse import urlsplit

from . import __version__, export
from .engine.loopback import MAX_LATENCY_S
from .engine.model import MAX_WORKERS, MIN_WORKERS, RACE_STYLES, STRATEGIES, RunRequest, RunResult
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
    if not os.path.isfile(text) or not os.access(text, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not an executable file")
    return text


# --- the parser ----------------------------------------------------------------


def _add_run_options(p: argparse.ArgumentParser, *, with_strategy: bool = True) -> None:
    g = p.add_argument_group("what to run")
    g.add_argument(
        "-w", "--workload", choices=tuple(WORKLOADS), default=None,
        help="; ".join(f"{w.name}: {w.help}" for w in WORKLOADS.values())
        + ". Default: count (fetch when --url is given)",
    )
    if with_strategy:
        g.add_argument(
            "-s", "--strategy", choices=STRATEGIES, default="threads",
            help="sequential: one worker does every task in turn; threads: one thread per "
            "worker, all sharing one GIL; processes: one process per worker, each with "
            "its own GIL. Default: threads",
        )
    g.add_argument(
        "-n", "--workers", type=workers_arg, default=None, metavar="N",
        help=f"how many threads or processes ({MIN_WORKERS}-{MAX_WORKERS}); the work is split "
        "into one task per worker, so every strategy does the same total work. "
        "Default: 4 (fetch: one per URL)",
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
    a = p.add_argument_group("interpreter")
    a.add_argument(
        "--python", type=python_arg, default=None, metavar="PATH",
        help="run the lab (the workers) under this Python, e.g. a free-threaded 3.13t "
        "(default: the Python running gilviz)",
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
        "  gilviz run -w race --lock                the race, fixed by a lock\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gilviz {__version__}")
    _add_run_options(parser)
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
        "(measured, not assumed).",
    )
    _add_run_options(compare, with_strategy=False)
    out = compare.add_argument_group("output")
    fmt = out.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of the three runs")
    fmt.add_argument("--markdown", action="store_true", help="print the scoreboard as a Markdown table, for slides")
    out.add_argument(
        "--results", metavar="FILE.jsonl", default=None,
        help="also append each run as one JSON line to this file",
    )
    serve = sub.add_parser(
        "serve", help="serve the live app to a web browser (for a projector showing a browser)",
        description="Serve the live app in a web browser with textual-serve. Each browser tab "
        "gets its own app and its own lab. Listens on 127.0.0.1 only unless --host says "
        "otherwise. The run options choose the mode the app opens in.",
    )
    _add_run_options(serve)
    web = serve.add_argument_group("web")
    web.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=port_arg, default=8000, help="port to listen on (default 8000)")
    return parser


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
    return RunRequest(
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        request = request_from_args(args)
        check_output_paths(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command is None:
        from .ui.app import run_app

        return run_app(request, python=args.python)
    if args.command == "serve":
        return serve(args)
    return headless(args, request)


def headless(args: argparse.Namespace, request: RunRequest) -> int:
    """``gilviz run`` and ``gilviz compare``: measure in the lab, print, export."""
    from .engine.client import LabError
    from .engine.session import RunFailed, Session

    # SIGTERM and a closed terminal end us like Ctrl+C does: through the
    # finally below, which ends the lab and every worker.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    session = Session(python=args.python)
    try:
        command = run_command if args.command == "run" else compare_command
        results = command(args, request, session)
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
        session.close()


def run_command(args: argparse.Namespace, request: RunRequest, session: Session) -> list[RunResult]:
    """One run: print it (summary or JSON), write its trace if asked."""
    result = session.run(request)
    print(export.run_json(result) if args.json else export.run_summary(result))
    if args.trace:
        where = export.write_trace(result, args.trace, force=args.force)
        print(f"gilviz: trace written to {where}", file=sys.stderr)
    return [result]


def compare_command(args: argparse.Namespace, request: RunRequest, session: Session) -> list[RunResult]:
    """Sequential, threads, processes on the same work: print the comparison."""
    results = session.compare(request)
    if args.json:
        print(export.compare_json(results))
    elif args.markdown:
        print(export.compare_markdown(results))
    else:
        print(export.compare_table(results))
    return results


if __name__ == "__main__":
    sys.exit(main())
