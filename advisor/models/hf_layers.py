"""A config.json's layer kinds and per-kind dims, with the key names transformers' configs use. Pure.

Kinds come from, first match: Nemotron-H `hybrid_override_pattern` (M mamba, * attention, - MLP, E MoE) or its
`layers_block_type` list (mamba, attention, mlp, moe);
Kimi Linear `linear_attn_config` (kda_layers, full_attn_layers); `layer_types` (full_attention,
sliding_attention, chunked_attention, linear_attention, mamba, attention); Qwen3-Next `full_attention_interval`;
`sliding_window_pattern` (or the family's known pattern, Gemma 2/3, Cohere 2); Llama 4 `no_rope_layers` /
`no_rope_layer_interval` with `attention_chunk_size` (NoPE layers are global, the rest chunked); else all full.
DeepSeek V4 `compress_ratios` (one per layer, 0: a sliding-window layer) give compressed-attention layers, grouped by
ratio: one `head_dim` entry per ratio tokens, the lightning indexer's `index_head_dim` key per entry on the ratio-4
layers (DeepSeek's inference code builds an Indexer only where compress_ratio == 4), `index_topk` entries attended,
and a `sliding_window` ring. KV sharing: the last `num_kv_shared_layers` layers (Gemma 3n, Gemma 4) reuse earlier
caches; per-layer embeddings:
`hidden_size_per_layer_input` x `vocab_size_per_layer_input`.
"""

from __future__ import annotations

from typing import Any, Final

from advisor.models.hf_keys import Config
from advisor.models.record import SLIDING_PATTERN, LayerKind, as_int, periodic, repeat, shared_tail
from advisor.specs import Compressed, LinearAttention, LoraAttention, Mamba, Mla

LAYER_TYPES: Final[dict[str, LayerKind]] = {
    "full_attention": "full", "attention": "full", "global": "full", "global_attention": "full",
    "sliding_attention": "sliding", "sliding": "sliding", "local": "sliding", "local_attention": "sliding",
    "chunked_attention": "chunked", "linear_attention": "linear", "mamba": "mamba", "mamba2": "mamba",
}
PATTERN_CHARS: Final[dict[str, LayerKind]] = {"M": "mamba", "*": "full", "-": "ffn", "E": "ffn"}
BLOCK_TYPES: Final[dict[str, LayerKind]] = {"mamba": "mamba", "attention": "full", "mlp": "ffn", "moe": "ffn"}
GATED_BY_DEFAULT: Final = frozenset({"qwen3_next"})  # attention output gate without an attn_output_gate key
INDEXED_RATIO: Final = 4  # DeepSeek V4: the compressed layers that carry a lightning indexer


def layer_record(c: Config, layers: int, model_type: str) -> dict[str, Any]:
    """The ModelRecord fields that describe the layers: kinds, windows and the per-kind dims."""
    kinds = kinds_of(c, layers, model_type)
    window = c.whole("sliding_window", "sliding_window", "sliding_window_size") or None
    compressed = _compressed(c, layers, window or 0)
    chunk = c.whole("attention_chunk", "attention_chunk_size") or None
    return {"kinds": kinds, "sliding_window": window if "sliding" in kinds else None,
            "attention_chunk": chunk if "chunked" in kinds else None, "linear": _linear(c), "mamba": _mamba(c),
            "mla": mla_of(c), "attention_gate": c.flag("attn_output_gate", default=model_type in GATED_BY_DEFAULT),
            **_global(c),
            "global_shared_kv": c.flag("attention_k_eq_v"),
            **_shared(c, kinds),
            "per_layer_input_dim": c.whole("per_layer_input", "hidden_size_per_layer_input") or None,
            "per_layer_input_vocab": c.whole("per_layer_input.vocab", "vocab_size_per_layer_input") or None,
            "compressed": compressed, "lora_attention": _lora(c)}


def _global(c: Config) -> dict[str, int | None]:
    """Gemma 4: full-attention layers with a head dim of their own and, where given, their own KV heads (a null
    num_global_key_value_heads keeps num_key_value_heads, as Gemma 4 E2B/E4B)."""
    head_dim = c.whole("global_head_dim", "global_head_dim")
    kv_heads = c.whole("global_kv_heads", "num_global_key_value_heads")
    if head_dim and not kv_heads:
        kv_heads = c.whole("global_kv_heads", "num_key_value_heads", "num_kv_heads")
    return {"global_kv_heads": kv_heads, "global_head_dim": head_dim}


def _shared(c: Config, kinds: tuple[LayerKind, ...]) -> dict[str, int]:
    """Gemma 3n / Gemma 4: the last num_kv_shared_layers layers reuse the cache of an earlier layer of their kind."""
    count = c.whole("kv_shared", "num_kv_shared_layers") or 0
    if count:
        c.keys["kv_shared_full"] = c.keys["kv_shared_sliding"] = c.keys["kv_shared"]
    return shared_tail(kinds, count)


def kinds_of(c: Config, layers: int, model_type: str) -> tuple[LayerKind, ...]:
    listed = _listed(c, layers)
    if listed is not None:
        return listed
    interval = c.whole("kinds", "full_attention_interval")
    if interval:
        return periodic(layers, interval, "full", "linear")
    if c.get("window", "sliding_window", "sliding_window_size"):
        every = c.whole("kinds", "sliding_window_pattern", default=SLIDING_PATTERN.get(model_type))
        if every:
            return periodic(layers, every, "full", "sliding")
    if c.get("chunk", "attention_chunk_size"):
        return _chunked(c, layers)
    c.keys.setdefault("kinds", c.prefix + "num_hidden_layers")
    return repeat("full", layers)


def _ratios(c: Config, layers: int) -> list[int] | None:
    """DeepSeek V4's compress ratio per layer (its list also covers the MTP layers after the last one)."""
    ratios = c.items("kinds", "compress_ratios")
    if ratios is None:
        return None
    return [as_int(r, c.keys["kinds"], c.fail) for r in ratios[:layers]]


def _lora(c: Config) -> LoraAttention | None:
    """DeepSeek V4's low-rank query and grouped output projections (no kv_lora_rank: not MLA)."""
    o_rank, q_rank = c.whole("lora_attention", "o_lora_rank"), c.whole("lora_attention.q", "q_lora_rank")
    if not (o_rank and q_rank) or c.get("mla", "kv_lora_rank"):
        return None
    return LoraAttention(q_rank=q_rank, o_rank=o_rank, o_groups=c.whole("lora_attention.groups", "o_groups") or 1)


def _compressed(c: Config, layers: int, window: int) -> tuple[Compressed, ...]:
    ratios = _ratios(c, layers)
    if not ratios:
        return ()
    c.keys["compressed"] = c.keys["kinds"]
    entry = c.whole("head_dim", "head_dim") or 0
    index, top_k = c.whole("index", "index_head_dim") or 0, c.whole("index.top_k", "index_topk") or 0
    return tuple(Compressed(ratio=r, layers=ratios.count(r), entry_dim=entry, window=window,
                            index_dim=index if r == INDEXED_RATIO else 0, top_k=top_k if r == INDEXED_RATIO else 0)
                 for r in sorted(set(ratios) - {0}))


def _listed(c: Config, layers: int) -> tuple[LayerKind, ...] | None:
    """Kinds given one per layer: a hybrid pattern, Kimi's layer lists or layer_types."""
    pattern = c.items("kinds", "hybrid_override_pattern")
    if pattern is not None:
        return tuple(_kind(c, PATTERN_CHARS, char) for char in pattern)
    blocks = c.items("kinds", "layers_block_type")  # the same blocks by name (Nemotron 3 Super / Ultra / 3.5)
    if blocks is not None:
        return tuple(_kind(c, BLOCK_TYPES, block) for block in blocks)
    kimi = c.child("linear_attn_config")
    if kimi is not None and kimi.get("kinds", "kda_layers") is not None:
        linear, full = kimi.items("kinds", "kda_layers") or [], kimi.items("full", "full_attn_layers") or []
        c.keys["kinds"] = c.prefix + "linear_attn_config"
        return repeat("linear", len(linear)) + repeat("full", len(full))
    types = c.items("kinds", "layer_types")
    if types is not None:
        return tuple(_kind(c, LAYER_TYPES, t) for t in types)
    ratios = _ratios(c, layers)
    if ratios is not None:  # DeepSeek V4: 0 a sliding-window layer, else compressed
        return tuple[LayerKind, ...]("compressed" if r else "sliding" for r in ratios)
    return None


def _kind(c: Config, table: dict[str, LayerKind], value: Any) -> LayerKind:
    if not isinstance(value, str) or value not in table:
        c.fail(c.keys["kinds"], f"unknown layer kind {value!r}"[:200])
    return table[value]


def _chunked(c: Config, layers: int) -> tuple[LayerKind, ...]:
    """Llama 4: layers with RoPE use chunked attention; NoPE layers (no_rope_layers 0) attend globally."""
    flags = c.items("kinds", "no_rope_layers")
    if flags:
        return tuple[LayerKind, ...]("chunked" if flag else "full" for flag in flags)
    every = c.whole("kinds", "no_rope_layer_interval", "nope_layer_interval", default=4) or 4
    return periodic(layers, every, "full", "chunked")


def _linear(c: Config) -> LinearAttention | None:
    """Gated DeltaNet (Qwen3-Next, Qwen3.5: linear_*) or Kimi Delta Attention (linear_attn_config)."""
    key_heads = c.whole("linear", "linear_num_key_heads")
    if key_heads:
        key_dim = c.whole("linear.key_head_dim", "linear_key_head_dim", default=128) or 128
        return LinearAttention(key_heads, c.whole("linear.value_heads", "linear_num_value_heads") or key_heads,
                               key_dim, c.whole("linear.value_head_dim", "linear_value_head_dim") or key_dim,
                               c.whole("linear.conv_kernel", "linear_conv_kernel_dim", default=4) or 4)
    kimi = c.child("linear_attn_config")
    heads = None if kimi is None else kimi.whole("linear", "num_heads")
    if kimi is None or not heads:
        return None
    dim = kimi.whole("linear.head_dim", "head_dim", default=128) or 128
    return LinearAttention(heads, heads, dim, dim, kimi.whole("linear.conv", "short_conv_kernel_size", default=4) or 4)


def _mamba(c: Config) -> Mamba | None:
    """Mamba-2 mixers: Nemotron-H (mamba_num_heads, ssm_state_size, n_groups) or Granite 4 (mamba_n_heads...)."""
    heads = c.whole("mamba", "mamba_num_heads", "mamba_n_heads")
    if not heads:
        return None
    if c.get("mamba.head_dim", "mamba_head_dim", "mamba_d_head") == "auto":  # Granite: expand x hidden / heads
        expand = c.whole("mamba.expand", "mamba_expand", default=2) or 2
        head_dim: int | None = expand * (c.whole("hidden_size", "hidden_size") or 0) // heads
    else:
        head_dim = c.whole("mamba.head_dim", "mamba_head_dim", "mamba_d_head")
    state = c.whole("mamba.state_size", "ssm_state_size", "mamba_d_state")
    if not (head_dim and state):
        return None
    return Mamba(heads=heads, head_dim=head_dim, state_size=state,
                 groups=c.whole("mamba.groups", "n_groups", "mamba_n_groups", default=1) or 1,
                 conv_kernel=c.whole("mamba.conv_kernel", "conv_kernel", "mamba_d_conv", default=4) or 4)


def mla_of(c: Config) -> Mla | None:
    """Multi-head latent attention (DeepSeek V3, Kimi, GLM-4.7-Flash): the cached latent and rope widths."""
    rank = c.whole("mla", "kv_lora_rank")
    if not rank:
        return None
    return Mla(kv_lora_rank=rank, rope_head_dim=c.whole("mla.rope", "qk_rope_head_dim", default=64) or 64,
               nope_head_dim=c.whole("mla.nope", "qk_nope_head_dim"), v_head_dim=c.whole("mla.v", "v_head_dim"),
               q_lora_rank=c.whole("mla.q", "q_lora_rank") or None)
