"""One speed model: what `validate` scores is what ships, for every catalog device under every engine, and the
shipped estimate of a measured run is the prediction validation makes for it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.engines import ENGINES, engine_for
from advisor.estimate.constants import Constants, SpeedTable, speed_family
from advisor.estimate.estimator import Estimator, Request
from advisor.estimate.weights import resized
from advisor.plan.choice import estimate_recipes
from advisor.plan.commands import commands
from advisor.specs.facts import Catalog
from advisor.speed.cases import cases, predict, split_mode, stated_file_bytes
from advisor.speed.validate import validate


def _numbers(c: Constants) -> tuple[float | None, ...]:
    return (c.stream_efficiency, c.per_layer_s, c.prefill_efficiency, c.moe_expert_layer_cost, c.expert_prefill_ratio)


@pytest.fixture(scope="module")
def validated(catalog: Catalog) -> SpeedTable:
    from advisor.catalog.serving import load_serving_measurements
    from advisor.plan.serve_fit import fit_shipped

    fitted = fit_shipped(catalog, load_serving_measurements())
    assert fitted == replace(validate(catalog).fitted, serving_prefill=fitted.serving_prefill)  # one speed fit
    return SpeedTable(fitted, catalog.defaults)


def test_validate_scores_the_constants_that_ship_for_every_device_and_engine(catalog: Catalog,
                                                                             validated: SpeedTable) -> None:
    shipped = Estimator(catalog).speeds
    checked = 0
    for gpu in catalog.gpus:
        for engine in ENGINES:
            backend = engine.backend(gpu.vendor, gpu.device_class)
            if backend is None:
                continue
            ours = shipped.constants(backend, gpu.device_class, speed_family(gpu))
            theirs = validated.constants(backend, gpu.device_class, speed_family(gpu))
            assert _numbers(ours) == _numbers(theirs), (gpu.id, engine.name)
            assert ours.basis == theirs.basis
            checked += 1
    assert _numbers(shipped.constants("cpu", "cpu")) == _numbers(validated.constants("cpu", "cpu"))
    assert checked > len(catalog.gpus)  # llama.cpp everywhere, plus MLX on Apple and vLLM on data-centre cards


def test_the_shipped_estimate_of_each_measured_run_is_the_prediction_validate_makes(catalog: Catalog,
                                                                                 make_machine) -> None:
    est = Estimator(catalog)
    rows, _ = cases(catalog)
    compared = 0
    for c in rows:
        gpu = catalog.gpu(c.gpu_id) if c.gpu_id else None
        engine = engine_for(catalog.recipe(c.m.quant).runtime)
        if gpu is None or engine.backend(gpu.vendor, gpu.device_class) != c.backend:
            continue  # a run on another backend than the one advisor picks for this card (Vulkan on a Radeon)
        if c.bandwidth_gbps != gpu.bandwidth_gbps:
            continue  # an iGPU run on the RAM it states: an estimate prices the chip at the catalog's memory
        machine = make_machine(f"{c.m.device_count}x {c.gpu_id}", 512)
        depth, split = c.work.depth_tokens, split_mode(c.m)  # a -sm tensor run is estimated with --split-mode tensor
        request = Request(context_tokens=max(depth, 1) + 1, depth_tokens=depth, split_mode=split)
        if c.m.kind == "prefill":  # a ppN run is a prompt of N tokens at its depth, read llama.cpp's -ub at a time
            if c.pass_tokens != min(c.m.tokens, catalog.defaults.ubatch_tokens):
                continue  # a run with its own -ub: an estimate reads prompts at llama.cpp's default
            request = Request(context_tokens=c.m.depth_tokens + c.m.tokens + 1, depth_tokens=c.m.depth_tokens,
                              prompt_tokens=c.m.tokens, split_mode=split)
        model, recipe, stated = catalog.model(c.m.model), catalog.recipe(c.m.quant), stated_file_bytes(c.m)
        # a run whose quote sizes its file is priced at that file, as an estimate of a known file (a Hub GGUF) is
        weights = resized(est.weights(model, recipe), stated) if stated else None
        e = est.estimate(model, recipe, machine, request, weights=weights)
        if e.placement.kind != "gpu":
            continue  # the run's file needs more than the card's usable memory at this context: nothing to compare
        shipped = e.speed.decode_tokens_per_s if c.m.kind == "decode" else e.speed.prefill_tokens_per_s
        predicted = predict(est.speeds, c)
        if predicted is None:
            assert shipped is None
            continue
        assert shipped == pytest.approx(predicted, rel=1e-9), (c.m.device, c.m.model, c.m.test)
        compared += 1
    assert compared > 200


def test_apple_offers_mlx_files_priced_with_mlx_constants_and_an_mlx_command(catalog: Catalog,
                                                                           make_machine) -> None:
    est = Estimator(catalog)
    machine = make_machine("M4 Max 128GB")
    model = catalog.model("qwen3-30b-a3b")
    recipes = {r.name for r in estimate_recipes(model, machine, est)}
    assert {"MLX-4bit", "MLX-8bit", "Q4_K_M"} <= recipes
    mlx = est.estimate(model, catalog.recipe("MLX-4bit"), machine, Request(8192))
    gguf = est.estimate(model, catalog.recipe("Q4_K_M"), machine, Request(8192))
    assert mlx.engine == "mlx" and gguf.engine == "llama.cpp"
    assert catalog.speed_fit is not None
    fitted_mlx = catalog.speed_fit.decode["mlx:apple-m4"].stream_efficiency
    fitted_metal = catalog.speed_fit.decode["metal:apple-m4"].stream_efficiency
    assert mlx.speed.basis is not None and gguf.speed.basis is not None
    assert mlx.speed.basis.lanes[0].stream_efficiency == fitted_mlx
    assert gguf.speed.basis.lanes[0].stream_efficiency == fitted_metal
    command = commands(mlx, machine, est)["mlx"]
    assert command is not None and command.startswith("mlx_lm.") and "--q-bits 4" in command
    assert commands(gguf, machine, est)["mlx"] is not None  # the llama.cpp row names the MLX alternative too


def test_mlx_does_not_run_on_nvidia(catalog: Catalog, make_machine) -> None:
    e = Estimator(catalog).estimate(catalog.model("llama-3.1-8b"), catalog.recipe("MLX-4bit"),
                                    make_machine("RTX 4090"), Request(8192))
    assert e.placement.kind == "none" and e.speed.decode_tokens_per_s is None


def test_data_centre_cuda_offers_vllm_where_the_weights_fit(catalog: Catalog, make_machine) -> None:
    est = Estimator(catalog)
    h100, rtx = make_machine("H100 SXM"), make_machine("RTX 4090")
    model = catalog.model("llama-3.1-8b")
    assert "vLLM-BF16" in {r.name for r in estimate_recipes(model, h100, est)}
    assert "vLLM-BF16" not in {r.name for r in estimate_recipes(model, rtx, est)}
    e = est.estimate(model, catalog.recipe("vLLM-BF16"), h100, Request(8192))
    assert e.engine == "vllm" and e.placement.kind == "gpu"
    assert e.weights.weights_bytes == pytest.approx(2 * model.params_total, rel=0.01)
    assert e.speed.basis is not None and "vllm:datacenter" in e.speed.basis.constants[0]
    command = commands(e, h100, est)["vllm"]
    assert command is not None and command.startswith(f"vllm serve {model.hf_repo} ")
    row = est.estimate(model, catalog.recipe("Q4_K_M"), h100, Request(8192))
    assert commands(row, h100, est)["vllm"] is not None
    too_big = est.estimate(catalog.model("llama-3.3-70b"), catalog.recipe("Q4_K_M"), h100, Request(8192))
    assert commands(too_big, h100, est)["vllm"] is None  # 141 GB of BF16 weights do not fit in 80 GB


def test_an_igpu_run_is_priced_at_the_ram_it_states(catalog: Catalog) -> None:
    # an iGPU's memory is the machine's RAM: the Radeon 890M runs on DDR5-5600 (89.6 GB/s) are fitted and scored at
    # that, not at the catalog's LPDDR5X figure; a run that states no RAM keeps the catalog's
    rows, _ = cases(catalog)
    igpu = [c for c in rows if c.gpu_id == "radeon-890m"]
    stated = [c for c in igpu if c.m.ram_bandwidth_gbps]
    listed = catalog.gpu("radeon-890m").bandwidth_gbps
    assert stated and all(c.bandwidth_gbps == c.m.ram_bandwidth_gbps != listed for c in stated)
    assert all(c.bandwidth_gbps == listed for c in igpu if not c.m.ram_bandwidth_gbps)
    assert all(not c.m.ram_bandwidth_gbps for c in rows if c.gpu_id and catalog.gpu(c.gpu_id).kind != "unified")
