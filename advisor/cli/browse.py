"""models, gpus, model, validate, local, doctor: browse the catalog, check the speed model, look at this machine."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from advisor.cli.app import FormatOpt, JsonOpt, UseOpt, app, load, output_format, show

FamilyOpt = Annotated[Optional[str], typer.Option("--family", help="e.g. qwen3.5, gemma-3")]  # noqa: UP045
MoeOpt = Annotated[Optional[bool], typer.Option("--moe/--dense", help="Only MoE or only dense models.")]  # noqa: UP045
MinParamsOpt = Annotated[Optional[float], typer.Option("--min-params", help="Billions, e.g. 7.")]  # noqa: UP045
MaxParamsOpt = Annotated[Optional[float], typer.Option("--max-params", help="Billions, e.g. 32.")]  # noqa: UP045
VendorOpt = Annotated[Optional[str], typer.Option("--vendor", help="nvidia, amd, intel or apple")]  # noqa: UP045
MinMemoryOpt = Annotated[Optional[str], typer.Option("--min-memory", help="e.g. 24GB")]  # noqa: UP045
MarkdownOpt = Annotated[bool, typer.Option(
    "--markdown", help="Print docs/accuracy.md (with the ablation; slower than --format markdown).")]
DoctorFormatOpt = Annotated[str, typer.Option("--format", help="json (the default), table, csv or markdown.")]


@app.command()
def models(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", family: FamilyOpt = None,
           moe: MoeOpt = None, min_params: MinParamsOpt = None, max_params: MaxParamsOpt = None,
           use: UseOpt = None) -> None:
    """List the catalog's models (filtered), or rank them by a use's published scores."""
    from advisor.plan.uses import check_use, eligible, sort_key, use_score
    from advisor.present.catalog_tables import models_view

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    check_use(use)
    low, high = (min_params or 0) * 1e9, (max_params or float("inf")) * 1e9
    chosen = [m for m in catalog.models if (family is None or m.family == family.lower())
              and (moe is None or m.is_moe == moe) and low <= m.params_total <= high and eligible(m, use)]
    rows = [(m, use_score(m, use) if use else None) for m in chosen]
    if use:
        rows.sort(key=lambda row: sort_key(row[1]))
    show(models_view(rows, use), fmt)


@app.command()
def gpus(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table", vendor: VendorOpt = None,
         min_memory: MinMemoryOpt = None) -> None:
    """List the catalog's GPUs and unified-memory machines."""
    from advisor.present.catalog_tables import gpus_view
    from advisor.units import parse_size

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    floor = parse_size(min_memory) if min_memory else 0
    chosen = [g for g in catalog.gpus if (vendor is None or g.vendor == vendor.lower())
              and max((g.memory_bytes, *g.memory_options_bytes)) >= floor]
    show(gpus_view(chosen), fmt)


@app.command()
def model(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Model id or alias.")],
          json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """Every fact the catalog holds about one model, each with its source."""
    from advisor.present.catalog_tables import model_view

    spec = load(ctx).model(name)
    show(model_view(spec), output_format(json_, fmt))


@app.command()
def validate(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table",
             markdown: MarkdownOpt = False) -> None:
    """The speed model's error on the published measurements, leaving each device out of its own fit."""
    from advisor.present.accuracy import validation_view
    from advisor.speed.validate import ablation
    from advisor.speed.validate import validate as run

    catalog = load(ctx)
    document = markdown and not json_
    fmt = output_format(json_, "markdown" if document else fmt)
    result = run(catalog)
    view = validation_view(result, ablation(catalog) if document else None)
    if view.document is not None:  # docs/accuracy.md ends with advisor serve's section
        from dataclasses import replace

        from advisor.present.serve_accuracy import serving_section

        view = replace(view, document=view.document + serving_section(catalog))
    show(view, fmt)


@app.command()
def local(ctx: typer.Context, json_: JsonOpt = False, fmt: FormatOpt = "table") -> None:
    """GGUF models already on this machine (Ollama, LM Studio, llama.cpp and Hugging Face caches)."""
    from advisor.local.scan import scan
    from advisor.present.reports import local_view

    catalog = load(ctx)
    fmt = output_format(json_, fmt)
    show(local_view(scan(catalog)), fmt)


@app.command()
def doctor(json_: JsonOpt = False, fmt: DoctorFormatOpt = "json") -> None:
    """A report for bug reports (JSON): versions, raw probe data and notes, without user or host names."""
    from advisor.hardware.doctor import report
    from advisor.present.reports import doctor_view

    fmt = output_format(json_, fmt)
    show(doctor_view(report()), fmt)
