"""The command lines that run an estimate's choice, per engine (advisor.engines), and the other engines' commands
for the same model where their own file fits on this machine. Pure."""

from __future__ import annotations

from typing import Final

from advisor.engines import ENGINES, RunSpec, engine_for
from advisor.engines.llamacpp import ollama
from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.estimate.machine import Machine
from advisor.specs import ModelSpec
from advisor.specs.sizes import WeightEstimate

NAMES = ("llama.cpp", "ollama", *(e.name for e in ENGINES if e.name != "llama.cpp"))


_GGUF_PUBLISHERS: Final = ("ggml-org/", "unsloth/", "bartowski/", "lmstudio-community/")
# a command names a catalogued file only where its listed size is the file the estimate describes: within the memory
# estimate's own bound against published files (tests/test_weights.py), plus what a listing's rounding to 0.1 GiB hides
HOSTED_SIZE_SHARE: Final = 0.05
HOSTED_SIZE_ROUNDING_BYTES: Final = 0.05 * 2**30


def run_spec(e: Estimate, machine: Machine, est: Estimator) -> RunSpec:
    return RunSpec(e.model, e.recipe, e.context_tokens, e.placement.kind, e.placement.gpu_bytes,
                   e.placement.gpu_fraction, e.placement.n_cpu_moe, e.sequences, e.kv.cache_type,
                   hosting_repo(e.model, e.recipe.name, est, e.weights), e.placement.tensor_split)


def hosting_repo(model: ModelSpec, quant: str, est: Estimator, weights: WeightEstimate) -> str | None:
    """A Hugging Face repository known to host `model`'s GGUF file of type `quant` (best-known publisher first): one
    whose file listing the catalog cites for that file (gguf_files), whose size is the file the estimate's
    `weights` describe (_described), and that holds no other catalog model (`-hf repo:QUANT` would be ambiguous
    there); for a model published in that one type only, also its catalogued GGUF repositories (aliases ending in
    -GGUF)."""
    shared = est.shared(("shared-gguf-repos",), lambda: _shared_repos(est.catalog.models))
    repos = {f.repo for f in model.gguf_files if f.repo and f.repo not in shared and f.quant.upper() == quant.upper()
             and _described(f.repo, f.size_bytes, model, weights)}
    if not repos and model.native_quant is not None and model.native_quant.upper() == quant.upper():
        repos = {a for a in model.aliases if "/" in a and a.lower().endswith("-gguf")}
    return min(repos, key=_publisher_order) if repos else None


def _described(repo: str, size_bytes: int, model: ModelSpec, weights: WeightEstimate) -> bool:
    """Whether a published file of this size is the one whose weights the estimate sizes (HOSTED_SIZE_SHARE): a
    publisher that keeps some tensors at other types than llama.cpp's recipe (small models' embeddings, Gemma's
    per-layer tables) makes another file, and the memory shown would not be its. A named Hub repository's own files
    are what its estimate read, whatever their listed size."""
    if repo == model.hf_repo:
        return True
    w = weights.weights_bytes
    return abs(size_bytes - w) <= HOSTED_SIZE_SHARE * w + HOSTED_SIZE_ROUNDING_BYTES


def _publisher_order(repo: str) -> tuple[int, str]:
    return next((i for i, p in enumerate(_GGUF_PUBLISHERS) if repo.startswith(p)), len(_GGUF_PUBLISHERS)), repo


def _shared_repos(models: tuple[ModelSpec, ...]) -> frozenset[str]:
    owners: dict[str, set[str]] = {}
    for m in models:
        for f in m.gguf_files:
            if f.repo:
                owners.setdefault(f.repo, set()).add(m.id)
    return frozenset(repo for repo, ids in owners.items() if len(ids) > 1)


def commands(e: Estimate, machine: Machine, est: Estimator) -> dict[str, str | None]:
    """Each engine's command for an estimate that fits (nothing for one that does not). The estimate's own engine
    runs its own file; another engine's command is given when `est` shows that engine's file fits here too."""
    out: dict[str, str | None] = dict.fromkeys(NAMES)
    if e.placement.kind == "none":
        return out
    spec = run_spec(e, machine, est)
    out[e.engine] = engine_for(e.recipe.runtime).command(spec)
    if e.engine == "llama.cpp":
        out["ollama"] = ollama(spec)
        for name, recipe in _alternatives(e, machine, est):
            out[name] = recipe
    return out


def _alternatives(e: Estimate, machine: Machine, est: Estimator) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    if e.model.native_quant or not machine.devices:
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
            found.append((engine.name, engine.command(run_spec(alt, machine, est))))
    return found
