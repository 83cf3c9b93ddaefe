"""KV sharing and per-layer embeddings (Gemma 3n, Gemma 4 E): the last layers reuse an earlier layer's cache and
keep none of their own; the per-layer token table is weights, looked up a row at a time. Also Nemotron-H's block
forms: FFN-only blocks of dense Nemotron-H and the named `layers_block_type` list. Bytes pinned by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import yaml

from advisor.catalog.load import catalog_root
from advisor.errors import CatalogError, UsageError
from advisor.estimate.kv import estimate_kv
from advisor.estimate.weights import estimate_weights
from advisor.models.catalog_entry import parse_model
from advisor.models.hf_config import model_from_config
from advisor.models.params import param_groups
from advisor.specs.facts import Catalog
from tests.core import kv_args
from tests.test_cli import run_json
from tests.test_gguf import HW, write_model


def _gemma3n_e2b(**overrides: Any) -> dict[str, Any]:
    """The Gemma 3n E2B text_config as its checkpoint writes it (per-layer FFN list, explicit layer_types)."""
    text = {"model_type": "gemma3n_text", "num_hidden_layers": 30, "hidden_size": 2048,
            "intermediate_size": [8192] * 30, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256,
            "vocab_size": 262400, "vocab_size_per_layer_input": 262144, "hidden_size_per_layer_input": 256,
            "max_position_embeddings": 32768, "sliding_window": 512, "num_kv_shared_layers": 10,
            "layer_types": (["sliding_attention"] * 4 + ["full_attention"]) * 6,
            "hidden_activation": "gelu_pytorch_tanh"} | overrides
    return {"model_type": "gemma3n", "tie_word_embeddings": True, "text_config": text}


def test_gemma_3n_e4b_keeps_a_cache_for_its_first_20_layers_only(catalog: Catalog) -> None:
    model, f16 = catalog.model("gemma-3n-e4b"), catalog.types["F16"]
    kv = estimate_kv(model, f16, context_tokens=32768, **kv_args(catalog))
    one = 2 * 256 * 2 * 2  # 2 KV heads x 256 x K and V x 2 bytes
    # 4 of the 7 global layers at every token, 16 of the 28 sliding layers at the 512 window + 512 ubatch
    assert kv.kv_cache_bytes == 4 * one * 32768 + 16 * one * 1024
    unshared = replace(model, layout=replace(model.layout, kv_shared_full_layers=0, kv_shared_sliding_layers=0))
    assert estimate_kv(unshared, f16, context_tokens=32768, **kv_args(catalog)).kv_cache_bytes \
        == 7 * one * 32768 + 28 * one * 1024


def test_gemma_4_e4b_global_layers_cache_their_own_wider_heads(catalog: Catalog) -> None:
    model = catalog.model("gemma-4-e4b")
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=131072, **kv_args(catalog))
    # 4 cached global layers: 2 heads x 512 x K and V x 2 bytes; 20 cached sliding layers: 2 x 256 x 2 x 2
    assert kv.kv_cache_bytes == 4 * 4096 * 131072 + 20 * 2048 * 1024


def test_the_per_layer_table_is_weights_but_not_read_per_token(catalog: Catalog) -> None:
    model = catalog.model("gemma-3n-e4b")
    groups = {g.name: g for g in param_groups(model)}
    assert groups["per_layer_token_embd"].params == 262144 * 35 * 256
    w = estimate_weights(model, catalog.recipes["F16"], catalog.types)
    table = w.groups_bytes["per_layer_token_embd"]
    assert table == 262144 * 35 * 256 * 2
    # tied: the output projection reads the embedding matrix every token; the per-layer table is only looked up
    assert w.read_per_token_bytes == w.weights_bytes - table


def test_a_config_json_with_kv_sharing_and_a_per_layer_ffn_list_reads() -> None:
    m = model_from_config(_gemma3n_e2b(), "config.json", name="e2b")
    lay = m.layout
    assert (lay.full_attention_layers, lay.sliding_layers) == (6, 24)
    assert (lay.kv_shared_full_layers, lay.kv_shared_sliding_layers) == (2, 8)  # the last 10 of S S S S F x 6
    assert (lay.per_layer_input_dim, lay.per_layer_input_vocab) == (256, 262144)
    assert m.arch.intermediate_size == 8192
    assert m.params_total == 4_422_369_280  # 2.01B of it the per-layer table


@pytest.mark.parametrize(("override", "message"), [
    ({"intermediate_size": [8192] * 29 + [16384]}, "text_config.intermediate_size: per-layer FFN widths differ"),
    ({"num_kv_shared_layers": 30}, "text_config.num_kv_shared_layers: "),
    ({"vocab_size_per_layer_input": None}, "per-layer embeddings need both"),
])
def test_impossible_sharing_and_per_layer_shapes_name_the_key(override: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        model_from_config(_gemma3n_e2b(**override), "config.json", name="bad")


def test_a_gemma3n_gguf_caches_the_first_20_layers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "gemma3n.gguf"
    write_model(path, arch="gemma3n", layers=25, window=512)
    (r,) = run_json(capsys, "estimate", str(path), "--context", "32768", *HW)["results"]
    one = 2 * 32 * 2 * 2
    # llama.cpp: gemma3n layers from 20 on reuse a cache; of the first 20 (every 5th global) 4 are global
    assert r["memory"]["kv_cache_bytes"] == 4 * one * 32768 + 16 * one * 1024


def test_dense_nemotron_h_has_its_ffn_on_the_ffn_blocks_only() -> None:
    cfg = {"model_type": "nemotron_h", "num_hidden_layers": 6, "hidden_size": 256, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000, "intermediate_size": 1024,
           "mlp_hidden_act": "relu2", "hybrid_override_pattern": "M-M*-M", "mamba_num_heads": 8,
           "mamba_head_dim": 32, "ssm_state_size": 16, "n_groups": 1, "conv_kernel": 4}
    groups = {g.name: g for g in param_groups(model_from_config(cfg, "config.json", name="h"))}
    assert groups["ffn_up"].layers == 2 and groups["ffn_down"].layers == 2  # the two '-' blocks
    assert "ffn_gate" not in groups  # squared ReLU: up and down only


def test_nemotron_layers_block_type_reads_like_the_pattern_string() -> None:
    common = {"model_type": "nemotron_h", "hidden_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2,
              "head_dim": 64, "vocab_size": 1000, "mlp_hidden_act": "relu2", "mamba_num_heads": 8,
              "mamba_head_dim": 32, "ssm_state_size": 16, "n_groups": 1, "conv_kernel": 4, "n_routed_experts": 8,
              "num_experts_per_tok": 2, "moe_intermediate_size": 128, "n_shared_experts": 1,
              "moe_shared_expert_intermediate_size": 256}
    blocks = ["mamba", "moe", "attention", "moe", "mamba", "moe"]
    named = model_from_config(common | {"layers_block_type": blocks}, "config.json", name="named")  # no layer count
    pattern = model_from_config(common | {"num_hidden_layers": 6, "hybrid_override_pattern": "ME*EME"},
                                "config.json", name="pattern")
    assert named.arch.layers == 6
    assert (named.layout.mamba_layers, named.layout.full_attention_layers) == (2, 1)
    assert named.moe is not None and named.moe.moe_layers == 3
    assert (named.params_total, named.params_active) == (pattern.params_total, pattern.params_active)


def test_a_gguf_per_layer_table_is_not_read_per_token(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ple.gguf"
    w = gguf.GGUFWriter(str(path), "gemma3n")
    w.add_block_count(2)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_head_count(8)
    w.add_head_count_kv(2)
    w.add_context_length(4096)
    w.add_token_list([f"t{i}".encode() for i in range(1000)])
    sizes = {"token_embd.weight": (1000, 256), "per_layer_token_embd.weight": (1000, 2 * 64)}
    for i in range(2):
        sizes |= {f"blk.{i}.attn_q.weight": (256, 256), f"blk.{i}.ffn_up.weight": (512, 256)}
    _finish(w, sizes)
    (r,) = run_json(capsys, "estimate", str(path), *HW)["results"]
    table = 1000 * 128 * 2
    # tied (no output.weight): the embedding matrix is read per token, the per-layer table only looked up
    assert r["speed"]["basis"]["weights_read_bytes"] == r["memory"]["weights_bytes"] - table


def _gemma4_e2b(**overrides: Any) -> dict[str, Any]:
    """The Gemma 4 E2B text_config with the keys transformers' Gemma 4 config names (use_double_wide_mlp)."""
    text = {"model_type": "gemma4_text", "num_hidden_layers": 35, "hidden_size": 1536, "intermediate_size": 6144,
            "num_attention_heads": 8, "num_key_value_heads": 1, "head_dim": 256, "global_head_dim": 512,
            "vocab_size": 262144, "vocab_size_per_layer_input": 262144, "hidden_size_per_layer_input": 256,
            "max_position_embeddings": 131072, "sliding_window": 512, "num_kv_shared_layers": 20,
            "use_double_wide_mlp": True, "enable_moe_block": False,
            "layer_types": (["sliding_attention"] * 4 + ["full_attention"]) * 7}
    return {"model_type": "gemma4", "tie_word_embeddings": True, "text_config": text | overrides}


def test_gemma_4_e2b_cache_sharing_layers_have_a_double_wide_ffn(catalog: Catalog) -> None:
    m = model_from_config(_gemma4_e2b(), "config.json", name="e2b")
    groups = {g.name: g for g in param_groups(m)}
    assert m.layout.kv_shared_ffn == 12288
    assert (groups["ffn_up"].layers, groups["wide_ffn_up"].layers) == (15, 20)
    assert groups["wide_ffn_down"].params == 20 * 12288 * 1536
    # the catalog entry (from the vendor's JAX definition) and the config.json reader agree on every weight
    assert m.params_total == catalog.model("gemma-4-e2b").params_total
    narrow = model_from_config(_gemma4_e2b(use_double_wide_mlp=False), "config.json", name="narrow")
    assert m.params_total - narrow.params_total == 20 * 3 * 1536 * 6144


def test_a_wide_ffn_without_cache_sharing_layers_is_refused() -> None:
    plain = model_from_config(_gemma4_e2b(num_kv_shared_layers=0), "config.json", name="plain")
    assert plain.layout.kv_shared_ffn is None  # the flag widens only the layers that share a cache
    entry = yaml.safe_load(Path(catalog_root(), "models", "current-2026b.yaml").read_text(encoding="utf-8"))
    (e2b,) = [m for m in entry["models"] if m["id"] == "gemma-4-e2b"]
    assert parse_model(e2b, "e2b").layout.kv_shared_ffn == 12288
    e2b["layout"]["kv_shared"] = {"ffn": 12288}
    with pytest.raises(CatalogError, match="layout › kv_shared › ffn: an FFN width for cache-sharing layers"):
        parse_model(e2b, "e2b")


def _finish(w: gguf.GGUFWriter, sizes: dict[str, tuple[int, int]]) -> None:
    """Write the file with zero F16 tensors of these shapes."""
    for name, shape in sizes.items():
        w.add_tensor(name, np.zeros(shape, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _gemma4_gguf(path: Path, *, k_eq_v: bool = False) -> None:
    """A small Gemma 4 file as llama.cpp writes one: a flag per layer for the sliding window, key_length for the
    full layers and key_length_swa for the sliding ones, a per-layer FFN width with a wider cache-sharing tail."""
    w = gguf.GGUFWriter(str(path), "gemma4")
    w.add_block_count(5)
    w.add_embedding_length(256)
    w.add_array("gemma4.feed_forward_length", [512, 512, 512, 1024, 1024])
    w.add_head_count(4)
    w.add_head_count_kv(1)
    w.add_key_length(64)
    w.add_uint32("gemma4.attention.key_length_swa", 32)
    w.add_sliding_window(512)
    w.add_array("gemma4.attention.sliding_window_pattern", [True, True, False, True, False])
    w.add_uint32("gemma4.attention.shared_kv_layers", 2)
    w.add_context_length(8192)
    w.add_token_list([f"t{i}".encode() for i in range(1000)])
    sizes = {"token_embd.weight": (1000, 256)}
    for i in range(5):
        sizes |= {f"blk.{i}.attn_q.weight": (256, 256), f"blk.{i}.attn_k.weight": (64, 256)}
        if not (k_eq_v and i in (2, 4)):
            sizes[f"blk.{i}.attn_v.weight"] = (64, 256)
    _finish(w, sizes)


@pytest.mark.parametrize("k_eq_v", [False, True])
def test_a_gemma4_gguf_reads_its_layer_flags_and_per_kind_head_dims(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, k_eq_v: bool) -> None:
    path = tmp_path / "gemma4.gguf"
    _gemma4_gguf(path, k_eq_v=k_eq_v)
    (r,) = run_json(capsys, "estimate", str(path), "--context", "4096", *HW)["results"]
    full = 64 * (1 if k_eq_v else 2) * 2  # one K=V tensor where the full layers have no attn_v
    # layers S S F S F; the last two (S, F) reuse caches: 1 full layer caches every token, 2 sliding layers 512 + 512
    assert r["memory"]["kv_cache_bytes"] == full * 4096 + 2 * (32 * 2 * 2) * 1024
