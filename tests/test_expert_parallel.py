"""Expert parallelism in `serve`: whole experts per GPU group, the busiest group setting the step (issue 16)."""

from __future__ import annotations

import statistics
from dataclasses import replace
from math import comb

import pytest

from advisor.catalog.serving import load_serving_measurements
from advisor.errors import UsageError
from advisor.estimate.estimator import Estimator
from advisor.estimate.experts import busiest_assignment_ratio, busiest_touched_share, expected_max_binomial
from advisor.plan.serve import ServeRequest, serve
from advisor.plan.serve_validate import validate_serving
from advisor.specs.facts import Catalog
from tests.test_cli import run


@pytest.fixture(scope="module")
def est(catalog: Catalog) -> Estimator:
    return Estimator(catalog)


def _exact_busiest_group(experts: int, groups: int, picked: int) -> float:
    """E[most picked experts in one group] when `picked` distinct experts are drawn from `groups` equal groups:
    counted exactly, P(max <= m) = [x^picked] (sum_{j<=m} C(E/groups, j) x^j)^groups / C(E, picked)."""
    size = experts // groups
    total = comb(experts, picked)
    expected = 0.0
    for m in range(picked):
        poly = [1]
        for _ in range(groups):
            nxt = [0] * (len(poly) + m)
            for i, a in enumerate(poly):
                for j in range(min(m, size) + 1):
                    nxt[i + j] += a * comb(size, j)
            poly = nxt
        at_most = poly[picked] / total if picked < len(poly) else 0.0
        expected += 1 - at_most
    return expected


@pytest.mark.parametrize(("experts", "groups", "k"), [(256, 8, 8), (128, 4, 8), (512, 8, 10), (160, 2, 6)])
def test_one_tokens_busiest_group_matches_the_exact_count(experts: int, groups: int, k: int) -> None:
    # one token picks k distinct experts; the binomial approximation of the busiest group stays within 3 %
    exact = _exact_busiest_group(experts, groups, k)
    approx = busiest_touched_share(experts, k, 1, groups) * experts / groups
    assert approx == pytest.approx(exact, rel=0.03)
    assert exact > k / groups  # the busiest group does more than an even share


def test_imbalance_fades_as_the_batch_grows() -> None:
    ratios = [busiest_touched_share(256, 8, b, 8) / busiest_touched_share(256, 8, b, 1) for b in (1, 4, 16, 64, 256)]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] > 2 and ratios[-1] == pytest.approx(1, abs=0.01)
    work = [busiest_assignment_ratio(8 * b, 8) for b in (1, 16, 256, 4096)]
    assert work == sorted(work, reverse=True) and work[-1] < 1.05
    assert expected_max_binomial(100, 0.3, 1) == pytest.approx(30)  # one group: the mean


def test_expert_parallel_is_slower_for_few_users_and_even_for_many(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("qwen3-235b-a22b"), make_machine("8x H100")
    sliced = serve(est, model, machine, ServeRequest(users=256, context_tokens=4096))
    whole = serve(est, model, machine, ServeRequest(users=256, context_tokens=4096, expert_parallel=0))
    assert whole.topology.expert_parallel == 8 and sliced.topology.expert_parallel == 1
    one_sliced, one_whole = sliced.step.seconds(1)[0], whole.step.seconds(1)[0]
    many_sliced, many_whole = sliced.step.seconds(256)[0], whole.step.seconds(256)[0]
    assert one_whole > 1.05 * one_sliced
    assert many_whole / many_sliced < one_whole / one_sliced
    assert "--enable-expert-parallel" in (whole.command or "") and "expert" not in (sliced.command or "")


def test_sglang_expert_groups_may_be_fewer_than_its_gpus(est: Estimator, make_machine) -> None:
    model, machine = est.catalog.model("qwen3-235b-a22b"), make_machine("8x H100")
    s = serve(est, model, machine, ServeRequest(engine="sglang", users=8, context_tokens=4096, expert_parallel=2))
    assert "--tp 8" in (s.command or "") and "--ep-size 2" in (s.command or "")
    with pytest.raises(UsageError, match="divide"):
        serve(est, model, machine, ServeRequest(engine="sglang", users=8, context_tokens=4096, expert_parallel=3))
    with pytest.raises(UsageError, match="vLLM"):
        serve(est, model, machine, ServeRequest(users=8, context_tokens=4096, expert_parallel=2))


def test_expert_parallel_needs_a_moe_on_vllm_or_sglang(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "serve", "llama-3.1-8b", "--gpu", "2x H100", "--expert-parallel")[0] == 2
    assert run(capsys, "serve", "qwen3-30b-a3b", "--gpu", "2x H100", "--engine", "llama.cpp",
               "--expert-parallel")[0] == 2
    code, out, _ = run(capsys, "serve", "qwen3-30b-a3b", "--gpu", "2x H100", "--expert-parallel", "--users", "4")
    assert code == 0 and "TP 2 EP 2" in out and "--enable-expert-parallel" in out


def test_modelling_the_busiest_group_lowers_the_error_on_expert_parallel_runs(catalog: Catalog) -> None:
    # the published runs launched with --ep, predicted as they ran and as if their experts were sliced
    runs = tuple(r for r in load_serving_measurements() if r.expert_parallel > 1)
    assert len(runs) >= 10 and len({r.device for r in runs}) >= 3
    as_run = validate_serving(catalog, runs)
    as_sliced = validate_serving(catalog, tuple(replace(r, expert_parallel=1) for r in runs))

    def median(preds: list) -> float:
        return statistics.median(abs(p.aggregate_error) for p in preds)

    assert median(as_run) < median(as_sliced)
