"""Presenters for compare and plan: the comparison and the plan options -> View."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from advisor.present.tables import CPU_LEGEND, CPU_MARK, cpu_bound, decode_cell, gib, rate
from advisor.present.view import Line, Section, View, table

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.plan.compare import Comparison, Plan, PlanOption
    from advisor.plan.recommend import Estimate
    from advisor.specs import ModelSpec

_SHORT = {"gpu": "GPU", "gpu+cpu": "GPU+CPU", "cpu": "CPU", "none": "—"}


def cell(e: Estimate) -> str:
    if e.placement.kind == "none":
        return "does not fit"
    prefill = e.speed.prefill_tokens_per_s
    return (f"{e.recipe.name} {_SHORT[e.placement.kind]} {rate(e.speed.decode_tokens_per_s)} t/s"
            + (CPU_MARK if cpu_bound(e) else "") + (f" (prefill {rate(prefill)})" if prefill is not None else ""))


def machine_line(label: str, machine: Machine, ram_assumed: bool) -> str:
    """One compared machine: its GPUs (several of one card with their memory in all) and its RAM, said to be
    assumed when no --ram gave it."""
    groups: dict[str, list[int]] = {}
    usable: dict[str, int] = {}
    for dev in machine.devices:
        name = dev.device.name.removeprefix("NVIDIA ").removeprefix("GeForce ")
        bw = f", {dev.bandwidth_gbps:,.0f} GB/s" if dev.bandwidth_gbps else ""
        key = f"{name}\0{bw}"
        groups.setdefault(key, []).append(dev.device.memory_total_bytes)
        usable[key] = usable.get(key, 0) + dev.memory_usable_bytes
    parts = []
    for key, sizes in groups.items():
        name, bw = key.split("\0")
        if len(sizes) == 1:
            parts.append(f"{name} ({gib(sizes[0])} GiB, {gib(usable[key])} usable{bw})")
        else:
            parts.append(f"{len(sizes)}× {name} ({gib(sum(sizes))} GiB in all, {gib(usable[key])} usable; "
                         f"{gib(sizes[0])} GiB{bw} each)")
    ram = machine.hardware.ram_total_bytes
    ram_text = f"RAM {gib(ram)} GiB ({gib(machine.ram_usable_bytes)} usable)" if ram else "RAM unknown"
    if ram_assumed:
        ram_text = f"RAM {gib(ram)} GiB assumed (--ram to change; {gib(machine.ram_usable_bytes)} usable)"
    return f"{label}: {' + '.join(parts) or 'no GPU'} · {ram_text}"


def compare_rows(result: Comparison) -> tuple[list[str], list[list[str]]]:
    headers = ["Model", *result.labels]
    return headers, [[model.name, *(cell(e) for e in estimates)] for model, estimates in result.rows]


def compare_view(result: Comparison, context: int) -> View:
    """Each machine's summary, then per model one cell per machine, then what the comparison found."""
    from advisor.present.envelope import comparison_dict

    parts = comparison_dict(result)
    return View("compare", results=tuple(parts.pop("results")), extra=parts,
                people=lambda: (_compare_section(result, context),),
                notes=tuple(n for m in result.machines for n in m.notes))


def _compare_section(result: Comparison, context: int) -> Section:
    assumed = result.ram_assumed or (False,) * len(result.machines)
    machines = tuple(Line(machine_line(label, m, a))
                     for label, m, a in zip(result.labels, result.machines, assumed, strict=True))
    headers, rows = compare_rows(result)
    grid = table(headers, rows, title=f"Best quantization, placement, decode and prefill speed (t/s) at {context:,} "
                                      "tokens",
                 left=frozenset(headers), widths={"Model": 30}, names=frozenset({"Model"}),
                 wrap=frozenset(result.labels), id_column=("Model", "Model id"),
                 ids=[model.id for model, _ in result.rows])
    found = tuple(Line(f"• {line}") for line in result.summary)
    if any(cpu_bound(e) for _, es in result.rows for e in es if e.placement.kind != "none"):
        found = (Line(CPU_LEGEND, dim=True), *found)
    if result.total > len(result.rows):
        found = (Line(f"… and {result.total - len(result.rows)} more (--limit 0 for all); the summary counts all "
                      f"{result.total}", dim=True), *found)
    return Section(before=machines, table=grid, after=found)


_MAKERS = re.compile(r"^(\d+x )?(?:NVIDIA GeForce |NVIDIA |AMD Radeon (?=RX )|AMD |Intel |Apple )")


def short_label(label: str) -> str:
    """A configuration's name in the table, without its maker's name (the card's own name says it; JSON keeps the
    full one): 'NVIDIA GeForce RTX 5090 + 64 GB RAM' -> 'RTX 5090 + 64 GB RAM', so narrow terminals keep the model."""
    return _MAKERS.sub(lambda m: m.group(1) or "", label)


def plan_rows(options: tuple[PlanOption, ...] | list[PlanOption]) -> tuple[list[str], list[list[str]]]:
    headers = ["Hardware", "Runs on", "Memory GiB", "Price USD", "Quant", "Needs GiB", "Decode", "Prefill"]
    rows = [[short_label(o.label), _SHORT[o.estimate.placement.kind], gib(o.memory_bytes),
             f"{o.price_usd:,.0f}" if o.price_usd else "?", o.estimate.recipe.name,
             gib(o.estimate.memory.total_bytes), decode_cell(o.estimate),
             rate(o.estimate.speed.prefill_tokens_per_s)] for o in options]
    return headers, rows


_ORDER = {"quality": "the price ladder first: cheapest, then each dearer one at least 10% faster",
          "price": "cheapest first where a price is known", "speed": "fastest first",
          "memory": "least GPU memory first", "name": "by name"}


def plan_view(model: ModelSpec, result: Plan, context: int) -> View:
    """The hardware that runs a model all on GPU or on one GPU + system RAM, cheapest first, after one line on
    what it needs; then how many more there are and the first option's command."""
    from advisor.present.envelope import plan_dict

    options, min_tps = result.options, result.min_tokens_per_s
    target = f" at ≥ {min_tps:g} t/s" if min_tps else ""
    offload = (f" or on one GPU + system RAM at ≥ {result.offload_min_tokens_per_s:g} t/s" if result.offload
               else "")
    grid = table(*plan_rows(options), left=frozenset({"Hardware", "Quant", "Runs on"}), widths={"Hardware": 44},
                 names=frozenset({"Hardware"}), drop=("Prefill", "Needs GiB", "Quant"),
                 csv_headers={"Memory GiB": "GPU memory GiB", "Decode": "Decode t/s", "Prefill": "Prefill t/s"})
    parts = plan_dict(model, result)
    results = tuple(parts.pop("results"))
    if not options:
        line = (f"No catalog hardware runs {model.name} entirely on its GPU(s){target}{offload} at {context:,} tokens"
                + (" with the --max-price or --vendor given." if result.max_price_usd or result.vendor else "."))
        return View("plan", results=results, extra=parts, sections=(Section(before=(Line(line),)),), main=grid)
    need = min(o.estimate.memory.total_bytes for o in options)
    split = sum(1 for o in options if o.ram_bytes is not None)
    line = (f"{model.name} needs at least {gib(need)} GiB at {context:,} tokens ({options[0].estimate.recipe.name}); "
            f"{result.total} configurations run it all on GPU{target}{offload}; {_ORDER[result.sort]}"
            + (" (launch price of the GPUs; RAM not counted)." if result.offload else " (launch price of the GPUs)."))
    after = []
    if result.total > len(options):
        after.append(Line(f"… {result.total - len(options)} more (--limit 0 for all)", dim=True))
    if split:
        after.append(Line("GPU+CPU: the model's MoE experts (or layers) in the assumed system RAM (--n-cpu-moe).",
                          dim=True))
    if any(cpu_bound(o.estimate) for o in options):
        after.append(Line(CPU_LEGEND, dim=True))
    first = options[0]
    run_line = first.commands.get(first.estimate.engine)
    if run_line:
        after.append(Line(f"Run it on {first.label}: {run_line}", command=True))
    return View("plan", results=results, extra=parts,
                sections=(Section(before=(Line(line),), table=grid, after=tuple(after)),))
