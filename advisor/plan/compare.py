"""Side-by-side machines and reverse planning. Pure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from advisor.errors import UsageError
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.plan.choice import MIN_USABLE_TOKENS_PER_S, best_estimate
from advisor.plan.commands import commands
from advisor.plan.recommend import (
    INTERACTIVE_TOKENS_PER_S,
    Estimate,
    Estimator,
    Request,
    check_order,
    usefulness,
    usefulness_head,
    usefulness_key,
)
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
    total: int = 0  # models compared (the summary counts them all), before --limit
    sort: str = "quality"


def runs_well(e: Estimate, min_tokens_per_s: float = INTERACTIVE_TOKENS_PER_S) -> bool:
    decode = e.speed.decode_tokens_per_s
    return e.placement.kind == "gpu" and decode is not None and decode >= min_tokens_per_s


def runs(e: Estimate) -> bool:
    """Placed on the GPU, or on the GPU and the CPU, with a decode speed."""
    return e.placement.kind in ("gpu", "gpu+cpu") and e.speed.decode_tokens_per_s is not None


def compare(labels: tuple[str, ...], machines: tuple[Machine, ...], est: Estimator, request: Request,
            models: tuple[ModelSpec, ...], *, ram_assumed: tuple[bool, ...] = (),
            min_tokens_per_s: float | None = None, sort: str = "quality", quant: str | None = None,
            limit: int | None = None) -> Comparison:
    """Each model's best option on each machine (at `quant` where the model can use it), in `sort` order
    (order_rows), the first `limit` of them (None: all); and what each machine adds over the others, over all."""
    floor = min_tokens_per_s or INTERACTIVE_TOKENS_PER_S
    check_order(sort, min_tokens_per_s or MIN_USABLE_TOKENS_PER_S)
    if quant is not None:
        quant = est.catalog.recipe(quant).name  # an unknown name stops here, with close matches
    rows = tuple((m, tuple(best_estimate(m, machine, est, request, quant) for machine in machines)) for m in models)
    ordered = order_rows(rows, est, request, min_tokens_per_s or MIN_USABLE_TOKENS_PER_S, sort)
    return Comparison(labels, machines, ordered[:limit] if limit else ordered, _summary(labels, rows, floor),
                      ram_assumed or (False,) * len(machines), floor, len(rows), sort)


def order_rows(rows: tuple[tuple[ModelSpec, tuple[Estimate, ...]], ...], est: Estimator, request: Request,
               usable_tps: float, sort: str) -> tuple[tuple[ModelSpec, tuple[Estimate, ...]], ...]:
    """compare's order: quality (the default) ranks each model by its best machine under recommend's usefulness
    rule (usable on some machine first, then by quality and speed; docs/ranking.md); speed: the fastest decode on
    any machine first; memory: the least memory any machine needs for it first (those that fit nowhere last); name."""
    def best_key(es: tuple[Estimate, ...]) -> tuple[object, ...]:
        fits = [e for e in es if e.placement.kind != "none"] or es  # a cell that fits nowhere ranks last anyway
        found = [(usefulness(e, est, request, usable_tps), e) for e in fits]
        heads = [usefulness_head(e, u) for u, e in found]
        least = min(heads)  # the full key (rank_key last) only where the head ties the best one's
        return min(usefulness_key(e, u, est) for (u, e), head in zip(found, heads, strict=True) if head == least)

    if sort == "speed":
        return tuple(sorted(rows, key=lambda r: -max((e.speed.decode_tokens_per_s or -1.0) for e in r[1])))
    if sort == "memory":
        return tuple(sorted(rows, key=lambda r: min((e.memory.total_bytes if e.placement.kind != "none"
                                                      else 2**63) for e in r[1])))
    if sort == "name":
        return tuple(sorted(rows, key=lambda r: r[0].name.lower()))
    return tuple(sorted(rows, key=lambda r: best_key(r[1])))


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


PLAN_SORTS = ("quality", "price", "speed", "memory", "name")
LADDER_STEP = 1.1  # each next configuration of plan's price ladder decodes at least this much faster (docs/ranking.md)
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
    sort: str = "quality"


def order_options(options: list[PlanOption], sort: str = "quality") -> list[PlanOption]:
    """plan's order (docs/ranking.md). quality (the default; one model at one file type, so the answer's quality is
    the same on every row and the order is value for money): the price ladder first, cheapest first, each next
    configuration decoding at least LADDER_STEP times as fast as the one above it; then the other priced ones,
    cheapest first; then those without a launch price, fastest first; then those below the usable floor
    (MIN_USABLE_TOKENS_PER_S, as recommend), fastest first. price: cheapest first; speed: fastest first;
    memory: least GPU memory first; name. Rows without a speed go last."""
    def decode(o: PlanOption) -> float:
        return o.estimate.speed.decode_tokens_per_s or 0.0

    def cheapest(o: PlanOption) -> tuple[object, ...]:
        return (o.price_usd is None, o.price_usd or 0.0, o.memory_bytes, -decode(o))

    timed = [o for o in options if o.estimate.speed.decode_tokens_per_s is not None]
    untimed = [o for o in options if o.estimate.speed.decode_tokens_per_s is None]
    if sort == "price":
        return sorted(timed, key=cheapest) + untimed
    if sort == "speed":
        return sorted(timed, key=lambda o: (-decode(o), *cheapest(o))) + untimed
    if sort == "memory":
        return sorted(timed, key=lambda o: (o.memory_bytes, *cheapest(o))) + untimed
    if sort == "name":
        return sorted(options, key=lambda o: o.label.lower())
    slow = sorted((o for o in timed if decode(o) < MIN_USABLE_TOKENS_PER_S), key=lambda o: -decode(o))
    timed = [o for o in timed if decode(o) >= MIN_USABLE_TOKENS_PER_S]
    ladder: list[PlanOption] = []
    for o in sorted((o for o in timed if o.price_usd), key=cheapest):
        if not ladder or decode(o) >= decode(ladder[-1]) * LADDER_STEP:
            ladder.append(o)
    on_ladder = {id(o) for o in ladder}
    rest = [o for o in timed if id(o) not in on_ladder]
    return (ladder + sorted((o for o in rest if o.price_usd), key=cheapest)
            + sorted((o for o in rest if not o.price_usd), key=lambda o: (-decode(o), o.memory_bytes)) + slow + untimed)


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
         limit: int = 10, sort: str = "quality") -> Plan:
    """Catalog hardware that runs `model` all on its GPU(s), or on one discrete GPU and the catalog's hypothetical
    system RAM (placement gpu+cpu, MoE experts in RAM) at the speed floor, in `sort` order (order_options); `limit`
    0 keeps all. The options shown carry each engine's command."""
    if sort not in PLAN_SORTS:
        msg = f"--sort must be one of {', '.join(PLAN_SORTS)}, got {sort!r}"
        raise UsageError(msg)
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
    options = order_options(options, sort)
    shown = options[:limit] if limit else options
    shown = [replace(o, commands=commands(o.estimate, o.machine, est)) for o in shown]
    return Plan(tuple(shown), len(options), min_tokens_per_s, offload_floor, offload, max_price_usd, vendor, sort)
