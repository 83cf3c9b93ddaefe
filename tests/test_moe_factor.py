"""A MoE layer's fixed cost and MoE prefill ratio: shared (shipped) or per backend (the variant docs/accuracy.md
compares), and the shipped estimate uses whichever the fit holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.constants import SpeedTable
from advisor.estimate.speed import Work
from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement
from advisor.speed import fit as cal
from tests.core import estimate

BYTES, LAYERS, BW = 2_000_000_000, 48, 500.0
A, TAU = 1 / 0.8, 30e-6


def _case(backend: str, device: str, moe: bool, moe_cost: float, scale: float) -> cal.Case:
    """A measurement that follows the decode model exactly, with `moe_cost` as the backend's MoE layer factor."""
    nbytes = int(BYTES * scale)
    seconds = A * nbytes / (BW * 1e9) + TAU * LAYERS * (moe_cost if moe else 1.0)
    m = Measurement(device=device, device_count=1, backend=backend, engine="llama.cpp", model="m", quant="Q4_0",
                    test="tg128", depth_tokens=0, tokens_per_s=1 / seconds, source="https://example.com", quote="q")
    return cal.Case(m, device, backend, "consumer", None, BW, None, Work(nbytes, 0, 0, LAYERS, moe, 10**9, 0))


def _rows(backend: str, devices: tuple[str, ...], moe_cost: float) -> list[cal.Case]:
    return [_case(backend, d, moe, moe_cost, scale) for d in devices for moe in (False, True) for scale in (0.5, 1, 2)]


def test_each_backend_gets_the_moe_factor_its_measurements_show(catalog: Catalog) -> None:
    rows = _rows("cuda", ("a", "b"), 1.0) + _rows("vulkan", ("c", "d"), 6.0)
    fitted = cal.fit(rows, catalog.defaults, cal.Variant())
    assert fitted.moe_layer_cost_factor_by_backend == {"cuda": 1.0, "vulkan": 6.0}
    # the lane constants come back too, give or take the light pull toward the starting values and the rounding
    table = SpeedTable(fitted, catalog.defaults)
    for c in rows:
        assert cal.predict(table, c) == pytest.approx(c.m.tokens_per_s, rel=0.1)


def test_a_backend_with_moe_runs_on_one_device_uses_the_shared_factor(catalog: Catalog) -> None:
    rows = _rows("cuda", ("a", "b"), 1.0) + _rows("vulkan", ("c",), 6.0)
    fitted = cal.fit(rows, catalog.defaults, cal.Variant())
    assert "vulkan" not in fitted.moe_layer_cost_factor_by_backend
    assert fitted.moe_layer_cost("vulkan") == fitted.moe_layer_cost_factor


def test_the_shipped_fit_shares_one_moe_factor(catalog: Catalog) -> None:
    rows = _rows("cuda", ("a", "b"), 2.0) + _rows("vulkan", ("c", "d"), 2.0)
    fitted = cal.fit(rows, catalog.defaults)
    assert fitted.moe_layer_cost_factor_by_backend == {} and fitted.moe_layer_cost_factor == 2.0


def test_the_shipped_estimate_uses_the_backends_factor(catalog: Catalog, make_machine) -> None:
    assert catalog.speed_fit is not None
    machine = make_machine("RTX 4090")

    def decode(model: str, factors: dict[str, float]) -> float:
        fit = replace(catalog.speed_fit, moe_layer_cost_factor_by_backend=factors)  # type: ignore[arg-type]
        e = estimate(catalog.model(model), catalog.recipe("Q4_K_M"), machine, replace(catalog, speed_fit=fit),
                     Request(8192))
        assert e.speed.decode_tokens_per_s is not None
        return e.speed.decode_tokens_per_s

    assert decode("qwen3-30b-a3b", {"cuda": 1.0}) > decode("qwen3-30b-a3b", {"cuda": 4.0})
    assert decode("qwen3-30b-a3b", {"vulkan": 8.0, "cuda": 2.0}) == decode("qwen3-30b-a3b", {"cuda": 2.0})
    assert decode("llama-3.1-8b", {"cuda": 1.0}) == decode("llama-3.1-8b", {"cuda": 8.0})


def _prefill(backend: str, device: str, moe: bool, efficiency: float, expert_ratio: float = 1.0) -> cal.Case:
    """A prefill row that follows the split model: half of a MoE's FLOPs are routed-expert matmuls."""
    tflops, flops = 100.0, 2e10
    experts = flops / 2 if moe else 0.0
    seconds = (flops - experts + experts / expert_ratio) / (efficiency * tflops * 1e12)
    m = Measurement(device=device, device_count=1, backend=backend, engine="llama.cpp", model="m", quant="Q4_0",
                    test="pp512", depth_tokens=0, tokens_per_s=1 / seconds, source="https://example.com", quote="q")
    return cal.Case(m, device, backend, "consumer", None, BW, tflops, Work(BYTES, 0, 0, LAYERS, moe, int(flops),
                                                                         int(experts)))


def test_only_the_routed_expert_matmuls_run_at_the_moe_ratio(catalog: Catalog) -> None:
    rows = [_prefill("cuda", d, moe, 0.6, 0.25) for d in ("a", "b") for moe in (False, True)]
    fitted = cal.fit(rows, catalog.defaults)
    assert fitted.moe_prefill_factor == pytest.approx(0.25)
    dense, moe = rows[0], rows[1]
    table = SpeedTable(fitted, catalog.defaults)
    # half the work at a quarter of the efficiency: (0.5 + 0.5 / 0.25) = 2.5x the dense time, not 4x
    assert cal.predict(table, moe) == pytest.approx((cal.predict(table, dense) or 0) / 2.5)


def test_moe_prefill_ratio_per_backend_in_the_variant(catalog: Catalog) -> None:
    rows = [_prefill("cuda", d, moe, 0.6, 0.8) for d in ("a", "b") for moe in (False, True)]
    rows += [_prefill("rocm", d, moe, 0.4, 0.3) for d in ("c", "d") for moe in (False, True)]
    rows += [_prefill("vulkan", "e", moe, 0.5, 0.1) for moe in (False, True)]
    fitted = cal.fit(rows, catalog.defaults, cal.Variant())
    assert fitted.moe_prefill_factor_by_backend == pytest.approx({"cuda": 0.8, "rocm": 0.3})
    assert fitted.moe_prefill("vulkan") == fitted.moe_prefill_factor  # one device: the shared ratio
    moe_rocm = next(c for c in rows if c.moe and c.m.backend == "rocm")
    assert cal.predict(SpeedTable(fitted, catalog.defaults), moe_rocm) == pytest.approx(moe_rocm.m.tokens_per_s,
                                                                                         rel=1e-3)


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
