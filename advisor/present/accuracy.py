"""`advisor validate`: the speed model's cross-validated error, as a View or as docs/accuracy.md."""

from __future__ import annotations

from collections import Counter
from typing import Any

from advisor.present.accuracy_misses import MISSES
from advisor.present.view import Line, Section, View, table
from advisor.speed.validate import PREFILL_SLICES, Prediction, Validation, held_out_basis, summarize


def validation_dict(v: Validation) -> dict[str, Any]:
    return {
        "method": "leave-one-device-out: each device predicted by constants fitted without its measurements",
        "decode": summarize(v.of("decode")), "prefill": summarize(v.of("prefill")),
        "by_backend": {kind: v.by(kind, "backend") for kind in ("decode", "prefill")},
        "by_class": {kind: v.by(kind, "class") for kind in ("decode", "prefill")},
        "by_device": {kind: v.by(kind, "device") for kind in ("decode", "prefill")},
        "skipped": dict(Counter(reason for _, reason in v.skipped)),
        "fitted": {"moe_expert_layer_cost": v.fitted.moe_expert_layer_cost,
                   "moe_prefill_factor": round(v.fitted.moe_prefill_factor, 4),
                   "moe_expert_layer_cost_by_backend": dict(sorted(v.fitted.moe_expert_layer_cost_by_backend.items())),
                   "moe_prefill_factor_by_backend": {k: round(x, 4) for k, x in
                                                     sorted(v.fitted.moe_prefill_factor_by_backend.items())}},
    }


def prediction_rows(v: Validation) -> list[dict[str, Any]]:
    return [{"device": p.case.group, "backend": p.case.m.backend, "model": p.case.m.model,
             "quant": p.case.m.quant, "test": p.case.m.test, "depth_tokens": p.case.m.depth_tokens,
             "measured_tokens_per_s": p.case.m.tokens_per_s,
             "predicted_tokens_per_s": round(p.predicted_tokens_per_s, 2), "error": round(p.error, 4),
             "source": p.case.m.source} for p in v.predictions]


def _pct(x: float | int) -> str:
    return f"{100 * x:.1f} %"


def _table(title: str, groups: dict[str, dict[str, float | int]]) -> list[str]:
    lines = [f"| {title} | n | median abs. error | 90th pct abs. error | median signed error |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {s['n']} | {_pct(s['median_abs_error'])} | {_pct(s['p90_abs_error'])} | "
              f"{_pct(s['median_error'])} |" for k, s in groups.items()]
    return lines


def _worst(predictions: list[Prediction], count: int) -> list[str]:
    """The largest misses, each with what its held-out prediction rested on (validate.held_out_basis)."""
    lines = ["| device | model | quant | test | measured t/s | predicted t/s | error | held out, it rested on |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for p in sorted(predictions, key=lambda p: -abs(p.error))[:count]:
        m = p.case.m
        lines.append(f"| {p.case.group} | {m.model} | {m.quant} | {m.test} d{m.depth_tokens} | {m.tokens_per_s:g} | "
                     f"{p.predicted_tokens_per_s:.1f} | {p.error:+.0%} | {held_out_basis(p, predictions)} |")
    return lines


def _target(label: str, value: float | int, limit: float) -> str:
    shown = _pct(value)
    if value > limit and shown == _pct(limit):  # the rounding would hide the miss
        shown = f"{100 * value:.3f} %"
    return f"{label} {'met' if value <= limit else 'not met'} ({shown})"


def _ranges_target(v: Validation) -> str:
    """Issue 14's bound on the ranges: each kind's held-out runs inside the range they would have been shown."""
    parts = []
    for kind in ("decode", "prefill"):
        inside, n = v.coverage(kind)["all"]
        parts.append(f"{kind} {'met' if inside >= 0.8 * n else 'not met'} ({_pct(inside / n)}, {inside} of {n})")
    return "; ranges hold for ≥ 80 % of held-out runs: " + ", ".join(parts)


def _prefill_slices(v: Validation) -> str:
    """Issue 14's bound on two slices of the prefill runs: gpt-oss's and the APUs' (an AMD or NVIDIA chip sharing
    the machine's memory)."""
    slices = [(label, [q for q in v.of("prefill") if selects(q.case)]) for label, selects in PREFILL_SLICES.items()]
    return "".join(f", {label} prefill median ≤ 20 % "
                   f"{_target('', summarize(rows)['median_abs_error'], 0.20).strip()} over {len(rows)} runs"
                   for label, rows in slices)


def _ablation(variants: dict[str, dict[str, dict[str, float | int]]]) -> list[str]:
    lines = ["## What each part of the model buys", "",
             "The same leave-one-device-out procedure, run on the same measurements with parts of the model removed.",
             "MoE columns: the decode rows of MoE models alone (signed: the bias, estimate / measured - 1); CPU "
             "columns: the CPU-only decode rows; prefill at depth: the prefill rows with 4096 tokens of context or "
             "more already there; gpt-oss and APU: issue 14's two prefill slices with a bound of their own.", "",
             "| variant | decode median | decode p90 | MoE decode median | MoE decode signed | CPU decode median "
             "| CPU decode p90 | prefill median | prefill p90 | prefill at depth median | gpt-oss prefill median "
             "| APU prefill median |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {label} | {_pct(r['decode']['median_abs_error'])} | {_pct(r['decode']['p90_abs_error'])} | "
              f"{_pct(r['moe decode']['median_abs_error'])} | {_pct(r['moe decode']['median_error'])} | "
              f"{_pct(r['cpu decode']['median_abs_error'])} | {_pct(r['cpu decode']['p90_abs_error'])} | "
              f"{_pct(r['prefill']['median_abs_error'])} | {_pct(r['prefill']['p90_abs_error'])} | "
              f"{_pct(r['deep prefill']['median_abs_error'])} | {_pct(r['gpt-oss prefill']['median_abs_error'])} | "
              f"{_pct(r['APU prefill']['median_abs_error'])} |"
              for label, r in variants.items()]
    return lines


def _slices(v: Validation) -> list[str]:
    lines = []
    for attribute, title in (("engine", "engine"), ("moe", "dense or MoE"), ("depth", "depth (tokens in context)"),
                             ("year", "build year (the row's date)"), ("split", "GPUs and how they split the model")):
        for kind in ("decode", "prefill"):
            lines += [f"## {kind.capitalize()} by {title}", "", *_table(attribute, v.by(kind, attribute)), ""]
    return lines


def _coverage(v: Validation) -> list[str]:
    """How often the range shown beside an estimate holds the measured value, on held-out predictions."""
    from advisor.speed.ranges import calibrated_tail, uncalibrated_coverage

    tails = {kind: calibrated_tail(v.of(kind), kind) for kind in ("decode", "prefill")}
    plain = {kind: uncalibrated_coverage(v.of(kind), kind) for kind in ("decode", "prefill")}
    lines = ["## Do the ranges hold?", "",
             "Each held-out prediction with the range it would have been shown had its device never been measured:",
             "the band of the other devices' held-out errors for its decode constants' key, backend:family or",
             "backend:class, and for prefill its backend; where that key has fewer than 8 from 3 devices (one or",
             "two devices' errors say how they vary, not how an unmeasured device would), its backend's keys'",
             "together (a driver and a build err alike across a backend's devices), else every device's. A band",
             "leaves out a tail of the errors on each side, the floor(t (n + 1))-th to the ceil((1 - t)(n + 1))-th",
             "of n. At 10 % (the 10th to 90th percentile) the bands hold "
             f"{_cell(plain['decode'])} decode and {_cell(plain['prefill'])}",
             "prefill runs: a device's runs err together (a driver, a memory clock, a build), so a band of runs is",
             "narrower than an unmeasured device needs. The tail is calibrated on the held-out devices: the",
             "widest, from 10 % outwards in steps of half a point, under which 80 % x (m + 1) / m of the held-out",
             "runs of m devices fall in their range (split conformal's finite-sample correction, the device being",
             f"the unit; shipped: decode {_band(tails['decode'])}, prefill {_band(tails['prefill'])}).",
             "The share of measurements inside, each device's runs checked at the tail calibrated without that",
             "device (the aim is 80 %):", "", "| backend | decode inside | prefill inside |", "|---|---:|---:|"]
    decode, prefill = v.coverage("decode"), v.coverage("prefill")
    lines += [f"| {label} | {_cell(decode.get(label))} | {_cell(prefill.get(label))} |"
              for label in ["all", *sorted((set(decode) | set(prefill)) - {"all"})]]
    return [*lines, "", *_calibration(v)]


def _band(tail: float) -> str:
    return f"percentiles {100 * tail:g} to {100 * (1 - tail):g}"


def _cell(found: tuple[int, int] | None) -> str:
    return "—" if not found else f"{found[0]} of {found[1]} ({_pct(found[0] / found[1])})"


def _calibration(v: Validation) -> list[str]:
    """The threshold's evidence: how often a band of the key's own other devices holds a held-out run, by how many
    devices it rests on (whatever the shipped threshold)."""
    decode, prefill = v.band_calibration("decode"), v.band_calibration("prefill")
    lines = ["A band of the key's own, by the other devices it rests on (every key with 8 such predictions, whatever",
             "the threshold, at the shipped tail): how often it holds a held-out run. This sets the 3 devices a key",
             "needs for a band of its own.", "", "| devices | decode inside | prefill inside |", "|---|---:|---:|"]
    lines += [f"| {'4 or more' if n == 4 else n} | {_cell(decode.get(n))} | {_cell(prefill.get(n))} |"
              for n in sorted(set(decode) | set(prefill))]
    return [*lines, ""]


def _spread(v: Validation) -> str:
    """How much the two medians owe to which devices were measured (Validation.interval)."""
    (dl, dh), (pl, ph) = v.interval("decode"), v.interval("prefill")
    return (f"- Which devices were measured moves these: drawing each kind's devices again with replacement (1,000 "
            f"draws), the decode median falls between {_pct(dl)} and {_pct(dh)} nine times in ten, the prefill median "
            f"between {_pct(pl)} and {_pct(ph)}.")


def _wrap(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, 110)


def accuracy_markdown(v: Validation, variants: dict[str, dict[str, dict[str, float | int]]]) -> str:
    """docs/accuracy.md, exactly as `advisor validate --markdown` prints it."""
    d, p = summarize(v.of("decode")), summarize(v.of("prefill"))
    out = [
        "# How accurate are advisor's speeds?", "",
        "Generated by `advisor validate --markdown` from the published measurements in `catalog/measurements/`",
        "(each with its URL and a verbatim quote). Every device is predicted by constants fitted **without** that",
        "device's own measurements (leave-one-device-out), so these are errors on hardware the fit has not seen.",
        "Error = predicted / measured - 1.", "",
        f"- Decode: {d['n']} measurements, median absolute error {_pct(d['median_abs_error'])}, 90th percentile "
        f"{_pct(d['p90_abs_error'])}, median signed error {_pct(d['median_error'])}.",
        f"- Prefill: {p['n']} measurements, median absolute error {_pct(p['median_abs_error'])}, 90th percentile "
        f"{_pct(p['p90_abs_error'])}, median signed error {_pct(p['median_error'])}.",
        _spread(v), f"- Left out: {len(v.skipped)} measurements (reasons below).", "",
        "Targets (issue 5): " + ", ".join(_target(label, value, limit) for label, value, limit in (
            ("decode median ≤ 15 %", d["median_abs_error"], 0.15), ("decode 90th percentile ≤ 40 %",
                                                                   d["p90_abs_error"], 0.40),
            ("prefill median ≤ 25 %", p["median_abs_error"], 0.25))) + ".",
        "Targets (issue 14): " + ", ".join(_target(label, value, limit) for label, value, limit in (
            ("decode median ≤ 10 %", d["median_abs_error"], 0.10), ("decode 90th percentile ≤ 30 %",
                                                                   d["p90_abs_error"], 0.30),
            ("prefill median ≤ 20 %", p["median_abs_error"], 0.20))) + _prefill_slices(v) + _ranges_target(v) +
        f"; measurements scored: {d['n']} decode (≥ 300 asked), {p['n']} prefill (≥ 150 asked).", "",
        *_wrap(MISSES), "",
        "## Decode by backend", "", *_table("backend", v.by("decode", "backend")), "",
        "## Decode by backend and family or class", "", *_table("backend:family or class", v.by("decode", "class")),
        "",
        "## Prefill by backend", "", *_table("backend", v.by("prefill", "backend")), "",
        *_slices(v), *_coverage(v),
        "## Largest decode misses", "", *_worst(v.of("decode"), 12), "",
        "## Largest prefill misses", "", *_worst(v.of("prefill"), 12), "",
        *_ablation(variants), "",
        "## Measurements left out", "", "| reason | count |", "|---|---:|",
        *[f"| {reason} | {n} |" for reason, n in Counter(r for _, r in v.skipped).most_common()], "",
    ]
    return "\n".join(out)


def validation_view(v: Validation, variants: dict[str, dict[str, dict[str, float | int]]] | None = None) -> View:
    """Per kind a line and the error by backend and class; with `variants`, docs/accuracy.md as the document."""
    data = validation_dict(v)
    sections = []
    for kind in ("decode", "prefill"):
        s, (low, high) = data[kind], v.interval(kind)
        line = Line(f"{kind}: {s['n']} measurements, leave-one-device-out median |error| "
                    f"{100 * s['median_abs_error']:.1f} % ({100 * low:.1f}-{100 * high:.1f} % as the devices measured "
                    f"vary), 90th percentile {100 * s['p90_abs_error']:.1f} %, median signed "
                    f"{100 * s['median_error']:+.1f} %")
        rows = [[k, str(g["n"]), f"{100 * g['median_abs_error']:.1f} %", f"{100 * g['p90_abs_error']:.1f} %"]
                for k, g in data["by_class"][kind].items()]
        sections.append(Section(before=(line,), table=table(["constants", "n", "median |err|", "p90 |err|"],
                                                            rows, left=frozenset({"constants"}))))
    left_out = Line(f"left out: {sum(data['skipped'].values())} measurements (see --json or docs/accuracy.md)")
    sections.append(Section(after=(left_out,)))
    main = table(["kind", "constants", "n", "median |err|", "p90 |err|"],
                 [[kind, *row] for section, kind in zip(sections, ("decode", "prefill"), strict=False)
                  if section.table is not None for row in section.table.rows])
    return View("validate", results=tuple(prediction_rows(v)), extra={"summary": data}, sections=tuple(sections),
                main=main, document=None if variants is None else accuracy_markdown(v, variants))
