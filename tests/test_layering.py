"""The import graph goes one way. Every module of the package is walked (not a hand list): a module may import
advisor modules of its own layer's package or of lower layers, never of a higher layer (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import advisor

PACKAGE = Path(advisor.__file__).parent

# Lower number = lower layer. Packages of the same layer may not import each other.
LAYERS: dict[str, int] = {
    "advisor": 0, "advisor.errors": 0, "advisor.units": 1, "advisor.paths": 1, "advisor.readfile": 1, "advisor.text": 1,
    "advisor.codecache": 1,
    "advisor.specs": 2,
    "advisor.models": 3, "advisor.hardware": 3,
    "advisor.catalog": 4, "advisor.engines": 4, "advisor.local": 4, "advisor.hub": 4,
    "advisor.estimate": 5,
    "advisor.speed": 6,
    "advisor.plan": 7,
    "advisor.present": 8,
    "advisor.cli": 9, "advisor.__main__": 10,
}
# Pure layers never import a UI, driver or file-format library.
PURE = ("advisor.specs", "advisor.estimate", "advisor.plan", "advisor.engines")
FORBIDDEN_IN_PURE = {"typer", "rich", "pynvml", "psutil", "yaml", "subprocess", "click", "gguf"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit(module: str) -> str:
    """The layer unit a module belongs to: its top-level package under advisor, or the module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"advisor.{a.name}" for a in node.names if node.module == "advisor" and _is_module(a.name)}
    return names


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    missing = {unit(module_name(p)) for p in modules()} - set(LAYERS)
    assert not missing, f"give these a layer in LAYERS and docs/architecture.md: {sorted(missing)}"


def test_imports_go_down_the_layers_only() -> None:
    wrong = []
    for path in modules():
        me = unit(module_name(path))
        for name in imports(path):
            if not name.startswith("advisor"):
                continue
            other = unit(name)
            if other in (me, "advisor"):
                continue
            if LAYERS[other] >= LAYERS[me]:
                wrong.append(f"{module_name(path)} imports {name} (layer {LAYERS[other]} >= {LAYERS[me]})")
    assert not wrong, "\n".join(wrong)


def test_pure_layers_import_no_edge_libraries() -> None:
    for path in modules():
        if not module_name(path).startswith(PURE):
            continue
        found = {n.split(".")[0] for n in imports(path)}
        assert not found & FORBIDDEN_IN_PURE, (path, found & FORBIDDEN_IN_PURE)


def test_only_cli_imports_typer_and_only_present_and_cli_import_rich() -> None:
    for path in modules():
        name = module_name(path)
        found = {n.split(".")[0] for n in imports(path)}
        if not name.startswith("advisor.cli"):
            assert "typer" not in found, path
        if not name.startswith(("advisor.cli", "advisor.present")):
            assert "rich" not in found, path


def test_importing_the_estimator_loads_no_heavy_modules() -> None:
    code = ("import sys, advisor.estimate.estimator, advisor.plan.recommend; "
            "print(sorted({'typer', 'rich', 'pynvml', 'psutil', 'yaml'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_docs_architecture_names_every_layer() -> None:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    missing = [name for name in LAYERS if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md does not name {missing}"
