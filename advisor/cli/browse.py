"""models, gpus, model: browse the catalog."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from advisor.cli.app import FormatOpt, JsonOpt, UseOpt, app, console, emit, emit_rows, load, output_format

FamilyOpt = Annotated[Optional[str], typer.Option("--family", help="e.g. qwen3.5, gemma-3")]  # noqa: UP045
MoeOpt = Annotated[Optional[bool], typer.Option("--moe/--dense", help="Only MoE or only dense models.")]  # noqa: UP045
MinParamsOpt = Annotated[Optional[float], typer.Option("--min-params", help="Billions, e.g. 7.")]  # noqa: UP045
MaxParamsOpt = Annotated[Optional[float], typer.Option("--max-params", help="Billions, e.g. 32.")]  # noqa: UP045
VendorOpt = Annotated[Optional[str], typer.Option("--vendor", help="nvidia, amd, intel or apple")]  # noqa: UP045
MinMemoryOpt = Annotated[Optional[str], typer.Option("--min-memory", help="e.g. 24GB")]  # noqa: UP045


@app.command()
def models(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", family: FamilyOpt = None,
           moe: MoeOpt = None, min_params: MinParamsOpt = None, max_params: MaxParamsOpt = None,
           use: UseOpt = None) -> None:
    """List the catalog's models (filtered), or rank them by a use's published scores."""
    from advisor.plan.uses import check_use, eligible, sort_key, use_score

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    check_use(use)
    low, high = (min_params or 0) * 1e9, (max_params or float("inf")) * 1e9
    chosen = [m for m in catalog.models if (family is None or m.family == family.lower())
              and (moe is None or m.is_moe == moe) and low <= m.params_total <= high and eligible(m, use)]
    rows = [(m, use_score(m, use) if use else None) for m in chosen]
    if use:
        rows.sort(key=lambda row: sort_key(row[1]))
    if fmt == "json":
        from advisor.present.catalog_json import model_dict

        emit("models", None, [model_dict(m, score) for m, score in rows])
        return
    from advisor.present.catalog_tables import model_rows, render_models

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *model_rows(rows, use))
        return
    render_models(console(), rows, use)


@app.command()
def gpus(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", vendor: VendorOpt = None,
         min_memory: MinMemoryOpt = None) -> None:
    """List the catalog's GPUs and unified-memory machines."""
    from advisor.units import parse_size

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    floor = parse_size(min_memory) if min_memory else 0
    chosen = [g for g in catalog.gpus if (vendor is None or g.vendor == vendor.lower())
              and max((g.memory_bytes, *g.memory_options_bytes)) >= floor]
    if fmt == "json":
        from advisor.present.catalog_json import gpu_dict

        emit("gpus", None, [gpu_dict(g) for g in chosen])
        return
    from advisor.present.catalog_tables import gpu_rows, render_gpus

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *gpu_rows(chosen))
        return
    render_gpus(console(), chosen)


@app.command()
def model(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Model id or alias.")],
          json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """Every fact the catalog holds about one model, each with its source."""
    spec = load(ctx).model(name)
    fmt = output_format(json_, fmt)
    if fmt == "json":
        from advisor.present.catalog_json import model_dict

        emit("model", None, [model_dict(spec)])
        return
    from advisor.present.catalog_tables import fact_rows, render_model

    if fmt in ("csv", "markdown"):
        emit_rows(fmt, *fact_rows(spec))
        return
    render_model(console(), spec)


@app.command()
def validate(ctx: typer.Context, json_: JsonOpt = False,
             markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/accuracy.md.")] = False) -> None:
    """The speed model's error on the published measurements, leaving each device out of its own fit."""
    import sys

    from advisor.present.accuracy import accuracy_markdown, prediction_rows, validation_dict
    from advisor.speed.validate import ablation
    from advisor.speed.validate import validate as run

    catalog = load(ctx)
    result = run(catalog)
    if json_:
        emit("validate", None, prediction_rows(result), summary=validation_dict(result))
        return
    if markdown:
        sys.stdout.write(accuracy_markdown(result, ablation(catalog)))
        return
    from advisor.present.tables import render_validation

    render_validation(console(), validation_dict(result))


@app.command()
def local(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """GGUF models already on this machine (Ollama, LM Studio, llama.cpp and Hugging Face caches)."""
    from advisor.local.scan import scan

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    found = scan(catalog)
    if fmt == "json":
        emit("local", None, [{"source": f.source, "name": f.name, "path": str(f.path), "size_bytes": f.size_bytes,
                              "model_id": f.model_id} for f in found])
        return
    headers = ["Source", "Name", "GiB", "Catalog model"]
    table = [[f.source, f.name, f"{f.size_bytes / 2**30:.1f}", f.model_id or "—"] for f in found]
    if fmt in ("csv", "markdown"):
        emit_rows(fmt, headers, table)
        return
    from advisor.present.tables import render_table

    out = console()
    if not table:
        out.print("No GGUF models found in Ollama's store, LM Studio, or the llama.cpp / Hugging Face caches.")
        return
    render_table(out, headers, table, left=frozenset({"Source", "Name", "Catalog model"}), widths={"Name": 60})


@app.command()
def doctor(ctx: typer.Context) -> None:
    """A report for bug reports (JSON): versions, raw probe data and notes, without user or host names."""
    from advisor.hardware.doctor import report

    emit("doctor", None, [report()])
