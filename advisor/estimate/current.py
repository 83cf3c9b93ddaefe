"""Which published runs describe a current build: the one rule the fit (advisor.speed.cases) and the measured speed
shown beside an estimate (Estimator.measured) share. Pure."""

from __future__ import annotations

from advisor.estimate.weights import weight_kind
from advisor.specs.facts import Catalog
from advisor.specs.measured import BuildStep, Measurement


def predating_step(m: Measurement, catalog: Catalog) -> BuildStep | None:
    """The step in llama.cpp's speed (catalog/build_steps.yaml) a run was measured before, if any: such a run
    measured kernels a current build no longer runs."""
    architecture = catalog.gpu(m.device).architecture if m.device != "cpu" else None
    recipe = catalog.recipes.get(m.quant)
    quantized = recipe is None or weight_kind(recipe, catalog.types) != "float"
    return next((s for s in catalog.build_steps if s.predates(m, architecture, quantized)), None)


def is_current(m: Measurement, catalog: Catalog) -> bool:
    """Neither left out by its own entry (`exclude`) nor measured before a step in llama.cpp's speed."""
    return not m.exclude and predating_step(m, catalog) is None
