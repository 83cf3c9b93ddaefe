"""The catalog as facts: models, GPUs, file types, defaults, measurements and the fitted speed constants. Pure.

Built by advisor.catalog (the loader); looked up by name here. Derived indexes are cached per instance, so a
`dataclasses.replace` copy never sees another catalog's lookups.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from advisor.errors import CatalogError, UnknownNameError
from advisor.specs import Defaults, GpuSpec, MemorySpec, ModelSpec, QuantLoss, QuantRecipe, QuantType
from advisor.specs.measured import BuildStep, Measurement, SpeedFit

T = TypeVar("T")


def normalize(name: str) -> str:
    """Lowercase, with spaces, underscores and dashes folded: 'RTX 4090' == 'rtx-4090'."""
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


@dataclass(frozen=True)
class Catalog:
    """Validated facts from catalog/*.yaml. Nothing else: no calibration, no caches of estimates."""

    models: tuple[ModelSpec, ...]
    # the GPUs, or how to read them: parsed on first use when they were validated before (start-up)
    gpu_entries: tuple[GpuSpec, ...] | Callable[[], tuple[GpuSpec, ...]] = field(compare=False)
    types: dict[str, QuantType]
    recipes: dict[str, QuantRecipe]
    defaults: Defaults
    memories: tuple[MemorySpec, ...] = ()
    # the published measurements, or how to read them: parsed on first use when they were validated before
    measured: tuple[Measurement, ...] | Callable[[], tuple[Measurement, ...]] = field(default=(), compare=False)
    speed_fit: SpeedFit | None = None
    quant_loss: tuple[QuantLoss, ...] = ()  # KL divergence per llama.cpp file type (catalog/quality.yaml)
    build_steps: tuple[BuildStep, ...] = ()  # steps in llama.cpp's speed (catalog/build_steps.yaml)

    @cached_property
    def gpus(self) -> tuple[GpuSpec, ...]:
        return self.gpu_entries if isinstance(self.gpu_entries, tuple) else self.gpu_entries()

    @cached_property
    def measurements(self) -> tuple[Measurement, ...]:
        return self.measured if isinstance(self.measured, tuple) else self.measured()

    @cached_property
    def _model_index(self) -> dict[str, ModelSpec]:
        return _index(self.models, "model")

    @cached_property
    def _gpu_index(self) -> dict[str, GpuSpec]:
        return _index(self.gpus, "GPU")

    def model(self, name: str) -> ModelSpec:
        """The model with this id or alias; UnknownNameError lists the closest names."""
        return _lookup(self._model_index, "model", name)

    def find_model(self, name: str) -> ModelSpec | None:
        return self._model_index.get(normalize(name))

    def gpu(self, name: str) -> GpuSpec:
        return _lookup(self._gpu_index, "GPU", name)

    def find_gpu(self, name: str) -> GpuSpec | None:
        return self._gpu_index.get(normalize(name))

    @cached_property
    def _memory_index(self) -> dict[str, MemorySpec]:
        return _index(self.memories, "memory")

    def memory(self, name: str) -> MemorySpec:
        """A system RAM configuration by id or alias ('ddr5-6000-2ch', 'ddr5')."""
        return _lookup(self._memory_index, "memory configuration", name)

    def recipe(self, name: str) -> QuantRecipe:
        exact = self.recipes.get(name)
        if exact is not None:
            return exact
        for key, recipe in self.recipes.items():
            if key.lower() == name.strip().lower():
                return recipe
        raise UnknownNameError("quantization", name, tuple(difflib.get_close_matches(
            name.upper(), list(self.recipes), n=3, cutoff=0.4)), known=tuple(self.recipes))


def _lookup(index: dict[str, T], what: str, name: str) -> T:
    """The entry with this id, name or alias; UnknownNameError lists the closest names."""
    found = index.get(normalize(name))
    if found is None:
        raise UnknownNameError(what, name, _closest(name, index))
    return found


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
