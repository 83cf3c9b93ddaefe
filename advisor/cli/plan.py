"""compare and plan: hardware side by side, and hardware for a model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from advisor.cli.app import (
    ContextOpt,
    FormatOpt,
    JsonOpt,
    RamBwOpt,
    app,
    estimator,
    load,
    output_format,
    request,
    show,
)

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.specs.facts import Catalog

MinTpsOpt = Annotated[Optional[float], typer.Option(  # noqa: UP045
    "--min-tps", help="Only hardware that decodes at least this many tokens/s.")]


def check_min_tps(min_tps: float | None) -> None:
    from advisor.errors import UsageError

    if min_tps is not None and not 0 < min_tps < 1_000_000:  # also refuses nan and inf
        raise UsageError(f"--min-tps must be a positive number of tokens/s, got {min_tps}")


def compare_machine(catalog: Catalog, spec: str, ram: str | None, ram_bandwidth: str | None) -> tuple[Machine, bool]:
    """A named machine, and whether its system RAM is assumed: a discrete-GPU (or CPU-only) machine without --ram
    gets the catalog's hypothetical_ram_bytes, never this machine's probed RAM; unified memory is its own RAM."""
    from advisor.estimate.machine import hypothetical, ram_bandwidth_from, resolve
    from advisor.units import GIB, parse_size

    bandwidth = ram_bandwidth_from(ram_bandwidth, catalog) if ram_bandwidth is not None else None
    hw = hypothetical(None, catalog, gpu=spec, ram_bytes=None)
    unified = any(d.kind == "unified" for d in hw.devices)
    assumed = ram is None and not unified
    if not unified:
        ram_bytes = catalog.defaults.hypothetical_ram_bytes if ram is None else parse_size(ram)
        hw = hypothetical(None, catalog, gpu=spec, ram_bytes=ram_bytes)
        if assumed:
            hw = replace(hw, notes=(*(n for n in hw.notes if not n.startswith("RAM: ")),
                                    f"RAM: {ram_bytes / GIB:.0f} GiB assumed beside a named discrete GPU (catalog "
                                    "default hypothetical_ram_bytes); pass --ram to change it"))
    return resolve(hw, catalog, ram_bandwidth=bandwidth), assumed


@app.command()
def compare(ctx: typer.Context,
            specs: Annotated[list[str], typer.Argument(help='Two or more machines: "RTX 4090" "2x RTX 3090" ...')],
            models: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                "--model", help="Compare only these models (repeatable); default: every catalog model.")] = None,
            json_: JsonOpt = False, fmt: FormatOpt = "table",
            ram: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                "--ram", help="System RAM beside each discrete GPU, e.g. 64GB: once for every machine, or once per "
                              "machine in the order named (unified memory ignores it) [default: 64GB, the catalog's "
                              "hypothetical_ram_bytes, stated in each machine's line].")] = None,
            ram_bandwidth: RamBwOpt = None, context: ContextOpt = None,
            min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
                "--min-tps", help="What runs well means in the summary: all on GPU at least this many tokens/s "
                                  "[default: 10].")] = None) -> None:
    """Side by side: each model's best quantization, placement, decode and prefill speed on each machine."""
    from advisor.errors import UsageError
    from advisor.plan.compare import compare as run
    from advisor.present.plan_tables import compare_view

    if len(specs) < 2:
        raise UsageError("compare needs at least two machines, e.g. advisor compare \"RTX 4090\" \"M4 Max 128GB\"")
    rams: list[str | None] = list(ram or [])
    if len(rams) not in (0, 1, len(specs)):
        raise UsageError(f"--ram is given once for every machine or once per machine ({len(specs)}), "
                         f"got it {len(rams)} times")
    check_min_tps(min_tps)
    catalog = load(ctx)
    fmt, req = output_format(json_, fmt), request(context, 0)
    chosen = tuple(catalog.model(m) for m in models) if models else catalog.models
    per_machine = rams * len(specs) if len(rams) == 1 else rams or [None] * len(specs)
    built = [compare_machine(catalog, spec, r, ram_bandwidth) for spec, r in zip(specs, per_machine, strict=True)]
    result = run(tuple(specs), tuple(m for m, _ in built), estimator(catalog), req, chosen,
                 ram_assumed=tuple(a for _, a in built), min_tokens_per_s=min_tps)
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
