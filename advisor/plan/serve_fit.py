"""Fit the serving engines' own constants to published serving runs (catalog/serving/). Pure.

vLLM and SGLang share four prefill constants (catalog/speed_fit.yaml serving_prefill): the compute efficiency of a
prefill forward pass against the GPU's dense FP16 TFLOPS; its fixed time per layer where the pass runs without CUDA
graphs (each layer's kernel launches and, across GPUs, its all-reduce calls cost time whatever the prompt; vLLM
replays passes of up to catalog/defaults.yaml prefill_graphed_tokens as graphs) and what each MoE layer adds to it
(advisor.estimate.arrivals.forward_pass_s); and each request's time outside the passes (its way through the API
server, tokenizer and scheduler, and its first token's way back). The time to first token they predict is the shipped
one (advisor.estimate.arrivals.benchmark_ttft), as the statistic the run is scored on (ServingMeasurement.scored_ttft:
the median where published, else the mean). A grid search keeps the four with the least mean absolute log error.
One more constant is the serving engines' own in the decode step: what each running sequence past the first adds to
it (the engine's per-request work each step), fitted the same way on the published throughputs of vLLM and SGLang
runs. `advisor validate` refits all five without each device's runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from advisor.estimate.arrivals import Prefill, benchmark_ttft, forward_pass_s
from advisor.estimate.constants import SpeedTable
from advisor.estimate.estimator import Estimator
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.plan.serve import ServeRequest, serve_on
from advisor.specs.facts import Catalog
from advisor.specs.measured import ServingPrefillFit, SpeedFit
from advisor.specs.serving import ServingMeasurement
from advisor.speed.cases import cases
from advisor.speed.fit import fit

# the prefill constants' search: a coarse grid over (efficiency, per-layer, MoE-layer time), then a fine one around the
# best coarse point (a full fine grid in three dimensions would take minutes); every request time at each point
EFFICIENCIES = tuple(x / 100 for x in range(10, 101, 10))
PER_LAYER_S = (0.0, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003)  # seconds
MOE_LAYER_S = (0.0, 0.0005, 0.001, 0.0015, 0.002, 0.003)  # seconds
# the fine grid: its step, the steps either side of the coarse best, and the lowest multiple of the step it may take
FINE_STEPS = ((0.05, 1, 1), (0.0001, 2, 0), (0.000125, 2, 0))
REQUEST_S = tuple(x / 1000 for x in range(0, 121, 5))  # 0 to 120 ms
SEQUENCE_STEP_S = tuple(x / 1_000_000 for x in range(0, 301, 10))  # 0 to 300 µs
UNIT = ServingPrefillFit(efficiency=1.0, per_layer_s=0.0, rows=0, devices=0)


@dataclass(frozen=True, slots=True)
class TtftCase:
    """One published TTFT and what the serving model needs to predict it for any constants."""

    run: ServingMeasurement
    measured_ms: float  # the published TTFT it is fitted to (ServingMeasurement.scored_ttft) ...
    statistic: str  # ... and which statistic that is: "median" or "mean"
    tokens_per_s: float  # prefill compute at efficiency 1, on all of the run's GPUs
    layers: int
    moe_layers: int  # layers with routed experts (forward_pass_s)
    budget_tokens: int
    graphed_tokens: int  # the engine's passes of up to this many tokens pay no per-layer time (CUDA graphs)
    step_s: float  # one decode step of the run's batch (its compute part at prefill efficiency 1: only the waits
    # for a step in flight use it, a small share of a TTFT)

    def predicted_s(self, efficiency: float, per_layer_s: float, moe_layer_s: float = 0.0) -> float:
        """The TTFT these constants give, before the request's own time (which adds to every request's alike)."""
        r = self.run
        pf = Prefill(self.tokens_per_s * efficiency, self.budget_tokens,
                     forward_pass_s(self.layers, self.moe_layers, per_layer_s, moe_layer_s), self.graphed_tokens)
        return benchmark_ttft(r.prompt_tokens, r.batch, r.output_tokens, self.step_s, pf,
                              equal_lengths=r.lengths == "fixed", requests=r.requests, statistic=self.statistic)


def ttft_cases(catalog: Catalog, fit: SpeedFit, runs: tuple[ServingMeasurement, ...]) -> list[TtftCase]:
    """Every vLLM or SGLang run with a published TTFT whose users all fit at once (none wait for a slot)."""
    step = fit.serving_prefill.sequence_step_s if fit.serving_prefill else 0.0
    est = Estimator(catalog, SpeedTable(replace(fit, serving_prefill=replace(UNIT, sequence_step_s=step)),
                                        catalog.defaults))
    out = []
    for run in runs:
        scored = run.scored_ttft
        if scored is None or run.engine == "llama.cpp":
            continue
        machine = run_machine(catalog, run.device, run.gpus)
        s = serve_on(est, catalog.model(run.model), machine, run_request(run))
        rate = s.curve.prefill_tokens_per_s
        if rate and s.capacity.max_concurrent_sequences >= run.batch:
            out.append(TtftCase(run, *scored, rate, s.step.work.layers, s.step.work.moe_layers, s.step.budget_tokens,
                                s.step.lane.prefill_graphed_tokens, s.step.seconds(run.batch)[0]))
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
    """The (efficiency, per-layer time, MoE-layer time, request time) with the least mean absolute log error; None
    without cases: the best of a coarse grid, then of a fine grid around it. A request's time adds to its own TTFT,
    so each point's passes are priced once and every request time tried on them (in the steady state it also
    lengthens its user's cycle, by tens of ms in rounds of seconds, which the search leaves out and the validation,
    running `serve`, does not)."""
    if not cases:
        return None
    measured = [c.measured_ms / 1000 for c in cases]

    def best_of(points: Iterable[tuple[float, ...]]) -> tuple[float, float, float, float, float]:
        found: tuple[float, float, float, float, float] | None = None  # loss, efficiency, per-layer, MoE, request
        for efficiency, per_layer, moe_layer in points:
            passes = [c.predicted_s(efficiency, per_layer, moe_layer) for c in cases]
            for request in REQUEST_S:
                loss = sum(abs(math.log((p + request) / m)) for p, m in zip(passes, measured, strict=True))
                if found is None or loss < found[0]:
                    found = (loss, efficiency, per_layer, moe_layer, request)
        assert found is not None
        return found

    coarse = best_of(itertools.product(EFFICIENCIES, PER_LAYER_S, MOE_LAYER_S))
    _, efficiency, per_layer, moe_layer, request = best_of(itertools.product(*(
        _around(value, *fine) for value, fine in zip(coarse[1:4], FINE_STEPS, strict=True))))
    return ServingPrefillFit(min(1.0, efficiency), per_layer, len(cases), len({c.run.device for c in cases}),
                             request_s=request, moe_layer_s=moe_layer)


def _around(value: float, step: float, span: int, lowest: int) -> list[float]:
    """The fine grid's values near `value`: `span` steps either side of the multiple of `step` nearest it, from
    `lowest` x step up."""
    centre = round(value / step)
    return [round(k * step, 7) for k in range(max(lowest, centre - span), centre + span + 1)]


@dataclass(frozen=True, slots=True)
class ThroughputCase:
    """One published vLLM/SGLang throughput and the parts of its prediction the per-sequence step time scales."""

    measured: float  # aggregate decode tokens/s
    tokens: int  # output tokens per cycle: running x output (closed loop), the batch (one step)
    cycle_s: float  # the cycle (closed loop) or step (decode) without any per-sequence step time
    steps: int  # decode steps a cycle holds: the reply's output tokens (closed loop), 1 (decode)
    extra: int  # running sequences past the first

    def predicted(self, sequence_step_s: float) -> float:
        return self.tokens / (self.cycle_s + self.steps * self.extra * sequence_step_s)


def throughput_cases(catalog: Catalog, fit: SpeedFit, runs: tuple[ServingMeasurement, ...]) -> list[ThroughputCase]:
    """Every vLLM or SGLang run with a published throughput, priced with `fit` and no per-sequence step time (the
    step time adds to each of a cycle's steps alike, so the cycle's other parts need pricing once)."""
    fit = replace(fit, serving_prefill=replace(fit.serving_prefill or UNIT, sequence_step_s=0.0))
    est = Estimator(catalog, SpeedTable(fit, catalog.defaults))
    out = []
    for run in runs:
        if not run.aggregate_decode_tokens_per_s or run.engine == "llama.cpp":
            continue
        s = serve_on(est, catalog.model(run.model), run_machine(catalog, run.device, run.gpus), run_request(run))
        if run.measure == "closed-loop":
            point = next(p for p in s.curve.points if p.users == run.batch)
            tokens = point.running * run.output_tokens
            out.append(ThroughputCase(run.aggregate_decode_tokens_per_s, tokens,
                                      tokens / point.aggregate_decode_tokens_per_s, run.output_tokens,
                                      point.running - 1))
        else:
            out.append(ThroughputCase(run.aggregate_decode_tokens_per_s, run.batch, s.step.seconds(run.batch)[0], 1,
                                      run.batch - 1))
    return out


def fit_sequence_step(cases: list[ThroughputCase]) -> float:
    """The per-sequence step time with the least mean absolute log error on the published throughputs (0: none)."""
    return min(SEQUENCE_STEP_S, key=lambda t: sum(abs(math.log(c.predicted(t) / c.measured)) for c in cases))


def fit_serving(catalog: Catalog, fitted: SpeedFit, runs: tuple[ServingMeasurement, ...]) -> SpeedFit:
    """`fitted` with the serving engines' constants fitted on `runs`: the prefill on their TTFTs, then the
    per-sequence step time on their throughputs (with that prefill), then the prefill again with that step time."""
    first = fit_serving_prefill(ttft_cases(catalog, fitted, runs))
    if first is None:
        return replace(fitted, serving_prefill=None)
    throughputs = throughput_cases(catalog, replace(fitted, serving_prefill=first), runs)
    sequence = fit_sequence_step(throughputs)
    stepped = replace(fitted, serving_prefill=replace(first, sequence_step_s=sequence))
    again = fit_serving_prefill(ttft_cases(catalog, stepped, runs))
    return replace(fitted, serving_prefill=None if again is None else replace(
        again, sequence_step_s=sequence, throughput_rows=len(throughputs)))


def fit_shipped(catalog: Catalog, runs: tuple[ServingMeasurement, ...]) -> SpeedFit:
    """The constants that ship (catalog/speed_fit.yaml): the speed fit on every measurement, with the serving
    engines' constants fitted on every run."""
    rows, _ = cases(catalog)
    return fit_serving(catalog, fit(rows, catalog.defaults), runs)
