"""Leave-one-device-out validation of `advisor serve` on published serving benchmarks (catalog/serving/). Pure.

A batch's decode step is the single-user speed model's formula at that batch (advisor.estimate.serving) plus the
serving engines' per-sequence step time; that, and the serving engines' prefill, are what serving fits of its own, on
published throughputs and times to first token (advisor.plan.serve_fit). So each device is predicted through the
shipped lookup with the speed constants fitted without any of that device's single-user measurements, and the serving
constants fitted without its runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.estimate.arrivals import benchmark_ttfts, statistic_of
from advisor.estimate.constants import SpeedTable
from advisor.estimate.estimator import Estimator
from advisor.estimate.machine import Machine
from advisor.estimate.serving import prefill_of
from advisor.plan.serve import serve_on
from advisor.plan.serve_fit import fit_serving, run_machine, run_request
from advisor.specs.facts import Catalog
from advisor.specs.serving import ServingMeasurement
from advisor.speed.cases import cases
from advisor.speed.fit import fit


@dataclass(frozen=True, slots=True)
class ServingPrediction:
    run: ServingMeasurement
    aggregate_decode_tokens_per_s: float
    prefill_seconds: float | None  # all the batch's prompts; None without the device's FP16 throughput
    ttft_s: float | None = None  # closed loop: the time to first token at `batch` users, as the run is scored
    # (ServingMeasurement.scored_ttft: the median where published, else the mean)
    mean_ttft_s: float | None = None  # and the mean, for runs that publish one

    @property
    def aggregate_error(self) -> float | None:
        if not self.run.aggregate_decode_tokens_per_s:
            return None
        return self.aggregate_decode_tokens_per_s / self.run.aggregate_decode_tokens_per_s - 1

    @property
    def prefill_error(self) -> float | None:
        if self.prefill_seconds is None or not self.run.prefill_seconds:
            return None
        return self.prefill_seconds / self.run.prefill_seconds - 1

    @property
    def ttft_error(self) -> float | None:
        scored = self.run.scored_ttft
        if self.ttft_s is None or scored is None:
            return None
        return self.ttft_s * 1000 / scored[0] - 1

    @property
    def mean_ttft_error(self) -> float | None:
        """Against the published mean, first round and one-off stalls included."""
        if self.mean_ttft_s is None or not self.run.mean_ttft_ms:
            return None
        return self.mean_ttft_s * 1000 / self.run.mean_ttft_ms - 1


def validate_serving(catalog: Catalog, runs: tuple[ServingMeasurement, ...]) -> list[ServingPrediction]:
    """Each run predicted with constants fitted without its device's measurements and runs."""
    rows, _ = cases(catalog)
    out = []
    for device in sorted({r.device for r in runs}):
        fold = fit([c for c in rows if c.group != device], catalog.defaults)
        others = tuple(r for r in runs if r.device != device)
        fold = fit_serving(catalog, fold, others)
        est = Estimator(catalog, SpeedTable(fold, catalog.defaults))
        for gpus in sorted({r.gpus for r in runs if r.device == device}):
            machine = run_machine(catalog, device, gpus)
            out += [_predict(est, machine, r) for r in runs if r.device == device and r.gpus == gpus]
    return out


def _predict(est: Estimator, machine: Machine, run: ServingMeasurement) -> ServingPrediction:
    req = run_request(run)
    s = serve_on(est, est.catalog.model(run.model), machine, req)
    prefill = s.curve.prefill_tokens_per_s
    batch_prefill = None if prefill is None else run.batch * run.prompt_tokens / prefill
    if run.measure == "closed-loop":  # the curve's own steady state at that many users, prompts included
        point = next(p for p in s.curve.points if p.users == run.batch)
        pf = prefill_of(s.step, prefill)
        if pf is None or point.running < run.batch:
            return ServingPrediction(run, point.aggregate_decode_tokens_per_s, batch_prefill)
        scored = run.scored_ttft
        firsts = benchmark_ttfts(run.prompt_tokens, run.batch, run.output_tokens, point.step_s, pf,
                                 equal_lengths=run.lengths == "fixed", requests=run.requests)
        return ServingPrediction(run, point.aggregate_decode_tokens_per_s, batch_prefill,
                                 statistic_of(firsts, scored[1] if scored else "mean"), statistic_of(firsts, "mean"))
    step, _ = s.step.seconds(run.batch)
    return ServingPrediction(run, run.batch / step, batch_prefill)
