"""The core's calls with a catalog standing for a fresh Estimator over it (shipped constants, no local calibration):
the shape most tests read best in."""

from __future__ import annotations

from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.estimate.machine import Machine
from advisor.estimate.weights import WeightEstimate
from advisor.plan import choice as _choice
from advisor.plan import recommend as _recommend
from advisor.specs import ModelSpec, QuantRecipe
from advisor.specs.facts import Catalog


def kv_args(catalog: Catalog) -> dict[str, int]:
    """estimate_kv's runtime knobs as catalog/defaults.yaml sets them."""
    return {"ubatch_tokens": catalog.defaults.ubatch_tokens, "pad_tokens": catalog.defaults.kv_pad_tokens}


def estimate(model: ModelSpec, recipe: QuantRecipe, machine: Machine, catalog: Catalog, request: Request,
             weights: WeightEstimate | None = None) -> Estimate:
    return Estimator(catalog).estimate(model, recipe, machine, request, weights)


def best_estimate(model: ModelSpec, machine: Machine, catalog: Catalog, request: Request) -> Estimate:
    return _choice.best_estimate(model, machine, Estimator(catalog), request)


def recommend(machine: Machine, catalog: Catalog, request: Request) -> list[Estimate]:
    return _recommend.recommend(machine, Estimator(catalog), request)
