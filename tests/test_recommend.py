from __future__ import annotations

from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from tests.core import recommend


def test_nothing_placed_on_a_gpu_exceeds_its_usable_memory(catalog: Catalog, make_machine) -> None:
    machine = make_machine("RTX 4090")
    usable = machine.devices[0].memory_usable_bytes
    assert usable < machine.devices[0].device.memory_total_bytes
    for e in recommend(machine, catalog, Request(8192)):
        if e.placement.kind == "gpu":
            assert e.memory.total_bytes <= usable, e.model.id


def test_what_does_not_fit_has_no_speed(catalog: Catalog, make_machine) -> None:
    results = recommend(make_machine("RTX 4060", 16), catalog, Request(8192))
    misses = [e for e in results if e.placement.kind == "none"]
    assert misses, "a 671B model cannot fit on 8 GB + 16 GB"
    for e in misses:
        assert e.speed.decode_tokens_per_s is None and e.speed.prefill_tokens_per_s is None


def test_fitting_models_come_first(catalog: Catalog, make_machine) -> None:
    kinds = [e.placement.kind == "none" for e in recommend(make_machine("RTX 4090"), catalog, Request(8192))]
    assert kinds == sorted(kinds)


def test_two_3090s_are_two_24_gib_devices(catalog: Catalog, make_machine) -> None:
    machine = make_machine("2x RTX 3090")
    assert [d.device.memory_total_bytes for d in machine.devices] == [24 * 1024**3] * 2
    best = {e.model.id: e for e in recommend(machine, catalog, Request(32768))}
    assert best["llama-3.3-70b"].placement.kind == "gpu"
    assert len(best["llama-3.3-70b"].placement.gpu_bytes) == 2


def test_best_quant_prefers_quality_when_it_fits(catalog: Catalog, make_machine) -> None:
    best = {e.model.id: e for e in recommend(make_machine("H100 SXM"), catalog, Request(8192))}
    assert best["llama-3.1-8b"].recipe.name == "Q8_0"
    assert best["gpt-oss-120b"].recipe.name == "MXFP4"  # shipped format


def test_context_beyond_a_models_maximum_is_capped_with_a_note(catalog: Catalog, make_machine) -> None:
    best = {e.model.id: e for e in recommend(make_machine("H100 SXM"), catalog, Request(1_000_000))}
    e = best["llama-3.1-8b"]
    assert e.context_tokens == 131072
    assert any("capped" in note for note in e.notes)
