"""KV cache and recurrent state, per layer kind, as llama.cpp allocates them.

full attention: cells = pad(context, 256); bytes/cell = kv_heads x (head_dim + v_head_dim) x elem
sliding / chunked: cells = min(pad(context), pad(window x sequences + ubatch))
MLA: the compressed latent only, (kv_lora_rank + rope_head_dim) x elem, no V (llama.cpp PR 19067)
linear attention / Mamba: no KV; a fixed fp32 state per sequence. See docs/estimation.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.specs import ModelSpec, QuantType

STATE_BYTES_PER_VALUE = 4  # recurrent states are kept in fp32


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


def elem_bytes(cache: QuantType, count: int) -> int:
    """Bytes of `count` cache values stored as `cache` (quantized types in whole blocks)."""
    return cache.tensor_bytes(count)


def per_token_bytes(model: ModelSpec, cache: QuantType) -> tuple[int, int]:
    """(bytes per token of one full-attention layer, of one windowed layer)."""
    a, lay = model.arch, model.layout
    if lay.mla is not None:
        return elem_bytes(cache, lay.mla.kv_lora_rank + lay.mla.rope_head_dim), 0
    one = elem_bytes(cache, a.kv_heads * a.head_dim) + elem_bytes(cache, a.kv_heads * a.value_head_dim)
    if lay.global_kv_heads and lay.global_head_dim:
        width = lay.global_kv_heads * lay.global_head_dim
        full = elem_bytes(cache, width) * (1 if lay.global_shared_kv else 2)
        return full, one
    return one, one


def recurrent_state_bytes(model: ModelSpec, sequences: int = 1) -> int:
    """Fixed per-sequence state of linear-attention and Mamba layers (fp32)."""
    lay, total = model.layout, 0
    if lay.linear_layers and lay.linear is not None:
        g = lay.linear
        conv = (g.conv_kernel - 1) * (2 * g.key_heads * g.key_head_dim + g.value_heads * g.value_head_dim)
        ssm = g.value_heads * g.key_head_dim * g.value_head_dim
        total += lay.linear_layers * (conv + ssm)
    if lay.mamba_layers and lay.mamba is not None:
        m = lay.mamba
        d_inner = m.heads * m.head_dim
        conv = (m.conv_kernel - 1) * (d_inner + 2 * m.groups * m.state_size)
        total += lay.mamba_layers * (conv + m.state_size * d_inner)
    return total * STATE_BYTES_PER_VALUE * sequences


def estimate_kv(model: ModelSpec, cache: QuantType, *, context_tokens: int, sequences: int = 1,
                ubatch_tokens: int, pad_tokens: int) -> KvEstimate:
    """KV cache for `context_tokens` shared by `sequences` (llama-server's unified cache); the micro-batch and the
    cell padding come from catalog/defaults.yaml (Defaults.ubatch_tokens, kv_pad_tokens), never from here."""
    lay = model.layout
    cells = pad(context_tokens, pad_tokens)
    full_one, win_one = per_token_bytes(model, cache)
    kv = lay.full_attention_layers * full_one * cells
    windowed = lay.sliding_layers + lay.chunked_layers
    window = lay.sliding_window if lay.sliding_layers else lay.attention_chunk
    if windowed and window:
        win_cells = min(cells, pad(window * sequences + ubatch_tokens, pad_tokens))
        kv += windowed * win_one * win_cells
    return KvEstimate(cache_type=cache.name, context_tokens=context_tokens, kv_cache_bytes=kv,
                      recurrent_state_bytes=recurrent_state_bytes(model, sequences),
                      full_bytes_per_token=lay.full_attention_layers * full_one,
                      windowed_bytes_per_token=windowed * win_one, window_tokens=window if windowed else None)
