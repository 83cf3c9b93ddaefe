"""Find, read and validate the catalog (catalog/*.yaml) into a Catalog of specs.

The only module that reads catalog files. Errors name file › entry › field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from advisor.catalog.fields import Fields
from advisor.catalog.files import catalog_files, read_all
from advisor.catalog.parse import (
    parse_gguf_row,
    parse_gpu,
    parse_measurement,
    parse_memory,
    parse_model,
    parse_score_row,
)
from advisor.catalog.rules import parse_defaults, parse_recipe, parse_speed_fit, parse_type
from advisor.errors import CatalogError, UnknownNameError
from advisor.specs import (
    Defaults,
    GgufFile,
    GpuSpec,
    MemorySpec,
    ModelSpec,
    QuantRecipe,
    QuantType,
    Score,
)
from advisor.specs.measured import LocalCalibration, Measurement, SpeedFit


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


def config_dir() -> Path:
    """$ADVISOR_CONFIG_DIR, else $XDG_CONFIG_HOME/advisor, else ~/.config/advisor."""
    import os

    base = os.environ.get("ADVISOR_CONFIG_DIR")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "advisor"


def calibration_path() -> Path:
    return config_dir() / "calibration.yaml"


def load_local_calibration(path: Path | None = None) -> dict[str, LocalCalibration]:
    """The user's own calibration factors per device (advisor calibrate), if any."""
    from advisor.catalog.files import read_yaml

    path = path or calibration_path()
    if not path.is_file():
        return {}
    f = Fields(read_yaml(path) or {}, str(path))
    out = {}
    for device in list(f.data):
        item = f.mapping(device, required=True)
        assert item is not None
        out[device] = LocalCalibration(device, item.number("decode_factor", required=False, minimum=0.01),
                                       item.number("prefill_factor", required=False, minimum=0.01),
                                       item.req_int("rows"), item.req_text("source"))
        item.text("date", required=False)
        item.done()
    return out


def save_local_calibration(entry: LocalCalibration, date: str, path: Path | None = None) -> Path:
    import yaml

    path = path or calibration_path()
    current = {k: {"decode_factor": v.decode_factor, "prefill_factor": v.prefill_factor, "rows": v.rows,
                   "source": v.source} for k, v in load_local_calibration(path).items()}
    current[entry.device] = {"decode_factor": entry.decode_factor, "prefill_factor": entry.prefill_factor,
                             "rows": entry.rows, "source": entry.source, "date": date}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Written by `advisor calibrate`: your own llama-bench results, as factors on estimates.\n"
                        + yaml.safe_dump(current, sort_keys=True), encoding="utf-8")
    except OSError as err:
        msg = f"cannot write {path} ({err.strerror or err})"
        raise CatalogError(msg) from err
    return path


def normalize(name: str) -> str:
    """Lowercase, with spaces, underscores and dashes folded: 'RTX 4090' == 'rtx-4090'."""
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelSpec, ...]
    gpus: tuple[GpuSpec, ...]
    types: dict[str, QuantType]
    recipes: dict[str, QuantRecipe]
    defaults: Defaults
    memories: tuple[MemorySpec, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    speed_fit: SpeedFit | None = None
    local_calibration: dict[str, LocalCalibration] = field(default_factory=dict, compare=False)
    # results of pure functions of catalog facts (weights per model x file type), shared by every estimate
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _model_index(self) -> dict[str, ModelSpec]:
        return _index(self.models, "model")

    @cached_property
    def _gpu_index(self) -> dict[str, GpuSpec]:
        return _index(self.gpus, "GPU")

    def model(self, name: str) -> ModelSpec:
        """The model with this id or alias; UnknownNameError lists the closest names."""
        found = self._model_index.get(normalize(name))
        if found is None:
            raise UnknownNameError("model", name, _closest(name, self._model_index))
        return found

    def find_model(self, name: str) -> ModelSpec | None:
        return self._model_index.get(normalize(name))

    def gpu(self, name: str) -> GpuSpec:
        found = self._gpu_index.get(normalize(name))
        if found is None:
            raise UnknownNameError("GPU", name, _closest(name, self._gpu_index))
        return found

    def find_gpu(self, name: str) -> GpuSpec | None:
        return self._gpu_index.get(normalize(name))

    @cached_property
    def _memory_index(self) -> dict[str, MemorySpec]:
        return _index(self.memories, "memory")

    def memory(self, name: str) -> MemorySpec:
        """A system RAM configuration by id or alias ('ddr5-6000-2ch', 'ddr5')."""
        found = self._memory_index.get(normalize(name))
        if found is None:
            raise UnknownNameError("memory configuration", name, _closest(name, self._memory_index))
        return found

    def recipe(self, name: str) -> QuantRecipe:
        exact = self.recipes.get(name)
        if exact is not None:
            return exact
        for key, recipe in self.recipes.items():
            if key.lower() == name.strip().lower():
                return recipe
        raise UnknownNameError("quantization", name, tuple(difflib.get_close_matches(
            name.upper(), list(self.recipes), n=3, cutoff=0.4)))


def _index(entries: tuple[Any, ...], what: str) -> dict[str, Any]:
    index: dict[str, Any] = {}
    for entry in entries:
        for key in (entry.id, entry.name, *entry.aliases):
            norm = normalize(key)
            other = index.get(norm)
            if other is not None and other is not entry:
                msg = f"{what} name {key!r} is used by both {other.id!r} and {entry.id!r}"
                raise CatalogError(msg)
            index[norm] = entry
    return index


def _closest(name: str, index: dict[str, Any]) -> tuple[str, ...]:
    query = normalize(name)
    # a name the user cut short ("qwen3.5-35b" for qwen3.5-35b-a3b) first, then the closest spellings
    prefixed = sorted((k for k in index if k.startswith(query)), key=len)[:4]
    keys = prefixed + difflib.get_close_matches(query, list(index), n=8, cutoff=0.5)
    names: list[str] = []
    for key in keys:
        label = index[key].name
        if label not in names:
            names.append(label)
    return tuple(names[:4])


def load_catalog(root: Path | None = None, extra_dirs: tuple[Path, ...] = ()) -> Catalog:
    """Read and validate every catalog file; user directories add models, GPUs, scores and sizes."""
    root = root or catalog_root()
    files = [f for folder in (root, *extra_dirs) for f in catalog_files(folder)]
    data = read_all(files)
    quants = Fields(data[root / "quants.yaml"], "quants.yaml")
    types = {t.name: t for t in (parse_type(r, f"quants.yaml › types[{i}]")
                                 for i, r in enumerate(quants.items("types")))}
    recipes = {r.name: r for r in (parse_recipe(raw, f"quants.yaml › recipes[{i}]", types)
                                   for i, raw in enumerate(quants.items("recipes")))}
    quants.done()
    defaults = parse_defaults(data[root / "defaults.yaml"], "defaults.yaml")
    models: list[ModelSpec] = []
    gpus: list[GpuSpec] = []
    measured: list[Measurement] = []
    for path in files:
        label = _label(path, root)
        if path.parent.name == "models":
            models += [parse_model(raw, f"{label} › models[{i}]") for i, raw in enumerate(_section(data, path))]
        elif path.parent.name == "gpus":
            gpus += [parse_gpu(raw, f"{label} › gpus[{i}]") for i, raw in enumerate(_section(data, path))]
        elif path.parent.name == "measurements":
            measured += [parse_measurement(raw, f"{label} › measurements[{i}]")
                         for i, raw in enumerate(_section(data, path))]
    for folder in (root, *extra_dirs):
        models = _attach(models, folder, data)
    memories = tuple(parse_memory(raw, f"system_memory.yaml › memory[{i}]")
                     for i, raw in enumerate(_section(data, root / "system_memory.yaml", "memory")))
    fit_path = root / "speed_fit.yaml"
    speed_fit = parse_speed_fit(data[fit_path], "speed_fit.yaml") if fit_path in data else None
    catalog = Catalog(tuple(models), tuple(gpus), types, recipes, defaults, memories, tuple(measured), speed_fit)
    _ = catalog._model_index, catalog._gpu_index  # duplicate names fail at load, not at first lookup
    _check_measurements(catalog)
    return catalog


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
    known = {m.id for m in models}
    for name, key, parse, into in (("scores.yaml", "scores", parse_score_row, scores),
                                   ("gguf_sizes.yaml", "gguf_files", parse_gguf_row, sizes),
                                   ("gguf_sizes_unsloth.yaml", "gguf_files", parse_gguf_row, sizes)):
        path = folder / name
        if path not in data:
            continue
        for i, raw in enumerate(_section(data, path, key)):
            model_id, row = parse(raw, f"{name} › {key}[{i}]")
            if model_id not in known:
                msg = f"{name} › {key}[{i}] › model: unknown model id {model_id!r}"
                raise CatalogError(msg)
            into.setdefault(model_id, []).append(row)  # type: ignore[arg-type]
    return [replace(m, scores=_merge_scores(m, scores.get(m.id, [])), gguf_files=(*m.gguf_files, *sizes.get(m.id, ())))
            if m.id in scores or m.id in sizes else m for m in models]


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


def _section(data: dict[Path, Any], path: Path, key: str | None = None) -> list[Any]:
    """The one list a catalog file holds under its key (models/*.yaml: models, measurements/*.yaml: ...)."""
    f = Fields(data[path], str(path.name if path.parent.name not in ("models", "gpus", "measurements") else path))
    items = f.items(key or path.parent.name)
    f.done()
    return items
