"""Turn validated YAML mappings into specs. Pure: takes parsed YAML, returns specs."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from advisor.catalog.fields import Fields
from advisor.estimate.weights import count_params
from advisor.specs import (
    Arch,
    GgufFile,
    GpuSpec,
    Layout,
    LinearAttention,
    Mamba,
    MemorySpec,
    Mla,
    ModelSpec,
    Moe,
    Score,
)
from advisor.specs.measured import Measurement
from advisor.units import GB, GIB

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
SCORE_KEYS = ("swe_bench_verified", "livecodebench", "gpqa_diamond", "aime", "mmlu_pro", "ifeval")
_UNITS = {"GB": GB, "GiB": GIB, "MB": 1000**2, "MiB": 1024**2, "B": 1}


def entry_id(f: Fields) -> str:
    value = f.req_text("id")
    if not ID_PATTERN.match(value):
        f.fail("id", f"ids use lowercase letters, digits, '.' and '-': {value!r}", f.where)
    return value


MODEL_KEYS = frozenset({
    "id", "name", "family", "vendor", "hf_repo", "aliases", "release", "license", "modalities", "source", "params",
    "arch", "layout", "moe", "native_quant", "gguf_files", "scores", "note"})
GPU_KEYS = frozenset({
    "id", "name", "vendor", "kind", "device_class", "architecture", "compute_capability", "memory_gib",
    "memory_options_gib", "memory_type", "bus_width_bits", "memory_data_rate_gbps", "bandwidth_gbps", "fp16_tflops",
    "tflops_basis", "int8_tops", "tdp_w", "launch", "launch_price_usd", "aliases", "source", "note"})


def parse_model(raw: object, where: str) -> ModelSpec:
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
    moe = _moe(moe_f, arch.layers) if moe_f else None
    spec = ModelSpec(
        id=model_id, name=name, family=family,
        params_total=total or 0, params_active=active, arch=arch,
        layout=_layout(layout_f, arch.layers) if layout_f else Layout(full_attention_layers=arch.layers),
        moe=moe, source=f.source(), aliases=f.strings("aliases"), hf_repo=f.text("hf_repo", required=False),
        vendor=f.text("vendor", required=False), params_source=params_source,
        release=f.text("release", required=False), license=f.text("license", required=False),
        modalities=f.strings("modalities") or ("text",), native_quant=f.text("native_quant", required=False),
        gguf_files=tuple(_gguf(item, f"{f.where} › gguf_files[{i}]") for i, item in enumerate(f.items("gguf_files"))),
        scores=_scores(f.mapping("scores")), note=f.text("note", required=False),
    )
    f.done()
    if total is None or (moe is not None and active is None):
        counted_total, counted_active = count_params(spec)
        spec = replace(spec, params_total=total or counted_total, params_derived=True,
                       params_active=active if moe is None or active else counted_active)
    return spec


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


def _layout(f: Fields, layers: int) -> Layout:
    counts: dict[str, Any] = {k: f.integer(k, required=False) or 0
                              for k in ("sliding_layers", "chunked_layers", "linear_layers", "mamba_layers")}
    full = f.integer("full_attention_layers", required=False)
    if full is None:
        full = layers - sum(counts.values())
    if full < 0 or full + sum(counts.values()) > layers:
        f.fail("full_attention_layers", f"layer kinds add up to more than the {layers} layers", f.where)
    layout = Layout(
        full_attention_layers=full, sliding_window=f.integer("sliding_window", required=False, minimum=1),
        attention_chunk=f.integer("attention_chunk", required=False, minimum=1),
        linear=_linear(f.mapping("linear")), mamba=_mamba(f.mapping("mamba")), mla=_mla(f.mapping("mla")),
        attention_gate=f.flag("attention_gate", default=False), **counts, **_global_attention(f),
    )
    if layout.sliding_layers and layout.sliding_window is None:
        f.fail("sliding_window", "sliding_layers needs a sliding_window", f.where)
    if layout.chunked_layers and layout.attention_chunk is None:
        f.fail("attention_chunk", "chunked_layers needs an attention_chunk", f.where)
    if layout.linear_layers and layout.linear is None:
        f.fail("linear", "linear_layers needs the linear-attention dims", f.where)
    if layout.mamba_layers and layout.mamba is None:
        f.fail("mamba", "mamba_layers needs the Mamba dims", f.where)
    f.done()
    return layout


def _global_attention(f: Fields) -> dict[str, Any]:
    g = f.mapping("global_attention")
    if g is None:
        return {}
    values = {"global_kv_heads": g.req_int("kv_heads"), "global_head_dim": g.req_int("head_dim"),
              "global_shared_kv": g.flag("shared_kv", default=False)}
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
    if moe.experts_per_token > moe.experts:
        f.fail("experts_per_token", "more than the number of experts", f.where)
    if moe.moe_layers + moe.dense_layers > layers:
        f.fail("moe_layers", f"moe_layers + dense_layers exceed the {layers} layers", f.where)
    f.done()
    return moe


def parse_gguf_row(raw: object, where: str) -> tuple[str, GgufFile]:
    """A row of gguf_sizes.yaml: (model id, published file size)."""
    f = Fields(raw, where)
    model_id = f.req_text("model")
    f.data = {k: v for k, v in f.data.items() if k != "model"}
    return model_id, _gguf(f.data, f"{where} › {model_id}")


def parse_score_row(raw: object, where: str) -> tuple[str, Score]:
    """A row of scores.yaml: (model id, score)."""
    f = Fields(raw, where)
    model_id = f.req_text("model")
    f.where = f"{where} › {model_id}"
    benchmark = f.choice("benchmark", SCORE_KEYS)
    value = f.number("value", maximum=100.0)
    assert value is not None
    score = Score(benchmark, value, f.source())
    f.text("note", required=False)
    f.done()
    return model_id, score


def _gguf(raw: object, where: str) -> GgufFile:
    f = Fields(raw, where)
    unit = f.choice("unit", _UNITS)
    size = f.number("size", minimum=0.001)
    assert size is not None
    value = GgufFile(quant=f.req_text("quant"), size_bytes=round(size * _UNITS[unit]),
                     repo=f.text("repo", required=False), source=f.source())
    f.text("file", required=False)
    f.done()
    return value


def _scores(f: Fields | None) -> tuple[Score, ...]:
    if f is None:
        return ()
    scores = []
    for key in SCORE_KEYS:
        item = f.mapping(key)
        if item is None:
            continue
        value = item.number("value", required=False, maximum=100.0)
        source = item.source() if value is not None else item.text("source", required=False)
        item.text("note", required=False)
        item.done()
        if value is not None and source:
            scores.append(Score(key, value, source))
    f.done()
    return tuple(scores)


def parse_gpu(raw: object, where: str) -> GpuSpec:
    f = Fields(raw, where)
    gpu_id = entry_id(f)
    f.where = f"{where} › {gpu_id}"
    f.only(GPU_KEYS)
    kind = f.req_text("kind")
    if kind not in ("discrete", "unified"):
        f.fail("kind", "must be 'discrete' or 'unified'", f.where)
    memory = f.number("memory_gib", minimum=0.5)
    options = f.items("memory_options_gib")
    spec = GpuSpec(
        id=gpu_id, name=f.req_text("name"), vendor=f.req_text("vendor"), kind=kind,  # type: ignore[arg-type]
        device_class=f.req_text("device_class"), memory_bytes=round((memory or 0) * GIB),
        bandwidth_gbps=f.number("bandwidth_gbps", required=False, minimum=1.0),
        fp16_tflops=f.number("fp16_tflops", required=False, minimum=0.01, maximum=20000.0), source=f.source(),
        aliases=f.strings("aliases"), memory_options_bytes=tuple(round(float(o) * GIB) for o in options),
        bus_width_bits=f.integer("bus_width_bits", required=False, minimum=8),
        memory_data_rate_gbps=f.number("memory_data_rate_gbps", required=False, minimum=0.1),
        launch_price_usd=f.number("launch_price_usd", required=False, minimum=1.0),
        compute_capability=_text_or_number(f, "compute_capability"),
        architecture=f.text("architecture", required=False),
    )
    _gpu_extras(f)
    f.done()
    return spec


def parse_memory(raw: object, where: str) -> MemorySpec:
    f = Fields(raw, where)
    memory_id = entry_id(f)
    f.where = f"{where} › {memory_id}"
    spec = MemorySpec(id=memory_id, name=f.req_text("name"), type=f.req_text("type"), mt_s=f.req_int("mt_s"),
                      bus_width_bits=f.req_int("bus_width_bits"), source=f.source(), aliases=f.strings("aliases"))
    f.done()
    return spec


TEST_PATTERN = re.compile(r"^(tg|pp)\d+$")


def parse_measurement(raw: object, where: str) -> Measurement:
    f = Fields(raw, where)
    test = f.req_text("test")
    if not TEST_PATTERN.match(test):
        f.fail("test", f"tgN or ppN, got {test!r}", where)
    m = Measurement(
        device=f.req_text("device"), device_count=f.req_int("device_count"), backend=f.req_text("backend"),
        engine=f.req_text("engine"), model=f.req_text("model"), quant=f.req_text("quant"), test=test,
        depth_tokens=f.integer("depth", required=False) or 0,
        tokens_per_s=f.number("tokens_per_s", minimum=0.001) or 0.0, source=f.source(), quote=f.req_text("quote"),
        ngl=f.integer("ngl", required=False, minimum=-1), flags=_text_or_number(f, "flags"),
        cpu=f.text("cpu", required=False),
        ram_bandwidth_gbps=f.number("ram_bandwidth_gbps", required=False, minimum=0.1),
        date=_text_or_number(f, "date"), exclude=f.text("exclude", required=False))
    for key in ("build", "note"):
        _text_or_number(f, key)
    f.done()
    return m


def _text_or_number(f: Fields, key: str) -> str | None:
    value: Any = f._get(key, (str, int, float), False)
    return None if value is None else str(value)


def _gpu_extras(f: Fields) -> None:
    """Fields kept for people and later estimators; validated, not yet used by the code."""
    for key in ("memory_type", "tflops_basis", "launch", "note"):
        f.text(key, required=False)
    f.number("int8_tops", required=False, maximum=40000.0)
    f.number("tdp_w", required=False, maximum=5000.0)
