"""The engine must import no UI library: the CLI and the lab need no screen."""

import subprocess
import sys

ENGINE_MODULES = [
    "gilviz.engine",
    "gilviz.engine.model",
    "gilviz.engine.slots",
    "gilviz.engine.workloads",
    "gilviz.engine.strategies",
    "gilviz.engine.lab",
    "gilviz.engine.client",
    "gilviz.engine.loopback",
    "gilviz.engine.sampler",
    "gilviz.engine.session",
    "gilviz.report",
]

LAB_SIDE = ["gilviz.engine.lab", "gilviz.engine.strategies", "gilviz.engine.workloads"]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_engine_imports_no_ui_library():
    loaded = _loaded_after_import(ENGINE_MODULES)
    assert "gilviz.engine.session" in loaded  # the import really happened
    ui = sorted(m for m in loaded if m.split(".")[0] in ("textual", "rich") or m.startswith("gilviz.ui"))
    assert ui == []


def test_lab_side_needs_only_the_standard_library():
    """The lab may run under another interpreter: no psutil there."""
    loaded = _loaded_after_import(LAB_SIDE)
    assert "gilviz.engine.workloads" in loaded
    third_party = {m.split(".")[0] for m in loaded} & {"psutil", "textual", "rich", "requests"}
    assert third_party == set()
