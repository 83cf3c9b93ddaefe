"""What `advisor estimate` estimates: a catalog model, a local GGUF file, a Hugging Face config.json, or a Hub repo
(read by advisor.hub before it gets here)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.catalog.files import MAX_FILE_BYTES
from advisor.errors import UsageError
from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.estimate.machine import Machine
from advisor.plan.choice import estimate_recipes
from advisor.readfile import FileRefused, read_json
from advisor.specs import ModelSpec
from advisor.specs.sizes import stand_in_recipe

if TYPE_CHECKING:
    from advisor.hub.model import HubModel


def resolve_model(est: Estimator, model: str | None, config: Path | None, quant: str | None, machine: Machine,
                  request: Request, hub: HubModel | None = None) -> tuple[ModelSpec, list[Estimate], list[str]]:
    """The model spec, its estimates (one per file type, or the file's own), and notes."""
    if hub is not None:
        return _from_hub(est, hub, quant or hub.quant, machine, request)
    if config is not None:
        from advisor.models.hf_config import config_name, model_from_config

        data = _json(config)
        spec = model_from_config(data, str(config), name=model or config_name(data, config))
        return spec, _catalog_style(est, spec, quant, machine, request), [
            "parameter count derived from the config's dimensions"]
    if model is None:
        raise UsageError("name a model (advisor models lists them), a .gguf file, or pass --config config.json")
    if model.lower().endswith(".gguf") or _is_file(model):
        return _from_gguf(est, Path(model), machine, request)
    spec = est.catalog.model(model)
    return spec, _catalog_style(est, spec, quant, machine, request), []


def _catalog_style(est: Estimator, spec: ModelSpec, quant: str | None, machine: Machine,
                   request: Request) -> list[Estimate]:
    return [est.estimate(spec, r, machine, request) for r in estimate_recipes(spec, machine, est, quant)]


def _from_hub(est: Estimator, hub: HubModel, quant: str | None, machine: Machine,
              request: Request) -> tuple[ModelSpec, list[Estimate], list[str]]:
    """A repo's own files (GGUF, MLX) at their exact sizes; a 16-bit repo at every catalog file type."""
    from advisor.hub.model import pick

    if not hub.files:
        return hub.spec, _catalog_style(est, hub.spec, quant, machine, request), list(hub.notes)
    return hub.spec, [est.estimate(hub.spec, f.recipe, machine, request, weights=f.weights)
                      for f in pick(hub, quant)], list(hub.notes)


def _from_gguf(est: Estimator, path: Path, machine: Machine,
               request: Request) -> tuple[ModelSpec, list[Estimate], list[str]]:
    if not _is_file(str(path)):
        raise UsageError(f"{str(path)[:200]}: no such file")
    spec, estimate, notes = gguf_estimate(est, path, machine, request)
    return spec, [estimate], notes


def gguf_estimate(est: Estimator, path: Path, machine: Machine, request: Request,
                  identity: ModelSpec | None = None) -> tuple[ModelSpec, Estimate, list[str]]:
    """A GGUF file on this machine, estimated at its own file type and exact weights (its header); `identity`: the
    catalog model it is, whose name, quality and facts it then carries (its source stays the file)."""
    from advisor.models.gguf import model_from_gguf
    from advisor.models.gguf_read import read_gguf

    file = read_gguf(path)
    spec, weights, notes = model_from_gguf(file)
    if identity is not None:
        spec = replace(spec, id=identity.id, name=identity.name, family=identity.family, vendor=identity.vendor,
                       hf_repo=identity.hf_repo, release=identity.release, license=identity.license,
                       modalities=identity.modalities, scores=identity.scores, quality=identity.quality)
    known = est.catalog.recipes.get(file.file_type or "")
    # the file's own type where the catalog knows it (its weight kind prices prefill), else a stand-in
    recipe = replace(known, source=str(path)) if known else stand_in_recipe(file.file_type or "file", "llama.cpp",
                                                                             str(path), weights)
    return spec, est.estimate(spec, recipe, machine, request, weights=weights), notes


def _json(path: Path) -> object:
    try:
        return read_json(path, MAX_FILE_BYTES)
    except FileRefused as err:
        raise UsageError(str(err)) from err
    except OSError as err:
        raise UsageError(f"cannot read {path} ({err.strerror or err})") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not valid JSON ({err})") from err


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except (OSError, ValueError):  # a name too long for a path, or with a NUL byte, is not a file
        return False
