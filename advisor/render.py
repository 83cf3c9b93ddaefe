"""Rich tables for people, built from the same result objects as the JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.units import GIB

if TYPE_CHECKING:
    from rich.console import Console

    from advisor.machine import Machine
    from advisor.recommend import Estimate

_PLACEMENT = {"gpu": "GPU", "gpu+cpu": "GPU+CPU", "cpu": "CPU", "none": "does not fit"}


def gib(value: int | None) -> str:
    return "?" if value is None else f"{value / GIB:.1f}"


def rate(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def params(value: int) -> str:
    billions = value / 1e9
    return f"{billions:.0f}B" if billions >= 10 else f"{billions:.1f}B"


def summary(machine: Machine) -> str:
    """One line: the hardware every number below assumes."""
    groups: dict[str, list[str]] = {}
    for dev in machine.devices:
        name = dev.device.name.removeprefix("NVIDIA ").removeprefix("GeForce ")
        bw = f", {dev.bandwidth_gbps:,.0f} GB/s" if dev.bandwidth_gbps else ""
        label = f"{name} ({gib(dev.device.memory_total_bytes)} GiB, {gib(dev.memory_usable_bytes)} usable{bw})"
        groups.setdefault(label, []).append(label)
    gpus = " + ".join(f"{len(v)}× {k}" if len(v) > 1 else k for k, v in groups.items()) or "no GPU"
    ram = machine.hardware.ram_total_bytes
    ram_text = f"RAM {gib(ram)} GiB ({gib(machine.ram_usable_bytes)} usable)" if ram else "RAM unknown"
    return f"{machine.hardware.source.capitalize()}: {gpus} · {ram_text}"


def render_notes(console: Console, notes: tuple[str, ...] | list[str]) -> None:
    for note in dict.fromkeys(notes):
        console.print(f"[dim]note: {note}[/dim]", highlight=False)


def render_hardware(console: Console, machine: Machine) -> None:
    from rich.table import Table

    console.print(summary(machine), highlight=False)
    table = Table(box=None, pad_edge=False)
    for column in ("GPU", "Memory GiB", "Usable GiB", "Bandwidth GB/s", "FP16 TFLOPS", "Catalog"):
        table.add_column(column, justify="left" if column in ("GPU", "Catalog") else "right")
    for dev in machine.devices:
        table.add_row(dev.device.name, gib(dev.device.memory_total_bytes), gib(dev.memory_usable_bytes),
                      rate(dev.bandwidth_gbps), rate(dev.fp16_tflops), dev.spec.id if dev.spec else "not found")
    if machine.devices:
        console.print(table)
    hw = machine.hardware
    console.print(f"CPU: {hw.cpu_name or 'unknown'} · {hw.cpu_physical_cores or '?'} cores "
                  f"({hw.cpu_logical_cores or '?'} threads) · RAM bandwidth {machine.ram_bandwidth_gbps:g} GB/s "
                  f"({machine.ram_bandwidth_basis})", highlight=False)
    render_notes(console, machine.notes)


def render_estimates(console: Console, machine: Machine, estimates: list[Estimate], *, title: str,
                     show_model: bool, show_score: bool = False) -> None:
    from rich.table import Table

    console.print(summary(machine), highlight=False)
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    if show_model:
        table.add_column("Model", max_width=30 if show_score else 34, no_wrap=True, overflow="ellipsis")
        table.add_column("Params", justify="right", no_wrap=True)
    columns = ["Quant", "Runs on", "Memory GiB", "Decode", "Prefill"]
    if not show_score:
        columns.insert(3, "KV GiB")
    for column in columns:
        table.add_column(column, justify="left" if column in ("Quant", "Runs on") else "right", no_wrap=True)
    if show_score:
        table.add_column("Ranked by", no_wrap=True, max_width=26, overflow="ellipsis")
    for e in estimates:
        table.add_row(*_row(e, show_model=show_model, show_score=show_score))
    console.print(table)
    console.print("[dim]Memory: weights + KV cache + runtime buffers. Decode and prefill in tokens/s, "
                  "llama.cpp at batch 1, estimated (basis in --json).[/dim]", highlight=False)
    render_notes(console, machine.notes)


def _row(e: Estimate, *, show_model: bool, show_score: bool) -> list[str]:
    row = [e.model.name, _params_cell(e)] if show_model else []
    row += [e.recipe.name, _placement_cell(e), gib(e.memory.total_bytes)]
    if not show_score:
        row.append(gib(e.memory.kv_cache_bytes + e.memory.recurrent_state_bytes))
    row += [rate(e.speed.decode_tokens_per_s), rate(e.speed.prefill_tokens_per_s)]
    if show_score:
        from advisor.render_catalog import score_label

        row.append(score_label(e.use_score))
    return row


def _params_cell(e: Estimate) -> str:
    if e.model.params_active:
        return f"{params(e.model.params_total)}/{params(e.model.params_active)}"
    return params(e.model.params_total)


def _placement_cell(e: Estimate) -> str:
    label = _PLACEMENT[e.placement.kind]
    if e.placement.kind == "gpu+cpu":
        return f"{label} {e.placement.gpu_fraction:.0%}"
    return label
