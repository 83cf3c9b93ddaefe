"""The core stays pure: it imports no UI, driver or file-format library, and nothing from the edges."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import advisor

PACKAGE = Path(advisor.__file__).parent
CORE = ["specs.py", "units.py", "recommend.py", "machine.py", "errors.py", "compare.py", "runcmd.py", "uses.py",
        *[f"estimate/{p.name}" for p in (PACKAGE / "estimate").glob("*.py")]]
FORBIDDEN = {"typer", "rich", "pynvml", "psutil", "yaml", "subprocess", "click"}
EDGES = {"advisor.cli", "advisor.present.tables", "advisor.present.envelope", "advisor.hardware"}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_import_no_edge_libraries() -> None:
    for name in CORE:
        found = imports(PACKAGE / name)
        assert not {n.split(".")[0] for n in found} & FORBIDDEN, name
        assert not {n for n in found if any(n.startswith(e) for e in EDGES)}, name


def test_only_cli_imports_typer_and_only_renderers_import_rich() -> None:
    for path in PACKAGE.rglob("*.py"):
        found = {n.split(".")[0] for n in imports(path)}
        in_cli = path.parent.name == "cli"
        if not in_cli:
            assert "typer" not in found, path
        if not path.name.startswith("render") and not in_cli:
            assert "rich" not in found, path


def test_hardware_knows_nothing_of_the_catalog_or_estimates() -> None:
    for path in (PACKAGE / "hardware").glob("*.py"):
        found = imports(path)
        assert not {n for n in found if n.startswith(("advisor.catalog.load", "advisor.estimate", "advisor.plan.recommend"))}


def test_importing_the_estimator_loads_no_heavy_modules() -> None:
    code = ("import sys, advisor.estimate.memory, advisor.plan.recommend; "
            "print(sorted({'typer', 'rich', 'pynvml', 'psutil', 'yaml'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
