"""hardware, recommend, estimate: the commands that size models on a machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from advisor.cli.app import (
    BandwidthOpt,
    ContextOpt,
    CoresOpt,
    DepthOpt,
    ExplainOpt,
    FormatOpt,
    GpuOpt,
    JsonOpt,
    KvOpt,
    ParallelOpt,
    RamBwOpt,
    RamOpt,
    UseOpt,
    VramOpt,
    app,
    console,
    emit,
    emit_rows,
    estimator,
    gpu_spec,
    load,
    machine,
    measured_ram_bandwidth,
    output_format,
    request,
)


@app.command()
def hardware(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None,
             ram: RamOpt = None, ram_bandwidth: RamBwOpt = None, vram: VramOpt = None, bandwidth: BandwidthOpt = None,
             cpu_cores: CoresOpt = None,
             measure_ram: Annotated[bool, typer.Option(
                 "--measure-ram", help="Measure this machine's RAM read bandwidth (about 1 s) and remember it.")
             ] = False) -> None:
    """Show the hardware advisor sees (probed, or as given with --gpu/--ram)."""
    if measure_ram:
        measured_ram_bandwidth(measure=True)
    catalog = load(ctx)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth, cpu_cores)
    fmt = output_format(json_, fmt)
    if fmt == "json":
        emit("hardware", target, [])
        return
    from advisor.present.tables import hardware_rows, render_hardware

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *hardware_rows(target))
        return
    render_hardware(console(), target)


@app.command()
def recommend(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None,
              ram: RamOpt = None, ram_bandwidth: RamBwOpt = None, vram: VramOpt = None,
              bandwidth: BandwidthOpt = None, cpu_cores: CoresOpt = None, context: ContextOpt = None,
              depth: DepthOpt = 0, use: UseOpt = None, explain: ExplainOpt = False, kv_cache: KvOpt = "f16",
              parallel: ParallelOpt = 1,
              installed: Annotated[bool, typer.Option(
                  "--installed", help="Only models found on this machine (Ollama, LM Studio, llama.cpp caches).")
              ] = False) -> None:
    """For each catalog model: the best quantization that fits, where it runs and how fast."""
    from advisor.plan.commands import commands
    from advisor.plan.recommend import recommend as run
    from advisor.plan.uses import USES

    catalog = load(ctx)
    est = estimator(catalog)
    fmt, req = output_format(json_, fmt), request(context, depth, use, kv_cache, parallel)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth, cpu_cores)
    estimates = run(target, est, req)
    local: dict[str, list[str]] = {}
    if installed:
        from advisor.local.scan import installed_ids, scan

        local = {k: [f"{f.source}: {f.name}" for f in v] for k, v in installed_ids(scan(catalog)).items()}
        estimates = [e for e in estimates if e.model.id in local]
    if fmt == "json":
        from advisor.present.envelope import estimate_dict

        ranking = {"use": use, "benchmarks": list(USES[use]) if use else []}
        results = [{**estimate_dict(e, depth, commands(e, target, est)), "installed": local.get(e.model.id, [])}
                   for e in estimates]
        emit("recommend", target, results, ranking=ranking)
        return
    from advisor.present.tables import estimate_rows, render_estimates

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *estimate_rows(estimates, show_model=True, show_score=bool(use), explain=explain))
        return
    by = f", ranked for {use} by {' then '.join(USES[use]) or 'context length'}" if use else ", best first"
    top = next((e for e in estimates if e.placement.kind != "none"), None)
    render_estimates(console(), target, estimates, show_model=True, show_score=bool(use), explain=explain,
                     title=f"Best quantization per model at {req.context_tokens:,} tokens of context{by}",
                     run_line=commands(top, target, est)["llama.cpp"] if top else None)


@app.command()
def estimate(ctx: typer.Context,
             model: Annotated[Optional[str], typer.Argument(  # noqa: UP045
                 help="Model id or alias (qwen3.5-35b-a3b), or a local .gguf file (split ones too).")] = None,
             json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None, ram: RamOpt = None,
             ram_bandwidth: RamBwOpt = None, vram: VramOpt = None, bandwidth: BandwidthOpt = None,
             quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                 "--quant", help="One file type (e.g. Q4_K_M); default: all.")] = None,
             config: Annotated[Optional[Path], typer.Option(  # noqa: UP045
                 "--config", help="Estimate from a Hugging Face config.json instead (no network).")] = None,
             context: ContextOpt = None, depth: DepthOpt = 0, explain: ExplainOpt = False,
             kv_cache: KvOpt = "f16", parallel: ParallelOpt = 1) -> None:
    """The detailed estimate for one model: each quantization's memory, placement and speed."""
    from advisor.plan.commands import commands
    from advisor.plan.recommend import best_estimate
    from advisor.plan.resolve import resolve_model

    catalog = load(ctx)
    est = estimator(catalog)
    fmt, req = output_format(json_, fmt), request(context, depth, kv_cache=kv_cache, parallel=parallel)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth)
    spec, estimates, notes = resolve_model(est, model, config, quant, target, req)
    if fmt == "json":
        from advisor.present.envelope import estimate_dict

        emit("estimate", target, [estimate_dict(e, depth, commands(e, target, est)) for e in estimates], notes=notes)
        return
    from advisor.present.tables import estimate_rows, render_estimates, render_notes

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *estimate_rows(estimates, show_model=False, explain=explain))
        return
    best = estimates[0] if quant or len(estimates) == 1 else best_estimate(spec, target, est, req)
    render_estimates(console(), target, estimates, show_model=False, explain=explain,
                     title=f"{spec.name} at {estimates[0].context_tokens:,} tokens of context (depth {depth:,})",
                     run_line=commands(best, target, est)["llama.cpp"] if best.placement.kind != "none" else None)
    render_notes(console(), notes)
