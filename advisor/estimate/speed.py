"""Decode and prefill tokens/s from bytes, bandwidth and compute. Pure.

decode: seconds/token = sum over devices of bytes_read_d / (stream_efficiency_d x bandwidth_d)
                        + layers_d x per_layer_s_d          (layer split runs devices one after another)
         a MoE model's layers cost per_layer_s x (1 + moe_expert_layer_cost x routed experts per token): each routed
         expert a token uses adds its gather, weighting and sum to every layer's fixed time.
bytes read per token  = weights except the token tables (MoE: only experts_per_token/experts of routed experts)
                        + KV of the tokens already in context (windowed layers capped) + recurrent state.
prefill: tokens/s = 1 / sum_d share_d x (work / (prefill_efficiency_d x matrix_tflops_d)
                                         + cache_bytes / (cache_queries x bandwidth_d)),
         matrix_tflops = the FP16 matmul rate the backend's kernels run at (prefill_tflops),
         a CPU's compute figure is cpu_tflops(cores, SIMD width) (vector throughput per GHz),
         (+ with tensor parallelism, a token's all-reduce bytes at the link's bandwidth),
         work = flops - expert_flops - attention_flops + expert_flops / expert_prefill_ratio_d
                + attention_flops / attention_prefill_ratio_d  (attention over the context already there runs in its own
                kernels, flash attention, at its own share of the matmul rate, fitted per backend),
         flops = 2 x active_params (less a per-layer embedding table, which is only looked up) + attention over
         the context already there; expert_flops = 2 x active
         routed-expert params (each expert sees a small share of the batch, so those matmuls run less efficiently);
         where the backend runs each expert's tokens as matmul tiles (engines.TILED_EXPERT_PREFILL), the ratio is
         scaled by how many tokens of a pass each expert gets (expert_batch_scale); cache_bytes: the K and V entries
         the token attends to, read once per cache_queries prompt tokens (estimate.attention, fitted).
See docs/estimation.md for the constants' sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from advisor.estimate.arrivals import Prefill, forward_pass_s
from advisor.estimate.attention import attention_flops, cache_read_bytes, cache_seconds
from advisor.estimate.constants import Constants, band_range
from advisor.estimate.experts import expert_batch_scale
from advisor.estimate.kv import KvEstimate
from advisor.models.params import ParamGroup, active_expert_params, matmul_params
from advisor.specs import ModelSpec
from advisor.specs.measured import ErrorBand


@dataclass(frozen=True, slots=True)
class Lane:
    """One place where part of the model runs: a GPU, or the CPU on system RAM."""

    name: str
    share: float  # share of the layers (and of the bytes read per token) run here
    bandwidth_gbps: float
    stream_efficiency: float
    per_layer_s: float
    matrix_tflops: float | None  # the dense FP16 matmul rate the engine's prefill kernels run at (prefill_tflops)
    prefill_efficiency: float | None
    layer_share: float | None = None  # share of the layers' fixed costs, when it differs from the byte share
    expert_prefill_ratio: float = 1.0  # routed-expert matmuls' prefill efficiency over the dense matmuls'
    attention_prefill_ratio: float = 1.0  # prefill attention's efficiency over the dense matmuls' (flash attention)
    calibration: float | None = None  # the user's decode factor for this lane's device (advisor calibrate), if any
    cores: int | None = None  # CPU lane: threads decoding (llama.cpp's default: the physical cores); None: unknown
    decode_gflops_per_core: float | None = None  # CPU lane: what one thread decodes at most (decode_seconds)
    prefill_per_layer_s: float = 0.0  # a prefill pass's fixed time per layer (the serving engines')
    prefill_moe_layer_s: float = 0.0  # ... and what each MoE layer adds to it
    prefill_budget_tokens: int | None = None  # prompt tokens one prefill pass takes; None: not an engine's figure
    prefill_graphed_tokens: int = 0  # a pass of at most this many tokens replays a CUDA graph (no per-layer time)
    prefill_request_s: float = 0.0  # a request's time outside the forward passes (serving engines)
    tensor_parallel: int = 1  # GPUs splitting every layer in this lane (each reads `share` of the bytes at once)
    # tokens per expert at which a tile's fixed part equals its per-token part (expert_batch_scale); None: the
    # expert ratio does not depend on them
    expert_batch_tokens: float | None = None
    transfer_s_per_token: float = 0.0  # prefill: a prompt token's all-reduce bytes between GPUs (tensor parallelism)
    # prefill: a weight kind's matmul efficiency over the block-quantized types' (estimate.weights.weight_kind)
    weight_prefill_ratios: tuple[tuple[str, float], ...] = ()
    # prefill: the prompt tokens whose attention shares one read of the context's cache (attention.cache_seconds)
    cache_queries: float | None = None


@dataclass(frozen=True, slots=True)
class SpeedBasis:
    """Everything a decode/prefill figure rests on, so a user can reproduce it."""

    method: str
    bytes_per_token: int
    weights_read_bytes: int
    kv_read_bytes: int
    depth_tokens: int
    layers: int
    lanes: tuple[Lane, ...]
    flops_per_token: int
    confidence: str
    notes: tuple[str, ...]
    constants: tuple[str, ...] = ()  # where each lane's constants come from
    expert_flops_per_token: int = 0  # the routed-expert part of flops_per_token
    attention_flops_per_token: int = 0  # the part of flops_per_token attending to the context already there
    expert_tokens_per_pass: float | None = None  # prefill: tokens of a pass each routed expert gets (MoE)
    cache_bytes_per_token: int = 0  # prefill: cache bytes the prompt's average token attends to (estimate.attention)


@dataclass(frozen=True, slots=True)
class MeasuredSpeed:
    """A published measurement of the same device, model, file type and backend (llama-bench tg128 / pp512)."""

    tokens_per_s: float
    test: str
    source: str
    quote: str
    backend: str  # the constants backend it ran on (cuda, rocm, vulkan, metal, mlx, vllm ...)
    date: str | None  # the build's or the post's year-month, where stated


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    basis: SpeedBasis | None
    decode_range_tokens_per_s: tuple[float, float] | None = None
    prefill_range_tokens_per_s: tuple[float, float] | None = None
    measured_decode: MeasuredSpeed | None = None
    measured_prefill: MeasuredSpeed | None = None
    calibrated: bool = False  # scaled by the user's own calibration (advisor calibrate)
    prompt_tokens: int | None = None  # --prompt: prefill is the rate over a prompt this long
    prefill_pass_s: float = 0.0  # the fixed time of one prefill pass (layers x the engine's per-layer time)
    prefill_budget_tokens: int | None = None  # prompt tokens one pass takes (None: one pass, whatever the prompt)
    prefill_graphed_tokens: int = 0  # a pass of at most this many tokens pays no fixed time (a CUDA graph)
    prefill_request_s: float = 0.0  # the request's own time outside the passes

    @property
    def time_to_first_token_s(self) -> float | None:
        """Seconds to read the prompt (--prompt) before the first token comes: its tokens at the prefill rate, in
        the engine's passes (advisor.estimate.arrivals, as `serve` prices one user)."""
        if not self.prompt_tokens or not self.prefill_tokens_per_s:
            return None
        budget = self.prefill_budget_tokens or self.prompt_tokens
        return Prefill(self.prefill_tokens_per_s, budget, self.prefill_pass_s, self.prefill_graphed_tokens,
                       self.prefill_request_s).alone_s(self.prompt_tokens)


def kv_read_bytes(kv: KvEstimate, depth_tokens: int) -> int:
    """Cache bytes one decode step reads with `depth_tokens` already in context."""
    # the recurrent state is read and written once per token
    return cache_read_bytes(kv, depth_tokens) + 2 * kv.recurrent_state_bytes


def core_seconds(flops_per_token: int, cores: int, gflops_per_core: float) -> float:
    """A CPU's least time for a token's FLOPs: each thread decodes at most `gflops_per_core` (SpeedFit)."""
    return flops_per_token / (cores * gflops_per_core * 1e9)


def decode_seconds(bytes_per_token: int, layers: int, lanes: tuple[Lane, ...], flops_per_token: int = 0) -> float:
    """Each lane streams its share of the bytes at its efficiency, or, on a CPU whose cores are the tighter limit
    (few threads, fast RAM), computes its share of the FLOPs at decode_gflops_per_core a thread; plus its layers'
    fixed cost."""
    total = 0.0
    for lane in lanes:
        stream = bytes_per_token / (lane.stream_efficiency * lane.bandwidth_gbps * 1e9)
        if lane.decode_gflops_per_core and lane.cores and flops_per_token:
            stream = max(stream, core_seconds(flops_per_token, lane.cores, lane.decode_gflops_per_core))
        total += stream * lane.share
        total += layers * (lane.share if lane.layer_share is None else lane.layer_share) * lane.per_layer_s
    return total


def expert_ratio(lane: Lane, expert_tokens: float | None) -> float:
    """The lane's routed-expert prefill ratio for experts that get `expert_tokens` tokens of a pass each (None: not
    known, the ratio as fitted), at most the dense matmuls' efficiency."""
    if lane.expert_batch_tokens is None or not expert_tokens:
        return lane.expert_prefill_ratio
    return min(1.0, lane.expert_prefill_ratio * expert_batch_scale(expert_tokens, lane.expert_batch_tokens))


def prefill_tokens_per_s(flops_per_token: int, lanes: tuple[Lane, ...], expert_flops_per_token: int = 0,
                         attention_flops_per_token: int = 0, expert_tokens: float | None = None,
                         weight_kind: str = "quant", cache_bytes: int = 0) -> float | None:
    """Compute-bound prefill; a MoE's routed-expert matmuls (small batches per expert: `expert_tokens` tokens of a
    pass each, where known) and the attention over the context already there (flash-attention kernels) each at
    their own share of the dense matmuls' efficiency; the matmuls of a file whose weights are of `weight_kind` at
    that kind's share where the lane has one (BF16 and F16 weights take other kernels than quantized ones); plus
    the token's share of reading the `cache_bytes` it attends to, where the lane has a cache term."""
    seconds = 0.0
    for lane in lanes:
        if not lane.matrix_tflops or not lane.prefill_efficiency:
            return None
        matmuls = (flops_per_token - expert_flops_per_token - attention_flops_per_token
                   + expert_flops_per_token / expert_ratio(lane, expert_tokens))
        work = (matmuls / next((r for kind, r in lane.weight_prefill_ratios if kind == weight_kind), 1.0)
                + attention_flops_per_token / lane.attention_prefill_ratio)
        seconds += lane.share * (work / (lane.prefill_efficiency * lane.matrix_tflops * 1e12)
                                 + cache_seconds(cache_bytes, lane.bandwidth_gbps, lane.cache_queries))
        seconds += lane.transfer_s_per_token
    return 1.0 / seconds if seconds else None


@dataclass(frozen=True, slots=True)
class Work:
    """What one token costs, from the model alone: bytes a decode step reads, layers, FLOPs of a prefill token."""

    weights_read_bytes: int
    kv_read_bytes: int
    depth_tokens: int
    layers: int
    experts_per_token: int  # routed experts a token uses in each MoE layer; 0 for a dense model
    flops_per_token: int
    expert_flops_per_token: int  # the routed-expert part of flops_per_token
    attention_flops_per_token: int = 0  # the part of flops_per_token that attends to the context already there
    expert_batch_share: float = 0.0  # the share of a pass's tokens each routed expert gets: top-k / experts
    weight_kind: str = "quant"  # the file's matmul weights (estimate.weights.weight_kind)
    head_flops_per_token: int = 0  # the output head's part of flops_per_token (a prefill ablation takes it out)
    moe_layers: int = 0  # layers with routed experts (0 for a dense model)
    cache_bytes: int = 0  # cache bytes the token's attention reads (attention.cache_read_bytes; no recurrent state)

    @property
    def moe(self) -> bool:
        return self.experts_per_token > 0

    @property
    def bytes_per_token(self) -> int:
        return self.weights_read_bytes + self.kv_read_bytes


def work_for(model: ModelSpec, weights_read_bytes: int, kv: KvEstimate, depth_tokens: int,
             groups: tuple[ParamGroup, ...], weight_kind: str = "quant", absorbed_mla: bool = False) -> Work:
    """The work of one token at `depth_tokens` of context (used by the estimate and by the fit alike; `groups`:
    models.params.param_groups(model)). A token's matmul FLOPs are 2 per parameter it multiplies by
    (models.params.matmul_params: from the config, lookups left out), plus attention over the context (in the
    engine's form of MLA: `absorbed_mla`, attention_flops)."""
    attention = attention_flops(model, depth_tokens, absorbed_mla)
    return Work(weights_read_bytes, kv_read_bytes(kv, depth_tokens), depth_tokens, model.arch.layers,
                experts_per_token(model), 2 * matmul_params(model, groups) + attention,
                2 * active_expert_params(model, groups), attention,
                model.moe.experts_per_token / model.moe.experts if model.moe else 0.0, weight_kind,
                2 * model.arch.vocab_size * model.arch.hidden_size, model.moe.moe_layers if model.moe else 0,
                cache_read_bytes(kv, depth_tokens))


def cpu_tflops(cores: int, simd_bits: int) -> float:
    """A CPU's vector throughput per GHz of clock, in TFLOPS: cores x FP32 lanes x 2 (a fused multiply-add). The CPU's
    fitted prefill efficiency carries the clock and the share its kernels reach (llama.cpp's int8 dot products
    can exceed one FP32 FMA per lane)."""
    return cores * simd_bits / 32 * 2 / 1000


def experts_per_token(model: ModelSpec) -> int:
    """Routed experts a token uses in each MoE layer (0 for a dense model)."""
    return model.moe.experts_per_token if model.moe else 0


def prefill_tflops(backend: str, fp16_tflops: float | None, int8_tops: float | None,
                   vendor: str | None = None) -> float | None:
    """The dense matmul rate a backend's prefill runs at. llama.cpp's CUDA backend multiplies quantized weights with
    INT8 tensor cores (MMQ) and F16 weights with FP16 accumulation, both at half the INT8 rate in FP16 terms; its
    Vulkan backend accumulates in FP16 too where the device supports it (its f16acc matmul pipelines), which on an
    NVIDIA GPU runs at that rate. The catalog's FP16 figure is FP32 accumulation, which GeForce parts (and GB10) run
    at half that rate and workstation and datacenter parts at the full rate. Elsewhere the FP16 figure (an AMD or
    Intel GPU's INT8 rate is twice its FP16 at most, and their FP16 figure is the matrix rate)."""
    fp16_accumulate = backend == "cuda" or (backend == "vulkan" and vendor == "nvidia")
    if fp16_accumulate and fp16_tflops and int8_tops:
        return max(fp16_tflops, int8_tops / 2)
    return fp16_tflops


def make_lane(name: str, share: float, bandwidth_gbps: float, matrix_tflops: float | None, c: Constants, *,
              experts: int, layer_share: float | None = None, prefill: bool = True,
              calibration: float | None = None, cores: int | None = None, budget_tokens: int | None = None,
              graphed_tokens: int = 0) -> Lane:
    """A lane with an engine's constants for a model whose tokens use `experts` routed experts per MoE layer (0:
    dense): each adds moe_expert_layer_cost of a dense layer's fixed cost, and a MoE's expert prefill runs at its
    ratio (`prefill` False: a lane that takes no part in prefill, the CPU's)."""
    per_layer_s = c.per_layer_s * (1 + c.moe_expert_layer_cost * experts)
    moe = bool(experts and prefill)
    return Lane(name, share, bandwidth_gbps, c.stream_efficiency, per_layer_s, matrix_tflops,
                c.prefill_efficiency if prefill else None, layer_share,
                c.expert_prefill_ratio if moe else 1.0, c.attention_prefill_ratio, calibration, cores,
                c.decode_gflops_per_core, c.prefill_per_layer_s, c.prefill_moe_layer_s, budget_tokens, graphed_tokens,
                c.prefill_request_s,
                expert_batch_tokens=c.expert_batch_tokens if moe else None,
                weight_prefill_ratios=c.weight_prefill_ratios,
                cache_queries=c.prefill_cache_queries if prefill else None)


def split_tensors(lane: Lane, gpus: int, sync_s: float, transfer_s_per_token: float = 0.0) -> Lane:
    """`gpus` copies of `lane` splitting every layer (tensor parallelism): each reads 1/gpus of the bytes and computes
    1/gpus of the FLOPs at once, every layer's fixed time is paid once, plus `sync_s` a layer for a decode step's
    all-reduces and `transfer_s_per_token` for a prompt token's (estimate.allreduce.tensor_split_s)."""
    return replace(lane, name=f"{gpus}× {lane.name}", share=1.0 / gpus, layer_share=1.0, tensor_parallel=gpus,
                   per_layer_s=lane.per_layer_s + sync_s, transfer_s_per_token=transfer_s_per_token)


def decode_tokens_per_s(work: Work, lanes: tuple[Lane, ...]) -> float:
    return 1.0 / decode_seconds(work.bytes_per_token, work.layers, lanes, work.flops_per_token)


def estimate_speed(work: Work, lanes: tuple[Lane, ...], *, offloaded: bool, used: tuple[Constants, ...] = (),
                   prompt: tuple[int, Work] | None = None, pass_tokens: int | None = None) -> SpeedEstimate:
    """Tokens/s for one placement, with the range of the lanes' constants (`used`: the widest band when several
    apply). Prefill is None where it is not modelled (GPU+CPU offload, no compute figure); with `prompt` (its
    tokens and the work of its average token) it is the rate over that prompt, read `pass_tokens` (llama.cpp's
    -ub) at a time."""
    notes: list[str] = []
    pw = prompt[1] if prompt else work
    per_pass = min(prompt[0], pass_tokens) if prompt and pass_tokens else pass_tokens
    expert_tokens = per_pass * pw.expert_batch_share if per_pass else None
    prefill = None if offloaded else prefill_tokens_per_s(pw.flops_per_token, lanes, pw.expert_flops_per_token,
                                                          pw.attention_flops_per_token, expert_tokens, pw.weight_kind,
                                                          pw.cache_bytes)
    if offloaded:
        notes.append("prefill with layers in system RAM depends on PCIe transfers; not estimated yet")
    elif prefill is None:
        notes.append("prefill not estimated: no compute figure for this device (a CPU: its core count; "
                     "--cpu-cores sets it)")
    ratios = sorted({r for lane in lanes for kind, r in lane.weight_prefill_ratios if kind == pw.weight_kind})
    if prefill is not None and ratios:
        label = "BF16/F16 weights" if pw.weight_kind == "float" else f"{pw.weight_kind} weights"
        notes.append(f"{label}: prefill matmuls at "
                     f"{' / '.join(f'{r:.2f}' for r in ratios)} x the quantized types' efficiency on this backend "
                     "(fitted: catalog/speed_fit.yaml weight_prefill_ratio)")
    decode_band, prefill_band = _widest([c.decode_band for c in used]), _widest([c.prefill_band for c in used])
    basis = SpeedBasis(method="bandwidth+fixed-cost", bytes_per_token=work.bytes_per_token,
                       weights_read_bytes=work.weights_read_bytes, kv_read_bytes=work.kv_read_bytes,
                       depth_tokens=work.depth_tokens, layers=work.layers, lanes=lanes,
                       flops_per_token=work.flops_per_token,
                       confidence=_confidence(decode_band, prefill_band if prefill is not None else None),
                       notes=tuple(notes), constants=tuple(dict.fromkeys(c.basis for c in used)),
                       expert_flops_per_token=work.expert_flops_per_token,
                       attention_flops_per_token=work.attention_flops_per_token,
                       expert_tokens_per_pass=expert_tokens if pw.expert_batch_share else None,
                       cache_bytes_per_token=pw.cache_bytes)
    decode = decode_tokens_per_s(work, lanes)
    passes = [lane for lane in lanes if lane.prefill_budget_tokens]  # a serving engine's lanes (estimate.lanes)
    return SpeedEstimate(decode, prefill, basis, band_range(decode, decode_band), band_range(prefill, prefill_band),
                         prompt_tokens=prompt[0] if prompt else None,
                         prefill_pass_s=max(forward_pass_s(work.layers, work.moe_layers, lane.prefill_per_layer_s,
                                                           lane.prefill_moe_layer_s) for lane in passes) if passes
                         else 0.0,
                         prefill_budget_tokens=min(lane.prefill_budget_tokens or 0 for lane in passes) if passes
                         else None,
                         prefill_graphed_tokens=min(lane.prefill_graphed_tokens for lane in passes) if passes else 0,
                         prefill_request_s=max(lane.prefill_request_s for lane in passes) if passes else 0.0)


def _confidence(decode: ErrorBand | None, prefill: ErrorBand | None) -> str:
    """How sure the speeds are, and what their ranges are made of (constants.SpeedTable picks each band; `prefill`:
    None where no prefill is estimated)."""
    if decode is None:
        return "estimated: starting constants, not yet validated against measurements"
    text = f"fitted to published measurements; decode range from the leave-one-device-out errors of " \
        f"{decode.describe()}"
    return f"{text}; prefill range from those of {prefill.describe()}" if prefill else text


def _widest(bands: Iterable[ErrorBand | None]) -> ErrorBand | None:
    """The widest band (the first of equals); None when none is known."""
    best: ErrorBand | None = None
    for b in bands:
        if b and (best is None or b.high - b.low > best.high - best.low):
            best = b
    return best
