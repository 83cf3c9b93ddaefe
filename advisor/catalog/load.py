"""Find, read and validate the catalog (catalog/*.yaml) into a Catalog of specs.

The only module that reads catalog files. Errors name file › entry › field.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.catalog.files import Snapshot, catalog_files, user_files
from advisor.catalog.parse import (
    parse_build_step,
    parse_gguf_row,
    parse_gpu,
    parse_measurement,
    parse_memory,
    parse_quality_row,
    parse_quant_loss_row,
    parse_score_row,
)
from advisor.catalog.rules import parse_defaults, parse_recipe, parse_speed_fit, parse_type
from advisor.errors import CatalogError
from advisor.models.catalog_entry import parse_model
from advisor.models.fields import Fields
from advisor.paths import config_dir
from advisor.specs import GgufFile, GpuSpec, ModelSpec, Quality, QuantLoss, Score
from advisor.specs.facts import Catalog, normalize
from advisor.specs.measured import Measurement


def catalog_root() -> Path:
    """The packaged catalog (wheel) or, in an editable install, the repository's catalog/."""
    packaged = Path(__file__).parent.parent / "_catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "catalog"


def user_catalog_dirs(extra: Path | None = None) -> tuple[Path, ...]:
    """Folders whose YAML adds to the shipped catalog: <config dir>/catalog, then --catalog DIR.

    The config dir is $ADVISOR_CONFIG_DIR, else $XDG_CONFIG_HOME/advisor, else ~/.config/advisor.
    """
    found = [d for d in (config_dir() / "catalog",) if d.is_dir()]
    if extra is not None:
        if not extra.is_dir():
            msg = f"--catalog {extra}: not a directory"
            raise CatalogError(msg)
        found.append(extra)
    return tuple(found)




def load_catalog(root: Path | None = None, extra_dirs: tuple[Path, ...] = ()) -> Catalog:
    """Read and validate every catalog file; user directories add models, GPUs, scores and sizes."""
    root = root or catalog_root()
    folders = [(folder, catalog_files(folder)) for folder in (root, *extra_dirs)]
    files = [f for _, found in folders for f in found]
    snapshot = Snapshot(folders)
    data = snapshot.data()
    quants = Fields(data[root / "quants.yaml"], "quants.yaml")
    types = {t.name: t for t in (parse_type(r, f"quants.yaml › types[{i}]")
                                 for i, r in enumerate(quants.items("types")))}
    recipes = {r.name: r for r in (parse_recipe(raw, f"quants.yaml › recipes[{i}]", types)
                                   for i, raw in enumerate(quants.items("recipes")))}
    quants.done()
    defaults = parse_defaults(data[root / "defaults.yaml"], "defaults.yaml")
    models = _entries(files, data, root, "models", check=not snapshot.cached)

    def gpus() -> tuple[GpuSpec, ...]:
        return tuple(_entries(files, data, root, "gpus", check=not snapshot.cached))

    for folder in (root, *extra_dirs):
        models = _attach(models, folder, data)
    memories = tuple(parse_memory(raw, f"system_memory.yaml › memory[{i}]")
                     for i, raw in enumerate(_section(data, root / "system_memory.yaml", "memory")))
    fit_path = root / "speed_fit.yaml"
    speed_fit = parse_speed_fit(data[fit_path], "speed_fit.yaml") if fit_path in data else None

    def measured() -> tuple[Measurement, ...]:
        return tuple(parse_measurement(raw, f"{_label(path, root)} › measurements[{i}]")
                     for path in files if path.parent.name == "measurements"
                     for i, raw in enumerate(_section(data, path)))

    # data cached after an earlier validation: its measurements are parsed when something reads them
    steps_path = root / "build_steps.yaml"
    steps = tuple(parse_build_step(raw, f"build_steps.yaml › steps[{i}]")
                  for i, raw in enumerate(_section(data, steps_path, "steps"))) if steps_path in data else ()
    catalog = Catalog(tuple(models), gpus if snapshot.cached else gpus(), types, recipes, defaults, memories,
                      measured if snapshot.cached else measured(), speed_fit, _quant_loss(root, data), steps)
    if not snapshot.cached:  # duplicate names fail at load, not at first lookup; then measurement ids are checked
        _ = catalog._model_index, catalog._gpu_index
        _check_measurements(catalog)
    snapshot.remember(data)  # only a catalog that passed every check is cached
    return catalog


def _entries(files: list[Path], data: dict[Path, Any], root: Path, kind: str, *, check: bool) -> list[Any]:
    """Every model (kind "models") or GPU ("gpus") entry; with `check`, a name used twice is an error naming both
    files."""
    entries: list[Any] = []
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, normalized name) -> (entry id, file)
    parse = parse_model if kind == "models" else parse_gpu
    for path in files:
        label = _label(path, root)
        if path.parent.name != kind:
            continue
        found = [parse(raw, f"{label} › {kind}[{i}]") for i, raw in enumerate(_section(data, path))]
        entries.extend(found)
        for entry in found if check else ():
            for name in (entry.id, entry.name, *entry.aliases):
                other = seen.setdefault((kind, normalize(name)), (entry.id, label))
                if other[0] != entry.id:
                    msg = (f"{label} › {entry.id}: the name {name!r} is already used by {other[0]!r} in "
                           f"{other[1]}")
                    raise CatalogError(msg)
    return entries


def unread_files(extra_dirs: tuple[Path, ...]) -> list[Path]:
    """YAML files in the user's catalog folders that the loader does not read (a misplaced models file)."""
    read = {f for folder in extra_dirs for f in catalog_files(folder)}
    return [f for folder in extra_dirs for f in user_files(folder) if f not in read]


def _check_measurements(catalog: Catalog) -> None:
    """A measurement must name a catalog model and a catalog GPU (or `cpu`)."""
    models, gpus = {m.id for m in catalog.models}, {g.id for g in catalog.gpus}
    for m in catalog.measurements:
        if m.model not in models or (m.device != "cpu" and m.device not in gpus):
            unknown = m.model if m.model not in models else m.device
            msg = f"measurements › {m.source}: unknown model or device {unknown!r}"
            raise CatalogError(msg)


def _attach(models: list[ModelSpec], folder: Path, data: dict[Path, Any]) -> list[ModelSpec]:
    """Add the published scores and GGUF sizes kept in their own files to the models they name."""
    scores: dict[str, list[Score]] = {}
    sizes: dict[str, list[GgufFile]] = {}
    quality: dict[str, list[Quality]] = {}
    known = {m.id for m in models}
    for name, key, parse, into in (("scores.yaml", "scores", parse_score_row, scores),
                                   ("gguf_sizes.yaml", "gguf_files", parse_gguf_row, sizes),
                                   ("gguf_sizes_unsloth.yaml", "gguf_files", parse_gguf_row, sizes),
                                   ("gguf_sizes_listing.yaml", "gguf_files", parse_gguf_row, sizes),
                                   ("quality.yaml", "quality", parse_quality_row, quality)):
        path = folder / name
        if path not in data:
            continue
        for i, raw in enumerate(_section(data, path, key, also=("quant_loss",) if key == "quality" else ())):
            model_id, row = parse(raw, f"{name} › {key}[{i}]")
            if model_id not in known:
                msg = f"{name} › {key}[{i}] › model: unknown model id {model_id!r}"
                raise CatalogError(msg)
            if name == "quality.yaml" and model_id in quality:
                msg = f"{name} › {key}[{i}] › model: a second row for {model_id!r} (one index value per model)"
                raise CatalogError(msg)
            into.setdefault(model_id, []).append(row)  # type: ignore[arg-type]
    return [replace(m, scores=_merge_scores(m, scores.get(m.id, [])), gguf_files=(*m.gguf_files, *sizes.get(m.id, ())),
                    quality=quality[m.id][0] if m.id in quality else m.quality)
            if m.id in scores or m.id in sizes or m.id in quality else m for m in models]


def _quant_loss(root: Path, data: dict[Path, Any]) -> tuple[QuantLoss, ...]:
    """The shipped quality.yaml's quant-loss rows the ranking uses (mean KLD against FP16)."""
    path = root / "quality.yaml"
    if path not in data:
        return ()
    rows = (parse_quant_loss_row(raw, f"quality.yaml › quant_loss[{i}]")
            for i, raw in enumerate(Fields(data[path], "quality.yaml").items("quant_loss")))
    return tuple(r for r in rows if r is not None)


def _merge_scores(model: ModelSpec, extra: list[Score]) -> tuple[Score, ...]:
    """One score per benchmark: a repeat of the same value is dropped, a different value is an error."""
    merged = {s.benchmark: s for s in model.scores}
    for score in extra:
        known = merged.get(score.benchmark)
        if known is not None and known.value != score.value:
            msg = (f"scores.yaml › {model.id} › {score.benchmark}: {score.value} conflicts with {known.value} "
                   "in the model's own entry")
            raise CatalogError(msg)
        merged.setdefault(score.benchmark, score)
    return tuple(merged.values())


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _section(data: dict[Path, Any], path: Path, key: str | None = None, also: tuple[str, ...] = ()) -> list[Any]:
    """The one list a catalog file holds under its key (models/*.yaml: models, measurements/*.yaml: ...); `also`:
    other keys the file may hold, read elsewhere."""
    f = Fields(data[path], str(path.name if path.parent.name not in ("models", "gpus", "measurements") else path))
    items = f.items(key or path.parent.name)
    f.seen.update(also)
    f.done()
    return items
