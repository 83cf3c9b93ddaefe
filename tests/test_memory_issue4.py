"""Memory that matches llama.cpp: layouts at 32k, expert offload, context shrinking, max context, KV types, slots."""

from __future__ import annotations

import pytest

from advisor.estimate.estimator import Request
from advisor.specs.facts import Catalog
from advisor.units import GIB, MIB
from tests.core import best_estimate, estimate
from tests.test_cli import run_json


def test_gemma_3_27b_at_32k_counts_global_layers_plus_the_window(capsys: pytest.CaptureFixture[str]) -> None:
    results = run_json(capsys, "estimate", "gemma-3-27b", "--context", "32768", "--gpu", "RTX 4090",
                       "--ram", "64GB")["results"]
    kv = results[0]["memory"]["kv_cache_bytes"]
    assert kv == 10 * 8192 * 32768 + 52 * 8192 * 1536  # 2.5 GiB global + 624 MiB window
    assert kv < 4 * GIB  # not the 15.5 GiB of an all-layer count


def test_qwen35_counts_full_attention_layers_and_a_fixed_state(catalog: Catalog, make_machine) -> None:
    model = catalog.model("qwen3.5-35b-a3b")
    e = estimate(model, catalog.recipe("Q4_K_M"), make_machine("RTX 4090"), catalog, Request(32768))
    a = model.arch
    assert e.memory.kv_cache_bytes == model.layout.full_attention_layers * a.kv_heads * a.head_dim * 2 * 2 * 32768
    assert e.memory.recurrent_state_bytes > 0


def test_gpt_oss_120b_windows_half_its_layers(catalog: Catalog, make_machine) -> None:
    e = estimate(catalog.model("gpt-oss-120b"), catalog.recipe("MXFP4"), make_machine("H100 SXM"), catalog,
                 Request(32768))
    assert e.memory.kv_cache_bytes == 18 * 2048 * 32768 + 18 * 2048 * 768


def test_a_4060_runs_qwen35_moe_with_experts_on_the_cpu(catalog: Catalog, make_machine) -> None:
    machine = make_machine("RTX 4060", 32)
    e = best_estimate(catalog.model("qwen3.5-35b-a3b"), machine, catalog, Request(8192))
    assert e.placement.kind == "gpu+cpu" and e.placement.n_cpu_moe > 0
    assert e.memory.total_bytes - e.placement.cpu_bytes <= machine.gpu_usable_bytes
    assert e.speed.decode_tokens_per_s is not None and e.speed.decode_tokens_per_s > 5
    # the smallest N: one layer fewer would not fit on the GPU
    experts_per_layer = e.weights.routed_expert_bytes // catalog.model("qwen3.5-35b-a3b").moe.moe_layers  # type: ignore[union-attr]
    assert sum(e.placement.gpu_bytes) + experts_per_layer > machine.gpu_usable_bytes


def test_expert_offload_is_in_the_llama_cpp_command(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "recommend", "--gpu", "RTX 4060", "--ram", "32GB")
    qwen = next(r for r in data["results"] if r["model"]["id"] == "qwen3.5-35b-a3b")
    n = qwen["placement_detail"]["n_cpu_moe"]
    assert n > 0 and f"--n-cpu-moe {n}" in qwen["commands"]["llama.cpp"]


def test_cpu_resident_experts_slow_decoding_down(catalog: Catalog, make_machine) -> None:
    model = catalog.model("gpt-oss-120b")
    offloaded = estimate(model, catalog.recipe("MXFP4"), make_machine("RTX 4090", 64), catalog, Request(8192))
    on_gpu = estimate(model, catalog.recipe("MXFP4"), make_machine("H100 SXM", 64), catalog, Request(8192))
    assert offloaded.placement.kind == "gpu+cpu" and offloaded.placement.n_cpu_moe > 0
    lanes = offloaded.speed.basis.lanes if offloaded.speed.basis else ()
    assert lanes[-1].name == "CPU (system RAM)" and lanes[-1].share > 0
    assert offloaded.speed.decode_tokens_per_s < on_gpu.speed.decode_tokens_per_s  # type: ignore[operator]


def test_an_unpinned_context_shrinks_to_fit_before_offloading(catalog: Catalog, make_machine) -> None:
    model, machine = catalog.model("qwen3-32b"), make_machine("RTX 4090")
    pinned = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768))
    free = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768, context_pinned=False))
    assert pinned.placement.kind == "gpu+cpu"
    assert free.placement.kind == "gpu" and free.context_tokens < 32768
    assert any("context reduced" in n for n in free.notes)


def test_max_context_is_the_largest_that_stays_on_the_gpu(catalog: Catalog, make_machine) -> None:
    model, machine = catalog.model("qwen3.5-27b"), make_machine("RTX 4090")
    e = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(8192))
    best = e.max_gpu_context_tokens
    assert best is not None and best % 256 == 0
    assert estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(best)).placement.kind == "gpu"
    assert estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(best + 256)).placement.kind != "gpu"


@pytest.mark.parametrize(("kv", "per_token"), [("f16", 131072), ("q8_0", 69632), ("q4_0", 36864)])
def test_kv_cache_types(capsys: pytest.CaptureFixture[str], kv: str, per_token: int) -> None:
    (r,) = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--kv-cache", kv, "--gpu", "RTX 4090",
                    "--ram", "64GB")["results"]
    assert r["memory"]["kv_cache_bytes"] == per_token * 8192


def test_parallel_slots_share_the_context_but_multiply_windows(catalog: Catalog, make_machine) -> None:
    model, machine = catalog.model("gemma-3-27b"), make_machine("H100 SXM")
    one = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768))
    four = estimate(model, catalog.recipe("Q4_K_M"), machine, catalog, Request(32768, sequences=4))
    # unified KV: the global layers keep 32768 cells; the window part grows to 4 x 1024 + 512 = 4608 cells
    assert four.memory.kv_cache_bytes - one.memory.kv_cache_bytes == 52 * 8192 * (4608 - 1536)
    assert four.memory.kv_cache_bytes == 10 * 8192 * 32768 + 52 * 8192 * 4608
    assert 1.8 * GIB < 52 * 8192 * 4608 < 1.9 * GIB
    assert one.memory.kv_cache_bytes > 600 * MIB
