"""Published serving benchmarks: throughput of several sequences decoding together (catalog/serving/). Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServingMeasurement:
    """One published run of `batch` sequences of `prompt_tokens` + `output_tokens` decoding together.

    llama-batched-bench: S_TG is the aggregate decode tokens/s of the batch and T_PP the seconds to prefill all of
    its prompts (the last sequence's time to first token)."""

    engine: str  # llama.cpp | vllm | sglang
    device: str  # catalog GPU id
    model: str  # catalog model id
    quant: str  # file type (recipe name)
    prompt_tokens: int
    output_tokens: int
    batch: int
    aggregate_decode_tokens_per_s: float
    prefill_seconds: float | None  # all prompts of the batch, None where not published
    source: str
    quote: str
