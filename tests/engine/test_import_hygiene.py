"""The engine must import no UI library: the CLI and the lab need no screen."""

import subprocess
import sys

ENGINE_MODULES = [
    "gilviz.engine",
    "gilviz.engine.model",
    "gilviz.engine.slots",
    "gilviz.engine.workloads",
    "gilviz.engine.plan",
    "gilviz.engine.strategies",
    "gilviz.engine.lab",
    "gilviz.engine.client",
    "gilviz.engine.loopback",
    "gilviz.engine.sampler",
    "gilviz.engine.session",
    "gilviz.export",
    "gilviz.export.files",
    "gilviz.export.markdown",
    "gilviz.export.records",
    "gilviz.export.text",
    "gilviz.export.trace",
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


def test_the_ui_plans_nothing_and_imports_no_lab_side_module():
    """The session makes the plan and publishes it in RunStarted; the screen
    reads workload specs (names, keys, explainer text) and nothing that runs
    or plans work."""
    import ast
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "gilviz" / "ui"
    forbidden = {"gilviz.engine.strategies", "gilviz.engine.lab", "gilviz.engine.plan", "gilviz.engine.slots"}
    allowed_from_workloads = {"WORKLOADS", "NAMES", "WorkloadSpec", "spec"}
    found = []
    for path in ui.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [(node.module, a.name) for a in node.names]
            else:
                continue
            for module, name in names:
                if module in forbidden or (name and f"{module}.{name}" in forbidden):
                    found.append(f"{path.name}: {module}")
                if module.startswith("gilviz.engine.workloads") and (
                    module != "gilviz.engine.workloads" or name not in allowed_from_workloads
                ):
                    found.append(f"{path.name}: {module}.{name}")
    assert found == []
