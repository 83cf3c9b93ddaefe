"""Rich tables for browsing the catalog (advisor models / gpus / model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.render import gib, params, rate
from advisor.uses import LABELS

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.specs import GpuSpec, ModelSpec
    from advisor.uses import UseScore


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


def render_models(console: Console, models: list[tuple[ModelSpec, UseScore | None]], use: str | None) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, title=f"{len(models)} models", title_justify="left")
    for column in ("Id", "Params", "Layout", "Context", "Released"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("Params", "Context") else "left")
    if use:
        table.add_column(f"Score ({use})", no_wrap=True)
    for model, score in models:
        total = params(model.params_total)
        size = f"{total}/{params(model.params_active)}" if model.params_active else total
        context = f"{model.arch.max_context_tokens:,}" if model.arch.max_context_tokens else "?"
        row = [model.id, size, layout_label(model), context, model.release or "?"]
        table.add_row(*row, *([score_label(score)] if use else []))
    console.print(table)


def render_gpus(console: Console, gpus: list[GpuSpec]) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, title=f"{len(gpus)} GPUs and unified-memory machines",
                  title_justify="left")
    for column in ("Id", "Name", "Memory GiB", "GB/s", "FP16 TFLOPS", "Class"):
        table.add_column(column, no_wrap=True, justify="left" if column in ("Id", "Name", "Class") else "right",
                         max_width=40 if column == "Name" else None, overflow="ellipsis")
    for gpu in gpus:
        memory = "/".join(gib(m).removesuffix(".0") for m in gpu.memory_options_bytes) or gib(gpu.memory_bytes)
        table.add_row(gpu.id, gpu.name, memory, rate(gpu.bandwidth_gbps), rate(gpu.fp16_tflops), gpu.device_class)
    console.print(table)


def render_model(console: Console, model: ModelSpec) -> None:
    """Every fact of one model with the source it came from."""
    from rich.table import Table

    console.print(f"{model.name} ({model.id}) · {model.vendor or 'vendor ?'} · released {model.release or '?'} · "
                  f"license {model.license or '?'} · {', '.join(model.modalities)}", highlight=False)
    table = Table(box=None, pad_edge=False, show_header=True)
    table.add_column("Fact", no_wrap=True)
    table.add_column("Value", max_width=46)
    table.add_column("Source", overflow="fold")
    total = f"{model.params_total:,}" + (" (derived from the dims)" if model.params_derived else "")
    table.add_row("parameters", total, model.params_source or model.source)
    if model.params_active:
        table.add_row("active parameters", f"{model.params_active:,}", model.params_source or model.source)
    a = model.arch
    arch = (f"{a.layers} layers, hidden {a.hidden_size}, {a.attention_heads} heads / {a.kv_heads} KV, "
            f"head_dim {a.head_dim}, vocab {a.vocab_size:,}, context {a.max_context_tokens or '?'}")
    table.add_row("architecture", arch, model.source)
    table.add_row("layout", layout_label(model), model.source)
    for score in model.scores:
        table.add_row(LABELS.get(score.benchmark, score.benchmark), f"{score.value:g}", score.source)
    for f in model.gguf_files:
        table.add_row(f"GGUF {f.quant}", f"{f.size_bytes / 1e9:.2f} GB ({f.repo or '?'})", f.source)
    console.print(table)
    if model.note:
        console.print(f"[dim]note: {model.note}[/dim]", highlight=False)
