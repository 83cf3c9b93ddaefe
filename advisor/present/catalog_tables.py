"""Presenters for browsing the catalog (advisor models / gpus / model): catalog entries -> View."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.plan.uses import LABELS
from advisor.present.catalog_json import gpu_dict, model_dict
from advisor.present.tables import gib, params, rate, score_label
from advisor.present.view import Line, Section, View, table

if TYPE_CHECKING:
    from advisor.specs import GpuSpec, ModelSpec, UseScore


def layout_label(model: ModelSpec) -> str:
    lay, parts = model.layout, []
    if lay.mla is not None:
        parts.append("MLA")
    if lay.sliding_layers:
        parts.append(f"SWA {lay.sliding_layers}/{model.arch.layers} @{lay.sliding_window}")
    if lay.chunked_layers:
        parts.append(f"chunked {lay.chunked_layers}/{model.arch.layers}")
    if lay.linear_layers:
        parts.append(f"linear {lay.linear_layers}/{model.arch.layers}")
    if lay.mamba_layers:
        parts.append(f"Mamba {lay.mamba_layers}/{model.arch.layers}")
    for g in lay.compressed:
        parts.append(f"compressed 1:{g.ratio} {g.layers}/{model.arch.layers}")
    if model.moe is not None:
        parts.append(f"MoE {model.moe.experts_per_token}/{model.moe.experts}")
    shared = lay.kv_shared_full_layers + lay.kv_shared_sliding_layers
    if shared:
        parts.append(f"KV shared {shared}/{model.arch.layers}")
    if lay.per_layer_input_dim:
        parts.append(f"per-layer embeddings {lay.per_layer_input_dim}")
    return ", ".join(parts) or "dense, full attention"


def model_rows(models: list[tuple[ModelSpec, UseScore | None]], use: str | None) -> tuple[list[str], list[list[str]]]:
    headers = ["Id", "Params", "Layout", "Context", "Released"] + ([f"Score ({use})"] if use else [])
    rows = []
    for model, score in models:
        total = params(model.params_total)
        size = f"{total}/{params(model.params_active)}" if model.params_active else total
        context = f"{model.arch.max_context_tokens:,}" if model.arch.max_context_tokens else "?"
        rows.append([model.id, size, layout_label(model), context, model.release or "?",
                     *([score_label(score)] if use else [])])
    return headers, rows


def models_view(models: list[tuple[ModelSpec, UseScore | None]], use: str | None) -> View:
    """The catalog's models (with the score each was ranked by, for a use)."""
    headers, rows = model_rows(models, use)
    grid = table(headers, rows, title=f"{len(models)} models",
                 left=frozenset({"Id", "Layout", "Released", f"Score ({use})"}),
                 wrap=frozenset({"Layout", f"Score ({use})"}), drop=("Released", "Context"),
                 csv_headers={"Context": "Context tokens"})
    return View("models", results=tuple(model_dict(m, score) for m, score in models), sections=(Section(table=grid),))


def gpu_rows(gpus: list[GpuSpec]) -> tuple[list[str], list[list[str]]]:
    headers = ["Id", "Name", "Memory GiB", "GB/s", "FP16 TFLOPS", "Class"]
    rows = [[gpu.id, gpu.name,
             "/".join(gib(m).removesuffix(".0") for m in gpu.memory_options_bytes) or gib(gpu.memory_bytes),
             rate(gpu.bandwidth_gbps), rate(gpu.fp16_tflops), gpu.device_class] for gpu in gpus]
    return headers, rows


def gpus_view(gpus: list[GpuSpec]) -> View:
    grid = table(*gpu_rows(gpus), title=f"{len(gpus)} GPUs and unified-memory machines",
                 left=frozenset({"Id", "Name", "Class"}), widths={"Name": 40}, names=frozenset({"Name"}),
                 drop=("FP16 TFLOPS", "Class", "Name"))
    return View("gpus", results=tuple(gpu_dict(g) for g in gpus), sections=(Section(table=grid),))


def fact_rows(model: ModelSpec) -> tuple[list[str], list[list[str]]]:
    """Every fact of one model with the source it came from."""
    rows = [["parameters", f"{model.params_total:,}" + (" (derived from the dims)" if model.params_derived else ""),
             model.params_source or model.source]]
    if model.params_active:
        rows.append(["active parameters", f"{model.params_active:,}", model.params_source or model.source])
    a = model.arch
    rows.append(["architecture", f"{a.layers} layers, hidden {a.hidden_size}, {a.attention_heads} heads / "
                 f"{a.kv_heads} KV, head_dim {a.head_dim}, vocab {a.vocab_size:,}, context "
                 f"{a.max_context_tokens or '?'}", model.source])
    rows.append(["layout", layout_label(model), model.source])
    rows += [[LABELS.get(s.benchmark, s.benchmark), f"{s.value:g}", s.source] for s in model.scores]
    rows += [[f"GGUF {f.quant}", f"{f.size_bytes / 1e9:.2f} GB ({f.repo or '?'})", f.source] for f in model.gguf_files]
    return ["Fact", "Value", "Source"], rows


def model_view(model: ModelSpec) -> View:
    """One model: a line of who and when, then every fact with its source."""
    head = Line(f"{model.name} ({model.id}) · {model.vendor or 'vendor ?'} · released {model.release or '?'} · "
                f"license {model.license or '?'} · {', '.join(model.modalities)}")
    headers, rows = fact_rows(model)
    grid = table(headers, rows, left=frozenset(headers), widths={"Value": 46}, wrap=frozenset({"Value"}),
                 fold=frozenset({"Source"}))
    return View("model", results=(model_dict(model),), sections=(Section(before=(head,), table=grid),),
                notes=(model.note,) if model.note else ())
