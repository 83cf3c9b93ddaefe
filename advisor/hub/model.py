"""A Hub repo -> the model advisor estimates: a catalog model when the repo is one (by repo, alias, name, or an
architecture only one catalog model has), else the model the one reader (advisor.models) builds from the repo's
config.json or GGUF header; and the repo's own files (GGUF, MLX) with their exact weight bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from advisor.errors import UsageError
from advisor.hub.names import HubRef
from advisor.hub.repo import GgufQuant, HubRepo
from advisor.specs import GgufFile, ModelSpec, QuantRecipe, Runtime
from advisor.specs.facts import Catalog
from advisor.specs.sizes import WeightEstimate, stand_in_recipe

if TYPE_CHECKING:
    from advisor.models import gguf_read

_PACKAGING: Final = re.compile(r"[-_.](gguf|mlx(-[\w]+)?|\d+-?bits?|awq|gptq(-int\d)?|fp8)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file type the repo publishes, with its exact weight bytes (from its headers)."""

    recipe: QuantRecipe
    weights: WeightEstimate
    files: tuple[str, ...]
    size_bytes: int | None = None  # the files' sizes as the Hub lists them


@dataclass(frozen=True, slots=True)
class HubModel:
    spec: ModelSpec
    files: tuple[HubFile, ...]  # empty: the repo holds 16-bit weights, sized by every catalog file type
    notes: tuple[str, ...]
    quant: str | None  # the file type named with the repo (ORG/REPO:QUANT)
    kind: str  # catalog, safetensors, gguf or mlx
    read: ModelSpec | None = None  # the model as read from the repo itself (spec is the catalog's when matched)
    matched: str | None = None  # the catalog model's id, when the repo is one


def catalog_match(catalog: Catalog, repo_id: str) -> tuple[ModelSpec, str] | None:
    """The catalog model a repo is, and how it was matched: its hf_repo or an alias, else its name once the
    packaging (-GGUF, -MLX-4bit, an uploader's ORG_ prefix) is taken off."""
    lowered = repo_id.lower()
    for m in catalog.models:
        if m.hf_repo and m.hf_repo.lower() == lowered:
            return m, f"repo {m.hf_repo}"
    found = catalog.find_model(repo_id)
    if found is not None:
        return found, f"alias {repo_id}"
    name = repo_id.split("/", 1)[1]
    for _ in range(3):
        name = _PACKAGING.sub("", name)
    for candidate in (name, name.split("_", 1)[-1]):
        found = catalog.find_model(candidate)
        if found is not None:
            return found, f"name {candidate}"
    return None


def fingerprint_match(catalog: Catalog, spec: ModelSpec) -> ModelSpec | None:
    """The one catalog model with the same architecture (layers, widths, heads, vocabulary, experts), of the same
    family when several share it; None when none or several do."""
    same = [m for m in catalog.models if _fingerprint(m) == _fingerprint(spec)]
    if len(same) > 1:
        same = [m for m in same if m.family == spec.family]
    return same[0] if len(same) == 1 else None


def _fingerprint(m: ModelSpec) -> tuple[object, ...]:
    a = m.arch
    return (a.layers, a.hidden_size, a.attention_heads, a.kv_heads, a.head_dim, a.vocab_size, a.intermediate_size,
            None if m.moe is None else (m.moe.experts, m.moe.experts_per_token, m.moe.expert_ffn))


def from_catalog(spec: ModelSpec, how: str, ref: HubRef) -> HubModel:
    note = f"{ref.repo_id} is catalog model {spec.id} (matched by {how}): its measurements and scores are used"
    return HubModel(spec, (), (note,), ref.quant, "catalog", matched=spec.id)


def build(repo: HubRepo, catalog: Catalog, ref: HubRef) -> HubModel:
    """The model a fetched repo holds, and its own files; UsageError when it holds no model advisor can read."""
    matched = catalog_match(catalog, repo.repo_id)
    if repo.gguf:
        spec, files, notes = _gguf(repo, catalog, ref)
        kind = "gguf"
    elif repo.config is not None:
        spec, files, notes = _safetensors(repo, catalog, ref)
        kind = "mlx" if files else "safetensors"
    else:
        raise UsageError(f"{repo.repo_id} has neither a config.json nor .gguf files: advisor cannot size it "
                         "(docs/hub.md)")
    read = spec
    if matched is None:
        same = fingerprint_match(catalog, spec)
        if same is not None:
            matched = (same, f"architecture fingerprint ({same.arch.layers} layers, {same.arch.hidden_size} wide)")
    if matched is not None:
        base, how = matched
        notes = [f"{repo.repo_id} is catalog model {base.id} (matched by {how}): its measurements and scores are "
                 "used", *notes]
        spec = base
    if kind == "gguf":
        spec = hosted(spec, repo.repo_id, files)
    return HubModel(spec, tuple(files), tuple(notes), ref.quant, kind, read,
                    matched=None if matched is None else matched[0].id)


def _url(repo: HubRepo, path: str = "") -> str:
    return f"https://huggingface.co/{repo.repo_id}" + (f"/blob/main/{path}" if path else "")


def _gguf(repo: HubRepo, catalog: Catalog, ref: HubRef) -> tuple[ModelSpec, list[HubFile], list[str]]:
    from advisor.models.gguf import model_from_gguf

    built = [(q, *model_from_gguf(_gguf_file(q), name=repo.repo_id, url=_url(repo, q.files[0]))) for q in repo.gguf]
    built.sort(key=lambda b: -_recipe(catalog, b[0].quant, "llama.cpp", _url(repo), b[2]).quality_rank)
    spec, notes = built[0][1], list(built[0][3])
    listed = dict(repo.files)
    files = [HubFile(_recipe(catalog, q.quant, "llama.cpp", _url(repo), w), replace(w, recipe=q.quant), q.files,
                     _total([listed.get(f) for f in q.files])) for q, _, w, _ in built]
    notes.append(f"GGUF headers read by range requests ({len(files)} file type(s)); weights are the files' "
                 "own tensor bytes; parameter count from the tensors")
    return replace(spec, hf_repo=repo.repo_id, aliases=(repo.repo_id,)), files, notes


def hosted(spec: ModelSpec, repo_id: str, files: list[HubFile]) -> ModelSpec:
    """The spec with the repo's GGUF files listed, so llama.cpp's command names them (-hf ORG/REPO:QUANT)."""
    listed = tuple(GgufFile(quant=f.weights.recipe, size_bytes=f.size_bytes or f.weights.weights_bytes, repo=repo_id,
                            source=f"https://huggingface.co/{repo_id}/blob/main/{f.files[0]}") for f in files)
    return replace(spec, gguf_files=(*listed, *spec.gguf_files))


def _total(sizes: list[int | None]) -> int | None:
    return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


def _gguf_file(q: GgufQuant) -> gguf_read.GgufFile:
    from advisor.models.gguf_read import GgufFile, file_type_name

    return GgufFile(tuple(Path(f) for f in q.files), q.metadata, q.tensors,
                    file_type_name(q.metadata.get("general.file_type")))


def _safetensors(repo: HubRepo, catalog: Catalog, ref: HubRef) -> tuple[ModelSpec, list[HubFile], list[str]]:
    from advisor.models.hf_config import model_from_config
    from advisor.models.safetensors import active_params, file_weights, language_params

    config = repo.config or {}
    mlx = _mlx_bits(config)
    counted = language_params(repo.safetensors) if repo.safetensors and mlx is None else None
    spec = model_from_config(config, _url(repo, "config.json"), name=repo.repo_id, params_total=counted)
    if counted and spec.moe is not None:  # the active share from the same headers, not from the dims
        spec = model_from_config(config, _url(repo, "config.json"), name=repo.repo_id, params_total=counted,
                                 params_active=active_params(repo.safetensors, spec.moe))
    spec = replace(spec, hf_repo=repo.repo_id)
    if mlx is None:
        basis = (f"parameter count {counted:,} from the safetensors headers (exact, language model only)" if counted
                 else "no safetensors headers: parameter count derived from the config's dimensions")
        return spec, [], [basis, "architecture from config.json; every file type sized by the catalog's recipes"]
    name, bits, group = mlx
    spec = replace(spec, aliases=(repo.repo_id,))  # an mlx-community repo is then served as it is, not converted
    recipe = _recipe(catalog, name, "mlx", _url(repo))
    weights = file_weights(repo.safetensors, spec.moe, recipe.name, spec.params_total)
    return spec, [HubFile(recipe, weights, tuple(f for f, _ in repo.files if f.endswith(".safetensors")))], [
        f"MLX {bits}-bit (group size {group}): weights are the files' own tensor bytes; parameter count derived "
        "from the config's dimensions (packed tensors do not tell it)"]


def _mlx_bits(config: dict[str, object]) -> tuple[str, int, int] | None:
    """An MLX config's file type (the catalog's name for it), bits and group size; None for unquantized weights."""
    quant = config.get("quantization")
    if not (isinstance(quant, dict) and isinstance(quant.get("bits"), int)):
        return None
    bits, group = int(quant["bits"]), quant.get("group_size")
    group = int(group) if isinstance(group, int) else 64
    mode = quant.get("mode")
    if mode in ("mxfp4", "nvfp4"):
        return f"MLX-{mode}", bits, group
    return f"MLX-{bits}bit" + ("-g32" if group == 32 else ""), bits, group


def _recipe(catalog: Catalog, name: str, runtime: Runtime, source: str,
            weights: WeightEstimate | None = None) -> QuantRecipe:
    """The catalog's recipe of that name, else a stand-in whose base says what the file's tensors are (`weights`:
    the file's own, when read)."""
    known = catalog.recipes.get(name) or next((r for k, r in catalog.recipes.items() if k.upper() == name.upper()),
                                              None)
    if known is not None:
        return known
    return stand_in_recipe(name, runtime, source, weights)


def pick(model: HubModel, quant: str | None) -> tuple[HubFile, ...]:
    """The repo's files of one file type (all when none is named); UsageError listing the repo's own."""
    if quant is None or not model.files:
        return model.files
    chosen = tuple(f for f in model.files if f.recipe.name.upper() == quant.upper()
                   or f.weights.recipe.upper() == quant.upper())
    if not chosen:
        have = ", ".join(f.weights.recipe for f in model.files)
        raise UsageError(f"{model.spec.hf_repo or model.spec.id} has no {quant} file; it has {have}")
    return chosen
