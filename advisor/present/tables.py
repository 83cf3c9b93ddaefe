"""Table cells for people (GiB, rates, placements), built from the same result objects as the JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.estimate.speed import Lane, core_seconds, decode_seconds
from advisor.plan.uses import LABELS
from advisor.units import GIB

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.plan.recommend import Estimate
    from advisor.specs import UseScore

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




def hardware_rows(machine: Machine) -> tuple[list[str], list[list[str]]]:
    headers = ["GPU", "Memory GiB", "Usable GiB", "Bandwidth GB/s", "FP16 TFLOPS", "Catalog"]
    rows = [[dev.device.name, gib(dev.device.memory_total_bytes), gib(dev.memory_usable_bytes),
             rate(dev.bandwidth_gbps), rate(dev.fp16_tflops), dev.spec.id if dev.spec else "not found"]
            for dev in machine.devices]
    return headers, rows








ESTIMATE_LEFT = frozenset({"Model", "Quant", "Runs on", "Ranked by", "Basis"})
# the order columns go on a narrow terminal, after the model names have shortened (docs/cli.md)
ESTIMATE_DROP = ("Basis", "Range", "KV GiB", "Prefill", "Params", "Max ctx")
# CSV headers carry the units the table's legend gives
ESTIMATE_CSV = {"Memory GiB": "Memory GiB", "GiB": "Memory GiB", "Decode": "Decode t/s", "Prefill": "Prefill t/s",
                "Range": "Decode range t/s", "Max ctx": "Max ctx tokens"}


def estimate_rows(estimates: list[Estimate], *, show_model: bool, show_score: bool = False,
                  explain: bool = False) -> tuple[list[str], list[list[str]]]:
    """Columns: model (recommend), quantization, placement, memory, speeds; a score or the basis on request."""
    memory = "GiB" if explain else "Memory GiB"
    headers = (["Model"] + ([] if explain else ["Params"]) if show_model else []) + ["Quant", "Runs on", memory]
    headers += [] if show_score or explain else ["KV GiB"]
    headers += [] if show_model else ["Max ctx"]
    headers += ["Decode", "Range", "Prefill", "Basis"] if explain else ["Decode", "Prefill"]
    headers += ["Ranked by"] if show_score else []
    return headers, [_row(e, show_model=show_model, show_score=show_score, explain=explain) for e in estimates]




def span(value: tuple[float, float] | None) -> str:
    return "—" if value is None else f"{rate(value[0])}–{rate(value[1])}"


def basis_label(e: Estimate) -> str:
    """Bytes read per token, then every lane (each GPU, the CPU): its share, bandwidth x stream efficiency, fixed
    cost per layer, and the user's calibration factor for it (cal -: none)."""
    b = e.speed.basis
    if b is None or not b.lanes:
        return "—"
    parts = []
    for lane in b.lanes:
        name = lane.name.removeprefix("NVIDIA ").removeprefix("GeForce ").removesuffix(" (system RAM)")
        cal = "cal —" if lane.calibration is None else f"cal ×{lane.calibration:.2f}"
        tp = lane.tensor_parallel
        share = f"tensor parallel, 1/{tp} each" if tp > 1 else f"{lane.share:.0%}"
        reduce = f", all-reduce {lane.transfer_s_per_token * 1e6:.0f}µs/prompt token" \
            if lane.transfer_s_per_token else ""
        parts.append(f"{name} {share}: {lane.bandwidth_gbps:.0f}GB/s×{lane.stream_efficiency:.2f}"
                     f"{_cores_bound(lane, b.bytes_per_token, b.flops_per_token)}"
                     f"+{lane.per_layer_s * 1e6:.0f}µs/layer{reduce}, {cal}")
    return f"{b.bytes_per_token / 1e9:.2f}GB × {b.layers} layers; " + "; ".join(parts)


def _cores_bound(lane: Lane, bytes_per_token: int, flops_per_token: int) -> str:
    """A CPU lane's core bound, where its threads rather than its RAM set the pace (speed.decode_seconds)."""
    rate, cores = lane.decode_gflops_per_core, lane.cores
    if not rate or not cores:
        return ""
    stream = bytes_per_token / (lane.stream_efficiency * lane.bandwidth_gbps * 1e9)
    bound = core_seconds(flops_per_token, cores, rate) > stream
    return f" (bound by {cores} cores×{rate:.0f}GFLOP/s)" if bound else ""


CALIBRATED_MARK = "*"
CALIBRATED_LEGEND = "* calibrated locally: speed scaled by your own llama-bench runs (advisor calibrate)."


INSTALLED_MARK = " ✓"
INSTALLED_LEGEND = ("✓ installed: the file on this machine, estimated at its own file type and size; its command runs "
                    "that file.")


def is_installed(e: Estimate) -> bool:
    """Whether the estimate is of a file on this machine (advisor.local, or `estimate file.gguf`)."""
    return e.model.source.startswith("file://")


CPU_MARK = "~"
CPU_BOUND_SHARE = 0.5  # a row is marked when the CPU lane takes more than this share of the decode time
CPU_LEGEND = ("~ low confidence: most of the decode time is on the CPU (system RAM), the least certain part of the "
              "speed model; advisor hardware --measure-ram and advisor calibrate make it yours.")


def cpu_time_share(e: Estimate) -> float | None:
    """The share of one decode step spent on the CPU lane, by the speed model's own decode_seconds (None: no
    basis). The speed model is least certain there: RAM bandwidth and cores vary most between machines."""
    b = e.speed.basis
    if b is None or not b.lanes:
        return None
    cpu = tuple(lane for lane in b.lanes if lane.name == "CPU (system RAM)")
    if not cpu:
        return 0.0
    total = decode_seconds(b.bytes_per_token, b.layers, b.lanes, b.flops_per_token)
    return decode_seconds(b.bytes_per_token, b.layers, cpu, b.flops_per_token) / total if total > 0 else 0.0


def cpu_bound(e: Estimate) -> bool:
    return (cpu_time_share(e) or 0.0) > CPU_BOUND_SHARE


def decode_cell(e: Estimate) -> str:
    """The decode figure, marked when the user's calibration scaled it and when the CPU lane dominates it."""
    text = rate(e.speed.decode_tokens_per_s)
    if e.speed.decode_tokens_per_s is None:
        return text
    return text + (CALIBRATED_MARK if e.speed.calibrated else "") + (CPU_MARK if cpu_bound(e) else "")


def _row(e: Estimate, *, show_model: bool, show_score: bool, explain: bool) -> list[str]:
    row = ([e.model.name] + ([] if explain else [_params_cell(e)])) if show_model else []
    row += [e.recipe.name + (INSTALLED_MARK if show_model and is_installed(e) else ""), _placement_cell(e),
            gib(e.memory.total_bytes)]
    if not show_score and not explain:
        row.append(gib(e.memory.kv_cache_bytes + e.memory.recurrent_state_bytes))
    if not show_model:
        row.append(f"{e.max_gpu_context_tokens:,}" if e.max_gpu_context_tokens else "—")
    if explain:
        row += [decode_cell(e), span(e.speed.decode_range_tokens_per_s),
                rate(e.speed.prefill_tokens_per_s), basis_label(e)]
    else:
        row += [decode_cell(e), rate(e.speed.prefill_tokens_per_s)]
    if show_score:
        row.append(score_label(e.use_score))
    return row


def _params_cell(e: Estimate) -> str:
    if e.model.params_active:
        return f"{params(e.model.params_total)}/{params(e.model.params_active)}"
    return params(e.model.params_total)


def _placement_cell(e: Estimate) -> str:
    label = _PLACEMENT[e.placement.kind]
    if e.placement.n_cpu_moe:
        return f"GPU+CPU moe {e.placement.n_cpu_moe}"
    if e.placement.tensor_split:
        return "GPU tensor"
    if e.placement.kind == "gpu+cpu":
        return f"{label} {e.placement.gpu_fraction:.0%}"
    return label


def score_label(score: UseScore | None) -> str:
    if score is None:
        return "—"
    if score.benchmark == "max_context_tokens":
        return f"{score.value:,.0f} tokens"
    return f"{LABELS.get(score.benchmark, score.benchmark)} {score.value:g}"
