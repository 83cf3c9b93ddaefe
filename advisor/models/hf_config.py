"""A Hugging Face config.json -> ModelSpec, for `advisor estimate --config config.json`. Pure.

Multimodal configs nest the language model under text_config. The parameter count is derived from the dims.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from advisor.errors import UsageError
from advisor.estimate.weights import count_params
from advisor.specs import Arch, Layout, Mla, ModelSpec, Moe


def _int(cfg: dict[str, Any], *keys: str, default: int | None = None) -> int | None:
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def model_from_config(data: Any, name: str, source: str) -> ModelSpec:
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a config.json is a JSON object")
    nested = data.get("text_config")
    cfg: dict[str, Any] = nested if isinstance(nested, dict) else data
    layers, hidden = _int(cfg, "num_hidden_layers", "n_layer"), _int(cfg, "hidden_size", "n_embd")
    heads = _int(cfg, "num_attention_heads", "n_head")
    if not (layers and hidden and heads):
        raise UsageError(f"{source}: needs num_hidden_layers, hidden_size and num_attention_heads")
    arch = Arch(layers=layers, hidden_size=hidden, attention_heads=heads,
                kv_heads=_int(cfg, "num_key_value_heads", default=heads) or heads,
                head_dim=_int(cfg, "head_dim", default=hidden // heads) or hidden // heads,
                vocab_size=_int(cfg, "vocab_size", default=32000) or 32000,
                tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
                max_context_tokens=_int(cfg, "max_position_embeddings"),
                intermediate_size=_int(cfg, "intermediate_size"))
    spec = ModelSpec(id=name, name=name, family=str(cfg.get("model_type") or "custom"), params_total=0,
                     params_active=None, arch=arch, layout=_layout(cfg, layers), moe=_moe(cfg, layers),
                     source=source, params_derived=True)
    total, active = count_params(spec)
    return replace(spec, params_total=total, params_active=active if spec.moe else None)


def _layout(cfg: dict[str, Any], layers: int) -> Layout:
    mla = None
    if _int(cfg, "kv_lora_rank"):
        mla = Mla(kv_lora_rank=_int(cfg, "kv_lora_rank") or 512, rope_head_dim=_int(cfg, "qk_rope_head_dim") or 64,
                  nope_head_dim=_int(cfg, "qk_nope_head_dim"), v_head_dim=_int(cfg, "v_head_dim"),
                  q_lora_rank=_int(cfg, "q_lora_rank"))
    types = cfg.get("layer_types")
    window = _int(cfg, "sliding_window")
    if isinstance(types, list) and window:
        sliding = sum(1 for t in types if t == "sliding_attention")
        return Layout(full_attention_layers=layers - sliding, sliding_layers=sliding, sliding_window=window, mla=mla)
    pattern = _int(cfg, "sliding_window_pattern")
    if window and pattern:
        full = layers // pattern
        return Layout(full_attention_layers=full, sliding_layers=layers - full, sliding_window=window, mla=mla)
    return Layout(full_attention_layers=layers, mla=mla)


def _moe(cfg: dict[str, Any], layers: int) -> Moe | None:
    experts = _int(cfg, "num_experts", "num_local_experts", "n_routed_experts")
    if not experts or experts < 2:
        return None
    dense = _int(cfg, "first_k_dense_replace", default=0) or 0
    shared_ffn = _int(cfg, "shared_expert_intermediate_size")
    shared = _int(cfg, "n_shared_experts", default=1 if shared_ffn else 0) or 0
    return Moe(experts=experts, experts_per_token=_int(cfg, "num_experts_per_tok", default=2) or 2,
               expert_ffn=_int(cfg, "moe_intermediate_size", "intermediate_size", default=1) or 1,
               moe_layers=layers - dense, shared_experts=shared, shared_ffn=shared_ffn, dense_layers=dense)
