"""Models already on this machine (advisor.local), each estimated at its own file: the file type and exact weights
its GGUF header gives, the name and quality of the catalog model it matches (docs/ranking.md), and a command that
runs that very file (`-m <its path>`; an Ollama tag runs as that tag)."""

from __future__ import annotations

from dataclasses import replace

from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.estimate.machine import Machine
from advisor.local.scan import LocalModel
from advisor.models.gguf_read import GgufError
from advisor.plan.choice import MIN_USABLE_TOKENS_PER_S
from advisor.plan.recommend import rank
from advisor.plan.resolve import gguf_estimate


def installed_estimates(found: list[LocalModel], machine: Machine, est: Estimator, request: Request, *,
                        min_tps: float = MIN_USABLE_TOKENS_PER_S,
                        sort: str = "quality") -> tuple[list[Estimate], dict[str, list[str]], list[str]]:
    """One estimate per local file, ranked as recommend ranks; where each came from, by model id; notes on files
    that could not be read. A file of no catalog model keeps the name its header gives (and no quality index)."""
    estimates: list[Estimate] = []
    where: dict[str, list[str]] = {}
    notes: list[str] = []
    for item in found:
        identity = est.catalog.find_model(item.model_id) if item.model_id else None
        try:
            spec, estimate, _ = gguf_estimate(est, item.path, machine, request, identity)
        except (GgufError, OSError, ValueError) as err:
            notes.append(f"{item.source}: {item.name}: not estimated ({err})")
            continue
        if item.source == "ollama":  # run as the tag Ollama knows it by
            estimate = replace(estimate, model=replace(spec, aliases=(item.name,)))
        estimates.append(estimate)
        where.setdefault(estimate.model.id, []).append(f"{item.source}: {item.name}")
    return rank(estimates, est, request, min_tps, sort), where, notes
