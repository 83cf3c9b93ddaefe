from __future__ import annotations

from advisor.plan.recommend import Request
from advisor.specs.facts import Catalog
from tests.core import best_estimate, recommend


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


def _ranked(catalog: Catalog, machine, request: Request, **kw):  # type: ignore[no-untyped-def]
    from advisor.plan.recommend import Estimator, usefulness
    from advisor.plan.recommend import recommend as rec

    est = Estimator(catalog)
    return [(e, usefulness(e, est, request, kw.get("min_tps", 5.0))) for e in rec(machine, est, request, **kw)]


def test_rtx_4090_leads_with_current_high_quality_usable_models(catalog: Catalog, make_machine) -> None:
    ranked = _ranked(catalog, make_machine("RTX 4090", 64), Request(8192, context_pinned=False))
    top = ranked[:5]
    assert all(u.usable and e.model.quality and e.model.quality.value >= 35 for e, u in top)
    ids = [e.model.id for e, _ in top]
    assert "qwen3.6-27b" in ids and "qwen3.6-35b-a3b" in ids
    assert ids.index("qwen3.6-27b") < [e.model.id for e, _ in ranked].index("seed-oss-36b")


def test_cpu_only_no_slow_model_above_a_usable_one(catalog: Catalog, make_machine) -> None:
    ranked = _ranked(catalog, make_machine("none", 32), Request(8192, context_pinned=False))
    usable = [u.usable for _, u in ranked]
    assert usable == sorted(usable, reverse=True)
    assert all((e.speed.decode_tokens_per_s or 0) >= 5 for e, u in ranked if u.usable)


def test_a_model_capped_below_the_asked_context_is_marked_and_demoted(catalog: Catalog, make_machine) -> None:
    ranked = _ranked(catalog, make_machine("RTX 4090", 64), Request(131072))
    capped = [i for i, (_, u) in enumerate(ranked) if u.capped]
    olmo = next(u for e, u in ranked if e.model.id == "olmo-2-1124-13b")
    assert olmo.capped and not olmo.usable and "context" in (olmo.why_not_usable or "")
    uncapped_running = [i for i, (e, u) in enumerate(ranked) if u.usable]
    assert capped and max(uncapped_running) < min(capped)


def test_min_tps_and_sort_options(catalog: Catalog, make_machine) -> None:
    import pytest

    from advisor.errors import UsageError

    machine = make_machine("RTX 4090", 64)
    fast = _ranked(catalog, machine, Request(8192, context_pinned=False), min_tps=50.0)
    assert all((e.speed.decode_tokens_per_s or 0) >= 50 for e, u in fast if u.usable)
    by_speed = [e.speed.decode_tokens_per_s or -1 for e, _ in _ranked(catalog, machine, Request(8192), sort="speed")]
    assert by_speed == sorted(by_speed, reverse=True)
    names = [e.model.name.lower() for e, _ in _ranked(catalog, machine, Request(8192), sort="name")]
    assert names == sorted(names)
    for bad in ({"min_tps": float("nan")}, {"min_tps": 0.0}, {"min_tps": float("inf")}, {"sort": "vibes"}):
        with pytest.raises(UsageError):
            _ranked(catalog, machine, Request(8192), **bad)


def test_quant_loss_lowers_quality_and_native_formats_keep_it(catalog: Catalog, make_machine) -> None:
    from advisor.plan.recommend import Estimator, quant_kld

    est = Estimator(catalog)
    llama = catalog.model("llama-3.1-8b")
    assert quant_kld(catalog.recipe("Q8_0"), llama, est) < quant_kld(catalog.recipe("Q4_K_M"), llama, est) < \
        quant_kld(catalog.recipe("Q2_K"), llama, est)
    gpt = catalog.model("gpt-oss-120b")
    assert quant_kld(catalog.recipe("MXFP4"), gpt, est) == 0.0


def test_llama_70b_on_m4_max_takes_the_best_quant_above_the_comfort_speed(catalog: Catalog, make_machine) -> None:
    """Issue 11: Q8_0 decodes at 5.4 t/s on an M4 Max 128GB; the choice is the best quality at 10 t/s or more."""
    from advisor.plan.choice import candidate_recipes, estimate_recipes
    from advisor.plan.recommend import INTERACTIVE_TOKENS_PER_S, Estimator

    machine = make_machine("M4 Max 128GB", 128)
    model = catalog.model("llama-3.3-70b")
    e = best_estimate(model, machine, catalog, Request(8192))
    assert e.placement.kind == "gpu"
    assert e.recipe.name != "Q8_0"
    assert (e.speed.decode_tokens_per_s or 0) >= INTERACTIVE_TOKENS_PER_S
    est = Estimator(catalog)
    better = [r for r in candidate_recipes(model, est, machine) if r.quality_rank > e.recipe.quality_rank]
    assert better, "higher-quality file types were passed over"
    for r in better:  # every higher-quality candidate is slower than the comfort speed
        assert (est.estimate(model, r, machine, Request(8192)).speed.decode_tokens_per_s or 0) \
            < INTERACTIVE_TOKENS_PER_S, r.name
    assert any(r.name == "Q8_0" for r in estimate_recipes(model, machine, est))


def test_when_nothing_is_comfortable_the_fastest_of_the_tier_is_chosen(catalog: Catalog, make_machine) -> None:
    from advisor.plan.recommend import INTERACTIVE_TOKENS_PER_S

    machine = make_machine("none", 64)
    e = best_estimate(catalog.model("llama-3.3-70b"), machine, catalog, Request(8192))
    assert e.placement.kind == "cpu"
    assert (e.speed.decode_tokens_per_s or 0) < INTERACTIVE_TOKENS_PER_S
    assert e.recipe.name == "Q2_K"  # the smallest, so fastest, CPU file type


def test_quant_fixes_the_file_type_where_a_model_can_use_it(catalog: Catalog, make_machine) -> None:
    from advisor.plan.recommend import Estimator
    from advisor.plan.recommend import recommend as run

    found = {e.model.id: e for e in run(make_machine("RTX 4090"), Estimator(catalog), Request(8192), quant="q8_0")}
    assert found["llama-3.1-8b"].recipe.name == "Q8_0"
    assert found["qwen3.6-27b"].recipe.name == "Q8_0"
    native = found["gpt-oss-20b"]
    assert native.recipe.name == "MXFP4"
    assert any("--quant Q8_0 does not apply" in n and "MXFP4" in n for n in native.notes)
