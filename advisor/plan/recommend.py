"""Pick each model's best file type, engine and placement on a machine, and rank the models. Pure.

Ranking is described in docs/ranking.md.
"""

from __future__ import annotations

import math
from dataclasses import replace

from advisor.engines import ENGINES
from advisor.errors import UsageError
from advisor.estimate.estimator import INTERACTIVE_TOKENS_PER_S, Estimate, Estimator, Fitted, Request
from advisor.estimate.machine import Machine
from advisor.plan.uses import eligible, use_score
from advisor.plan.uses import sort_key as score_sort_key
from advisor.specs import ModelSpec, QuantRecipe

__all__ = ["INTERACTIVE_TOKENS_PER_S", "Estimate", "Estimator", "Request", "best_estimate", "recommend"]
_PLACEMENT_ORDER = {"gpu": 0, "gpu+cpu": 1, "cpu": 2, "none": 3}


def engines_here(machine: Machine) -> frozenset[str]:
    """Runtimes of the engines that run on every GPU of `machine` (llama.cpp always: it also runs on the CPU)."""
    return frozenset(e.runtime for e in ENGINES if e.cpu_offload or (machine.devices and all(
        e.backend(d.device.vendor, d.speed_class) for d in machine.devices)))


def candidate_recipes(model: ModelSpec, est: Estimator, machine: Machine) -> tuple[QuantRecipe, ...]:
    """File types considered for `model`: its native format if it ships one, else the common GGUF mixes and, on
    Apple GPUs, MLX files (vLLM's are offered as an alternative command, advisor.plan.commands)."""
    if model.native_quant:
        return (est.catalog.recipe(model.native_quant),)
    runtimes = engines_here(machine) - {"vllm"}  # vLLM serves many users; for one person it is an alternative
    return est.shared(("candidates", runtimes), lambda: _candidates(est, runtimes))


def _candidates(est: Estimator, runtimes: frozenset[str]) -> tuple[QuantRecipe, ...]:
    """MLX's own file types where it runs; GGUF ones when the catalog recommends them; highest quality first."""
    return tuple(sorted((r for r in est.catalog.recipes.values() if r.runtime in runtimes
                         and (r.recommend or r.runtime != "llama.cpp")), key=lambda r: -r.quality_rank))


def estimate_recipes(model: ModelSpec, machine: Machine, est: Estimator,
                     quant: str | None = None) -> tuple[QuantRecipe, ...]:
    """File types `advisor estimate` shows: the one asked for, else every one that applies here."""
    catalog = est.catalog
    if model.native_quant:
        native = catalog.recipe(model.native_quant)
        if quant is not None and catalog.recipe(quant) is not native:
            msg = (f"{model.name} is published as {native.name}; other file types are not sized for it "
                   f"(use --quant {native.name} or leave --quant out)")
            raise UsageError(msg)
        return (native,)
    if quant is not None:
        return (catalog.recipe(quant),)
    runtimes = engines_here(machine)
    return tuple(sorted((r for r in catalog.recipes.values() if r.runtime in runtimes
                         and (model.is_moe or not any(rule.category == "experts" for rule in r.rules))),
                        key=lambda r: -r.quality_rank))


def _choice_key(model: ModelSpec, recipe: QuantRecipe, kind: str, est: Estimator) -> tuple[int, int]:
    """Lower is better: full GPU at Q3_K_M or better, then offload at Q4_K_M or below, then the rest."""
    q3, q4 = est.shared(("q3-q4",), lambda: (est.catalog.recipe("Q3_K_M").quality_rank,
                                              est.catalog.recipe("Q4_K_M").quality_rank))
    rank, native = recipe.quality_rank, model.native_quant is not None
    if kind == "gpu":
        tier = 0 if rank >= q3 or native else 2
    elif kind == "gpu+cpu":
        tier = 1 if native or q3 <= rank <= q4 else 3
    elif kind == "cpu":
        tier = 4 if rank <= q4 or native else 5
    else:
        tier = 9
    return tier, -rank if tier != 9 else rank


def best_estimate(model: ModelSpec, machine: Machine, est: Estimator, request: Request) -> Estimate:
    """The file type and placement a person with this machine should use for `model`.

    Placements are cheap and decide the choice; the full estimate (speed, ranges) is made for the winner only.
    """
    best: tuple[tuple[int, int], QuantRecipe, Fitted] | None = None
    floor = 0 if machine.devices else 4  # the best tier this machine can reach (CPU only: 4)
    candidates = candidate_recipes(model, est, machine)  # highest quality first
    if not machine.devices:  # CPU only: above Q4_K_M is tier 5 at best, and a smaller file fits whenever it does
        q4 = est.catalog.recipe("Q4_K_M").quality_rank
        candidates = tuple(sorted(candidates, key=lambda r: r.quality_rank > q4))
    for recipe in candidates:
        fitted = est.fitted(model, recipe, machine, request)
        key = _choice_key(model, recipe, fitted.placement.kind, est)
        if best is None or key < best[0]:
            best = (key, recipe, fitted)
        if key[0] == floor:
            break  # the best-quality file type in the best reachable tier: nothing later can rank above it
    assert best is not None
    chosen = est.estimate(model, best[1], machine, request, fitted=best[2])
    return replace(chosen, use_score=use_score(model, request.use)) if request.use else chosen


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
    newer = "".join(chr(0x10FFFF - ord(c)) for c in (e.model.release or ""))  # descending release month
    return (_PLACEMENT_ORDER[e.placement.kind], slow, quant_bucket(e, est), score_sort_key(e.use_score),
            -capability_size(e.model), newer)


def recommend(machine: Machine, est: Estimator, request: Request) -> list[Estimate]:
    """Every catalog model's best option on `machine`, best first (for `request.use`, if given)."""
    models = [m for m in est.catalog.models if eligible(m, request.use)]
    return sorted((best_estimate(m, machine, est, request) for m in models), key=lambda e: rank_key(e, est))
