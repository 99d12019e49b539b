"""fetch: HTTP GET of URLs with requests, streaming the body.

I/O-bound: the GIL is released while the socket waits, so threads overlap
their waiting. By default the URLs are the embedded loopback server's (no
network); one task per URL. One unit is one byte received. Under the asyncio
strategy the same GET is a coroutine on aiohttp, one task per URL on one
event loop (one thread).
"""

from __future__ import annotations

import re
import time

from ..model import ALL_STRATEGIES, WorkerState
from ._spec import WorkloadSpec
from ._task import Progress, Task, TaskContext, TaskError

#: URLs asked of the embedded server when none are given (one worker each)
DEFAULT_URLS = 6
CHUNK_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024 * 1024  # a body larger than this is an error


def plan(workers: int, size: int | None, urls: tuple) -> list[Task]:
    """One task per URL; its amount is the body size when it is known in
    advance (the embedded server's), else 0."""
    return [Task(label=u, amount=size or 0, url=u) for u in urls]


def run(p: Progress, task: Task, ctx: TaskContext) -> None:
    import requests  # imported here: the CPU workloads never need it

    session = ctx.http_session
    if session is None:
        session = ctx.http_session = requests.Session()
    deadline = time.monotonic() + ctx.timeout_s
    p.state(WorkerState.WAITING)
    received = 0
    try:
        with session.get(task.url, timeout=ctx.timeout_s, stream=True, allow_redirects=True) as resp:
            resp.raise_for_status()
            for chunk in resp.iter_content(CHUNK_BYTES):
                received += len(chunk)
                p.add_units(len(chunk))
                if received > MAX_BODY_BYTES:
                    raise TaskError(f"body larger than {MAX_BODY_BYTES // (1 << 20)} MiB, stopped")
                if time.monotonic() > deadline:
                    raise TaskError(f"took longer than {ctx.timeout_s:g} s, stopped")
                if p.cancelled():
                    return
    except requests.exceptions.HTTPError as exc:
        response = exc.response
        status = f"{response.status_code} {response.reason}" if response is not None else str(exc)
        raise TaskError(f"HTTP {status}") from None
    except requests.exceptions.ConnectionError as exc:
        raise TaskError(f"connection failed: {reason(exc)}") from None
    except requests.exceptions.Timeout:
        raise TaskError(f"no answer within {ctx.timeout_s:g} s") from None
    except requests.exceptions.TooManyRedirects:
        raise TaskError("too many redirects") from None
    except requests.exceptions.RequestException as exc:
        raise TaskError(f"{type(exc).__name__}: {reason(exc)}") from None
    finally:
        p.cpu()


async def run_async(p: Progress, task: Task, ctx: TaskContext) -> None:
    """``run`` as a coroutine on aiohttp: the task awaits the network
    (WAITING) while the loop's one thread serves the other tasks."""
    import asyncio

    import aiohttp  # imported here: only the asyncio strategy needs it

    session = ctx.http_session  # one aiohttp.ClientSession for every task of the loop
    p.state(WorkerState.WAITING)
    received = 0
    timeout = aiohttp.ClientTimeout(total=ctx.timeout_s)
    try:
        async with session.get(task.url, timeout=timeout, allow_redirects=True) as resp:
            resp.raise_for_status()
            async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
                received += len(chunk)
                p.add_units(len(chunk))
                if received > MAX_BODY_BYTES:
                    raise TaskError(f"body larger than {MAX_BODY_BYTES // (1 << 20)} MiB, stopped")
                if p.cancelled():
                    return
    except aiohttp.TooManyRedirects:
        raise TaskError("too many redirects") from None
    except aiohttp.ClientResponseError as exc:
        raise TaskError(f"HTTP {exc.status} {exc.message}") from None
    except asyncio.TimeoutError:
        raise TaskError(f"no complete answer within {ctx.timeout_s:g} s") from None
    except aiohttp.ClientConnectionError as exc:
        raise TaskError(f"connection failed: {reason(exc)}") from None
    except aiohttp.ClientError as exc:
        raise TaskError(f"{type(exc).__name__}: {reason(exc)}") from None
    finally:
        p.cpu()


def reason(exc: BaseException) -> str:
    """The innermost, most telling reason of a requests exception."""
    text = str(exc)
    host = re.search(r"Failed to resolve '([^']+)'", text)
    if host:
        return f"cannot resolve host {host.group(1)!r}"
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if errno:
        return errno.group(0).strip()
    return text[:160]


SPEC = WorkloadSpec(
    name="fetch",
    key="f",
    title="download URLs (I/O, releases the GIL while waiting)",
    help="download URLs (I/O-bound, threads overlap their waiting)",
    unit="bytes",
    size_help="body bytes per URL from the embedded server",
    default_size=256 * 1024,
    max_size=64 * 1024 * 1024,
    runner=run,
    io_bound=True,
    releases_gil=True,
    default_workers=DEFAULT_URLS,
    options=frozenset({"urls"}),
    planner=plan,
    strategies=ALL_STRATEGIES,
    async_runner=run_async,
    explainer={
        "sequential": (
            "One worker fetches the URLs one after another: the waits add up, one latency per URL, "
            "and the CPU idles meanwhile."
        ),
        "threads": (
            "A thread waiting for the network releases the GIL, so the threads' waits overlap: the lanes wait "
            "together and the run takes about one latency instead of one per URL, with [b]cores used[/] near 0."
        ),
        "processes": (
            "Processes overlap their waits as well, but each starts a new interpreter: for I/O, threads do "
            "the same job cheaper."
        ),
        "asyncio": (
            "One thread, one event loop, one task per URL: a task that awaits the network hands the thread "
            "back to the loop, which starts the next request. Every request is in flight at once, so the run "
            "takes about one latency, like threads, with no GIL to pass: waiting needs no thread of its own."
        ),
    },
    explainer_nogil={
        "threads": (
            "The threads' waits overlap: the lanes wait together and the run takes about one latency instead "
            "of one per URL, with [b]cores used[/] near 0. On a GIL build too: a waiting thread lets go of the GIL."
        ),
        "asyncio": (
            "One thread, one event loop, one task per URL: every request is in flight at once, so the run "
            "takes about one latency, like threads: waiting needs no thread of its own."
        ),
    },
)
