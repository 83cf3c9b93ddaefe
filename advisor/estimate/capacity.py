"""Serving capacity: how many sequences each engine holds at once, and where the model runs. Pure.

vLLM:      pool = utilization x GPU memory - weights/GPU - activation peak - CUDA graphs - runtime context;
           pages of `block` tokens; sequences = pool // (pages one sequence of C tokens holds).
SGLang:    pool = mem_fraction_static x GPU memory - weights/GPU, one-token pages.
llama.cpp: llama-server --parallel N slots share -c N x C: N = the longest all-GPU context // C.
The weights and KV per token come from the Estimator; see docs/serving.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.estimate.kv import KvEstimate, pad
from advisor.specs import Defaults, ModelSpec
from advisor.specs.sizes import WeightEstimate


@dataclass(frozen=True, slots=True)
class Topology:
    """Where the model runs: GPUs per node split by tensor parallelism, nodes by pipeline parallelism."""

    gpus_per_node: int = 1
    nodes: int = 1
    link_gbps: float | None = None  # all-reduce bandwidth per GPU inside a node (GB/s), None: not known
    link_latency_s: float = 0.0  # one all-reduce's fixed latency
    network_gbps: float | None = None  # between nodes (GB/s)
    network_latency_s: float = 0.0
    expert_parallel: int = 1  # MoE: groups of the node's GPUs holding whole experts (1: experts sliced, as TP)

    @property
    def tensor_parallel(self) -> int:
        return self.gpus_per_node

    @property
    def pipeline_parallel(self) -> int:
        return self.nodes

    @property
    def gpus(self) -> int:
        return self.gpus_per_node * self.nodes


@dataclass(frozen=True, slots=True)
class Capacity:
    """How many sequences of `context_tokens` fit at once, with each byte of the budget per GPU."""

    engine: str
    context_tokens: int
    budget_bytes: int  # per GPU: what the engine may use
    weights_bytes: int  # per GPU
    activation_bytes: int  # per GPU
    cuda_graph_bytes: int
    runtime_bytes: int
    kv_pool_bytes: int  # per GPU
    kv_bytes_per_token: int  # per GPU, every layer kind at full length
    page_tokens: int
    pages: int  # per GPU
    sequence_bytes: int  # one sequence of context_tokens, per GPU
    max_concurrent_sequences: int
    basis: str


def vllm_capacity(model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, gpu_memory_bytes: int, d: Defaults,
                  topo: Topology, runtime_bytes: int, batched_tokens: int) -> Capacity:
    """vLLM's KV pages per GPU after weights, the activation peak it profiles at `batched_tokens` (its prefill
    budget) and CUDA graphs (docs/serving.md)."""
    budget = int(gpu_memory_bytes * d.vllm_gpu_memory_utilization)
    activation = batched_tokens * model.arch.hidden_size * d.vllm_activation_bytes_per_hidden_per_batched_token
    return _paged("vllm", model, weights, kv, budget, activation, d.vllm_cuda_graph_bytes, runtime_bytes,
                  d.vllm_block_tokens, topo, f"gpu_memory_utilization {d.vllm_gpu_memory_utilization:g}")


def sglang_capacity(model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, gpu_memory_bytes: int, d: Defaults,
                    topo: Topology) -> Capacity:
    """SGLang's token pool: mem_fraction_static x memory holds the weights and the pool; the rest is its reserve."""
    budget = int(gpu_memory_bytes * d.sglang_mem_fraction_static)
    return _paged("sglang", model, weights, kv, budget, 0, 0, 0, d.sglang_page_tokens, topo,
                  f"mem_fraction_static {d.sglang_mem_fraction_static:g}")


def _paged(engine: str, model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, budget: int, activation: int,
           graphs: int, runtime: int, page: int, topo: Topology, basis: str) -> Capacity:
    per_gpu = kv_share(model, topo)
    w = weights.weights_bytes // topo.gpus
    pool = max(0, budget - w - activation - graphs - runtime)
    full = int(kv.growth_bytes_per_token * per_gpu)
    windowed = int(kv.windowed_bytes_per_token * per_gpu)
    c = kv.context_tokens
    seq = pad(c, page) * full + pad(min(c, kv.window_tokens or 0), page) * windowed \
        + int(kv.recurrent_state_bytes * per_gpu)
    per_token = full + windowed
    pages = pool // (page * per_token) if per_token else 0
    return Capacity(engine, c, budget, w, activation, graphs, runtime, pool, per_token, page, pages, seq,
                    pool // seq if seq else 0, basis)


def kv_share(model: ModelSpec, topo: Topology) -> float:
    """The share of a token's KV one GPU keeps: its pipeline stage's layers, and its tensor-parallel share of the KV
    heads (a head is never split: with fewer heads than GPUs each GPU keeps one; MLA's latent is kept whole)."""
    heads = model.arch.kv_heads
    tp = topo.tensor_parallel
    share = 1.0 if model.layout.mla is not None or heads <= 0 else -(-heads // tp) / heads
    return share / topo.pipeline_parallel


def slots_capacity(kv: KvEstimate, max_gpu_context: int | None, weights_bytes: int, budget_bytes: int) -> Capacity:
    """llama-server: --parallel N slots share one cache of -c N x C tokens (`kv`: one slot's); N is the longest
    all-GPU context // C. A slot is a page of C tokens."""
    c = kv.context_tokens
    slots = (max_gpu_context or 0) // c
    return Capacity("llama.cpp", c, budget_bytes, weights_bytes, 0, 0, 0, max(0, budget_bytes - weights_bytes),
                    kv.growth_bytes_per_token + kv.windowed_bytes_per_token, c, slots, kv.total_bytes, slots,
                    f"llama-server -c {slots * c} --parallel {slots}")
