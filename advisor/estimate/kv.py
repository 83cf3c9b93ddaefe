"""KV cache and recurrent state as llama.cpp allocates them: how many cells each kind of layer gets.

What one token (or one sequence) costs in each kind of layer is the architecture's: advisor.models.cache.

full attention: cells = pad(context, 256); bytes/cell = kv_heads x (head_dim + v_head_dim) x elem
sliding / chunked: cells = min(pad(context), pad(window x sequences + ubatch))
MLA: the compressed latent only, (kv_lora_rank + rope_head_dim) x elem, no V (llama.cpp PR 19067)
linear attention / Mamba: no KV; a fixed fp32 state per sequence. See docs/estimation.md.
KV sharing (Gemma 3n, Gemma 4 E): the last layers reuse an earlier layer's cells and get none of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.models.cache import per_token_bytes, recurrent_state_bytes
from advisor.specs import ModelSpec, QuantType

__all__ = ["KvEstimate", "estimate_kv", "pad", "per_token_bytes", "recurrent_state_bytes"]

@dataclass(frozen=True, slots=True)
class KvEstimate:
    cache_type: str
    context_tokens: int
    kv_cache_bytes: int
    recurrent_state_bytes: int
    full_bytes_per_token: int  # grows with context: the full-attention layers
    windowed_bytes_per_token: int  # sliding / chunked layers, capped at their window
    window_tokens: int | None

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
    return KvEstimate(cache_type=cache.name, context_tokens=context_tokens, kv_cache_bytes=kv,
                      recurrent_state_bytes=recurrent_state_bytes(model, sequences),
                      full_bytes_per_token=lay.cached_full_layers * full_one,
                      windowed_bytes_per_token=windowed * win_one, window_tokens=window if windowed else None)
