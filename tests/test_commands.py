"""Commands a person can paste: each names the estimated file, from a repository known to host it."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from advisor.catalog.load import load_catalog
from tests.test_cli import run, run_json
from tests.test_gguf import fake_home, write_model

HW = ["--gpu", "RTX 4090", "--ram", "64GB"]


@pytest.fixture(scope="module")
def every_result() -> list[dict]:
    from advisor.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["recommend", *HW, "--limit", "0", "--json"])
    results: list[dict] = json.loads(out.getvalue())["results"]
    return results


def test_hf_names_a_repository_the_catalog_lists_for_that_file(every_result: list[dict]) -> None:
    models = {m.id: m for m in load_catalog().models}
    hf = 0
    for r in every_result:
        model, quant, line = models[r["model"]["id"]], r["quant"], r["commands"]["llama.cpp"] or ""
        found = re.search(r" -hf (\S+):(\S+) ", line)
        if found is None:
            if line:  # no known repository: a placeholder that says which file to get
                assert f"-m <{model.id}-{quant}.gguf>" in line and f"# a {quant} GGUF of" in line
            continue
        hf += 1
        repo, tag = found.groups()
        assert tag == quant
        listed = {f.repo for f in model.gguf_files if f.quant == quant}
        assert repo in listed or (model.native_quant == quant and repo in model.aliases), (model.id, repo)
    assert hf >= 10


def test_a_named_file_is_the_file_whose_memory_is_shown(every_result: list[dict]) -> None:
    # a publisher's file of a type can differ from llama.cpp's recipe by up to 40 % (Gemma E-models' per-layer tables,
    # small models' embeddings): the command names a file only where its catalogued size is the estimate's weights
    from advisor.plan.commands import HOSTED_SIZE_ROUNDING_BYTES, HOSTED_SIZE_SHARE

    models = {m.id: m for m in load_catalog().models}
    owners: dict[str, set[str]] = {}
    for m in models.values():
        for f in m.gguf_files:
            owners.setdefault(f.repo or "", set()).add(m.id)
    named = withheld = 0
    for r in every_result:
        model, quant, line = models[r["model"]["id"]], r["quant"], r["commands"]["llama.cpp"] or ""
        weights = r["memory"]["weights_bytes"]
        found = re.search(r" -hf (\S+):(\S+) ", line)
        sizes = {f.repo: f.size_bytes for f in model.gguf_files if f.quant == quant and f.repo
                 and len(owners[f.repo]) == 1}  # a repository of two models is never named (test below)
        if found is not None and found.group(1) in sizes:
            named += 1
            assert abs(sizes[found.group(1)] - weights) <= HOSTED_SIZE_SHARE * weights + HOSTED_SIZE_ROUNDING_BYTES
        elif line and sizes and found is None:
            withheld += 1
            assert all(abs(size - weights) > HOSTED_SIZE_SHARE * weights + HOSTED_SIZE_ROUNDING_BYTES
                       for size in sizes.values())
    assert named >= 40 and withheld >= 1


def test_ollama_runs_the_estimated_file(every_result: list[dict]) -> None:
    models = {m.id: m for m in load_catalog().models}
    for r in every_result:
        model, quant, line = models[r["model"]["id"]], r["quant"], r["commands"]["ollama"]
        if line is None:
            continue
        tag = line.split()[2]
        if tag.startswith("hf.co/"):  # the same repository and file as llama-server's -hf
            assert f" -hf {tag.removeprefix('hf.co/')} " in r["commands"]["llama.cpp"]
        else:  # a library tag only where the model ships in one file type, the estimated one
            assert model.native_quant == quant and tag in model.aliases, (model.id, tag)


def test_gemma_3_27b_at_q6_k_is_not_sent_to_the_q4_k_m_library_tag(every_result: list[dict]) -> None:
    gemma = next(r for r in every_result if r["model"]["id"] == "gemma-3-27b")
    assert gemma["quant"] == "Q6_K"
    assert gemma["commands"]["ollama"].startswith("ollama run hf.co/mradermacher/gemma-3-27b-it-GGUF:Q6_K ")
    assert "gemma3:27b" not in (gemma["commands"]["ollama"] or "")


def test_a_repository_holding_two_models_is_not_used_for_hf(every_result: list[dict]) -> None:
    """cortexso/gemma3 holds Gemma 3 4B and 12B files: `-hf cortexso/gemma3:Q8_0` could fetch either."""
    assert not any("cortexso/gemma3" in str(r["commands"]) for r in every_result)


def test_installed_files_are_estimated_at_their_own_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_home(tmp_path)
    blobs = home / ".ollama/models/blobs"
    blobs.mkdir(parents=True)
    write_model(blobs / "sha256-abc", experts=4)
    monkeypatch.setenv("HOME", str(home))
    for var in ("OLLAMA_MODELS", "HF_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    data = run_json(capsys, "recommend", "--installed", *HW)
    by_id = {r["model"]["id"]: r for r in data["results"]}
    assert set(by_id) == {"gpt-oss-20b", "llama-3.1-8b", "my-own-experiment"}
    llama = by_id["llama-3.1-8b"]
    # the file is named Q4_K_M but its header says F16: the header wins, and so does its real size
    assert llama["quant"] == "F16" and llama["model"]["name"] == "Llama 3.1 8B"
    assert llama["memory"]["weights_bytes"] < 10**7 and llama["quality"] is not None
    path = home / ".lmstudio/models/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    assert llama["commands"]["llama.cpp"].startswith(f"llama-server -m {path} ")
    assert llama["commands"]["ollama"] is None
    gpt = by_id["gpt-oss-20b"]
    assert gpt["commands"]["llama.cpp"].startswith(f"llama-server -m {blobs / 'sha256-abc'} ")
    assert gpt["commands"]["ollama"].startswith("ollama run gpt-oss:20b ")
    assert by_id["my-own-experiment"]["quality"] is None  # no catalog model: its header's name, no quality
    code, out, _ = run(capsys, "recommend", "--installed", *HW)
    assert code == 0 and "F16 ✓" in out and "✓ installed:" in out and "GGUF files on this machine" in out
    assert f"Run it: llama-server -m {blobs / 'sha256-abc'}" in out


def test_an_unreadable_installed_file_is_noted_not_fatal(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_home(tmp_path)  # the Ollama manifest's blob is missing
    monkeypatch.setenv("HOME", str(home))
    for var in ("OLLAMA_MODELS", "HF_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    data = run_json(capsys, "recommend", "--installed", *HW)
    assert "gpt-oss-20b" not in {r["model"]["id"] for r in data["results"]}
    assert any("gpt-oss:20b: not estimated" in n for n in data["hardware"]["notes"])


def test_cpu_bound_rows_are_marked_low_confidence(capsys: pytest.CaptureFixture[str],
                                                  every_result: list[dict]) -> None:
    """A row whose decode time is mostly on the CPU lane gets `~` and the legend; all-GPU rows never do."""
    shares = {r["model"]["id"]: r["speed"]["cpu_time_share"] for r in every_result if r["placement"] != "none"}
    assert all(shares[i] == 0.0 for i, r in ((r["model"]["id"], r) for r in every_result) if r["placement"] == "gpu")
    gpt = next(r for r in every_result if r["model"]["id"] == "gpt-oss-120b")  # experts in RAM: the CPU dominates
    assert gpt["placement"] == "gpu+cpu" and gpt["speed"]["cpu_time_share"] > 0.5
    code, out, _ = run(capsys, "recommend", *HW, "--limit", "0")
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert code == 0 and "~ low confidence: most of the decode time is on the CPU" in out
    assert re.search(r" \d+~ ", rows["gpt-oss-120b"]) and "~" not in rows["gpt-oss-20b"]
    code, out, _ = run(capsys, "recommend", "--gpu", "RTX 4090", "--ram", "64GB", "--format", "csv")
    assert "~" not in out  # CSV: plain numbers, the mark's fact is in the JSON
    data = run_json(capsys, "recommend", "--gpu", "none", "--ram", "32GB")
    assert all(r["speed"]["cpu_time_share"] == 1.0 for r in data["results"] if r["placement"] == "cpu")


def test_installed_with_nothing_found_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("OLLAMA_MODELS", "HF_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    data = run_json(capsys, "recommend", "--installed", *HW, "--quant", "Q8_0")
    assert data["results"] == []
    notes = " ".join(data["hardware"]["notes"])
    assert "no GGUF file found" in notes and "--quant Q8_0 does not apply with --installed" in notes


def test_a_placeholder_run_line_is_followed_by_a_command_that_needs_none(capsys: pytest.CaptureFixture[str]) -> None:
    """On a Mac, when no catalogued repository hosts the llama.cpp file, MLX converts the original weights."""
    # NVIDIA's Nemotron 3 Super: Unsloth publishes UD-* files of it, no plain Q5_K_M
    code, out, _ = run(capsys, "recommend", "--gpu", "M4 Max 128GB", "--model", "nemotron-3-super")
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Run it: "))
    assert code == 0 and "-m <" in lines[at] and lines[at + 1].startswith("Or: mlx_lm.convert --hf-path ")
    code, out, _ = run(capsys, "estimate", "gpt-oss-20b", *HW)
    assert code == 0 and "Run it: llama-server -hf ggml-org/gpt-oss-20b-GGUF:MXFP4" in out and "\nOr: " not in out


def test_a_tier_with_no_hosted_file_shows_its_hosted_variant(capsys: pytest.CaptureFixture[str]) -> None:
    # Unsloth publishes Nemotron 3 Super as UD-Q4_K_XL, not Q4_K_M: the row a person would copy names that file
    hw = ["--gpu", "2x RTX 3090", "--ram", "64GB", "--json", "--limit", "0"]
    rows = {r["model"]["id"]: r for r in run_json(capsys, "recommend", *hw)["results"]}
    row = rows["nemotron-3-super"]
    assert row["quant"] == "UD-Q4_K_XL" and row["placement"] == "gpu+cpu"
    assert "-hf unsloth/NVIDIA-Nemotron-3-Super-120B-A12B-GGUF:UD-Q4_K_XL " in row["commands"]["llama.cpp"]
    assert any("no catalogued repository hosts" in n and "Q4_K_M" in n for n in row["notes"])
    # a file type the person names is kept, placeholder and all
    (fixed,) = [r for r in run_json(capsys, "recommend", *hw, "--quant", "Q4_K_M")["results"]
                if r["model"]["id"] == "nemotron-3-super"]
    assert fixed["quant"] == "Q4_K_M" and "no catalogued repository" in fixed["commands"]["llama.cpp"]
