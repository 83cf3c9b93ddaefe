"""Every command's --json output validates against its schema in docs/schema/ (jsonschema, test-only)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import load_script
from tests.test_cli import HYPOTHETICAL, run_json

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "schema"

CASES = {
    "hardware": ["hardware", *HYPOTHETICAL],
    "recommend": ["recommend", "--use", "coding", *HYPOTHETICAL],
    "estimate": ["estimate", "gpt-oss-120b", "--gpu", "RTX 4090", "--ram", "64GB"],
    "compare": ["compare", "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "--model", "llama-3.3-70b"],
    "plan": ["plan", "gpt-oss-120b", "--context", "32768"],
    "models": ["models", "--moe"],
    "gpus": ["gpus", "--vendor", "apple"],
    "model": ["model", "qwen3.5-35b-a3b"],
}


@pytest.mark.parametrize("command", sorted(CASES))
def test_output_validates_against_its_schema(capsys: pytest.CaptureFixture[str], command: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{command}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(run_json(capsys, *CASES[command]), schema)


def test_schema_files_are_current() -> None:
    for name, text in load_script("gen_schemas").render().items():
        assert (SCHEMA_DIR / f"{name}.schema.json").read_text() == text, "run: python scripts/gen_schemas.py"


def test_a_broken_output_fails_validation() -> None:
    schema = json.loads((SCHEMA_DIR / "recommend.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1, "command": "recommend", "results": [{"placement": "moon"}]}, schema)
