"""Every command's --json output validates against its schema in docs/schema/ (jsonschema, test-only)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from advisor.present.registry import REGISTRY
from tests.conftest import load_script
from tests.test_calibrate import bench_rows
from tests.test_cli import HYPOTHETICAL, run_json
from tests.test_gguf import fake_home

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
    "validate": ["validate"],
    "calibrate": ["calibrate", "{bench}"],
    "local": ["local"],
    "doctor": ["doctor"],
    "serve": ["serve", "llama-3.1-70b", "--gpu", "8x H100", "--nodes", "2", "--interconnect", "400Gbps"],
}


@pytest.fixture
def machine_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A llama-bench file for calibrate, and a home with Ollama, LM Studio and llama.cpp models for local."""
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(bench_rows(decode_ts=120.0, prefill_ts=5000.0)))
    monkeypatch.setenv("HOME", str(fake_home(tmp_path)))
    for var in ("OLLAMA_MODELS", "HF_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return {"bench": str(bench)}


@pytest.mark.parametrize("command", sorted(CASES))
def test_output_validates_against_its_schema(capsys: pytest.CaptureFixture[str], machine_files: dict[str, str],
                                             command: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{command}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    data = run_json(capsys, *(arg.format(**machine_files) for arg in CASES[command]))
    jsonschema.validate(data, schema)
    assert data["results"] or command == "hardware", "a case whose results show something (hardware has none)"


ELSEWHERE = {"add": "tests/test_hub.py (it needs the local Hub server)"}


def test_every_registered_command_has_a_schema_case() -> None:
    assert sorted([*CASES, *ELSEWHERE]) == sorted(c.name for c in REGISTRY)


def test_schema_files_are_current() -> None:
    for name, text in load_script("gen_schemas").render().items():
        assert (SCHEMA_DIR / f"{name}.schema.json").read_text() == text, "run: python scripts/gen_schemas.py"


def test_a_broken_output_fails_validation() -> None:
    schema = json.loads((SCHEMA_DIR / "recommend.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1, "command": "recommend", "results": [{"placement": "moon"}]}, schema)
