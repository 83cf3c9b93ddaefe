"""Side-by-side machines and reverse planning. Pure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.plan.commands import commands
from advisor.plan.recommend import INTERACTIVE_TOKENS_PER_S, Estimate, Estimator, Request, best_estimate
from advisor.specs import GpuSpec, ModelSpec
from advisor.specs.facts import Catalog
from advisor.units import GIB

MAX_PAIRWISE = 8  # beyond this many machines, pairwise speed lines would bury the summary


@dataclass(frozen=True, slots=True)
class Comparison:
    labels: tuple[str, ...]
    machines: tuple[Machine, ...]
    rows: tuple[tuple[ModelSpec, tuple[Estimate, ...]], ...]
    summary: tuple[str, ...]
    ram_assumed: tuple[bool, ...] = ()  # per machine: its RAM is the catalog's hypothetical_ram_bytes, not --ram
    min_tokens_per_s: float = INTERACTIVE_TOKENS_PER_S  # what "runs well" means in the summary


def runs_well(e: Estimate, min_tokens_per_s: float = INTERACTIVE_TOKENS_PER_S) -> bool:
    decode = e.speed.decode_tokens_per_s
    return e.placement.kind == "gpu" and decode is not None and decode >= min_tokens_per_s


def runs(e: Estimate) -> bool:
    """Placed on the GPU, or on the GPU and the CPU, with a decode speed."""
    return e.placement.kind in ("gpu", "gpu+cpu") and e.speed.decode_tokens_per_s is not None


def compare(labels: tuple[str, ...], machines: tuple[Machine, ...], est: Estimator, request: Request,
            models: tuple[ModelSpec, ...], *, ram_assumed: tuple[bool, ...] = (),
            min_tokens_per_s: float | None = None) -> Comparison:
    """Each model's best option on each machine, and what each machine adds over the others."""
    floor = min_tokens_per_s or INTERACTIVE_TOKENS_PER_S
    rows = tuple((m, tuple(best_estimate(m, machine, est, request) for machine in machines)) for m in models)
    return Comparison(labels, machines, rows, _summary(labels, rows, floor),
                      ram_assumed or (False,) * len(machines), floor)


def _summary(labels: tuple[str, ...], rows: tuple[tuple[ModelSpec, tuple[Estimate, ...]], ...],
             floor: float) -> tuple[str, ...]:
    well = [[runs_well(e, floor) for e in es] for _, es in rows]  # per model, per machine
    lines = []
    for i, label in enumerate(labels):
        on_gpu = sum(1 for _, es in rows if runs(es[i]) and es[i].placement.kind == "gpu")
        split = sum(1 for _, es in rows if runs(es[i]) and es[i].placement.kind == "gpu+cpu")
        cpu = sum(1 for _, es in rows if es[i].placement.kind == "cpu")
        lines.append(f"{label}: runs {on_gpu} of {len(rows)} model(s) all on GPU and {split} with GPU+CPU"
                     + (f" ({cpu} more on the CPU alone)" if cpu else ""))
        only = [m.name for (m, _), ok in zip(rows, well, strict=True) if ok[i] and sum(ok) == 1]
        if only:
            shown = ", ".join(only[:5]) + (f" and {len(only) - 5} more" if len(only) > 5 else "")
            lines.append(f"{label}: runs {len(only)} model(s) well (all on GPU, ≥ {floor:g} t/s) that the others "
                         f"do not: {shown}")
        if len(labels) <= MAX_PAIRWISE:
            lines += _faster_than(i, labels, rows)
    return tuple(lines)


def _faster_than(i: int, labels: tuple[str, ...], rows: tuple[tuple[ModelSpec, tuple[Estimate, ...]], ...]
                 ) -> list[str]:
    """Decode speed against each other machine, over the models both run (GPU or GPU+CPU) at one quantization."""
    lines = []
    for j, other in enumerate(labels):
        if j == i:
            continue
        ratios = [es[i].speed.decode_tokens_per_s / es[j].speed.decode_tokens_per_s  # type: ignore[operator]
                  for _, es in rows
                  if runs(es[i]) and runs(es[j]) and es[i].recipe is es[j].recipe
                  and es[j].speed.decode_tokens_per_s]
        if ratios and statistics.median(ratios) > 1.05:
            lines.append(f"{labels[i]}: decodes {statistics.median(ratios):.1f}x as fast as {other} "
                         f"(median over {len(ratios)} models both run, on GPU or GPU+CPU, at the same "
                         "quantization)")
    return lines


OFFLOAD_MIN_TOKENS_PER_S = 5.0  # the speed floor of a proposed GPU + system RAM configuration without --min-tps
VENDORS = ("nvidia", "amd", "intel", "apple")


@dataclass(frozen=True, slots=True)
class PlanOption:
    label: str
    gpu: GpuSpec
    count: int
    memory_bytes: int  # the machine's GPU or unified memory in all
    price_usd: float | None  # the GPUs' launch price; system RAM is not counted
    estimate: Estimate
    machine: Machine
    ram_bytes: int | None = None  # a GPU + system RAM configuration (placement gpu+cpu): its assumed RAM
    commands: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    options: tuple[PlanOption, ...]  # the ones shown, cheapest first
    total: int  # how many configurations qualify before --limit
    min_tokens_per_s: float | None
    offload_min_tokens_per_s: float  # the floor GPU + system RAM configurations reach
    offload: bool = True  # whether GPU + system RAM configurations were proposed (MoE, or no one GPU holds it)
    max_price_usd: float | None = None
    vendor: str | None = None


def plan_configurations(catalog: Catalog) -> list[tuple[str, GpuSpec, int, int]]:
    """(label, gpu, count, memory per device): single, 2x and 4x discrete cards; every unified memory option."""
    configs = []
    for gpu in catalog.gpus:
        if gpu.kind == "unified":
            for memory in gpu.memory_options_bytes or (gpu.memory_bytes,):
                size = f"{memory // GIB}GB"
                # "Jetson AGX Orin 64GB" already names its size; "Apple M4 Max" does not
                label = gpu.name if gpu.name.replace(" ", "").endswith(size) else f"{gpu.name} {size}"
                configs.append((label, gpu, 1, memory))
        else:
            configs += [(gpu.name if n == 1 else f"{n}x {gpu.name}", gpu, n, gpu.memory_bytes) for n in (1, 2, 4)]
    return configs


def plan(model: ModelSpec, est: Estimator, request: Request, *, quant: str | None,
         min_tokens_per_s: float | None, max_price_usd: float | None = None, vendor: str | None = None,
         limit: int = 10) -> Plan:
    """Catalog hardware that runs `model` all on its GPU(s), or on one discrete GPU and the catalog's hypothetical
    system RAM (placement gpu+cpu, MoE experts in RAM) at the speed floor, cheapest first among those with a
    speed; `limit` 0 keeps all. The options shown carry each engine's command."""
    catalog = est.catalog
    recipe = catalog.recipe(quant or model.native_quant or "Q4_K_M")
    ram = catalog.defaults.hypothetical_ram_bytes
    offload_floor = min_tokens_per_s or OFFLOAD_MIN_TOKENS_PER_S
    found: list[PlanOption] = []
    for label, gpu, count, memory in plan_configurations(catalog):
        spec = gpu.id if gpu.kind == "discrete" else f"{gpu.id} {memory // GIB}GB"
        hw = hypothetical(None, catalog, gpu=f"{count}x {spec}", ram_bytes=None if gpu.kind == "unified" else ram)
        machine = resolve(hw, catalog)
        e = est.estimate(model, recipe, machine, request)
        price = gpu.launch_price_usd * count if gpu.launch_price_usd else None
        if e.placement.kind == "gpu":
            found.append(PlanOption(label, gpu, count, memory * count, price, e, machine))
        elif e.placement.kind == "gpu+cpu" and gpu.kind == "discrete" and count == 1:
            found.append(PlanOption(f"{label} + {ram // GIB} GB RAM", gpu, count, memory, price, e, machine, ram))
    # GPU + system RAM for a MoE model (its experts in RAM), or for a model that no one GPU holds
    offload = model.is_moe or not any(o.count == 1 and o.ram_bytes is None for o in found)
    options = []
    for o in found:
        decode = o.estimate.speed.decode_tokens_per_s
        if vendor is not None and o.gpu.vendor.lower() != vendor:
            continue
        if max_price_usd is not None and (o.price_usd is None or o.price_usd > max_price_usd):
            continue
        if o.ram_bytes is None and min_tokens_per_s and (decode is None or decode < min_tokens_per_s):
            continue
        if o.ram_bytes is not None and not (offload and decode is not None and decode >= offload_floor):
            continue
        options.append(o)
    options.sort(key=lambda o: (o.estimate.speed.decode_tokens_per_s is None, o.price_usd is None, o.price_usd or 0,
                                o.memory_bytes, -(o.estimate.speed.decode_tokens_per_s or 0)))
    shown = options[:limit] if limit else options
    shown = [replace(o, commands=commands(o.estimate, o.machine, est)) for o in shown]
    return Plan(tuple(shown), len(options), min_tokens_per_s, offload_floor, offload, max_price_usd, vendor)
