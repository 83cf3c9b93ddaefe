"""Test helper: write a Hugging Face config.json for a catalog model, with the keys real configs of its layout use."""

from __future__ import annotations

from typing import Any

from advisor.specs import Layout, ModelSpec, Moe


def config_json(m: ModelSpec) -> dict[str, Any]:
    """A config.json describing `m` the way its family's published configs do."""
    a, lay = m.arch, m.layout
    cfg: dict[str, Any] = {
        "model_type": _model_type(m), "num_hidden_layers": a.layers, "hidden_size": a.hidden_size,
        "num_attention_heads": a.attention_heads, "num_key_value_heads": a.kv_heads, "head_dim": a.head_dim,
        "vocab_size": a.vocab_size, "tie_word_embeddings": a.tied_embeddings,
        "hidden_act": "relu2" if a.ffn_matrices == 2 else "silu"}
    if a.max_context_tokens:
        cfg["max_position_embeddings"] = a.max_context_tokens
    if a.intermediate_size:
        cfg["intermediate_size"] = a.intermediate_size
    if a.v_head_dim:
        cfg["v_head_dim"] = a.v_head_dim
    layers, dims = _shared_layers(m, lay) or _compressed(lay) or _layers(m, lay), _dims(lay)
    if "linear_attn_config" in dims:
        layers["linear_attn_config"] |= dims.pop("linear_attn_config")
    cfg |= layers | dims
    if m.moe is not None:
        cfg |= _moe(m, m.moe)
    if m.family.lower().startswith(("qwen3.5", "qwen3.6")):  # multimodal: the language model under text_config
        return {"_name_or_path": m.hf_repo or m.id, "model_type": "qwen3_5", "text_config": cfg}
    return {"_name_or_path": m.hf_repo or m.id, **cfg}


def _model_type(m: ModelSpec) -> str:
    lay = m.layout
    if lay.mamba_layers:
        return "nemotron_h" if _nemotron(m) else "granitemoehybrid"
    if lay.linear_layers:
        return "kimi_linear" if lay.mla else "qwen3_next"
    if lay.chunked_layers:
        return "llama4_text"
    if lay.global_kv_heads:
        return "gemma4_text"
    return "deepseek_v3" if lay.mla else "llama"


def _nemotron(m: ModelSpec) -> bool:
    lay = m.layout
    return lay.full_attention_layers + lay.mamba_layers < m.arch.layers


def _shared_layers(m: ModelSpec, lay: Layout) -> dict[str, Any]:
    """Gemma 3n / 4 with KV sharing: layer_types in their periodic order, so the shared tail holds both kinds."""
    if not (lay.kv_shared_full_layers or lay.kv_shared_sliding_layers):
        return {}
    every = m.arch.layers // lay.full_attention_layers
    periodic = ["full_attention" if (i + 1) % every == 0 else "sliding_attention" for i in range(m.arch.layers)]
    return {"layer_types": periodic, "sliding_window": lay.sliding_window}


def _compressed(lay: Layout) -> dict[str, Any]:
    """DeepSeek V4: a ratio per layer, 0 for the sliding-window layers ({} for other layouts)."""
    if not lay.compressed:
        return {}
    ratios = [0] * lay.sliding_layers + [r for g in lay.compressed for r in [g.ratio] * g.layers]
    (indexed,) = [g for g in lay.compressed if g.index_dim]
    lora = {} if lay.lora_attention is None else {"q_lora_rank": lay.lora_attention.q_rank,
                                                  "o_lora_rank": lay.lora_attention.o_rank,
                                                  "o_groups": lay.lora_attention.o_groups}
    return {"compress_ratios": ratios, "sliding_window": lay.compressed[0].window,
            "index_head_dim": indexed.index_dim, "index_topk": indexed.top_k} | lora


def _layers(m: ModelSpec, lay: Layout) -> dict[str, Any]:
    if lay.mamba_layers and _nemotron(m):
        moe = m.moe.moe_layers if m.moe else 0
        rest = m.arch.layers - lay.full_attention_layers - lay.mamba_layers - moe
        pattern = "M" * lay.mamba_layers + "*" * lay.full_attention_layers + "E" * moe + "-" * rest
        return {"hybrid_override_pattern": pattern}
    if lay.linear_layers and lay.mla:
        return {"linear_attn_config": {
            "kda_layers": [i + 1 for i in range(lay.linear_layers)],
            "full_attn_layers": [lay.linear_layers + i + 1 for i in range(lay.full_attention_layers)]}}
    if lay.linear_layers and m.family.lower().startswith("qwen3-next"):
        return {"full_attention_interval": m.arch.layers // lay.full_attention_layers}
    if lay.chunked_layers:
        return {"attention_chunk_size": lay.attention_chunk,
                "no_rope_layers": [1] * lay.chunked_layers + [0] * lay.full_attention_layers}
    types = (["full_attention"] * lay.full_attention_layers + ["sliding_attention"] * lay.sliding_layers
             + ["linear_attention"] * lay.linear_layers + ["mamba"] * lay.mamba_layers)
    if lay.mamba_layers:
        types = ["attention" if t == "full_attention" else t for t in types]  # Granite 4's names
    if lay.sliding_layers and lay.full_attention_layers and not lay.global_kv_heads \
            and m.arch.layers // lay.full_attention_layers * lay.full_attention_layers == m.arch.layers \
            and m.family.lower().startswith("gemma"):
        return {"sliding_window": lay.sliding_window,
                "sliding_window_pattern": m.arch.layers // lay.full_attention_layers}
    out: dict[str, Any] = {"layer_types": types} if set(types) != {"full_attention"} else {}
    if lay.sliding_window:
        out["sliding_window"] = lay.sliding_window
    return out


def _dims(lay: Layout) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if lay.linear and not lay.mla:
        g = lay.linear
        out |= {"linear_num_key_heads": g.key_heads, "linear_num_value_heads": g.value_heads,
                "linear_key_head_dim": g.key_head_dim, "linear_value_head_dim": g.value_head_dim,
                "linear_conv_kernel_dim": g.conv_kernel, "attn_output_gate": lay.attention_gate}
    if lay.linear and lay.mla:
        assert lay.linear.key_heads == lay.linear.value_heads and lay.linear.key_head_dim == lay.linear.value_head_dim
        out["linear_attn_config"] = {"num_heads": lay.linear.key_heads, "head_dim": lay.linear.key_head_dim,
                                          "short_conv_kernel_size": lay.linear.conv_kernel}
    if lay.mamba:
        mb = lay.mamba
        out |= {"mamba_num_heads": mb.heads, "mamba_head_dim": mb.head_dim, "ssm_state_size": mb.state_size,
                "n_groups": mb.groups, "conv_kernel": mb.conv_kernel}
    if lay.mla:
        ml = lay.mla
        out |= {k: v for k, v in (("kv_lora_rank", ml.kv_lora_rank), ("qk_rope_head_dim", ml.rope_head_dim),
                                  ("qk_nope_head_dim", ml.nope_head_dim), ("v_head_dim", ml.v_head_dim),
                                  ("q_lora_rank", ml.q_lora_rank)) if v is not None}
    if lay.global_kv_heads:
        out |= {"num_global_key_value_heads": lay.global_kv_heads, "global_head_dim": lay.global_head_dim,
                "attention_k_eq_v": lay.global_shared_kv}
    if lay.attention_gate and "attn_output_gate" not in out:
        out["attn_output_gate"] = True
    if lay.kv_shared_full_layers or lay.kv_shared_sliding_layers:  # Gemma 3n / 4: the last layers reuse caches
        out["num_kv_shared_layers"] = lay.kv_shared_full_layers + lay.kv_shared_sliding_layers
    if lay.kv_shared_ffn:  # Gemma 4 E2B: a config says only "double wide"
        out["use_double_wide_mlp"] = True
    if lay.per_layer_input_dim:
        out |= {"hidden_size_per_layer_input": lay.per_layer_input_dim,
                "vocab_size_per_layer_input": lay.per_layer_input_vocab}
    return out


def _moe(m: ModelSpec, moe: Moe) -> dict[str, Any]:
    lay, shared_ffn = m.layout, moe.shared_ffn or moe.expert_ffn
    if lay.chunked_layers:  # Llama 4: experts and shared expert intermediate_size wide, dense intermediate_size_mlp
        assert moe.shared_experts == 1 and shared_ffn == moe.expert_ffn
        out = {"num_local_experts": moe.experts, "num_experts_per_tok": moe.experts_per_token,
               "intermediate_size": moe.expert_ffn, "interleave_moe_layer_step": m.arch.layers // moe.moe_layers}
        return out | ({"intermediate_size_mlp": m.arch.intermediate_size} if moe.dense_layers else {})
    if lay.global_kv_heads:  # Gemma 4: the dense MLP beside the experts is the shared expert
        assert moe.shared_experts == 1
        return {"enable_moe_block": True, "num_experts": moe.experts, "top_k_experts": moe.experts_per_token,
                "moe_intermediate_size": moe.expert_ffn, "intermediate_size": shared_ffn}
    if lay.mamba_layers and _nemotron(m):
        out = {"n_routed_experts": moe.experts, "num_experts_per_tok": moe.experts_per_token,
               "moe_intermediate_size": moe.expert_ffn, "n_shared_experts": moe.shared_experts,
               "moe_shared_expert_intermediate_size": shared_ffn}
        return out | ({"moe_latent_size": moe.latent_size} if moe.latent_size else {})
    if lay.mamba_layers:  # Granite 4.0-H
        return {"num_local_experts": moe.experts, "num_experts_per_tok": moe.experts_per_token,
                "intermediate_size": moe.expert_ffn, "shared_intermediate_size": shared_ffn}
    return _moe_routed(lay, moe, shared_ffn)


def _moe_routed(lay: Layout, moe: Moe, shared_ffn: int) -> dict[str, Any]:
    """Kimi Linear, DeepSeek / GLM and Qwen MoE keys."""
    if lay.linear_layers and lay.mla:  # Kimi Linear; Kimi K3 names its LatentMoE width routed_expert_hidden_size
        return {"num_experts": moe.experts, "num_experts_per_token": moe.experts_per_token,
                "moe_intermediate_size": moe.expert_ffn, "num_shared_experts": moe.shared_experts,
                "first_k_dense_replace": moe.dense_layers} | _shared_width(moe) | \
            ({"routed_expert_hidden_size": moe.latent_size} if moe.latent_size else {})
    if lay.mla or moe.dense_layers:  # DeepSeek V3 / GLM style
        return {"n_routed_experts": moe.experts, "num_experts_per_tok": moe.experts_per_token,
                "moe_intermediate_size": moe.expert_ffn, "n_shared_experts": moe.shared_experts,
                "first_k_dense_replace": moe.dense_layers} | _shared_width(moe)
    out = {"num_experts": moe.experts, "num_experts_per_tok": moe.experts_per_token,
           "moe_intermediate_size": moe.expert_ffn}
    if moe.shared_experts:  # Qwen MoE: one shared expert of its own width
        out |= {"n_shared_experts": moe.shared_experts, "shared_expert_intermediate_size": shared_ffn}
    return out


def _shared_width(moe: Moe) -> dict[str, Any]:
    if moe.shared_ffn and moe.shared_ffn != moe.expert_ffn:
        return {"shared_expert_intermediate_size": moe.shared_ffn}
    return {}
