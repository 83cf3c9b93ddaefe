"""Side-by-side machines and reverse planning. Pure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from advisor.estimate.machine import Machine, hypothetical, resolve
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
        lines.append(f"{label}: runs {on_gpu} of {len(rows)} model(s) all on GPU and {split} with GPU+CPU")
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


@dataclass(frozen=True, slots=True)
class PlanOption:
    label: str
    gpu: GpuSpec
    count: int
    memory_bytes: int  # the machine's GPU or unified memory in all
    price_usd: float | None
    estimate: Estimate




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
         min_tokens_per_s: float | None) -> list[PlanOption]:
    """Catalog hardware that runs `model` all on its GPU(s) at the target speed, cheapest first."""
    catalog = est.catalog
    recipe = catalog.recipe(quant or model.native_quant or "Q4_K_M")
    options = []
    for label, gpu, count, memory in plan_configurations(catalog):
        spec = gpu.id if gpu.kind == "discrete" else f"{gpu.id} {memory // GIB}GB"
        hw = hypothetical(None, catalog, gpu=f"{count}x {spec}", ram_bytes=None if gpu.kind == "unified"
                          else catalog.defaults.hypothetical_ram_bytes)
        e = est.estimate(model, recipe, resolve(hw, catalog), request)
        decode = e.speed.decode_tokens_per_s
        if e.placement.kind != "gpu" or (min_tokens_per_s and (decode is None or decode < min_tokens_per_s)):
            continue
        price = gpu.launch_price_usd * count if gpu.launch_price_usd else None
        options.append(PlanOption(label, gpu, count, memory * count, price, e))
    return sorted(options, key=lambda o: (o.price_usd is None, o.price_usd or 0, o.memory_bytes,
                                          -(o.estimate.speed.decode_tokens_per_s or 0)))
