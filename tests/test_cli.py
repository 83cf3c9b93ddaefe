"""The command line as a user runs it: JSON keys, golden text, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import __version__
from advisor.cli import main

GOLDEN = Path(__file__).parent / "golden"
HYPOTHETICAL = ["--gpu", "RTX 4090", "--ram", "64GB"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version")[1].strip() == f"advisor {__version__}"


def test_hardware_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "hardware")
    assert {"schema_version", "command", "hardware", "results", "errors"} <= set(data)
    hw = data["hardware"]
    assert hw["source"] == "probe"
    assert {"source", "devices", "ram_total_bytes", "ram_available_bytes", "notes"} <= set(hw)


def test_recommend_json_keys_and_nulls(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", *HYPOTHETICAL)
    assert data["schema_version"] == 1 and data["command"] == "recommend" and data["errors"] == []
    device = data["hardware"]["devices"][0]
    assert {"name", "kind", "memory_total_bytes", "memory_usable_bytes", "bandwidth_gbps"} <= set(device)
    assert data["hardware"]["source"] == "hypothetical"
    for result in data["results"]:
        assert {"model", "quant", "context_tokens", "placement", "memory", "speed"} <= set(result)
        assert {"id", "name"} <= set(result["model"])
        assert {"weights_bytes", "kv_cache_bytes", "overhead_bytes", "total_bytes"} <= set(result["memory"])
        assert {"decode_tokens_per_s", "prefill_tokens_per_s", "basis"} <= set(result["speed"])
        assert result["placement"] in ("gpu", "gpu+cpu", "cpu", "none")
        if result["placement"] == "none":
            assert result["speed"]["decode_tokens_per_s"] is None
            assert result["speed"]["prefill_tokens_per_s"] is None
        if result["placement"] == "gpu":
            assert result["memory"]["total_bytes"] <= device["memory_usable_bytes"]


def test_two_3090s_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", "--gpu", "2x RTX 3090", "--context", "32768")
    devices = data["hardware"]["devices"]
    assert [d["memory_total_bytes"] for d in devices] == [24 * 1024**3] * 2
    assert all(r["context_tokens"] <= 32768 for r in data["results"])


def test_estimate_json_covers_each_quant(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "estimate", "qwen3.5-35b-a3b", "--gpu", "RTX 4090")
    quants = [r["quant"] for r in data["results"]]
    assert "Q4_K_M" in quants and "Q8_0" in quants and "MLX-4bit" not in quants
    assert {r["model"]["id"] for r in data["results"]} == {"qwen3.5-35b-a3b"}


def test_estimate_golden_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", *HYPOTHETICAL)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 120
    expected = (GOLDEN / "estimate_llama_8b_4090.txt").read_text()
    assert [line.rstrip() for line in out.splitlines()] == expected.splitlines()


@pytest.mark.parametrize(("args", "code", "words"), [
    (["recommend", "--gpu", "RTX 9999"], 2, "RTX 4090"),
    (["estimate", "no-such-model"], 2, "unknown model"),
    (["recommend", "--ram", "lots"], 2, "memory size"),
    (["recommend", "--context", "0"], 2, "--context"),
    (["recommend", "--depth", "99999"], 2, "--depth"),
    (["recommend", "--bogus"], 2, "bogus"),
    (["estimate", "llama-3.1-8b", "--quant", "Q9_Z"], 2, "quantization"),
])
def test_user_errors_are_one_line_with_a_code(capsys: pytest.CaptureFixture[str], args: list[str], code: int,
                                             words: str) -> None:
    got, _out, err = run(capsys, *args)
    assert got == code
    assert words in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_errors_come_as_an_envelope_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    got, out, _ = run(capsys, "recommend", "--gpu", "RTX 9999", "--json")
    data = json.loads(out)
    assert got == 2 and data["results"] == [] and data["errors"][0]["exit_code"] == 2
    assert "RTX 4090" in data["errors"][0]["message"]


def test_console_script_pipes_into_head_quietly() -> None:
    advisor = subprocess.Popen([sys.executable, "-m", "advisor", "recommend", "--json", *HYPOTHETICAL],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert advisor.stdout is not None
    first = advisor.stdout.read(100)
    advisor.stdout.close()
    _, err = advisor.communicate(timeout=60)
    assert first.startswith(b"{")
    assert advisor.returncode == 0 and b"Traceback" not in err and err == b""
