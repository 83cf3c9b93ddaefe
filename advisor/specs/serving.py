"""Published serving benchmarks: throughput of several sequences decoding together (catalog/serving/). Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServingMeasurement:
    """One published run of `batch` sequences of `prompt_tokens` + `output_tokens` decoding together.

    llama-batched-bench: S_TG is the aggregate decode tokens/s of the batch and T_PP the seconds to prefill all of
    its prompts (the last sequence's time to first token). vLLM / SGLang serving benchmarks: the output token
    throughput at a maximum concurrency of `batch` (each user's next request starts when its last one ends)."""

    engine: str  # llama.cpp | vllm | sglang
    device: str  # catalog GPU id
    model: str  # catalog model id
    quant: str  # file type (recipe name)
    prompt_tokens: int
    output_tokens: int
    batch: int
    aggregate_decode_tokens_per_s: float | None  # None: a run published for its time to first token alone
    prefill_seconds: float | None  # all prompts of the batch, None where not published
    source: str
    quote: str
    gpus: int = 1  # tensor-parallel GPUs of the device, in one node
    measure: str = "decode"  # decode: the batch's decode rate alone (llama-batched-bench S_TG, one batch);
    # closed-loop: output tokens over a whole run of `batch` users, each sending its next prompt when a reply ends
    mean_ttft_ms: float | None = None  # a serving benchmark's mean time to first token, where published
    median_ttft_ms: float | None = None  # and its median, where the source prints it too
    lengths: str = "fixed"  # fixed: every prompt and reply the same length (users stay together); varied: drawn
    # per request (users spread out after the first round)
    requests: int | None = None  # prompts the benchmark sent in all (None: not published)
    expert_parallel: int = 1  # MoE: groups holding whole experts (--ep-size / --enable-expert-parallel); 1: sliced
    engine_version: str | None = None
    note: str | None = None  # what else the source says that a reader needs (dataset, flags, derived values)

    @property
    def scored_ttft(self) -> tuple[float, str] | None:
        """The published time to first token a prediction is scored on, in ms, and its statistic: the median where
        printed (a short run's mean carries its one-off stalls: a first request's kernel compilation, the burst of
        the first round), else the mean; None where neither is published."""
        if self.median_ttft_ms:
            return self.median_ttft_ms, "median"
        return (self.mean_ttft_ms, "mean") if self.mean_ttft_ms else None
