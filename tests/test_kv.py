"""KV cache bytes pinned by hand for each attention layout."""

from __future__ import annotations

from advisor.estimate.kv import estimate_kv, per_token_bytes, recurrent_state_bytes
from advisor.specs.facts import Catalog
from advisor.units import GIB, MIB
from tests.core import kv_args


def test_llama_8b_f16_kv_is_131072_bytes_per_token(catalog: Catalog) -> None:
    model = catalog.model("llama-3.1-8b")
    # 32 layers x 8 KV heads x 128 head_dim x 2 (K and V) x 2 bytes
    assert model.layout.full_attention_layers * per_token_bytes(model, catalog.types["F16"])[0] == 131_072
    assert estimate_kv(model, catalog.types["F16"], context_tokens=8192, **kv_args(catalog)).kv_cache_bytes == GIB


def test_quantized_kv_uses_block_sizes(catalog: Catalog) -> None:
    model = catalog.model("llama-3.1-8b")
    q8 = estimate_kv(model, catalog.types["Q8_0"], context_tokens=8192, **kv_args(catalog)).kv_cache_bytes
    q4 = estimate_kv(model, catalog.types["Q4_0"], context_tokens=8192, **kv_args(catalog)).kv_cache_bytes
    assert q8 == 544 * MIB  # 34/32 bytes per value
    assert q4 == 288 * MIB  # 18/32


def test_qwen3_30b_a3b_is_98304_bytes_per_token(catalog: Catalog) -> None:
    model = catalog.model("qwen3-30b-a3b")
    # 48 layers x 4 KV heads x 128 x 2 x 2 bytes
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=256, **kv_args(catalog))
    assert kv.kv_cache_bytes == 98_304 * 256


def test_context_is_padded_to_256_cells(catalog: Catalog) -> None:
    model = catalog.model("llama-3.1-8b")
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=1000, **kv_args(catalog))
    assert kv.kv_cache_bytes == 131_072 * 1024


def test_gemma_3_27b_counts_sliding_layers_at_their_window(catalog: Catalog) -> None:
    model = catalog.model("gemma-3-27b")
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=32768, **kv_args(catalog))
    per_layer = 16 * 128 * 2 * 2  # 16 KV heads x 128 x K and V x 2 bytes = 8192
    global_part = 10 * per_layer * 32768  # 2.5 GiB
    window_part = 52 * per_layer * 1536  # pad(1024 window + 512 ubatch) = 1536 cells, 624 MiB
    assert kv.kv_cache_bytes == global_part + window_part
    assert kv.kv_cache_bytes < 0.25 * 62 * per_layer * 32768  # the naive all-layer count is 15.5 GiB


def test_gpt_oss_window_of_128_on_half_the_layers(catalog: Catalog) -> None:
    model = catalog.model("gpt-oss-20b")
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=32768, **kv_args(catalog))
    per_layer = 8 * 64 * 2 * 2  # 2048 bytes
    assert kv.kv_cache_bytes == 12 * per_layer * 32768 + 12 * per_layer * 768  # pad(128 + 512) = 768


def test_deepseek_v3_mla_caches_the_latent_only(catalog: Catalog) -> None:
    model = catalog.model("deepseek-v3")
    # 61 layers x (512 latent + 64 rope) x 2 bytes
    kv = estimate_kv(model, catalog.types["F16"], context_tokens=256, **kv_args(catalog))
    assert kv.kv_cache_bytes == 70_272 * 256


def test_qwen35_hybrid_counts_full_layers_plus_fixed_state(catalog: Catalog) -> None:
    model = catalog.model("qwen3.5-35b-a3b")
    lay = model.layout
    assert lay.linear_layers == 3 * lay.full_attention_layers
    small = estimate_kv(model, catalog.types["F16"], context_tokens=4096, **kv_args(catalog))
    large = estimate_kv(model, catalog.types["F16"], context_tokens=8192, **kv_args(catalog))
    assert large.recurrent_state_bytes == small.recurrent_state_bytes > 0
    per_token = lay.full_attention_layers * model.arch.kv_heads * model.arch.head_dim * 2 * 2
    assert large.kv_cache_bytes - small.kv_cache_bytes == per_token * 4096


def test_gated_deltanet_state_formula(catalog: Catalog) -> None:
    model = catalog.model("qwen3-next-80b-a3b")
    g = model.layout.linear
    assert g is not None
    conv = (g.conv_kernel - 1) * (2 * g.key_heads * g.key_head_dim + g.value_heads * g.value_head_dim)
    ssm = g.value_heads * g.key_head_dim * g.value_head_dim
    assert recurrent_state_bytes(model) == model.layout.linear_layers * (conv + ssm) * 4
