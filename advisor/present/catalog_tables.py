"""Rich tables for browsing the catalog (advisor models / gpus / model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.plan.uses import LABELS
from advisor.present.tables import gib, params, rate

if TYPE_CHECKING:
    from rich.console import Console

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
    if model.moe is not None:
        parts.append(f"MoE {model.moe.experts_per_token}/{model.moe.experts}")
    return ", ".join(parts) or "dense, full attention"


def score_label(score: UseScore | None) -> str:
    if score is None:
        return "—"
    if score.benchmark == "max_context_tokens":
        return f"{score.value:,.0f} tokens"
    return f"{LABELS.get(score.benchmark, score.benchmark)} {score.value:g}"


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


def render_models(console: Console, models: list[tuple[ModelSpec, UseScore | None]], use: str | None) -> None:
    from advisor.present.tables import render_table

    headers, rows = model_rows(models, use)
    render_table(console, headers, rows, title=f"{len(models)} models",
                 left=frozenset({"Id", "Layout", "Released", f"Score ({use})"}))


def gpu_rows(gpus: list[GpuSpec]) -> tuple[list[str], list[list[str]]]:
    headers = ["Id", "Name", "Memory GiB", "GB/s", "FP16 TFLOPS", "Class"]
    rows = [[gpu.id, gpu.name,
             "/".join(gib(m).removesuffix(".0") for m in gpu.memory_options_bytes) or gib(gpu.memory_bytes),
             rate(gpu.bandwidth_gbps), rate(gpu.fp16_tflops), gpu.device_class] for gpu in gpus]
    return headers, rows


def render_gpus(console: Console, gpus: list[GpuSpec]) -> None:
    from advisor.present.tables import render_table

    headers, rows = gpu_rows(gpus)
    render_table(console, headers, rows, title=f"{len(gpus)} GPUs and unified-memory machines",
                 left=frozenset({"Id", "Name", "Class"}), widths={"Name": 40})


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


def render_model(console: Console, model: ModelSpec) -> None:
    from rich.table import Table

    console.print(f"{model.name} ({model.id}) · {model.vendor or 'vendor ?'} · released {model.release or '?'} · "
                  f"license {model.license or '?'} · {', '.join(model.modalities)}", highlight=False)
    table = Table(box=None, pad_edge=False, show_header=True)
    table.add_column("Fact", no_wrap=True)
    table.add_column("Value", max_width=46)
    table.add_column("Source", overflow="fold")
    for row in fact_rows(model)[1]:
        table.add_row(*row)
    console.print(table)
    if model.note:
        console.print(f"[dim]note: {model.note}[/dim]", highlight=False)
