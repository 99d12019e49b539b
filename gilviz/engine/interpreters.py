"""Which Pythons can run the lab: find them, ask each what it is, pick one.

gilviz itself runs on 3.10+, but the lab (the child process where the
workloads run) only needs CPython 3.8+ and the standard library (plus
requests for fetch). This module finds interpreters on this machine, asks
each about itself with a tiny script (a subprocess with a short timeout, so
a broken or hanging binary cannot stall us), and resolves what ``--python``
names: a path, or a short name such as ``3.13t``, ``3.12`` or ``3.9``.

Runs in the parent only.
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

#: The oldest Python the lab runs on (3.7 lacks threading.get_native_id and
#: typing.Protocol). Keep in step with lab.MIN_PYTHON.
MIN_LAB_VERSION = (3, 8)
#: How long an interpreter gets to describe itself (a cold start of an old
#: Python on a busy machine takes about a second).
PROBE_TIMEOUT_S = 5.0
#: Interpreter file names worth probing: python3, python3.12, python3.13t.
_NAME = re.compile(r"^python3(\.\d+)?t?$")

#: Asks an interpreter about itself. Must run on any Python (even 2.7, to say
#: "too old" rather than "not Python"): no f-strings, nothing imported that
#: might be missing, and requests only looked up, never imported (slow).
PROBE_SCRIPT = r"""
import sys, json
try:
    import sysconfig
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
except Exception:
    ft = False
check = getattr(sys, "_is_gil_enabled", None)
try:
    import importlib.util
    req = importlib.util.find_spec("requests") is not None
except Exception:
    req = False
print("GILVIZ-PROBE " + json.dumps({
    "version": list(sys.version_info[:3]),
    "implementation": sys.implementation.name if hasattr(sys, "implementation") else "unknown",
    "free_threaded": ft,
    "gil_enabled": bool(check()) if check is not None else True,
    "requests": req,
}))
"""


class InterpreterError(ValueError):
    """A path or name that does not give a Python the lab can use; the message says why."""


@dataclass(frozen=True)
class Interpreter:
    """One Python on this machine, as it describes itself."""

    path: str
    version: str  # "3.13.5"
    implementation: str  # "CPython", "PyPy"
    #: built with --disable-gil (sysconfig's Py_GIL_DISABLED)
    free_threaded: bool
    #: sys._is_gil_enabled() with no PYTHON_GIL set (True where it does not exist)
    gil_enabled_by_default: bool
    #: the lab can run there (CPython-compatible, >= 3.8)
    lab_ok: bool
    #: why the lab cannot run there, or what it cannot do ("fetch needs requests"); "" if nothing
    why_not: str
    short_name: str  # "3.13t", "3.12", "pypy3.10"
    #: requests is importable (the fetch workload needs it)
    has_requests: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def requests_hint(self) -> str:
        return f"the fetch workload needs the package 'requests' in {self.path}: {self.path} -m pip install requests"


def _short_name(implementation: str, version: tuple[int, ...], free_threaded: bool) -> str:
    base = f"{version[0]}.{version[1]}" + ("t" if free_threaded else "")
    return base if implementation == "cpython" else f"{implementation}{base}"


def probe(path: str, timeout_s: float = PROBE_TIMEOUT_S) -> Interpreter:
    """Ask ``path`` what it is. InterpreterError if it is no Python at all
    (not a file, not executable, no answer, a hang); an old or foreign Python
    is returned with ``lab_ok`` False and the reason."""
    if not os.path.exists(path):
        raise InterpreterError(f"{path!r} does not exist")
    if not os.path.isfile(path):
        raise InterpreterError(f"{path!r} is not a file")
    if not os.access(path, os.X_OK):
        raise InterpreterError(f"{path!r} is not executable")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        # its own process group: on a timeout, whatever it started ends with it
        proc = subprocess.Popen(
            [path, "-c", PROBE_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env=env, text=True, errors="replace", start_new_session=True,
        )
    except OSError as exc:
        raise InterpreterError(f"{path!r} cannot be run: {exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise InterpreterError(f"{path!r} did not answer within {timeout_s:g} s: is it a Python?") from None
    finally:
        _kill_group(proc)  # a Python that answered may have left a child behind; never us
    line = next((ln for ln in stdout.splitlines() if ln.startswith("GILVIZ-PROBE ")), None)
    if line is None:
        first = (stderr.strip().splitlines() or [""])[-1][:200]
        if "SyntaxError" in stderr:
            why = "a Python too old to answer (gilviz's lab needs 3.8 or newer)"
        else:
            why = "not a Python" + (f" ({first})" if first else "")
        raise InterpreterError(f"{path!r} is {why}")
    data = json.loads(line[len("GILVIZ-PROBE "):])
    version = tuple(data["version"])
    impl = str(data["implementation"])
    why, ok = "", True
    if version < MIN_LAB_VERSION:
        ok, why = False, f"Python {'.'.join(map(str, version))} is too old: the lab needs 3.8 or newer"
    elif impl != "cpython":
        ok, why = False, f"{impl} is not CPython: the lab needs CPython 3.8+"
    elif not data["requests"]:
        why = "fetch needs requests"
    return Interpreter(
        path=path,
        version=".".join(str(v) for v in version),
        implementation={"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        free_threaded=bool(data["free_threaded"]),
        gil_enabled_by_default=bool(data["gil_enabled"]),
        lab_ok=ok,
        why_not=why,
        short_name=_short_name(impl, version, bool(data["free_threaded"])),
        has_requests=bool(data["requests"]),
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=1.0)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


def candidate_paths() -> list[str]:
    """Where Pythons usually are, most specific first: PATH, pyenv, uv,
    /opt, /usr/local/bin, /usr/bin. Not yet deduplicated nor probed."""
    found: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        # pyenv's shims are scripts that pick a version by the folder: the
        # versions themselves are found below
        if folder and os.path.basename(folder.rstrip(os.sep)) != "shims":
            found += _specific_first(glob.glob(os.path.join(folder, "python3*")))
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    patterns = [
        os.path.join(pyenv_root, "versions", "*", "bin", "python3*"),
        os.path.expanduser("~/.local/share/uv/python/*/bin/python3*"),
        "/opt/*/bin/python3*",
        "/usr/local/bin/python3*",
        "/usr/bin/python3*",
    ]
    for pattern in patterns:
        found += _specific_first(glob.glob(pattern))
    return [p for p in found if _NAME.match(os.path.basename(p)) and os.path.isfile(p) and os.access(p, os.X_OK)]


def _specific_first(paths: list[str]) -> list[str]:
    """python3.13t before python3.13 before python3 in each folder: of two
    names for one file, the one that says more is kept."""
    return sorted(paths, key=lambda p: (os.path.dirname(p), -len(os.path.basename(p)), p))


def _unique(paths: list[str]) -> list[str]:
    """The first path to each real file (symbolic or hard links count once)."""
    seen: set = set()
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        keys = {os.path.realpath(p), (st.st_dev, st.st_ino)}
        if not keys & seen:
            seen |= keys
            out.append(p)
    return out


def _version_key(i: Interpreter) -> tuple:
    return (tuple(int(x) for x in i.version.split(".")), i.free_threaded, i.path)


def discover(timeout_s: float = PROBE_TIMEOUT_S) -> list[Interpreter]:
    """Every Python found, each probed (in parallel), sorted by version; a
    path that is no Python is left out."""
    paths = _unique(candidate_paths())

    def one(path: str) -> Interpreter | None:
        try:
            return probe(path, timeout_s)
        except InterpreterError:
            return None

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(paths)))) as pool:
        found = [i for i in pool.map(one, paths) if i is not None]
    # one Python may still appear twice (python3 and python3.12 as copies):
    # then the same version and build of two different files both stay
    return sorted(found, key=_version_key)


def looks_like_path(text: str) -> bool:
    return os.sep in text or text.startswith(".") or os.path.isfile(text)


def resolve(text: str, known: list[Interpreter] | None = None) -> Interpreter:
    """The interpreter ``--python`` names: a path, or a short name ("3.13t",
    "3.9") or full version ("3.11.7") from :func:`discover`. InterpreterError
    when it names none, or one the lab cannot run on."""
    if looks_like_path(text):
        found = probe(text)
    else:
        known = discover() if known is None else known
        # the newest patch release of that name, preferring one the lab can use
        matches = [i for i in known if text in (i.short_name, i.version)]
        if not matches:
            names = sorted({i.short_name for i in known}, key=lambda n: [int(x) if x.isdigit() else x
                                                                           for x in re.split(r"(\d+)", n)])
            raise InterpreterError(
                f"no Python named {text!r} was found; known here: {', '.join(names) or 'none'} "
                "(see 'gilviz pythons'), or give a path"
            )
        matches.sort(key=lambda i: (i.lab_ok, i.has_requests, _version_key(i)))
        found = matches[-1]
    if not found.lab_ok:
        raise InterpreterError(f"{found.path}: {found.why_not}")
    return found


def current() -> Interpreter:
    """The Python running gilviz, described without a subprocess."""
    import importlib.util
    import sysconfig

    impl = sys.implementation.name
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    has_requests = importlib.util.find_spec("requests") is not None
    check = getattr(sys, "_is_gil_enabled", None)
    gil_default = bool(check()) if check is not None and "PYTHON_GIL" not in os.environ else not ft
    return Interpreter(
        path=sys.executable,
        version=".".join(str(v) for v in sys.version_info[:3]),
        implementation={"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        free_threaded=ft,
        gil_enabled_by_default=gil_default,
        lab_ok=impl == "cpython",
        why_not="" if impl == "cpython" else f"{impl} is not CPython: the lab needs CPython 3.8+",
        short_name=_short_name(impl, tuple(sys.version_info[:2]), ft),
        has_requests=has_requests,
    )


def check_gil(interpreter: Interpreter, gil: str | None) -> None:
    """Refuse ``--gil off`` on a build that has a GIL it cannot turn off."""
    if gil == "off" and not interpreter.free_threaded:
        raise InterpreterError(
            f"--gil off needs a free-threaded build (python3.13t and newer); "
            f"{interpreter.path} ({interpreter.short_name}) always runs with the GIL"
        )


def gil_environment(gil: str | None) -> dict[str, str]:
    """The environment variable that sets the GIL of a free-threaded build."""
    if gil is None:
        return {}
    if gil not in ("on", "off"):
        raise ValueError(f"gil must be 'on' or 'off', not {gil!r}")
    return {"PYTHON_GIL": "1" if gil == "on" else "0"}


def parse_cpus(text: str) -> tuple[int, ...]:
    """``--cpus``: "0", "0,1", "0-3" -> the cores, checked against this
    machine. ValueError with the reason otherwise."""
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("--cpus needs os.sched_setaffinity, which this operating system does not have (Linux has it)")
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m is None:
            raise ValueError(f"{text!r}: give core numbers like 0 or 0,1 or 0-3 ({part!r} is not one)")
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if high < low:
            raise ValueError(f"{text!r}: the range {part!r} runs backwards")
        cpus.update(range(low, high + 1))
    if not cpus:
        raise ValueError("--cpus needs at least one core number, e.g. --cpus 0")
    allowed = os.sched_getaffinity(0)
    missing = sorted(cpus - allowed)
    if missing:
        have = ",".join(str(c) for c in sorted(allowed))
        raise ValueError(
            f"core{'s' if len(missing) > 1 else ''} {','.join(map(str, missing))} "
            f"{'are' if len(missing) > 1 else 'is'} not available here: this machine lets gilviz use cores {have}"
        )
    return tuple(sorted(cpus))
