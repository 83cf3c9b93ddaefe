from __future__ import annotations

import pytest

from advisor.estimate.kv import estimate_kv
from advisor.estimate.speed import (
    Lane,
    decode_seconds,
    estimate_speed,
    prefill_tflops,
    prefill_tokens_per_s,
    work_for,
)
from advisor.models.params import param_groups
from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from tests.core import estimate, kv_args
from tests.test_cli import run_json


def test_decode_is_bytes_over_effective_bandwidth_plus_fixed_cost() -> None:
    lane = Lane("gpu", 1.0, 1000.0, 0.8, 0.00002, 100.0, 1.0)
    # 4 GB / (0.8 x 1000 GB/s) = 5 ms, plus 32 layers x 20 us = 0.64 ms
    assert decode_seconds(4_000_000_000, 32, (lane,)) == pytest.approx(0.00564)


def test_prefill_runs_routed_expert_matmuls_at_their_own_ratio() -> None:
    lane = Lane("gpu", 1.0, 1000.0, 0.8, 0.00002, 100.0, 0.5, expert_prefill_ratio=0.25)
    # 4 GFLOP dense + 2 GFLOP of experts at a quarter of 50 % of 100 TFLOPS: (4 + 8) / 50e3 = 0.24 ms
    assert prefill_tokens_per_s(6 * 10**9, (lane,), 2 * 10**9) == pytest.approx(1 / 0.00024)
    assert prefill_tokens_per_s(6 * 10**9, (lane,)) == pytest.approx(1 / 0.00012)


def test_layer_split_runs_devices_one_after_another() -> None:
    one = Lane("a", 1.0, 1000.0, 1.0, 0.0, None, None)
    half = Lane("a", 0.5, 1000.0, 1.0, 0.0, None, None)
    assert decode_seconds(10**9, 10, (half, half)) == pytest.approx(decode_seconds(10**9, 10, (one,)))


def test_speed_grows_with_bandwidth(catalog: Catalog) -> None:
    kv = estimate_kv(catalog.model("llama-3.1-8b"), catalog.types["F16"], context_tokens=8192, **kv_args(catalog))
    work = work_for(catalog.model("llama-3.1-8b"), 4 * 10**9, kv, 0, param_groups(catalog.model("llama-3.1-8b")))
    speeds = [estimate_speed(work, (Lane("g", 1.0, bw, 0.85, 0.000025, 100.0, 1.0),), offloaded=False)
              .decode_tokens_per_s for bw in (300.0, 600.0, 1200.0)]
    assert speeds == sorted(speeds)


def test_deeper_context_decodes_slower(catalog: Catalog, make_machine) -> None:
    machine = make_machine("RTX 4090")
    model = catalog.model("qwen3-30b-a3b")
    shallow = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768, 0))
    deep = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768, 32768))
    assert deep.speed.decode_tokens_per_s < shallow.speed.decode_tokens_per_s
    assert deep.speed.basis is not None and deep.speed.basis.kv_read_bytes == 32768 * 98_304


def test_llama_8b_q4_k_m_on_a_4090(catalog: Catalog, make_machine) -> None:
    e = estimate(catalog.model("llama-3.1-8b"), catalog.recipe("Q4_K_M"), make_machine("RTX 4090"), catalog,
                 Request(8192))
    assert e.placement.kind == "gpu"
    assert e.memory.kv_cache_bytes == 1024**3
    assert 100 <= e.speed.decode_tokens_per_s <= 200
    assert e.speed.prefill_tokens_per_s is not None
    assert e.speed.basis is not None and e.speed.basis.lanes[0].bandwidth_gbps == 1008.0


def test_offload_speed_counts_the_cpu_share(catalog: Catalog, make_machine) -> None:
    model = catalog.model("llama-3.3-70b")
    e = estimate(model, catalog.recipe("Q4_K_M"), make_machine("RTX 4090", 128), catalog, Request(8192))
    assert e.placement.kind == "gpu+cpu"
    lanes = e.speed.basis.lanes if e.speed.basis else ()
    assert [lane.name for lane in lanes] == ["NVIDIA GeForce RTX 4090", "CPU (system RAM)"]
    assert sum(lane.share for lane in lanes) == pytest.approx(1.0)
    assert e.speed.prefill_tokens_per_s is None  # PCIe-bound prefill is not modelled yet


@pytest.mark.parametrize(("gpu", "fp16", "matrix"), [
    ("RTX 5090", 209.5, 419.0),  # GeForce: FP32 accumulate at half rate; llama.cpp's INT8 MMQ at 838 / 2
    ("RTX PRO 6000", 503.8, 503.8),  # workstation: full rate, INT8 twice FP16
    ("DGX Spark", 59.4, 118.85),  # GB10 runs FP32 accumulate at half rate, like GeForce
    ("L4", 121.0, 121.25),  # datacenter: full rate
])
def test_llama_cpp_cuda_prefill_runs_at_the_int8_matmul_rate(capsys: pytest.CaptureFixture[str], gpu: str,
                                                             fp16: float, matrix: float) -> None:
    out = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", gpu, "--ram", "64GB")
    (device,) = out["hardware"]["devices"]
    (lane,) = out["results"][0]["speed"]["basis"]["lanes"]
    assert (device["fp16_tflops"], lane["matrix_tflops"]) == pytest.approx((fp16, matrix))


def test_only_llama_cpps_fp16_accumulating_builds_use_the_int8_rate() -> None:
    assert prefill_tflops("cuda", 100.0, 400.0) == 200.0
    # Vulkan accumulates in FP16 where it can (its f16acc pipelines): on an NVIDIA GPU that is the tensor cores' full
    # rate; AMD's and Intel's FP16 figure is already their matrix rate
    assert prefill_tflops("vulkan", 100.0, 400.0, "nvidia") == 200.0
    assert [prefill_tflops("vulkan", 100.0, 400.0, v) for v in ("amd", "intel", None)] == [100.0] * 3
    assert [prefill_tflops(b, 100.0, 400.0, "nvidia") for b in ("metal", "vllm")] == [100.0] * 2
    assert [prefill_tflops(b, 100.0, 400.0) for b in ("rocm", "metal", "vllm")] == [100.0] * 3
    assert prefill_tflops("cuda", 100.0, None) == 100.0  # no INT8 figure: the FP16 one
