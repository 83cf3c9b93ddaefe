"""A GGUF file's metadata and tensors -> ModelRecord -> ModelSpec, and its exact weight bytes. Pure.

Weights are exact (the tensors' own sizes). The layer kinds come from the architecture metadata: per-layer
head_count_kv arrays mark recurrent layers (0), and sliding-window architectures use llama.cpp's layer patterns.
The model is named by general.name, else by the file name without its split suffix and quant.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, NoReturn

from advisor.models.gguf_read import GgufError, GgufFile, GgufTensor
from advisor.models.record import SLIDING_PATTERN, Fail, ModelRecord, as_int, build_model, periodic, repeat, shared_tail
from advisor.specs import Arch, Mamba, Mla, ModelSpec, Moe
from advisor.specs.sizes import WeightEstimate

GEMMA3N_CACHED_LAYERS = 20  # llama.cpp src/llama-model.cpp: gemma3n hparams.n_layer_kv_from_start = 20
_SPLIT_SUFFIX = re.compile(r"-\d{5}-of-\d{5}$")
_QUANT_SUFFIX = re.compile(r"[-.](?:UD-)?(?:I?Q\d\w*|BF16|F16|F32|MXFP4\w*|TQ\d\w*)$", re.IGNORECASE)


def _get(meta: dict[str, Any], arch: str, key: str) -> Any:
    return meta.get(f"{arch}.{key}")


def _scalar(value: Any, default: int = 0) -> int:
    """A per-layer array's largest value, or the scalar itself."""
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, int | float)]
        return int(max(numbers)) if numbers else default
    return int(value) if isinstance(value, int | float) else default


def gguf_name(path: Path) -> str:
    """A file's model name: the file name without .gguf, the split suffix (-00001-of-00003) and the quant."""
    stem = _SPLIT_SUFFIX.sub("", path.name.removesuffix(".gguf"))
    return _QUANT_SUFFIX.sub("", stem) or stem


def model_from_gguf(file: GgufFile, name: str | None = None,
                    url: str | None = None) -> tuple[ModelSpec, WeightEstimate, list[str]]:
    """The ModelSpec advisor estimates with, its exact weights, and notes on what was assumed; `url`: where a
    remote file's header was read (the local path otherwise)."""
    meta, notes = file.metadata, []
    arch = str(meta.get("general.architecture") or "unknown")
    source = url or str(file.paths[0])

    def fail(key: str, problem: str) -> NoReturn:
        raise GgufError(f"{source}: {key}: {problem}")

    _check_numbers(meta, arch, fail)
    layers = _scalar(_get(meta, arch, "block_count"))
    heads = _scalar(_get(meta, arch, "attention.head_count"), 1)
    hidden = _scalar(_get(meta, arch, "embedding_length"))
    if not layers or not hidden:
        notes.append(f"architecture {arch!r}: block_count or embedding_length missing; estimates are rough")
    kv_array = _get(meta, arch, "attention.head_count_kv")
    layout = _layout(meta, arch, max(1, layers), kv_array, notes)
    dims = _per_kind(meta, arch, layout, kv_array, file.tensors)
    arch_spec = Arch(layers=max(1, layers), hidden_size=max(1, hidden), attention_heads=heads,
                     kv_heads=dims.pop("kv_heads", _scalar(kv_array, heads)),
                     head_dim=dims.pop("head_dim", _scalar(_get(meta, arch, "attention.key_length"),
                                                           hidden // max(1, heads))),
                     vocab_size=_scalar(meta.get("tokenizer.ggml.tokens"),
                                        _scalar(_get(meta, arch, "vocab_size"))) or 1,
                     tied_embeddings=not any(t.name == "output.weight" for t in file.tensors),
                     max_context_tokens=_scalar(_get(meta, arch, "context_length")) or None,
                     intermediate_size=dims.pop("intermediate_size", _scalar(_get(meta, arch, "feed_forward_length")))
                     or None,
                     v_head_dim=_scalar(_get(meta, arch, "attention.value_length")) or None)
    moe = _moe(meta, arch, arch_spec.layers)
    label = name or gguf_name(file.paths[0])
    record = ModelRecord(id=label, name=str(meta.get("general.name") or label), family=arch,
                         source=url or f"file://{file.paths[0]}", arch=arch_spec, moe=moe,
                         params_total=sum(t.n_elements for t in file.tensors),
                         params_active=None if moe is None else _active(file.tensors, moe), params_derived=True,
                         keys=_keys(arch), **layout, **dims)
    return build_model(record, fail), _weights(file.tensors, moe), notes


def _keys(arch: str) -> dict[str, str]:
    names = {"layers": "block_count", "hidden_size": "embedding_length", "attention_heads": "attention.head_count",
             "kv_heads": "attention.head_count_kv", "head_dim": "attention.key_length", "kinds": "block_count",
             "max_context": "context_length", "intermediate_size": "feed_forward_length",
             "v_head_dim": "attention.value_length", "sliding_window": "attention.sliding_window",
             "experts": "expert_count", "experts_per_token": "expert_used_count",
             "expert_ffn": "expert_feed_forward_length", "dense_layers": "leading_dense_block_count",
             "moe_layers": "leading_dense_block_count", "mla": "attention.kv_lora_rank", "mamba": "ssm.inner_size",
             "kv_shared_full": "attention.shared_kv_layers", "kv_shared_sliding": "attention.shared_kv_layers"}
    return {k: f"{arch}.{v}" for k, v in names.items()} | {"vocab_size": "tokenizer.ggml.tokens"}


def _check_numbers(meta: dict[str, Any], arch: str, fail: Fail) -> None:
    """The architecture's numbers are finite, and its whole numbers non-negative."""
    for key, value in meta.items():
        if not key.startswith(f"{arch}."):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float) and not math.isfinite(item):
                fail(key, "not a finite number")
            if isinstance(item, int) and not isinstance(item, bool):
                as_int(item, key, fail)


def _layout(meta: dict[str, Any], arch: str, layers: int, kv_array: Any, notes: list[str]) -> dict[str, Any]:
    mla = _mla(meta, arch)
    recurrent = sum(1 for v in kv_array if v == 0) if isinstance(kv_array, list) else 0
    mamba = _mamba(meta, arch) if recurrent else None
    if recurrent and mamba is None:
        notes.append("recurrent layers without readable state sizes: their fixed state is not counted")
    kinds = list(repeat("mamba" if mamba else "ffn", recurrent))
    window = _scalar(_get(meta, arch, "attention.sliding_window")) or None
    pattern, listed = SLIDING_PATTERN.get(arch), _get(meta, arch, "attention.sliding_window_pattern")
    attention = max(0, layers - recurrent)
    if window and isinstance(listed, list) and len(listed) == attention and not recurrent:
        kinds += ["sliding" if flag else "full" for flag in listed]  # Gemma 4: one flag per layer
    elif window and pattern:
        kinds += periodic(attention, pattern, "full", "sliding")
    if window and len(kinds) == layers:
        return {"kinds": tuple(kinds), "sliding_window": window, "mamba": mamba, "mla": mla,
                **shared_tail(tuple(kinds), _kv_shared(meta, arch, layers))}
    if window:
        notes.append(f"{arch}: sliding window {window} with an unknown layer pattern; every layer counted as full")
    return {"kinds": (*kinds, *repeat("full", attention)), "mamba": mamba, "mla": mla}


def _per_kind(meta: dict[str, Any], arch: str, layout: dict[str, Any], kv_array: Any,
              tensors: tuple[GgufTensor, ...]) -> dict[str, Any]:
    """Gemma 4: sliding layers with `key_length_swa`, full layers with `key_length` (and their own KV heads where
    the per-layer array says so, one K=V tensor where a full layer has no attn_v), and a per-layer FFN width whose
    cache-sharing tail may be wider (E2B)."""
    kinds: tuple[str, ...] = layout["kinds"]
    swa, full = _scalar(_get(meta, arch, "attention.key_length_swa")), _scalar(_get(meta, arch, "attention.key_length"))
    if not (swa and full and swa != full and "sliding" in kinds and "full" in kinds):
        return {}
    first_full, first_swa = kinds.index("full"), kinds.index("sliding")
    kv = kv_array if isinstance(kv_array, list) and len(kv_array) == len(kinds) else [_scalar(kv_array, 1)] * len(kinds)
    names = {t.name for t in tensors}
    out: dict[str, Any] = {"head_dim": swa, "kv_heads": int(kv[first_swa]), "global_head_dim": full,
                           "global_kv_heads": int(kv[first_full]),
                           "global_shared_kv": f"blk.{first_full}.attn_v.weight" not in names}
    ffn = _get(meta, arch, "feed_forward_length")
    shared = layout.get("kv_shared_full", 0) + layout.get("kv_shared_sliding", 0)
    if isinstance(ffn, list) and len(ffn) == len(kinds) and shared and ffn[-1] != ffn[0]:
        out |= {"intermediate_size": int(ffn[0]), "kv_shared_ffn": int(ffn[-1])}
    return out


def _kv_shared(meta: dict[str, Any], arch: str, layers: int) -> int:
    """Layers at the end that reuse an earlier cache: `attention.shared_kv_layers` (Gemma 4); llama.cpp ignores
    that key for gemma3n and gives it a cache for the first 20 layers only (n_layer_kv_from_start = 20)."""
    if arch == "gemma3n":
        return max(0, layers - GEMMA3N_CACHED_LAYERS)
    return _scalar(_get(meta, arch, "attention.shared_kv_layers"))


def _mla(meta: dict[str, Any], arch: str) -> Mla | None:
    rank = _scalar(_get(meta, arch, "attention.kv_lora_rank"))
    if not rank:
        return None
    return Mla(kv_lora_rank=rank, rope_head_dim=_scalar(_get(meta, arch, "rope.dimension_count"), 64))


def _mamba(meta: dict[str, Any], arch: str) -> Mamba | None:
    inner, state = _scalar(_get(meta, arch, "ssm.inner_size")), _scalar(_get(meta, arch, "ssm.state_size"))
    heads = _scalar(_get(meta, arch, "ssm.time_step_rank"))
    if not (inner and state and heads):
        return None
    return Mamba(heads=heads, head_dim=inner // heads, state_size=state,
                 groups=_scalar(_get(meta, arch, "ssm.group_count"), 1),
                 conv_kernel=_scalar(_get(meta, arch, "ssm.conv_kernel"), 4))


def _moe(meta: dict[str, Any], arch: str, layers: int) -> Moe | None:
    experts = _scalar(_get(meta, arch, "expert_count"))
    if experts < 2:
        return None
    dense = _scalar(_get(meta, arch, "leading_dense_block_count"))
    return Moe(experts=experts, experts_per_token=_scalar(_get(meta, arch, "expert_used_count"), 1),
               expert_ffn=_scalar(_get(meta, arch, "expert_feed_forward_length"), 1), moe_layers=layers - dense,
               shared_experts=_scalar(_get(meta, arch, "expert_shared_count")), dense_layers=dense)


def _weights(tensors: tuple[GgufTensor, ...], moe: Moe | None) -> WeightEstimate:
    groups: dict[str, int] = {}
    for t in tensors:
        group = "token_embd" if t.name.startswith("token_embd") else "output" if t.name.startswith("output.") \
            else "per_layer_token_embd" if t.name.startswith("per_layer_token_embd") \
            else "exps" if "_exps" in t.name else "other"
        groups[group] = groups.get(group, 0) + t.n_bytes
    routed, embd = groups.get("exps", 0), groups.get("token_embd", 0)
    share = 1.0 if moe is None else moe.experts_per_token / moe.experts
    read = sum(groups.values()) - embd - groups.get("per_layer_token_embd", 0) - routed + round(routed * share)
    if "output" not in groups:
        read += embd  # tied: the output projection reads the embedding matrix
    return WeightEstimate(recipe="file", weights_bytes=sum(groups.values()), groups_bytes=groups,
                          token_embd_bytes=embd, routed_expert_bytes=routed, read_per_token_bytes=read,
                          params=sum(t.n_elements for t in tensors))


def _active(tensors: tuple[GgufTensor, ...], moe: Moe) -> int:
    routed = sum(t.n_elements for t in tensors if "_exps" in t.name)
    total = sum(t.n_elements for t in tensors)
    return total - routed + round(routed * moe.experts_per_token / moe.experts)
