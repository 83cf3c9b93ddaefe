"""advisor serve: capacity, the throughput curve and the verdict, as one engine mode of the speed model."""

from __future__ import annotations

import itertools
import re

import pytest

from advisor.errors import UsageError
from advisor.estimate.capacity import Topology, kv_share
from advisor.estimate.estimator import Estimator
from advisor.estimate.serving import user_counts
from advisor.plan.serve import ServeRequest, network_gbps, serve, serve_on
from advisor.plan.serve_validate import ServingPrediction, validate_serving
from advisor.specs.facts import Catalog
from advisor.units import GIB
from tests.test_cli import run, run_json

LLAMA_8B_KV_PER_TOKEN = 32 * 8 * 128 * 2 * 2  # layers x KV heads x head_dim x (K, V) x BF16 bytes = 128 KiB


@pytest.fixture(scope="module")
def est(catalog: Catalog) -> Estimator:
    return Estimator(catalog)


@pytest.fixture(scope="module")
def held_out(catalog: Catalog) -> list[ServingPrediction]:
    """Every published serving run predicted with constants fitted without its device (advisor validate's)."""
    from advisor.catalog.serving import load_serving_measurements

    return validate_serving(catalog, load_serving_measurements())


def test_worked_example_llama_8b_on_h100_matches_vllms_own_profile(est: Estimator, make_machine) -> None:
    # vLLM's log for Meta-Llama-3-8B on an H100 (github.com/vllm-project/vllm/pull/10511): 71.29 GiB usable,
    # weights 14.96 GiB, activation peak 1.26 GiB, available_kv_cache_memory 53.29 GiB -> 53 sequences of 8192 tokens
    s = serve(est, est.catalog.model("llama-3.1-8b"), make_machine("H100"), ServeRequest(users=64))
    c = s.capacity
    assert c.kv_bytes_per_token == LLAMA_8B_KV_PER_TOKEN
    assert c.weights_bytes / GIB == pytest.approx(14.96, rel=0.01)
    assert c.activation_bytes / GIB == pytest.approx(1.26, rel=0.02)
    assert c.kv_pool_bytes / GIB == pytest.approx(53.29, rel=0.05)
    assert c.sequence_bytes == 8192 // 16 * 16 * LLAMA_8B_KV_PER_TOKEN  # 512 pages of 16 tokens = 1 GiB
    assert c.max_concurrent_sequences == c.kv_pool_bytes // c.sequence_bytes
    assert abs(c.max_concurrent_sequences - 53) <= 3
    assert c.pages == c.kv_pool_bytes // (16 * LLAMA_8B_KV_PER_TOKEN)


def test_curve_trades_per_user_speed_for_aggregate_until_the_capacity(est: Estimator, make_machine) -> None:
    s = serve(est, est.catalog.model("llama-3.1-8b"), make_machine("H100"), ServeRequest(users=256))
    points = s.curve.points
    assert [p.users for p in points] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    below = [p for p in points if p.users <= s.capacity.max_concurrent_sequences]
    for a, b in itertools.pairwise(below):
        assert b.per_user_decode_tokens_per_s < a.per_user_decode_tokens_per_s
        assert b.aggregate_decode_tokens_per_s > a.aggregate_decode_tokens_per_s
    over = [p for p in points if p.users > s.capacity.max_concurrent_sequences]
    assert over and all(p.running == s.capacity.max_concurrent_sequences for p in over)
    assert len({round(p.aggregate_decode_tokens_per_s, 6) for p in over}) == 1  # saturated: the queue only waits
    ttfts = [p.ttft_s or 0.0 for p in over]
    assert ttfts == sorted(ttfts) and ttfts[0] > (below[-1].ttft_s or 0.0)


def test_one_user_decodes_at_the_single_user_estimate(est: Estimator, make_machine) -> None:
    from advisor.estimate.estimator import Request

    machine = make_machine("H100")
    model = est.catalog.model("llama-3.1-8b")
    s = serve(est, model, machine, ServeRequest(users=1, prompt_tokens=512, output_tokens=2))
    single = est.estimate(model, est.catalog.recipe("vLLM-BF16"), machine, Request(depth_tokens=513))
    step = s.curve.points[0].step_s
    assert 1 / step == pytest.approx(single.speed.decode_tokens_per_s, rel=1e-3)


def test_verdict_is_the_largest_user_count_that_meets_both_limits(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("llama-3.1-8b"), make_machine("H100")
    loose = serve(est, model, machine, ServeRequest(users=512, min_tokens_per_s=5))
    strict = serve(est, model, machine, ServeRequest(users=512, min_tokens_per_s=80))
    assert 0 < strict.verdict_users < loose.verdict_users <= loose.capacity.max_concurrent_sequences
    hopeless = serve(est, model, machine, ServeRequest(users=8, min_tokens_per_s=10_000))
    assert hopeless.verdict_users == 0
    no_wait = serve(est, model, machine, ServeRequest(users=512, min_tokens_per_s=5, max_ttft_s=0.001))
    assert no_wait.verdict_users == 0  # a prompt of 1024 tokens takes longer than a millisecond


def test_compute_bound_turn_is_where_the_step_changes_bound(est: Estimator, make_machine) -> None:
    # short sequences: little KV to read per sequence, so a big batch's FLOPs outgrow the weights' read time
    s = serve(est, est.catalog.model("llama-3.2-1b"), make_machine("H100"),
              ServeRequest(users=4096, context_tokens=256, prompt_tokens=64, output_tokens=64))
    turn = s.curve.turn_batch
    assert turn is not None and 1 < turn < s.capacity.max_concurrent_sequences
    assert s.step.seconds(turn)[1] == "compute" and s.step.seconds(turn - 1)[1] == "memory"
    assert any(p.bound == "compute" for p in s.curve.points)


def test_tensor_parallel_splits_weights_and_kv_heads_across_gpus(est: Estimator, make_machine) -> None:
    model = est.catalog.model("llama-3.1-70b")
    s = serve_on(est, model, make_machine("8x H100"), ServeRequest(users=64))
    assert s.topology.tensor_parallel == 8 and s.topology.link_gbps == 370.0
    assert s.capacity.weights_bytes == est.weights(model, s.recipe).weights_bytes // 8
    assert s.capacity.kv_bytes_per_token == 80 * 8 * 128 * 2 * 2 // 8  # one of the 8 KV heads per GPU
    assert kv_share(model, Topology(gpus_per_node=16)) == 1 / 8  # a head is never split: 16 GPUs keep 1 each
    two_nodes = serve_on(est, model, make_machine("8x H100"),
                         ServeRequest(users=64, nodes=2, network_gbps=network_gbps("400Gbps")))
    assert two_nodes.capacity.max_concurrent_sequences > 2 * s.capacity.max_concurrent_sequences  # weights halve too
    assert "--pipeline-parallel-size 2" in (two_nodes.command or "")


def test_llama_server_slots_share_one_context(est: Estimator, make_machine) -> None:
    s = serve(est, est.catalog.model("llama-3.1-8b"), make_machine("RTX 4090"),
              ServeRequest(engine="llama.cpp", users=8, context_tokens=4096))
    slots = s.capacity.max_concurrent_sequences
    assert slots >= 8
    assert f"-c {8 * 4096} " in (s.command or "") and " -np 8 " in (s.command or "")
    assert s.recipe.name == "Q4_K_M"


def test_moe_reads_more_experts_as_the_batch_grows(est: Estimator, make_machine) -> None:
    s = serve(est, est.catalog.model("qwen3-30b-a3b"), make_machine("H100"), ServeRequest(users=4))
    w, kv_one = s.step.weights, s.step.read_bytes(1) - s.step.weights.read_per_token_bytes
    assert s.step.read_bytes(1) == pytest.approx(w.read_per_token_bytes + kv_one)
    assert s.step.read_bytes(1) < s.step.read_bytes(8) - 7 * kv_one  # more experts touched, not just more KV
    # a batch large enough touches every expert: all the weights but the embeddings, once per step
    every = w.read_per_token_bytes + w.routed_expert_bytes * (1 - 8 / 128)
    assert s.step.read_bytes(10_000) - 10_000 * kv_one == pytest.approx(every, rel=1e-6)


@pytest.mark.parametrize(("text", "gbps"), [("400Gbps", 50.0), ("50GB/s", 50.0), ("100", 12.5)])
def test_interconnect_reads_bits_or_bytes(text: str, gbps: float) -> None:
    assert network_gbps(text) == gbps


def test_user_counts_double_up_to_the_asked_number() -> None:
    assert user_counts(1) == (1,)
    assert user_counts(48) == (1, 2, 4, 8, 16, 32, 48)


def test_bad_requests_are_usage_errors(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("llama-3.1-8b"), make_machine("H100")
    for req in (ServeRequest(engine="tgi"), ServeRequest(nodes=2), ServeRequest(prompt_tokens=8000, output_tokens=800),
                ServeRequest(engine="llama.cpp", quant="vLLM-BF16")):
        with pytest.raises(UsageError):
            serve(est, model, machine, req)
    with pytest.raises(UsageError, match="does not run"):
        serve(est, model, make_machine("RTX 4090"), ServeRequest(engine="vllm"))


def test_serve_json_carries_the_serving_block(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "serve", "llama-3.1-8b", "--gpu", "H100", "--users", "16")
    serving = data["results"][0]["serving"]
    assert serving["engine"] == "vllm" and serving["tensor_parallel"] == 1 and serving["nodes"] == 1
    assert [p["users"] for p in serving["curve"]] == [1, 2, 4, 8, 16]
    assert data["results"][0]["command"].startswith("vllm serve meta-llama/Llama-3.1-8B-Instruct")


def test_serve_table_shows_the_curve_chart_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "serve", "llama-3.1-8b", "--gpu", "H100", "--users", "8")
    assert code == 0
    assert "Capacity:" in out and "Per-user decode t/s:" in out and "Verdict:" in out and "█" in out


def test_serve_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "serve", "llama-3.1-8b", "--gpu", "H100", "--engine", "tgi")[0] == 2
    assert run(capsys, "serve", "llama-3.1-8b", "--gpu", "8x H100", "--nodes", "2")[0] == 2
    assert run(capsys, "serve", "llama-3.1-8b", "--gpu", "H100", "--interconnect", "fast", "--nodes", "2")[0] == 2


def test_serving_benchmarks_quote_their_numbers(catalog: Catalog) -> None:
    from advisor.catalog.serving import load_serving_measurements

    runs = load_serving_measurements()
    assert len(runs) >= 170
    for r in runs:
        assert r.source.startswith("https://")
        assert catalog.gpu(r.device).id == r.device  # the catalog id, not an alias: validation holds out by device
        assert r.aggregate_decode_tokens_per_s or r.mean_ttft_ms, r.quote  # a run scores one of them at least
        for published, quoted in ((r.aggregate_decode_tokens_per_s, r.quote), (r.mean_ttft_ms, f"{r.quote} {r.note}"),
                                  (r.median_ttft_ms, r.quote)):
            if published is None:  # a TTFT may be quoted in the note, beside the throughput row
                continue
            value = published
            if value == r.aggregate_decode_tokens_per_s and r.note and "x per-GPU" in r.note:
                value /= r.gpus  # a per-GPU figure times the GPUs, said so in the note
            if value == r.aggregate_decode_tokens_per_s and r.note and "/ the latency" in r.note:
                # one batch's output tokens over its published latency (s), the last number of the quoted row
                value = r.batch * r.output_tokens / published
            shown_as = (f"{value:.2f}", f"{value:.1f}", f"{value:,.0f}", f"{value:.0f}", f"{value:.3f}")
            assert any(shown in quoted for shown in shown_as), (value, r.quote)
        assert re.search(rf"(?<![\d.]){r.batch}(?![\d.])", f"{r.quote} {r.note or ''}"), (r.batch, r.quote)


def test_aggregate_throughput_is_within_the_issue_target_on_held_out_devices(
        held_out: list[ServingPrediction]) -> None:
    from advisor.speed.validate import error_summary

    predictions = held_out
    found = error_summary([p.aggregate_error for p in predictions if p.aggregate_error is not None])
    # docs/accuracy.md, Serving: 22.5 % when written, 21.8 % on 2026-12-07 before the serving engines' per-sequence
    # step time, 17.5 % with it (the ablation in docs/serving.md, section 7), 16.5 % with a MoE layer's own pass time
    assert found["n"] >= 190 and found["median_abs_error"] <= 0.20
    # each engine on its own: 18.4, 14.2, 16.8 % (18.6, 15.7, 17.5 % before the MoE layer's time; 19.6, 27.0, 24.9 %
    # before the per-sequence time: held out, the MI300X took the CUDA-fitted vLLM constants and ROCm serving ran
    # below them as the batch grew; SGLang on it is still +43 %)
    for engine, rows, bound in (("llama.cpp", 50, 0.22), ("vllm", 40, 0.20), ("sglang", 100, 0.22)):
        one = error_summary([p.aggregate_error for p in predictions if p.run.engine == engine
                             and p.aggregate_error is not None])
        assert one["n"] >= rows and one["median_abs_error"] <= bound, engine


def test_plan_users_lists_deployments_that_serve_everyone(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from pathlib import Path

    import jsonschema

    data = run_json(capsys, "plan", "llama-3.1-70b", "--users", "100", "--min-tps", "15", "--limit", "0")
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "schema" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["total"] == len(data["results"]) > 0
    for option in data["results"]:
        assert option["serving"]["verdict"]["users"] >= 100
        assert option["serving"]["max_concurrent_sequences"] >= 100
        assert "vllm serve meta-llama/Llama-3.1-70B-Instruct" in option["command"]  # after `ray start` when multi-node
    gpus = [o["count"] for o in data["results"] if o["price_usd"] is None]
    assert gpus == sorted(gpus)  # without prices, fewest GPUs first
    # and the table says so where the rows it shows lack a price, rather than "cheapest first" over unknown prices
    code, out, _ = run(capsys, "plan", "qwen3-30b-a3b", "--users", "50", "--min-tps", "20")
    assert code == 0 and "cheapest first where a launch price is known, then fewest GPUs" in out


def test_plan_users_reaches_multi_node_when_one_node_cannot_hold_the_model(est: Estimator) -> None:
    from advisor.plan.serve_plan import serve_plan

    plan = serve_plan(est.catalog.model("llama-3.1-405b"), est, ServeRequest(users=32, min_tokens_per_s=5),
                      network_gbps=50.0, limit=0, vendor="nvidia")
    assert plan.options
    layouts = {(o.gpu.id, o.gpus_per_node, o.nodes) for o in plan.options}
    assert ("h100-sxm", 8, 2) in layouts  # 405B in BF16 (810 GB) needs two nodes of 8 H100s
    two = next(o for o in plan.options if o.gpu.id == "h100-sxm")
    assert "--pipeline-parallel-size 2" in (two.serving.command or "")


def test_sglang_pool_is_its_static_fraction_less_the_weights(est: Estimator, make_machine) -> None:
    machine = make_machine("H100")
    s = serve(est, est.catalog.model("llama-3.1-8b"), machine, ServeRequest(engine="sglang"))
    total = machine.devices[0].device.memory_total_bytes
    assert s.capacity.kv_pool_bytes == int(total * 0.83) - s.capacity.weights_bytes
    assert s.capacity.page_tokens == 1 and s.capacity.pages == s.capacity.kv_pool_bytes // LLAMA_8B_KV_PER_TOKEN
    assert (s.command or "").startswith("python -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct")


def test_longer_prompts_slow_every_other_user_down(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("llama-3.1-8b"), make_machine("H100")
    short = serve(est, model, machine, ServeRequest(users=16, prompt_tokens=256, output_tokens=256))
    long = serve(est, model, machine, ServeRequest(users=16, prompt_tokens=4096, output_tokens=256))
    s16, l16 = short.curve.points[-1], long.curve.points[-1]
    assert l16.per_user_decode_tokens_per_s < s16.per_user_decode_tokens_per_s  # their prefills interleave
    assert (l16.ttft_s or 0) > (s16.ttft_s or 0)
    one_short, one_long = short.curve.points[0], long.curve.points[0]
    # one user: no one else's prompt to wait for, only a deeper cache to read
    assert one_long.per_user_decode_tokens_per_s == pytest.approx(one_short.per_user_decode_tokens_per_s, rel=0.15)


def test_every_all_reduce_figure_names_a_catalog_gpu(catalog: Catalog) -> None:
    # a figure keyed by an id the catalog does not have (an alias such as h200) would silently never be used
    ids = {g.id for g in catalog.gpus}
    assert catalog.defaults.allreduce_busbw_gbps and set(catalog.defaults.allreduce_busbw_gbps) <= ids
    pcie = catalog.defaults.allreduce_pcie_generation
    assert pcie and set(pcie) <= ids and not set(pcie) & set(catalog.defaults.allreduce_busbw_gbps)
    assert {str(gen) for gen in pcie.values()} <= set(catalog.defaults.allreduce_pcie_busbw_gbps)


def test_pcie_cards_pay_an_all_reduce_per_layer_half(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("llama-3.1-70b"), make_machine("4x L40S")
    req = ServeRequest(users=1, engine="vllm", quant="vLLM-FP8")
    free, pcie = serve(est, model, machine, req), serve_on(est, model, machine, req)
    d = est.catalog.defaults
    assert any("all-reduce over PCIe" in n for n in pcie.notes)
    assert any("not counted" in n for n in free.notes)
    one_free, one_pcie = free.curve.points[0], pcie.curve.points[0]
    # one user: two small all-reduces per layer (after attention, after the MLP), each its latency + its bytes
    busbw = d.allreduce_pcie_busbw_gbps[str(d.allreduce_pcie_generation["l40s"])]
    per_step = 2 * model.arch.layers * (d.allreduce_pcie_latency_s
                                        + 2 * 3 / 4 * model.arch.hidden_size * 2 / (busbw * 1e9))
    assert 1 / one_pcie.per_user_decode_tokens_per_s - 1 / one_free.per_user_decode_tokens_per_s == \
        pytest.approx(per_step, rel=0.02)


def test_prefill_budget_is_the_engines_own_per_gpu(catalog: Catalog) -> None:
    from advisor.estimate.arrivals import prefill_budget

    d = catalog.defaults

    def budget(engine: str, gpu: str) -> int:
        return prefill_budget(d, engine, gpu, catalog.gpu(gpu).memory_bytes)

    assert budget("vllm", "h100-sxm") == 8192 and budget("vllm", "l40s") == 2048  # 80 GB against 48 GB
    assert budget("vllm", "a100-80gb-sxm") == 2048  # vLLM keeps the small budget on every A100
    assert budget("sglang", "a100-80gb-sxm") == 8192 and budget("sglang", "mi300x") == 16384
    assert budget("llama.cpp", "h100-sxm") == 2048


def test_a_burst_waits_for_the_passes_before_each_prompt_ends() -> None:
    from advisor.estimate.arrivals import Prefill, wave

    pf = Prefill(tokens_per_s=10_000.0, budget_tokens=8192, forward_s=0.05)
    one_pass, whole = wave(1024, 8, pf)  # 8 x 1024 tokens: one pass, every user gets the first token at its end
    assert one_pass == pytest.approx(whole) == pytest.approx(8192 / 10_000 + 0.05)
    mean, whole = wave(1024, 32, pf)  # four passes of eight prompts: users wait 1, 2, 3 or 4 passes
    assert whole == pytest.approx(4 * (8192 / 10_000 + 0.05))
    assert mean == pytest.approx(2.5 * (8192 / 10_000 + 0.05))
    assert wave(20_000, 1, pf)[0] == pytest.approx(2.0 + 3 * 0.05)  # one long prompt takes three passes


def test_users_at_their_own_pace_wait_less_than_a_burst_and_more_than_one_alone() -> None:
    from advisor.estimate.arrivals import Prefill, benchmark_ttft, steady, wave

    pf = Prefill(tokens_per_s=20_000.0, budget_tokens=8192, forward_s=0.03)

    def spread(prompt: int, users: int, output: int, step_s: float, prefill: Prefill) -> float:
        return steady(prompt, users, output, step_s, prefill).ttft_s

    alone = pf.alone_s(1024)
    assert spread(1024, 1, 256, 0.01, pf) > alone
    times = [spread(1024, n, 256, 0.01, pf) for n in (1, 4, 16, 64)]
    assert times == sorted(times) and times[-1] < wave(1024, 64, pf)[0]
    # a benchmark of 100 prompts at 16 users: its first round is a burst, the rest spread out unless lengths are equal
    fixed = benchmark_ttft(1024, 16, 256, 0.01, pf, equal_lengths=True, requests=100)
    varied = benchmark_ttft(1024, 16, 256, 0.01, pf, equal_lengths=False, requests=100)
    assert fixed == wave(1024, 16, pf)[0] and spread(1024, 16, 256, 0.01, pf) < varied < fixed


def test_busy_users_share_prefill_passes() -> None:
    from advisor.estimate.arrivals import Prefill, steady

    pf = Prefill(tokens_per_s=50_000.0, budget_tokens=8192, forward_s=0.2)  # a pass's fixed time dominates
    alone = steady(512, 1, 256, 0.02, pf)
    assert alone.pass_s == pytest.approx(pf.alone_s(512))  # one user: a pass of its own prompt
    busy = steady(512, 128, 256, 0.02, pf)
    shared = (busy.pass_s - 0.2) / (512 / 50_000)  # the prompts one pass holds
    assert 2 < shared <= 8192 // 512
    assert busy.seconds < 128 * alone.pass_s + 256 * 0.02  # so a round costs less than a pass per prompt


def test_a_benchmarks_median_first_token_is_the_steady_states_once_most_prompts_come_after_the_first_round() -> None:
    from advisor.estimate.arrivals import Prefill, benchmark_ttft, steady, wave_firsts

    pf = Prefill(tokens_per_s=20_000.0, budget_tokens=8192, forward_s=0.03)
    later = steady(1024, 16, 256, 0.01, pf).ttft_s
    # 80 prompts at 16 users, varied lengths: 16 in the first burst, 64 at the users' own pace
    median = benchmark_ttft(1024, 16, 256, 0.01, pf, equal_lengths=False, requests=80, statistic="median")
    mean = benchmark_ttft(1024, 16, 256, 0.01, pf, equal_lengths=False, requests=80)
    assert median == pytest.approx(later) and mean > median  # the burst waits longer, and moves the mean alone
    # equal lengths: every round a burst of two passes of eight prompts; of 16 waits, the median is the 8th and 9th's
    firsts = wave_firsts(1024, 16, pf)
    assert [n for _, n in firsts] == [8, 8]
    fixed = benchmark_ttft(1024, 16, 256, 0.01, pf, equal_lengths=True, requests=80, statistic="median")
    assert fixed == pytest.approx((firsts[0][0] + firsts[1][0]) / 2)


def test_graphed_passes_pay_no_launch_time_and_a_requests_own_time_is_its_users_alone() -> None:
    from advisor.estimate.arrivals import Prefill, steady, wave

    pf = Prefill(tokens_per_s=50_000.0, budget_tokens=8192, forward_s=0.05, graphed_tokens=512, request_s=0.04)
    assert pf.pass_s(512) == pytest.approx(512 / 50_000)  # vLLM replays a pass this small as a CUDA graph
    assert pf.pass_s(513) == pytest.approx(513 / 50_000 + 0.05)
    assert pf.alone_s(256) == pytest.approx(256 / 50_000 + 0.04)
    mean, engine_s = wave(256, 4, pf)  # 1,024 tokens in one pass, too many for a graph
    assert engine_s == pytest.approx(1024 / 50_000 + 0.05) and mean == pytest.approx(engine_s + 0.04)
    one = steady(256, 1, 100, 0.01, pf)  # one user's cycle holds its request's own time, its reply does not
    assert one.seconds == pytest.approx(one.pass_s + 100 * 0.01 + 0.04) and one.reply_s == pytest.approx(1.0)


def test_running_sequences_past_the_first_slow_a_serving_step(est: Estimator, make_machine) -> None:
    from dataclasses import replace

    machine, model = make_machine("H100"), est.catalog.model("llama-3.1-8b")
    step = serve(est, model, machine, ServeRequest(users=64, prompt_tokens=512, output_tokens=256)).step
    bare = replace(step, sequence_step_s=0.0)
    assert step.sequence_step_s > 0  # fitted on the published throughputs (catalog/speed_fit.yaml)
    assert step.seconds(1) == bare.seconds(1)  # one user: the single-user constants already hold its own work
    assert step.seconds(64)[0] > bare.seconds(64)[0]


def test_time_to_first_token_on_held_out_devices_has_no_bias(held_out: list[ServingPrediction]) -> None:
    from advisor.speed.validate import error_summary

    predictions = held_out
    found = error_summary([p.ttft_error for p in predictions if p.ttft_error is not None])
    # 32.1 % over 107 runs when written, 34.7 % over 113 on the published means on 2026-12-07; then scored on the
    # published median where there is one, with vLLM's graphed passes and each request's own time: 27.4 % over 119
    # (about 85 % for the first model: the prompt at the llama.cpp efficiency, no fixed pass time, no waiting); with
    # a MoE layer's own fixed time, 22.8 %: the issue's 25 % (docs/serving.md, section 7)
    assert found["n"] >= 115 and found["median_abs_error"] <= 0.25
    means = error_summary([p.mean_ttft_error for p in predictions if p.mean_ttft_error is not None])
    assert means["median_abs_error"] > found["median_abs_error"]  # a short run's mean carries its one-off stalls
    assert abs(found["median_error"]) <= 0.1  # no bias either way


def test_one_users_first_token_in_estimate_is_serves(est: Estimator, make_machine) -> None:
    from advisor.estimate.estimator import Request
    from advisor.estimate.serving import prefill_of

    machine, model = make_machine("H100"), est.catalog.model("qwen3-30b-a3b")
    alone = est.estimate(model, est.catalog.recipe("vLLM-BF16"), machine,
                         Request(context_tokens=8192, prompt_tokens=1024)).speed
    s = serve(est, model, machine, ServeRequest(users=1, prompt_tokens=1024, quant="vLLM-BF16"))
    pf = prefill_of(s.step, s.curve.prefill_tokens_per_s)
    assert pf is not None and pf.forward_s > 0 and pf.request_s > 0  # a MoE's pass has a fixed time, and a request
    assert alone.time_to_first_token_s == pytest.approx(pf.alone_s(1024), rel=1e-6)


def test_serve_golden_text(capsys: pytest.CaptureFixture[str]) -> None:
    """tests/golden/serve_llama_8b_h100.txt: docs/serving.md's worked example as a person sees it. After an intended
    change: ADVISOR_UPDATE_GOLDEN=1 python -m pytest -q tests/test_serving.py -k golden, then read the diff."""
    import os
    from pathlib import Path

    code, out, err = run(capsys, "serve", "llama-3.1-8b", "--gpu", "H100", "--users", "64")
    assert code == 0, err
    text = "".join(line.rstrip() + "\n" for line in out.splitlines())
    path = Path(__file__).parent / "golden" / "serve_llama_8b_h100.txt"
    if os.environ.get("ADVISOR_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"stale {path.name}: rerun with ADVISOR_UPDATE_GOLDEN=1 and read the diff"


def test_serving_docs_curve_is_the_golden_one() -> None:
    # docs/serving.md's worked example quotes the curve advisor serve prints; it once drifted by 4-6 % unnoticed
    import re
    from pathlib import Path

    root = Path(__file__).parent
    golden = re.findall(r"^\s+(\d+)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+\w+$",
                        (root / "golden" / "serve_llama_8b_h100.txt").read_text(), re.MULTILINE)
    doc = (root.parent / "docs" / "serving.md").read_text()
    table = doc[doc.index("| users | running | per-user t/s"):].split("\n\n")[0]
    quoted = [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in table.splitlines()[2:]]
    assert golden and quoted == golden


def test_vllm_estimate_on_several_gpus_is_serves_tensor_parallel_step(est: Estimator, make_machine) -> None:
    from advisor.estimate.estimator import Request

    model, recipe = est.catalog.model("llama-3.1-70b"), est.catalog.recipe("vLLM-BF16")
    eight, one = make_machine("8x H100"), make_machine("H200")
    request = Request(context_tokens=8192)
    tp = est.estimate(model, recipe, eight, request).speed
    assert tp.basis is not None and [lane.tensor_parallel for lane in tp.basis.lanes] == [8]  # one lane of 8 GPUs
    split = tp.decode_tokens_per_s or 0.0
    alone = est.estimate(model, recipe, one, request).speed.decode_tokens_per_s or 0.0
    assert split > 3 * alone  # every GPU reads an eighth of the weights at once; the layers' fixed time stays
    s = serve(est, model, eight, ServeRequest(users=1, prompt_tokens=1, output_tokens=1, context_tokens=8192))
    assert split == pytest.approx(1 / s.step.seconds(1)[0], rel=0.02)  # serve's one-user step, all-reduces included


def test_a_moe_layers_own_fixed_time_earns_its_place(catalog: Catalog, held_out: list[ServingPrediction],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A MoE layer runs more kernels than a dense MLP (router, top-k, token sort, grouped expert GEMMs); without a time
    of its own the per-layer time has to carry it for every model: held out, the TTFT error grows (22.8 % against
    27.4 % on 2026-12-07, docs/serving.md section 7), and the fit gives MoE layers the larger part of the pass."""
    from advisor.catalog.serving import load_serving_measurements
    from advisor.plan import serve_fit
    from advisor.speed.validate import error_summary

    assert catalog.speed_fit is not None
    shipped = catalog.speed_fit.serving_prefill
    assert shipped is not None and shipped.moe_layer_s > shipped.per_layer_s
    with_term = error_summary([p.ttft_error for p in held_out if p.ttft_error is not None])
    monkeypatch.setattr(serve_fit, "MOE_LAYER_S", (0.0,))
    fine = serve_fit.FINE_STEPS
    monkeypatch.setattr(serve_fit, "FINE_STEPS", (fine[0], fine[1], (fine[2][0], 0, 0)))
    without = validate_serving(catalog, load_serving_measurements())
    plain = error_summary([p.ttft_error for p in without if p.ttft_error is not None])
    assert plain["median_abs_error"] > with_term["median_abs_error"] + 0.02


def test_readme_quotes_the_current_serving_accuracy(held_out: list[ServingPrediction]) -> None:
    from pathlib import Path

    from advisor.speed.validate import error_summary

    text = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text().split())
    found = re.search(r"median ([\d.]+) % on (\d+) published vLLM, SGLang and llama.cpp runs; time to first token "
                      r"([\d.]+) % on (\d+)", text)
    assert found, "README.md: the serving accuracy sentence moved"
    aggregate = error_summary([p.aggregate_error for p in held_out if p.aggregate_error is not None])
    ttft = error_summary([p.ttft_error for p in held_out if p.ttft_error is not None])
    assert found.groups() == (f"{100 * aggregate['median_abs_error']:.1f}", str(aggregate["n"]),
                              f"{100 * ttft['median_abs_error']:.1f}", str(ttft["n"])), \
        "README.md quotes stale serving figures: see docs/accuracy.md, Serving"
