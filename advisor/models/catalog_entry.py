"""A catalog entry (one parsed YAML mapping of models/*.yaml) -> ModelRecord -> ModelSpec. Pure.

Type and presence checks are the entry's own (Fields); the rules every model source shares are build_model's.
Errors name file › entry › field (CatalogError).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from advisor.models.fields import Fields
from advisor.models.record import LayerKind, ModelRecord, build_model, repeat
from advisor.specs import Arch, Compressed, GgufFile, LinearAttention, LoraAttention, Mamba, Mla, ModelSpec, Moe, Score
from advisor.units import GB, GIB

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
SCORE_KEYS = ("swe_bench_verified", "livecodebench", "gpqa_diamond", "aime", "mmlu_pro", "ifeval")
UNITS = {"GB": GB, "GiB": GIB, "MB": 1000**2, "MiB": 1024**2, "B": 1}
MODEL_KEYS = frozenset({
    "id", "name", "family", "vendor", "hf_repo", "aliases", "release", "license", "modalities", "source", "params",
    "arch", "layout", "moe", "native_quant", "gguf_files", "scores", "note"})
_COUNTS: tuple[tuple[str, LayerKind], ...] = (
    ("sliding_layers", "sliding"), ("chunked_layers", "chunked"), ("linear_layers", "linear"),
    ("mamba_layers", "mamba"))
# the builder's field names -> where they sit in an entry
KEYS = {
    **{k: f"arch › {k}" for k in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "vocab_size",
                                  "intermediate_size", "v_head_dim", "ffn_matrices")},
    "max_context": "arch › max_context", "kinds": "layout › full_attention_layers",
    **{k: f"layout › {k}" for k in ("sliding_window", "attention_chunk", "linear", "mamba", "mla")},
    "global_kv_heads": "layout › global_attention › kv_heads",
    "global_head_dim": "layout › global_attention › head_dim",
    "kv_shared_full": "layout › kv_shared › full", "kv_shared_sliding": "layout › kv_shared › sliding",
    "kv_shared_ffn": "layout › kv_shared › ffn", "compressed": "layout › compressed",
    "lora_attention": "layout › lora_attention",
    "per_layer_input": "layout › per_layer_input", "per_layer_input_dim": "layout › per_layer_input › dim",
    "per_layer_input_vocab": "layout › per_layer_input › vocab",
    **{k: f"moe › {k}" for k in ("experts", "experts_per_token", "expert_ffn", "shared_experts", "shared_ffn",
                                 "latent_size", "dense_layers", "moe_layers")},
}


def entry_id(f: Fields) -> str:
    value = f.req_text("id")
    if not ID_PATTERN.match(value):
        f.fail("id", f"ids use lowercase letters, digits, '.' and '-': {value!r}", f.where)
    return value


def parse_model(raw: object, where: str) -> ModelSpec:
    """One models/*.yaml entry -> ModelSpec (counts not published are derived from the dims)."""
    f = Fields(raw, where)
    model_id = entry_id(f)
    f.where = f"{where} › {model_id}"
    f.only(MODEL_KEYS)
    name, family = f.req_text("name"), f.req_text("family")
    params = f.mapping("params", required=True)
    assert params is not None
    total = params.integer("total", required=False, minimum=1)
    active = params.integer("active", required=False, minimum=1)
    params_source = params.source()
    params.done()
    arch_f = f.mapping("arch", required=True)
    assert arch_f is not None
    arch = _arch(arch_f)
    layout_f, moe_f = f.mapping("layout"), f.mapping("moe")
    layout = _layout(layout_f, arch.layers) if layout_f else {"kinds": ("full",) * arch.layers}
    extra = {"aliases": f.strings("aliases"), "hf_repo": f.text("hf_repo", required=False),
             "vendor": f.text("vendor", required=False), "params_source": params_source,
             "release": f.text("release", required=False), "license": f.text("license", required=False),
             "modalities": f.strings("modalities") or ("text",),
             "native_quant": f.text("native_quant", required=False),
             "gguf_files": tuple(gguf_file(item, f"{f.where} › gguf_files[{i}]")
                                 for i, item in enumerate(f.items("gguf_files"))),
             "scores": scores(f.mapping("scores")), "note": f.text("note", required=False)}
    record = ModelRecord(id=model_id, name=name, family=family, source=f.source(), arch=arch,
                         moe=_moe(moe_f, arch.layers) if moe_f else None, params_total=total, params_active=active,
                         extra=extra, keys=KEYS, **layout)
    f.done()
    entry = f.where

    def fail(field: str, problem: str) -> NoReturn:
        Fields.fail(field, problem, entry)

    return build_model(record, fail)


def _arch(f: Fields) -> Arch:
    arch = Arch(
        layers=f.req_int("layers"), hidden_size=f.req_int("hidden_size"),
        attention_heads=f.req_int("attention_heads"), kv_heads=f.req_int("kv_heads"),
        head_dim=f.req_int("head_dim"), vocab_size=f.req_int("vocab_size"),
        tied_embeddings=f.flag("tied_embeddings", default=False),
        max_context_tokens=f.integer("max_context", required=False, minimum=1),
        intermediate_size=f.integer("intermediate_size", required=False, minimum=1),
        ffn_matrices=f.integer("ffn_matrices", required=False, minimum=2) or 3,
        v_head_dim=f.integer("v_head_dim", required=False, minimum=1),
    )
    f.done()
    return arch


def _layout(f: Fields, layers: int) -> dict[str, Any]:
    """The layout's counts as one kind per layer; layers of no listed kind have no token mixer ("ffn")."""
    counts = {kind: f.integer(key, required=False) or 0 for key, kind in _COUNTS}
    compressed = _compressed(f)
    counts["compressed"] = sum(g.layers for g in compressed)
    full = f.integer("full_attention_layers", required=False)
    if full is None:
        full = max(0, layers - sum(counts.values()))
    kinds = list(repeat("full", full))
    for kind, count in counts.items():
        kinds += repeat(kind, count)
    kinds += repeat("ffn", layers - len(kinds))
    values = {"kinds": tuple(kinds), "sliding_window": f.integer("sliding_window", required=False, minimum=1),
              "attention_chunk": f.integer("attention_chunk", required=False, minimum=1),
              "linear": _linear(f.mapping("linear")), "mamba": _mamba(f.mapping("mamba")),
              "mla": _mla(f.mapping("mla")),
              "attention_gate": f.flag("attention_gate", default=False), **_global_attention(f),
              **_kv_shared(f), **_per_layer_input(f), "compressed": compressed,
              "lora_attention": _lora_attention(f.mapping("lora_attention"))}
    f.done()
    return values


def _compressed(f: Fields) -> tuple[Compressed, ...]:
    """Compressed-attention groups (DeepSeek V4): `ratio`, `layers`, `entry_dim`, and `window`, `index_dim`, `top_k`."""
    groups = []
    for i, raw in enumerate(f.items("compressed")):
        g = Fields(raw, f"{f.where} › compressed[{i}]")
        groups.append(Compressed(ratio=g.req_int("ratio", minimum=2), layers=g.req_int("layers"),
                                 entry_dim=g.req_int("entry_dim"), window=g.integer("window", required=False) or 0,
                                 index_dim=g.integer("index_dim", required=False) or 0,
                                 top_k=g.integer("top_k", required=False) or 0))
        g.done()
    return tuple(groups)


def _lora_attention(f: Fields | None) -> LoraAttention | None:
    if f is None:
        return None
    value = LoraAttention(f.req_int("q_rank"), f.req_int("o_rank"), f.req_int("o_groups"))
    f.done()
    return value


def _global_attention(f: Fields) -> dict[str, Any]:
    g = f.mapping("global_attention")
    if g is None:
        return {}
    values = {"global_kv_heads": g.req_int("kv_heads"), "global_head_dim": g.req_int("head_dim"),
              "global_shared_kv": g.flag("shared_kv", default=False)}
    g.done()
    return values


def _kv_shared(f: Fields) -> dict[str, Any]:
    """The last layers that reuse an earlier layer's cache, by kind (Gemma 3n, Gemma 4 E)."""
    g = f.mapping("kv_shared")
    if g is None:
        return {}
    values = {"kv_shared_full": g.integer("full", required=False) or 0,
              "kv_shared_sliding": g.integer("sliding", required=False) or 0,
              "kv_shared_ffn": g.integer("ffn", required=False, minimum=1)}
    g.done()
    return values


def _per_layer_input(f: Fields) -> dict[str, Any]:
    """Per-layer embeddings: `dim` values per layer from a table of `vocab` rows."""
    g = f.mapping("per_layer_input")
    if g is None:
        return {}
    values = {"per_layer_input_dim": g.req_int("dim"), "per_layer_input_vocab": g.req_int("vocab")}
    g.done()
    return values


def _linear(f: Fields | None) -> LinearAttention | None:
    if f is None:
        return None
    value = LinearAttention(f.req_int("key_heads"), f.req_int("value_heads"), f.req_int("key_head_dim"),
                            f.req_int("value_head_dim"), f.req_int("conv_kernel"))
    f.done()
    return value


def _mamba(f: Fields | None) -> Mamba | None:
    if f is None:
        return None
    value = Mamba(f.req_int("heads"), f.req_int("head_dim"), f.req_int("state_size"),
                  f.req_int("groups"), f.req_int("conv_kernel"))
    f.done()
    return value


def _mla(f: Fields | None) -> Mla | None:
    if f is None:
        return None
    value = Mla(kv_lora_rank=f.req_int("kv_lora_rank"), rope_head_dim=f.req_int("rope_head_dim"),
                nope_head_dim=f.integer("nope_head_dim", required=False),
                v_head_dim=f.integer("v_head_dim", required=False),
                q_lora_rank=f.integer("q_lora_rank", required=False))
    f.done()
    return value


def _moe(f: Fields, layers: int) -> Moe:
    dense = f.integer("dense_layers", required=False) or 0
    moe = Moe(experts=f.req_int("experts"), experts_per_token=f.req_int("experts_per_token"),
              expert_ffn=f.req_int("expert_ffn"),
              moe_layers=f.integer("moe_layers", required=False, minimum=1) or layers - dense,
              shared_experts=f.integer("shared_experts", required=False) or 0,
              shared_ffn=f.integer("shared_ffn", required=False, minimum=1), dense_layers=dense,
              latent_size=f.integer("latent_size", required=False, minimum=1))
    f.done()
    return moe


def gguf_file(raw: object, where: str) -> GgufFile:
    """A published GGUF file size, in bytes from the unit the repository lists."""
    f = Fields(raw, where)
    unit = f.choice("unit", UNITS)
    size = f.number("size", minimum=0.001)
    assert size is not None
    value = GgufFile(quant=f.req_text("quant"), size_bytes=round(size * UNITS[unit]),
                     repo=f.text("repo", required=False), source=f.source())
    f.text("file", required=False)
    f.done()
    return value


def scores(f: Fields | None) -> tuple[Score, ...]:
    """An entry's published benchmark scores (those with a value and a source)."""
    if f is None:
        return ()
    found = []
    for key in SCORE_KEYS:
        item = f.mapping(key)
        if item is None:
            continue
        value = item.number("value", required=False, maximum=100.0)
        source = item.source() if value is not None else item.text("source", required=False)
        item.text("note", required=False)
        item.done()
        if value is not None and source:
            found.append(Score(key, value, source))
    f.done()
    return tuple(found)
