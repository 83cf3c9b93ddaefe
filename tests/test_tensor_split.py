"""llama.cpp's -sm tensor (issue 14, multi-GPU): the GPUs split every layer and run at once, paying two all-reduces
a layer over their link, the one rule vLLM's tensor parallelism and `serve` use; -sm row is gone from llama.cpp."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from advisor.cli import main
from advisor.estimate.allreduce import allreduce_link
from advisor.estimate.estimator import Estimate, Estimator, Request
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement
from advisor.speed.cases import cases, split_mode

TWO_GEFORCE = "2x RTX 5060 Ti 16GB"


def _estimate(est: Estimator, machine, split: str, model: str = "qwen3.6-27b") -> Estimate:
    catalog = est.catalog
    return est.estimate(catalog.model(model), catalog.recipe("Q4_K_M"), machine,
                        Request(context_tokens=8192, split_mode=split))


def test_a_tensor_split_reads_the_weights_at_once_less_its_all_reduces(catalog: Catalog, make_machine) -> None:
    est, two = Estimator(catalog), make_machine(TWO_GEFORCE)
    layer, tensor = _estimate(est, two, "layer"), _estimate(est, two, "tensor")
    assert not layer.placement.tensor_split and tensor.placement.tensor_split
    assert layer.speed.decode_tokens_per_s and tensor.speed.decode_tokens_per_s
    assert layer.speed.prefill_tokens_per_s and tensor.speed.prefill_tokens_per_s
    # both cards stream half the weights at once: faster than one after the other, short of twice (the all-reduces)
    assert 1.3 * layer.speed.decode_tokens_per_s < tensor.speed.decode_tokens_per_s \
        < 2 * layer.speed.decode_tokens_per_s
    # prefill splits the FLOPs, but each prompt token's activations cross host memory twice a layer
    assert layer.speed.prefill_tokens_per_s < tensor.speed.prefill_tokens_per_s \
        < 2 * layer.speed.prefill_tokens_per_s
    lane = tensor.speed.basis.lanes[0] if tensor.speed.basis else None
    assert lane is not None and lane.tensor_parallel == 2 and lane.transfer_s_per_token > 0


def test_a_slower_host_link_costs_prefill_more_than_decode(catalog: Catalog, make_machine) -> None:
    two = make_machine(TWO_GEFORCE)
    fast = _estimate(Estimator(catalog), two, "tensor").speed
    slow_catalog = replace(catalog, defaults=replace(catalog.defaults, allreduce_host_busbw_gbps=
                                                      catalog.defaults.allreduce_host_busbw_gbps / 4))
    slow = _estimate(Estimator(slow_catalog), make_machine(TWO_GEFORCE), "tensor").speed
    assert fast.prefill_tokens_per_s and slow.prefill_tokens_per_s and fast.decode_tokens_per_s
    assert slow.prefill_tokens_per_s < 0.8 * fast.prefill_tokens_per_s  # a prompt's activations: bandwidth-bound
    assert slow.decode_tokens_per_s == pytest.approx(fast.decode_tokens_per_s, rel=0.05)  # one token: latency


def test_geforce_cards_reduce_through_host_memory_and_unknown_links_say_so(catalog: Catalog, make_machine) -> None:
    d = catalog.defaults
    geforce, workstation, amd = catalog.gpu("rtx-3090"), catalog.gpu("rtx-a6000"), catalog.gpu("rx-7900-xtx")
    assert allreduce_link(d, geforce) == \
        (d.allreduce_host_busbw_gbps, d.allreduce_host_latency_s, True)
    assert allreduce_link(d, workstation)[0] == \
        d.allreduce_pcie_busbw_gbps["4"]  # type: ignore[index]
    assert allreduce_link(d, amd) is None
    e = _estimate(Estimator(catalog), make_machine("2x RX 7900 XTX"), "tensor")
    assert e.placement.tensor_split and any("all-reduces are not counted" in n for n in e.notes)


def test_one_gpu_or_a_model_that_spills_keeps_the_layer_split(catalog: Catalog, make_machine) -> None:
    est = Estimator(catalog)
    one = _estimate(est, make_machine("RTX 4090"), "tensor")
    assert not one.placement.tensor_split and any("two GPUs" in n for n in one.notes)
    assert one.speed.decode_tokens_per_s == _estimate(est, make_machine("RTX 4090"), "layer").speed.decode_tokens_per_s
    spilled = _estimate(est, make_machine("2x RTX 3060 12GB"), "tensor", model="llama-3.3-70b")
    assert spilled.placement.kind != "gpu" and not spilled.placement.tensor_split
    assert any("whole model on the GPUs" in n for n in spilled.notes)


def test_the_command_runs_the_split_it_was_estimated_for(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["estimate", "qwen3.6-27b", "--quant", "Q4_K_M", "--gpu", TWO_GEFORCE, "--ram", "64GB", "--json"]
    with pytest.raises(SystemExit) as done:
        main([*args, "--split-mode", "tensor"])
        raise SystemExit(0)
    assert not done.value.code
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["placement_detail"]["tensor_split"] is True
    assert "-sm tensor" in result["commands"]["llama.cpp"]
    assert result["speed"]["basis"]["lanes"][0]["transfer_s_per_token"] > 0
    with pytest.raises(SystemExit) as done:
        main([*args, "--split-mode", "row"])
        raise SystemExit(0)
    assert done.value.code == 2 and "24216" in capsys.readouterr().err


def test_published_split_modes_are_read_and_row_runs_are_not_scored(catalog: Catalog) -> None:
    m: Measurement = next(m for m in catalog.measurements if m.device_count == 1 and m.device != "cpu")
    assert split_mode(m) == "layer"
    assert split_mode(replace(m, flags="-fa 1 -sm tensor")) == "tensor"
    assert split_mode(replace(m, flags="--split-mode=row -fa 1")) == "row"
    kept, _ = cases(catalog)
    assert not any(split_mode(c.m) == "row" for c in kept)
    row = replace(m, flags="-fa 1 -sm row", device_count=2, exclude=None)
    assert cases(replace(catalog, measured=(row,)))[1] == [(row, "llama.cpp's row split (-sm row): removed from its "
                                                                "CUDA and ROCm builds (PR 24216, 2026-06)")]
    tensor = [c for c in kept if split_mode(c.m) == "tensor"]
    assert all(c.tensor_parallel == c.m.device_count > 1 for c in tensor)


def test_recommend_on_two_gpus_says_what_the_tensor_split_would_give(capsys: pytest.CaptureFixture[str]) -> None:
    def notes(gpu: str) -> tuple[list[str], dict]:
        with pytest.raises(SystemExit) as done:
            main(["recommend", "--gpu", gpu, "--ram", "64GB", "--json", "--limit", "1"])
            raise SystemExit(0)
        assert not done.value.code
        out = json.loads(capsys.readouterr().out)
        return out["notes"], out["results"][0]

    hint, top = notes(TWO_GEFORCE)
    assert len(hint) == 1 and "--split-mode tensor" in hint[0] and top["model"]["name"] in hint[0]
    faster, layer = (float(x.replace(",", "")) for x in hint[0].split("decode at ")[1].split(" t/s instead of "))
    assert layer == pytest.approx(top["speed"]["decode_tokens_per_s"], abs=0.5) and faster > layer
    assert notes("RTX 4090")[0] == []  # one GPU: nothing to split
