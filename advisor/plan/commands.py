"""The command lines that run an estimate's choice, per engine (advisor.engines), and the other engines' commands
for the same model where their own file fits on this machine. Pure."""

from __future__ import annotations

from advisor.engines import ENGINES, RunSpec, engine_for
from advisor.engines.llamacpp import ollama
from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.estimate.machine import Machine

NAMES = ("llama.cpp", "ollama", *(e.name for e in ENGINES if e.name != "llama.cpp"))


def run_spec(e: Estimate, machine: Machine) -> RunSpec:
    return RunSpec(e.model, e.recipe, e.context_tokens, e.placement.kind, e.placement.gpu_bytes,
                   e.placement.gpu_fraction, e.placement.n_cpu_moe, e.sequences, e.kv.cache_type)


def commands(e: Estimate, machine: Machine, est: Estimator | None = None) -> dict[str, str | None]:
    """Each engine's command for an estimate that fits (nothing for one that does not). The estimate's own engine
    runs its own file; another engine's command is given when `est` shows that engine's file fits here too."""
    out: dict[str, str | None] = dict.fromkeys(NAMES)
    if e.placement.kind == "none":
        return out
    spec = run_spec(e, machine)
    out[e.engine] = engine_for(e.recipe.runtime).command(spec)
    if e.engine == "llama.cpp":
        out["ollama"] = ollama(spec)
        for name, recipe in _alternatives(e, machine, est):
            out[name] = recipe
    return out


def _alternatives(e: Estimate, machine: Machine, est: Estimator | None) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    if est is None or e.model.native_quant or not machine.devices:
        return found
    for engine in ENGINES:
        if engine.name == e.engine or not all(engine.backend(d.device.vendor, d.speed_class)
                                              for d in machine.devices):
            continue
        name = engine.offer_for(e.recipe.quality_rank)
        recipe = est.catalog.recipes.get(name) if name else None
        if recipe is None:
            continue
        request = Request(context_tokens=e.context_tokens, kv_cache_type=e.kv.cache_type, sequences=e.sequences)
        other = est.fitted(e.model, recipe, machine, request)
        if other.placement.kind == "gpu":
            alt = Estimate(e.model, recipe, other.context_tokens, other.weights, other.kv, e.memory,
                           other.placement, e.speed, (), None, None, e.sequences, engine.name)
            found.append((engine.name, engine.command(run_spec(alt, machine))))
    return found
