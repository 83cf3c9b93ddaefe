"""Presenters for hardware, recommend and estimate: machine and estimates -> View."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.present.envelope import estimate_dict
from advisor.present.tables import (
    CALIBRATED_LEGEND,
    CPU_LEGEND,
    ESTIMATE_CSV,
    ESTIMATE_DROP,
    ESTIMATE_LEFT,
    INSTALLED_LEGEND,
    cpu_bound,
    estimate_rows,
    hardware_rows,
    is_installed,
    rate,
    summary,
)
from advisor.present.view import Line, Section, View, notes_lines, table

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.plan.recommend import Estimate, Estimator, Request, Usefulness
    from advisor.specs import ModelSpec

ENGINE_NAMES = {"mlx": "MLX", "vllm": "vLLM"}  # as the legend prints them


def short_why(e: Estimate, u: Usefulness) -> str:
    """The table's reason a row is not usable: the context it was sized at, or its slow decode."""
    if u.usable:
        return ""
    if e.placement.kind == "none":
        return "does not fit"
    if u.capped:
        return f"ctx {e.context_tokens:,} max"
    return "too slow"


def hardware_view(machine: Machine) -> View:
    """The machine every estimate assumes: a summary line, its GPUs, its CPU and RAM bandwidth."""
    hw = machine.hardware
    headers, rows = hardware_rows(machine)
    cpu = Line(f"CPU: {hw.cpu_name or 'unknown'} · {hw.cpu_physical_cores or '?'} cores "
               f"({hw.cpu_logical_cores or '?'} threads) · RAM bandwidth {machine.ram_bandwidth_gbps:g} GB/s "
               f"({machine.ram_bandwidth_basis})")
    grid = table(headers, rows, left=frozenset({"GPU", "Catalog"}), names=frozenset({"GPU"}),
                 drop=("FP16 TFLOPS", "Catalog", "Usable GiB"))
    section = Section(before=(Line(summary(machine)),), table=grid if machine.devices else None, after=(cpu,))
    return View("hardware", machine=machine, sections=(section,), notes=tuple(machine.notes), main=grid)


def recommend_view(machine: Machine, estimates: list[Estimate], est: Estimator, *, request: Request, depth: int,
                   use: str | None, explain: bool, installed: dict[str, list[str]], min_tps: float = 5.0,
                   sort: str = "quality", limit: int | None = None) -> View:
    """One row per model (its best option), ranked; the first `limit` of them (None: all); the first usable one's
    llama.cpp command."""
    from advisor.plan.commands import commands
    from advisor.plan.recommend import tensor_hint, usefulness
    from advisor.plan.uses import USES

    useful = [usefulness(e, est, request, min_tps) for e in estimates]
    more = max(0, len(estimates) - limit) if limit else 0
    shown, shown_useful = (estimates[:limit], useful[:limit]) if limit else (estimates, useful)
    results = tuple({**estimate_dict(e, depth, commands(e, machine, est)), "installed": installed.get(e.model.id, []),
                     **usefulness_dict(e, u)} for e, u in zip(shown, shown_useful, strict=True))
    by = (f", ranked for {use} by {' then '.join(USES[use]) or 'context length'}" if use
          else ", most useful first" if sort == "quality" else f", sorted by {sort}")
    capped = sum(u.capped for u in useful)
    at = (f" ({capped} sized at a shorter maximum, marked)" if capped else "")
    what = ("GGUF files on this machine, each at its own file type" if estimates and all(map(is_installed, estimates))
            else "Best quantization per model")
    top = next((e for e, u in zip(estimates, useful, strict=True) if u.usable),
               next((e for e in estimates if e.placement.kind != "none"), None))
    section = estimates_section(machine, shown, show_model=True, show_score=bool(use), explain=explain,
                                title=f"{what} at {request.context_tokens:,} tokens of context{at}{by}",
                                run_line=run_lines(commands(top, machine, est), top.engine) if top else None,
                                useful=shown_useful)
    if more:
        section = Section(section.before, section.table,
                          (Line(f"… and {more} more (--limit 0 for all)"), *section.after))
    ranking = {"use": use, "benchmarks": list(USES[use]) if use else [], "sort": sort, "min_tps": min_tps,
               "quality_index": "aa-intelligence-index-v4.0", "total": len(estimates)}
    hint = tensor_hint(top, machine, est, request) if top else None
    hints = [hint] if hint else []
    return View("recommend", machine=machine, results=results, extra={"ranking": ranking, "notes": hints},
                sections=(section,), notes=(*machine.notes, *hints))


def usefulness_dict(e: Estimate, u: Usefulness) -> dict[str, Any]:
    """The JSON of the usefulness rule for one result (docs/ranking.md); quality null: quality unknown."""
    q = e.model.quality
    quality = None if q is None else {"index": q.index, "value": q.value, "adjusted": round(u.adjusted or 0.0, 3),
                                      "quant_kld": u.quant_kld, "source": q.source}
    return {"quality": quality, "usable": u.usable, "why_not_usable": u.why_not_usable}


def estimate_view(machine: Machine, model: ModelSpec, estimates: list[Estimate], est: Estimator, notes: list[str], *,
                  depth: int, explain: bool, best: Estimate) -> View:
    """One row per file type of one model; `best` is the one whose command is shown."""
    from advisor.plan.commands import commands

    results = tuple(estimate_dict(e, depth, commands(e, machine, est)) for e in estimates)
    section = estimates_section(
        machine, estimates, show_model=False, explain=explain,
        title=f"{model.name} at {estimates[0].context_tokens:,} tokens of context (depth {depth:,})",
        run_line=run_lines(commands(best, machine, est), best.engine)
        if best.placement.kind != "none" else None)
    section = Section(section.before, section.table,
                      section.after + _prompt_lines(estimates) + notes_lines(machine.notes))
    # the notes of the estimate whose command is shown (a context cut to fit, a split mode that does not apply)
    return View("estimate", machine=machine, results=results, extra={"notes": notes}, sections=(section,),
                notes=tuple(dict.fromkeys([*notes, *best.notes])))


def run_lines(found: dict[str, str | None], engine: str) -> tuple[str, ...]:
    """The estimate's own command; where it can only name a placeholder file (no catalogued repository hosts it),
    also another engine's command that needs no placeholder (an MLX conversion, vLLM, an Ollama hf.co pull)."""
    own = found.get(engine)
    if own is None:
        return ()
    if "-m <" not in own:
        return (own,)
    other = next((c for name, c in found.items() if name != engine and c and "<" not in c.split("#")[0]), None)
    return (own, other) if other else (own,)


def _prompt_lines(estimates: list[Estimate]) -> tuple[Line, ...]:
    """With --prompt: each file type's time to first token (the prompt at the Prefill column's rate, plus a serving
    engine's fixed time per prefill pass and each request's own time)."""
    prompt = estimates[0].speed.prompt_tokens if estimates else None
    if not prompt:
        return ()
    times = [f"{e.recipe.name} {e.speed.time_to_first_token_s:.2f} s" for e in estimates
             if e.speed.time_to_first_token_s is not None]
    passes = " and each prefill pass's fixed time" if any(e.speed.prefill_pass_s for e in estimates) else ""
    if any(e.speed.prefill_request_s for e in estimates):
        passes += ", plus the request's own way in and out of the engine"
    return (Line(f"Prompt of {prompt:,} tokens (prefill is the rate over it{passes}): first token after "
                 + (", ".join(times) if times else "— (prefill not estimated)")),)


def estimates_section(machine: Machine, estimates: list[Estimate], *, title: str, show_model: bool,
                      show_score: bool = False, explain: bool = False, run_line: tuple[str, ...] | None = None,
                      useful: list[Usefulness] | None = None) -> Section:
    """The machine's summary, the estimates table, the legend, measured speeds and the command to run; with
    `useful`, the Quality column and, where a row is not usable, why."""
    headers, rows = estimate_rows(estimates, show_model=show_model, show_score=show_score, explain=explain)
    if useful is not None:
        headers.append("Quality")
        for row, u in zip(rows, useful, strict=True):
            row.append("?" if u.adjusted is None else f"{u.adjusted:.1f}")
        if any(not u.usable for u in useful):
            headers.append("Not usable")
            for e, row, u in zip(estimates, rows, useful, strict=True):
                row.append(short_why(e, u))
    grid = table(headers, rows, title=title, left=ESTIMATE_LEFT,
                 widths={"Model": 24 if explain else 30 if show_score else 34, "Ranked by": 26},
                 names=frozenset({"Model"}), wrap=frozenset({"Ranked by"}), drop=ESTIMATE_DROP,
                 csv_headers=ESTIMATE_CSV, id_column=("Model", "Model id") if show_model else None,
                 ids=[e.model.id for e in estimates])
    quality = [Line("Quality: Artificial Analysis Intelligence Index v4.0 less the file type's loss (? = not "
                    "scored); usable: decodes at --min-tps or more at the asked context (docs/ranking.md).", dim=True)
               ] if useful is not None else []
    engines = " and ".join(dict.fromkeys(ENGINE_NAMES.get(e.engine, e.engine) for e in estimates)) or "llama.cpp"
    legend = Line("Memory: weights + KV cache + runtime buffers. Decode and prefill in tokens/s, "
                  f"{engines} at batch 1, estimated" + ("; Range: where four in five measurements fell, their "
                                                        "device held out (docs/accuracy.md)" if explain
                                                        else "; --explain shows ranges and basis")
                  + ("" if show_model else ". Max ctx: the longest context that fits all on the GPU") + ".", dim=True)
    calibrated = [Line(CALIBRATED_LEGEND, dim=True)] if any(e.speed.calibrated for e in estimates) else []
    if any(cpu_bound(e) for e in estimates if e.speed.decode_tokens_per_s is not None):
        calibrated.append(Line(CPU_LEGEND, dim=True))
    if show_model and any(is_installed(e) for e in estimates):
        calibrated.append(Line(INSTALLED_LEGEND, dim=True))
    measured = [Line(f"Measured: {e.model.name} {e.recipe.name} {m.test} {rate(m.tokens_per_s)} t/s on this GPU, "
                     f"{m.backend}{f' {m.date}' if m.date else ''} ({m.source})")
                for e in estimates for m in (e.speed.measured_decode, e.speed.measured_prefill) if m is not None]
    run = [Line(f"{'Run it' if i == 0 else 'Or'}: {line}", command=True)
           for i, line in enumerate(run_line or ())]
    return Section(before=(Line(summary(machine)),), table=grid, after=(legend, *calibrated, *quality, *measured, *run))
