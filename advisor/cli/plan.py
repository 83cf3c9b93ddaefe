"""compare and plan: hardware side by side, and hardware for a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from advisor.cli.app import (
    ContextOpt,
    FormatOpt,
    JsonOpt,
    RamBwOpt,
    RamOpt,
    app,
    estimator,
    load,
    machine,
    output_format,
    request,
    show,
)


@app.command()
def compare(ctx: typer.Context,
            specs: Annotated[list[str], typer.Argument(help='Two or more machines: "RTX 4090" "2x RTX 3090" ...')],
            models: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                "--model", help="Compare only these models (repeatable); default: every catalog model.")] = None,
            json_: JsonOpt = False, fmt: FormatOpt = "table", ram: RamOpt = None, ram_bandwidth: RamBwOpt = None,
            context: ContextOpt = None) -> None:
    """Side by side: each model's best quantization, placement and speed on each machine."""
    from advisor.errors import UsageError
    from advisor.plan.compare import compare as run
    from advisor.present.plan_tables import compare_view

    if len(specs) < 2:
        raise UsageError("compare needs at least two machines, e.g. advisor compare \"RTX 4090\" \"M4 Max 128GB\"")
    catalog = load(ctx)
    fmt, req = output_format(json_, fmt), request(context, 0)
    chosen = tuple(catalog.model(m) for m in models) if models else catalog.models
    machines = tuple(machine(catalog, spec, ram, ram_bandwidth) for spec in specs)
    result = run(tuple(specs), machines, estimator(catalog), req, chosen)
    show(compare_view(result, req.context_tokens), fmt)


@app.command()
def plan(ctx: typer.Context, model: Annotated[str, typer.Argument(help="Model id or alias.")],
         json_: JsonOpt = False, fmt: FormatOpt = "table", context: ContextOpt = None,
         min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
             "--min-tps", help="Only hardware that decodes at least this many tokens/s.")] = None,
         quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
             "--quant", help="File type to plan for (default Q4_K_M, or the model's own format).")] = None) -> None:
    """Which catalog hardware runs a model entirely on its GPU(s), cheapest first where a price is known."""
    from advisor.errors import UsageError
    from advisor.plan.compare import plan as run
    from advisor.present.plan_tables import plan_view

    if min_tps is not None and not 0 < min_tps < 1_000_000:  # also refuses nan
        raise UsageError(f"--min-tps must be a positive number of tokens/s, got {min_tps}")
    catalog = load(ctx)
    spec = catalog.model(model)
    fmt, req = output_format(json_, fmt), request(context, 0)
    options = run(spec, estimator(catalog), req, quant=quant, min_tokens_per_s=min_tps)
    show(plan_view(spec, options, req.context_tokens, min_tps), fmt)


@app.command()
def calibrate(ctx: typer.Context,
              results: Annotated[Path, typer.Argument(help="llama-bench -o json (or jsonl) output.")],
              device: Annotated[Optional[str], typer.Option(  # noqa: UP045
                  "--device", help="The catalog GPU it ran on (default: from the file's gpu_info).")] = None,
              json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """Import your own llama-bench results: fit this device's factors and use them from then on."""
    from advisor.present.reports import calibration_view
    from advisor.speed.calibrate import run_calibration

    fmt = output_format(json_, fmt)
    show(calibration_view(run_calibration(load(ctx), results, device)), fmt)
