"""Presenter for serve: capacity, the throughput curve (a table and a small chart) and the verdict -> View."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.present.plan_tables import machine_line
from advisor.present.tables import gib, rate
from advisor.present.view import Line, Section, View, table

if TYPE_CHECKING:
    from advisor.estimate.capacity import Capacity
    from advisor.estimate.serving import Curve
    from advisor.plan.serve import Serving
    from advisor.plan.serve_plan import ServePlan
    from advisor.specs import ModelSpec

CHART_WIDTH = 30  # bar characters of the widest bar: the chart fits a 60-column terminal


def serving_dict(s: Serving) -> dict[str, Any]:
    """The JSON result: `serving` as docs/serving.md describes it, with its capacity breakdown and verdict."""
    t, c, r = s.topology, s.capacity, s.request
    return {
        "model": {"id": s.model.id, "name": s.model.name}, "quant": s.recipe.name,
        "serving": {
            "engine": r.engine, "max_concurrent_sequences": c.max_concurrent_sequences, "nodes": t.nodes,
            "gpus_per_node": len(s.machine.devices), "tensor_parallel": t.tensor_parallel,
            "pipeline_parallel": t.pipeline_parallel, "expert_parallel": t.expert_parallel,
            "curve": [{"users": p.users, "running": p.running,
                       "per_user_decode_tokens_per_s": p.per_user_decode_tokens_per_s,
                       "aggregate_decode_tokens_per_s": p.aggregate_decode_tokens_per_s, "ttft_s": p.ttft_s,
                       "burst_ttft_s": p.burst_ttft_s, "bound": p.bound} for p in s.curve.points],
            "turn_batch": s.curve.turn_batch, "prefill_tokens_per_s": s.curve.prefill_tokens_per_s,
            "capacity": _capacity_dict(c),
            "workload": {"context_tokens": r.context_tokens, "prompt_tokens": r.prompt_tokens,
                         "output_tokens": r.output_tokens},
            "verdict": {"users": s.verdict_users, "min_tokens_per_s": r.min_tokens_per_s,
                        "max_ttft_s": s.max_ttft_s},
            "constants": s.constants,
        },
        "command": s.command, "notes": list(s.notes),
    }


def _capacity_dict(c: Capacity) -> dict[str, Any]:
    return {"budget_bytes": c.budget_bytes, "weights_bytes": c.weights_bytes, "activation_bytes": c.activation_bytes,
            "cuda_graph_bytes": c.cuda_graph_bytes, "runtime_bytes": c.runtime_bytes,
            "kv_pool_bytes": c.kv_pool_bytes, "kv_bytes_per_token": c.kv_bytes_per_token,
            "page_tokens": c.page_tokens, "pages": c.pages, "sequence_bytes": c.sequence_bytes, "basis": c.basis}


def capacity_lines(s: Serving) -> tuple[Line, ...]:
    c, r = s.capacity, s.request
    per_gpu = " per GPU" if s.topology.gpus > 1 else ""
    if r.engine == "llama.cpp":
        room = (f"llama-server: {gib(c.budget_bytes)} GiB usable - weights {gib(c.weights_bytes)} GiB; KV "
                f"{c.kv_bytes_per_token // 1024:,} KiB per token, {gib(c.sequence_bytes)} GiB per slot of "
                f"{c.context_tokens:,} tokens")
        return (Line(room), Line(f"Capacity: {c.max_concurrent_sequences} slots of {c.context_tokens:,} tokens "
                                 f"({c.basis})"))
    room = (f"{r.engine}: {c.basis} -> {gib(c.budget_bytes)} GiB{per_gpu} - weights {gib(c.weights_bytes)}"
            + (f" - activations {gib(c.activation_bytes)} - CUDA graphs {gib(c.cuda_graph_bytes)} - runtime "
               f"{gib(c.runtime_bytes)}" if r.engine == "vllm" else "")
            + f" = KV pool {gib(c.kv_pool_bytes)} GiB{per_gpu}")
    pages = (f"KV {c.kv_bytes_per_token // 1024:,} KiB per token{per_gpu} -> {c.pages:,} pages of {c.page_tokens} "
             f"token(s) ({c.pages * c.page_tokens:,} tokens)")
    return (Line(room), Line(pages), Line(f"Capacity: {c.max_concurrent_sequences} concurrent sequences of "
                                          f"{c.context_tokens:,} tokens"))


def curve_rows(curve: Curve) -> tuple[list[str], list[list[str]]]:
    headers = ["Users", "Running", "Per user t/s", "Aggregate t/s", "TTFT s", "Burst TTFT s", "Bound"]
    rows = [[str(p.users), str(p.running), rate(p.per_user_decode_tokens_per_s), rate(p.aggregate_decode_tokens_per_s),
             "—" if p.ttft_s is None else f"{p.ttft_s:.2f}", "—" if p.burst_ttft_s is None else f"{p.burst_ttft_s:.2f}",
             p.bound] for p in curve.points]
    return headers, rows


def chart(curve: Curve) -> tuple[Line, ...]:
    """Per-user decode t/s against users, one bar per point."""
    top = max((p.per_user_decode_tokens_per_s for p in curve.points), default=0.0)
    if top <= 0:
        return ()
    width = len(str(curve.points[-1].users))
    lines = [Line("Per-user decode t/s:", dim=True)]
    for p in curve.points:
        bar = "█" * max(1, round(p.per_user_decode_tokens_per_s / top * CHART_WIDTH))
        lines.append(Line(f"{p.users:>{width}} │{bar} {rate(p.per_user_decode_tokens_per_s)}", dim=True))
    return tuple(lines)


def verdict_line(s: Serving) -> str:
    r = s.request
    limits = f"at least {r.min_tokens_per_s:g} t/s per user and TTFT at most {s.max_ttft_s:g} s"
    if s.verdict_users == 0:
        return f"Verdict: not even one user gets {limits}"
    if s.verdict_users >= r.users:
        more = " (all the users asked for; try --users higher)"
    elif s.verdict_users == s.capacity.max_concurrent_sequences:
        more = " (the capacity: more users wait for a free sequence slot)"
    else:
        more = ""
    return f"Verdict: {s.verdict_users} users with {limits}{more}"


def serve_view(s: Serving) -> View:
    r, t = s.request, s.topology
    layout = f"TP {t.tensor_parallel}" + (f" EP {t.expert_parallel}" if t.expert_parallel > 1 else "") \
        + (f" x PP {t.pipeline_parallel} ({t.nodes} nodes)" if t.nodes > 1 else "")
    label = "Each node" if t.nodes > 1 else "Hardware"
    head = (Line(machine_line(label, s.machine, False).split(" · ")[0]),
            Line(f"{s.model.name} ({s.recipe.name}) on {r.engine}, {layout}: prompt {r.prompt_tokens:,} + "
                 f"output {r.output_tokens:,} tokens, context {r.context_tokens:,}"),
            *capacity_lines(s))
    headers, rows = curve_rows(s.curve)
    turn = ("never compute-bound up to the capacity" if s.curve.turn_batch is None
            else f"compute-bound from a batch of {s.curve.turn_batch}")
    after = (Line(f"Decode is memory-bound at small batches, {turn}. Closed loop: each user sends the next prompt "
                  "when a reply ends; others' prompts interleave with decode. TTFT: users at their own pace; burst: "
                  "every user's prompt at once.", dim=True),
             *chart(s.curve), Line(verdict_line(s)),
             *((Line(f"Run it: {s.command}", command=True),) if s.command else ()),
             Line(f"Speed constants: {s.constants}", dim=True))
    curve_table = table(headers, rows, title=None)
    return View("serve", s.machine, (serving_dict(s),), {}, (Section(head, curve_table, after),),
                notes=s.notes, main=curve_table)



def serve_plan_view(model: ModelSpec, plan: ServePlan) -> View:
    """plan --users: the deployments that serve N users, cheapest first, with the first one's command."""
    r = plan.request
    headers = ["Hardware", "GPUs", "Price USD", "Users", "Capacity", "Per user t/s", "TTFT s", "Quant"]
    rows, results = [], []
    for o in plan.options:
        s = o.serving
        last = s.curve.points[-1]
        rows.append([o.label, str(o.gpus), f"{o.price_usd:,.0f}" if o.price_usd else "?", str(s.verdict_users),
                     str(s.capacity.max_concurrent_sequences), rate(last.per_user_decode_tokens_per_s),
                     "—" if last.ttft_s is None else f"{last.ttft_s:.2f}", s.recipe.name])
        results.append({**serving_dict(s), "hardware": o.label, "count": o.gpus, "price_usd": o.price_usd})
    grid = table(headers, rows, left=frozenset({"Hardware", "Quant"}), widths={"Hardware": 44},
                 names=frozenset({"Hardware"}), drop=("Quant", "Capacity"),
                 csv_headers={"Per user t/s": "Per-user decode t/s", "Price USD": "GPUs' launch price USD"})
    want = (f"{r.users} users on {r.engine} at ≥ {r.min_tokens_per_s:g} t/s each and TTFT ≤ "
            f"{r.max_ttft_s or 0:g} s, prompt {r.prompt_tokens:,} + output {r.output_tokens:,} tokens")
    extra = {"model": {"id": model.id, "name": model.name}, "users": r.users, "engine": r.engine,
             "min_tokens_per_s": r.min_tokens_per_s, "total": plan.total, "network_gbps": plan.network_gbps}
    if not plan.options:
        line = Line(f"No catalog deployment (up to 4 nodes of 8 GPUs) serves {model.name} to {want}.")
        return View("plan", results=(), extra=extra, sections=(Section(before=(line,)),), main=grid)
    network = (f" Multi-node: {plan.network_gbps:g} GB/s between nodes (--interconnect)." if r.engine != "llama.cpp"
               else "")
    after = [Line(f"Per user and TTFT at {r.users} users.{network} Prices: the GPUs' launch prices where known.",
                  dim=True)]
    if plan.total > len(plan.options):
        after.append(Line(f"… {plan.total - len(plan.options)} more (--limit 0 for all)", dim=True))
    first = plan.options[0].serving
    if first.command:
        after.append(Line(f"Run it on {plan.options[0].label}: {first.command}", command=True))
    order = "cheapest first" if all(o.price_usd is not None for o in plan.options) else \
        "cheapest first where a launch price is known, then fewest GPUs"
    head = Line(f"{plan.total} deployments serve {model.name} to {want}; {order}:")
    return View("plan", results=tuple(results), extra=extra, sections=(Section((head,), grid, tuple(after)),),
                main=grid)
