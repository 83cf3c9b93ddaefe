"""Parameter groups of a ModelSpec as llama.cpp lays them out in a GGUF file, and counts from the dims. Pure.

Groups are computed from the config dims (embeddings, per-layer embeddings, attention, linear attention, Mamba,
FFN, experts); what a published total holds beyond them is one residual group, "other". See docs/estimation.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.specs import ModelSpec


@dataclass(frozen=True, slots=True)
class ParamGroup:
    """`params_per_layer` weights in each of `layers` layers; rows of `row_length` elements."""

    name: str
    categories: frozenset[str]
    params_per_layer: int
    layers: int
    row_length: int
    routed: bool = False  # routed experts: only experts_per_token/experts of them are read per token

    @property
    def params(self) -> int:
        return self.params_per_layer * self.layers


def param_groups(model: ModelSpec) -> tuple[ParamGroup, ...]:
    """Groups of weights as llama.cpp lays them out in a GGUF file."""
    a = model.arch
    groups = [ParamGroup("token_embd", frozenset({"token_embd", "output"} if a.tied_embeddings
                                                  else {"token_embd"}), a.vocab_size * a.hidden_size, 1,
                         a.hidden_size)]
    if not a.tied_embeddings:
        groups.append(ParamGroup("output", frozenset({"output"}), a.vocab_size * a.hidden_size, 1,
                                 a.hidden_size))
    groups += _per_layer_input_groups(model) + _attention_groups(model) + _recurrent_groups(model) \
        + _ffn_groups(model)
    counted = sum(g.params for g in groups)
    rest = model.params_total - counted
    if rest > 0:
        groups.append(ParamGroup("other", frozenset({"attn_other"}), rest, 1, a.hidden_size))
    return tuple(groups)


def _per_layer_input_groups(model: ModelSpec) -> list[ParamGroup]:
    """Per-layer embeddings (Gemma 3n, Gemma 4 E): a second token table with `dim` values per layer, a projection
    of the hidden state to them, and each layer's gate and projection back. llama.cpp's per_layer_token_embd is
    looked up a row at a time, like token_embd (so it is not read whole per token)."""
    a, lay = model.arch, model.layout
    if not (lay.per_layer_input_dim and lay.per_layer_input_vocab):
        return []
    h, d, n = a.hidden_size, lay.per_layer_input_dim, a.layers
    return [
        ParamGroup("per_layer_token_embd", frozenset({"token_embd"}), looked_up_params(model), 1, n * d),
        ParamGroup("per_layer_model_proj", frozenset({"attn_other"}), h * n * d, 1, h),
        ParamGroup("per_layer_inp_gate", frozenset({"attn_other"}), h * d, n, h),
        ParamGroup("per_layer_proj", frozenset({"attn_other"}), d * h, n, d),
    ]


def _attention_groups(model: ModelSpec) -> list[ParamGroup]:
    a, lay = model.arch, model.layout
    n = lay.full_attention_layers + lay.sliding_layers + lay.chunked_layers
    h = a.hidden_size
    if lay.mla is not None:
        m = lay.mla
        qk = (m.nope_head_dim or 0) + m.rope_head_dim
        v = m.v_head_dim or a.value_head_dim
        q = (h * m.q_lora_rank + m.q_lora_rank * a.attention_heads * qk) if m.q_lora_rank \
            else h * a.attention_heads * qk
        return [
            ParamGroup("attn_q", frozenset({"attn_other"}), q, n, h),
            ParamGroup("attn_kv_a", frozenset({"attn_other"}), h * (m.kv_lora_rank + m.rope_head_dim), n, h),
            ParamGroup("attn_kv_b", frozenset({"attn_v"}),
                       m.kv_lora_rank * a.attention_heads * ((m.nope_head_dim or 0) + v), n, m.kv_lora_rank),
            ParamGroup("attn_output", frozenset({"attn_output"}), a.attention_heads * v * h, n,
                       a.attention_heads * v),
        ]
    if lay.lora_attention is not None:
        return _lora_attention(model, n + lay.compressed_layers)
    gate = 2 if lay.attention_gate else 1  # an output gate doubles the query projection (Qwen3-Next, Qwen3.5)
    if lay.global_kv_heads and lay.global_head_dim:
        windowed = n - lay.full_attention_layers
        full = _attention(h, a.attention_heads, lay.global_kv_heads, lay.global_head_dim, lay.global_head_dim,
                          lay.full_attention_layers, gate=gate, shared_kv=lay.global_shared_kv, prefix="global_")
        return full + _attention(h, a.attention_heads, a.kv_heads, a.head_dim, a.value_head_dim, windowed, gate=gate)
    return _attention(h, a.attention_heads, a.kv_heads, a.head_dim, a.value_head_dim, n, gate=gate)


def _lora_attention(model: ModelSpec, n: int) -> list[ParamGroup]:
    """DeepSeek V4: low-rank query and grouped low-rank output projections, one K=V projection, in all `n`
    attention layers (the compressors' and indexers' small projections are in the published total's residual)."""
    a, la = model.arch, model.layout.lora_attention
    assert la is not None
    h, qk = a.hidden_size, a.attention_heads * a.head_dim
    return [
        ParamGroup("attn_q_a", frozenset({"attn_other"}), h * la.q_rank, n, h),
        ParamGroup("attn_q_b", frozenset({"attn_q"}), la.q_rank * qk, n, la.q_rank),
        ParamGroup("attn_kv", frozenset({"attn_v"}), h * a.head_dim, n, h),
        ParamGroup("attn_output_a", frozenset({"attn_output"}), qk * la.o_rank, n, qk // la.o_groups),
        ParamGroup("attn_output_b", frozenset({"attn_output"}), la.o_groups * la.o_rank * h, n,
                   la.o_groups * la.o_rank),
    ]


def _attention(h: int, heads: int, kv_heads: int, head_dim: int, v_dim: int, n: int, *, gate: int,
               shared_kv: bool = False, prefix: str = "") -> list[ParamGroup]:
    groups = [
        ParamGroup(f"{prefix}attn_q", frozenset({"attn_q"}), h * heads * head_dim * gate, n, h),
        ParamGroup(f"{prefix}attn_k", frozenset({"attn_k"}), h * kv_heads * head_dim, n, h),
        ParamGroup(f"{prefix}attn_v", frozenset({"attn_v"}), h * kv_heads * v_dim, n, h),
        ParamGroup(f"{prefix}attn_output", frozenset({"attn_output"}), heads * v_dim * h, n, heads * v_dim),
    ]
    return [g for g in groups if not (shared_kv and g.name.endswith("attn_v"))]


def _recurrent_groups(model: ModelSpec) -> list[ParamGroup]:
    """Projections of Gated DeltaNet and Mamba-2 layers, named as llama.cpp names them."""
    h, lay, groups = model.arch.hidden_size, model.layout, []
    if lay.linear_layers and lay.linear is not None:
        g, n = lay.linear, lay.linear_layers
        qkv = 2 * g.key_heads * g.key_head_dim + g.value_heads * g.value_head_dim
        value = g.value_heads * g.value_head_dim
        groups += [
            ParamGroup("linear_qkv", frozenset({"attn_v"}), h * qkv, n, h),  # attn_qkv: an attn_v-like tensor
            ParamGroup("linear_gate", frozenset({"attn_other"}), h * value + h * 2 * g.value_heads, n, h),
            ParamGroup("linear_out", frozenset({"attn_other"}), value * h, n, value),
            ParamGroup("linear_conv", frozenset({"norm"}), qkv * g.conv_kernel, n, g.conv_kernel),
        ]
    if lay.mamba_layers and lay.mamba is not None:
        m, n = lay.mamba, lay.mamba_layers
        d_inner, xbc = m.heads * m.head_dim, m.heads * m.head_dim + 2 * m.groups * m.state_size
        groups += [
            ParamGroup("ssm_in", frozenset({"attn_other"}), h * (d_inner + xbc + m.heads), n, h),
            ParamGroup("ssm_out", frozenset({"attn_other"}), d_inner * h, n, d_inner),
            ParamGroup("ssm_conv", frozenset({"norm"}), xbc * m.conv_kernel, n, m.conv_kernel),
        ]
    return groups


def _ffn_groups(model: ModelSpec) -> list[ParamGroup]:
    a, moe = model.arch, model.moe
    h, groups = a.hidden_size, []
    dense_layers = moe.dense_layers if moe else _mlp_layers(model)
    wide = model.layout.kv_shared_layers if moe is None and model.layout.kv_shared_ffn else 0
    if a.intermediate_size and dense_layers:
        groups += _mlp("ffn", frozenset(), h, a.intermediate_size, dense_layers - wide, a.ffn_matrices, copies=1)
    if wide and model.layout.kv_shared_ffn:  # Gemma 4 E2B: the cache-sharing layers' FFN is twice as wide
        groups += _mlp("wide_ffn", frozenset(), h, model.layout.kv_shared_ffn, wide, a.ffn_matrices, copies=1)
    if moe is not None:
        groups += _mlp("exps", frozenset({"experts"}), moe.latent_size or h, moe.expert_ffn, moe.moe_layers,
                       a.ffn_matrices, copies=moe.experts, routed=True)
        if moe.shared_experts:
            groups += _mlp("shexp", frozenset(), h, moe.shared_ffn or moe.expert_ffn, moe.moe_layers,
                           a.ffn_matrices, copies=moe.shared_experts)
        groups.append(ParamGroup("router", frozenset({"norm"}), h * moe.experts, moe.moe_layers, h))
        if moe.latent_size:
            groups.append(ParamGroup("latent_proj", frozenset({"attn_other"}), 2 * h * moe.latent_size,
                                     moe.moe_layers, h))
    return groups


def _mlp_layers(model: ModelSpec) -> int:
    """Layers with a dense FFN in a dense model: every layer, unless some layers are FFN-only blocks (Nemotron-H's
    '-' layers), in which case the mixer layers (M, *) have none."""
    lay = model.layout
    mixers = lay.full_attention_layers + lay.sliding_layers + lay.chunked_layers + lay.linear_layers \
        + lay.mamba_layers
    return model.arch.layers - mixers if mixers < model.arch.layers else model.arch.layers


def _mlp(prefix: str, extra: frozenset[str], hidden: int, ffn: int, layers: int, matrices: int, *,
         copies: int, routed: bool = False) -> list[ParamGroup]:
    names = ("up", "gate", "down") if matrices == 3 else ("up", "down")
    return [ParamGroup(f"{prefix}_{name}", extra | {f"ffn_{name}"}, hidden * ffn * copies, layers,
                       ffn if name == "down" else hidden, routed) for name in names]


def active_expert_params(model: ModelSpec, groups: tuple[ParamGroup, ...] | None = None) -> int:
    """Routed-expert parameters one token runs through (experts_per_token / experts of them); 0 for dense models
    (`groups`: param_groups(model), when the caller has them)."""
    if model.moe is None:
        return 0
    routed = sum(g.params for g in groups or param_groups(model) if g.routed)
    return round(routed * model.moe.experts_per_token / model.moe.experts)


def matmul_params(model: ModelSpec, groups: tuple[ParamGroup, ...] | None = None) -> int:
    """Parameters a token's forward pass multiplies by, from the config's dimensions (not a model card's rounded
    "active" figure): every group but the routed experts (counted for the experts a token uses), the tables a token
    only looks a row up in (token_embd, unless the output head shares it; the per-layer tables) and the residual no
    config dimension accounts for (a vision tower, for one). The output head is counted for every token."""
    groups = groups or param_groups(model)
    lookups = {"per_layer_token_embd", "other"} | (set() if model.arch.tied_embeddings else {"token_embd"})
    return sum(g.params for g in groups if not g.routed and g.name not in lookups) + active_expert_params(model, groups)


def looked_up_params(model: ModelSpec) -> int:
    """Parameters of the per-layer embedding table: a token reads one row of it, no matmul runs over it."""
    lay = model.layout
    if not (lay.per_layer_input_dim and lay.per_layer_input_vocab):
        return 0
    return lay.per_layer_input_vocab * model.arch.layers * lay.per_layer_input_dim


def count_params(model: ModelSpec) -> tuple[int, int]:
    """(total, active) parameters computed from the config dims alone (no residual group)."""
    groups = tuple(g for g in param_groups(model) if g.name != "other")
    total = sum(g.params for g in groups)
    return total, total - sum(g.params for g in groups if g.routed) + active_expert_params(model, groups)
