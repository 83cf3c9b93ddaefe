"""docs/accuracy.md's Serving section: `advisor serve` against published serving benchmarks (catalog/serving/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.plan.serve_validate import ServingPrediction
    from advisor.specs.facts import Catalog


def _pct(value: float | int) -> str:
    return f"{value * 100:.1f} %"


def serving_markdown(predictions: list[ServingPrediction]) -> str:
    """The section appended to docs/accuracy.md by `advisor validate --markdown`."""
    from advisor.speed.validate import error_summary

    scored = [(p, e) for p in predictions if (e := p.aggregate_error) is not None]
    agg = error_summary([e for _, e in scored])
    prefill = [e for e in (p.prefill_error for p in predictions) if e is not None]
    devices = sorted({p.run.device for p, _ in scored})
    out = ["", "## Serving (advisor serve)", "",
           "Published serving runs (`catalog/serving/`, each with its URL and a verbatim quote), predicted by",
           "`advisor serve`. A batch's decode step is the single-user model at that batch plus what each running",
           "sequence past the first adds (the serving engines' per-sequence step time, fitted on the published",
           "throughputs); the serving engines' prefill (efficiency, fixed time per layer of a pass run without CUDA",
           "graphs and what each MoE layer adds to it, each request's own time) is fitted on the published times to",
           "first token. Each device is",
           "predicted with the single-user constants fitted without that device and the serving constants fitted",
           "without its runs (leave-one-device-out).",
           "Error = predicted / measured - 1.", ""]
    if agg["n"]:
        out.append(f"- Aggregate decode tokens/s: {agg['n']} runs on {len(devices)} device(s) "
                   f"({', '.join(devices)}), median absolute error {_pct(agg['median_abs_error'])}, 90th percentile "
                   f"{_pct(agg['p90_abs_error'])}, median signed error {_pct(agg['median_error'])} "
                   "(target: 25 % median).")
    for engine in sorted({p.run.engine for p, _ in scored}):
        one = error_summary([e for p, e in scored if p.run.engine == engine])
        out.append(f"  - {engine}: {one['n']} runs, median absolute error {_pct(one['median_abs_error'])}, median "
                   f"signed error {_pct(one['median_error'])}.")
    if prefill:
        pre = error_summary(prefill)
        out.append(f"- Prefill of the batch's prompts (the last sequence's TTFT): {pre['n']} runs, median absolute "
                   f"error {_pct(pre['median_abs_error'])}.")
    out += _ttft_lines(predictions)
    out += ["", "`measure`: decode = the batch's decode rate alone (llama-batched-bench S_TG, one batch); "
            "closed-loop = output tokens over a whole run of that many users, each sending its next prompt when a "
            "reply ends (predicted by the curve's steady state, prompts included).", "",
            "| engine | device | GPUs | model | file | measure | prompt | output | batch | measured t/s "
            "| predicted t/s | error |", "|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {p.run.engine} | {p.run.device} | {p.run.gpus} | {p.run.model} | {p.run.quant} | {p.run.measure} | "
            f"{p.run.prompt_tokens} | {p.run.output_tokens} | {p.run.batch} | "
            f"{p.run.aggregate_decode_tokens_per_s or 0:,.1f} | {p.aggregate_decode_tokens_per_s:,.1f} | "
            f"{e * 100:+.0f} % |" for p, e in scored]
    return "\n".join(out) + "\n"


def _ttft_lines(predictions: list[ServingPrediction]) -> list[str]:
    """The TTFT summary lines, by statistic and engine, and the table of every run with a published TTFT."""
    from advisor.speed.validate import error_summary

    rows = [(p, e, scored) for p in predictions if (e := p.ttft_error) is not None and (scored := p.run.scored_ttft)]
    if not rows:
        return []
    t = error_summary([e for _, e, _ in rows])
    out = [f"- Time to first token (the published median where the source prints one, else the mean): {t['n']} runs "
           f"on {len({p.run.device for p, _, _ in rows})} devices, median absolute error "
           f"{_pct(t['median_abs_error'])}, 90th percentile {_pct(t['p90_abs_error'])}, median signed error "
           f"{_pct(t['median_error'])} (target: 25 % median)."]
    for stat in ("median", "mean"):
        one = error_summary([e for _, e, scored in rows if scored[1] == stat])
        if one["n"]:
            out.append(f"  - on published {stat}s: {one['n']} runs, median absolute error "
                       f"{_pct(one['median_abs_error'])}.")
    for engine in sorted({p.run.engine for p, _, _ in rows}):
        one = error_summary([e for p, e, _ in rows if p.run.engine == engine])
        out.append(f"  - {engine}: {one['n']} runs, median absolute error {_pct(one['median_abs_error'])}.")
    means = error_summary([e for p in predictions if (e := p.mean_ttft_error) is not None])
    out.append(f"- The same runs against their published means instead (a short run's mean carries its first "
               f"round's burst and one-off stalls): {means['n']} runs, median absolute error "
               f"{_pct(means['median_abs_error'])}.")
    out += ["", "| engine | device | GPUs | model | prompt | users | statistic | measured TTFT ms | predicted ms "
            "| error |", "|---|---|---:|---|---:|---:|---|---:|---:|---:|"]
    out += [f"| {p.run.engine} | {p.run.device} | {p.run.gpus} | {p.run.model} | {p.run.prompt_tokens} | "
            f"{p.run.batch} | {scored[1]} | {scored[0]:,.1f} | {(p.ttft_s or 0) * 1000:,.1f} | "
            f"{e * 100:+.0f} % |" for p, e, scored in rows]
    return out


def serving_section(catalog: Catalog) -> str:
    """The section for the shipped catalog's serving runs."""
    from advisor.catalog.serving import load_serving_measurements
    from advisor.plan.serve_validate import validate_serving

    return serving_markdown(validate_serving(catalog, load_serving_measurements()))
