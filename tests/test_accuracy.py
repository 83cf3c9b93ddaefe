"""The speed model's leave-one-device-out error on the published measurements, and the files built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.present.accuracy import accuracy_markdown
from advisor.specs.facts import Catalog
from advisor.speed.validate import Validation, ablation, summarize, validate
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validation(catalog: Catalog) -> Validation:
    return validate(catalog)


def test_enough_measurements_across_backends(catalog: Catalog) -> None:
    assert len(catalog.measurements) >= 150
    devices = {m.device if m.device != "cpu" else f"cpu:{m.cpu}" for m in catalog.measurements}
    assert len(devices) >= 25
    assert {"cuda", "metal", "rocm", "vulkan", "cpu"} <= {m.backend for m in catalog.measurements}
    moe = {m.model for m in catalog.measurements if catalog.model(m.model).is_moe}
    assert len(moe) >= 10
    assert any(m.depth_tokens > 0 for m in catalog.measurements)
    assert all(m.quote and m.source.startswith("https://") for m in catalog.measurements)


def test_cross_validated_errors_meet_issue_5_bounds(validation: Validation) -> None:
    # Leave-one-device-out on every usable measurement (docs/accuracy.md). The decode fit's pull toward the starting
    # values was picked by this same procedure; bench/nested_cv.py re-picks it inside each fold for an unflattered
    # figure (decode median 12.6 %, p90 39.3 % when it was set).
    decode, prefill = summarize(validation.of("decode")), summarize(validation.of("prefill"))
    assert decode["n"] >= 340 and prefill["n"] >= 150
    # issue 14's bound, met since decode constants are per GPU family (10.0009 % with round 13's runs, 9.8 % since each
    # backend whose MoE runs come from two devices has its own per-expert cost, 9.5 % with the family's standing),
    # missed again by a thousandth of a point with round 14's 42 decode runs (10.0009 %): most are a Strix Halo held
    # out, which its one other integrated GPU measured on Vulkan, the Radeon 890M, prices a median 14 % slow; 9.9 %
    # with round 15's 45 (CUDA, MLX, Vulkan and ROCm cards, a Radeon 780M); 10.09 % with round 16's 34 (most of them
    # a Strix Halo on Vulkan and ROCm, 21-40 % slow on Vulkan MoE held out), 10.09 % with round 17's 3; 9.55 % since an
    # integrated GPU's key is pulled toward its backend's discrete-GPU pool (Strix Halo held out: 15-16 % slow -> 10 %)
    assert decode["median_abs_error"] <= 0.10
    # issue 14's 30 %: 29.5 % since the MoE factor is picked on the mean absolute log error and Qwen3-Next is scored on
    # a current build (its pre-optimization runs scored: 30.7 %); a sparse tail: 2 more rows moved it 37.4 % -> 39.3 %
    # once
    # 30.8 % with round 13's runs (an M5 Max on Metal and MLX, the first M5 generation chip on Metal: held out, it
    # took the pooled Apple constants, whose fixed time per layer an M5 undercuts: 11-39 % slow), 30.6 % since each
    # backend whose MoE runs come from two devices has its own per-expert cost, 29.1 % since a family with no runs on
    # a backend stands to its kind as it does on the backends that measured it; 30.0 % with round 14's runs, 30.6 %
    # with round 15's (two Radeon AI PRO R9700s on Vulkan at 16-32k of context, 18-60 % fast, and MLX at 22k of
    # context on an M4 Max and an M5 Max, up to 104 % fast), 30.9 % with round 16's and with round 17's; 29.8 % since
    # an integrated GPU's key is pulled toward its backend's discrete-GPU pool
    assert decode["p90_abs_error"] <= 0.30
    # issue 14's 20 %: 27.2 % (2026-12-06) once the 89 round-4 prefill runs held out only because they moved this
    # median past a bound were scored (20.3 % without them); 24.8 % since a class with no runs takes its backend's
    # pooled efficiency, one vote per device; 21.4 % since the efficiency is per GPU family like decode's (ablation in
    # docs/accuracy.md); 21.5 % once the 2024-01 CUDA runs before tensor-core MMQ (PR 7676) left and the families no
    # longer pulled toward the pool; 19.2 % since ROCm's MoE prefill takes the tile term; 18.7 % with the three- and
    # four-GPU RTX 5060 Ti runs (round 9); 21.4 % with the Radeon 890M's runs, the second AMD APU: it and the Strix
    # Halo now predict each other when held out, and ROCm's tile term, no longer earning its place, left; 22.1 % once
    # each run is priced at its own file's size, which showed three MI50 rows to be of the 32 GB card; 19.4 % once
    # the Strix Halo's BF16 runs on a Vulkan build whose device line reads 'bf16: 0' were left out like the same
    # toolbox's other such runs (the rule already stood; these eight were missed); 18.7 % since BF16 and F16 files'
    # matmuls take a ratio of their own per backend (the weight-kind ratio); 18.6 % since Vulkan on an NVIDIA GPU runs
    # its matmuls at the FP16-accumulate rate (speed.prefill_tflops); 21.1 % with the 2026-12-07 gpt-oss and
    # integrated-GPU runs, 18.3 % once prefill FLOPs are counted from the config (models.params.matmul_params); 21.1 %
    # with round 12's 115 runs (consumer GeForce cards' gpt-oss, Radeon and Arc cards, base Apple chips, an EPYC),
    # 19.4 % once ROCm took the tile term again and the weight-kind ratio, no longer earning its place, left; 19.3 %
    # with round 13's (an M5 Max, an RX 9060 XT), 19.1 % since each family's efficiency is pulled toward its backend's
    # pooled one as if the pool were one more device; 19.7 % with round 16's (CUDA's attention ratio 0.51 -> 0.33 with
    # an RTX 4090's Qwen3.5-9B at 16k-64k of context); 19.9 % with round 17's (11 Strix Halo and Radeon 890M Vulkan
    # runs from before PR 18749's matmul tiles left out as an older build, six Strix Halo runs at depth 0 added)
    assert prefill["median_abs_error"] <= 0.20


def test_tensor_split_runs_are_predicted_held_out(validation: Validation) -> None:
    # llama.cpp -sm tensor (issue 14, multi-GPU): nothing is fitted to the split; each run is its device held out,
    # priced on the tensor-parallel lane with the catalog's link (GeForce: through host memory)
    from advisor.speed.cases import split_mode

    tensor = [p for p in validation.predictions if split_mode(p.case.m) == "tensor"]
    assert len({p.case.group for p in tensor}) >= 4 and len(tensor) >= 10
    assert all(p.case.tensor_parallel == p.case.m.device_count for p in tensor)
    # two GPUs; the one four-GPU run (RTX 5060 Ti, two cards behind the chipset's x4 uplink) is 74 % fast: every
    # all-reduce is priced at one staged copy's latency whatever the GPU count (docs/estimation.md, "Three and four
    # GPUs"), a miss this test does not hide
    decode = summarize([p for p in tensor if p.case.m.kind == "decode" and p.case.m.device_count == 2])
    assert decode["median_abs_error"] <= 0.10 and decode["p90_abs_error"] <= 0.20
    # the same rigs' layer split, predicted on per-GPU lanes one after another, is slower by about the GPU count (CUDA:
    # the RTX 5060 Ti rigs and two RTX 3060s; two Arc A770s on SYCL come out 78 % fast, docs/accuracy.md's misses)
    layer = [p for p in validation.predictions if p.case.m.device_count > 1 and split_mode(p.case.m) == "layer"
             and p.case.m.model == "qwen3.8-27b" and p.case.m.kind == "decode" and p.case.backend == "cuda"]
    assert len({p.case.group for p in layer}) >= 2 and all(abs(p.error) < 0.15 for p in layer)


@pytest.fixture(scope="module")
def variants(catalog: Catalog) -> dict[str, dict[str, dict[str, float | int]]]:
    return ablation(catalog)


def test_accuracy_doc_is_current(catalog: Catalog, validation: Validation,
                                 variants: dict[str, dict[str, dict[str, float | int]]]) -> None:
    from advisor.present.serve_accuracy import serving_section

    expected = accuracy_markdown(validation, variants) + serving_section(catalog)
    assert (ROOT / "docs" / "accuracy.md").read_text() == expected, \
        "run: advisor validate --markdown > docs/accuracy.md"


def test_gpu_families_and_their_pooled_prior_each_earn_their_place(
        variants: dict[str, dict[str, dict[str, float | int]]]) -> None:
    def decode(start: str) -> tuple[float, float]:
        found = next(v["decode"] for label, v in variants.items() if label.startswith(start))
        return float(found["median_abs_error"]), float(found["p90_abs_error"])

    shipped = decode("shipped")
    median, p90 = decode("discrete GPUs' decode constants per backend:class")
    assert shipped[0] < median and shipped[1] < p90
    # the pull toward the kind's pooled fit buys the median (8.6 % against 9.4 % since the -sm tensor runs, 2026-12)
    # at a fifth of a point of the 90th percentile (29.1 % against 28.9 %); since each run is priced at its own file's
    # size it buys both (8.6 % against 9.0 %, 25.9 % against 27.4 %); with round 12's runs it buys the 90th percentile
    # (29.7 % against 30.9 %) and ties the median (9.29 % against 9.28 %); with round 15's it buys both (9.9 % against
    # 10.3 %, 30.6 % against 31.1 %)
    median, p90 = decode("architectures and Apple generations pulled")
    assert shipped[0] < median + 0.001 and shipped[1] < p90 - 0.003


def test_the_moe_factors_objective_costs_nothing_measurable(
        variants: dict[str, dict[str, dict[str, float | int]]]) -> None:
    # picked on the median, the per-expert cost flipped between 0.05 and 0.2 as single devices were left out, so it
    # is picked on the mean absolute log error, which is smooth in the factor. With today's rows both pick 0.1 in all
    # but one or two folds and the two tie within a few tenths of a point (8.4 % against 8.3 % at the median, 25.9 %
    # against 25.7 % at the 90th percentile, 2026-12): the smooth objective must cost no more than that
    shipped = next(v["decode"] for label, v in variants.items() if label.startswith("shipped"))
    median = next(v["decode"] for label, v in variants.items() if "picked on the median" in label)
    assert shipped["median_abs_error"] <= median["median_abs_error"] + 0.005
    assert shipped["p90_abs_error"] <= median["p90_abs_error"] + 0.005


def test_the_moe_prefill_tile_term_earns_its_place(variants: dict[str, dict[str, dict[str, float | int]]]) -> None:
    # on CUDA a routed expert's prefill runs as MMQ tiles, so its ratio follows the tokens it gets in a pass
    shipped = next(v["prefill"] for label, v in variants.items() if label.startswith("shipped"))
    without = next(v["prefill"] for label, v in variants.items() if "whatever the tokens each expert gets" in label)
    assert shipped["median_abs_error"] < without["median_abs_error"]
    assert shipped["p90_abs_error"] <= without["p90_abs_error"]
    # on ROCm too (HIP builds the same kernels): it left when the Radeon 890M's runs came in (19.8 % against 18.3 %
    # at the median, 2026-12-07) and earns its place again with round 12's (19.4 % against 21.0 % on CUDA alone,
    # the 90th percentile 59.6 % against 63.8 %)
    cuda = next(v["prefill"] for label, v in variants.items() if label.startswith("the tile term on CUDA only"))
    assert shipped["median_abs_error"] < cuda["median_abs_error"]
    assert shipped["p90_abs_error"] < cuda["p90_abs_error"]
    # not on Vulkan: against each device's own dense runs its experts' ratio grows with their tokens as on CUDA and
    # ROCm (scripts/expert_ratio.py: Strix Halo, 0.14-0.21 at 16 tokens, 0.71 for gpt-oss-20b at 64), but held out
    # the term there costs both figures, alone (23.7 % and 87.5 % against 19.1 % and 60.3 %, 2026-12-07) or with a
    # ratio per backend (20.6 % and 76.0 %): the ratio's level differs by device more than the devices pin down; with
    # round 14's runs (five more Strix Halo sources, a W7800) 24.7 % and 74.4 %, and 24.5 % and 83.3 %, against 19.7 %
    # and 66.2 %; with the cache term (stop 40) 25.4 % and 68.5 %, and 21.0 % and 64.6 %, against 18.4 % and 64.8 %:
    # the per-backend variant's 90th percentile is a fifth of a point lower, its median 2.6 points higher, and a term
    # ships only where both figures improve
    for start in ("the tile term on Vulkan too (", "the tile term on Vulkan too, and the MoE prefill ratio"):
        vulkan = next(v["prefill"] for label, v in variants.items() if label.startswith(start))
        assert shipped["median_abs_error"] < vulkan["median_abs_error"]
    alone = next(v["prefill"] for label, v in variants.items() if label.startswith("the tile term on Vulkan too ("))
    assert shipped["p90_abs_error"] < alone["p90_abs_error"]


def test_efficiency_from_dense_runs_first_is_not_shipped(
        variants: dict[str, dict[str, dict[str, float | int]]]) -> None:
    # a MoE run's implied efficiency rests on the experts' ratio, so a device's dense runs could set its efficiency
    # alone: held out that took the prefill median from 19.1 % to 18.8 % and the APU runs from 22.2 % to 19.7 % (under
    # issue 14's bound), but the 90th percentile from 60.3 % to 61.6 % (2026-12-07), and a term ships only where both
    # figures improve. Round 14's runs turned the trade around: the 90th percentile 66.2 % -> 61.5 %, the median 19.7 %
    # -> 20.1 % and the APU runs 23.5 % -> 23.4 %; still not both, so still not shipped
    shipped = next(v for label, v in variants.items() if label.startswith("shipped"))
    dense = next(v for label, v in variants.items() if label.startswith("a device's prefill efficiency from its dense"))
    assert dense["prefill"]["median_abs_error"] > shipped["prefill"]["median_abs_error"]
    assert dense["prefill"]["p90_abs_error"] < shipped["prefill"]["p90_abs_error"]


def test_the_weight_kind_ratio_no_longer_earns_its_place(variants: dict[str, dict[str, dict[str, float | int]]],
                                                         validation: Validation) -> None:
    # BF16 and F16 files skip the quantized kernels (CUDA: cuBLAS, not MMQ; Metal: no dequantization): their matmuls
    # at a fitted share of the efficiency, per backend where such runs come from two devices. Since prefill FLOPs are
    # counted from the config (2026-12-07) only Metal's ratio was not 1, and it earned its place by less each time
    # (18.7 % -> 18.3 % at the median, then 18.28 % -> 18.26 %); with round 12's runs it costs a point and a half of the
    # median for a third of a point of the 90th percentile (21.0 % and 59.3 % with it against 19.4 % and 59.6 %), so
    # it is not shipped: an ablation row
    def prefill(start: str) -> dict[str, float | int]:
        return next(v["prefill"] for label, v in variants.items() if label.startswith(start))

    shipped, ratio = prefill("shipped"), prefill("BF16 and F16 weights' prefill matmuls at a fitted share")
    # with round 13's: 19.1 % against 19.8 %; with round 14's, 19.7 % and 66.2 % against 20.1 % and 67.9 %; with
    # round 15's, 19.4 % against 19.7 %, the 90th percentile 65.2 % both (before the round's audit it traded: 63.0 %
    # against 64.0 %); with round 17's it trades again, 19.9 % and 68.1 % against 21.0 % and 67.0 %: a point of the
    # median for a point of the 90th percentile, so still not shipped
    assert shipped["median_abs_error"] < ratio["median_abs_error"] - 0.002
    assert shipped["p90_abs_error"] < ratio["p90_abs_error"] + 0.012
    # the same for MXFP4 files validated a little better (18.2 %, 90th percentile 55.8 %, 2026-12-07) but was not
    # shipped: fitted on gpt-oss's runs, its Vulkan ratio (2.4) was a gpt-oss factor, not a kernel's (with round 12's
    # runs it is fitted at 1 and changes nothing). The one MXFP4 file
    # of another model measured beside its Q4_K_M on one machine and build (GLM-4.7-Flash, Strix Halo, Vulkan)
    # prefills within 6 % of it, and the model (no MXFP4 ratio) prices the two alike; with the ratio, 1.6x apart
    pair = {p.case.m.quant: p for p in validation.of("prefill") if p.case.m.model == "glm-4.7-flash"
            and p.case.m.depth_tokens == 0 and "HumanSpark" in p.case.m.source}
    measured = pair["MXFP4"].case.m.tokens_per_s / pair["Q4_K_M"].case.m.tokens_per_s
    assert abs(measured - 1) < 0.06 and pair["MXFP4"].case.work.weight_kind == "mxfp4"
    assert pair["MXFP4"].predicted_tokens_per_s == pytest.approx(pair["Q4_K_M"].predicted_tokens_per_s, rel=0.01)
    gpt_oss_vulkan = [p.error for p in validation.of("prefill") if p.case.m.model.startswith("gpt-oss")
                      and p.case.backend == "vulkan"]
    assert sorted(gpt_oss_vulkan)[len(gpt_oss_vulkan) // 2] < -0.2  # gpt-oss's own miss there (docs/accuracy.md)


def test_each_largest_miss_says_what_its_held_out_prediction_rested_on(validation: Validation) -> None:
    from advisor.speed.validate import held_out_basis

    prefill = validation.of("prefill")

    def basis(device: str, backend: str, depth: int) -> str:
        found = next(p for p in prefill if p.case.group == device and p.case.m.backend == backend
                     and p.case.m.depth_tokens == depth and not p.case.moe)
        return held_out_basis(found, prefill)

    # the MI50 is the only ROCm datacenter card measured: held out, it has its backend's pool to go on
    assert basis("mi50", "rocm", 0).startswith("no other rocm:datacenter device: rocm's pooled constants")
    # a Ryzen 9 7950X's gpt-oss-20b run at 8k of context: the CPU's dense runs at depth come from fewer than two
    # devices, so the CPU has no attention ratio (Strix Halo's Vulkan runs at 32k were the case until round 15's: two
    # R9700s on Vulkan at 16k and a Ryzen AI Max 385's 8k-token prompt)
    cpu = next(p for p in prefill if p.case.group.startswith("cpu:AMD Ryzen 9 7950X") and p.case.m.depth_tokens > 0)
    assert "no cpu attention ratio" in held_out_basis(cpu, prefill)
    for backend in ("vulkan", "rocm"):  # Vulkan's from those two, ROCm's from the R9700 and the RX 7900 XTX
        assert "attention ratio" not in basis("ryzen-ai-max-395", backend, 32768)
    tensor = next(p for p in prefill if p.case.tensor_parallel == 4)
    assert held_out_basis(tensor, prefill).startswith("4 GPUs, tensor parallel; cuda:blackwell from")
    assert "held out, it rested on" in (ROOT / "docs" / "accuracy.md").read_text()


def test_qwen3_next_is_scored_on_builds_after_its_graph_optimization(catalog: Catalog) -> None:
    # llama.cpp PR 19375 (build ~7950, February 2026) rewrote the Qwen3-Next graph; earlier runs describe an
    # implementation the estimate does not, and stay listed but unscored
    runs = [m for m in catalog.measurements if m.model == "qwen3-next-80b-a3b" and m.engine == "llama.cpp"]
    scored = {m.date for m in runs if not m.exclude}
    assert scored and min(scored) >= "2026-03"
    assert any(m.exclude and m.date and m.date < "2026-02" for m in runs)


def test_shipped_speed_fit_is_current() -> None:
    assert (ROOT / "catalog" / "speed_fit.yaml").read_text() == load_script("fit_speed").render(), \
        "run: python scripts/fit_speed.py"


def test_no_measurement_is_counted_twice(catalog: Catalog) -> None:
    # the same llama-bench row cited from two URLs (say, a file on master and at a pinned commit) would weigh twice
    keys = [(m.device, m.backend, m.model, m.quant, m.test, m.depth_tokens, round(m.tokens_per_s, 2))
            for m in catalog.measurements]
    assert len(keys) == len(set(keys))


def test_readme_quotes_the_current_accuracy(validation: Validation) -> None:
    import re

    text = " ".join((ROOT / "README.md").read_text().split())
    decode, prefill = summarize(validation.of("decode")), summarize(validation.of("prefill"))
    found = re.search(r"decode median ([\d.]+) %, prefill median ([\d.]+) %", text)
    assert found, "README.md: the accuracy line moved; keep 'decode median X %, prefill median Y %'"
    assert found.groups() == (f"{100 * decode['median_abs_error']:.1f}", f"{100 * prefill['median_abs_error']:.1f}"), \
        "README.md quotes stale accuracy figures: see docs/accuracy.md"


def test_mla_attends_over_the_compressed_cache_on_llama_cpp(validation: Validation) -> None:
    # llama.cpp's deepseek2 graph attends over MLA's latent for prompts too (Engine.absorbed_mla): held out,
    # GLM-4.7-Flash's prompts at 8k and 32k of context on Strix Halo came out 46-128 % fast with the decompressed count,
    # 11-36 % with the latent's; 22-50 % since each family's prefill efficiency is pulled toward its backend's pooled
    # one (Strix Halo's, held out, toward Vulkan's and ROCm's pools)
    deep = [p.error for p in validation.of("prefill") if p.case.m.model == "glm-4.7-flash"
            and p.case.m.depth_tokens >= 8192 and p.case.m.engine == "llama.cpp"]
    assert len(deep) >= 5 and max(deep) < 0.55


def test_a_chip_new_to_a_backend_borrows_how_it_stands_on_another(validation: Validation) -> None:
    # round 13's M5 Max is the only M5 with Metal runs: held out, Metal's pooled Apple constants priced it 11-39 % slow
    # (an M5 spends less fixed time per layer than the older chips); scaled as the M5 stands to the Apple pool on MLX,
    # where the base M5 was measured, it is within a fifth
    from advisor.speed.validate import held_out_basis

    metal = [p for p in validation.of("decode") if p.case.group == "m5-max-40c" and p.case.backend == "metal"]
    assert len(metal) >= 20 and summarize(metal)["median_abs_error"] < 0.15
    assert max(abs(p.error) for p in metal) < 0.2
    assert "stands on mlx" in held_out_basis(metal[0], list(validation.predictions))


def test_the_medians_spread_is_drawn_by_device() -> None:
    from advisor.speed.validate import device_interval

    # a device's runs err together, so the device is what is drawn: one device's hundred runs at 50 % and another's
    # one run at 0 % give medians of 0 % whenever the draw misses the first (a quarter of draws), so the interval
    # spans both; drawn by run, the one good run could not move the median
    errors = [("many", 0.5)] * 100 + [("one", 0.0)]
    assert device_interval(errors) == (0.0, 0.5)
    assert device_interval([("only", -0.1), ("only", 0.3), ("only", 0.2)]) == (0.2, 0.2)
    assert device_interval(errors, seed=1) == device_interval(errors, seed=1)


def test_the_accuracy_page_says_how_much_the_medians_owe_to_the_devices_measured(validation: Validation) -> None:
    for kind in ("decode", "prefill"):
        low, high = validation.interval(kind)
        median = summarize(validation.of(kind))["median_abs_error"]
        assert low < median < high and high - low > 0.01
