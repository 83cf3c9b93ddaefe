"""Ranking by use: which published scores speak for coding, reasoning, general chat. Pure."""

from __future__ import annotations

from typing import Final

from advisor.errors import UsageError
from advisor.specs import ModelSpec, Score, UseScore

# Benchmarks in order of preference for each use; a model is ranked by the first one it has published.
USES: Final[dict[str, tuple[str, ...]]] = {
    "coding": ("swe_bench_verified", "livecodebench"),
    "reasoning": ("gpqa_diamond", "aime"),
    "general": ("mmlu_pro", "ifeval"),
    "vision": ("mmlu_pro", "ifeval"),
    "long-context": (),
}
LABELS: Final[dict[str, str]] = {
    "swe_bench_verified": "SWE-bench Verified", "livecodebench": "LiveCodeBench", "gpqa_diamond": "GPQA Diamond",
    "aime": "AIME", "mmlu_pro": "MMLU-Pro", "ifeval": "IFEval",
}


def check_use(use: str | None) -> str | None:
    if use is not None and use not in USES:
        msg = f"unknown use {use!r}; choose one of {', '.join(USES)}"
        raise UsageError(msg)
    return use


def use_score(model: ModelSpec, use: str) -> UseScore | None:
    """What `model` is ranked by for `use` (None: no published score for it)."""
    if use == "long-context":
        context = model.arch.max_context_tokens
        return None if context is None else UseScore("max_context_tokens", float(context), model.source, 0)
    by_name: dict[str, Score] = {s.benchmark: s for s in model.scores}
    for preference, benchmark in enumerate(USES[use]):
        score = by_name.get(benchmark)
        if score is not None:
            return UseScore(benchmark, score.value, score.source, preference)
    return None


def eligible(model: ModelSpec, use: str | None) -> bool:
    """Vision use lists only models that take images."""
    return use != "vision" or "image" in model.modalities


def sort_key(score: UseScore | None) -> tuple[int, float]:
    """Models with the preferred benchmark first, by value; then the fallback benchmark; unscored last."""
    if score is None:
        return (99, 0.0)
    return (score.preference, -score.value)
