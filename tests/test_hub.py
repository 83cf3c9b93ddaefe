"""Hugging Face Hub repos, read by the real huggingface_hub client from a local server that speaks the Hub API
(tests/hub_server.py): safetensors, GGUF and MLX repos, catalog matches, recommend/compare --model and add."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.specs.facts import Catalog
from tests.hub_repos import (
    HW,
    PADDING,
    TINY,
    count,
    gguf_repo,
    hub_fixture,  # noqa: F401 (the hub fixture)
    qwen3_tensors,
    safetensors_repo,
)
from tests.hub_server import FakeFile, FakeHub, FakeRepo, safetensors_header
from tests.model_configs import config_json
from tests.test_cli import run, run_json


def test_safetensors_repo_counts_parameters_from_the_headers_and_sizes_every_file_type(
        hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    vision = {"visual.patch_embed.proj.weight": ("BF16", [1024, 1536])}
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY, vision)
    data = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)
    exact = count(qwen3_tensors(TINY))  # 12 layers of 1024 wide, tied embeddings: the vision tower is not counted
    assert exact == 151936 * 1024 + 12 * (2048 * 1024 * 2 + 1024 * 1024 * 2 + 3 * 3072 * 1024 + 2 * 128 + 2 * 1024) \
        + 1024
    rows = data["results"]
    assert {r["model"]["params_total"] for r in rows} == {exact}
    assert {"Q4_K_M", "Q8_0", "F16"} <= {r["quant"] for r in rows}
    # every file type sized by the same recipes as a catalog model: Q8_0 is 8.5 bits a weight but the norms
    q8 = next(r for r in rows if r["quant"] == "Q8_0")
    assert q8["memory"]["weights_bytes"] == pytest.approx(exact * 8.5 / 8, rel=0.01)
    ranges = [r for r in hub.requests if r.path.endswith(".safetensors")]
    assert ranges and all(r.method == "GET" and r.range and r.range.startswith("bytes=0-") for r in ranges)


def test_gguf_repo_reads_each_header_by_range_and_lists_every_file_type(
        hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    repo, tensor_bytes = gguf_repo()
    hub.repos["acme/Tiny-Qwen3-GGUF"] = repo
    rows = run_json(capsys, "estimate", "acme/Tiny-Qwen3-GGUF", *HW)["results"]
    # the split Q8_0's parts summed; the vision projector left out
    assert {r["quant"]: r["memory"]["weights_bytes"] for r in rows} == tensor_bytes
    gguf_gets = [r for r in hub.requests if r.path.endswith(".gguf")]
    assert len(gguf_gets) == 3 and all(r.range for r in gguf_gets)  # one range read per file, the mmproj unread
    served = sum(r.served for r in gguf_gets)
    assert served < 5 * 1024 * 1024 < PADDING  # the headers, never the multi-GB files
    assert not any("mmproj" in r.path for r in hub.requests)


@pytest.mark.parametrize("name", ["hf.co/acme/Tiny-Qwen3-GGUF:Q8_0", "https://huggingface.co/acme/Tiny-Qwen3-GGUF:Q8_0",
                                  "acme/Tiny-Qwen3-GGUF:q8_0"])
def test_a_repo_with_a_quant_estimates_that_file(hub: FakeHub, capsys: pytest.CaptureFixture[str], name: str) -> None:
    hub.repos["acme/Tiny-Qwen3-GGUF"] = gguf_repo()[0]
    rows = run_json(capsys, "estimate", name, *HW)["results"]
    assert [r["quant"] for r in rows] == ["Q8_0"]
    assert "llama-server -hf acme/Tiny-Qwen3-GGUF:Q8_0 " in json.dumps(rows[0]["commands"])


def test_an_unknown_quant_lists_the_repos_own(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    hub.repos["acme/Tiny-Qwen3-GGUF"] = gguf_repo()[0]
    code, _, err = run(capsys, "estimate", "acme/Tiny-Qwen3-GGUF:Q2_K", *HW)
    assert code == 2 and "has no Q2_K file" in err and "Q4_K_M" in err and "Q8_0" in err


@pytest.mark.parametrize(("group", "quant"), [(64, "MLX-4bit"), (32, "MLX-4bit-g32")])
def test_mlx_repo_uses_its_files_tensor_bytes(hub: FakeHub, capsys: pytest.CaptureFixture[str], group: int,
                                              quant: str) -> None:
    config = TINY | {"quantization": {"group_size": group, "bits": 4}}
    packed: dict[str, tuple[str, list[int]]] = {}
    for name, (_, shape) in qwen3_tensors(TINY).items():
        if len(shape) == 2:  # 4-bit: 8 weights a U32, and a BF16 scale and bias per group
            packed |= {name: ("U32", [shape[0], shape[1] // 8]),
                       name.replace(".weight", ".scales"): ("BF16", [shape[0], shape[1] // group]),
                       name.replace(".weight", ".biases"): ("BF16", [shape[0], shape[1] // group])}
        else:
            packed[name] = ("BF16", shape)
    header, size = safetensors_header(packed)
    hub.repos["mlx-community/tiny-qwen3-4bit"] = FakeRepo(
        {"config.json": FakeFile(json.dumps(config).encode(), 600), "model.safetensors": FakeFile(header, size)},
        library="mlx")
    rows = run_json(capsys, "estimate", "mlx-community/tiny-qwen3-4bit", "--gpu", "M4 Max 128GB")["results"]
    assert [r["quant"] for r in rows] == [quant]
    assert rows[0]["memory"]["weights_bytes"] == size - len(header)  # every stored tensor's bytes
    assert "mlx_lm.server --model mlx-community/tiny-qwen3-4bit" in json.dumps(rows[0]["commands"])


def test_a_repo_the_catalog_names_needs_no_network(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "estimate", "hf.co/Qwen/Qwen3-8B:Q4_K_M", *HW)
    assert [r["quant"] for r in data["results"]] == ["Q4_K_M"]
    assert data["results"][0]["model"]["id"] == "qwen3-8b" and not hub.requests


def test_a_gguf_repo_of_a_catalog_model_uses_the_catalog_model(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                                              catalog: Catalog) -> None:
    hub.repos["someone/Qwen3-8B-GGUF"] = gguf_repo()[0]
    code, out, _ = run(capsys, "estimate", "someone/Qwen3-8B-GGUF", *HW)
    assert code == 0 and "catalog model qwen3-8b" in out


def test_a_finetune_with_a_catalog_architecture_is_matched_by_fingerprint(
        hub: FakeHub, capsys: pytest.CaptureFixture[str], catalog: Catalog) -> None:
    config = config_json(catalog.model("qwen3-8b")) | {"model_type": "qwen3"}  # as Qwen/Qwen3-8B's config says
    hub.repos["acme/my-finetune"] = safetensors_repo(config)
    code, out, _ = run(capsys, "estimate", "acme/my-finetune", *HW)
    assert code == 0 and "catalog model qwen3-8b (matched by architecture fingerprint" in out


def test_recommend_and_compare_take_hub_models(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    rows = run_json(capsys, "recommend", *HW, "--model", "acme/tiny-qwen3", "--model", "qwen3-8b")["results"]
    assert sorted(r["model"]["id"] for r in rows) == ["acme/tiny-qwen3", "qwen3-8b"]
    data = run_json(capsys, "compare", "RTX 4090", "RTX 3060", "--model", "acme/tiny-qwen3")
    assert "acme/tiny-qwen3" in json.dumps(data["results"])


def test_add_writes_a_user_catalog_entry_that_works_offline(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    import jsonschema

    added = run_json(capsys, "add", "acme/tiny-qwen3")
    assert added["command"] == "add" and added["results"][0]["id"] == "tiny-qwen3"
    schema = Path(__file__).resolve().parent.parent / "docs" / "schema" / "add.schema.json"
    jsonschema.validate(added, json.loads(schema.read_text()))
    path = Path(os.environ["ADVISOR_CONFIG_DIR"]) / "catalog" / "models" / "tiny-qwen3.yaml"
    assert "source: https://huggingface.co/acme/tiny-qwen3" in path.read_text()
    online = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(Path(os.environ["ADVISOR_CACHE_DIR"]) / "empty"))  # no Hub cache
    seen = len(hub.requests)
    by_id = run_json(capsys, "estimate", "tiny-qwen3", *HW)["results"]
    assert len(hub.requests) == seen
    assert by_id[0]["model"]["params_total"] == count(qwen3_tensors(TINY))
    assert [r["memory"]["weights_bytes"] for r in by_id] == [r["memory"]["weights_bytes"] for r in online]
    code, _, err = run(capsys, "add", "acme/tiny-qwen3")
    assert code == 2 and "already" in err


def test_add_a_gguf_repo_keeps_its_file_sizes(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = gguf_repo()
    hub.repos["acme/Tiny-Qwen3-GGUF"] = repo
    added = run_json(capsys, "add", "acme/Tiny-Qwen3-GGUF")["results"][0]
    assert added["id"] == "tiny-qwen3-gguf"
    assert run_json(capsys, "model", "acme/Tiny-Qwen3-GGUF")["results"][0]["id"] == "tiny-qwen3-gguf"


def test_add_refuses_a_catalog_model(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "add", "Qwen/Qwen3-8B")
    assert code == 2 and "qwen3-8b" in err and not hub.requests


def test_a_named_quant_reads_only_its_headers_and_the_rest_later(hub: FakeHub,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    hub.repos["acme/Tiny-Qwen3-GGUF"], tensor_bytes = gguf_repo()
    run_json(capsys, "estimate", "acme/Tiny-Qwen3-GGUF:Q4_K_M", *HW)
    assert [r.path.rsplit("/", 1)[1] for r in hub.requests if r.path.endswith(".gguf")] == ["Tiny-Qwen3-Q4_K_M.gguf"]
    hub.requests.clear()
    rows = run_json(capsys, "estimate", "acme/Tiny-Qwen3-GGUF", *HW)["results"]
    read = sorted(r.path.rsplit("/", 1)[1] for r in hub.requests if r.path.endswith(".gguf"))
    assert read == ["Tiny-Qwen3-Q8_0-00001-of-00002.gguf", "Tiny-Qwen3-Q8_0-00002-of-00002.gguf"]  # Q4_K_M cached
    assert {r["quant"]: r["memory"]["weights_bytes"] for r in rows} == tensor_bytes


def test_a_moe_repo_counts_every_expert_and_derives_the_active_share(hub: FakeHub,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = TINY | {"model_type": "qwen3_moe", "architectures": ["Qwen3MoeForCausalLM"], "num_experts": 8,
                     "num_experts_per_tok": 2, "moe_intermediate_size": 256, "decoder_sparse_step": 1}
    tensors = {n: t for n, t in qwen3_tensors(config).items() if ".mlp." not in n}
    h, layers = config["hidden_size"], config["num_hidden_layers"]
    for i in range(layers):  # Qwen3-MoE's names: a router and 8 experts of 256 per layer
        tensors[f"model.layers.{i}.mlp.gate.weight"] = ("BF16", [8, h])
        for e in range(8):
            p = f"model.layers.{i}.mlp.experts.{e}."
            tensors |= {p + "gate_proj.weight": ("BF16", [256, h]), p + "up_proj.weight": ("BF16", [256, h]),
                        p + "down_proj.weight": ("BF16", [h, 256])}
    header, size = safetensors_header(tensors)
    raw = json.dumps(config).encode()
    hub.repos["acme/tiny-moe"] = FakeRepo({"config.json": FakeFile(raw, len(raw)),
                                           "model.safetensors": FakeFile(header, size)})
    model = run_json(capsys, "estimate", "acme/tiny-moe", *HW, "--quant", "Q8_0")["results"][0]["model"]
    routed = layers * 8 * 3 * 256 * h
    assert model["params_total"] == count(tensors)
    assert model["params_active"] == count(tensors) - routed + routed * 2 // 8


@pytest.mark.parametrize("command", [["estimate", "acme/Tiny-Qwen3-GGUF"], ["estimate", "acme/tiny-qwen3"],
                                     ["recommend", "--model", "acme/Tiny-Qwen3-GGUF", "--model", "acme/tiny-qwen3"]])
def test_hub_results_validate_against_the_schemas(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                                  command: list[str]) -> None:
    import jsonschema

    hub.repos["acme/Tiny-Qwen3-GGUF"] = gguf_repo()[0]
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    data = run_json(capsys, *command, *HW)
    schema = Path(__file__).resolve().parent.parent / "docs" / "schema" / f"{command[0]}.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text()))
    assert data["results"]
