"""Hostile files and numbers: each gets a clear message and a usage or catalog exit code, never a hang, a crash or
a silent wrong answer, and the next command still works."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np
import pytest
import yaml

from advisor.catalog.load import catalog_root, load_catalog
from advisor.errors import CatalogError
from tests.test_cli import run, run_json

HW = ("--gpu", "RTX 4090", "--ram", "64GB")


def _one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code, _, err = run(capsys, *args)
    assert err.count("\n") == 1 and err.startswith("advisor: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert run(capsys, "gpus", "--json")[0] == 0  # and the tool still works
    return code, err


def _gguf(path: Path, *, tensors: bool = True, vocab: int = 1000) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2)
    w.add_embedding_length(64)
    w.add_head_count(4)
    w.add_context_length(4096)
    w.add_token_list([f"t{i}".encode() for i in range(vocab)])
    if tensors:
        w.add_tensor("token_embd.weight", np.zeros((vocab, 64), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_a_gguf_without_tensors_is_refused_not_estimated(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    _gguf(path, tensors=False)
    code, err = _one_line_error(capsys, "estimate", str(path), *HW)
    assert code == 2 and "no tensors" in err


@pytest.mark.parametrize("name", ["m-00001-of-00000.gguf", "m-00003-of-00002.gguf", "m-00000-of-00002.gguf"])
def test_impossible_split_names_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"GGUF")
    code, err = _one_line_error(capsys, "estimate", str(tmp_path / name), *HW)
    assert code == 2 and "split GGUF" in err


def test_a_split_with_thousands_of_missing_parts_gives_a_short_message(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "m-00001-of-00999.gguf"
    _gguf(path)
    code, err = _one_line_error(capsys, "estimate", str(path), *HW)
    assert code == 2 and "and 995 more" in err and len(err) < 400


def test_a_large_vocabulary_is_counted_not_decoded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from advisor.models.gguf_read import read_gguf

    path = tmp_path / "big-vocab.gguf"
    _gguf(path, vocab=300_000)
    assert read_gguf(path).metadata["tokenizer.ggml.tokens"] == 300_000  # the length only, not 300k strings
    assert run_json(capsys, "estimate", str(path), *HW)["results"][0]["placement"] == "gpu"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_config_from_a_fifo_or_a_device_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   kind: str) -> None:
    path = Path("/dev/zero") if kind == "zero" else tmp_path / "config.json"
    if kind == "fifo":
        os.mkfifo(path)
    code, err = _one_line_error(capsys, "estimate", "--config", str(path), *HW)
    assert code == 2 and "not a regular file" in err


def test_deeply_nested_json_config_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    code, err = _one_line_error(capsys, "estimate", "--config", str(path), *HW)
    assert code == 2 and "nested" in err


@pytest.mark.parametrize(("field", "value"), [("memory_gib", float("nan")), ("bandwidth_gbps", float("inf")),
                                              ("memory_options_gib", ["lots"]), ("memory_options_gib", [-8]),
                                              ("fp16_tflops", float("nan"))])
def test_non_finite_or_impossible_catalog_numbers_name_the_field(tmp_path: Path, field: str, value: object) -> None:
    shipped = yaml.safe_load((catalog_root() / "gpus" / "nvidia.yaml").read_text())["gpus"]
    entry = {**next(g for g in shipped if g["id"] == "rtx-4090"), "id": "my-gpu", "name": "My GPU", "aliases": [],
             field: value}
    (tmp_path / "gpus").mkdir()
    (tmp_path / "gpus" / "mine.yaml").write_text(yaml.safe_dump({"gpus": [entry]}))
    with pytest.raises(CatalogError, match=f"my-gpu › {field}"):
        load_catalog(extra_dirs=(tmp_path,))


@pytest.mark.parametrize("value", ["nan", "-5", "0", "inf"])
def test_min_tps_must_be_a_positive_number(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, err = _one_line_error(capsys, "plan", "gpt-oss-20b", "--min-tps", value)
    assert code == 2 and "--min-tps" in err


def test_an_mlx_file_on_nvidia_gets_no_command_and_plan_lists_only_apple(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "MLX-4bit", *HW)["results"][0]
    assert result["placement"] == "none" and not any(result["commands"].values())
    plan = run_json(capsys, "plan", "llama-3.1-8b", "--quant", "MLX-4bit")["results"]
    assert plan and all(row["gpu"]["id"].startswith("m") for row in plan)


def test_error_messages_escape_control_characters(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "estimate", "--config", str(tmp_path / "a\x1b[2J\x07b" / "config.json"))
    assert code == 2 and "\x1b" not in err and "\x07" not in err and "\\x1b[2J" in err and err.count("\n") == 1


def test_ram_bandwidth_is_measured_once_on_first_use(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path))
    first = run_json(capsys, "hardware")["hardware"]
    assert "measured on first use" in first["ram_bandwidth_basis"] and first["ram_bandwidth_gbps"] > 0
    again = run_json(capsys, "hardware")["hardware"]
    assert again["ram_bandwidth_gbps"] == first["ram_bandwidth_gbps"] and "cached" in again["ram_bandwidth_basis"]
    given = run_json(capsys, "hardware", "--ram-bandwidth", "90")["hardware"]
    assert given["ram_bandwidth_gbps"] == 90
