"""Decode constants per GPU family (an Apple chip generation, a discrete GPU's architecture), each fit pulled toward
its kind's pooled fit; prefill stays per backend:class (issue 14)."""

from __future__ import annotations

import pytest

from advisor.estimate.constants import SpeedTable, speed_family
from advisor.estimate.speed import Work
from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement
from advisor.speed import cases as known
from advisor.speed import fit as cal
from tests.core import estimate

LAYERS, BW, EFF, TAU = 40, 600.0, 0.8, 30e-6


def test_a_workstation_card_shares_its_consumer_twins_family(catalog: Catalog) -> None:
    family = {gpu.id: speed_family(gpu) for gpu in catalog.gpus}
    assert family["radeon-ai-pro-r9700"] == family["rx-9070-xt"] == "rdna-4"  # one die, Navi 48
    assert family["radeon-pro-w7900"] == family["rx-7900-xtx"] == "rdna-3"
    assert family["rtx-pro-6000-blackwell"] == family["rtx-5090"] == "blackwell"
    assert family["rtx-a6000"] == family["rtx-3090"] == "ampere"
    assert family["radeon-ai-pro-r9700"] != family["radeon-pro-w7900"]  # same market segment, other dies
    assert family["m3-max-40c"] == family["m3-ultra-80c"] == "apple-m3"
    assert family["h100-sxm"] is None and family["ryzen-ai-max-395"] is None  # data centre, APU: by class


def _case(device: str, family: str | None, scale: float, cls: str = "consumer", eff: float = EFF) -> known.Case:
    """A dense decode run that follows the model exactly at efficiency `eff` and TAU seconds per layer."""
    nbytes = int(4e9 * scale)
    seconds = nbytes / (eff * BW * 1e9) + TAU * LAYERS
    m = Measurement(device=device, device_count=1, backend="cuda", engine="llama.cpp", model="m", quant="Q4_0",
                    test="tg128", depth_tokens=0, tokens_per_s=1 / seconds, source="https://example.com", quote="q")
    return known.Case(m, device, "cuda", cls, device, BW, None, Work(nbytes, 0, 0, LAYERS, 0, 10**9, 0),
                      family=family)


def test_a_family_measured_once_borrows_its_kinds_shape(catalog: Catalog) -> None:
    # one run cannot tell the stream efficiency from the fixed time per layer; the family's kind can
    rows = [_case(d, "fam-a", s) for d in ("a", "b") for s in (0.25, 1, 4)] + [_case("c", "fam-b", 1)]
    pooled = cal.fit(rows, catalog.defaults).decode["cuda:fam-b"]
    assert pooled.stream_efficiency == pytest.approx(EFF, rel=0.01)
    assert pooled.per_layer_s == pytest.approx(TAU, rel=0.05)  # the pool's own fit is pulled lightly too
    started = cal.fit(rows, catalog.defaults, cal.Variant(pooled=False)).decode["cuda:fam-b"]
    assert abs(started.per_layer_s / TAU - 1) > 0.1  # toward the starting values instead: the run alone can't say


def test_the_shipped_estimate_takes_the_cards_family_constants(catalog: Catalog, make_machine) -> None:
    assert catalog.speed_fit is not None
    fitted = catalog.speed_fit.decode["rocm:rdna-4"]
    c = SpeedTable(catalog.speed_fit, catalog.defaults).constants("rocm", "workstation", "rdna-4")
    assert (c.stream_efficiency, c.per_layer_s) == (fitted.stream_efficiency, fitted.per_layer_s)
    assert "rocm:rdna-4" in c.basis and fitted.devices >= 2
    model, recipe = catalog.model("qwen3-8b"), catalog.recipe("Q4_K_M")
    e = estimate(model, recipe, make_machine("Radeon AI PRO R9700"), catalog, Request(context_tokens=4096))
    twin = estimate(model, recipe, make_machine("RX 9070 XT"), catalog, Request(context_tokens=4096))
    assert e.speed.basis is not None and any("rocm:rdna-4" in b for b in e.speed.basis.constants)
    # the same die at the same bandwidth decodes alike whatever its market segment
    assert e.speed.decode_tokens_per_s == pytest.approx(twin.speed.decode_tokens_per_s, rel=0.02)


def test_a_family_with_no_measurements_takes_its_kinds_pooled_fit(catalog: Catalog) -> None:
    assert catalog.speed_fit is not None
    fitted = catalog.speed_fit.decode
    assert "cuda:turing" not in fitted and "cuda:discrete" in fitted  # no CUDA run on a Turing card
    pool = fitted["cuda:discrete"]
    families = ("cuda:ampere", "cuda:ada-lovelace", "cuda:blackwell")
    assert pool.rows == sum(fitted[k].rows for k in families)
    assert pool.devices == sum(fitted[k].devices for k in families)
    table = SpeedTable(catalog.speed_fit, catalog.defaults)
    c = table.constants("cuda", "consumer", "turing")  # a Turing card's Vulkan runs say how it stands to its kind
    assert "cuda:discrete" in c.basis and "no measurements for cuda:turing" in c.basis and "on vulkan" in c.basis
    assert "rocm:rdna-2" not in fitted and not any(k.endswith(":rdna-2") for k in fitted)  # no RDNA 2 run anywhere
    rdna2 = table.constants("rocm", "consumer", "rdna-2")
    rocm = fitted["rocm:discrete"]
    assert (rdna2.stream_efficiency, rdna2.per_layer_s) == (rocm.stream_efficiency, rocm.per_layer_s)


def test_a_family_unmeasured_on_a_backend_stands_to_its_kind_as_it_does_on_another(catalog: Catalog) -> None:
    # the same chip's memory system and front end whatever the software: a family with no runs on Metal but runs on
    # MLX takes Metal's pooled fit scaled as it stands to MLX's pool (round 13: held out, an M5 Max on Metal came out
    # 11-39 % slow on the pooled Apple constants, -13 to +19 % scaled as the M5 stands on MLX)
    from advisor.specs.measured import FittedClass

    decode = {"metal:apple": FittedClass(0.8, 1e-4, 10, 5), "mlx:apple": FittedClass(0.9, 8e-5, 10, 5),
              "mlx:apple-m9": FittedClass(0.81, 4e-5, 4, 1)}
    table = known.fit_table(catalog.defaults, decode)
    scaled = table.constants("metal", "apple", "apple-m9")
    assert scaled.stream_efficiency == pytest.approx(0.8 * 0.9) and scaled.per_layer_s == pytest.approx(5e-5)
    assert "stands to its kind on mlx" in scaled.basis
    plain = SpeedTable(table.fit, catalog.defaults, family_standing=False).constants("metal", "apple", "apple-m9")
    assert (plain.stream_efficiency, plain.per_layer_s) == (0.8, 1e-4)
    alone = table.constants("metal", "apple", "apple-m8")  # measured on no other backend: the pooled fit
    assert (alone.stream_efficiency, alone.per_layer_s) == (0.8, 1e-4) and "stands" not in alone.basis


def test_an_integrated_gpu_leans_on_its_backends_discrete_cards(catalog: Catalog) -> None:
    # the discrete cards stream at EFF; the one integrated GPU measured, at 0.6. A second iGPU's memory system may be
    # either's: the key is pulled part of the way toward the kernels' pool, as if that pool were one more device
    discrete = [_case(d, "fam-a", s) for d in ("a", "b", "c") for s in (0.25, 1, 4)]
    igpu = [_case("x", None, s, "apu", 0.6) for s in (0.25, 1, 4)]
    pulled = cal.fit(discrete + igpu, catalog.defaults).decode["cuda:apu"].stream_efficiency
    alone = cal.fit(discrete + igpu, catalog.defaults, cal.Variant(apu_pool_devices=0)).decode["cuda:apu"]
    assert alone.stream_efficiency == pytest.approx(0.6, rel=0.03)
    assert 0.6 * 1.1 < pulled < EFF * 0.95
    # the families' own pull (toward their kind's fit or its starting values) does not move the iGPU's
    unpooled = cal.fit(discrete + igpu, catalog.defaults, cal.Variant(pooled=False)).decode["cuda:apu"]
    assert unpooled.stream_efficiency == pulled
    # a data-centre card measured alone is not pulled: its kernels and its memory are its own
    dc = [_case("h", None, s, "datacenter", 0.6) for s in (0.25, 1, 4)]
    shipped = cal.fit(discrete + dc, catalog.defaults).decode["cuda:datacenter"]
    assert shipped == cal.fit(discrete + dc, catalog.defaults, cal.Variant(apu_pool_devices=0)).decode[
        "cuda:datacenter"]
    assert shipped.stream_efficiency < 0.6 * 1.1

