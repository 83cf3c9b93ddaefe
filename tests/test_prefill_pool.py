"""A backend:class with no prefill runs takes its backend's pooled efficiency, one vote per device (issue 14)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.constants import SpeedTable
from advisor.specs.facts import Catalog
from advisor.speed.cases import cases
from advisor.speed.fit import fit


def test_an_unmeasured_class_takes_its_backends_pooled_efficiency(catalog: Catalog) -> None:
    shipped = catalog.speed_fit
    assert shipped is not None and "vulkan:datacenter" not in shipped.prefill
    table = SpeedTable(shipped, catalog.defaults)
    assert table.constants("vulkan", "datacenter").prefill_efficiency == shipped.prefill_pooled_by_backend["vulkan"]
    # a measured class keeps its own
    assert table.constants("vulkan", "apu").prefill_efficiency == shipped.prefill["vulkan:apu"]


def test_the_pool_gives_each_device_one_vote(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.speed import prefill_fit

    # the MoE, attention and weight-kind ratios at the shipped values, so that only the efficiencies can move
    shipped = catalog.speed_fit
    assert shipped is not None
    monkeypatch.setattr(prefill_fit, "PREFILL_RATIOS", (shipped.moe_prefill_factor,))
    monkeypatch.setattr(prefill_fit, "ATTENTION_RATIOS", (shipped.attention_prefill_ratio_by_backend["rocm"],))
    monkeypatch.setattr(prefill_fit, "WEIGHT_RATIOS", (shipped.weight_prefill_ratio.get("rocm:float", 1.0),))
    rows, _ = cases(catalog)
    rocm = [c for c in rows if c.backend == "rocm"]
    before = fit(rocm, catalog.defaults)
    # the MI50's prefill runs five times over: a median over runs would move toward it, one over devices does not
    mi50 = [c for c in rocm if c.group == "mi50" and c.m.kind == "prefill"]
    assert mi50
    copies = [replace(c, m=replace(c.m, source=f"{c.m.source}#{i}")) for i in range(4) for c in mi50]
    after = fit(rocm + copies, catalog.defaults)
    assert after.prefill_pooled_by_backend["rocm"] == before.prefill_pooled_by_backend["rocm"]
    assert after.prefill["rocm:datacenter"] == before.prefill["rocm:datacenter"]  # its own class: the MI50 alone


def test_the_basis_says_what_the_prefill_efficiency_rests_on(catalog: Catalog) -> None:
    # issue 14 (recency): the basis names the runs and the builds' dates behind the prefill constants too
    shipped = catalog.speed_fit
    assert shipped is not None
    table = SpeedTable(shipped, catalog.defaults)
    own = table.constants("rocm", "apu").basis
    sample = shipped.prefill_samples["rocm:apu"]
    assert f"prefill fitted for rocm:apu on {sample.rows} measurements" in own and f"dated {sample.period}" in own
    assert sample.period.startswith("2026")  # Strix Halo's runs before the RDNA 3.5 kernel step are not in it
    pooled = table.constants("vulkan", "datacenter").basis
    assert "vulkan's pooled efficiency (no vulkan:datacenter runs)" in pooled
    assert f"from {shipped.prefill_samples['vulkan:*'].devices} devices" in pooled


def test_a_one_device_fit_says_one_device(catalog: Catalog) -> None:
    # decode's basis and prefill's read the same sample wording: "from 1 device", never "from 1 devices"
    shipped = catalog.speed_fit
    assert shipped is not None
    one = next(key for key, f in shipped.decode.items() if f.devices == 1)
    backend, rest = one.split(":", 1)
    basis = SpeedTable(shipped, catalog.defaults).constants(backend, rest).basis
    assert f"fitted for {one} on {shipped.decode[one].rows} measurement" in basis
    assert "from 1 device" in basis and "from 1 devices" not in basis
