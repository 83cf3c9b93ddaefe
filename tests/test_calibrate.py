"""advisor calibrate: a llama-bench -o json file changes later estimates for that device, and says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli import run, run_json


def bench_rows(decode_ts: float, prefill_ts: float) -> list[dict]:
    common = {"build_commit": "abc1234", "build_number": 6500, "gpu_info": "NVIDIA GeForce RTX 4090",
              "backends": "CUDA", "model_filename": "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
              "model_type": "llama 8B Q4_K - Medium", "model_size": 4920733696, "model_n_params": 8030261248,
              "n_gpu_layers": 99, "n_depth": 0, "flash_attn": True}
    return [{**common, "n_prompt": 512, "n_gen": 0, "avg_ts": prefill_ts},
            {**common, "n_prompt": 0, "n_gen": 128, "avg_ts": decode_ts}]


def estimate_decode(capsys: pytest.CaptureFixture[str]) -> tuple[float, dict]:
    result = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "RTX 4090",
                      "--ram", "64GB")["results"][0]["speed"]
    return result["decode_tokens_per_s"], result


def test_calibrate_changes_later_estimates_and_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before, _ = estimate_decode(capsys)
    results = tmp_path / "bench.json"
    results.write_text(json.dumps(bench_rows(decode_ts=before * 0.8, prefill_ts=5000.0)))
    data = run_json(capsys, "calibrate", str(results))
    assert data["calibration"]["device"] == "rtx-4090"
    assert data["calibration"]["decode_factor"] == pytest.approx(0.8, rel=0.01)
    after, speed = estimate_decode(capsys)
    assert after == pytest.approx(before * 0.8, rel=0.01)
    assert "calibrated locally" in speed["basis"]["confidence"]
    # another GPU is not affected
    other = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "RTX 3090", "--ram", "64GB")
    assert "calibrated locally" not in other["results"][0]["speed"]["basis"]["confidence"]


def test_calibrate_accepts_jsonl(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    results = tmp_path / "bench.jsonl"
    results.write_text("\n".join(json.dumps(r) for r in bench_rows(120.0, 6000.0)))
    assert run_json(capsys, "calibrate", str(results))["calibration"]["rows"] == 2


@pytest.mark.parametrize("text", ["not json", "[]", '[{"n_prompt": 1}]'])
def test_a_bad_results_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> None:
    results = tmp_path / "bench.json"
    results.write_text(text)
    code, _, err = run(capsys, "calibrate", str(results))
    assert code == 2 and "Traceback" not in err


def test_a_missing_results_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "calibrate", str(tmp_path / "nope.json"))
    assert code == 2 and "cannot read" in err


def test_calibrated_rows_are_marked_and_explain_shows_every_lane(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """Issue 11: a row scaled by the user's calibration carries a * after its decode figure and a legend line;
    --explain lists each lane (GPU and CPU) with its constants and calibration factor."""
    monkeypatch.setenv("ADVISOR_CONFIG_DIR", str(tmp_path / "config"))
    hw = ["--gpu", "RTX 4090", "--ram", "64GB"]
    _, plain, _ = run(capsys, "recommend", *hw)
    assert "calibrated locally" not in plain
    results = tmp_path / "bench.json"
    results.write_text(json.dumps(bench_rows(decode_ts=100.0, prefill_ts=5000.0)))
    assert run_json(capsys, "calibrate", str(results))["calibration"]["device"] == "rtx-4090"
    factor = run_json(capsys, "calibrate", str(results))["calibration"]["decode_factor"]

    code, out, _ = run(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", *hw)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("Q4_K_M"))
    assert re.search(r"\d\*\s", row), row
    assert "* calibrated locally" in out

    code, out, _ = run(capsys, "recommend", *hw)
    assert code == 0 and "* calibrated locally" in out
    rows = [line for line in out.splitlines() if " GPU " in line and "GPU+CPU" not in line
            and not line.startswith(("Measured", "Run it"))]
    assert rows and all(re.search(r"\d\*\s", line) for line in rows)  # all on the calibrated GPU: scaled
    offloaded = [line for line in out.splitlines() if "GPU+CPU" in line]
    assert offloaded and not any("*" in line for line in offloaded)  # offloaded: not scaled

    code, out, _ = run(capsys, "estimate", "llama-3.3-70b", "--quant", "Q4_K_M", "--explain", *hw)
    assert code == 0
    assert "RTX 4090 53%: 1008GB/s×" in out and f"cal ×{factor:.2f}" in out
    assert "CPU 47%: 60GB/s×" in out and "cal —" in out


def test_explain_shows_both_gpus_of_a_pair(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "llama-3.3-70b", "--quant", "Q4_K_M", "--explain",
                       "--gpu", "2x RTX 3090", "--ram", "64GB")
    assert code == 0
    assert out.count("RTX 3090 50%: 936GB/s×") == 2, out
