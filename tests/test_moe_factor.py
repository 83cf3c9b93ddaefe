"""A MoE layer's fixed cost (per routed expert a token uses) and MoE prefill ratio: shared (shipped) or per backend
(the variant docs/accuracy.md compares), and the shipped estimate uses whichever the fit holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.constants import SpeedTable
from advisor.estimate.estimator import Estimator
from advisor.estimate.speed import Work
from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement
from advisor.speed import cases as known
from advisor.speed import fit as cal
from tests.core import estimate

BYTES, LAYERS, BW = 2_000_000_000, 48, 500.0
A, TAU = 1 / 0.8, 30e-6


def _case(backend: str, device: str, experts: int, moe_cost: float, scale: float) -> known.Case:
    """A measurement that follows the decode model exactly: `experts` routed experts per token (0: dense), each
    adding `moe_cost` of a dense layer's fixed cost."""
    nbytes = int(BYTES * scale)
    seconds = A * nbytes / (BW * 1e9) + TAU * LAYERS * (1 + moe_cost * experts)
    m = Measurement(device=device, device_count=1, backend=backend, engine="llama.cpp", model="m", quant="Q4_0",
                    test="tg128", depth_tokens=0, tokens_per_s=1 / seconds, source="https://example.com", quote="q")
    return known.Case(m, device, backend, "consumer", None, BW, None, Work(nbytes, 0, 0, LAYERS, experts, 10**9, 0))


def _rows(backend: str, devices: tuple[str, ...], moe_cost: float) -> list[known.Case]:
    return [_case(backend, d, k, moe_cost, scale) for d in devices for k in (0, 2, 8) for scale in (0.5, 1, 2)]


def test_each_backend_gets_the_moe_factor_its_measurements_show(catalog: Catalog) -> None:
    rows = _rows("cuda", ("a", "b"), 0.1) + _rows("vulkan", ("c", "d"), 0.6)
    fitted = cal.fit(rows, catalog.defaults, cal.Variant())
    assert fitted.moe_expert_layer_cost_by_backend == {"cuda": 0.1, "vulkan": 0.6}
    # the lane constants come back too, give or take the light pull toward the starting values and the rounding
    table = SpeedTable(fitted, catalog.defaults)
    for c in rows:
        assert known.predict(table, c) == pytest.approx(c.m.tokens_per_s, rel=0.1)


def test_a_backend_with_moe_runs_on_one_device_uses_the_shared_factor(catalog: Catalog) -> None:
    rows = _rows("cuda", ("a", "b"), 0.1) + _rows("vulkan", ("c",), 0.6)
    fitted = cal.fit(rows, catalog.defaults, cal.Variant())
    assert "vulkan" not in fitted.moe_expert_layer_cost_by_backend
    assert fitted.moe_expert_cost("vulkan") == fitted.moe_expert_layer_cost


def test_the_shared_variant_fits_one_moe_factor_for_every_backend(catalog: Catalog) -> None:
    # shipped until round 13's runs: one per-expert cost whatever the backend (an ablation row now)
    rows = _rows("cuda", ("a", "b"), 0.1) + _rows("vulkan", ("c", "d"), 0.6)
    shared = cal.fit(rows, catalog.defaults, cal.Variant(per_backend=False))
    assert shared.moe_expert_layer_cost_by_backend == {}
    assert shared.moe_expert_cost("cuda") == shared.moe_expert_cost("vulkan") == shared.moe_expert_layer_cost
    assert cal.fit(rows, catalog.defaults).moe_expert_layer_cost_by_backend == {"cuda": 0.1, "vulkan": 0.6}


def test_a_moe_layer_costs_more_the_more_experts_a_token_uses(catalog: Catalog) -> None:
    # same bytes and layers: top-8 pays 1 + 8c of a dense layer's fixed time, top-2 1 + 2c, dense 1
    rows = _rows("cuda", ("a", "b"), 0.25)
    table = SpeedTable(cal.fit(rows, catalog.defaults), catalog.defaults)
    dense, top2, top8 = (next(c for c in rows if c.work.experts_per_token == k and c.m.device == "a"
                              and c.work.weights_read_bytes == BYTES) for k in (0, 2, 8))
    assert (known.predict(table, dense) or 0) > (known.predict(table, top2) or 0) > (known.predict(table, top8) or 0)
    # the flat variant (before issue 14) cannot tell top-2 from top-8
    flat = cal.Variant(cal.FLAT_MOE_FACTORS, per_backend=False, flat_moe=True).rows([top2, top8])
    assert flat[0].work.experts_per_token == flat[1].work.experts_per_token == 1


def test_the_shipped_estimate_uses_the_backends_factor(catalog: Catalog, make_machine) -> None:
    assert catalog.speed_fit is not None
    machine = make_machine("RTX 4090")

    def decode(model: str, factors: dict[str, float]) -> float:
        fit = replace(catalog.speed_fit, moe_expert_layer_cost_by_backend=factors)  # type: ignore[arg-type]
        e = estimate(catalog.model(model), catalog.recipe("Q4_K_M"), machine, replace(catalog, speed_fit=fit),
                     Request(8192))
        assert e.speed.decode_tokens_per_s is not None
        return e.speed.decode_tokens_per_s

    assert decode("qwen3-30b-a3b", {"cuda": 0.1}) > decode("qwen3-30b-a3b", {"cuda": 0.4})
    assert decode("qwen3-30b-a3b", {"vulkan": 0.8, "cuda": 0.2}) == decode("qwen3-30b-a3b", {"cuda": 0.2})
    assert decode("llama-3.1-8b", {"cuda": 0.1}) == decode("llama-3.1-8b", {"cuda": 0.8})


def _prefill(backend: str, device: str, moe: bool, efficiency: float, expert_ratio: float = 1.0) -> known.Case:
    """A prefill row that follows the split model: half of a MoE's FLOPs are routed-expert matmuls."""
    tflops, flops = 100.0, 2e10
    experts = flops / 2 if moe else 0.0
    seconds = (flops - experts + experts / expert_ratio) / (efficiency * tflops * 1e12)
    m = Measurement(device=device, device_count=1, backend=backend, engine="llama.cpp", model="m", quant="Q4_0",
                    test="pp512", depth_tokens=0, tokens_per_s=1 / seconds, source="https://example.com", quote="q")
    work = Work(BYTES, 0, 0, LAYERS, 8 if moe else 0, int(flops), int(experts))
    return known.Case(m, device, backend, "consumer", None, BW, tflops, work)


def test_only_the_routed_expert_matmuls_run_at_the_moe_ratio(catalog: Catalog) -> None:
    rows = [_prefill("cuda", d, moe, 0.6, 0.25) for d in ("a", "b") for moe in (False, True)]
    fitted = cal.fit(rows, catalog.defaults)
    assert fitted.moe_prefill_factor == pytest.approx(0.25)
    dense, moe = rows[0], rows[1]
    table = SpeedTable(fitted, catalog.defaults)
    # half the work at a quarter of the efficiency: (0.5 + 0.5 / 0.25) = 2.5x the dense time, not 4x
    assert known.predict(table, moe) == pytest.approx((known.predict(table, dense) or 0) / 2.5)


def test_moe_prefill_ratio_per_backend_in_the_variant(catalog: Catalog) -> None:
    rows = [_prefill("cuda", d, moe, 0.6, 0.8) for d in ("a", "b") for moe in (False, True)]
    rows += [_prefill("rocm", d, moe, 0.4, 0.3) for d in ("c", "d") for moe in (False, True)]
    rows += [_prefill("vulkan", "e", moe, 0.5, 0.1) for moe in (False, True)]
    fitted = cal.fit(rows, catalog.defaults, cal.Variant(prefill_per_backend=True))
    assert fitted.moe_prefill_factor_by_backend == pytest.approx({"cuda": 0.8, "rocm": 0.3})
    table = SpeedTable(fitted, catalog.defaults)
    assert table.constants("vulkan", "consumer").expert_prefill_ratio == fitted.moe_prefill_factor  # one device
    moe_rocm = next(c for c in rows if c.moe and c.m.backend == "rocm")
    assert known.predict(table, moe_rocm) == pytest.approx(moe_rocm.m.tokens_per_s, rel=1e-3)


def test_engines_that_batch_each_experts_rows_prefill_experts_at_the_dense_efficiency(catalog: Catalog) -> None:
    from advisor.estimate.constants import expert_prefill_ratio

    # mlx-lm sorts a prompt's rows by expert (gather_qmm, sorted), vLLM's fused MoE blocks them per expert
    assert expert_prefill_ratio("mlx", 0.2, {}) == expert_prefill_ratio("vllm", 0.2, {"vllm": 0.5}) == 1.0
    assert expert_prefill_ratio("sglang", 0.2, {}) == 1.0  # SGLang runs vLLM's kernels' stand-ins
    assert expert_prefill_ratio("cuda", 0.2, {}) == 0.2 and expert_prefill_ratio("rocm", 0.2, {"rocm": 0.3}) == 0.3
    table = Estimator(catalog).speeds
    assert table.constants("mlx", "apple", "m4-max-40c").expert_prefill_ratio == 1.0
    assert table.constants("metal", "apple", "m4-max-40c").expert_prefill_ratio < 1.0  # llama.cpp on the same chip


def test_the_shipped_estimate_uses_the_backends_moe_prefill_factor(catalog: Catalog, make_machine) -> None:
    assert catalog.speed_fit is not None

    def prefill(factors: dict[str, float]) -> float:
        fit = replace(catalog.speed_fit, moe_prefill_factor_by_backend=factors)  # type: ignore[arg-type]
        e = estimate(catalog.model("qwen3-30b-a3b"), catalog.recipe("Q4_K_M"), make_machine("RTX 4090"),
                     replace(catalog, speed_fit=fit), Request(8192))
        assert e.speed.prefill_tokens_per_s is not None
        return e.speed.prefill_tokens_per_s

    faster, slower = prefill({"cuda": 0.8}), prefill({"cuda": 0.2})
    assert slower < faster < 4 * slower  # only the routed-expert matmuls slow down
    assert prefill({"rocm": 0.1, "cuda": 0.2}) == slower


def test_a_backend_whose_experts_cost_nothing_reads_back_as_nothing() -> None:
    # round 15's runs fit CUDA's per-expert cost at 0 (its fused MoE kernels); catalog/speed_fit.yaml wrote 0.0 and the
    # reader took it for "not given" and made it 1.0: ten times the shared cost on every CUDA MoE decode
    from pathlib import Path

    import yaml

    from advisor.catalog.rules import parse_speed_fit
    from advisor.errors import CatalogError

    raw = yaml.safe_load((Path(__file__).resolve().parent.parent / "catalog" / "speed_fit.yaml").read_text())
    raw["moe_expert_layer_cost_by_backend"] = {"cuda": 0.0, "vulkan": 0.4}
    fit = parse_speed_fit(raw, "speed_fit.yaml")
    assert fit.moe_expert_cost("cuda") == 0.0 and fit.moe_expert_cost("vulkan") == 0.4
    # a ratio divides the work, so none of the ratio mappings takes a 0
    raw["attention_prefill_ratio_by_backend"] = {"cuda": 0.0}
    with pytest.raises(CatalogError):
        parse_speed_fit(raw, "speed_fit.yaml")
