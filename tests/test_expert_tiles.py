"""MoE prefill by tokens per expert (issue 14): on llama.cpp's CUDA backend, and its HIP build for ROCm, a routed
expert's matmuls run as tiles of up to defaults.yaml's moe_prefill_tile_tokens, so a pass that gives each expert
fewer tokens prefills more slowly per token; other backends keep one ratio, and dense models are untouched."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.estimator import Estimator, Request
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement
from advisor.speed.cases import pass_tokens


def _prefill(est: Estimator, machine, model: str, prompt: int) -> float:
    catalog = est.catalog
    e = est.estimate(catalog.model(model), catalog.recipe("Q4_K_M"), machine,
                     Request(context_tokens=8192, prompt_tokens=prompt))
    assert e.placement.kind == "gpu" and e.speed.prefill_tokens_per_s
    return e.speed.prefill_tokens_per_s


def test_a_short_prompt_to_a_moe_on_cuda_prefills_slower_per_token(catalog: Catalog, make_machine) -> None:
    est, rtx = Estimator(catalog), make_machine("RTX 4090")
    # Qwen3-30B-A3B: 128 experts, top 8; a 64-token prompt gives each expert 4 tokens, a 512-token pass 32
    moe_short, moe_full = _prefill(est, rtx, "qwen3-30b-a3b", 64), _prefill(est, rtx, "qwen3-30b-a3b", 512)
    assert moe_short < moe_full / 3
    # a dense model's prefill per token does not fall for a short prompt (less attention, if anything)
    assert _prefill(est, rtx, "llama-3.1-8b", 64) >= _prefill(est, rtx, "llama-3.1-8b", 512)
    # past one pass (-ub 512) the experts get no more tokens each: only attention over the prompt slows it
    assert _prefill(est, rtx, "qwen3-30b-a3b", 2048) <= moe_full


def test_rocm_runs_the_same_tiles(catalog: Catalog, make_machine) -> None:
    est, radeon = Estimator(catalog), make_machine("RX 7900 XTX")
    # HIP builds the same mmq.cuh (engines.TILED_EXPERT_PREFILL): 4 tokens per expert against 32
    assert _prefill(est, radeon, "qwen3-30b-a3b", 64) < _prefill(est, radeon, "qwen3-30b-a3b", 512) / 3


def test_backends_without_tiles_keep_one_ratio(catalog: Catalog, make_machine) -> None:
    est, mac = Estimator(catalog), make_machine("M4 Max 128GB")
    short, full = _prefill(est, mac, "qwen3-30b-a3b", 64), _prefill(est, mac, "qwen3-30b-a3b", 512)
    assert short >= full  # Metal: the same ratio at any tokens per expert; the shorter prompt attends to less


def test_a_runs_pass_is_its_ubatch_at_most_its_prompt(catalog: Catalog) -> None:
    m = next(m for m in catalog.measurements if m.test == "pp512")
    run = replace(m, flags="-fa 1 -ub 2048", test="pp2048")
    assert pass_tokens(run, catalog.defaults) == 2048
    assert pass_tokens(replace(run, test="pp512"), catalog.defaults) == 512
    assert pass_tokens(replace(run, flags="-fa 1", test="pp2048"), catalog.defaults) == catalog.defaults.ubatch_tokens
    assert pass_tokens(replace(run, flags="--ubatch-size=1024"), catalog.defaults) == 1024
    assert pass_tokens(replace(run, flags=None, test="pp128"), catalog.defaults) == 128


@pytest.mark.parametrize("flags", ["-ub 2048", "-fa 1 -ub 2048 -b 2048 --mmap 0"])
def test_published_ubatch_flags_are_read(catalog: Catalog, flags: str) -> None:
    m: Measurement = next(m for m in catalog.measurements if m.test == "pp512")
    assert pass_tokens(replace(m, flags=flags, test="pp4096"), catalog.defaults) == 2048
