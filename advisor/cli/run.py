"""hardware, recommend, estimate: the commands that size models on a machine."""

from __future__ import annotations

from dataclasses import replace
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
    PromptOpt,
    RamBwOpt,
    RamOpt,
    SplitOpt,
    UseOpt,
    VramOpt,
    app,
    estimator,
    gpu_spec,
    load,
    machine,
    measured_ram_bandwidth,
    output_format,
    request,
    show,
)


@app.command()
def hardware(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None,
             ram: RamOpt = None, ram_bandwidth: RamBwOpt = None, vram: VramOpt = None, bandwidth: BandwidthOpt = None,
             cpu_cores: CoresOpt = None,
             measure_ram: Annotated[bool, typer.Option(
                 "--measure-ram", help="Measure this machine's RAM read bandwidth (about 1 s) and remember it.")
             ] = False) -> None:
    """Show the hardware advisor sees (probed, or as given with --gpu/--ram)."""
    from advisor.present.run_views import hardware_view

    if measure_ram:
        measured_ram_bandwidth(measure=True)
    catalog = load(ctx)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth, cpu_cores)
    show(hardware_view(target), output_format(json_, fmt))


@app.command()
def recommend(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None,
              ram: RamOpt = None, ram_bandwidth: RamBwOpt = None, vram: VramOpt = None,
              bandwidth: BandwidthOpt = None, cpu_cores: CoresOpt = None, context: ContextOpt = None,
              depth: DepthOpt = 0, use: UseOpt = None, explain: ExplainOpt = False, kv_cache: KvOpt = "f16",
              parallel: ParallelOpt = 1, prompt: PromptOpt = None, split_mode: SplitOpt = "layer",
              installed: Annotated[bool, typer.Option(
                  "--installed", help="Only the GGUF files found on this machine (Ollama, LM Studio, llama.cpp and "
                                    "Hugging Face caches), each at its own file type and size, run from its path.")
              ] = False,
              sort: Annotated[str, typer.Option(
                  "--sort", help="quality (usefulness: docs/ranking.md), speed, memory or name.")] = "quality",
              limit: Annotated[Optional[int], typer.Option(  # noqa: UP045
                  "--limit", metavar="N",
                  help="Show the first N models (0: all) [default: 15 in a table, all in JSON].")] = None,
              min_tps: Annotated[float, typer.Option(
                  "--min-tps", help="Usable floor: models decoding slower rank below every usable one.")] = 5.0,
              quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                  "--quant", help="One file type (e.g. Q8_0) for every model that can use it; default: the "
                                  "best quality above 10 t/s.")] = None,
              models: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                  "--model", help="Rank only these models (repeatable): catalog ids or Hugging Face repos "
                                  "(ORG/REPO, docs/hub.md); default: every catalog model.")] = None,
              ) -> None:
    """For each catalog model: the best quantization that fits, where it runs and how fast, most useful first."""
    from advisor.errors import UsageError
    from advisor.plan.recommend import recommend as run
    from advisor.present.run_views import recommend_view

    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be 0 (all) or more, got {limit}")
    catalog = load(ctx)
    est = estimator(catalog)
    fmt, req = output_format(json_, fmt), request(context, depth, use, kv_cache, parallel, prompt, split_mode)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth, cpu_cores)
    local: dict[str, list[str]] = {}
    if installed:  # each file on this machine at its own file type and size
        from advisor.local.scan import scan
        from advisor.plan.installed import installed_estimates

        estimates, local, unread = installed_estimates(scan(catalog), target, est, req, min_tps=min_tps,
                                                       sort=sort.lower())
        if not estimates:
            unread.append("--installed: no GGUF file found in the Ollama, LM Studio, llama.cpp or Hugging Face "
                          "folders (advisor local lists what it finds)")
        if quant is not None:
            unread.append(f"--quant {quant} does not apply with --installed: each file is estimated at its own type")
        target = replace(target, notes=(*target.notes, *unread))
    else:
        chosen = None
        if models:
            from advisor.hub.lookup import model_specs

            chosen = model_specs(catalog, models)
        estimates = run(target, est, req, min_tps=min_tps, sort=sort.lower(), quant=quant, models=chosen)
    if limit is None and fmt == "table":
        limit = 15
    show(recommend_view(target, estimates, est, request=req, depth=depth, use=use, explain=explain,
                        installed=local, min_tps=min_tps, sort=sort.lower(), limit=limit or None), fmt)


@app.command()
def estimate(ctx: typer.Context,
             model: Annotated[Optional[str], typer.Argument(  # noqa: UP045
                 help="Model id or alias (qwen3.5-35b-a3b), a local .gguf file (split ones too), or a Hugging Face "
                      "repo: ORG/REPO, hf.co/ORG/REPO[:QUANT] or its https://huggingface.co URL (docs/hub.md).")
             ] = None,
             json_: JsonOpt = False, fmt: FormatOpt = "table", gpu: GpuOpt = None, ram: RamOpt = None,
             ram_bandwidth: RamBwOpt = None, vram: VramOpt = None, bandwidth: BandwidthOpt = None,
             quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                 "--quant", help="One file type (e.g. Q4_K_M, IQ3_M, MLX-6bit); default: the common ones.")] = None,
             config: Annotated[Optional[Path], typer.Option(  # noqa: UP045
                 "--config", help="Estimate from a Hugging Face config.json instead (no network).")] = None,
             context: ContextOpt = None, depth: DepthOpt = 0, explain: ExplainOpt = False,
             kv_cache: KvOpt = "f16", parallel: ParallelOpt = 1, prompt: PromptOpt = None,
             cpu_cores: CoresOpt = None, split_mode: SplitOpt = "layer") -> None:
    """The detailed estimate for one model: each quantization's memory, placement and speed."""
    from advisor.plan.choice import best_estimate
    from advisor.plan.resolve import resolve_model
    from advisor.present.run_views import estimate_view

    catalog = load(ctx)
    est = estimator(catalog)
    fmt, req = output_format(json_, fmt), request(context, depth, kv_cache=kv_cache, parallel=parallel,
                                                  prompt=prompt, split_mode=split_mode)
    target = machine(catalog, gpu_spec(gpu, vram, bandwidth), ram, ram_bandwidth, cpu_cores)
    hub = None
    if model is not None and config is None:
        from advisor.hub.lookup import hub_model

        hub = hub_model(catalog, model)
    spec, estimates, notes = resolve_model(est, model, config, quant, target, req, hub)
    best = estimates[0] if quant or len(estimates) == 1 else best_estimate(spec, target, est, req)
    show(estimate_view(target, spec, estimates, est, notes, depth=depth, explain=explain, best=best), fmt)
