"""Fit the serving engines' prefill to published times to first token (catalog/serving/). Pure.

vLLM and SGLang share two constants (catalog/speed_fit.yaml serving_prefill): the compute efficiency of a prefill
forward pass against the GPU's dense FP16 TFLOPS, and its fixed time per layer (a prefill pass runs without CUDA
graphs, so each layer's kernel launches and, across GPUs, its all-reduce calls cost time whatever the prompt). The
time to first token they predict is the shipped one (advisor.estimate.arrivals.benchmark_ttft). A grid search keeps
the pair with the least mean absolute log error; `advisor validate` refits it without each device's runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from advisor.estimate.arrivals import Prefill, benchmark_ttft
from advisor.estimate.constants import SpeedTable
from advisor.estimate.estimator import Estimator
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.plan.serve import ServeRequest, serve_on
from advisor.specs.facts import Catalog
from advisor.specs.measured import ServingPrefillFit, SpeedFit
from advisor.specs.serving import ServingMeasurement
from advisor.speed.cases import cases
from advisor.speed.fit import fit

EFFICIENCIES = tuple(x / 100 for x in range(10, 101, 5))
PER_LAYER_S = tuple(x / 10_000 for x in range(0, 31))  # 0 to 3 ms
UNIT = ServingPrefillFit(efficiency=1.0, per_layer_s=0.0, rows=0, devices=0)


@dataclass(frozen=True, slots=True)
class TtftCase:
    """One published mean TTFT and what the serving model needs to predict it for any constants."""

    run: ServingMeasurement
    tokens_per_s: float  # prefill compute at efficiency 1, on all of the run's GPUs
    layers: int
    budget_tokens: int
    step_s: float  # one decode step of the run's batch (its compute part at prefill efficiency 1: only the waits
    # for a step in flight use it, a small share of a TTFT)

    def predicted_s(self, efficiency: float, per_layer_s: float) -> float:
        r = self.run
        pf = Prefill(self.tokens_per_s * efficiency, self.budget_tokens, self.layers * per_layer_s)
        return benchmark_ttft(r.prompt_tokens, r.batch, r.output_tokens, self.step_s, pf,
                              equal_lengths=r.lengths == "fixed", requests=r.requests)


def ttft_cases(catalog: Catalog, fit: SpeedFit, runs: tuple[ServingMeasurement, ...]) -> list[TtftCase]:
    """Every vLLM or SGLang run with a published mean TTFT whose users all fit at once (none wait for a slot)."""
    est = Estimator(catalog, SpeedTable(replace(fit, serving_prefill=UNIT), catalog.defaults))
    out = []
    for run in runs:
        if not run.mean_ttft_ms or run.engine == "llama.cpp":
            continue
        machine = run_machine(catalog, run.device, run.gpus)
        s = serve_on(est, catalog.model(run.model), machine, run_request(run))
        rate = s.curve.prefill_tokens_per_s
        if rate and s.capacity.max_concurrent_sequences >= run.batch:
            out.append(TtftCase(run, rate, s.step.work.layers, s.step.budget_tokens, s.step.seconds(run.batch)[0]))
    return out


def run_request(run: ServingMeasurement) -> ServeRequest:
    """The `serve` request a published run answers: its engine, users, lengths, file type and expert layout."""
    return ServeRequest(engine=run.engine, users=run.batch, context_tokens=run.prompt_tokens + run.output_tokens,
                        prompt_tokens=run.prompt_tokens, output_tokens=run.output_tokens, quant=run.quant,
                        expert_parallel=run.expert_parallel)


def run_machine(catalog: Catalog, device: str, gpus: int) -> Machine:
    """The hypothetical node a published run used: `gpus` of the catalog GPU `device`."""
    name = catalog.gpu(device).name
    return resolve(hypothetical(None, catalog, gpu=name if gpus == 1 else f"{gpus}x {name}",
                                ram_bytes=catalog.defaults.hypothetical_ram_bytes), catalog)


def fit_serving_prefill(cases: list[TtftCase]) -> ServingPrefillFit | None:
    """The (efficiency, per-layer time) pair with the least mean absolute log error; None without cases."""
    if not cases:
        return None

    def loss(pair: tuple[float, float]) -> float:
        return sum(abs(math.log(c.predicted_s(*pair) * 1000 / (c.run.mean_ttft_ms or 1))) for c in cases)

    best = min(((e, t) for e in EFFICIENCIES for t in PER_LAYER_S), key=loss)
    return ServingPrefillFit(best[0], best[1], len(cases), len({c.run.device for c in cases}))


def fit_shipped(catalog: Catalog, runs: tuple[ServingMeasurement, ...]) -> SpeedFit:
    """The constants that ship (catalog/speed_fit.yaml): the speed fit on every measurement, with the serving
    prefill fitted on every run's TTFT."""
    rows, _ = cases(catalog)
    fitted = fit(rows, catalog.defaults)
    return replace(fitted, serving_prefill=fit_serving_prefill(ttft_cases(catalog, fitted, runs)))
