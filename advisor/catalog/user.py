"""Write a model into the user's catalog (<config dir>/catalog/models/), as an entry of the shipped files' schema,
validated by the same loader before it is kept: `advisor add ORG/REPO` (docs/hub.md)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from advisor.errors import CatalogError, UsageError
from advisor.paths import config_dir
from advisor.specs import Layout, ModelSpec
from advisor.specs.facts import Catalog


def entry_id(repo_id: str, catalog: Catalog) -> str:
    """The repo's name in the catalog's id alphabet; with its owner when the name alone is taken."""
    def clean(text: str) -> str:
        return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9.\-]", "-", text.lower())).strip("-.")

    short = clean(repo_id.split("/", 1)[1])
    return short if catalog.find_model(short) is None else clean(repo_id.replace("/", "-"))


def model_entry(spec: ModelSpec, model_id: str, repo_id: str, *, params_source: str | None,
                gguf_files: list[dict[str, Any]], note: str) -> dict[str, Any]:
    """A models/*.yaml entry holding what the spec says (counts, layers, experts), with the repo as its source."""
    a = spec.arch
    arch: dict[str, Any] = {"layers": a.layers, "hidden_size": a.hidden_size, "attention_heads": a.attention_heads,
                            "kv_heads": a.kv_heads, "head_dim": a.head_dim, "vocab_size": a.vocab_size,
                            "tied_embeddings": a.tied_embeddings, "ffn_matrices": a.ffn_matrices}
    for key, value in (("max_context", a.max_context_tokens), ("intermediate_size", a.intermediate_size),
                       ("v_head_dim", a.v_head_dim)):
        if value is not None:
            arch[key] = value
    params: dict[str, Any] = {"source": params_source or spec.source}
    if params_source is not None:  # counted from the repo's files; otherwise the loader derives it from the dims
        params["total"] = spec.params_total
        if spec.params_active is not None:
            params["active"] = spec.params_active
    entry: dict[str, Any] = {"id": model_id, "name": spec.name, "family": spec.family, "hf_repo": repo_id,
                             "aliases": [repo_id], "source": spec.source, "params": params, "arch": arch,
                             "layout": _layout(spec)}
    if spec.moe is not None:
        entry["moe"] = {f.name: getattr(spec.moe, f.name) for f in fields(spec.moe)
                        if getattr(spec.moe, f.name) is not None}
    if gguf_files:
        entry["gguf_files"] = gguf_files
    entry["note"] = note
    return entry


def _layout(spec: ModelSpec) -> dict[str, Any]:
    lay = spec.layout
    out: dict[str, Any] = {"full_attention_layers": lay.full_attention_layers}
    for key in ("sliding_layers", "sliding_window", "chunked_layers", "attention_chunk", "linear_layers",
                "mamba_layers"):
        if getattr(lay, key):
            out[key] = getattr(lay, key)
    for key in ("linear", "mamba", "mla", "lora_attention"):
        part = getattr(lay, key)
        if part is not None:
            out[key] = {f.name: getattr(part, f.name) for f in fields(part) if getattr(part, f.name) is not None}
    if lay.attention_gate:
        out["attention_gate"] = True
    if lay.compressed:
        out["compressed"] = [{f.name: getattr(g, f.name) for f in fields(g)} for g in lay.compressed]
    return out | _per_layer(lay)


def _per_layer(lay: Layout) -> dict[str, Any]:
    """The layout's per-layer-kind parts: global attention, KV sharing (with its FFN width), per-layer inputs."""
    out: dict[str, Any] = {}
    if lay.global_kv_heads is not None:
        out["global_attention"] = {"kv_heads": lay.global_kv_heads, "head_dim": lay.global_head_dim,
                                   "shared_kv": lay.global_shared_kv}
    if lay.kv_shared_full_layers or lay.kv_shared_sliding_layers:
        out["kv_shared"] = {"full": lay.kv_shared_full_layers, "sliding": lay.kv_shared_sliding_layers}
        if lay.kv_shared_ffn is not None:
            out["kv_shared"]["ffn"] = lay.kv_shared_ffn
    if lay.per_layer_input_dim is not None:
        out["per_layer_input"] = {"dim": lay.per_layer_input_dim, "vocab": lay.per_layer_input_vocab}
    return out


def user_models_dir() -> Path:
    return config_dir() / "catalog" / "models"


def write_entry(entry: dict[str, Any], check: Any) -> Path:
    """Write the entry to its own file in the user's catalog and run `check` (the loader) on it; an entry that
    fails is removed again and the loader's error (file › entry › field) raised."""
    import yaml

    folder = user_models_dir()
    path = folder / f"{entry['id']}.yaml"
    if path.exists():
        raise UsageError(f"{path} already exists: {entry['id']} is in your catalog (delete the file to add it again)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"models": [entry]}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {path} ({err.strerror or err})") from err
    try:
        check()
    except CatalogError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path
