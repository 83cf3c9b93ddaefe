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
    PromptOpt,
    RamBwOpt,
    SplitOpt,
    app,
    estimator,
    load,
    output_format,
    request,
    show,
)

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.specs import ModelSpec
    from advisor.specs.facts import Catalog

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
                "--model", help="Compare only these models (repeatable): catalog ids or Hugging Face repos "
                                "(ORG/REPO, docs/hub.md); default: every catalog model.")] = None,
            json_: JsonOpt = False, fmt: FormatOpt = "table",
            ram: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                "--ram", help="System RAM beside each discrete GPU, e.g. 64GB: once for every machine, or once per "
                              "machine in the order named (unified memory ignores it) [default: 64GB, the catalog's "
                              "hypothetical_ram_bytes, stated in each machine's line].")] = None,
            ram_bandwidth: RamBwOpt = None, context: ContextOpt = None,
            min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
                "--min-tps", help="Usable floor: models no machine decodes this fast rank below the others; and "
                                  "what runs well means in the summary (all on GPU) [default: 5 for the ranking, "
                                  "10 for the summary].")] = None,
            sort: Annotated[str, typer.Option(
                "--sort", help="quality (each model at its best machine, as recommend ranks: docs/ranking.md), "
                               "speed, memory or name.")] = "quality",
            limit: Annotated[Optional[int], typer.Option(  # noqa: UP045
                "--limit", metavar="N",
                help="Show the first N models (0: all) [default: 15 in a table, all in JSON].")] = None,
            quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                "--quant", help="One file type (e.g. Q4_K_M) on every machine, for every model that can use it; "
                                "default: each machine's best.")] = None,
            prompt: PromptOpt = None, split_mode: SplitOpt = "layer") -> None:
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
    if limit is not None and limit < 0:
        raise UsageError(f"--limit must be 0 (all) or more, got {limit}")
    catalog = load(ctx)
    fmt, req = output_format(json_, fmt), request(context, 0, prompt=prompt, split_mode=split_mode)
    if limit is None and fmt == "table":
        limit = 15
    if models:
        from advisor.hub.lookup import model_specs

        chosen = model_specs(catalog, models)
    else:
        chosen = catalog.models
    per_machine = rams * len(specs) if len(rams) == 1 else rams or [None] * len(specs)
    built = [compare_machine(catalog, spec, r, ram_bandwidth) for spec, r in zip(specs, per_machine, strict=True)]
    result = run(tuple(specs), tuple(m for m, _ in built), estimator(catalog), req, chosen,
                 ram_assumed=tuple(a for _, a in built), min_tokens_per_s=min_tps, sort=sort.lower(), quant=quant,
                 limit=limit or None)
    show(compare_view(result, req.context_tokens), fmt)


@app.command()
def plan(ctx: typer.Context, model: Annotated[str, typer.Argument(help="Model id or alias.")],
         json_: JsonOpt = False, fmt: FormatOpt = "table", context: ContextOpt = None,
         min_tps: Annotated[Optional[float], typer.Option(  # noqa: UP045
             "--min-tps", help="Only hardware that decodes at least this many tokens/s [default: any speed all on "
                               "GPU, 5 on one GPU + system RAM].")] = None,
         quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
             "--quant", help="File type to plan for (default Q4_K_M, or the model's own format).")] = None,
         limit: Annotated[int, typer.Option(
             "--limit", help="Show this many configurations, in --sort order; 0 shows all.")] = 10,
         max_price: Annotated[Optional[float], typer.Option(  # noqa: UP045
             "--max-price", help="Only configurations whose GPUs' launch price is known and at most this many USD.")
         ] = None,
         vendor: Annotated[Optional[str], typer.Option(  # noqa: UP045
             "--vendor", help="Only this vendor's GPUs: nvidia, amd, intel or apple.")] = None,
         sort: Annotated[str, typer.Option(
             "--sort", help="quality (value: the price ladder, each next one >= 10% faster; docs/ranking.md), "
                            "price, speed, memory or name.")] = "quality",
         users: Annotated[Optional[int], typer.Option(  # noqa: UP045
             "--users", help="Plan a server for this many concurrent users instead (advisor serve's model): one "
                             "GPU, a node of 2-8, or 2-4 nodes, each with its launch command.")] = None,
         engine: Annotated[str, typer.Option("--engine", help="With --users: vllm, sglang or llama.cpp.")] = "vllm",
         max_ttft: Annotated[Optional[float], typer.Option(  # noqa: UP045
             "--max-ttft", help="With --users: longest time to first token in seconds [default: 1].")] = None,
         interconnect: Annotated[Optional[str], typer.Option(  # noqa: UP045
             "--interconnect", help="With --users: network between nodes, e.g. 400Gbps [default: 400Gbps].")] = None
         ) -> None:
    """Which catalog hardware runs a model: all on its GPU(s), or on one GPU + system RAM (MoE experts in RAM) at a
    usable speed; the price ladder first (cheapest, then each dearer one that is faster), each with its command.
    With --users: the cheapest deployments that serve that many users at --min-tps each."""
    from advisor.errors import UsageError
    from advisor.plan.compare import VENDORS
    from advisor.plan.compare import plan as run
    from advisor.present.plan_tables import plan_view

    check_min_tps(min_tps)
    if not 0 <= limit <= 1_000_000:
        raise UsageError(f"--limit must be 0 (all) or a positive number, got {limit}")
    if max_price is not None and not 0 < max_price < 1e12:  # also refuses nan and inf
        raise UsageError(f"--max-price must be a positive number of USD, got {max_price}")
    if vendor is not None and vendor.lower() not in VENDORS:
        raise UsageError(f"--vendor must be one of {', '.join(VENDORS)}, got {vendor!r}")
    catalog = load(ctx)
    spec = catalog.model(model)
    if users is not None:
        return plan_users(catalog, spec, output_format(json_, fmt), users=users, engine=engine, context=context,
                          min_tps=min_tps, max_ttft=max_ttft, quant=quant, interconnect=interconnect, limit=limit,
                          vendor=vendor.lower() if vendor else None)
    fmt, req = output_format(json_, fmt), request(context, 0)
    result = run(spec, estimator(catalog), req, quant=quant, min_tokens_per_s=min_tps, max_price_usd=max_price,
                 vendor=vendor.lower() if vendor else None, limit=limit, sort=sort.lower())
    show(plan_view(spec, result, req.context_tokens), fmt)


def plan_users(catalog: Catalog, spec: ModelSpec, fmt: str, *, users: int, engine: str, context: int | None,
               min_tps: float | None, max_ttft: float | None, quant: str | None, interconnect: str | None,
               limit: int, vendor: str | None) -> None:
    """plan --users: advisor serve over the catalog's deployments (advisor.plan.serve_plan)."""
    from advisor.plan.recommend import INTERACTIVE_TOKENS_PER_S
    from advisor.plan.serve import ServeRequest, check, network_gbps
    from advisor.plan.serve_plan import serve_plan
    from advisor.present.serve_views import serve_plan_view

    req = ServeRequest(engine=engine.lower(), users=users, context_tokens=context or 8192,
                       min_tokens_per_s=min_tps or INTERACTIVE_TOKENS_PER_S, max_ttft_s=max_ttft, quant=quant)
    check(req)
    network = network_gbps(interconnect) if interconnect else catalog.defaults.plan_network_gbps
    show(serve_plan_view(spec, serve_plan(spec, estimator(catalog), req, network_gbps=network, limit=limit,
                                          vendor=vendor)), fmt)


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
