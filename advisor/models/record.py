"""The one builder: every front end (catalog entry, config.json, GGUF header) fills a ModelRecord, and build_model
validates it and makes the ModelSpec. Rules that hold for every source (layer kinds add up to the layer count,
experts per token <= experts, dims within physical ranges) live here, once. Pure.

A record lists one kind per layer: "full", "sliding", "chunked" (attention), "linear" (linear attention), "mamba",
"ffn" (a layer with no token mixer, e.g. Nemotron-H's MoE-only layers) or "compressed" (DeepSeek V4's compressed
attention, its groups by ratio in `compressed`). Attention layers at the end may reuse
the cache of an earlier layer of their kind (KV sharing: `kv_shared_full`, `kv_shared_sliding`). Errors go through
the front end's `fail(field, problem)`, with the field named as that source names it (`keys`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from typing import Any, Final, Literal, NoReturn

from advisor.models.params import count_params
from advisor.specs import Arch, Compressed, Layout, LinearAttention, LoraAttention, Mamba, Mla, ModelSpec, Moe

LayerKind = Literal["full", "sliding", "chunked", "linear", "mamba", "ffn", "compressed"]
Fail = Callable[[str, str], NoReturn]

# Physical ranges: no published model comes within an order of magnitude of these; beyond them a file is corrupt.
MAX_LAYERS: Final = 1000
MAX_HIDDEN: Final = 1_000_000
MAX_HEADS: Final = 100_000
MAX_EXPERTS: Final = 100_000
MAX_CONTEXT_TOKENS: Final = 100_000_000
MAX_DIM: Final = 100_000_000  # any other width (head dim, vocabulary, FFN, windows, ranks)

# llama.cpp and transformers: every Nth layer is full attention, the rest use the sliding window
SLIDING_PATTERN: Final = {"gemma2": 2, "gemma3": 6, "gemma3_text": 6, "gpt-oss": 2, "gpt_oss": 2, "cohere2": 4,
                          "gemma3n": 5}


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """What a front end read: dims, one kind per layer, the per-kind dims, MoE, and any published counts."""

    id: str
    name: str
    family: str
    source: str
    arch: Arch
    kinds: tuple[LayerKind, ...]
    sliding_window: int | None = None
    attention_chunk: int | None = None
    linear: LinearAttention | None = None
    mamba: Mamba | None = None
    mla: Mla | None = None
    attention_gate: bool = False
    global_kv_heads: int | None = None
    global_head_dim: int | None = None
    global_shared_kv: bool = False
    kv_shared_full: int = 0  # full-attention layers that reuse an earlier layer's cache
    kv_shared_sliding: int = 0  # sliding-window layers that do
    kv_shared_ffn: int | None = None  # the FFN width of the cache-sharing layers, where it differs
    per_layer_input_dim: int | None = None  # per-layer embeddings (PLE): width per layer
    per_layer_input_vocab: int | None = None  # ... and rows
    compressed: tuple[Compressed, ...] = ()  # the "compressed" layers by ratio (DeepSeek V4)
    lora_attention: LoraAttention | None = None  # low-rank query and output projections (DeepSeek V4)
    moe: Moe | None = None
    params_total: int | None = None  # published or measured; derived from the dims when None
    params_active: int | None = None
    params_derived: bool = False  # the front end computed the counts itself (GGUF: from the tensors)
    extra: dict[str, Any] = field(default_factory=dict)  # further ModelSpec fields (catalog metadata)
    keys: dict[str, str] = field(default_factory=dict)  # canonical field -> the source's name for it


def repeat(kind: LayerKind, count: int) -> tuple[LayerKind, ...]:
    """`count` layers of one kind."""
    return (kind,) * max(0, count)


def periodic(layers: int, every: int, kind: LayerKind, other: LayerKind) -> tuple[LayerKind, ...]:
    """`kind` for every `every`-th layer (1-based), `other` for the rest."""
    return tuple(kind if (i + 1) % every == 0 else other for i in range(layers))


def shared_tail(kinds: tuple[LayerKind, ...], count: int) -> dict[str, int]:
    """KV sharing of the last `count` layers, by kind (the record's kv_shared_* fields)."""
    tail = Counter(kinds[len(kinds) - count:]) if count > 0 else Counter[LayerKind]()
    return {"kv_shared_full": tail["full"], "kv_shared_sliding": tail["sliding"] + tail["chunked"]}


def as_int(value: Any, key: str, fail: Fail) -> int:
    """A non-negative whole number from a parsed file; booleans, fractions, NaN and infinities are errors."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problem = "not a finite number" if isinstance(value, float) else f"expected a whole number, got {value!r}"
        fail(key, problem[:200])
    if value < 0:
        fail(key, f"must not be negative, got {value}")
    return value


def build_model(r: ModelRecord, fail: Fail) -> ModelSpec:
    """Validate a record once, whatever its source, and make the ModelSpec."""
    _check_arch(r, fail)
    layout = _layout(r, fail)
    _check_moe(r, fail)
    spec = ModelSpec(id=r.id, name=r.name, family=r.family, params_total=r.params_total or 0,
                     params_active=r.params_active, arch=r.arch, layout=layout, moe=r.moe, source=r.source,
                     params_derived=r.params_derived, **r.extra)
    total, active = r.params_total, r.params_active
    if total is None or (r.moe is not None and active is None):
        counted_total, counted_active = count_params(spec)
        spec = replace(spec, params_total=total or counted_total, params_derived=True,
                       params_active=active if r.moe is None or active else counted_active)
    return spec


def _key(r: ModelRecord, name: str) -> str:
    return r.keys.get(name, name)


def _bounded(r: ModelRecord, fail: Fail, checks: tuple[tuple[str, int | None, int, int], ...]) -> None:
    for name, value, low, high in checks:
        if value is not None and not low <= value <= high:
            fail(_key(r, name), f"must be between {low} and {high:,}, got {value:,}")


def _check_arch(r: ModelRecord, fail: Fail) -> None:
    a = r.arch
    _bounded(r, fail, (
        ("layers", a.layers, 1, MAX_LAYERS), ("hidden_size", a.hidden_size, 1, MAX_HIDDEN),
        ("attention_heads", a.attention_heads, 1, MAX_HEADS), ("kv_heads", a.kv_heads, 1, MAX_HEADS),
        ("head_dim", a.head_dim, 1, MAX_DIM), ("vocab_size", a.vocab_size, 1, MAX_DIM),
        ("max_context", a.max_context_tokens, 1, MAX_CONTEXT_TOKENS),
        ("intermediate_size", a.intermediate_size, 1, MAX_DIM), ("v_head_dim", a.v_head_dim, 1, MAX_DIM),
        ("ffn_matrices", a.ffn_matrices, 2, 3), ("sliding_window", r.sliding_window, 1, MAX_CONTEXT_TOKENS),
        ("attention_chunk", r.attention_chunk, 1, MAX_CONTEXT_TOKENS),
        ("global_kv_heads", r.global_kv_heads, 1, MAX_HEADS), ("global_head_dim", r.global_head_dim, 1, MAX_DIM),
        ("per_layer_input_dim", r.per_layer_input_dim, 1, MAX_DIM),
        ("per_layer_input_vocab", r.per_layer_input_vocab, 1, MAX_DIM),
        ("kv_shared_ffn", r.kv_shared_ffn, 1, MAX_DIM)))
    for name, dims in (("linear", r.linear), ("mamba", r.mamba), ("mla", r.mla), ("lora_attention", r.lora_attention)):
        values = () if dims is None else astuple(dims)
        _bounded(r, fail, tuple((name, v, 1, MAX_DIM) for v in values))
    for g in r.compressed:
        _bounded(r, fail, (("compressed", g.ratio, 2, MAX_CONTEXT_TOKENS), ("compressed", g.layers, 1, MAX_LAYERS),
                           ("compressed", g.entry_dim, 1, MAX_DIM)))
        _bounded(r, fail, tuple(("compressed", v, 0, MAX_DIM) for v in (g.window, g.index_dim, g.top_k)))


def _layout(r: ModelRecord, fail: Fail) -> Layout:
    layers, n = r.arch.layers, Counter(r.kinds)
    if len(r.kinds) != layers:
        side = "more" if len(r.kinds) > layers else "fewer"
        fail(_key(r, "kinds"), f"layer kinds add up to {len(r.kinds)}, {side} than the {layers} layers")
    needs: tuple[tuple[LayerKind, str, object], ...] = (
        ("sliding", "sliding_window", r.sliding_window), ("chunked", "attention_chunk", r.attention_chunk),
        ("linear", "linear", r.linear), ("mamba", "mamba", r.mamba))
    for kind, name, present in needs:
        if n[kind] and present is None:
            fail(_key(r, name), f"{n[kind]} {kind} layers need a {name}")
    _check_shared(r, n["full"], n["sliding"] + n["chunked"], fail)
    grouped = sum(g.layers for g in r.compressed)
    if grouped != n["compressed"]:
        fail(_key(r, "compressed"), f"compression groups hold {grouped} layers, the layer kinds {n['compressed']}")
    if (r.per_layer_input_dim is None) != (r.per_layer_input_vocab is None):
        fail(_key(r, "per_layer_input"), "per-layer embeddings need both their width and their rows")
    return Layout(full_attention_layers=n["full"], sliding_layers=n["sliding"], sliding_window=r.sliding_window,
                  chunked_layers=n["chunked"], attention_chunk=r.attention_chunk, linear_layers=n["linear"],
                  linear=r.linear, mamba_layers=n["mamba"], mamba=r.mamba, mla=r.mla, attention_gate=r.attention_gate,
                  global_kv_heads=r.global_kv_heads, global_head_dim=r.global_head_dim,
                  global_shared_kv=r.global_shared_kv, kv_shared_full_layers=r.kv_shared_full,
                  kv_shared_sliding_layers=r.kv_shared_sliding, kv_shared_ffn=r.kv_shared_ffn,
                  per_layer_input_dim=r.per_layer_input_dim,
                  per_layer_input_vocab=r.per_layer_input_vocab, compressed=r.compressed,
                  lora_attention=r.lora_attention)


def _check_shared(r: ModelRecord, full: int, windowed: int, fail: Fail) -> None:
    """A layer that reuses a cache needs an earlier layer of its kind that keeps one."""
    for name, shared, of_kind in (("kv_shared_full", r.kv_shared_full, full),
                                  ("kv_shared_sliding", r.kv_shared_sliding, windowed)):
        if shared < 0 or (shared and shared >= of_kind):
            fail(_key(r, name), f"{shared} layers reuse a cache, but only {of_kind} layers of that kind exist "
                                "(one must keep its own)")
    if r.kv_shared_ffn is not None and not r.kv_shared_full + r.kv_shared_sliding:
        fail(_key(r, "kv_shared_ffn"), "an FFN width for cache-sharing layers, but no layer shares a cache")


def _check_moe(r: ModelRecord, fail: Fail) -> None:
    moe, layers = r.moe, r.arch.layers
    if moe is None:
        return
    _bounded(r, fail, (("experts", moe.experts, 1, MAX_EXPERTS),
                       ("experts_per_token", moe.experts_per_token, 1, MAX_EXPERTS),
                       ("expert_ffn", moe.expert_ffn, 1, MAX_DIM),
                       ("shared_experts", moe.shared_experts, 0, MAX_EXPERTS),
                       ("shared_ffn", moe.shared_ffn, 1, MAX_DIM), ("latent_size", moe.latent_size, 1, MAX_DIM),
                       ("dense_layers", moe.dense_layers, 0, layers)))
    if moe.experts_per_token > moe.experts:
        fail(_key(r, "experts_per_token"), f"{moe.experts_per_token}: more than the number of experts ({moe.experts})")
    if moe.moe_layers < 1 or moe.moe_layers + moe.dense_layers > layers:
        fail(_key(r, "moe_layers"), f"moe_layers + dense_layers exceed the {layers} layers")
