"""The nouns: quantization types, models, GPUs, constants. Frozen, units in names. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Runtime = Literal["llama.cpp", "mlx", "vllm"]
DeviceKind = Literal["discrete", "unified"]


@dataclass(frozen=True, slots=True)
class QuantType:
    """A tensor storage type: `block_bytes` bytes hold `block_size` weights."""

    name: str
    block_size: int
    block_bytes: int
    source: str
    fallback: str | None = None  # used when a row length is not a multiple of block_size

    @property
    def bits_per_weight(self) -> float:
        return self.block_bytes * 8 / self.block_size

    def tensor_bytes(self, n_weights: int) -> int:
        """Bytes of a tensor of n_weights in this type (whole blocks)."""
        blocks = -(-n_weights // self.block_size)
        return blocks * self.block_bytes


@dataclass(frozen=True, slots=True)
class RecipeRule:
    """Tensors of `category` use `type`; `layers` limits the rule to some layers.

    layers: "all", "more_bits" (llama.cpp's use_more_bits rule), "middle" (n/8 <= i < 7n/8), "first_eighth",
    "first_sixteenth", or "first_N" for the first N layers.
    """

    category: str
    type: str
    layers: str = "all"


@dataclass(frozen=True, slots=True)
class QuantRecipe:
    """A file type such as Q4_K_M: a base tensor type and the rules that deviate from it."""

    name: str
    base: str
    rules: tuple[RecipeRule, ...]
    runtime: Runtime
    quality_rank: int  # higher keeps more of the original model's quality
    source: str
    recommend: bool = True
    scale_of: str | None = None  # sized as this llama.cpp file type x scale (dynamic quants with private recipes)
    scale: float = 1.0
    scale_moe: float | None = None  # the scale for a MoE model where its files differ (None: `scale` for every model)
    listed: bool = True  # shown by `estimate` without --quant (the rest are sized when named)


@dataclass(frozen=True, slots=True)
class LinearAttention:
    key_heads: int
    value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int


@dataclass(frozen=True, slots=True)
class Mamba:
    heads: int
    head_dim: int
    state_size: int
    groups: int
    conv_kernel: int


@dataclass(frozen=True, slots=True)
class Mla:
    kv_lora_rank: int
    rope_head_dim: int
    nope_head_dim: int | None = None
    v_head_dim: int | None = None
    q_lora_rank: int | None = None


@dataclass(frozen=True, slots=True)
class LoraAttention:
    """Low-rank query and output projections (DeepSeek V4): hidden -> q_rank -> heads x head_dim, and heads x
    head_dim in `o_groups` groups -> o_rank each -> hidden; one `head_dim` projection serves as K and V."""

    q_rank: int
    o_rank: int
    o_groups: int


@dataclass(frozen=True, slots=True)
class Compressed:
    """Compressed attention (DeepSeek V4): `layers` layers each keep one `entry_dim` entry (K and V in one) per
    `ratio` tokens of context, a lightning-indexer key of `index_dim` per entry where it has an indexer (decode then
    attends to the `top_k` entries the indexer picks; 0: to every entry), and the last `window` tokens' entries."""

    ratio: int
    layers: int
    entry_dim: int
    window: int = 0
    index_dim: int = 0
    top_k: int = 0


@dataclass(frozen=True, slots=True)
class Layout:
    """How many layers of each attention kind a model has."""

    full_attention_layers: int
    sliding_layers: int = 0
    sliding_window: int | None = None
    chunked_layers: int = 0
    attention_chunk: int | None = None
    linear_layers: int = 0
    linear: LinearAttention | None = None
    mamba_layers: int = 0
    mamba: Mamba | None = None
    mla: Mla | None = None
    attention_gate: bool = False  # attention output gate: the query projection is twice as wide
    global_kv_heads: int | None = None  # full-attention layers with their own KV heads (Gemma 4)
    global_head_dim: int | None = None  # ... and their own head dim
    global_shared_kv: bool = False  # ... and one projection serving as both K and V (one cache tensor)
    # the last layers reuse the cache of the last earlier layer of their kind and keep none (Gemma 3n, Gemma 4 E)
    kv_shared_full_layers: int = 0  # ... of the full-attention layers
    kv_shared_sliding_layers: int = 0  # ... of the sliding-window layers
    kv_shared_ffn: int | None = None  # the FFN width of those layers where it differs (Gemma 4 E2B: double-wide)
    per_layer_input_dim: int | None = None  # per-layer embeddings: a second table of this width per layer (PLE)
    per_layer_input_vocab: int | None = None  # ... with this many rows
    compressed: tuple[Compressed, ...] = ()  # compressed-attention layers, by ratio (DeepSeek V4)
    lora_attention: LoraAttention | None = None  # low-rank query and output projections (DeepSeek V4)

    @property
    def compressed_layers(self) -> int:
        return sum(g.layers for g in self.compressed)

    @property
    def cached_full_layers(self) -> int:
        """Full-attention layers with a KV cache of their own."""
        return self.full_attention_layers - self.kv_shared_full_layers

    @property
    def cached_windowed_layers(self) -> int:
        """Sliding-window and chunked layers with a KV cache of their own."""
        return self.sliding_layers + self.chunked_layers - self.kv_shared_sliding_layers

    @property
    def kv_shared_layers(self) -> int:
        """Layers that reuse an earlier layer's cache (the last layers of the model)."""
        return self.kv_shared_full_layers + self.kv_shared_sliding_layers


@dataclass(frozen=True, slots=True)
class Moe:
    experts: int
    experts_per_token: int
    expert_ffn: int
    moe_layers: int
    shared_experts: int = 0
    shared_ffn: int | None = None
    dense_layers: int = 0
    latent_size: int | None = None  # routed experts work in this width instead of hidden_size (LatentMoE)


@dataclass(frozen=True, slots=True)
class Arch:
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    tied_embeddings: bool
    max_context_tokens: int | None
    intermediate_size: int | None = None
    ffn_matrices: int = 3
    v_head_dim: int | None = None

    @property
    def value_head_dim(self) -> int:
        return self.v_head_dim if self.v_head_dim is not None else self.head_dim


@dataclass(frozen=True, slots=True)
class GgufFile:
    """A published GGUF file size (bytes converted from the unit the repo lists)."""

    quant: str
    size_bytes: int
    repo: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Score:
    """A published benchmark score."""

    benchmark: str
    value: float
    source: str


@dataclass(frozen=True, slots=True)
class Quality:
    """A model's answer-quality index from the one quality source (catalog/quality.yaml, docs/quality-source.md)."""

    index: str  # which index and version, e.g. aa-intelligence-index-v4.0
    value: float  # 0-100, higher is better
    source: str


@dataclass(frozen=True, slots=True)
class QuantLoss:
    """How much a file type changes a model's output: mean KL divergence against 16-bit (catalog/quality.yaml)."""

    quant: str
    imatrix: bool  # measured with an importance matrix
    kld: float
    source: str


@dataclass(frozen=True, slots=True)
class UseScore:
    """The score a model is ranked by for a use, or the model's context for long-context use."""

    benchmark: str
    value: float
    source: str | None
    preference: int  # index of the benchmark in USES[use]; lower ranks first


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    name: str
    family: str
    params_total: int
    params_active: int | None
    arch: Arch
    layout: Layout
    moe: Moe | None
    source: str
    aliases: tuple[str, ...] = ()
    vendor: str | None = None
    params_source: str | None = None
    hf_repo: str | None = None
    release: str | None = None
    license: str | None = None
    modalities: tuple[str, ...] = ("text",)
    native_quant: str | None = None
    params_derived: bool = False  # True when a count was not published and was computed from the dims
    gguf_files: tuple[GgufFile, ...] = ()
    scores: tuple[Score, ...] = ()
    note: str | None = None
    quality: Quality | None = None  # the answer-quality index the default ranking uses (catalog/quality.yaml)

    @property
    def is_moe(self) -> bool:
        return self.moe is not None


@dataclass(frozen=True, slots=True)
class GpuSpec:
    id: str
    name: str
    vendor: str
    kind: DeviceKind
    device_class: str
    memory_bytes: int
    bandwidth_gbps: float | None
    fp16_tflops: float | None
    source: str
    aliases: tuple[str, ...] = ()
    int8_tops: float | None = None  # dense INT8 tensor rate (llama.cpp's CUDA MMQ kernels run on it)
    memory_options_bytes: tuple[int, ...] = ()
    bus_width_bits: int | None = None
    memory_data_rate_gbps: float | None = None  # per pin
    compute_capability: str | None = None
    architecture: str | None = None
    launch_price_usd: float | None = None


@dataclass(frozen=True, slots=True)
class MemorySpec:
    """A system RAM configuration; peak bandwidth = bus width / 8 x transfers per second."""

    id: str
    name: str
    type: str
    mt_s: int
    bus_width_bits: int
    source: str
    aliases: tuple[str, ...] = ()

    @property
    def bandwidth_gbps(self) -> float:
        return self.bus_width_bits / 8 * self.mt_s / 1000


@dataclass(frozen=True, slots=True)
class SpeedClass:
    """Decode and prefill constants for one device class (catalog/defaults.yaml)."""

    stream_efficiency: float
    per_layer_s: float
    prefill_efficiency: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Defaults:
    """Tunable constants with provenance (catalog/defaults.yaml)."""

    gpu_margin_bytes: int
    runtime_context_bytes: dict[str, int]
    compute_buffer_base_bytes: int
    compute_buffer_bytes_per_hidden_per_ubatch_token: int
    ubatch_tokens: int
    kv_pad_tokens: int
    ram_reserve_bytes: int
    ram_reserve_fraction: float
    unified_cap_small_fraction: float
    unified_cap_large_fraction: float
    unified_cap_threshold_bytes: int
    unified_os_reserve_bytes: int  # unified memory on Linux (Jetson, DGX Spark, APUs) kept for the OS ...
    unified_os_reserve_fraction: float  # ... plus this share of it
    cpu_ram_bandwidth_gbps: float
    cpu_simd_bits: int  # assumed when the probe cannot tell (a hypothetical machine)
    hypothetical_ram_bytes: int
    moe_expert_layer_cost: float
    moe_prefill_factor: float
    moe_prefill_tile_tokens: int  # llama.cpp CUDA/HIP MoE prefill: tokens of one matmul tile (expert_batch_scale)
    vllm_gpu_memory_utilization: float  # serving (advisor.estimate.serving): vLLM's share of each GPU
    vllm_block_tokens: int  # tokens per vLLM KV page
    vllm_activation_bytes_per_hidden_per_batched_token: int
    vllm_cuda_graph_bytes: int  # per GPU
    sglang_mem_fraction_static: float  # SGLang's (weights + KV pool) share of each GPU
    sglang_page_tokens: int
    # prompt tokens one forward pass takes, by engine, then by the least GPU memory (GiB, as text) of each tier;
    # vLLM profiles its activation peak at this many tokens too
    prefill_budget_tokens: dict[str, dict[str, int]]
    prefill_budget_by_gpu: dict[str, dict[str, int]]  # by engine, then catalog GPU id: where an engine names the GPU
    prefill_graphed_tokens: dict[str, int]  # by engine: the most prompt tokens a pass replays as a CUDA graph
    allreduce_busbw_gbps: dict[str, float]  # by catalog GPU id: NCCL all-reduce bus bandwidth inside a node
    allreduce_pcie_busbw_gbps: dict[str, float]  # ... over PCIe, by PCIe generation ("4", "5")
    allreduce_pcie_generation: dict[str, int]  # by catalog GPU id: data-centre PCIe cards and their PCIe generation
    allreduce_pcie_latency_s: float  # ... and its time per small all-reduce
    allreduce_host_busbw_gbps: float  # ... staged through host memory (GeForce cards: no peer-to-peer)
    allreduce_host_latency_s: float  # ... and its time per small all-reduce
    plan_network_gbps: float  # GB/s between nodes in plan --users, unless --interconnect
    max_ttft_s: float  # serve's default --max-ttft
    speed_classes: dict[str, SpeedClass] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


Source = Literal["probe", "hypothetical"]


@dataclass(frozen=True, slots=True)
class Device:
    """A GPU or unified-memory GPU as probed (or as a hypothetical catalog card)."""

    name: str
    vendor: str
    kind: DeviceKind
    memory_total_bytes: int
    memory_free_bytes: int | None = None
    bandwidth_gbps: float | None = None  # derived from the memory bus where the probe can read it
    bandwidth_basis: str | None = None
    bus_width_bits: int | None = None
    memory_clock_mhz: int | None = None
    compute_capability: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    gpu_cores: int | None = None
    wired_limit_bytes: int | None = None  # Apple iogpu.wired_limit_mb when set
    catalog_id: str | None = None  # set for hypothetical devices
    index: int = 0


@dataclass(frozen=True, slots=True)
class Hardware:
    """What the machine has (probed) or what the user asked us to assume (hypothetical)."""

    source: Source
    devices: tuple[Device, ...]
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    cpu_name: str | None = None
    cpu_physical_cores: int | None = None
    cpu_logical_cores: int | None = None
    cpu_simd_bits: int | None = None  # the CPU's vector width: AVX-512 512 (Zen 4: 256), AVX2 256, NEON 128
    ram_limit_source: str | None = None  # "cgroup v2", "cgroup v1" when a container limit applies
    notes: tuple[str, ...] = ()
