"""What an engine's command line needs from an estimate. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.specs import ModelSpec, QuantRecipe


@dataclass(frozen=True, slots=True)
class RunSpec:
    model: ModelSpec
    recipe: QuantRecipe
    context_tokens: int
    placement: str  # gpu | gpu+cpu | cpu
    gpu_bytes: tuple[int, ...]  # per GPU used
    gpu_fraction: float  # share of the layers on the GPUs (layer offload)
    n_cpu_moe: int  # MoE layers whose routed experts stay in system RAM
    sequences: int
    kv_cache_type: str
    gguf_repo: str | None = None  # a Hugging Face repository known to host this GGUF file (llama.cpp -hf)
    tensor_split: bool = False  # llama.cpp -sm tensor: the GPUs split every layer's tensors
