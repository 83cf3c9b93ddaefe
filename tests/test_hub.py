"""Hugging Face Hub repos, read by the real huggingface_hub client from a local server that speaks the Hub API
(tests/hub_server.py): safetensors, GGUF and MLX repos, the cache and offline use, each error, and no request at all
from a command that names no repo."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.specs.facts import Catalog
from tests.hub_server import FakeFile, FakeHub, FakeRepo, gguf_header, safetensors_header, serve
from tests.model_configs import config_json
from tests.test_cli import run, run_json

HW = ["--gpu", "RTX 4090", "--ram", "64GB"]
TINY = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
        "num_hidden_layers": 12, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "max_position_embeddings": 40960, "tie_word_embeddings": True, "hidden_act": "silu",
        "torch_dtype": "bfloat16"}


def qwen3_tensors(c: dict[str, Any], dtype: str = "BF16") -> dict[str, tuple[str, list[int]]]:
    """The tensors transformers' Qwen3 stores for a config (names and shapes as in Qwen/Qwen3-8B's files)."""
    h, q, kv = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    t = {"model.embed_tokens.weight": (dtype, [c["vocab_size"], h])}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        t |= {p + "self_attn.q_proj.weight": (dtype, [q, h]), p + "self_attn.k_proj.weight": (dtype, [kv, h]),
              p + "self_attn.v_proj.weight": (dtype, [kv, h]), p + "self_attn.o_proj.weight": (dtype, [h, q]),
              p + "self_attn.q_norm.weight": (dtype, [c["head_dim"]]),
              p + "self_attn.k_norm.weight": (dtype, [c["head_dim"]]),
              p + "mlp.gate_proj.weight": (dtype, [c["intermediate_size"], h]),
              p + "mlp.up_proj.weight": (dtype, [c["intermediate_size"], h]),
              p + "mlp.down_proj.weight": (dtype, [h, c["intermediate_size"]]),
              p + "input_layernorm.weight": (dtype, [h]), p + "post_attention_layernorm.weight": (dtype, [h])}
    t["model.norm.weight"] = (dtype, [h])
    if not c.get("tie_word_embeddings"):
        t["lm_head.weight"] = (dtype, [c["vocab_size"], h])
    return t


def count(tensors: dict[str, tuple[str, list[int]]]) -> int:
    total = 0
    for _, shape in tensors.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def safetensors_repo(config: dict[str, Any], extra: dict[str, tuple[str, list[int]]] | None = None) -> FakeRepo:
    """A transformers repo: config.json and the weights in two shards (headers only)."""
    tensors = qwen3_tensors(config) | (extra or {})
    names = list(tensors)
    half = len(names) // 2
    raw = json.dumps(config).encode()
    files = {"config.json": FakeFile(raw, len(raw)), "README.md": FakeFile(b"", 0)}
    for i, part in enumerate((names[:half], names[half:]), start=1):
        header, size = safetensors_header({n: tensors[n] for n in part})
        files[f"model-0000{i}-of-00002.safetensors"] = FakeFile(header, size)
    return FakeRepo(files, library="transformers")


GGUF_META: dict[str, Any] = {
    "general.architecture": "qwen3", "general.name": "Tiny Qwen3", "qwen3.block_count": 4,
    "qwen3.context_length": 32768, "qwen3.embedding_length": 256, "qwen3.feed_forward_length": 512,
    "qwen3.attention.head_count": 4, "qwen3.attention.head_count_kv": 2, "qwen3.attention.key_length": 64,
    "qwen3.attention.value_length": 64, "tokenizer.ggml.tokens": [f"t{i}" for i in range(5000)]}


def gguf_tensors(weight_type: str) -> list[tuple[str, list[int], str]]:
    t = [("token_embd.weight", [256, 5000], weight_type), ("output_norm.weight", [256], "F32"),
         ("output.weight", [256, 5000], "Q6_K")]
    for i in range(4):
        t += [(f"blk.{i}.attn_q.weight", [256, 256], weight_type), (f"blk.{i}.attn_k.weight", [256, 128], weight_type),
              (f"blk.{i}.attn_v.weight", [256, 128], weight_type),
              (f"blk.{i}.attn_output.weight", [256, 256], weight_type),
              (f"blk.{i}.ffn_gate.weight", [256, 512], weight_type),
              (f"blk.{i}.ffn_up.weight", [256, 512], weight_type),
              (f"blk.{i}.ffn_down.weight", [512, 256], weight_type), (f"blk.{i}.attn_norm.weight", [256], "F32")]
    return t


PADDING = 4 * 1024 ** 3  # each GGUF file is listed as this much bigger: only its header may cross the network


def gguf_repo() -> tuple[FakeRepo, dict[str, int]]:
    """A GGUF repo: Q4_K_M in one file, Q8_0 split in two parts, a vision projector; {quant: tensor bytes}."""
    files: dict[str, FakeFile] = {}
    header, size, q4 = gguf_header(GGUF_META | {"general.file_type": 15}, gguf_tensors("Q4_K"))
    files["Tiny-Qwen3-Q4_K_M.gguf"] = FakeFile(header, size + PADDING)
    tensors = gguf_tensors("Q8_0")
    q8 = 0
    for i, part in enumerate((tensors[:15], tensors[15:]), start=1):
        meta = (GGUF_META | {"general.file_type": 7}) if i == 1 else {"split.count": 2}
        header, size, data = gguf_header(meta | {"split.no": i - 1}, part)
        files[f"Q8_0/Tiny-Qwen3-Q8_0-0000{i}-of-00002.gguf"] = FakeFile(header, size + PADDING)
        q8 += data
    files["mmproj-Tiny-Qwen3-F16.gguf"] = FakeFile(b"not read", 1000)
    return FakeRepo(files, library="gguf"), {"Q4_K_M": q4, "Q8_0": q8}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    fake = FakeHub()
    server, thread = serve(fake)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield fake
    server.shutdown()
    thread.join()
    server.server_close()


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


def test_mlx_repo_uses_its_files_tensor_bytes(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    config = TINY | {"quantization": {"group_size": 64, "bits": 4}}
    packed: dict[str, tuple[str, list[int]]] = {}
    for name, (_, shape) in qwen3_tensors(TINY).items():
        if len(shape) == 2:  # 4-bit: 8 weights a U32, and a BF16 scale and bias per 64 weights
            packed |= {name: ("U32", [shape[0], shape[1] // 8]),
                       name.replace(".weight", ".scales"): ("BF16", [shape[0], shape[1] // 64]),
                       name.replace(".weight", ".biases"): ("BF16", [shape[0], shape[1] // 64])}
        else:
            packed[name] = ("BF16", shape)
    header, size = safetensors_header(packed)
    hub.repos["mlx-community/tiny-qwen3-4bit"] = FakeRepo(
        {"config.json": FakeFile(json.dumps(config).encode(), 600), "model.safetensors": FakeFile(header, size)},
        library="mlx")
    rows = run_json(capsys, "estimate", "mlx-community/tiny-qwen3-4bit", "--gpu", "M4 Max 128GB")["results"]
    assert [r["quant"] for r in rows] == ["MLX-4bit"]
    assert rows[0]["memory"]["weights_bytes"] == size - len(header)  # every stored tensor's bytes


def test_a_fetched_repo_works_offline_and_with_the_hub_gone(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    first = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    seen = len(hub.requests)
    again = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    assert len(hub.requests) == seen + 1  # unchanged commit: one model_info call, the headers from the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    assert len(hub.requests) == seen + 1
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    gone = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    weights = [[r["memory"]["weights_bytes"] for r in rows] for rows in (first, again, offline, gone)]
    assert weights[0] == weights[1] == weights[2] == weights[3]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "estimate", *args, *HW, "--json")
    assert err.count("\n") == 1 and err.startswith("advisor: error: ")  # one line
    return code, json.loads(out)["errors"][0], err


def test_unknown_repo(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, e, err = error(capsys, "acme/no-such-model")
    assert (code, e["kind"], e["exit_code"]) == (2, "unknown_repo", 2) and "acme/no-such-model" in err


def test_gated_repo_needs_a_token(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    repo = safetensors_repo(TINY)
    repo.gated_token = "hf_good"
    hub.repos["acme/gated"] = repo
    code, e, err = error(capsys, "acme/gated")
    assert (code, e["kind"]) == (5, "gated") and "acme/gated" in err and "HF_TOKEN" in err
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    assert run_json(capsys, "estimate", "acme/gated", *HW)["results"]


def test_gated_repo_token_from_hf_home(hub: FakeHub, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = safetensors_repo(TINY)
    repo.gated_token = "hf_saved"
    hub.repos["acme/gated"] = repo
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("hf_saved\n")
    assert run_json(capsys, "estimate", "acme/gated", *HW)["results"]


def test_offline_and_not_cached(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "offline") and "acme/tiny-qwen3" in err and not hub.requests


def test_unreachable_hub(hub: FakeHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "unreachable") and "acme/tiny-qwen3" in err and "HF_ENDPOINT" in err


def test_a_hub_that_does_not_answer_times_out(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.hub.fetch

    assert advisor.hub.fetch.TIMEOUT_S <= 10
    monkeypatch.setattr(advisor.hub.fetch, "TIMEOUT_S", 0.2)  # advisor's own limit, shortened for the test
    hub.delay_s = 1.0
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "timeout") and "acme/tiny-qwen3" in err


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


def test_commands_that_name_no_repo_make_no_request(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "recommend", *HW)
    run_json(capsys, "estimate", "qwen3-8b", *HW)
    run_json(capsys, "compare", "RTX 4090", "RTX 3060", "--model", "qwen3-8b")
    assert hub.requests == []


def test_start_up_does_not_import_huggingface_hub() -> None:
    import subprocess
    import sys

    code = "import sys; from advisor.cli import main; import advisor.cli.run, advisor.cli.plan; " \
           "print('huggingface_hub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


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


@pytest.mark.parametrize("name", ["Tiny-Q4_K_M.gguf", "model.safetensors"])
def test_a_header_that_is_no_header_is_one_line(hub: FakeHub, capsys: pytest.CaptureFixture[str], name: str) -> None:
    files = {name: FakeFile(b"\xff" * 64, 10**9)}
    if name.endswith(".safetensors"):
        files["config.json"] = FakeFile(json.dumps(TINY).encode(), 600)
    hub.repos["acme/broken"] = FakeRepo(files)
    code, e, err = error(capsys, "acme/broken")
    assert (code, e["kind"]) == (5, "hub") and err.startswith("advisor: error: acme/broken: ")


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
