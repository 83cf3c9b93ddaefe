from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from advisor.catalog.load import load_catalog
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.specs.facts import Catalog
from advisor.units import GIB

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_user_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's own ~/.config/advisor."""
    monkeypatch.setenv("ADVISOR_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def make_machine(catalog: Catalog):
    """A hypothetical machine: make_machine("RTX 4090", ram_gib=64)."""

    def make(gpu: str, ram_gib: int = 64) -> Machine:
        return resolve(hypothetical(None, catalog, gpu=gpu, ram_bytes=ram_gib * GIB), catalog)

    return make


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None, force_terminal=False, highlight=False)


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / "probes" / name).read_text())


def load_script(name: str):  # type: ignore[no-untyped-def]
    """A module from scripts/ (the generators whose output tests compare with the committed files)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
