"""What attending to the context already there costs a token: its FLOPs and the cache bytes it reads. Pure.

flops:        QK^T and AV over the context, 2 x 2 x heads x head_dim a cached token per full-attention layer (windowed
              layers capped at their window, compressed layers at the entries they attend to).
cache bytes:  the K and V (or MLA latent) entries of that context, as the KV estimate sizes them (its cache type:
              q8_0 halves f16's), without a recurrent layer's state. A decode step reads them once per token; a
              prompt's flash attention reads them once per block of `queries` prompt tokens that attend together,
              cache_seconds (SpeedFit.prefill_cache_queries, fitted on prefill runs at depth). So grouped-query
              attention (few KV heads for many query heads) and a quantized cache cost less memory traffic for the same
              FLOPs, and a device with little bandwidth for its compute pays more for a long context.
"""

from __future__ import annotations

from advisor.estimate.kv import KvEstimate
from advisor.specs import ModelSpec


def attention_flops(model: ModelSpec, depth_tokens: int, absorbed_mla: bool = False) -> int:
    """FLOPs per token of attention over `depth_tokens` of context (QK^T and AV, 2 x 2 x heads x head_dim each).
    With `absorbed_mla` (an engine that attends over MLA's compressed cache, Engine.absorbed_mla) each head's QK^T
    spans the latent and the rope part and its AV the latent: 2 x heads x (2 x kv_lora_rank + rope_head_dim)."""
    a, lay = model.arch, model.layout
    mla = lay.mla if absorbed_mla else None
    width = 2 * a.attention_heads * (2 * mla.kv_lora_rank + mla.rope_head_dim) if mla \
        else 4 * a.attention_heads * a.head_dim
    windowed = min(depth_tokens, lay.sliding_window or lay.attention_chunk or 0)
    # the entries a compressed layer attends to (the indexer's top-k of them), and its window
    compressed = sum(g.layers * (min(-(-depth_tokens // g.ratio), g.top_k or depth_tokens)
                                 + min(depth_tokens, g.window)) for g in lay.compressed)
    return width * (lay.full_attention_layers * depth_tokens + (lay.sliding_layers + lay.chunked_layers) * windowed
                    + compressed)


def cache_read_bytes(kv: KvEstimate, depth_tokens: int) -> int:
    """Cache bytes a token's attention reads with `depth_tokens` already in context (windowed layers capped at
    their window, compressed layers at what their indexer picks); not a recurrent layer's state."""
    windowed = min(depth_tokens, kv.window_tokens or 0)
    return depth_tokens * kv.full_bytes_per_token + windowed * kv.windowed_bytes_per_token \
        + sum(c.read_bytes(depth_tokens) for c in kv.compressed)


def cache_seconds(cache_bytes: int, bandwidth_gbps: float, queries: float | None) -> float:
    """A prompt token's share of reading its context's cache: the bytes once per `queries` prompt tokens, at the
    memory's bandwidth (None: no cache term, the attention's FLOPs alone)."""
    if not queries or not cache_bytes or not bandwidth_gbps:
        return 0.0
    return cache_bytes / (queries * bandwidth_gbps * 1e9)
