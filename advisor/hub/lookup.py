"""A model name -> a Hub model, when the name is a repo the catalog does not already hold under that name."""

from __future__ import annotations

from dataclasses import replace

from advisor.hub.model import HubModel, build, catalog_match, from_catalog
from advisor.hub.names import parse_ref
from advisor.specs import ModelSpec
from advisor.specs.facts import Catalog


def hub_model(catalog: Catalog, text: str) -> HubModel | None:
    """None for a catalog name or a name that is no repo; else the repo's model. A repo the catalog names (its
    hf_repo or an alias) needs no network; any other is read from the Hub (or its cache: advisor.hub.fetch)."""
    if catalog.find_model(text) is not None or _is_path(text):
        return None
    ref = parse_ref(text)
    if ref is None:
        return None
    matched = catalog_match(catalog, ref.repo_id)
    if matched is not None and not matched[1].startswith("name "):
        return from_catalog(*matched, ref)
    from advisor.hub.fetch import fetch

    repo, notes = fetch(ref)
    model = build(repo, catalog, ref)
    return replace(model, notes=(*model.notes, *notes))


def model_specs(catalog: Catalog, names: list[str]) -> tuple[ModelSpec, ...]:
    """recommend/compare --model: catalog models by name, Hub models by repo."""
    found = []
    for name in names:
        model = hub_model(catalog, name)
        found.append(model.spec if model is not None else catalog.model(name))
    return tuple(found)


def _is_path(text: str) -> bool:
    from pathlib import Path

    try:
        return Path(text).exists()
    except (OSError, ValueError):  # too long for a path, or a NUL byte: not a file
        return False
