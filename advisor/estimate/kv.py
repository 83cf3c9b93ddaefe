"""KV cache and recurrent state as llama.cpp allocates them: how many cells each kind of layer gets.

What one token (or one sequence) costs in each kind of layer is the architecture's: advisor.models.cache.

full attention: cells = pad(context, 256); bytes/cell = kv_heads x (head_dim + v_head_dim) x elem
sliding / chunked: cells = min(pad(context), pad(window x sequences + ubatch))
MLA: the compressed latent only, (kv_lora_rank + rope_head_dim) x elem, no V (llama.cpp PR 19067)
linear attention / Mamba: no KV; a fixed fp32 state per sequence. See docs/estimation.md.
KV sharing (Gemma 3n, Gemma 4 E): the last layers reuse an earlier layer's cells and get none of their own.
compressed (DeepSeek V4): per layer, one entry (K and V in one) per `ratio` tokens, plus its indexer key where it has
one, plus a ring of the last `window` tokens' entries per sequence; decode reads every indexer key but only the
top-k entries the indexer picks (CompressedCache).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.models.cache import elem_bytes, per_token_bytes, recurrent_state_bytes
from advisor.specs import Compressed, ModelSpec, QuantType

__all__ = ["CompressedCache", "KvEstimate", "estimate_kv", "pad", "per_token_bytes", "recurrent_state_bytes"]


@dataclass(frozen=True, slots=True)
class CompressedCache:
    """One group of compressed-attention layers in a cache type: bytes per entry and per indexer key."""

    group: Compressed
    entry_bytes: int
    index_bytes: int

    def entries(self, tokens: int) -> int:
        return -(-tokens // self.group.ratio)

    def cache_bytes(self, tokens: int, sequences: int = 1) -> int:
        g = self.group
        return g.layers * (self.entries(tokens) * (self.entry_bytes + self.index_bytes)
                           + sequences * g.window * self.entry_bytes)

    def read_bytes(self, depth_tokens: int) -> int:
        """What one decode step reads: every indexer key, the top-k entries (or all), the window's entries."""
        g, n = self.group, self.entries(depth_tokens)
        attended = min(n, g.top_k) if g.top_k else n
        return g.layers * (n * self.index_bytes + (attended + min(depth_tokens, g.window)) * self.entry_bytes)

    def bytes_per_token(self) -> int:
        """Growth per token of context, rounded up (the rings are fixed)."""
        return -(-self.group.layers * (self.entry_bytes + self.index_bytes) // self.group.ratio)

@dataclass(frozen=True, slots=True)
class KvEstimate:
    cache_type: str
    context_tokens: int
    kv_cache_bytes: int
    recurrent_state_bytes: int
    full_bytes_per_token: int  # grows with context: the full-attention layers
    windowed_bytes_per_token: int  # sliding / chunked layers, capped at their window
    window_tokens: int | None
    compressed: tuple[CompressedCache, ...] = ()  # compressed-attention layers (DeepSeek V4)

    @property
    def growth_bytes_per_token(self) -> int:
        """What each further token of context adds: full layers, and compressed layers per token on average."""
        return self.full_bytes_per_token + sum(c.bytes_per_token() for c in self.compressed)

    @property
    def total_bytes(self) -> int:
        return self.kv_cache_bytes + self.recurrent_state_bytes


def pad(tokens: int, multiple: int) -> int:
    return -(-tokens // multiple) * multiple


def estimate_kv(model: ModelSpec, cache: QuantType, *, context_tokens: int, sequences: int = 1,
                ubatch_tokens: int, pad_tokens: int) -> KvEstimate:
    """KV cache for `context_tokens` shared by `sequences` (llama-server's unified cache); the micro-batch and the
    cell padding come from catalog/defaults.yaml (Defaults.ubatch_tokens, kv_pad_tokens), never from here."""
    lay = model.layout
    cells = pad(context_tokens, pad_tokens)
    full_one, win_one = per_token_bytes(model, cache)
    kv = lay.cached_full_layers * full_one * cells
    windowed = lay.cached_windowed_layers
    window = lay.sliding_window if lay.sliding_layers else lay.attention_chunk
    if windowed and window:
        win_cells = min(cells, pad(window * sequences + ubatch_tokens, pad_tokens))
        kv += windowed * win_one * win_cells
    compressed = tuple(CompressedCache(g, elem_bytes(cache, g.entry_dim), elem_bytes(cache, g.index_dim))
                       for g in lay.compressed)
    kv += sum(c.cache_bytes(cells, sequences) for c in compressed)
    return KvEstimate(cache_type=cache.name, context_tokens=context_tokens, kv_cache_bytes=kv,
                      recurrent_state_bytes=recurrent_state_bytes(model, sequences),
                      full_bytes_per_token=lay.cached_full_layers * full_one,
                      windowed_bytes_per_token=windowed * win_one, window_tokens=window if windowed else None,
                      compressed=compressed)
