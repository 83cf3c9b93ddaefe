"""A Hugging Face config.json -> ModelRecord -> ModelSpec, for `advisor estimate --config config.json`. Pure.

Multimodal configs nest the language model under text_config. A config holds no parameter count: pass the
published (or measured) total when known; otherwise it is derived from the dims. Layer kinds: hf_layers.
Errors are UsageErrors naming `path: key: problem`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from advisor.errors import UsageError
from advisor.models.hf_keys import Config
from advisor.models.hf_layers import layer_record
from advisor.models.record import ModelRecord, as_int, build_model
from advisor.specs import Arch, Mla, ModelSpec, Moe

NON_GATED: Final = frozenset({"gpt2", "gpt_bigcode", "starcoder2", "phi", "nemotron", "falcon", "gpt_neox"})
LLAMA4: Final = frozenset({"llama4", "llama4_text"})
GEMMA4: Final = frozenset({"gemma4", "gemma4_text"})


def config_name(data: Any, path: Path | None) -> str:
    """The model's name: `_name_or_path`, else the config's folder (resolved), else its architecture."""
    raw = data.get("_name_or_path") if isinstance(data, dict) else None
    if isinstance(raw, str) and raw.strip().rstrip("/\\"):
        text = raw.strip().rstrip("/\\")
        name = Path(text).name if text.startswith(("/", ".", "~")) or "\\" in text else text
        if name not in ("", ".", ".."):
            return name
    if path is not None:
        folder = path.resolve().parent.name
        if folder not in ("", ".", ".."):
            return folder
    archs = data.get("architectures") if isinstance(data, dict) else None
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    kind = data.get("model_type") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) and kind else "config"


def model_from_config(data: Any, source: str, *, name: str | None = None, params_total: int | None = None,
                      params_active: int | None = None) -> ModelSpec:
    """The ModelSpec of a config.json's language model; `params_*` are published or measured counts."""
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a config.json is a JSON object")
    nested = data.get("text_config")
    c = Config(nested, source, "text_config.") if isinstance(nested, dict) else Config(data, source)
    model_type = str(c.data.get("model_type") or data.get("model_type") or "custom")
    layers = c.whole("layers", "num_hidden_layers", "n_layer", "num_layers")
    if layers is None:  # Nemotron 3 Ultra's config counts its layers only as its block list
        layers = len(c.items("layers", "layers_block_type") or []) or None
    hidden = c.whole("hidden_size", "hidden_size", "n_embd", "d_model")
    heads = c.whole("attention_heads", "num_attention_heads", "n_head")
    if layers is None or hidden is None or heads is None:
        raise UsageError(f"{source}: needs num_hidden_layers, hidden_size and num_attention_heads")
    layout = layer_record(c, layers, model_type)
    moe, intermediate = _moe(c, layers, model_type)
    layout |= _double_wide(c, layout, intermediate)
    arch = Arch(layers=layers, hidden_size=hidden, attention_heads=heads,
                kv_heads=c.whole("kv_heads", "num_key_value_heads", "num_kv_heads", "n_head_kv", default=heads) or 0,
                head_dim=c.whole("head_dim", "head_dim", default=_head_dim(layout["mla"], hidden, heads)) or 0,
                vocab_size=c.whole("vocab_size", "vocab_size", default=32000) or 0,
                tied_embeddings=_tied(c, data), intermediate_size=intermediate,
                max_context_tokens=c.whole("max_context", "max_position_embeddings", "n_positions",
                                           "max_sequence_length", "seq_length") or None,
                ffn_matrices=_ffn_matrices(c, model_type), v_head_dim=c.whole("v_head_dim", "v_head_dim") or None)
    label = name or config_name(data, None)
    record = ModelRecord(id=label, name=label, family=model_type, source=source, arch=arch, moe=moe,
                         params_total=params_total, params_active=params_active, keys=c.keys, **layout)
    return build_model(record, c.fail)


def _head_dim(mla: Mla | None, hidden: int, heads: int) -> int:
    if mla is not None and mla.nope_head_dim:
        return mla.nope_head_dim + mla.rope_head_dim
    return hidden // max(1, heads)


def _tied(c: Config, data: dict[str, Any]) -> bool:
    if c.data.get("tie_word_embeddings") is None and data is not c.data:
        return Config(data, c.source).flag("tie_word_embeddings")
    return c.flag("tie_word_embeddings")


def _double_wide(c: Config, layout: dict[str, Any], intermediate: int | None) -> dict[str, int]:
    """Gemma 4 E2B (`use_double_wide_mlp`): the layers that reuse a cache have an FFN twice intermediate_size."""
    shared = layout["kv_shared_full"] + layout["kv_shared_sliding"]
    if not (intermediate and shared and c.flag("use_double_wide_mlp")):
        return {}
    c.keys["kv_shared_ffn"] = c.keys["use_double_wide_mlp"]
    return {"kv_shared_ffn": 2 * intermediate}


def _ffn_matrices(c: Config, model_type: str) -> int:
    """2 for plain MLPs (up, down), 3 for gated ones (up, gate, down)."""
    act = c.data.get("mlp_hidden_act") or c.data.get("hidden_act")
    return 2 if act == "relu2" or model_type in NON_GATED else 3


def _ffn_width(c: Config) -> int | None:
    """The dense FFN width; a per-layer list (MatFormer configs such as Gemma 3n) must hold one width."""
    widths = c.get("intermediate_size", "intermediate_size", "n_inner", "ffn_hidden_size")
    if isinstance(widths, list):
        values = {as_int(w, c.keys["intermediate_size"], c.fail) for w in widths}
        if len(values) != 1:
            c.fail(c.keys["intermediate_size"], f"per-layer FFN widths differ ({min(values)} to {max(values)})")
        return values.pop()
    return c.whole("intermediate_size", "intermediate_size", "n_inner", "ffn_hidden_size")


def _moe(c: Config, layers: int, model_type: str) -> tuple[Moe | None, int | None]:
    """The MoE block (or None) and the dense FFN width."""
    intermediate = _ffn_width(c)
    experts = c.whole("experts", "num_experts", "n_routed_experts", "num_local_experts")
    if not experts or experts < 2 or not c.flag("enable_moe_block", default=True):
        return None, intermediate
    shared_ffn = c.whole("shared_ffn", "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size",
                         "shared_intermediate_size")
    dense = c.whole("dense_layers", "first_k_dense_replace", default=0) or 0
    moe = Moe(experts=experts, experts_per_token=c.whole(
                  "experts_per_token", "num_experts_per_tok", "num_experts_per_token", "experts_per_token",
                  "top_k_experts", default=2) or 0,
              expert_ffn=c.whole("expert_ffn", "moe_intermediate_size", default=intermediate) or 1,
              moe_layers=layers - dense, dense_layers=dense,
              shared_experts=c.whole("shared_experts", "n_shared_experts", "num_shared_experts",
                                     default=1 if shared_ffn else 0) or 0,
              shared_ffn=shared_ffn,  # Kimi K3 names its LatentMoE width routed_expert_hidden_size
              latent_size=c.whole("latent_size", "moe_latent_size", "routed_expert_hidden_size") or None)
    if model_type in LLAMA4:
        return _llama4(c, layers, moe, intermediate)
    if model_type in GEMMA4:  # the dense MLP runs beside the experts in every layer: a shared expert
        return replace(moe, shared_experts=1, shared_ffn=intermediate), None
    pattern = c.data.get("hybrid_override_pattern")
    if isinstance(pattern, str):  # Nemotron-H: E layers hold the experts
        return replace(moe, moe_layers=pattern.count("E"), dense_layers=0), intermediate
    blocks = c.data.get("layers_block_type")
    if isinstance(blocks, list):  # ... named "moe" in the list form
        return replace(moe, moe_layers=blocks.count("moe"), dense_layers=0), intermediate
    return moe, intermediate


def _llama4(c: Config, layers: int, moe: Moe, intermediate: int | None) -> tuple[Moe, int | None]:
    """Llama 4: experts and the shared expert are intermediate_size wide; dense layers use intermediate_size_mlp."""
    listed = c.items("moe_layers", "moe_layers")
    step = c.whole("moe_layers", "interleave_moe_layer_step", default=1) or 1
    moe_layers = len(listed) if listed is not None else layers // step
    dense_ffn = c.whole("intermediate_size", "intermediate_size_mlp") if moe_layers < layers else None
    return replace(moe, moe_layers=moe_layers, dense_layers=layers - moe_layers, shared_experts=1,
                   shared_ffn=intermediate), dense_ffn

