"""Nouns of measured speed: published measurements, fitted constants, error bands, local calibration."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Measurement:
    """One published speed: a llama-bench (or MLX) figure with its source and a verbatim quote."""

    device: str  # catalog GPU id, or "cpu"
    device_count: int
    backend: str
    engine: str
    model: str
    quant: str
    test: str  # tgN (decode) or ppN (prefill)
    depth_tokens: int
    tokens_per_s: float
    source: str
    quote: str
    ngl: int | None = None
    flags: str | None = None
    cpu: str | None = None
    ram_bandwidth_gbps: float | None = None
    date: str | None = None
    cpu_threads: int | None = None  # CPU runs: threads used (llama-bench -t), or the physical cores when not stated
    cpu_simd_bits: int | None = None  # CPU runs: vector unit width (AVX-512 512, on Zen 4 256; AVX2 256; NEON 128)
    exclude: str | None = None  # why the fit leaves this row out (stated in the row, reported by validate)

    @property
    def kind(self) -> str:
        return "decode" if self.test.startswith("tg") else "prefill"

    @property
    def tokens(self) -> int:
        return int(self.test[2:])


@dataclass(frozen=True, slots=True)
class BuildStep:
    """A step in llama.cpp's speed for one backend on some GPU architectures (catalog/build_steps.yaml): runs of
    that kind dated before it measured the older kernels."""

    id: str
    backend: str
    architectures: tuple[str, ...]
    kind: str  # "decode" or "prefill"
    from_month: str  # YYYY-MM, the month it landed
    what: str
    source: str
    weights: str = "all"  # the file types it changed: "quantized" (block types), "float" (F16, BF16, F32) or "all"

    def predates(self, m: Measurement, architecture: str | None, quantized: bool) -> bool:
        """Whether this run measured the kernels before the step (a run with no date: not known, so no)."""
        touched = self.weights == "all" or (self.weights == "quantized") == quantized
        return (touched and m.backend == self.backend and m.kind == self.kind and architecture in self.architectures
                and m.date is not None and m.date[:7] < self.from_month)


@dataclass(frozen=True, slots=True)
class FittedClass:
    """Decode constants of one backend:class, fitted on measurements."""

    stream_efficiency: float
    per_layer_s: float
    rows: int
    devices: int
    period: str = ""  # the dates of the builds measured, first to last ("2025-08 to 2026-05"); "" when none stated


@dataclass(frozen=True, slots=True)
class FitSample:
    """What a fitted constant rests on: how many measurements, from how many devices, of builds dated when."""

    rows: int
    devices: int
    period: str = ""  # first to last build date ("2025-08 to 2026-05"); "" when none stated

    def describe(self) -> str:
        dated = f" (builds dated {self.period})" if self.period else ""
        runs = f"{self.rows} measurement{'s' if self.rows != 1 else ''}"
        return f"{runs} from {self.devices} device{'s' if self.devices != 1 else ''}{dated}"


@dataclass(frozen=True, slots=True)
class ExpertTiles:
    """Where llama.cpp runs each routed expert's tokens of a pass as matmul tiles (engines.TILED_EXPERT_PREFILL): the
    tokens per expert at which a tile's fixed part equals its per-token part (estimate.experts.expert_batch_scale),
    the tile's width (defaults.yaml moe_prefill_tile_tokens, copied by the fit, not fitted), and the backends."""

    tokens: float
    backends: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ErrorBand:
    """Leave-one-device-out signed relative error (predicted / measured - 1): the band that leaves out `tail` of the
    errors on each side (advisor.speed.ranges: calibrated so that held out, 80 % of runs fall inside)."""

    low: float
    high: float
    n: int
    devices: int = 1  # how many devices' held-out predictions the band is made of
    tail: float = 0.1  # the share of the errors left out on each side (0.1: the 10th to the 90th percentile)
    key: str = ""  # whose errors: a backend:family or backend:class key, a backend's keys together, or "all"

    def describe(self) -> str:
        """What the band is made of, for an estimate's basis."""
        whose = ("every device's" if self.key == "all" else f"{self.key}'s" if ":" in self.key
                 else f"the {self.key} backend's" if self.key else "the")
        low, high = (f"{100 * q:g}" for q in (self.tail, 1 - self.tail))
        return f"{whose} {self.n} held-out runs from {self.devices} devices, percentiles {low} to {high}"


@dataclass(frozen=True, slots=True)
class ServingPrefillFit:
    """The serving engines' (vLLM, SGLang) prefill, fitted on published times to first token: compute efficiency
    against the dense FP16 TFLOPS, the fixed time per layer of one forward pass run without CUDA graphs and what each
    MoE layer adds to it, and each request's time outside the forward passes (API server, tokenizer, scheduler, the
    first token's way back)."""

    efficiency: float
    per_layer_s: float
    rows: int
    devices: int
    request_s: float = 0.0
    moe_layer_s: float = 0.0  # what a MoE layer adds to a pass's fixed time (router, top-k, token sort, grouped GEMMs)
    sequence_step_s: float = 0.0  # what each running sequence past the first adds to a decode step (fitted on the
    # published throughputs: the engine's per-request work each step, its scheduler's and sampler's)
    throughput_rows: int = 0  # the published vLLM/SGLang throughputs sequence_step_s was fitted on


@dataclass(frozen=True, slots=True)
class SpeedFit:
    """catalog/speed_fit.yaml: constants fitted to catalog/measurements by scripts/fit_speed.py."""

    decode: dict[str, FittedClass]
    prefill: dict[str, float]
    moe_expert_layer_cost: float  # each routed expert per token: share of a dense layer's fixed cost (shared)
    moe_prefill_factor: float
    decode_bands: dict[str, ErrorBand]
    prefill_bands: dict[str, ErrorBand]
    rows: int
    devices: int
    moe_expert_layer_cost_by_backend: dict[str, float] = field(default_factory=dict)
    moe_prefill_factor_by_backend: dict[str, float] = field(default_factory=dict)
    # CPU decode: each thread works through at most this many GFLOPs of a token per second (matrix-vector with
    # dequantization), so a token takes at least FLOPs / (threads x this), however fast the RAM; None: no such bound
    cpu_decode_gflops_per_core: float | None = None
    serving_prefill: ServingPrefillFit | None = None  # None: the serving engines take the stand-ins' prefill
    # prefill attention over the context already there (flash-attention kernels): its efficiency over the dense
    # matmuls', per backend where it is fitted (1 elsewhere: attention at the matmul rate)
    attention_prefill_ratio_by_backend: dict[str, float] = field(default_factory=dict)
    # the backends whose MoE prefill ratio scales with the tokens each expert gets in a pass, and the tile's width;
    # None: on no backend does it depend on them
    moe_prefill_tiles: ExpertTiles | None = None
    # per backend, the median over its devices (each one vote) of the prefill efficiency each device's runs imply:
    # what a backend:class with no runs of its own takes
    prefill_pooled_by_backend: dict[str, float] = field(default_factory=dict)
    # what each prefill efficiency rests on: per backend:class, and per backend ("rocm:*") for the pooled one
    prefill_samples: dict[str, FitSample] = field(default_factory=dict)
    # per backend:kind (estimate.weights.weight_kind), the prefill matmuls' efficiency for files of that kind over
    # the block-quantized types', where that kind's runs on the backend come from 2+ devices (1 elsewhere)
    weight_prefill_ratio: dict[str, float] = field(default_factory=dict)
    # prefill: the prompt tokens whose flash attention shares one read of the context's cache (estimate.attention,
    # fitted on the runs at depth); None: no cache term, attention costs its FLOPs alone
    prefill_cache_queries: float | None = None

    def weight_prefill_ratios(self, backend: str) -> tuple[tuple[str, float], ...]:
        return tuple((key.split(":", 1)[1], r) for key, r in sorted(self.weight_prefill_ratio.items())
                     if key.split(":", 1)[0] == backend)

    def moe_expert_cost(self, backend: str) -> float:
        return self.moe_expert_layer_cost_by_backend.get(backend, self.moe_expert_layer_cost)


@dataclass(frozen=True, slots=True)
class LocalCalibration:
    """A user's own llama-bench results for one device: factors applied to our estimates for it."""

    device: str  # catalog GPU id (or the probed name)
    decode_factor: float | None
    prefill_factor: float | None
    rows: int
    source: str
