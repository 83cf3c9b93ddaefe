"""Each model's best option on a machine (advisor.plan.choice picks its file type, engine and placement), ranked by
usefulness. Pure.

Ranking is described in docs/ranking.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from advisor.errors import UsageError
from advisor.estimate.estimator import INTERACTIVE_TOKENS_PER_S, Estimate, Estimator, Request
from advisor.estimate.machine import Machine
from advisor.plan.choice import MIN_USABLE_TOKENS_PER_S, best_estimate
from advisor.plan.uses import eligible
from advisor.plan.uses import sort_key as score_sort_key
from advisor.specs import ModelSpec, QuantRecipe

__all__ = ["INTERACTIVE_TOKENS_PER_S", "SORTS", "Estimate", "Estimator", "Request", "Usefulness", "check_order",
           "quant_kld", "rank", "recommend", "usefulness"]
_PLACEMENT_ORDER = {"gpu": 0, "gpu+cpu": 1, "cpu": 2, "none": 3}
SPEED_WEIGHT = 0.1  # each tenfold of decode speed above the floor adds this fraction of the quality (docs/ranking.md)
SORTS = ("quality", "speed", "memory", "name")


@dataclass(frozen=True, slots=True)
class Usefulness:
    """How useful one estimate is (docs/ranking.md): whether it is usable, and its quality and score."""

    usable: bool
    why_not_usable: str | None
    capped: bool  # sized at a shorter context than asked (the model's maximum)
    quant_kld: float | None  # the file type's mean KL divergence against 16-bit (0 for the model's own format)
    adjusted: float | None  # the quality index less the quant's loss: index x exp(-KLD)
    score: float | None  # adjusted x (1 + SPEED_WEIGHT x log10(decode / floor))


def capability_size(model: ModelSpec) -> float:
    """A rough size for ranking: total parameters for a dense model; for a MoE, the geometric mean of total and
    active parameters (a common rule of thumb for the dense size a MoE performs like). Not a quality score."""
    if model.params_active and model.is_moe:
        return math.sqrt(model.params_total * model.params_active)
    return float(model.params_total)


def quant_bucket(e: Estimate, est: Estimator) -> int:
    """0: Q4_K_M-class or better (or the model's own format); 1: 3-bit; 2: 2-bit."""
    if e.model.native_quant or e.recipe.quality_rank >= est.catalog.recipe("Q4_K_M").quality_rank - 5:
        return 0
    return 1 if e.recipe.quality_rank >= est.catalog.recipe("Q3_K_M").quality_rank else 2


def rank_key(e: Estimate, est: Estimator) -> tuple[int, int, int, tuple[int, float], float, str]:
    """Placement; comfortable speed; 4-bit or better before 3- and 2-bit; the use's score (with --use); then the
    larger model (capability_size), and the newer one."""
    decode = e.speed.decode_tokens_per_s
    slow = 0 if decode is not None and decode >= INTERACTIVE_TOKENS_PER_S else 1
    newer = est.memo(e.model, ("newer",), lambda: "".join(chr(0x10FFFF - ord(c)) for c in (e.model.release or "")))
    return (_PLACEMENT_ORDER[e.placement.kind], slow, quant_bucket(e, est), score_sort_key(e.use_score),
            -capability_size(e.model), newer)


def quant_kld(recipe: QuantRecipe, model: ModelSpec, est: Estimator) -> float:
    """The file type's mean KL divergence against 16-bit from llama.cpp's table (catalog/quality.yaml): its own row
    (measured without an importance matrix when both exist), else the row of the type it scales (`scale_of`), else
    that of the listed measured type nearest in the catalog's quality_rank (the lossier one on a tie). 0 for the
    format the model is published in (the quality index measured that)."""
    if model.native_quant is not None and est.catalog.recipe(model.native_quant) is recipe:
        return 0.0
    return est.shared(("kld", recipe.name), lambda: _kld(recipe, est))


def _kld(recipe: QuantRecipe, est: Estimator) -> float:
    rows: dict[str, float] = {}
    for row in sorted(est.catalog.quant_loss, key=lambda r: not r.imatrix):  # plain rows last: they win
        rows[row.quant] = row.kld
    for name in (recipe.name, recipe.scale_of):
        if name in rows:
            return rows[name]
    measured = [r for r in est.catalog.recipes.values() if r.name in rows and r.listed]  # stand-ins: common types
    if not measured:
        return 0.0
    near = min(measured, key=lambda r: (abs(r.quality_rank - recipe.quality_rank), r.quality_rank))
    return rows[near.name]


def usefulness(e: Estimate, est: Estimator, request: Request,
               min_tps: float = MIN_USABLE_TOKENS_PER_S) -> Usefulness:
    """The one usefulness rule (docs/ranking.md).

    Usable: it fits, decodes at `min_tps` or more, and reaches the asked context (`--context`). Quality: the
    model's index (catalog/quality.yaml) times exp(-KLD) of its file type. Score: that quality times
    1 + SPEED_WEIGHT x log10(decode / min_tps), so speed counts mildly (tenfold faster: +10%).
    """
    decode = e.speed.decode_tokens_per_s
    capped = request.context_pinned and e.context_tokens < request.context_tokens
    why: str | None = None
    if e.placement.kind == "none":
        why = "does not fit"
    elif capped:
        why = f"context {e.context_tokens:,} < asked {request.context_tokens:,} (the model's maximum)"
    elif decode is None or decode < min_tps:
        why = f"decode {decode or 0:.1f} t/s < {min_tps:g} t/s"
    kld = quant_kld(e.recipe, e.model, est)
    adjusted = score = None
    if e.model.quality is not None:
        adjusted = e.model.quality.value * math.exp(-kld)
        score = adjusted * (1 + SPEED_WEIGHT * math.log10(max(decode or 0.0, min_tps) / min_tps))
    return Usefulness(why is None, why, capped, kld, adjusted, score)


def usefulness_key(e: Estimate, u: Usefulness, est: Estimator) -> tuple[object, ...]:
    """Usable first; then those that run (slow or short of the context) before those that do not fit; within each,
    models with a quality index by score, then the rest as rank_key orders them (with --use: rank_key only)."""
    return (*usefulness_head(e, u), rank_key(e, est))


def usefulness_head(e: Estimate, u: Usefulness) -> tuple[int, int, float]:
    """usefulness_key without its last part (rank_key): cheap, and where heads differ it alone orders two results."""
    group = 0 if u.usable else 2 if e.placement.kind == "none" else 1
    if e.use_score is not None or u.score is None:
        return (group, 1, 0.0)
    return (group, 0, -u.score)


def check_order(sort: str, min_tps: float) -> None:
    """Refuse an unknown --sort or a --min-tps that is not a positive number."""
    if sort not in SORTS:
        msg = f"--sort must be one of {', '.join(SORTS)}, got {sort!r}"
        raise UsageError(msg)
    if not (math.isfinite(min_tps) and min_tps > 0):
        msg = f"--min-tps must be a finite number above 0, got {min_tps:g}"
        raise UsageError(msg)


def recommend(machine: Machine, est: Estimator, request: Request, *, min_tps: float = MIN_USABLE_TOKENS_PER_S,
              sort: str = "quality", quant: str | None = None,
              models: tuple[ModelSpec, ...] | None = None) -> list[Estimate]:
    """Every catalog model's best option on `machine`, ranked (rank); `quant`: one file type for every model that
    can use it (best_estimate); `models`: only these (recommend --model; default: every catalog model)."""
    check_order(sort, min_tps)
    if quant is not None:
        quant = est.catalog.recipe(quant).name  # an unknown name stops here, with close matches
    chosen = [m for m in (est.catalog.models if models is None else models) if eligible(m, request.use)]
    return rank([best_estimate(m, machine, est, request, quant) for m in chosen], est, request, min_tps, sort)


def rank(found: list[Estimate], est: Estimator, request: Request, min_tps: float = MIN_USABLE_TOKENS_PER_S,
         sort: str = "quality") -> list[Estimate]:
    """Most useful first (for `request.use`, if given); `sort`: quality (the usefulness rule), speed (fastest
    decode first), memory (smallest first) or name."""
    check_order(sort, min_tps)
    if request.use:
        ranked = sorted(found, key=lambda e: (usefulness_key(e, usefulness(e, est, request, min_tps), est)[0],
                                              rank_key(e, est)))
    else:
        ranked = sorted(found, key=lambda e: usefulness_key(e, usefulness(e, est, request, min_tps), est))
    if sort == "speed":
        return sorted(ranked, key=lambda e: -(e.speed.decode_tokens_per_s or -1.0))
    if sort == "memory":
        return sorted(ranked, key=lambda e: e.memory.total_bytes)
    if sort == "name":
        return sorted(ranked, key=lambda e: e.model.name.lower())
    return ranked


def tensor_hint(top: Estimate, machine: Machine, est: Estimator, request: Request) -> str | None:
    """On several GPUs under llama.cpp's default layer split, what --split-mode tensor would give the first row."""
    if request.split_mode != "layer" or top.engine != "llama.cpp" or top.placement.kind != "gpu" \
            or len(top.placement.gpu_bytes) < 2 or not top.speed.decode_tokens_per_s:
        return None
    tensor = est.estimate(top.model, top.recipe, machine, replace(request, split_mode="tensor")).speed
    if not tensor.decode_tokens_per_s or tensor.decode_tokens_per_s <= top.speed.decode_tokens_per_s:
        return None
    return (f"llama.cpp's layer split runs these GPUs one after another; --split-mode tensor (-sm tensor) runs them at "
            f"once: {top.model.name} {top.recipe.name} would decode at {tensor.decode_tokens_per_s:,.0f} t/s instead "
            f"of {top.speed.decode_tokens_per_s:,.0f}")
