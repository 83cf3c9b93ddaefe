"""Hub repos for the tests, built from recorded shapes: a Qwen3 config and the tensors transformers stores for it,
a GGUF repo (one file type whole, one split in two, a vision projector), and the `hub` fixture that serves them
with the real huggingface_hub client pointed at it (HF_ENDPOINT)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub_server import FakeFile, FakeHub, FakeRepo, gguf_header, safetensors_header, serve

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


@pytest.fixture(name="hub")
def hub_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
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


