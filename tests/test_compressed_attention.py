"""Compressed attention (DeepSeek V4): layers that cache one entry per `ratio` tokens (plus an indexer key on the
1:4 layers) and a window of recent entries; decode reads every indexer key but only the top-k entries. Bytes pinned
by hand from the published layout."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.catalog.load import catalog_root
from advisor.errors import CatalogError, UsageError
from advisor.estimate.kv import estimate_kv
from advisor.estimate.speed import kv_read_bytes
from advisor.models.catalog_entry import parse_model
from advisor.models.hf_config import model_from_config
from advisor.specs.facts import Catalog
from tests.core import kv_args
from tests.test_cli import run_json

M = 1 << 20


def _v4_flash_config(**overrides: Any) -> dict[str, Any]:
    """DeepSeek-V4-Flash's config.json keys that shape its cache (the values its published config gives)."""
    ratios = [0, 0] + [4, 128] * 20 + [4] + [0]  # 43 layers and the MTP layer's entry
    return {"model_type": "deepseek_v4", "num_hidden_layers": 43, "hidden_size": 4096, "num_attention_heads": 64,
            "num_key_value_heads": 1, "head_dim": 512, "vocab_size": 129280, "max_position_embeddings": 1048576,
            "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 6, "moe_intermediate_size": 2048,
            "sliding_window": 128, "index_head_dim": 128, "index_topk": 512, "q_lora_rank": 1024,
            "compress_ratios": ratios, "tie_word_embeddings": False} | overrides


def test_deepseek_v4_pro_keeps_9_62_gib_at_a_million_tokens(catalog: Catalog) -> None:
    kv = estimate_kv(catalog.model("deepseek-v4-pro"), catalog.types["F16"], context_tokens=M, **kv_args(catalog))
    # 30 layers at 1:4 with a 512-wide entry and a 128-wide indexer key, 31 at 1:128, BF16; 61 rings of 128 entries
    assert kv.kv_cache_bytes == 30 * (M // 4) * (512 + 128) * 2 + 31 * (M // 128) * 512 * 2 + 61 * 128 * 512 * 2
    assert kv.growth_bytes_per_token == 9848  # 9.62 GiB per million tokens, as DeepSeek's release states
    assert kv.full_bytes_per_token == 0


def test_decode_reads_the_indexer_keys_and_only_the_top_k_entries(catalog: Catalog) -> None:
    model = catalog.model("deepseek-v4-flash")
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=262144, **kv_args(catalog))
    near, far = kv_read_bytes(kv, 131072), kv_read_bytes(kv, 262144)
    # from 128k to 256k the 1:4 layers read 32k more indexer keys (their top-512 entries stay 512), the 1:128
    # layers 1k more entries
    assert far - near == 21 * 32768 * 128 * 2 + 20 * 1024 * 512 * 2
    cached = sum(c.cache_bytes(262144) for c in kv.compressed)
    assert far < cached / 3  # a sparse read: most of the cache is not touched per token


def test_a_v4_config_reads_into_the_catalog_layout(catalog: Catalog) -> None:
    read = model_from_config(_v4_flash_config(), "config.json", name="v4")
    assert read.layout.compressed == catalog.model("deepseek-v4-flash").layout.compressed
    assert (read.layout.sliding_layers, read.layout.full_attention_layers) == (2, 0)
    f16 = catalog.types["F16"]
    assert estimate_kv(read, f16, context_tokens=M, **kv_args(catalog)).kv_cache_bytes == \
        estimate_kv(catalog.model("deepseek-v4-flash"), f16, context_tokens=M, **kv_args(catalog)).kv_cache_bytes


def test_a_ratio_list_shorter_than_the_layers_is_refused() -> None:
    with pytest.raises(UsageError, match="compress_ratios: layer kinds add up to 40, fewer than the 43 layers"):
        model_from_config(_v4_flash_config(compress_ratios=[4, 128] * 20), "config.json", name="v4")


def test_catalog_compression_groups_are_checked() -> None:
    path = Path(catalog_root(), "models", "fresh-2026.yaml")
    (entry,) = [m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"] if m["id"] == "deepseek-v4-pro"]
    bad = copy.deepcopy(entry)
    bad["layout"]["compressed"][0]["ratio"] = 1  # one entry per token is no compression
    with pytest.raises(CatalogError, match=r"compressed\[0\] › ratio"):
        parse_model(bad, "v4")


def test_the_estimate_json_shows_a_v4_fit_on_a_mac_studio(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "estimate", "deepseek-v4-flash", "--gpu", "M3 Ultra 512GB", "--context", "1M")
    (r,) = [row for row in out["results"] if row["quant"] == "Q4_K_M"]
    assert r["placement"] == "gpu"
    assert r["memory"]["kv_cache_bytes"] < 8 * (1 << 30)  # a million tokens in under 8 GiB
