"""vLLM on ROCm: its own constants (vllm-rocm), fitted on multi-GPU runs priced on estimate's tensor-parallel lane."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.constants import SpeedTable
from advisor.estimate.estimator import Estimator, Request
from advisor.plan.serve import ServeRequest, serve
from advisor.specs.facts import Catalog
from advisor.speed.fit import cases, predict


@pytest.fixture(scope="module")
def est(catalog: Catalog) -> Estimator:
    return Estimator(catalog)


def test_vllm_runs_on_several_gpus_are_fitted_on_estimates_lane(catalog: Catalog, est: Estimator,
                                                                 make_machine) -> None:
    rows, _ = cases(catalog)
    runs = [c for c in rows if c.m.engine == "vllm" and c.m.device == "mi300x" and c.m.model == "llama-3.1-70b"]
    assert runs and all(c.backend == "vllm-rocm" and c.tensor_parallel == 8 for c in runs)
    case = min(runs, key=lambda c: c.work.depth_tokens)
    table = SpeedTable(catalog.speed_fit, catalog.defaults)
    fitted = predict(table, case) or 0.0
    # the estimate of the same model, file and GPUs at the same depth runs the same lane and constants
    speed = est.estimate(catalog.model("llama-3.1-70b"), catalog.recipe("vLLM-FP8"), make_machine("8x MI300X"),
                         Request(context_tokens=8192, depth_tokens=case.work.depth_tokens)).speed
    assert speed.decode_tokens_per_s == pytest.approx(fitted, rel=0.01)
    assert speed.basis is not None and "vllm-rocm:datacenter" in " ".join(speed.basis.constants)
    # the runs rest on ROCm's own constants: within 5 % of what AMD measured (116-119 t/s)
    assert all(abs((predict(table, c) or 0.0) / c.m.tokens_per_s - 1) < 0.05 for c in runs)
    # priced as one GPU (no tensor parallelism) the same run would be under half as fast
    assert (predict(table, replace(case, tensor_parallel=1, sync_s=0.0)) or 0.0) < 0.5 * fitted


def test_each_vendor_keeps_its_own_serving_constants(est: Estimator, make_machine) -> None:
    model, req = est.catalog.model("llama-3.1-70b"), ServeRequest(users=1, quant="vLLM-FP8", context_tokens=4096)
    rocm = serve(est, model, make_machine("8x MI300X"), req)
    cuda = serve(est, model, make_machine("8x H100"), req)
    sglang = serve(est, model, make_machine("8x MI300X"), replace(req, engine="sglang"))
    assert "vllm-rocm:datacenter" in rocm.constants and "rocm" not in cuda.constants
    assert "constants of vllm-rocm:datacenter" in sglang.constants  # SGLang on ROCm: ROCm's vLLM constants
    assert sglang.step.seconds(1)[0] == pytest.approx(rocm.step.seconds(1)[0], rel=1e-9)
