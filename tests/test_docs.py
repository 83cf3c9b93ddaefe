"""docs/cli.md is generated from --help and must not drift."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == load_script("gen_cli_docs").render(), \
        "run: python scripts/gen_cli_docs.py"


def test_cli_reference_has_a_section_for_every_registered_command() -> None:
    from advisor.present.registry import REGISTRY

    text = (ROOT / "docs" / "cli.md").read_text()
    assert [c.name for c in REGISTRY if f"\n### advisor {c.name}\n" not in text] == []
