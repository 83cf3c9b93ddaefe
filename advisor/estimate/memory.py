"""Memory needed to run a model: weights + KV cache + recurrent state + runtime overhead.

overhead per GPU = runtime context (CUDA/ROCm) + compute buffer,
compute buffer ~ base + ubatch x hidden x bytes_per_hidden_per_ubatch_token (fit to measured buffers).
Formulas and sources: docs/estimation.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.estimate.kv import KvEstimate
from advisor.estimate.weights import WeightEstimate
from advisor.specs import Defaults, ModelSpec


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes to hold a model at one context on one placement, with the breakdown."""

    weights_bytes: int
    kv_cache_bytes: int
    recurrent_state_bytes: int
    runtime_context_bytes: int
    compute_buffer_bytes: int

    @property
    def overhead_bytes(self) -> int:
        return self.runtime_context_bytes + self.compute_buffer_bytes

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.recurrent_state_bytes + self.overhead_bytes


def compute_buffer_bytes(model: ModelSpec, defaults: Defaults) -> int:
    """One device's compute buffer at the default micro-batch, with flash attention."""
    per_token = defaults.compute_buffer_bytes_per_hidden_per_ubatch_token * model.arch.hidden_size
    return defaults.compute_buffer_base_bytes + defaults.ubatch_tokens * per_token


def estimate_memory(model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, defaults: Defaults, *,
                    backend: str, devices: int) -> MemoryEstimate:
    """Memory on `devices` GPUs of `backend` ('cpu' with devices=0 for CPU only)."""
    buffers = max(1, devices)
    return MemoryEstimate(
        weights_bytes=weights.weights_bytes,
        kv_cache_bytes=kv.kv_cache_bytes,
        recurrent_state_bytes=kv.recurrent_state_bytes,
        runtime_context_bytes=defaults.runtime_context_bytes.get(backend, 0) * devices,
        compute_buffer_bytes=compute_buffer_bytes(model, defaults) * buffers,
    )
