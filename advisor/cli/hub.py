"""add: a Hugging Face repo into the user's catalog, read once from the Hub, so it works offline by its id."""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.cli.app import FormatOpt, JsonOpt, app, load, output_format, show


@app.command()
def add(ctx: typer.Context,
        repo: Annotated[str, typer.Argument(
            help="A Hugging Face repo: ORG/REPO, hf.co/ORG/REPO or its https://huggingface.co URL (docs/hub.md).")],
        json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """Add a Hugging Face model to your catalog (<config dir>/catalog/models/): its architecture and parameter count
    read once from the Hub and validated like the shipped catalog, then known by its id and repo, offline too."""
    from dataclasses import replace
    from datetime import date

    from advisor.catalog.user import entry_id, model_entry, write_entry
    from advisor.errors import UsageError
    from advisor.hub.lookup import hub_model
    from advisor.present.catalog_tables import model_view

    fmt = output_format(json_, fmt)
    catalog = load(ctx)
    model = hub_model(catalog, repo)
    if model is None:
        known = catalog.find_model(repo)
        raise UsageError(f"{repo} is catalog model {known.id} already" if known else
                         f"{repo!r} is not a Hugging Face repo name (ORG/REPO)")
    if model.matched is not None or model.read is None:
        raise UsageError(f"{repo} is catalog model {model.matched or model.spec.id} already: use that name")
    spec = model.read
    repo_id = spec.hf_repo or repo
    url = f"https://huggingface.co/{repo_id}"
    counted = model.kind == "gguf" or not spec.params_derived  # from the repo's tensors, not the config's dims
    gguf = [{"quant": f.weights.recipe, "size": f.size_bytes, "unit": "B", "repo": repo_id,
             "source": f"{url}/blob/main/{f.files[0]}"} for f in model.files if model.kind == "gguf" and f.size_bytes]
    note = (f"Added with `advisor add {repo_id}` on {date.today().isoformat()}: {'; '.join(model.notes)}")
    entry = model_entry(spec, entry_id(repo_id, catalog), repo_id, params_source=url if counted else None,
                        gguf_files=gguf, note=note)
    write_entry(entry, lambda: load(ctx))
    show(replace(model_view(load(ctx).model(entry["id"])), command="add"), fmt)
