"""Rich tables for compare and plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.present.tables import gib, rate, render_notes, render_table

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.plan.compare import Comparison, PlanOption
    from advisor.plan.recommend import Estimate
    from advisor.specs import ModelSpec

_SHORT = {"gpu": "GPU", "gpu+cpu": "GPU+CPU", "cpu": "CPU", "none": "—"}


def cell(e: Estimate) -> str:
    if e.placement.kind == "none":
        return "does not fit"
    return f"{e.recipe.name} {_SHORT[e.placement.kind]} {rate(e.speed.decode_tokens_per_s)} t/s"


def compare_rows(result: Comparison) -> tuple[list[str], list[list[str]]]:
    headers = ["Model", *result.labels]
    return headers, [[model.name, *(cell(e) for e in estimates)] for model, estimates in result.rows]


def render_compare(console: Console, result: Comparison, context: int) -> None:
    for label, machine in zip(result.labels, result.machines, strict=True):
        from advisor.present.tables import summary

        console.print(f"{label}: {summary(machine)}", highlight=False)
    headers, rows = compare_rows(result)
    width = max(18, (120 - 32) // max(1, len(result.labels)) - 2)
    render_table(console, headers, rows, title=f"Best quantization, placement and decode speed at {context:,} tokens",
                 left=frozenset(headers), widths={"Model": 30, **{label: width for label in result.labels}})
    for line in result.summary:
        console.print(f"• {line}", highlight=False)
    render_notes(console, tuple(n for m in result.machines for n in m.notes))


def plan_rows(options: list[PlanOption]) -> tuple[list[str], list[list[str]]]:
    headers = ["Hardware", "Memory GiB", "Price USD", "Quant", "Needs GiB", "Decode", "Prefill"]
    rows = [[o.label, gib(o.memory_bytes), f"{o.price_usd:,.0f}" if o.price_usd else "?", o.estimate.recipe.name,
             gib(o.estimate.memory.total_bytes), rate(o.estimate.speed.decode_tokens_per_s),
             rate(o.estimate.speed.prefill_tokens_per_s)] for o in options]
    return headers, rows


def render_plan(console: Console, model: ModelSpec, options: list[PlanOption], context: int,
                min_tps: float | None) -> None:
    target = f" at ≥ {min_tps:g} t/s" if min_tps else ""
    if not options:
        console.print(f"No catalog hardware runs {model.name} entirely on its GPU(s){target} at {context:,} tokens.")
        return
    need = min(o.estimate.memory.total_bytes for o in options)
    console.print(f"{model.name} needs at least {gib(need)} GiB of GPU memory at {context:,} tokens "
                  f"({options[0].estimate.recipe.name}); {len(options)} configurations run it all on GPU{target}, "
                  "cheapest first where a launch price is known.", highlight=False)
    render_table(console, *plan_rows(options), left=frozenset({"Hardware", "Quant"}), widths={"Hardware": 44})
