"""What each kind of layer stores: cache bytes per token (full attention, windowed attention, MLA's latent) and
fixed state bytes per sequence (linear attention, Mamba). A property of the architecture, kept with the reader, so a
new attention layout is added in this package; advisor.estimate.kv decides how many tokens each kind keeps. Pure.
"""

from __future__ import annotations

from advisor.specs import ModelSpec, QuantType

STATE_BYTES_PER_VALUE = 4  # recurrent states are kept in fp32


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
