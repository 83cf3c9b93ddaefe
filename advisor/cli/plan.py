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
    console,
    emit,
    emit_rows,
    estimator,
    load,
    machine,
    output_format,
    request,
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

    if len(specs) < 2:
        raise UsageError("compare needs at least two machines, e.g. advisor compare \"RTX 4090\" \"M4 Max 128GB\"")
    catalog = load(ctx)
    fmt, req = output_format(json_, fmt), request(context, 0)
    chosen = tuple(catalog.model(m) for m in models) if models else catalog.models
    machines = tuple(machine(catalog, spec, ram, ram_bandwidth) for spec in specs)
    result = run(tuple(specs), machines, estimator(catalog), req, chosen)
    if fmt == "json":
        from advisor.present.envelope import comparison_dict

        emit("compare", None, **comparison_dict(result))
        return
    from advisor.present.plan_tables import compare_rows, render_compare

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *compare_rows(result))
        return
    render_compare(console(), result, req.context_tokens)


@app.command()
def plan(ctx: typer.Context, model: Annotated[str, typer.Argument(help="Model id or alias.")],
         json_: JsonOpt = False, fmt: FormatOpt = "table", context: ContextOpt = None,
         min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
             "--min-tps", help="Only hardware that decodes at least this many tokens/s.")] = None,
         quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
             "--quant", help="File type to plan for (default Q4_K_M, or the model's own format).")] = None) -> None:
    """Which catalog hardware runs a model entirely on its GPU(s), cheapest first where a price is known."""
    from advisor.plan.compare import plan as run

    catalog = load(ctx)
    spec = catalog.model(model)
    fmt, req = output_format(json_, fmt), request(context, 0)
    options = run(spec, estimator(catalog), req, quant=quant, min_tokens_per_s=min_tps)
    if fmt == "json":
        from advisor.present.envelope import plan_dict

        emit("plan", None, **plan_dict(spec, options, min_tps))
        return
    from advisor.present.plan_tables import plan_rows, render_plan

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *plan_rows(options))
        return
    render_plan(console(), spec, options, req.context_tokens, min_tps)


@app.command()
def calibrate(ctx: typer.Context,
              results: Annotated[Path, typer.Argument(help="llama-bench -o json (or jsonl) output.")],
              device: Annotated[Optional[str], typer.Option(  # noqa: UP045
                  "--device", help="The catalog GPU it ran on (default: from the file's gpu_info).")] = None,
              json_: JsonOpt = False) -> None:
    """Import your own llama-bench results: fit this device's factors and use them from then on."""
    from advisor.speed.calibrate import run_calibration

    outcome = run_calibration(load(ctx), results, device)
    if json_:
        emit("calibrate", None, outcome["rows"], calibration=outcome["calibration"], skipped=outcome["skipped"])
        return
    out = console()
    cal = outcome["calibration"]
    out.print(f"{cal['device']}: decode x{cal['decode_factor'] or 1:.2f}, prefill x{cal['prefill_factor'] or 1:.2f} "
              f"from {cal['rows']} rows; saved to {outcome['path']}. Later estimates for this GPU say "
              "'calibrated locally'.", highlight=False, soft_wrap=True)
    for reason in outcome["skipped"]:
        out.print(f"[dim]skipped: {reason}[/dim]", highlight=False)
